//! `portcullis audit`: the newest events of the audit trail, as a table with UTC dates or as
//! JSON lines (with Unix seconds, for machines).

use std::io::Write;

use super::{open_store, printable, utc, AuditArgs};
use crate::config::Config;

pub(super) fn run(config: &Config, args: AuditArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let store = open_store(config)?;
    let events = store.audit_events(args.user.as_deref(), args.limit)?;
    if args.json {
        for e in events {
            writeln!(out, "{}", serde_json::to_string(&e)?)?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{:<19}  {:<28} {:<16} {:<16} DETAIL  [USER AGENT]",
        "TIME (UTC)", "EVENT", "USER", "CLIENT IP"
    )?;
    for e in events {
        writeln!(
            out,
            "{}  {:<28} {:<16} {:<16} {}{}",
            utc(e.at),
            e.event,
            printable(e.username.as_deref().unwrap_or("-")),
            e.client_ip.as_deref().unwrap_or("-"),
            printable(&dated(e.detail.as_deref().unwrap_or(""))),
            e.user_agent
                .as_deref()
                .map(|ua| format!("  [{}]", printable(ua)))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

/// A detail with the end of a ban as a date: ban rows record `KEY until UNIX-SECONDS`.
fn dated(detail: &str) -> String {
    if let Some((subject, end)) = detail.rsplit_once(" until ") {
        if let Ok(unix) = end.parse::<i64>() {
            return format!("{subject} until {} UTC", utc(unix));
        }
    }
    detail.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ban_ends_in_details_are_shown_as_dates() {
        assert_eq!(
            dated("user:bob until 1700000000"),
            "user:bob until 2023-11-14 22:13:20 UTC"
        );
        assert_eq!(dated("ip:127.0.0.1"), "ip:127.0.0.1");
        assert_eq!(dated("waits until later"), "waits until later");
    }
}
