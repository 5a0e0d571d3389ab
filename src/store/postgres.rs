//! The PostgreSQL engine: what only it has.
//!
//! Connections come from a `deadpool-postgres` pool of `tokio-postgres` clients whose I/O
//! runs on one small runtime of the store's own ([`runtime`]), apart from the proxy's; the
//! store's synchronous methods drive each statement from their (blocking) thread until the
//! call's deadline. Statements are prepared once per client and cached.
//!
//! Its schema has the same tables and columns as SQLite's, in PostgreSQL's types (`BIGINT`,
//! `BYTEA`, `BOOLEAN`, `citext` for user names), and triggers that announce every change a
//! gateway caches on the channel `portcullis` with `pg_notify`: a deleted session
//! (`s:<hex id hash>`), a changed user, their groups or second factors (`u:<id>`), and a ban
//! set (`B:<until>:<hex key>`) or lifted (`b:<hex key>`). The notice is sent at commit, by
//! the database, whoever wrote: a replica, the command line or a migration. [`listen`] hears
//! them on a connection of its own and hands them to the gateway; when that connection is lost
//! the store is [`Health`]-marked down, and on reconnecting it first tells the gateway to drop
//! everything it cached ([`Notice::All`]), so a notice missed meanwhile cannot matter.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::db::Param;
use super::{Result, StoreError, CALL_TIMEOUT};

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Pooled clients per gateway (the listener has its own).
pub const POOL_SIZE: usize = 16;
/// How often the listening connection proves it is alive (it has twice this to answer).
const HEARTBEAT: Duration = Duration::from_secs(1);
/// Pings in a row left unanswered before the listening connection is given up.
const MISSED_PINGS: u32 = 2;
/// Between attempts to re-open the listening connection.
const RELISTEN_EVERY: Duration = Duration::from_millis(250);

/// The runtime every PostgreSQL connection's I/O runs on. One for the process, never
/// dropped: connections outlive any one caller's runtime.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("portcullis-pg")
            .enable_all()
            .build()
            .expect("the store's runtime starts")
    })
}

/// Drives `work` to its end on the calling thread, with the store's runtime as the context
/// (its timers and the connections it drives). Not tokio's `block_on`: a caller that is
/// itself inside a runtime (the start of a gateway, a test) may block here too.
fn block_on<F: std::future::Future>(work: F) -> F::Output {
    let _context = runtime().enter();
    // Outside tokio's cooperative budget: a caller inside a tokio task (one that has spent
    // its budget) would otherwise be told "not yet" by every tokio primitive, forever.
    futures_executor::block_on(tokio::task::unconstrained(work))
}

/// What went wrong, in the database's words when it answered (the driver's own display says
/// only "db error").
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// Milliseconds since the Unix epoch: outages are timed finer than the grace they are held to.
pub fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Whether the database answers, as this gateway last saw it (times in Unix milliseconds).
#[derive(Debug, Default)]
pub struct Health {
    /// When a statement last failed for want of a connection (0: the last one answered).
    query_down_since: AtomicI64,
    /// When the listening connection was lost (0: listening).
    listen_down_since: AtomicI64,
    /// Whether a listener runs at all (the command line has none).
    listening: AtomicBool,
}

