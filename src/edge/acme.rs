//! Certificates that obtain and renew themselves: an ACME client (RFC 8555, HTTP-01).
//!
//! One background task per gateway. Every few seconds it reads the certificates in the store
//! (another gateway on a shared database may have renewed one) and serves any newer than its
//! own; then, for each host of the apps whose certificate is missing or two thirds through its
//! life, it takes that host's lease in the store, so that one gateway orders at a time, and
//! orders. The HTTP-01 answer is published in memory and in the store, so the plain listener
//! of whichever gateway the CA reaches answers it. A new certificate is stored (its key sealed
//! under the key file), written under the data directory (0600), and served from the next
//! handshake; connections already open keep theirs. A failed attempt is retried with backoff
//! while the old certificate keeps serving, and is logged, counted in the metrics and shown
//! in `/health`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;

use super::{when, Loaded};
use crate::auth::unix_now;
use crate::config::AcmeConfig;
use crate::state::State;
use crate::store::CertificateRow;

/// How long a gateway may hold a host's lease: longer than any order takes.
const LEASE: i64 = 600;
/// How long one order may take, from its challenges to the certificate.
const ORDER_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the CA may take to answer one step outside the order's challenges (the
/// directory, the account, a new order). With [`ORDER_TIMEOUT`], an attempt ends well inside
/// its lease, so that no other gateway starts ordering while this one still may.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the store is read for certificates other gateways obtained.
const SYNC_EVERY: Duration = Duration::from_secs(5);
/// The longest wait between two attempts for a host.
const MAX_BACKOFF: i64 = 3600;

/// The ACME background service.
pub struct Acme {
    state: Arc<State>,
    /// This gateway's name in the leases.
    holder: String,
}

impl Acme {
    pub fn new(state: Arc<State>) -> Acme {
        let holder = holder_name(&state.config());
        Acme { state, holder }
    }
}

/// This gateway's name in the leases: the same after a restart (so that a lease it kept
/// through a backoff is still its own), different for every other gateway (another machine,
/// data directory or HTTPS address).
fn holder_name(config: &crate::config::Config) -> String {
    use sha2::Digest;
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let listen = config.server.tls.as_ref().map(|t| t.listen.to_string());
    let storage = std::path::absolute(&config.storage.path).unwrap_or_default();
    let text = format!("{}|{}|{listen:?}", machine.trim(), storage.display());
    hex::encode(&sha2::Sha256::digest(text.as_bytes())[..8])
}

/// What the task remembers between rounds.
#[derive(Default)]
struct Round {
    /// The account, with its credentials as stored (sealed).
    account: Option<(Account, Vec<u8>)>,
    /// Stored credentials the CA said it does not know: replaced by a new account.
    stale_account: Option<Vec<u8>>,
    /// The store's `updated` of each certificate served, by host.
    served: std::collections::HashMap<String, i64>,
    /// When each host may be ordered again.
    retry_at: std::collections::HashMap<String, i64>,
    /// Certificates obtained that the store refused so far, by host.
    unsaved: std::collections::HashMap<String, CertificateRow>,
}

