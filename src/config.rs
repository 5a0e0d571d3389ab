//! Configuration: the TOML file format and the validated, compiled configuration.
//!
//! Two families of types live here. The `File*` structs mirror the TOML exactly
//! (`deny_unknown_fields` everywhere, so a misspelt key is an error and never a silently open
//! path). [`Config`] is what the rest of the gateway uses: upstreams resolved, globs compiled,
//! header names pre-built, durations typed. Every error names `file:line:col`.
//!
//! This module reads files and resolves names; it never touches the store or the network
//! beyond name resolution.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http::header::HeaderName;
use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use crate::i18n::{Lang, LANGUAGES};
pub use crate::routes::{App, Policy, Rule, Upstream};
use crate::routes::{Glob, Router};
use crate::store::{Location, PgTarget};

/// A configuration error, already rendered with its location.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{col}: {message}")]
    Invalid {
        path: String,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Whole { path: String, message: String },
}

// ---------------------------------------------------------------------------------------------
// File format
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    server: FileServer,
    #[serde(default)]
    storage: FileStorage,
    metrics: Option<FileMetrics>,
    #[serde(default)]
    session: FileSession,
    #[serde(default)]
    totp: FileTotp,
    #[serde(default)]
    recovery_codes: FileRecoveryCodes,
    #[serde(default)]
    regulation: FileRegulation,
    #[serde(default)]
    identity_headers: FileIdentityHeaders,
    #[serde(default)]
    log: FileLog,
    #[serde(default)]
    portal: FilePortal,
    #[serde(default)]
    invites: FileInvites,
    #[serde(default)]
    admin: FileAdmin,
    #[serde(default)]
    webauthn: FileWebauthn,
    #[serde(default)]
    apps: Vec<FileApp>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileServer {
    #[serde(default = "default_listen")]
    listen: Spanned<OneOrMany>,
    #[serde(default = "default_prefix")]
    portal_prefix: Spanned<String>,
    #[serde(default)]
    trusted_proxies: Vec<Spanned<String>>,
    #[serde(default)]
    tls: Option<FileTls>,
    /// Worker threads of the proxy; 0 or absent: one per core.
    #[serde(default)]
    threads: usize,
    /// PEM bundle of CAs trusted for `https://` upstreams, in addition to the system roots.
    #[serde(default)]
    upstream_ca_file: Option<String>,
    /// A request head must arrive whole within this, however it is dribbled.
    #[serde(default = "default_header_timeout", with = "humantime_serde")]
    header_timeout: Duration,
    /// An idle keep-alive connection closes after this.
    #[serde(default = "default_keepalive_timeout", with = "humantime_serde")]
    keepalive_timeout: Duration,
    /// A request body must keep flowing: at most this between two reads.
    #[serde(default = "default_body_timeout", with = "humantime_serde")]
    body_timeout: Duration,
    /// Connections held at once; 0: derived from the open-file limit.
    #[serde(default)]
    max_connections: usize,
    /// At SIGTERM, requests in flight have this long to finish.
    #[serde(default = "default_grace_period", with = "humantime_serde")]
    grace_period: Duration,
    /// Let the proxy's threads steal each other's work (pingora's default); off: one
    /// single-threaded runtime per thread, faster on small machines.
    #[serde(default)]
    work_stealing: bool,
    /// With TLS on: plain HTTP answers ACME challenges and redirects the rest to HTTPS.
    #[serde(default = "default_true")]
    redirect_to_https: bool,
}

fn default_true() -> bool {
    true
}

fn default_grace_period() -> Duration {
    Duration::from_secs(30)
}

fn default_header_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_keepalive_timeout() -> Duration {
    Duration::from_secs(75)
}
fn default_body_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_upstream_timeout() -> Duration {
    Duration::from_secs(60)
}

impl Default for FileServer {
    fn default() -> Self {
        FileServer {
            listen: default_listen(),
            portal_prefix: default_prefix(),
            trusted_proxies: Vec::new(),
            tls: None,
            threads: 0,
            upstream_ca_file: None,
            header_timeout: default_header_timeout(),
            keepalive_timeout: default_keepalive_timeout(),
            body_timeout: default_body_timeout(),
            max_connections: 0,
            grace_period: default_grace_period(),
            work_stealing: false,
            redirect_to_https: true,
        }
    }
}

fn default_listen() -> Spanned<OneOrMany> {
    Spanned::new(0..0, OneOrMany::One("127.0.0.1:8080".into()))
}
fn default_prefix() -> Spanned<String> {
    Spanned::new(0..0, "/.portcullis".into())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTls {
    cert: Option<Spanned<String>>,
    key: Option<Spanned<String>>,
    /// Address of the HTTPS listener; defaults to the first `listen` address's host, port 8443.
    #[serde(default)]
    listen: Option<Spanned<String>>,
    /// Certificates from an ACME CA for every app host.
    acme: Option<Spanned<bool>>,
    acme_email: Option<Spanned<String>>,
    acme_directory: Option<Spanned<String>>,
    /// PEM CA trusted for the ACME directory's HTTPS instead of the system roots (a private or
    /// test CA).
    acme_ca_file: Option<Spanned<String>>,
    /// `Strict-Transport-Security` on the apps' responses over TLS too, not only the portal's.
    #[serde(default)]
    hsts_for_apps: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStorage {
    #[serde(default = "default_db")]
    path: String,
    #[serde(default = "default_key")]
    key_file: String,
    url: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    ca_file: Option<Spanned<String>>,
    #[serde(default = "default_outage_grace", with = "humantime_serde")]
    outage_grace: Duration,
}

impl Default for FileStorage {
    fn default() -> Self {
        FileStorage {
            path: default_db(),
            key_file: default_key(),
            url: None,
            password_file: None,
            ca_file: None,
            outage_grace: default_outage_grace(),
        }
    }
}
fn default_outage_grace() -> Duration {
    Duration::from_secs(30)
}
fn default_db() -> String {
    "data/portcullis.db".into()
}
fn default_key() -> String {
    "data/portcullis.key".into()
}

/// `[metrics]`: absent, no metrics listener.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMetrics {
    listen: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileSession {
    cookie_name: Spanned<String>,
    cookie_domain: String,
    secure: bool,
    #[serde(with = "humantime_serde")]
    idle_timeout: Duration,
    #[serde(with = "humantime_serde")]
    absolute_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pending_timeout: Duration,
}

impl Default for FileSession {
    fn default() -> Self {
        FileSession {
            cookie_name: Spanned::new(0..0, "portcullis_session".into()),
            cookie_domain: String::new(),
            secure: true,
            idle_timeout: Duration::from_secs(3600),
            absolute_timeout: Duration::from_secs(12 * 3600),
            pending_timeout: Duration::from_secs(300),
        }
    }
}

/// HMAC algorithm of TOTP codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum TotpAlgorithm {
    SHA1,
    SHA256,
    SHA512,
}

impl fmt::Display for TotpAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TotpAlgorithm::SHA1 => "SHA1",
            TotpAlgorithm::SHA256 => "SHA256",
            TotpAlgorithm::SHA512 => "SHA512",
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileTotp {
    issuer: Spanned<String>,
    algorithm: TotpAlgorithm,
    digits: Spanned<u8>,
    period: Spanned<u64>,
    skew: Spanned<u8>,
    #[serde(with = "humantime_serde")]
    remember_browser: Duration,
}

impl Default for FileTotp {
    fn default() -> Self {
        FileTotp {
            issuer: Spanned::new(0..0, "Portcullis".into()),
            algorithm: TotpAlgorithm::SHA1,
            digits: Spanned::new(0..0, 6),
            period: Spanned::new(0..0, 30),
            skew: Spanned::new(0..0, 1),
            remember_browser: Duration::ZERO,
        }
    }
}

/// `[invites]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileInvites {
    require_totp: bool,
    #[serde(with = "humantime_serde")]
    expires: Duration,
}

