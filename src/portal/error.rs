//! `PortalError`: why a page could not do what it was asked, and the one place that turns
//! each reason into what the visitor sees. Pages return `Result<HttpResponse, PortalError>`
//! and use `?`; a store error is never a wrong password, and is logged here, once, with its
//! cause.

use crate::auth::regulation::Banned;
use crate::http_response::HttpResponse;
use crate::State;

use super::{message, message_with, to_login, Frame, PortalPage, PortalRequest};

/// What a page was doing when something it needs did not answer: it says so on the 503 page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    SignIn,
    CheckCode,
    SetUp,
    Account,
    Invite,
}

impl Task {
    /// The catalog key of what the 503 page says.
    fn text(self) -> &'static str {
        match self {
            Task::SignIn => "unavailable-sign-in",
            Task::CheckCode => "unavailable-code",
            Task::SetUp => "unavailable-setup",
            Task::Account => "unavailable-account",
            Task::Invite => "unavailable-invite",
        }
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Task::SignIn => "sign-in",
            Task::CheckCode => "code check",
            Task::SetUp => "two-factor set-up",
            Task::Account => "account",
            Task::Invite => "invite",
        })
    }
}

/// Why a portal request was not answered with its page.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// Something the page needs (the store, the key, the hashing pool) did not answer.
    #[error("{task} is unavailable: {cause}")]
    Unavailable { task: Task, cause: String },
    /// The user or the client is banned; nothing was checked.
    #[error(transparent)]
    Banned(#[from] Banned),
    /// A POST body that is not `application/x-www-form-urlencoded`.
    #[error("not a form")]
    NotForm,
    /// A form that is not valid UTF-8.
    #[error("a form that is not UTF-8")]
    BadEncoding,
    /// A form whose `Origin` or `Referer` names another site.
    #[error("a form from another site")]
    ForeignForm,
    /// A form without a valid CSRF token: it timed out. `back` is the page to reload (below
    /// the prefix).
    #[error("a form without a valid CSRF token")]
    Expired { back: String },
    /// The sign-in form timed out: it is shown again with its username.
    #[error("a sign-in form without a valid CSRF token")]
    LoginExpired { username: String, rd: String },
    /// A form that showed recovery codes, sent again (a reload): the codes are not shown twice.
    #[error("a recovery-codes form sent again")]
    CodesAlreadyShown,
    /// No usable session: sign in, then come back to `here` (a page below the prefix, with
    /// its query).
    #[error("not signed in")]
    NotSignedIn { here: String },
    /// The session still awaits its second factor.
    #[error("second factor pending")]
    SecondFactorPending,
    #[error("no such page")]
    NotFound,
    /// The page does not take this method; `allow` lists those it takes, `text` is the
    /// catalog key of why.
    #[error("method not allowed")]
    MethodNotAllowed {
        allow: &'static str,
        text: &'static str,
    },
}

impl PortalError {
    /// What the visitor sees, in the page's language.
    pub fn respond(self, state: &State, req: &PortalRequest) -> HttpResponse {
        let ui = &req.ui;
        let prefix = state.prefix();
        let account = PortalPage::Account.at(prefix);
        let login = PortalPage::Login.at(prefix);
        match self {
            PortalError::Unavailable { task, cause } => {
                tracing::error!("{task} is unavailable: {cause}");
                let here = super::return_path(prefix, &req.page, req.query.as_deref())
                    .unwrap_or_else(|| account.clone());
                let again = ui.t("link-try-again");
                let title = ui.t("unavailable-title");
                message(ui, 503, &title, &ui.t(task.text()), Some((&here, &again)))
            }
            PortalError::Banned(Banned { until }) => {
                let wait = (until - req.now).max(1);
                let title = ui.t("banned-title");
                let text = banned_text(ui, until, req.now);
                let advice = ui.t("banned-advice");
                let link_text = ui.t("link-sign-in");
                message_with(
                    ui,
                    429,
                    &title,
                    &text,
                    Some(&advice),
                    Some((&login, &link_text)),
                )
                .header("Retry-After", wait.to_string())
            }
            PortalError::NotForm => told(ui, 415, "not-form-title", "not-form-text"),
            PortalError::BadEncoding => told(ui, 400, "bad-request-title", "bad-encoding-text"),
            PortalError::ForeignForm => told(ui, 403, "foreign-title", "foreign-text"),
            PortalError::Expired { back } => {
                let back = format!("{prefix}{back}");
                let link_text = ui.t("link-reload");
                message(
                    ui,
                    403,
                    &ui.t("expired-title"),
                    &ui.t("expired-text"),
                    Some((&back, &link_text)),
                )
            }
            PortalError::LoginExpired { username, rd } => {
                let rd = super::safe_rd(state, &rd);
                let text = ui.t("login-expired");
                super::login::page(state, req, 403, &rd, &username, Some(&text))
            }
            PortalError::CodesAlreadyShown => {
                let make_new = format!("{account}#recovery-codes");
                let link_text = ui.t("codes-shown-new");
                // Refused like any form without its token (nothing was changed), and said
                // as what it almost always is: the page that showed the codes, reloaded.
                message_with(
                    ui,
                    403,
                    &ui.t("codes-shown-title"),
                    &ui.t("codes-shown-text"),
                    Some(&ui.t("codes-shown-more")),
                    Some((&make_new, &link_text)),
                )
            }
            PortalError::NotSignedIn { here } => to_login(state, &format!("{prefix}{here}")),
            PortalError::SecondFactorPending => {
                HttpResponse::redirect(303, &PortalPage::Totp.at(prefix))
            }
            PortalError::NotFound => told(ui, 404, "not-found-title", "not-found-text"),
            PortalError::MethodNotAllowed { allow, text } => {
                told(ui, 405, "method-title", text).header("Allow", allow)
            }
        }
    }
}

/// A message page whose title and text are the catalog's `title` and `text`.
pub fn told(ui: &Frame, status: u16, title: &str, text: &str) -> HttpResponse {
    message(ui, status, &ui.t(title), &ui.t(text), None)
}

/// When a ban ends, as a time of day (UTC, since the visitor's zone is unknown) and as minutes
/// from now.
pub fn banned_text(ui: &Frame, until: i64, now: i64) -> String {
    let minutes = ((until - now).max(1) + 59) / 60;
    ui.msg("banned-text")
        .num("minutes", minutes)
        .str("time", clock_time((until + 59) / 60 * 60))
        .to_string()
}

/// `HH:MM` (UTC) of a Unix time.
pub fn clock_time(unix: i64) -> String {
    let of_day = unix.rem_euclid(86_400);
    format!("{:02}:{:02}", of_day / 3600, of_day % 3600 / 60)
}

/// Names the task a failed call was part of: `store.call(..).await.during(Task::SignIn)?`.
pub trait During<T> {
    fn during(self, task: Task) -> Result<T, PortalError>;
}

impl<T, E: std::error::Error> During<T> for Result<T, E> {
    fn during(self, task: Task) -> Result<T, PortalError> {
        self.map_err(|e| PortalError::Unavailable {
            task,
            cause: e.to_string(),
        })
    }
}
