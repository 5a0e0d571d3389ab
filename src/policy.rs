//! The access decision: what to do with a request, given its route and its session.
//!
//! Pure: no I/O, no clock (the session handed in is already known to be live).

use crate::routes::{Outcome, Policy, Rule};
use crate::session::{ActiveSession, Identity, Level};

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
    /// The route needs two factors (or the user owes them) and the user has none set up:
    /// forced enrolment.
    Enrol,
    /// Logged in at the right level, but not one of the route's users or groups: 403.
    Forbidden,
}

impl Decision {
    /// How far the decision is from letting the request through: forwarding without identity
    /// is the weakest, denying everybody the strictest.
    fn strictness(self) -> u8 {
        match self {
            Decision::Forward { identity: false } => 0,
            Decision::Forward { identity: true } => 1,
            Decision::Login | Decision::Challenge | Decision::Enrol => 2,
            Decision::Forbidden => 3,
            Decision::Deny => 4,
        }
    }
}

/// Decides what happens to a request that reaches several rules (one per spelling of its
/// path, see [`crate::routes::spellings`]): the strictest of their decisions. A request is
/// forwarded only when every outcome forwards it, and without identity only when every one
/// is `bypass`.
pub fn decide_strictest(outcomes: &[Outcome<'_>], session: Option<&ActiveSession>) -> Decision {
    outcomes
        .iter()
        .map(|o| decide(o.policy, o.rule, session))
        .max_by_key(|d| d.strictness())
        .unwrap_or(Decision::Deny)
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
    let has_second_factor = session.identity.second_factor();
    match (session.level, policy) {
        (Level::Pending, _) => {
            return if has_second_factor {
                Decision::Challenge
            } else {
                Decision::Login
            }
        }
        (Level::OneFactor, Policy::TwoFactor) => {
            return if has_second_factor {
                Decision::Challenge
            } else {
                Decision::Enrol
            }
        }
        // An invited person asked for two factors sets them up before any app.
        (Level::OneFactor, _) if session.identity.must_enrol => return Decision::Enrol,
        _ => {}
    }
    match rule {
        Some(rule) if rule.has_subject() && !subject_matches(rule, &session.identity) => {
            Decision::Forbidden
        }
        _ => Decision::Forward { identity: true },
    }
}

/// Whether `rule`'s users or groups name `id`.
pub fn subject_matches(rule: &Rule, id: &Identity) -> bool {
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
    fn the_strictest_outcome_wins_and_bypass_needs_every_outcome() {
        let bypass = Outcome {
            rule: None,
            policy: Policy::Bypass,
        };
        let one = Outcome {
            rule: None,
            policy: Policy::OneFactor,
        };
        let two = Outcome {
            rule: None,
            policy: Policy::TwoFactor,
        };
        let deny = Outcome {
            rule: None,
            policy: Policy::Deny,
        };
        let admins = rule(&["admins"], &[]);
        let admins_only = Outcome {
            rule: Some(&admins),
            policy: Policy::OneFactor,
        };
        let s = session(Level::OneFactor, true, &["staff"]);
        assert_eq!(
            decide_strictest(&[bypass], None),
            Decision::Forward { identity: false }
        );
        assert_eq!(decide_strictest(&[bypass, one], None), Decision::Login);
        assert_eq!(
            decide_strictest(&[bypass, one], Some(&s)),
            Decision::Forward { identity: true }
        );
        assert_eq!(decide_strictest(&[one, two], Some(&s)), Decision::Challenge);
        assert_eq!(
            decide_strictest(&[one, admins_only], Some(&s)),
            Decision::Forbidden
        );
        assert_eq!(
            decide_strictest(&[two, deny, bypass], Some(&s)),
            Decision::Deny
        );
        assert_eq!(decide_strictest(&[], Some(&s)), Decision::Deny);
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
    fn a_person_who_owes_a_second_factor_enrols_before_any_app() {
        let mut owing = session(Level::OneFactor, false, &[]);
        Arc::get_mut(&mut owing.identity).unwrap().must_enrol = true;
        for policy in [Policy::OneFactor, Policy::TwoFactor] {
            assert_eq!(decide(policy, None, Some(&owing)), Decision::Enrol);
        }
        assert_eq!(
            decide(Policy::Bypass, None, Some(&owing)),
            Decision::Forward { identity: false }
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
