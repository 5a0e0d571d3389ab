//! `GET/POST {prefix}/totp` and `{prefix}/recovery`: the second factor at sign-in and step-up.

use std::sync::Arc;

use askama::Template;

use super::{encode_query, rd_of, render, too_many, unavailable, Form, PortalRequest, MAX_CODE};
use crate::http_response::HttpResponse;
use crate::session::{ActiveSession, Level};
use crate::store::AuditKind;
use crate::{CodeCheck, State};

#[derive(Template)]
#[template(path = "totp.html")]
struct TotpPage<'a> {
    prefix: &'a str,
    csrf: &'a str,
    rd: &'a str,
    rd_query: &'a str,
    username: &'a str,
    issuer: &'a str,
    digits: u8,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "recovery.html")]
struct RecoveryPage<'a> {
    prefix: &'a str,
    csrf: &'a str,
    rd: &'a str,
    rd_query: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "recovered.html")]
struct RecoveredPage<'a> {
    prefix: &'a str,
    csrf: &'a str,
    rd: &'a str,
    rd_query: &'a str,
    remaining: i64,
}

/// Who may answer a challenge: a session below two factors whose user has TOTP.
enum Challenger<'a> {
    Ready(&'a Arc<ActiveSession>),
    Done,
    NoTotp,
    Nobody,
}

fn challenger(req: &PortalRequest) -> Challenger<'_> {
    match &req.session {
        None => Challenger::Nobody,
        Some(s) if s.level == Level::TwoFactor => Challenger::Done,
        Some(s) if !s.identity.has_totp => Challenger::NoTotp,
        Some(s) => Challenger::Ready(s),
    }
}

fn totp_page(
    state: &State,
    session: &ActiveSession,
    status: u16,
    rd: &str,
    error: Option<&str>,
) -> HttpResponse {
    render(
        status,
        &TotpPage {
            prefix: state.prefix(),
            csrf: &session.csrf_token(),
            rd,
            rd_query: &encode_query(rd),
            username: &session.identity.username,
            issuer: &state.config.totp.issuer,
            digits: state.config.totp.digits,
            error,
        },
    )
}

fn recovery_page(
    state: &State,
    session: &ActiveSession,
    status: u16,
    rd: &str,
    error: Option<&str>,
) -> HttpResponse {
    render(
        status,
        &RecoveryPage {
            prefix: state.prefix(),
            csrf: &session.csrf_token(),
            rd,
            rd_query: &encode_query(rd),
            username: &session.identity.username,
            error,
        },
    )
}

/// Answers requests that cannot take a challenge.
fn not_ready(state: &State, req: &PortalRequest, c: Challenger<'_>, rd: &str) -> HttpResponse {
    match c {
        Challenger::Done => HttpResponse::redirect(303, rd),
        Challenger::NoTotp => HttpResponse::redirect(
            303,
            &format!("{}/totp/setup?rd={}", state.prefix(), encode_query(rd)),
        ),
        _ => {
            let _ = req;
            super::to_login(state, rd)
        }
    }
}

pub async fn get_totp(state: &State, req: &PortalRequest) -> HttpResponse {
    let rd = rd_of(state, req, None);
    match challenger(req) {
        Challenger::Ready(s) => totp_page(state, s, 200, &rd, None),
        other => not_ready(state, req, other, &rd),
    }
}

pub async fn get_recovery(state: &State, req: &PortalRequest) -> HttpResponse {
    let rd = rd_of(state, req, None);
    match challenger(req) {
        Challenger::Ready(s) => recovery_page(state, s, 200, &rd, None),
        other => not_ready(state, req, other, &rd),
    }
}

