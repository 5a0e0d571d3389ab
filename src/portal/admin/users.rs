//! `GET {prefix}/admin` (the users, with a search) and `GET {prefix}/admin/user?name=` (one
//! user, with the forms of every change, which [`super::changes`] makes).

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;

use super::{link, when};
use crate::auth::bans::{describe, Subject};
use crate::http_response::HttpResponse;
use crate::portal::{During, Frame, PortalError, PortalPage, PortalRequest, Task};
use crate::session::{ActiveSession, Level};
use crate::store::{BanRow, SessionListing, User};
use crate::user_fields::MAX_TEXT_CHARS;
use crate::State;

/// A user as the list shows them.
struct Listed {
    username: String,
    display_name: String,
    email: String,
    disabled: bool,
    /// Invited, with no password chosen yet.
    invited: bool,
    totp_on: bool,
    groups: String,
    last_sign_in: Option<String>,
    sessions: usize,
    href: String,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage<'a> {
    ui: &'a Frame,
    q: &'a str,
    users: &'a [Listed],
    notice: Option<String>,
}

/// Whether a stored session is still live at `now` (as the session cache judges).
fn live(row: &crate::store::SessionRow, now: i64, idle: i64) -> bool {
    row.expires_at > now && now - row.last_seen < idle
}

/// The catalog key of the notice a finished change leaves (`?done=`), if it is one.
fn done_text(done: &str) -> Option<&'static str> {
    Some(match done {
        "disabled" => "admin-done-disabled",
        "enabled" => "admin-done-enabled",
        "deleted" => "admin-done-deleted",
        "profile" => "admin-done-profile",
        "groups" => "admin-done-groups",
        "reset" => "admin-done-reset",
        "passkey" => "admin-done-passkey",
        "sessions" => "admin-done-sessions",
        "session" => "admin-done-session",
        "ban" => "admin-done-ban",
        _ => return None,
    })
}

fn notice(req: &PortalRequest) -> Option<String> {
    let key = done_text(&req.query_param("done")?)?;
    Some(req.ui.t(key))
}

/// `GET {prefix}/admin?q=`: every user whose name, email or display name holds `q`.
pub(super) async fn list(
    state: &State,
    req: &PortalRequest,
    _admin: &Arc<ActiveSession>,
) -> Result<HttpResponse, PortalError> {
    let q: String = req
        .query_param("q")
        .unwrap_or_default()
        .trim()
        .chars()
        .take(MAX_TEXT_CHARS)
        .collect();
    let needle = q.to_lowercase();
    let now = req.now;
    let idle = state.config().session.idle_timeout.as_secs() as i64;
    let found = state
        .store
        .call(move |s| {
            let last = s.last_sign_ins(None)?;
            // Per user: how many live sessions, and when the newest began.
            let mut sessions: HashMap<i64, (usize, i64)> = HashMap::new();
            for x in s
                .list_sessions(None)?
                .iter()
                .filter(|x| live(&x.row, now, idle))
            {
                let entry = sessions.entry(x.row.user_id).or_default();
                *entry = (entry.0 + 1, entry.1.max(x.row.created_at));
            }
            let mut out = Vec::new();
            for u in s.list_users()? {
                let haystacks = [Some(&u.username), u.email.as_ref(), u.display_name.as_ref()];
                if !haystacks
                    .into_iter()
                    .flatten()
                    .any(|h| h.to_lowercase().contains(&needle))
                {
                    continue;
                }
                let (count, newest) = sessions.get(&u.id).copied().unwrap_or_default();
                let signed_in = last
                    .get(&u.username.to_lowercase())
                    .copied()
                    .or((count > 0).then_some(newest));
                out.push((s.enrolled(u.id)?.any(), count, signed_in, u));
            }
            Ok(out)
        })
        .await
        .during(Task::Account)?;
    let users: Vec<Listed> = found
        .into_iter()
        .map(|(totp_on, sessions, signed_in, u)| Listed {
            href: link(state, PortalPage::AdminUser, &[("name", &u.username)]),
            display_name: u.display_name.unwrap_or_default(),
            email: u.email.unwrap_or_default(),
            disabled: u.disabled,
            invited: u.password_hash == crate::store::NO_PASSWORD,
            totp_on,
            groups: u.groups.join(", "),
            last_sign_in: signed_in.map(when),
            sessions,
            username: u.username,
        })
        .collect();
    Ok(req.ui.render(
        200,
        &UsersPage {
            ui: &req.ui,
            q: &q,
            users: &users,
            notice: notice(req),
        },
    ))
}

/// A session as the user page shows it.
struct ShownSession {
    id: String,
    level: &'static str,
    created: String,
    last_seen: String,
    client_ip: String,
    user_agent: String,
}

/// A ban as the user and bans pages show it.
pub(super) struct ShownBan {
    pub key: String,
    pub subject: String,
    /// Catalog key of what is banned.
    pub kind: &'static str,
    pub until: String,
}

