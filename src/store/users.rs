//! Users and their groups: the `users` and `user_groups` tables.
//!
//! Usernames are unique whatever their case. Every change to a named user (the command line's
//! work) runs in one transaction through [`Store::change_user`], which also bumps the
//! generation so running gateways drop what they cached; a change that must end the user's
//! sessions or second factor does so in that same transaction. Password hashes are stored as
//! given: hashing is `auth::password`'s.

use super::db::{is_constraint_violation, params, Row, Sql, Tx};

use super::{Result, Store, StoreError};

/// A user as the gateway needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: i64,
    pub groups: Vec<String>,
    /// Must set up a second factor before reaching any app (set when an invite is accepted
    /// with two factors asked of the person; cleared when TOTP is turned on).
    pub must_enrol: bool,
}

/// Fields of a new user.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub password_hash: String,
    pub groups: Vec<String>,
}

impl Store {
    /// Creates a user with their groups; returns its id. A name taken in any case is
    /// [`StoreError::DuplicateUser`].
    pub fn create_user(&self, new: &NewUser, now: i64) -> Result<i64> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        let inserted = tx.query_one(
            "INSERT INTO users (username, email, display_name, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            params![
                new.username,
                new.email,
                new.display_name,
                new.password_hash,
                now
            ],
            |r| r.get::<i64>(0),
        );
        let id = match inserted {
            Err(e) if is_constraint_violation(&e) => {
                return Err(StoreError::DuplicateUser(new.username.clone()));
            }
            other => other?,
        };
        for g in &new.groups {
            tx.execute(
                "INSERT INTO user_groups (user_id, name) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![id, g],
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    fn user_from_row(conn: &impl Sql, row: &Row<'_>) -> Result<User> {
        let id: i64 = row.get(0)?;
        let groups = conn.query_all(
            "SELECT name FROM user_groups WHERE user_id = ?1 ORDER BY name",
            params![id],
            |r| r.get(0),
        )?;
        Ok(User {
            id,
            username: row.get(1)?,
            email: row.get(2)?,
            display_name: row.get(3)?,
            password_hash: row.get(4)?,
            disabled: row.get(5)?,
            created_at: row.get(6)?,
            must_enrol: row.get(7)?,
            groups,
        })
    }

    const USER_COLUMNS: &'static str =
        "id, username, email, display_name, password_hash, disabled, created_at, must_enrol";

    /// The user with this name, whatever its case.
    pub fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        let conn = self.read()?;
        let sql = format!(
            "SELECT {} FROM users WHERE username = ?1",
            Self::USER_COLUMNS
        );
        conn.query_opt(&sql, params![username], |r| Self::user_from_row(&conn, r))
    }

    /// The user with this id.
    pub fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let conn = self.read()?;
        let sql = format!("SELECT {} FROM users WHERE id = ?1", Self::USER_COLUMNS);
        conn.query_opt(&sql, params![id], |r| Self::user_from_row(&conn, r))
    }

    /// Every user, by name.
    pub fn list_users(&self) -> Result<Vec<User>> {
        let conn = self.read()?;
        let sql = format!("SELECT {} FROM users ORDER BY username", Self::USER_COLUMNS);
        conn.query_all(&sql, params![], |r| Self::user_from_row(&conn, r))
    }

    /// Holds the user's row until the caller's transaction ends, if the user exists and is
    /// enabled; whether they do. Written to itself, which PostgreSQL locks (SQLite's write
    /// transactions are serial already): of a sign-in and a change to the user (disabling,
    /// revoking, a second-factor reset) racing on two gateways, one waits for the other, so
    /// the change always sees the session the sign-in made. Announces nothing (the row does
    /// not change).
    pub(super) fn lock_enabled_user(tx: &Tx<'_>, user_id: i64) -> Result<bool> {
        Ok(tx.execute(
            "UPDATE users SET disabled = disabled WHERE id = ?1 AND disabled = FALSE",
            params![user_id],
        )? == 1)
    }

    /// Holds the user's row until the caller's transaction ends, whether or not the user is
    /// enabled: how changes to one user's second factors, which read before they write, run one
    /// after another across gateways.
    pub(super) fn lock_user(tx: &Tx<'_>, user_id: i64) -> Result<()> {
        tx.execute(
            "UPDATE users SET disabled = disabled WHERE id = ?1",
            params![user_id],
        )?;
        Ok(())
    }

    /// The id of the named user, whose row is held until the caller's transaction ends (see
    /// [`Store::lock_enabled_user`]).
    fn require_user(tx: &impl Sql, username: &str) -> Result<i64> {
        tx.query_opt(
            "UPDATE users SET disabled = disabled WHERE username = ?1 RETURNING id",
            params![username],
            |r| r.get(0),
        )?
        .ok_or_else(|| StoreError::UnknownUser(username.to_string()))
    }

    /// Sets a new password hash, ends every session of the user, forgets their remembered
    /// browsers and ends their unused invite links.
    pub fn set_password(&self, username: &str, hash: &str) -> Result<()> {
        self.change_user(username, |tx, id| {
            tx.execute(
                "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                params![hash, id],
            )?;
            Self::delete_user_sessions(tx, id)?;
            Self::forget_browsers_of(tx, id)?;
            // A password set another way ends any link that would set it.
            tx.execute(
                "DELETE FROM invites WHERE user_id = ?1 AND used_at IS NULL",
                params![id],
            )?;
            Ok(())
        })
    }

    /// Disables or enables a user; disabling ends every session and forgets their remembered
    /// browsers.
    pub fn set_disabled(&self, username: &str, disabled: bool) -> Result<()> {
        self.change_user(username, |tx, id| {
            tx.execute(
                "UPDATE users SET disabled = ?1 WHERE id = ?2",
                params![disabled, id],
            )?;
            if disabled {
                Self::delete_user_sessions(tx, id)?;
                Self::forget_browsers_of(tx, id)?;
            }
            Ok(())
        })
    }

    /// Deletes a user and, by cascade, their sessions, secrets and codes.
    pub fn delete_user(&self, username: &str) -> Result<()> {
        self.change_user(username, |tx, id| {
            tx.execute("DELETE FROM users WHERE id = ?1", params![id])?;
            Ok(())
        })
    }

    /// Sets a user's email and display name (`None` clears one).
    pub fn set_profile(
        &self,
        username: &str,
        email: Option<&str>,
        display_name: Option<&str>,
    ) -> Result<()> {
        self.change_user(username, |tx, id| {
            tx.execute(
                "UPDATE users SET email = ?1, display_name = ?2 WHERE id = ?3",
                params![email, display_name, id],
            )?;
            Ok(())
        })
    }

    /// Adds and removes groups.
    pub fn change_groups(&self, username: &str, add: &[String], remove: &[String]) -> Result<()> {
        self.change_user(username, |tx, id| {
            for g in add {
                tx.execute(
                    "INSERT INTO user_groups (user_id, name) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    params![id, g])?;
            }
            for g in remove {
                tx.execute(
                    "DELETE FROM user_groups WHERE user_id = ?1 AND name = ?2",
                    params![id, g])?;
            }
            Ok(())
        })
    }

    /// One transaction around a change to a named user; bumps the generation so running
    /// gateways drop what they cached.
    pub(super) fn change_user(
        &self,
        username: &str,
        f: impl FnOnce(&Tx<'_>, i64) -> Result<()>,
    ) -> Result<()> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        let id = Self::require_user(&tx, username)?;
        f(&tx, id)?;
        Self::bump_generation(&tx)?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{store, user};

    #[test]
    fn duplicate_users_are_refused_whatever_the_case() {
        let (_d, s) = store();
        user(&s, "alice");
        let err = s
            .create_user(
                &NewUser {
                    username: "ALICE".into(),
                    password_hash: "x".into(),
                    ..Default::default()
                },
                1,
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::DuplicateUser(_)));
    }
}
