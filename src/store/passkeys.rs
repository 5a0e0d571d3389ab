//! Passkeys: the `passkeys` table and each user's WebAuthn handle.
//!
//! A passkey is stored with its user: the credential id (unique across users, so one
//! authenticator's key never names two people), the relying-party id it was made for (it
//! works there alone), the name its owner gave it, the library's
//! record of its public key and flags (JSON), and its signature counter, kept in a column of
//! its own so that recording a use is conditional on its moving forward: two uses with the same
//! counter cannot both be recorded. The handle is 16 random bytes, the only name of the user
//! an authenticator holds (never the username). Rows go with the user (`ON DELETE CASCADE`)
//! and with a second-factor reset.

use super::db::{params, Row, Sql};

use super::{Result, Store};

/// A stored passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRow {
    pub id: i64,
    pub user_id: i64,
    pub credential_id: Vec<u8>,
    /// The relying-party id it was made for.
    pub rp_id: String,
    pub name: String,
    /// The library's record of the credential (JSON).
    pub credential: String,
    pub counter: u32,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A passkey to store.
#[derive(Debug, Clone)]
pub struct NewPasskey {
    pub user_id: i64,
    pub credential_id: Vec<u8>,
    pub rp_id: String,
    pub name: String,
    pub credential: String,
    pub counter: u32,
}

const COLUMNS: &str =
    "id, user_id, credential_id, rp_id, name, credential, counter, created_at, last_used_at";

fn row(r: &Row<'_>) -> Result<PasskeyRow> {
    Ok(PasskeyRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        credential_id: r.get(2)?,
        rp_id: r.get(3)?,
        name: r.get(4)?,
        credential: r.get(5)?,
        counter: u32::try_from(r.get::<i64>(6)?).unwrap_or(u32::MAX),
        created_at: r.get(7)?,
        last_used_at: r.get(8)?,
    })
}

impl Store {
    /// The passkeys of a user, oldest first.
    pub fn passkeys(&self, user_id: i64) -> Result<Vec<PasskeyRow>> {
        let conn = self.read()?;
        conn.query_all(
            &format!("SELECT {COLUMNS} FROM passkeys WHERE user_id = ?1 ORDER BY id"),
            params![user_id],
            row,
        )
    }

    /// Whether a user has a passkey.
    pub fn has_passkeys(&self, user_id: i64) -> Result<bool> {
        Ok(self
            .read()?
            .query_opt(
                "SELECT 1 FROM passkeys WHERE user_id = ?1 LIMIT 1",
                params![user_id],
                |_| Ok(()),
            )?
            .is_some())
    }

    /// The passkey with this credential id, whoever owns it.
    pub fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<PasskeyRow>> {
        self.read()?.query_opt(
            &format!("SELECT {COLUMNS} FROM passkeys WHERE credential_id = ?1"),
            params![credential_id],
            row,
        )
    }

    /// The user's WebAuthn handle, made from `fresh` if they have none yet.
    pub fn webauthn_handle(&self, user_id: i64, fresh: [u8; 16]) -> Result<Vec<u8>> {
        let conn = self.write()?;
        conn.execute(
            "UPDATE users SET webauthn_handle = ?2 WHERE id = ?1 AND webauthn_handle IS NULL",
            params![user_id, &fresh[..]],
        )?;
        conn.query_one(
            "SELECT webauthn_handle FROM users WHERE id = ?1",
            params![user_id],
            |r| r.get(0),
        )
    }

    /// The user whose WebAuthn handle this is.
    pub fn user_id_by_webauthn_handle(&self, handle: &[u8]) -> Result<Option<i64>> {
        self.read()?.query_opt(
            "SELECT id FROM users WHERE webauthn_handle = ?1",
            params![handle],
            |r| r.get(0),
        )
    }

    /// Stores a new passkey for an enabled user, who then owes no enrolment; returns its id,
    /// or `None` when the credential is registered already (to anyone) or the user is gone or
    /// disabled. One transaction.
    pub fn add_passkey(&self, new: &NewPasskey, now: i64) -> Result<Option<i64>> {
        Ok(self
            .add_passkey_with_codes(new, &[], now)?
            .map(|(id, _)| id))
    }

