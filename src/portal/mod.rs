//! The gateway's own pages, under `portal_prefix` on every host.
//!
//! Each page lives in its own file with its askama struct and its GET and POST side by side.
//! This module parses what every page needs (query, form, cookies, CSRF, `rd`) and dispatches;
//! it never touches pingora types, so pages are plain async functions from a
//! [`PortalRequest`] to an [`HttpResponse`], or a [`PortalError`] answered in one place.

mod account;
mod admin;
mod challenge;
mod device;
mod enrol;
mod error;
mod frame;
mod invite;
mod login;
mod page;
mod passkey;
mod remember;
mod verify;

pub use error::{told, During, PortalError, Task};
pub use frame::{Frame, LANG_COOKIE};
pub use invite::{issue_invite, Invite};
pub use page::{next_step, PortalPage};

use std::net::IpAddr;
use std::sync::Arc;

use askama::Template;
use bytes::Bytes;
use http::{HeaderMap, Method};
use subtle::ConstantTimeEq;

use crate::auth::regulation::{Attempt, Regulation};
use crate::auth::second_factor::CodeCheck;
use crate::auth::Origin;
use crate::http_response::HttpResponse;
use crate::i18n::Lang;
use crate::session::{csrf_token, ActiveSession, Level};
use crate::store::AuditKind;
use crate::State;

/// Largest form body the portal reads.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// A request for a portal page, with the session already looked up.
#[derive(Debug)]
pub struct PortalRequest {
    pub method: Method,
    /// The path below the prefix, e.g. `/login`.
    pub page: String,
    pub query: Option<String>,
    /// The `Host` the client used (with port, if it sent one).
    pub host: String,
    pub tls: bool,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub client_ip: IpAddr,
    pub session: Option<Arc<ActiveSession>>,
    pub now: i64,
    /// The page's language, brand and picker.
    pub ui: Frame,
}

/// Where the language picker of portal page `page` (below `prefix`, with `query`) comes back
/// to: the page itself when a GET shows it, else the account page. `None` for the answers that
/// are not pages (forward-auth, health, static files, the picker itself): they need no picker,
/// and `/verify` is on every request's path of a proxy in front.
pub fn return_path(prefix: &str, page: &str, query: Option<&str>) -> Option<String> {
    match PortalPage::from_path(page) {
        Some(
            PortalPage::Login
            | PortalPage::Totp
            | PortalPage::Recovery
            | PortalPage::TotpSetup
            | PortalPage::Invite
            | PortalPage::Account
            | PortalPage::AccountPasskeyNew
            | PortalPage::Admin
            | PortalPage::AdminAudit
            | PortalPage::AdminBans
            | PortalPage::AdminInvite
            | PortalPage::AdminReauth
            | PortalPage::AdminUser,
        ) => Some(match query {
            Some(q) => format!("{prefix}{page}?{q}"),
            None => format!("{prefix}{page}"),
        }),
        Some(
            PortalPage::Verify
            | PortalPage::Health
            | PortalPage::Style
            | PortalPage::Theme
            | PortalPage::Logo
            | PortalPage::Script
            | PortalPage::Language,
        ) => None,
        _ => Some(PortalPage::Account.at(prefix)),
    }
}

impl PortalRequest {
    pub fn query_param(&self, name: &str) -> Option<String> {
        let q = self.query.as_deref()?;
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        cookie_value(&self.headers, name)
    }