#[async_trait]
impl BackgroundService for Acme {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut round = Round::default();
        loop {
            let wait = self.round(&mut round).await;
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

impl Acme {
    /// One round: serve what the store has, then order what is due. Returns how long to wait
    /// before the next.
    async fn round(&self, round: &mut Round) -> Duration {
        let config = self.state.config();
        let Some(acme) = config.server.tls.as_ref().and_then(|t| t.acme.clone()) else {
            return SYNC_EVERY;
        };
        let dir = data_dir(&config.storage.path);
        self.save(round).await;
        self.sync(round, &dir).await;
        let mut wait = SYNC_EVERY.as_secs() as i64;
        for host in &acme.hosts {
            // Read for each host: an order before this one may have taken minutes.
            let now = unix_now();
            let served = self.state.edge.served(host);
            let due = served.as_ref().map_or(now, Loaded::renew_at);
            let retry = round.retry_at.get(host).copied().unwrap_or(0);
            let at = due.max(retry);
            if at > now {
                wait = wait.min(at - now);
                continue;
            }
            if !self.lease(host, now).await {
                continue;
            }
            // Another gateway may have stored a new certificate since this round's read, and
            // released the lease just now: then there is nothing to order.
            self.sync(round, &dir).await;
            let served = self.state.edge.served(host);
            let result = match &served {
                Some(l) if l.renew_at() > now => Err(None),
                _ => self.obtain(round, &acme, host).await.map_err(Some),
            };
            match result {
                Ok(loaded) => {
                    // The next order for this host waits at least as long as a first retry
                    // would, even if the CA issued a certificate already due (a skewed clock).
                    let gap = backoff(Some(&loaded), 1);
                    round.retry_at.insert(host.clone(), unix_now() + gap);
                    // Until the store has it, other gateways would see the host as due.
                    let unsaved = round.unsaved.contains_key(host);
                    self.hold_lease(host, unsaved.then(|| unix_now() + LEASE))
                        .await;
                    tracing::info!(
                        host = host.as_str(),
                        "certificate {} for {host}, valid until {}",
                        if served.is_some() {
                            "renewed"
                        } else {
                            "obtained"
                        },
                        when(loaded.not_after)
                    );
                    self.state.edge.succeeded(host);
                    self.state.metrics.acme_attempt(true);
                }
                Err(None) => self.hold_lease(host, None).await,
                Err(Some(e)) => {
                    let status = self.state.edge.failed(host, unix_now(), &e);
                    self.state.metrics.acme_attempt(false);
                    let delay = backoff(served.as_ref(), status.failures);
                    let next = unix_now() + delay;
                    round.retry_at.insert(host.clone(), next);
                    // The lease is kept until the next try: no other gateway orders meanwhile,
                    // so replicas back off together.
                    self.hold_lease(host, Some(next)).await;
                    wait = wait.min(delay);
                    match &served {
                        Some(old) => tracing::warn!(
                            host = host.as_str(),
                            failures = status.failures,
                            "certificate renewal for {host} failed ({e}); the current one, valid until {}, is still served; next try in {delay}s",
                            when(old.not_after)
                        ),
                        None => tracing::error!(
                            host = host.as_str(),
                            failures = status.failures,
                            "no certificate for {host}: the order failed ({e}); next try in {delay}s"
                        ),
                    }
                }
            }
        }
        Duration::from_secs(wait.max(1) as u64)
    }

    /// Serves every certificate in the store newer than the one served.
    async fn sync(&self, round: &mut Round, dir: &Path) {
        let rows = match self.state.store.call(|s| s.certificates()).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!("reading certificates from the store: {e}");
                return;
            }
        };
        for row in rows {
            // What this gateway obtained and could not store yet is newer than the store's.
            if round.served.get(&row.host) == Some(&row.updated)
                || round.unsaved.contains_key(&row.host)
            {
                continue;
            }
            let key = match self
                .state
                .secrets
                .open_for(&key_purpose(&row.host), &row.sealed_key)
            {
                Ok(key) => key,
                Err(_) => {
                    tracing::error!(
                        host = row.host.as_str(),
                        "the stored certificate key does not open with this key file"
                    );
                    round.served.insert(row.host.clone(), row.updated);
                    continue;
                }
            };
            match Loaded::from_pem(row.chain.as_bytes(), &key) {
                Ok(loaded) => {
                    if let Err(e) = write_files(dir, &row.host, &row.chain, &key) {
                        tracing::warn!(
                            host = row.host.as_str(),
                            "writing the certificate files: {e}"
                        );
                    }
                    // A certificate not yet due (another gateway's renewal) ends any failure
                    // this gateway was showing for the host.
                    if loaded.renew_at() > unix_now() {
                        self.state.edge.succeeded(&row.host);
                    }
                    self.state.edge.install(&row.host, loaded);
                }
                Err(e) => tracing::error!(host = row.host.as_str(), "stored certificate: {e}"),
            }
            round.served.insert(row.host.clone(), row.updated);
        }
    }

    /// Keeps `host`'s lease until `until`, or gives it back (`None`).
    async fn hold_lease(&self, host: &str, until: Option<i64>) {
        let (host, holder, now) = (host.to_string(), self.holder.clone(), unix_now());
        let result = self
            .state
            .store
            .call(move |s| match until {
                Some(until) => s.take_acme_lease(&host, &holder, now, until).map(drop),
                None => s.release_acme_lease(&host, &holder),
            })
            .await;
        if let Err(e) = result {
            tracing::warn!("the ACME lease: {e}");
        }
    }

    /// Takes `host`'s lease in the store, so that no other gateway orders meanwhile.
    async fn lease(&self, host: &str, now: i64) -> bool {
        let (host, holder) = (host.to_string(), self.holder.clone());
        match self
            .state
            .store
            .call(move |s| s.take_acme_lease(&host, &holder, now, now + LEASE))
            .await
        {
            Ok(taken) => taken,
            Err(e) => {
                tracing::warn!("taking the ACME lease: {e}");
                false
            }
        }
    }

