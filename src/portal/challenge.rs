//! `GET/POST {prefix}/totp`, `{prefix}/recovery` and `POST {prefix}/passkey/verify`: the second
//! factor at sign-in and step-up, by passkey (offered first to those who have one), TOTP code
//! or recovery code.
//!
//! With `again=1` the same pages confirm the second factor of a session that has two already
//! but confirmed it too long ago for a sensitive change (adding or removing a passkey, the
//! admin area's changes); the session is raised anew and `factor_at` is now.

use std::sync::Arc;

use askama::Template;

use super::{encode_query, rd_of, During, Form, Frame, PortalError, PortalPage, PortalRequest};
use super::{Task, MAX_CODE};
use webauthn_rs::prelude::PublicKeyCredential;

use crate::auth::passkeys::{self, Refusal, Step};
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
    /// The passkey button, for a user who has one (on a host where passkeys work).
    passkey: Option<super::passkey::Prompt>,
    /// The user has passkeys, but this host cannot use them (an address, or outside the rp
    /// id).
    passkey_unavailable: bool,
    /// The user's passkeys were made for these other site names.
    passkey_elsewhere: Option<String>,
    has_totp: bool,
    again: bool,
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
    again: bool,
    /// The way back is the authenticator app (else the passkey).
    has_totp: bool,
}

#[derive(Template)]
#[template(path = "recovered.html")]
struct RecoveredPage<'a> {
    ui: &'a Frame,
    csrf: &'a str,
    rd: &'a str,
    rd_query: &'a str,
    remaining: i64,
    /// The way back is a new authenticator app (else a new passkey).
    has_totp: bool,
}

/// Who may answer a challenge: a session below two factors whose user has a second factor,
/// or, asked `again`, one at two factors whose second factor is no longer fresh.
enum Challenger<'a> {
    Ready(&'a Arc<ActiveSession>),
    Done,
    NoSecondFactor,
    Nobody,
}

fn challenger<'r>(state: &State, req: &'r PortalRequest, again: bool) -> Challenger<'r> {
    let stale =
        |s: &ActiveSession| again && !super::factor_fresh(s, req.now, state.config().admin.reauth);
    match &req.session {
        None => Challenger::Nobody,
        Some(s) if s.level == Level::TwoFactor && !stale(s) => Challenger::Done,
        Some(s) if !s.identity.second_factor() => Challenger::NoSecondFactor,
        Some(s) => Challenger::Ready(s),
    }
}

/// Whether the query (GET) or the form (POST) asks to confirm the second factor again.
fn asked_again(req: &PortalRequest, form: Option<&Form>) -> bool {
    match form {
        Some(f) => f.get("again") == "1",
        None => req.query_param("again").as_deref() == Some("1"),
    }
}

/// The challenge page: the passkey first for those who have one, then the TOTP form.
async fn totp_page(
    state: &State,
    req: &PortalRequest,
    session: &ActiveSession,
    status: u16,
    rd: &str,
    again: bool,
    error: Option<&str>,
) -> Result<HttpResponse, PortalError> {
    use super::passkey::Offer;
    let offer = super::passkey::second_factor_offer(state, req, session, again).await?;
    let (passkey, passkey_unavailable, passkey_elsewhere) = match offer {
        Offer::Prompt(prompt) => (Some(prompt), false, None),
        Offer::Nothing => (None, false, None),
        Offer::NotHere => (None, true, None),
        Offer::Elsewhere(places) => (None, false, Some(places)),
    };
    let script = passkey.as_ref().map(|p| p.script.clone());
    let page = req.ui.render(
        status,
        &TotpPage {
            ui: &req.ui,
            csrf: &session.csrf_token(),
            rd,
            rd_query: &encode_query(rd),
            username: &session.identity.username,
            issuer: &state.config().totp.issuer,
            digits: state.config().totp.digits,
            remember: super::remember::offered(state)
                .filter(|_| !again)
                .map(super::remember::days_or_hours),
            error,
            passkey_unavailable,
            passkey_elsewhere,
            passkey,
            has_totp: session.identity.has_totp,
            again,
        },
    );
    Ok(match script {
        Some(script) => page.with_script(&script),
        None => page,
    })
}

fn recovery_page(
    req: &PortalRequest,
    session: &ActiveSession,
    status: u16,
    rd: &str,
    again: bool,
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
            again,
            has_totp: session.identity.has_totp,
        },
    )
}

/// Answers requests that cannot take a challenge.
fn not_ready(state: &State, c: Challenger<'_>, rd: &str) -> HttpResponse {
    match c {
        Challenger::Done => HttpResponse::redirect(303, rd),
        Challenger::NoSecondFactor => {
            HttpResponse::redirect(303, &PortalPage::TotpSetup.url(state.prefix(), rd))
        }
        Challenger::Ready(_) | Challenger::Nobody => super::to_login(state, rd),
    }
}