impl Health {
    /// Since when (Unix milliseconds) the database has been unreachable, or its notices
    /// unheard, if either.
    pub fn down_since(&self) -> Option<i64> {
        [self.unreachable_since(), self.unheard_since()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Since when (Unix milliseconds) statements have been failing for want of the database,
    /// if they are: the outage the grace is counted from. A listener that is down while
    /// statements work is no outage (sessions are read through instead).
    pub fn unreachable_since(&self) -> Option<i64> {
        let q = self.query_down_since.load(Ordering::Relaxed);
        (q > 0).then_some(q)
    }

    /// Since when (Unix milliseconds) a listener that should run has not been listening.
    fn unheard_since(&self) -> Option<i64> {
        let l = self.listen_down_since.load(Ordering::Relaxed);
        (self.listening.load(Ordering::Relaxed) && l > 0).then_some(l)
    }

    /// Whether notices may have been missed while the database still answers (the listening
    /// connection is down, statements are not): what was cached must be read again. When
    /// statements fail too, the cache is all there is, for the outage grace.
    pub fn deaf(&self) -> bool {
        self.unheard_since().is_some() && self.unreachable_since().is_none()
    }

    /// The listener is not listening (from now, unless it was already down); whether this
    /// began an outage of it.
    fn listener_lost(&self) -> bool {
        self.listen_down_since
            .compare_exchange(0, unix_millis(), Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }

    /// The listener listens again.
    fn listener_back(&self) {
        self.listen_down_since.store(0, Ordering::Relaxed);
    }

    fn query_failed(&self) {
        let _ = self.query_down_since.compare_exchange(
            0,
            unix_millis(),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    fn query_answered(&self) {
        if self.query_down_since.load(Ordering::Relaxed) != 0 {
            self.query_down_since.store(0, Ordering::Relaxed);
        }
    }
}

/// A change announced by the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// This session's row is gone.
    SessionEnded([u8; 32]),
    /// This user, their groups or their second factors changed (or they are gone).
    UserChanged(i64),
    /// A ban was set or lengthened.
    Banned(String, i64),
    /// A ban was lifted (or swept once over).
    BanLifted(String),
    /// An ACME HTTP-01 answer was published: the token and its key authorisation.
    Challenge(String, String),
    /// An ACME HTTP-01 answer was withdrawn.
    ChallengeWithdrawn(String),
    /// Notices may have been missed: everything cached must be read again.
    All,
}

impl Notice {
    /// The notice a payload of the channel carries; `None` for one this version does not know.
    pub fn parse(payload: &str) -> Option<Notice> {
        let (kind, rest) = payload.split_once(':')?;
        match kind {
            "s" => {
                let bytes = hex::decode(rest).ok()?;
                Some(Notice::SessionEnded(bytes.try_into().ok()?))
            }
            "u" => Some(Notice::UserChanged(rest.parse().ok()?)),
            "b" => Some(Notice::BanLifted(
                String::from_utf8(hex::decode(rest).ok()?).ok()?,
            )),
            "B" => {
                let (until, key) = rest.split_once(':')?;
                let key = String::from_utf8(hex::decode(key).ok()?).ok()?;
                Some(Notice::Banned(key, until.parse().ok()?))
            }
            "c" => {
                let (token, answer) = rest.split_once(':')?;
                Some(Notice::Challenge(unhex(token)?, unhex(answer)?))
            }
            "C" => Some(Notice::ChallengeWithdrawn(unhex(rest)?)),
            _ => None,
        }
    }
}

/// Text sent hex-encoded in a payload.
fn unhex(text: &str) -> Option<String> {
    String::from_utf8(hex::decode(text).ok()?).ok()
}

/// What the gateway does with a notice.
pub type NoticeHandler = Arc<dyn Fn(Notice) + Send + Sync>;

/// The engine: a pool, its settings and its health.
pub struct PgEngine {
    pool: Pool,
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    pub health: Arc<Health>,
}

impl std::fmt::Debug for PgEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgEngine")
    }
}

/// Where the database is and how to sign in to it.
#[derive(Clone, Default)]
pub struct PgTarget {
    pub url: String,
    /// A password given apart from the URL (environment or file); the URL's wins.
    pub password: Option<String>,
    /// PEM certificates of the CAs that sign the server's certificate; else the system's.
    pub ca_file: Option<std::path::PathBuf>,
}

/// Accepts any certificate but checks the handshake's signatures against it: TLS that
/// encrypts without authenticating the server, as libpq's `sslmode=prefer`/`require` do.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Never shows a password (the URL's is left out with [`PgTarget::shown`]).
impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTarget")
            .field("url", &self.shown())
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl PgTarget {
    /// The URL as messages show it: without its password, wherever the URL holds one (after
    /// the user name, or as a `password=` parameter).
    pub fn shown(&self) -> String {
        match url::Url::parse(&self.url) {
            Ok(mut u) => {
                let _ = u.set_password(None);
                let kept: Vec<(String, String)> = u
                    .query_pairs()
                    .filter(|(k, _)| k != "password")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                u.set_query(None);
                if !kept.is_empty() {
                    u.query_pairs_mut().extend_pairs(kept);
                }
                u.to_string()
            }
            Err(_) => "the PostgreSQL URL".to_string(),
        }
    }

    /// The driver's settings for this target; an error names what is wrong with the URL,
    /// never its password.
    pub fn config(&self) -> std::result::Result<tokio_postgres::Config, String> {
        let mut config = tokio_postgres::Config::from_str(&self.url)
            .map_err(|e| format!("not a PostgreSQL URL: {e}"))?;
        if config.get_password().is_none() {
            if let Some(p) = &self.password {
                config.password(p.as_str());
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        // A connection whose peer vanished (a failover, a dropped route) is given up within
        // seconds, not the system's default of many minutes.
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(5));
        config.keepalives_interval(Duration::from_secs(2));
        config.keepalives_retries(3);
        config.tcp_user_timeout(Duration::from_secs(10));
        if self.ca_file.is_some() {
            // A server checked against a CA is one spoken to over TLS only: `prefer` would let
            // anyone on the way strip it.
            if matches!(
                config.get_ssl_mode(),
                tokio_postgres::config::SslMode::Disable
            ) {
                return Err("ca_file is set but the URL says sslmode=disable".into());
            }
            config.ssl_mode(tokio_postgres::config::SslMode::Require);
        }
        config.application_name("portcullis");
        // The server gives up what the gateway gave up on: a statement or a lock wait past the
        // gateway's own deadline, a transaction whose client vanished (which would hold its
        // rows locked), so no backend waits on after its caller went.
        let own =
            "-c statement_timeout=5s -c lock_timeout=5s -c idle_in_transaction_session_timeout=60s";
        let options = match config.get_options() {
            Some(given) => format!("{own} {given}"),
            None => own.to_string(),
        };
        config.options(&options);
        Ok(config)
    }
}

impl PgTarget {
    /// The TLS side of a connection (rustls), as libpq means it. With `ca_file`, the server's
    /// certificate must chain to one of its CAs and name the URL's host, and TLS is required
    /// (libpq's `verify-full`). Without it, the URL's `sslmode` says whether to encrypt
    /// (`prefer`, the default: when the server offers it; `require`; `disable`), and the
    /// certificate is not checked: protection from eavesdroppers, not from a server in the
    /// middle (libpq's `prefer` and `require`).
    pub fn tls(&self) -> std::result::Result<MakeRustlsConnect, String> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let config = match &self.ca_file {
            Some(path) => {
                let shown = path.display();
                let mut roots = rustls::RootCertStore::empty();
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|e| format!("cannot read {shown}: {e}"))?;
                for cert in certs {
                    let cert = cert.map_err(|e| format!("{shown}: {e}"))?;
                    roots.add(cert).map_err(|e| format!("{shown}: {e}"))?;
                }
                if roots.is_empty() {
                    return Err(format!("{shown} holds no certificate"));
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
                .with_no_client_auth(),
        };
        Ok(MakeRustlsConnect::new(config))
    }
}

impl PgEngine {
    /// Connects (the first connection proves the URL) and brings the schema up to date.
    pub fn open(target: &PgTarget) -> Result<PgEngine> {
        let config = target.config().map_err(StoreError::Config)?;
        let tls = target.tls().map_err(StoreError::Config)?;
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Config(e.to_string()))?;
        let engine = PgEngine {
            pool,
            config,
            tls,
            health: Arc::default(),
        };
        let conn = engine.get(Instant::now() + CALL_TIMEOUT)?;
        migrate(&conn)?;
        Ok(engine)
    }

    /// A pooled client, waited for until `deadline`.
    pub fn get(&self, deadline: Instant) -> Result<PgConn> {
        let wait = deadline.saturating_duration_since(Instant::now());
        let got = block_on(async { tokio::time::timeout(wait, self.pool.get()).await });
        match got {
            Ok(Ok(client)) => Ok(PgConn {
                client: Some(client),
                deadline,
                broken: AtomicBool::new(false),
                in_transaction: AtomicBool::new(false),
                health: Arc::clone(&self.health),
            }),
            // Every client busy: the gateway is loaded, the database is not down.
            Err(_)
            | Ok(Err(deadpool_postgres::PoolError::Timeout(
                deadpool_postgres::TimeoutType::Wait,
            ))) => Err(StoreError::Timeout(CALL_TIMEOUT)),
            Ok(Err(e)) => {
                self.health.query_failed();
                Err(StoreError::Unreachable(e.to_string()))
            }
        }
    }

    /// Starts hearing the database's notices, handing each to `handler`, for as long as the
    /// process lives.
    pub fn listen(&self, handler: NoticeHandler) {
        self.health.listener_lost();
        self.health.listening.store(true, Ordering::Relaxed);
        let config = self.config.clone();
        let health = Arc::clone(&self.health);
        runtime().spawn(listen(config, self.tls.clone(), health, handler));
        // A gateway serves once it hears the notices (or says it does not, on /health).
        let deadline = Instant::now() + CONNECT_TIMEOUT * 2;
        while self.health.unheard_since().is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Applies one payload of the channel.
fn deliver(handler: &NoticeHandler, payload: &str) {
    match Notice::parse(payload) {
        Some(notice) => handler(notice),
        None => tracing::warn!(payload, "unknown notice from the database"),
    }
}

/// Keeps a connection listening on the channel `portcullis`, re-opening it when lost.
async fn listen(
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    health: Arc<Health>,
    handler: NoticeHandler,
) {
    use futures_util::future::FusedFuture;
    use futures_util::StreamExt;
    let mut reported = false;
    loop {
        match config.connect(tls.clone()).await {
            Ok((client, mut connection)) => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(Ok(message)) = messages.next().await {
                        if let tokio_postgres::AsyncMessage::Notification(n) = message {
                            if tx.send(n.payload().to_string()).is_err() {
                                break;
                            }
                        }
                    }
                });
                if client.batch_execute("LISTEN portcullis").await.is_ok() {
                    // Listening from here on: what changed before is caught up by reading
                    // everything again.
                    handler(Notice::All);
                    health.listener_back();
                    if reported {
                        tracing::info!("listening to the database again; cached sessions dropped");
                        reported = false;
                    }
                    // A connection can die without a word (its peer gone from the network): a
                    // query every second that must answer within two proves it is alive.
                    let mut beat = tokio::time::interval(HEARTBEAT);
                    let mut ping = std::pin::pin!(futures_util::future::Fuse::terminated());
                    let mut missed = 0;
                    loop {
                        tokio::select! {
                            payload = rx.recv() => match payload {
                                Some(payload) => deliver(&handler, &payload),
                                None => break,
                            },
                            // Pings run beside the notices, never in their way.
                            _ = beat.tick(), if ping.is_terminated() => {
                                ping.set(futures_util::FutureExt::fuse(tokio::time::timeout(
                                    2 * HEARTBEAT,
                                    client.batch_execute("SELECT 1"),
                                )));
                            }
                            answer = &mut ping => {
                                if matches!(answer, Ok(Ok(()))) {
                                    missed = 0;
                                } else {
                                    missed += 1;
                                    if missed >= MISSED_PINGS {
                                        break;
                                    }
                                }
                            }
                        }
                    }
                    // What arrived before the end is still applied.
                    while let Ok(payload) = rx.try_recv() {
                        deliver(&handler, &payload);
                    }
                }
                driver.abort();
                drop(client);
            }
            Err(e) => {
                if !reported {
                    tracing::error!("cannot listen to the database: {e}");
                }
            }
        }
        // Whatever arrives from now on is missed until the next connection.
        if health.listener_lost() && !reported {
            tracing::error!("lost the database's notices; reconnecting");
        }
        reported = true;
        tokio::time::sleep(RELISTEN_EVERY).await;
    }
}

/// A pooled client for one caller; back to the pool when dropped, unless broken.
pub struct PgConn {
    /// Always `Some` until dropped.
    client: Option<Object>,
    deadline: Instant,
    /// Set when the client may be mid-transaction or dead: it is not reused.
    broken: AtomicBool,
    /// Inside a [`super::db::PgTx`]: a failed statement has aborted the transaction.
    in_transaction: AtomicBool,
    health: Arc<Health>,
}

impl Drop for PgConn {
    fn drop(&mut self) {
        if self.broken.load(Ordering::Relaxed) {
            if let Some(client) = self.client.take() {
                drop(Object::take(client));
            }
        }
    }
}

impl PgConn {
    fn client(&self) -> &Object {
        self.client.as_ref().expect("present until dropped")
    }

