//! The request path: routing, policies, identity headers, sessions, revocation, the CLI.

use std::io::{Read, Write};
use std::time::Duration;

use crate::helpers::*;

const P: &str = "/.portcullis";

async fn signed_in(gw: &TestGateway, user: &str) -> Browser {
    let mut b = gw.browser();
    b.login(P, user, PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    b
}

#[tokio::test(flavor = "multi_thread")]
async fn anonymous_browsers_are_sent_to_login_with_rd() {
    let gw = spawn_gateway();
    let mut b = gw.browser();
    let r = b.get("/docs/page?x=1").await;
    assert_eq!(r.status, 302);
    assert_eq!(r.location(), "/.portcullis/login?rd=%2Fdocs%2Fpage%3Fx%3D1");
}

#[tokio::test(flavor = "multi_thread")]
async fn api_clients_without_a_session_get_401_json() {
    let gw = spawn_gateway();
    let mut b = gw.browser();
    b.accept_html = false;
    let r = b
        .get_with("/api/items", &[("Accept", "application/json")])
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["error"], "authentication required");
}

#[tokio::test(flavor = "multi_thread")]
async fn bypass_routes_are_forwarded_without_identity() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let mut b = signed_in(&gw, "alice").await;
    let echo = b.get("/public/readme").await.echoed();
    assert_eq!(echo.uri(), "/public/readme");
    assert_eq!(echo.header("remote-user"), None);
    // Anonymous too.
    let mut anon = gw.browser();
    assert_eq!(anon.get("/public/").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn deny_routes_answer_403_even_when_signed_in() {
    let gw = spawn_gateway();
    gw.add_user("alice", &["admins"]);
    let mut b = signed_in(&gw, "alice").await;
    let r = b.get("/deny/x").await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("Forbidden"));
    let mut anon = gw.browser();
    assert_eq!(anon.get("/deny/x").await.status, 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn group_rules_admit_only_members() {
    let gw = spawn_gateway();
    gw.add_user("alice", &["admins"]);
    gw.add_user("bob", &["staff"]);
    let mut alice = signed_in(&gw, "alice").await;
    let echo = alice.get("/admins/panel").await.echoed();
    assert_eq!(echo.header("remote-groups").as_deref(), Some("admins"));
    let mut bob = signed_in(&gw, "bob").await;
    let r = bob.get("/admins/panel").await;
    assert_eq!(r.status, 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn user_rules_admit_only_named_users() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    gw.add_user("bob", &[]);
    let mut alice = signed_in(&gw, "alice").await;
    assert_eq!(
        alice
            .get("/alice-only/x")
            .await
            .echoed()
            .header("remote-user")
            .as_deref(),
        Some("alice")
    );
    let mut bob = signed_in(&gw, "bob").await;
    assert_eq!(bob.get("/alice-only/x").await.status, 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn method_rules_apply_only_to_their_methods() {
    let gw = spawn_gateway();
    let mut b = gw.browser();
    let post = b.post_form("/post-only", &[("a", "b")]).await;
    assert_eq!(post.echoed().0["method"], "POST");
    let get = b.get("/post-only").await;
    assert_eq!(
        get.status, 302,
        "GET falls through to the default one_factor policy"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_factor_routes_never_pass_on_one_factor() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let mut b = signed_in(&gw, "alice").await;
    let r = b.get("/secure/x").await;
    assert_eq!(r.status, 302);
    assert!(
        r.location().starts_with("/.portcullis/totp/setup"),
        "{}",
        r.location()
    );
    b.accept_html = false;
    let api = b
        .get_with("/secure/x", &[("Accept", "application/json")])
        .await;
    assert_eq!(api.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn login_success_redirects_to_rd_with_a_strict_cookie_and_identity_reaches_the_app() {
    let gw = spawn_gateway();
    gw.add_user("alice", &["admins", "staff"]);
    let mut b = gw.browser();
    let r = b.login(P, "alice", PASSWORD, "/wiki/page?x=1").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/wiki/page?x=1");
    let cookie = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("portcullis_session="))
        .expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(
        !cookie.contains("Secure"),
        "secure = false in this config: {cookie}"
    );
    let echo = b.get("/wiki/page?x=1").await.echoed();
    assert_eq!(echo.header("remote-user").as_deref(), Some("alice"));
    assert_eq!(
        echo.header("remote-email").as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(echo.header("remote-name").as_deref(), Some("alice Example"));
    assert_eq!(
        echo.header("remote-groups").as_deref(),
        Some("admins,staff")
    );
    assert_eq!(echo.header("x-forwarded-for").as_deref(), Some("127.0.0.1"));
    assert_eq!(echo.header("x-forwarded-proto").as_deref(), Some("http"));
    assert_eq!(echo.header("x-forwarded-host").as_deref(), Some("app.test"));
}

#[tokio::test(flavor = "multi_thread")]
async fn spoofed_identity_headers_are_stripped_in_every_spelling_also_on_bypass_routes() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let mut b = signed_in(&gw, "alice").await;
    let spoof = [
        ("Remote-User", "mallory"),
        ("remote_user", "mallory"),
        ("REMOTE-GROUPS", "admins"),
        ("Remote_Email", "m@evil.test"),
        ("remote-name", "Mallory"),
    ];
    let echo = b.get_with("/x", &spoof).await.echoed();
    assert_eq!(echo.headers("remote-user"), vec!["alice".to_string()]);
    assert_eq!(echo.headers("remote-groups"), vec!["".to_string()]);
    assert!(echo.headers("remote_user").is_empty());
    assert!(echo.headers("remote_email").is_empty());
    assert_eq!(
        echo.headers("remote-email"),
        vec!["alice@example.com".to_string()]
    );

    // Duplicates of one header, and on a bypass route with no identity at all.
    let mut anon = gw.browser();
    let req_headers = [
        ("Remote-User", "a"),
        ("Remote-User", "b"),
        ("remote_groups", "admins"),
    ];
    let echo = anon.get_with("/public/x", &req_headers).await.echoed();
    for name in echo.names() {
        let folded = name.to_ascii_lowercase().replace('_', "-");
        assert!(!folded.starts_with("remote-"), "{name} reached the app");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_cookie_is_removed_before_the_app_and_other_cookies_are_kept() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let mut b = signed_in(&gw, "alice").await;
    b.cookies.push(("theme".into(), "dark".into()));
    b.cookies.push(("app_session".into(), "xyz".into()));
    let echo = b.get("/x").await.echoed();
    let cookies = echo.headers("cookie").join("; ");
    assert!(cookies.contains("theme=dark"), "{cookies}");
    assert!(cookies.contains("app_session=xyz"), "{cookies}");
    assert!(!cookies.contains("portcullis_session"), "{cookies}");
    assert!(!cookies.contains("portcullis_session_csrf"), "{cookies}");
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_ends_the_session_at_once() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let mut b = signed_in(&gw, "alice").await;
    let old = b.cookie("portcullis_session").unwrap();
    assert_eq!(b.get("/x").await.status, 200);
    let account = b.get(&format!("{P}/account")).await;
    let r = b
        .post_form(&format!("{P}/logout"), &[("csrf", &account.field("csrf"))])
        .await;
    r.assert_redirect_to("/.portcullis/login?signed_out=1");
    assert!(r
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("portcullis_session=;") && c.contains("Max-Age=0")));
    // The old cookie, replayed, no longer works.
    b.cookies.push(("portcullis_session".into(), old));
    assert_eq!(b.get("/x").await.status, 302);
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_revocation_disable_and_delete_end_cached_sessions_at_once() {
    let gw = spawn_gateway();
    for u in ["alice", "bob", "carol"] {
        gw.add_user(u, &[]);
    }
    let mut alice = signed_in(&gw, "alice").await;
    let mut bob = signed_in(&gw, "bob").await;
    let mut carol = signed_in(&gw, "carol").await;
    for b in [&mut alice, &mut bob, &mut carol] {
        assert_eq!(b.get("/x").await.status, 200, "cached now");
    }
    let out = gw.cli(&["sessions", "revoke", "alice"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(alice.get("/x").await.status, 302, "revoked at once");
    let out = gw.cli(&["user", "disable", "bob"], None);
    assert!(out.status.success());
    assert_eq!(bob.get("/x").await.status, 302, "disabled at once");
    let again = bob.login(P, "bob", PASSWORD, "/").await;
    assert!(again.body.contains("Wrong username or password."));
    let out = gw.cli(&["user", "delete", "carol"], None);
    assert!(out.status.success());
    assert_eq!(carol.get("/x").await.status, 302, "deleted at once");
}

#[tokio::test(flavor = "multi_thread")]
async fn group_changes_from_the_cli_reach_cached_sessions() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let mut b = signed_in(&gw, "alice").await;
    assert_eq!(b.get("/admins/x").await.status, 403);
    let out = gw.cli(&["user", "groups", "alice", "--add", "admins"], None);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "alice: admins");
    let echo = b.get("/admins/x").await.echoed();
    assert_eq!(echo.header("remote-groups").as_deref(), Some("admins"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_keeps_sessions() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let mut b = signed_in(&gw, "alice").await;
    assert_eq!(b.get("/x").await.status, 200);
    let gw = gw.restart();
    b.addr = gw.addr;
    let echo = b.get("/x").await.echoed();
    assert_eq!(echo.header("remote-user").as_deref(), Some("alice"));
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_sha256_of_a_session_id_is_stored() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let b = signed_in(&gw, "alice").await;
    let value = b.cookie("portcullis_session").unwrap();
    let bytes = gw.database_bytes();
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(
        !contains(value.as_bytes()),
        "the cookie value is in the database"
    );
    use sha2::Digest;
    let hash = sha2::Sha256::digest(value.as_bytes());
    // SQLite's file holds the bytes; PostgreSQL's dump writes them in hex.
    let stored = match crate::pg::on_postgres() {
        true => hex::encode(hash).into_bytes(),
        false => hash.to_vec(),
    };
    assert!(contains(&stored), "the SHA-256 of the id is what is stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn open_redirect_attempts_land_on_slash() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    for rd in [
        "//evil.test/x",
        "/\\evil.test",
        "https://evil.test/",
        "javascript:alert(1)",
        "http://app.test@evil.test/",
        "%2F%2Fevil.test",
        "/%09/evil.test",
        "/\t/evil.test",
        "\\\\evil.test",
        "https:evil.test",
        "data:text/html,x",
        "http://evil.test\\@app.test/",
    ] {
        let mut b = gw.browser();
        let r = b.login(P, "alice", PASSWORD, rd).await;
        assert_eq!(r.status, 303, "{rd}");
        let loc = r.location();
        assert!(
            loc == "/" || loc == rd && rd == "/%09/evil.test",
            "rd {rd:?} led to {loc:?}"
        );
    }
    // Allowed: relative paths and the apps' own hosts.
    for rd in ["/wiki?a=1", "http://app.test/x", "https://other.test/y"] {
        let mut b = gw.browser();
        let r = b.login(P, "alice", PASSWORD, rd).await;
        assert_eq!(r.location(), rd);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_no_app_serves_gets_404_and_no_upstream() {
    let gw = spawn_gateway();
    let mut b = Browser::new(gw.addr, "unknown.test");
    let r = b.get("/public/x").await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains("No application"));
    // Ports and case do not matter for known hosts.
    let mut b = Browser::new(gw.addr, "OTHER.test:8080");
    assert_eq!(b.get("/x").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn dot_segments_are_refused_rather_than_routed() {
    let gw = spawn_gateway();
    let mut s = std::net::TcpStream::connect(gw.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET /public/../admins/x HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    // Encoded, so that no client library resolves it first.
    for path in [
        "/public/%2e%2e/admins/x",
        "/public/%2E./admins/x",
        "/public/..%5cadmins",
    ] {
        let mut s = std::net::TcpStream::connect(gw.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        assert!(out.starts_with("HTTP/1.1 400"), "{path}: {out}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_upstream_gives_a_502_page_and_the_gateway_keeps_serving() {
    let gw = spawn_gateway_with_dead_app();
    let mut b = Browser::new(gw.addr, "dead.test");
    for _ in 0..3 {
        let r = b.get("/x").await;
        assert_eq!(r.status, 502);
        assert!(r.body.contains("not answering"), "{}", r.body);
    }
    let mut ok = Browser::new(gw.addr, "other.test");
    assert_eq!(ok.get("/x").await.status, 200);
}

/// One upgrade through the gateway: `Ok` when bytes sent after the 101 come back.
fn upgrade_round_trip(addr: std::net::SocketAddr) -> Result<(), String> {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET /public/ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    .unwrap();
    let mut buf = [0u8; 4096];
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the upgrade answer");
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    assert!(text.starts_with("HTTP/1.1 101"), "{text}");
    s.write_all(b"ping through the gateway").unwrap();
    let mut echoed = Vec::new();
    while echoed.len() < 24 {
        let n = s.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed right after the 101".into());
        }
        echoed.extend_from_slice(&buf[..n]);
    }
    assert_eq!(&echoed, b"ping through the gateway");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn websocket_upgrades_pass_through() {
    let gw = spawn_gateway();
    // Pingora 0.9 sometimes tears an upgrade down right after the 101 when the upstream
    // answers faster than the request's empty body is forwarded (pingora issue #946, about 2%
    // of upgrades on loopback). Clients reconnect; so does this test, a bounded number of times.
    let mut failures = Vec::new();
    for _ in 0..5 {
        match upgrade_round_trip(gw.addr) {
            Ok(()) => return,
            Err(e) => failures.push(e),
        }
    }
    panic!("no upgrade passed through in 5 tries: {failures:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_session_is_answered_without_reading_the_store() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let mut b = signed_in(&gw, "alice").await;
    assert_eq!(b.get("/x").await.status, 200);
    let before = gw.state.store.session_reads();
    for _ in 0..50 {
        assert_eq!(b.get("/x").await.status, 200);
    }
    assert_eq!(
        gw.state.store.session_reads(),
        before,
        "the hot path read the store"
    );
    // Control: once the cache is dropped, the same session is read from the store once.
    gw.state.sessions.invalidate_all();
    assert_eq!(b.get("/x").await.status, 200);
    assert_eq!(gw.state.store.session_reads(), before + 1);
    assert_eq!(b.get("/x").await.status, 200);
    assert_eq!(gw.state.store.session_reads(), before + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn health_answers_when_the_store_does() {
    let gw = spawn_gateway();
    let mut b = gw.browser();
    let r = b.get(&format!("{P}/health")).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("\"ok\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_auth_answers_nginx_and_caddy_style_requests() {
    let gw = spawn_gateway();
    gw.add_user("alice", &["admins"]);
    let signed = signed_in(&gw, "alice").await;
    let cookie = format!(
        "portcullis_session={}",
        signed.cookie("portcullis_session").unwrap()
    );
    let client = client_without_redirects();
    let verify = gw.portal("/verify");
    // nginx: X-Original-URL, no cookie, a browser.
    let r = client
        .get(&verify)
        .header("X-Original-URL", "https://app.test/wiki?a=1")
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["location"],
        "https://app.test/.portcullis/login?rd=https%3A%2F%2Fapp.test%2Fwiki%3Fa%3D1"
    );
    // Caddy/Traefik: X-Forwarded-*, with the session cookie.
    let r = client
        .get(&verify)
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "app.test")
        .header("X-Forwarded-Uri", "/admins/x")
        .header("X-Forwarded-Method", "GET")
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["remote-user"], "alice");
    assert_eq!(r.headers()["remote-groups"], "admins");
    // Denied and two-factor routes.
    let r = client
        .get(&verify)
        .header("X-Original-URL", "http://app.test/deny/x")
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = client
        .get(&verify)
        .header("X-Original-URL", "http://app.test/secure/x")
        .header("Accept", "text/html")
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .contains("/.portcullis/totp/setup"));
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_auth_redirects_browsers_and_answers_401_to_other_clients() {
    let gw = spawn_gateway();
    let client = client_without_redirects();
    let verify = gw.portal("/verify");
    let caddy = |accept: &'static str, method: &'static str| {
        client
            .get(&verify)
            .header("X-Forwarded-Proto", "http")
            .header("X-Forwarded-Host", "app.test:8082")
            .header("X-Forwarded-Uri", "/private/x?a=1&b=2")
            .header("X-Forwarded-Method", method)
            .header("Accept", accept)
    };
    // Caddy and Traefik pass the answer to the browser: a redirect it follows.
    let r = caddy("text/html,application/xhtml+xml", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(
        r.headers()["location"],
        "http://app.test:8082/.portcullis/login?rd=http%3A%2F%2Fapp.test%3A8082%2Fprivate%2Fx%3Fa%3D1%26b%3D2"
    );
    // An API client, or a form post, gets 401 and no redirect.
    for (accept, method) in [("application/json", "GET"), ("text/html", "POST")] {
        let r = caddy(accept, method).send().await.unwrap();
        assert_eq!(r.status(), 401, "{accept} {method}");
        assert!(r.headers().get("location").is_none());
    }
    // nginx turns anything but 2xx/401/403 into a 500: a browser gets 401 with the Location
    // its config redirects to.
    let r = client
        .get(&verify)
        .header("X-Original-URL", "http://app.test/private")
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("http://app.test/.portcullis/login?rd="));
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_auth_always_answers_every_identity_header() {
    let gw = spawn_gateway();
    // A user without email or display name.
    gw.store()
        .create_user(
            &portcullis::store::NewUser {
                username: "carol".into(),
                email: None,
                display_name: None,
                password_hash: portcullis::auth::password::hash_password(PASSWORD),
                groups: vec![],
            },
            portcullis::auth::unix_now(),
        )
        .unwrap();
    let signed = signed_in(&gw, "carol").await;
    let cookie = format!(
        "portcullis_session={}",
        signed.cookie("portcullis_session").unwrap()
    );
    let client = reqwest::Client::new();
    let verify = gw.portal("/verify");
    let ask = |url: &'static str| {
        client
            .get(&verify)
            .header("X-Original-URL", url)
            .header("Cookie", &cookie)
    };
    let r = ask("http://app.test/x").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert_eq!(h["remote-user"], "carol");
    assert_eq!(h["remote-email"], "");
    assert_eq!(h["remote-name"], "");
    assert_eq!(h["remote-groups"], "");
    // A bypass route forwards no identity: every header present and empty.
    let r = ask("http://app.test/public/x").send().await.unwrap();
    assert_eq!(r.status(), 200);
    for name in [
        "remote-user",
        "remote-email",
        "remote-name",
        "remote-groups",
    ] {
        assert_eq!(r.headers()[name], "", "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_auth_judges_only_the_apps_hosts_and_never_redirects_off_site() {
    let gw = spawn_gateway();
    let client = client_without_redirects();
    let verify = gw.portal("/verify");
    let forwarded = |host: &'static str| {
        client
            .get(&verify)
            .header("Accept", "text/html")
            .header("X-Forwarded-Proto", "https")
            .header("X-Forwarded-Host", host)
            .header("X-Forwarded-Uri", "/private")
    };
    for (host, status) in [
        ("[app.test]@evil.example", 400),
        ("app.test@evil.example", 400),
        ("app.test:443@evil.example", 400),
        ("app.test/evil", 400),
        ("evil.example", 403),
        ("evil.example:443", 403),
    ] {
        let r = forwarded(host).send().await.unwrap();
        assert_eq!(r.status(), status, "{host}");
        assert!(r.headers().get("location").is_none(), "{host}");
    }
    for url in [
        "https://evil.example/private",
        "https://app.test@evil.example/private",
        "https://evil.example\\@app.test/private",
    ] {
        let r = client
            .get(&verify)
            .header("Accept", "text/html")
            .header("X-Original-URL", url)
            .send()
            .await
            .unwrap();
        assert!(
            r.status() == 400 || r.status() == 403,
            "{url}: {}",
            r.status()
        );
        assert!(r.headers().get("location").is_none(), "{url}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_auth_for_an_app_without_hosts_redirects_only_within_the_site() {
    let gw = spawn_gateway_with(|up| {
        format!(
            r#"
[[apps]]
name = "any"
upstream = "{up}"
default_policy = "one_factor"
"#
        )
    });
    let client = client_without_redirects();
    let r = client
        .get(gw.portal("/verify"))
        .header("Accept", "text/html")
        .header("X-Original-URL", "https://evil.example/x?a=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["location"],
        "/.portcullis/login?rd=%2Fx%3Fa%3D1"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_misspelt_config_key_fails_check_with_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[server]\nlisten = \"127.0.0.1:1\"\n\n[[apps]]\nname = \"a\"\nupstream = \"127.0.0.1:2\"\n\n[[apps.rules]]\npaths = [\"/x\"]\npolcy = \"bypass\"\n",
    )
    .unwrap();
    let out = run_cli(&path, &["check"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:10:1"), "{err}");
    assert!(err.contains("polcy"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_prints_the_route_table() {
    let gw = spawn_gateway();
    let out = gw.cli(&["check"], None);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains(": ok"));
    let row = table
        .lines()
        .find(|l| l.contains("/admins/**"))
        .expect("the admins rule");
    for cell in ["app", "app.test", "one_factor", "groups=admins"] {
        assert!(row.contains(cell), "{row}");
    }
    let row = table.lines().find(|l| l.contains("/post-only")).unwrap();
    assert!(row.contains("POST") && row.contains("bypass"), "{row}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_user_command_works_through_the_binary() {
    let gw = spawn_gateway();
    let ok = |args: &[&str], stdin: Option<&str>| {
        let out = gw.cli(args, stdin);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let fail = |args: &[&str], stdin: Option<&str>| {
        let out = gw.cli(args, stdin);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(!err.contains("panicked"), "{err}");
        err
    };
    ok(
        &[
            "user",
            "add",
            "dave",
            "--email",
            "d@example.com",
            "--name",
            "Dave D",
            "--group",
            "admins",
            "--group",
            "ops",
            "--password-stdin",
        ],
        Some("a long enough password\n"),
    );
    assert!(fail(
        &["user", "add", "dave", "--password-stdin"],
        Some("another password\n")
    )
    .contains("already exists"));
    assert!(
        fail(&["user", "add", "eve", "--password-stdin"], Some("short\n")).contains("at least 8")
    );
    assert!(fail(
        &["user", "add", "bad name!", "--password-stdin"],
        Some("long enough pw\n")
    )
    .contains("not a valid username"));
    let list = ok(&["user", "list"], None);
    let row = list.lines().find(|l| l.starts_with("dave")).unwrap();
    assert!(
        row.contains("active") && row.contains("d@example.com") && row.contains("admins,ops"),
        "{row}"
    );

    let mut b = gw.browser();
    b.login(P, "dave", "a long enough password", "/")
        .await
        .assert_redirect_to("/");
    let echo = b.get("/x").await.echoed();
    assert_eq!(echo.header("remote-name").as_deref(), Some("Dave D"));
    let sessions = ok(&["sessions", "list", "--user", "dave"], None);
    assert!(
        sessions
            .lines()
            .any(|l| l.starts_with("dave") && l.contains("one_factor") && l.contains("127.0.0.1")),
        "{sessions}"
    );
    assert!(fail(&["sessions", "list", "--user", "nobody"], None).contains("no user"));

    ok(
        &["user", "passwd", "dave", "--password-stdin"],
        Some("the new password\n"),
    );
    assert_eq!(b.get("/x").await.status, 302, "passwd ends sessions");
    let mut b = gw.browser();
    b.login(P, "dave", "the new password", "/")
        .await
        .assert_redirect_to("/");

    ok(&["user", "groups", "dave", "--remove", "ops"], None);
    ok(&["user", "disable", "dave"], None);
    assert!(ok(&["user", "list"], None)
        .lines()
        .any(|l| l.starts_with("dave") && l.contains("disabled")));
    ok(&["user", "enable", "dave"], None);
    ok(&["user", "reset-2fa", "dave"], None);
    ok(&["sessions", "revoke", "dave"], None);
    let audit = ok(&["audit", "--user", "dave", "--limit", "100"], None);
    for event in [
        "user_created",
        "password_changed",
        "user_disabled",
        "user_enabled",
        "second_factor_reset",
        "sessions_revoked",
    ] {
        assert!(audit.contains(event), "{event} missing from\n{audit}");
    }
    ok(&["user", "delete", "dave"], None);
    assert!(fail(&["user", "delete", "dave"], None).contains("no user named `dave`"));
    assert!(fail(&["user", "disable", "ghost"], None).contains("no user named"));
    assert!(!ok(&["user", "list"], None).contains("dave"));

    let missing = run_cli(
        std::path::Path::new("/nonexistent/portcullis.toml"),
        &["user", "list"],
        None,
    );
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/portcullis.toml"));
}

/// A whoami upstream behind TLS with a certificate from a test CA; returns its port and the
/// CA's PEM.
fn spawn_tls_upstream() -> (u16, String) {
    use tokio_rustls::rustls;
    let certs = test_ca_and_localhost_cert();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![certs.cert_der.into()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(certs.key_der.into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(server));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(
                            hyper_util::rt::TokioIo::new(tls),
                            hyper::service::service_fn(portcullis::demo::whoami),
                        )
                        .await;
                });
            }
        });
    });
    (port, certs.ca_pem)
}

#[tokio::test(flavor = "multi_thread")]
async fn https_upstreams_are_verified_against_the_configured_ca() {
    let (port, ca_pem) = spawn_tls_upstream();
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca_pem).unwrap();
    let apps = format!(
        r#"
[[apps]]
name = "tls"
hosts = ["tls.test"]
upstream = "https://localhost:{port}"
default_policy = "bypass"
[[apps]]
name = "unverified"
hosts = ["wrong-name.test"]
upstream = "https://127.0.0.1:{port}"
default_policy = "bypass"
"#
    );
    let server = format!("upstream_ca_file = \"{}\"", ca_path.display());
    let text = gateway_config(dir.path(), dir.path(), &server, "", &apps);
    let gw = start(dir, "127.0.0.1:1".parse().unwrap(), text);
    let mut b = Browser::new(gw.addr, "tls.test");
    let echo = b.get("/hello").await.echoed();
    assert_eq!(echo.uri(), "/hello");
    // The certificate names localhost, not 127.0.0.1: verification must refuse it.
    let mut wrong = Browser::new(gw.addr, "wrong-name.test");
    assert_eq!(wrong.get("/hello").await.status, 502);
}
