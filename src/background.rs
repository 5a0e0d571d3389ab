//! Work the gateway does beside requests: flushing last-seen times, writing what the store
//! refused (its outbox: revocations and bans, retried every second), sweeping expired sessions
//! and bans, and hearing about changes made from the command line.
//!
//! The command line writes to the store and then tells a running gateway to drop its session
//! cache through a Unix socket beside the database (`<db>.control`, mode 0600), so revocation
//! takes effect at once. As a second path, the store's generation counter is polled every
//! second, which covers a gateway that could not bind the socket. A ban an operator lifts is
//! sent the same way ([`ControlMessage::LiftBan`]), so the gateway forgets its cached copy,
//! and so is `portcullis reload` ([`ControlMessage::Reload`]), answered with the outcome.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;

use crate::auth::unix_now;
use crate::lifecycle::Reloader;
use crate::State;

/// The background service.
pub struct Maintenance {
    state: Arc<State>,
    reloader: Arc<Reloader>,
}

impl Maintenance {
    pub fn new(state: Arc<State>, reloader: Arc<Reloader>) -> Maintenance {
        Maintenance { state, reloader }
    }

    async fn tick(&self, counter: u64, generation: &mut Option<i64>) {
        let state = &self.state;
        if !state.store.outbox().is_empty() {
            // Retried every second until the store takes it; a failure is logged once per
            // outage by the outbox, not here.
            let _ = state.sessions.flush_outbox(unix_now()).await;
        }
        let now_generation = state.store.call(|s| s.generation()).await.ok();
        if now_generation.is_some() && *generation != now_generation {
            if generation.is_some() {
                tracing::info!("sessions changed in the store; dropping cached sessions");
                state.sessions.invalidate_all();
            }
            *generation = now_generation;
        }
        if counter.is_multiple_of(15) {
            if let Err(e) = state.sessions.flush_last_seen().await {
                tracing::warn!("could not record last-seen times: {e}");
            }
        }
        if counter.is_multiple_of(60) {
            let idle = state.config().session.idle_timeout.as_secs() as i64;
            let now = unix_now();
            let swept = state
                .store
                .call(move |s| {
                    Ok((
                        s.sweep_sessions(now, idle)?,
                        s.sweep_bans(now)?,
                        s.sweep_remembered_browsers(now)?,
                    ))
                })
                .await;
            match swept {
                Ok((sessions, bans, browsers)) if sessions + bans + browsers > 0 => {
                    tracing::info!(sessions, bans, browsers, "swept expired rows")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("sweep failed: {e}"),
            }
        }
    }
}

#[async_trait]
impl BackgroundService for Maintenance {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let path = control_socket_path(&self.state.config());
        let listener = bind_control(&path);
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        let mut generation = None;
        let mut counter: u64 = 0;
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = interval.tick() => {
                    self.tick(counter, &mut generation).await;
                    counter += 1;
                }
                conn = accept(listener.as_ref()) => {
                    if let Some(stream) = conn {
                        let state = Arc::clone(&self.state);
                        let reloader = Arc::clone(&self.reloader);
                        tokio::spawn(async move { serve_control(state, reloader, stream).await });
                    }
                }
            }
        }
        let _ = self.state.sessions.flush_last_seen().await;
        // One last try: what the outbox still holds when the process ends is lost, and a
        // revocation lost so would let its session back in after the restart.
        let outbox = self.state.store.outbox();
        if !outbox.is_empty() && self.state.sessions.flush_outbox(unix_now()).await.is_err() {
            let left = outbox.pending(unix_now());
            tracing::error!(
                revocations = left.revoked.len(),
                bans = left.bans.len(),
                "stopping with writes the store refused: these sign-outs and bans are lost"
            );
        }
        if listener.is_some() {
            let _ = std::fs::remove_file(&path);
        }
    }
}

async fn accept(listener: Option<&UnixListener>) -> Option<tokio::net::UnixStream> {
    match listener {
        Some(l) => l.accept().await.ok().map(|(s, _)| s),
        None => std::future::pending().await,
    }
}