    /// Where this request comes from, for regulation, audit and session rows.
    pub fn origin(&self) -> Origin<'_> {
        Origin {
            ip: self.client_ip,
            user_agent: self.header("user-agent"),
        }
    }

    /// Writes an audit row for this request, off the request path.
    pub fn audit(
        &self,
        state: &State,
        kind: AuditKind,
        username: Option<&str>,
        detail: Option<String>,
    ) {
        state.audit(kind, username, &self.origin(), self.now, detail);
    }

    /// The session, when it is signed in (not awaiting its second factor).
    pub fn signed_in(&self) -> Result<&Arc<ActiveSession>, PortalError> {
        match &self.session {
            Some(s) if s.level >= Level::OneFactor => Ok(s),
            Some(_) => Err(PortalError::SecondFactorPending),
            None => Err(PortalError::NotSignedIn {
                here: format!(
                    "{}{}",
                    self.page,
                    self.query
                        .as_deref()
                        .map(|q| format!("?{q}"))
                        .unwrap_or_default()
                ),
            }),
        }
    }

    /// True when an `Origin` (or failing that a `Referer`) header names another site.
    ///
    /// `Origin: null` is not foreign: it is what browsers send for every form POST from a page
    /// whose referrer policy is `no-referrer`, as all portal pages are. Such posts, like posts
    /// with neither header, are judged by their CSRF token alone.
    fn foreign_origin(&self) -> bool {
        let claimed = match self.header("origin").filter(|o| *o != "null") {
            Some(o) => o,
            None => match self.header("referer") {
                Some(r) => r,
                None => return false,
            },
        };
        match url::Url::parse(claimed) {
            Ok(u) => {
                let authority = match (u.host_str(), u.port()) {
                    (Some(h), Some(p)) => format!("{h}:{p}"),
                    (Some(h), None) => h.to_string(),
                    _ => return true,
                };
                !authority.eq_ignore_ascii_case(&self.host)
            }
            Err(_) => true,
        }
    }
}

/// The first value of cookie `name` in the request's `Cookie` headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    for h in headers.get_all(http::header::COOKIE) {
        let Ok(s) = h.to_str() else { continue };
        for part in s.split(';') {
            if let Some((k, v)) = part.trim().split_once('=') {
                if k == name {
                    return Some(v.trim_matches('"').to_string());
                }
            }
        }
    }
    None
}

/// A parsed form; fields are bounded and must be valid UTF-8.
#[derive(Debug, Default)]
pub struct Form {
    fields: Vec<(String, String)>,
}

/// Why a form body was refused outright.
#[derive(Debug, PartialEq, Eq)]
pub enum FormError {
    NotForm,
    BadEncoding,
}

impl From<FormError> for PortalError {
    fn from(e: FormError) -> PortalError {
        match e {
            FormError::NotForm => PortalError::NotForm,
            FormError::BadEncoding => PortalError::BadEncoding,
        }
    }
}

impl Form {
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Form, FormError> {
        let ct = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !ct
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
        {
            return Err(FormError::NotForm);
        }
        let text = std::str::from_utf8(body).map_err(|_| FormError::BadEncoding)?;
        let mut fields = Vec::new();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| -> Result<String, FormError> {
                let plus = s.replace('+', " ");
                percent_encoding::percent_decode_str(&plus)
                    .decode_utf8()
                    .map(|c| c.into_owned())
                    .map_err(|_| FormError::BadEncoding)
            };
            fields.push((decode(k)?, decode(v)?));
        }
        Ok(Form { fields })
    }

    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// Upper bounds on form fields; longer input is refused before any work is done.
pub const MAX_USERNAME: usize = 256;
pub use crate::auth::password_rules::MAX_PASSWORD;
pub const MAX_CODE: usize = 64;

/// Answers a portal request.
pub async fn handle(state: &State, req: PortalRequest) -> HttpResponse {
    let response = match dispatch(state, &req).await {
        Ok(response) => response,
        Err(e) => e.respond(state, &req),
    };
    response.portal_headers(req.tls)
}

