//! Prometheus metrics on their own listener: scraped over HTTP, parsed, and watched move as
//! requests, sign-ins and bans happen; absent when the config has no `[metrics]`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::*;

/// One sample of a scrape: its name and labels, and its value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed scrape.
#[derive(Debug)]
struct Scrape {
    text: String,
    samples: Vec<Sample>,
}

impl Scrape {
    fn parse(text: String) -> Scrape {
        let mut samples = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.strip_suffix('}').expect("closing brace")),
                None => (series, ""),
            };
            let labels = labels
                .split(',')
                .filter(|l| !l.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').expect("label=value");
                    let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
                    (k.to_string(), v.expect("quoted label value").to_string())
                })
                .collect();
            let value = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("value of {line}")),
            };
            samples.push(Sample {
                name: name.to_string(),
                labels,
                value,
            });
        }
        Scrape { text, samples }
    }

    /// The sample `name` whose labels include `labels`, if there is exactly one.
    fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<&Sample> {
        let mut found = self.samples.iter().filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        });
        let first = found.next();
        assert!(
            found.next().is_none(),
            "{name} {labels:?} names several series"
        );
        first
    }

    /// The value of [`Scrape::find`]; 0 for a series not yet exported (counters start there).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.find(name, labels).map_or(0.0, |s| s.value)
    }
}

const REQUESTS: &str = "portcullis_requests_total";
const SIGN_INS: &str = "portcullis_sign_in_attempts_total";
const BANS: &str = "portcullis_bans_total";

/// A `[metrics]` section on a free port, and that port's address.
fn metrics_section() -> (String, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    (format!("[metrics]\nlisten = \"{addr}\"\n"), addr)
}

/// A gateway with the standard apps and metrics on; its metrics address.
fn spawn_with_metrics(server: &str, rest: &str) -> (TestGateway, SocketAddr) {
    let (section, addr) = metrics_section();
    let gw = spawn_gateway_configured(server, "", &format!("{section}\n{rest}"));
    (gw, addr)
}

async fn get_metrics(addr: SocketAddr, path: &str) -> reqwest::Response {
    client_without_redirects()
        .get(format!("http://{addr}{path}"))
        .send()
        .await
        .unwrap()
}

async fn scrape(addr: SocketAddr) -> Scrape {
    let r = get_metrics(addr, "/metrics").await;
    assert_eq!(r.status(), 200);
    Scrape::parse(r.text().await.unwrap())
}

/// Scrapes until `done` holds (a request is counted once its response is sent, so a client
/// can be a moment ahead of the count); at most 5 s, then returns the last scrape.
async fn scrape_until(addr: SocketAddr, done: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = scrape(addr).await;
        if done(&s) || Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `name{labels}` moved by `by` between `before` and `after`.
#[track_caller]
fn assert_moved(before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)], by: f64) {
    let (b, a) = (before.value(name, labels), after.value(name, labels));
    assert_eq!(a - b, by, "{name} {labels:?}: {b} -> {a}\n{}", after.text);
}

