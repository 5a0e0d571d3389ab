//! The access decision: what to do with a request, given its route and its session.
//!
//! Pure: no I/O, no clock (the session handed in is already known to be live).

use crate::config::{Policy, Rule};
use crate::session::{ActiveSession, Level};

/// What the gateway does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Proxy it; with identity headers when `identity` is true.
    Forward { identity: bool },
    /// The route denies everybody: 403.
    Deny,
    /// No session: log in first.
    Login,
    /// The session is below the route's level and the user has TOTP: ask for a code.
    Challenge,
    /// The route needs two factors and the user has none set up: forced enrolment.
    Enrol,
    /// Logged in at the right level, but not one of the route's users or groups: 403.
    Forbidden,
}

/// Decides what happens to a request under `policy` (from `rule`, if one matched).
pub fn decide(policy: Policy, rule: Option<&Rule>, session: Option<&ActiveSession>) -> Decision {
    match policy {
        Policy::Bypass => return Decision::Forward { identity: false },
        Policy::Deny => return Decision::Deny,
        Policy::OneFactor | Policy::TwoFactor => {}
    }
    let Some(session) = session else {
        return Decision::Login;
    };
    let has_totp = session.identity.has_totp;
    match (session.level, policy) {
        (Level::Pending, _) => {
            return if has_totp {
                Decision::Challenge
            } else {
                Decision::Login
            }
        }
        (Level::OneFactor, Policy::TwoFactor) => {
            return if has_totp {
                Decision::Challenge
            } else {
                Decision::Enrol
            }
        }
        _ => {}
    }
    match rule {
        Some(rule) if rule.has_subject() && !subject_matches(rule, session) => Decision::Forbidden,
        _ => Decision::Forward { identity: true },
    }
}

fn subject_matches(rule: &Rule, session: &ActiveSession) -> bool {
    let id = &session.identity;
    rule.users
        .iter()
        .any(|u| u.eq_ignore_ascii_case(&id.username))
        || rule
            .groups
            .iter()
            .any(|g| id.groups.iter().any(|mine| mine == g))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Identity;
    use std::sync::Arc;

    fn session(level: Level, has_totp: bool, groups: &[&str]) -> ActiveSession {
        ActiveSession::for_tests(
            Arc::new(Identity::new(
                1,
                "alice".into(),
                None,
                None,
                groups.iter().map(|g| g.to_string()).collect(),
                has_totp,
            )),
            level,
        )
    }

    fn rule(groups: &[&str], users: &[&str]) -> Rule {
        Rule {
            paths: vec![],
            methods: None,
            policy: Policy::OneFactor,
            groups: groups.iter().map(|g| g.to_string()).collect(),
            users: users.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn bypass_and_deny_ignore_the_session() {
        assert_eq!(
            decide(Policy::Bypass, None, None),
            Decision::Forward { identity: false }
        );
        let s = session(Level::TwoFactor, true, &[]);
        assert_eq!(decide(Policy::Deny, None, Some(&s)), Decision::Deny);
    }

    #[test]
    fn levels_are_enforced() {
        assert_eq!(decide(Policy::OneFactor, None, None), Decision::Login);
        let pending = session(Level::Pending, true, &[]);
        assert_eq!(
            decide(Policy::OneFactor, None, Some(&pending)),
            Decision::Challenge
        );
        let one = session(Level::OneFactor, true, &[]);
        assert_eq!(
            decide(Policy::TwoFactor, None, Some(&one)),
            Decision::Challenge
        );
        let one_no_totp = session(Level::OneFactor, false, &[]);
        assert_eq!(
            decide(Policy::TwoFactor, None, Some(&one_no_totp)),
            Decision::Enrol
        );
        let two = session(Level::TwoFactor, true, &[]);
        assert_eq!(
            decide(Policy::TwoFactor, None, Some(&two)),
            Decision::Forward { identity: true }
        );
    }

    #[test]
    fn subjects_are_enforced_after_the_level() {
        let s = session(Level::OneFactor, false, &["staff"]);
        let admins = rule(&["admins"], &[]);
        assert_eq!(
            decide(Policy::OneFactor, Some(&admins), Some(&s)),
            Decision::Forbidden
        );
        let staff = rule(&["admins", "staff"], &[]);
        assert_eq!(
            decide(Policy::OneFactor, Some(&staff), Some(&s)),
            Decision::Forward { identity: true }
        );
        let alice = rule(&[], &["Alice"]);
        assert_eq!(
            decide(Policy::OneFactor, Some(&alice), Some(&s)),
            Decision::Forward { identity: true }
        );
        assert_eq!(
            decide(Policy::OneFactor, Some(&admins), None),
            Decision::Login
        );
    }
}