async fn dispatch(state: &State, req: &PortalRequest) -> Result<HttpResponse, PortalError> {
    let is_post = req.method == Method::POST;
    let is_get = req.method == Method::GET || req.method == Method::HEAD;
    let page = PortalPage::from_path(&req.page).ok_or(PortalError::NotFound)?;
    match page {
        // Like every portal response these are `no-store`: they are small, they are read from
        // memory, and one rule for every portal answer is simpler to hold.
        PortalPage::Style if is_get => {
            return Ok(HttpResponse::new(200, "text/css; charset=utf-8", STYLE_CSS));
        }
        PortalPage::Script if is_get => {
            return Ok(HttpResponse::new(
                200,
                "text/javascript; charset=utf-8",
                PASSKEY_JS,
            ));
        }
        PortalPage::Theme if is_get => {
            let css = req
                .ui
                .brand
                .theme_css
                .clone()
                .ok_or(PortalError::NotFound)?;
            return Ok(HttpResponse::new(200, "text/css; charset=utf-8", css));
        }
        PortalPage::Logo if is_get => {
            let logo = req.ui.brand.logo.clone().ok_or(PortalError::NotFound)?;
            return Ok(HttpResponse::new(200, logo.content_type, logo.bytes));
        }
        PortalPage::Language if is_get => return Ok(choose_language(state, req)),
        PortalPage::Health if is_get => return Ok(health(state).await),
        PortalPage::Verify => return Ok(verify::verify(state, req).await),
        PortalPage::Style
        | PortalPage::Script
        | PortalPage::Theme
        | PortalPage::Logo
        | PortalPage::Language
        | PortalPage::Health => return Err(PortalError::NotFound),
        _ => {}
    }
    if !is_get && !is_post {
        return Err(PortalError::MethodNotAllowed {
            allow: "GET, POST",
            text: "method-other",
        });
    }

    if is_post {
        let form = Form::parse(&req.headers, &req.body)?;
        if req.foreign_origin() {
            return Err(PortalError::ForeignForm);
        }
        if !csrf_ok(state, req, form.get("csrf")) {
            return Err(stale_form(req, page, &form));
        }
        return match page {
            _ if page.is_admin() => admin::post(state, req, page, &form).await,
            PortalPage::Login => login::post(state, req, &form).await,
            PortalPage::Totp => challenge::post_totp(state, req, &form).await,
            PortalPage::Recovery => challenge::post_recovery(state, req, &form).await,
            PortalPage::TotpSetup => enrol::post_setup(state, req, &form).await,
            PortalPage::TotpDisable => enrol::post_disable(state, req, &form).await,
            PortalPage::RecoveryCodes => enrol::post_regenerate(state, req, &form).await,
            PortalPage::Logout => Ok(account::logout(state, req).await),
            PortalPage::Invite => invite::post(state, req, &form).await,
            PortalPage::AccountPassword => account::post_password(state, req, &form).await,
            PortalPage::AccountEndSession => account::post_end_session(state, req, &form).await,
            PortalPage::AccountEndOthers => account::post_end_others(state, req).await,
            PortalPage::AccountForgetBrowser => {
                account::post_forget_browser(state, req, &form).await
            }
            PortalPage::PasskeyRegister => passkey::post_register(state, req, &form).await,
            PortalPage::AccountPasskeyRename => passkey::post_rename(state, req, &form).await,
            PortalPage::AccountPasskeyRemove => passkey::post_remove(state, req, &form).await,
            PortalPage::PasskeyLogin => passkey::post_login(state, req, &form).await,
            PortalPage::PasskeyVerify => challenge::post_passkey(state, req, &form).await,
            _ => Err(PortalError::MethodNotAllowed {
                allow: "GET",
                text: "method-no-forms",
            }),
        };
    }
    match page {
        _ if page.is_admin() => admin::get(state, req, page).await,
        PortalPage::Login => login::get(state, req).await,
        PortalPage::Totp => challenge::get_totp(state, req).await,
        PortalPage::Recovery => Ok(challenge::get_recovery(state, req)),
        PortalPage::AccountPasskeyNew => passkey::get_new(state, req).await,
        PortalPage::TotpSetup => enrol::get_setup(state, req).await,
        PortalPage::Account => account::get(state, req).await,
        PortalPage::Invite => invite::get(state, req).await,
        _ => Err(PortalError::MethodNotAllowed {
            allow: "POST",
            text: "method-forms-only",
        }),
    }
}

/// Why a form from this site was refused for its token: it timed out (the sign-in form keeps
/// the username it carried), or it is a form re-sent after it had done its work (a reload of
/// the page that showed recovery codes).
fn stale_form(req: &PortalRequest, page: PortalPage, form: &Form) -> PortalError {
    let signed_in_with_totp = req
        .session
        .as_ref()
        .is_some_and(|s| s.level >= Level::OneFactor && s.identity.has_totp);
    match page {
        PortalPage::Login => PortalError::LoginExpired {
            username: form
                .get("username")
                .trim()
                .chars()
                .take(MAX_USERNAME)
                .collect(),
            rd: form.get("rd").to_string(),
        },
        PortalPage::TotpSetup | PortalPage::RecoveryCodes if signed_in_with_totp => {
            PortalError::CodesAlreadyShown
        }
        _ => PortalError::Expired {
            back: return_path("", &req.page, req.query.as_deref())
                .unwrap_or_else(|| PortalPage::Account.path().to_string()),
        },
    }
}

