//! `GET {prefix}/account` and `POST {prefix}/logout`.

use askama::Template;

use super::{During, Frame, PortalError, PortalPage, PortalRequest, Task};
use crate::auth::second_factor::PENDING_ENROLMENT_SECS;
use crate::http_response::HttpResponse;
use crate::session::Level;
use crate::store::AuditKind;
use crate::State;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    ui: &'a Frame,
    csrf: &'a str,
    username: &'a str,
    display_name: Option<&'a str>,
    email: Option<&'a str>,
    groups: &'a [String],
    /// Catalog key of how the session was signed in.
    level: &'static str,
    /// Catalog key of the state of two-factor sign-in.
    totp_state: &'static str,
    totp_on: bool,
    totp_pending: bool,
    codes_left: i64,
    message: Option<String>,
    /// A member of `[admin] groups`: the page links to the admin area.
    is_admin: bool,
}

pub async fn get(state: &State, req: &PortalRequest) -> Result<HttpResponse, PortalError> {
    let session = req.signed_in()?;
    let user_id = session.identity.user_id;
    let now = req.now;
    let facts = state
        .store
        .call(move |s| {
            let on = s.totp(user_id)?.is_some();
            let pending = s
                .totp_pending(user_id)?
                .is_some_and(|p| now - p.created_at < PENDING_ENROLMENT_SECS);
            let left = s.recovery_codes_left(user_id)?;
            Ok((on, pending, left))
        })
        .await;
    let (on, pending, left) = facts.during(Task::Account)?;
    let id = &session.identity;
    let note = match req.query_param("done").as_deref() {
        Some("totp_disabled") => Some(req.ui.t("account-totp-disabled")),
        _ => None,
    };
    Ok(req.ui.render(
        200,
        &AccountPage {
            ui: &req.ui,
            csrf: &session.csrf_token(),
            username: &id.username,
            display_name: id.display_name.as_deref(),
            email: id.email.as_deref(),
            groups: &id.groups,
            level: match session.level {
                Level::TwoFactor => "account-level-two",
                _ => "account-level-one",
            },
            totp_state: if on {
                "account-2fa-on"
            } else if pending {
                "account-2fa-pending"
            } else {
                "account-2fa-off"
            },
            totp_on: on,
            totp_pending: pending,
            codes_left: left,
            message: note,
            is_admin: super::admin::is_admin(id, &state.config().admin.groups),
        },
    ))
}

/// Signing out always succeeds: the session ends in memory at once and its cookie is cleared,
/// and a store that cannot delete the row now gets the delete again until it accepts it.
pub async fn logout(state: &State, req: &PortalRequest) -> HttpResponse {
    let login_page = format!("{}?signed_out=1", PortalPage::Login.at(state.prefix()));
    if let Some(s) = &req.session {
        let detail = if state.sessions.end(s.id_hash).await {
            None
        } else {
            Some("the store will record it when it accepts writes again".to_string())
        };
        req.audit(state, AuditKind::Logout, Some(&s.identity.username), detail);
    }
    let cleared = state.cookies.set(&state.cookies.session, "", None);
    HttpResponse::redirect(303, &login_page).header("Set-Cookie", cleared)
}
