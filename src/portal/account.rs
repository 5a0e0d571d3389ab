//! `GET {prefix}/account`, its forms (`/account/password`, `/account/sessions/end`,
//! `/account/sessions/end-others`) and `POST {prefix}/logout`.
//!
//! The account page says who you are, where you are signed in, and the state of two-factor
//! sign-in. A new password needs the current one (counted like a sign-in attempt) and follows
//! the password rules; every other session ends at once and this one goes on under a new id.

use std::sync::Arc;

use askama::Template;

use super::{During, Form, Frame, PortalError, PortalPage, PortalRequest, Task, MAX_PASSWORD};
use crate::auth::password::hash_password;
use crate::auth::password_rules;
use crate::auth::regulation::Regulation;
use crate::auth::second_factor::PENDING_ENROLMENT_SECS;
use crate::http_response::HttpResponse;
use crate::session::{ActiveSession, Identity, Level};
use crate::store::{AuditKind, SessionRow};
use crate::State;

use super::device::Device;

/// One of the person's sessions, as the page lists it.
struct SessionItem {
    /// What the sign-out form sends: hex of the first 16 bytes of the id's hash (the id hash
    /// itself signs nobody in; this is only a name for it among the person's own sessions).
    handle: String,
    device: String,
    client_ip: String,
    signed_in: String,
    last_active: String,
    current: bool,
    /// Awaiting its second factor.
    pending: bool,
}

/// A passkey, as the page lists it.
struct PasskeyItem {
    id: i64,
    name: String,
    created: String,
    last_used: String,
}

/// A browser that skips the second factor, as the page lists it.
struct BrowserItem {
    handle: String,
    device: String,
    client_ip: String,
    remembered: String,
    until: String,
    current: bool,
}

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
    sessions: &'a [SessionItem],
    others: usize,
    browsers: &'a [BrowserItem],
    passkeys: &'a [PasskeyItem],
    /// Passkeys can be added on this host.
    passkeys_here: bool,
    message: Option<String>,
    /// What went wrong with the password form.
    password_error: Option<String>,
    /// A member of `[admin] groups`: the page links to the admin area.
    is_admin: bool,
}

fn handle_of(id_hash: &[u8; 32]) -> String {
    hex::encode(&id_hash[..16])
}

/// `YYYY-MM-DD HH:MM UTC`.
fn when(unix: i64) -> String {
    format!("{} UTC", super::utc_minutes(unix))
}

pub(super) fn describe(ui: &Frame, user_agent: &str) -> String {
    let device = Device::from_user_agent(user_agent);
    let unknown_browser = ui.t("device-unknown-browser");
    let browser = device.browser.map_or(unknown_browser, str::to_string);
    match device.system {
        Some(system) => ui
            .msg("device-on")
            .str("browser", browser)
            .str("system", system)
            .to_string(),
        None => browser,
    }
}

/// The live sessions of the signed-in person, this one first, then the most recently active.
async fn sessions_of(
    state: &State,
    req: &PortalRequest,
    session: &ActiveSession,
) -> Result<Vec<(SessionRow, i64)>, PortalError> {
    let username = session.identity.username.clone();
    let listed = state
        .store
        .call(move |s| s.list_sessions(Some(&username)))
        .await
        .during(Task::Account)?;
    let idle = state.config().session.idle_timeout.as_secs() as i64;
    let now = req.now;
    let mut rows: Vec<(SessionRow, i64)> = listed
        .into_iter()
        .filter(|l| l.row.user_id == session.identity.user_id)
        .map(|l| {
            // The cache knows a fresher last-seen time than the store's batched one.
            let seen = state
                .sessions
                .peek(&l.row.id_hash, now)
                .map_or(l.row.last_seen, |s| s.last_seen().max(l.row.last_seen));
            (l.row, seen)
        })
        .filter(|(row, seen)| row.expires_at > now && now - seen < idle)
        .collect();
    rows.sort_by_key(|(row, seen)| (row.id_hash != session.id_hash, -seen));
    Ok(rows)
}

