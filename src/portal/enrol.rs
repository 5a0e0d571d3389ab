//! `GET/POST {prefix}/totp/setup`, `POST {prefix}/totp/disable` and
//! `POST {prefix}/recovery-codes`: turning TOTP on and off, and new recovery codes.

use askama::Template;

use super::MAX_CODE;
use super::{message, rd_of, During, Form, Frame, PortalError, PortalPage, PortalRequest, Task};
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
    ui: &'a Frame,
    csrf: &'a str,
    rd: &'a str,
    rd_query: &'a str,
    /// "Add a passkey instead": passkeys work on this host and the person has none.
    offer_passkey: bool,
    /// Shown because a page needs two factors (`?required=1`, kept in the form).
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
    ui: &'a Frame,
    rd: &'a str,
    codes: &'a [String],
    download_href: &'a str,
    /// Catalog key of what just happened (on, moved, replaced): said once.
    notice: &'static str,
}

/// Moving to a new authenticator while TOTP is on needs a current code (or a recovery code),
/// so that a session left open somewhere cannot take over the second factor.
fn needs_current(session: &ActiveSession) -> bool {
    session.identity.has_totp
}

/// Someone whose second factor is a passkey has no code to type: they set up an authenticator
/// app with the passkey confirmed lately, so that a session left open with the password alone
/// (or a stale one) cannot add a second factor of its own. Else the challenge page asks for
/// it, then comes back to `here`.
fn passkey_first(
    state: &State,
    req: &PortalRequest,
    session: &ActiveSession,
    here: &str,
) -> Option<HttpResponse> {
    let identity = &session.identity;
    let fresh = super::factor_fresh(session, req.now, state.config().admin.reauth);
    (identity.has_passkey && !identity.has_totp && !fresh)
        .then(|| super::confirm_again(state, here))
}

async fn setup_page(
    state: &State,
    req: &PortalRequest,
    session: &ActiveSession,
    status: u16,
    rd: &str,
    forced: bool,
    error: Option<&str>,
) -> Result<HttpResponse, PortalError> {
    let secret = state
        .factors
        .pending_enrolment(session.identity.user_id, session.id_hash, req.now)
        .await
        .during(Task::SetUp)?;
    let uri = totp::otpauth_uri(&state.config().totp, &session.identity.username, &secret);
    let qr = totp::qr_svg(&uri).unwrap_or_default();
    let error = error.map(|key| req.ui.t(key));
    Ok(req.ui.render(
        status,
        &SetupPage {
            ui: &req.ui,
            csrf: &session.csrf_token(),
            rd,
            rd_query: &super::encode_query(rd),
            offer_passkey: !session.identity.has_passkey
                && super::passkey::available_here(state, req),
            forced: forced && !session.identity.second_factor(),
            secret_grouped: &totp::grouped(&totp::base32(&secret)),
            uri: &uri,
            qr_svg: &qr,
            digits: state.config().totp.digits,
            needs_current: needs_current(session),
            error: error.as_deref(),
        },
    ))
}

pub async fn get_setup(state: &State, req: &PortalRequest) -> Result<HttpResponse, PortalError> {
    let session = req.signed_in()?;
    let rd = rd_of(state, req, None);
    let forced = req.query_param("required").is_some();
    let here = format!(
        "{}{}?{}",
        state.prefix(),
        req.page,
        req.query.as_deref().unwrap_or("")
    );
    if let Some(confirm) = passkey_first(state, req, session, &here) {
        return Ok(confirm);
    }
    setup_page(state, req, session, 200, &rd, forced, None).await
}

/// The same words for every wrong code at set-up (a catalog key).
const WRONG_CODE: &str = "totp-wrong";

pub async fn post_setup(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let session = req.signed_in()?;
    let rd = rd_of(state, req, Some(form));
    let forced = form.get("required") == "1";
    let here = PortalPage::TotpSetup.url(state.prefix(), &rd);
    if let Some(confirm) = passkey_first(state, req, session, &here) {
        return Ok(confirm);
    }
    let code = form.get("code");
    let current = form.get("current_code");
    if code.trim().is_empty() || code.len() > MAX_CODE || current.len() > MAX_CODE {
        let text = "setup-missing";
        return setup_page(state, req, session, 400, &rd, forced, Some(text)).await;
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
        CodeCheck::NotEnrolled => Some(("enrolment: wrong code", "setup-expired")),
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
            Some(("re-enrolment: current code wrong", "setup-current-wrong"))
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
        return setup_page(state, req, session, 200, &rd, forced, Some(text)).await;
    }
    req.audit(state, AuditKind::TotpEnabled, Some(username), None);
    state.sessions.forget_user(user_id);
    let (cookie, _) = super::raise(state, req, session, Level::TwoFactor).await?;
    let notice = if needs_current(session) {
        "codes-moved"
    } else {
        "codes-enabled"
    };
    Ok(codes_page(state, req, username, &codes, &rd, notice).header("Set-Cookie", cookie))
}

