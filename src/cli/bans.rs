//! `portcullis bans ...`: the bans regulation decided (see [`crate::auth::throttle`]), listed
//! with their ends, and lifted before they end.
//!
//! A ban is held by a key: `user:NAME` (password attempts), `2fa:NAME` (second-factor
//! attempts) or `ip:ADDRESS` (an IPv4 address, or an IPv6 /64). Operators name a user or an
//! address; lifting a user lifts both of the user's keys. A lift is written to the store first
//! and then sent to a running gateway, which forgets its cached copy and the failures counted
//! so far: sent the other way round, a sign-in in between could load the ban back from the
//! store.

use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

use anyhow::bail;

use super::{audit_change, control_socket, open_store, printable, tell_gateway, utc, BansCommand};
use crate::auth::throttle::Regulator;
use crate::auth::unix_now;
use crate::background::ControlMessage;
use crate::config::Config;
use crate::store::{AuditKind, BanRow, Store};

pub(super) fn run(config: &Config, cmd: BansCommand, out: &mut dyn Write) -> anyhow::Result<()> {
    match cmd {
        BansCommand::List => list(config, out),
        BansCommand::Lift { subject } => lift(config, &Subject::parse(&subject)?, out),
    }
}

fn list(config: &Config, out: &mut dyn Write) -> anyhow::Result<()> {
    let now = unix_now();
    let bans = open_store(config)?.active_bans(now)?;
    if bans.is_empty() {
        writeln!(out, "no active bans")?;
        return Ok(());
    }
    let mut rows: Vec<[String; 4]> = bans
        .iter()
        .map(|b| {
            let (subject, kind) = describe(&b.key);
            [
                printable(&subject),
                kind.to_string(),
                format!("{} UTC", utc(b.until)),
                remaining(b.until - now),
            ]
        })
        .collect();
    rows.sort();
    rows.insert(
        0,
        [
            "SUBJECT".into(),
            "KIND".into(),
            "UNTIL".into(),
            "REMAINING".into(),
        ],
    );
    let widths: Vec<usize> = (0..4)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}

fn lift(config: &Config, subject: &Subject, out: &mut dyn Write) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let now = unix_now();
    let active = store.active_bans(now)?;
    let mut keys = subject.keys();
    if let Subject::User(name) = subject {
        keys.extend(addresses_banned_by(&store, &active, name)?);
    }
    let lifted: Vec<BanRow> = active
        .into_iter()
        .filter(|b| keys.contains(&b.key))
        .collect();
    if lifted.is_empty() {
        bail!("no active ban on {subject}");
    }
    store.lift_bans(&keys)?;
    // Every key of the subject, banned or not: the gateway also forgets failures counted
    // towards a next ban.
    let mut told = true;
    for key in &keys {
        told &= tell_gateway(config, &ControlMessage::LiftBan(key));
    }
    for ban in &lifted {
        let (who, kind) = describe(&ban.key);
        let user = match subject {
            Subject::User(name) => Some(name.as_str()),
            Subject::Client(_) => None,
        };
        audit_change(&store, AuditKind::BanLifted, user, Some(ban.key.clone()));
        writeln!(
            out,
            "lifted the ban on {} ({kind}), which would have ended at {} UTC",
            printable(&who),
            utc(ban.until)
        )?;
    }
    let socket = control_socket(config);
    if !told && socket.exists() {
        eprintln!(
            "warning: no gateway answered on {}; a running gateway keeps its copy of the ban \
             until the ban ends",
            socket.display()
        );
    }
    Ok(())
}

/// The address bans in force that `user`'s own failed attempts started (the failure that
/// started a ban is audited with the user it named): the user would still be refused from
/// that address once their own ban is lifted.
fn addresses_banned_by(
    store: &Store,
    active: &[BanRow],
    user: &str,
) -> anyhow::Result<Vec<String>> {
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

/// Whose bans an operator names: a user, or a client address.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Subject {
    User(String),
    Client(IpAddr),
}

impl Subject {
    /// An IP address (or the `ADDRESS/64` network `bans list` shows) is a client; anything else
    /// is a user name. `user:NAME` names a user whose name looks like an address.
    fn parse(text: &str) -> anyhow::Result<Subject> {
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
                bail!("`{text}` is wider than a ban: bans hold an IPv4 address or an IPv6 /64");
            }
            return Ok(Subject::Client(net.addr()));
        }
        if text.is_empty() || address.len() < text.len() {
            bail!("`{text}` is neither a user name nor an IP address");
        }
        Ok(Subject::User(text.to_string()))
    }

    /// The regulation keys this subject's bans are held by.
    fn keys(&self) -> Vec<String> {
        match self {
            Subject::User(name) => vec![
                Regulator::user_key(name),
                Regulator::second_factor_key(name),
            ],
            Subject::Client(ip) => vec![Regulator::ip_key(*ip)],
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::User(name) => write!(f, "user `{}`", printable(name)),
            Subject::Client(ip) => {
                let (network, _) = describe(&Regulator::ip_key(*ip));
                write!(f, "address {network}")
            }
        }
    }
}

/// A ban key as an operator reads it: what to type for `lift`, and what is banned.
fn describe(key: &str) -> (String, &'static str) {
    if let Some(name) = key.strip_prefix("user:") {
        (name.to_string(), "user")
    } else if let Some(name) = key.strip_prefix("2fa:") {
        (name.to_string(), "second factor")
    } else if let Some(address) = key.strip_prefix("ip:") {
        let kind = if address.contains('/') {
            "network"
        } else {
            "address"
        };
        (address.to_string(), kind)
    } else {
        (key.to_string(), "other")
    }
}

/// Seconds left as `1h 2m 3s`.
fn remaining(secs: i64) -> String {
    humantime::format_duration(Duration::from_secs(secs.max(0) as u64)).to_string()
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
    }

    #[test]
    fn any_address_of_an_ipv6_slash_64_names_its_ban() {
        let key = "ip:2001:db8:1:2::/64";
        assert_eq!(keys("2001:db8:1:2::7"), [key]);
        assert_eq!(keys("2001:db8:1:2:ffff::1"), [key]);
        let (shown, kind) = describe(key);
        assert_eq!(kind, "network");
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
