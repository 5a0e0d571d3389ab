//! The second factor: the `totp`, `totp_pending` and `recovery_codes` tables.
//!
//! TOTP secrets are stored sealed (nonce and ciphertext; the key lives in `auth::keys`, never
//! here), with the last accepted time step so a code is accepted once. A pending enrolment
//! belongs to the session that started it. Recovery codes are stored as salted hashes and
//! consumed at most once. Turning the second factor on or off changes all three tables in one
//! transaction.

use super::db::{params, Row, Sql};

use super::{Result, Store};

/// An encrypted TOTP secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// The TOTP state of a user.
#[derive(Debug, Clone)]
pub struct TotpRow {
    pub secret: SealedSecret,
    /// Last accepted time step; codes at or before it are refused.
    pub last_step: Option<i64>,
}

/// A TOTP secret waiting for its first code.
#[derive(Debug, Clone)]
pub struct PendingEnrolment {
    pub secret: SealedSecret,
    pub created_at: i64,
    /// The session that started it; only that session may see or confirm it.
    pub session_hash: Option<Vec<u8>>,
}

/// A recovery code hash with its row id.
#[derive(Debug, Clone)]
pub struct RecoveryCodeRow {
    pub id: i64,
    pub hash: String,
}

/// Which second factors a user has set up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Enrolled {
    pub totp: bool,
    pub passkeys: bool,
}

impl Enrolled {
    /// Whether the user has any second factor.
    pub fn any(self) -> bool {
        self.totp || self.passkeys
    }
}

impl Store {
    /// Which second factors a user has set up, in one read.
    pub fn enrolled(&self, user_id: i64) -> Result<Enrolled> {
        Self::enrolled_on(&self.read()?, user_id)
    }

    /// [`Store::enrolled`] on `conn` (a reader, or the caller's transaction).
    fn enrolled_on(conn: &impl Sql, user_id: i64) -> Result<Enrolled> {
        conn.query_one(
            "SELECT EXISTS (SELECT 1 FROM totp WHERE user_id = ?1),
                    EXISTS (SELECT 1 FROM passkeys WHERE user_id = ?1)",
            params![user_id],
            |r| {
                Ok(Enrolled {
                    totp: r.get(0)?,
                    passkeys: r.get(1)?,
                })
            },
        )
    }

    // -- TOTP --------------------------------------------------------------------------------

    /// The enabled TOTP secret of a user.
    pub fn totp(&self, user_id: i64) -> Result<Option<TotpRow>> {
        self.read()?.query_opt(
            "SELECT nonce, ciphertext, last_step FROM totp WHERE user_id = ?1",
            params![user_id],
            |r| {
                Ok(TotpRow {
                    secret: sealed_secret_from_row(r)?,
                    last_step: r.get(2)?,
                })
            },
        )
    }

    /// The pending enrolment of a user.
    pub fn totp_pending(&self, user_id: i64) -> Result<Option<PendingEnrolment>> {
        self.read()?.query_opt(
            "SELECT nonce, ciphertext, created_at, session_hash FROM totp_pending
                 WHERE user_id = ?1",
            params![user_id],
            |r| {
                Ok(PendingEnrolment {
                    secret: sealed_secret_from_row(r)?,
                    created_at: r.get(2)?,
                    session_hash: r.get(3)?,
                })
            },
        )
    }

    /// Whether any user has a TOTP secret (enabled or pending).
    pub fn has_sealed_secrets(&self) -> Result<bool> {
        self.read()?.query_one(
            "SELECT EXISTS(SELECT 1 FROM totp) OR EXISTS(SELECT 1 FROM totp_pending)",
            params![],
            |r| r.get(0),
        )
    }

    /// Starts (or restarts) the enrolment of a user from the session `session_hash`.
    pub fn set_totp_pending(
        &self,
        user_id: i64,
        secret: &SealedSecret,
        now: i64,
        session_hash: &[u8; 32],
    ) -> Result<()> {
        self.write()?.execute(
            "INSERT INTO totp_pending (user_id, nonce, ciphertext, created_at, session_hash)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(user_id) DO UPDATE SET nonce = excluded.nonce,
                 ciphertext = excluded.ciphertext, created_at = excluded.created_at,
                 session_hash = excluded.session_hash",
            params![
                user_id,
                secret.nonce,
                secret.ciphertext,
                now,
                &session_hash[..]
            ],
        )?;
        Ok(())
    }

