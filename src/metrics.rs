//! Prometheus metrics: every metric the gateway keeps, and the listener that serves them.
//!
//! [`Metrics`] owns the registry (the `prometheus-client` crate, OpenMetrics text format) and
//! the handles the rest of the gateway counts through: requests by app, decision and status
//! class, proxied request durations, upstream errors, sign-in attempts, bans started and
//! config reloads. Two gauges are read only when scraped ([`scrape`]): sessions held in the
//! cache and argon2 jobs waiting or running. [`MetricsListener`] serves `GET /metrics` on its
//! own socket (`[metrics] listen`); without that section nothing listens.
//!
//! The request path pays atomics only. Every label set a request can count into is resolved
//! to its counter once (the first time it is used) and kept: afterwards a request costs one
//! relaxed `fetch_add` on its counter and, when proxied, two on its app's duration histogram
//! ([`Timing`], which replaces the crate's histogram because that one takes a mutex per
//! observation). No lock, no allocation, no hashing of label values per request.
//!
//! Per-app handles live with the app they count for ([`AppSlot`] inside
//! [`crate::routes::App`]), not in a table indexed by app position: a config reloaded while
//! a request is in flight can renumber, add or remove apps, and a request still counts into
//! the app it was routed to. A new config's apps find their series again by name, so counts
//! carry across reloads; the series of a removed app keep their last value.
//!
//! This module reads the state it is handed; it never touches the store.

use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::{Registry, Unit};

use crate::policy::Decision;
use crate::routes::App;
use crate::State;

/// The `Content-Type` of a scrape: what `prometheus-client` encodes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What the gateway did with a request, as far as the request path knows it when it decides.
/// A refusal of a client that is not a browser (`401` instead of the redirect) is told apart
/// by its status when the request is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Proxied with the session's identity.
    Forward,
    /// Proxied without identity (a `bypass` route).
    Bypass,
    /// Sent to sign in.
    LoginRedirect,
    /// Sent to the second factor (or to set one up).
    Challenge,
    /// `403`: the route denies everybody, or the user is not among its users or groups.
    Deny,
    /// One of the gateway's own pages.
    Portal,
    /// `404`: no app serves this Host.
    NotFound,
    /// `400` and the like: no Host, a path no app server would accept, an oversized head, or a
    /// request the gateway could not read; also any request not yet decided.
    BadRequest,
}

impl From<Decision> for Disposition {
    fn from(decision: Decision) -> Disposition {
        match decision {
            Decision::Forward { identity: true } => Disposition::Forward,
            Decision::Forward { identity: false } => Disposition::Bypass,
            Decision::Login => Disposition::LoginRedirect,
            Decision::Challenge | Decision::Enrol => Disposition::Challenge,
            Decision::Deny | Decision::Forbidden => Disposition::Deny,
        }
    }
}

/// Values of the `decision` label, in the order of [`decision_index`].
const DECISIONS: [&str; 9] = [
    "forward",
    "bypass",
    "login_redirect",
    "challenge",
    "unauthorized",
    "deny",
    "portal",
    "not_found",
    "bad_request",
];

/// The `decision` label of a request that ended with `status`.
fn decision_index(disposition: Disposition, status: u16) -> usize {
    match disposition {
        Disposition::LoginRedirect | Disposition::Challenge if status == 401 => 4,
        Disposition::Forward => 0,
        Disposition::Bypass => 1,
        Disposition::LoginRedirect => 2,
        Disposition::Challenge => 3,
        Disposition::Deny => 5,
        Disposition::Portal => 6,
        Disposition::NotFound => 7,
        Disposition::BadRequest => 8,
    }
}

/// The `decision` label of a request that ended with `status`, as the access log writes it.
pub fn decision_label(disposition: Disposition, status: u16) -> &'static str {
    DECISIONS[decision_index(disposition, status)]
}

/// Values of the `status_class` label; `none`: no response was sent (the client left first).
const STATUS_CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "none"];

