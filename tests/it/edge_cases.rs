//! The edges where a gateway and the apps behind it could disagree, and the corners of the
//! flows that a straight path through them never visits.

use std::io::{Read, Write};
use std::time::Duration;

use crate::helpers::*;

const P: &str = "/.portcullis";

/// One raw request; returns the status line and headers.
fn raw(addr: std::net::SocketAddr, request: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn java_path_parameters_cannot_smuggle_a_dot_segment_past_a_bypass_rule() {
    let gw = spawn_gateway();
    for path in [
        "/public/..;/admins/x",
        "/public/%2e%2e;x/admins/x",
        "/public/%252e%252e/admins/x",
    ] {
        let out = raw(
            gw.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n"),
        );
        assert!(out.starts_with("HTTP/1.1 400"), "{path}: {out}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_with_a_trailing_dot_is_the_same_host() {
    let gw = spawn_gateway();
    let mut b = Browser::new(gw.addr, "app.test.");
    let r = b.get("/x").await;
    assert_eq!(
        r.status, 302,
        "app.test.'s one_factor default applies, not 404: {}",
        r.body
    );
    assert!(r.location().starts_with("/.portcullis/login"));
}

#[tokio::test(flavor = "multi_thread")]
async fn head_requests_fall_under_rules_written_for_get() {
    let gw = spawn_gateway_with(|up| {
        format!(
            "[[apps]]\nname = \"a\"\nhosts = [\"app.test\"]\nupstream = \"{up}\"\ndefault_policy = \"bypass\"\n\
             [[apps.rules]]\npaths = [\"/admin/**\"]\nmethods = [\"GET\"]\npolicy = \"deny\"\n"
        )
    });
    let get = raw(
        gw.addr,
        "GET /admin/x HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n",
    );
    assert!(get.starts_with("HTTP/1.1 403"), "{get}");
    let head = raw(
        gw.addr,
        "HEAD /admin/x HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_auth_refuses_headers_that_describe_two_different_requests() {
    let gw = spawn_gateway();
    let client = reqwest::Client::new();
    let verify = gw.portal("/verify");
    // Traefik sets X-Forwarded-*, and passes on a client's own X-Original-URL.
    let r = client
        .get(&verify)
        .header("X-Forwarded-Proto", "http")
        .header("X-Forwarded-Host", "app.test")
        .header("X-Forwarded-Uri", "/private")
        .header("X-Original-URL", "http://other.test/anything")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client
        .get(&verify)
        .header("X-Original-URL", "http://app.test/private")
        .header("X-Original-Method", "GET")
        .header("X-Forwarded-Method", "HEAD")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Agreeing headers are fine: unauthenticated, so 401.
    let r = client
        .get(&verify)
        .header("X-Original-URL", "http://app.test/private")
        .header("X-Forwarded-Host", "app.test")
        .header("X-Forwarded-Uri", "/private")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_again_with_the_password_buys_no_more_code_guesses() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let enrolled = enrol(&gw, "alice").await;
    drop(enrolled);
    let mut wrong = 0;
    // Rounds of: password (right), then wrong codes; max_failures = 5 per user.
    for _round in 0..3 {
        let mut b = gw.browser();
        let r = b.login(P, "alice", PASSWORD, "/").await;
        if r.status == 429 {
            break;
        }
        assert_eq!(r.status, 303, "{}", r.body);
        for _ in 0..2 {
            let r = b
                .submit(
                    &format!("{P}/totp"),
                    &format!("{P}/totp"),
                    &[("code", "000000")],
                )
                .await;
            if r.status == 429 {
                assert!(wrong >= 4, "banned after only {wrong} wrong codes");
                assert!(wrong < 5, "more than max_failures codes were checked");
                return;
            }
            wrong += 1;
        }
    }
    panic!("{wrong} wrong codes over three sign-ins and no ban");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_session_sees_its_own_pending_totp_secret() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let mut one = gw.browser();
    one.login(P, "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    let mut two = gw.browser();
    two.login(P, "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    let first = setup_secret(&one.get(&format!("{P}/totp/setup")).await);
    let again = setup_secret(&one.get(&format!("{P}/totp/setup")).await);
    assert_eq!(first, again, "revisiting shows the same secret");
    let other = setup_secret(&two.get(&format!("{P}/totp/setup")).await);
    assert_ne!(
        first, other,
        "another session must not see this session's secret"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_typo_in_the_new_code_does_not_use_up_a_recovery_code() {
    let gw = spawn_gateway();
    let id = gw.add_user("alice", &[]);
    let mut e = enrol(&gw, "alice").await;
    let page = e.browser.get(&format!("{P}/totp/setup")).await;
    assert!(
        page.body.contains("current_code"),
        "re-enrolment asks for a current code"
    );
    let r = e
        .browser
        .post_form(
            &format!("{P}/totp/setup"),
            &[
                ("code", "000000"),
                ("current_code", &e.recovery_codes[0]),
                ("csrf", &page.field("csrf")),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("not right"), "{}", r.body);
    assert_eq!(gw.store().recovery_codes_left(id).unwrap(), 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_session_whose_user_turned_totp_off_gets_the_sign_in_form() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let mut e = enrol(&gw, "alice").await;
    // Device B: password done, code not yet typed.
    let mut pending = gw.browser();
    let r = pending.login(P, "alice", PASSWORD, "/").await;
    assert!(r.location().starts_with("/.portcullis/totp"));
    // Device A turns TOTP off.
    let (code, _) = fresh_code(&e.secret_base32, e.last_code_time).await;
    let off = e
        .browser
        .submit(
            &format!("{P}/account"),
            &format!("{P}/totp/disable"),
            &[("code", &code)],
        )
        .await;
    assert_eq!(off.status, 303, "{}", off.body);
    // B is shown the sign-in form, not a loop of redirects.
    let r = pending.get(&format!("{P}/totp")).await;
    assert_eq!(r.status, 303);
    let login = pending.get(r.location()).await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert!(login.body.contains("Sign in"));
}

#[tokio::test(flavor = "multi_thread")]
async fn rd_in_the_login_query_is_honoured_on_post() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let mut b = gw.browser();
    let page = b.get(&format!("{P}/login")).await;
    let csrf = page.field("csrf");
    let r = b
        .post_form(
            &format!("{P}/login?rd=%2Fpublic%2Fx"),
            &[
                ("username", "alice"),
                ("password", PASSWORD),
                ("csrf", &csrf),
            ],
        )
        .await;
    r.assert_redirect_to("/public/x");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_gets_the_real_client_in_x_real_ip_and_no_forged_forwarded_header() {
    let gw = spawn_gateway();
    let mut b = gw.browser();
    let echo = b
        .get_with(
            "/public/x",
            &[("Forwarded", "for=6.6.6.6"), ("X-Real-IP", "6.6.6.6")],
        )
        .await
        .echoed();
    assert_eq!(echo.headers("x-real-ip"), vec!["127.0.0.1".to_string()]);
    assert!(echo.headers("forwarded").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn made_up_session_cookies_do_not_each_reach_the_store() {
    let gw = spawn_gateway();
    let mut b = gw.browser();
    b.cookies
        .push(("portcullis_session".into(), "A".repeat(43)));
    assert_eq!(b.get("/x").await.status, 302);
    let before = gw.state.store.session_reads();
    for _ in 0..20 {
        assert_eq!(b.get("/x").await.status, 302);
    }
    assert_eq!(gw.state.store.session_reads(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_refuses_names_and_groups_that_would_corrupt_headers() {
    let gw = spawn_gateway();
    for (args, why) in [
        (
            vec![
                "user",
                "add",
                "eve",
                "--group",
                "staff,admins",
                "--password-stdin",
            ],
            "not a valid group",
        ),
        (
            vec![
                "user",
                "add",
                "eve",
                "--name",
                "Eve\r\nX-Injected: 1",
                "--password-stdin",
            ],
            "control",
        ),
    ] {
        let out = gw.cli(&args, Some("long enough password\n"));
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{err}");
    }
    assert!(gw.store().user_by_name("eve").unwrap().is_none());
}

#[test]
fn ipv4_and_ipv6_listeners_share_a_port() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let upstream = spawn_upstream();
    let text = format!(
        "[server]\nlisten = [\"127.0.0.1:{port}\", \"[::1]:{port}\"]\n[storage]\npath = \"{db}\"\nkey_file = \"{key}\"\n\
         [[apps]]\nname = \"a\"\nupstream = \"{upstream}\"\ndefault_policy = \"bypass\"\n",
        db = dir.path().join("p.db").display(),
        key = dir.path().join("p.key").display(),
    );
    let gw = start(dir, upstream, text);
    for addr in [format!("127.0.0.1:{port}"), format!("[::1]:{port}")] {
        let out = raw(
            addr.parse().unwrap(),
            "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        );
        assert!(out.starts_with("HTTP/1.1 200"), "{addr}: {out}");
    }
    drop(gw);
}
