//! What a failed login gives away: unknown users, disabled users and wrong passwords get the
//! same answer and take the same time.

use std::time::{Duration, Instant};

use crate::helpers::*;

// -- the same time ---------------------------------------------------------------------------

/// One failed login (wrong password) of `user` from `ip`, timed from send to the whole answer.
async fn timed_failure(
    b: &mut Browser,
    action: &str,
    csrf: &str,
    user: &str,
    ip: &str,
) -> Duration {
    let start = Instant::now();
    let r = b
        .post_form_with(
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
    assert!(r.body.contains(WRONG_LOGIN));
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_users_and_wrong_passwords_take_the_same_time() {
    let gw = spawn_gateway_configured(TRUST_LOOPBACK, "", "[regulation]\nmax_failures = 100\n");
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

// -- the same answer -------------------------------------------------------------------------

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
        assert!(
            r.body.contains(WRONG_LOGIN),
            "{user}/{password}: {}",
            r.body
        );
        assert_eq!(b.session_cookie(), None, "{user}/{password}");
        answers.push((user, password, r.status, body, cookies));
    }
    let (_, _, status, body, cookies) = &answers[0];
    assert_eq!(*status, 200);
    assert!(body.contains(WRONG_LOGIN), "{body}");
    for (user, password, s, b2, c) in &answers[1..] {
        assert_eq!(s, status, "{user}/{password}");
        assert_eq!(b2, body, "{user}/{password}");
        assert_eq!(c, cookies, "{user}/{password}");
    }
    assert_eq!(b.session_cookie(), None);
}
