//! `{prefix}/admin/...`: the admin area, for members of `[admin] groups`.
//!
//! Every admin page needs a two-factor session of an admin: nobody signed in goes to the
//! sign-in page, a signed-in non-admin gets a 403 page, and an admin at one factor is sent to
//! the TOTP challenge, or to forced enrolment, exactly as on a `two_factor` route (the level
//! rule is [`crate::policy::decide`]'s). A change (every POST) also needs a fresh second
//! factor: one confirmed within `[admin] reauth` ([`factor_fresh`]); a stale one is not
//! performed, and the reauth page asks for a code, then comes back.
//!
//! Changes go through the store functions the command line uses, each makes the running
//! gateway drop what it cached of the user at once, and each writes an audit row naming the
//! target user, with `by admin NAME` in its detail. The pages: [`users`] (the list and one
//! user), [`changes`] (what an admin does to a user), [`invite`], [`bans`] and [`audit`]. Nothing here
//! writes SQL.

mod audit;
mod bans;
mod changes;
mod invite;
mod users;

use std::sync::Arc;

use askama::Template;

use super::{
    encode_query, factor_fresh, told, Form, Frame, PortalError, PortalPage, PortalRequest,
};
use super::{utc_minutes as when, Task, MAX_CODE};
use crate::auth::second_factor::CodeCheck;
use crate::http_response::HttpResponse;
use crate::policy::{decide, Decision};
use crate::routes::Policy;
use crate::session::{ActiveSession, Identity, Level};
use crate::store::AuditKind;
use crate::State;

/// Answers `GET` on an admin page.
pub(super) async fn get(
    state: &State,
    req: &PortalRequest,
    page: PortalPage,
) -> Result<HttpResponse, PortalError> {
    let admin = match gate(state, req)? {
        Ok(admin) => admin,
        Err(answer) => return Ok(answer),
    };
    match page {
        PortalPage::Admin => users::list(state, req, admin).await,
        PortalPage::AdminUser => users::show(state, req, admin).await,
        PortalPage::AdminBans => bans::list(state, req, admin).await,
        PortalPage::AdminAudit => audit::list(state, req, admin).await,
        PortalPage::AdminInvite => Ok(invite::form(state, req, admin)),
        PortalPage::AdminReauth => {
            let rd = back_to(state, req, None);
            Ok(reauth_page(req, admin, 200, &rd, None))
        }
        _ => Err(PortalError::NotFound),
    }
}

/// Answers `POST` on an admin page: a change, made only with a fresh second factor.
pub(super) async fn post(
    state: &State,
    req: &PortalRequest,
    page: PortalPage,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let admin = match gate(state, req)? {
        Ok(admin) => admin,
        Err(answer) => return Ok(answer),
    };
    if page == PortalPage::AdminReauth {
        return reauth(state, req, admin, form).await;
    }
    if !factor_fresh(admin, req.now, state.config().admin.reauth) {
        // Not performed: the page it came from is shown again once the factor is fresh.
        let here = format!("{}{}", state.prefix(), here(req));
        return Ok(reauth_page(req, admin, 403, &here, None));
    }
    let actor = Actor {
        session: admin,
        by: format!("by admin {}", admin.identity.username),
    };
    match page {
        PortalPage::AdminUser => changes::post(state, req, &actor, form).await,
        PortalPage::AdminBans => bans::post(state, req, &actor, form).await,
        PortalPage::AdminInvite => invite::post(state, req, &actor, form).await,
        _ => Err(PortalError::MethodNotAllowed {
            allow: "GET",
            text: "method-no-forms",
        }),
    }
}

/// The admin making a change, and the words every audit row of theirs carries.
struct Actor<'a> {
    session: &'a Arc<ActiveSession>,
    /// `by admin NAME`: the detail (or its end) of every audit row of a change.
    by: String,
}

impl Actor<'_> {
    fn username(&self) -> &str {
        &self.session.identity.username
    }

    /// Writes the audit row of a change to `target`.
    fn audit(
        &self,
        state: &State,
        req: &PortalRequest,
        kind: AuditKind,
        target: Option<&str>,
        what: Option<&str>,
    ) {
        let detail = match what {
            Some(what) => format!("{what} {}", self.by),
            None => self.by.clone(),
        };
        req.audit(state, kind, target, Some(detail));
    }
}

/// The page and query the request is for, below the prefix.
fn here(req: &PortalRequest) -> String {
    match req.query.as_deref() {
        Some(q) => format!("{}?{q}", req.page),
        None => req.page.clone(),
    }
}

/// Whether `identity` is a member of one of `admin_groups`.
pub fn is_admin(identity: &Identity, admin_groups: &[String]) -> bool {
    identity.groups.iter().any(|g| admin_groups.contains(g))
}

