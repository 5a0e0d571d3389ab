//! `GET/POST {prefix}/invite?token=`: an invited person chooses their password, and is signed
//! in; when two factors are asked of them, the set-up page comes next.
//!
//! Tokens are 256-bit and looked up by their SHA-256, so guessing one is hopeless and no
//! regulation is needed here. The password is checked against the password rules before the
//! link is used; using it is one conditional update in the store, so of many submissions at
//! once exactly one signs in and the others are told the link was used.

use std::sync::Arc;

use askama::Template;

use super::{csrf_for, encode_query, message, During, Form, Frame, PortalError, PortalPage};
use super::{PortalRequest, Task, MAX_PASSWORD};
use crate::auth::password::hash_password;
use crate::auth::password_rules;
use crate::config::Config;
use crate::http_response::HttpResponse;
use crate::policy::subject_matches;
use crate::routes::Policy;
use crate::session::{Identity, Level};
use crate::store::{AuditKind, InviteState, NewUser, Store, StoreError, User};
use crate::State;

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage<'a> {
    ui: &'a Frame,
    csrf: &'a str,
    token: &'a str,
    username: &'a str,
    needs_totp: bool,
    error: Option<&'a str>,
}

/// An invite just made: the address of its page below the host, and when it expires (Unix
/// seconds).
#[derive(Debug, Clone)]
pub struct Invite {
    /// `{prefix}/invite?token=…`.
    pub path: String,
    pub expires_at: i64,
}

impl Invite {
    /// The link on the first app host the config names, by the scheme and port the gateway
    /// listens with (what the command line prints); without a host, the path alone, to open on
    /// any app's host.
    pub fn link(&self, config: &Config) -> String {
        let host = config
            .router
            .apps()
            .iter()
            .flat_map(|app| app.hosts.iter())
            .next();
        let Some(host) = host else {
            return self.path.clone();
        };
        let (scheme, port, default_port) = match &config.server.tls {
            Some(tls) => ("https", tls.listen.port(), 443),
            None => (
                "http",
                config.server.listen.first().map_or(80, |a| a.port()),
                80,
            ),
        };
        if port == default_port {
            format!("{scheme}://{host}{}", self.path)
        } else {
            format!("{scheme}://{host}:{port}{}", self.path)
        }
    }
}

/// Makes an invite link for `new` (see [`Store::invite_user`]) that lives `lifetime` from
/// `now`: how the command line and the admin area both invite.
pub fn issue_invite(
    store: &Store,
    prefix: &str,
    new: &NewUser,
    lifetime: std::time::Duration,
    now: i64,
) -> Result<Invite, StoreError> {
    let token = crate::session::random_token();
    let hash = token_hash(&token).expect("a fresh token is well formed");
    let secs = lifetime.as_secs().min(i64::MAX as u64 / 2) as i64;
    let expires_at = now.saturating_add(secs);
    store.invite_user(new, &hash, now, expires_at)?;
    Ok(Invite {
        path: format!("{}?token={token}", PortalPage::Invite.at(prefix)),
        expires_at,
    })
}

/// The SHA-256 of a well-formed token (43 base64url characters); `None` for anything else.
fn token_hash(token: &str) -> Option<[u8; 32]> {
    crate::session::hash_id(token)
}

/// Whether the invited `user` must set up a second factor before reaching any app: always with
/// `[invites] require_totp`, else when they are an admin or a `two_factor` rule names their
/// groups or them. (A `two_factor` rule for everybody asks for set-up when its path is
/// visited, as for every user.)
fn needs_second_factor(config: &Config, user: &User) -> bool {
    let identity = Identity::from_user(user, Default::default());
    config.invites.require_totp
        || super::admin::is_admin(&identity, &config.admin.groups)
        || config.router.apps().iter().any(|app| {
            app.rules.iter().any(|r| {
                r.policy == Policy::TwoFactor && r.has_subject() && subject_matches(r, &identity)
            })
        })
}

fn page(
    state: &State,
    req: &PortalRequest,
    status: u16,
    token: &str,
    user: &User,
    error: Option<&str>,
) -> HttpResponse {
    let (csrf, set_cookie) = csrf_for(state, req);
    let error = error.map(|key| req.ui.t(key));
    let response = req.ui.render(
        status,
        &InvitePage {
            ui: &req.ui,
            csrf: &csrf,
            token,
            username: &user.username,
            needs_totp: needs_second_factor(&state.config(), user),
            error: error.as_deref(),
        },
    );
    match set_cookie {
        Some(c) => response.header("Set-Cookie", c),
        None => response,
    }
}

