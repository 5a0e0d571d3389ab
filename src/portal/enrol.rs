//! `GET/POST {prefix}/totp/setup`, `POST {prefix}/totp/disable` and
//! `POST {prefix}/recovery-codes`: turning TOTP on and off, and new recovery codes.

use askama::Template;

use super::MAX_CODE;
use super::{message, rd_of, render, During, Form, PortalError, PortalPage, PortalRequest, Task};
use crate::auth::regulation::{Attempt, Regulation};
use crate::auth::second_factor::CodeCheck;
use crate::auth::totp;
use crate::http_response::HttpResponse;
use crate::session::{ActiveSession, Level};
use crate::store::AuditKind;
use crate::State;

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
) -> Result<HttpResponse, PortalError> {
    let secret = state
        .factors
        .pending_enrolment(session.identity.user_id, session.id_hash, req.now)
        .await
        .during(Task::SetUp)?;
    let uri = totp::otpauth_uri(&state.config().totp, &session.identity.username, &secret);
    let qr = totp::qr_svg(&uri).unwrap_or_default();
    Ok(render(
        status,
        &SetupPage {
            prefix: state.prefix(),
            csrf: &session.csrf_token(),
            rd,
            forced: req.query_param("required").is_some() && !session.identity.has_totp,
            secret_grouped: &totp::grouped(&totp::base32(&secret)),
            uri: &uri,
            qr_svg: &qr,
            digits: state.config().totp.digits,
            needs_current: needs_current(session),
            error,
        },
    ))
}

pub async fn get_setup(state: &State, req: &PortalRequest) -> Result<HttpResponse, PortalError> {
    let session = req.signed_in()?;
    let rd = rd_of(state, req, None);
    setup_page(state, req, session, 200, &rd, None).await
}

/// The same words for every wrong code at set-up.
const WRONG_CODE: &str = "That code is not right. Check the time on your device and try again.";

pub async fn post_setup(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let session = req.signed_in()?;
    let rd = rd_of(state, req, Some(form));
    let code = form.get("code");
    let current = form.get("current_code");
    if code.trim().is_empty() || code.len() > MAX_CODE || current.len() > MAX_CODE {
        let text = "Enter the code the new authenticator shows.";
        return setup_page(state, req, session, 400, &rd, Some(text)).await;
    }
    let username = &session.identity.username;
    let user_id = session.identity.user_id;
    let keys = Regulation::second_factor_keys(username, req.client_ip);
    let attempt = state.regulation.begin(keys, req.now).await?;
    let factors = &state.factors;
    // The new authenticator's code first, without writing: a typo there must not use up the
    // current code (which may be one of the last recovery codes).
    let new_code = factors
        .check_enrolment_code(user_id, session.id_hash, code, req.now)
        .await
        .during(Task::SetUp)?;
    let failure = match new_code {
        CodeCheck::Accepted { .. } => None,
        CodeCheck::NotEnrolled => Some((
            "enrolment: wrong code",
            "That set-up expired or was started elsewhere. Scan this new code and try again.",
        )),
        _ => Some(("enrolment: wrong code", WRONG_CODE)),
    };
    let failure = match failure {
        None if needs_current(session)
            && !factors
                .check_any_code(user_id, current, req.now)
                .await
                .during(Task::SetUp)?
                .accepted() =>
        {
            Some((
                "re-enrolment: current code wrong",
                "The code from your current authenticator (or the recovery code) is not right.",
            ))
        }
        other => other,
    };
    let codes = crate::auth::recovery::generate_codes(state.config().recovery_codes.count);
    let failure = match failure {
        None => {
            let confirmed = factors
                .confirm_enrolment(user_id, session.id_hash, code, codes.clone(), req.now)
                .await
                .during(Task::SetUp)?;
            (!confirmed.accepted()).then_some(("enrolment: wrong code", WRONG_CODE))
        }
        other => other,
    };
    if let Some((detail, text)) = failure {
        let origin = req.origin();
        attempt
            .failed(AuditKind::TotpFailure, username, &origin, req.now, detail)
            .await?;
        return setup_page(state, req, session, 200, &rd, Some(text)).await;
    }
    req.audit(state, AuditKind::TotpEnabled, Some(username), None);
    state.sessions.forget_user(user_id);
    let (cookie, _) = super::raise(state, req, session, Level::TwoFactor).await?;
    let notice = Some("Two-factor sign-in is on.");
    Ok(codes_page(state, username, &codes, &rd, notice).header("Set-Cookie", cookie))
}