/// A change to a second factor that is on, confirmed with a code: what it accepts and what
/// its page says.
struct Change {
    /// A recovery code is accepted as well as a TOTP code.
    any_code: bool,
    /// Catalog keys of what the page says when the code is missing, or refused.
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
    let ui = &req.ui;
    let code = form.get("code");
    if code.trim().is_empty() || code.len() > MAX_CODE {
        let title = ui.t("code-needed-title");
        return Ok(Err(message(ui, 400, &title, &ui.t(change.missing), None)));
    }
    let checked = super::check_code(
        state,
        req,
        session,
        code,
        change.any_code,
        Task::Account,
        |_| change.detail,
    )
    .await?;
    let check = match checked {
        Ok(attempt) => return Ok(Ok(attempt)),
        Err(check) => check,
    };
    // The same code again for new recovery codes is, as a rule, the page that showed them
    // being reloaded: say that they were shown, rather than that the code is wrong.
    if check == CodeCheck::Replayed && !change.any_code {
        return Ok(Err(PortalError::CodesAlreadyShown.respond(state, req)));
    }
    let title = ui.t("code-refused-title");
    Ok(Err(message(ui, 200, &title, &ui.t(change.refused), None)))
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
        missing: "disable-missing",
        refused: "disable-refused",
        detail: "disable: wrong code",
    };
    let _attempt = match confirm(state, req, session, form, &change).await? {
        Ok(attempt) => attempt,
        Err(page) => return Ok(page),
    };
    let (username, user_id) = (&session.identity.username, session.identity.user_id);
    let passkey_left = state
        .store
        .call(move |s| s.disable_totp(user_id))
        .await
        .during(Task::Account)?;
    req.audit(state, AuditKind::TotpDisabled, Some(username), None);
    state.sessions.forget_user(user_id);
    // With a passkey left, two factors remain.
    let (level, done) = match passkey_left {
        true => (Level::TwoFactor, "totp_disabled_passkey"),
        false => (Level::OneFactor, "totp_disabled"),
    };
    let (cookie, _) = super::raise(state, req, session, level).await?;
    let done = format!("{account}?done={done}");
    Ok(HttpResponse::redirect(303, &done).header("Set-Cookie", cookie))
}

pub async fn post_regenerate(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let session = req.signed_in()?;
    let account = PortalPage::Account.at(state.prefix());
    let identity = &session.identity;
    if !identity.second_factor() {
        let ui = &req.ui;
        let title = ui.t("regen-off-title");
        return Ok(message(ui, 400, &title, &ui.t("regen-off-text"), None));
    }
    let change = Change {
        any_code: false,
        missing: "regen-missing",
        refused: "regen-refused",
        detail: "regenerate: wrong code",
    };
    // With TOTP, a current code confirms it; with passkeys alone (no code to type), the
    // passkey confirmed lately, else the challenge page asks for it and comes back.
    let _attempt = if identity.has_totp {
        match confirm(state, req, session, form, &change).await? {
            Ok(attempt) => Some(attempt),
            Err(page) => return Ok(page),
        }
    } else {
        let here = format!("{account}#recovery-codes");
        if let Some(confirm) = passkey_first(state, req, session, &here) {
            return Ok(confirm);
        }
        None
    };
    let (username, user_id) = (&session.identity.username, session.identity.user_id);
    let codes = crate::auth::recovery::generate_codes(state.config().recovery_codes.count);
    let renewed = state
        .factors
        .replace_recovery_codes(user_id, codes.clone())
        .await
        .during(Task::Account)?;
    if !renewed {
        // The last second factor went meanwhile.
        let ui = &req.ui;
        let title = ui.t("regen-off-title");
        return Ok(message(ui, 400, &title, &ui.t("regen-off-text"), None));
    }
    let detail = Some(format!("count={}", codes.len()));
    req.audit(
        state,
        AuditKind::RecoveryCodesRegenerated,
        Some(username),
        detail,
    );
    Ok(codes_page(
        state,
        req,
        username,
        &codes,
        &account,
        "codes-replaced",
    ))
}

/// The once-only page showing recovery codes, with a download of exactly these codes.
pub(super) fn codes_page(
    state: &State,
    req: &PortalRequest,
    username: &str,
    codes: &[String],
    rd: &str,
    notice: &'static str,
) -> HttpResponse {
    let ui = &req.ui;
    let text = recovery_codes_text(ui, &state.config().totp.issuer, username, codes);
    let href = format!(
        "data:text/plain;charset=utf-8,{}",
        percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC)
    );
    ui.render(
        200,
        &CodesPage {
            ui,
            rd,
            codes,
            download_href: &href,
            notice,
        },
    )
}

/// The text of the download, in the page's language: who the codes are for, when they were
/// made, the codes.
pub fn recovery_codes_text(ui: &Frame, issuer: &str, username: &str, codes: &[String]) -> String {
    let date = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let mut text = format!(
        "{}\n{}\n{}\n\n{}\n{}\n\n",
        ui.msg("codes-file-heading").str("issuer", issuer),
        ui.msg("codes-file-account").str("username", username),
        ui.msg("codes-file-created").str("date", date),
        ui.t("codes-file-use"),
        ui.t("codes-file-keep"),
    );
    for c in codes {
        text.push_str(c);
        text.push('\n');
    }
    text
}
