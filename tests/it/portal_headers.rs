//! The headers of every portal answer: `no-store`, a strict Content-Security-Policy,
//! `no-referrer`, `nosniff`, and no script, on pages, errors, bans and the style sheet.

use crate::helpers::*;

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
