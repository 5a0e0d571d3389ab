//! The audit trail: the `audit` table.
//!
//! Rows are appended and read back, never changed. Which events exist and what they say is
//! for the callers; this file stores them as given and reads them back, newest first, by
//! user, event and time.

use std::collections::HashMap;

use super::db::{params, Sql};

use super::{Result, Store};

/// Which audit rows to read: every filter is optional; rows come newest first, `offset` rows
/// skipped, at most `limit`.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// The user a row names, in any case.
    pub username: Option<String>,
    /// The event's stored name ([`AuditKind::as_str`]).
    pub event: Option<String>,
    /// Rows at or after this Unix time.
    pub from: Option<i64>,
    /// Rows before this Unix time.
    pub until: Option<i64>,
    pub offset: usize,
    pub limit: usize,
}

/// What an audit row records; its name is what the `audit` table and `portcullis audit` show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    /// Signed in (with one factor, or both when the user has none set up).
    Login,
    /// A wrong password, an unknown or a disabled user.
    LoginFailure,
    /// A sign-in refused unchecked because the user or client is banned.
    LoginRefusedBanned,
    /// The password was right; the second factor is next.
    PasswordSuccess,
    /// Signed in with the second factor.
    SecondFactorSuccess,
    /// A wrong or replayed TOTP code.
    TotpFailure,
    /// A recovery code was used (and is spent).
    RecoveryCodeUsed,
    /// A wrong or spent recovery code.
    RecoveryCodeFailure,
    /// Two-factor sign-in turned on.
    TotpEnabled,
    /// Two-factor sign-in turned off.
    TotpDisabled,
    /// A new set of recovery codes replaced the old one.
    RecoveryCodesRegenerated,
    /// Signed out.
    Logout,
    /// A user or client was banned.
    Ban,
    /// An operator lifted a ban.
    BanLifted,
    /// An operator ended a user's sessions.
    SessionsRevoked,
    /// An operator created a user.
    UserCreated,
    /// A password was changed (the user's sessions end).
    PasswordChanged,
    /// An operator disabled a user.
    UserDisabled,
    /// An operator enabled a user.
    UserEnabled,
    /// An operator deleted a user.
    UserDeleted,
    /// An operator changed a user's groups.
    GroupsChanged,
    /// An operator removed a user's TOTP and recovery codes.
    SecondFactorReset,
    /// An invite link was made for a user (a new one replaces the old).
    InviteCreated,
    /// An invited person chose their password through the link.
    InviteAccepted,
    /// A user's email or display name changed.
    ProfileChanged,
    /// One session was ended from an account page or the admin area.
    SessionEnded,
    /// A browser was remembered: it skips the second factor for a while.
    BrowserRemembered,
    /// A remembered browser was forgotten.
    BrowserForgotten,
    /// A second factor confirmed again before a sensitive change (the admin area's changes,
    /// adding or removing a passkey).
    AdminReauth,
    /// A password was refused by the password rules.
    PasswordRefused,
    /// A passkey was added to an account.
    PasskeyAdded,
    /// A passkey was renamed.
    PasskeyRenamed,
    /// A passkey was removed from an account.
    PasskeyRemoved,
    /// A passkey assertion was refused (a bad or replayed answer, another origin, an unknown
    /// key).
    PasskeyFailure,
    /// A passkey's signature counter went backwards: the key may have been copied. The
    /// sign-in was refused.
    PasskeyCloneWarning,
}

impl AuditKind {
    /// Every kind, in the order declared (for choosing one, as the admin pages' filter does).
    pub const ALL: [AuditKind; 35] = [
        AuditKind::Login,
        AuditKind::LoginFailure,
        AuditKind::LoginRefusedBanned,
        AuditKind::PasswordSuccess,
        AuditKind::SecondFactorSuccess,
        AuditKind::TotpFailure,
        AuditKind::RecoveryCodeUsed,
        AuditKind::RecoveryCodeFailure,
        AuditKind::TotpEnabled,
        AuditKind::TotpDisabled,
        AuditKind::RecoveryCodesRegenerated,
        AuditKind::Logout,
        AuditKind::Ban,
        AuditKind::BanLifted,
        AuditKind::SessionsRevoked,
        AuditKind::UserCreated,
        AuditKind::PasswordChanged,
        AuditKind::UserDisabled,
        AuditKind::UserEnabled,
        AuditKind::UserDeleted,
        AuditKind::GroupsChanged,
        AuditKind::SecondFactorReset,
        AuditKind::InviteCreated,
        AuditKind::InviteAccepted,
        AuditKind::ProfileChanged,
        AuditKind::SessionEnded,
        AuditKind::BrowserRemembered,
        AuditKind::BrowserForgotten,
        AuditKind::AdminReauth,
        AuditKind::PasswordRefused,
        AuditKind::PasskeyAdded,
        AuditKind::PasskeyRenamed,
        AuditKind::PasskeyRemoved,
        AuditKind::PasskeyFailure,
        AuditKind::PasskeyCloneWarning,
    ];