fn bind_control(path: &std::path::Path) -> Option<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    if path.exists() {
        // A live gateway answers; a stale socket from a crash does not and is replaced.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            tracing::warn!(
                "another gateway listens on {}; relying on the store's generation instead",
                path.display()
            );
            return None;
        }
        let _ = std::fs::remove_file(path);
    }
    match UnixListener::bind(path) {
        Ok(l) => {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
            Some(l)
        }
        Err(e) => {
            tracing::warn!("cannot bind the control socket {}: {e}", path.display());
            None
        }
    }
}

/// What the command line tells a running gateway through the control socket, one line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlMessage<'a> {
    /// Sessions changed in the store: drop every cached one.
    InvalidateSessions,
    /// Re-read the configuration file; the answer is `ok` or the reason it was refused.
    Reload,
    /// An operator lifted the ban on this regulation key: forget it and its failures.
    LiftBan(&'a str),
}

impl ControlMessage<'_> {
    /// The line sent. A key is sent in hex: it may hold any text typed at the login page.
    fn line(&self) -> String {
        match self {
            ControlMessage::InvalidateSessions => "invalidate\n".to_string(),
            ControlMessage::Reload => "reload\n".to_string(),
            ControlMessage::LiftBan(key) => format!("lift-ban {}\n", hex::encode(key)),
        }
    }
}

/// The key of a `lift-ban` line, if `line` is one.
fn lifted_key(line: &str) -> Option<String> {
    let hexed = line.strip_prefix("lift-ban ")?;
    String::from_utf8(hex::decode(hexed.trim()).ok()?).ok()
}

async fn serve_control(state: Arc<State>, reloader: Arc<Reloader>, stream: tokio::net::UnixStream) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let line = tokio::time::timeout(Duration::from_secs(2), lines.next_line()).await;
    if let Ok(Ok(Some(line))) = line {
        if line.trim() == "reload" {
            let answer = match reloader.reload() {
                Ok(restart) if restart.is_empty() => "ok\n".to_string(),
                Ok(restart) => format!("ok; needs a restart: {}\n", restart.join(", ")),
                // One line: the error names file:line:col first.
                Err(e) => format!("refused: {}\n", e.to_string().replace('\n', " | ")),
            };
            let _ = write.write_all(answer.as_bytes()).await;
        } else if line.trim() == "invalidate" {
            state.sessions.invalidate_all();
            let _ = write.write_all(b"ok\n").await;
        } else if let Some(key) = lifted_key(&line) {
            state.regulation.regulator().forget(&key);
            tracing::info!(key = %key.escape_default(), "ban lifted from the command line");
            let _ = write.write_all(b"ok\n").await;
        } else {
            let _ = write.write_all(b"unknown command\n").await;
        }
    }
}

/// Sends `message` to a gateway listening on the control socket at `path`, if any; waits
/// briefly for its answer and returns whether it acknowledged.
pub fn tell_gateway(path: &std::path::Path, message: &ControlMessage) -> bool {
    ask_gateway(path, message).is_some_and(|answer| answer == "ok")
}

/// Sends `message` to a gateway listening on the control socket at `path` and returns its
/// one-line answer; `None` when no gateway answered.
pub fn ask_gateway(path: &std::path::Path, message: &ControlMessage) -> Option<String> {
    use std::io::{BufRead, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(path).ok()?;
    // A reload reads and checks the whole file: give it longer than a cache drop.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    stream.write_all(message.line().as_bytes()).ok()?;
    let mut answer = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut answer)
        .ok()?;
    let answer = answer.trim();
    (!answer.is_empty()).then(|| answer.to_string())
}

/// Where the command line tells a running gateway that sessions changed.
pub fn control_socket_path(config: &crate::config::Config) -> std::path::PathBuf {
    let mut p = config.storage.path.clone().into_os_string();
    p.push(".control");
    std::path::PathBuf::from(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lifted_key_survives_the_line_whatever_it_holds() {
        for key in ["user:alice", "ip:2001:db8:1:2::/64", "user:a\nb lift-ban x"] {
            let line = ControlMessage::LiftBan(key).line();
            assert_eq!(line.matches('\n').count(), 1, "{line:?}");
            assert_eq!(lifted_key(line.trim_end()).as_deref(), Some(key));
        }
        assert_eq!(lifted_key("invalidate"), None);
        assert_eq!(lifted_key("lift-ban zz"), None);
    }
}