/// Who may use the admin area: `Ok(Ok(session))` for a two-factor admin; `Ok(Err(answer))`
/// for a 403 page or a step to take first (the challenge, enrolment); `Err` for nobody signed
/// in.
fn gate<'r>(
    state: &State,
    req: &'r PortalRequest,
) -> Result<Result<&'r Arc<ActiveSession>, HttpResponse>, PortalError> {
    let Some(session) = &req.session else {
        return Err(PortalError::NotSignedIn { here: here(req) });
    };
    let prefix = state.prefix();
    let rd = format!("{prefix}{}", here(req));
    // A session awaiting its second factor shows nothing, not even whether it is an admin's.
    if session.level >= Level::OneFactor
        && !is_admin(&session.identity, &state.config().admin.groups)
    {
        return Ok(Err(told(
            &req.ui,
            403,
            "admin-forbidden-title",
            "admin-forbidden-text",
        )));
    }
    match decide(Policy::TwoFactor, None, Some(session)) {
        Decision::Forward { .. } => Ok(Ok(session)),
        decision => match super::next_step(decision, prefix, &rd) {
            Some((url, _)) => Ok(Err(HttpResponse::redirect(303, &url))),
            None => Err(PortalError::NotSignedIn { here: here(req) }),
        },
    }
}

/// Where a form or the query says to come back to: an admin page, else the users list.
fn back_to(state: &State, req: &PortalRequest, form: Option<&Form>) -> String {
    let list = PortalPage::Admin.at(state.prefix());
    let rd = super::rd_of(state, req, form);
    let admin_area = format!("{list}/");
    if rd == list || rd.starts_with(&admin_area) || rd.starts_with(&format!("{list}?")) {
        rd
    } else {
        list
    }
}

#[derive(Template)]
#[template(path = "admin_reauth.html")]
struct ReauthPage<'a> {
    ui: &'a Frame,
    csrf: &'a str,
    rd: &'a str,
    username: &'a str,
    error: Option<&'a str>,
    has_totp: bool,
    /// The challenge page, asked to confirm the second factor again, for an admin with a
    /// passkey.
    passkey_link: Option<String>,
}

fn reauth_page(
    req: &PortalRequest,
    admin: &ActiveSession,
    status: u16,
    rd: &str,
    error: Option<&str>,
) -> HttpResponse {
    let error = error.map(|key| req.ui.t(key));
    req.ui.render(
        status,
        &ReauthPage {
            ui: &req.ui,
            csrf: &admin.csrf_token(),
            rd,
            username: &admin.identity.username,
            error: error.as_deref(),
            has_totp: admin.identity.has_totp,
            passkey_link: admin.identity.has_passkey.then(|| {
                format!(
                    "{}?again=1&rd={}",
                    PortalPage::Totp.at(&req.ui.prefix),
                    encode_query(rd)
                )
            }),
        },
    )
}

/// `POST {prefix}/admin/reauth`: a current TOTP code, counted by regulation like every other;
/// right, the session is raised again (a new id and a fresh factor) and the admin goes back.
async fn reauth(
    state: &State,
    req: &PortalRequest,
    admin: &Arc<ActiveSession>,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let rd = back_to(state, req, Some(form));
    let code = form.get("code");
    if code.trim().is_empty() || code.len() > MAX_CODE {
        return Ok(reauth_page(req, admin, 400, &rd, Some("totp-missing")));
    }
    let refused = |check| match check {
        CodeCheck::Replayed => ("admin reauth: code already used", "totp-replayed"),
        _ => ("admin reauth: wrong code", "totp-wrong"),
    };
    let task = Task::CheckCode;
    let checked = super::check_code(state, req, admin, code, false, task, |c| refused(c).0);
    let attempt = match checked.await? {
        Ok(attempt) => attempt,
        Err(check) => return Ok(reauth_page(req, admin, 200, &rd, Some(refused(check).1))),
    };
    let (cookie, _) = super::raise(state, req, admin, Level::TwoFactor).await?;
    attempt.succeeded();
    let username = &admin.identity.username;
    req.audit(state, AuditKind::AdminReauth, Some(username), None);
    Ok(HttpResponse::redirect(303, &rd).header("Set-Cookie", cookie))
}

/// A link to `page` with `query` (already encoded pairs).
fn link(state: &State, page: PortalPage, query: &[(&str, &str)]) -> String {
    let base = page.at(state.prefix());
    if query.is_empty() {
        return base;
    }
    let pairs: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_query(v)))
        .collect();
    format!("{base}?{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn session(level: Level, factor_at: Option<i64>) -> ActiveSession {
        let identity = Arc::new(Identity::new(1, "root".into(), None, None, vec![], true));
        let mut s = ActiveSession::for_tests(identity, level);
        s.created_at = 1_000;
        s.factor_at = factor_at;
        s
    }

    #[test]
    fn a_factor_is_fresh_for_reauth_after_its_confirmation_and_no_longer() {
        let ten_minutes = Duration::from_secs(600);
        let s = session(Level::TwoFactor, Some(1_000));
        assert!(factor_fresh(&s, 1_000, ten_minutes));
        assert!(factor_fresh(&s, 1_599, ten_minutes));
        assert!(!factor_fresh(&s, 1_600, ten_minutes));
        assert!(!factor_fresh(&s, 1_000 + 11 * 60, ten_minutes));
        assert!(!factor_fresh(
            &session(Level::OneFactor, Some(1_000)),
            1_000,
            ten_minutes
        ));
        // A remembered browser's session: two factors, none typed.
        assert!(!factor_fresh(
            &session(Level::TwoFactor, None),
            1_000,
            ten_minutes
        ));
    }
}
