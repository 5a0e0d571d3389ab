//! Writes the store refused and must not lose: session revocations and bans.
//!
//! When the store cannot write (a full disk, a write lock held elsewhere past the timeout), a
//! sign-out still ends the session in memory at once and a ban still holds in the regulator;
//! what the store should have recorded waits here, and the maintenance loop writes it (every
//! second, until the store accepts it). While a revocation waits, the session cache asks
//! [`Outbox::is_revoked`] on every miss, so the session's row, still in the database, never
//! brings the session back. Memory only: nothing here survives a restart, which is why the
//! gateway tries one last write when it stops.
//!
//! Memory stays bounded. A revocation is kept only until the session could no longer be live
//! anyway (its absolute expiry), a ban only until it ends. Past [`MAX_PENDING_REVOCATIONS`],
//! revocations fail closed: the outbox stops naming sessions and asks instead for every
//! session to end ([`Pending::end_all`]); until that is written no session is read back from
//! the store. Past [`MAX_PENDING_BANS`], a new ban is held by the regulator's cache alone.
//!
//! This module holds state only; the SQL is [`super::Store::write_pending`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::StoreError;

/// Revocations kept at most: as many as the session cache holds, so every cached session can
/// be signed out during one outage.
pub const MAX_PENDING_REVOCATIONS: usize = crate::session::MAX_CACHED_SESSIONS as usize;
/// Bans kept at most: as many as the regulator caches.
pub const MAX_PENDING_BANS: usize = crate::auth::throttle::MAX_CACHED_BANS as usize;

/// What the store still has to write.
#[derive(Debug, Default)]
pub struct Outbox {
    waiting: Mutex<Waiting>,
    /// The store refused a write and has not accepted one since: said once per outage, and
    /// new writes go straight here instead of waiting for the store to refuse them again.
    refusing: AtomicBool,
}

#[derive(Debug, Default)]
struct Waiting {
    /// Session id hashes, with the time after which the session cannot be live anyway.
    revoked: HashMap<[u8; 32], i64>,
    /// Ban keys with their end.
    bans: HashMap<String, i64>,
    /// Too many revocations to name: every session must end.
    end_all: bool,
}

/// A batch to write, taken from the outbox; [`Outbox::written`] forgets it once it landed.
#[derive(Debug, Clone, Default)]
pub struct Pending {
    pub revoked: Vec<[u8; 32]>,
    pub bans: Vec<(String, i64)>,
    /// Delete every session (the revocations overflowed).
    pub end_all: bool,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.revoked.is_empty() && self.bans.is_empty() && !self.end_all
    }
}

impl Outbox {
    fn waiting(&self) -> MutexGuard<'_, Waiting> {
        // Plain maps: a panic elsewhere cannot leave them half-changed.
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps the revocation of session `id_hash` until it is written; `live_until` is when
    /// the session would have expired anyway.
    pub fn revoke(&self, id_hash: [u8; 32], live_until: i64) {
        let mut waiting = self.waiting();
        if waiting.revoked.len() >= MAX_PENDING_REVOCATIONS
            && !waiting.revoked.contains_key(&id_hash)
        {
            // Named revocations are dropped only for one that covers them all.
            tracing::error!(
                "more than {MAX_PENDING_REVOCATIONS} sign-outs wait for the store: every \
                 session will be ended when it accepts writes again"
            );
            waiting.revoked.clear();
            waiting.end_all = true;
            return;
        }
        let entry = waiting.revoked.entry(id_hash).or_insert(live_until);
        *entry = (*entry).max(live_until);
    }

    /// Whether a session is revoked but the store still has its row. Asked on cache misses
    /// only, never on the hot path.
    pub fn is_revoked(&self, id_hash: &[u8; 32]) -> bool {
        let waiting = self.waiting();
        waiting.end_all || waiting.revoked.contains_key(id_hash)
    }

    /// Keeps a ban until it is written.
    pub fn ban(&self, key: &str, until: i64) {
        let mut waiting = self.waiting();
        if let Some(known) = waiting.bans.get_mut(key) {
            *known = (*known).max(until);
            return;
        }
        if waiting.bans.len() >= MAX_PENDING_BANS {
            tracing::warn!(
                "more than {MAX_PENDING_BANS} bans wait for the store; this one is held in \
                 memory only until it ends or the gateway restarts"
            );
            return;
        }
        waiting.bans.insert(key.to_string(), until);
    }

