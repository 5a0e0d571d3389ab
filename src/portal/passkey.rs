//! Passkeys on the portal's pages: adding one (`GET /account/passkeys/new`, then
//! `POST /account/passkeys/register`), renaming and removing them, signing in with one alone
//! (`POST /passkey/login`), and the prompts the sign-in and challenge pages show.
//!
//! Each page that offers a passkey starts a ceremony ([`crate::auth::passkeys`]) bound to its
//! CSRF token and hands the browser its options; the form that answers carries the
//! ceremony's id and the browser's answer as JSON, and is checked like every other form
//! first (origin, CSRF). Adding or removing a passkey when the account has a second factor
//! needs one confirmed within `[admin] reauth`, else the challenge page asks for it again
//! and comes back.

use askama::Template;
use webauthn_rs::prelude::{
    AuthenticationResult, Passkey, PublicKeyCredential, RegisterPublicKeyCredential, Uuid,
};

use super::{message, rd_of, During, Form, Frame, PortalError, PortalPage, PortalRequest, Task};
use crate::auth::passkeys::{self, Refusal, Step, MAX_CREDENTIAL_JSON, MAX_NAME};
use crate::auth::throttle::Regulator;
use crate::http_response::HttpResponse;
use crate::metrics::{Factor, SignInResult};
use crate::session::{ActiveSession, Identity, Level};
use crate::store::{AuditKind, NewPasskey, PasskeyRow, StoreError};
use crate::State;

/// A passkey button and the form it sends, as a page shows it.
pub(super) struct Prompt {
    /// Where the form goes.
    pub action: String,
    /// `create` or `get`: what the script asks the browser for.
    pub kind: &'static str,
    pub ceremony: String,
    /// The options for the browser, as JSON.
    pub options: String,
    /// Catalog key of the button's words.
    pub button: &'static str,
    /// A second factor confirmed again (the challenge page's `again`).
    pub again: bool,
    /// The script's exact URL, for the page's Content-Security-Policy.
    pub script: String,
}

/// The exact URL of the passkey script on the page's host, as `rp` checked it.
fn script_url(state: &State, req: &PortalRequest, rp: &passkeys::RelyingParty) -> String {
    // Behind a proxy that ends TLS the request is plain but the page is `https`: cookies
    // marked `Secure` say so.
    let scheme = if req.tls || state.config().session.secure {
        "https"
    } else {
        "http"
    };
    let path = PortalPage::Script.at(state.prefix());
    format!("{scheme}://{}{path}", rp.authority)
}

fn relying_party(state: &State, req: &PortalRequest) -> Option<passkeys::RelyingParty> {
    passkeys::relying_party(&state.config(), &req.host, req.tls)
}

/// Whether passkeys can be used on the page this request is for.
pub(super) fn available_here(state: &State, req: &PortalRequest) -> bool {
    relying_party(state, req).is_some()
}

/// What the challenge page can offer a user with passkeys.
pub(super) enum Offer {
    /// The user has no passkey.
    Nothing,
    /// The passkey button.
    Prompt(Prompt),
    /// Passkeys cannot be used on this host (an address, or a host outside the rp id).
    NotHere,
    /// The user's passkeys were made for other relying-party ids (named, comma-separated).
    Elsewhere(String),
}