    /// Drops the client instead of reusing it.
    pub fn discard(&self) {
        self.broken.store(true, Ordering::Relaxed);
    }

    /// Marks the client as inside a transaction, or out of it.
    pub fn set_in_transaction(&self, inside: bool) {
        self.in_transaction.store(inside, Ordering::Relaxed);
    }

    /// Runs `work` against the deadline; a failure for want of the database marks it down.
    fn run<T>(
        &self,
        work: impl std::future::Future<Output = std::result::Result<T, tokio_postgres::Error>>,
    ) -> Result<T> {
        let wait = self.deadline.saturating_duration_since(Instant::now());
        let outcome = block_on(async { tokio::time::timeout(wait, work).await });
        match outcome {
            Ok(Ok(v)) => {
                self.health.query_answered();
                Ok(v)
            }
            Ok(Err(e)) => {
                if connection_lost(&e) {
                    self.health.query_failed();
                    self.discard();
                }
                Err(StoreError::Postgres(e))
            }
            Err(_) => {
                // No answer in time: the database or the way to it is failing, unless the
                // statement hardly had any time (its call spent it waiting for a client).
                if wait >= Duration::from_secs(1) {
                    self.health.query_failed();
                }
                self.discard();
                Err(StoreError::Timeout(CALL_TIMEOUT))
            }
        }
    }