fn requests(
    app: &'static str,
    decision: &'static str,
    class: &'static str,
) -> [(&'static str, &'static str); 3] {
    [
        ("app", app),
        ("decision", decision),
        ("status_class", class),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn each_request_is_counted_once_by_app_decision_and_status_class() {
    let (gw, metrics) = spawn_with_metrics("", "");
    gw.add_user("alice", &[]);
    let mut alice = gw.browser();
    alice
        .login(gw.prefix(), "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    // The sign-in's two portal requests are counted once their answers are sent.
    let before = scrape_until(metrics, |s| {
        s.value(REQUESTS, &requests("", "portal", "2xx")) == 1.0
            && s.value(REQUESTS, &requests("", "portal", "3xx")) == 1.0
    })
    .await;

    assert_signed_in(&mut alice, "alice").await;
    assert_eq!(alice.get("/public/x").await.status, 200);
    assert_eq!(alice.get("/deny/x").await.status, 403);
    let mut stranger = gw.browser();
    assert_signed_out(&mut stranger).await;
    stranger.accept_html = false;
    assert_eq!(stranger.get("/whoami").await.status, 401);
    assert_eq!(
        stranger.get(&format!("{}/login", gw.prefix())).await.status,
        200
    );
    let mut lost = Browser::new(gw.addr, "unknown.test");
    assert_eq!(lost.get("/").await.status, 404);

    let expected = [
        (requests("app", "forward", "2xx"), 1.0),
        (requests("app", "bypass", "2xx"), 1.0),
        (requests("app", "deny", "4xx"), 1.0),
        (requests("app", "login_redirect", "3xx"), 1.0),
        (requests("app", "unauthorized", "4xx"), 1.0),
        (requests("", "portal", "2xx"), 1.0),
        (requests("", "not_found", "4xx"), 1.0),
    ];
    let after = scrape_until(metrics, |s| {
        expected
            .iter()
            .all(|(labels, by)| s.value(REQUESTS, labels) - before.value(REQUESTS, labels) >= *by)
    })
    .await;
    for (labels, by) in &expected {
        assert_moved(&before, &after, REQUESTS, labels, *by);
    }
    // Nothing else was counted: seven requests, seven counts.
    let total = |s: &Scrape| -> f64 {
        s.samples
            .iter()
            .filter(|x| x.name == REQUESTS)
            .map(|x| x.value)
            .sum()
    };
    assert_eq!(total(&after) - total(&before), 7.0, "{}", after.text);

    // The two proxied requests are in the app's duration histogram, whose buckets agree.
    let count = "portcullis_request_duration_seconds_count";
    assert_moved(&before, &after, count, &[("app", "app")], 2.0);
    let inf = after.value(
        "portcullis_request_duration_seconds_bucket",
        &[("app", "app"), ("le", "+Inf")],
    );
    assert_eq!(inf, after.value(count, &[("app", "app")]));
    assert!(after.value("portcullis_request_duration_seconds_sum", &[("app", "app")]) > 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_metrics_listener_serves_metrics_and_nothing_else() {
    let (_gw, metrics) = spawn_with_metrics("", "");
    let r = get_metrics(metrics, "/metrics").await;
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text; version=1.0.0"),
        "{content_type}"
    );
    let s = Scrape::parse(r.text().await.unwrap());
    assert!(s.text.ends_with("# EOF\n"), "{}", s.text);
    let info = s.find("portcullis_build_info", &[]).expect("build info");
    assert_eq!(info.value, 1.0);
    assert_eq!(info.labels["version"], env!("CARGO_PKG_VERSION"));
    for series in [
        "portcullis_sessions_cached",
        "portcullis_argon2_queue_depth",
        BANS,
    ] {
        assert!(
            s.find(series, &[]).is_some(),
            "{series} missing:\n{}",
            s.text
        );
    }
    for result in ["success", "failure"] {
        let reloads = s.find("portcullis_config_reloads_total", &[("result", result)]);
        assert_eq!(reloads.map(|r| r.value), Some(0.0), "{}", s.text);
    }

    for path in ["/", "/metric", "/metrics/x", "/.portcullis/health"] {
        assert_eq!(get_metrics(metrics, path).await.status(), 404, "{path}");
    }
    let post = client_without_redirects()
        .post(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
}

#[tokio::test(flavor = "multi_thread")]
async fn password_sign_ins_are_counted_by_result_and_a_session_is_cached() {
    let (gw, metrics) = spawn_with_metrics("", "");
    gw.add_user("alice", &[]);
    let before = scrape(metrics).await;
    assert_eq!(before.value("portcullis_sessions_cached", &[]), 0.0);

    let mut b = gw.browser();
    let r = b.login(gw.prefix(), "alice", "not the password", "/").await;
    assert!(r.body.contains(WRONG_LOGIN), "{}", r.body);
    b.login(gw.prefix(), "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/");

    let after = scrape(metrics).await;
    let password = |result| [("factor", "password"), ("result", result)];
    assert_moved(&before, &after, SIGN_INS, &password("failure"), 1.0);
    assert_moved(&before, &after, SIGN_INS, &password("success"), 1.0);
    assert_moved(&before, &after, SIGN_INS, &password("banned"), 0.0);
    assert!(
        after.value("portcullis_sessions_cached", &[]) >= 1.0,
        "{}",
        after.text
    );
    assert_eq!(after.value("portcullis_argon2_queue_depth", &[]), 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ban_is_counted_once_per_subject_and_refused_attempts_as_banned() {
    let regulation = "[regulation]\nmax_failures = 3\nwindow = \"5m\"\nban = \"10m\"\n";
    let (gw, metrics) = spawn_with_metrics(TRUST_LOOPBACK, regulation);
    gw.add_user("bob", &[]);
    let before = scrape(metrics).await;

    let (_, attempts) = fail_until_banned(&gw, "203.0.113.7", "bob").await;
    assert_eq!(attempts, 3);
    let after_ban = scrape(metrics).await;
    // The third failure bans both the user and the client address.
    assert_moved(&before, &after_ban, BANS, &[], 2.0);
    let password = |result| [("factor", "password"), ("result", result)];
    assert_moved(&before, &after_ban, SIGN_INS, &password("failure"), 3.0);

    // Refused unchecked while banned, even with the right password.
    let mut b = gw.browser();
    let r = b
        .login_from(gw.prefix(), "203.0.113.7", "bob", PASSWORD)
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    let after = scrape(metrics).await;
    assert_moved(&after_ban, &after, SIGN_INS, &password("banned"), 1.0);
    assert_moved(&after_ban, &after, SIGN_INS, &password("success"), 0.0);
    assert_moved(&after_ban, &after, BANS, &[], 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn second_factor_sign_ins_are_counted_as_totp_and_recovery() {
    let (gw, metrics) = spawn_with_metrics("", "");
    gw.add_user("alice", &[]);
    let enrolled = enrol(&gw, "alice").await;
    let before = scrape(metrics).await;
    let p = gw.prefix().to_string();
    let totp = |result| [("factor", "totp"), ("result", result)];
    let recovery = |result| [("factor", "recovery"), ("result", result)];

    // A wrong code, then the right one (from oathtool).
    let mut b = gw.browser();
    b.login(&p, "alice", PASSWORD, "/").await;
    let wrong = wrong_code(&enrolled.secret_base32);
    let r = b
        .submit(
            &format!("{p}/totp?rd=%2F"),
            &format!("{p}/totp"),
            &[("code", &wrong)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (code, _) = fresh_code(&enrolled.secret_base32, enrolled.last_code_time).await;
    b.submit(
        &format!("{p}/totp?rd=%2F"),
        &format!("{p}/totp"),
        &[("code", &code)],
    )
    .await
    .assert_redirect_to("/");

    // A recovery code in another sign-in.
    let mut c = gw.browser();
    c.login(&p, "alice", PASSWORD, "/").await;
    let r = c
        .submit(
            &format!("{p}/recovery?rd=%2F"),
            &format!("{p}/recovery"),
            &[("code", &enrolled.recovery_codes[0])],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_signed_in(&mut c, "alice").await;

    let after = scrape(metrics).await;
    assert_moved(&before, &after, SIGN_INS, &totp("failure"), 1.0);
    assert_moved(&before, &after, SIGN_INS, &totp("success"), 1.0);
    assert_moved(&before, &after, SIGN_INS, &recovery("success"), 1.0);
    assert_moved(&before, &after, SIGN_INS, &recovery("failure"), 0.0);
    let password = [("factor", "password"), ("result", "success")];
    assert_moved(&before, &after, SIGN_INS, &password, 2.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_upstream_is_counted_as_an_upstream_error_of_its_app() {
    let (section, metrics) = metrics_section();
    let closed = free_port();
    let gw = spawn_gateway_from("", "", |upstream| {
        format!(
            "{section}\n{}\n[[apps]]\nname = \"down\"\nhosts = [\"down.test\"]\n\
             upstream = \"127.0.0.1:{closed}\"\ndefault_policy = \"bypass\"\n",
            standard_apps(upstream)
        )
    });
    let before = scrape(metrics).await;
    let errors = "portcullis_upstream_errors_total";
    // Every configured app has its series from the start.
    for app in ["app", "other", "down"] {
        assert_eq!(
            before.find(errors, &[("app", app)]).map(|s| s.value),
            Some(0.0),
            "{app}"
        );
    }

    let mut b = Browser::new(gw.addr, "down.test");
    assert_eq!(b.get("/x").await.status, 502);
    assert_eq!(gw.browser().get("/public/x").await.status, 200);

    let down = requests("down", "bypass", "5xx");
    let after = scrape_until(metrics, |s| s.value(REQUESTS, &down) == 1.0).await;
    assert_moved(&before, &after, REQUESTS, &down, 1.0);
    assert_moved(&before, &after, errors, &[("app", "down")], 1.0);
    assert_moved(&before, &after, errors, &[("app", "app")], 0.0);
}

/// The real binary, stopped when dropped.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The TCP ports process `pid` listens on, from `/proc`: its socket inodes matched against
/// the listening sockets of its network namespace.
fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy().to_string();
            Some(t.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; the inode is field 9.
            if fields.len() > 9 && fields[3] == "0A" && inodes.iter().any(|i| i == fields[9]) {
                let port = fields[1].rsplit(':').next().unwrap();
                ports.push(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    ports.sort_unstable();
    ports
}

/// Serves `config` with the real binary until its proxy port answers; its listening ports.
fn ports_when_served(dir: &std::path::Path, extra: &str) -> (Vec<u16>, u16) {
    let upstream = spawn_upstream();
    let text = gateway_config(
        dir,
        dir,
        "",
        "",
        &format!("{extra}\n{}", standard_apps(upstream)),
    );
    let config = dir.join("portcullis.toml");
    std::fs::write(&config, text).unwrap();
    let proxy = portcullis::config::Config::load(&config)
        .unwrap()
        .server
        .listen[0];
    let child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("serve")
        .arg("-c")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let served = Served(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(proxy).is_err() {
        assert!(Instant::now() < deadline, "the gateway did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Whatever else would listen has had a moment to bind.
    std::thread::sleep(Duration::from_millis(300));
    let ports = listening_ports(served.0.id());
    (ports, proxy.port())
}

#[test]
fn without_a_metrics_section_the_gateway_listens_on_its_proxy_port_only() {
    let dir = tempfile::tempdir().unwrap();
    let (ports, proxy) = ports_when_served(dir.path(), "");
    assert_eq!(ports, vec![proxy]);

    let dir = tempfile::tempdir().unwrap();
    let (section, metrics) = metrics_section();
    let (ports, proxy) = ports_when_served(dir.path(), &section);
    let mut expected = vec![proxy, metrics.port()];
    expected.sort_unstable();
    assert_eq!(ports, expected);
}
