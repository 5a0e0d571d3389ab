//! Several gateways on one PostgreSQL database: a session made on one works on the other; a
//! sign-out, a revocation from the command line or a disable on one is refused by the other
//! within a second (PostgreSQL's notices); a recovery code raced over both works once; guesses
//! spread over both are counted as if sent to one; an outage is served from the cache for
//! `outage_grace` only, and a notice missed while a gateway was not listening still takes
//! effect. These run in the `it_postgres` binary (they need the database both share).

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
         WHERE application_name = 'portcullis' AND pid <> pg_backend_pid()",
    );
    Cluster::get().psql(db, "DELETE FROM sessions");
    let took = time_until(async || !reaches_app(&mut on_b).await).await;
    assert!(took <= Duration::from_secs(1), "took {took:?}");
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

    own.stop();
    let down = Instant::now();
    // Within the grace: the cached session still reaches the app; a sign-in is 503, never
    // "wrong password"; the health check takes the gateway out of rotation.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(reaches_app(&mut b).await);
    let signin = a.browser().login(P, "erin", PASSWORD, "/app").await;
    assert_eq!(signin.status, 503, "{}", signin.body);
    assert!(!signin.body.contains(WRONG_LOGIN));
    let health = a.browser().get(&format!("{P}/health")).await;
    assert_eq!(health.status, 503);
    // After it: 503 for the app too.
    tokio::time::sleep(
        Duration::from_secs(3).saturating_sub(down.elapsed()) + Duration::from_millis(500),
    )
    .await;
    let late = b.get("/app").await;
    assert_eq!(late.status, 503, "{}", late.body);

    // Back: everything resumes without a restart.
    own.restart();
    let took = time_until(async || reaches_app(&mut b).await).await;
    assert!(took < Duration::from_secs(5));
    assert_eq!(a.browser().get(&format!("{P}/health")).await.status, 200);
    own.stop();
}