/// The prompt for `session`'s user to answer the second-factor challenge with a passkey, when
/// they have one made for this host's relying party.
pub(super) async fn second_factor_offer(
    state: &State,
    req: &PortalRequest,
    session: &ActiveSession,
    again: bool,
) -> Result<Offer, PortalError> {
    if !session.identity.has_passkey {
        return Ok(Offer::Nothing);
    }
    let Some(rp) = relying_party(state, req) else {
        return Ok(Offer::NotHere);
    };
    let user_id = session.identity.user_id;
    let rows = state
        .store
        .call(move |s| s.passkeys(user_id))
        .await
        .during(Task::CheckCode)?;
    let (here, elsewhere): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r.rp_id == rp.id);
    let keys: Vec<Passkey> = here
        .iter()
        .filter_map(|r| passkeys::parse(&r.credential))
        .collect();
    if keys.is_empty() {
        let mut places: Vec<&str> = elsewhere.iter().map(|r| r.rp_id.as_str()).collect();
        places.sort_unstable();
        places.dedup();
        return Ok(match places.is_empty() {
            true => Offer::Nothing,
            false => Offer::Elsewhere(places.join(", ")),
        });
    }
    let (rcr, ceremony) = match rp.webauthn.start_passkey_authentication(&keys) {
        Ok(started) => started,
        Err(e) => {
            tracing::warn!("could not start a passkey challenge: {e}");
            return Ok(Offer::NotHere);
        }
    };
    let step = Step::SecondFactor {
        user_id,
        state: ceremony,
    };
    let script = script_url(state, req, &rp);
    let id = state.passkeys.start(&session.csrf_token(), rp, step);
    Ok(Offer::Prompt(Prompt {
        action: PortalPage::PasskeyVerify.at(state.prefix()),
        kind: "get",
        ceremony: id,
        options: passkeys::request_options_json(&rcr),
        button: "passkey-use",
        again,
        script,
    }))
}

/// The prompt to sign in with a passkey alone, for the sign-in page whose CSRF token is
/// `csrf`, when `[webauthn] passwordless` is on and passkeys work on this host.
pub(super) fn passwordless_prompt(
    state: &State,
    req: &PortalRequest,
    csrf: &str,
) -> Option<Prompt> {
    if !state.config().webauthn.passwordless {
        return None;
    }
    let rp = relying_party(state, req)?;
    let (rcr, ceremony) = rp
        .webauthn
        .start_discoverable_authentication()
        .inspect_err(|e| tracing::warn!("could not start a passkey sign-in: {e}"))
        .ok()?;
    let script = script_url(state, req, &rp);
    let id = state
        .passkeys
        .start(csrf, rp, Step::Passwordless { state: ceremony });
    Some(Prompt {
        action: PortalPage::PasskeyLogin.at(state.prefix()),
        kind: "get",
        ceremony: id,
        options: passkeys::request_options_json(&rcr),
        button: "passkey-sign-in",
        again: false,
        script,
    })
}

/// Records a use of passkey `row` that `result` accepted: its counter must move forward
/// past the stored one, else the key may have been copied and the use is refused.
pub(super) async fn record_use(
    state: &State,
    row: &PasskeyRow,
    result: &AuthenticationResult,
    now: i64,
) -> Result<Result<(), Refusal>, StoreError> {
    let Some(mut passkey) = passkeys::parse(&row.credential) else {
        return Ok(Err(Refusal::Invalid("stored passkey unreadable")));
    };
    passkey.update_credential(result);
    let json = serde_json::to_string(&passkey).map_err(|e| StoreError::Task(e.to_string()))?;
    let (id, counter) = (row.id, result.counter());
    let recorded = state
        .store
        .call(move |s| s.record_passkey_use(id, &json, counter, now))
        .await?;
    Ok(if recorded {
        Ok(())
    } else {
        Err(Refusal::PossibleClone)
    })
}

/// The audit kind and words of a refused assertion.
pub(super) fn refusal_row(refusal: &Refusal) -> (AuditKind, &'static str) {
    match refusal {
        Refusal::PossibleClone => (
            AuditKind::PasskeyCloneWarning,
            "signature counter did not move forward: the passkey may have been copied",
        ),
        Refusal::Invalid(why) => (AuditKind::PasskeyFailure, why),
    }
}

/// The browser's answer in a form's `credential` field.
pub(super) fn credential_of<T: serde::de::DeserializeOwned>(form: &Form) -> Option<T> {
    let text = form.get("credential");
    if text.is_empty() || text.len() > MAX_CREDENTIAL_JSON {
        return None;
    }
    serde_json::from_str(text).ok()
}

// -- passwordless sign-in ---------------------------------------------------------------------

