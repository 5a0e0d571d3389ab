//! Session ids and cookies: a new id at every login step, locked-down cookie attributes,
//! `__Host-` cookies in a secure config, and idle and absolute expiry across restarts.

use std::time::{Duration, Instant};

use crate::helpers::*;

// -- session ids and cookie attributes -------------------------------------------------------

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
    let session = b.session_cookie().unwrap();
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
    let pending = a.session_cookie().expect("a pending session");
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
    let full = a.session_cookie().unwrap();
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
    let gw = spawn_gateway_configured("", "secure = true", "");
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

// -- expiry ----------------------------------------------------------------------------------

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
    let gw = spawn_gateway_configured("", "idle_timeout = \"2s\"", "");
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
    let gw = spawn_gateway_configured("", "absolute_timeout = \"3s\"", "");
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

#[tokio::test(flavor = "multi_thread")]
async fn last_seen_times_reach_the_store_when_flushed_and_never_go_back() {
    let gw = spawn_gateway();
    gw.add_user("gina", &[]);
    let mut b = gw.browser();
    b.login(gw.prefix(), "gina", PASSWORD, "/app").await;
    let store = gw.store();
    let row = store.list_sessions(Some("gina")).unwrap().remove(0).row;
    // Used 42 s later (in memory): the next flush writes that time.
    let later = row.last_seen + 42;
    assert!(gw.state.sessions.cached(&row.id_hash, later).is_some());
    assert!(gw.state.sessions.flush_last_seen().await.unwrap() >= 1);
    assert_eq!(
        store.session(&row.id_hash).unwrap().unwrap().last_seen,
        later
    );
    // An older time, from another gateway's flush, does not move it back.
    store
        .touch_sessions(&[(row.id_hash, row.last_seen + 1), ([9; 32], later)])
        .unwrap();
    assert_eq!(
        store.session(&row.id_hash).unwrap().unwrap().last_seen,
        later
    );
}
