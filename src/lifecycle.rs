//! Reload and stop: what `SIGHUP`, `portcullis reload`, `SIGTERM` and `SIGINT` do to a running
//! gateway.
//!
//! **Reload** re-reads the file the gateway started from. A valid file replaces the apps,
//! rules, hosts, upstreams, identity header names, trusted proxies, regulation and the
//! connection timeouts and limit at once (one atomic swap: a request is judged by one
//! configuration from start to end); sessions, connections and bans are kept. Keys that only
//! take effect at start keep their old value and are named in the log as needing a restart.
//! An invalid file changes nothing: its `file:line:col` error is logged and answered.
//!
//! **Stop** (`SIGTERM`, or `SIGINT` in the foreground): the listeners close, connections with
//! no request under way close, requests in flight have `[server] grace_period` to finish;
//! then last-seen times and the store's outbox are written and the process exits 0.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pingora::server::configuration::ServerConf;
use pingora::server::{ShutdownSignal, ShutdownSignalWatch};
use tokio::signal::unix::{signal, SignalKind};

use crate::config::{Config, ConfigError, ServerConfig};
use crate::connections::{self, Connections};
use crate::State;

/// How a server runs and stops.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// At a graceful stop, the longest wait for requests in flight.
    pub grace: Duration,
    pub work_stealing: bool,
}

impl Run {
    /// As `portcullis serve` runs: the configured grace period and runtime flavour.
    pub fn serve(server: &ServerConfig) -> Run {
        Run {
            grace: server.grace_period,
            work_stealing: server.work_stealing,
        }
    }

    /// As tests run a gateway in-process: it stops at once, and on a work-stealing runtime,
    /// since pingora's single-threaded runtimes keep per-thread handles that outlive a server
    /// (pingora issue #981) and so cannot be started twice in one process. Tests that need the
    /// served runtime run the binary.
    pub fn in_process() -> Run {
        Run {
            grace: Duration::ZERO,
            work_stealing: true,
        }
    }

    /// Pingora's settings for `server` run this way.
    pub fn server_conf(&self, server: &ServerConfig) -> ServerConf {
        ServerConf {
            threads: server.threads,
            work_stealing: self.work_stealing,
            grace_period_seconds: Some(self.grace.as_secs()),
            graceful_shutdown_timeout_seconds: Some(1),
            ca_file: server
                .upstream_ca_file
                .as_ref()
                .map(|p| p.display().to_string()),
            ..ServerConf::default()
        }
    }
}

/// Reloads the configuration of a running gateway.
pub struct Reloader {
    state: Arc<State>,
    connections: Arc<Connections>,
}

impl Reloader {
    pub fn new(state: Arc<State>, connections: Arc<Connections>) -> Reloader {
        Reloader { state, connections }
    }

    /// Re-reads the configuration file and puts it in force; returns the keys that changed but
    /// need a restart (they keep their old value). On error nothing changes.
    pub fn reload(&self) -> Result<Vec<&'static str>, ConfigError> {
        let old = self.state.config();
        let result = Config::load(&old.source).map(|new| keep_restart_keys(&old, new));
        self.state.metrics.reloaded(result.is_ok());
        match result {
            Ok((config, restart)) => {
                let apps = config.router.apps().len();
                self.connections
                    .set_limits(connections::limits(&config.server));
                // Certificate files renewed in place are served from the next handshake.
                let files = config.server.tls.as_ref().and_then(|t| t.files.as_ref());
                self.state
                    .edge
                    .set_fallback(files.map(|f| f.loaded.clone()));
                self.state.replace_config(config);
                tracing::info!(apps, "configuration reloaded from {}", old.source.display());
                for key in &restart {
                    tracing::warn!("{key} changed: it needs a restart and keeps its old value");
                }
                Ok(restart)
            }
            Err(e) => {
                tracing::error!("reload refused, the configuration in force is kept: {e}");
                Err(e)
            }
        }
    }
}

