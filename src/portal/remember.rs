//! "Remember this browser" (`[totp] remember_browser`, off when zero): a checkbox at the code
//! step. A remembered browser holds a random token in a cookie of its own; the store keeps its
//! SHA-256 with the user, so the token skips the second factor for that user only, and never
//! the password. The account page lists and forgets them.

use super::{During, PortalError, PortalRequest, Task};
use crate::session::{hash_id, random_token, ActiveSession};
use crate::store::{AuditKind, RememberedBrowser};
use crate::State;

/// How long a remembered browser skips the second factor; `None` when not offered.
pub(super) fn offered(state: &State) -> Option<std::time::Duration> {
    Some(state.config().totp.remember_browser).filter(|d| !d.is_zero())
}

/// The SHA-256 of the remembered-browser token the request carries, when the feature is on.
pub(super) fn token_hash(state: &State, req: &PortalRequest) -> Option<[u8; 32]> {
    offered(state)?;
    req.cookie(&state.cookies.remember)
        .and_then(|value| hash_id(&value))
}

/// The longest a browser stays remembered now, in seconds (the setting may have been lowered
/// since a browser was remembered); zero when the feature is off.
pub(super) fn longest(state: &State) -> i64 {
    offered(state).map_or(0, |d| d.as_secs().min(i64::MAX as u64 / 2) as i64)
}

/// Remembers the request's browser for `session`'s user: the `Set-Cookie` of its token.
pub(super) async fn remember(
    state: &State,
    req: &PortalRequest,
    session: &ActiveSession,
) -> Result<Option<String>, PortalError> {
    let Some(lifetime) = offered(state) else {
        return Ok(None);
    };
    let secs = lifetime.as_secs().min(i64::MAX as u64 / 2) as i64;
    let token = random_token();
    let origin = req.origin();
    let row = RememberedBrowser {
        token_hash: hash_id(&token).expect("a fresh token is well formed"),
        user_id: session.identity.user_id,
        created_at: req.now,
        expires_at: req.now.saturating_add(secs),
        last_used: None,
        client_ip: origin.ip.to_string(),
        user_agent: origin.user_agent.unwrap_or("").chars().take(256).collect(),
    };
    state
        .store
        .call(move |s| s.remember_browser(&row))
        .await
        .during(Task::CheckCode)?;
    req.audit(
        state,
        AuditKind::BrowserRemembered,
        Some(&session.identity.username),
        Some(format!("for {}", humantime::format_duration(lifetime))),
    );
    Ok(Some(state.cookies.set(
        &state.cookies.remember,
        &token,
        Some(secs),
    )))
}

/// Whole days of `lifetime` when there is at least one, else whole hours (at least one): what
/// the checkbox says.
pub(super) fn days_or_hours(lifetime: std::time::Duration) -> (i64, bool) {
    let hours = (lifetime.as_secs() / 3600).max(1) as i64;
    if hours >= 24 {
        (hours / 24, true)
    } else {
        (hours, false)
    }
}
