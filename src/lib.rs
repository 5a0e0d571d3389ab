//! Portcullis: a reverse-proxy authentication gateway on Pingora.
//!
//! [`Gateway::open`] turns a validated [`config::Config`] into the shared [`State`] (store, key,
//! session cache, regulation), and [`Gateway::run`] serves it. `main`, `demo` and the tests all
//! start the gateway this way. What happens to a request is told top to bottom in [`proxy`].

pub mod auth;
pub mod background;
pub mod cli;
pub mod config;
pub mod connections;
pub mod demo;
pub mod http_response;
pub mod policy;
pub mod portal;
pub mod proxy;
pub mod routes;
pub mod session;
pub mod store;

use std::net::IpAddr;
use std::sync::Arc;

use pingora::listeners::tls::TlsSettings;
use pingora::listeners::ListenerConfig;
use pingora::protocols::l4::stream::L4BufferSettings;
use pingora::proxy::HttpProxy;
use pingora::server::configuration::ServerConf;
use pingora::server::{RunArgs, Server, ShutdownSignalWatch, ShutdownWatch};
use pingora::services::background::BackgroundService;
use pingora::services::listening::Service;

use crate::connections::{Connections, Front};

use crate::auth::keys::{KeyError, SecretBox};
use crate::auth::password::Hasher;
use crate::auth::throttle::Regulator;
use crate::config::Config;
use crate::portal::PortalRequest;
use crate::session::{ActiveSession, Identity, Level, Sessions};
use crate::store::{AuditEvent, AuditKind, Store, StoreError};

/// A pending TOTP enrolment shows the same secret for this long, then a new one.
pub const PENDING_ENROLMENT_SECS: i64 = 1800;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database {path}: {source}")]
    Store { path: String, source: StoreError },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("{0}")]
    Server(String),
}

/// Cookie names in force (with the `__Host-` prefix when it applies).
#[derive(Debug, Clone)]
pub struct CookieNames {
    pub session_cookie: String,
    pub csrf_cookie: String,
}

/// Everything a request may need, shared by the proxy and the portal.
#[derive(Debug)]
pub struct State {
    pub config: Config,
    pub store: Store,
    pub sessions: Sessions,
    pub hasher: Hasher,
    pub regulator: Regulator,
    pub secrets: SecretBox,
    pub names: CookieNames,
    /// Identity header names as strings, for the forward-auth answer.
    identity_names: [String; 4],
}

/// An authentication attempt in progress: no other attempt on its user or client runs until
/// it drops.
#[must_use = "the attempt ends when this is dropped"]
pub struct Attempt {
    _guards: Vec<tokio::sync::OwnedMutexGuard<()>>,
}

/// The outcome of checking a TOTP or recovery code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Accepted; for recovery codes, how many remain.
    Accepted {
        remaining: Option<i64>,
    },
    Invalid,
    Replayed,
    NotEnrolled,
    Unavailable,
}

impl State {
    pub fn prefix(&self) -> &str {
        &self.config.server.portal_prefix
    }

    /// A `Set-Cookie` value with the gateway's attributes; an empty value clears the cookie.
    pub fn cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> String {
        let s = &self.config.session;
        let mut c = cookie::Cookie::new(name.to_string(), value.to_string());
        c.set_path("/");
        c.set_http_only(true);
        c.set_same_site(cookie::SameSite::Lax);
        c.set_secure(s.secure);
        if let Some(domain) = &s.cookie_domain {
            c.set_domain(domain.clone());
        }
        let secs = max_age.filter(|_| !value.is_empty()).unwrap_or(0);
        c.set_max_age(cookie::time::Duration::seconds(secs));
        c.to_string()
    }

    /// The identity headers for a session, in configured names: the user's values, or every
    /// header with an empty value when there is no identity to forward.
    pub fn identity_values(&self, s: Option<&ActiveSession>) -> Vec<(String, String)> {
        let [user, email, name, groups] = &self.identity_names;
        let Some(s) = s else {
            return [user, email, name, groups]
                .into_iter()
                .map(|n| (n.clone(), String::new()))
                .collect();
        };
        let id = &s.identity;
        vec![
            (user.clone(), id.username.clone()),
            (email.clone(), id.email.clone().unwrap_or_default()),
            (name.clone(), id.display_name.clone().unwrap_or_default()),
            (groups.clone(), id.groups_header.clone()),
        ]
    }