pub async fn post_totp(state: &State, req: &PortalRequest, form: &Form) -> HttpResponse {
    let rd = rd_of(state, req, Some(form));
    let session = match challenger(req) {
        Challenger::Ready(s) => s,
        other => return not_ready(state, req, other, &rd),
    };
    let code = form.get("code");
    if code.trim().is_empty() || code.len() > MAX_CODE {
        return totp_page(
            state,
            session,
            400,
            &rd,
            Some("Enter the code your app shows."),
        );
    }
    let username = session.identity.username.clone();
    let _attempt = match state.begin_attempt(&username, req).await {
        Ok(attempt) => attempt,
        Err(until) => return too_many(state, req.now, until),
    };
    match state
        .check_totp(session.identity.user_id, code, req.now)
        .await
    {
        CodeCheck::Accepted { .. } => promote(state, req, session, &rd, None).await,
        CodeCheck::Unavailable => unavailable(
            state,
            "Codes cannot be checked right now. Try again shortly.",
            None,
        ),
        failure => {
            let detail = if failure == CodeCheck::Replayed {
                "code already used"
            } else {
                "wrong code"
            };
            if let Some(until) = state
                .failed_attempt(AuditKind::TotpFailure, &username, req, detail)
                .await
            {
                return too_many(state, req.now, until);
            }
            let text = if failure == CodeCheck::Replayed {
                "That code was already used. Wait for the next one."
            } else {
                "That code is not right. Check the time on your device and try again."
            };
            totp_page(state, session, 200, &rd, Some(text))
        }
    }
}

pub async fn post_recovery(state: &State, req: &PortalRequest, form: &Form) -> HttpResponse {
    let rd = rd_of(state, req, Some(form));
    let session = match challenger(req) {
        Challenger::Ready(s) => s,
        other => return not_ready(state, req, other, &rd),
    };
    let code = form.get("code");
    if code.trim().is_empty() || code.len() > MAX_CODE {
        return recovery_page(
            state,
            session,
            400,
            &rd,
            Some("Enter one of your recovery codes."),
        );
    }
    let username = session.identity.username.clone();
    let _attempt = match state.begin_attempt(&username, req).await {
        Ok(attempt) => attempt,
        Err(until) => return too_many(state, req.now, until),
    };
    match state
        .use_recovery_code(session.identity.user_id, code, req.now)
        .await
    {
        CodeCheck::Accepted { remaining } => {
            let remaining = remaining.unwrap_or(0);
            state.audit(
                AuditKind::RecoveryCodeUsed,
                Some(&username),
                req,
                Some(format!("remaining={remaining}")),
            );
            promote(state, req, session, &rd, Some(remaining)).await
        }
        CodeCheck::Unavailable => unavailable(
            state,
            "Codes cannot be checked right now. Try again shortly.",
            None,
        ),
        _ => {
            let event = AuditKind::RecoveryCodeFailure;
            if let Some(until) = state
                .failed_attempt(event, &username, req, "wrong or used code")
                .await
            {
                return too_many(state, req.now, until);
            }
            recovery_page(
                state,
                session,
                200,
                &rd,
                Some("That recovery code is not valid, or it was already used."),
            )
        }
    }
}

/// Raises the session to two factors under a new id and continues to `rd` (after a recovery
/// code, by way of a page that says how many codes remain).
async fn promote(
    state: &State,
    req: &PortalRequest,
    session: &Arc<ActiveSession>,
    rd: &str,
    recovery_left: Option<i64>,
) -> HttpResponse {
    let Some((cookie, new)) = state.raise(req, session, Level::TwoFactor).await else {
        return unavailable(
            state,
            "Sign-in is unavailable right now. Try again shortly.",
            None,
        );
    };
    state
        .regulator
        .reset(&crate::auth::throttle::Regulator::second_factor_key(
            &session.identity.username,
        ));
    state.audit(
        AuditKind::SecondFactorSuccess,
        Some(&session.identity.username),
        req,
        Some(
            if recovery_left.is_some() {
                "recovery code"
            } else {
                "totp"
            }
            .into(),
        ),
    );
    match recovery_left {
        None => HttpResponse::redirect(303, rd).header("Set-Cookie", cookie),
        Some(remaining) => render(
            200,
            &RecoveredPage {
                prefix: state.prefix(),
                csrf: &new.csrf_token(),
                rd,
                rd_query: &encode_query(rd),
                remaining,
            },
        )
        .header("Set-Cookie", cookie),
    }
}
