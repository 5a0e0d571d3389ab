//! Several gateways on one PostgreSQL database: a session made on one works on the other; a
//! sign-out, a revocation from the command line or a disable on one is refused by the other
//! within a second (PostgreSQL's notices); a recovery code raced over both works once; guesses
//! spread over both are counted as if sent to one; an outage is served from the cache for
//! `outage_grace` only, and a notice missed while a gateway was not listening still takes
//! effect. These run in the `it_postgres` binary (they need the database both share).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::helpers::*;
use crate::pg::{on_postgres, Cluster};

const P: &str = "/.portcullis";

/// A second gateway on `a`'s database and key file, on a port of its own.
fn replica_of(a: &TestGateway) -> TestGateway {
    let text = std::fs::read_to_string(&a.config_path).unwrap();
    let port = free_port();
    let text = text.replace(
        &format!("listen = \"{}\"", a.addr),
        &format!("listen = \"127.0.0.1:{port}\""),
    );
    start(tempfile::tempdir().unwrap(), a.upstream, text)
}

/// Polls `refused` every 20 ms until it holds; how long that took (panics after 5 s).
async fn time_until(mut refused: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !refused().await {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never took effect"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

/// A browser on `gw` carrying `other`'s cookies (the same person behind a load balancer).
fn same_person(gw: &TestGateway, other: &Browser) -> Browser {
    let mut b = gw.browser();
    b.cookies = other.cookies.clone();
    b
}

async fn reaches_app(b: &mut Browser) -> bool {
    b.get("/app").await.status == 200
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_from_one_gateway_works_on_the_other_and_ends_on_both_within_a_second() {
    if !on_postgres() {
        return;
    }
    let a = spawn_gateway();
    let b = replica_of(&a);
    a.add_user("alice", &[]);
    let mut on_a = a.browser();
    on_a.login(P, "alice", PASSWORD, "/app").await;
    let mut on_b = same_person(&b, &on_a);
    assert_eq!(
        on_b.get("/app")
            .await
            .echoed()
            .header("Remote-User")
            .as_deref(),
        Some("alice")
    );
    assert!(reaches_app(&mut on_a).await);

    // Signed out on A: B, which has the session cached, refuses it within a second.
    let account = on_a.get(&format!("{P}/account")).await;
    assert_eq!(account.status, 200, "{}", account.body);
    let csrf = account.field("csrf");
    on_a.post_form(&format!("{P}/logout"), &[("csrf", &csrf)])
        .await;
    let took = time_until(async || !reaches_app(&mut on_b).await).await;
    assert!(took <= Duration::from_secs(1), "took {took:?}");
    eprintln!("refused by the other gateway {took:?} after the change");

    // A revocation from the command line (pointed at the same database) ends it on both.
    let mut again = a.browser();
    again.login(P, "alice", PASSWORD, "/app").await;
    let mut again_b = same_person(&b, &again);
    assert!(reaches_app(&mut again_b).await && reaches_app(&mut again).await);
    let out = run_cli(&b.config_path, &["sessions", "revoke", "alice"], None);
    assert!(out.status.success(), "{out:?}");
    let took =
        time_until(async || !reaches_app(&mut again).await && !reaches_app(&mut again_b).await)
            .await;
    assert!(took <= Duration::from_secs(1), "took {took:?}");
    assert_eq!(a.store().list_sessions(Some("alice")).unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn disabling_a_user_on_one_gateway_ends_their_cached_session_on_the_other() {
    if !on_postgres() {
        return;
    }
    let a = spawn_gateway();
    let b = replica_of(&a);
    a.add_user("bob", &[]);
    let mut on_a = a.browser();
    on_a.login(P, "bob", PASSWORD, "/app").await;
    let mut on_b = same_person(&b, &on_a);
    assert!(reaches_app(&mut on_b).await);
    let out = run_cli(&a.config_path, &["user", "disable", "bob"], None);
    assert!(out.status.success(), "{out:?}");
    let took = time_until(async || !reaches_app(&mut on_b).await).await;
    assert!(took <= Duration::from_secs(1), "took {took:?}");
    eprintln!("refused by the other gateway {took:?} after the change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_recovery_code_raced_by_twelve_sessions_over_two_gateways_works_once() {
    if !on_postgres() {
        return;
    }
    let a = spawn_gateway_configured("", "", "[regulation]\nmax_failures = 100");
    let b = replica_of(&a);
    let alice = a.add_user("alice", &[]);
    let e = enrol(&a, "alice").await;
    let code = e.recovery_codes[3].clone();
    let answers =
        crate::second_factor::same_code_at_once(&[&a, &b], "alice", "recovery", &code, 12).await;
    let winners = answers
        .iter()
        .filter(|(_, page)| page.body.contains("You are signed in"))
        .count();
    assert_eq!(winners, 1);
    assert_eq!(a.store().recovery_codes_left(alice).unwrap(), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn guesses_spread_over_two_gateways_are_counted_as_if_sent_to_one() {
    if !on_postgres() {
        return;
    }
    let a = spawn_gateway_configured(
        TRUST_LOOPBACK,
        "",
        "[regulation]\nmax_failures = 3\nwindow = \"5m\"\nban = \"10m\"",
    );
    let b = replica_of(&a);
    a.add_user("carol", &[]);
    // From three addresses, so no client is banned: only the user's count can reach 3.
    for (i, gw) in [&a, &b, &a].iter().enumerate() {
        let mut x = gw.browser();
        let page = x
            .login_from(P, &format!("10.0.0.{}", i + 1), "carol", "wrong guess")
            .await;
        assert!(page.status == 200 || page.status == 429, "{}", page.status);
    }
    // Each gateway saw fewer than three; together they banned carol, on both.
    for gw in [&a, &b] {
        let page = gw
            .browser()
            .login_from(P, "10.0.0.9", "carol", PASSWORD)
            .await;
        assert_eq!(page.status, 429, "{}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_made_while_a_gateway_was_not_listening_still_takes_effect() {
    if !on_postgres() {
        return;
    }
    let a = spawn_gateway();
    let b = replica_of(&a);
    a.add_user("dave", &[]);
    let mut on_a = a.browser();
    on_a.login(P, "dave", PASSWORD, "/app").await;
    let mut on_b = same_person(&b, &on_a);
    assert!(reaches_app(&mut on_b).await);
    // Every connection of the gateways is cut (their listeners too); the revocation is made
    // at once, before they listen again, so its notice reaches no one.
    let url = &a.state.config().storage.postgres.clone().unwrap().url;
    let db = url.rsplit('/').next().unwrap();
    Cluster::get().psql(
        db,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'portcullis' AND datname = current_database() \
         AND pid <> pg_backend_pid()",
    );
    Cluster::get().psql(db, "DELETE FROM sessions");
    let took = time_until(async || !reaches_app(&mut on_b).await).await;
    assert!(took <= Duration::from_secs(1), "took {took:?}");
    eprintln!("refused by the other gateway {took:?} after the change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_outage_is_served_from_the_cache_for_the_grace_then_503_and_recovers() {
    if !on_postgres() {
        return;
    }
    // A cluster of its own: this test stops it.
    let own = Cluster::start_private();
    let url = own.database();
    let dir = tempfile::tempdir().unwrap();
    let upstream = spawn_upstream();
    let text = gateway_config(dir.path(), dir.path(), "", "", &standard_apps(upstream))
        .lines()
        .map(|l| match l.starts_with("url = ") {
            true => format!("url = \"{url}\"\noutage_grace = \"3s\""),
            false => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let a = start(dir, upstream, text);
    a.add_user("erin", &[]);
    let mut b = a.browser();
    b.login(P, "erin", PASSWORD, "/app").await;
    assert!(reaches_app(&mut b).await);

    // Under load: four clients with the session ask for the app every 2 ms or so, from before
    // the outage to after it; each answer is kept with when its request was sent.
    let started = Instant::now();
    let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let load: Vec<_> = (0..4)
        .map(|_| {
            let mut client = same_person(&a, &b);
            let running = Arc::clone(&running);
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while running.load(std::sync::atomic::Ordering::Relaxed) {
                    // When the request was sent: what the gateway knew then decides.
                    let sent = started.elapsed();
                    let status = client.get("/app").await.status;
                    seen.push((sent, status));
                    // Steady load, not a flood: the other tests share the cores.
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                seen
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // From the moment the stop begins: the gateway may notice while the server shuts down.
    let down = Instant::now();
    own.stop();
    // Within the grace: the cached session still reaches the app; a sign-in is 503, never
    // "wrong password"; the health check takes the gateway out of rotation.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(reaches_app(&mut b).await);
    let signin = a.browser().login(P, "erin", PASSWORD, "/app").await;
    assert_eq!(signin.status, 503, "{}", signin.body);
    assert!(!signin.body.contains(WRONG_LOGIN));
    let health = a.browser().get(&format!("{P}/health")).await;
    assert_eq!(health.status, 503);
    // After it: 503 for the app too, from the end of the grace (the outage is noticed within
    // the listener's heartbeat, up to 2 s after it began).
    time_until(async || b.get("/app").await.status == 503).await;
    let served = down.elapsed();
    let late = b.get("/app").await;
    assert_eq!(late.status, 503, "{}", late.body);
    assert!(served >= Duration::from_secs(3), "503 after {served:?}");
    assert!(served <= Duration::from_secs(6), "503 after {served:?}");

    // Down a while longer, so the load meets the 503s.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Back: everything resumes without a restart, the listener too.
    let restarted = Instant::now();
    own.restart();
    let back = time_until(async || reaches_app(&mut b).await).await;
    assert!(back < Duration::from_secs(5));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    // What the clients under load saw: the app until the grace ran out (a margin either side
    // for when the outage was noticed), 503 from then until the database came back, the app
    // again after; never anything else.
    let (down_at, restart_at) = (down - started, restarted - started);
    let mut counts = [0usize; 4];
    for task in load {
        for (at, status) in task.await.unwrap() {
            assert!(status == 200 || status == 503, "{status} at {at:?}");
            if at < down_at || (at > down_at && at < down_at + Duration::from_millis(2500)) {
                assert_eq!(status, 200, "at {at:?}, the outage began at {down_at:?}");
                counts[0] += 1;
            } else if at > down_at + Duration::from_millis(4500) && at < restart_at {
                assert_eq!(status, 503, "at {at:?}, the outage began at {down_at:?}");
                counts[1] += 1;
            } else if at > restart_at + back + Duration::from_millis(500) {
                assert_eq!(status, 200, "at {at:?}, back at {:?}", restart_at + back);
                counts[2] += 1;
            } else {
                counts[3] += 1;
            }
        }
    }
    assert!(
        counts[0] > 0 && counts[1] > 0 && counts[2] > 0,
        "{counts:?}"
    );
    assert_eq!(a.browser().get(&format!("{P}/health")).await.status, 200);
    let db = url.rsplit('/').next().unwrap();
    own.psql(db, "DELETE FROM sessions");
    let revoked = time_until(async || !reaches_app(&mut b).await).await;
    assert!(revoked <= Duration::from_secs(1), "took {revoked:?}");
    eprintln!(
        "outage: cached session served for {served:?} after the database stopped (grace 3 s), \
         back {back:?} after it restarted, a revocation then refused in {revoked:?}; \
         under load {} answers served from the cache, {} refused with 503, {} after the \
         return, {} in the margins",
        counts[0], counts[1], counts[2], counts[3]
    );
    own.stop();
}

/// `text` without its PostgreSQL `url` line: the gateway runs on its SQLite file.
fn on_sqlite(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("url = "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sqlite_store_moved_by_migrate_signs_people_in_on_postgresql() {
    if !on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let upstream = spawn_upstream();
    let text = on_sqlite(&gateway_config(
        dir.path(),
        dir.path(),
        "",
        "",
        &standard_apps(upstream),
    ));
    let gw = start(dir, upstream, text);
    assert!(gw.state.config().storage.postgres.is_none());
    gw.add_user("alice", &["staff"]);
    gw.add_user("bob", &[]);
    let e = enrol(&gw, "alice").await;
    let mut alice = e.browser;
    let until = 4_000_000_000;
    gw.store().put_ban("user:mallory", until).unwrap();
    let audit_rows = gw.store().audit_events(None, 10_000).unwrap().len();
    let (dir, upstream, text) = gw.stop();
    let config = dir.path().join("portcullis.toml");

    let url = Cluster::get().database();
    let out = run_cli(&config, &["migrate", "--to", &url], None);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (table, rows) in [
        ("users", "2"),
        ("totp", "1"),
        ("recovery_codes", "10"),
        ("bans", "1"),
    ] {
        assert!(
            said.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == [table, rows, "rows"]),
            "{table}: {rows} rows in {said}"
        );
    }
    // Into a database that holds users already: refused, and nothing is added.
    let again = run_cli(&config, &["migrate", "--to", &url], None);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds 2 users"),
        "{again:?}"
    );

    // The same key file, the database now in PostgreSQL.
    let text = text.replace("[storage]\n", &format!("[storage]\nurl = \"{url}\"\n"));
    let gw = start(dir, upstream, text);
    assert!(gw.state.config().storage.postgres.is_some());
    // The session moved with it.
    assert_eq!(
        alice
            .get("/app")
            .await
            .echoed()
            .header("Remote-User")
            .as_deref(),
        Some("alice")
    );
    // The sealed TOTP secret opens with the same key: a fresh sign-in with a new code.
    let (code, _) = fresh_code(&e.secret_base32, e.last_code_time).await;
    let mut again = gw.browser();
    let r = again.login(P, "alice", PASSWORD, "/app").await;
    let r = again
        .submit(r.location(), &format!("{P}/totp"), &[("code", &code)])
        .await;
    r.assert_redirect_to("/app");
    assert_eq!(
        again
            .get("/app")
            .await
            .echoed()
            .header("Remote-Groups")
            .as_deref(),
        Some("staff")
    );
    // A recovery code works once.
    let store = gw.store();
    let alice_id = store.user_by_name("alice").unwrap().unwrap().id;
    assert_eq!(store.recovery_codes_left(alice_id).unwrap(), 10);
    // The ban holds, the audit trail is whole, and new rows get new ids.
    assert_eq!(store.ban_until("user:mallory", 0).unwrap(), Some(until));
    let page = gw.browser().login(P, "mallory", PASSWORD, "/").await;
    assert_eq!(page.status, 429);
    assert!(store.audit_events(None, 10_000).unwrap().len() > audit_rows);
    gw.add_user("carol", &[]);
    assert!(store.user_by_name("carol").unwrap().unwrap().id > alice_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_database_connection_is_tls_when_the_url_asks_and_the_certificate_is_checked() {
    if !on_postgres() {
        return;
    }
    let certs = test_ca_and_localhost_cert();
    let own = Cluster::start_private_with_tls(&certs.cert_pem, &certs.key_pem);
    let db = own.database();
    let name = db.rsplit('/').next().unwrap().to_string();
    let url = format!(
        "postgres://postgres@localhost:{}/{name}?sslmode=require",
        own.port
    );
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, &certs.ca_pem).unwrap();
    let upstream = spawn_upstream();
    let text = gateway_config(dir.path(), dir.path(), "", "", &standard_apps(upstream))
        .lines()
        .map(|l| match l.starts_with("url = ") {
            true => format!("url = \"{url}\"\nca_file = \"{}\"", ca_path.display()),
            false => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");

    // Checked against another CA: refused, and nothing is written.
    let other = dir.path().join("other-ca.pem");
    std::fs::write(&other, test_ca_and_localhost_cert().ca_pem).unwrap();
    let target = |ca_file: Option<std::path::PathBuf>, url: &str| {
        portcullis::store::Location::Postgres(portcullis::store::PgTarget {
            url: url.to_string(),
            ca_file,
            ..Default::default()
        })
    };
    let err = portcullis::store::Store::open_at(&target(Some(other), &url))
        .expect_err("a certificate from another CA is refused");
    assert!(err.to_string().contains("unreachable"), "{err}");
    // Without a CA file, `require` encrypts without checking (libpq's meaning): it connects.
    portcullis::store::Store::open_at(&target(None, &url))
        .unwrap()
        .ping()
        .unwrap();

    let gw = start(dir, upstream, text);
    gw.add_user("frank", &[]);
    let mut b = gw.browser();
    b.login(P, "frank", PASSWORD, "/app").await;
    assert!(reaches_app(&mut b).await);
    // Every connection of the gateway (pool and listener) is encrypted.
    let rows = own.psql(
        &name,
        "SELECT string_agg(s.ssl::text, ',') FROM pg_stat_ssl s \
         JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'portcullis'",
    );
    assert!(
        !rows.is_empty() && rows.split(',').all(|r| r == "true"),
        "{rows}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_change_from_the_command_line_reaches_the_other_gateways_identity_headers() {
    if !on_postgres() {
        return;
    }
    let a = spawn_gateway();
    let b = replica_of(&a);
    a.add_user("hana", &["staff"]);
    let mut on_a = a.browser();
    on_a.login(P, "hana", PASSWORD, "/app").await;
    let mut on_b = same_person(&b, &on_a);
    let groups = |page: Page| page.echoed().header("Remote-Groups");
    assert_eq!(groups(on_b.get("/app").await).as_deref(), Some("staff"));
    let out = run_cli(
        &a.config_path,
        &["user", "groups", "hana", "--add", "ops"],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    // The session goes on (a group change ends none); B's cached identity is read again.
    let took =
        time_until(async || groups(on_b.get("/app").await).as_deref() == Some("ops,staff")).await;
    assert!(took <= Duration::from_secs(1), "took {took:?}");
    eprintln!("new groups seen by the other gateway {took:?} after the change");
}