impl Default for FileInvites {
    fn default() -> Self {
        FileInvites {
            require_totp: true,
            expires: Duration::from_secs(72 * 3600),
        }
    }
}

/// `[webauthn]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileWebauthn {
    rp_id: Option<Spanned<String>>,
    passwordless: bool,
}

/// `[admin]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileAdmin {
    groups: Spanned<Vec<String>>,
    #[serde(with = "humantime_serde")]
    reauth: Duration,
}

impl Default for FileAdmin {
    fn default() -> Self {
        FileAdmin {
            groups: Spanned::new(0..0, vec!["admins".into()]),
            reauth: Duration::from_secs(600),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileRecoveryCodes {
    count: Spanned<usize>,
}

impl Default for FileRecoveryCodes {
    fn default() -> Self {
        FileRecoveryCodes {
            count: Spanned::new(0..0, 10),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileRegulation {
    max_failures: Spanned<u32>,
    #[serde(with = "humantime_serde")]
    window: Duration,
    #[serde(with = "humantime_serde")]
    ban: Duration,
}

impl Default for FileRegulation {
    fn default() -> Self {
        FileRegulation {
            max_failures: Spanned::new(0..0, 5),
            window: Duration::from_secs(300),
            ban: Duration::from_secs(900),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileLog {
    format: Spanned<String>,
    level: Spanned<String>,
    access: bool,
}

impl Default for FileLog {
    fn default() -> Self {
        FileLog {
            format: Spanned::new(0..0, "text".into()),
            level: Spanned::new(0..0, "info".into()),
            access: false,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileIdentityHeaders {
    user: Spanned<String>,
    email: Spanned<String>,
    name: Spanned<String>,
    groups: Spanned<String>,
}

impl Default for FileIdentityHeaders {
    fn default() -> Self {
        FileIdentityHeaders {
            user: Spanned::new(0..0, "Remote-User".into()),
            email: Spanned::new(0..0, "Remote-Email".into()),
            name: Spanned::new(0..0, "Remote-Name".into()),
            groups: Spanned::new(0..0, "Remote-Groups".into()),
        }
    }
}

/// `[portal]`: the operator's brand and the languages offered.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FilePortal {
    title: Spanned<String>,
    logo: Option<Spanned<String>>,
    accent_color: Option<Spanned<String>>,
    footer: Option<Spanned<String>>,
    languages: Option<Spanned<Vec<String>>>,
    default_language: Option<Spanned<String>>,
}

impl Default for FilePortal {
    fn default() -> Self {
        FilePortal {
            title: Spanned::new(0..0, "Portcullis".into()),
            logo: None,
            accent_color: None,
            footer: None,
            languages: None,
            default_language: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileApp {
    name: Spanned<String>,
    #[serde(default)]
    hosts: Vec<Spanned<String>>,
    upstream: Option<Spanned<String>>,
    /// Verify the certificate of an `https://` upstream (default true).
    #[serde(default = "yes")]
    upstream_tls_verify: bool,
    #[serde(default = "default_policy")]
    default_policy: Policy,
    /// The app tells `/Admin` from `/admin`: rules then also match case as written only.
    #[serde(default)]
    case_sensitive: bool,
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    connect_timeout: Duration,
    /// To the response head, and between two reads of the response body.
    #[serde(default = "default_upstream_timeout", with = "humantime_serde")]
    upstream_timeout: Duration,
    #[serde(default)]
    rules: Vec<FileRule>,
}

fn yes() -> bool {
    true
}
fn default_policy() -> Policy {
    Policy::OneFactor
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRule {
    paths: Vec<Spanned<String>>,
    #[serde(default)]
    methods: Option<Vec<Spanned<String>>>,
    policy: Policy,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    users: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Compiled configuration
// ---------------------------------------------------------------------------------------------

/// The validated configuration every other module reads.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from (for messages).
    pub source: PathBuf,
    pub server: ServerConfig,
    pub storage: StorageConfig,
    /// `None`: no metrics listener.
    pub metrics: Option<MetricsConfig>,
    pub session: SessionConfig,
    pub totp: TotpConfig,
    pub recovery_codes: RecoveryCodesConfig,
    pub regulation: RegulationConfig,
    pub identity_headers: IdentityHeaders,
    pub log: LogConfig,
    pub portal: PortalConfig,
    pub invites: InvitesConfig,
    pub admin: AdminConfig,
    pub webauthn: WebauthnConfig,
    pub router: Router,
}

/// `[portal]`: whose site this is, and in which languages its pages speak.
#[derive(Debug, Clone)]
pub struct PortalConfig {
    pub brand: Arc<Brand>,
    /// Offered, in the picker's order; never empty.
    pub languages: Vec<Lang>,
    /// One of `languages`.
    pub default_language: Lang,
}

/// The operator's brand, shown on every portal page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    pub title: String,
    pub logo: Option<Logo>,
    /// A small stylesheet setting the accent colour, when one is configured.
    pub theme_css: Option<String>,
    /// The footer text, cut where it holds links.
    pub footer: Vec<FooterPart>,
}

/// The logo file, read at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    pub bytes: bytes::Bytes,
    pub content_type: &'static str,
}

/// A piece of the footer: text, or a link whose text is its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FooterPart {
    pub text: String,
    pub href: Option<String>,
}

/// `[log]`: how the gateway's own log is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub json: bool,
    /// A `tracing` filter directive (`info`, `debug`, `warn,portcullis=debug`).
    pub level: String,
    /// One line per request (target `access`).
    pub access: bool,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: Vec<SocketAddr>,
    /// Always starts with `/` and never ends with one.
    pub portal_prefix: String,
    pub trusted_proxies: Vec<IpNet>,
    pub tls: Option<TlsConfig>,
    /// Worker threads of the proxy service.
    pub threads: usize,
    /// A request head must arrive whole within this (total, not per read).
    pub header_timeout: Duration,
    /// Idle keep-alive connections close after this.
    pub keepalive_timeout: Duration,
    /// The longest pause allowed between two reads of a request body.
    pub body_timeout: Duration,
    /// Connections held at once; 0: derived at start from the open-file limit.
    pub max_connections: usize,
    /// At SIGTERM, requests in flight have this long to finish.
    pub grace_period: Duration,
    /// Work stealing between the proxy's threads (off: one runtime per thread).
    pub work_stealing: bool,
    /// With TLS on: plain HTTP answers ACME challenges and redirects the rest to HTTPS.
    pub redirect_to_https: bool,
    pub upstream_ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub listen: SocketAddr,
    /// `cert` and `key`, read at load (and at every reload): served for every name ACME does
    /// not cover.
    pub files: Option<CertFiles>,
    pub acme: Option<AcmeConfig>,
    pub hsts_for_apps: bool,
}

/// A certificate and key from files, with what they held when the configuration was read.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub loaded: crate::edge::Loaded,
}

/// `acme = true`: where to order certificates, and for which hosts.
#[derive(Debug, Clone, PartialEq)]
pub struct AcmeConfig {
    pub directory: String,
    pub email: Option<String>,
    pub ca_file: Option<PathBuf>,
    /// Every app host that is a DNS name (no IP address, no wildcard).
    pub hosts: Vec<String>,
}

/// Let's Encrypt's production directory.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// The SQLite file; with `url`, only where the control socket goes (`<path>.control`).
    pub path: PathBuf,
    pub key_file: PathBuf,
    /// PostgreSQL instead of SQLite: shared by every replica.
    pub postgres: Option<PgTarget>,
    /// PostgreSQL unreachable: cached sessions are served this long, then 503.
    pub outage_grace: Duration,
}

impl StorageConfig {
    /// Where the store is.
    pub fn location(&self) -> Location {
        match &self.postgres {
            Some(target) => Location::Postgres(target.clone()),
            None => Location::Sqlite(self.path.clone()),
        }
    }

    /// The store's name for messages: the file, or the URL without its password.
    pub fn describe(&self) -> String {
        match &self.postgres {
            Some(target) => target.shown(),
            None => self.path.display().to_string(),
        }
    }
}

/// The `[storage]` section checked: a PostgreSQL URL must parse, and its password comes from
/// the URL, else `password_file`, else the environment (`PORTCULLIS_DB_PASSWORD`).
fn compile_storage(file: FileStorage, loc: &Locator<'_>) -> Result<StorageConfig, ConfigError> {
    let postgres = match file.url {
        None => {
            if let Some(p) = file.password_file.as_ref().or(file.ca_file.as_ref()) {
                return Err(loc.at(p.span(), "this key is for a PostgreSQL `url`"));
            }
            None
        }
        Some(url) => {
            let password = match &file.password_file {
                Some(p) => Some(
                    std::fs::read_to_string(p.get_ref())
                        .map_err(|e| loc.at(p.span(), format!("cannot read {}: {e}", p.get_ref())))?
                        .trim_end_matches(['\r', '\n'])
                        .to_string(),
                ),
                None => std::env::var("PORTCULLIS_DB_PASSWORD").ok(),
            };
            let target = PgTarget {
                url: url.get_ref().clone(),
                password,
                ca_file: file.ca_file.as_ref().map(|c| c.get_ref().into()),
            };
            if let Some(ca) = &file.ca_file {
                target.tls().map_err(|e| loc.at(ca.span(), e))?;
            }
            if !(url.get_ref().starts_with("postgres://")
                || url.get_ref().starts_with("postgresql://"))
            {
                return Err(loc.at(
                    url.span(),
                    "url must start with postgres:// (SQLite takes `path`)",
                ));
            }
            target.config().map_err(|e| loc.at(url.span(), e))?;
            Some(target)
        }
    };
    if file.outage_grace.is_zero() {
        return Err(loc.at(0..0, "[storage] outage_grace must be more than 0s"));
    }
    Ok(StorageConfig {
        path: file.path.into(),
        key_file: file.key_file.into(),
        postgres,
        outage_grace: file.outage_grace,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Where `GET /metrics` is served.
    pub listen: SocketAddr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    pub cookie_name: String,
    pub cookie_domain: Option<String>,
    pub secure: bool,
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
    pub pending_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpConfig {
    pub issuer: String,
    pub algorithm: TotpAlgorithm,
    pub digits: u8,
    pub period: u64,
    pub skew: u8,
    /// How long "remember this browser" skips the second factor; zero: not offered.
    pub remember_browser: Duration,
}

/// `[invites]`: how an invited person gets in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitesConfig {
    /// The invited person enrols TOTP before first access.
    pub require_totp: bool,
    /// How long an invite link lives unless the command says otherwise.
    pub expires: Duration,
}

/// `[admin]`: who may use the admin area, and how fresh their second factor must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// Members of any of these groups are admins.
    pub groups: Vec<String>,
    /// A change in the admin area needs a second factor at most this old.
    pub reauth: Duration,
}

/// `[webauthn]`: passkeys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebauthnConfig {
    /// The relying-party id passkeys are bound to; `None`: the cookie domain, else the host
    /// the page is on.
    pub rp_id: Option<String>,
    /// "Sign in with a passkey" on the sign-in page.
    pub passwordless: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryCodesConfig {
    pub count: usize,
}

#[derive(Debug, Clone)]
pub struct RegulationConfig {
    pub max_failures: u32,
    pub window: Duration,
    pub ban: Duration,
}

/// Identity header names, built once at load.
#[derive(Debug, Clone)]
pub struct IdentityHeaders {
    pub user: HeaderName,
    pub email: HeaderName,
    pub name: HeaderName,
    pub groups: HeaderName,
    /// Lower-case names with `-` and `_` folded to `-`, for stripping spoofed copies.
    pub folded: Vec<String>,
}

impl IdentityHeaders {
    /// True when a client-sent header `name` could be read as one of ours by some upstream.
    pub fn is_identity(&self, name: &str) -> bool {
        self.folded.iter().any(|f| {
            f.len() == name.len()
                && f.bytes().zip(name.bytes()).all(|(a, b)| {
                    let b = if b == b'_' {
                        b'-'
                    } else {
                        b.to_ascii_lowercase()
                    };
                    a == b
                })
        })
    }
}

/// Lower-case, `_` read as `-`: how many servers (and CGI) fold header names.
pub fn fold_header_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '_' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

const KNOWN_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

/// Turns byte offsets into `file:line:col` messages.
struct Locator<'a> {
    path: &'a str,
    text: &'a str,
}

impl Locator<'_> {
    fn at(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> ConfigError {
        if span == (0..0) {
            return ConfigError::Whole {
                path: self.path.to_string(),
                message: message.into(),
            };
        }
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ConfigError::Invalid {
            path: self.path.to_string(),
            line,
            col,
            message: message.into(),
        }
    }
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(path, &text)
    }

    /// Only the `[storage]` section of the file at `path`, with defaults for everything else:
    /// for the commands that work on the data while the rest of the file has a mistake (an
    /// operator must still be able to lift a ban while fixing a rule). Fails when the file is
    /// not TOML or its `[storage]` section is itself wrong.
    pub fn storage_only(path: &Path) -> Result<Config, ConfigError> {
        #[derive(Deserialize)]
        struct StorageOnly {
            #[serde(default)]
            storage: FileStorage,
        }
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let shown = path.display().to_string();
        let loc = Locator {
            path: &shown,
            text: &text,
        };
        let file: StorageOnly = toml::from_str(&text).map_err(|e| {
            let message = e.message().trim().to_string();
            loc.at(e.span().unwrap_or(0..0), message)
        })?;
        let mut config = Config::parse(path, "")?;
        config.storage = compile_storage(file.storage, &loc)?;
        Ok(config)
    }

    /// Validates `text` as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let loc = Locator { path: &shown, text };
        let file: FileConfig = toml::from_str(text).map_err(|e| {
            let message = e.message().trim().to_string();
            loc.at(e.span().unwrap_or(0..0), message)
        })?;
        compile(file, path, &loc)
    }
}

/// Validates each section into its compiled form, one function per section.
fn compile(file: FileConfig, path: &Path, loc: &Locator<'_>) -> Result<Config, ConfigError> {
    let acme_span = file
        .server
        .tls
        .as_ref()
        .and_then(|t| t.acme.as_ref())
        .map(|a| a.span());
    let mut server = compile_server(file.server, loc)?;
    let apps = compile_apps(file.apps, loc)?;
    if let Some(acme) = server.tls.as_mut().and_then(|t| t.acme.as_mut()) {
        acme.hosts = acme_hosts(&apps);
        if acme.hosts.is_empty() {
            return Err(loc.at(
                acme_span.unwrap_or(0..0),
                "acme = true orders certificates for the apps' `hosts`, and no app names a DNS host",
            ));
        }
    }
    Ok(Config {
        source: path.to_path_buf(),
        storage: compile_storage(file.storage, loc)?,
        metrics: file.metrics.map(|m| compile_metrics(m, loc)).transpose()?,
        session: compile_session(file.session, loc)?,
        totp: compile_totp(file.totp, loc)?,
        recovery_codes: compile_recovery_codes(file.recovery_codes, loc)?,
        regulation: compile_regulation(file.regulation, loc)?,
        identity_headers: compile_identity_headers(file.identity_headers, loc)?,
        log: compile_log(file.log, loc)?,
        portal: compile_portal(file.portal, loc)?,
        invites: compile_invites(file.invites, loc)?,
        admin: compile_admin(file.admin, loc)?,
        webauthn: compile_webauthn(file.webauthn, loc)?,
        router: Router::new(apps),
        server,
    })
}

/// `[server.tls]`: the certificate files are read now, so that a bad one is reported here;
/// the ACME hosts are filled in once the apps are known.
fn compile_tls(
    t: FileTls,
    listen: SocketAddr,
    loc: &Locator<'_>,
) -> Result<TlsConfig, ConfigError> {
    let files = match (t.cert, t.key) {
        (None, None) => None,
        (Some(c), None) => return Err(loc.at(c.span(), "`cert` needs its `key` beside it")),
        (None, Some(k)) => return Err(loc.at(k.span(), "`key` needs its `cert` beside it")),
        (Some(cert), Some(key)) => {
            let (cert_path, key_path) =
                (PathBuf::from(cert.get_ref()), PathBuf::from(key.get_ref()));
            let loaded =
                crate::edge::Loaded::from_files(&cert_path, &key_path).map_err(|(part, e)| {
                    match part {
                        crate::edge::PairPart::Cert => loc.at(cert.span(), e),
                        crate::edge::PairPart::Key => loc.at(key.span(), e),
                    }
                })?;
            Some(CertFiles {
                cert: cert_path,
                key: key_path,
                loaded,
            })
        }
    };
    let acme = match t.acme {
        Some(on) if *on.get_ref() => {
            let directory = t
                .acme_directory
                .as_ref()
                .map_or(LETS_ENCRYPT.to_string(), |d| d.get_ref().clone());
            if let Some(d) = &t.acme_directory {
                if !d.get_ref().starts_with("https://") {
                    return Err(loc.at(d.span(), "acme_directory must be an https:// URL"));
                }
            }
            if let Some(e) = &t.acme_email {
                let text = e.get_ref();
                if !text.contains('@') || text.contains([' ', ',', '<', '>']) {
                    return Err(loc.at(e.span(), format!("`{text}` is not an email address")));
                }
            }
            if let Some(ca) = &t.acme_ca_file {
                use rustls::pki_types::{pem::PemObject, CertificateDer};
                CertificateDer::from_pem_file(ca.get_ref()).map_err(|e| {
                    loc.at(
                        ca.span(),
                        format!("{}: no PEM certificate ({e})", ca.get_ref()),
                    )
                })?;
            }
            Some(AcmeConfig {
                directory,
                email: t.acme_email.map(|e| e.into_inner()),
                ca_file: t.acme_ca_file.map(|c| c.into_inner().into()),
                hosts: Vec::new(),
            })
        }
        _ => {
            let stray = [&t.acme_email, &t.acme_directory, &t.acme_ca_file];
            if let Some(key) = stray.into_iter().flatten().next() {
                return Err(loc.at(key.span(), "this key is for `acme = true`"));
            }
            None
        }
    };
    if files.is_none() && acme.is_none() {
        return Err(loc.at(
            0..0,
            "[server.tls] needs `cert` and `key`, or `acme = true`, or both",
        ));
    }
    Ok(TlsConfig {
        listen,
        files,
        acme,
        hsts_for_apps: t.hsts_for_apps,
    })
}

/// The hosts ACME orders for: every app host that is a DNS name.
fn acme_hosts(apps: &[App]) -> Vec<String> {
    let mut hosts: Vec<String> = apps
        .iter()
        .flat_map(|a| a.hosts.iter())
        .filter(|h| h.parse::<std::net::IpAddr>().is_err() && !h.contains('*') && h.contains('.'))
        .cloned()
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// `[server]`.
fn compile_server(server: FileServer, loc: &Locator<'_>) -> Result<ServerConfig, ConfigError> {
    let listen_span = server.listen.span();
    let listen_texts = match server.listen.into_inner() {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    };
    if listen_texts.is_empty() {
        return Err(loc.at(listen_span, "`listen` needs at least one address"));
    }
    let mut listen = Vec::new();
    for text in &listen_texts {
        let addr: SocketAddr = text.parse().map_err(|_| {
            loc.at(
                listen_span.clone(),
                format!("`{text}` is not an address like 127.0.0.1:8080 or [::]:80"),
            )
        })?;
        listen.push(addr);
    }

    let prefix_span = server.portal_prefix.span();
    let mut portal_prefix = server.portal_prefix.into_inner();
    while portal_prefix.ends_with('/') {
        portal_prefix.pop();
    }
    if !portal_prefix.starts_with('/')
        || portal_prefix.len() < 2
        || portal_prefix.contains(['?', '#', '*', ' '])
    {
        return Err(loc.at(
            prefix_span,
            "`portal_prefix` must be a path like \"/.portcullis\"",
        ));
    }

    if server.header_timeout.is_zero()
        || server.keepalive_timeout.is_zero()
        || server.body_timeout.is_zero()
    {
        return Err(loc.at(0..0, "[server] timeouts must be longer than zero"));
    }

    let mut trusted_proxies = Vec::new();
    for cidr in server.trusted_proxies {
        let span = cidr.span();
        let text = cidr.into_inner();
        let net = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| loc.at(span, format!("`{text}` is not a CIDR like 10.0.0.0/8")))?;
        trusted_proxies.push(net);
    }

    let tls = match server.tls {
        None => None,
        Some(mut t) => {
            let listen = match t.listen.take() {
                Some(s) => {
                    let span = s.span();
                    let text = s.into_inner();
                    text.parse().map_err(|_| {
                        loc.at(span, format!("`{text}` is not an address like 0.0.0.0:443"))
                    })?
                }
                None => SocketAddr::new(listen[0].ip(), 8443),
            };
            Some(compile_tls(t, listen, loc)?)
        }
    };

    let threads = if server.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        server.threads
    };

    Ok(ServerConfig {
        listen,
        portal_prefix,
        trusted_proxies,
        tls,
        threads,
        upstream_ca_file: server.upstream_ca_file.map(PathBuf::from),
        header_timeout: server.header_timeout,
        keepalive_timeout: server.keepalive_timeout,
        body_timeout: server.body_timeout,
        max_connections: server.max_connections,
        grace_period: server.grace_period,
        work_stealing: server.work_stealing,
        redirect_to_https: server.redirect_to_https,
    })
}

/// `[metrics]`.
fn compile_metrics(m: FileMetrics, loc: &Locator<'_>) -> Result<MetricsConfig, ConfigError> {
    let text = m.listen.get_ref();
    let listen = text.parse().map_err(|_| {
        loc.at(
            m.listen.span(),
            format!("`{text}` is not an address like 127.0.0.1:9464"),
        )
    })?;
    Ok(MetricsConfig { listen })
}

/// `[session]`.
fn compile_session(s: FileSession, loc: &Locator<'_>) -> Result<SessionConfig, ConfigError> {
    let cookie_span = s.cookie_name.span();
    let cookie_name = s.cookie_name.into_inner();
    if cookie_name.is_empty()
        || !cookie_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    {
        return Err(loc.at(
            cookie_span,
            "`cookie_name` may hold only letters, digits, `_`, `-` and `.`",
        ));
    }
    if s.idle_timeout.is_zero() || s.absolute_timeout.is_zero() || s.pending_timeout.is_zero() {
        return Err(loc.at(0..0, "[session] timeouts must be longer than zero"));
    }
    let cookie_domain = Some(s.cookie_domain.trim_start_matches('.').to_ascii_lowercase())
        .filter(|d| !d.is_empty());

    Ok(SessionConfig {
        cookie_name,
        cookie_domain,
        secure: s.secure,
        idle_timeout: s.idle_timeout,
        absolute_timeout: s.absolute_timeout,
        pending_timeout: s.pending_timeout,
    })
}

/// `[totp]`.
fn compile_totp(t: FileTotp, loc: &Locator<'_>) -> Result<TotpConfig, ConfigError> {
    if !matches!(*t.digits.get_ref(), 6 | 8) {
        return Err(loc.at(t.digits.span(), "`digits` must be 6 or 8"));
    }
    if !(15..=300).contains(t.period.get_ref()) {
        return Err(loc.at(
            t.period.span(),
            "`period` must be between 15 and 300 seconds",
        ));
    }
    if *t.skew.get_ref() > 2 {
        return Err(loc.at(t.skew.span(), "`skew` must be 0, 1 or 2 steps"));
    }
    if t.issuer.get_ref().is_empty() || t.issuer.get_ref().contains(':') {
        return Err(loc.at(
            t.issuer.span(),
            "`issuer` must be non-empty and hold no `:`",
        ));
    }

    Ok(TotpConfig {
        issuer: t.issuer.into_inner(),
        algorithm: t.algorithm,
        digits: t.digits.into_inner(),
        period: t.period.into_inner(),
        skew: t.skew.into_inner(),
        remember_browser: t.remember_browser,
    })
}

/// `[invites]`.
fn compile_invites(i: FileInvites, loc: &Locator<'_>) -> Result<InvitesConfig, ConfigError> {
    if i.expires.is_zero() {
        return Err(loc.at(0..0, "[invites] `expires` must be longer than zero"));
    }
    Ok(InvitesConfig {
        require_totp: i.require_totp,
        expires: i.expires,
    })
}

/// `[admin]`.
fn compile_admin(a: FileAdmin, loc: &Locator<'_>) -> Result<AdminConfig, ConfigError> {
    let span = a.groups.span();
    let groups = a.groups.into_inner();
    if groups
        .iter()
        .any(|g| g.trim().is_empty() || g.contains(','))
    {
        return Err(loc.at(span, "[admin] `groups` are group names, without commas"));
    }
    if a.reauth.is_zero() {
        return Err(loc.at(0..0, "[admin] `reauth` must be longer than zero"));
    }
    Ok(AdminConfig {
        groups,
        reauth: a.reauth,
    })
}

/// `[webauthn]`: an `rp_id` is a host name (a registrable domain or one under it), never an
/// address or a URL: browsers refuse any other.
fn compile_webauthn(w: FileWebauthn, loc: &Locator<'_>) -> Result<WebauthnConfig, ConfigError> {
    let rp_id = match w.rp_id {
        None => None,
        Some(spanned) => {
            let span = spanned.span();
            let id = spanned
                .into_inner()
                .trim()
                .trim_start_matches('.')
                .to_ascii_lowercase();
            let is_name = url::Host::parse(&id).is_ok_and(|h| matches!(h, url::Host::Domain(_)))
                && !id.is_empty()
                && id.split('.').all(|label| {
                    !label.is_empty()
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                });
            if !is_name {
                return Err(loc.at(
                    span,
                    "[webauthn] `rp_id` must be a host name such as \"example.com\" (no scheme, port or address)",
                ));
            }
            Some(id)
        }
    };
    Ok(WebauthnConfig {
        rp_id,
        passwordless: w.passwordless,
    })
}

/// `[recovery_codes]`.
fn compile_recovery_codes(
    recovery_codes: FileRecoveryCodes,
    loc: &Locator<'_>,
) -> Result<RecoveryCodesConfig, ConfigError> {
    let count = *recovery_codes.count.get_ref();
    if !(1..=50).contains(&count) {
        return Err(loc.at(
            recovery_codes.count.span(),
            "`count` must be between 1 and 50",
        ));
    }

    Ok(RecoveryCodesConfig { count })
}

/// `[regulation]`.
fn compile_regulation(
    r: FileRegulation,
    loc: &Locator<'_>,
) -> Result<RegulationConfig, ConfigError> {
    if *r.max_failures.get_ref() == 0 || *r.max_failures.get_ref() > 100 {
        return Err(loc.at(
            r.max_failures.span(),
            "`max_failures` must be between 1 and 100",
        ));
    }

    Ok(RegulationConfig {
        max_failures: r.max_failures.into_inner(),
        window: r.window,
        ban: r.ban,
    })
}

/// `[log]`.
fn compile_log(l: FileLog, loc: &Locator<'_>) -> Result<LogConfig, ConfigError> {
    let json = match l.format.get_ref().as_str() {
        "text" => false,
        "json" => true,
        other => {
            let message = format!("`format` is \"text\" or \"json\", not \"{other}\"");
            return Err(loc.at(l.format.span(), message));
        }
    };
    let level = l.level.get_ref().trim().to_string();
    // A bare word must be a level (a misspelt one would read as a target and log nothing);
    // directives such as "warn,portcullis=debug" go to the filter's own parser.
    let valid = if level.contains(['=', ',']) {
        level
            .parse::<tracing_subscriber::filter::EnvFilter>()
            .is_ok()
    } else {
        level
            .parse::<tracing_subscriber::filter::LevelFilter>()
            .is_ok()
    };
    if !valid {
        let message = format!("`level` \"{level}\" is not a level like \"info\" or \"debug\"");
        return Err(loc.at(l.level.span(), message));
    }
    Ok(LogConfig {
        json,
        level,
        access: l.access,
    })
}

/// `[portal]`. The logo is read here (like every relative path, relative to the directory the
/// gateway runs in), so that a missing file stops the start or the reload instead of showing a
/// broken image on every page.
fn compile_portal(p: FilePortal, loc: &Locator<'_>) -> Result<PortalConfig, ConfigError> {
    let title = p.title.get_ref().trim().to_string();
    if title.is_empty() || title.chars().count() > 100 {
        return Err(loc.at(p.title.span(), "`title` must hold 1 to 100 characters"));
    }
    let languages = match p.languages {
        None => LANGUAGES.to_vec(),
        Some(list) => {
            let mut languages = Vec::new();
            for tag in list.get_ref() {
                let lang = Lang::from_tag(tag).ok_or_else(|| {
                    loc.at(
                        list.span(),
                        format!("`{tag}` is not one of {}", known_tags()),
                    )
                })?;
                if !languages.contains(&lang) {
                    languages.push(lang);
                }
            }
            if languages.is_empty() {
                return Err(loc.at(list.span(), "`languages` needs at least one language"));
            }
            languages
        }
    };
    let default_language = match p.default_language {
        None if languages.contains(&Lang::En) => Lang::En,
        None => languages[0],
        Some(tag) => match Lang::from_tag(tag.get_ref()) {
            Some(lang) if languages.contains(&lang) => lang,
            _ => {
                let offered: Vec<&str> = languages.iter().map(|l| l.tag()).collect();
                let message = format!(
                    "`default_language` \"{}\" must be one of `languages`: {}",
                    tag.get_ref(),
                    offered.join(", ")
                );
                return Err(loc.at(tag.span(), message));
            }
        },
    };
    let logo = match p.logo {
        None => None,
        Some(file) => {
            Some(read_logo(Path::new(file.get_ref())).map_err(|m| loc.at(file.span(), m))?)
        }
    };
    let theme_css = match p.accent_color {
        None => None,
        Some(color) => {
            let rgb = parse_color(color.get_ref()).ok_or_else(|| {
                loc.at(
                    color.span(),
                    format!(
                        "`accent_color` \"{}\" is not a colour like \"#2d5bd7\" or \"#25d\"",
                        color.get_ref()
                    ),
                )
            })?;
            Some(theme_css(rgb))
        }
    };
    let footer = p
        .footer
        .map(|f| footer_parts(f.get_ref().trim()))
        .unwrap_or_default();
    Ok(PortalConfig {
        brand: Arc::new(Brand {
            title,
            logo,
            theme_css,
            footer,
        }),
        languages,
        default_language,
    })
}

fn known_tags() -> String {
    LANGUAGES.map(|l| l.tag()).join(", ")
}

/// Reads the logo at `full` and names its type from its first bytes; only image types every
/// browser shows are taken.
fn read_logo(full: &Path) -> Result<Logo, String> {
    use std::io::Read;
    const MAX_LOGO: u64 = 1024 * 1024;
    let cannot = |e: std::io::Error| format!("`logo` {} cannot be read: {e}", full.display());
    // At most one byte past the limit is read, whatever the file (`/dev/zero` included).
    let mut bytes = Vec::new();
    std::fs::File::open(full)
        .and_then(|f| f.take(MAX_LOGO + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_LOGO {
        return Err(format!("`logo` {} is larger than 1 MiB", full.display()));
    }
    let content_type = image_type(&bytes).ok_or_else(|| {
        format!(
            "`logo` {} is not a PNG, JPEG, GIF, WebP or SVG image",
            full.display()
        )
    })?;
    Ok(Logo {
        bytes: bytes.into(),
        content_type,
    })
}

fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        return Some("image/jpeg");
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Some("image/gif");
    }
    if bytes.len() > 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    head.contains("<svg").then_some("image/svg+xml")
}

/// `#rgb` or `#rrggbb` as three bytes.
fn parse_color(text: &str) -> Option<[u8; 3]> {
    let hex = text.trim().strip_prefix('#')?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let digit = |i: usize, n: usize| u8::from_str_radix(&hex[i..i + n], 16).ok();
    match hex.len() {
        3 => Some([digit(0, 1)? * 17, digit(1, 1)? * 17, digit(2, 1)? * 17]),
        6 => Some([digit(0, 2)?, digit(2, 2)?, digit(4, 2)?]),
        _ => None,
    }
}

/// WCAG 2 relative luminance of an sRGB colour.
fn luminance(rgb: [u8; 3]) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2])
}

/// The contrast ratio of two luminances (1 to 21).
fn contrast(a: f64, b: f64) -> f64 {
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

/// The stylesheet that applies an accent colour: buttons and the brand bar take it as their
/// background, with black or white text, whichever contrasts more (at least 4.5:1 for any
/// colour). Served from the prefix, since the CSP allows no inline style.
fn theme_css(rgb: [u8; 3]) -> String {
    let l = luminance(rgb);
    let on = if contrast(l, 0.0) >= contrast(l, 1.0) {
        "#000"
    } else {
        "#fff"
    };
    let color = format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
    format!(":root {{ --accent-bg: {color}; --on-accent: {on}; }}\n")
}

/// The footer text cut into plain pieces and links: a word starting with `http://` or
/// `https://` is a link (a full stop, comma or closing bracket after it is not part of it).
fn footer_parts(text: &str) -> Vec<FooterPart> {
    let mut parts: Vec<FooterPart> = Vec::new();
    let mut plain = String::new();
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            plain.push(' ');
        }
        let is_link = (word.starts_with("https://") || word.starts_with("http://"))
            && url::Url::parse(word).is_ok();
        if !is_link {
            plain.push_str(word);
            continue;
        }
        let address = word.trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
        let trailing = &word[address.len()..];
        if !plain.is_empty() {
            parts.push(FooterPart {
                text: std::mem::take(&mut plain),
                href: None,
            });
        }
        parts.push(FooterPart {
            text: address.to_string(),
            href: Some(address.to_string()),
        });
        plain.push_str(trailing);
    }
    if !plain.is_empty() {
        parts.push(FooterPart {
            text: plain,
            href: None,
        });
    }
    parts
}

/// `[identity_headers]`.
fn compile_identity_headers(
    h: FileIdentityHeaders,
    loc: &Locator<'_>,
) -> Result<IdentityHeaders, ConfigError> {
    let mut names = Vec::new();
    for spanned in [&h.user, &h.email, &h.name, &h.groups] {
        let name = HeaderName::from_bytes(spanned.get_ref().as_bytes()).map_err(|_| {
            loc.at(
                spanned.span(),
                format!("`{}` is not a valid header name", spanned.get_ref()),
            )
        })?;
        names.push(name);
    }
    let folded = names.iter().map(|n| fold_header_name(n.as_str())).collect();
    let mut names = names.into_iter();
    let mut next = || names.next().expect("four identity header names");
    Ok(IdentityHeaders {
        user: next(),
        email: next(),
        name: next(),
        groups: next(),
        folded,
    })
}

/// `[[apps]]` and their rules.
fn compile_apps(file_apps: Vec<FileApp>, loc: &Locator<'_>) -> Result<Vec<App>, ConfigError> {
    let mut apps = Vec::new();
    let mut seen_names: Vec<String> = Vec::new();
    let mut seen_hosts: Vec<(String, String)> = Vec::new();
    let mut catch_all: Option<String> = None;
    for app in file_apps {
        let name_span = app.name.span();
        let name = app.name.into_inner();
        if name.is_empty() {
            return Err(loc.at(name_span, "app `name` must not be empty"));
        }
        if seen_names.contains(&name) {
            return Err(loc.at(name_span, format!("app `{name}` is defined twice")));
        }
        seen_names.push(name.clone());
        let upstream = match app.upstream {
            None => {
                return Err(loc.at(name_span, format!("app `{name}` has no `upstream`")));
            }
            Some(u) => parse_upstream(&u, app.upstream_tls_verify, loc)?,
        };
        let mut hosts = Vec::new();
        for host in app.hosts {
            let span = host.span();
            let h = host.into_inner().trim().to_ascii_lowercase();
            if h.is_empty() || h.contains(['/', ' ', ':']) {
                return Err(loc.at(
                    span,
                    format!("`{h}` is not a host name (no scheme, port or path)"),
                ));
            }
            if let Some((_, other)) = seen_hosts.iter().find(|(seen, _)| *seen == h) {
                return Err(loc.at(
                    span,
                    format!("host `{h}` is already served by app `{other}`"),
                ));
            }
            seen_hosts.push((h.clone(), name.clone()));
            hosts.push(h);
        }
        if hosts.is_empty() {
            if let Some(other) = &catch_all {
                return Err(loc.at(
                    name_span,
                    format!("apps `{other}` and `{name}` both omit `hosts`: only one app may match any host"),
                ));
            }
            catch_all = Some(name.clone());
        }
        if app.connect_timeout.is_zero() || app.upstream_timeout.is_zero() {
            return Err(loc.at(
                name_span.clone(),
                format!("app `{name}`: timeouts must be longer than zero"),
            ));
        }
        let mut rules = Vec::new();
        for rule in app.rules {
            let mut paths = Vec::new();
            for p in rule.paths {
                let span = p.span();
                let glob = Glob::compile(p.get_ref())
                    .map_err(|why| loc.at(span, format!("path `{}`: {why}", p.get_ref())))?;
                paths.push(glob);
            }
            if paths.is_empty() {
                return Err(loc.at(name_span.clone(), "a rule needs at least one path"));
            }
            let methods = match rule.methods {
                None => None,
                Some(list) => {
                    let mut methods = Vec::new();
                    for m in list {
                        let upper = m.get_ref().to_ascii_uppercase();
                        if !KNOWN_METHODS.contains(&upper.as_str()) {
                            return Err(loc
                                .at(m.span(), format!("`{}` is not an HTTP method", m.get_ref())));
                        }
                        methods.push(upper);
                    }
                    Some(methods)
                }
            };
            rules.push(Rule {
                paths,
                methods,
                policy: rule.policy,
                groups: rule.groups,
                users: rule.users,
            });
        }
        apps.push(App {
            name,
            hosts,
            upstream,
            connect_timeout: app.connect_timeout,
            upstream_timeout: app.upstream_timeout,
            default_policy: app.default_policy,
            case_sensitive: app.case_sensitive,
            rules,
            meters: Default::default(),
        });
    }

    Ok(apps)
}

fn parse_upstream(
    spanned: &Spanned<String>,
    verify: bool,
    loc: &Locator<'_>,
) -> Result<Upstream, ConfigError> {
    let text = spanned.get_ref().trim();
    let err = |m: String| loc.at(spanned.span(), m);
    let (tls, rest) = if let Some(rest) = text.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = text.strip_prefix("http://") {
        (false, rest)
    } else if text.contains("://") {
        return Err(err(format!(
            "upstream `{text}`: only http:// and https:// are supported"
        )));
    } else {
        (false, text)
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') {
        return Err(err(format!(
            "upstream `{text}` must be host:port, without a path"
        )));
    }
    let (host, has_port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok() && !p.is_empty() => (h, true),
        _ => (rest, false),
    };
    let with_port = if has_port {
        rest.to_string()
    } else {
        format!("{rest}:{}", if tls { 443 } else { 80 })
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| err(format!("upstream `{text}` does not resolve: {e}")))?
        .next()
        .ok_or_else(|| err(format!("upstream `{text}` resolves to no address")))?;
    Ok(Upstream {
        text: text.to_string(),
        addr,
        tls,
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        verify,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("test.toml"), text)
    }

    #[test]
    fn tls_section_mistakes_name_their_line_and_column() {
        let app = "[[apps]]\nname = \"a\"\nhosts = [\"a.example.com\", \"10.0.0.1\", \"*.example.org\"]\nupstream = \"127.0.0.1:1\"\n";
        let err = |tls: &str| {
            parse(&format!("[server.tls]\n{tls}\n{app}"))
                .unwrap_err()
                .to_string()
        };
        let e = err("cert = \"/x/c.pem\"");
        assert!(
            e.starts_with("test.toml:2:8:") && e.contains("needs its `key`"),
            "{e}"
        );
        let e = err("key = \"/x/k.pem\"");
        assert!(
            e.starts_with("test.toml:2:7:") && e.contains("needs its `cert`"),
            "{e}"
        );
        let e = err("cert = \"/nonexistent/c.pem\"\nkey = \"/nonexistent/k.pem\"");
        assert!(
            e.starts_with("test.toml:2:8:") && e.contains("/nonexistent/c.pem"),
            "{e}"
        );
        let e = err("acme_email = \"ops@example.com\"");
        assert!(
            e.starts_with("test.toml:2:14:") && e.contains("for `acme = true`"),
            "{e}"
        );
        let e = err("acme = true\nacme_directory = \"http://ca.test/dir\"");
        assert!(
            e.starts_with("test.toml:3:18:") && e.contains("https://"),
            "{e}"
        );
        let e = err("acme = true\nacme_email = \"nobody\"");
        assert!(
            e.starts_with("test.toml:3:14:") && e.contains("not an email"),
            "{e}"
        );
        let e = err("listen = \"127.0.0.1:8443\"");
        assert!(
            e.contains("needs `cert` and `key`, or `acme = true`"),
            "{e}"
        );
        let e = parse(
            "[server.tls]\nacme = true\n[[apps]]\nname = \"a\"\nupstream = \"127.0.0.1:1\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("test.toml:2:8:") && e.contains("no app names a DNS host"),
            "{e}"
        );

        // ACME orders for the apps' DNS names only, from Let's Encrypt unless told otherwise;
        // plain HTTP redirects unless turned off.
        let ok = parse(&format!("[server.tls]\nacme = true\n{app}")).unwrap();
        let acme = ok.server.tls.as_ref().unwrap().acme.clone().unwrap();
        assert_eq!(acme.hosts, ["a.example.com"]);
        assert_eq!(acme.directory, LETS_ENCRYPT);
        assert!(ok.server.redirect_to_https);
        let ok = parse(&format!(
            "[server]\nredirect_to_https = false\n[server.tls]\nacme = true\n{app}"
        ))
        .unwrap();
        assert!(!ok.server.redirect_to_https);
    }

    #[test]
    fn misspelt_key_names_its_line_and_column() {
        let err = parse("[[apps]]\nname = \"a\"\nupstream = \"127.0.0.1:1\"\npolcy = \"bypass\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("test.toml:4:1:"), "{err}");
        assert!(err.contains("polcy"), "{err}");
    }

    #[test]
    fn an_rp_id_is_a_host_name() {
        let app = "[[apps]]\nname = \"a\"\nupstream = \"127.0.0.1:1\"\n";
        let ok = parse(&format!(
            "[webauthn]\nrp_id = \"Example.COM\"\npasswordless = true\n{app}"
        ))
        .unwrap();
        assert_eq!(ok.webauthn.rp_id.as_deref(), Some("example.com"));
        assert!(ok.webauthn.passwordless);
        assert_eq!(parse(app).unwrap().webauthn, WebauthnConfig::default());
        for bad in [
            "https://example.com",
            "example.com:443",
            "127.0.0.1",
            "",
            "a..b",
        ] {
            let err = parse(&format!("[webauthn]\nrp_id = \"{bad}\"\n{app}"))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("test.toml:2:9:"), "{bad}: {err}");
            assert!(err.contains("rp_id"), "{err}");
        }
    }

    #[test]
    fn log_section_is_checked_where_it_is_written() {
        let app = "[[apps]]\nname = \"a\"\nupstream = \"127.0.0.1:1\"\n";
        let ok = parse(&format!(
            "[log]\nformat = \"json\"\nlevel = \"warn,portcullis=debug\"\naccess = true\n{app}"
        ))
        .unwrap();
        assert_eq!(
            ok.log,
            LogConfig {
                json: true,
                level: "warn,portcullis=debug".into(),
                access: true
            }
        );
        assert!(!parse(app).unwrap().log.json);
        let err = parse(&format!("[log]\nformat = \"xml\"\n{app}"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("test.toml:2:10:"), "{err}");
        let err = parse(&format!("[log]\nlevel = \"verbose\"\n{app}"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("test.toml:2:9:"), "{err}");
        let err = parse(&format!("[server]\ngrace_period = \"soon\"\n{app}"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("test.toml:2:"), "{err}");
    }

    #[test]
    fn unknown_policy_is_refused_with_location() {
        let err = parse(
            "[[apps]]\nname = \"a\"\nupstream = \"127.0.0.1:1\"\ndefault_policy = \"open\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("test.toml:4:"), "{err}");
    }

    #[test]
    fn app_without_upstream_is_refused() {
        let err = parse("[[apps]]\nname = \"a\"\n").unwrap_err().to_string();
        assert!(err.contains("no `upstream`"), "{err}");
        assert!(err.starts_with("test.toml:2:8"), "{err}");
    }

    #[test]
    fn duplicate_host_is_refused() {
        let err = parse(
            "[[apps]]\nname = \"a\"\nupstream = \"127.0.0.1:1\"\nhosts = [\"x.test\"]\n\
             [[apps]]\nname = \"b\"\nupstream = \"127.0.0.1:2\"\nhosts = [\"X.test\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("already served by app `a`"), "{err}");
        assert!(err.starts_with("test.toml:8:"), "{err}");
    }

    #[test]
    fn unknown_method_and_bad_glob_are_refused() {
        let err = parse(
            "[[apps]]\nname = \"a\"\nupstream = \"127.0.0.1:1\"\n[[apps.rules]]\npaths = [\"/x\"]\nmethods = [\"FETCH\"]\npolicy = \"deny\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("FETCH"), "{err}");
        let err = parse(
            "[[apps]]\nname = \"a\"\nupstream = \"127.0.0.1:1\"\n[[apps.rules]]\npaths = [\"x/**\"]\npolicy = \"deny\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("test.toml:5:"), "{err}");
    }

    #[test]
    fn unresolvable_upstream_is_refused_at_load() {
        let err = parse("[[apps]]\nname = \"a\"\nupstream = \"no-such-host.invalid:80\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not resolve"), "{err}");
    }

    #[test]
    fn metrics_are_off_without_their_section_and_checked_with_it() {
        let app = "[[apps]]\nname = \"a\"\nupstream = \"127.0.0.1:1\"\n";
        assert!(parse(app).unwrap().metrics.is_none());
        let on = parse(&format!("[metrics]\nlisten = \"127.0.0.1:9464\"\n{app}")).unwrap();
        assert_eq!(
            on.metrics.unwrap().listen,
            "127.0.0.1:9464".parse().unwrap()
        );
        let err = parse(&format!("[metrics]\nlisten = \"localhost\"\n{app}"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("test.toml:2:10:"), "{err}");
        let err = parse(&format!(
            "[metrics]\nlisten = \"127.0.0.1:9464\"\npath = \"/m\"\n{app}"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("test.toml:3:1:") && err.contains("path"),
            "{err}"
        );
    }

    #[test]
    fn durations_and_lists_parse() {
        let cfg = parse(
            "[server]\nlisten = [\"127.0.0.1:1\", \"[::1]:2\"]\n[session]\nidle_timeout = \"90s\"\n\
             [[apps]]\nname = \"a\"\nupstream = \"https://localhost:8443\"\n",
        )
        .unwrap();
        assert_eq!(cfg.server.listen.len(), 2);
        assert_eq!(cfg.session.idle_timeout, Duration::from_secs(90));
        let app = &cfg.router.apps()[0];
        assert!(app.upstream.tls);
        assert_eq!(app.upstream.host, "localhost");
    }
}
