//! `GET/POST {prefix}/totp` and `{prefix}/recovery`: the second factor at sign-in and step-up.

use std::sync::Arc;

use askama::Template;

use super::{encode_query, rd_of, During, Form, Frame, PortalError, PortalPage, PortalRequest};
use super::{Task, MAX_CODE};
use crate::auth::regulation::{Attempt, Regulation};
use crate::auth::second_factor::CodeCheck;
use crate::http_response::HttpResponse;
use crate::metrics::{Factor, SignInResult};
use crate::session::{ActiveSession, Level};
use crate::store::AuditKind;
use crate::State;

#[derive(Template)]
#[template(path = "totp.html")]
struct TotpPage<'a> {
    ui: &'a Frame,
    csrf: &'a str,
    rd: &'a str,
    rd_query: &'a str,
    username: &'a str,
    issuer: &'a str,
    digits: u8,
    /// "Remember this browser" is offered for this many days (or hours): `(count, days)`.
    remember: Option<(i64, bool)>,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "recovery.html")]
struct RecoveryPage<'a> {
    ui: &'a Frame,
    csrf: &'a str,
    rd: &'a str,
    rd_query: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "recovered.html")]
struct RecoveredPage<'a> {
    ui: &'a Frame,
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
    req: &PortalRequest,
    session: &ActiveSession,
    status: u16,
    rd: &str,
    error: Option<&str>,
) -> HttpResponse {
    req.ui.render(
        status,
        &TotpPage {
            ui: &req.ui,
            csrf: &session.csrf_token(),
            rd,
            rd_query: &encode_query(rd),
            username: &session.identity.username,
            issuer: &state.config().totp.issuer,
            digits: state.config().totp.digits,
            remember: super::remember::offered(state).map(super::remember::days_or_hours),
            error,
        },
    )
}

fn recovery_page(
    _state: &State,
    req: &PortalRequest,
    session: &ActiveSession,
    status: u16,
    rd: &str,
    error: Option<&str>,
) -> HttpResponse {
    req.ui.render(
        status,
        &RecoveryPage {
            ui: &req.ui,
            csrf: &session.csrf_token(),
            rd,
            rd_query: &encode_query(rd),
            username: &session.identity.username,
            error,
        },
    )
}

/// Answers requests that cannot take a challenge.
fn not_ready(state: &State, c: Challenger<'_>, rd: &str) -> HttpResponse {
    match c {
        Challenger::Done => HttpResponse::redirect(303, rd),
        Challenger::NoTotp => {
            HttpResponse::redirect(303, &PortalPage::TotpSetup.url(state.prefix(), rd))
        }
        Challenger::Ready(_) | Challenger::Nobody => super::to_login(state, rd),
    }
}

pub fn get_totp(state: &State, req: &PortalRequest) -> HttpResponse {
    let rd = rd_of(state, req, None);
    match challenger(req) {
        Challenger::Ready(s) => totp_page(state, req, s, 200, &rd, None),
        other => not_ready(state, other, &rd),
    }
}

pub fn get_recovery(state: &State, req: &PortalRequest) -> HttpResponse {
    let rd = rd_of(state, req, None);
    match challenger(req) {
        Challenger::Ready(s) => recovery_page(state, req, s, 200, &rd, None),
        other => not_ready(state, other, &rd),
    }
}

/// A page of the challenge, with an error to show.
type ChallengePage =
    fn(&State, &PortalRequest, &ActiveSession, u16, &str, Option<&str>) -> HttpResponse;

/// A challenge answer ready to be checked: who answers, the code, where to go next, and the
/// attempt holding its subjects.
struct Answer<'r> {
    session: &'r Arc<ActiveSession>,
    code: &'r str,
    rd: String,
    attempt: Attempt<'r>,
}

/// What every answer goes through before its code is checked: a session that may answer, a
/// code of a sane size (else `page` says `missing`, a catalog key), no ban (else counted as a `factor`
/// attempt refused). `Ok(Err(page))` when there is nothing to check.
async fn answer<'r>(
    state: &'r State,
    req: &'r PortalRequest,
    form: &'r Form,
    page: ChallengePage,
    factor: Factor,
    missing: &str,
) -> Result<Result<Answer<'r>, HttpResponse>, PortalError> {
    let rd = rd_of(state, req, Some(form));
    let session = match challenger(req) {
        Challenger::Ready(s) => s,
        other => return Ok(Err(not_ready(state, other, &rd))),
    };
    let code = form.get("code");
    if code.trim().is_empty() || code.len() > MAX_CODE {
        let missing = req.ui.t(missing);
        return Ok(Err(page(state, req, session, 400, &rd, Some(&missing))));
    }
    let keys = Regulation::second_factor_keys(&session.identity.username, req.client_ip);
    let attempt = (state.regulation.begin(keys, req.now).await)
        .inspect_err(|_| state.metrics.sign_in(factor, SignInResult::Banned))?;
    Ok(Ok(Answer {
        session,
        code,
        rd,
        attempt,
    }))
}

