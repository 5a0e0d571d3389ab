//! Recovery codes: 80 random bits each, written as 16 Crockford base32 characters
//! (`XXXX-XXXX-XXXX-XXXX`), stored only as salted argon2id hashes.
//!
//! Codes under 112 bits want a salted, costly hash (NIST SP 800-63B-4 §3.1.1.2); the parameters
//! here are light because a check tries at most `count` hashes per attempt, and attempts are
//! regulated like passwords.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier, Version};
use rand::RngCore;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Characters in a code (without dashes).
pub const CODE_CHARS: usize = 16;

/// A fresh code, formatted `XXXX-XXXX-XXXX-XXXX`.
pub fn generate_code() -> String {
    let mut bytes = [0u8; 10];
    OsRng.fill_bytes(&mut bytes);
    let mut bits: u128 = 0;
    for b in bytes {
        bits = (bits << 8) | b as u128;
    }
    let mut chars = [0u8; CODE_CHARS];
    for (i, c) in chars.iter_mut().enumerate() {
        let shift = 5 * (CODE_CHARS - 1 - i);
        *c = CROCKFORD[((bits >> shift) & 31) as usize];
    }
    format_code(std::str::from_utf8(&chars).expect("ASCII alphabet"))
}

/// `count` distinct fresh codes.
pub fn generate_codes(count: usize) -> Vec<String> {
    let mut codes: Vec<String> = Vec::with_capacity(count);
    while codes.len() < count {
        let code = generate_code();
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

fn format_code(canonical: &str) -> String {
    canonical
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("-")
}

/// Reads a code as a person might type it: any case, with or without dashes and spaces,
/// with Crockford's confusables (O for 0, I and L for 1). `None` when it cannot be a code.
pub fn normalize(input: &str) -> Option<String> {
    let mut out = String::with_capacity(CODE_CHARS);
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' | '\t' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if CROCKFORD.contains(&(c as u32 as u8)) && c.is_ascii() => c,
            _ => return None,
        };
        out.push(c);
        if out.len() > CODE_CHARS {
            return None;
        }
    }
    (out.len() == CODE_CHARS).then_some(out)
}

fn argon2_codes() -> Argon2<'static> {
    let params = Params::new(4096, 1, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Salted hash of a code (normalised first). Blocking.
pub fn hash_code(code: &str) -> String {
    let canonical = normalize(code).unwrap_or_default();
    let salt = SaltString::generate(&mut OsRng);
    argon2_codes()
        .hash_password(canonical.as_bytes(), &salt)
        .expect("argon2 hashing with valid parameters")
        .to_string()
}

/// Whether a normalised code matches a stored hash. Blocking.
pub fn verify_code(canonical: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(canonical.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_documented_shape_and_are_distinct() {
        let codes = generate_codes(10);
        assert_eq!(codes.len(), 10);
        for c in &codes {
            assert_eq!(c.len(), 19, "{c}");
            let parts: Vec<&str> = c.split('-').collect();
            assert_eq!(parts.len(), 4);
            assert!(parts.iter().all(|p| p.len() == 4));
            assert!(c
                .bytes()
                .filter(|&b| b != b'-')
                .all(|b| CROCKFORD.contains(&b)));
        }
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 10);
    }

    #[test]
    fn typed_spellings_normalise_to_the_same_code() {
        let canonical = "0123456789ABCDEF";
        for typed in [
            "0123-4567-89AB-CDEF",
            "0123456789abcdef",
            "o123 4567 89ab cdef",
            "0l23-4567-89AB-CDEF",
            " 0I23-4567-89ab-cdef ",
        ] {
            assert_eq!(normalize(typed).as_deref(), Some(canonical), "{typed}");
        }
        assert_eq!(normalize("0123-4567-89AB-CDE"), None);
        assert_eq!(normalize("0123-4567-89AB-CDEFG"), None);
        assert_eq!(normalize("0123-4567-89AB-CDEU"), None);
    }

    #[test]
    fn hashes_verify_only_their_code() {
        let code = generate_code();
        let h = hash_code(&code);
        assert!(!h.contains(&code.replace('-', "")));
        assert!(verify_code(&normalize(&code).unwrap(), &h));
        assert!(!verify_code(&normalize(&generate_code()).unwrap(), &h));
    }
}
