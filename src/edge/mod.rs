//! HTTPS at the edge: the certificates the TLS listener serves, chosen by SNI.
//!
//! One resolver serves every handshake. It holds a table, replaced whole on a change (an ACME
//! issuance or renewal, a reload of `cert`/`key` at `SIGHUP`), so a handshake reads it without
//! a lock and a connection already open keeps the certificate it was made with. Names ACME
//! ordered are looked up by SNI; anything else gets the certificate of `cert`/`key`, if any.
//! The ACME client itself is in [`acme`]; the HTTP-01 answers it publishes are in
//! [`Edge::challenge`].

pub mod acme;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// A certificate chain and its key, ready to serve, with the leaf's validity.
#[derive(Clone)]
pub struct Loaded {
    pub key: Arc<CertifiedKey>,
    /// The leaf's validity, in unix seconds.
    pub not_before: i64,
    pub not_after: i64,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// Which of a certificate and its key a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairPart {
    Cert,
    Key,
}

impl Loaded {
    /// A PEM chain (leaf first) and its PEM private key, checked to belong together.
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<Loaded, String> {
        Loaded::from_pem_parts(chain, key).map_err(|(_, e)| e)
    }

    /// [`Loaded::from_pem`], saying which of the two a problem is in.
    fn from_pem_parts(chain: &[u8], key: &[u8]) -> Result<Loaded, (PairPart, String)> {
        let cert_err = |e: String| (PairPart::Cert, e);
        let key_err = |e: String| (PairPart::Key, e);
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain)
            .collect::<Result<_, _>>()
            .map_err(|e| cert_err(format!("not a PEM certificate chain: {e}")))?;
        let Some(leaf) = certs.first() else {
            return Err(cert_err("no certificate in it".into()));
        };
        let (not_before, not_after) = validity(leaf).map_err(cert_err)?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => key_err("no private key in it".into()),
            e => key_err(format!("not a PEM private key: {e}")),
        })?;
        let signer = rustls::crypto::ring::sign::any_supported_type(&key)
            .map_err(|e| key_err(format!("unusable private key: {e}")))?;
        let key = CertifiedKey::new(certs, signer);
        key.keys_match()
            .map_err(|_| key_err("the private key does not belong to the certificate".into()))?;
        Ok(Loaded {
            key: Arc::new(key),
            not_before,
            not_after,
        })
    }

    /// `cert` and `key` from their files; an error names the file at fault, and says which
    /// of the two it is.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Loaded, (PairPart, String)> {
        let read =
            |p: &Path, part| std::fs::read(p).map_err(|e| (part, format!("{}: {e}", p.display())));
        let (chain, private) = (read(cert, PairPart::Cert)?, read(key, PairPart::Key)?);
        Loaded::from_pem_parts(&chain, &private).map_err(|(part, e)| {
            let culprit = match part {
                PairPart::Cert => cert,
                PairPart::Key => key,
            };
            (part, format!("{}: {e}", culprit.display()))
        })
    }

    /// When a renewal is due: two thirds into the certificate's life.
    pub fn renew_at(&self) -> i64 {
        self.not_before + (self.not_after - self.not_before) * 2 / 3
    }
}

/// A unix time as people read it (`2026-11-24T06:00:10Z`).
pub fn when(unix: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The leaf certificate's validity period, in unix seconds.
fn validity(leaf: &CertificateDer<'_>) -> Result<(i64, i64), String> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| format!("unreadable certificate: {e}"))?;
    let v = cert.validity();
    Ok((v.not_before.timestamp(), v.not_after.timestamp()))
}

/// What each handshake reads: certificates by lowercase host name, and the one for the rest.
#[derive(Default, Clone, Debug)]
struct Table {
    by_host: HashMap<String, Loaded>,
    fallback: Option<Loaded>,
}

/// How a certificate of one host is doing, for logs, `/health` and metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostStatus {
    /// The served certificate's end of validity (unix seconds), if one is served.
    pub not_after: Option<i64>,
    /// Attempts that failed in a row since the last success.
    pub failures: u32,
    /// When the first of those failed (unix seconds).
    pub failing_since: Option<i64>,
    /// What the last failure said.
    pub last_error: Option<String>,
}

/// The certificates the TLS listener serves and the challenges the plain listener answers.
#[derive(Default, Debug)]
pub struct Edge {
    table: ArcSwap<Table>,
    /// HTTP-01 tokens this gateway published, with their key authorisations.
    challenges: Mutex<HashMap<String, String>>,
    status: Mutex<BTreeMap<String, HostStatus>>,
}

impl Edge {
    /// The resolver to give the TLS listener: it reads this edge's table at every handshake.
    pub fn resolver(self: &Arc<Self>) -> Arc<dyn ResolvesServerCert> {
        Arc::new(Resolver(Arc::clone(self)))
    }