    /// Records `step` as the last accepted one, unless a step at or after it was accepted
    /// already: returns false then (the code is a replay or lost a race).
    pub fn accept_totp_step(&self, user_id: i64, step: i64) -> Result<bool> {
        Ok(self.write()?.execute(
            "UPDATE totp SET last_step = ?2
             WHERE user_id = ?1 AND (last_step IS NULL OR last_step < ?2)",
            params![user_id, step],
        )? == 1)
    }

    /// Turns the pending enrolment into the enabled secret, with `step` accepted and a new set
    /// of recovery codes, in one transaction. False when the pending enrolment is gone.
    pub fn confirm_totp(
        &self,
        user_id: i64,
        expected: &SealedSecret,
        step: i64,
        code_hashes: &[String],
        now: i64,
    ) -> Result<bool> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        Self::lock_user(&tx, user_id)?;
        let removed = tx.execute(
            "DELETE FROM totp_pending WHERE user_id = ?1 AND nonce = ?2 AND ciphertext = ?3",
            params![user_id, expected.nonce, expected.ciphertext],
        )?;
        if removed != 1 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO totp (user_id, nonce, ciphertext, last_step, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(user_id) DO UPDATE SET nonce = excluded.nonce,
                 ciphertext = excluded.ciphertext, last_step = excluded.last_step,
                 created_at = excluded.created_at",
            params![user_id, expected.nonce, expected.ciphertext, step, now],
        )?;
        Self::write_recovery_codes(&tx, user_id, code_hashes)?;
        // Enrolled: nothing more is owed before reaching the apps.
        tx.execute(
            "UPDATE users SET must_enrol = FALSE WHERE id = ?1",
            params![user_id],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Removes TOTP of a user (the user turned it off) and the browsers it remembered, and
    /// their recovery codes unless a passkey remains as their second factor. Returns whether
    /// one does.
    pub fn disable_totp(&self, user_id: i64) -> Result<bool> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        Self::lock_user(&tx, user_id)?;
        tx.execute("DELETE FROM totp WHERE user_id = ?1", params![user_id])?;
        tx.execute(
            "DELETE FROM totp_pending WHERE user_id = ?1",
            params![user_id],
        )?;
        Self::forget_browsers_of(&tx, user_id)?;
        let passkey_left = Self::forget_factors_if_none_left(&tx, user_id)?;
        tx.commit()?;
        Ok(passkey_left)
    }

    /// Whether the user has a second factor (TOTP or a passkey), within the caller's
    /// transaction.
    fn has_second_factor(tx: &impl Sql, user_id: i64) -> Result<bool> {
        Ok(Self::enrolled_on(tx, user_id)?.any())
    }

    /// When a user has no second factor left (no TOTP, no passkey), forgets what only a second
    /// factor gives: recovery codes and remembered browsers. Within the caller's transaction;
    /// returns whether one is left.
    pub(super) fn forget_factors_if_none_left(tx: &impl Sql, user_id: i64) -> Result<bool> {
        let left = Self::has_second_factor(tx, user_id)?;
        if !left {
            Self::delete_second_factor(tx, user_id)?;
        }
        Ok(left)
    }

    /// Writes `hashes` as the user's recovery codes when they have no TOTP and no unused code
    /// (a first passkey's set), within the caller's transaction; returns whether it did.
    pub(super) fn write_first_codes(
        tx: &impl Sql,
        user_id: i64,
        hashes: &[String],
    ) -> Result<bool> {
        let first: bool = tx.query_one(
            "SELECT NOT EXISTS (SELECT 1 FROM totp WHERE user_id = ?1)
                AND NOT EXISTS (SELECT 1 FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL)",
            params![user_id],
            |r| r.get(0))?;
        if first {
            Self::write_recovery_codes(tx, user_id, hashes)?;
        }
        Ok(first)
    }

    /// Removes TOTP (enabled and pending), recovery codes, passkeys and remembered browsers,
    /// and ends every session.
    pub fn reset_second_factor(&self, username: &str) -> Result<()> {
        self.change_user(username, |tx, id| {
            Self::delete_second_factor(tx, id)?;
            Self::delete_passkeys_of(tx, id)?;
            Self::delete_user_sessions(tx, id)?;
            Ok(())
        })
    }

    /// Deletes the enabled secret, the pending enrolment, the recovery codes and the
    /// remembered browsers of a user, within the caller's transaction.
    fn delete_second_factor(tx: &impl Sql, user_id: i64) -> Result<()> {
        Self::forget_browsers_of(tx, user_id)?;
        tx.execute("DELETE FROM totp WHERE user_id = ?1", params![user_id])?;
        tx.execute(
            "DELETE FROM totp_pending WHERE user_id = ?1",
            params![user_id],
        )?;
        tx.execute(
            "DELETE FROM recovery_codes WHERE user_id = ?1",
            params![user_id],
        )?;
        Ok(())
    }

