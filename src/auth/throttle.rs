//! Regulation of failed authentication attempts.
//!
//! Each subject (a user name, or a client IP) moves through three states:
//!
//! * **clear**: no recent failures; no memory is held for it.
//! * **counting**: failures within the sliding `window` are kept (timestamps, at most
//!   `max_failures` of them) in a bounded cache that forgets idle subjects after `window`.
//! * **banned**: the `max_failures`-th failure inside the window bans the subject until
//!   `now + ban`. While banned, credentials are not checked at all.
//!
//! Attempts on one subject are serialized ([`Regulator::serialize`]): the ban check, the
//! credential check and the counting of its failure happen as one step, so a burst of guesses
//! sent at once is checked one after another and stops at the ban like a slow one would.
//!
//! A success clears the user's counter. Both caches are bounded (moka, TinyLFU), so a spray
//! from many addresses costs bounded memory; the gateway persists bans in the store and asks
//! it when the cache has no answer, so eviction can never lift a ban. There is no global
//! lockdown: an attacker can ban only the subjects it names.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::sync::Cache;

use crate::config::RegulationConfig;

/// Failure counters and bans.
#[derive(Clone)]
pub struct Regulator {
    failures: Cache<String, Arc<Mutex<VecDeque<i64>>>>,
    /// One lock per subject with an attempt in progress.
    locks: Cache<String, Arc<tokio::sync::Mutex<()>>>,
    bans: Cache<String, i64>,
    max_failures: u32,
    window: i64,
    ban: i64,
}

impl std::fmt::Debug for Regulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Regulator")
            .field("counting", &self.failures.entry_count())
            .field("banned", &self.bans.entry_count())
            .finish()
    }
}

/// Cache bounds: enough for a large spray, small enough to stay in a few tens of MiB.
pub const MAX_COUNTED_SUBJECTS: u64 = 100_000;
pub const MAX_CACHED_BANS: u64 = 100_000;

impl Regulator {
    pub fn new(cfg: &RegulationConfig) -> Regulator {
        let window = cfg.window.as_secs().max(1);
        let ban = cfg.ban.as_secs().max(1);
        Regulator {
            failures: Cache::builder()
                .max_capacity(MAX_COUNTED_SUBJECTS)
                .time_to_idle(Duration::from_secs(window))
                .build(),
            locks: Cache::builder()
                .max_capacity(MAX_COUNTED_SUBJECTS)
                .time_to_idle(Duration::from_secs(60))
                .build(),
            bans: Cache::builder()
                .max_capacity(MAX_CACHED_BANS)
                .time_to_live(Duration::from_secs(ban))
                .build(),
            max_failures: cfg.max_failures,
            window: window as i64,
            ban: ban as i64,
        }
    }

    /// The key of a user subject.
    pub fn user_key(username: &str) -> String {
        format!("user:{}", username.to_lowercase())
    }

    /// The key of a client IP subject.
    pub fn ip_key(ip: &str) -> String {
        format!("ip:{ip}")
    }

    /// The latest ban end among `keys` known to the cache, if any is active at `now`.
    pub fn banned_until(&self, keys: &[&str], now: i64) -> Option<i64> {
        keys.iter()
            .filter_map(|k| self.bans.get(*k))
            .filter(|until| *until > now)
            .max()
    }

    /// Remembers a ban (loaded from the store, or just decided).
    pub fn remember_ban(&self, key: &str, until: i64) {
        self.bans.insert(key.to_string(), until);
    }

    /// Counts a failure of `key` at `now`; returns the ban end when this failure starts a ban.
    pub fn record_failure(&self, key: &str, now: i64) -> Option<i64> {
        let entry = self.failures.get_with(key.to_string(), || {
            Arc::new(Mutex::new(VecDeque::with_capacity(
                self.max_failures as usize,
            )))
        });
        let mut times = entry.lock().unwrap_or_else(|p| p.into_inner());
        while times.front().is_some_and(|t| *t <= now - self.window) {
            times.pop_front();
        }
        times.push_back(now);
        while times.len() > self.max_failures as usize {
            times.pop_front();
        }
        if times.len() >= self.max_failures as usize {
            times.clear();
            drop(times);
            self.failures.invalidate(key);
            let until = now + self.ban;
            self.remember_ban(key, until);
            Some(until)
        } else {
            None
        }
    }

    /// Waits until no other attempt on any of `keys` is in progress, and holds them until the
    /// returned guards drop. Keys must come in a fixed order (user, then client) so that two
    /// attempts never wait on each other.
    pub async fn serialize(&self, keys: &[String]) -> Vec<tokio::sync::OwnedMutexGuard<()>> {
        let mut guards = Vec::with_capacity(keys.len());
        for key in keys {
            let lock = self.locks.get_with(key.clone(), Default::default);
            guards.push(lock.lock_owned().await);
        }
        guards
    }

    /// Forgets the failures of `key` (after a success).
    pub fn reset(&self, key: &str) {
        self.failures.invalidate(key);
    }

    /// Approximate number of subjects held, counting and banned (for the memory bound).
    pub fn held(&self) -> u64 {
        self.failures.run_pending_tasks();
        self.bans.run_pending_tasks();
        self.failures.entry_count() + self.bans.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(max: u32) -> Regulator {
        Regulator::new(&RegulationConfig {
            max_failures: max,
            window: Duration::from_secs(60),
            ban: Duration::from_secs(600),
        })
    }

    #[test]
    fn the_nth_failure_in_the_window_bans() {
        let r = reg(3);
        assert_eq!(r.record_failure("user:a", 100), None);
        assert_eq!(r.record_failure("user:a", 101), None);
        assert_eq!(r.record_failure("user:a", 102), Some(702));
        assert_eq!(r.banned_until(&["user:a", "ip:1"], 103), Some(702));
        assert_eq!(r.banned_until(&["user:a"], 702), None);
    }

    #[test]
    fn failures_outside_the_window_are_forgotten() {
        let r = reg(3);
        r.record_failure("user:a", 100);
        r.record_failure("user:a", 101);
        assert_eq!(r.record_failure("user:a", 200), None);
        assert_eq!(r.record_failure("user:a", 201), None);
        assert_eq!(r.record_failure("user:a", 202), Some(802));
    }

    #[test]
    fn a_reset_clears_the_count() {
        let r = reg(2);
        r.record_failure("user:a", 100);
        r.reset("user:a");
        assert_eq!(r.record_failure("user:a", 101), None);
    }
}
