//! `GET {prefix}/account` and `POST {prefix}/logout`.

use askama::Template;

use super::{login, render, unavailable, PortalRequest};
use crate::http_response::HttpResponse;
use crate::session::Level;
use crate::store::AuditKind;
use crate::State;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    prefix: &'a str,
    csrf: &'a str,
    username: &'a str,
    display_name: Option<&'a str>,
    email: Option<&'a str>,
    groups: &'a [String],
    level: &'a str,
    totp_state: &'a str,
    totp_on: bool,
    totp_pending: bool,
    codes_left: i64,
    message: Option<&'a str>,
}

pub async fn get(state: &State, req: &PortalRequest) -> HttpResponse {
    let session = match &req.session {
        Some(s) if s.level >= Level::OneFactor => s,
        Some(_) => return HttpResponse::redirect(303, &format!("{}/totp", state.prefix())),
        None => return login::require_login(state, req),
    };
    let user_id = session.identity.user_id;
    let now = req.now;
    let facts = state
        .store
        .call(move |s| {
            let on = s.totp(user_id)?.is_some();
            let pending = s
                .totp_pending(user_id)?
                .is_some_and(|p| now - p.created_at < crate::PENDING_ENROLMENT_SECS);
            let left = s.recovery_codes_left(user_id)?;
            Ok((on, pending, left))
        })
        .await;
    let Ok((on, pending, left)) = facts else {
        return unavailable(state, "Your account cannot be shown right now.", None);
    };
    let id = &session.identity;
    let note = match req.query_param("done").as_deref() {
        Some("totp_disabled") => Some("Two-factor sign-in is off."),
        _ => None,
    };
    render(
        200,
        &AccountPage {
            prefix: state.prefix(),
            csrf: &session.csrf_token(),
            username: &id.username,
            display_name: id.display_name.as_deref(),
            email: id.email.as_deref(),
            groups: &id.groups,
            level: match session.level {
                Level::TwoFactor => "password and second factor",
                _ => "password",
            },
            totp_state: if on {
                "on"
            } else if pending {
                "set-up pending"
            } else {
                "off"
            },
            totp_on: on,
            totp_pending: pending,
            codes_left: left,
            message: note,
        },
    )
}

/// Signing out always succeeds: the session ends in memory at once and its cookie is cleared,
/// and a store that cannot delete the row now gets the delete again until it accepts it.
pub async fn logout(state: &State, req: &PortalRequest) -> HttpResponse {
    let login_page = format!("{}/login", state.prefix());
    if let Some(s) = &req.session {
        let detail = if state.sessions.end(s.id_hash).await {
            None
        } else {
            Some("the store will record it when it accepts writes again".to_string())
        };
        state.audit(AuditKind::Logout, Some(&s.identity.username), req, detail);
    }
    HttpResponse::redirect(303, &login_page).header(
        "Set-Cookie",
        state.cookie(&state.names.session_cookie, "", None),
    )
}
