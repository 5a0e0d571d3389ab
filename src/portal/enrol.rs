//! `GET/POST {prefix}/totp/setup`, `POST {prefix}/totp/disable` and
//! `POST {prefix}/recovery-codes`: turning TOTP on and off, and new recovery codes.

use std::sync::Arc;

use askama::Template;

use super::{login, message, rd_of, render, too_many, unavailable, Form, PortalRequest, MAX_CODE};
use crate::auth::totp;
use crate::http_response::HttpResponse;
use crate::session::{ActiveSession, Level};
use crate::store::AuditKind;
use crate::{CodeCheck, State};

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage<'a> {
    prefix: &'a str,
    csrf: &'a str,
    rd: &'a str,
    forced: bool,
    secret_grouped: &'a str,
    uri: &'a str,
    qr_svg: &'a str,
    digits: u8,
    needs_current: bool,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "codes.html")]
struct CodesPage<'a> {
    prefix: &'a str,
    rd: &'a str,
    codes: &'a [String],
    download_href: &'a str,
    notice: Option<&'a str>,
}

/// Only a signed-in session (not pending) may manage its second factor.
fn manager<'a>(
    state: &State,
    req: &'a PortalRequest,
) -> Result<&'a Arc<ActiveSession>, HttpResponse> {
    match &req.session {
        Some(s) if s.level >= Level::OneFactor => Ok(s),
        Some(_) => Err(HttpResponse::redirect(
            303,
            &format!("{}/totp", state.prefix()),
        )),
        None => Err(login::require_login(state, req)),
    }
}

/// Moving to a new authenticator while TOTP is on needs a current code (or a recovery code),
/// so that a session left open somewhere cannot take over the second factor.
fn needs_current(session: &ActiveSession) -> bool {
    session.identity.has_totp
}

async fn setup_page(
    state: &State,
    req: &PortalRequest,
    session: &ActiveSession,
    status: u16,
    rd: &str,
    error: Option<&str>,
) -> HttpResponse {
    let Some(secret) = state
        .pending_enrolment(session.identity.user_id, session.id_hash, req.now)
        .await
    else {
        return unavailable(state, "Two-factor set-up is unavailable right now.", None);
    };
    let uri = totp::otpauth_uri(&state.config.totp, &session.identity.username, &secret);
    let qr = totp::qr_svg(&uri).unwrap_or_default();
    render(
        status,
        &SetupPage {
            prefix: state.prefix(),
            csrf: &session.csrf_token(),
            rd,
            forced: req.query_param("required").is_some() && !session.identity.has_totp,
            secret_grouped: &totp::grouped(&totp::base32(&secret)),
            uri: &uri,
            qr_svg: &qr,
            digits: state.config.totp.digits,
            needs_current: needs_current(session),
            error,
        },
    )
}