    /// [`Store::add_passkey`], and in the same transaction `first_codes` (hashes) as the
    /// user's recovery codes when they have no TOTP and no unused code: the id, and whether the
    /// codes were written.
    pub fn add_passkey_with_codes(
        &self,
        new: &NewPasskey,
        first_codes: &[String],
        now: i64,
    ) -> Result<Option<(i64, bool)>> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        // The user's row is written (to itself) first: held until the commit, so a disable
        // racing this waits for it (as a session's insert does).
        if !Self::lock_enabled_user(&tx, new.user_id)? {
            return Ok(None);
        }
        let inserted: Option<i64> = tx.query_opt(
            "INSERT INTO passkeys
                 (user_id, credential_id, rp_id, name, credential, counter, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (credential_id) DO NOTHING
             RETURNING id",
            params![
                new.user_id,
                new.credential_id,
                new.rp_id,
                new.name,
                new.credential,
                i64::from(new.counter),
                now
            ],
            |r| r.get(0),
        )?;
        let Some(id) = inserted else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE users SET must_enrol = FALSE WHERE id = ?1",
            params![new.user_id],
        )?;
        let written =
            !first_codes.is_empty() && Self::write_first_codes(&tx, new.user_id, first_codes)?;
        tx.commit()?;
        Ok(Some((id, written)))
    }

    /// Renames one of a user's passkeys; false when it is not theirs.
    pub fn rename_passkey(&self, user_id: i64, id: i64, name: &str) -> Result<bool> {
        Ok(self.write()?.execute(
            "UPDATE passkeys SET name = ?3 WHERE id = ?2 AND user_id = ?1",
            params![user_id, id, name],
        )? == 1)
    }

    /// Removes one of a user's passkeys; false when it is not theirs. The last second factor
    /// takes the recovery codes and remembered browsers with it.
    pub fn remove_passkey(&self, user_id: i64, id: i64) -> Result<bool> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        Self::lock_user(&tx, user_id)?;
        let removed = tx.execute(
            "DELETE FROM passkeys WHERE id = ?2 AND user_id = ?1",
            params![user_id, id],
        )? == 1;
        if removed {
            Self::forget_factors_if_none_left(&tx, user_id)?;
        }
        tx.commit()?;
        Ok(removed)
    }

    /// Removes passkey `id` of the named user (the command line, the admin area) and ends their
    /// sessions, as a second-factor reset does (a session may have come from that passkey);
    /// false, and nothing changed, when the user has no such passkey. Bumps the generation, so
    /// running gateways see it at once.
    pub fn remove_passkey_of(&self, username: &str, id: i64) -> Result<bool> {
        let mut removed = false;
        self.change_user(username, |tx, user_id| {
            removed = tx.execute(
                "DELETE FROM passkeys WHERE id = ?2 AND user_id = ?1",
                params![user_id, id],
            )? == 1;
            if removed {
                Self::forget_factors_if_none_left(tx, user_id)?;
                Self::delete_user_sessions(tx, user_id)?;
            }
            Ok(())
        })?;
        Ok(removed)
    }

    /// Records a use of passkey `id` with signature counter `counter`, and its new record:
    /// only if the counter moved past the stored one (or the authenticator keeps none: it was
    /// 0 and is 0).
    /// False when it did not, which means the use came second to another with the same or a
    /// later counter (a copied key), or the passkey is gone: the use is then not accepted.
    pub fn record_passkey_use(
        &self,
        id: i64,
        credential: &str,
        counter: u32,
        now: i64,
    ) -> Result<bool> {
        Ok(self.write()?.execute(
            "UPDATE passkeys SET credential = ?2, counter = ?3, last_used_at = ?4
             WHERE id = ?1 AND (counter < ?3 OR (counter = 0 AND ?3 = 0))",
            params![id, credential, i64::from(counter), now],
        )? == 1)
    }

    /// Deletes every passkey of a user, within the caller's transaction.
    pub(super) fn delete_passkeys_of(tx: &impl Sql, user_id: i64) -> Result<usize> {
        tx.execute("DELETE FROM passkeys WHERE user_id = ?1", params![user_id])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{store, user};

    fn new(user_id: i64, credential_id: &[u8]) -> NewPasskey {
        NewPasskey {
            user_id,
            credential_id: credential_id.to_vec(),
            rp_id: "example.com".into(),
            name: "Laptop".into(),
            credential: "{}".into(),
            counter: 0,
        }
    }

    #[test]
    fn a_credential_belongs_to_one_user_and_only_they_change_it() {
        let (_d, s) = store();
        let alice = user(&s, "alice");
        let bob = user(&s, "bob");
        let id = s.add_passkey(&new(alice, b"k1"), 10).unwrap().unwrap();
        // The same authenticator key for bob (or again for alice) is refused.
        assert_eq!(s.add_passkey(&new(bob, b"k1"), 11).unwrap(), None);
        assert_eq!(s.add_passkey(&new(alice, b"k1"), 11).unwrap(), None);
        assert!(s.has_passkeys(alice).unwrap());
        assert!(!s.has_passkeys(bob).unwrap());
        assert!(!s.rename_passkey(bob, id, "mine").unwrap());
        assert!(!s.remove_passkey(bob, id).unwrap());
        assert!(s.rename_passkey(alice, id, "Phone").unwrap());
        let found = s.passkey_by_credential(b"k1").unwrap().unwrap();
        assert_eq!((found.user_id, found.name.as_str()), (alice, "Phone"));
        assert!(s.remove_passkey(alice, id).unwrap());
        assert!(s.passkeys(alice).unwrap().is_empty());
    }

    #[test]
    fn a_use_is_recorded_once_per_counter_value() {
        let (_d, s) = store();
        let alice = user(&s, "alice");
        let id = s.add_passkey(&new(alice, b"k1"), 10).unwrap().unwrap();
        assert!(s.record_passkey_use(id, "{\"c\":5}", 5, 20).unwrap());
        // The same counter again, or an older one: a copy of the key, or a use that lost the
        // race to a later one. Not recorded.
        assert!(!s.record_passkey_use(id, "{\"c\":5}", 5, 21).unwrap());
        assert!(!s.record_passkey_use(id, "{\"c\":4}", 4, 21).unwrap());
        let row = s.passkeys(alice).unwrap().remove(0);
        assert_eq!((row.counter, row.last_used_at), (5, Some(20)));
        assert_eq!(row.credential, "{\"c\":5}");
        assert!(s.record_passkey_use(id, "{\"c\":6}", 6, 22).unwrap());
        // A key that kept a counter cannot answer with none: 0 does not put it back.
        assert!(!s.record_passkey_use(id, "{\"c\":0}", 0, 23).unwrap());
        // One that keeps none (always 0) is recorded each time.
        let uncounted = s.add_passkey(&new(alice, b"k2"), 10).unwrap().unwrap();
        assert!(s.record_passkey_use(uncounted, "{}", 0, 24).unwrap());
        assert!(s.record_passkey_use(uncounted, "{}", 0, 25).unwrap());
    }

    #[test]
    fn passkeys_go_with_a_reset_and_with_the_user_and_never_reach_a_disabled_one() {
        let (_d, s) = store();
        let alice = user(&s, "alice");
        s.add_passkey(&new(alice, b"k1"), 10).unwrap().unwrap();
        s.reset_second_factor("alice").unwrap();
        assert!(!s.has_passkeys(alice).unwrap());
        let id = s.add_passkey(&new(alice, b"k2"), 10).unwrap().unwrap();
        assert!(!s.remove_passkey_of("alice", id + 1).unwrap());
        assert!(s.remove_passkey_of("alice", id).unwrap());
        s.add_passkey(&new(alice, b"k3"), 10).unwrap().unwrap();
        s.delete_user("alice").unwrap();
        assert!(s.passkey_by_credential(b"k3").unwrap().is_none());
        let bob = user(&s, "bob");
        s.set_disabled("bob", true).unwrap();
        assert_eq!(s.add_passkey(&new(bob, b"k4"), 10).unwrap(), None);
    }

    #[test]
    fn recovery_codes_stay_while_a_second_factor_does() {
        let (_d, s) = store();
        let alice = user(&s, "alice");
        let id = s.add_passkey(&new(alice, b"k1"), 10).unwrap().unwrap();
        assert!(s
            .replace_recovery_codes(alice, &["h1".into(), "h2".into()])
            .unwrap());
        // TOTP off (she had none): the passkey keeps the codes.
        s.disable_totp(alice).unwrap();
        assert_eq!(s.recovery_codes_left(alice).unwrap(), 2);
        // The last passkey gone: nothing is a second factor, the codes go.
        assert!(s.remove_passkey(alice, id).unwrap());
        assert_eq!(s.recovery_codes_left(alice).unwrap(), 0);
        let id = s.add_passkey(&new(alice, b"k2"), 10).unwrap().unwrap();
        assert!(s.replace_recovery_codes(alice, &["h3".into()]).unwrap());
        assert!(s.remove_passkey_of("alice", id).unwrap());
        assert_eq!(s.recovery_codes_left(alice).unwrap(), 0);
    }

    #[test]
    fn a_first_passkey_brings_codes_only_to_someone_without_an_app_or_codes() {
        let (_d, s) = store();
        let alice = user(&s, "alice");
        let first = ["c1".to_string(), "c2".to_string()];
        let added = s.add_passkey_with_codes(&new(alice, b"k1"), &first, 1);
        assert!(added.unwrap().unwrap().1);
        assert_eq!(s.recovery_codes_left(alice).unwrap(), 2);
        // A second passkey: she has codes already.
        let added = s.add_passkey_with_codes(&new(alice, b"k2"), &first, 2);
        assert!(!added.unwrap().unwrap().1);
    }

    #[test]
    fn a_handle_is_made_once_and_names_its_user() {
        let (_d, s) = store();
        let alice = user(&s, "alice");
        let first = s.webauthn_handle(alice, [7; 16]).unwrap();
        assert_eq!(first, vec![7; 16]);
        assert_eq!(s.webauthn_handle(alice, [8; 16]).unwrap(), first);
        assert_eq!(s.user_id_by_webauthn_handle(&[7; 16]).unwrap(), Some(alice));
        assert_eq!(s.user_id_by_webauthn_handle(&[8; 16]).unwrap(), None);
    }
}