    /// Writes an audit row off the request path. Never carries secrets.
    pub fn audit(
        &self,
        event: AuditKind,
        username: Option<&str>,
        req: &PortalRequest,
        detail: Option<String>,
    ) {
        let e = AuditEvent {
            at: req.now,
            username: username.map(str::to_string),
            event: event.as_str().to_string(),
            client_ip: Some(req.client_ip.to_string()),
            user_agent: req
                .header("user-agent")
                .map(|u| u.chars().take(256).collect()),
            detail,
        };
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(err) = store.call(move |s| s.audit(&e)).await {
                tracing::error!("audit write failed: {err}");
            }
        });
    }

    /// Regulation subjects of an attempt: the user (if named) first, then the client IP.
    pub fn regulation_keys(&self, username: Option<&str>, ip: IpAddr) -> Vec<String> {
        let mut keys = Vec::with_capacity(2);
        if let Some(u) = username {
            keys.push(Regulator::user_key(u));
        }
        keys.push(Regulator::ip_key(ip));
        keys
    }

    /// The end of the latest active ban among `keys`: the cache first, then the store (so a
    /// ban evicted from the cache, or set before a restart, still holds).
    pub async fn banned_until(&self, keys: &[String], now: i64) -> Option<i64> {
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        if let Some(until) = self.regulator.banned_until(&refs, now) {
            return Some(until);
        }
        // A ban the store refused to record still holds, even once the cache lost it.
        if let Some((key, until)) = self.store.outbox().ban_until(keys, now) {
            self.regulator.remember_ban(&key, until);
            return Some(until);
        }
        let owned = keys.to_vec();
        let found = self
            .store
            .call(move |s| {
                let mut best: Option<(String, i64)> = None;
                for k in owned {
                    if let Some(until) = s.ban_until(&k, now)? {
                        if best.as_ref().is_none_or(|(_, b)| until > *b) {
                            best = Some((k, until));
                        }
                    }
                }
                Ok(best)
            })
            .await
            .ok()
            .flatten();
        let (key, until) = found?;
        self.regulator.remember_ban(&key, until);
        Some(until)
    }

    /// Counts a failed attempt against every key; persists and audits a ban that starts.
    pub async fn record_failure(
        &self,
        keys: &[String],
        username: Option<&str>,
        req: &PortalRequest,
    ) -> Option<i64> {
        let mut banned = None;
        for key in keys {
            if let Some(until) = self.regulator.record_failure(key, req.now) {
                self.persist_ban(key, until).await;
                self.audit(
                    AuditKind::Ban,
                    username,
                    req,
                    Some(format!("{key} until {until}")),
                );
                banned = banned.max(Some(until));
            }
        }
        banned
    }

    /// Records a ban in the store, or, when the store refuses it, in its outbox, from which
    /// the maintenance loop writes it once the store accepts writes: a ban decided during an
    /// outage still holds after a restart that follows it.
    async fn persist_ban(&self, key: &str, until: i64) {
        let outbox = self.store.outbox();
        if outbox.refusing() {
            outbox.ban(key, until);
            return;
        }
        let k = key.to_string();
        if let Err(e) = self.store.call(move |s| s.put_ban(&k, until)).await {
            outbox.ban(key, until);
            outbox.note_refused(&e);
        }
    }

    /// Checks a TOTP code of `user_id`'s enabled secret at `now` and records its step.
    pub async fn check_totp(&self, user_id: i64, code: &str, now: i64) -> CodeCheck {
        let code = code.to_string();
        let secrets = self.secrets.clone();
        let cfg = self.config.totp.clone();
        let result = self
            .store
            .call(move |s| {
                let Some(row) = s.totp(user_id)? else {
                    return Ok(CodeCheck::NotEnrolled);
                };
                let Ok(secret) = secrets.open(user_id, &row.secret) else {
                    tracing::error!("a TOTP secret does not open with the key file's key");
                    return Ok(CodeCheck::Unavailable);
                };
                match auth::totp::verify(&cfg, &secret, &code, now.max(0) as u64, row.last_step) {
                    Ok(step) if s.accept_totp_step(user_id, step)? => {
                        Ok(CodeCheck::Accepted { remaining: None })
                    }
                    Ok(_) | Err(auth::totp::TotpRejection::Replayed) => Ok(CodeCheck::Replayed),
                    Err(auth::totp::TotpRejection::Invalid) => Ok(CodeCheck::Invalid),
                }
            })
            .await;
        result.unwrap_or(CodeCheck::Unavailable)
    }

    /// Uses one of `user_id`'s recovery codes: exactly once, even under concurrent attempts.
    pub async fn use_recovery_code(&self, user_id: i64, typed: &str, now: i64) -> CodeCheck {
        let Some(canonical) = auth::recovery::normalize(typed) else {
            return CodeCheck::Invalid;
        };
        let Ok(rows) = self
            .store
            .call(move |s| s.unused_recovery_codes(user_id))
            .await
        else {
            return CodeCheck::Unavailable;
        };
        if rows.is_empty() {
            return CodeCheck::Invalid;
        }
        let matched = self
            .hasher
            .run(move || {
                rows.into_iter()
                    .find(|r| auth::recovery::verify_code(&canonical, &r.hash))
                    .map(|r| r.id)
            })
            .await
            .flatten();
        let Some(id) = matched else {
            return CodeCheck::Invalid;
        };
        match self
            .store
            .call(move |s| s.consume_recovery_code(user_id, id, now))
            .await
        {
            Ok(Some(left)) => CodeCheck::Accepted {
                remaining: Some(left),
            },
            Ok(None) => CodeCheck::Replayed,
            Err(_) => CodeCheck::Unavailable,
        }
    }

    /// The secret of the enrolment `session` has pending for `user_id`, made (and sealed) when
    /// there is none, it expired, or another session started it.
    pub async fn pending_enrolment(
        &self,
        user_id: i64,
        session: [u8; 32],
        now: i64,
    ) -> Option<Vec<u8>> {
        let secrets = self.secrets.clone();
        self.store
            .call(move |s| {
                if let Some((_, secret)) = open_pending(s, &secrets, user_id, &session, now)? {
                    return Ok(Some(secret));
                }
                let secret = auth::totp::generate_secret();
                s.set_totp_pending(user_id, &secrets.seal(user_id, &secret), now, &session)?;
                Ok(Some(secret))
            })
            .await
            .ok()
            .flatten()
    }

    /// Whether `code` is right for the enrolment `session` has pending; changes nothing.
    pub async fn check_enrolment_code(
        &self,
        user_id: i64,
        session: [u8; 32],
        code: &str,
        now: i64,
    ) -> CodeCheck {
        let code = code.to_string();
        let secrets = self.secrets.clone();
        let cfg = self.config.totp.clone();
        self.store
            .call(move |s| {
                let Some((_, secret)) = open_pending(s, &secrets, user_id, &session, now)? else {
                    return Ok(CodeCheck::NotEnrolled);
                };
                Ok(
                    match auth::totp::verify(&cfg, &secret, &code, now.max(0) as u64, None) {
                        Ok(_) => CodeCheck::Accepted { remaining: None },
                        Err(_) => CodeCheck::Invalid,
                    },
                )
            })
            .await
            .unwrap_or(CodeCheck::Unavailable)
    }

    /// Confirms the enrolment `session` has pending with a code from the new authenticator; on
    /// success TOTP is enabled and `codes` become the user's recovery codes, in one transaction.
    pub async fn confirm_enrolment(
        &self,
        user_id: i64,
        session: [u8; 32],
        code: &str,
        codes: Vec<String>,
        now: i64,
    ) -> CodeCheck {
        let Some(hashes) = self.hash_codes(codes).await else {
            return CodeCheck::Unavailable;
        };
        let code = code.to_string();
        let secrets = self.secrets.clone();
        let cfg = self.config.totp.clone();
        self.store
            .call(move |s| {
                let Some((sealed, secret)) = open_pending(s, &secrets, user_id, &session, now)?
                else {
                    return Ok(CodeCheck::NotEnrolled);
                };
                match auth::totp::verify(&cfg, &secret, &code, now.max(0) as u64, None) {
                    Ok(step) if s.confirm_totp(user_id, &sealed, step, &hashes, now)? => {
                        Ok(CodeCheck::Accepted { remaining: None })
                    }
                    Ok(_) => Ok(CodeCheck::NotEnrolled),
                    Err(_) => Ok(CodeCheck::Invalid),
                }
            })
            .await
            .unwrap_or(CodeCheck::Unavailable)
    }

    /// Salted hashes of recovery codes, computed on the hashing pool.
    async fn hash_codes(&self, codes: Vec<String>) -> Option<Vec<String>> {
        self.hasher
            .run(move || codes.iter().map(|c| auth::recovery::hash_code(c)).collect())
            .await
    }

    /// A current TOTP code or, failing that, one of the recovery codes (which is used up).
    pub async fn check_any_code(&self, user_id: i64, code: &str, now: i64) -> CodeCheck {
        match self.check_totp(user_id, code, now).await {
            accepted @ CodeCheck::Accepted { .. } => accepted,
            // A right code the store could not record must not turn into a wrong one.
            CodeCheck::Unavailable => CodeCheck::Unavailable,
            _ => self.use_recovery_code(user_id, code, now).await,
        }
    }

    /// Regulation subjects of a second-factor attempt: the user's second-factor key, then the
    /// client.
    pub fn second_factor_keys(&self, username: &str, ip: IpAddr) -> Vec<String> {
        vec![
            Regulator::second_factor_key(username),
            Regulator::ip_key(ip),
        ]
    }

    /// Starts an attempt on `keys`: waits for attempts already in progress on any of them,
    /// then checks the bans. `Err` holds the end of an active ban; `Ok` holds the subjects
    /// until the attempt is over (keep it alive while checking and counting).
    pub async fn begin(&self, keys: &[String], now: i64) -> Result<Attempt, i64> {
        let guards = self.regulator.serialize(keys).await;
        match self.banned_until(keys, now).await {
            Some(until) => Err(until),
            None => Ok(Attempt { _guards: guards }),
        }
    }

    /// Starts a second-factor attempt (TOTP or recovery code) for `username`.
    pub async fn begin_attempt(&self, username: &str, req: &PortalRequest) -> Result<Attempt, i64> {
        self.begin(&self.second_factor_keys(username, req.client_ip), req.now)
            .await
    }

    /// A failed second-factor attempt: audited as `event`, counted against the user and the
    /// client. Returns the ban end when this failure starts a ban.
    pub async fn failed_attempt(
        &self,
        event: AuditKind,
        username: &str,
        req: &PortalRequest,
        detail: &str,
    ) -> Option<i64> {
        self.audit(event, Some(username), req, Some(detail.to_string()));
        let keys = self.second_factor_keys(username, req.client_ip);
        self.record_failure(&keys, Some(username), req).await
    }

    /// Replaces `user_id`'s recovery codes with `codes` (hashed off the runtime).
    pub async fn replace_recovery_codes(&self, user_id: i64, codes: Vec<String>) -> bool {
        let Some(hashes) = self.hash_codes(codes).await else {
            return false;
        };
        self.store
            .call(move |s| s.replace_recovery_codes(user_id, &hashes))
            .await
            .is_ok()
    }

    /// Replaces `session` by a new one at `level` (new id), with the user's current facts.
    /// Returns the `Set-Cookie` value and the new session.
    pub async fn raise(
        &self,
        req: &PortalRequest,
        session: &ActiveSession,
        level: Level,
    ) -> Option<(String, Arc<ActiveSession>)> {
        let user_id = session.identity.user_id;
        let (user, has_totp) = self
            .store
            .call(move |s| {
                let user = s.user_by_id(user_id)?;
                Ok((user, s.totp(user_id)?.is_some()))
            })
            .await
            .ok()?;
        let user = user.filter(|u| !u.disabled)?;
        let identity = Arc::new(Identity::from_user(&user, has_totp));
        let (value, new) = self
            .sessions
            .open(
                identity,
                level,
                &req.origin(),
                session::Succession::Raises(session.id_hash),
                req.now,
            )
            .await
            .ok()?;
        let cookie = self.cookie(
            &self.names.session_cookie,
            &value,
            Some(self.config.session.absolute_timeout.as_secs() as i64),
        );
        Some((cookie, new))
    }
}

