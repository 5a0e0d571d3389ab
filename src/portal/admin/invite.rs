//! `GET/POST {prefix}/admin/invite`: an admin invites a person. The user is made without a
//! password and the page shows the link to send them, once (the store keeps only its hash);
//! the link leads to the same invite page as the command line's.

use std::sync::Arc;
use std::time::Duration;

use askama::Template;

use super::Actor;
use crate::http_response::HttpResponse;
use crate::portal::{issue_invite, During, Form, Frame, PortalError, PortalRequest, Task};
use crate::session::ActiveSession;
use crate::store::{AuditKind, NewUser, StoreError};
use crate::user_fields::{valid_group, valid_text, valid_username, Field};
use crate::State;

/// The longest an invite link may live when made here.
const LONGEST: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Template)]
#[template(path = "admin_invite.html")]
struct InvitePage<'a> {
    ui: &'a Frame,
    csrf: &'a str,
    username: &'a str,
    email: &'a str,
    display_name: &'a str,
    groups: &'a str,
    expires: &'a str,
    error: Option<String>,
    /// The link just made, and what the page says of it.
    made: Option<(String, String)>,
}

/// What the form was filled with.
#[derive(Default)]
struct Filled {
    username: String,
    email: String,
    display_name: String,
    groups: String,
    expires: String,
}

fn render(
    req: &PortalRequest,
    admin: &ActiveSession,
    status: u16,
    filled: &Filled,
    error: Option<&str>,
    made: Option<(String, String)>,
) -> HttpResponse {
    req.ui.render(
        status,
        &InvitePage {
            ui: &req.ui,
            csrf: &admin.csrf_token(),
            username: &filled.username,
            email: &filled.email,
            display_name: &filled.display_name,
            groups: &filled.groups,
            expires: &filled.expires,
            error: error.map(|key| req.ui.t(key)),
            made,
        },
    )
}

fn default_expiry(state: &State) -> String {
    humantime::format_duration(state.config().invites.expires).to_string()
}

/// `GET {prefix}/admin/invite`: the form.
pub(super) fn form(state: &State, req: &PortalRequest, admin: &Arc<ActiveSession>) -> HttpResponse {
    let filled = Filled {
        expires: default_expiry(state),
        ..Filled::default()
    };
    render(req, admin, 200, &filled, None, None)
}

/// The new user the form describes, and how long the link lives; or the catalog key of what
/// is wrong with it.
fn read(form: &Form) -> Result<(NewUser, Duration), &'static str> {
    let username = form.get("username").trim();
    valid_username(username).map_err(|_| "admin-invite-bad-username")?;
    let text = |name: &str, field: Field| -> Result<Option<String>, &'static str> {
        let value = form.get(name).trim();
        valid_text(field, value).map_err(|_| "admin-profile-invalid")?;
        Ok((!value.is_empty()).then(|| value.to_string()))
    };
    let groups: Vec<String> = form
        .get("groups")
        .split([',', ' '])
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .collect();
    if groups.iter().any(|g| valid_group(g).is_err()) {
        return Err("admin-group-invalid");
    }
    let lifetime = humantime::parse_duration(form.get("expires").trim())
        .ok()
        .filter(|d| *d >= Duration::from_secs(60) && *d <= LONGEST)
        .ok_or("admin-invite-bad-expires")?;
    let new = NewUser {
        username: username.to_string(),
        email: text("email", Field::Email)?,
        display_name: text("display_name", Field::DisplayName)?,
        password_hash: crate::store::NO_PASSWORD.into(),
        groups,
    };
    Ok((new, lifetime))
}

/// `POST {prefix}/admin/invite`: makes the user and shows the link.
pub(super) async fn post(
    state: &State,
    req: &PortalRequest,
    actor: &Actor<'_>,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let filled = Filled {
        username: form.get("username").trim().chars().take(64).collect(),
        email: form.get("email").trim().chars().take(256).collect(),
        display_name: form.get("display_name").trim().chars().take(256).collect(),
        groups: form.get("groups").chars().take(1024).collect(),
        expires: form.get("expires").trim().chars().take(32).collect(),
    };
    let (new, lifetime) = match read(form) {
        Ok(read) => read,
        Err(key) => return Ok(render(req, actor.session, 400, &filled, Some(key), None)),
    };
    let prefix = state.prefix().to_string();
    let now = req.now;
    let username = new.username.clone();
    let groups = new.groups.clone();
    let made = state
        .store
        .call(move |s| issue_invite(s, &prefix, &new, lifetime, now))
        .await;
    let invite = match made {
        Err(StoreError::DuplicateUser(_)) => {
            let key = Some("admin-invite-taken");
            return Ok(render(req, actor.session, 409, &filled, key, None));
        }
        other => other.during(Task::Account)?,
    };
    let until = crate::portal::utc_minutes(invite.expires_at);
    let detail = format!("until {until} UTC, groups [{}],", groups.join(" "));
    actor.audit(
        state,
        req,
        AuditKind::InviteCreated,
        Some(&username),
        Some(&detail),
    );
    let scheme = if req.tls { "https" } else { "http" };
    let link = format!("{scheme}://{}{}", req.host, invite.path);
    let said = req
        .ui
        .msg("admin-invite-made")
        .str("username", &username)
        .str("time", &until)
        .to_string();
    let blank = Filled {
        expires: default_expiry(state),
        ..Filled::default()
    };
    Ok(render(
        req,
        actor.session,
        200,
        &blank,
        None,
        Some((link, said)),
    ))
}
