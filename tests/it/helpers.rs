//! The test harness: `spawn_gateway()` and its configurable forms, a `Browser` that signs in
//! and submits forms as a person would, and the checks several test files share (signed in or
//! out, banned, the audit trail once its rows are written).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pingora::server::{ShutdownSignal, ShutdownSignalWatch};
use portcullis::config::Config;
use portcullis::store::{AuditEvent, NewUser, Store};
use portcullis::{Gateway, State};
use reqwest::header::HeaderMap;
use serde_json::Value;
use tokio::sync::Notify;

/// The password every test user gets unless a test says otherwise.
pub const PASSWORD: &str = "correct horse battery staple";

/// What every failed login says.
pub const WRONG_LOGIN: &str = "Wrong username or password.";

/// A `[server]` line that trusts the loopback peer's `X-Forwarded-For`, so that a test can
/// play many client addresses.
pub const TRUST_LOOPBACK: &str = r#"trusted_proxies = ["127.0.0.1/32"]"#;

struct NotifyShutdown(Arc<Notify>);

#[async_trait]
impl ShutdownSignalWatch for NotifyShutdown {
    async fn recv(&self) -> ShutdownSignal {
        self.0.notified().await;
        ShutdownSignal::GracefulTerminate
    }
}

/// A running gateway with its own data directory; stopped when dropped.
pub struct TestGateway {
    pub addr: SocketAddr,
    pub upstream: SocketAddr,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub state: Arc<State>,
    stop: Arc<Notify>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A free loopback port, bound then released for a gateway to bind right after.
///
/// Taken below the kernel's range of ephemeral ports (32768 and up by default), so that no
/// outgoing connection of another test can take it in between (a port from `bind(0)` could be,
/// and a metrics listener once found its port in use), and handed out in turn, from an offset
/// of the process id, so that two tests of a run never get the same one.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id() % SPAN,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..SPAN {
        let port = (FIRST + NEXT.fetch_add(1, Ordering::SeqCst) % SPAN) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port between {FIRST} and {}", FIRST + SPAN);
}

/// The upstream every test uses: the demo's whoami app, which echoes what it received.
pub fn spawn_upstream() -> SocketAddr {
    portcullis::demo::spawn_whoami().expect("upstream starts")
}

/// The standard test apps: `app.test` with a rule for every policy, and `other.test`.
pub fn standard_apps(upstream: SocketAddr) -> String {
    format!(
        r#"
[[apps]]
name = "app"
hosts = ["app.test"]
upstream = "{upstream}"
default_policy = "one_factor"

[[apps.rules]]
paths = ["/public/**"]
policy = "bypass"

[[apps.rules]]
paths = ["/deny/**"]
policy = "deny"

[[apps.rules]]
paths = ["/admins/**"]
policy = "one_factor"
groups = ["admins"]

[[apps.rules]]
paths = ["/alice-only/**"]
policy = "one_factor"
users = ["alice"]

[[apps.rules]]
paths = ["/post-only"]
methods = ["POST"]
policy = "bypass"

[[apps.rules]]
paths = ["/secure/**"]
policy = "two_factor"

[[apps]]
name = "other"
hosts = ["other.test"]
upstream = "{upstream}"
default_policy = "bypass"
"#
    )
}

/// Starts a gateway with the standard sections and the standard apps.
pub fn spawn_gateway() -> TestGateway {
    spawn_gateway_with(standard_apps)
}

/// Starts a gateway with the standard apps and a bypass app `dead.test` whose upstream is a
/// free port nothing listens on.
pub fn spawn_gateway_with_dead_app() -> TestGateway {
    let dead = free_port();
    spawn_gateway_with(|up| {
        format!(
            "{}\n[[apps]]\nname = \"dead\"\nhosts = [\"dead.test\"]\nupstream = \"127.0.0.1:{dead}\"\ndefault_policy = \"bypass\"\n",
            standard_apps(up)
        )
    })
}

