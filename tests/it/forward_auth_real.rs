//! Forward auth through the real nginx and Caddy: each runs its file from
//! `examples/forward-auth/` with only the ports changed, in front of the whoami upstream and an
//! in-process gateway, and a client walks sign-in, the app, a WebSocket and sign-out through
//! it. The README must show those same files.
//!
//! Without `nginx` or `caddy` installed the matching test says so and passes, except in CI
//! (`CI=true`), where a missing server is a failure.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::*;

const P: &str = "/.portcullis";
const NGINX_CONF: &str = include_str!("../../examples/forward-auth/nginx.conf");
const CADDYFILE: &str = include_str!("../../examples/forward-auth/Caddyfile");
const README: &str = include_str!("../../README.md");

/// The identity header values the proxies must never let through from a client.
const SPOOFED: [&str; 3] = ["admin", "root", "evil"];

/// The fenced code blocks of `markdown` whose info string is `lang`, without their fences.
fn fenced_blocks<'a>(markdown: &'a str, lang: &str) -> Vec<&'a str> {
    let opening = format!("```{lang}\n");
    let mut blocks = Vec::new();
    let mut rest = markdown;
    while let Some(start) = rest.find(&opening) {
        let body = &rest[start + opening.len()..];
        let end = body.find("\n```").expect("a closing fence");
        blocks.push(&body[..end + 1]);
        rest = &body[end + 4..];
    }
    blocks
}

#[track_caller]
fn assert_shown_verbatim(lang: &str, file: &str, text: &str) {
    let blocks = fenced_blocks(README, lang);
    assert!(
        !blocks.is_empty(),
        "the README shows no ```{lang} block; it must show {file}"
    );
    for block in blocks {
        if let Some((n, (shown, real))) = block
            .lines()
            .zip(text.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
        {
            panic!(
                "the README's ```{lang} block differs from {file} at line {}:\n  README: {shown}\n  file:   {real}",
                n + 1
            );
        }
        assert_eq!(
            block, text,
            "the README's ```{lang} block and {file} differ in length"
        );
    }
}

#[test]
fn the_readme_shows_the_forward_auth_examples_verbatim() {
    assert_shown_verbatim("nginx", "examples/forward-auth/nginx.conf", NGINX_CONF);
    assert_shown_verbatim("caddy", "examples/forward-auth/Caddyfile", CADDYFILE);
}

/// The app behind the proxies: the whoami upstream, except that, like WebSocket servers
/// (RFC 6455 section 4.2.1), it refuses an upgrade whose `Connection` does not name `upgrade`.
fn spawn_app() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(
                            hyper_util::rt::TokioIo::new(stream),
                            hyper::service::service_fn(strict_whoami),
                        )
                        .with_upgrades()
                        .await;
                });
            }
        });
    });
    addr
}

async fn strict_whoami(
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<http_body_util::Full<bytes::Bytes>>, std::convert::Infallible> {
    let names_upgrade = req
        .headers()
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    if req.headers().contains_key(hyper::header::UPGRADE) && !names_upgrade {
        let refusal = hyper::Response::builder()
            .status(400)
            .body(http_body_util::Full::new(bytes::Bytes::from_static(
                b"an upgrade without Connection: upgrade",
            )))
            .unwrap();
        return Ok(refusal);
    }
    portcullis::demo::whoami(req).await
}

/// A gateway for `app.localhost` behind a proxy on loopback (trusted for `X-Forwarded-For`),
/// with `alice` (group `staff`) as its user.
fn spawn_forward_auth_gateway() -> TestGateway {
    let dir = tempfile::tempdir().unwrap();
    let upstream = spawn_app();
    let apps = format!(
        r#"
[[apps]]
name = "app"
hosts = ["app.localhost"]
upstream = "{upstream}"
default_policy = "one_factor"

[[apps.rules]]
paths = ["/public/**"]
policy = "bypass"

[[apps.rules]]
paths = ["/hooks/**"]
methods = ["POST"]
policy = "bypass"

[[apps.rules]]
paths = ["/secure/**"]
policy = "two_factor"

[[apps.rules]]
paths = ["/team/**"]
policy = "one_factor"
groups = ["admins"]
"#
    );
    let text = gateway_config(dir.path(), dir.path(), TRUST_LOOPBACK, "", &apps);
    let gw = start(dir, upstream, text);
    gw.add_user("alice", &["staff"]);
    gw
}

/// Where `program` is installed: on `PATH`, or in an `sbin` directory a non-root `PATH` leaves
/// out. `None` (after saying so) when it is missing outside CI; in CI a missing program fails.
pub(crate) fn installed(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{program} is not installed, and CI must run the tests that use it (.ci/run installs it)"
        );
        eprintln!("skipping a test that runs {program}: it is not installed");
    }
    found
}