/// `new` with the old value of every key that only takes effect at start, and the names of
/// those that differ.
fn keep_restart_keys(old: &Config, mut new: Config) -> (Config, Vec<&'static str>) {
    let mut restart = Vec::new();
    // Each key that only a restart can change: when the file changed it, say so and keep the
    // value in force.
    macro_rules! keep {
        ($name:literal, $($field:ident).+) => {
            if old.$($field).+ != new.$($field).+ {
                restart.push($name);
                new.$($field).+ = old.$($field).+.clone();
            }
        };
    }
    // The TLS listener's address and ACME settings, and the store's files; the rest of these
    // sections is not configured. The certificate files are read again at every reload.
    let tls = |c: &Config| {
        c.server.tls.as_ref().map(|t| {
            let acme = t
                .acme
                .as_ref()
                .map(|a| (a.directory.clone(), a.ca_file.clone()));
            (t.listen, acme)
        })
    };
    let files = |c: &Config| (c.storage.path.clone(), c.storage.key_file.clone());
    keep!("[server] listen", server.listen);
    keep!("[server] portal_prefix", server.portal_prefix);
    if tls(old) != tls(&new) {
        restart.push("[server.tls] listen, acme, acme_directory, acme_ca_file");
        // Only those keep their old value: the certificate files, the hosts ACME orders for
        // and hsts_for_apps are the new file's.
        match (&old.server.tls, &mut new.server.tls) {
            (Some(was), Some(now)) if was.acme.is_some() == now.acme.is_some() => {
                now.listen = was.listen;
                if let (Some(a), Some(b)) = (&was.acme, &mut now.acme) {
                    b.directory = a.directory.clone();
                    b.ca_file = a.ca_file.clone();
                }
            }
            _ => {
                let files = new.server.tls.as_ref().and_then(|t| t.files.clone());
                new.server.tls = old.server.tls.clone();
                if let Some(t) = new.server.tls.as_mut().filter(|_| files.is_some()) {
                    t.files = files;
                }
            }
        }
    }
    keep!("[server] threads", server.threads);
    keep!("[server] upstream_ca_file", server.upstream_ca_file);
    keep!("[server] grace_period", server.grace_period);
    keep!("[server] work_stealing", server.work_stealing);
    if files(old) != files(&new) {
        restart.push("[storage]");
    }
    new.storage = old.storage.clone();
    keep!("[session]", session);
    keep!("[totp]", totp);
    keep!("[recovery_codes]", recovery_codes);
    keep!("[log]", log);
    keep!("[metrics]", metrics);
    (new, restart)
}

/// The signals of a gateway run from the command line: `SIGHUP` reloads; `SIGTERM` and
/// `SIGINT` stop gracefully.
pub struct Signals {
    pub reloader: Arc<Reloader>,
}

#[async_trait]
impl ShutdownSignalWatch for Signals {
    async fn recv(&self) -> ShutdownSignal {
        let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::hangup()),
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot listen for signals; stopping");
            return ShutdownSignal::FastShutdown;
        };
        loop {
            tokio::select! {
                _ = hup.recv() => {
                    let _ = self.reloader.reload();
                }
                _ = term.recv() => break,
                _ = int.recv() => break,
            }
        }
        let grace = self.reloader.state.config().server.grace_period;
        tracing::info!(
            "stopping: requests in flight have {} to finish",
            humantime::format_duration(grace)
        );
        let state = Arc::clone(&self.reloader.state);
        let connections = Arc::clone(&self.reloader.connections);
        // The server closes its listeners once this returns, then waits out the grace period
        // in full; this exits as soon as the last connection is done.
        std::thread::spawn(move || finish(state, connections, grace));
        ShutdownSignal::GracefulTerminate
    }
}

/// Waits until no connection is left (or `grace` is over), writes what is pending in memory,
/// and exits 0.
fn finish(state: Arc<State>, connections: Arc<Connections>, grace: Duration) {
    let deadline = Instant::now() + grace;
    // The listeners close just after the signal is answered; a connection accepted until then
    // registers within a moment, so the count is trusted only after a short pause.
    std::thread::sleep(Duration::from_millis(100));
    while connections.count() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left = connections.count();
    if left > 0 {
        tracing::warn!(left, "grace period over; closing the connections left");
    }
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(async {
            if let Err(e) = state.sessions.flush_last_seen().await {
                tracing::warn!("could not record last-seen times: {e}");
            }
            if !state.store.outbox().is_empty() {
                let _ = state.sessions.flush_outbox(crate::auth::unix_now()).await;
            }
        }),
        Err(e) => tracing::error!("could not write last-seen times: {e}"),
    }
    tracing::info!("stopped");
    std::process::exit(0);
}
