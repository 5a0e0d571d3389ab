//! `portcullis bans ...`: the bans regulation decided (see [`crate::auth::throttle`]), listed
//! with their ends, and lifted before they end.
//!
//! Operators name a user or an address ([`Subject`]); what a lift covers is
//! [`crate::auth::bans::lift`]'s, shared with the admin pages. A lift is written to the store
//! first and then sent to a running gateway, which forgets its cached copy and the failures
//! counted so far: sent the other way round, a sign-in in between could load the ban back from
//! the store.

use std::io::Write;
use std::time::Duration;

use anyhow::bail;

use super::{audit_change, control_socket, open_store, printable, tell_gateway, utc, BansCommand};
use crate::auth::bans::{describe, Subject};
use crate::auth::unix_now;
use crate::background::ControlMessage;
use crate::config::Config;
use crate::store::AuditKind;

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
                kind.as_str().to_string(),
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
    let lifted = crate::auth::bans::lift(&store, subject, unix_now())?;
    if lifted.bans.is_empty() {
        bail!("no active ban on {}", shown(subject));
    }
    let mut told = true;
    for key in &lifted.keys {
        told &= tell_gateway(config, &ControlMessage::LiftBan(key));
    }
    for ban in &lifted.bans {
        let (who, kind) = describe(&ban.key);
        let detail = Some(ban.key.clone());
        audit_change(&store, AuditKind::BanLifted, subject.user(), detail);
        writeln!(
            out,
            "lifted the ban on {} ({}), which would have ended at {} UTC",
            printable(&who),
            kind.as_str(),
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

/// A subject as the command line names it in its messages.
fn shown(subject: &Subject) -> String {
    match subject {
        Subject::User(name) => format!("user `{}`", printable(name)),
        Subject::Client(ip) => {
            let (network, _) = describe(&crate::auth::throttle::Regulator::ip_key(*ip));
            format!("address {network}")
        }
    }
}

/// Seconds left as `1h 2m 3s`.
fn remaining(secs: i64) -> String {
    humantime::format_duration(Duration::from_secs(secs.max(0) as u64)).to_string()
}
