//! `GET/POST {prefix}/login`: the password step.

use askama::Template;

use super::{csrf_for, encode_query, rd_of, render, to_login, too_many, Form, PortalRequest};
use super::{MAX_PASSWORD, MAX_USERNAME};
use crate::http_response::HttpResponse;
use crate::session::{Identity, Level, Succession};
use crate::store::AuditKind;
use crate::State;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    prefix: &'a str,
    csrf: &'a str,
    rd: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

/// The same words for every failure, so the page tells nobody which part was wrong.
const WRONG: &str = "Wrong username or password.";

fn page(
    state: &State,
    req: &PortalRequest,
    status: u16,
    rd: &str,
    username: &str,
    error: Option<&str>,
) -> HttpResponse {
    let (csrf, set_cookie) = csrf_for(state, req);
    let response = render(
        status,
        &LoginPage {
            prefix: state.prefix(),
            csrf: &csrf,
            rd,
            username,
            error,
        },
    );
    match set_cookie {
        Some(c) => response.header("Set-Cookie", c),
        None => response,
    }
}

pub async fn get(state: &State, req: &PortalRequest) -> HttpResponse {
    let rd = rd_of(state, req, None);
    match req.session.as_ref().map(|s| s.level) {
        Some(Level::Pending) => HttpResponse::redirect(
            303,
            &format!("{}/totp?rd={}", state.prefix(), encode_query(&rd)),
        ),
        Some(_) => HttpResponse::redirect(303, &rd),
        None => page(state, req, 200, &rd, "", None),
    }
}

pub async fn post(state: &State, req: &PortalRequest, form: &Form) -> HttpResponse {
    let rd = rd_of(state, req, Some(form));
    let username = form.get("username").trim();
    let password = form.get("password");
    if username.is_empty() || password.is_empty() {
        return page(
            state,
            req,
            400,
            &rd,
            username,
            Some("Enter your username and password."),
        );
    }
    if username.chars().count() > MAX_USERNAME || password.len() > MAX_PASSWORD {
        return page(
            state,
            req,
            400,
            &rd,
            "",
            Some("That is longer than any username or password here."),
        );
    }
    let now = req.now;
    let keys = state.regulation_keys(Some(username), req.client_ip);
    // Held until the failure is counted: concurrent guesses are checked one at a time.
    let _attempt = match state.begin(&keys, now).await {
        Ok(attempt) => attempt,
        Err(until) => {
            state.audit(AuditKind::LoginRefusedBanned, Some(username), req, None);
            return too_many(state, now, until);
        }
    };

    let lookup_name = username.to_string();
    let user = match state
        .store
        .call(move |s| s.user_by_name(&lookup_name))
        .await
    {
        Ok(user) => user,
        // Not a wrong password: nothing was checked, and nothing is counted.
        Err(e) => {
            tracing::error!("sign-in could not read the user: {e}");
            return super::unavailable(
                state,
                "Sign-in is unavailable right now. Try again shortly.",
                None,
            );
        }
    };
    // Always one argon2 verification: a real hash, or the dummy for unknown users. Disabled
    // users are verified too and then refused, so their timing matches.
    let verified = state
        .hasher
        .verify(
            user.as_ref().map(|u| u.password_hash.clone()),
            password.to_string(),
        )
        .await;
    let user = match user {
        Some(u) if verified && !u.disabled => u,
        other => {
            let detail = match other {
                None => "unknown user",
                Some(u) if u.disabled => "disabled user",
                Some(_) => "wrong password",
            };
            state.audit(
                AuditKind::LoginFailure,
                Some(username),
                req,
                Some(detail.into()),
            );
            if let Some(until) = state.record_failure(&keys, Some(username), req).await {
                return too_many(state, now, until);
            }
            return page(state, req, 200, &rd, username, Some(WRONG));
        }
    };

    state.regulator.reset(&keys[0]);
    let user_id = user.id;
    let has_totp = state
        .store
        .call(move |s| Ok(s.totp(user_id)?.is_some()))
        .await
        .unwrap_or(true);
    let identity = std::sync::Arc::new(Identity::from_user(&user, has_totp));
    let level = if has_totp {
        Level::Pending
    } else {
        Level::OneFactor
    };
    let previous = req
        .session
        .as_ref()
        .map_or(Succession::Fresh, |s| Succession::Replaces(s.id_hash));
    let opened = state
        .sessions
        .open(identity, level, &req.origin(), previous, now)
        .await;
    let (cookie_value, _) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            tracing::error!("could not open a session: {e}");
            return super::unavailable(
                state,
                "Sign-in is unavailable right now. Try again shortly.",
                None,
            );
        }
    };
    let max_age = match level {
        Level::Pending => state.config.session.pending_timeout,
        _ => state.config.session.absolute_timeout,
    };
    let cookie = state.cookie(
        &state.names.session_cookie,
        &cookie_value,
        Some(max_age.as_secs() as i64),
    );
    if has_totp {
        state.audit(
            AuditKind::PasswordSuccess,
            Some(&user.username),
            req,
            Some("second factor required".into()),
        );
        HttpResponse::redirect(
            303,
            &format!("{}/totp?rd={}", state.prefix(), encode_query(&rd)),
        )
        .header("Set-Cookie", cookie)
    } else {
        state.audit(
            AuditKind::Login,
            Some(&user.username),
            req,
            Some("one_factor".into()),
        );
        HttpResponse::redirect(303, &rd).header("Set-Cookie", cookie)
    }
}

/// Sends a visitor without a usable session to the login page.
pub fn require_login(state: &State, req: &PortalRequest) -> HttpResponse {
    let here = format!(
        "{}{}{}",
        state.prefix(),
        req.page,
        req.query
            .as_deref()
            .map(|q| format!("?{q}"))
            .unwrap_or_default()
    );
    to_login(state, &here)
}