/// `POST {prefix}/passkey/login`: a passkey alone signs in, at two factors: the authenticator
/// verified the person (PIN or biometrics) and holds the key. Every refused answer counts
/// against the client: a signature cannot be guessed, and counting it against the user an
/// answer names would let anyone who knows a credential id lock that user out. A user whose
/// second factor is banned is refused unchecked, as at the challenge.
pub async fn post_login(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    if !state.config().webauthn.passwordless {
        return Err(PortalError::NotFound);
    }
    let rd = rd_of(state, req, Some(form));
    let now = req.now;
    // Never `succeeded()`: a sign-in with one's own passkey must not wipe the client's count
    // of failures elsewhere (wrong passwords for others).
    let attempt = (state.regulation)
        .begin(vec![Regulator::ip_key(req.client_ip)], now)
        .await
        .inspect_err(|_| state.metrics.sign_in(Factor::Passkey, SignInResult::Banned))?;
    let ceremony = state.passkeys.take(form.get("ceremony"), form.get("csrf"));
    let credential: Option<PublicKeyCredential> = credential_of(form);
    let checked = match (ceremony.as_deref(), &credential) {
        (None, _) => Err((
            None,
            Refusal::Invalid("no such passkey sign-in in progress (expired or answered already)"),
        )),
        (_, None) => Err((None, Refusal::Invalid("no credential in the answer"))),
        (Some(c), Some(cred)) => check_passwordless(state, c, cred, now).await?,
    };
    let (row, user, enrolled) = match checked {
        Ok(found) => found,
        Err((username, refusal)) => {
            let (kind, why) = refusal_row(&refusal);
            state
                .metrics
                .sign_in(Factor::Passkey, SignInResult::Failure);
            attempt
                .failed_as(kind, username.as_deref(), &req.origin(), now, why)
                .await?;
            let text = req.ui.t("passkey-refused");
            return Ok(super::login::page(state, req, 200, &rd, "", Some(&text)));
        }
    };
    state
        .metrics
        .sign_in(Factor::Passkey, SignInResult::Success);
    let identity = std::sync::Arc::new(Identity::from_user(&user, enrolled));
    let cookie = super::sign_in(
        state,
        req,
        identity,
        Level::TwoFactor,
        Some(now),
        Task::SignIn,
    )
    .await?;
    let detail = format!("two_factor, passkey \"{}\"", row.name);
    req.audit(state, AuditKind::Login, Some(&user.username), Some(detail));
    Ok(HttpResponse::redirect(303, &rd).header("Set-Cookie", cookie))
}

/// A passwordless answer, checked: the passkey it names (made for this relying party), its
/// owner (whose handle the authenticator gave, enabled, their second factor not banned), the
/// signature with the person verified, and the counter moving forward. Refused: the username
/// when the answer named one, and why.
async fn check_passwordless(
    state: &State,
    ceremony: &passkeys::Ceremony,
    credential: &PublicKeyCredential,
    now: i64,
) -> Result<
    Result<(PasskeyRow, crate::store::User, crate::store::Enrolled), (Option<String>, Refusal)>,
    PortalError,
> {
    let Step::Passwordless { state: challenge } = &ceremony.step else {
        return Ok(Err((None, Refusal::Invalid("not a passkey sign-in"))));
    };
    let rp = &ceremony.rp;
    let Ok((handle, credential_id)) = rp.webauthn.identify_discoverable_authentication(credential)
    else {
        return Ok(Err((None, Refusal::Invalid("unknown passkey"))));
    };
    let credential_id = credential_id.to_vec();
    let found = state
        .store
        .call(move |s| {
            let Some(row) = s.passkey_by_credential(&credential_id)? else {
                return Ok(None);
            };
            if s.user_id_by_webauthn_handle(handle.as_bytes())? != Some(row.user_id) {
                return Ok(None);
            }
            let user = s.user_by_id(row.user_id)?;
            let enrolled = s.enrolled(row.user_id)?;
            Ok(user.map(|u| (row, u, enrolled)))
        })
        .await
        .during(Task::SignIn)?;
    let Some((row, user, enrolled)) = found else {
        return Ok(Err((None, Refusal::Invalid("unknown passkey"))));
    };
    let named = Some(user.username.clone());
    if user.disabled {
        return Ok(Err((named, Refusal::Invalid("disabled user"))));
    }
    if row.rp_id != rp.id {
        return Ok(Err((
            named,
            Refusal::Invalid("passkey made for another site name"),
        )));
    }
    let banned = [Regulator::second_factor_key(&user.username)];
    if let Some(until) = state.regulation.banned_until(&banned, now).await {
        return Err(PortalError::Banned(crate::auth::regulation::Banned {
            until,
        }));
    }
    let Some(passkey) = passkeys::parse(&row.credential) else {
        return Ok(Err((named, Refusal::Invalid("stored passkey unreadable"))));
    };
    let result = match rp.webauthn.finish_discoverable_authentication_v2(
        credential,
        challenge.clone(),
        &passkey,
    ) {
        Ok(result) if result.user_verified() => result,
        Ok(_) => return Ok(Err((named, Refusal::Invalid("user not verified")))),
        Err(e) => return Ok(Err((named, passkeys::refusal(&e)))),
    };
    Ok(
        match record_use(state, &row, &result, now)
            .await
            .during(Task::SignIn)?
        {
            Ok(()) => Ok((row, user, enrolled)),
            Err(refusal) => Err((named, refusal)),
        },
    )
}

