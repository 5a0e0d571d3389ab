//! `portcullis sessions ...`: list live sessions, end a user's sessions (which a running
//! gateway drops from its cache at once).

use std::io::Write;

use anyhow::bail;

use super::{audit_change, open_store, printable, sessions_changed, utc, SessionsCommand};
use crate::auth::unix_now;
use crate::config::Config;
use crate::session::Level;
use crate::store::AuditKind;

pub(super) fn run(
    config: &Config,
    cmd: SessionsCommand,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let store = open_store(config)?;
    match cmd {
        SessionsCommand::List { user } => {
            if let Some(u) = &user {
                if store.user_by_name(u)?.is_none() {
                    bail!("no user named `{u}`");
                }
            }
            let now = unix_now();
            let idle = config.session.idle_timeout.as_secs() as i64;
            writeln!(
                out,
                "{:<20} {:<11} {:<19}  {:<19}  {:<16} {:<12} USER AGENT",
                "USER", "LEVEL", "CREATED (UTC)", "LAST SEEN (UTC)", "CLIENT IP", "ID"
            )?;
            for s in store.list_sessions(user.as_deref())? {
                let r = &s.row;
                if r.expires_at <= now || now - r.last_seen >= idle {
                    continue;
                }
                writeln!(
                    out,
                    "{:<20} {:<11} {:<19}  {:<19}  {:<16} {:<12} {}",
                    s.username,
                    Level::from_u8(r.level).map_or("?", |l| l.as_str()),
                    utc(r.created_at),
                    utc(r.last_seen),
                    r.client_ip,
                    &hex::encode(r.id_hash)[..12],
                    printable(&r.user_agent)
                )?;
            }
        }
        SessionsCommand::Revoke { name } => {
            let n = store.revoke_user_sessions(&name)?;
            sessions_changed(config);
            audit_change(&store, AuditKind::SessionsRevoked, Some(&name), None);
            writeln!(out, "ended {n} session(s) of {name}")?;
        }
    }
    Ok(())
}
