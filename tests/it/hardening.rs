//! Abuse resistance end to end: regulation (bans per user and per client IP), trusted
//! `X-Forwarded-For`, CSRF, portal headers, session ids and expiry, timing of failed logins,
//! malformed input, and the audit trail.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis::auth::throttle::{MAX_CACHED_BANS, MAX_COUNTED_SUBJECTS};
use portcullis::store::AuditEvent;

use crate::helpers::*;

/// The User-Agent these tests send where the audit trail is checked.
const UA: &str = "portcullis-hardening-test/1.0";

/// Trust the loopback peer's `X-Forwarded-For`, so that tests can play many client IPs.
const TRUST_LOOPBACK: &str = r#"trusted_proxies = ["127.0.0.1/32"]"#;

/// The words of the 403 page shown for a forged or expired form.
const FORGED: &str = "This form was not sent from this site";

/// The words of every failed login.
const WRONG: &str = "Wrong username or password.";

/// Starts a gateway with the standard apps and a config built from its parts: extra lines of
/// `[server]` and `[session]` (which holds `secure = false` unless `session` sets `secure`),
/// and `rest` (more sections, e.g. `[regulation]`).
fn gateway_with(server: &str, session: &str, rest: &str) -> TestGateway {
    let dir = tempfile::tempdir().unwrap();
    let upstream = spawn_upstream();
    let port = free_port();
    let secure = if session.contains("secure") {
        ""
    } else {
        "secure = false"
    };
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:{port}"
{server}

[storage]
path = "{db}"
key_file = "{key}"

[session]
{secure}
{session}

{rest}

{apps}
"#,
        db = dir.path().join("portcullis.db").display(),
        key = dir.path().join("portcullis.key").display(),
        apps = standard_apps(upstream),
    );
    start(dir, upstream, text)
}

/// A client that follows no redirects, for requests built by hand.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn url(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