// -- adding, renaming, removing -----------------------------------------------------------------

#[derive(Template)]
#[template(path = "passkey_new.html")]
struct NewPage<'a> {
    ui: &'a Frame,
    csrf: &'a str,
    rd: &'a str,
    name: &'a str,
    back: &'a str,
    p: Prompt,
    error: Option<&'a str>,
}

/// A name for a passkey: trimmed, without control characters, at most [`MAX_NAME`]
/// characters; `None` when nothing is left.
fn clean_name(raw: &str) -> Option<String> {
    let name: String = raw
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(MAX_NAME)
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The name a passkey gets unless the person gives one: the browser and system it is made on.
fn default_name(req: &PortalRequest) -> String {
    super::account::describe(&req.ui, req.header("user-agent").unwrap_or(""))
}

/// Whether `session` may add or remove a passkey now: at once when the account has no second
/// factor, else with one confirmed within `[admin] reauth`.
fn may_change(state: &State, req: &PortalRequest, session: &ActiveSession) -> bool {
    !session.identity.second_factor()
        || super::factor_fresh(session, req.now, state.config().admin.reauth)
}

fn account_done(state: &State, what: &str) -> String {
    format!("{}?done={what}", PortalPage::Account.at(state.prefix()))
}

/// The page that creates a passkey named `name`: it starts a registration ceremony.
async fn new_page(
    state: &State,
    req: &PortalRequest,
    session: &ActiveSession,
    name: &str,
    rd: &str,
    error: Option<&str>,
) -> Result<HttpResponse, PortalError> {
    let ui = &req.ui;
    let Some(rp) = relying_party(state, req) else {
        let title = ui.t("passkey-new-title");
        return Ok(message(
            ui,
            400,
            &title,
            &ui.t("passkey-unavailable-here"),
            None,
        ));
    };
    let user_id = session.identity.user_id;
    let mut fresh = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut fresh);
    let (handle, existing) = state
        .store
        .call(move |s| Ok((s.webauthn_handle(user_id, fresh)?, s.passkeys(user_id)?)))
        .await
        .during(Task::SetUp)?;
    let handle = Uuid::from_slice(&handle).map_err(|e| PortalError::Unavailable {
        task: Task::SetUp,
        cause: format!("bad webauthn handle: {e}"),
    })?;
    // The person's passkeys for this relying party: the authenticator must not make a second.
    let exclude = existing
        .iter()
        .filter(|r| r.rp_id == rp.id)
        .filter_map(|r| passkeys::parse(&r.credential))
        .map(|k| k.cred_id().clone())
        .collect();
    let id = &session.identity;
    let shown_as = id.display_name.as_deref().unwrap_or(&id.username);
    let started =
        (rp.webauthn).start_passkey_registration(handle, &id.username, shown_as, Some(exclude));
    let (ccr, registration) = started.map_err(|e| PortalError::Unavailable {
        task: Task::SetUp,
        cause: format!("passkey registration: {e}"),
    })?;
    let csrf = session.csrf_token();
    let step = Step::Register {
        user_id,
        name: name.to_string(),
        state: registration,
    };
    let script = script_url(state, req, &rp);
    let ceremony = state.passkeys.start(&csrf, rp, step);
    let prompt = Prompt {
        action: PortalPage::PasskeyRegister.at(state.prefix()),
        kind: "create",
        ceremony,
        options: passkeys::creation_options_json(&ccr),
        button: "passkey-create",
        again: false,
        script,
    };
    let back = PortalPage::Account.at(state.prefix());
    let error = error.map(|key| ui.t(key));
    let page = NewPage {
        ui,
        csrf: &csrf,
        rd,
        name,
        back: &back,
        p: prompt,
        error: error.as_deref(),
    };
    let script = page.p.script.clone();
    Ok(ui.render(200, &page).with_script(&script))
}