    pub fn execute(&self, sql: &str, params: &[&dyn Param]) -> Result<usize> {
        let params: Vec<_> = params.iter().map(|p| p.pg()).collect();
        self.execute_pg(sql, &params)
    }

    /// [`PgConn::execute`] with values only PostgreSQL takes (arrays).
    fn execute_pg(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<usize> {
        let sql = translate(sql);
        let client = self.client();
        self.nul_matches_nothing(
            self.run(async {
                let statement = client.prepare_cached(&sql).await?;
                client.execute(&statement, params).await
            })
            .map(|n| n as usize),
        )
    }

    pub fn query(&self, sql: &str, params: &[&dyn Param]) -> Result<Vec<tokio_postgres::Row>> {
        let sql = translate(sql);
        let params: Vec<_> = params.iter().map(|p| p.pg()).collect();
        let client = self.client();
        self.nul_matches_nothing(self.run(async {
            let statement = client.prepare_cached(&sql).await?;
            client.query(&statement, &params).await
        }))
    }

    /// Runs statements with no parameters (the simple protocol: several at once).
    pub fn batch(&self, sql: &str) -> Result<()> {
        let client = self.client();
        self.run(client.batch_execute(sql))
    }
}

/// Whether `e` means the connection is gone rather than that the database refused a statement:
/// no answer at all, or an answer of class 08 (connection exception) or 57P (the server
/// shutting down or an operator ending the connection).
fn connection_lost(e: &tokio_postgres::Error) -> bool {
    match e.code() {
        None => true,
        Some(code) => {
            let code = code.code();
            code.starts_with("08") || code.starts_with("57P")
        }
    }
}

/// PostgreSQL's text cannot hold a NUL character (SQLite's can): a value with one, typed at
/// a form, names nothing stored, so the statement matched nothing (as on SQLite, where no
/// stored name has one either) rather than failed. Outside a transaction only: inside one,
/// the database has aborted it, and its next statement says so.
impl PgConn {
    fn nul_matches_nothing<T: Default>(&self, outcome: Result<T>) -> Result<T> {
        match outcome {
            Err(StoreError::Postgres(e))
                if e.code()
                    == Some(&tokio_postgres::error::SqlState::CHARACTER_NOT_IN_REPERTOIRE)
                    && !self.in_transaction.load(Ordering::Relaxed) =>
            {
                Ok(T::default())
            }
            other => other,
        }
    }
}

/// The statement in PostgreSQL's spelling: `?N` placeholders become `$N`, and a placeholder
/// compared `COLLATE NOCASE` is cast to `citext` (the user-name columns it is written against
/// are `citext`; a `text` value would compare case by case).
pub fn translate(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut rest = sql;
    while let Some(at) = rest.find('?') {
        out.push_str(&rest[..at]);
        let digits = rest[at + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len() - at - 1);
        if digits == 0 {
            out.push('?');
            rest = &rest[at + 1..];
            continue;
        }
        let number = &rest[at + 1..at + 1 + digits];
        rest = &rest[at + 1 + digits..];
        match rest.strip_prefix(" COLLATE NOCASE") {
            Some(after) => {
                out.push_str(&format!("CAST(${number} AS citext)"));
                rest = after;
            }
            None => {
                out.push('$');
                out.push_str(number);
            }
        }
    }
    out.push_str(rest);
    out
}

/// PostgreSQL's schema, one entry per version. The first is SQLite's six migrations at once.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE EXTENSION IF NOT EXISTS citext;
    CREATE TABLE users (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        username CITEXT NOT NULL UNIQUE,
        email TEXT,
        display_name TEXT,
        password_hash TEXT NOT NULL,
        disabled BOOLEAN NOT NULL DEFAULT FALSE,
        created_at BIGINT NOT NULL,
        must_enrol BOOLEAN NOT NULL DEFAULT FALSE,
        webauthn_handle BYTEA UNIQUE
    );
    CREATE TABLE user_groups (
        user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        PRIMARY KEY (user_id, name)
    );
    CREATE TABLE sessions (
        id_hash BYTEA PRIMARY KEY,
        user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        level BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        client_ip TEXT NOT NULL,
        user_agent TEXT NOT NULL,
        factor_at BIGINT
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE TABLE totp (
        user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        nonce BYTEA NOT NULL,
        ciphertext BYTEA NOT NULL,
        last_step BIGINT,
        created_at BIGINT NOT NULL
    );
    CREATE TABLE totp_pending (
        user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        nonce BYTEA NOT NULL,
        ciphertext BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        session_hash BYTEA
    );
    CREATE TABLE recovery_codes (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        used_at BIGINT
    );
    CREATE INDEX recovery_codes_user ON recovery_codes(user_id);
    CREATE TABLE bans (
        key TEXT PRIMARY KEY,
        until BIGINT NOT NULL
    );
    CREATE TABLE audit (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL,
        username CITEXT,
        event TEXT NOT NULL,
        client_ip TEXT,
        user_agent TEXT,
        detail TEXT
    );
    CREATE INDEX audit_user ON audit(username, id);
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value BYTEA NOT NULL
    );
    CREATE TABLE generation (
        one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
        value BIGINT NOT NULL
    );
    INSERT INTO generation (one, value) VALUES (TRUE, 0);
    CREATE TABLE invites (
        token_hash BYTEA PRIMARY KEY,
        user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT
    );
    CREATE INDEX invites_user ON invites(user_id);
    CREATE TABLE remembered_browsers (
        token_hash BYTEA PRIMARY KEY,
        user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        last_used BIGINT,
        client_ip TEXT NOT NULL,
        user_agent TEXT NOT NULL
    );
    CREATE INDEX remembered_browsers_user ON remembered_browsers(user_id);
    CREATE TABLE passkeys (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        credential_id BYTEA NOT NULL UNIQUE,
        rp_id TEXT NOT NULL,
        name TEXT NOT NULL,
        credential TEXT NOT NULL,
        counter BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT
    );
    CREATE INDEX passkeys_user ON passkeys(user_id);
    CREATE TABLE failures (
        key TEXT PRIMARY KEY,
        count BIGINT NOT NULL,
        since BIGINT NOT NULL
    );

