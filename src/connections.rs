//! Client connections: how many are held, how long a request head may take, and which
//! connections end with the session that opened them.
//!
//! Pingora reads a request head with a per-read timeout only (a client dribbling one byte a
//! minute holds its connection forever), accepts as many connections as the file limit allows,
//! and has no way to end a connection from outside. [`Front`] is the layer in front of the
//! proxy that supplies all three. It runs pingora's HTTP/1 connection loop itself, request by
//! request, and every connection it holds is a [`Conn`] in [`Connections`]:
//!
//! - while a connection waits for a request head, its `waiting_since` is set; the [`warden`]
//!   ends any connection whose head has not arrived whole within `header_timeout` (the first
//!   request) or `keepalive_timeout + header_timeout` (later ones: pingora's own per-read
//!   keep-alive timeout closes a silent one at `keepalive_timeout`);
//! - at `max_connections`, a new connection takes the place of the one that has waited longest
//!   for a head (idle keep-alive and slow clients), as nginx drains its idle connections; when
//!   every connection is busy with a request, the new one is closed;
//! - a proxied response that may last (a WebSocket, an event stream, a long or unsized body)
//!   binds its connection to the session it was forwarded for; the warden ends the connection
//!   within a fraction of a second once that session is no longer live (logout, revocation,
//!   password change, disable, delete, 2FA reset, idle or absolute expiry).
//!
//! On the HTTPS listener [`Front`] also makes the TLS handshake, so a connection counts from
//! its first byte and its handshake is part of the wait for its first head.
//!
//! HTTP/2 (over TLS, through ALPN) multiplexes requests on one connection, so there each
//! stream is a [`Conn`] of its own: a long-lived response binds its stream, which then joins a
//! registry beside the connections', and ending it resets that stream alone, leaving the
//! connection's other streams be. A stream forwarding a request body joins it too: pingora
//! reads HTTP/2 bodies without a timeout, so the warden resets a stream whose body stops for
//! `body_timeout`. An HTTP/2 connection with no stream open is idle as an HTTP/1 one waiting
//! for a head is (the same deadlines, evicted first at the limit), and is sent GOAWAY after
//! `keepalive_timeout`.
//!
//! Ending a connection drops its future: the socket closes and the upstream connection with
//! it. The request path itself only stores a few atomics per request; the registry's lock is
//! taken when a connection opens or closes, when an HTTP/2 stream forwards a body or a
//! long-lived response, and by the warden, never for an ordinary request.

use std::any::Any;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::apps::{HttpPersistentSettings, HttpServerApp, ServerApp};
use pingora::listeners::tls::{Acceptor, TlsSettings};
use pingora::listeners::{ListenerConfig, TcpSocketOptions};
use pingora::protocols::http::v2;
use pingora::protocols::http::ServerSession;
use pingora::protocols::l4::stream::L4BufferSettings;
use pingora::protocols::l4::stream::Stream as L4Stream;
use pingora::protocols::Digest;
use pingora::protocols::{Stream, ALPN};
use pingora::proxy::{HttpProxy, ProxyHttp};
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use tokio::sync::Notify;

use crate::auth::unix_now;
use crate::config::ServerConfig;
use crate::State;

/// How often the warden looks at every connection: the bound on how late it ends one.
pub const WARDEN_PERIOD: Duration = Duration::from_millis(200);

/// Limits of the connection layer, from `[server]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub keepalive_timeout: Duration,
    /// The longest pause in a request body (enforced here for HTTP/2 streams).
    pub body_timeout: Duration,
}

/// Every client connection the gateway holds.
pub struct Connections {
    /// Replaced whole by a reload.
    limits: ArcSwap<Limits>,
    all: Mutex<HashMap<u64, Arc<Conn>>>,
    /// The HTTP/2 streams being served, each ended on its own (not counted as connections).
    streams: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    /// The origin of `Conn::waiting_since` (milliseconds since this instant, plus one).
    epoch: Instant,
}

