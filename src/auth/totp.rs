//! TOTP (RFC 6238): secrets, verification with replay protection, and the `otpauth://` URI.
//!
//! Verification takes the time and the last accepted step as parameters and returns the step
//! it matched; the caller stores that step so a code is accepted only once (RFC 6238 §5.2,
//! NIST SP 800-63B §5.1.4.2). Comparison of codes is constant-time (totp-rs `Token`).

use rand::RngCore;
use totp_rs::{Algorithm, Builder, Totp};

use crate::config::{TotpAlgorithm, TotpConfig};

/// 160-bit secrets, as RFC 4226 recommends.
pub const SECRET_LEN: usize = 20;

/// Why a code was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpRejection {
    /// Not a code of the configured length, or no match within the skew.
    Invalid,
    /// It matched a step at or before the last accepted one.
    Replayed,
}

/// A fresh random secret.
pub fn generate_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_LEN];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

fn algorithm(a: TotpAlgorithm) -> Algorithm {
    match a {
        TotpAlgorithm::SHA1 => Algorithm::SHA1,
        TotpAlgorithm::SHA256 => Algorithm::SHA256,
        TotpAlgorithm::SHA512 => Algorithm::SHA512,
    }
}

fn totp(cfg: &TotpConfig, secret: &[u8]) -> Option<Totp> {
    Builder::new()
        .with_algorithm(algorithm(cfg.algorithm))
        .with_digits(cfg.digits)
        .with_skew(cfg.skew as u16)
        .with_step_duration(cfg.period)
        .with_secret(secret.to_vec())
        .build()
        .ok()
}

/// Checks `code` at `now` (Unix seconds). On success returns the matched step, which must be
/// later than `last_step`.
pub fn verify(
    cfg: &TotpConfig,
    secret: &[u8],
    code: &str,
    now: u64,
    last_step: Option<i64>,
) -> Result<i64, TotpRejection> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != cfg.digits as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TotpRejection::Invalid);
    }
    let totp = totp(cfg, secret).ok_or(TotpRejection::Invalid)?;
    let step = totp.check(&code, now).ok_or(TotpRejection::Invalid)? as i64;
    match last_step {
        Some(last) if step <= last => Err(TotpRejection::Replayed),
        _ => Ok(step),
    }
}

/// The code for `now` (for the command line's own use and for tests of this module).
pub fn code_at(cfg: &TotpConfig, secret: &[u8], now: u64) -> Option<String> {
    Some(totp(cfg, secret)?.generate(now).to_string())
}

/// Unpadded RFC 4648 base32, as authenticator apps expect.
pub fn base32(secret: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(secret.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in secret {
        buffer = (buffer << 8) | byte as u32;
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The base32 secret in groups of four, for typing.
pub fn grouped(base32: &str) -> String {
    base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Key Uri Format URI: `otpauth://totp/Issuer:account?secret=…&issuer=…&…`.
pub fn otpauth_uri(cfg: &TotpConfig, account: &str, secret: &[u8]) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let issuer = utf8_percent_encode(&cfg.issuer, NON_ALPHANUMERIC).to_string();
    let account = utf8_percent_encode(account, NON_ALPHANUMERIC).to_string();
    format!(
        "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm={}&digits={}&period={}",
        base32(secret),
        cfg.algorithm,
        cfg.digits,
        cfg.period
    )
}

/// The URI as an SVG QR code.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(uri, qrcode::EcLevel::M).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    // Inline in HTML the XML declaration is noise; the <svg> element is all a page needs.
    Some(match svg.find("<svg") {
        Some(start) => svg[start..].to_string(),
        None => svg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(algorithm: TotpAlgorithm, digits: u8) -> TotpConfig {
        TotpConfig {
            issuer: "Portcullis".into(),
            algorithm,
            digits,
            period: 30,
            skew: 1,
            remember_browser: std::time::Duration::ZERO,
        }
    }

    fn seed(len: usize) -> Vec<u8> {
        b"1234567890".iter().cycle().take(len).copied().collect()
    }

    /// RFC 6238 Appendix B, through the same `verify` the gateway calls.
    #[test]
    fn rfc6238_appendix_b_vectors_verify() {
        let vectors: &[(u64, &str, &str, &str)] = &[
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for &(t, sha1, sha256, sha512) in vectors {
            for (alg, len, code) in [
                (TotpAlgorithm::SHA1, 20, sha1),
                (TotpAlgorithm::SHA256, 32, sha256),
                (TotpAlgorithm::SHA512, 64, sha512),
            ] {
                let c = cfg(alg, 8);
                let step = verify(&c, &seed(len), code, t, None)
                    .unwrap_or_else(|e| panic!("{alg} at {t}: {e:?}"));
                assert_eq!(step, (t / 30) as i64, "{alg} at {t}");
                assert_eq!(code_at(&c, &seed(len), t).unwrap(), code);
            }
        }
    }

    #[test]
    fn skew_of_one_step_is_accepted_and_two_refused() {
        let c = cfg(TotpAlgorithm::SHA1, 8);
        let s = seed(20);
        // 94287082 is the code of step 1 (t = 30..59).
        assert!(verify(&c, &s, "94287082", 59 + 30, None).is_ok());
        assert!(verify(&c, &s, "94287082", 30 - 30, None).is_ok());
        assert_eq!(
            verify(&c, &s, "94287082", 59 + 60, None),
            Err(TotpRejection::Invalid)
        );
    }

    #[test]
    fn a_step_at_or_before_the_last_accepted_is_a_replay() {
        let c = cfg(TotpAlgorithm::SHA1, 8);
        let s = seed(20);
        assert_eq!(
            verify(&c, &s, "94287082", 59, Some(1)),
            Err(TotpRejection::Replayed)
        );
        assert_eq!(
            verify(&c, &s, "94287082", 59, Some(2)),
            Err(TotpRejection::Replayed)
        );
        assert_eq!(verify(&c, &s, "94287082", 59, Some(0)), Ok(1));
    }

    #[test]
    fn malformed_codes_are_invalid() {
        let c = cfg(TotpAlgorithm::SHA1, 6);
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(
                verify(&c, &seed(20), bad, 59, None),
                Err(TotpRejection::Invalid)
            );
        }
    }

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }
}