    // -- recovery codes ----------------------------------------------------------------------

    fn write_recovery_codes(tx: &impl Sql, user_id: i64, hashes: &[String]) -> Result<()> {
        tx.execute(
            "DELETE FROM recovery_codes WHERE user_id = ?1",
            params![user_id],
        )?;
        for h in hashes {
            tx.execute(
                "INSERT INTO recovery_codes (user_id, hash) VALUES (?1, ?2)",
                params![user_id, h],
            )?;
        }
        Ok(())
    }

    /// Replaces the whole set of a user's recovery codes.
    ///
    /// Only for a user with a second factor (TOTP or a passkey): false, and nothing written,
    /// when theirs went meanwhile.
    pub fn replace_recovery_codes(&self, user_id: i64, hashes: &[String]) -> Result<bool> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        Self::lock_user(&tx, user_id)?;
        if !Self::has_second_factor(&tx, user_id)? {
            return Ok(false);
        }
        Self::write_recovery_codes(&tx, user_id, hashes)?;
        tx.commit()?;
        Ok(true)
    }

    /// Unused recovery codes of a user.
    pub fn unused_recovery_codes(&self, user_id: i64) -> Result<Vec<RecoveryCodeRow>> {
        let conn = self.read()?;
        conn.query_all(
            "SELECT id, hash FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL ORDER BY id",
            params![user_id],
            |r| {
                Ok(RecoveryCodeRow {
                    id: r.get(0)?,
                    hash: r.get(1)?,
                })
            },
        )
    }

    /// Marks a code used if it still is unused; returns the count left, or `None` when
    /// another request used it first.
    pub fn consume_recovery_code(&self, user_id: i64, id: i64, now: i64) -> Result<Option<i64>> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        let changed = tx.execute(
            "UPDATE recovery_codes SET used_at = ?3 WHERE id = ?1 AND user_id = ?2 AND used_at IS NULL",
            params![id, user_id, now])?;
        if changed != 1 {
            return Ok(None);
        }
        let left = Self::count_recovery_codes_left(&tx, user_id)?;
        tx.commit()?;
        Ok(Some(left))
    }

    /// How many unused recovery codes a user has.
    pub fn recovery_codes_left(&self, user_id: i64) -> Result<i64> {
        let conn = self.read()?;
        Self::count_recovery_codes_left(&conn, user_id)
    }

    fn count_recovery_codes_left(conn: &impl Sql, user_id: i64) -> Result<i64> {
        conn.query_one(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
            params![user_id],
            |r| r.get(0),
        )
    }
}

/// The sealed secret in the first two columns (`nonce, ciphertext`) of a row.
fn sealed_secret_from_row(r: &Row<'_>) -> Result<SealedSecret> {
    Ok(SealedSecret {
        nonce: r.get(0)?,
        ciphertext: r.get(1)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{store, user};

    #[test]
    fn a_recovery_code_is_consumed_once() {
        let (_d, s) = store();
        let id = user(&s, "bob");
        // Nobody gets codes without a second factor.
        assert!(!s.replace_recovery_codes(id, &["h0".into()]).unwrap());
        assert_eq!(s.recovery_codes_left(id).unwrap(), 0);
        let key = crate::store::NewPasskey {
            user_id: id,
            credential_id: b"k".to_vec(),
            rp_id: "example.com".into(),
            name: "Key".into(),
            credential: "{}".into(),
            counter: 0,
        };
        s.add_passkey(&key, 1).unwrap();
        assert!(s
            .replace_recovery_codes(id, &["h1".into(), "h2".into()])
            .unwrap());
        let codes = s.unused_recovery_codes(id).unwrap();
        assert_eq!(
            s.consume_recovery_code(id, codes[0].id, 5).unwrap(),
            Some(1)
        );
        assert_eq!(s.consume_recovery_code(id, codes[0].id, 6).unwrap(), None);
        assert_eq!(s.recovery_codes_left(id).unwrap(), 1);
    }

    #[test]
    fn totp_steps_only_move_forward() {
        let (_d, s) = store();
        let id = user(&s, "carol");
        let sealed = SealedSecret {
            nonce: vec![1],
            ciphertext: vec![2],
        };
        s.set_totp_pending(id, &sealed, 1, &[7; 32]).unwrap();
        assert!(s.confirm_totp(id, &sealed, 10, &[], 1).unwrap());
        assert!(!s.accept_totp_step(id, 10).unwrap());
        assert!(!s.accept_totp_step(id, 9).unwrap());
        assert!(s.accept_totp_step(id, 11).unwrap());
    }
}