pub async fn get_totp(state: &State, req: &PortalRequest) -> Result<HttpResponse, PortalError> {
    let rd = rd_of(state, req, None);
    let again = asked_again(req, None);
    match challenger(state, req, again) {
        Challenger::Ready(s) => totp_page(state, req, s, 200, &rd, again, None).await,
        other => Ok(not_ready(state, other, &rd)),
    }
}

pub fn get_recovery(state: &State, req: &PortalRequest) -> HttpResponse {
    let rd = rd_of(state, req, None);
    let again = asked_again(req, None);
    match challenger(state, req, again) {
        Challenger::Ready(s) => recovery_page(req, s, 200, &rd, again, None),
        other => not_ready(state, other, &rd),
    }
}

/// Which page of the challenge shows an answer's error.
#[derive(Clone, Copy)]
enum ChallengePage {
    Totp,
    Recovery,
}

/// A challenge answer ready to be checked: who answers, where to go next, whether the factor
/// is confirmed `again`, and the attempt holding its subjects.
struct Answer<'r> {
    session: &'r Arc<ActiveSession>,
    rd: String,
    again: bool,
    attempt: Attempt<'r>,
}

/// What every answer goes through before it is checked: a session that may answer, and no
/// ban (else counted as a `factor` attempt refused). `Ok(Err(page))` when there is nothing to
/// check.
async fn answer<'r>(
    state: &'r State,
    req: &'r PortalRequest,
    form: &'r Form,
    factor: Factor,
) -> Result<Result<Answer<'r>, HttpResponse>, PortalError> {
    let rd = rd_of(state, req, Some(form));
    let again = asked_again(req, Some(form));
    let session = match challenger(state, req, again) {
        Challenger::Ready(s) => s,
        other => return Ok(Err(not_ready(state, other, &rd))),
    };
    // Asked again only means something to a session at two factors; any other is signing in.
    let again = again && session.level == Level::TwoFactor;
    let keys = Regulation::second_factor_keys(&session.identity.username, req.client_ip);
    let attempt = (state.regulation.begin(keys, req.now).await)
        .inspect_err(|_| state.metrics.sign_in(factor, SignInResult::Banned))?;
    Ok(Ok(Answer {
        session,
        rd,
        again,
        attempt,
    }))
}

/// The code a form carries, when it is of a sane size; else the page that says `missing` (a
/// catalog key).
async fn code_of<'f>(
    state: &State,
    req: &PortalRequest,
    form: &'f Form,
    page: ChallengePage,
    missing: &str,
) -> Result<Result<&'f str, HttpResponse>, PortalError> {
    let code = form.get("code");
    if !code.trim().is_empty() && code.len() <= MAX_CODE {
        return Ok(Ok(code));
    }
    let rd = rd_of(state, req, Some(form));
    let again = asked_again(req, Some(form));
    let missing = req.ui.t(missing);
    let s = match challenger(state, req, again) {
        Challenger::Ready(s) => s,
        other => return Ok(Err(not_ready(state, other, &rd))),
    };
    Ok(Err(match page {
        ChallengePage::Totp => totp_page(state, req, s, 400, &rd, again, Some(&missing)).await?,
        ChallengePage::Recovery => recovery_page(req, s, 400, &rd, again, Some(&missing)),
    }))
}

pub async fn post_totp(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let code = match code_of(state, req, form, ChallengePage::Totp, "totp-missing").await? {
        Ok(code) => code,
        Err(page) => return Ok(page),
    };
    let a = match answer(state, req, form, Factor::Totp).await? {
        Ok(a) => a,
        Err(page) => return Ok(page),
    };
    let check = state
        .factors
        .check_totp(a.session.identity.user_id, code, req.now)
        .await
        .during(Task::CheckCode)?;
    if check.accepted() {
        let remember = form.get("remember") == "1" && !a.again;
        return promote(state, req, &a, Via::Totp { remember }).await;
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
    totp_page(state, req, a.session, 200, &a.rd, a.again, Some(&text)).await
}

pub async fn post_recovery(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let page = ChallengePage::Recovery;
    let code = match code_of(state, req, form, page, "recovery-missing").await? {
        Ok(code) => code,
        Err(page) => return Ok(page),
    };
    let a = match answer(state, req, form, Factor::Recovery).await? {
        Ok(a) => a,
        Err(page) => return Ok(page),
    };
    let check = state
        .factors
        .use_recovery_code(a.session.identity.user_id, code, req.now)
        .await
        .during(Task::CheckCode)?;
    let username = &a.session.identity.username;
    if let CodeCheck::Accepted { remaining } = check {
        let remaining = remaining.unwrap_or(0);
        let detail = Some(format!("remaining={remaining}"));
        req.audit(state, AuditKind::RecoveryCodeUsed, Some(username), detail);
        return promote(state, req, &a, Via::Recovery { remaining }).await;
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
        req,
        a.session,
        200,
        &a.rd,
        a.again,
        Some(&text),
    ))
}