/// Where to go once a passkey is added: `rd` when the page was given one (the set-up page's
/// way back to an app), else the account page.
fn after_adding(state: &State, req: &PortalRequest, form: Option<&Form>) -> String {
    let given = form.map_or_else(|| req.query_param("rd"), |f| Some(f.get("rd").to_string()));
    match given.filter(|rd| !rd.is_empty()) {
        Some(_) => rd_of(state, req, form),
        None => account_done(state, "passkey_added"),
    }
}

/// `GET {prefix}/account/passkeys/new?name=…`: the page that creates a passkey (nothing is
/// stored until the browser answers).
pub async fn get_new(state: &State, req: &PortalRequest) -> Result<HttpResponse, PortalError> {
    let session = req.signed_in()?;
    if !may_change(state, req, session) {
        let here = format!(
            "{}{}?{}",
            state.prefix(),
            req.page,
            req.query.as_deref().unwrap_or("")
        );
        return Ok(super::confirm_again(state, &here));
    }
    let name = req
        .query_param("name")
        .and_then(|n| clean_name(&n))
        .unwrap_or_else(|| default_name(req));
    let rd = after_adding(state, req, None);
    new_page(state, req, session, &name, &rd, None).await
}

/// `POST {prefix}/account/passkeys/register`: the browser's new passkey. Stored with its name
/// when the ceremony checks out; a person who had no second factor is then at two factors.
pub async fn post_register(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let session = req.signed_in()?;
    let rd = after_adding(state, req, Some(form));
    if !may_change(state, req, session) {
        return Ok(super::confirm_again(
            state,
            &PortalPage::Account.at(state.prefix()),
        ));
    }
    let user_id = session.identity.user_id;
    let ceremony = state.passkeys.take(form.get("ceremony"), form.get("csrf"));
    let (name, registered) = match ceremony.as_deref() {
        Some(c) => match &c.step {
            Step::Register {
                user_id: owner,
                name,
                state: registration,
            } if *owner == user_id => {
                let answer: Option<RegisterPublicKeyCredential> = credential_of(form);
                let registered = answer.map(|a| {
                    (c.rp.webauthn.finish_passkey_registration(&a, registration))
                        .map(|passkey| (passkey, c.rp.id.clone()))
                });
                (name.clone(), registered)
            }
            _ => (String::new(), None),
        },
        None => (String::new(), None),
    };
    let username = session.identity.username.clone();
    let (passkey, rp_id) = match registered {
        Some(Ok(made)) => made,
        other => {
            let (why, text) = match other {
                None => (
                    "registration expired or not this session's",
                    "passkey-expired",
                ),
                _ => ("registration refused", "passkey-not-added"),
            };
            let detail = Some(format!("add: {why}"));
            req.audit(state, AuditKind::PasskeyFailure, Some(&username), detail);
            let retry_name = if name.is_empty() {
                default_name(req)
            } else {
                name
            };
            return new_page(state, req, session, &retry_name, &rd, Some(text)).await;
        }
    };
    let credential = serde_json::to_string(&passkey).map_err(|e| PortalError::Unavailable {
        task: Task::SetUp,
        cause: e.to_string(),
    })?;
    let counter = serde_json::from_str::<serde_json::Value>(&credential)
        .ok()
        .and_then(|v| v.pointer("/cred/counter").and_then(|c| c.as_u64()))
        .unwrap_or(0) as u32;
    let new = NewPasskey {
        user_id,
        rp_id,
        credential_id: passkey.cred_id().to_vec(),
        name: name.clone(),
        credential,
        counter,
    };
    // A first passkey on an account without an app or codes brings a set of recovery codes,
    // written with it in one transaction (hashed first, off the runtime).
    let now = req.now;
    let had_codes = state
        .store
        .call(move |s| Ok(s.enrolled(user_id)?.totp || s.recovery_codes_left(user_id)? > 0))
        .await
        .during(Task::SetUp)?;
    let codes = match had_codes {
        true => Vec::new(),
        false => crate::auth::recovery::generate_codes(state.config().recovery_codes.count),
    };
    let hashes = match codes.is_empty() {
        true => Vec::new(),
        false => (state.factors.hash_codes(codes.clone()).await).during(Task::SetUp)?,
    };
    let added = state
        .store
        .call(move |s| s.add_passkey_with_codes(&new, &hashes, now))
        .await
        .during(Task::SetUp)?;
    let Some((_, codes_written)) = added else {
        let ui = &req.ui;
        let title = ui.t("passkey-new-title");
        return Ok(message(ui, 409, &title, &ui.t("passkey-known"), None));
    };
    req.audit(
        state,
        AuditKind::PasskeyAdded,
        Some(&username),
        Some(format!("\"{name}\"")),
    );
    state.sessions.forget_user(user_id);
    // The passkey was made with the person verified on the authenticator: a session that had
    // one factor now has two, and this counts as a second factor just confirmed.
    let (cookie, _) = super::raise(state, req, session, Level::TwoFactor).await?;
    if !codes_written {
        return Ok(HttpResponse::redirect(303, &rd).header("Set-Cookie", cookie));
    }
    // Shown once, for the day the device is lost.
    let detail = Some(format!("count={}, with a first passkey", codes.len()));
    req.audit(
        state,
        AuditKind::RecoveryCodesRegenerated,
        Some(&username),
        detail,
    );
    let page = super::enrol::codes_page(state, req, &username, &codes, &rd, "codes-passkey-on");
    Ok(page.header("Set-Cookie", cookie))
}