fn status_class_index(status: u16) -> usize {
    match status / 100 {
        1..=5 => usize::from(status / 100) - 1,
        _ => 5,
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    app: String,
    decision: &'static str,
    status_class: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabel {
    app: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignInLabels {
    factor: &'static str,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HostLabel {
    host: String,
}

/// The second-factor kind or password an attempt to sign in presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    Password = 0,
    Totp = 1,
    Recovery = 2,
    Passkey = 3,
}

const FACTORS: [&str; 4] = ["password", "totp", "recovery", "passkey"];

/// How an attempt to sign in ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInResult {
    Success = 0,
    /// Checked and wrong (whether or not it started a ban).
    Failure = 1,
    /// Refused unchecked: the user or the client is banned.
    Banned = 2,
}

const SIGN_IN_RESULTS: [&str; 3] = ["success", "failure", "banned"];

/// The request counters of one app (or of requests no app was chosen for), each resolved
/// the first time it counts.
struct RequestCells {
    app: String,
    family: Family<RequestLabels, Counter>,
    cells: [[OnceLock<Counter>; STATUS_CLASSES.len()]; DECISIONS.len()],
}

impl RequestCells {
    fn new(app: &str, family: &Family<RequestLabels, Counter>) -> RequestCells {
        RequestCells {
            app: app.to_string(),
            family: family.clone(),
            cells: std::array::from_fn(|_| std::array::from_fn(|_| OnceLock::new())),
        }
    }

    fn count(&self, decision: usize, class: usize) {
        self.cells[decision][class]
            .get_or_init(|| {
                self.family.get_or_create_owned(&RequestLabels {
                    app: self.app.clone(),
                    decision: DECISIONS[decision],
                    status_class: STATUS_CLASSES[class],
                })
            })
            .inc();
    }
}

/// Everything counted per app.
pub struct AppMeters {
    requests: RequestCells,
    duration: Timing,
    upstream_errors: Counter,
}

impl AppMeters {
    /// The upstream could not be reached, refused or broke the connection, or timed out.
    pub fn upstream_error(&self) {
        self.upstream_errors.inc();
    }
}

impl std::fmt::Debug for AppMeters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppMeters")
            .field("app", &self.requests.app)
            .finish()
    }
}

/// Where an app keeps its [`AppMeters`] once it has counted (see the module notes). A config
/// is meant for one gateway: a clone of an app shares the slot, and so the meters.
#[derive(Debug, Clone, Default)]
pub struct AppSlot(OnceLock<Arc<AppMeters>>);

/// Upper bounds of the duration buckets, in nanoseconds: 0.5 ms to 60 s (the default
/// `upstream_timeout`), about three per decade.
const BUCKETS_NANOS: [u64; 16] = [
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
    30_000_000_000,
    60_000_000_000,
];

/// A histogram of durations whose observation is two relaxed atomic additions. The count is
/// the sum of the buckets when encoded, so `_count` and the `+Inf` bucket always agree; a
/// scrape that races an observation may see its bucket without its sum, never the reverse
/// in a way that lasts.
#[derive(Debug, Clone, Default)]
pub struct Timing(Arc<TimingCells>);