/// What a link that cannot be used says: used (sign in instead), expired (ask again) or
/// unknown.
fn dead_link(state: &State, req: &PortalRequest, link: &InviteState) -> HttpResponse {
    let ui = &req.ui;
    let (status, title, text) = match link {
        InviteState::Used => (410, "invite-used-title", "invite-used-text"),
        InviteState::Expired => (410, "invite-expired-title", "invite-expired-text"),
        InviteState::Unknown | InviteState::Open(_) => {
            (404, "invite-unknown-title", "invite-unknown-text")
        }
    };
    let login = PortalPage::Login.at(state.prefix());
    let sign_in = ui.t("link-sign-in");
    message(
        ui,
        status,
        &ui.t(title),
        &ui.t(text),
        Some((&login, &sign_in)),
    )
}

/// The link's state, by its token.
async fn lookup(
    state: &State,
    req: &PortalRequest,
    token: &str,
) -> Result<InviteState, PortalError> {
    let Some(hash) = token_hash(token) else {
        return Ok(InviteState::Unknown);
    };
    let now = req.now;
    state
        .store
        .call(move |s| s.invite(&hash, now))
        .await
        .during(Task::Invite)
}

pub async fn get(state: &State, req: &PortalRequest) -> Result<HttpResponse, PortalError> {
    let token = req.query_param("token").unwrap_or_default();
    match lookup(state, req, &token).await? {
        InviteState::Open(user) => Ok(page(state, req, 200, &token, &user, None)),
        dead => Ok(dead_link(state, req, &dead)),
    }
}

pub async fn post(
    state: &State,
    req: &PortalRequest,
    form: &Form,
) -> Result<HttpResponse, PortalError> {
    let token = form.get("token");
    let user = match lookup(state, req, token).await? {
        InviteState::Open(user) => user,
        dead => return Ok(dead_link(state, req, &dead)),
    };
    let (password, confirm) = (form.get("password"), form.get("confirm"));
    let refusal = if password.len() > MAX_PASSWORD {
        Some(password_rules::Weakness::TooLong.catalog_key())
    } else if password != confirm {
        Some("password-mismatch")
    } else {
        password_rules::check(&user.username, password)
            .err()
            .map(|w| w.catalog_key())
    };
    if let Some(key) = refusal {
        return Ok(page(state, req, 400, token, &user, Some(key)));
    }

    let chosen = password.to_string();
    let hash = state
        .hasher
        .run(move || hash_password(&chosen))
        .await
        .during(Task::Invite)?;
    let token_hash = token_hash(token).expect("an open link's token is well formed");
    let now = req.now;
    let must_enrol = needs_second_factor(&state.config(), &user);
    let accepted = state
        .store
        .call(move |s| s.accept_invite(&token_hash, &hash, must_enrol, now))
        .await
        .during(Task::Invite)?;
    // Another submission of the same link won the race.
    let Some(user) = accepted else {
        return Ok(dead_link(state, req, &InviteState::Used));
    };
    req.audit(state, AuditKind::InviteAccepted, Some(&user.username), None);

    // No second factor yet: accepting the link required that.
    let identity = Arc::new(Identity::from_user(&user, Default::default()));
    let cookie = super::sign_in(state, req, identity, Level::OneFactor, None, Task::SignIn).await?;
    req.audit(
        state,
        AuditKind::Login,
        Some(&user.username),
        Some("one_factor, through an invite".into()),
    );
    let next = if must_enrol {
        format!(
            "{}?required=1&rd={}",
            PortalPage::TotpSetup.at(state.prefix()),
            encode_query("/")
        )
    } else {
        "/".to_string()
    };
    Ok(HttpResponse::redirect(303, &next).header("Set-Cookie", cookie))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn only_well_formed_tokens_are_looked_up() {
        let token = crate::session::random_token();
        assert_eq!(
            token_hash(&token),
            Some(<[u8; 32]>::from(Sha256::digest(token.as_bytes())))
        );
        assert_eq!(token_hash(""), None);
        assert_eq!(token_hash("../../etc"), None);
        assert_eq!(token_hash(&"A".repeat(44)), None);
    }
}
