//! Credentials: passwords, TOTP, recovery codes, the key that seals secrets, regulation, and
//! where an attempt comes from.
//!
//! Nothing here speaks HTTP or renders HTML, and nothing reads the clock: time comes in as a
//! parameter so every rule can be tested at any instant.

pub mod bans;
pub mod keys;
pub mod password;
pub mod recovery;
pub mod regulation;
pub mod second_factor;
pub mod throttle;
pub mod totp;

use std::net::IpAddr;

use crate::store::{AuditEvent, AuditKind};

/// Where an attempt (a sign-in, a code, a change) comes from: what regulation counts against,
/// what the audit trail and the session rows record.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub ip: IpAddr,
    pub user_agent: Option<&'a str>,
}

impl Origin<'_> {
    /// An audit row for an event from here at `now`. Never carries secrets.
    pub fn event(
        &self,
        kind: AuditKind,
        username: Option<&str>,
        now: i64,
        detail: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            at: now,
            username: username.map(str::to_string),
            event: kind.as_str().to_string(),
            client_ip: Some(self.ip.to_string()),
            user_agent: self.user_agent.map(|u| u.chars().take(256).collect()),
            detail,
        }
    }
}

/// Seconds since the Unix epoch: the one place that reads the wall clock.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