impl ShownBan {
    pub fn new(ban: &BanRow) -> ShownBan {
        use crate::auth::bans::BanKind;
        let (subject, kind) = describe(&ban.key);
        ShownBan {
            key: ban.key.clone(),
            subject,
            kind: match kind {
                BanKind::User => "admin-ban-kind-user",
                BanKind::SecondFactor => "admin-ban-kind-2fa",
                BanKind::Address => "admin-ban-kind-address",
                BanKind::Network => "admin-ban-kind-network",
                BanKind::Other => "admin-ban-kind-other",
            },
            until: when(ban.until),
        }
    }
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage<'a> {
    ui: &'a Frame,
    csrf: &'a str,
    /// Where the forms post: this page.
    action: &'a str,
    user: &'a User,
    groups: &'a [String],
    totp_on: bool,
    codes_left: i64,
    last_sign_in: Option<String>,
    sessions: &'a [ShownSession],
    bans: &'a [ShownBan],
    passkeys: &'a [ShownPasskey],
    notice: Option<String>,
    error: Option<String>,
}

/// One of the user's passkeys, as the page lists it.
struct ShownPasskey {
    id: i64,
    name: String,
    rp_id: String,
    created: String,
    last_used: Option<String>,
}

/// What the user page needs from the store.
struct Details {
    user: User,
    totp_on: bool,
    codes_left: i64,
    last_sign_in: Option<i64>,
    sessions: Vec<SessionListing>,
    bans: Vec<BanRow>,
    passkeys: Vec<crate::store::PasskeyRow>,
}

async fn details(state: &State, name: &str, now: i64) -> Result<Option<Details>, PortalError> {
    let name = name.to_string();
    let idle = state.config().session.idle_timeout.as_secs() as i64;
    state
        .store
        .call(move |s| {
            let Some(user) = s.user_by_name(&name)? else {
                return Ok(None);
            };
            let sessions: Vec<_> = s
                .list_sessions(Some(&user.username))?
                .into_iter()
                .filter(|x| live(&x.row, now, idle))
                .collect();
            let keys = Subject::User(user.username.clone()).keys();
            let bans = s
                .active_bans(now)?
                .into_iter()
                .filter(|b| keys.contains(&b.key))
                .collect();
            Ok(Some(Details {
                totp_on: s.enrolled(user.id)?.any(),
                codes_left: s.recovery_codes_left(user.id)?,
                last_sign_in: s
                    .last_sign_ins(Some(&user.username))?
                    .get(&user.username.to_lowercase())
                    .copied(),
                sessions,
                bans,
                passkeys: s.passkeys(user.id)?,
                user,
            }))
        })
        .await
        .during(Task::Account)
}

/// The page of user `name`, with a notice or an error; a 404 page when there is no such user.
pub(super) async fn user_page(
    state: &State,
    req: &PortalRequest,
    admin: &ActiveSession,
    name: &str,
    status: u16,
    error: Option<&str>,
) -> Result<HttpResponse, PortalError> {
    let Some(d) = details(state, name, req.now).await? else {
        return Ok(no_such_user(state, req));
    };
    let sessions: Vec<ShownSession> = d
        .sessions
        .iter()
        .map(|x| ShownSession {
            id: hex::encode(x.row.id_hash),
            level: match Level::from_u8(x.row.level) {
                Some(Level::TwoFactor) => "account-level-two",
                Some(Level::OneFactor) => "account-level-one",
                _ => "admin-level-pending",
            },
            created: when(x.row.created_at),
            last_seen: when(x.row.last_seen),
            client_ip: x.row.client_ip.clone(),
            user_agent: x.row.user_agent.clone(),
        })
        .collect();
    let bans: Vec<ShownBan> = d.bans.iter().map(ShownBan::new).collect();
    let passkeys: Vec<ShownPasskey> = d
        .passkeys
        .iter()
        .map(|k| ShownPasskey {
            id: k.id,
            name: k.name.clone(),
            rp_id: k.rp_id.clone(),
            created: when(k.created_at),
            last_used: k.last_used_at.map(when),
        })
        .collect();
    let action = link(state, PortalPage::AdminUser, &[("name", &d.user.username)]);
    let last = d
        .last_sign_in
        .or_else(|| d.sessions.iter().map(|x| x.row.created_at).max());
    Ok(req.ui.render(
        status,
        &UserPage {
            ui: &req.ui,
            csrf: &admin.csrf_token(),
            action: &action,
            groups: &d.user.groups,
            user: &d.user,
            totp_on: d.totp_on,
            codes_left: d.codes_left,
            last_sign_in: last.map(when),
            sessions: &sessions,
            bans: &bans,
            passkeys: &passkeys,
            notice: if status == 200 { notice(req) } else { None },
            error: error.map(|key| req.ui.t(key)),
        },
    ))
}

pub(super) fn no_such_user(state: &State, req: &PortalRequest) -> HttpResponse {
    let ui = &req.ui;
    let list = PortalPage::Admin.at(state.prefix());
    let back = ui.t("admin-nav-users");
    crate::portal::message(
        ui,
        404,
        &ui.t("admin-no-user-title"),
        &ui.t("admin-no-user-text"),
        Some((&list, &back)),
    )
}

/// `GET {prefix}/admin/user?name=NAME`.
pub(super) async fn show(
    state: &State,
    req: &PortalRequest,
    admin: &Arc<ActiveSession>,
) -> Result<HttpResponse, PortalError> {
    let name = req.query_param("name").unwrap_or_default();
    user_page(state, req, admin, &name, 200, None).await
}