    CREATE FUNCTION portcullis_session_ended() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('portcullis', 's:' || encode(OLD.id_hash, 'hex'));
        RETURN NULL;
    END $$;
    CREATE TRIGGER sessions_ended AFTER DELETE ON sessions
        FOR EACH ROW EXECUTE FUNCTION portcullis_session_ended();

    -- The changed user's id is in the column the trigger names (`id` of users, `user_id` of
    -- the rows that belong to a user).
    CREATE FUNCTION portcullis_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('portcullis', 'u:' || (to_jsonb(
            CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END) ->> TG_ARGV[0]));
        RETURN NULL;
    END $$;
    CREATE TRIGGER users_changed AFTER UPDATE ON users
        FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
        EXECUTE FUNCTION portcullis_user_changed('id');
    CREATE TRIGGER users_deleted AFTER DELETE ON users
        FOR EACH ROW EXECUTE FUNCTION portcullis_user_changed('id');
    CREATE TRIGGER user_groups_changed AFTER INSERT OR DELETE ON user_groups
        FOR EACH ROW EXECUTE FUNCTION portcullis_user_changed('user_id');
    CREATE TRIGGER totp_changed AFTER INSERT OR DELETE ON totp
        FOR EACH ROW EXECUTE FUNCTION portcullis_user_changed('user_id');
    CREATE TRIGGER passkeys_changed AFTER INSERT OR DELETE ON passkeys
        FOR EACH ROW EXECUTE FUNCTION portcullis_user_changed('user_id');