    /// Orders a certificate for `host`, stores and serves it.
    async fn obtain(
        &self,
        round: &mut Round,
        acme: &AcmeConfig,
        host: &str,
    ) -> Result<Loaded, String> {
        let mut replaced = false;
        let (chain, key_pem) = loop {
            let account = match &round.account {
                Some((a, _)) => a.clone(),
                None => {
                    let stale = round.stale_account.as_deref();
                    let (a, sealed) = timed(STEP_TIMEOUT, self.account(acme, stale)).await?;
                    round.account = Some((a.clone(), sealed));
                    a
                }
            };
            match self.order(&account, host).await {
                Ok(issued) => break issued,
                // An account the CA no longer knows (deactivated, or a CA that lost its
                // state) is replaced by a new one, and the order made again at once.
                Err(e) if e.contains("accountDoesNotExist") && !replaced => {
                    round.stale_account = round.account.take().map(|(_, sealed)| sealed);
                    replaced = true;
                }
                Err(e) => return Err(e),
            }
        };
        let loaded = Loaded::from_pem(chain.as_bytes(), key_pem.as_bytes())
            .map_err(|e| format!("the issued certificate: {e}"))?;
        let row = CertificateRow {
            host: host.to_string(),
            chain: chain.clone(),
            sealed_key: self
                .state
                .secrets
                .seal_for(&key_purpose(host), key_pem.as_bytes()),
            not_after: loaded.not_after,
            updated: crate::store::unix_millis(),
        };
        // Served and written at once: a certificate the CA issued is never thrown away. A
        // store that refuses it is asked again every round until it takes it.
        let dir = data_dir(&self.state.config().storage.path);
        if let Err(e) = write_files(&dir, host, &chain, key_pem.as_bytes()) {
            tracing::warn!(host, "writing the certificate files: {e}");
        }
        self.state.edge.install(host, loaded.clone());
        round.served.insert(host.to_string(), row.updated);
        round.unsaved.insert(host.to_string(), row);
        self.save(round).await;
        Ok(loaded)
    }

    /// Stores the certificates obtained that the store has not taken yet.
    async fn save(&self, round: &mut Round) {
        let rows: Vec<CertificateRow> = round.unsaved.values().cloned().collect();
        for row in rows {
            let host = row.host.clone();
            match self
                .state
                .store
                .call(move |s| s.put_certificate(&row))
                .await
            {
                Ok(()) => {
                    round.unsaved.remove(&host);
                }
                Err(e) => tracing::warn!(
                    host = host.as_str(),
                    "storing the certificate (served meanwhile, tried again in a few seconds): {e}"
                ),
            }
        }
    }

    /// The account on the directory: the one in the store, else a new one (stored unless
    /// another gateway stored its own first, which is then used instead). Stored credentials
    /// equal to `stale` (which the CA no longer knows) are replaced the same way. Returns the
    /// account and its sealed credentials.
    async fn account(
        &self,
        acme: &AcmeConfig,
        stale: Option<&[u8]>,
    ) -> Result<(Account, Vec<u8>), String> {
        let directory = acme.directory.clone();
        let stored = self
            .state
            .store
            .call(move |s| s.acme_account(&directory))
            .await
            .map_err(|e| format!("reading the ACME account: {e}"))?;
        let sealed = match stored {
            Some(sealed) if Some(sealed.as_slice()) != stale => sealed,
            _ => {
                let contact = acme.email.as_ref().map(|e| format!("mailto:{e}"));
                let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
                let (_, credentials) = builder(acme)?
                    .create(
                        &NewAccount {
                            contact: &contacts,
                            terms_of_service_agreed: true,
                            only_return_existing: false,
                        },
                        acme.directory.clone(),
                        None,
                    )
                    .await
                    .map_err(|e| format!("creating the ACME account: {}", chain(&e)))?;
                let json = serde_json::to_vec(&credentials).map_err(|e| e.to_string())?;
                let sealed = self.state.secrets.seal_for(ACCOUNT_PURPOSE, &json);
                let directory = acme.directory.clone();
                let stale = stale.map(<[u8]>::to_vec);
                self.state
                    .store
                    .call(move |s| s.put_acme_account(&directory, &sealed, stale.as_deref()))
                    .await
                    .map_err(|e| format!("storing the ACME account: {e}"))?
            }
        };
        let json = self
            .state
            .secrets
            .open_for(ACCOUNT_PURPOSE, &sealed)
            .map_err(|_| "the stored ACME account does not open with this key file".to_string())?;
        let credentials: AccountCredentials =
            serde_json::from_slice(&json).map_err(|e| format!("the stored ACME account: {e}"))?;
        let account = builder(acme)?
            .from_credentials(credentials)
            .await
            .map_err(|e| format!("the ACME directory {}: {}", acme.directory, chain(&e)))?;
        Ok((account, sealed))
    }

