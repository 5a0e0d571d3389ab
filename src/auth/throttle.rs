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
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::sync::Cache;

use crate::config::RegulationConfig;

/// Failure counters and bans.
#[derive(Clone)]
pub struct Regulator {
    failures: Cache<String, Arc<Mutex<VecDeque<i64>>>>,
    /// Attempt locks, picked by a hash of the subject: a fixed set, so no subject's lock can
    /// be evicted while an attempt holds it.
    locks: Arc<Vec<Arc<tokio::sync::Mutex<()>>>>,
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
/// Attempt locks; two subjects sharing one only wait for each other.
const ATTEMPT_LOCKS: usize = 4096;

impl Regulator {
    pub fn new(cfg: &RegulationConfig) -> Regulator {
        let window = cfg.window.as_secs().max(1);
        let ban = cfg.ban.as_secs().max(1);
        Regulator {
            failures: Cache::builder()
                .max_capacity(MAX_COUNTED_SUBJECTS)
                .time_to_idle(Duration::from_secs(window))
                .build(),
            locks: Arc::new(
                (0..ATTEMPT_LOCKS)
                    .map(|_| Arc::new(tokio::sync::Mutex::new(())))
                    .collect(),
            ),
            bans: Cache::builder()
                .max_capacity(MAX_CACHED_BANS)
                .time_to_live(Duration::from_secs(ban))
                .build(),
            max_failures: cfg.max_failures,
            window: window as i64,
            ban: ban as i64,
        }
    }

    /// This regulator with `cfg`'s limits: the same attempt locks and bans (a ban keeps its
    /// end), and the same failure counts unless the window changed (then counting starts
    /// afresh, since the counts were kept for the old window).
    pub fn reconfigured(&self, cfg: &RegulationConfig) -> Regulator {
        let fresh = Regulator::new(cfg);
        Regulator {
            failures: if fresh.window == self.window {
                self.failures.clone()
            } else {
                fresh.failures
            },
            locks: Arc::clone(&self.locks),
            bans: self.bans.clone(),
            ..fresh
        }
    }

    /// The key of a user's password attempts.
    pub fn user_key(username: &str) -> String {
        format!("user:{}", username.to_lowercase())
    }

    /// The key of a user's second-factor attempts (TOTP and recovery codes). Separate from the
    /// password's, so that signing in again with the password does not buy more code guesses.
    pub fn second_factor_key(username: &str) -> String {
        format!("2fa:{}", username.to_lowercase())
    }

    /// The key of a client: its IPv4 address, or its IPv6 /64 (one host usually has a whole
    /// /64, so counting single IPv6 addresses would count nothing).
    pub fn ip_key(ip: IpAddr) -> String {
        match ip.to_canonical() {
            IpAddr::V4(v4) => format!("ip:{v4}"),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        }
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
    /// returned guards drop.
    pub async fn serialize(&self, keys: &[String]) -> Vec<tokio::sync::OwnedMutexGuard<()>> {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let hasher = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default();
        // Locks are taken in index order, each once: two attempts never wait on each other.
        let mut slots: Vec<usize> = keys
            .iter()
            .map(|k| hasher.hash_one(k) as usize % self.locks.len())
            .collect();
        slots.sort_unstable();
        slots.dedup();
        let mut guards = Vec::with_capacity(slots.len());
        for slot in slots {
            guards.push(Arc::clone(&self.locks[slot]).lock_owned().await);
        }
        guards
    }

    /// The limits in force: failures that ban, within how many seconds, for how many seconds.
    pub fn limits(&self) -> (u32, i64, i64) {
        (self.max_failures, self.window, self.ban)
    }

    /// Forgets every cached ban: the store, which keeps them all, is asked again.
    pub fn forget_bans(&self) {
        self.bans.invalidate_all();
    }

    /// Forgets the failures of `key` (after a success).
    pub fn reset(&self, key: &str) {
        self.failures.invalidate(key);
    }

    /// Forgets the ban of `key` and its failures: an operator lifted the ban, which the caller
    /// has already removed from the store (else the next attempt would load it back).
    pub fn forget(&self, key: &str) {
        self.bans.invalidate(key);
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
    fn clients_are_counted_by_ipv4_address_and_ipv6_slash_64() {
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(Regulator::ip_key(v4), "ip:203.0.113.7");
        assert_eq!(Regulator::ip_key(mapped), "ip:203.0.113.7");
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(Regulator::ip_key(a), Regulator::ip_key(b));
        assert_ne!(Regulator::ip_key(a), Regulator::ip_key(c));
    }

    #[test]
    fn a_forgotten_key_is_neither_banned_nor_counting() {
        let r = reg(2);
        r.record_failure("user:a", 100);
        assert_eq!(r.record_failure("user:a", 101), Some(701));
        r.record_failure("ip:1", 101);
        r.forget("user:a");
        r.forget("ip:1");
        assert_eq!(r.banned_until(&["user:a"], 102), None);
        assert_eq!(r.record_failure("user:a", 102), None);
        assert_eq!(
            r.record_failure("ip:1", 102),
            None,
            "the count started over"
        );
    }

    #[test]
    fn a_reset_clears_the_count() {
        let r = reg(2);
        r.record_failure("user:a", 100);
        r.reset("user:a");
        assert_eq!(r.record_failure("user:a", 101), None);
    }
}