/// The live enrolment `session` has pending for `user_id`: its sealed and its opened secret.
fn open_pending(
    s: &Store,
    secrets: &SecretBox,
    user_id: i64,
    session: &[u8; 32],
    now: i64,
) -> Result<Option<(store::SealedSecret, Vec<u8>)>, StoreError> {
    let Some(p) = s.totp_pending(user_id)? else {
        return Ok(None);
    };
    if now - p.created_at >= PENDING_ENROLMENT_SECS
        || p.session_hash.as_deref() != Some(&session[..])
    {
        return Ok(None);
    }
    Ok(secrets
        .open(user_id, &p.secret)
        .ok()
        .map(|secret| (p.secret, secret)))
}

/// The gateway: state plus the server that serves it.
pub struct Gateway {
    state: Arc<State>,
}

impl Gateway {
    /// Opens the store and the key, and prepares caches. Fails with a clear message when the
    /// database cannot be opened or the key file does not match it.
    pub fn open(config: Config) -> Result<Gateway, StartError> {
        let store = Store::open(&config.storage.path).map_err(|source| StartError::Store {
            path: config.storage.path.display().to_string(),
            source,
        })?;
        let secrets = SecretBox::load_or_create(&config.storage.key_file, &store)?;
        let sessions = Sessions::new(store.clone(), config.session.clone());
        let regulator = Regulator::new(&config.regulation);
        if let Ok(bans) = store.active_bans(auth::unix_now()) {
            for b in bans {
                regulator.remember_ban(&b.key, b.until);
            }
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let hasher = Hasher::new((cores / 2).max(1));
        let base = config.session.cookie_name.clone();
        let host_prefix = config.session.secure && config.session.cookie_domain.is_none();
        let names = CookieNames {
            session_cookie: if host_prefix {
                format!("__Host-{base}")
            } else {
                base.clone()
            },
            csrf_cookie: if host_prefix {
                format!("__Host-{base}_csrf")
            } else {
                format!("{base}_csrf")
            },
        };
        let h = &config.identity_headers;
        let identity_names = [
            h.user.as_str().to_string(),
            h.email.as_str().to_string(),
            h.name.as_str().to_string(),
            h.groups.as_str().to_string(),
        ];
        Ok(Gateway {
            state: Arc::new(State {
                config,
                store,
                sessions,
                hasher,
                regulator,
                secrets,
                names,
                identity_names,
            }),
        })
    }

    pub fn state(&self) -> &Arc<State> {
        &self.state
    }

    /// Builds the pingora server with the proxy and background services.
    pub fn server(&self) -> Result<Server, StartError> {
        let cfg = &self.state.config;
        let conf = ServerConf {
            threads: cfg.server.threads,
            grace_period_seconds: Some(0),
            graceful_shutdown_timeout_seconds: Some(1),
            ca_file: cfg
                .server
                .upstream_ca_file
                .as_ref()
                .map(|p| p.display().to_string()),
            ..ServerConf::default()
        };
        let mut server = Server::new_with_opt_and_conf(None, conf);
        server.bootstrap();
        let connections = Arc::new(Connections::new(connection_limits(&cfg.server)));
        let server_conf = Arc::clone(&server.configuration);
        let front = |tls: bool| {
            let mut proxy = HttpProxy::new(
                proxy::Proxy::new(Arc::clone(&self.state), tls),
                Arc::clone(&server_conf),
            );
            proxy.handle_init_modules();
            Front::new(proxy, Arc::clone(&connections))
        };
        let mut plain = Service::new("portcullis".to_string(), front(false));
        for addr in &cfg.server.listen {
            let mut options = pingora::listeners::TcpSocketOptions::default();
            if addr.is_ipv6() {
                // IPv6 only, so that `[::]:80` can stand beside `0.0.0.0:80` as the listen
                // example shows, instead of also taking IPv4 and colliding with it.
                options.ipv6_only = Some(true);
            }
            plain.add_listener(
                ListenerConfig::tcp(addr.to_string())
                    .tcp_socket_options(options)
                    .l4_buffer(client_buffers()),
            );
        }
        server.add_service(plain);
        if let Some(tls) = &cfg.server.tls {
            let mut https = Service::new("portcullis-tls".to_string(), front(true));
            let settings = TlsSettings::intermediate(
                &tls.cert.display().to_string(),
                &tls.key.display().to_string(),
            )
            .map_err(|e| StartError::Server(format!("TLS listener: {e}")))?;
            https.add_listener(
                ListenerConfig::tcp(tls.listen.to_string())
                    .tls(settings)
                    .l4_buffer(client_buffers()),
            );
            server.add_service(https);
        }
        server.add_service(pingora::services::background::background_service(
            "portcullis-maintenance",
            background::Maintenance::new(Arc::clone(&self.state)),
        ));
        server.add_service(pingora::services::background::background_service(
            "portcullis-warden",
            Warden {
                connections,
                state: Arc::clone(&self.state),
            },
        ));
        Ok(server)
    }

    /// Serves until `shutdown` answers. Blocks the calling thread.
    pub fn run(
        self,
        shutdown: Box<dyn ShutdownSignalWatch + Send + Sync>,
    ) -> Result<(), StartError> {
        let server = self.server()?;
        server.run(RunArgs {
            shutdown_signal: shutdown,
        });
        Ok(())
    }
}

/// Client connections' transport buffers. Pingora's default 64 KiB read buffer per
/// connection is most of what an idle keep-alive connection costs; requests are parsed from a
/// head buffer of their own and bodies are read in chunks, so a small one serves as well.
fn client_buffers() -> L4BufferSettings {
    L4BufferSettings::new(CLIENT_READ_BUFFER, CLIENT_WRITE_BUFFER)
}
const CLIENT_READ_BUFFER: usize = 1024;
const CLIENT_WRITE_BUFFER: usize = 1460;

/// The connection limits in force: `max_connections` as configured, or derived from the
/// open-file limit, which is raised to its hard limit first (as nginx's `worker_rlimit_nofile`).
fn connection_limits(server: &config::ServerConfig) -> connections::Limits {
    let files = raise_file_limit();
    let max_connections = if server.max_connections > 0 {
        server.max_connections
    } else {
        derived_max_connections(files)
    };
    tracing::info!("open-file limit {files}; at most {max_connections} client connections");
    connections::Limits {
        max_connections,
        header_timeout: server.header_timeout,
        keepalive_timeout: server.keepalive_timeout,
    }
}

/// Room for every client connection's upstream connection and for the store, logs and
/// listeners (64 files): half of what remains.
pub fn derived_max_connections(open_files: u64) -> usize {
    (open_files.saturating_sub(64) / 2).clamp(16, 1 << 20) as usize
}

/// Raises the soft open-file limit to the hard limit; returns the limit in force.
fn raise_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed in.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
    }
    limit.rlim_cur
}

/// The warden of [`connections`], as a pingora background service.
struct Warden {
    connections: Arc<Connections>,
    state: Arc<State>,
}

#[async_trait::async_trait]
impl BackgroundService for Warden {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = connections::warden(Arc::clone(&self.connections), Arc::clone(&self.state)) => {}
        }
    }
}