/// The account page, with a `message` about what was just done or a `password_error`.
async fn page(
    state: &State,
    req: &PortalRequest,
    status: u16,
    message: Option<String>,
    password_error: Option<String>,
) -> Result<HttpResponse, PortalError> {
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
            let browsers = s.remembered_browsers(user_id, now)?;
            let passkeys = s.passkeys(user_id)?;
            Ok((on, pending, left, browsers, passkeys))
        })
        .await;
    let (on, pending, left, browsers, passkeys) = facts.during(Task::Account)?;
    let ui = &req.ui;
    let never = ui.t("passkey-never-used");
    let passkeys: Vec<PasskeyItem> = passkeys
        .into_iter()
        .map(|k| PasskeyItem {
            id: k.id,
            name: k.name,
            created: when(k.created_at),
            last_used: k.last_used_at.map_or_else(|| never.clone(), when),
        })
        .collect();
    let this_browser = super::remember::token_hash(state, req);
    let browsers: Vec<BrowserItem> = browsers
        .into_iter()
        .map(|b| BrowserItem {
            handle: handle_of(&b.token_hash),
            device: describe(ui, &b.user_agent),
            client_ip: b.client_ip,
            remembered: when(b.created_at),
            until: when(b.expires_at),
            current: this_browser == Some(b.token_hash),
        })
        .collect();
    let sessions: Vec<SessionItem> = sessions_of(state, req, session)
        .await?
        .into_iter()
        .map(|(row, seen)| SessionItem {
            handle: handle_of(&row.id_hash),
            device: describe(ui, &row.user_agent),
            client_ip: row.client_ip.clone(),
            signed_in: when(row.created_at),
            last_active: when(seen),
            current: row.id_hash == session.id_hash,
            pending: row.level == Level::Pending as u8,
        })
        .collect();
    let others = sessions.iter().filter(|s| !s.current).count();
    let id = &session.identity;
    Ok(ui.render(
        status,
        &AccountPage {
            ui,
            csrf: &session.csrf_token(),
            username: &id.username,
            display_name: id.display_name.as_deref(),
            email: id.email.as_deref(),
            groups: &id.groups,
            level: match session.level {
                Level::TwoFactor => "account-level-two",
                _ => "account-level-one",
            },
            totp_state: if on || !passkeys.is_empty() {
                "account-2fa-on"
            } else if pending {
                "account-2fa-pending"
            } else {
                "account-2fa-off"
            },
            totp_on: on,
            totp_pending: pending,
            codes_left: left,
            sessions: &sessions,
            others,
            browsers: &browsers,
            passkeys_here: super::passkey::available_here(state, req),
            passkeys: &passkeys,
            message,
            password_error,
            is_admin: super::admin::is_admin(id, &state.config().admin.groups),
        },
    ))
}

pub async fn get(state: &State, req: &PortalRequest) -> Result<HttpResponse, PortalError> {
    let key = match req.query_param("done").as_deref() {
        Some("totp_disabled") => Some("account-totp-disabled"),
        Some("totp_disabled_passkey") => Some("account-totp-disabled-passkey"),
        Some("password") => Some("account-password-changed"),
        Some("session_ended") => Some("account-session-ended"),
        Some("others_ended") => Some("account-others-ended"),
        Some("browser_forgotten") => Some("account-browser-forgotten"),
        Some("passkey_added") => Some("account-passkey-added"),
        Some("passkey_renamed") => Some("account-passkey-renamed"),
        Some("passkey_removed") => Some("account-passkey-removed"),
        _ => None,
    };
    page(state, req, 200, key.map(|k| req.ui.t(k)), None).await
}

/// The account page saying what was wrong with a form (catalog key `text`), with status 400.
pub(super) async fn with_error(
    state: &State,
    req: &PortalRequest,
    text: &str,
) -> Result<HttpResponse, PortalError> {
    page(state, req, 400, Some(req.ui.t(text)), None).await
}

/// Back to the account page, saying what was `done`.
fn done(state: &State, what: &str) -> HttpResponse {
    let account = PortalPage::Account.at(state.prefix());
    HttpResponse::redirect(303, &format!("{account}?done={what}"))
}