pub async fn get_setup(state: &State, req: &PortalRequest) -> HttpResponse {
    let session = match manager(state, req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let rd = rd_of(state, req, None);
    setup_page(state, req, session, 200, &rd, None).await
}

pub async fn post_setup(state: &State, req: &PortalRequest, form: &Form) -> HttpResponse {
    let session = match manager(state, req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let rd = rd_of(state, req, Some(form));
    let code = form.get("code");
    let current = form.get("current_code");
    if code.trim().is_empty() || code.len() > MAX_CODE || current.len() > MAX_CODE {
        return setup_page(
            state,
            req,
            session,
            400,
            &rd,
            Some("Enter the code the new authenticator shows."),
        )
        .await;
    }
    let username = session.identity.username.clone();
    let user_id = session.identity.user_id;
    let _attempt = match state.begin_attempt(&username, req).await {
        Ok(attempt) => attempt,
        Err(until) => return too_many(state, req.now, until),
    };
    // The new authenticator's code first, without writing: a typo there must not use up the
    // current code (which may be one of the last recovery codes).
    let wrong_new_code = match state
        .check_enrolment_code(user_id, session.id_hash, code, req.now)
        .await
    {
        CodeCheck::Accepted { .. } => None,
        CodeCheck::NotEnrolled => {
            Some("That set-up expired or was started elsewhere. Scan this new code and try again.")
        }
        CodeCheck::Unavailable => {
            return unavailable(state, "Two-factor set-up is unavailable right now.", None)
        }
        _ => Some("That code is not right. Check the time on your device and try again."),
    };
    let wrong_current_code = wrong_new_code.is_none()
        && needs_current(session)
        && !matches!(
            state.check_any_code(user_id, current, req.now).await,
            CodeCheck::Accepted { .. }
        );
    let codes = crate::auth::recovery::generate_codes(state.config.recovery_codes.count);
    let failure = match (wrong_new_code, wrong_current_code) {
        (Some(text), _) => Some(("enrolment: wrong code", text)),
        (None, true) => Some((
            "re-enrolment: current code wrong",
            "The code from your current authenticator (or the recovery code) is not right.",
        )),
        (None, false) => match state
            .confirm_enrolment(user_id, session.id_hash, code, codes.clone(), req.now)
            .await
        {
            CodeCheck::Accepted { .. } => None,
            CodeCheck::Unavailable => {
                return unavailable(state, "Two-factor set-up is unavailable right now.", None)
            }
            _ => Some((
                "enrolment: wrong code",
                "That code is not right. Check the time on your device and try again.",
            )),
        },
    };
    if let Some((detail, text)) = failure {
        if let Some(until) = state
            .failed_attempt(AuditKind::TotpFailure, &username, req, detail)
            .await
        {
            return too_many(state, req.now, until);
        }
        return setup_page(state, req, session, 200, &rd, Some(text)).await;
    }
    state.audit(AuditKind::TotpEnabled, Some(&username), req, None);
    state.sessions.forget_user(user_id);
    let Some((cookie, _)) = state.raise(req, session, Level::TwoFactor).await else {
        return unavailable(state, "Sign-in is unavailable right now.", None);
    };
    codes_page(
        state,
        &username,
        &codes,
        &rd,
        Some("Two-factor sign-in is on."),
    )
    .header("Set-Cookie", cookie)
}

pub async fn post_disable(state: &State, req: &PortalRequest, form: &Form) -> HttpResponse {
    let session = match manager(state, req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let account = format!("{}/account", state.prefix());
    let code = form.get("code");
    let username = session.identity.username.clone();
    let user_id = session.identity.user_id;
    if !session.identity.has_totp {
        return HttpResponse::redirect(303, &account);
    }
    if code.trim().is_empty() || code.len() > MAX_CODE {
        return message(
            state,
            400,
            "Code needed",
            "Enter a current code or a recovery code to turn off two-factor sign-in.",
            Some(&account),
        );
    }
    let _attempt = match state.begin_attempt(&username, req).await {
        Ok(attempt) => attempt,
        Err(until) => return too_many(state, req.now, until),
    };
    let check = state.check_any_code(user_id, code, req.now).await;
    if !matches!(check, CodeCheck::Accepted { .. }) {
        let detail = "disable: wrong code";
        if let Some(until) = state
            .failed_attempt(AuditKind::TotpFailure, &username, req, detail)
            .await
        {
            return too_many(state, req.now, until);
        }
        return message(
            state,
            200,
            "Code not accepted",
            "That code is not right; two-factor sign-in is still on.",
            Some(&account),
        );
    }
    if state
        .store
        .call(move |s| s.disable_totp(user_id))
        .await
        .is_err()
    {
        return unavailable(state, "Try again shortly.", Some(&account));
    }
    state.audit(AuditKind::TotpDisabled, Some(&username), req, None);
    state.sessions.forget_user(user_id);
    let Some((cookie, _)) = state.raise(req, session, Level::OneFactor).await else {
        return unavailable(state, "Try again shortly.", None);
    };
    HttpResponse::redirect(303, &format!("{account}?done=totp_disabled"))
        .header("Set-Cookie", cookie)
}

pub async fn post_regenerate(state: &State, req: &PortalRequest, form: &Form) -> HttpResponse {
    let session = match manager(state, req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let account = format!("{}/account", state.prefix());
    let username = session.identity.username.clone();
    let user_id = session.identity.user_id;
    if !session.identity.has_totp {
        return message(
            state,
            400,
            "Two-factor sign-in is off",
            "Recovery codes come with two-factor sign-in: set it up first.",
            Some(&account),
        );
    }
    let code = form.get("code");
    if code.trim().is_empty() || code.len() > MAX_CODE {
        return message(
            state,
            400,
            "Code needed",
            "Enter the current code from your authenticator.",
            Some(&account),
        );
    }
    let _attempt = match state.begin_attempt(&username, req).await {
        Ok(attempt) => attempt,
        Err(until) => return too_many(state, req.now, until),
    };
    match state.check_totp(user_id, code, req.now).await {
        CodeCheck::Accepted { .. } => {}
        CodeCheck::Unavailable => return unavailable(state, "Try again shortly.", Some(&account)),
        _ => {
            let detail = "regenerate: wrong code";
            if let Some(until) = state
                .failed_attempt(AuditKind::TotpFailure, &username, req, detail)
                .await
            {
                return too_many(state, req.now, until);
            }
            return message(
                state,
                200,
                "Code not accepted",
                "That code is not right; your recovery codes are unchanged.",
                Some(&account),
            );
        }
    }
    let codes = crate::auth::recovery::generate_codes(state.config.recovery_codes.count);
    if !state.replace_recovery_codes(user_id, codes.clone()).await {
        return unavailable(state, "Try again shortly.", Some(&account));
    }
    state.audit(
        AuditKind::RecoveryCodesRegenerated,
        Some(&username),
        req,
        Some(format!("count={}", codes.len())),
    );
    codes_page(
        state,
        &username,
        &codes,
        &account,
        Some("Your old recovery codes no longer work."),
    )
}

/// The once-only page showing recovery codes, with a download of exactly these codes.
fn codes_page(
    state: &State,
    username: &str,
    codes: &[String],
    rd: &str,
    notice: Option<&str>,
) -> HttpResponse {
    let text = recovery_codes_text(&state.config.totp.issuer, username, codes);
    let href = format!(
        "data:text/plain;charset=utf-8,{}",
        percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC)
    );
    render(
        200,
        &CodesPage {
            prefix: state.prefix(),
            rd,
            codes,
            download_href: &href,
            notice,
        },
    )
}

/// The text of the download: who the codes are for, when they were made, the codes.
pub fn recovery_codes_text(issuer: &str, username: &str, codes: &[String]) -> String {
    let date = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let mut text = format!(
        "{issuer} recovery codes\nAccount: {username}\nCreated: {date}\n\n\
         Each code signs you in once if you lose your authenticator.\n\
         Keep this file somewhere safe, apart from your phone.\n\n"
    );
    for c in codes {
        text.push_str(c);
        text.push('\n');
    }
    text
}