/// One client connection.
pub struct Conn {
    id: u64,
    /// When the wait for the current request head began (see [`Connections::now_ms`]);
    /// 0 while a request is being served.
    waiting_since: AtomicU64,
    /// Whether the head awaited is the connection's first.
    first: AtomicBool,
    /// The session whose long-lived response this connection is carrying, if any.
    bound: Mutex<Option<[u8; 32]>>,
    /// Whether `bound` holds a session: lets the end of a request skip the lock.
    is_bound: AtomicBool,
    ended: AtomicBool,
    end: Notify,
    /// For an HTTP/2 stream: the registry it joins once bound or once its request body is
    /// awaited (until then it is in none, so that an ordinary request on HTTP/2 takes no lock).
    stream_of: Option<std::sync::Weak<Connections>>,
    /// Whether the stream is in that registry.
    registered: AtomicBool,
    /// For an HTTP/2 stream whose request body is being forwarded: when the last part of it
    /// arrived (see [`Connections::now_ms`]); 0 otherwise. HTTP/2 reads have no timeout of
    /// their own, so the warden ends a stream whose body stops for `body_timeout`.
    body_since: AtomicU64,
}

impl Conn {
    /// Ends the connection: its future is dropped at its next poll, closing the socket.
    pub fn end(&self) {
        self.ended.store(true, Ordering::Release);
        self.end.notify_one();
    }

    async fn ended(&self) {
        while !self.ended.load(Ordering::Acquire) {
            self.end.notified().await;
        }
    }

    /// The request head arrived: the head deadline no longer applies.
    pub fn head_arrived(&self) {
        self.waiting_since.store(0, Ordering::Relaxed);
    }

    /// Ties the connection to `session` (a long-lived response forwarded for it).
    pub fn bind(self: &Arc<Self>, session: [u8; 32]) {
        *lock(&self.bound) = Some(session);
        self.is_bound.store(true, Ordering::Release);
        self.register();
    }

    /// An HTTP/2 stream joins the registry, where the warden sees it.
    fn register(self: &Arc<Self>) {
        let registry = self.stream_of.as_ref().and_then(std::sync::Weak::upgrade);
        if let Some(registry) = registry {
            if !self.registered.swap(true, Ordering::AcqRel) {
                lock(&registry.streams).insert(self.id, Arc::clone(self));
            }
        }
    }

    /// A request body is about to be forwarded on this HTTP/2 stream: from now on it must
    /// keep flowing. Nothing on an HTTP/1 connection, whose reads have their own timeout.
    pub fn body_expected(self: &Arc<Self>) {
        let registry = self.stream_of.as_ref().and_then(std::sync::Weak::upgrade);
        if let Some(registry) = registry {
            self.body_since.store(registry.now_ms(), Ordering::Relaxed);
            self.register();
        }
    }

    /// Part of the request body arrived (`done`: the last of it).
    pub fn body_arrived(&self, done: bool) {
        if self.body_since.load(Ordering::Relaxed) == 0 {
            return;
        }
        let registry = self.stream_of.as_ref().and_then(std::sync::Weak::upgrade);
        let now = match registry {
            Some(r) if !done => r.now_ms(),
            _ => 0,
        };
        self.body_since.store(now, Ordering::Relaxed);
    }

    /// The response is over: the next request on the connection may be anyone's.
    fn unbind(&self) {
        if self.is_bound.swap(false, Ordering::AcqRel) {
            *lock(&self.bound) = None;
        }
    }

    fn bound(&self) -> Option<[u8; 32]> {
        *lock(&self.bound)
    }
}

/// What pingora hands from the connection layer to the proxy with each request (through the
/// connection user context, delivered to `ProxyHttp::on_connection_reuse` once the head is
/// read).
pub struct HeadArrived(pub Arc<Conn>);

