//! Sessions: the `sessions` table.
//!
//! A session is stored by the SHA-256 of its cookie value, never the value, so the database
//! alone cannot sign anyone in. The cache in front of the store and the raising of a session
//! are `session.rs`'s; this file only reads and writes rows, and counts the reads so tests
//! and benchmarks can see that cached sessions never reach it.

use std::sync::atomic::Ordering;

use super::db::{params, Row, Sql, Tx};

use super::{Handle, Result, Store, StoreError};

/// A session row. `id_hash` is the SHA-256 of the cookie value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id_hash: [u8; 32],
    pub user_id: i64,
    pub level: u8,
    pub created_at: i64,
    pub last_seen: i64,
    pub expires_at: i64,
    pub client_ip: String,
    pub user_agent: String,
    /// When a second factor was last typed in this session (a remembered browser's session
    /// has none): how the admin area judges that a factor is fresh.
    pub factor_at: Option<i64>,
}

/// A session listed with its user's name.
#[derive(Debug, Clone)]
pub struct SessionListing {
    pub username: String,
    pub row: SessionRow,
}

impl Store {
    /// Records a new session; [`StoreError::SessionGone`] when its user is disabled or gone
    /// (a sign-in that raced with disabling the user opens nothing).
    pub fn insert_session(&self, row: &SessionRow) -> Result<()> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        if !Self::insert_session_row(&tx, row)? {
            return Err(StoreError::SessionGone);
        }
        tx.commit()
    }

    /// Inserts the row if its user exists and is enabled, within the caller's transaction;
    /// whether it did. The user's row is written first (to itself), which holds it locked
    /// until the commit: a disable racing this sign-in waits, then deletes the new session.
    fn insert_session_row(tx: &Tx<'_>, row: &SessionRow) -> Result<bool> {
        if !Self::lock_enabled_user(tx, row.user_id)? {
            return Ok(false);
        }
        Self::insert_locked_session_row(tx, row)?;
        Ok(true)
    }

    /// Inserts the row, its user's row held already by the caller's transaction.
    fn insert_locked_session_row(tx: &Tx<'_>, row: &SessionRow) -> Result<()> {
        tx.execute(
            "INSERT INTO sessions (id_hash, user_id, level, created_at, last_seen, expires_at,
                                   client_ip, user_agent, factor_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                &row.id_hash[..],
                row.user_id,
                i64::from(row.level),
                row.created_at,
                row.last_seen,
                row.expires_at,
                row.client_ip,
                row.user_agent,
                row.factor_at
            ],
        )?;
        Ok(())
    }

    /// Replaces one session by another in one transaction (a change of level). Nothing is
    /// written and `false` returned when the user is disabled or gone, or, with `must_exist`,
    /// when the old session is gone (it was revoked meanwhile: it must not be raised).
    pub fn replace_session(
        &self,
        old: &[u8; 32],
        new: &SessionRow,
        must_exist: bool,
    ) -> Result<bool> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        // The user first: a revocation of all their sessions running on another gateway
        // either waits for this to commit (and then sees the new row) or went before.
        if !Self::lock_enabled_user(&tx, new.user_id)? {
            return Ok(false);
        }
        let deleted = tx.execute("DELETE FROM sessions WHERE id_hash = ?1", params![&old[..]])?;
        if must_exist && deleted == 0 {
            return Ok(false);
        }
        Self::insert_locked_session_row(&tx, new)?;
        tx.commit()?;
        Ok(true)
    }

    /// The session with this id hash, counted in [`Store::session_reads`].
    pub fn session(&self, id_hash: &[u8; 32]) -> Result<Option<SessionRow>> {
        self.session_reads.fetch_add(1, Ordering::Relaxed);
        let conn = self.read()?;
        conn.query_opt(
            "SELECT id_hash, user_id, level, created_at, last_seen, expires_at, client_ip,
                    user_agent, factor_at FROM sessions WHERE id_hash = ?1",
            params![&id_hash[..]],
            session_from_row,
        )
    }

    /// How many session rows this store (and its clones) has read.
    pub fn session_reads(&self) -> u64 {
        self.session_reads.load(Ordering::Relaxed)
    }

    /// Deletes one session; false when it was gone already.
    pub fn delete_session(&self, id_hash: &[u8; 32]) -> Result<bool> {
        Ok(self.write()?.execute(
            "DELETE FROM sessions WHERE id_hash = ?1",
            params![&id_hash[..]],
        )? > 0)
    }

    /// Ends every session of a user; returns how many there were.
    pub fn revoke_user_sessions(&self, username: &str) -> Result<usize> {
        let mut count = 0;
        self.change_user(username, |tx, id| {
            count = Self::delete_user_sessions(tx, id)?;
            Ok(())
        })?;
        Ok(count)
    }

    /// Deletes every session of a user within the caller's transaction: how a change to the
    /// user (password, disabling, second factor) signs them out everywhere.
    pub(super) fn delete_user_sessions(tx: &impl Sql, user_id: i64) -> Result<usize> {
        tx.execute("DELETE FROM sessions WHERE user_id = ?1", params![user_id])
    }

    /// Records when sessions were last seen (batched by the gateway).
    pub fn touch_sessions(&self, seen: &[([u8; 32], i64)]) -> Result<()> {
        let mut conn = self.write()?;
        // In one order on every gateway: two flushing the same sessions at once wait for
        // each other rather than deadlock.
        let mut seen = seen.to_vec();
        seen.sort_unstable();
        if let Handle::Pg(pg) = &conn {
            // Over the network, a statement per session would be a round trip each.
            return super::postgres::touch_sessions(pg, &seen);
        }
        let tx = conn.transaction()?;
        for (hash, at) in &seen {
            tx.execute(
                "UPDATE sessions SET last_seen = CASE WHEN last_seen < ?2 THEN ?2 ELSE last_seen END
                 WHERE id_hash = ?1",
                params![&hash[..], at],
            )?;
        }
        tx.commit()
    }

    /// Deletes sessions past their absolute expiry or idle for longer than `idle_secs`.
    pub fn sweep_sessions(&self, now: i64, idle_secs: i64) -> Result<usize> {
        self.write()?.execute(
            "DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen + ?2 <= ?1",
            params![now, idle_secs],
        )
    }

    /// Sessions with their user's name, of one user or of all; by user, most recently seen
    /// first.
    pub fn list_sessions(&self, username: Option<&str>) -> Result<Vec<SessionListing>> {
        let conn = self.read()?;
        conn.query_all(
            "SELECT s.id_hash, s.user_id, s.level, s.created_at, s.last_seen, s.expires_at,
                    s.client_ip, s.user_agent, s.factor_at, u.username
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE CAST(?1 AS TEXT) IS NULL OR u.username = ?1 COLLATE NOCASE
             ORDER BY u.username, s.last_seen DESC",
            params![username],
            |r| {
                Ok(SessionListing {
                    row: session_from_row(r)?,
                    username: r.get(9)?,
                })
            },
        )
    }
}