/// The passkey id a form names.
fn passkey_id(form: &Form) -> Option<i64> {
    form.get("passkey").parse().ok()
}

/// `POST {prefix}/account/passkeys/rename`.
pub async fn post_rename(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let session = req.signed_in()?;
    let (Some(id), Some(name)) = (passkey_id(form), clean_name(form.get("name"))) else {
        return super::account::with_error(state, req, "passkey-name-missing").await;
    };
    let user_id = session.identity.user_id;
    let stored = name.clone();
    let renamed = state
        .store
        .call(move |s| s.rename_passkey(user_id, id, &stored))
        .await
        .during(Task::Account)?;
    if !renamed {
        return Err(PortalError::NotFound);
    }
    let detail = Some(format!("#{id} \"{name}\""));
    req.audit(
        state,
        AuditKind::PasskeyRenamed,
        Some(&session.identity.username),
        detail,
    );
    Ok(HttpResponse::redirect(
        303,
        &account_done(state, "passkey_renamed"),
    ))
}

/// `POST {prefix}/account/passkeys/remove`: with a second factor confirmed lately. Every other
/// session of the person ends (one may have come from that passkey); when it was their last
/// second factor, this session goes on at one factor.
pub async fn post_remove(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let session = req.signed_in()?;
    let account = PortalPage::Account.at(state.prefix());
    if !may_change(state, req, session) {
        return Ok(super::confirm_again(state, &format!("{account}#passkeys")));
    }
    let Some(id) = passkey_id(form) else {
        return Err(PortalError::NotFound);
    };
    let user_id = session.identity.user_id;
    let (removed, enrolled) = state
        .store
        .call(move |s| Ok((s.remove_passkey(user_id, id)?, s.enrolled(user_id)?)))
        .await
        .during(Task::Account)?;
    if !removed {
        return Err(PortalError::NotFound);
    }
    let username = &session.identity.username;
    req.audit(
        state,
        AuditKind::PasskeyRemoved,
        Some(username),
        Some(format!("#{id}")),
    );
    state.sessions.forget_user(user_id);
    super::account::end_others(state, req, session, "a passkey removed").await?;
    let done = HttpResponse::redirect(303, &account_done(state, "passkey_removed"));
    if enrolled.any() {
        return Ok(done);
    }
    // No second factor left: this session goes on at one factor (a new id, and no factor
    // confirmed).
    let (cookie, _) = super::raise(state, req, session, Level::OneFactor).await?;
    Ok(done.header("Set-Cookie", cookie))
}