/// An example file with its ports replaced: Portcullis's 8080, the app's 3000 and the proxy's
/// own `listen_port`. Nothing else changes.
fn with_ports(example: &str, gw: &TestGateway, listen_port: u16, proxy_port: u16) -> String {
    let replacements = [
        ("127.0.0.1:8080".to_string(), gw.addr.to_string()),
        ("127.0.0.1:3000".to_string(), gw.upstream.to_string()),
        (format!(":{listen_port}"), format!(":{proxy_port}")),
    ];
    let mut text = example.to_string();
    for (from, to) in &replacements {
        assert!(text.contains(from.as_str()), "the example names no {from}");
        text = text.replace(from.as_str(), to);
    }
    text
}

/// A proxy server started from an example file; stopped (and waited for) when dropped, also
/// when a test panics.
struct ProxyProcess {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl ProxyProcess {
    /// Runs `program args…` in `dir`, which holds the rewritten config, and waits until it
    /// listens on `port`.
    fn start(
        name: &'static str,
        mut command: Command,
        dir: tempfile::TempDir,
        port: u16,
    ) -> ProxyProcess {
        let log = dir.path().join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = command
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
        let mut proxy = ProxyProcess {
            name,
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(proxy.addr).is_err() {
            if let Ok(Some(status)) = proxy.child.try_wait() {
                panic!("{name} exited ({status}):\n{}", proxy.output());
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not listen on {} within 10 s:\n{}",
                proxy.addr,
                proxy.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        proxy
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        // SIGTERM, so that nginx's master stops its workers (a SIGKILL would leave them
        // holding the port); SIGKILL only if it does not exit in time.
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: signalling our own child process by its id; no memory is involved.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Ok(None) = self.child.try_wait() {
            if Instant::now() > deadline {
                eprintln!("{} ignored SIGTERM; killing it", self.name);
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.wait();
    }
}

fn start_nginx(program: &Path, gw: &TestGateway) -> ProxyProcess {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, with_ports(NGINX_CONF, gw, 8081, port)).unwrap();
    let mut command = Command::new(program);
    command
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&conf)
        .args(["-g", "daemon off;"]);
    ProxyProcess::start("nginx", command, dir, port)
}

fn start_caddy(program: &Path, gw: &TestGateway) -> ProxyProcess {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = dir.path().join("Caddyfile");
    std::fs::write(&conf, with_ports(CADDYFILE, gw, 8082, port)).unwrap();
    let mut command = Command::new(program);
    command
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&conf)
        // Caddy keeps its state under these; nothing may land in the real home directory.
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"));
    ProxyProcess::start("caddy", command, dir, port)
}

/// A response read off a raw connection.
struct RawResponse {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl RawResponse {
    /// The JSON the whoami upstream echoed.
    fn echoed(&self) -> Echo {
        assert_eq!(
            self.status,
            200,
            "not proxied: {}\n{}",
            self.head,
            String::from_utf8_lossy(&self.body)
        );
        Echo(serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "not the upstream's JSON: {}",
                String::from_utf8_lossy(&self.body)
            )
        }))
    }
}

/// Sends `head` (a request head without its final empty line; `Connection: close` is added)
/// byte for byte, so header names keep the case and spelling written here.
fn raw_request(addr: SocketAddr, head: &str) -> RawResponse {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "{head}Connection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head: {}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head}"));
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    RawResponse { status, head, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = std::str::from_utf8(&data[..line_end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

/// The request head lines for `path` on the proxy at `host` with the session `cookie`.
fn request_head(path: &str, host: &str, cookie: &str, extra: &[&str]) -> String {
    let mut head = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\nUser-Agent: forward-auth-test\r\n"
    );
    if !cookie.is_empty() {
        head.push_str(&format!("Cookie: portcullis_session={cookie}\r\n"));
    }
    for line in extra {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head
}

/// Every way a client might spell the identity headers, each with a value of its own.
const SPOOFS: &[&str] = &[
    "Remote-User: admin",
    "remote_user: admin",
    "REMOTE_USER: admin",
    "rEmOtE-uSeR: admin",
    "REMOTE-EMAIL: evil@example.com",
    "Remote_Email: evil@example.com",
    "Remote-Name: Evil Admin",
    "Remote_Name: Evil Admin",
    "remote-name: Evil Admin",
    "Remote-Groups: root",
    "remote_groups: root",
    "REMOTE-GROUPS: root",
];

/// Asserts that nothing the client spoofed reached the app and no proxy placeholder either.
#[track_caller]
fn assert_no_spoofed_identity(echo: &Echo) {
    for pair in echo.0["headers"].as_array().unwrap() {
        let name = pair[0].as_str().unwrap().to_ascii_lowercase();
        let value = pair[1].as_str().unwrap();
        assert!(
            !value.contains('{'),
            "a placeholder reached the app: {name}: {value}"
        );
        if name.replace('_', "-").starts_with("remote-") {
            assert!(
                !name.contains('_'),
                "an underscore spelling reached the app: {name}: {value}"
            );
            let lower = value.to_ascii_lowercase();
            assert!(
                !SPOOFED.iter().any(|s| lower.contains(s)),
                "a spoofed value reached the app: {name}: {value}"
            );
        }
    }
}

/// One upgrade through the proxy with `cookie`: the head of the answer, and the bytes that
/// came back after it.
fn websocket_round_trip(addr: SocketAddr, host: &str, cookie: &str) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET /socket HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Cookie: portcullis_session={cookie}\r\n\r\n"
    )
    .unwrap();
    let mut buf = [0u8; 4096];
    let mut head = Vec::new();
    let split = loop {
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the upgrade answer");
        head.extend_from_slice(&buf[..n]);
    };
    let text = String::from_utf8_lossy(&head[..split]).into_owned();
    if !text.starts_with("HTTP/1.1 101") {
        return (text, Vec::new());
    }
    let message = b"bytes through the proxy";
    s.write_all(message).unwrap();
    let mut echoed = head[split + 4..].to_vec();
    while echoed.len() < message.len() {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => echoed.extend_from_slice(&buf[..n]),
        }
    }
    (text, echoed)
}

