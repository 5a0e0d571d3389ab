//! Regulation seen from outside: wrong passwords ban the user and the client address, the
//! right password is then refused unchecked, a spoofed `X-Forwarded-For` from an untrusted peer
//! escapes nothing, wrong TOTP codes ban too, and bans survive a restart.

use crate::helpers::*;

// -- password brute force --------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn five_wrong_passwords_ban_the_user_and_the_right_password_is_then_refused_unchecked() {
    let gw = spawn_gateway_configured(TRUST_LOOPBACK, "", "");
    gw.add_user("alice", &[]);
    gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();

    let mut banned_at = None;
    for attempt in 1..=10 {
        let r = b
            .login_from(&p, "203.0.113.7", "alice", "wrong password")
            .await;
        if r.status == 429 {
            assert_banned(&r, 900);
            banned_at = Some(attempt);
            break;
        }
        assert_eq!(r.status, 200, "attempt {attempt}: {}", r.body);
        assert!(r.body.contains(WRONG_LOGIN));
    }
    let banned_at = banned_at.expect("a ban within 10 wrong passwords");
    println!("ban starts with wrong password number {banned_at} (max_failures = 5)");
    assert_eq!(banned_at, 5, "max_failures = 5 bans at the 5th failure");

    // The right password, same IP: refused, unchecked, no session.
    let r = b.login_from(&p, "203.0.113.7", "alice", PASSWORD).await;
    let retry = assert_banned(&r, 900);
    assert!(retry > 850, "a fresh 15 min ban, Retry-After {retry}");
    assert_eq!(b.session_cookie(), None);
    assert_signed_out(&mut b).await;

    // The user is banned from any IP; the IP is banned for any user; others are unaffected.
    let mut other = gw.browser();
    let r = other.login_from(&p, "203.0.113.8", "alice", PASSWORD).await;
    assert_banned(&r, 900);
    let r = other
        .login_from(&p, "203.0.113.8", " ALICE ", PASSWORD)
        .await;
    assert_banned(&r, 900);
    let r = other.login_from(&p, "203.0.113.7", "bob", PASSWORD).await;
    assert_banned(&r, 900);
    let r = other.login_from(&p, "203.0.113.8", "bob", PASSWORD).await;
    r.assert_redirect_to("/");
    assert_signed_in(&mut other, "bob").await;

    // The refused attempts were never verified: five failures, no login for alice.
    let rows = audit_until(&gw, |rows| {
        count_rows(rows, "login_failure", "alice") >= 5
            && count_rows(rows, "login_refused_banned", "alice") >= 2
            && count_rows(rows, "login_refused_banned", "ALICE") >= 1
            && count_rows(rows, "login", "bob") >= 1
    })
    .await;
    assert_eq!(count_rows(&rows, "login_failure", "alice"), 5, "{rows:#?}");
    assert_eq!(
        count_rows(&rows, "login_refused_banned", "alice"),
        2,
        "{rows:#?}"
    );
    assert_eq!(count_rows(&rows, "login", "alice"), 0, "{rows:#?}");
}

// -- per-IP ban ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn wrong_passwords_for_many_usernames_from_one_ip_ban_that_ip_only() {
    let gw = spawn_gateway_configured(TRUST_LOOPBACK, "", "");
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut attacker = gw.browser();
    let mut banned_at = None;
    for i in 1..=10 {
        let user = format!("victim{i}");
        let r = attacker
            .login_from(&p, "203.0.113.20", &user, "guess")
            .await;
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
    let r = shared
        .login_from(&p, "203.0.113.20", "alice", PASSWORD)
        .await;
    assert_banned(&r, 900);
    assert_eq!(shared.session_cookie(), None);
    // …and signs in from another IP.
    let mut home = gw.browser();
    let r = home.login_from(&p, "203.0.113.21", "alice", PASSWORD).await;
    r.assert_redirect_to("/");
    assert_signed_in(&mut home, "alice").await;
}

// -- X-Forwarded-For from untrusted peers ----------------------------------------------------

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
        let r = attacker
            .login_from(&p, &spoof, &format!("victim{i}"), "guess")
            .await;
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
    let r = b.login_from(&p, "198.51.100.99", "alice", PASSWORD).await;
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

// -- TOTP brute force ------------------------------------------------------------------------

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
    let r = b
        .submit(
            "/.portcullis/totp?rd=%2Fsecure%2Fx",
            "/.portcullis/totp",
            &[("code", &right)],
        )
        .await;
    assert_banned(&r, 900);
    // Still only a pending session: the app is out of reach.
    let r = b.get("/secure/x").await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert!(!r.location().starts_with("/secure"), "{}", r.location());
}

// -- restart ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_ban_survives_a_restart() {
    let gw = spawn_gateway_configured(TRUST_LOOPBACK, "", "");
    gw.add_user("alice", &[]);
    gw.add_user("bob", &[]);
    let (_, n) = fail_until_banned(&gw, "203.0.113.30", "alice").await;
    assert_eq!(n, 5);
    let gw = gw.restart();
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    // The user's ban and the IP's ban both came back from the store.
    let r = b.login_from(&p, "203.0.113.31", "alice", PASSWORD).await;
    assert_banned(&r, 900);
    let r = b.login_from(&p, "203.0.113.30", "bob", PASSWORD).await;
    assert_banned(&r, 900);
    let r = b.login_from(&p, "203.0.113.31", "bob", PASSWORD).await;
    r.assert_redirect_to("/");
}