/// `POST {prefix}/passkey/verify`: a passkey as the second factor. The ceremony must be the
/// one this session's challenge page started (taken once), the assertion must check out
/// against one of the user's passkeys, and its signature counter must move forward. Every
/// refusal counts like a wrong code.
pub async fn post_passkey(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let a = match answer(state, req, form, Factor::Passkey).await? {
        Ok(a) => a,
        Err(page) => return Ok(page),
    };
    let user_id = a.session.identity.user_id;
    let ceremony = state.passkeys.take(form.get("ceremony"), form.get("csrf"));
    let credential: Option<PublicKeyCredential> = super::passkey::credential_of(form);
    let checked = match (ceremony.as_deref(), &credential) {
        (None, _) => Err(Refusal::Invalid(
            "no such passkey challenge in progress (expired or answered already)",
        )),
        (_, None) => Err(Refusal::Invalid("no credential in the answer")),
        (Some(c), Some(cred)) => match &c.step {
            Step::SecondFactor {
                user_id: owner,
                state: ceremony_state,
            } if *owner == user_id => {
                c.rp.webauthn
                    .finish_passkey_authentication(cred, ceremony_state)
                    .map_err(|e| passkeys::refusal(&e))
            }
            _ => Err(Refusal::Invalid("not this session's passkey challenge")),
        },
    };
    let used = match checked {
        Ok(result) => {
            let credential_id = result.cred_id().to_vec();
            let row = state
                .store
                .call(move |s| s.passkey_by_credential(&credential_id))
                .await
                .during(Task::CheckCode)?
                .filter(|row| row.user_id == user_id);
            match row {
                Some(row) => super::passkey::record_use(state, &row, &result, req.now)
                    .await
                    .during(Task::CheckCode)?
                    .map(|()| row),
                None => Err(Refusal::Invalid("unknown passkey")),
            }
        }
        Err(refusal) => Err(refusal),
    };
    match used {
        Ok(row) => promote(state, req, &a, Via::Passkey { name: row.name }).await,
        Err(refusal) => {
            let (kind, why) = super::passkey::refusal_row(&refusal);
            state
                .metrics
                .sign_in(Factor::Passkey, SignInResult::Failure);
            let username = &a.session.identity.username;
            let origin = req.origin();
            a.attempt
                .failed(kind, username, &origin, req.now, why)
                .await?;
            let text = req.ui.t("passkey-refused");
            totp_page(state, req, a.session, 200, &a.rd, a.again, Some(&text)).await
        }
    }
}

/// How a challenge was answered.
enum Via {
    Totp { remember: bool },
    Recovery { remaining: i64 },
    Passkey { name: String },
}

/// Raises the session to two factors under a new id and continues to `rd` (after a recovery
/// code, by way of a page that says how many codes remain), remembering the browser when asked.
async fn promote(
    state: &State,
    req: &PortalRequest,
    answer: &Answer<'_>,
    via: Via,
) -> Result<HttpResponse, PortalError> {
    let (session, rd) = (answer.session, answer.rd.as_str());
    let (cookie, new) = super::raise(state, req, session, Level::TwoFactor).await?;
    // The factor is used and the session raised: failing to remember the browser must not
    // undo that, so it is logged and the browser simply not remembered.
    let remembered = match via {
        Via::Totp { remember: true } => super::remember::remember(state, req, &new)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!("could not remember a browser: {e}");
                None
            }),
        _ => None,
    };
    answer.attempt.succeeded();
    let (how, factor) = match &via {
        Via::Totp { .. } => ("totp".to_string(), Factor::Totp),
        Via::Recovery { .. } => ("recovery code".to_string(), Factor::Recovery),
        Via::Passkey { name } => (format!("passkey \"{name}\""), Factor::Passkey),
    };
    state.metrics.sign_in(factor, SignInResult::Success);
    let username = Some(session.identity.username.as_str());
    let (kind, how) = match answer.again {
        true => (AuditKind::AdminReauth, format!("confirmed again: {how}")),
        false => (AuditKind::SecondFactorSuccess, how),
    };
    req.audit(state, kind, username, Some(how));
    let response = match via {
        Via::Recovery { remaining } => req
            .ui
            .render(
                200,
                &RecoveredPage {
                    ui: &req.ui,
                    csrf: &new.csrf_token(),
                    rd,
                    rd_query: &encode_query(rd),
                    remaining,
                    has_totp: session.identity.has_totp,
                },
            )
            .header("Set-Cookie", cookie),
        _ => HttpResponse::redirect(303, rd).header("Set-Cookie", cookie),
    };
    Ok(match remembered {
        Some(remember_cookie) => response.header("Set-Cookie", remember_cookie),
        None => response,
    })
}
