//! `GET/POST {prefix}/login`: the password step.

use askama::Template;

use super::{csrf_for, rd_of, During, Form, Frame, PortalError, PortalPage, PortalRequest, Task};
use super::{MAX_PASSWORD, MAX_USERNAME};
use crate::auth::regulation::Regulation;
use crate::auth::throttle::Regulator;
use crate::http_response::HttpResponse;
use crate::metrics::{Factor, SignInResult};
use crate::session::{Identity, Level};
use crate::store::AuditKind;
use crate::State;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    ui: &'a Frame,
    csrf: &'a str,
    rd: &'a str,
    username: &'a str,
    /// Said before anything else: signed out, or banned until when.
    notice: Option<&'a str>,
    error: Option<&'a str>,
    /// "Sign in with a passkey", when `[webauthn] passwordless` is on.
    passkey: Option<super::passkey::Prompt>,
}

/// The same words for every failure (catalog key), so the page tells nobody which part was
/// wrong.
const WRONG: &str = "login-wrong";

/// The sign-in page, with an `error` about the form just sent.
pub(super) fn page(
    state: &State,
    req: &PortalRequest,
    status: u16,
    rd: &str,
    username: &str,
    error: Option<&str>,
) -> HttpResponse {
    page_with(state, req, status, rd, username, None, error)
}

fn page_with(
    state: &State,
    req: &PortalRequest,
    status: u16,
    rd: &str,
    username: &str,
    notice: Option<&str>,
    error: Option<&str>,
) -> HttpResponse {
    let (csrf, set_cookie) = csrf_for(state, req);
    let passkey = super::passkey::passwordless_prompt(state, req, &csrf);
    let script = passkey.as_ref().map(|p| p.script.clone());
    let response = req.ui.render(
        status,
        &LoginPage {
            ui: &req.ui,
            csrf: &csrf,
            rd,
            username,
            notice,
            error,
            passkey,
        },
    );
    let response = match script {
        Some(script) => response.with_script(&script),
        None => response,
    };
    match set_cookie {
        Some(c) => response.header("Set-Cookie", c),
        None => response,
    }
}

/// The sign-in form. It says first what the visitor should know before typing a password:
/// that this address is banned (and until when), or that they have just signed out.
pub async fn get(state: &State, req: &PortalRequest) -> Result<HttpResponse, PortalError> {
    let rd = rd_of(state, req, None);
    match req.session.as_ref().map(|s| s.level) {
        Some(Level::Pending) => {
            return Ok(HttpResponse::redirect(
                303,
                &PortalPage::Totp.url(state.prefix(), &rd),
            ))
        }
        Some(_) => return Ok(HttpResponse::redirect(303, &rd)),
        None => {}
    }
    let ui = &req.ui;
    // The ban notice is advice before the password is typed: it reads the bans in memory
    // (loaded at start, remembered as they begin), so showing the form never waits on the store.
    let ip_key = Regulator::ip_key(req.client_ip);
    let notice = match state
        .regulation
        .regulator()
        .banned_until(&[ip_key.as_str()], req.now)
    {
        Some(until) => Some(format!(
            "{} {}",
            super::error::banned_text(ui, until, req.now),
            ui.t("banned-advice")
        )),
        None if req.query_param("signed_out").is_some() => Some(ui.t("login-signed-out")),
        None => None,
    };
    Ok(page_with(state, req, 200, &rd, "", notice.as_deref(), None))
}

pub async fn post(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let rd = rd_of(state, req, Some(form));
    let username = form.get("username").trim();
    let password = form.get("password");
    if username.is_empty() || password.is_empty() {
        return Ok(page(
            state,
            req,
            400,
            &rd,
            username,
            Some(&req.ui.t("login-missing")),
        ));
    }
    if username.chars().count() > MAX_USERNAME || password.len() > MAX_PASSWORD {
        return Ok(page(
            state,
            req,
            400,
            &rd,
            "",
            Some(&req.ui.t("login-too-long")),
        ));
    }
    let now = req.now;
    let keys = Regulation::password_keys(username, req.client_ip);
    // Held until the failure is counted: concurrent guesses are checked one at a time.
    let attempt = match state.regulation.begin(keys, now).await {
        Ok(attempt) => attempt,
        Err(banned) => {
            state
                .metrics
                .sign_in(Factor::Password, SignInResult::Banned);
            req.audit(state, AuditKind::LoginRefusedBanned, Some(username), None);
            return Err(banned.into());
        }
    };

    let lookup_name = username.to_string();
    // A store error is not a wrong password: nothing was checked, and nothing is counted.
    let user = state
        .store
        .call(move |s| s.user_by_name(&lookup_name))
        .await
        .during(Task::SignIn)?;
    // Always one argon2 verification: a real hash, or the dummy for unknown users and for
    // invited users who have not chosen a password yet. Disabled users are verified too and
    // then refused, so their timing matches.
    let verified = state
        .hasher
        .verify(
            user.as_ref()
                .map(|u| u.password_hash.clone())
                .filter(|h| h != crate::store::NO_PASSWORD),
            password.to_string(),
        )
        .await
        .during(Task::SignIn)?;
    let user = match user {
        Some(u) if verified && !u.disabled => u,
        other => {
            let detail = match other {
                None => "unknown user",
                Some(u) if u.disabled => "disabled user",
                Some(_) => "wrong password",
            };
            state
                .metrics
                .sign_in(Factor::Password, SignInResult::Failure);
            let origin = req.origin();
            attempt
                .failed(AuditKind::LoginFailure, username, &origin, now, detail)
                .await?;
            let wrong = req.ui.t(WRONG);
            return Ok(page(state, req, 200, &rd, username, Some(&wrong)));
        }
    };

    attempt.succeeded();
    state
        .metrics
        .sign_in(Factor::Password, SignInResult::Success);
    let user_id = user.id;
    // A browser remembered for this user skips the second factor (never the password).
    let remembered_token = super::remember::token_hash(state, req);
    let longest = super::remember::longest(state);
    let (enrolled, remembered) = state
        .store
        .call(move |s| {
            let enrolled = s.enrolled(user_id)?;
            let remembered = match remembered_token {
                Some(hash) if enrolled.any() => {
                    s.use_remembered_browser(&hash, user_id, now, longest)?
                }
                _ => false,
            };
            Ok((enrolled, remembered))
        })
        .await
        .during(Task::SignIn)?;
    let identity = std::sync::Arc::new(Identity::from_user(&user, enrolled));
    let (level, kind, detail, next) = match (enrolled.any(), remembered) {
        (false, _) => (Level::OneFactor, AuditKind::Login, "one_factor", rd),
        (true, true) => (
            Level::TwoFactor,
            AuditKind::Login,
            "two_factor, remembered browser",
            rd,
        ),
        (true, false) => (
            Level::Pending,
            AuditKind::PasswordSuccess,
            "second factor required",
            PortalPage::Totp.url(state.prefix(), &rd),
        ),
    };
    // A remembered browser's session has had no second factor typed: `factor_at` stays empty.
    let cookie = super::sign_in(state, req, identity, level, None, Task::SignIn).await?;
    req.audit(state, kind, Some(&user.username), Some(detail.into()));
    Ok(HttpResponse::redirect(303, &next).header("Set-Cookie", cookie))
}