fn session_from_row(r: &Row<'_>) -> Result<SessionRow> {
    Ok(SessionRow {
        id_hash: r.hash(0)?,
        user_id: r.get(1)?,
        level: u8::try_from(r.get::<i64>(2)?).unwrap_or(u8::MAX),
        created_at: r.get(3)?,
        last_seen: r.get(4)?,
        expires_at: r.get(5)?,
        client_ip: r.get(6)?,
        user_agent: r.get(7)?,
        factor_at: r.get(8)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{store, user};

    #[test]
    fn the_sweep_removes_idle_and_expired_sessions_only() {
        let (_d, s) = store();
        let id = user(&s, "dave");
        let row = |n: u8, last_seen: i64, expires_at: i64| SessionRow {
            id_hash: [n; 32],
            user_id: id,
            level: 1,
            created_at: 0,
            last_seen,
            expires_at,
            client_ip: "127.0.0.1".into(),
            user_agent: "t".into(),
            factor_at: None,
        };
        s.insert_session(&row(1, 990, 2000)).unwrap(); // live
        s.insert_session(&row(2, 100, 2000)).unwrap(); // idle for 900 s
        s.insert_session(&row(3, 995, 1000)).unwrap(); // past its absolute expiry
        assert_eq!(s.sweep_sessions(1000, 600).unwrap(), 2);
        assert!(s.session(&[1; 32]).unwrap().is_some());
        assert!(s.session(&[2; 32]).unwrap().is_none());
        assert!(s.session(&[3; 32]).unwrap().is_none());
    }
}