    /// The event's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Login => "login",
            AuditKind::LoginFailure => "login_failure",
            AuditKind::LoginRefusedBanned => "login_refused_banned",
            AuditKind::PasswordSuccess => "password_success",
            AuditKind::SecondFactorSuccess => "second_factor_success",
            AuditKind::TotpFailure => "totp_failure",
            AuditKind::RecoveryCodeUsed => "recovery_code_used",
            AuditKind::RecoveryCodeFailure => "recovery_code_failure",
            AuditKind::TotpEnabled => "totp_enabled",
            AuditKind::TotpDisabled => "totp_disabled",
            AuditKind::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            AuditKind::Logout => "logout",
            AuditKind::Ban => "ban",
            AuditKind::BanLifted => "ban_lifted",
            AuditKind::SessionsRevoked => "sessions_revoked",
            AuditKind::UserCreated => "user_created",
            AuditKind::PasswordChanged => "password_changed",
            AuditKind::UserDisabled => "user_disabled",
            AuditKind::UserEnabled => "user_enabled",
            AuditKind::UserDeleted => "user_deleted",
            AuditKind::GroupsChanged => "groups_changed",
            AuditKind::SecondFactorReset => "second_factor_reset",
            AuditKind::InviteCreated => "invite_created",
            AuditKind::InviteAccepted => "invite_accepted",
            AuditKind::ProfileChanged => "profile_changed",
            AuditKind::SessionEnded => "session_ended",
            AuditKind::BrowserRemembered => "browser_remembered",
            AuditKind::BrowserForgotten => "browser_forgotten",
            AuditKind::AdminReauth => "admin_reauth",
            AuditKind::PasswordRefused => "password_refused",
            AuditKind::PasskeyAdded => "passkey_added",
            AuditKind::PasskeyRenamed => "passkey_renamed",
            AuditKind::PasskeyRemoved => "passkey_removed",
            AuditKind::PasskeyFailure => "passkey_failure",
            AuditKind::PasskeyCloneWarning => "passkey_clone_warning",
        }
    }
}

impl std::fmt::Display for AuditKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// Appends one event off the request path, and logs it (target `audit`); a failure to
    /// write it is logged, never answered.
    pub fn audit_later(&self, e: AuditEvent) {
        tracing::info!(
            target: "audit",
            event = e.event.as_str(),
            user = e.username.as_deref().unwrap_or(""),
            client = e.client_ip.as_deref().unwrap_or(""),
            detail = e.detail.as_deref().unwrap_or(""),
        );
        let store = self.clone();
        tokio::spawn(async move {
            if let Err(err) = store.call(move |s| s.audit(&e)).await {
                tracing::error!("audit write failed: {err}");
            }
        });
    }

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
        let mut events = self.audit_search(&AuditQuery {
            username: username.map(str::to_string),
            limit,
            ..AuditQuery::default()
        })?;
        events.reverse();
        Ok(events)
    }

    /// The events `query` selects, newest first.
    pub fn audit_search(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
        let conn = self.read()?;
        conn.query_all(
            "SELECT at, username, event, client_ip, user_agent, detail FROM audit
             WHERE (CAST(?1 AS TEXT) IS NULL OR username = ?1 COLLATE NOCASE)
               AND (CAST(?2 AS TEXT) IS NULL OR event = ?2)
               AND (CAST(?3 AS BIGINT) IS NULL OR at >= ?3)
               AND (CAST(?4 AS BIGINT) IS NULL OR at < ?4)
             ORDER BY id DESC LIMIT ?5 OFFSET ?6",
            params![
                query.username,
                query.event,
                query.from,
                query.until,
                limit,
                offset
            ],
            |r| {
                Ok(AuditEvent {
                    at: r.get(0)?,
                    username: r.get(1)?,
                    event: r.get(2)?,
                    client_ip: r.get(3)?,
                    user_agent: r.get(4)?,
                    detail: r.get(5)?,
                })
            },
        )
    }

    /// When each user (or only `username`) last signed in: the newest sign-in or
    /// second-factor success the trail holds, by username in lower case.
    pub fn last_sign_ins(&self, username: Option<&str>) -> Result<HashMap<String, i64>> {
        let conn = self.read()?;
        Ok(conn
            .query_all(
                "SELECT lower(username), MAX(at) FROM audit
             WHERE username IS NOT NULL AND event IN (?1, ?2)
               AND (CAST(?3 AS TEXT) IS NULL OR username = ?3 COLLATE NOCASE)
             GROUP BY lower(username)",
                params![
                    AuditKind::Login.as_str(),
                    AuditKind::SecondFactorSuccess.as_str(),
                    username
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .into_iter()
            .collect())
    }
}