/// POSTs a form through `b` (its cookies and Host) with the given extra headers; `Origin` is
/// the site's own unless `headers` names one (or `origin` is `None`: no Origin at all).
async fn post_as(
    b: &mut Browser,
    path: &str,
    fields: &[(&str, &str)],
    origin: Option<&str>,
    headers: &[(&str, &str)],
) -> Page {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut req = client()
        .post(url(b.addr, path))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(o) = origin {
        req = req.header("Origin", o);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    b.send(req).await
}

/// The site's own Origin for `b`.
fn own_origin(b: &Browser) -> String {
    format!("http://{}", b.host)
}

/// Signs in through the login page with extra headers on both requests (e.g.
/// `X-Forwarded-For`, `User-Agent`); returns the POST's answer.
async fn login_with(
    b: &mut Browser,
    prefix: &str,
    user: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> Page {
    let page = b.get_with(&format!("{prefix}/login?rd=%2F"), headers).await;
    assert_eq!(page.status, 200, "login page: {}", page.body);
    let csrf = page.field("csrf");
    let origin = own_origin(b);
    post_as(
        b,
        &format!("{prefix}/login"),
        &[
            ("username", user),
            ("password", password),
            ("csrf", &csrf),
            ("rd", "/"),
        ],
        Some(&origin),
        headers,
    )
    .await
}

/// Signs in as if from client IP `ip` (through a trusted proxy).
async fn login_from(b: &mut Browser, prefix: &str, ip: &str, user: &str, password: &str) -> Page {
    login_with(b, prefix, user, password, &[("X-Forwarded-For", ip)]).await
}

/// Asserts a 429 "too many attempts" page with a sensible `Retry-After`; returns its seconds.
#[track_caller]
fn assert_banned(page: &Page, ban_secs: u64) -> u64 {
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

/// The session cookie of a signed-in browser, if any.
fn session_cookie(b: &Browser) -> Option<String> {
    b.cookie("portcullis_session")
}

/// Asserts that `b` reaches the app (the upstream answers with a `Remote-User`).
async fn assert_signed_in(b: &mut Browser, user: &str) {
    let r = b.get("/whoami").await;
    assert_eq!(r.status, 200, "not signed in: {} {}", r.status, r.body);
    assert_eq!(r.echoed().header("Remote-User").as_deref(), Some(user));
}

/// Asserts that `b` is sent to the login page.
async fn assert_signed_out(b: &mut Browser) {
    let r = b.get("/whoami").await;
    assert_eq!(r.status, 302, "still signed in: {} {}", r.status, r.body);
    assert!(r.location().contains("/login?rd="), "{}", r.location());
}

/// Polls the audit trail (written asynchronously) until `done` holds; at most 5 s.
async fn audit_until(gw: &TestGateway, done: impl Fn(&[AuditEvent]) -> bool) -> Vec<AuditEvent> {
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

fn count(rows: &[AuditEvent], event: &str, user: &str) -> usize {
    rows.iter()
        .filter(|e| e.event == event && e.username.as_deref() == Some(user))
        .count()
}

/// A six-digit code that no step near now accepts for `secret`.
fn wrong_code(secret_base32: &str) -> String {
    let t = now();
    let near: Vec<String> = (0..=8)
        .map(|i| external_totp(secret_base32, t + i * 30 - 120))
        .collect();
    (0..10)
        .map(|d| d.to_string().repeat(6))
        .find(|c| !near.contains(c))
        .unwrap()
}

/// Wrong passwords for `user` from `ip` (through the trusted proxy) until the gateway answers
/// 429; returns that answer and the number of attempts it took (at most 20).
async fn fail_until_banned(gw: &TestGateway, ip: &str, user: &str) -> (Page, usize) {
    let mut b = gw.browser();
    let p = gw.prefix().to_string();
    for attempt in 1..=20 {
        let r = login_from(&mut b, &p, ip, user, "wrong password").await;
        if r.status == 429 {
            return (r, attempt);
        }
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains(WRONG), "{}", r.body);
    }
    panic!("no ban after 20 wrong passwords");
}

// -- 1. password brute force ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn five_wrong_passwords_ban_the_user_and_the_right_password_is_then_refused_unchecked() {
    let gw = gateway_with(TRUST_LOOPBACK, "", "");
    gw.add_user("alice", &[]);
    gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();

    let mut banned_at = None;
    for attempt in 1..=10 {
        let r = login_from(&mut b, &p, "203.0.113.7", "alice", "wrong password").await;
        if r.status == 429 {
            assert_banned(&r, 900);
            banned_at = Some(attempt);
            break;
        }
        assert_eq!(r.status, 200, "attempt {attempt}: {}", r.body);
        assert!(r.body.contains(WRONG));
    }
    let banned_at = banned_at.expect("a ban within 10 wrong passwords");
    println!("ban starts with wrong password number {banned_at} (max_failures = 5)");
    assert_eq!(banned_at, 5, "max_failures = 5 bans at the 5th failure");

    // The right password, same IP: refused, unchecked, no session.
    let r = login_from(&mut b, &p, "203.0.113.7", "alice", PASSWORD).await;
    let retry = assert_banned(&r, 900);
    assert!(retry > 850, "a fresh 15 min ban, Retry-After {retry}");
    assert_eq!(session_cookie(&b), None);
    assert_signed_out(&mut b).await;

    // The user is banned from any IP; the IP is banned for any user; others are unaffected.
    let mut other = gw.browser();
    let r = login_from(&mut other, &p, "203.0.113.8", "alice", PASSWORD).await;
    assert_banned(&r, 900);
    let r = login_from(&mut other, &p, "203.0.113.8", " ALICE ", PASSWORD).await;
    assert_banned(&r, 900);
    let r = login_from(&mut other, &p, "203.0.113.7", "bob", PASSWORD).await;
    assert_banned(&r, 900);
    let r = login_from(&mut other, &p, "203.0.113.8", "bob", PASSWORD).await;
    r.assert_redirect_to("/");
    assert_signed_in(&mut other, "bob").await;

    // The refused attempts were never verified: five failures, no login for alice.
    let rows = audit_until(&gw, |rows| {
        count(rows, "login_refused_banned", "alice") >= 2
            && count(rows, "login_refused_banned", "ALICE") >= 1
            && count(rows, "login", "bob") >= 1
    })
    .await;
    assert_eq!(count(&rows, "login_failure", "alice"), 5, "{rows:#?}");
    assert_eq!(
        count(&rows, "login_refused_banned", "alice"),
        2,
        "{rows:#?}"
    );
    assert_eq!(count(&rows, "login", "alice"), 0, "{rows:#?}");
}

// -- 2. per-IP ban ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn wrong_passwords_for_many_usernames_from_one_ip_ban_that_ip_only() {
    let gw = gateway_with(TRUST_LOOPBACK, "", "");
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut attacker = gw.browser();
    let mut banned_at = None;
    for i in 1..=10 {
        let user = format!("victim{i}");
        let r = login_from(&mut attacker, &p, "203.0.113.20", &user, "guess").await;
        if r.status == 429 {
            assert_banned(&r, 900);
            banned_at = Some(i);
            break;
        }
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(banned_at, Some(5), "the IP is banned at its 5th failure");

    // An innocent user behind the banned IP is refused even with the right password…
    let mut shared = gw.browser();
    let r = login_from(&mut shared, &p, "203.0.113.20", "alice", PASSWORD).await;
    assert_banned(&r, 900);
    assert_eq!(session_cookie(&shared), None);
    // …and signs in from another IP.
    let mut home = gw.browser();
    let r = login_from(&mut home, &p, "203.0.113.21", "alice", PASSWORD).await;
    r.assert_redirect_to("/");
    assert_signed_in(&mut home, "alice").await;
}

// -- 3. X-Forwarded-For from untrusted peers -------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn x_forwarded_for_from_an_untrusted_peer_neither_escapes_a_ban_nor_reaches_the_app() {
    let gw = spawn_gateway(); // no trusted_proxies
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut attacker = gw.browser();
    let mut banned_at = None;
    for i in 1..=10 {
        // A different spoofed address and user every time: only the real peer can be counted.
        let spoof = format!("198.51.100.{i}");
        let r = login_from(&mut attacker, &p, &spoof, &format!("victim{i}"), "guess").await;
        if r.status == 429 {
            banned_at = Some(i);
            break;
        }
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(
        banned_at,
        Some(5),
        "127.0.0.1 is banned whatever X-Forwarded-For says"
    );
    let mut b = gw.browser();
    let r = login_from(&mut b, &p, "198.51.100.99", "alice", PASSWORD).await;
    assert_banned(&r, 900);

    // The app sees the real peer, not the spoofed chain.
    let r = b
        .get_with(
            "/public/echo",
            &[("X-Forwarded-For", "6.6.6.6, 198.51.100.1")],
        )
        .await;
    let echo = r.echoed();
    assert_eq!(echo.header("X-Forwarded-For").as_deref(), Some("127.0.0.1"));
}

// -- 4. TOTP brute force ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn five_wrong_totp_codes_ban_and_then_the_right_code_is_refused() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let enrolled = enrol(&gw, "alice").await;
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    let r = b.login(&p, "alice", PASSWORD, "/secure/x").await;
    r.assert_redirect_to("/.portcullis/totp?rd=%2Fsecure%2Fx");
    let wrong = wrong_code(&enrolled.secret_base32);
    let mut banned_at = None;
    for attempt in 1..=10 {
        let r = b
            .submit(
                "/.portcullis/totp?rd=%2Fsecure%2Fx",
                "/.portcullis/totp",
                &[("code", &wrong)],
            )
            .await;
        if r.status == 429 {
            assert_banned(&r, 900);
            banned_at = Some(attempt);
            break;
        }
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("That code is not right"), "{}", r.body);
    }
    assert_eq!(banned_at, Some(5));

    let (right, _) = fresh_code(&enrolled.secret_base32, enrolled.last_code_time).await;
    let page = b.get("/.portcullis/totp?rd=%2Fsecure%2Fx").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.field("csrf");
    let r = b
        .post_form(
            "/.portcullis/totp",
            &[("code", &right), ("csrf", &csrf), ("rd", "/secure/x")],
        )
        .await;
    assert_banned(&r, 900);
    // Still only a pending session: the app is out of reach.
    let r = b.get("/secure/x").await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert!(!r.location().starts_with("/secure"), "{}", r.location());
}

