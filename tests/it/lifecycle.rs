//! Reload and stop: `portcullis reload` and `SIGHUP` put a new configuration in force without
//! losing a session or a request, an invalid file changes nothing, and `SIGTERM` lets a request
//! in flight finish before the process exits 0. The signal tests run the real binary as a
//! child process; its JSON log is read back and must hold no secret.

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::*;

/// The standard config with `extra` rules added to the first app (`app.test`).
fn with_rules(text: &str, extra: &str) -> String {
    text.replacen(
        "[[apps.rules]]\npaths = [\"/public/**\"]",
        &format!("{extra}\n[[apps.rules]]\npaths = [\"/public/**\"]"),
        1,
    )
}

fn write_config(gw: &TestGateway, text: &str) {
    std::fs::write(&gw.config_path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_adds_a_rule_removes_an_app_and_changes_a_policy_keeping_the_session() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let mut b = gw.browser();
    b.login(gw.prefix(), "alice", PASSWORD, "/").await;
    assert_signed_in(&mut b, "alice").await;
    let mut anonymous = gw.browser();
    assert_eq!(anonymous.get("/public/x").await.status, 200);
    assert_eq!(b.get("/newly/x").await.status, 200);
    let mut other = Browser::new(gw.addr, "other.test");
    assert_eq!(other.get("/").await.status, 200);

    let text = std::fs::read_to_string(&gw.config_path).unwrap();
    let other_app = text.find("[[apps]]\nname = \"other\"").unwrap();
    let mut changed = with_rules(
        &text[..other_app],
        "[[apps.rules]]\npaths = [\"/newly/**\"]\npolicy = \"deny\"\n",
    );
    changed = changed.replace(
        "paths = [\"/public/**\"]\npolicy = \"bypass\"",
        "paths = [\"/public/**\"]\npolicy = \"one_factor\"",
    );
    write_config(&gw, &changed);
    let out = gw.cli(&["reload"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("reloaded"));
    let scraped = portcullis::metrics::scrape(&gw.state);
    assert!(
        scraped.contains("portcullis_config_reloads_total{result=\"success\"} 1"),
        "{scraped}"
    );

    // The new rule, the removed app, the changed policy: all in force at once.
    assert_eq!(b.get("/newly/x").await.status, 403);
    assert_eq!(other.get("/").await.status, 404);
    let public = anonymous.get("/public/x").await;
    assert_eq!(public.status, 302, "{}", public.body);
    assert!(public.location().contains("/login?rd="));
    // The session survived.
    assert_signed_in(&mut b, "alice").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_reload_changes_nothing_and_names_file_line_and_column() {
    let gw = spawn_gateway();
    let text = std::fs::read_to_string(&gw.config_path).unwrap();
    let bad = with_rules(
        &text,
        "[[apps.rules]]\npaths = [\"/public/**\"]\npolcy = \"deny\"\n",
    );
    write_config(&gw, &bad);
    let out = gw.cli(&["reload"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    // Refused by the command line before the gateway was asked: nothing counted there.
    let scraped = portcullis::metrics::scrape(&gw.state);
    assert!(
        scraped.contains("portcullis_config_reloads_total{result=\"failure\"} 0"),
        "{scraped}"
    );
    let at = format!("{}:", gw.config_path.display());
    assert!(stderr.contains(&at) && stderr.contains("polcy"), "{stderr}");
    // The old rules still serve.
    let mut anonymous = gw.browser();
    assert_eq!(anonymous.get("/public/x").await.status, 200);
    assert_eq!(anonymous.get("/deny/x").await.status, 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_itself_refuses_an_invalid_file_and_keeps_serving() {
    // The command line checks the file before it asks; the gateway checks it again, for a
    // file that changed in between or a SIGHUP. Ask it directly through its control socket.
    let gw = spawn_gateway();
    let text = std::fs::read_to_string(&gw.config_path).unwrap();
    write_config(
        &gw,
        &text.replace("default_policy = \"bypass\"", "default_policy = 7"),
    );
    let socket = gw.dir.path().join("portcullis.db.control");
    let answer = portcullis::background::ask_gateway(
        &socket,
        &portcullis::background::ControlMessage::Reload,
    )
    .expect("the gateway answers");
    assert!(answer.starts_with("refused: "), "{answer}");
    let scraped = portcullis::metrics::scrape(&gw.state);
    assert!(
        scraped.contains("portcullis_config_reloads_total{result=\"failure\"} 1"),
        "{scraped}"
    );
    assert!(answer.contains("portcullis.toml:"), "{answer}");
    let mut other = Browser::new(gw.addr, "other.test");
    assert_eq!(other.get("/").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_read_only_at_start_keep_their_value_and_are_named() {
    let gw = spawn_gateway();
    let text = std::fs::read_to_string(&gw.config_path).unwrap();
    let moved = text
        .replace(
            &format!("listen = \"{}\"", gw.addr),
            &format!("listen = \"127.0.0.1:{}\"", free_port()),
        )
        .replace("[session]\n", "[session]\ncookie_name = \"other\"\n");
    write_config(&gw, &moved);
    let out = gw.cli(&["reload"], None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains("[server] listen") && stdout.contains("[session]"),
        "{stdout}"
    );
    // Still on the old address, still with the old cookie.
    gw.add_user("alice", &[]);
    let mut b = gw.browser();
    b.login(gw.prefix(), "alice", PASSWORD, "/").await;
    assert!(b.session_cookie().is_some());
    assert_signed_in(&mut b, "alice").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn regulation_takes_new_limits_at_a_reload() {
    let gw = spawn_gateway_configured(TRUST_LOOPBACK, "", "[regulation]\nmax_failures = 10");
    gw.add_user("alice", &[]);
    let text = std::fs::read_to_string(&gw.config_path).unwrap();
    write_config(&gw, &text.replace("max_failures = 10", "max_failures = 2"));
    assert!(gw.cli(&["reload"], None).status.success());
    let mut b = gw.browser();
    let first = b
        .login_from(gw.prefix(), "203.0.113.9", "alice", "wrong")
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let second = b
        .login_from(gw.prefix(), "203.0.113.9", "alice", "wrong")
        .await;
    assert_banned(&second, 900);
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_reloads_under_load_fail_no_request_and_lose_no_session() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let mut b = gw.browser();
    b.login(gw.prefix(), "alice", PASSWORD, "/").await;
    let cookie = b.session_cookie().unwrap();
    let name = gw.state.cookies.session.clone();
    let addr = gw.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (stop, cookie, name) = (stop.clone(), cookie.clone(), name.clone());
        load.push(tokio::spawn(async move {
            let client = client_without_redirects();
            let (mut ok, mut bad) = (0u32, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = client
                    .get(format!("http://{addr}/whoami"))
                    .header("Host", "app.test")
                    .header("Cookie", format!("{name}={cookie}"))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => ok += 1,
                    Ok(r) => bad.push(r.status().to_string()),
                    Err(e) => bad.push(e.to_string()),
                }
            }
            (ok, bad)
        }));
    }
    let text = std::fs::read_to_string(&gw.config_path).unwrap();
    for i in 0..50 {
        // Alternate between two valid files, so that every reload really changes the rules.
        let rule = format!("[[apps.rules]]\npaths = [\"/r{i}/**\"]\npolicy = \"deny\"\n");
        write_config(&gw, &with_rules(&text, &rule));
        let out = gw.cli(&["reload"], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for task in load {
        let (ok, bad) = task.await.unwrap();
        assert!(bad.is_empty(), "failed requests during reloads: {bad:?}");
        total += ok;
    }
    assert!(total > 50, "too little load to mean anything: {total}");
    assert_eq!(b.get("/r49/x").await.status, 403);
    assert_signed_in(&mut b, "alice").await;
}

/// The real binary, serving `config`, its stderr (the log) captured into `log`.
struct Served {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(config: &std::path::Path, addr: SocketAddr) -> Served {
    let log = config.with_file_name("gateway.log");
    let child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("serve")
        .arg("-c")
        .arg(config)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the gateway did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Served { child, log }
}

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: kill only sends a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
}

/// An upstream that answers `/slow` after `delay` and anything else at once.
fn slow_upstream(delay: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let slow = line.contains("/slow");
                    while line.trim() != "" {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                    }
                    if slow {
                        std::thread::sleep(delay);
                    }
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
                }
            });
        }
    });
    addr
}

fn raw_get(addr: SocketAddr, path: &str, cookie: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path}?token=query-secret HTTP/1.1\r\nHost: app.test\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_and_sigterm_lets_a_request_in_flight_finish_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = slow_upstream(Duration::from_secs(2));
    let apps = format!(
        "[[apps]]\nname = \"app\"\nhosts = [\"app.test\"]\nupstream = \"{upstream}\"\n\
         default_policy = \"one_factor\"\n\n[log]\nformat = \"json\"\naccess = true\n"
    );
    let text = gateway_config(dir.path(), dir.path(), "grace_period = \"20s\"", "", &apps);
    let config = dir.path().join("portcullis.toml");
    std::fs::write(&config, &text).unwrap();
    let addr = portcullis::config::Config::load(&config)
        .unwrap()
        .server
        .listen[0];
    let out = run_cli(
        &config,
        &["user", "add", "alice", "--password-stdin"],
        Some(PASSWORD),
    );
    assert!(out.status.success());
    let mut served = serve(&config, addr);

    let mut b = Browser::new(addr, "app.test");
    let signed_in = b.login("/.portcullis", "alice", PASSWORD, "/").await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let cookie_value = b.session_cookie().unwrap();
    let cookie: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let cookie = cookie.join("; ");
    assert_eq!(b.get("/newly/x").await.status, 200);

    // SIGHUP: a new deny rule.
    let rule = "[[apps.rules]]\npaths = [\"/newly/**\"]\npolicy = \"deny\"\n";
    std::fs::write(&config, format!("{text}\n{rule}")).unwrap();
    signal(&served.child, libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.get("/newly/x").await.status != 403 {
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not apply the new rule"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(b.get("/x").await.status, 200, "the session did not survive");

    // SIGTERM while a slow request is in flight: it completes, then the process exits 0,
    // well before the grace period is over.
    let slow = std::thread::spawn(move || raw_get(addr, "/slow", &cookie));
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    signal(&served.child, libc::SIGTERM);
    let answer = slow.join().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("done"), "{answer}");
    let status = loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(15),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    assert!(signalled.elapsed() < Duration::from_secs(10));
    assert!(TcpStream::connect(addr).is_err(), "still listening");

    // The log: JSON lines, access lines with their fields, no secret.
    let log = std::fs::read_to_string(&served.log).unwrap();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    let mut access = Vec::new();
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if v["target"] == "access" {
            access.push(v);
        }
    }
    let slow_line = access
        .iter()
        .find(|v| v["path"] == "/slow")
        .unwrap_or_else(|| panic!("no access line for /slow in {log}"));
    assert_eq!(slow_line["user"], "alice");
    assert_eq!(slow_line["app"], "app");
    assert_eq!(slow_line["decision"], "forward");
    assert_eq!(slow_line["status"], 200);
    assert!(slow_line["duration_ms"].as_f64().unwrap() >= 1900.0);
    assert!(access
        .iter()
        .any(|v| v["decision"] == "deny" && v["status"] == 403));
    assert!(log.contains("configuration reloaded"));
    let audited = |event: &str| {
        lines.iter().any(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["target"] == "audit" && v["event"] == event && v["user"] == "alice"
        })
    };
    assert!(audited("login"), "no audit line for the sign-in in {log}");
    for secret in [PASSWORD, cookie_value.as_str(), "query-secret"] {
        assert!(!log.contains(secret), "the log holds a secret: {secret}");
    }
    served.child.kill().ok();
}

#[test]
fn the_demo_refuses_a_port_that_is_taken() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["demo", "--listen", &addr.to_string()])
        .current_dir(dir.path())
        .env("TMPDIR", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the demo kept running on a port that another program holds");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success(), "exit status {status}");
    assert!(
        !out.contains("http://"),
        "no URL is printed for a port the demo does not have: {out}"
    );
    assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    assert!(
        err.contains(&addr.to_string()) && err.contains("--listen"),
        "{err}"
    );
    drop(taken);
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_that_need_a_restart_are_named_and_keep_their_value_while_the_rest_reloads() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let mut b = gw.browser();
    b.login(gw.prefix(), "alice", PASSWORD, "/").await;
    let text = std::fs::read_to_string(&gw.config_path).unwrap();
    let port = gw.addr.port();
    let moved = free_port();
    let changed = with_rules(
        &text
            .replace(
                &format!("listen = \"127.0.0.1:{port}\""),
                &format!("listen = \"127.0.0.1:{moved}\""),
            )
            .replace("secure = false", "secure = false\nidle_timeout = \"5m\""),
        "[[apps.rules]]\npaths = [\"/newly/**\"]\npolicy = \"deny\"\n",
    );
    assert_ne!(changed, text);
    write_config(&gw, &changed);
    let out = gw.cli(&["reload"], None);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("needs a restart: [server] listen, [session]"),
        "{said}"
    );
    // The listener and the session settings in force are the old ones; the rule is new.
    assert!(TcpStream::connect(("127.0.0.1", moved)).is_err());
    let config = gw.state.config();
    assert_eq!(config.server.listen, vec![gw.addr]);
    assert_ne!(config.session.idle_timeout, Duration::from_secs(300));
    assert_eq!(b.get("/newly/x").await.status, 403);
    assert_signed_in(&mut b, "alice").await;
}