    /// One order: the HTTP-01 challenge answered, a new key and its CSR, the chain. Returns
    /// the PEM chain and the PEM key.
    async fn order(&self, account: &Account, host: &str) -> Result<(String, String), String> {
        let identifiers = [Identifier::Dns(host.to_string())];
        let mut order = timed(STEP_TIMEOUT, async {
            account
                .new_order(&NewOrder::new(&identifiers))
                .await
                .map_err(|e| format!("new order: {}", chain(&e)))
        })
        .await?;
        let mut published = Vec::new();
        let result = timed(
            ORDER_TIMEOUT,
            self.complete(&mut order, host, &mut published),
        )
        .await;
        for token in published {
            self.state.edge.withdraw_challenge(&token);
            let now = unix_now();
            let _ = self
                .state
                .store
                .call(move |s| s.withdraw_challenge(&token, now))
                .await;
        }
        result
    }

    async fn complete(
        &self,
        order: &mut instant_acme::Order,
        host: &str,
        published: &mut Vec<String>,
    ) -> Result<(String, String), String> {
        let mut authorizations = order.authorizations();
        while let Some(authz) = authorizations.next().await {
            let mut authz = authz.map_err(|e| format!("authorization: {}", chain(&e)))?;
            match authz.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                other => return Err(format!("authorization is {other:?}")),
            }
            let mut challenge = authz
                .challenge(ChallengeType::Http01)
                .ok_or("the CA offers no http-01 challenge")?;
            let token = challenge.token.clone();
            let answer = challenge.key_authorization().as_str().to_string();
            // Published in the store first: the CA may reach another gateway.
            let expires = unix_now() + LEASE;
            let (t, a) = (token.clone(), answer.clone());
            self.state
                .store
                .call(move |s| s.put_challenge(&t, &a, expires))
                .await
                .map_err(|e| format!("publishing the challenge: {e}"))?;
            self.state.edge.publish_challenge(&token, &answer);
            published.push(token);
            challenge
                .set_ready()
                .await
                .map_err(|e| format!("challenge: {}", chain(&e)))?;
        }
        let retry = RetryPolicy::new()
            .initial_delay(Duration::from_millis(250))
            .timeout(Duration::from_secs(90));
        let status = order
            .poll_ready(&retry)
            .await
            .map_err(|e| format!("waiting for validation: {}", chain(&e)))?;
        if status != OrderStatus::Ready {
            return Err(format!(
                "the CA did not validate the order ({status:?}){}",
                problems(order).await
            ));
        }
        let key = rcgen::KeyPair::generate().map_err(|e| format!("new key: {e}"))?;
        let csr = csr_for(host, &key).map_err(|e| format!("CSR: {e}"))?;
        order
            .finalize_csr(csr.der())
            .await
            .map_err(|e| format!("finalize: {}", chain(&e)))?;
        let chain = order
            .poll_certificate(&retry)
            .await
            .map_err(|e| format!("waiting for the certificate: {}", chain(&e)))?;
        Ok((chain, key.serialize_pem()))
    }
}

/// The certificate request for `host`: the name as its one subject alternative name and an
/// empty subject (rcgen's default subject is a common name with spaces, which a CA that checks
/// common names, as Let's Encrypt does, refuses).
fn csr_for(
    host: &str,
    key: &rcgen::KeyPair,
) -> Result<rcgen::CertificateSigningRequest, rcgen::Error> {
    let mut params = rcgen::CertificateParams::new(vec![host.to_string()])?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.serialize_request(key)
}

/// What the CA said about each failed challenge of `order`.
async fn problems(order: &mut instant_acme::Order) -> String {
    let mut said = String::new();
    let mut authorizations = order.authorizations();
    while let Some(Ok(authz)) = authorizations.next().await {
        for c in &authz.challenges {
            if let Some(p) = &c.error {
                said.push_str(&format!(": {p}"));
            }
        }
    }
    said
}

/// `work`, or an error once it has taken longer than `limit`.
async fn timed<T>(
    limit: Duration,
    work: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or_else(|_| Err(format!("the CA did not answer within {}s", limit.as_secs())))
}