/// Resolves a `Location` (absolute or relative) against the site at `origin`.
fn resolve(origin: &str, location: &str) -> url::Url {
    url::Url::parse(origin).unwrap().join(location).unwrap()
}

/// The walk every proxy must pass: the login redirect, sign-in through the proxy, identity at
/// the app with every spoof refused, foreign hosts and forged original URLs refused, a
/// WebSocket, sign-out.
async fn walk_through(proxy: &ProxyProcess) {
    let port = proxy.addr.port();
    let host = format!("app.localhost:{port}");
    let origin = format!("http://{host}/");
    let name = proxy.name;

    // A browser without a session is sent to the sign-in page on the app's own host, and the
    // way back keeps the whole query.
    let mut b = Browser::new(proxy.addr, &host);
    let r = b.get("/private/x?a=1&b=2").await;
    assert_eq!(r.status, 302, "{name}: anonymous browser: {}", r.body);
    let login = resolve(&origin, r.location());
    assert_eq!(login.host_str(), Some("app.localhost"), "{name}: {login}");
    assert_eq!(login.port(), Some(port), "{name}: {login}");
    assert_eq!(login.path(), format!("{P}/login"), "{name}: {login}");
    let rd = login
        .query_pairs()
        .find(|(k, _)| k == "rd")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name}: no rd in {login}"));
    let back = resolve(&origin, &rd);
    assert_eq!(back.host_str(), Some("app.localhost"), "{name}: rd {rd}");
    assert_eq!(back.path(), "/private/x", "{name}: rd {rd}");
    assert_eq!(back.query(), Some("a=1&b=2"), "{name}: rd {rd}");

    // Any other client gets a 401 and no redirect.
    let mut api = Browser::new(proxy.addr, &host);
    api.accept_html = false;
    let r = api.get("/private/x?a=1&b=2").await;
    assert_eq!(r.status, 401, "{name}: API client: {}", r.body);
    assert!(
        r.header("location").is_none(),
        "{name}: 401 with a Location"
    );

    // Sign in through the proxy, with the real Origin of the app's site.
    let login_target = &login[url::Position::BeforePath..];
    let r = b
        .submit(
            login_target,
            &format!("{P}/login"),
            &[("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 303, "{name}: sign-in: {}", r.body);
    let landing = resolve(&origin, r.location());
    assert_eq!(landing.host_str(), Some("app.localhost"), "{name}");
    assert_eq!(&landing[url::Position::BeforePath..], "/private/x?a=1&b=2");
    let cookie = b.session_cookie().expect("signed in: a session cookie");

    // Signed in: the app sees alice, once, with every spoofed spelling gone.
    let r = raw_request(
        proxy.addr,
        &request_head("/private/x?a=1&b=2", &host, &cookie, SPOOFS),
    );
    let echo = r.echoed();
    assert_eq!(echo.uri(), "/private/x?a=1&b=2", "{name}");
    assert_eq!(echo.headers("remote-user"), ["alice"], "{name}");
    assert_eq!(
        echo.headers("remote-email"),
        ["alice@example.com"],
        "{name}"
    );
    assert_eq!(echo.headers("remote-name"), ["alice Example"], "{name}");
    assert_eq!(echo.headers("remote-groups"), ["staff"], "{name}");
    assert_no_spoofed_identity(&echo);

    // A bypass route: no identity (absent, or empty under Caddy), and still no spoof.
    let r = raw_request(proxy.addr, &request_head("/public/x", &host, "", SPOOFS));
    let echo = r.echoed();
    for header in [
        "remote-user",
        "remote-email",
        "remote-name",
        "remote-groups",
    ] {
        assert!(
            echo.headers(header).iter().all(String::is_empty),
            "{name}: {header} on a bypass route: {:?}",
            echo.headers(header)
        );
    }
    assert_no_spoofed_identity(&echo);

    // The group rule holds through the proxy.
    let r = raw_request(proxy.addr, &request_head("/team/x", &host, &cookie, &[]));
    assert_eq!(r.status, 403, "{name}: /team/x without the group");

    // Another Host, however spelt, is refused by the proxy itself (Misdirected Request).
    for foreign in [
        format!("other.localhost:{port}"),
        "other.localhost".to_string(),
        format!("app.localhost.evil.example:{port}"),
    ] {
        let r = raw_request(
            proxy.addr,
            &request_head("/public/x", &foreign, &cookie, &[]),
        );
        assert_eq!(
            r.status,
            421,
            "{name}: Host {foreign} answered {}: {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
    }

    // A client cannot make the gateway judge another request than the one served: a
    // one-factor session asking for a two-factor path (401), a staff member for the admins'
    // path (403), each claiming a path it may see. The answer is the one for the real path.
    for (path, expected, claims) in [
        (
            "/secure/x",
            401,
            [
                "X-Original-URL: http://app.localhost/public/x",
                "X-Forwarded-Uri: /public/x",
                "X-Original-Method: POST",
            ],
        ),
        (
            "/team/x",
            403,
            [
                "X-Original-URL: http://app.localhost/private/ok",
                "X-Forwarded-Uri: /private/ok",
                "X-Forwarded-Host: other.localhost",
            ],
        ),
        (
            "/secure/x",
            401,
            [
                "X_Original_URL: http://app.localhost/public/x",
                "X_Forwarded_Uri: /public/x",
                "X-Forwarded-Method: POST",
            ],
        ),
    ] {
        for claim in claims {
            let r = raw_request(proxy.addr, &request_head(path, &host, &cookie, &[claim]));
            assert_eq!(
                r.status,
                expected,
                "{name}: {path} with `{claim}`: {}",
                String::from_utf8_lossy(&r.body)
            );
        }
        let r = raw_request(proxy.addr, &request_head(path, &host, &cookie, &claims));
        assert_eq!(r.status, expected, "{name}: {path} with {claims:?}");
    }

    // Nor judge another method: a POST-only bypass stays closed to an anonymous GET that
    // claims to be a POST, and open to the real POST.
    for claim in ["X-Original-Method: POST", "X-Forwarded-Method: POST"] {
        let r = raw_request(proxy.addr, &request_head("/hooks/x", &host, "", &[claim]));
        assert_eq!(r.status, 401, "{name}: GET /hooks/x with `{claim}`");
    }
    let post =
        request_head("/hooks/x", &host, "", &["Content-Length: 0"]).replacen("GET", "POST", 1);
    assert_eq!(
        raw_request(proxy.addr, &post).echoed().0["method"],
        "POST",
        "{name}"
    );

    // A WebSocket passes through, judged like any other request.
    let (head, echoed) = websocket_round_trip(proxy.addr, &host, &cookie);
    assert!(head.starts_with("HTTP/1.1 101"), "{name}: {head}");
    assert_eq!(echoed, b"bytes through the proxy", "{name}");
    let (head, _) = websocket_round_trip(proxy.addr, &host, "");
    assert!(
        head.starts_with("HTTP/1.1 401"),
        "{name}: anonymous upgrade: {head}"
    );

    // Sign out through the proxy: the same cookie no longer opens the app.
    let account = b.get(&format!("{P}/account")).await;
    assert_eq!(account.status, 200, "{name}: account: {}", account.body);
    let r = b
        .post_form(&format!("{P}/logout"), &[("csrf", &account.field("csrf"))])
        .await;
    assert_eq!(r.status, 303, "{name}: sign-out: {}", r.body);
    let r = raw_request(proxy.addr, &request_head("/private/x", &host, &cookie, &[]));
    assert_eq!(r.status, 401, "{name}: signed-out API client: {}", r.head);
    let mut old = Browser::new(proxy.addr, &host);
    old.cookies.push(("portcullis_session".into(), cookie));
    let r = old.get("/private/x").await;
    assert_eq!(r.status, 302, "{name}: signed-out browser: {}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_nginx_example_signs_in_forwards_identity_and_refuses_spoofs() {
    let Some(nginx) = installed("nginx") else {
        return;
    };
    let gw = spawn_forward_auth_gateway();
    let proxy = start_nginx(&nginx, &gw);
    walk_through(&proxy).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_caddy_example_signs_in_forwards_identity_and_refuses_spoofs() {
    let Some(caddy) = installed("caddy") else {
        return;
    };
    let gw = spawn_forward_auth_gateway();
    let proxy = start_caddy(&caddy, &gw);
    walk_through(&proxy).await;
}

/// The ways a client might try to make `/verify` build a sign-in `Location` on its own site.
const OFF_SITE: &[(&str, &str)] = &[
    ("X-Forwarded-Host", "[app.localhost]@evil.example"),
    ("X-Forwarded-Host", "app.localhost@evil.example"),
    ("X-Forwarded-Host", "evil.example"),
    ("X-Forwarded-Host", "evil.example:80"),
    ("X-Forwarded-Host", "app.localhost/@evil.example"),
    ("X-Forwarded-Host", "app.localhost\\@evil.example"),
    ("X-Original-URL", "https://evil.example/x"),
    ("X-Original-URL", "https://[app.localhost]@evil.example/x"),
    ("X-Original-URL", "https://evil.example\\@app.localhost/x"),
    ("X-Original-URL", "https://app.localhost@evil.example/x"),
];

/// Asks `/verify` directly as a browser without a session, with `header` describing the
/// request: its status and `Location`.
async fn ask_verify(gw: &TestGateway, (name, value): (&str, &str)) -> (u16, Option<String>) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client
        .get(gw.portal("/verify"))
        .header("Accept", "text/html")
        .header(name, value);
    if name == "X-Forwarded-Host" {
        req = req
            .header("X-Forwarded-Proto", "https")
            .header("X-Forwarded-Method", "GET")
            .header("X-Forwarded-Uri", "/private/x");
    }
    let r = req.send().await.unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap_or("?").to_string());
    (r.status().as_u16(), location)
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_never_sends_a_browser_off_site() {
    let gw = spawn_forward_auth_gateway();
    for &attempt in OFF_SITE {
        let (status, location) = ask_verify(&gw, attempt).await;
        assert!(
            status == 400 || status == 403,
            "{attempt:?} answered {status} {location:?}"
        );
        assert!(
            location.as_deref().is_none_or(|l| !l.contains("evil")),
            "{attempt:?} sent the browser to {location:?}"
        );
    }
    // Control: the app's own host gets the redirect to its sign-in page.
    let (status, location) = ask_verify(&gw, ("X-Forwarded-Host", "app.localhost")).await;
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert!(
        location.starts_with("https://app.localhost/.portcullis/login?rd="),
        "{location}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_for_an_app_without_hosts_redirects_only_within_the_site() {
    let gw = spawn_gateway_with(|upstream| {
        format!("[[apps]]\nname = \"any\"\nupstream = \"{upstream}\"\ndefault_policy = \"one_factor\"\n")
    });
    for &attempt in OFF_SITE {
        let (status, location) = ask_verify(&gw, attempt).await;
        let Some(location) = location else {
            assert!(status >= 400, "{attempt:?} answered {status}");
            continue;
        };
        assert!(
            location.starts_with('/')
                && !location.starts_with("//")
                && !location.starts_with("/\\")
                && !location.contains("evil"),
            "{attempt:?} answered {status} with Location {location}"
        );
    }
}