/// `GET {prefix}/language?set=TAG&rd=…`: the picker. Remembers the language in a cookie (a
/// year) and goes back to `rd`, which is judged like every other `rd`.
fn choose_language(state: &State, req: &PortalRequest) -> HttpResponse {
    let back = rd_of(state, req, None);
    let config = state.config();
    let chosen = req
        .query_param("set")
        .and_then(|tag| Lang::from_tag(&tag))
        .filter(|lang| config.portal.languages.contains(lang));
    let response = HttpResponse::redirect(303, &back);
    match chosen {
        Some(lang) => {
            let year = 365 * 24 * 3600;
            let cookie = state.cookies.set(LANG_COOKIE, lang.tag(), Some(year));
            response.header("Set-Cookie", cookie)
        }
        None => response,
    }
}

/// `/health` for load balancers: 200 when the store answers a real read, else 503.
async fn health(state: &State) -> HttpResponse {
    if let Some(since) = state.store.down_since() {
        // Unreachable, or no longer hearing other gateways' revocations: out of rotation.
        return HttpResponse::json(
            503,
            &serde_json::json!({"status": "unavailable", "store_down_since": since / 1000}),
        );
    }
    match state.store.call(|s| s.ping()).await {
        Ok(()) => {
            let mut body = serde_json::json!({"status": "ok"});
            if state.config().server.tls.is_some() {
                body["certificates"] = certificates(state);
            }
            HttpResponse::json(200, &body)
        }
        Err(e) => {
            tracing::warn!("health check: {e}");
            HttpResponse::json(503, &serde_json::json!({"status": "unavailable"}))
        }
    }
}

/// The certificates served, for `/health`: each host's end of validity and, while its renewal
/// keeps failing, since when and how many times (`*`: the one from `cert`/`key`). Why it fails
/// is in the log: `/health` answers anyone, and the CA's words may name internal addresses.
fn certificates(state: &State) -> serde_json::Value {
    let mut all = serde_json::Map::new();
    if let Some(not_after) = state.edge.fallback_not_after() {
        all.insert("*".into(), serde_json::json!({"not_after": not_after}));
    }
    for (host, s) in state.edge.status() {
        let mut one = serde_json::json!({"not_after": s.not_after});
        if let Some(since) = s.failing_since {
            one["renewal_failing_since"] = since.into();
            one["failures"] = s.failures.into();
        }
        all.insert(host, one);
    }
    serde_json::Value::Object(all)
}

/// Raises the request's `session` to `level` under a new id: the `Set-Cookie` value and the
/// new session. A session that ended meanwhile (revoked, its user disabled or deleted) is not
/// raised: the visitor signs in again.
async fn raise(
    state: &State,
    req: &PortalRequest,
    session: &ActiveSession,
    level: Level,
) -> Result<(String, Arc<ActiveSession>), PortalError> {
    let raised = state
        .sessions
        .raise(session, level, &req.origin(), req.now)
        .await;
    let (value, new) = match raised {
        Err(crate::store::StoreError::SessionGone) => {
            return Err(PortalError::NotSignedIn {
                here: PortalPage::Account.path().to_string(),
            })
        }
        other => other.during(Task::SignIn)?,
    };
    let max_age = state.config().session.absolute_timeout.as_secs() as i64;
    let cookie = state
        .cookies
        .set(&state.cookies.session, &value, Some(max_age));
    Ok((cookie, new))
}

/// Checks the second-factor `code` of `session`'s user (a TOTP code; with `any_code`, a
/// recovery code too) under an attempt on their second factor, for a change it confirms.
/// Accepted: the attempt, to hold until the change is made. Refused: the failure is counted
/// and audited (with `detail` of the outcome), and the outcome returned for the page to word.
async fn check_code<'r>(
    state: &'r State,
    req: &PortalRequest,
    session: &ActiveSession,
    code: &str,
    any_code: bool,
    task: Task,
    detail: impl FnOnce(CodeCheck) -> &'static str,
) -> Result<Result<Attempt<'r>, CodeCheck>, PortalError> {
    let (username, user_id) = (&session.identity.username, session.identity.user_id);
    let keys = Regulation::second_factor_keys(username, req.client_ip);
    let attempt = state.regulation.begin(keys, req.now).await?;
    let check = if any_code {
        state.factors.check_any_code(user_id, code, req.now).await
    } else {
        state.factors.check_totp(user_id, code, req.now).await
    };
    let check = check.during(task)?;
    if check.accepted() {
        return Ok(Ok(attempt));
    }
    let origin = req.origin();
    attempt
        .failed(
            AuditKind::TotpFailure,
            username,
            &origin,
            req.now,
            detail(check),
        )
        .await?;
    Ok(Err(check))
}