/// A new password: the current one first (a wrong one counts like a failed sign-in), then the
/// rules. Every session of the person ends in the store and in every cache; this browser goes
/// on signed in, at the same level, under a new session id.
pub async fn post_password(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let session = req.signed_in()?;
    let (current, password, confirm) = (
        form.get("current_password"),
        form.get("password"),
        form.get("confirm"),
    );
    let username = session.identity.username.clone();
    let refusal = if current.is_empty() || password.is_empty() {
        Some("password-missing")
    } else if current.len() > MAX_PASSWORD || password.len() > MAX_PASSWORD {
        Some(password_rules::Weakness::TooLong.catalog_key())
    } else if password != confirm {
        Some("password-mismatch")
    } else {
        password_rules::check(&username, password)
            .err()
            .map(|w| w.catalog_key())
    };
    if let Some(key) = refusal {
        return page(state, req, 400, None, Some(req.ui.t(key))).await;
    }

    let keys = Regulation::password_keys(&username, req.client_ip);
    let attempt = state.regulation.begin(keys, req.now).await?;
    let user_id = session.identity.user_id;
    let user = state
        .store
        .call(move |s| s.user_by_id(user_id))
        .await
        .during(Task::Account)?
        .filter(|u| !u.disabled)
        .ok_or_else(|| PortalError::NotSignedIn {
            here: PortalPage::Account.path().to_string(),
        })?;
    let verified = state
        .hasher
        .verify(Some(user.password_hash.clone()), current.to_string())
        .await
        .during(Task::Account)?;
    if !verified {
        let origin = req.origin();
        attempt
            .failed(
                AuditKind::LoginFailure,
                &username,
                &origin,
                req.now,
                "password change: wrong current password",
            )
            .await?;
        let wrong = req.ui.t("password-current-wrong");
        return page(state, req, 200, None, Some(wrong)).await;
    }
    attempt.succeeded();

    let chosen = password.to_string();
    let hash = state
        .hasher
        .run(move || hash_password(&chosen))
        .await
        .during(Task::Account)?;
    let name = username.clone();
    state
        .store
        .call(move |s| s.set_password(&name, &hash))
        .await
        .during(Task::Account)?;
    // Every session of theirs is gone from the store; now from every cache too.
    state.sessions.forget_user(user_id);
    req.audit(
        state,
        AuditKind::PasswordChanged,
        Some(&username),
        Some("by the user; other sessions ended".into()),
    );
    // The request's session is gone already: this one is a fresh start at its level, with
    // the user as the store has them now.
    let identity = Arc::new(Identity::from_user(&user, session.identity.enrolled()));
    let cookie = super::sign_in(
        state,
        req,
        identity,
        session.level,
        session.factor_at,
        Task::Account,
    )
    .await?;
    Ok(done(state, "password").header("Set-Cookie", cookie))
}

/// Ends one of the person's other sessions (their own current one ends with "sign out").
pub async fn post_end_session(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let session = req.signed_in()?;
    let handle = form.get("session");
    let target = sessions_of(state, req, session)
        .await?
        .into_iter()
        .map(|(row, _)| row.id_hash)
        .find(|id_hash| handle_of(id_hash) == handle && *id_hash != session.id_hash);
    if let Some(id_hash) = target {
        let detail = if state.sessions.end(id_hash).await {
            "by the user"
        } else {
            "by the user; the store will record it when it accepts writes again"
        };
        req.audit(
            state,
            AuditKind::SessionEnded,
            Some(&session.identity.username),
            Some(detail.into()),
        );
    }
    // A session that ended meanwhile is as good as ended now.
    Ok(done(state, "session_ended"))
}

/// Ends every session of the person but this one.
pub async fn post_end_others(
    state: &State,
    req: &PortalRequest,
) -> Result<HttpResponse, PortalError> {
    let session = req.signed_in()?;
    end_others(state, req, session, "by the user").await?;
    Ok(done(state, "others_ended"))
}

/// Ends every session of `session`'s user but this one, at once, and audits it with `why`.
pub(super) async fn end_others(
    state: &State,
    req: &PortalRequest,
    session: &ActiveSession,
    why: &str,
) -> Result<(), PortalError> {
    let others: Vec<[u8; 32]> = sessions_of(state, req, session)
        .await?
        .into_iter()
        .map(|(row, _)| row.id_hash)
        .filter(|id_hash| *id_hash != session.id_hash)
        .collect();
    for id_hash in &others {
        state.sessions.end(*id_hash).await;
    }
    req.audit(
        state,
        AuditKind::SessionsRevoked,
        Some(&session.identity.username),
        Some(format!("{} other sessions, {why}", others.len())),
    );
    Ok(())
}

/// Forgets one of the person's remembered browsers: it asks for the second factor again.
pub async fn post_forget_browser(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let session = req.signed_in()?;
    let handle = form.get("browser").to_string();
    let (user_id, now) = (session.identity.user_id, req.now);
    let forgotten = state
        .store
        .call(move |s| {
            let Some(b) = s
                .remembered_browsers(user_id, now)?
                .into_iter()
                .find(|b| handle_of(&b.token_hash) == handle)
            else {
                return Ok(false);
            };
            s.forget_browser(&b.token_hash, user_id)
        })
        .await
        .during(Task::Account)?;
    if forgotten {
        req.audit(
            state,
            AuditKind::BrowserForgotten,
            Some(&session.identity.username),
            Some("by the user".into()),
        );
    }
    Ok(done(state, "browser_forgotten"))
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
