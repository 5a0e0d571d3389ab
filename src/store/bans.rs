//! Bans: the `bans` table.
//!
//! A ban is a key (a user, an address) and the time it ends; writing a ban never shortens one
//! already recorded. When to ban and for how long is the regulator's (in `auth/`); this
//! file only persists its decisions so they outlive a restart and reach every gateway. Bans
//! the store refused wait in the [`super::Outbox`] and are written by
//! [`Store::write_pending`] with the same statement.

use super::db::{params, Sql};

use super::{Result, Store};

/// A persisted ban.
#[derive(Debug, Clone)]
pub struct BanRow {
    pub key: String,
    pub until: i64,
}

impl Store {
    /// Records a ban, keeping the later end when the key is banned already.
    pub(super) const PUT_BAN: &'static str = "INSERT INTO bans (key, until) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET
             until = CASE WHEN excluded.until > bans.until THEN excluded.until ELSE bans.until END";

    /// Bans `key` until `until`, or longer if it already is.
    pub fn put_ban(&self, key: &str, until: i64) -> Result<()> {
        self.write()?.execute(Self::PUT_BAN, params![key, until])?;
        Ok(())
    }

    /// The end of the ban on `key` when it is still on at `now`.
    pub fn ban_until(&self, key: &str, now: i64) -> Result<Option<i64>> {
        self.read()?.query_opt(
            "SELECT until FROM bans WHERE key = ?1 AND until > ?2",
            params![key, now],
            |r| r.get(0),
        )
    }

    /// Every ban still on at `now`.
    pub fn active_bans(&self, now: i64) -> Result<Vec<BanRow>> {
        let conn = self.read()?;
        conn.query_all(
            "SELECT key, until FROM bans WHERE until > ?1",
            params![now],
            |r| {
                Ok(BanRow {
                    key: r.get(0)?,
                    until: r.get(1)?,
                })
            },
        )
    }

    /// Deletes the bans on `keys` (an operator lifting them), in one transaction; returns how
    /// many there were.
    pub fn lift_bans(&self, keys: &[String]) -> Result<usize> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        let mut lifted = 0;
        for key in keys {
            lifted += tx.execute("DELETE FROM bans WHERE key = ?1", params![key])?;
            tx.execute("DELETE FROM failures WHERE key = ?1", params![key])?;
        }
        tx.commit()?;
        Ok(lifted)
    }

    /// Deletes the bans over at `now`; returns how many.
    pub fn sweep_bans(&self, now: i64) -> Result<usize> {
        let conn = self.write()?;
        // Shared failure counts a day old are past any window.
        conn.execute(
            "DELETE FROM failures WHERE since <= ?1",
            params![now - 86_400],
        )?;
        conn.execute("DELETE FROM bans WHERE until <= ?1", params![now])
    }
}