/// Signs the visitor in as `identity` at `level` (a second factor last typed at `factor_at`),
/// in place of the session the request came with (if any): the `Set-Cookie` of the new session, which lives as long as its level does.
async fn sign_in(
    state: &State,
    req: &PortalRequest,
    identity: Arc<crate::session::Identity>,
    level: Level,
    factor_at: Option<i64>,
    task: Task,
) -> Result<String, PortalError> {
    let previous = req
        .session
        .as_ref()
        .map_or(crate::session::Succession::Fresh, |s| {
            crate::session::Succession::Replaces(s.id_hash)
        });
    let opened = state
        .sessions
        .open(identity, level, &req.origin(), previous, factor_at, req.now)
        .await;
    let (value, _) = match opened {
        // The user was disabled or deleted meanwhile: nobody is signed in.
        Err(crate::store::StoreError::SessionGone) => {
            return Err(PortalError::NotSignedIn {
                here: PortalPage::Account.path().to_string(),
            })
        }
        other => other.during(task)?,
    };
    let config = state.config();
    let lifetime = match level {
        Level::Pending => config.session.pending_timeout,
        _ => config.session.absolute_timeout,
    };
    let max_age = lifetime.as_secs() as i64;
    Ok(state
        .cookies
        .set(&state.cookies.session, &value, Some(max_age)))
}

/// A form's token must match the one derived from the session, or from the pre-session
/// cookie for forms shown before sign-in. Constant-time.
fn csrf_ok(state: &State, req: &PortalRequest, sent: &str) -> bool {
    if sent.is_empty() || sent.len() > 128 {
        return false;
    }
    let mut ok = false;
    if let Some(s) = &req.session {
        ok |= bool::from(sent.as_bytes().ct_eq(s.csrf_token().as_bytes()));
    }
    if let Some(pre) = req.cookie(&state.cookies.csrf) {
        ok |= bool::from(sent.as_bytes().ct_eq(csrf_token(pre.as_bytes()).as_bytes()));
    }
    ok
}

/// The CSRF token for a page, and a `Set-Cookie` for the pre-session cookie when one had to
/// be made.
fn csrf_for(state: &State, req: &PortalRequest) -> (String, Option<String>) {
    if let Some(s) = &req.session {
        return (s.csrf_token(), None);
    }
    if let Some(pre) = req.cookie(&state.cookies.csrf).filter(|v| v.len() == 43) {
        return (csrf_token(pre.as_bytes()), None);
    }
    let fresh = crate::session::random_token();
    let cookie = state.cookies.set(&state.cookies.csrf, &fresh, Some(3600));
    (csrf_token(fresh.as_bytes()), Some(cookie))
}

/// Where to go after a page: `rd` if it is safe, else `/`.
///
/// Accepted: a relative path (`/x`, never `//` or `/\`), or an absolute http(s) URL whose host
/// is one of the apps' hosts or under `cookie_domain`. Control characters, whitespace and
/// backslashes anywhere are refused, since browsers strip or rewrite them.
pub fn safe_rd(state: &State, rd: &str) -> String {
    let rd = rd.trim_matches(' ');
    if rd.is_empty()
        || rd.len() > 2048
        || rd
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return "/".into();
    }
    if rd.starts_with('/') {
        if rd.starts_with("//") {
            return "/".into();
        }
        return rd.to_string();
    }
    let Ok(url) = url::Url::parse(rd) else {
        return "/".into();
    };
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return "/".into();
    }
    let Some(host) = url.host_str().map(|h| h.to_ascii_lowercase()) else {
        return "/".into();
    };
    if host_is_ours(&state.config(), &host) {
        url.to_string()
    } else {
        "/".into()
    }
}

/// Whether `host` (lower-case, no port) is named by an app or lies under `cookie_domain`:
/// the hosts the gateway may send a browser to.
pub fn host_is_ours(config: &crate::config::Config, host: &str) -> bool {
    let under_domain = config
        .session
        .cookie_domain
        .as_deref()
        .is_some_and(|d| host == d || host.ends_with(&format!(".{d}")));
    config.router.knows_host(host) || under_domain
}

