//! `State`: what every request may need, built once at start and shared by the proxy, the
//! portal and the background tasks.

use crate::auth::keys::SecretBox;
use crate::auth::password::Hasher;
use crate::auth::regulation::Regulation;
use crate::auth::second_factor::SecondFactors;
use crate::auth::Origin;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::session::{Cookies, Sessions};
use crate::store::{AuditKind, Store};

/// Everything a request may need.
#[derive(Debug)]
pub struct State {
    pub config: Config,
    pub store: Store,
    pub sessions: Sessions,
    pub hasher: Hasher,
    pub regulation: Regulation,
    pub factors: SecondFactors,
    pub cookies: Cookies,
    pub metrics: Metrics,
}

impl State {
    /// The shared state over an open store and its key, with empty caches (and the bans the
    /// store holds at `now`).
    pub fn new(config: Config, store: Store, secrets: SecretBox, now: i64) -> State {
        let metrics = Metrics::new(config.router.apps());
        let sessions = Sessions::new(store.clone(), config.session.clone());
        let regulation = Regulation::new(&config.regulation, store.clone(), now, metrics.bans());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let hasher = Hasher::new((cores / 2).max(1));
        let factors =
            SecondFactors::new(store.clone(), secrets, hasher.clone(), config.totp.clone());
        let cookies = Cookies::new(&config.session);
        State {
            config,
            store,
            sessions,
            hasher,
            regulation,
            factors,
            cookies,
            metrics,
        }
    }

    pub fn prefix(&self) -> &str {
        &self.config.server.portal_prefix
    }

    /// Writes an audit row off the request path. Never carries secrets.
    pub fn audit(
        &self,
        kind: AuditKind,
        username: Option<&str>,
        origin: &Origin<'_>,
        now: i64,
        detail: Option<String>,
    ) {
        self.store
            .audit_later(origin.event(kind, username, now, detail));
    }
}
