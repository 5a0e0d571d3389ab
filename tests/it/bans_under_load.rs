//! Regulation under load: a spray from many addresses and a flood beyond the regulator's
//! capacity keep its memory bounded and bans in force, and concurrent guesses get no more
//! checks than `max_failures`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis::auth::throttle::{MAX_CACHED_BANS, MAX_COUNTED_SUBJECTS};

use crate::helpers::*;

/// How many distinct client IPs the spray uses. Every attempt costs one argon2 verification
/// on the gateway's hashing pool (one thread on two cores), so the size keeps the test well
/// under a minute.
const SPRAY: usize = 600;

#[tokio::test(flavor = "multi_thread")]
async fn a_spray_from_many_ips_neither_lifts_a_ban_nor_locks_out_others_and_memory_stays_bounded() {
    let gw = spawn_gateway_configured(TRUST_LOOPBACK, "", "");
    gw.add_user("alice", &[]);
    gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();
    let (_, n) = fail_until_banned(&gw, "203.0.113.50", "alice").await;
    assert_eq!(n, 5);

    // One pre-session CSRF cookie serves every sprayed request.
    let form = PreSession::new(&gw).await;
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (next, form) = (Arc::clone(&next), form.clone());
        workers.spawn(async move {
            let http = client_without_redirects();
            let mut statuses = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= SPRAY {
                    return statuses;
                }
                let ip = format!("198.18.{}.{}", i / 250, i % 250 + 1);
                let user = format!("spray-{i}-{}", name_suffix(i));
                statuses.push(form.login(&http, &ip, &user, "guess").await);
            }
        });
    }
    let mut statuses = Vec::new();
    while let Some(done) = workers.join_next().await {
        statuses.extend(done.unwrap());
    }
    let took = started.elapsed();
    assert_eq!(statuses.len(), SPRAY);
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every sprayed attempt is an ordinary failure: {:?}",
        statuses
            .iter()
            .filter(|s| **s != 200)
            .take(10)
            .collect::<Vec<_>>()
    );

    let held = gw.state.regulation.regulator().held();
    println!("spray of {SPRAY} IPs took {took:?}; the regulator holds {held} subjects");
    assert!(held <= MAX_COUNTED_SUBJECTS + MAX_CACHED_BANS, "{held}");

    // The ban holds from a fresh IP; an innocent user from a fresh IP signs in.
    let mut fresh = gw.browser();
    let r = fresh
        .login_from(&p, "203.0.113.51", "alice", PASSWORD)
        .await;
    assert_banned(&r, 900);
    let r = fresh.login_from(&p, "203.0.113.52", "bob", PASSWORD).await;
    r.assert_redirect_to("/");
    assert_signed_in(&mut fresh, "bob").await;
}

/// What a login form needs, fetched once and shared by many concurrent raw requests: the
/// pre-session cookie and its CSRF token.
#[derive(Clone)]
struct PreSession {
    url: String,
    cookie: String,
    csrf: String,
}

impl PreSession {
    async fn new(gw: &TestGateway) -> PreSession {
        let mut b = gw.browser();
        let action = format!("{}/login", gw.prefix());
        let page = b.get(&action).await;
        let csrf = page.field("csrf");
        let cookie = b
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        PreSession {
            url: gw.url(&action),
            cookie,
            csrf,
        }
    }

    /// POSTs the login form from client IP `ip` (through the trusted proxy); the status.
    async fn login(&self, http: &reqwest::Client, ip: &str, user: &str, password: &str) -> u16 {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("username", user),
                ("password", password),
                ("csrf", self.csrf.as_str()),
                ("rd", "/"),
            ])
            .finish();
        http.post(&self.url)
            .header("Host", "app.test")
            .header("Origin", "http://app.test")
            .header("Cookie", &self.cookie)
            .header("X-Forwarded-For", ip)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// A cheap, deterministic per-index suffix (the names only need to differ).