/// An error with what caused it, down to the first cause ("client error (Connect): tcp
/// connect error: Connection refused").
fn chain(e: &dyn std::error::Error) -> String {
    let mut said = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !said.contains(&text) {
            said.push_str(": ");
            said.push_str(&text);
        }
        cause = c.source();
    }
    said
}

const ACCOUNT_PURPOSE: &str = "acme account";

fn key_purpose(host: &str) -> String {
    format!("certificate key for {host}")
}

fn builder(acme: &AcmeConfig) -> Result<instant_acme::AccountBuilder, String> {
    match &acme.ca_file {
        Some(ca) => Account::builder_with_root(ca),
        None => Account::builder(),
    }
    .map_err(|e| format!("the ACME client: {}", chain(&e)))
}

/// The wait before the next attempt after `failures` failures in a row: from a fiftieth of the
/// served certificate's life (between 1 s and a minute; 10 s without one), doubling, at most
/// an hour.
fn backoff(served: Option<&Loaded>, failures: u32) -> i64 {
    let base = served.map_or(10, |l| ((l.not_after - l.not_before) / 50).clamp(1, 60));
    let doubled = base.saturating_mul(1 << failures.saturating_sub(1).min(20));
    doubled.min(MAX_BACKOFF.max(base))
}

/// Where certificates are written: `certificates/` beside the database file.
fn data_dir(db: &Path) -> PathBuf {
    db.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("certificates")
}

/// Writes `<host>.crt` and `<host>.key` (0600) in `dir`, each replaced whole.
fn write_files(dir: &Path, host: &str, chain: &str, key: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    for (name, bytes) in [
        (format!("{host}.crt"), chain.as_bytes()),
        (format!("{host}.key"), key),
    ] {
        let path = dir.join(&name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let _ = std::fs::remove_file(&tmp);
        crate::auth::keys::write_private(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(not_before: i64, not_after: i64) -> Loaded {
        let cert = rcgen::generate_simple_self_signed(vec!["a.test".to_string()]).unwrap();
        let mut l = Loaded::from_pem(
            cert.cert.pem().as_bytes(),
            cert.signing_key.serialize_pem().as_bytes(),
        )
        .unwrap();
        l.not_before = not_before;
        l.not_after = not_after;
        l
    }

    #[test]
    fn renewal_is_due_two_thirds_into_the_life() {
        assert_eq!(loaded(0, 90 * 86_400).renew_at(), 60 * 86_400);
        assert_eq!(loaded(1000, 1030).renew_at(), 1020);
    }

    #[test]
    fn retries_back_off_from_a_fiftieth_of_the_life_to_an_hour() {
        let ninety_days = loaded(0, 90 * 86_400);
        assert_eq!(backoff(Some(&ninety_days), 1), 60);
        assert_eq!(backoff(Some(&ninety_days), 2), 120);
        assert_eq!(backoff(Some(&ninety_days), 30), 3600);
        let short = loaded(0, 30);
        assert_eq!(backoff(Some(&short), 1), 1);
        assert_eq!(backoff(Some(&short), 3), 4);
        assert_eq!(backoff(None, 1), 10);
    }

    #[test]
    fn the_request_names_the_host_and_nothing_else() {
        use x509_parser::extensions::{GeneralName, ParsedExtension};
        use x509_parser::prelude::FromDer;
        let key = rcgen::KeyPair::generate().unwrap();
        let csr = csr_for("app.example.com", &key).unwrap();
        let (_, req) =
            x509_parser::certification_request::X509CertificationRequest::from_der(csr.der())
                .unwrap();
        let info = &req.certification_request_info;
        assert_eq!(
            info.subject.iter_attributes().count(),
            0,
            "{}",
            info.subject
        );
        let names: Vec<String> = req
            .requested_extensions()
            .into_iter()
            .flatten()
            .filter_map(|e| match e {
                ParsedExtension::SubjectAlternativeName(san) => Some(san),
                _ => None,
            })
            .flat_map(|san| san.general_names.iter())
            .map(|n| match n {
                GeneralName::DNSName(d) => d.to_string(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(names, ["app.example.com"]);
    }

    #[test]
    fn files_are_private_and_replaced_whole() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let dir = data_dir(&d.path().join("portcullis.db"));
        write_files(&dir, "a.test", "chain one", b"key one").unwrap();
        write_files(&dir, "a.test", "chain two", b"key two").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("a.test.crt")).unwrap(),
            "chain two"
        );
        assert_eq!(std::fs::read(dir.join("a.test.key")).unwrap(), b"key two");
        for f in ["a.test.crt", "a.test.key"] {
            let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