    /// The latest active ban among `keys` still waiting to be written.
    pub fn ban_until(&self, keys: &[String], now: i64) -> Option<(String, i64)> {
        let waiting = self.waiting();
        keys.iter()
            .filter_map(|k| waiting.bans.get(k).map(|until| (k.clone(), *until)))
            .filter(|(_, until)| *until > now)
            .max_by_key(|(_, until)| *until)
    }

    /// What waits to be written at `now`; entries that no longer matter (expired sessions,
    /// ended bans) are dropped here.
    pub fn pending(&self, now: i64) -> Pending {
        let mut waiting = self.waiting();
        waiting.revoked.retain(|_, live_until| *live_until > now);
        waiting.bans.retain(|_, until| *until > now);
        Pending {
            revoked: waiting.revoked.keys().copied().collect(),
            bans: waiting
                .bans
                .iter()
                .map(|(k, until)| (k.clone(), *until))
                .collect(),
            end_all: waiting.end_all,
        }
    }

    /// Forgets `batch`, now in the store. A ban raised since the batch was taken stays.
    ///
    /// The session cache must have moved its revocation epoch before this (see
    /// `Sessions::revocations_written`): a miss that read a row before the delete landed then
    /// reads again instead of trusting a session that just stopped being pending.
    pub fn written(&self, batch: &Pending) {
        let mut waiting = self.waiting();
        if batch.end_all {
            waiting.end_all = false;
        }
        for id_hash in &batch.revoked {
            waiting.revoked.remove(id_hash);
        }
        for (key, until) in &batch.bans {
            if waiting.bans.get(key) == Some(until) {
                waiting.bans.remove(key);
            }
        }
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        let waiting = self.waiting();
        waiting.revoked.is_empty() && waiting.bans.is_empty() && !waiting.end_all
    }

    /// Whether the store refused the last write tried: new writes then go straight here.
    pub fn refusing(&self) -> bool {
        self.refusing.load(Ordering::Relaxed)
    }

    /// The store refused a write (`error`): logged once per outage, not per retry.
    pub fn note_refused(&self, error: &StoreError) {
        if !self.refusing.swap(true, Ordering::Relaxed) {
            tracing::error!(
                "the store refused a write ({error}); sign-outs and bans are kept in memory \
                 and written as soon as it accepts writes again"
            );
        }
    }

    /// The store accepted `batch`.
    pub fn note_accepted(&self, batch: &Pending) {
        if self.refusing.swap(false, Ordering::Relaxed) {
            tracing::info!(
                revocations = batch.revoked.len(),
                bans = batch.bans.len(),
                end_all = batch.end_all,
                "the store accepts writes again; what it refused is written"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revocation_waits_until_written_or_expired() {
        let outbox = Outbox::default();
        outbox.revoke([1; 32], 100);
        outbox.revoke([2; 32], 50);
        assert!(outbox.is_revoked(&[1; 32]));
        let batch = outbox.pending(60);
        assert_eq!(batch.revoked, vec![[1; 32]]);
        assert!(!outbox.is_revoked(&[2; 32]), "expired: nothing to revive");
        outbox.written(&batch);
        assert!(!outbox.is_revoked(&[1; 32]));
        assert!(outbox.is_empty());
    }

    #[test]
    fn a_ban_raised_while_written_stays() {
        let outbox = Outbox::default();
        outbox.ban("user:a", 100);
        let batch = outbox.pending(0);
        outbox.ban("user:a", 200);
        outbox.written(&batch);
        assert_eq!(
            outbox.ban_until(&["user:a".into()], 150),
            Some(("user:a".into(), 200))
        );
    }

    #[test]
    fn too_many_revocations_end_every_session() {
        let outbox = Outbox::default();
        for i in 0..=MAX_PENDING_REVOCATIONS as u32 {
            let mut id = [0u8; 32];
            id[..4].copy_from_slice(&i.to_be_bytes());
            outbox.revoke(id, i64::MAX);
        }
        assert!(outbox.is_revoked(&[9; 32]), "fails closed");
        let batch = outbox.pending(0);
        assert!(batch.end_all && batch.revoked.is_empty());
        outbox.written(&batch);
        assert!(!outbox.is_revoked(&[9; 32]));
    }
}