fn name_suffix(i: usize) -> String {
    format!("{:x}", (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_beyond_the_regulators_capacity_keeps_memory_bounded_and_bans_in_force() {
    let gw = spawn_gateway_configured(TRUST_LOOPBACK, "", "");
    gw.add_user("alice", &[]);
    gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();
    let (_, n) = fail_until_banned(&gw, "203.0.113.60", "alice").await;
    assert_eq!(n, 5);

    // More subjects than the caches hold, counted and banned, straight into the regulator
    // (the HTTP spray above cannot reach 100 000 subjects in reasonable time).
    let now = portcullis::auth::unix_now();
    let regulator = gw.state.regulation.regulator();
    let extra = 20_000;
    for i in 0..(MAX_COUNTED_SUBJECTS + extra) {
        regulator.record_failure(&format!("ip:flood-{i}"), now);
    }
    for i in 0..(MAX_CACHED_BANS + extra) {
        regulator.remember_ban(&format!("ip:banned-{i}"), now + 900);
    }
    let held = regulator.held();
    println!(
        "after a flood of {} subjects the regulator holds {held}",
        MAX_COUNTED_SUBJECTS + MAX_CACHED_BANS + 2 * extra
    );
    assert!(held <= MAX_COUNTED_SUBJECTS + MAX_CACHED_BANS, "{held}");

    // Whether or not alice's ban was evicted from the cache, the store keeps it in force.
    let mut fresh = gw.browser();
    let r = fresh
        .login_from(&p, "203.0.113.61", "alice", PASSWORD)
        .await;
    assert_banned(&r, 900);
    let r = fresh.login_from(&p, "203.0.113.62", "bob", PASSWORD).await;
    r.assert_redirect_to("/");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_guesses_get_no_more_checks_than_max_failures() {
    let gw = spawn_gateway_configured(TRUST_LOOPBACK, "", "");
    gw.add_user("alice", &[]);
    let form = PreSession::new(&gw).await;
    // 20 guesses at once, each from its own IP (so only alice's ban can stop them), the right
    // password last. They queue behind the password hashing pool.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let form = form.clone();
        tasks.spawn(async move {
            tokio::time::sleep(Duration::from_millis(5 * i as u64)).await;
            let password = if i == 19 {
                PASSWORD.to_string()
            } else {
                format!("guess-{i}")
            };
            let ip = format!("203.0.113.{}", 100 + i);
            (
                i,
                form.login(&client_without_redirects(), &ip, "alice", &password)
                    .await,
            )
        });
    }
    let mut answers = Vec::new();
    while let Some(done) = tasks.join_next().await {
        answers.push(done.unwrap());
    }
    answers.sort();
    let rows = audit_until(&gw, |rows| {
        count_rows(rows, "login_failure", "alice")
            + count_rows(rows, "login_refused_banned", "alice")
            + count_rows(rows, "login", "alice")
            >= 20
    })
    .await;
    let checked = count_rows(&rows, "login_failure", "alice") + count_rows(&rows, "login", "alice");
    println!(
        "20 concurrent guesses: {checked} checked, answers {:?}",
        answers.iter().map(|(_, s)| *s).collect::<Vec<_>>()
    );
    assert_eq!(
        answers[19].1, 429,
        "the right password after the ban is refused"
    );
    assert_eq!(
        count_rows(&rows, "login", "alice"),
        0,
        "no login while banned"
    );
    assert!(
        checked <= 5,
        "{checked} passwords checked with max_failures = 5"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_totp_guesses_get_no_more_checks_than_max_failures() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let enrolled = enrol(&gw, "alice").await;
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    b.login(&p, "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/.portcullis/totp?rd=%2F");
    let page = b.get(&format!("{p}/totp?rd=%2F")).await;
    let csrf = page.field("csrf");
    let cookie = format!("portcullis_session={}", b.session_cookie().unwrap());
    let near: Vec<String> = (0..=8)
        .map(|i| external_totp(&enrolled.secret_base32, now() + i * 30 - 120))
        .collect();
    let (right, _) = fresh_code(&enrolled.secret_base32, enrolled.last_code_time).await;
    let mut tasks = tokio::task::JoinSet::new();
    let guesses = 100;
    for i in 0..=guesses {
        let code = if i == guesses {
            right.clone()
        } else {
            (0..)
                .map(|k| format!("{:06}", 123_457 * (i * 7 + k) % 1_000_000))
                .find(|c| !near.contains(c))
                .unwrap()
        };
        let (csrf, cookie, action) = (csrf.clone(), cookie.clone(), gw.url(&format!("{p}/totp")));
        tasks.spawn(async move {
            if i == guesses {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let body: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs([("code", code.as_str()), ("csrf", &csrf), ("rd", "/")])
                .finish();
            let status = client_without_redirects()
                .post(action)
                .header("Host", "app.test")
                .header("Origin", "http://app.test")
                .header("Cookie", cookie)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            (i, status)
        });
    }
    let mut answers = Vec::new();
    while let Some(done) = tasks.join_next().await {
        answers.push(done.unwrap());
    }
    answers.sort();
    let rows = audit_until(&gw, |rows| count_rows(rows, "totp_failure", "alice") >= 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows = audit_until(&gw, |r| r.len() >= rows.len()).await;
    let checked = count_rows(&rows, "totp_failure", "alice");
    let refused = answers.iter().filter(|(_, s)| *s == 429).count();
    println!(
        "{guesses} concurrent TOTP guesses: {checked} checked, {refused} answered 429, the right code: {}",
        answers[guesses].1
    );
    assert_eq!(
        answers[guesses].1, 429,
        "the right code after the ban is refused"
    );
    assert!(
        checked <= 5,
        "{checked} codes checked with max_failures = 5"
    );
}
