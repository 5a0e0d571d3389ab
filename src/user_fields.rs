//! What a user's fields may hold: usernames, groups, emails and display names. The command line
//! and the admin pages both check input here, so the rules exist once.
//!
//! Every field travels in identity headers, so none may hold control characters; groups are
//! sent comma-separated, so they hold no commas or spaces either. Nothing here touches the
//! store.

/// A field that was refused, with the rule it broke; the message is what the command line
/// prints, and [`FieldError::field`] tells pages which of their fields it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("`{0}` is not a valid username: use 1 to 64 letters, digits, `.`, `_`, `-` or `@`")]
    Username(String),
    #[error("`{0}` is not a valid group: use 1 to 64 characters without commas or spaces")]
    Group(String),
    #[error("the {0} must be at most 256 characters with no control characters")]
    Text(Field),
}

/// A free-text field of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Email,
    DisplayName,
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Field::Email => "email",
            Field::DisplayName => "name",
        })
    }
}

/// The longest group name or username, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// The longest email or display name, in characters.
pub const MAX_TEXT_CHARS: usize = 256;

/// A username: 1 to 64 letters, digits, `.`, `_`, `-` or `@`.
pub fn valid_username(name: &str) -> Result<(), FieldError> {
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || "._-@".contains(c))
    {
        return Err(FieldError::Username(name.to_string()));
    }
    Ok(())
}

/// A display name or email: one line of printable text (it travels in HTTP headers).
pub fn valid_text(field: Field, value: &str) -> Result<(), FieldError> {
    if value.chars().count() > MAX_TEXT_CHARS || value.chars().any(char::is_control) {
        return Err(FieldError::Text(field));
    }
    Ok(())
}

/// A group name: it is sent comma-separated in the groups header, so no commas or spaces.
pub fn valid_group(group: &str) -> Result<(), FieldError> {
    if group.is_empty()
        || group.chars().count() > MAX_NAME_CHARS
        || group
            .chars()
            .any(|c| c == ',' || c.is_whitespace() || c.is_control())
    {
        return Err(FieldError::Group(group.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_that_would_break_a_header_are_refused() {
        assert!(valid_username("alice.b@example").is_ok());
        assert!(valid_username("").is_err());
        assert!(valid_username("a b").is_err());
        assert!(valid_group("ops").is_ok());
        assert!(valid_group("a,b").is_err());
        assert!(valid_group("a b").is_err());
        assert!(valid_text(Field::Email, "a@example.com").is_ok());
        assert!(valid_text(Field::DisplayName, "x\ny").is_err());
        assert!(valid_text(Field::DisplayName, &"x".repeat(257)).is_err());
    }
}
