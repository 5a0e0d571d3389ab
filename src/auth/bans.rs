//! Bans as operators name them: a user or a client address, the regulation keys that hold
//! their bans, and lifting them. The command line (`portcullis bans`) and the admin pages both
//! lift through [`lift`], so a lift means the same wherever it is made.
//!
//! A ban is held by a key: `user:NAME` (password attempts), `2fa:NAME` (second-factor
//! attempts) or `ip:ADDRESS` (an IPv4 address, or an IPv6 /64). Lifting a user lifts both of
//! the user's keys, and the address bans their own failures started. The caller then makes
//! the gateway forget its cached copy of every key (in-process, or through the control
//! socket): after the store, since a sign-in in between could load the ban back from it.

use std::net::IpAddr;

use super::throttle::Regulator;
use crate::store::{AuditKind, BanRow, Store, StoreError};

/// Whose bans an operator names: a user, or a client address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    User(String),
    Client(IpAddr),
}

/// Text that names neither a user nor a single ban's address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    #[error("`{0}` is wider than a ban: bans hold an IPv4 address or an IPv6 /64")]
    TooWide(String),
    #[error("`{0}` is neither a user name nor an IP address")]
    Neither(String),
}

impl Subject {
    /// An IP address (or the `ADDRESS/64` network a ban list shows) is a client; anything else
    /// is a user name. `user:NAME` names a user whose name looks like an address; a ban key
    /// (`ip:…`, `2fa:…`) names its subject.
    pub fn parse(text: &str) -> Result<Subject, SubjectError> {
        let text = text.trim();
        if let Some(name) = text
            .strip_prefix("user:")
            .or_else(|| text.strip_prefix("2fa:"))
        {
            return Ok(Subject::User(name.to_string()));
        }
        let address = text.strip_prefix("ip:").unwrap_or(text);
        if let Ok(ip) = address.parse::<IpAddr>() {
            return Ok(Subject::Client(ip));
        }
        if let Ok(net) = address.parse::<ipnet::IpNet>() {
            let one_key = match net {
                ipnet::IpNet::V4(n) => n.prefix_len() == 32,
                ipnet::IpNet::V6(n) => n.prefix_len() >= 64,
            };
            if !one_key {
                return Err(SubjectError::TooWide(text.to_string()));
            }
            return Ok(Subject::Client(net.addr()));
        }
        if text.is_empty() || address.len() < text.len() {
            return Err(SubjectError::Neither(text.to_string()));
        }
        Ok(Subject::User(text.to_string()))
    }

    /// The regulation keys this subject's bans are held by.
    pub fn keys(&self) -> Vec<String> {
        match self {
            Subject::User(name) => vec![
                Regulator::user_key(name),
                Regulator::second_factor_key(name),
            ],
            Subject::Client(ip) => vec![Regulator::ip_key(*ip)],
        }
    }

    /// The user, for a user's bans.
    pub fn user(&self) -> Option<&str> {
        match self {
            Subject::User(name) => Some(name),
            Subject::Client(_) => None,
        }
    }
}

/// What kind of thing a ban key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanKind {
    User,
    SecondFactor,
    Address,
    Network,
    Other,
}

impl BanKind {
    /// How the command line names it.
    pub fn as_str(self) -> &'static str {
        match self {
            BanKind::User => "user",
            BanKind::SecondFactor => "second factor",
            BanKind::Address => "address",
            BanKind::Network => "network",
            BanKind::Other => "other",
        }
    }
}

/// A ban key as an operator reads it: what to type to lift it, and what is banned.
pub fn describe(key: &str) -> (String, BanKind) {
    if let Some(name) = key.strip_prefix("user:") {
        (name.to_string(), BanKind::User)
    } else if let Some(name) = key.strip_prefix("2fa:") {
        (name.to_string(), BanKind::SecondFactor)
    } else if let Some(address) = key.strip_prefix("ip:") {
        let kind = if address.contains('/') {
            BanKind::Network
        } else {
            BanKind::Address
        };
        (address.to_string(), kind)
    } else {
        (key.to_string(), BanKind::Other)
    }
}

/// A lift: every key the running gateway must forget (banned or not: it also forgets the
/// failures counted towards a next ban), and the bans that were in force.
#[derive(Debug, Clone, Default)]
pub struct Lifted {
    pub keys: Vec<String>,
    pub bans: Vec<BanRow>,
}

/// Deletes from the store the bans in force at `now` on `subject` (for a user, with the
/// address bans their own failures started).
pub fn lift(store: &Store, subject: &Subject, now: i64) -> Result<Lifted, StoreError> {
    let active = store.active_bans(now)?;
    let mut keys = subject.keys();
    if let Subject::User(name) = subject {
        keys.extend(addresses_banned_by(store, &active, name)?);
    }
    let bans: Vec<BanRow> = active
        .into_iter()
        .filter(|b| keys.contains(&b.key))
        .collect();
    if !bans.is_empty() {
        store.lift_bans(&keys)?;
    }
    Ok(Lifted { keys, bans })
}

/// The address bans in force that `user`'s own failed attempts started (the failure that
/// started a ban is audited with the user it named): the user would still be refused from
/// that address once their own ban is lifted.
fn addresses_banned_by(
    store: &Store,
    active: &[BanRow],
    user: &str,
) -> Result<Vec<String>, StoreError> {
    let started_by_user = store
        .audit_events(Some(user), 10_000)?
        .into_iter()
        .filter(|e| e.event == AuditKind::Ban.as_str())
        .filter_map(|e| {
            let detail = e.detail?;
            let (key, until) = detail.split_once(" until ")?;
            Some((key.to_string(), until.parse::<i64>().ok()?))
        });
    Ok(started_by_user
        .filter(|(key, until)| {
            key.starts_with("ip:") && active.iter().any(|b| &b.key == key && b.until == *until)
        })
        .map(|(key, _)| key)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<String> {
        Subject::parse(text).unwrap().keys()
    }

    #[test]
    fn a_user_name_lifts_both_of_the_users_keys() {
        assert_eq!(keys("Alice"), ["user:alice", "2fa:alice"]);
        assert_eq!(keys("user:1.2.3.4"), ["user:1.2.3.4", "2fa:1.2.3.4"]);
        assert_eq!(keys("2fa:alice"), ["user:alice", "2fa:alice"]);
    }

    #[test]
    fn any_address_of_an_ipv6_slash_64_names_its_ban() {
        let key = "ip:2001:db8:1:2::/64";
        assert_eq!(keys("2001:db8:1:2::7"), [key]);
        assert_eq!(keys("2001:db8:1:2:ffff::1"), [key]);
        let (shown, kind) = describe(key);
        assert_eq!(kind, BanKind::Network);
        assert_eq!(keys(&shown), [key], "what the list shows lifts it");
        assert_eq!(keys(key), [key]);
        assert_eq!(keys("203.0.113.7"), ["ip:203.0.113.7"]);
        assert_eq!(keys("::ffff:203.0.113.7"), ["ip:203.0.113.7"]);
        assert_eq!(keys("203.0.113.7/32"), ["ip:203.0.113.7"]);
    }

    #[test]
    fn what_is_not_one_ban_is_refused() {
        assert!(Subject::parse("2001:db8::/48").is_err());
        assert!(Subject::parse("10.0.0.0/8").is_err());
        assert!(Subject::parse("ip:nonsense").is_err());
        assert!(Subject::parse("  ").is_err());
    }
}