// -- 5. spray --------------------------------------------------------------------------------

/// How many distinct client IPs the spray uses. Every attempt costs one argon2 verification
/// on the gateway's hashing pool (one thread on two cores), so the size keeps the test well
/// under a minute.
const SPRAY: usize = 600;

#[tokio::test(flavor = "multi_thread")]
async fn a_spray_from_many_ips_neither_lifts_a_ban_nor_locks_out_others_and_memory_stays_bounded() {
    let gw = gateway_with(TRUST_LOOPBACK, "", "");
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
            let http = client();
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

    let held = gw.state.regulator.held();
    println!("spray of {SPRAY} IPs took {took:?}; the regulator holds {held} subjects");
    assert!(held <= MAX_COUNTED_SUBJECTS + MAX_CACHED_BANS, "{held}");

    // The ban holds from a fresh IP; an innocent user from a fresh IP signs in.
    let mut fresh = gw.browser();
    let r = login_from(&mut fresh, &p, "203.0.113.51", "alice", PASSWORD).await;
    assert_banned(&r, 900);
    let r = login_from(&mut fresh, &p, "203.0.113.52", "bob", PASSWORD).await;
    r.assert_redirect_to("/");
    assert_signed_in(&mut fresh, "bob").await;
}

/// What a login form needs, fetched once and shared by many concurrent raw requests: the
/// pre-session cookie and its CSRF token.
#[derive(Clone)]
struct PreSession {
    addr: SocketAddr,
    action: String,
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
            addr: gw.addr,
            action,
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
        http.post(url(self.addr, &self.action))
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
    let gw = gateway_with(TRUST_LOOPBACK, "", "");
    gw.add_user("alice", &[]);
    gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();
    let (_, n) = fail_until_banned(&gw, "203.0.113.60", "alice").await;
    assert_eq!(n, 5);

