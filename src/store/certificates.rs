//! Certificates at the edge: the ACME account, the certificates it was issued, the HTTP-01
//! answers of orders under way, and who is ordering for a host.
//!
//! Kept in the store so that gateways on one database share one account and one certificate
//! per host, any of them answers a challenge whichever the CA reaches, and only one orders at
//! a time. Private keys are stored sealed (the caller seals them under the key file).

use super::db::{params, Sql};

use super::{Result, Store};

/// An issued certificate: the PEM chain and its sealed private key.
#[derive(Debug, Clone)]
pub struct CertificateRow {
    pub host: String,
    pub chain: String,
    pub sealed_key: Vec<u8>,
    pub not_after: i64,
    /// When it was stored (unix milliseconds): tells gateways a newer one from the one they serve.
    pub updated: i64,
}

impl Store {
    /// Every stored certificate.
    pub fn certificates(&self) -> Result<Vec<CertificateRow>> {
        self.read()?.query_all(
            "SELECT host, chain, key, not_after, updated FROM certificates ORDER BY host",
            params![],
            |r| {
                Ok(CertificateRow {
                    host: r.get(0)?,
                    chain: r.get(1)?,
                    sealed_key: r.get(2)?,
                    not_after: r.get(3)?,
                    updated: r.get(4)?,
                })
            },
        )
    }

    /// Stores the certificate of `row.host`, replacing the one it had unless that one lasts
    /// longer (a late write never replaces a newer certificate).
    pub fn put_certificate(&self, row: &CertificateRow) -> Result<()> {
        self.write()?.execute(
            "INSERT INTO certificates (host, chain, key, not_after, updated)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(host) DO UPDATE SET chain = excluded.chain, key = excluded.key,
                 not_after = excluded.not_after, updated = excluded.updated
                 WHERE certificates.not_after < excluded.not_after",
            params![
                row.host.as_str(),
                row.chain.as_str(),
                row.sealed_key.as_slice(),
                row.not_after,
                row.updated
            ],
        )?;
        Ok(())
    }

    /// The sealed credentials of the account on `directory`, if one was created.
    pub fn acme_account(&self, directory: &str) -> Result<Option<Vec<u8>>> {
        self.read()?.query_opt(
            "SELECT credentials FROM acme_accounts WHERE directory = ?1",
            params![directory],
            |r| r.get(0),
        )
    }

    /// Stores an account's sealed credentials unless another gateway stored one first, or in
    /// place of `stale` (an account the CA no longer knows) if that is still the one stored;
    /// returns the credentials in force.
    pub fn put_acme_account(
        &self,
        directory: &str,
        sealed: &[u8],
        stale: Option<&[u8]>,
    ) -> Result<Vec<u8>> {
        let conn = self.write()?;
        conn.execute(
            "INSERT INTO acme_accounts (directory, credentials) VALUES (?1, ?2)
             ON CONFLICT(directory) DO UPDATE SET credentials = excluded.credentials
                 WHERE acme_accounts.credentials = ?3",
            params![directory, sealed, stale],
        )?;
        conn.query_one(
            "SELECT credentials FROM acme_accounts WHERE directory = ?1",
            params![directory],
            |r| r.get(0),
        )
    }

    /// Publishes an HTTP-01 answer to every gateway until `expires`.
    pub fn put_challenge(&self, token: &str, key_authorization: &str, expires: i64) -> Result<()> {
        self.write()?.execute(
            "INSERT INTO acme_challenges (token, key_authorization, expires) VALUES (?1, ?2, ?3)
             ON CONFLICT(token) DO UPDATE SET key_authorization = excluded.key_authorization,
                 expires = excluded.expires",
            params![token, key_authorization, expires],
        )?;
        Ok(())
    }

    /// Withdraws `token`, and every answer past its time.
    pub fn withdraw_challenge(&self, token: &str, now: i64) -> Result<()> {
        self.write()?.execute(
            "DELETE FROM acme_challenges WHERE token = ?1 OR expires <= ?2",
            params![token, now],
        )?;
        Ok(())
    }

