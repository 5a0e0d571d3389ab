//! Regulation of attempts as the pages use it: which subjects an attempt counts against, one
//! attempt at a time per subject, bans that hold across cache evictions, restarts and store
//! outages.
//!
//! The counting itself is [`Regulator`]'s; this file joins it to the store (bans are
//! persisted, and read back when the cache has no answer) and to the audit trail.

use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;

use prometheus_client::metrics::counter::Counter;

use super::throttle::Regulator;
use super::Origin;
use crate::config::RegulationConfig;
use crate::store::{AuditKind, Store};

/// An attempt was refused unchecked, or its failure started a ban: the subject is banned
/// until `until` (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("banned until {until}")]
pub struct Banned {
    pub until: i64,
}

/// Failure counts and bans, in memory and in the store.
#[derive(Debug)]
pub struct Regulation {
    /// Replaced whole when a reload changes the limits.
    regulator: ArcSwap<Regulator>,
    store: Store,
    /// Bans started (the metrics' counter).
    bans: Counter,
}

/// An authentication attempt in progress: no other attempt on its subjects runs until it
/// drops. Its outcome is told with [`Attempt::failed`] or [`Attempt::succeeded`].
#[must_use = "the attempt ends when this is dropped"]
pub struct Attempt<'a> {
    regulation: &'a Regulation,
    keys: Vec<String>,
    _guards: Vec<tokio::sync::OwnedMutexGuard<()>>,
}

impl Regulation {
    /// Counters for `cfg`, with the bans the store holds at `now` already known; every ban
    /// started is counted in `bans`.
    pub fn new(cfg: &RegulationConfig, store: Store, now: i64, bans: Counter) -> Regulation {
        let regulator = Regulator::new(cfg);
        match store.active_bans(now) {
            Ok(bans) => {
                for b in bans {
                    regulator.remember_ban(&b.key, b.until);
                }
            }
            // Not fatal: a ban the cache misses is read from the store when it matters.
            Err(e) => tracing::warn!("could not preload bans: {e}"),
        }
        Regulation {
            regulator: ArcSwap::from_pointee(regulator),
            store,
            bans,
        }
    }

    /// The counters in force.
    pub fn regulator(&self) -> Arc<Regulator> {
        self.regulator.load_full()
    }

    /// Takes `cfg`'s limits from the next attempt on (see [`Regulator::reconfigured`]).
    pub fn reconfigure(&self, cfg: &RegulationConfig) {
        let next = self.regulator.load().reconfigured(cfg);
        self.regulator.store(Arc::new(next));
    }

    /// Subjects of a password attempt: the user named, then the client.
    pub fn password_keys(username: &str, ip: IpAddr) -> Vec<String> {
        vec![Regulator::user_key(username), Regulator::ip_key(ip)]
    }

    /// Subjects of a second-factor attempt: the user's second factor, then the client.
    pub fn second_factor_keys(username: &str, ip: IpAddr) -> Vec<String> {
        vec![
            Regulator::second_factor_key(username),
            Regulator::ip_key(ip),
        ]
    }