    /// Serves `loaded` for every name without a certificate of its own (`cert`/`key`).
    pub fn set_fallback(&self, loaded: Option<Loaded>) {
        self.table.rcu(|t| {
            let mut t = Table::clone(t);
            t.fallback = loaded.clone();
            t
        });
    }

    /// Serves `loaded` for `host` from the next handshake on.
    pub fn install(&self, host: &str, loaded: Loaded) {
        self.table.rcu(|t| {
            let mut t = Table::clone(t);
            t.by_host.insert(host.to_ascii_lowercase(), loaded.clone());
            t
        });
        lock(&self.status)
            .entry(host.to_string())
            .or_default()
            .not_after = Some(loaded.not_after);
    }

    /// The certificate served for `host` by name (not the fallback).
    pub fn served(&self, host: &str) -> Option<Loaded> {
        self.table.load().by_host.get(host).cloned()
    }

    /// The fallback certificate's end of validity, if one is served.
    pub fn fallback_not_after(&self) -> Option<i64> {
        self.table.load().fallback.as_ref().map(|l| l.not_after)
    }

    /// Publishes an HTTP-01 answer.
    pub fn publish_challenge(&self, token: &str, key_authorization: &str) {
        lock(&self.challenges).insert(token.to_string(), key_authorization.to_string());
    }

    pub fn withdraw_challenge(&self, token: &str) {
        lock(&self.challenges).remove(token);
    }

    /// Whether a handshake for `host` (any case) finds a certificate (its own, or the files').
    pub fn has_certificate(&self, host: &str) -> bool {
        let table = self.table.load();
        table.fallback.is_some() || table.by_host.contains_key(&host.to_ascii_lowercase())
    }

    /// The key authorisation for `token`, if this gateway published it.
    pub fn challenge(&self, token: &str) -> Option<String> {
        lock(&self.challenges).get(token).cloned()
    }

    /// Records an attempt for `host` that failed at `now`.
    pub fn failed(&self, host: &str, now: i64, error: &str) -> HostStatus {
        let mut all = lock(&self.status);
        let s = all.entry(host.to_string()).or_default();
        s.failures += 1;
        s.failing_since.get_or_insert(now);
        s.last_error = Some(error.to_string());
        s.clone()
    }

    /// Records that `host` has a good certificate: its failures are over.
    pub fn succeeded(&self, host: &str) {
        let mut all = lock(&self.status);
        let s = all.entry(host.to_string()).or_default();
        s.failures = 0;
        s.failing_since = None;
        s.last_error = None;
    }

    /// Every host's status, by name.
    pub fn status(&self) -> BTreeMap<String, HostStatus> {
        lock(&self.status).clone()
    }
}

/// The SNI lookup, as rustls asks for it at each handshake.
struct Resolver(Arc<Edge>);

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver")
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let table = self.0.table.load();
        let named = hello.server_name().and_then(|name| {
            if name.bytes().any(|b| b.is_ascii_uppercase()) {
                table.by_host.get(&name.to_ascii_lowercase())
            } else {
                table.by_host.get(name)
            }
        });
        named
            .or(table.fallback.as_ref())
            .map(|l| Arc::clone(&l.key))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_has_a_certificate_of_its_own_or_the_files() {
        let pair = |name: &str| {
            let c = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
            Loaded::from_pem(
                c.cert.pem().as_bytes(),
                c.signing_key.serialize_pem().as_bytes(),
            )
            .unwrap()
        };
        let edge = Edge::default();
        assert!(!edge.has_certificate("a.test"));
        let a = pair("a.test");
        edge.install("a.test", a.clone());
        assert!(edge.has_certificate("a.test") && !edge.has_certificate("b.test"));
        let files = pair("files.test");
        edge.set_fallback(Some(files.clone()));
        assert!(edge.has_certificate("b.test"));
        assert_eq!(edge.served("a.test").unwrap().not_after, a.not_after);
        assert_eq!(edge.fallback_not_after(), Some(files.not_after));
    }

    #[test]
    fn a_key_that_is_not_the_certificate_s_is_refused() {
        let one = rcgen::generate_simple_self_signed(vec!["a.test".to_string()]).unwrap();
        let two = rcgen::generate_simple_self_signed(vec!["a.test".to_string()]).unwrap();
        let e = Loaded::from_pem(
            one.cert.pem().as_bytes(),
            two.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap_err();
        assert!(e.contains("does not belong"), "{e}");
        let e = Loaded::from_pem(b"", one.signing_key.serialize_pem().as_bytes()).unwrap_err();
        assert!(e.contains("no certificate"), "{e}");
        let e = Loaded::from_pem(one.cert.pem().as_bytes(), b"").unwrap_err();
        assert!(e.contains("no private key"), "{e}");
    }
}