    /// Takes the right to order for `host` until `until`, unless another holder has it at
    /// `now`; returns whether `holder` has it.
    pub fn take_acme_lease(&self, host: &str, holder: &str, now: i64, until: i64) -> Result<bool> {
        let taken: Option<String> = self.write()?.query_opt(
            "INSERT INTO acme_leases (host, holder, until) VALUES (?1, ?2, ?3)
             ON CONFLICT(host) DO UPDATE SET holder = excluded.holder, until = excluded.until
                 WHERE acme_leases.until <= ?4 OR acme_leases.holder = excluded.holder
             RETURNING holder",
            params![host, holder, until, now],
            |r| r.get(0),
        )?;
        Ok(taken.is_some())
    }

    /// Gives the right to order for `host` back, if `holder` still has it.
    pub fn release_acme_lease(&self, host: &str, holder: &str) -> Result<()> {
        self.write()?.execute(
            "DELETE FROM acme_leases WHERE host = ?1 AND holder = ?2",
            params![host, holder],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn one_holder_orders_at_a_time_until_its_lease_ends() {
        let (_d, s) = store();
        assert!(s.take_acme_lease("a.test", "one", 100, 200).unwrap());
        assert!(!s.take_acme_lease("a.test", "two", 150, 250).unwrap());
        // The holder may extend its own lease; another host is free.
        assert!(s.take_acme_lease("a.test", "one", 150, 300).unwrap());
        assert!(s.take_acme_lease("b.test", "two", 150, 250).unwrap());
        // Past its end, or once given back, another may take it.
        assert!(s.take_acme_lease("a.test", "two", 300, 400).unwrap());
        s.release_acme_lease("a.test", "one").unwrap();
        assert!(!s.take_acme_lease("a.test", "one", 301, 400).unwrap());
        s.release_acme_lease("a.test", "two").unwrap();
        assert!(s.take_acme_lease("a.test", "one", 301, 400).unwrap());
    }

    #[test]
    fn the_first_account_stored_is_the_one_every_gateway_uses() {
        let (_d, s) = store();
        assert_eq!(s.acme_account("https://ca/dir").unwrap(), None);
        let put = |new: &[u8], stale: Option<&[u8]>| {
            s.put_acme_account("https://ca/dir", new, stale).unwrap()
        };
        assert_eq!(put(b"first", None), b"first");
        assert_eq!(put(b"second", None), b"first");
        assert_eq!(s.acme_account("https://ca/dir").unwrap().unwrap(), b"first");
        // An account the CA forgot is replaced once: a second gateway that saw the same stale
        // account gets the replacement, not its own.
        assert_eq!(put(b"third", Some(b"first")), b"third");
        assert_eq!(put(b"fourth", Some(b"first")), b"third");
    }

    #[test]
    fn challenges_are_published_until_withdrawn_or_past_their_time() {
        let (_d, s) = store();
        // Gateways answer from memory (PostgreSQL announces each row); the rows themselves:
        let published = |token: &str| -> Option<String> {
            s.read()
                .unwrap()
                .query_opt(
                    "SELECT key_authorization FROM acme_challenges WHERE token = ?1",
                    params![token],
                    |r| r.get(0),
                )
                .unwrap()
        };
        s.put_challenge("tok", "tok.thumb", 100).unwrap();
        s.put_challenge("old", "old.thumb", 50).unwrap();
        assert_eq!(published("tok").as_deref(), Some("tok.thumb"));
        s.withdraw_challenge("tok", 60).unwrap();
        assert_eq!(published("tok"), None);
        assert_eq!(published("old"), None, "swept with it");
    }

    #[test]
    fn a_certificate_is_replaced_by_its_renewal() {
        let (_d, s) = store();
        let mut row = CertificateRow {
            host: "a.test".into(),
            chain: "one".into(),
            sealed_key: vec![1, 2],
            not_after: 10,
            updated: 1,
        };
        s.put_certificate(&row).unwrap();
        row.chain = "two".into();
        row.updated = 2;
        row.not_after = 20;
        s.put_certificate(&row).unwrap();
        // An older one, stored late, does not replace it.
        let late = CertificateRow {
            chain: "late".into(),
            not_after: 15,
            updated: 3,
            ..row.clone()
        };
        s.put_certificate(&late).unwrap();
        let all = s.certificates().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!((all[0].chain.as_str(), all[0].updated), ("two", 2));
        assert_eq!(all[0].sealed_key, vec![1, 2]);
    }
}