/// A change to a second factor that is on, confirmed with a code: what it accepts and what
/// its page says.
struct Change {
    /// A recovery code is accepted as well as a TOTP code.
    any_code: bool,
    missing: &'static str,
    refused: &'static str,
    /// The audit detail of a wrong code.
    detail: &'static str,
}

/// Checks the code that confirms `change`, under an attempt on the user's second factor.
/// `Ok(Ok(attempt))` when it is right (keep the attempt until the change is made);
/// `Ok(Err(page))` when it is missing or wrong (a wrong one is counted).
async fn confirm<'r>(
    state: &'r State,
    req: &PortalRequest,
    session: &ActiveSession,
    form: &Form,
    change: &Change,
) -> Result<Result<Attempt<'r>, HttpResponse>, PortalError> {
    let account = PortalPage::Account.at(state.prefix());
    let code = form.get("code");
    if code.trim().is_empty() || code.len() > MAX_CODE {
        let page = message(state, 400, "Code needed", change.missing, Some(&account));
        return Ok(Err(page));
    }
    let (username, user_id) = (&session.identity.username, session.identity.user_id);
    let keys = Regulation::second_factor_keys(username, req.client_ip);
    let attempt = state.regulation.begin(keys, req.now).await?;
    let check = if change.any_code {
        state.factors.check_any_code(user_id, code, req.now).await
    } else {
        state.factors.check_totp(user_id, code, req.now).await
    };
    if check.during(Task::Account)?.accepted() {
        return Ok(Ok(attempt));
    }
    let origin = req.origin();
    attempt
        .failed(
            AuditKind::TotpFailure,
            username,
            &origin,
            req.now,
            change.detail,
        )
        .await?;
    let page = message(
        state,
        200,
        "Code not accepted",
        change.refused,
        Some(&account),
    );
    Ok(Err(page))
}

pub async fn post_disable(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let session = req.signed_in()?;
    let account = PortalPage::Account.at(state.prefix());
    if !session.identity.has_totp {
        return Ok(HttpResponse::redirect(303, &account));
    }
    let change = Change {
        any_code: true,
        missing: "Enter a current code or a recovery code to turn off two-factor sign-in.",
        refused: "That code is not right; two-factor sign-in is still on.",
        detail: "disable: wrong code",
    };
    let _attempt = match confirm(state, req, session, form, &change).await? {
        Ok(attempt) => attempt,
        Err(page) => return Ok(page),
    };
    let (username, user_id) = (&session.identity.username, session.identity.user_id);
    state
        .store
        .call(move |s| s.disable_totp(user_id))
        .await
        .during(Task::Account)?;
    req.audit(state, AuditKind::TotpDisabled, Some(username), None);
    state.sessions.forget_user(user_id);
    let (cookie, _) = super::raise(state, req, session, Level::OneFactor).await?;
    let done = format!("{account}?done=totp_disabled");
    Ok(HttpResponse::redirect(303, &done).header("Set-Cookie", cookie))
}

pub async fn post_regenerate(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let session = req.signed_in()?;
    let account = PortalPage::Account.at(state.prefix());
    if !session.identity.has_totp {
        return Ok(message(
            state,
            400,
            "Two-factor sign-in is off",
            "Recovery codes come with two-factor sign-in: set it up first.",
            Some(&account),
        ));
    }
    let change = Change {
        any_code: false,
        missing: "Enter the current code from your authenticator.",
        refused: "That code is not right; your recovery codes are unchanged.",
        detail: "regenerate: wrong code",
    };
    let _attempt = match confirm(state, req, session, form, &change).await? {
        Ok(attempt) => attempt,
        Err(page) => return Ok(page),
    };
    let (username, user_id) = (&session.identity.username, session.identity.user_id);
    let codes = crate::auth::recovery::generate_codes(state.config().recovery_codes.count);
    state
        .factors
        .replace_recovery_codes(user_id, codes.clone())
        .await
        .during(Task::Account)?;
    let detail = Some(format!("count={}", codes.len()));
    req.audit(
        state,
        AuditKind::RecoveryCodesRegenerated,
        Some(username),
        detail,
    );
    let notice = Some("Your old recovery codes no longer work.");
    Ok(codes_page(state, username, &codes, &account, notice))
}

/// The once-only page showing recovery codes, with a download of exactly these codes.
fn codes_page(
    state: &State,
    username: &str,
    codes: &[String],
    rd: &str,
    notice: Option<&str>,
) -> HttpResponse {
    let text = recovery_codes_text(&state.config().totp.issuer, username, codes);
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