    // More subjects than the caches hold, counted and banned, straight into the regulator
    // (the HTTP spray above cannot reach 100 000 subjects in reasonable time).
    let now = portcullis::auth::unix_now();
    let regulator = &gw.state.regulator;
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
    let r = login_from(&mut fresh, &p, "203.0.113.61", "alice", PASSWORD).await;
    assert_banned(&r, 900);
    let r = login_from(&mut fresh, &p, "203.0.113.62", "bob", PASSWORD).await;
    r.assert_redirect_to("/");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_guesses_get_no_more_checks_than_max_failures() {
    let gw = gateway_with(TRUST_LOOPBACK, "", "");
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
            (i, form.login(&client(), &ip, "alice", &password).await)
        });
    }
    let mut answers = Vec::new();
    while let Some(done) = tasks.join_next().await {
        answers.push(done.unwrap());
    }
    answers.sort();
    let rows = audit_until(&gw, |rows| {
        count(rows, "login_failure", "alice")
            + count(rows, "login_refused_banned", "alice")
            + count(rows, "login", "alice")
            >= 20
    })
    .await;
    let checked = count(&rows, "login_failure", "alice") + count(&rows, "login", "alice");
    println!(
        "20 concurrent guesses: {checked} checked, answers {:?}",
        answers.iter().map(|(_, s)| *s).collect::<Vec<_>>()
    );
    assert_eq!(
        answers[19].1, 429,
        "the right password after the ban is refused"
    );
    assert_eq!(count(&rows, "login", "alice"), 0, "no login while banned");
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
    let cookie = format!("portcullis_session={}", session_cookie(&b).unwrap());
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
        let (csrf, cookie, action) = (
            csrf.clone(),
            cookie.clone(),
            url(gw.addr, &format!("{p}/totp")),
        );
        tasks.spawn(async move {
            if i == guesses {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let body: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs([("code", code.as_str()), ("csrf", &csrf), ("rd", "/")])
                .finish();
            let status = client()
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
    let rows = audit_until(&gw, |rows| count(rows, "totp_failure", "alice") >= 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows = audit_until(&gw, |r| r.len() >= rows.len()).await;
    let checked = count(&rows, "totp_failure", "alice");
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

// -- 6. restart ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_ban_survives_a_restart() {
    let gw = gateway_with(TRUST_LOOPBACK, "", "");
    gw.add_user("alice", &[]);
    gw.add_user("bob", &[]);
    let (_, n) = fail_until_banned(&gw, "203.0.113.30", "alice").await;
    assert_eq!(n, 5);
    let gw = gw.restart();
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    // The user's ban and the IP's ban both came back from the store.
    let r = login_from(&mut b, &p, "203.0.113.31", "alice", PASSWORD).await;
    assert_banned(&r, 900);
    let r = login_from(&mut b, &p, "203.0.113.30", "bob", PASSWORD).await;
    assert_banned(&r, 900);
    let r = login_from(&mut b, &p, "203.0.113.31", "bob", PASSWORD).await;
    r.assert_redirect_to("/");
}

// -- 7. CSRF ---------------------------------------------------------------------------------

/// Five forgeries of a form whose honest fields (without `csrf`) are `fields`: no token, a
/// wrong token, the right token from a foreign `Origin`, a foreign `Referer`, `Origin: null`
/// without a token.
/// Each must be the 403 "form expired" page.
async fn assert_forgeries_refused(
    b: &mut Browser,
    action: &str,
    fields: &[(&str, &str)],
    csrf: &str,
) {
    let own = own_origin(b);
    let wrong_token = "A".repeat(43);
    // (what, csrf sent, Origin, Referer)
    let cases = [
        ("no csrf", None, Some(own.as_str()), None),
        (
            "wrong csrf",
            Some(wrong_token.as_str()),
            Some(own.as_str()),
            None,
        ),
        ("foreign Origin", Some(csrf), Some("http://evil.test"), None),
        ("Origin null without csrf", None, Some("null"), None),
        (
            "foreign Referer",
            Some(csrf),
            None,
            Some("http://evil.test/page"),
        ),
    ];
    for (what, token, origin, referer) in cases {
        let mut pairs: Vec<(&str, &str)> = fields.to_vec();
        if let Some(t) = token {
            pairs.push(("csrf", t));
        }
        let headers: Vec<(&str, &str)> = referer.map(|r| ("Referer", r)).into_iter().collect();
        let r = post_as(b, action, &pairs, origin, &headers).await;
        assert_eq!(r.status, 403, "{what} on {action}: {} {}", r.status, r.body);
        assert!(r.body.contains(FORGED), "{what} on {action}: {}", r.body);
        assert!(
            r.set_cookies().is_empty(),
            "{what} on {action}: {:?}",
            r.set_cookies()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_forms_get_403_and_change_nothing() {
    let gw = spawn_gateway();
    let alice = gw.add_user("alice", &[]);
    gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();
    let mut enrolled = enrol(&gw, "alice").await;
    let store = gw.store();
    let codes_before: Vec<String> = store
        .unused_recovery_codes(alice)
        .unwrap()
        .into_iter()
        .map(|r| r.hash)
        .collect();
    assert_eq!(codes_before.len(), 10);
    let a = &mut enrolled.browser;
    assert_signed_in(a, "alice").await;
    let account = a.get(&format!("{p}/account")).await;
    let csrf = account.field("csrf");

    // Login: no session appears.
    let mut visitor = gw.browser();
    let page = visitor.get(&format!("{p}/login")).await;
    let login_csrf = page.field("csrf");
    assert_forgeries_refused(
        &mut visitor,
        &format!("{p}/login"),
        &[("username", "bob"), ("password", PASSWORD), ("rd", "/")],
        &login_csrf,
    )
    .await;
    assert_eq!(session_cookie(&visitor), None);
    assert_signed_out(&mut visitor).await;

    // Logout: still signed in.
    assert_forgeries_refused(a, &format!("{p}/logout"), &[], &csrf).await;
    assert_signed_in(a, "alice").await;

    // Disable 2FA with a valid recovery code: still on.
    let recovery = enrolled.recovery_codes[0].clone();
    let a = &mut enrolled.browser;
    assert_forgeries_refused(
        a,
        &format!("{p}/totp/disable"),
        &[("code", &recovery)],
        &csrf,
    )
    .await;
    assert!(store.totp(alice).unwrap().is_some(), "2FA is still on");

    // Regenerate recovery codes with a valid TOTP code: the same codes.
    let (code, _) = fresh_code(&enrolled.secret_base32, enrolled.last_code_time).await;
    let a = &mut enrolled.browser;
    assert_forgeries_refused(a, &format!("{p}/recovery-codes"), &[("code", &code)], &csrf).await;
    let codes_after: Vec<String> = store
        .unused_recovery_codes(alice)
        .unwrap()
        .into_iter()
        .map(|r| r.hash)
        .collect();
    assert_eq!(codes_before, codes_after, "recovery codes unchanged");
    assert_signed_in(a, "alice").await;

    // The same requests with the right token from the site itself do work.
    let r = a
        .post_form(
            &format!("{p}/recovery-codes"),
            &[("code", &code), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let new_codes = shown_codes(&r);
    assert_eq!(new_codes.len(), 10, "{}", r.body);
    let r = a
        .post_form(
            &format!("{p}/totp/disable"),
            &[("code", &new_codes[0]), ("csrf", &csrf)],
        )
        .await;
    r.assert_redirect_to(&format!("{p}/account?done=totp_disabled"));
    assert!(store.totp(alice).unwrap().is_none());
    let account = a.get(&format!("{p}/account")).await;
    let csrf = account.field("csrf");
    let r = a
        .post_form(&format!("{p}/logout"), &[("csrf", &csrf)])
        .await;
    r.assert_redirect_to(&format!("{p}/login"));
    assert_signed_out(a).await;
    let r = visitor
        .post_form(
            &format!("{p}/login"),
            &[
                ("username", "bob"),
                ("password", PASSWORD),
                ("csrf", &login_csrf),
                ("rd", "/"),
            ],
        )
        .await;
    r.assert_redirect_to("/");
}

// -- 8. portal headers -----------------------------------------------------------------------

#[track_caller]
fn assert_portal_headers(what: &str, r: &Page) {
    assert_eq!(
        r.header("cache-control"),
        Some("no-store"),
        "{what}: {:?}",
        r.headers
    );
    let all_cache: Vec<_> = r.headers.get_all("cache-control").iter().collect();
    assert_eq!(
        all_cache.len(),
        1,
        "{what}: one Cache-Control: {all_cache:?}"
    );
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP in {:?}", r.headers));
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-eval"), "{what}: {csp}");
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert!(
        !r.body.contains("<script"),
        "{what}: no script in {}",
        r.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_portal_response_carries_the_security_headers() {
    let down = free_port();
    let gw = spawn_gateway_with(|upstream| {
        format!(
            "{}\n[[apps]]\nname = \"down\"\nhosts = [\"down.test\"]\nupstream = \"127.0.0.1:{down}\"\ndefault_policy = \"bypass\"\n",
            standard_apps(upstream)
        )
    });
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();

    let r = b.get(&format!("{p}/login")).await;
    assert_eq!(r.status, 200);
    assert_portal_headers("login page", &r);

    let r = b.get(&format!("{p}/no-such-page")).await;
    assert_eq!(r.status, 404);
    assert_portal_headers("portal 404", &r);

    let r = b
        .post_form(
            &format!("{p}/login"),
            &[("username", "alice"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_portal_headers("CSRF 403", &r);

    let r = b.get("/deny/x").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_portal_headers("deny 403", &r);

    let mut stranger = Browser::new(gw.addr, "unknown.test");
    let r = stranger.get("/").await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_portal_headers("unknown host 404", &r);

    let mut to_down = Browser::new(gw.addr, "down.test");
    let r = to_down.get("/x").await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert_portal_headers("502", &r);

    let r = b
        .submit(
            &format!("{p}/login"),
            &format!("{p}/login"),
            &[("username", "alice"), ("password", "")],
        )
        .await;
    assert_eq!(r.status, 400);
    assert_portal_headers("login 400", &r);

    let r = b.get(&format!("{p}/health")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_portal_headers("health", &r);

    let r = b
        .get_with(
            &format!("{p}/verify"),
            &[("X-Original-URL", "http://app.test/private")],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_portal_headers("verify 401", &r);

    // Last, as it bans 127.0.0.1.
    let mut banned = None;
    for _ in 0..10 {
        let r = b.login(&p, "alice", "wrong password", "/").await;
        if r.status == 429 {
            banned = Some(r);
            break;
        }
        assert_portal_headers("login failure", &r);
    }
    let r = banned.expect("a 429");
    assert_portal_headers("429", &r);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_style_sheet_carries_one_cache_control_header_and_the_portal_headers() {
    let gw = spawn_gateway();
    let mut b = gw.browser();
    let r = b.get(&format!("{}/static/style.css", gw.prefix())).await;
    assert_eq!(r.status, 200);
    assert_portal_headers("style sheet", &r);
}

// -- 9. session ids and cookie attributes ----------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn the_session_id_changes_at_every_login_step_and_the_cookie_is_locked_down() {
    let gw = spawn_gateway();
    gw.add_user("bob", &[]);
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();

    // Password only: the pre-login (CSRF) cookie and a planted session value are not reused.
    let mut b = gw.browser();
    let planted = "P".repeat(43);
    b.cookies
        .push(("portcullis_session".into(), planted.clone()));
    let page = b.get(&format!("{p}/login")).await;
    let pre = b
        .cookie("portcullis_session_csrf")
        .expect("a pre-login cookie");
    let csrf = page.field("csrf");
    let r = b
        .post_form(
            &format!("{p}/login"),
            &[
                ("username", "bob"),
                ("password", PASSWORD),
                ("csrf", &csrf),
                ("rd", "/"),
            ],
        )
        .await;
    r.assert_redirect_to("/");
    let set = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("portcullis_session="))
        .expect("a session cookie");
    let session = session_cookie(&b).unwrap();
    assert_ne!(session, pre);
    assert_ne!(session, planted);
    assert_ne!(csrf, session);
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set.split("; ").any(|a| a == attr), "{attr} in {set}");
    }
    assert!(!set.contains("Secure"), "secure = false: {set}");
    assert_signed_in(&mut b, "bob").await;
    // The pre-login cookie's value is no session.
    let mut forger = gw.browser();
    forger.cookies.push(("portcullis_session".into(), pre));
    assert_signed_out(&mut forger).await;

    // With TOTP: the pending id differs from the final one, and is dead afterwards.
    let enrolled = enrol(&gw, "alice").await;
    let mut a = gw.browser();
    let r = a.login(&p, "alice", PASSWORD, "/").await;
    r.assert_redirect_to("/.portcullis/totp?rd=%2F");
    let pending = session_cookie(&a).expect("a pending session");
    let pending_cookie = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("portcullis_session="))
        .unwrap();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            pending_cookie.split("; ").any(|x| x == attr),
            "{attr} in {pending_cookie}"
        );
    }
    let (code, _) = fresh_code(&enrolled.secret_base32, enrolled.last_code_time).await;
    let r = a
        .submit(
            "/.portcullis/totp?rd=%2F",
            "/.portcullis/totp",
            &[("code", &code)],
        )
        .await;
    r.assert_redirect_to("/");
    let full = session_cookie(&a).unwrap();
    assert_ne!(full, pending);
    assert_signed_in(&mut a, "alice").await;
    let mut old = gw.browser();
    old.cookies.push(("portcullis_session".into(), pending));
    let r = old.get(&format!("{p}/totp")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.location().starts_with(&format!("{p}/login")),
        "{}",
        r.location()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secure_config_without_cookie_domain_uses_host_prefixed_secure_cookies() {
    let gw = gateway_with("", "secure = true", "");
    gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    let page = b.get(&format!("{p}/login")).await;
    let pre = page
        .set_cookies()
        .into_iter()
        .next()
        .expect("a pre-login cookie");
    assert!(pre.starts_with("__Host-portcullis_session_csrf="), "{pre}");
    let r = b.login(&p, "bob", PASSWORD, "/").await;
    r.assert_redirect_to("/");
    let set = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-"))
        .expect("a session cookie");
    assert!(set.starts_with("__Host-portcullis_session="), "{set}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure"] {
        assert!(set.split("; ").any(|a| a == attr), "{attr} in {set}");
    }
    assert!(!set.to_ascii_lowercase().contains("domain="), "{set}");
    let r = b.get("/whoami").await;
    assert_eq!(r.echoed().header("Remote-User").as_deref(), Some("bob"));
}

// -- 10. expiry ------------------------------------------------------------------------------

/// Requests `/whoami` every half second until the session stops working; returns how long
/// that took from `since` (at most `limit`).
async fn time_until_signed_out(
    b: &mut Browser,
    since: Instant,
    limit: Duration,
) -> Option<Duration> {
    while since.elapsed() < limit {
        let r = b.get("/whoami").await;
        if r.status == 302 {
            return Some(since.elapsed());
        }
        assert_eq!(r.status, 200, "{}", r.body);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_session_expires_also_across_a_restart() {
    let gw = gateway_with("", "idle_timeout = \"2s\"", "");
    gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    b.login(&p, "bob", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    // Used every half second, it stays alive past the idle timeout.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(3500) {
        assert_signed_in(&mut b, "bob").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Left alone for 3 s, it is gone.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_signed_out(&mut b).await;

    // After a restart the session comes back from the store, and still expires when idle.
    let mut b = gw.browser();
    b.login(&p, "bob", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    let restarting = Instant::now();
    let gw = gw.restart();
    println!("restart took {:?}", restarting.elapsed());
    assert_signed_in(&mut b, "bob").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_signed_out(&mut b).await;
    drop(gw);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_in_use_still_ends_at_its_absolute_timeout_also_across_a_restart() {
    let gw = gateway_with("", "absolute_timeout = \"3s\"", "");
    gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    let since = Instant::now();
    b.login(&p, "bob", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    let ended = time_until_signed_out(&mut b, since, Duration::from_secs(8))
        .await
        .expect("the session ends");
    assert!(ended >= Duration::from_secs(2), "{ended:?}");

    let mut b = gw.browser();
    let since = Instant::now();
    b.login(&p, "bob", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    let gw = gw.restart();
    let ended = time_until_signed_out(&mut b, since, Duration::from_secs(8))
        .await
        .expect("the session ends after a restart too");
    assert!(ended >= Duration::from_secs(2), "{ended:?}");
    drop(gw);
}

// -- 11. timing ------------------------------------------------------------------------------

/// One failed login (wrong password) of `user` from `ip`, timed from send to the whole answer.
async fn timed_failure(
    b: &mut Browser,
    action: &str,
    csrf: &str,
    user: &str,
    ip: &str,
) -> Duration {
    let start = Instant::now();
    let r = post_as(
        b,
        action,
        &[
            ("username", user),
            ("password", "wrong password"),
            ("csrf", csrf),
        ],
        Some("http://app.test"),
        &[("X-Forwarded-For", ip)],
    )
    .await;
    let took = start.elapsed();
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains(WRONG));
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_users_and_wrong_passwords_take_the_same_time() {
    let gw = gateway_with(TRUST_LOOPBACK, "", "[regulation]\nmax_failures = 100\n");
    for i in 0..3 {
        gw.add_user(&format!("user{i}"), &[]);
    }
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    let page = b.get(&format!("{p}/login")).await;
    let csrf = page.field("csrf");
    let action = format!("{p}/login");
    // Warm-up.
    for i in 0..3 {
        timed_failure(
            &mut b,
            &action,
            &csrf,
            &format!("user{i}"),
            &format!("203.0.113.{i}"),
        )
        .await;
        let ip = format!("203.0.113.{}", 10 + i);
        timed_failure(&mut b, &action, &csrf, &format!("ghost-w{i}"), &ip).await;
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..15 {
        let ip = |n: usize| format!("198.51.100.{n}");
        if i % 2 == 0 {
            known.push(
                timed_failure(
                    &mut b,
                    &action,
                    &csrf,
                    &format!("user{}", i % 3),
                    &ip(2 * i),
                )
                .await,
            );
            unknown.push(
                timed_failure(&mut b, &action, &csrf, &format!("ghost{i}"), &ip(2 * i + 1)).await,
            );
        } else {
            unknown.push(
                timed_failure(&mut b, &action, &csrf, &format!("ghost{i}"), &ip(2 * i + 1)).await,
            );
            known.push(
                timed_failure(
                    &mut b,
                    &action,
                    &csrf,
                    &format!("user{}", i % 3),
                    &ip(2 * i),
                )
                .await,
            );
        }
    }
    let (k, u) = (median(known), median(unknown));
    let ratio = k.as_secs_f64().max(u.as_secs_f64()) / k.as_secs_f64().min(u.as_secs_f64());
    println!("median wrong password {k:?}, unknown user {u:?}, ratio {ratio:.3}");
    assert!(ratio <= 1.5, "wrong password {k:?} vs unknown user {u:?}");
}

// -- 12. malformed input ---------------------------------------------------------------------

/// Writes `request` on a fresh connection and reads until the server closes or is quiet for
/// two seconds. Returns what was read and whether the server closed the connection.
fn raw_exchange(addr: SocketAddr, request: &[u8]) -> (String, bool) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(request); // the server may close before reading everything
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let deadline = Instant::now() + Duration::from_secs(10);
    let closed = loop {
        if Instant::now() > deadline {
            break false;
        }
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break false
            }
            Err(_) => break true, // reset
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

/// The status codes of every response in `text`.
fn statuses(text: &str) -> Vec<u16> {
    text.match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| text.get(i + 9..i + 12)?.parse().ok())
        .collect()
}

/// POSTs `body` as `content_type` to `action` through `b`, with the site's Origin.
async fn post_raw(b: &mut Browser, action: &str, content_type: &str, body: Vec<u8>) -> Page {
    let req = client()
        .post(url(b.addr, action))
        .header("Origin", own_origin(b))
        .header("Content-Type", content_type)
        .body(body);
    b.send(req).await
}

/// A plain request still gets its answer.
async fn assert_still_serving(gw: &TestGateway) {
    let r = client()
        .get(gw.portal("/health"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("the gateway still answers");
    assert_eq!(r.status(), 200);
    let mut b = gw.browser();
    let r = b.get(&format!("{}/login", gw.prefix())).await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_forms_are_refused_and_the_gateway_keeps_serving() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    let page = b.get(&format!("{p}/login")).await;
    let csrf = page.field("csrf");
    let action = format!("{p}/login");
    let form = "application/x-www-form-urlencoded";

    let mut body = format!("csrf={csrf}&username=alice&password=").into_bytes();
    body.extend_from_slice(b"\xff\xfe");
    let r = post_raw(&mut b, &action, form, body).await;
    assert_eq!(r.status, 400, "raw non-UTF-8: {}", r.body);
    let r = post_raw(
        &mut b,
        &action,
        form,
        format!("csrf={csrf}&username=%ff&password=x").into_bytes(),
    )
    .await;
    assert_eq!(r.status, 400, "encoded non-UTF-8: {}", r.body);

    let big = format!(
        "csrf={csrf}&username=alice&password={}",
        "x".repeat(17 * 1024)
    );
    let r = post_raw(&mut b, &action, form, big.into_bytes()).await;
    assert!(
        matches!(r.status, 413 | 400),
        "over 16 KiB: {} {}",
        r.status,
        r.body
    );

    let long_name = "n".repeat(10_000);
    let r = b
        .post_form(
            &action,
            &[
                ("username", &long_name),
                ("password", "x"),
                ("csrf", &csrf),
                ("rd", "/"),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("name=\"csrf\""),
        "the form again: {}",
        r.body
    );
    assert!(r.body.contains("longer than any username"), "{}", r.body);
    assert!(
        !r.body.contains(&long_name),
        "the huge name is not echoed back"
    );

    let r = post_raw(
        &mut b,
        &action,
        "application/json",
        serde_json::json!({"username": "alice", "password": PASSWORD, "csrf": csrf})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(r.status, 415, "{}", r.body);
    assert_eq!(session_cookie(&b), None);
    assert_still_serving(&gw).await;

    // None of that counted as a failed login.
    let r = b.login(&p, "alice", PASSWORD, "/").await;
    r.assert_redirect_to("/");
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_framing_and_huge_headers_get_4xx_or_a_closed_connection() {
    let gw = spawn_gateway();
    let p = gw.prefix().to_string();

    // Content-Length that is not a number.
    let req = format!(
        "POST {p}/login HTTP/1.1\r\nHost: app.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: abc\r\n\r\nusername=a"
    );
    let (text, closed) = raw_exchange(gw.addr, req.as_bytes());
    let codes = statuses(&text);
    println!("Content-Length: abc -> {codes:?}, closed: {closed}");
    assert!(
        codes.first().is_some_and(|c| (400..500).contains(c)) || (codes.is_empty() && closed),
        "bad Content-Length: {text}"
    );
    assert_still_serving(&gw).await;

    // Content-Length and Transfer-Encoding together, with a smuggled request behind them, to a
    // route the gateway proxies.
    let smuggle = "POST /public/x HTTP/1.1\r\nHost: app.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /public/smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n";
    let (text, closed) = raw_exchange(gw.addr, smuggle.as_bytes());
    let codes = statuses(&text);
    println!("Content-Length + Transfer-Encoding -> {codes:?}, closed: {closed}");
    assert!(
        !text.contains("/public/smuggled"),
        "the smuggled request was answered: {text}"
    );
    assert!(codes.len() <= 1, "one request, one answer: {text}");
    assert!(
        codes.first().is_some_and(|c| (400..500).contains(c)) || closed,
        "CL+TE: a 4xx, or the connection closed after the answer: {text}"
    );
    assert_still_serving(&gw).await;

    // A 2 MiB header.
    let req = format!(
        "GET /whoami HTTP/1.1\r\nHost: app.test\r\nX-Big: {}\r\n\r\n",
        "a".repeat(2 * 1024 * 1024)
    );
    let (text, closed) = raw_exchange(gw.addr, req.as_bytes());
    let codes = statuses(&text);
    println!("2 MiB header -> {codes:?}, closed: {closed}");
    assert!(
        codes.first().is_some_and(|c| (400..500).contains(c)) || (codes.is_empty() && closed),
        "2 MiB header: {}",
        text.chars().take(300).collect::<String>()
    );
    assert_still_serving(&gw).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_100_kb_request_header_is_refused() {
    let gw = spawn_gateway();
    let req = format!(
        "GET /whoami HTTP/1.1\r\nHost: app.test\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let (text, closed) = raw_exchange(gw.addr, req.as_bytes());
    let codes = statuses(&text);
    println!("100 KB header -> {codes:?}, closed: {closed}");
    assert_still_serving(&gw).await;
    assert!(
        codes.first().is_some_and(|c| *c == 431 || *c == 400) || (codes.is_empty() && closed),
        "100 KB header: {}",
        text.chars().take(300).collect::<String>()
    );
}

/// A guessed password that must never reach the audit trail.
const GUESS: &str = "Tr0ub4dor&3-guess";

// -- 13. audit -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn logins_failures_bans_and_logouts_are_audited_and_the_cli_shows_them() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();
    let ua = [("User-Agent", UA)];

    let mut a = gw.browser();
    login_with(&mut a, &p, "alice", PASSWORD, &ua)
        .await
        .assert_redirect_to("/");
    let account = a.get(&format!("{p}/account")).await;
    let csrf = account.field("csrf");
    let origin = own_origin(&a);
    post_as(
        &mut a,
        &format!("{p}/logout"),
        &[("csrf", &csrf)],
        Some(&origin),
        &ua,
    )
    .await
    .assert_redirect_to(&format!("{p}/login"));

    let mut m = gw.browser();
    for attempt in 1..=5 {
        let r = login_with(&mut m, &p, "bob", GUESS, &ua).await;
        assert_eq!(r.status, if attempt < 5 { 200 } else { 429 }, "{}", r.body);
    }

    let rows = audit_until(&gw, |rows| {
        count(rows, "ban", "bob") >= 2 && count(rows, "logout", "alice") >= 1
    })
    .await;
    for (event, user) in [
        ("login", "alice"),
        ("logout", "alice"),
        ("login_failure", "bob"),
        ("ban", "bob"),
    ] {
        let row = rows
            .iter()
            .find(|e| e.event == event && e.username.as_deref() == Some(user))
            .unwrap_or_else(|| panic!("no {event} row for {user} in {rows:#?}"));
        assert_eq!(row.client_ip.as_deref(), Some("127.0.0.1"), "{row:?}");
        assert_eq!(row.user_agent.as_deref(), Some(UA), "{row:?}");
        assert!(row.at > 0);
    }
    assert_eq!(count(&rows, "login_failure", "bob"), 5);
    let bans: Vec<&str> = rows
        .iter()
        .filter(|e| e.event == "ban")
        .filter_map(|e| e.detail.as_deref())
        .collect();
    assert!(bans.iter().any(|d| d.starts_with("user:bob")), "{bans:?}");
    assert!(
        bans.iter().any(|d| d.starts_with("ip:127.0.0.1")),
        "{bans:?}"
    );
    // No secret reaches the trail.
    assert!(!rows.iter().any(|e| format!("{e:?}").contains(GUESS)));
    assert!(!rows.iter().any(|e| format!("{e:?}").contains(PASSWORD)));

    let out = gw.cli(&["audit"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    for (event, user) in [
        ("login ", "alice"),
        ("logout", "alice"),
        ("login_failure", "bob"),
        ("ban ", "bob"),
    ] {
        assert!(
            table.lines().any(|l| l.contains(event)
                && l.contains(user)
                && l.contains("127.0.0.1")
                && l.contains(UA)),
            "no {event} line for {user}:\n{table}"
        );
    }

    let out = gw.cli(&["audit", "--json"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() >= 9, "{text}");
    let ban = lines
        .iter()
        .find(|v| v["event"] == "ban" && v["username"] == "bob")
        .unwrap_or_else(|| panic!("no ban in {text}"));
    assert_eq!(ban["client_ip"], "127.0.0.1");
    assert_eq!(ban["user_agent"], UA);
    assert!(ban["at"].as_i64().unwrap() > 0);

    let out = gw.cli(&["audit", "--user", "alice", "--json"], None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines().all(|l| l.contains("\"username\":\"alice\"")),
        "{text}"
    );
}

// -- 14. same answer for every failure -------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn unknown_disabled_and_wrong_password_logins_get_the_same_answer() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    gw.add_user("bob", &[]);
    let out = gw.cli(&["user", "disable", "bob"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = gw.prefix().to_string();
    let mut b = gw.browser();

    let mut answers = Vec::new();
    for (user, password) in [
        ("carol", PASSWORD),
        ("bob", PASSWORD),
        ("alice", "wrong password"),
        ("bob", "wrong password"),
    ] {
        let r = b.login(&p, user, password, "/app").await;
        let body = r
            .body
            .replace(&format!("value=\"{user}\""), "value=\"USER\"");
        let cookies = r.set_cookies();
        answers.push((user, password, r.status, body, cookies));
    }
    let (_, _, status, body, cookies) = &answers[0];
    assert_eq!(*status, 200);
    assert!(body.contains(WRONG), "{body}");
    for (user, password, s, b2, c) in &answers[1..] {
        assert_eq!(s, status, "{user}/{password}");
        assert_eq!(b2, body, "{user}/{password}");
        assert_eq!(c, cookies, "{user}/{password}");
    }
    assert_eq!(session_cookie(&b), None);
}

/// Pages are served with `Referrer-Policy: no-referrer`, so browsers post their forms with
/// `Origin: null` and no `Referer`; with the right token that is an honest sign-in.
#[tokio::test(flavor = "multi_thread")]
async fn a_browser_form_post_with_origin_null_and_its_token_signs_in() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    let page = b.get(&format!("{p}/login?rd=%2Fdocs")).await;
    let csrf = page.field("csrf");
    let fields = [
        ("username", "alice"),
        ("password", PASSWORD),
        ("csrf", csrf.as_str()),
        ("rd", "/docs"),
    ];
    let r = post_as(&mut b, &format!("{p}/login"), &fields, Some("null"), &[]).await;
    r.assert_redirect_to("/docs");
    assert!(b.cookie("portcullis_session").is_some());
}
