//! The audit trail: the `audit` table.
//!
//! Rows are appended and read back, never changed. Which events exist and what they say is
//! for the callers; this file stores them as given and lists the newest.

use rusqlite::params;

use super::{Result, Store};

/// One audit row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEvent {
    pub at: i64,
    pub username: Option<String>,
    pub event: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
}

impl Store {
    /// Appends one event.
    pub fn audit(&self, e: &AuditEvent) -> Result<()> {
        self.write()?.execute(
            "INSERT INTO audit (at, username, event, client_ip, user_agent, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                e.at,
                e.username,
                e.event,
                e.client_ip,
                e.user_agent,
                e.detail
            ],
        )?;
        Ok(())
    }

    /// The newest `limit` events, oldest first.
    pub fn audit_events(&self, username: Option<&str>, limit: usize) -> Result<Vec<AuditEvent>> {
        let conn = self.read()?;
        let mut stmt = conn.prepare(
            "SELECT at, username, event, client_ip, user_agent, detail FROM (
                 SELECT * FROM audit WHERE ?1 IS NULL OR username = ?1 COLLATE NOCASE
                 ORDER BY id DESC LIMIT ?2
             ) ORDER BY id",
        )?;
        let rows = stmt
            .query_map(params![username, limit as i64], |r| {
                Ok(AuditEvent {
                    at: r.get(0)?,
                    username: r.get(1)?,
                    event: r.get(2)?,
                    client_ip: r.get(3)?,
                    user_agent: r.get(4)?,
                    detail: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}