    /// Starts an attempt on `keys` (the user's subject first): waits for attempts already in
    /// progress on any of them, then checks the bans.
    pub async fn begin(&self, keys: Vec<String>, now: i64) -> Result<Attempt<'_>, Banned> {
        let guards = self.regulator().serialize(&keys).await;
        match self.banned_until(&keys, now).await {
            Some(until) => Err(Banned { until }),
            None => Ok(Attempt {
                regulation: self,
                keys,
                _guards: guards,
            }),
        }
    }

    /// The end of the latest active ban among `keys`: the cache first, then the outbox and
    /// the store (so a ban evicted from the cache, set before a restart, or not yet written
    /// still holds).
    pub async fn banned_until(&self, keys: &[String], now: i64) -> Option<i64> {
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let regulator = self.regulator();
        if let Some(until) = regulator.banned_until(&refs, now) {
            return Some(until);
        }
        if let Some((key, until)) = self.store.outbox().ban_until(keys, now) {
            regulator.remember_ban(&key, until);
            return Some(until);
        }
        let owned = keys.to_vec();
        let found = self
            .store
            .call(move |s| {
                let mut best: Option<(String, i64)> = None;
                for k in owned {
                    if let Some(until) = s.ban_until(&k, now)? {
                        if best.as_ref().is_none_or(|(_, b)| until > *b) {
                            best = Some((k, until));
                        }
                    }
                }
                Ok(best)
            })
            .await;
        let (key, until) = match found {
            Ok(found) => found?,
            Err(e) => {
                // The cache is the answer while the store is away.
                tracing::warn!("could not read bans: {e}");
                return None;
            }
        };
        regulator.remember_ban(&key, until);
        Some(until)
    }

    /// Counts a failure of `key` in the shared store, so that guesses spread over several
    /// gateways count as if sent to one; returns the ban end when this failure starts a ban.
    /// A store that does not answer leaves the gateway's own count to decide.
    async fn count_shared(&self, key: &str, now: i64) -> Option<i64> {
        let regulator = self.regulator();
        let (max_failures, window, ban) = regulator.limits();
        let k = key.to_string();
        let counted = self
            .store
            .call(move |s| {
                let count = s.count_failure(&k, now, window)?;
                if count >= i64::from(max_failures) {
                    // The ban takes over; its end starts a fresh count.
                    s.clear_failures(&k)?;
                }
                Ok(count)
            })
            .await;
        match counted {
            Ok(count) if count >= i64::from(max_failures) => {
                let until = now + ban;
                regulator.remember_ban(key, until);
                Some(until)
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!("could not count a failure in the shared store: {e}");
                None
            }
        }
    }

    /// Records a ban in the store, or, when the store refuses it, in its outbox, from which
    /// the maintenance loop writes it once the store accepts writes: a ban decided during an
    /// outage still holds after a restart that follows it.
    async fn persist_ban(&self, key: &str, until: i64) {
        let outbox = self.store.outbox();
        if outbox.refusing() {
            outbox.ban(key, until);
            return;
        }
        let k = key.to_string();
        if let Err(e) = self.store.call(move |s| s.put_ban(&k, until)).await {
            outbox.ban(key, until);
            outbox.note_refused(&e);
        }
    }
}

impl Attempt<'_> {
    /// The attempt failed: audited as `kind` with `detail`, counted against every subject.
    /// `Err` when this failure starts a ban (which is persisted and audited).
    pub async fn failed(
        &self,
        kind: AuditKind,
        username: &str,
        origin: &Origin<'_>,
        now: i64,
        detail: &str,
    ) -> Result<(), Banned> {
        self.failed_as(kind, Some(username), origin, now, detail)
            .await
    }

    /// [`Attempt::failed`] by nobody known (a passkey that names no user): the row names
    /// none.
    pub async fn failed_as(
        &self,
        kind: AuditKind,
        username: Option<&str>,
        origin: &Origin<'_>,
        now: i64,
        detail: &str,
    ) -> Result<(), Banned> {
        let regulation = self.regulation;
        let store = &regulation.store;
        store.audit_later(origin.event(kind, username, now, Some(detail.to_string())));
        let mut banned = None;
        let regulator = regulation.regulator();
        for key in &self.keys {
            let mut started = regulator.record_failure(key, now);
            if store.is_shared() {
                started = started.max(regulation.count_shared(key, now).await);
            }
            if let Some(until) = started {
                regulation.bans.inc();
                regulation.persist_ban(key, until).await;
                let detail = Some(format!("{key} until {until}"));
                store.audit_later(origin.event(AuditKind::Ban, username, now, detail));
                banned = banned.max(Some(until));
            }
        }
        match banned {
            Some(until) => Err(Banned { until }),
            None => Ok(()),
        }
    }

    /// The attempt succeeded: the user's counter starts again (the client's does not).
    pub fn succeeded(&self) {
        if let Some(user) = self.keys.first() {
            self.regulation.regulator().reset(user);
            if self.regulation.store.is_shared() {
                let (store, key) = (self.regulation.store.clone(), user.clone());
                tokio::spawn(async move {
                    if let Err(e) = store.call(move |s| s.clear_failures(&key)).await {
                        tracing::warn!("could not clear a shared failure count: {e}");
                    }
                });
            }
        }
    }
}
