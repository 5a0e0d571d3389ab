//! `State`: what every request may need, built once at start and shared by the proxy, the
//! portal and the background tasks, and the configuration in force, which a reload replaces
//! whole (a request reads one snapshot, never half of each).

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::auth::keys::SecretBox;
use crate::auth::passkeys::Ceremonies;
use crate::auth::password::Hasher;
use crate::auth::regulation::Regulation;
use crate::auth::second_factor::SecondFactors;
use crate::auth::Origin;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::session::{Cookies, Sessions};
use crate::store::{AuditKind, Notice, Store};

/// Everything a request may need.
#[derive(Debug)]
pub struct State {
    /// The configuration in force: read with [`State::config`].
    config: ArcSwap<Config>,
    pub store: Store,
    pub sessions: Sessions,
    pub hasher: Hasher,
    pub regulation: Regulation,
    pub factors: SecondFactors,
    /// Passkey ceremonies in flight.
    pub passkeys: Ceremonies,
    pub cookies: Cookies,
    prefix: String,
    pub metrics: Metrics,
    /// The certificates the TLS listener serves, and the ACME challenges answered.
    pub edge: Arc<crate::edge::Edge>,
    /// The key file's cipher, for what is sealed outside the second factors (certificate keys).
    pub secrets: SecretBox,
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
        let factors = SecondFactors::new(
            store.clone(),
            secrets.clone(),
            hasher.clone(),
            config.totp.clone(),
        );
        let edge = Arc::new(crate::edge::Edge::default());
        edge.set_fallback(
            config
                .server
                .tls
                .as_ref()
                .and_then(|t| t.files.as_ref())
                .map(|f| f.loaded.clone()),
        );
        let cookies = Cookies::new(&config.session);
        let prefix = config.server.portal_prefix.clone();
        State {
            config: ArcSwap::from_pointee(config),
            store,
            sessions,
            hasher,
            regulation,
            factors,
            passkeys: Ceremonies::default(),
            cookies,
            prefix,
            metrics,
            edge,
            secrets,
        }
    }

    /// Applies what the store announces (PostgreSQL's notices of changes made by any replica
    /// or the command line) to this gateway's caches. The handler holds the state weakly: it
    /// never keeps a stopped gateway alive.
    pub fn listen_to_store(self: &Arc<Self>) {
        let state = Arc::downgrade(self);
        self.store.listen(Arc::new(move |notice| {
            if let Some(state) = state.upgrade() {
                state.apply(notice);
            }
        }));
    }

    /// One notice from the store, applied to the caches: memory only, never blocks.
    fn apply(&self, notice: Notice) {
        match notice {
            Notice::SessionEnded(id_hash) => self.sessions.forget(&id_hash),
            Notice::UserChanged(user_id) => self.sessions.forget_user(user_id),
            Notice::Banned(key, until) => self.regulation.regulator().remember_ban(&key, until),
            Notice::BanLifted(key) => self.regulation.regulator().forget(&key),
            Notice::Challenge(token, answer) => self.edge.publish_challenge(&token, &answer),
            Notice::ChallengeWithdrawn(token) => self.edge.withdraw_challenge(&token),
            Notice::All => {
                self.sessions.invalidate_all();
                // A ban lifted meanwhile must not hold on from the cache (bans are read from
                // the store again when the cache has none).
                self.regulation.regulator().forget_bans();
            }
        }
    }

    /// Whether the store has been unreachable for longer than `[storage] outage_grace`: cached
    /// sessions are then no longer served. Atomic reads (and the clock while it is down); always
    /// false on SQLite.
    pub fn store_outage_exceeded(&self) -> bool {
        self.store.unreachable_since().is_some_and(|since| {
            let grace = self.config().storage.outage_grace.as_millis() as i64;
            crate::store::unix_millis() - since >= grace
        })
    }

    /// The configuration in force. Hold the snapshot for the whole of a request.
    pub fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    /// Puts `config` in force for every request that starts from now on; regulation takes
    /// its new limits at once.
    pub fn replace_config(&self, config: Config) {
        self.regulation.reconfigure(&config.regulation);
        self.config.store(Arc::new(config));
    }

    /// The portal prefix (it needs a restart to change, so any snapshot's is the one in force).
    pub fn prefix(&self) -> &str {
        &self.prefix
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