    CREATE FUNCTION portcullis_ban_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            PERFORM pg_notify('portcullis', 'b:' || encode(convert_to(OLD.key, 'UTF8'), 'hex'));
        ELSE
            PERFORM pg_notify('portcullis',
                'B:' || NEW.until || ':' || encode(convert_to(NEW.key, 'UTF8'), 'hex'));
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER bans_changed AFTER INSERT OR UPDATE OR DELETE ON bans
        FOR EACH ROW EXECUTE FUNCTION portcullis_ban_changed();
    "#,
    // 2: certificates at the edge, as SQLite's migration 8.
    r#"
    CREATE TABLE acme_accounts (
        directory TEXT PRIMARY KEY,
        credentials BYTEA NOT NULL
    );
    CREATE TABLE certificates (
        host TEXT PRIMARY KEY,
        chain TEXT NOT NULL,
        key BYTEA NOT NULL,
        not_after BIGINT NOT NULL,
        updated BIGINT NOT NULL
    );
    CREATE TABLE acme_challenges (
        token TEXT PRIMARY KEY,
        key_authorization TEXT NOT NULL,
        expires BIGINT NOT NULL
    );
    CREATE TABLE acme_leases (
        host TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        until BIGINT NOT NULL
    );

    -- An HTTP-01 answer published or withdrawn: every gateway answers the CA from memory.
    CREATE FUNCTION portcullis_challenge_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            PERFORM pg_notify('portcullis', 'C:' || encode(convert_to(OLD.token, 'UTF8'), 'hex'));
        ELSE
            PERFORM pg_notify('portcullis', 'c:' || encode(convert_to(NEW.token, 'UTF8'), 'hex')
                || ':' || encode(convert_to(NEW.key_authorization, 'UTF8'), 'hex'));
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER acme_challenges_changed AFTER INSERT OR UPDATE OR DELETE ON acme_challenges
        FOR EACH ROW EXECUTE FUNCTION portcullis_challenge_changed();
    "#,
];