/// Starts a gateway with the standard sections and `apps(upstream)` as the rest of the file.
pub fn spawn_gateway_with(apps: impl FnOnce(SocketAddr) -> String) -> TestGateway {
    spawn_gateway_from("", "", apps)
}

/// Starts a gateway with the standard apps and a config built from its parts: extra lines of
/// `[server]` and `[session]`, and `rest` (more sections, e.g. `[regulation]`).
pub fn spawn_gateway_configured(server: &str, session: &str, rest: &str) -> TestGateway {
    spawn_gateway_from(server, session, |upstream| {
        format!("{rest}\n\n{}", standard_apps(upstream))
    })
}

/// Starts a gateway in front of the whoami upstream on a [`gateway_config`] (database and key
/// file in a fresh directory) with `sections(upstream)` as the rest of the file.
pub fn spawn_gateway_from(
    server: &str,
    session: &str,
    sections: impl FnOnce(SocketAddr) -> String,
) -> TestGateway {
    let dir = tempfile::tempdir().unwrap();
    let upstream = spawn_upstream();
    let text = gateway_config(dir.path(), dir.path(), server, session, &sections(upstream));
    start(dir, upstream, text)
}

/// A config: `[server]` (a free loopback port, then the lines `server`), `[storage]` (the
/// database in `db_dir`, the key file in `dir`), `[session]` (`secure = false` unless `session`
/// sets `secure`, then the lines `session`), and `sections` as the rest of the file.
pub fn gateway_config(
    dir: &Path,
    db_dir: &Path,
    server: &str,
    session: &str,
    sections: &str,
) -> String {
    let port = free_port();
    let secure = if session.contains("secure") {
        ""
    } else {
        "secure = false"
    };
    format!(
        r#"
[server]
listen = "127.0.0.1:{port}"
{server}

[storage]
path = "{db}"
key_file = "{key}"
{url}

[session]
{secure}
{session}

{sections}
"#,
        db = db_dir.join("portcullis.db").display(),
        key = dir.join("portcullis.key").display(),
        url = match crate::pg::on_postgres() {
            true => format!("url = \"{}\"", crate::pg::Cluster::get().database()),
            false => String::new(),
        },
    )
}

/// Starts a gateway from a complete config text (written into `dir`).
pub fn start(dir: tempfile::TempDir, upstream: SocketAddr, text: String) -> TestGateway {
    // The gateway's log when RUST_LOG asks for it (a failing test's output shows it).
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
    let config_path = dir.path().join("portcullis.toml");
    std::fs::write(&config_path, &text).unwrap();
    let config = Config::load(&config_path).unwrap_or_else(|e| panic!("{e}"));
    let addr = config.server.listen[0];
    let gateway = Gateway::open(config).unwrap_or_else(|e| panic!("{e}"));
    let state = Arc::clone(gateway.state());
    let stop = Arc::new(Notify::new());
    let watch = NotifyShutdown(Arc::clone(&stop));
    let thread = std::thread::spawn(move || {
        gateway.run(Box::new(watch)).unwrap();
    });
    wait_for_port(addr);
    TestGateway {
        addr,
        upstream,
        dir,
        config_path,
        state,
        stop,
        thread: Some(thread),
    }
}

fn wait_for_port(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("gateway did not listen on {addr}");
}

impl TestGateway {
    /// Stops the gateway and waits for it; the data directory survives for a restart.
    pub fn stop(mut self) -> (tempfile::TempDir, SocketAddr, String) {
        self.halt();
        let text = std::fs::read_to_string(&self.config_path).unwrap();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        (dir, self.upstream, text)
    }

    fn halt(&mut self) {
        if let Some(t) = self.thread.take() {
            self.stop.notify_one();
            let _ = t.join();
        }
    }

