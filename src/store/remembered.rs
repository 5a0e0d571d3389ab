//! Remembered browsers: the `remembered_browsers` table.
//!
//! A browser the user chose to remember at the second-factor step skips that step (never the
//! password) until its row expires. The browser holds a random token; only its SHA-256 is
//! stored, with the user it belongs to, so a token works for that user alone. Rows end with
//! the password, the second factor (disabled or reset), the user (disabled or deleted), or one
//! by one from the account page.

use super::db::{params, Sql};

use super::{Result, Store};

/// A remembered browser, as the account page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RememberedBrowser {
    pub token_hash: [u8; 32],
    pub user_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used: Option<i64>,
    pub client_ip: String,
    pub user_agent: String,
}

impl Store {
    /// Remembers a browser of an enabled user; nothing when the user is gone or disabled.
    /// The user's row is held meanwhile, so a password change, a disable or a second-factor
    /// reset on another gateway (which forget remembered browsers) comes wholly before or
    /// after, never between.
    pub fn remember_browser(&self, row: &RememberedBrowser) -> Result<()> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        if !Self::lock_enabled_user(&tx, row.user_id)? {
            return Ok(());
        }
        tx.execute(
            "INSERT INTO remembered_browsers
                 (token_hash, user_id, created_at, expires_at, client_ip, user_agent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                &row.token_hash[..],
                row.user_id,
                row.created_at,
                row.expires_at,
                row.client_ip,
                row.user_agent
            ],
        )?;
        tx.commit()
    }

    /// Whether the browser with this token hash is remembered for `user_id` at `now`, and for
    /// less than `longest` seconds (the setting now, which may have been lowered since); when
    /// it is, records the use.
    pub fn use_remembered_browser(
        &self,
        token_hash: &[u8; 32],
        user_id: i64,
        now: i64,
        longest: i64,
    ) -> Result<bool> {
        Ok(self.write()?.execute(
            "UPDATE remembered_browsers SET last_used = ?3
             WHERE token_hash = ?1 AND user_id = ?2 AND expires_at > ?3
               AND created_at + ?4 > ?3",
            params![&token_hash[..], user_id, now, longest],
        )? == 1)
    }

    /// The browsers remembered for a user at `now`, newest first.
    pub fn remembered_browsers(&self, user_id: i64, now: i64) -> Result<Vec<RememberedBrowser>> {
        let conn = self.read()?;
        conn.query_all(
            "SELECT token_hash, user_id, created_at, expires_at, last_used, client_ip,
                    user_agent
             FROM remembered_browsers WHERE user_id = ?1 AND expires_at > ?2
             ORDER BY created_at DESC",
            params![user_id, now],
            |r| {
                Ok(RememberedBrowser {
                    token_hash: r.hash(0)?,
                    user_id: r.get(1)?,
                    created_at: r.get(2)?,
                    expires_at: r.get(3)?,
                    last_used: r.get(4)?,
                    client_ip: r.get(5)?,
                    user_agent: r.get(6)?,
                })
            },
        )
    }

    /// Forgets one browser of a user; false when it was not theirs or gone already.
    pub fn forget_browser(&self, token_hash: &[u8; 32], user_id: i64) -> Result<bool> {
        Ok(self.write()?.execute(
            "DELETE FROM remembered_browsers WHERE token_hash = ?1 AND user_id = ?2",
            params![&token_hash[..], user_id],
        )? == 1)
    }

    /// Deletes expired rows.
    pub fn sweep_remembered_browsers(&self, now: i64) -> Result<usize> {
        self.write()?.execute(
            "DELETE FROM remembered_browsers WHERE expires_at <= ?1",
            params![now],
        )
    }

    /// Forgets every browser of a user, within the caller's transaction.
    pub(super) fn forget_browsers_of(tx: &impl Sql, user_id: i64) -> Result<usize> {
        tx.execute(
            "DELETE FROM remembered_browsers WHERE user_id = ?1",
            params![user_id],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{store, user};

    fn browser(user_id: i64, n: u8, expires_at: i64) -> RememberedBrowser {
        RememberedBrowser {
            token_hash: [n; 32],
            user_id,
            created_at: 100,
            expires_at,
            last_used: None,
            client_ip: "127.0.0.1".into(),
            user_agent: "t".into(),
        }
    }

    #[test]
    fn a_remembered_browser_works_for_its_user_until_it_expires() {
        let (_d, s) = store();
        let alice = user(&s, "alice");
        let bob = user(&s, "bob");
        s.remember_browser(&browser(alice, 1, 200)).unwrap();
        assert!(s
            .use_remembered_browser(&[1; 32], alice, 150, 1000)
            .unwrap());
        assert!(!s.use_remembered_browser(&[1; 32], bob, 150, 1000).unwrap());
        assert!(!s
            .use_remembered_browser(&[1; 32], alice, 200, 1000)
            .unwrap());
        assert!(!s
            .use_remembered_browser(&[2; 32], alice, 150, 1000)
            .unwrap());
        // The setting lowered to 40 s since it was remembered (at 100): no longer.
        assert!(!s.use_remembered_browser(&[1; 32], alice, 150, 40).unwrap());
        let listed = s.remembered_browsers(alice, 150).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].last_used, Some(150));
        assert!(!s.forget_browser(&[1; 32], bob).unwrap());
        assert!(s.forget_browser(&[1; 32], alice).unwrap());
        assert!(!s
            .use_remembered_browser(&[1; 32], alice, 150, 1000)
            .unwrap());
    }

    #[test]
    fn password_second_factor_and_disabling_forget_every_browser() {
        let (_d, s) = store();
        let alice = user(&s, "alice");
        s.remember_browser(&browser(alice, 1, 200)).unwrap();
        s.set_password("alice", "new hash").unwrap();
        assert!(s.remembered_browsers(alice, 150).unwrap().is_empty());
        s.remember_browser(&browser(alice, 2, 200)).unwrap();
        s.reset_second_factor("alice").unwrap();
        assert!(s.remembered_browsers(alice, 150).unwrap().is_empty());
        s.remember_browser(&browser(alice, 3, 200)).unwrap();
        s.disable_totp(alice).unwrap();
        assert!(s.remembered_browsers(alice, 150).unwrap().is_empty());
        s.remember_browser(&browser(alice, 4, 200)).unwrap();
        s.set_disabled("alice", true).unwrap();
        assert!(s.remembered_browsers(alice, 150).unwrap().is_empty());
    }
}