impl HeadArrived {
    /// The connection, if `ctx` is what [`Front`] handed over.
    pub fn take(ctx: Box<dyn Any + Send + Sync>) -> Option<Arc<Conn>> {
        ctx.downcast::<HeadArrived>().ok().map(|h| {
            h.0.head_arrived();
            h.0
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Connections {
    pub fn new(limits: Limits) -> Connections {
        Connections {
            limits: ArcSwap::from_pointee(limits),
            all: Mutex::new(HashMap::new()),
            streams: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            epoch: Instant::now(),
        }
    }

    pub fn limits(&self) -> Limits {
        **self.limits.load()
    }

    /// Puts `limits` in force for every connection from now on.
    pub fn set_limits(&self, limits: Limits) {
        self.limits.store(Arc::new(limits));
    }

    /// Connections held now.
    pub fn count(&self) -> usize {
        lock(&self.all).len()
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    /// Registers a new connection, making room at the limit by ending the one that has waited
    /// longest for a request head; `None` when every held connection is busy.
    fn admit(&self) -> Option<Arc<Conn>> {
        let mut all = lock(&self.all);
        if all.len() >= self.limits().max_connections {
            let idlest = all
                .values()
                .filter(|c| c.waiting_since.load(Ordering::Relaxed) != 0)
                .min_by_key(|c| c.waiting_since.load(Ordering::Relaxed))
                .cloned()?;
            idlest.end();
            all.remove(&idlest.id);
        }
        let conn = self.new_conn(None);
        all.insert(conn.id, Arc::clone(&conn));
        let held = all.len();
        PEAK.with(|peak| peak.set(peak.get().max(held)));
        Some(conn)
    }

    fn new_conn(&self, stream_of: Option<std::sync::Weak<Connections>>) -> Arc<Conn> {
        Arc::new(Conn {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            waiting_since: AtomicU64::new(0),
            first: AtomicBool::new(true),
            bound: Mutex::new(None),
            is_bound: AtomicBool::new(false),
            ended: AtomicBool::new(false),
            end: Notify::new(),
            stream_of,
            registered: AtomicBool::new(false),
            body_since: AtomicU64::new(0),
        })
    }

    /// A connection, or an HTTP/2 stream (registered in `streams` only once bound), leaves
    /// the registry.
    fn release(&self, conn: &Conn) {
        if conn.stream_of.is_none() {
            lock(&self.all).remove(&conn.id);
        } else if conn.registered.load(Ordering::Acquire) {
            lock(&self.streams).remove(&conn.id);
        }
    }

    /// Ends every HTTP/2 stream whose request body has not moved for `body_timeout`; returns
    /// how many.
    pub fn end_stalled_bodies(&self) -> usize {
        let now = self.now_ms();
        let limit = self.limits().body_timeout.as_millis() as u64;
        let streams: Vec<Arc<Conn>> = lock(&self.streams).values().cloned().collect();
        let mut ended = 0;
        for stream in streams {
            let since = stream.body_since.load(Ordering::Relaxed);
            if since != 0 && now.saturating_sub(since) >= limit {
                stream.end();
                self.release(&stream);
                ended += 1;
            }
        }
        ended
    }

    fn snapshot(&self) -> Vec<Arc<Conn>> {
        lock(&self.all).values().cloned().collect()
    }

    /// Ends every connection whose request head is overdue; returns how many.
    pub fn end_slow_heads(&self) -> usize {
        let now = self.now_ms();
        let limits = self.limits();
        let first = limits.header_timeout.as_millis() as u64;
        let later = first + limits.keepalive_timeout.as_millis() as u64;
        let mut ended = 0;
        for conn in self.snapshot() {
            let since = conn.waiting_since.load(Ordering::Relaxed);
            let limit = if conn.first.load(Ordering::Relaxed) {
                first
            } else {
                later
            };
            if since != 0 && now.saturating_sub(since) >= limit {
                conn.end();
                self.release(&conn);
                ended += 1;
            }
        }
        ended
    }

    /// The sessions that long-lived responses are bound to, with their connections.
    fn bound(&self) -> HashMap<[u8; 32], Vec<Arc<Conn>>> {
        let mut by_session: HashMap<[u8; 32], Vec<Arc<Conn>>> = HashMap::new();
        let streams: Vec<Arc<Conn>> = lock(&self.streams).values().cloned().collect();
        for conn in self.snapshot().into_iter().chain(streams) {
            if let Some(session) = conn.bound() {
                by_session.entry(session).or_default().push(conn);
            }
        }
        by_session
    }
}

/// After this many connections closed since the last time, the allocator is asked to give
/// their memory back.
const RELEASE_AFTER: usize = 1024;

/// Ends, every [`WARDEN_PERIOD`], the connections whose head is overdue and those whose
/// session has ended, and gives memory back after a burst of connections. Runs until the
/// runtime stops.
pub async fn warden(connections: Arc<Connections>, state: Arc<State>) {
    let mut tick = tokio::time::interval(WARDEN_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut high_water = 0;
    loop {
        tick.tick().await;
        let held = connections.count();
        high_water = high_water.max(held);
        if high_water >= held + RELEASE_AFTER {
            high_water = held;
            tokio::task::spawn_blocking(release_memory);
        }
        let slow = connections.end_slow_heads();
        if slow > 0 {
            tracing::debug!("closed {slow} connections whose request head was overdue");
        }
        let stalled = connections.end_stalled_bodies();
        if stalled > 0 {
            tracing::debug!("reset {stalled} HTTP/2 streams whose request body stopped");
        }
        let now = unix_now();
        // A shared store out of reach past its grace: no session is trusted, so no upgraded
        // connection stays open on one.
        let store_lost = state.store_outage_exceeded();
        for (session, conns) in connections.bound() {
            // A cached session is judged from memory; one the cache lost is read again, and a
            // store that cannot say ends the connection (fail closed).
            // While the store's notices may have been missed, the cache is not trusted.
            let cached =
                !state.store.cache_suspect() && state.sessions.peek(&session, now).is_some();
            let live = !store_lost && (cached || state.sessions.load(session, now).await.is_some());
            if !live {
                for conn in conns {
                    conn.end();
                    connections.release(&conn);
                }
                tracing::info!("closed the connections of a session that ended");
            }
        }
    }
}

/// Returns freed memory to the operating system. The allocator keeps what a burst of
/// connections freed for reuse, lazily purging it only while it keeps allocating: after
/// 10 000 idle connections closed, a quiet gateway would hold their memory for good.
fn release_memory() {
    // SAFETY: mi_collect has no preconditions; when mimalloc is not the global allocator
    // (the library in tests) it has nothing to collect.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// The connection layer in front of the proxy (see the module docs).
pub struct Front<SV: ProxyHttp> {
    proxy: Arc<HttpProxy<SV>>,
    connections: Arc<Connections>,
    /// On the HTTPS listener: the TLS handshake, made here rather than by pingora so that a
    /// connection counts against `max_connections` and `header_timeout` from its first byte.
    tls: Option<Acceptor>,
}

impl<SV: ProxyHttp> Front<SV> {
    pub fn new(
        proxy: HttpProxy<SV>,
        connections: Arc<Connections>,
        tls: Option<Acceptor>,
    ) -> Front<SV> {
        Front {
            proxy: Arc::new(proxy),
            connections,
            tls,
        }
    }
}

/// Waits until the client sends the first byte of a request (left unread for the parser);
/// false when it closes, errs, or stays silent past `idle` (a kept-alive connection).
///
/// The idle limit is pingora's own coarse timer (10 ms ticks shared by every connection with
/// the same deadline): tokio's timer would be armed and cancelled on every kept-alive request,
/// and arming it wakes the runtime's driver through its eventfd, a system call per request.
async fn first_byte(stream: &mut Stream, idle: Option<Duration>) -> bool {
    let mut byte = [0u8; 1];
    let peek = stream.try_peek(&mut byte);
    match idle {
        None => peek.await.is_ok(),
        Some(limit) => matches!(pingora::time::timeout(limit, peek).await, Ok(Ok(_))),
    }
}

/// Whether the previous request left bytes of the next one already read (pipelining): then
/// the next request must be parsed without waiting for the socket. Pingora keeps them in the
/// settings without a getter; its `Debug` shows whether they are there. It is read as it is
/// written, byte by byte, and stops at the field's value, so no string is built per request.
fn has_pipelined_bytes(settings: Option<&HttpPersistentSettings>) -> bool {
    use std::fmt::Write;
    let Some(settings) = settings else {
        return false;
    };
    let mut field = FieldValue::new(b"pipelined_prefix: ");
    // The scanner ends the formatting with an error as soon as it has its answer.
    let _ = write!(field, "{settings:?}");
    field.first == Some(b'S')
}

/// Finds the first byte after `label` in text written to it. `label` must not start again
/// inside itself after its first byte (true of a field name followed by ": ").
struct FieldValue {
    label: &'static [u8],
    matched: usize,
    first: Option<u8>,
}

impl FieldValue {
    fn new(label: &'static [u8]) -> FieldValue {
        FieldValue {
            label,
            matched: 0,
            first: None,
        }
    }
}

impl std::fmt::Write for FieldValue {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for &b in s.as_bytes() {
            if self.matched == self.label.len() {
                self.first = Some(b);
                return Err(std::fmt::Error);
            }
            if b == self.label[self.matched] {
                self.matched += 1;
            } else {
                self.matched = usize::from(b == self.label[0]);
            }
        }
        Ok(())
    }
}

/// Removes a connection from the registry however its future ends (also when dropped).
struct Held<'a> {
    connections: &'a Connections,
    conn: Arc<Conn>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let held = {
            let mut all = lock(&self.connections.all);
            all.remove(&self.conn.id);
            all.len()
        };
        // Each worker thread keeps what its connections freed; the thread that saw a burst
        // gives it back as the burst ends (the warden cannot reach another thread's pages).
        PEAK.with(|peak| {
            if peak.get() >= held + RELEASE_AFTER {
                peak.set(held);
                release_memory();
            }
        });
    }
}

thread_local! {
    /// The most connections this thread has seen held since it last gave memory back.
    static PEAK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[async_trait]
impl<SV> ServerApp for Front<SV>
where
    SV: ProxyHttp + Send + Sync + 'static,
    SV::CTX: Send + Sync,
{
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let conn = self.connections.admit()?;
        let held = Held {
            connections: &self.connections,
            conn: Arc::clone(&conn),
        };
        let stream = match &self.tls {
            None => stream,
            Some(acceptor) => {
                // The handshake is part of the wait for the first request head: a client
                // that dribbles it is ended by the warden like one that dribbles its head.
                conn.waiting_since
                    .store(self.connections.now_ms(), Ordering::Relaxed);
                let tcp = *stream.into_any().downcast::<L4Stream>().ok()?;
                let handshake = tokio::select! {
                    biased;
                    _ = conn.ended() => return None,
                    done = acceptor.tls_handshake(tcp) => done,
                };
                Box::new(handshake.ok()?) as Stream
            }
        };
        if matches!(stream.selected_alpn_proto(), Some(ALPN::H2)) {
            tokio::select! {
                biased;
                _ = conn.ended() => {}
                _ = self.serve_h2(stream, &conn, shutdown) => {}
            }
            drop(held);
            return None;
        }
        let keepalive = self.connections.limits().keepalive_timeout;
        let mut stopping = shutdown.clone();
        let mut stream = stream;
        let mut settings = None;
        loop {
            conn.waiting_since
                .store(self.connections.now_ms(), Ordering::Relaxed);
            // An idle connection waits here, holding only its socket and small buffers: the
            // proxy's request future (over 10 KiB) exists only once a request has begun.
            if !has_pipelined_bytes(settings.as_ref()) {
                let first = conn.first.load(Ordering::Relaxed);
                // A stopping gateway closes connections that have no request under way; one
                // whose request has begun is answered first.
                if *stopping.borrow() {
                    return None;
                }
                let arrived = tokio::select! {
                    biased;
                    _ = conn.ended() => return None,
                    _ = stopping.changed() => return None,
                    peeked = first_byte(&mut stream, (!first).then_some(keepalive)) => peeked,
                };
                if !arrived {
                    return None;
                }
            }
            let mut session = ServerSession::new_http1(stream);
            session.set_keepalive(if *shutdown.borrow() {
                None
            } else {
                Some(keepalive.as_secs().max(1))
            });
            // Pipelined requests are answered in order instead of being dropped.
            session.set_pipelining_enabled(true);
            if let Some(settings) = settings.take() {
                HttpPersistentSettings::apply_to_session(settings, &mut session);
            }
            session.set_connection_user_context(Some(Box::new(HeadArrived(Arc::clone(&conn)))));
            let reused = tokio::select! {
                biased;
                _ = conn.ended() => None,
                r = self.proxy.process_new_http(session, shutdown) => r,
            };
            conn.unbind();
            let (next, next_settings) = reused?.consume();
            conn.first.store(false, Ordering::Relaxed);
            stream = next;
            settings = next_settings;
        }
    }

    async fn cleanup(&self) {
        self.proxy.http_cleanup().await;
    }
}

impl<SV> Front<SV>
where
    SV: ProxyHttp + Send + Sync + 'static,
    SV::CTX: Send + Sync,
{
    /// Serves an HTTP/2 connection: each stream in a task of its own, which the warden can end
    /// alone (see the module docs). Returns when the client closes, or after a GOAWAY (sent
    /// after `keepalive_timeout` with no stream open, or at a shutdown) once the streams in
    /// flight are done.
    async fn serve_h2(
        self: &Arc<Self>,
        stream: Stream,
        conn: &Arc<Conn>,
        shutdown: &ShutdownWatch,
    ) {
        let digest = Arc::new(Digest {
            ssl_digest: stream.get_ssl_digest(),
            timing_digest: stream.get_timing_digest(),
            proxy_digest: stream.get_proxy_digest(),
            socket_digest: stream.get_socket_digest(),
        });
        // While no stream is open the connection waits for a request head, as an idle HTTP/1
        // one does: the warden ends it when the first head is late (the preface and the
        // handshake count), and a new connection at the limit may take its place.
        conn.waiting_since
            .store(self.connections.now_ms(), Ordering::Relaxed);
        let mut options = v2::server::default_h2_options();
        options.max_concurrent_streams(MAX_STREAMS);
        let Ok(mut h2) = v2::server::handshake(stream, Some(options)).await else {
            return;
        };
        let open = Arc::new(OpenStreams {
            count: Default::default(),
            closed: Notify::new(),
        });
        let mut stopping = shutdown.clone();
        let mut draining = false;
        let mut rejected = 0;
        loop {
            let keepalive = self.connections.limits().keepalive_timeout;
            let idle = open.count.load(Ordering::Acquire) == 0;
            // This loop alone opens streams and marks the connection busy or idle, so the two
            // cannot cross: idle from the moment its last stream ended (the head deadline and
            // eviction at the limit apply), busy while one is open.
            if idle {
                let _ = conn.waiting_since.compare_exchange(
                    0,
                    self.connections.now_ms(),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
            let accepted = tokio::select! {
                biased;
                _ = stopping.changed(), if !draining => {
                    h2.graceful_shutdown();
                    draining = true;
                    continue;
                }
                _ = open.closed.notified() => continue,
                _ = tokio::time::sleep(keepalive), if idle && !draining => {
                    // Idle for long enough: GOAWAY, so that the client knows to retry
                    // elsewhere whatever it sends meanwhile.
                    h2.graceful_shutdown();
                    draining = true;
                    continue;
                }
                accepted = v2::server::HttpSession::from_h2_conn(&mut h2, Arc::clone(&digest)) => accepted,
            };
            let session = match accepted {
                Ok(Some(v2::server::H2Accept::Session(session))) => session,
                Ok(Some(v2::server::H2Accept::Rejected)) => {
                    // Streams refused for a malformed head: a client that keeps sending them
                    // loses the connection.
                    rejected += 1;
                    if rejected > MAX_REJECTED_STREAMS {
                        return;
                    }
                    continue;
                }
                Ok(None) | Err(_) => return,
            };
            let stream = self
                .connections
                .new_conn(Some(Arc::downgrade(&self.connections)));
            if open.count.fetch_add(1, Ordering::AcqRel) == 0 {
                conn.head_arrived();
                conn.first.store(false, Ordering::Relaxed);
            }
            let held = StreamHeld {
                connections: Arc::clone(&self.connections),
                conn: Arc::clone(&stream),
                open: Arc::clone(&open),
            };
            let proxy = Arc::clone(&self.proxy);
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let _held = held;
                let served = ServerSession::new_http2(session);
                STREAM
                    .scope(Arc::clone(&stream), async {
                        tokio::select! {
                            biased;
                            _ = stream.ended() => {}
                            _ = proxy.process_new_http(served, &shutdown) => {}
                        }
                    })
                    .await;
            });
        }
    }
}

/// An HTTP/2 connection whose client sends more streams than this that are refused for a
/// malformed head is closed.
const MAX_REJECTED_STREAMS: usize = 32;

/// Streams open at once on one HTTP/2 connection: each may hold an upstream connection, so
/// this bounds what one client connection can cost (browsers queue what is beyond it).
const MAX_STREAMS: u32 = 32;

/// The streams an HTTP/2 connection has open, and a signal when one ends.
struct OpenStreams {
    count: std::sync::atomic::AtomicUsize,
    closed: Notify,
}

/// Unregisters an HTTP/2 stream however its task ends.
struct StreamHeld {
    connections: Arc<Connections>,
    conn: Arc<Conn>,
    open: Arc<OpenStreams>,
}

impl Drop for StreamHeld {
    fn drop(&mut self) {
        self.connections.release(&self.conn);
        if self.open.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.open.closed.notify_one();
        }
    }
}

tokio::task_local! {
    /// The HTTP/2 stream the current task serves, for the proxy to bind (HTTP/1 hands its
    /// connection over as [`HeadArrived`] instead).
    static STREAM: Arc<Conn>;
}

/// The HTTP/2 stream the calling task serves, if it serves one.
pub fn current_stream() -> Option<Arc<Conn>> {
    STREAM.try_with(Arc::clone).ok()
}

/// A client listener on `addr` (plain TCP: the HTTPS listener's handshake is made by [`Front`]).
pub fn listener(addr: &SocketAddr) -> ListenerConfig {
    let mut options = TcpSocketOptions::default();
    if addr.is_ipv6() {
        // IPv6 only, so that `[::]:80` can stand beside `0.0.0.0:80` as the listen example
        // shows, instead of also taking IPv4 and colliding with it.
        options.ipv6_only = Some(true);
    }
    ListenerConfig::tcp(addr.to_string())
        .tcp_socket_options(options)
        .l4_buffer(client_buffers())
}

/// The TLS side of the HTTPS listener of `[server.tls]` (its socket is a plain
/// [`listener`]; [`Front`] makes the handshake): HTTP/2 and HTTP/1.1 through ALPN, with the
/// certificates `edge` holds at each handshake.
pub fn tls_acceptor(edge: &Arc<crate::edge::Edge>) -> pingora::Result<Acceptor> {
    let mut settings = TlsSettings::intermediate("", "")?;
    settings.set_cert_resolver(edge.resolver());
    settings.enable_h2();
    Ok(settings.build())
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
pub fn limits(server: &ServerConfig) -> Limits {
    let files = raise_file_limit();
    let max_connections = if server.max_connections > 0 {
        server.max_connections
    } else {
        derived_max_connections(files)
    };
    tracing::info!("open-file limit {files}; at most {max_connections} client connections");
    Limits {
        max_connections,
        header_timeout: server.header_timeout,
        keepalive_timeout: server.keepalive_timeout,
        body_timeout: server.body_timeout,
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

/// The [`warden`], as a pingora background service.
pub struct Warden {
    pub connections: Arc<Connections>,
    pub state: Arc<State>,
}

#[async_trait]
impl BackgroundService for Warden {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = warden(Arc::clone(&self.connections), Arc::clone(&self.state)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;

    use super::FieldValue;

    #[test]
    fn a_field_value_is_found_across_writes_and_ends_the_formatting() {
        let mut field = FieldValue::new(b"pipelined_prefix: ");
        let parts = [
            "S { keepalive: Some(5), pipelined_",
            "prefix",
            ": ",
            "Some([71])",
        ];
        let ended = parts.iter().try_for_each(|p| field.write_str(p));
        assert_eq!(field.first, Some(b'S'));
        assert!(ended.is_err(), "formatting stops at the value");
    }

    #[test]
    fn a_field_that_is_absent_or_none_is_not_some() {
        let mut none = FieldValue::new(b"pipelined_prefix: ");
        let _ = write!(none, "S {{ pipelined_prefix: None, note: \"Some\" }}");
        assert_eq!(none.first, Some(b'N'));
        let mut absent = FieldValue::new(b"pipelined_prefix: ");
        write!(absent, "S {{ pipelined: Some(1), ppipelined_prefix }}").unwrap();
        assert_eq!(absent.first, None);
        let mut restarted = FieldValue::new(b"pipelined_prefix: ");
        let _ = write!(restarted, "ppipelined_prefix: Some(1)");
        assert_eq!(restarted.first, Some(b'S'));
    }
}
