//! Invites: the `invites` table.
//!
//! An invited user exists from the start, with no password ([`NO_PASSWORD`]: no password
//! verifies against it), so their name is taken and an operator sees them. Their link's token
//! is stored only as its SHA-256. A link is used at most once, even when it is sent many times
//! at once: accepting it is one conditional update in the transaction that sets the password.
//! A used link's row stays, so the page can say the link was used rather than unknown; a new
//! invite for the same user removes the old unused one, and deleting the user removes them all.

use super::db::{is_constraint_violation, params, Sql};

use super::{NewUser, Result, Store, StoreError, User};

/// The password hash of a user who has not chosen a password yet.
pub const NO_PASSWORD: &str = "";

/// What an invite link is worth now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteState {
    /// Open: the user may choose their password through it.
    Open(User),
    /// Used already.
    Used,
    /// Past its expiry.
    Expired,
    /// Never made, replaced by a newer invite, or its user deleted.
    Unknown,
}

impl Store {
    /// Makes an invite link for `new` (whose `password_hash` is ignored): creates the user
    /// without a password, or, for a user still waiting for their first password, replaces
    /// their unused link (their email, name and groups are kept unless given again). A user
    /// who has a password already is [`StoreError::DuplicateUser`]. Returns the user's id.
    pub fn invite_user(
        &self,
        new: &NewUser,
        token_hash: &[u8; 32],
        now: i64,
        expires_at: i64,
    ) -> Result<i64> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        let existing: Option<(i64, String)> = tx.query_opt(
            "SELECT id, password_hash FROM users WHERE username = ?1",
            params![&new.username],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let id = match existing {
            Some((_, hash)) if hash != NO_PASSWORD => {
                return Err(StoreError::DuplicateUser(new.username.clone()));
            }
            Some((id, _)) => {
                tx.execute(
                    "UPDATE users SET email = COALESCE(?2, email),
                         display_name = COALESCE(?3, display_name) WHERE id = ?1",
                    params![id, new.email, new.display_name],
                )?;
                tx.execute(
                    "DELETE FROM invites WHERE user_id = ?1 AND used_at IS NULL",
                    params![id],
                )?;
                id
            }
            None => {
                let inserted = tx.query_one(
                    "INSERT INTO users (username, email, display_name, password_hash, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                    params![new.username, new.email, new.display_name, NO_PASSWORD, now],
                    |r| r.get(0),
                );
                match inserted {
                    // Made meanwhile, on another gateway.
                    Err(e) if is_constraint_violation(&e) => {
                        return Err(StoreError::DuplicateUser(new.username.clone()));
                    }
                    other => other?,
                }
            }
        };
        for g in &new.groups {
            tx.execute(
                "INSERT INTO user_groups (user_id, name) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![id, g],
            )?;
        }
        tx.execute(
            "INSERT INTO invites (token_hash, user_id, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![&token_hash[..], id, now, expires_at],
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// What the link with this token hash is worth at `now`.
    pub fn invite(&self, token_hash: &[u8; 32], now: i64) -> Result<InviteState> {
        let row: Option<(i64, i64, Option<i64>)> = self.read()?.query_opt(
            "SELECT user_id, expires_at, used_at FROM invites WHERE token_hash = ?1",
            params![&token_hash[..]],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(match row {
            None => InviteState::Unknown,
            Some((_, _, Some(_))) => InviteState::Used,
            Some((_, expires_at, None)) if expires_at <= now => InviteState::Expired,
            Some((user_id, _, None)) => match self.user_by_id(user_id)? {
                Some(user) if !user.disabled && user.password_hash == NO_PASSWORD => {
                    InviteState::Open(user)
                }
                _ => InviteState::Unknown,
            },
        })
    }

    /// Uses the link: marks it used and sets the user's password (and whether they must set up
    /// a second factor before reaching any app), in one transaction, only if it is still open
    /// at `now` and the user has neither a password nor a second factor yet (of many
    /// concurrent calls, one gets the user, the others `None`).
    pub fn accept_invite(
        &self,
        token_hash: &[u8; 32],
        password_hash: &str,
        must_enrol: bool,
        now: i64,
    ) -> Result<Option<User>> {
        let user_id = {
            let mut conn = self.write()?;
            let tx = conn.transaction()?;
            // The user's row first, as every change to a user takes it: then the link.
            let owner: Option<i64> = tx.value(
                "SELECT user_id FROM invites WHERE token_hash = ?1",
                params![&token_hash[..]],
            )?;
            let Some(owner) = owner else {
                return Ok(None);
            };
            if !Self::lock_enabled_user(&tx, owner)? {
                return Ok(None);
            }
            let user_id: Option<i64> = tx.query_opt(
                "UPDATE invites SET used_at = ?2
                     WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2
                       AND user_id IN (SELECT id FROM users
                                       WHERE disabled = FALSE AND password_hash = ?3)
                       AND user_id NOT IN (SELECT user_id FROM totp)
                     RETURNING user_id",
                params![&token_hash[..], now, NO_PASSWORD],
                |r| r.get(0),
            )?;
            let Some(user_id) = user_id else {
                return Ok(None);
            };
            tx.execute(
                "UPDATE users SET password_hash = ?2, must_enrol = ?3 WHERE id = ?1",
                params![user_id, password_hash, must_enrol],
            )?;
            // Any other open link of theirs dies with this one.
            tx.execute(
                "DELETE FROM invites WHERE user_id = ?1 AND used_at IS NULL",
                params![user_id],
            )?;
            tx.commit()?;
            user_id
        };
        self.user_by_id(user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{store, user};

    fn invitee(name: &str) -> NewUser {
        NewUser {
            username: name.into(),
            groups: vec!["staff".into()],
            ..Default::default()
        }
    }

    #[test]
    fn an_invite_is_used_once_and_then_says_so() {
        let (_d, s) = store();
        s.invite_user(&invitee("carol"), &[1; 32], 100, 200)
            .unwrap();
        let carol = s.user_by_name("carol").unwrap().unwrap();
        assert_eq!(carol.password_hash, NO_PASSWORD);
        assert_eq!(carol.groups, vec!["staff".to_string()]);
        assert!(
            matches!(s.invite(&[1; 32], 150).unwrap(), InviteState::Open(u) if u.id == carol.id)
        );
        let accepted = s
            .accept_invite(&[1; 32], "hash", true, 150)
            .unwrap()
            .unwrap();
        assert_eq!(accepted.password_hash, "hash");
        assert!(accepted.must_enrol);
        assert_eq!(s.accept_invite(&[1; 32], "other", true, 151).unwrap(), None);
        assert_eq!(s.invite(&[1; 32], 151).unwrap(), InviteState::Used);
        assert_eq!(
            s.user_by_name("carol").unwrap().unwrap().password_hash,
            "hash"
        );
    }

    #[test]
    fn an_expired_or_replaced_invite_is_refused() {
        let (_d, s) = store();
        s.invite_user(&invitee("carol"), &[1; 32], 100, 200)
            .unwrap();
        assert_eq!(s.invite(&[1; 32], 200).unwrap(), InviteState::Expired);
        assert_eq!(s.accept_invite(&[1; 32], "hash", true, 200).unwrap(), None);
        // A new invite replaces the old link.
        s.invite_user(&invitee("carol"), &[2; 32], 300, 400)
            .unwrap();
        assert_eq!(s.invite(&[1; 32], 300).unwrap(), InviteState::Unknown);
        assert!(matches!(
            s.invite(&[2; 32], 300).unwrap(),
            InviteState::Open(_)
        ));
        // Deleting the user ends it.
        s.delete_user("carol").unwrap();
        assert_eq!(s.invite(&[2; 32], 300).unwrap(), InviteState::Unknown);
        assert_eq!(s.accept_invite(&[2; 32], "hash", true, 300).unwrap(), None);
    }

    #[test]
    fn a_link_left_open_sets_no_password_once_one_is_set_another_way() {
        let (_d, s) = store();
        s.invite_user(&invitee("carol"), &[1; 32], 100, 200)
            .unwrap();
        s.invite_user(&invitee("dave"), &[2; 32], 100, 200).unwrap();
        // The operator sets Carol's password by hand: her link dies with it.
        s.set_password("carol", "chosen by hand").unwrap();
        assert_eq!(s.invite(&[1; 32], 150).unwrap(), InviteState::Unknown);
        assert_eq!(
            s.accept_invite(&[1; 32], "taken over", false, 150).unwrap(),
            None
        );
        // Had a link survived, a password or a second factor in place refuses it.
        let dave = s.user_by_name("dave").unwrap().unwrap();
        let sealed = crate::store::SealedSecret {
            nonce: vec![0; 12],
            ciphertext: vec![1; 36],
        };
        s.set_totp_pending(dave.id, &sealed, 100, &[9; 32]).unwrap();
        assert!(s.confirm_totp(dave.id, &sealed, 1, &[], 100).unwrap());
        assert_eq!(
            s.accept_invite(&[2; 32], "taken over", false, 150).unwrap(),
            None
        );
        let carol = s.user_by_name("carol").unwrap().unwrap();
        assert_eq!(carol.password_hash, "chosen by hand");
    }

    #[test]
    fn a_user_with_a_password_is_not_invited() {
        let (_d, s) = store();
        user(&s, "alice");
        let err = s
            .invite_user(&invitee("ALICE"), &[1; 32], 100, 200)
            .unwrap_err();
        assert!(matches!(err, StoreError::DuplicateUser(_)));
    }
}