/// Brings the schema up to date, one version per transaction, under a lock that keeps two
/// replicas starting at once from both migrating.
fn migrate(conn: &PgConn) -> Result<()> {
    let tx = super::db::PgTx::begin(conn)?;
    conn.batch("SELECT pg_advisory_xact_lock(7071)")?;
    conn.batch(
        "CREATE TABLE IF NOT EXISTS schema_version (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), version BIGINT NOT NULL)",
    )?;
    super::db::Tx::Pg(tx).commit()?;
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        let tx = super::db::PgTx::begin(conn)?;
        conn.batch("SELECT pg_advisory_xact_lock(7071)")?;
        let done: Option<i64> = conn
            .query("SELECT version FROM schema_version", &[])?
            .first()
            .map(|r| r.get(0));
        if done.unwrap_or(0) < version {
            conn.batch(sql)?;
            conn.execute(
                "INSERT INTO schema_version (one, version) VALUES (TRUE, ?1)
                 ON CONFLICT (one) DO UPDATE SET version = excluded.version",
                super::db::params![version],
            )?;
        }
        super::db::Tx::Pg(tx).commit()?;
    }
    Ok(())
}

/// Records last-seen times (see [`super::Store::touch_sessions`]), `seen` sorted by id hash:
/// a few statements, each for up to 5 000 sessions, in one transaction. The rows are locked in
/// id order first, as on every gateway, so two flushing the same sessions wait rather than
/// deadlock.
pub fn touch_sessions(conn: &PgConn, seen: &[([u8; 32], i64)]) -> Result<()> {
    let tx = super::db::PgTx::begin(conn)?;
    for chunk in seen.chunks(5_000) {
        let hashes: Vec<&[u8]> = chunk.iter().map(|(h, _)| &h[..]).collect();
        let times: Vec<i64> = chunk.iter().map(|(_, t)| *t).collect();
        conn.execute_pg(
            "WITH seen AS (SELECT * FROM unnest(?1::bytea[], ?2::bigint[]) AS v(id_hash, at)),
                  locked AS (SELECT s.id_hash FROM sessions s JOIN seen USING (id_hash)
                             ORDER BY s.id_hash FOR UPDATE)
             UPDATE sessions s SET last_seen = GREATEST(s.last_seen, seen.at)
             FROM seen
             WHERE s.id_hash = seen.id_hash AND s.id_hash IN (SELECT id_hash FROM locked)",
            &[&hashes, &times],
        )?;
    }
    super::db::Tx::Pg(tx).commit()
}