/// `rd` taken from the query (GET) or the form (POST), made safe.
fn rd_of(state: &State, req: &PortalRequest, form: Option<&Form>) -> String {
    // A form's hidden field, else the query (`POST /login?rd=…` as well as `GET`).
    let raw = form
        .map(|f| f.get("rd"))
        .filter(|rd| !rd.is_empty())
        .map(str::to_string)
        .or_else(|| req.query_param("rd"))
        .unwrap_or_default();
    safe_rd(state, &raw)
}

/// Whether `session`'s second factor was typed recently enough for a change: within `reauth`
/// of `now`. A session opened by a remembered browser has had none typed, so it is never
/// fresh until the admin confirms a code.
pub(crate) fn factor_fresh(session: &ActiveSession, now: i64, reauth: std::time::Duration) -> bool {
    let Some(factor_at) = session.factor_at else {
        return false;
    };
    let age_ms = i128::from(now.saturating_sub(factor_at)) * 1000;
    session.level == Level::TwoFactor && age_ms < reauth.as_millis() as i128
}

/// To the challenge page, to confirm the second factor again, then back to `back`.
pub(super) fn confirm_again(state: &State, back: &str) -> HttpResponse {
    let url = format!(
        "{}?again=1&rd={}",
        PortalPage::Totp.at(state.prefix()),
        encode_query(back)
    );
    HttpResponse::redirect(303, &url)
}

/// `YYYY-MM-DD HH:MM` (UTC) of a Unix time: how pages show dates and times.
pub(crate) fn utc_minutes(unix: i64) -> String {
    let full = crate::auth::calendar_utc(unix);
    full.get(..16).unwrap_or(&full).to_string()
}

/// `rd` percent-encoded for a query string.
pub fn encode_query(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    ui: &'a Frame,
    title: &'a str,
    text: &'a str,
    more: Option<&'a str>,
    link: &'a str,
    link_text: &'a str,
}

/// A page that says one thing, then links onward: to `link` (its address and words), else to
/// the account page (which leads to the sign-in page when nobody is signed in).
pub fn message(
    ui: &Frame,
    status: u16,
    title: &str,
    text: &str,
    link: Option<(&str, &str)>,
) -> HttpResponse {
    message_with(ui, status, title, text, None, link)
}

/// [`message`] with a second paragraph, `more`.
pub fn message_with(
    ui: &Frame,
    status: u16,
    title: &str,
    text: &str,
    more: Option<&str>,
    link: Option<(&str, &str)>,
) -> HttpResponse {
    let account = PortalPage::Account.at(&ui.prefix);
    let account_text = ui.t("link-account");
    let (link, link_text) = link.unwrap_or((&account, &account_text));
    ui.render(
        status,
        &MessagePage {
            ui,
            title,
            text,
            more,
            link,
            link_text,
        },
    )
}

/// Redirects to the login page, keeping `rd`.
fn to_login(state: &State, rd: &str) -> HttpResponse {
    HttpResponse::redirect(303, &PortalPage::Login.url(state.prefix(), rd))
}

pub const STYLE_CSS: &str = include_str!("../../templates/style.css");

/// The one script the portal serves: passkeys, on the pages that offer one.
pub const PASSKEY_JS: &str = include_str!("../../assets/passkey.js");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_refuse_bad_utf8_and_other_types() {
        let mut h = HeaderMap::new();
        h.insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        assert_eq!(
            Form::parse(&h, b"a=%ff").unwrap_err(),
            FormError::BadEncoding
        );
        assert_eq!(
            Form::parse(&h, b"a=\xff").unwrap_err(),
            FormError::BadEncoding
        );
        let f = Form::parse(&h, b"a=x+y%21&b=").unwrap();
        assert_eq!(f.get("a"), "x y!");
        assert_eq!(f.get("b"), "");
        assert_eq!(f.get("c"), "");
        let mut j = HeaderMap::new();
        j.insert("content-type", "application/json".parse().unwrap());
        assert_eq!(Form::parse(&j, b"{}").unwrap_err(), FormError::NotForm);
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.append("cookie", "a=1; sess=xyz; b=2".parse().unwrap());
        assert_eq!(cookie_value(&h, "sess").as_deref(), Some("xyz"));
        assert_eq!(cookie_value(&h, "c"), None);
    }
}
