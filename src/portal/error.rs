//! `PortalError`: why a page could not do what it was asked, and the one place that turns
//! each reason into what the visitor sees. Pages return `Result<HttpResponse, PortalError>`
//! and use `?`; a store error is never a wrong password, and is logged here, once, with its
//! cause.

use crate::auth::regulation::Banned;
use crate::http_response::HttpResponse;
use crate::State;

use super::{message, to_login, PortalPage, PortalRequest};

/// What a page was doing when something it needs did not answer: it says so on the 503 page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    SignIn,
    CheckCode,
    SetUp,
    Account,
}

impl Task {
    fn text(self) -> &'static str {
        match self {
            Task::SignIn => "Sign-in is unavailable right now. Try again shortly.",
            Task::CheckCode => "Codes cannot be checked right now. Try again shortly.",
            Task::SetUp => "Two-factor set-up is unavailable right now. Try again shortly.",
            Task::Account => "Your account is unavailable right now. Try again shortly.",
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
    /// A form from another site, or with a missing or stale CSRF token.
    #[error("a form without a valid CSRF token")]
    Csrf,
    /// No usable session: sign in, then come back to `here` (a page below the prefix, with
    /// its query).
    #[error("not signed in")]
    NotSignedIn { here: String },
    /// The session still awaits its second factor.
    #[error("second factor pending")]
    SecondFactorPending,
    #[error("no such page")]
    NotFound,
    /// The page does not take this method; `allow` lists those it takes.
    #[error("method not allowed")]
    MethodNotAllowed {
        allow: &'static str,
        text: &'static str,
    },
}

impl PortalError {
    /// What the visitor sees.
    pub fn respond(self, state: &State, req: &PortalRequest) -> HttpResponse {
        let prefix = state.prefix();
        match self {
            PortalError::Unavailable { task, cause } => {
                tracing::error!("{task} is unavailable: {cause}");
                let account = PortalPage::Account.at(prefix);
                let link = (task == Task::Account).then_some(account.as_str());
                message(state, 503, "Unavailable", task.text(), link)
            }
            PortalError::Banned(Banned { until }) => {
                let wait = (until - req.now).max(1);
                let text = format!(
                    "Too many failed attempts. Try again in {}.",
                    humantime::format_duration(std::time::Duration::from_secs(wait as u64))
                );
                message(state, 429, "Too many attempts", &text, None)
                    .header("Retry-After", wait.to_string())
            }
            PortalError::NotForm => message(
                state,
                415,
                "Unsupported form",
                "Forms must be sent as application/x-www-form-urlencoded.",
                None,
            ),
            PortalError::BadEncoding => message(
                state,
                400,
                "Bad request",
                "The form was not valid UTF-8.",
                None,
            ),
            PortalError::Csrf => message(
                state,
                403,
                "Form expired",
                "This form was not sent from this site, or it has expired. Go back, reload the page and try again.",
                Some(&PortalPage::Login.at(prefix)),
            ),
            PortalError::NotSignedIn { here } => to_login(state, &format!("{prefix}{here}")),
            PortalError::SecondFactorPending => {
                HttpResponse::redirect(303, &PortalPage::Totp.at(prefix))
            }
            PortalError::NotFound => {
                message(state, 404, "Not found", "There is no such page.", None)
            }
            PortalError::MethodNotAllowed { allow, text } => {
                message(state, 405, "Method not allowed", text, None).header("Allow", allow)
            }
        }
    }
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
