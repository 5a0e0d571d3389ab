//! Credentials: passwords, TOTP, recovery codes, the key that seals secrets, and regulation.
//!
//! Nothing here speaks HTTP or renders HTML, and nothing reads the clock: time comes in as a
//! parameter so every rule can be tested at any instant.

pub mod keys;
pub mod password;
pub mod recovery;
pub mod throttle;
pub mod totp;

/// Seconds since the Unix epoch: the one place that reads the wall clock.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
