//! Credentials: passwords, TOTP, recovery codes, the key that seals secrets, regulation, and
//! where an attempt comes from.
//!
//! Nothing here speaks HTTP or renders HTML, and nothing reads the clock: time comes in as a
//! parameter so every rule can be tested at any instant.

pub mod bans;
pub mod keys;
pub mod passkeys;
pub mod password;
pub mod password_rules;
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

/// Unix seconds as a UTC date and time, `YYYY-MM-DD HH:MM:SS`; times beyond what a calendar
/// date can show (before 1970, after 9999) are shown as those limits.
pub fn calendar_utc(unix: i64) -> String {
    use cookie::time::OffsetDateTime;
    const LAST_SECOND_OF_9999: i64 = 253_402_300_799;
    let t = OffsetDateTime::from_unix_timestamp(unix.clamp(0, LAST_SECOND_OF_9999))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_calendar_dates() {
        assert_eq!(calendar_utc(0), "1970-01-01 00:00:00");
        assert_eq!(calendar_utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(calendar_utc(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(calendar_utc(-5), "1970-01-01 00:00:00");
        assert_eq!(calendar_utc(i64::MAX), "9999-12-31 23:59:59");
    }
}