pub async fn post_totp(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let missing = "totp-missing";
    let a = match answer(state, req, form, totp_page, Factor::Totp, missing).await? {
        Ok(a) => a,
        Err(page) => return Ok(page),
    };
    let check = state
        .factors
        .check_totp(a.session.identity.user_id, a.code, req.now)
        .await
        .during(Task::CheckCode)?;
    if check.accepted() {
        let remember = form.get("remember") == "1";
        return promote(state, req, &a, None, remember).await;
    }
    let (detail, text) = if check == CodeCheck::Replayed {
        ("code already used", "totp-replayed")
    } else {
        ("wrong code", "totp-wrong")
    };
    state.metrics.sign_in(Factor::Totp, SignInResult::Failure);
    let username = &a.session.identity.username;
    let origin = req.origin();
    a.attempt
        .failed(AuditKind::TotpFailure, username, &origin, req.now, detail)
        .await?;
    let text = req.ui.t(text);
    Ok(totp_page(state, req, a.session, 200, &a.rd, Some(&text)))
}

pub async fn post_recovery(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let missing = "recovery-missing";
    let a = match answer(state, req, form, recovery_page, Factor::Recovery, missing).await? {
        Ok(a) => a,
        Err(page) => return Ok(page),
    };
    let check = state
        .factors
        .use_recovery_code(a.session.identity.user_id, a.code, req.now)
        .await
        .during(Task::CheckCode)?;
    let username = &a.session.identity.username;
    if let CodeCheck::Accepted { remaining } = check {
        let remaining = remaining.unwrap_or(0);
        let detail = Some(format!("remaining={remaining}"));
        req.audit(state, AuditKind::RecoveryCodeUsed, Some(username), detail);
        return promote(state, req, &a, Some(remaining), false).await;
    }
    state
        .metrics
        .sign_in(Factor::Recovery, SignInResult::Failure);
    let origin = req.origin();
    let (kind, detail) = (AuditKind::RecoveryCodeFailure, "wrong or used code");
    a.attempt
        .failed(kind, username, &origin, req.now, detail)
        .await?;
    let text = req.ui.t("recovery-wrong");
    Ok(recovery_page(
        state,
        req,
        a.session,
        200,
        &a.rd,
        Some(&text),
    ))
}

/// Raises the session to two factors under a new id and continues to `rd` (after a recovery
/// code, by way of a page that says how many codes remain), remembering the browser when asked.
async fn promote(
    state: &State,
    req: &PortalRequest,
    answer: &Answer<'_>,
    recovery_left: Option<i64>,
    remember: bool,
) -> Result<HttpResponse, PortalError> {
    let (session, rd) = (answer.session, answer.rd.as_str());
    let (cookie, new) = super::raise(state, req, session, Level::TwoFactor).await?;
    // The code is used and the session raised: failing to remember the browser must not
    // undo that, so it is logged and the browser simply not remembered.
    let remembered = match remember {
        true => super::remember::remember(state, req, &new)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!("could not remember a browser: {e}");
                None
            }),
        false => None,
    };
    answer.attempt.succeeded();
    let (how, factor) = if recovery_left.is_some() {
        ("recovery code", Factor::Recovery)
    } else {
        ("totp", Factor::Totp)
    };
    state.metrics.sign_in(factor, SignInResult::Success);
    let username = Some(session.identity.username.as_str());
    req.audit(
        state,
        AuditKind::SecondFactorSuccess,
        username,
        Some(how.into()),
    );
    let response = match recovery_left {
        None => HttpResponse::redirect(303, rd).header("Set-Cookie", cookie),
        Some(remaining) => req
            .ui
            .render(
                200,
                &RecoveredPage {
                    ui: &req.ui,
                    csrf: &new.csrf_token(),
                    rd,
                    rd_query: &encode_query(rd),
                    remaining,
                },
            )
            .header("Set-Cookie", cookie),
    };
    Ok(match remembered {
        Some(remember_cookie) => response.header("Set-Cookie", remember_cookie),
        None => response,
    })
}