    /// Restarts on the same data directory and config.
    pub fn restart(self) -> TestGateway {
        let (dir, upstream, text) = self.stop();
        start(dir, upstream, text)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn prefix(&self) -> &str {
        self.state.prefix()
    }

    pub fn portal(&self, page: &str) -> String {
        self.url(&format!("{}{}", self.prefix(), page))
    }

    /// A second connection to the gateway's database.
    pub fn store(&self) -> Store {
        Store::open_at(&self.state.config().storage.location()).unwrap()
    }

    /// What the database holds at rest: the raw SQLite file (and WAL), or PostgreSQL's dump.
    pub fn database_bytes(&self) -> Vec<u8> {
        if let Some(pg) = &self.state.config().storage.postgres {
            return crate::pg::Cluster::get().dump(&pg.url);
        }
        let path = &self.state.config().storage.path;
        let mut bytes = std::fs::read(path).unwrap();
        let mut wal = path.clone().into_os_string();
        wal.push("-wal");
        if let Ok(w) = std::fs::read(PathBuf::from(wal)) {
            bytes.extend(w);
        }
        bytes
    }

    /// Creates a user with [`PASSWORD`].
    pub fn add_user(&self, name: &str, groups: &[&str]) -> i64 {
        self.store()
            .create_user(
                &NewUser {
                    username: name.into(),
                    email: Some(format!("{name}@example.com")),
                    display_name: Some(format!("{name} Example")),
                    password_hash: portcullis::auth::password::hash_password(PASSWORD),
                    groups: groups.iter().map(|g| g.to_string()).collect(),
                },
                portcullis::auth::unix_now(),
            )
            .unwrap()
    }

    /// Runs the real binary with `-c` this gateway's config.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        run_cli(&self.config_path, args, stdin)
    }

