//! The rules a password someone chooses must follow (NIST SP 800-63B §3.1.1.2): long enough,
//! not too long to hash, not one of the commonly used passwords, and not the username or
//! something containing it. They hold for `user passwd`, invites and the account page; the
//! first password an operator gives a new account (`user add`) is held to its length only.
//! Each caller words the refusal for its reader through [`Weakness`].

use std::collections::HashSet;
use std::sync::LazyLock;

/// Shortest password accepted (NIST SP 800-63B asks at least 8).
pub const MIN_PASSWORD: usize = 8;
/// Longest password accepted, in bytes: the sign-in form reads no more.
pub const MAX_PASSWORD: usize = 1024;

/// The 30 000 most common passwords, most common first, lower-case (see
/// `assets/common-passwords.LICENSE` for where they come from).
const COMMON_PASSWORDS: &str = include_str!("../../assets/common-passwords.txt");

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
});

/// Why a chosen password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    TooShort,
    TooLong,
    /// One of the commonly used passwords, in any case.
    Common,
    /// The username, or something with the username in it, in any case.
    ContainsUsername,
}

impl Weakness {
    /// The catalog key of the refusal, for pages.
    pub fn catalog_key(self) -> &'static str {
        match self {
            Weakness::TooShort => "password-too-short",
            Weakness::TooLong => "password-too-long",
            Weakness::Common => "password-common",
            Weakness::ContainsUsername => "password-has-username",
        }
    }

    /// The refusal in English, for the command line.
    pub fn explain(self) -> String {
        match self {
            Weakness::TooShort => {
                format!("the password must have at least {MIN_PASSWORD} characters")
            }
            Weakness::TooLong => format!("the password must have at most {MAX_PASSWORD} bytes"),
            Weakness::Common => {
                "the password is one of the most commonly used passwords: choose another".into()
            }
            Weakness::ContainsUsername => "the password must not be or contain the username".into(),
        }
    }
}

/// Checks only a password's length: characters, as people count, and bytes, as the sign-in
/// form reads.
pub fn check_length(password: &str) -> Result<(), Weakness> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(Weakness::TooShort);
    }
    if password.len() > MAX_PASSWORD {
        return Err(Weakness::TooLong);
    }
    Ok(())
}

/// Checks a password `username` chose: its length, then the lists.
pub fn check(username: &str, password: &str) -> Result<(), Weakness> {
    check_length(password)?;
    let lower = password.to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return Err(Weakness::Common);
    }
    let name = username.trim().to_lowercase();
    if !name.is_empty() && lower.contains(&name) {
        return Err(Weakness::ContainsUsername);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_holds_at_least_ten_thousand_passwords() {
        assert!(COMMON.len() >= 10_000, "{}", COMMON.len());
        assert!(COMMON.contains("password123"));
    }

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        assert_eq!(check("dave", "password123"), Err(Weakness::Common));
        assert_eq!(check("dave", "PassWord123"), Err(Weakness::Common));
        assert_eq!(check("dave", "iloveyou"), Err(Weakness::Common));
    }

    #[test]
    fn the_username_in_the_password_is_refused() {
        assert_eq!(
            check("dave", "dave-dave-77"),
            Err(Weakness::ContainsUsername)
        );
        assert_eq!(
            check("Dave", "my name is DAVE!"),
            Err(Weakness::ContainsUsername)
        );
        assert_eq!(check("carol", "carol"), Err(Weakness::TooShort));
    }

    #[test]
    fn lengths_are_counted_in_characters_and_bounded_in_bytes() {
        assert_eq!(check("dave", "short"), Err(Weakness::TooShort));
        // Eight characters, sixteen bytes.
        assert_eq!(check("dave", "éééééééé"), Ok(()));
        assert_eq!(check("dave", &"x".repeat(1025)), Err(Weakness::TooLong));
    }

    #[test]
    fn a_good_password_passes() {
        assert_eq!(check("dave", "correct horse battery"), Ok(()));
        assert_eq!(check("carol", "Invited-Person-2026!"), Ok(()));
    }
}
