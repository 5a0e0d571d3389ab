//! `GET/POST {prefix}/admin/bans`: the bans in force, and lifting them.
//!
//! A lift is [`crate::auth::bans::lift`], as `portcullis bans lift` makes it; then this
//! gateway forgets its copy of every key at once, as it does when the command line's
//! `lift-ban` message reaches it (see [`crate::background`]).

use std::sync::Arc;

use askama::Template;

use super::users::ShownBan;
use super::{link, Actor};
use crate::auth::bans::Subject;
use crate::http_response::HttpResponse;
use crate::portal::{During, Form, Frame, PortalError, PortalPage, PortalRequest, Task};
use crate::session::ActiveSession;
use crate::store::AuditKind;
use crate::State;

#[derive(Template)]
#[template(path = "admin_bans.html")]
struct BansPage<'a> {
    ui: &'a Frame,
    csrf: &'a str,
    action: &'a str,
    bans: &'a [ShownBan],
    notice: Option<String>,
    error: Option<String>,
}

async fn page(
    state: &State,
    req: &PortalRequest,
    admin: &ActiveSession,
    status: u16,
    error: Option<&str>,
) -> Result<HttpResponse, PortalError> {
    let now = req.now;
    let mut bans = state
        .store
        .call(move |s| s.active_bans(now))
        .await
        .during(Task::Account)?;
    bans.sort_by(|a, b| a.key.cmp(&b.key));
    let shown: Vec<ShownBan> = bans.iter().map(ShownBan::new).collect();
    let notice = (status == 200 && req.query_param("done").as_deref() == Some("lifted"))
        .then(|| req.ui.t("admin-done-ban"));
    Ok(req.ui.render(
        status,
        &BansPage {
            ui: &req.ui,
            csrf: &admin.csrf_token(),
            action: &PortalPage::AdminBans.at(state.prefix()),
            bans: &shown,
            notice,
            error: error.map(|key| req.ui.t(key)),
        },
    ))
}

/// `GET {prefix}/admin/bans`.
pub(super) async fn list(
    state: &State,
    req: &PortalRequest,
    admin: &Arc<ActiveSession>,
) -> Result<HttpResponse, PortalError> {
    page(state, req, admin, 200, None).await
}

/// `POST {prefix}/admin/bans`: field `subject`, a ban key or what the list shows of it.
pub(super) async fn post(
    state: &State,
    req: &PortalRequest,
    actor: &Actor<'_>,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let Ok(subject) = Subject::parse(form.get("subject")) else {
        return page(state, req, actor.session, 400, Some("admin-ban-none")).await;
    };
    if lift(state, req, actor, subject).await? == 0 {
        return page(state, req, actor.session, 409, Some("admin-ban-none")).await;
    }
    let done = link(state, PortalPage::AdminBans, &[("done", "lifted")]);
    Ok(HttpResponse::redirect(303, &done))
}

/// Lifts the bans on `subject` in the store, then in this gateway; audits each lifted ban.
/// Returns how many there were.
pub(super) async fn lift(
    state: &State,
    req: &PortalRequest,
    actor: &Actor<'_>,
    subject: Subject,
) -> Result<usize, PortalError> {
    let now = req.now;
    let user = subject.user().map(str::to_string);
    let lifted = state
        .store
        .call(move |s| crate::auth::bans::lift(s, &subject, now))
        .await
        .during(Task::Account)?;
    let regulator = state.regulation.regulator();
    for key in &lifted.keys {
        regulator.forget(key);
    }
    for ban in &lifted.bans {
        actor.audit(
            state,
            req,
            AuditKind::BanLifted,
            user.as_deref(),
            Some(&ban.key),
        );
    }
    Ok(lifted.bans.len())
}