    /// A fresh browser-like client on this gateway.
    pub fn browser(&self) -> Browser {
        Browser::new(self.addr, "app.test")
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Runs `portcullis -c CONFIG ARGS…`, feeding `stdin`.
pub fn run_cli(config: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("-c")
        .arg(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        // A command that fails before reading its input closes the pipe: not an error here.
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// An HTTP client that follows no redirects and keeps no cookies. It gives up on an answer
/// after 30 s, so that a gateway that stops answering fails the test instead of hanging it.
pub fn client_without_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A response read whole.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
    /// The HTTP version it came over.
    pub version: reqwest::Version,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn location(&self) -> &str {
        self.header("location")
            .unwrap_or_else(|| panic!("no Location in {} {}", self.status, self.body))
    }

    /// Asserts a redirect (302 or 303) to exactly `to`.
    #[track_caller]
    pub fn assert_redirect_to(&self, to: &str) {
        assert!(
            self.status == 302 || self.status == 303,
            "expected a redirect to {to}, got {} {}",
            self.status,
            self.body
        );
        assert_eq!(self.location(), to);
    }

    /// The JSON the whoami upstream echoed.
    pub fn echoed(&self) -> Echo {
        assert_eq!(self.status, 200, "not proxied: {}", self.body);
        let v: Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|_| panic!("not the upstream's JSON: {}", self.body));
        Echo(v)
    }

    /// The value of hidden/input field `name` in the page's first form that has it.
    pub fn field(&self, name: &str) -> String {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&needle)
            .unwrap_or_else(|| panic!("no field {name} in {}", self.body))
            + needle.len();
        let end = self.body[start..].find('"').unwrap() + start;
        html_unescape(&self.body[start..end])
    }

    /// All `Set-Cookie` values.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }
}

pub fn html_unescape(s: &str) -> String {
    s.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// What the upstream saw.
#[derive(Debug)]
pub struct Echo(pub Value);

impl Echo {
    /// Every value of header `name` (any case) the upstream received.
    pub fn headers(&self, name: &str) -> Vec<String> {
        self.0["headers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|pair| pair[0].as_str().unwrap().eq_ignore_ascii_case(name))
            .map(|pair| pair[1].as_str().unwrap().to_string())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        let all = self.headers(name);
        assert!(
            all.len() <= 1,
            "{name} received {} times: {all:?}",
            all.len()
        );
        all.into_iter().next()
    }

    /// Every header name the upstream received.
    pub fn names(&self) -> Vec<String> {
        self.0["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| pair[0].as_str().unwrap().to_string())
            .collect()
    }

    pub fn uri(&self) -> String {
        self.0["uri"].as_str().unwrap().to_string()
    }
}

/// A client that keeps the gateway's cookies like a browser, follows no redirects, and
/// sends `Host` and (on POST) `Origin` for the app it talks to.
pub struct Browser {
    pub addr: SocketAddr,
    pub host: String,
    pub cookies: Vec<(String, String)>,
    pub accept_html: bool,
    client: reqwest::Client,
    /// Over TLS: `https://host:port`, the host resolved to `addr`.
    tls_base: Option<String>,
}

impl Browser {
    pub fn new(addr: SocketAddr, host: &str) -> Browser {
        Browser {
            addr,
            host: host.to_string(),
            cookies: Vec::new(),
            accept_html: true,
            client: client_without_redirects(),
            tls_base: None,
        }
    }

    /// A browser that reaches `host` over TLS at `addr` (as DNS would send it there), trusting
    /// the CA `root_pem`, and offering HTTP/2 and HTTP/1.1 through ALPN as browsers do.
    pub fn over_tls(addr: SocketAddr, host: &str, root_pem: &str) -> Browser {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(root_pem.as_bytes()).unwrap())
            .resolve(host, addr)
            .build()
            .unwrap();
        Browser {
            client,
            tls_base: Some(format!("https://{host}:{}", addr.port())),
            ..Browser::new(addr, host)
        }
    }

    fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// The value of cookie `name` this browser holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn absorb(&mut self, headers: &HeaderMap) {
        for sc in headers.get_all("set-cookie") {
            let sc = sc.to_str().unwrap();
            let pair = sc.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            let expired = sc.to_ascii_lowercase().contains("max-age=0");
            self.cookies.retain(|(name, _)| name != k);
            if !expired && !v.is_empty() {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let mut req = match self.tls_base {
            // The URL names the host (HTTP/2's `:authority`).
            Some(_) => req,
            None => req.header("Host", self.host.clone()),
        };
        if self.accept_html {
            // Browsers ask for HTML; the JSON alternative makes the whoami upstream answer in JSON.
            req = req.header("Accept", "text/html,application/json;q=0.9");
        }
        if let Some(c) = self.cookie_header() {
            req = req.header("Cookie", c);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let version = resp.version();
        let body = resp.text().await.unwrap();
        self.absorb(&headers);
        Page {
            status,
            headers,
            body,
            version,
        }
    }

    pub fn url(&self, path: &str) -> String {
        match &self.tls_base {
            Some(base) => format!("{base}{path}"),
            None => format!("http://{}{}", self.addr, path),
        }
    }

    /// The site's own `Origin`, as this browser's forms send it.
    pub fn origin(&self) -> String {
        match &self.tls_base {
            Some(base) => base.clone(),
            None => format!("http://{}", self.host),
        }
    }

    /// The session cookie this browser holds, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.cookie("portcullis_session")
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.client.get(self.url(path));
        self.send(req).await
    }

    /// A request with extra headers.
    pub async fn get_with(&mut self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut req = self.client.get(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    /// POSTs a form as this site would (with its `Origin`).
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let origin = self.origin();
        self.post_form_with(path, fields, Some(&origin), &[]).await
    }

    /// POSTs a form with `Origin: origin` (no `Origin` at all for `None`) and extra headers.
    pub async fn post_form_with(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Page {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut req = self
            .client
            .post(self.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(origin) = origin {
            req = req.header("Origin", origin);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    /// Fetches a page and posts its form back with `fields` plus the page's `csrf` (and `rd`).
    pub async fn submit(&mut self, page_path: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        self.submit_with(page_path, action, fields, &[]).await
    }

    /// [`Browser::submit`] with extra headers on both requests (e.g. `X-Forwarded-For`).
    pub async fn submit_with(
        &mut self,
        page_path: &str,
        action: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let page = self.get_with(page_path, headers).await;
        assert_eq!(page.status, 200, "GET {page_path}: {}", page.body);
        let csrf = page.field("csrf");
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf", &csrf));
        let rd = if page.body.contains("name=\"rd\"") {
            page.field("rd")
        } else {
            String::new()
        };
        if !rd.is_empty() && !fields.iter().any(|(k, _)| *k == "rd") {
            all.push(("rd", &rd));
        }
        let origin = self.origin();
        self.post_form_with(action, &all, Some(&origin), headers)
            .await
    }

    /// Signs in with a password through the login page; returns the POST's response.
    pub async fn login(&mut self, prefix: &str, user: &str, password: &str, rd: &str) -> Page {
        self.login_with(prefix, user, password, rd, &[]).await
    }

    /// [`Browser::login`] with extra headers on both requests (e.g. `X-Forwarded-For`,
    /// `User-Agent`).
    pub async fn login_with(
        &mut self,
        prefix: &str,
        user: &str,
        password: &str,
        rd: &str,
        headers: &[(&str, &str)],
    ) -> Page {
        let page = format!(
            "{prefix}/login?rd={}",
            form_urlencoded::byte_serialize(rd.as_bytes()).collect::<String>()
        );
        self.submit_with(
            &page,
            &format!("{prefix}/login"),
            &[("username", user), ("password", password)],
            headers,
        )
        .await
    }

    /// Signs in (to `/`) as if from client address `ip`, through a trusted proxy's
    /// `X-Forwarded-For`.
    pub async fn login_from(&mut self, prefix: &str, ip: &str, user: &str, password: &str) -> Page {
        self.login_with(prefix, user, password, "/", &[("X-Forwarded-For", ip)])
            .await
    }
}

/// Asserts that `b` reaches the app (the upstream answers with a `Remote-User`).
pub async fn assert_signed_in(b: &mut Browser, user: &str) {
    let r = b.get("/whoami").await;
    assert_eq!(r.status, 200, "not signed in: {} {}", r.status, r.body);
    assert_eq!(r.echoed().header("Remote-User").as_deref(), Some(user));
}

/// Asserts that `b` is sent to the login page.
pub async fn assert_signed_out(b: &mut Browser) {
    let r = b.get("/whoami").await;
    assert_eq!(r.status, 302, "still signed in: {} {}", r.status, r.body);
    assert!(r.location().contains("/login?rd="), "{}", r.location());
}

/// Asserts a 429 "too many attempts" page with a sensible `Retry-After`; returns its seconds.
#[track_caller]
pub fn assert_banned(page: &Page, ban_secs: u64) -> u64 {
    assert_eq!(
        page.status, 429,
        "expected 429, got {}: {}",
        page.status, page.body
    );
    let retry: u64 = page
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("Retry-After in seconds");
    assert!(
        (1..=ban_secs).contains(&retry),
        "Retry-After {retry} outside 1..={ban_secs}"
    );
    assert!(
        page.body
            .contains("Too many failed attempts. Try again in "),
        "the page says when to retry: {}",
        page.body
    );
    assert!(page
        .set_cookies()
        .iter()
        .all(|c| !c.starts_with("portcullis_session=")));
    retry
}

/// Wrong passwords for `user` from `ip` (through the trusted proxy) until the gateway answers
/// 429; returns that answer and the number of attempts it took (at most 20).
pub async fn fail_until_banned(gw: &TestGateway, ip: &str, user: &str) -> (Page, usize) {
    fail_until_banned_as(gw, ip, &[user]).await
}

/// [`fail_until_banned`] for `users` in turn.
pub async fn fail_until_banned_as(gw: &TestGateway, ip: &str, users: &[&str]) -> (Page, usize) {
    let mut b = gw.browser();
    let p = gw.prefix().to_string();
    for attempt in 1..=20 {
        let user = users[(attempt - 1) % users.len()];
        let r = b.login_from(&p, ip, user, "wrong password").await;
        if r.status == 429 {
            return (r, attempt);
        }
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains(WRONG_LOGIN), "{}", r.body);
    }
    panic!("no ban after 20 wrong passwords from {ip}");
}

/// Polls the audit trail (written off the request path, by spawned tasks) until `done` holds;
/// at most 5 s, then returns what is there.
pub async fn audit_until(
    gw: &TestGateway,
    done: impl Fn(&[AuditEvent]) -> bool,
) -> Vec<AuditEvent> {
    let store = gw.store();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let rows = store.audit_events(None, 10_000).unwrap();
        if done(&rows) || Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether audit row `e` is of `event` and names `user`.
fn is_row(e: &AuditEvent, event: &str, user: &str) -> bool {
    e.event == event && e.username.as_deref() == Some(user)
}

/// How many audit rows of `event` name `user`.
pub fn count_rows(rows: &[AuditEvent], event: &str, user: &str) -> usize {
    rows.iter().filter(|e| is_row(e, event, user)).count()
}

/// The audit rows of `event` that name `user`, once there is at least one (at most 5 s).
pub async fn audit_rows(gw: &TestGateway, event: &str, user: &str) -> Vec<AuditEvent> {
    audit_rows_at_least(gw, event, user, 1).await
}

/// The rows of `event` for `user` once there are at least `n` (audit rows are written off the
/// request path), or what there is after 5 s.
pub async fn audit_rows_at_least(
    gw: &TestGateway,
    event: &str,
    user: &str,
    n: usize,
) -> Vec<AuditEvent> {
    audit_until(gw, |rows| count_rows(rows, event, user) >= n)
        .await
        .into_iter()
        .filter(|e| is_row(e, event, user))
        .collect()
}

/// RFC 6238 written out independently of the gateway (HMAC-SHA1 from the `hmac` and `sha1`
/// crates): the code for `secret` at Unix time `t`.
pub fn independent_totp(secret: &[u8], t: u64, digits: u32) -> String {
    use hmac::{Hmac, Mac};
    let counter = (t / 30).to_be_bytes();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).unwrap();
    mac.update(&counter);
    let h = mac.finalize().into_bytes();
    let offset = (h[h.len() - 1] & 0x0f) as usize;
    let bin = ((h[offset] as u32 & 0x7f) << 24)
        | ((h[offset + 1] as u32) << 16)
        | ((h[offset + 2] as u32) << 8)
        | h[offset + 3] as u32;
    format!(
        "{:0width$}",
        bin % 10u32.pow(digits),
        width = digits as usize
    )
}

/// RFC 4648 base32 decoding (spaces ignored), written for the tests.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let mut buffer: u64 = 0;
    let mut bits = 0;
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .expect("base32") as u64;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    out
}

/// Unix time now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The code from `oathtool` when it is installed (CI installs it), else from
/// [`independent_totp`]; never from the gateway's own code.
pub fn external_totp(secret_base32: &str, t: u64) -> String {
    let out = Command::new("oathtool")
        .args(["--totp", "-b", "--now"])
        .arg(format!("@{t}"))
        .arg(secret_base32.replace(' ', ""))
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8(o.stdout).unwrap().trim().to_string(),
        _ => independent_totp(&base32_decode(secret_base32), t, 6),
    }
}

/// A signed-in user with TOTP enrolled through the pages.
pub struct Enrolled {
    pub browser: Browser,
    pub secret_base32: String,
    pub recovery_codes: Vec<String>,
    /// The Unix time of the code used to confirm (later codes must be from a later step).
    pub last_code_time: u64,
}

/// Signs `user` in and enrols TOTP through `/totp/setup`, as a person would.
pub async fn enrol(gw: &TestGateway, user: &str) -> Enrolled {
    let mut b = gw.browser();
    let p = gw.prefix().to_string();
    let r = b.login(&p, user, PASSWORD, "/").await;
    r.assert_redirect_to("/");
    let setup = b.get(&format!("{p}/totp/setup")).await;
    assert_eq!(setup.status, 200, "{}", setup.body);
    let secret_base32 = setup_secret(&setup);
    let t = now();
    let code = external_totp(&secret_base32, t);
    let csrf = setup.field("csrf");
    let done = b
        .post_form(
            &format!("{p}/totp/setup"),
            &[("code", &code), ("csrf", &csrf), ("rd", "/")],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let recovery_codes = shown_codes(&done);
    assert_eq!(recovery_codes.len(), 10, "{}", done.body);
    Enrolled {
        browser: b,
        secret_base32,
        recovery_codes,
        last_code_time: t,
    }
}

/// The base32 secret shown on the setup page (from the `otpauth://` URI text).
pub fn setup_secret(page: &Page) -> String {
    otpauth_secret(&page.body)
}

/// The base32 secret of the first `otpauth://` URI in `text`.
pub fn otpauth_secret(text: &str) -> String {
    let start = text.find("secret=").expect("an otpauth URI") + 7;
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// Invites a user from the command line with `args` (`NAME` and options); returns the link's
/// path below the host, having checked that the link is on the first app host.
pub fn invite(gw: &TestGateway, args: &[&str]) -> String {
    let mut all = vec!["user", "invite"];
    all.extend_from_slice(args);
    let out = gw.cli(&all, None);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = text
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no link in: {text}"));
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    assert!(host.starts_with("app.test:"), "{url}");
    assert!(
        path.starts_with(&format!("{}/invite?token=", gw.prefix())),
        "{url}"
    );
    path.to_string()
}

/// The recovery codes listed on a codes page.
pub fn shown_codes(page: &Page) -> Vec<String> {
    page.body
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split("</code>").next().unwrap().to_string())
        .collect()
}

/// A code from a time step later than `after`'s, as early as the skew of one step allows
/// (a code for the next step is accepted now); waits only when even that was used.
pub async fn fresh_code(secret_base32: &str, after: u64) -> (String, u64) {
    loop {
        let t = now();
        let step = (t / 30).max(after / 30 + 1);
        if step <= t / 30 + 1 {
            let at = step * 30;
            return (external_totp(secret_base32, at), at);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A six-digit code that no step within four steps of now accepts for `secret_base32`.
pub fn wrong_code(secret_base32: &str) -> String {
    let t = now();
    let near: Vec<String> = (0..=8)
        .map(|i| external_totp(secret_base32, t + i * 30 - 120))
        .collect();
    (0..10)
        .map(|d| d.to_string().repeat(6))
        .find(|c| !near.contains(c))
        .unwrap()
}

/// A test CA and a certificate for `localhost` it signed, with the certificate's key.
pub struct TestCerts {
    pub ca_pem: String,
    pub cert_pem: String,
    pub cert_der: Vec<u8>,
    pub key_pem: String,
    pub key_der: Vec<u8>,
}

/// A fresh [`TestCerts`] (rcgen) for `localhost`: for TLS servers the tests start.
pub fn test_ca_and_localhost_cert() -> TestCerts {
    test_ca_and_cert(&["localhost"])
}

/// A fresh test CA and a certificate it signed for `names` (DNS names or IP addresses).
pub fn test_ca_and_cert(names: &[&str]) -> TestCerts {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Portcullis test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let cert = CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    TestCerts {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        cert_der: cert.der().to_vec(),
        key_pem: key.serialize_pem(),
        key_der: key.serialize_der(),
    }
}