#[derive(Debug, Default)]
struct TimingCells {
    /// Observations per bucket (not cumulative); the last one is `+Inf`.
    buckets: [AtomicU64; BUCKETS_NANOS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Timing {
    pub fn observe(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let bucket = BUCKETS_NANOS
            .iter()
            .position(|bound| nanos <= *bound)
            .unwrap_or(BUCKETS_NANOS.len());
        self.0.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.0.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

impl TypedMetric for Timing {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Timing {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let bounds = BUCKETS_NANOS
            .iter()
            .map(|n| *n as f64 / 1e9)
            .chain(std::iter::once(f64::INFINITY));
        let buckets: Vec<(f64, u64)> = bounds
            .zip(&self.0.buckets)
            .map(|(bound, n)| (bound, n.load(Ordering::Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = self.0.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// The registry and the handles everything counts through.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<AppLabel, Timing>,
    upstream_errors: Family<AppLabel, Counter>,
    /// Requests no app was chosen for: portal pages, unknown hosts, bad requests (`app=""`).
    unrouted: RequestCells,
    sign_ins: [[Counter; SIGN_IN_RESULTS.len()]; FACTORS.len()],
    bans: Counter,
    sessions_cached: Gauge,
    argon2_queue_depth: Gauge,
    /// Successful reloads, then failed ones.
    reloads: [Counter; 2],
    /// ACME orders that succeeded, then those that failed.
    acme_orders: [Counter; 2],
    certificate_expiry: Family<HostLabel, Gauge>,
    certificate_failures: Family<HostLabel, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Every metric registered, at zero, with the series of each of `apps` (a later app's
    /// appear when it first counts, or when [`Metrics::app`] is asked for it).
    pub fn new(apps: &[App]) -> Metrics {
        let mut registry = Registry::with_prefix("portcullis");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by app (empty when no app was chosen), decision and status class",
            requests.clone(),
        );
        let durations = Family::<AppLabel, Timing>::default();
        registry.register_with_unit(
            "request_duration",
            "Time from a proxied request's head to the end of its response, by app (upgrades excluded)",
            Unit::Seconds,
            durations.clone(),
        );
        let upstream_errors = Family::<AppLabel, Counter>::default();
        registry.register(
            "upstream_errors",
            "Proxied requests that failed at the upstream (refused, unreachable, broken, timed out), by app",
            upstream_errors.clone(),
        );
        let sign_in_family = Family::<SignInLabels, Counter>::default();
        registry.register(
            "sign_in_attempts",
            "Sign-in attempts by factor (password, totp, recovery) and result (success, failure, banned)",
            sign_in_family.clone(),
        );
        let sign_ins = std::array::from_fn(|factor| {
            std::array::from_fn(|result| {
                sign_in_family.get_or_create_owned(&SignInLabels {
                    factor: FACTORS[factor],
                    result: SIGN_IN_RESULTS[result],
                })
            })
        });
        let bans = Counter::default();
        registry.register(
            "bans",
            "Bans started, one per subject banned (a user, a user's second factor, a client address)",
            bans.clone(),
        );
        let sessions_cached = Gauge::default();
        registry.register(
            "sessions_cached",
            "Sessions held in memory in front of the store",
            sessions_cached.clone(),
        );
        let argon2_queue_depth = Gauge::default();
        registry.register(
            "argon2_queue_depth",
            "Password hashing jobs waiting for or running on the argon2 threads",
            argon2_queue_depth.clone(),
        );
        let reload_family = Family::<ResultLabel, Counter>::default();
        registry.register(
            "config_reloads",
            "Configuration reloads by result (success, failure)",
            reload_family.clone(),
        );
        let reloads = ["success", "failure"]
            .map(|result| reload_family.get_or_create_owned(&ResultLabel { result }));
        let acme_family = Family::<ResultLabel, Counter>::default();
        registry.register(
            "acme_orders",
            "ACME certificate orders by result (success, failure)",
            acme_family.clone(),
        );
        let acme_orders = ["success", "failure"]
            .map(|result| acme_family.get_or_create_owned(&ResultLabel { result }));
        let certificate_expiry = Family::<HostLabel, Gauge>::default();
        registry.register(
            "certificate_expiry_timestamp_seconds",
            "End of validity of the certificate served, by host (`*`: the one from `cert`/`key`)",
            certificate_expiry.clone(),
        );
        let certificate_failures = Family::<HostLabel, Gauge>::default();
        registry.register(
            "certificate_renewal_failures",
            "ACME attempts for a host that failed in a row since its last success",
            certificate_failures.clone(),
        );
        registry.register(
            "build",
            "The running gateway's version",
            Info::new([("version", env!("CARGO_PKG_VERSION"))]),
        );
        let unrouted = RequestCells::new("", &requests);
        let metrics = Metrics {
            registry,
            requests,
            durations,
            upstream_errors,
            unrouted,
            sign_ins,
            bans,
            sessions_cached,
            argon2_queue_depth,
            reloads,
            acme_orders,
            certificate_expiry,
            certificate_failures,
        };
        for app in apps {
            metrics.app(app);
        }
        metrics
    }

    /// The meters of `app`, made the first time the app counts.
    pub fn app(&self, app: &App) -> Arc<AppMeters> {
        let meters = app.meters.0.get_or_init(|| {
            let label = AppLabel {
                app: app.name.clone(),
            };
            Arc::new(AppMeters {
                requests: RequestCells::new(&app.name, &self.requests),
                duration: self.durations.get_or_create_owned(&label),
                upstream_errors: self.upstream_errors.get_or_create_owned(&label),
            })
        });
        Arc::clone(meters)
    }

    /// Counts a request once it is answered: `app` when one was chosen, what was decided, the
    /// status sent (0: none), and how long it took from its head. Proxied requests (not
    /// upgrades, which last as long as their connection) also go into the app's durations.
    pub fn request(
        &self,
        app: Option<&AppMeters>,
        disposition: Disposition,
        status: u16,
        took: Duration,
    ) {
        let decision = decision_index(disposition, status);
        let class = status_class_index(status);
        match app {
            Some(meters) => {
                meters.requests.count(decision, class);
                if matches!(disposition, Disposition::Forward | Disposition::Bypass)
                    && status != 101
                {
                    meters.duration.observe(took);
                }
            }
            None => self.unrouted.count(decision, class),
        }
    }

    /// Counts an attempt to sign in.
    pub fn sign_in(&self, factor: Factor, result: SignInResult) {
        self.sign_ins[factor as usize][result as usize].inc();
    }

    /// The counter of bans started, for the regulation that starts them.
    pub fn bans(&self) -> Counter {
        self.bans.clone()
    }

    /// Counts a configuration reload: applied (`ok`) or refused.
    pub fn reloaded(&self, ok: bool) {
        self.reloads[usize::from(!ok)].inc();
    }

    /// Counts an ACME order: a certificate issued (`ok`) or not.
    pub fn acme_attempt(&self, ok: bool) {
        self.acme_orders[usize::from(!ok)].inc();
    }

    /// Sets the certificate gauges from `edge`, at scrape time.
    fn certificates(&self, edge: &crate::edge::Edge) {
        let label = |host: &str| HostLabel {
            host: host.to_string(),
        };
        if let Some(not_after) = edge.fallback_not_after() {
            self.certificate_expiry
                .get_or_create(&label("*"))
                .set(not_after);
        }
        for (host, status) in edge.status() {
            if let Some(not_after) = status.not_after {
                self.certificate_expiry
                    .get_or_create(&label(&host))
                    .set(not_after);
            }
            self.certificate_failures
                .get_or_create(&label(&host))
                .set(i64::from(status.failures));
        }
    }

    /// The exposition: the scrape-time gauges set from `sessions_cached` and
    /// `argon2_queue_depth`, then every metric in the OpenMetrics text format.
    pub fn encode(&self, sessions_cached: u64, argon2_queue_depth: i64) -> String {
        self.sessions_cached
            .set(i64::try_from(sessions_cached).unwrap_or(i64::MAX));
        self.argon2_queue_depth.set(argon2_queue_depth);
        let mut text = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// A scrape of `state`'s metrics, with the gauges read now.
pub fn scrape(state: &State) -> String {
    state.metrics.certificates(&state.edge);
    state
        .metrics
        .encode(state.sessions.cached_count(), state.hasher.queue_depth())
}

/// Serves `GET /metrics` (and nothing else) on the `[metrics] listen` socket until the
/// gateway stops. A pingora background service: it runs beside the proxy, off its threads.
pub struct MetricsListener {
    state: Arc<State>,
    /// Bound when the server is built, so that a port in use stops the start with a clear
    /// error; taken when the service starts.
    socket: Mutex<Option<StdTcpListener>>,
}

/// A scrape request must arrive whole within this.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

impl MetricsListener {
    /// Binds `addr` for the metrics of `state`.
    pub fn bind(addr: SocketAddr, state: Arc<State>) -> std::io::Result<MetricsListener> {
        let socket = StdTcpListener::bind(addr)?;
        socket.set_nonblocking(true)?;
        Ok(MetricsListener {
            state,
            socket: Mutex::new(Some(socket)),
        })
    }
}

#[async_trait]
impl BackgroundService for MetricsListener {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let socket = self.socket.lock().ok().and_then(|mut s| s.take());
        let Some(listener) = socket.and_then(|s| tokio::net::TcpListener::from_std(s).ok()) else {
            tracing::error!("the metrics listener could not start");
            return;
        };
        if let Ok(addr) = listener.local_addr() {
            tracing::info!("metrics on http://{addr}/metrics");
        }
        let http = {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            builder
        };
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let state = Arc::clone(&self.state);
                    let connection = http.serve_connection(
                        TokioIo::new(stream),
                        service_fn(move |req| {
                            let state = Arc::clone(&state);
                            async move { Ok::<_, std::convert::Infallible>(answer(&state, &req)) }
                        }),
                    );
                    tokio::spawn(async move {
                        if let Err(e) = connection.await {
                            tracing::debug!("metrics connection: {e}");
                        }
                    });
                }
            }
        }
    }
}

/// The answer to one request on the metrics socket.
fn answer(state: &State, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let plain = |status: StatusCode, text: &'static str| {
        let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
        *response.status_mut() = status;
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    };
    if req.uri().path() != "/metrics" {
        return plain(
            StatusCode::NOT_FOUND,
            "Not found: metrics are at /metrics\n",
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Use GET\n");
        response.headers_mut().insert(
            hyper::header::ALLOW,
            hyper::header::HeaderValue::from_static("GET, HEAD"),
        );
        return response;
    }
    let mut response = Response::new(Full::new(Bytes::from(scrape(state))));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(CONTENT_TYPE),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample `name{labels}` in `text`, labels written as encoded.
    fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' '))
            .map(|v| v.trim().parse().unwrap())
    }

    #[test]
    fn reloads_are_counted_by_result() {
        let metrics = Metrics::new(&[]);
        let text = metrics.encode(0, 0);
        let success = r#"portcullis_config_reloads_total{result="success"}"#;
        let failure = r#"portcullis_config_reloads_total{result="failure"}"#;
        assert_eq!(sample(&text, success), Some(0.0), "{text}");
        assert_eq!(sample(&text, failure), Some(0.0), "{text}");
        metrics.reloaded(true);
        metrics.reloaded(false);
        metrics.reloaded(false);
        let text = metrics.encode(0, 0);
        assert_eq!(sample(&text, success), Some(1.0), "{text}");
        assert_eq!(sample(&text, failure), Some(2.0), "{text}");
    }

    #[test]
    fn a_refused_redirect_counts_as_unauthorized_and_statuses_fall_in_their_class() {
        assert_eq!(
            DECISIONS[decision_index(Disposition::LoginRedirect, 401)],
            "unauthorized"
        );
        assert_eq!(
            DECISIONS[decision_index(Disposition::Challenge, 401)],
            "unauthorized"
        );
        assert_eq!(
            DECISIONS[decision_index(Disposition::LoginRedirect, 302)],
            "login_redirect"
        );
        assert_eq!(
            DECISIONS[decision_index(Disposition::Forward, 401)],
            "forward"
        );
        for (status, class) in [(101, "1xx"), (200, "2xx"), (304, "3xx"), (404, "4xx")] {
            assert_eq!(STATUS_CLASSES[status_class_index(status)], class);
        }
        assert_eq!(STATUS_CLASSES[status_class_index(502)], "5xx");
        assert_eq!(STATUS_CLASSES[status_class_index(0)], "none");
    }

    #[test]
    fn durations_land_in_cumulative_buckets_and_count_matches_inf() {
        let timing = Timing::default();
        timing.observe(Duration::from_micros(500));
        timing.observe(Duration::from_micros(501));
        timing.observe(Duration::from_secs(120));
        let mut registry = Registry::default();
        registry.register_with_unit("t", "t", Unit::Seconds, timing.clone());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert_eq!(
            sample(&text, r#"t_seconds_bucket{le="0.0005"}"#),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            sample(&text, r#"t_seconds_bucket{le="0.001"}"#),
            Some(2.0),
            "{text}"
        );
        assert_eq!(
            sample(&text, r#"t_seconds_bucket{le="60.0"}"#),
            Some(2.0),
            "{text}"
        );
        assert_eq!(
            sample(&text, r#"t_seconds_bucket{le="+Inf"}"#),
            Some(3.0),
            "{text}"
        );
        assert_eq!(sample(&text, "t_seconds_count"), Some(3.0), "{text}");
        let sum = sample(&text, "t_seconds_sum").unwrap();
        assert!((sum - 120.001001).abs() < 1e-9, "{sum}");
    }
}