/// The generation counter (see [`super::Store::generation`]).
pub fn generation(conn: &PgConn) -> Result<i64> {
    conn.query("SELECT value FROM generation", &[])?
        .first()
        .map(|r| r.get(0))
        .ok_or(StoreError::NoRow)
}

pub fn bump_generation(conn: &PgConn) -> Result<()> {
    conn.batch("UPDATE generation SET value = value + 1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_collations_are_spelled_for_postgres() {
        assert_eq!(
            translate("SELECT a FROM t WHERE b = ?1 COLLATE NOCASE AND c = ?12 AND d = ?"),
            "SELECT a FROM t WHERE b = CAST($1 AS citext) AND c = $12 AND d = ?"
        );
    }

    #[test]
    fn notices_read_back_what_the_triggers_write() {
        let hash = [7u8; 32];
        assert_eq!(
            Notice::parse(&format!("s:{}", hex::encode(hash))),
            Some(Notice::SessionEnded(hash))
        );
        assert_eq!(Notice::parse("u:42"), Some(Notice::UserChanged(42)));
        let key = "ip:2001:db8::/64";
        assert_eq!(
            Notice::parse(&format!("B:99:{}", hex::encode(key))),
            Some(Notice::Banned(key.into(), 99))
        );
        assert_eq!(
            Notice::parse(&format!("b:{}", hex::encode(key))),
            Some(Notice::BanLifted(key.into()))
        );
        assert_eq!(
            Notice::parse(&format!(
                "c:{}:{}",
                hex::encode("tok"),
                hex::encode("tok.thumb")
            )),
            Some(Notice::Challenge("tok".into(), "tok.thumb".into()))
        );
        assert_eq!(
            Notice::parse(&format!("C:{}", hex::encode("tok"))),
            Some(Notice::ChallengeWithdrawn("tok".into()))
        );
        assert_eq!(Notice::parse("s:zz"), None);
        assert_eq!(Notice::parse("x:1"), None);
    }
}
