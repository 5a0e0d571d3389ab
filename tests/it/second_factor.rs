//! The second factor end to end: TOTP enrolment, sign-in, step-up and forced enrolment,
//! replay, turning it off, the command line's reset, secrets at rest, the key file, the audit
//! trail, and recovery codes (typing, single use under concurrency, regeneration, download).
//!
//! Codes come from `oathtool` or an independent HMAC implementation ([`external_totp`]), never
//! from the gateway's own TOTP code.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis::config::Config;
use portcullis::Gateway;

use crate::helpers::*;

/// The session cookie's name in the test config (`secure = false`, so no `__Host-` prefix).
const SESSION: &str = "portcullis_session";

/// What the recovery page says to a code that does not work (wrong or used).
const ALREADY_USED_RECOVERY: &str = "That recovery code is not valid, or it was already used.";

// -- small tools ---------------------------------------------------------------------------

/// `s` percent-encoded as the gateway encodes `rd` in a query.
fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The text between the first `start` and the next `end` in `hay`.
#[track_caller]
fn between<'a>(hay: &'a str, start: &str, end: &str) -> &'a str {
    let from = hay
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in {hay}"))
        + start.len();
    let to = hay[from..]
        .find(end)
        .unwrap_or_else(|| panic!("no {end:?} after {start:?} in {hay}"))
        + from;
    &hay[from..to]
}

fn contains_bytes(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The `[regulation]` of tests that fail on purpose: it tolerates many failures.
const LENIENT: &str = "[regulation]\nmax_failures = 100";

/// Signs in with the password (user has TOTP): asserts the `303` to the TOTP challenge.
async fn password_step(gw: &TestGateway, user: &str, rd: &str) -> Browser {
    let mut b = gw.browser();
    let r = b.login(gw.prefix(), user, PASSWORD, rd).await;
    r.assert_redirect_to(&format!("{}/totp?rd={}", gw.prefix(), enc(rd)));
    assert!(b.cookie(SESSION).is_some(), "a pending session cookie");
    b
}

/// `n` sessions of `user` pass the password step and open `{prefix}/{page}`, taking the
/// gateways `gws` in turn; then all post `code` to it at the same moment. Returns each browser
/// with its answer.
pub(crate) async fn same_code_at_once(
    gws: &[&TestGateway],
    user: &str,
    page: &str,
    code: &str,
    n: usize,
) -> Vec<(Browser, Page)> {
    let p = gws[0].prefix().to_string();
    let mut ready = Vec::new();
    for i in 0..n {
        let mut b = password_step(gws[i % gws.len()], user, "/").await;
        let form = b.get(&format!("{p}/{page}?rd=%2F")).await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.field("csrf");
        ready.push((b, csrf));
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::new();
    for (mut b, csrf) in ready {
        let barrier = Arc::clone(&barrier);
        let code = code.to_string();
        let action = format!("{p}/{page}");
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let answer = b
                .post_form(&action, &[("code", &code), ("csrf", &csrf), ("rd", "/")])
                .await;
            (b, answer)
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

/// Answers the TOTP challenge page with `code`.
async fn submit_totp(gw: &TestGateway, b: &mut Browser, code: &str, rd: &str) -> Page {
    let p = gw.prefix();
    b.submit(
        &format!("{p}/totp?rd={}", enc(rd)),
        &format!("{p}/totp"),
        &[("code", code)],
    )
    .await
}

/// Answers the recovery page with `code`.
async fn submit_recovery(gw: &TestGateway, b: &mut Browser, code: &str, rd: &str) -> Page {
    let p = gw.prefix();
    b.submit(
        &format!("{p}/recovery?rd={}", enc(rd)),
        &format!("{p}/recovery"),
        &[("code", code)],
    )
    .await
}

/// Password, then a recovery code: the browser and the page after the code.
async fn recovery_sign_in(gw: &TestGateway, user: &str, code: &str, rd: &str) -> (Browser, Page) {
    let mut b = password_step(gw, user, rd).await;
    let page = submit_recovery(gw, &mut b, code, rd).await;
    (b, page)
}

/// The account page's facts: (2FA state, recovery codes left if shown, page).
async fn account(gw: &TestGateway, b: &mut Browser) -> (String, Option<i64>, Page) {
    let page = b.get(&format!("{}/account", gw.prefix())).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let state = between(&page.body, "<dd id=\"twofactor\">", "</dd>").to_string();
    let left = page.body.contains("id=\"codes-left\"").then(|| {
        between(&page.body, "<dd id=\"codes-left\">", "</dd>")
            .parse()
            .unwrap()
    });
    (state, left, page)
}

/// Runs the binary with `-c config ARGS`; kills it (it is ours) when it outlives `limit`.
fn run_cli_within(config: &Path, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("-c")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "`portcullis {}` still ran after {limit:?}; stderr: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The enrolment through the pages, keeping the codes page (for tests that read it).
async fn enrol_keeping_page(gw: &TestGateway, user: &str, rd: &str) -> (Browser, String, Page) {
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    b.login(&p, user, PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    let setup = b.get(&format!("{p}/totp/setup?rd={}", enc(rd))).await;
    assert_eq!(setup.status, 200, "{}", setup.body);
    let secret = setup_secret(&setup);
    let code = external_totp(&secret, now());
    let done = b
        .submit(
            &format!("{p}/totp/setup?rd={}", enc(rd)),
            &format!("{p}/totp/setup"),
            &[("code", &code)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    (b, secret, done)
}

/// Whether `code` has the documented shape: `XXXX-XXXX-XXXX-XXXX` in Crockford base32.
fn well_formed_recovery_code(code: &str) -> bool {
    const CROCKFORD: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let groups: Vec<&str> = code.split('-').collect();
    code.len() == 19
        && groups.len() == 4
        && groups
            .iter()
            .all(|g| g.len() == 4 && g.chars().all(|c| CROCKFORD.contains(c)))
}

/// The pixels of the inline SVG the qrcode crate draws: `(width, height, dark?)`.
fn svg_pixels(svg: &str) -> (usize, usize, Vec<bool>) {
    let view_box: Vec<usize> = between(svg, "viewBox=\"", "\"")
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(view_box.len(), 4, "{svg}");
    let (w, h) = (view_box[2], view_box[3]);
    let path = &svg[svg.find("<path").expect("a path of dark modules")..];
    let d = between(path, " d=\"", "\"");
    assert!(d.starts_with('M'), "{d}");
    let mut dark = vec![false; w * h];
    // Each dark rectangle is `M{left} {top}h{width}v{height}H{left}V{top}`.
    for rect in d.split('M').filter(|s| !s.is_empty()) {
        let n: Vec<usize> = rect
            .split(|c: char| c.is_ascii_alphabetic() || c == ' ')
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .unwrap_or_else(|_| panic!("odd path piece {rect}"))
            })
            .collect();
        assert_eq!(n.len(), 6, "odd path piece {rect}");
        let (left, top, width, height) = (n[0], n[1], n[2], n[3]);
        assert_eq!((n[4], n[5]), (left, top), "the rectangle closes: {rect}");
        for y in top..top + height {
            for x in left..left + width {
                dark[y * w + x] = true;
            }
        }
    }
    (w, h, dark)
}

// -- TOTP ----------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_user_enrols_signs_out_and_signs_in_again_with_password_and_totp() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    b.login(&p, "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/");

    // The set-up page: the URI with every parameter, and the secret in groups of four.
    let setup = b.get(&format!("{p}/totp/setup")).await;
    assert_eq!(setup.status, 200, "{}", setup.body);
    assert_eq!(setup.header("cache-control"), Some("no-store"));
    let uri = html_unescape(between(&setup.body, "<a class=\"uri\" href=\"", "\""));
    assert!(uri.starts_with("otpauth://totp/Portcullis:alice?"), "{uri}");
    let parsed = url::Url::parse(&uri).unwrap();
    let q: std::collections::HashMap<String, String> = parsed.query_pairs().into_owned().collect();
    assert_eq!(
        q.get("issuer").map(String::as_str),
        Some("Portcullis"),
        "{uri}"
    );
    assert_eq!(
        q.get("algorithm").map(String::as_str),
        Some("SHA1"),
        "{uri}"
    );
    assert_eq!(q.get("digits").map(String::as_str), Some("6"), "{uri}");
    assert_eq!(q.get("period").map(String::as_str), Some("30"), "{uri}");
    let secret = q.get("secret").expect("secret in the URI").clone();
    assert_eq!(
        secret.len(),
        32,
        "160 bits are 32 base32 characters: {secret}"
    );
    assert!(secret
        .chars()
        .all(|c| "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".contains(c)));
    assert_eq!(base32_decode(&secret).len(), 20);
    let grouped = between(&setup.body, "<code class=\"secret\">", "</code>");
    let groups: Vec<&str> = grouped.split(' ').collect();
    assert_eq!(groups.len(), 8, "{grouped}");
    assert!(groups.iter().all(|g| g.len() == 4), "{grouped}");
    assert_eq!(groups.concat(), secret);
    assert_eq!(setup_secret(&setup), secret);

    // A wrong code is refused, and the same secret is shown again.
    let wrong = wrong_code(&secret);
    let refused = b
        .submit(
            &format!("{p}/totp/setup"),
            &format!("{p}/totp/setup"),
            &[("code", &wrong)],
        )
        .await;
    assert_eq!(refused.status, 200, "{}", refused.body);
    assert!(
        refused.body.contains("That code is not right"),
        "{}",
        refused.body
    );
    assert_eq!(setup_secret(&refused), secret);
    assert!(shown_codes(&refused).is_empty());
    let (state, _, _) = account(&gw, &mut b).await;
    assert_eq!(state, "set-up pending");

    // Confirming with a code from an independent implementation shows ten recovery codes.
    let t = now();
    let code = external_totp(&secret, t);
    let done = b
        .submit(
            &format!("{p}/totp/setup"),
            &format!("{p}/totp/setup"),
            &[("code", &code)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("Two-factor sign-in is on."),
        "{}",
        done.body
    );
    assert_eq!(shown_codes(&done).len(), 10, "{}", done.body);
    let (state, left, _) = account(&gw, &mut b).await;
    assert_eq!(state, "on");
    assert_eq!(left, Some(10));

    // Sign out.
    let out = b
        .submit(&format!("{p}/account"), &format!("{p}/logout"), &[])
        .await;
    out.assert_redirect_to(&format!("{p}/login?signed_out=1"));
    assert!(b.cookie(SESSION).is_none(), "the cookie is cleared");
    b.get("/app/page")
        .await
        .assert_redirect_to(&format!("{p}/login?rd=%2Fapp%2Fpage"));

    // Sign in again: the password alone gives a pending session.
    let rd = "/app/page?x=1";
    let r = b.login(&p, "alice", PASSWORD, rd).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), format!("{p}/totp?rd=%2Fapp%2Fpage%3Fx%3D1"));
    let pending = b.cookie(SESSION).expect("a pending session");

    // The pending session reaches no app and no account page.
    b.get(rd)
        .await
        .assert_redirect_to(&format!("{p}/totp?rd=%2Fapp%2Fpage%3Fx%3D1"));
    b.get("/secure/x")
        .await
        .assert_redirect_to(&format!("{p}/totp?rd=%2Fsecure%2Fx"));
    b.get(&format!("{p}/totp/setup"))
        .await
        .assert_redirect_to(&format!("{p}/totp"));
    b.get(&format!("{p}/account"))
        .await
        .assert_redirect_to(&format!("{p}/totp"));
    b.accept_html = false;
    let api = b.get(rd).await;
    assert_eq!(api.status, 401, "{}", api.body);
    b.accept_html = true;
    let challenge = b.get(&format!("{p}/totp?rd={}", enc(rd))).await;
    assert_eq!(challenge.status, 200);
    assert!(challenge.body.contains("alice"), "{}", challenge.body);

    // The code: 303 to rd under a new session id; the upstream then knows who it is.
    let (code, _) = fresh_code(&secret, t).await;
    let r = submit_totp(&gw, &mut b, &code, rd).await;
    r.assert_redirect_to(rd);
    let raised = b.cookie(SESSION).expect("a session after the code");
    assert_ne!(raised, pending, "a new session id at the second factor");
    let echo = b.get(rd).await.echoed();
    assert_eq!(echo.header("Remote-User").as_deref(), Some("alice"));
    assert_eq!(echo.uri(), rd);
    let secure = b.get("/secure/x").await.echoed();
    assert_eq!(secure.header("Remote-User").as_deref(), Some("alice"));

    // The pending id is dead.
    let mut old = gw.browser();
    old.cookies.push((SESSION.into(), pending));
    old.get(rd)
        .await
        .assert_redirect_to(&format!("{p}/login?rd=%2Fapp%2Fpage%3Fx%3D1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_qr_code_decodes_to_exactly_the_uri_shown_on_the_page() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    b.login(&p, "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    let setup = b.get(&format!("{p}/totp/setup")).await;
    assert_eq!(setup.status, 200, "{}", setup.body);

    let start = setup.body.find("<svg").expect("an inline <svg>");
    let end = setup.body[start..].find("</svg>").expect("the svg ends") + start + 6;
    let svg = &setup.body[start..end];
    assert!(
        !setup.body.contains("<?xml"),
        "no XML declaration inside HTML"
    );
    assert!(!setup.body.contains("<img"), "inline SVG, no image");

    let (w, h, dark) = svg_pixels(svg);
    assert!(w >= 220 && h >= 220, "{w}x{h}");
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(
            w,
            h,
            |x, y| {
                if dark[y * w + x] {
                    0
                } else {
                    255
                }
            },
        );
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the SVG");
    let (_, decoded) = grids[0].decode().expect("the QR code decodes");

    let shown = html_unescape(between(&setup.body, "<a class=\"uri\" href=\"", "\""));
    assert_eq!(decoded, shown);
    assert!(decoded.contains(&format!("secret={}", setup_secret(&setup))));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_totp_code_is_accepted_once_and_refused_when_replayed() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let e = enrol(&gw, "alice").await;

    // The code of the step after the confirming one is accepted already (skew of one step).
    let (code, _) = fresh_code(&e.secret_base32, e.last_code_time).await;
    let mut first = password_step(&gw, "alice", "/").await;
    submit_totp(&gw, &mut first, &code, "/")
        .await
        .assert_redirect_to("/");

    // The same code in another sign-in is a replay.
    let mut second = password_step(&gw, "alice", "/").await;
    let pending = second.cookie(SESSION);
    let r = submit_totp(&gw, &mut second, &code, "/").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("already used"), "{}", r.body);
    assert_eq!(second.cookie(SESSION), pending, "still the pending session");
    second
        .get("/app")
        .await
        .assert_redirect_to(&format!("{}/totp?rd=%2Fapp", gw.prefix()));

    // The confirming code (an earlier step) is refused too.
    let confirming = external_totp(&e.secret_base32, e.last_code_time);
    let r = submit_totp(&gw, &mut second, &confirming, "/").await;
    assert!(r.body.contains("already used"), "{}", r.body);
    let failures = audit_rows(&gw, "totp_failure", "alice").await;
    assert!(
        failures
            .iter()
            .any(|f| f.detail.as_deref() == Some("code already used")),
        "{failures:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_totp_code_sent_by_several_sessions_at_once_works_exactly_once() {
    let gw = spawn_gateway_configured("", "", LENIENT);
    gw.add_user("alice", &[]);
    let e = enrol(&gw, "alice").await;
    let (code, _) = fresh_code(&e.secret_base32, e.last_code_time).await;

    let tasks = same_code_at_once(&[&gw], "alice", "totp", &code, 8).await;
    let mut accepted = 0;
    for (_, page) in tasks {
        if page.status == 303 {
            assert_eq!(page.location(), "/");
            accepted += 1;
        } else {
            assert_eq!(page.status, 200, "{}", page.body);
            assert!(page.body.contains("already used"), "{}", page.body);
        }
    }
    assert_eq!(accepted, 1, "one code, one sign-in");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_one_factor_session_steps_up_with_a_code_on_a_two_factor_route() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();

    // Browser A: signed in with the password only, while alice has no TOTP.
    let mut a = gw.browser();
    a.login(&p, "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    let before = a.cookie(SESSION).unwrap();
    a.get("/secure/x")
        .await
        .assert_redirect_to(&format!("{p}/totp/setup?required=1&rd=%2Fsecure%2Fx"));

    // Browser B enrols. Enrolment drops the user's cached sessions, so A's session is
    // reloaded knowing alice now has TOTP: still one factor, and challenged on /secure.
    let e = enrol(&gw, "alice").await;
    assert_eq!(
        a.get("/app")
            .await
            .echoed()
            .header("Remote-User")
            .as_deref(),
        Some("alice")
    );
    a.get("/secure/x?y=2")
        .await
        .assert_redirect_to(&format!("{p}/totp?rd=%2Fsecure%2Fx%3Fy%3D2"));

    // Typed as authenticator apps show it, with a space in the middle.
    let (code, _) = fresh_code(&e.secret_base32, e.last_code_time).await;
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let r = submit_totp(&gw, &mut a, &spaced, "/secure/x?y=2").await;
    r.assert_redirect_to("/secure/x?y=2");
    assert_ne!(
        a.cookie(SESSION).unwrap(),
        before,
        "a new id at the change of level"
    );
    let echo = a.get("/secure/x?y=2").await.echoed();
    assert_eq!(echo.header("Remote-User").as_deref(), Some("alice"));
    assert_eq!(echo.uri(), "/secure/x?y=2");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_without_totp_is_made_to_enrol_on_a_two_factor_route_and_comes_back() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    b.login(&p, "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/");

    let r = b.get("/secure/x").await;
    r.assert_redirect_to(&format!("{p}/totp/setup?required=1&rd=%2Fsecure%2Fx"));
    let setup = b.get(r.location()).await;
    assert_eq!(setup.status, 200, "{}", setup.body);
    assert!(
        setup.body.contains("This page needs two-factor sign-in"),
        "{}",
        setup.body
    );
    assert_eq!(setup.field("rd"), "/secure/x");
    // Without `required` the page does not claim that.
    let plain = b.get(&format!("{p}/totp/setup")).await;
    assert!(!plain.body.contains("This page needs two-factor sign-in"));

    let secret = setup_secret(&setup);
    let code = external_totp(&secret, now());
    let done = b
        .submit(r.location(), &format!("{p}/totp/setup"), &[("code", &code)])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(shown_codes(&done).len(), 10);
    let back = html_unescape(between(
        &done.body,
        "<p class=\"noprint\"><a class=\"button\" href=\"",
        "\"",
    ));
    assert_eq!(back, "/secure/x", "the codes page links back to the page");

    let echo = b.get("/secure/x").await.echoed();
    assert_eq!(echo.header("Remote-User").as_deref(), Some("alice"));
}

#[tokio::test(flavor = "multi_thread")]
async fn totp_is_turned_off_with_a_current_code_or_a_recovery_code_and_not_with_a_wrong_one() {
    let gw = spawn_gateway();
    let alice = gw.add_user("alice", &[]);
    let bob = gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();

    // A wrong code changes nothing.
    let mut e = enrol(&gw, "alice").await;
    let (_, _, page) = account(&gw, &mut e.browser).await;
    let csrf = page.field("csrf");
    let wrong = wrong_code(&e.secret_base32);
    let r = e
        .browser
        .post_form(
            &format!("{p}/totp/disable"),
            &[("code", &wrong), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("two-factor sign-in is still on"),
        "{}",
        r.body
    );
    let (state, left, _) = account(&gw, &mut e.browser).await;
    assert_eq!((state.as_str(), left), ("on", Some(10)));
    assert!(gw.store().totp(alice).unwrap().is_some());

    // A current code turns it off.
    let (code, _) = fresh_code(&e.secret_base32, e.last_code_time).await;
    let r = e
        .browser
        .post_form(
            &format!("{p}/totp/disable"),
            &[("code", &code), ("csrf", &csrf)],
        )
        .await;
    r.assert_redirect_to(&format!("{p}/account?done=totp_disabled"));
    let (state, left, _) = account(&gw, &mut e.browser).await;
    assert_eq!(state, "off");
    assert_eq!(left, None, "no recovery codes shown when 2FA is off");
    let page = e.browser.get(r.location()).await;
    assert!(
        page.body.contains("Two-factor sign-in is off."),
        "{}",
        page.body
    );
    assert!(gw.store().totp(alice).unwrap().is_none());
    assert_eq!(gw.store().recovery_codes_left(alice).unwrap(), 0);
    assert!(!audit_rows(&gw, "totp_disabled", "alice").await.is_empty());
    // Now a one-factor user without TOTP: a two-factor route asks for enrolment again.
    e.browser
        .get("/secure/x")
        .await
        .assert_redirect_to(&format!("{p}/totp/setup?required=1&rd=%2Fsecure%2Fx"));
    // And the password alone signs in.
    let mut again = gw.browser();
    again
        .login(&p, "alice", PASSWORD, "/app")
        .await
        .assert_redirect_to("/app");

    // A recovery code turns it off as well.
    let mut f = enrol(&gw, "bob").await;
    let r = f
        .browser
        .submit(
            &format!("{p}/account"),
            &format!("{p}/totp/disable"),
            &[("code", &f.recovery_codes[3])],
        )
        .await;
    r.assert_redirect_to(&format!("{p}/account?done=totp_disabled"));
    let (state, _, _) = account(&gw, &mut f.browser).await;
    assert_eq!(state, "off");
    assert!(gw.store().totp(bob).unwrap().is_none());
    assert_eq!(gw.store().recovery_codes_left(bob).unwrap(), 0);
    assert!(!audit_rows(&gw, "totp_disabled", "bob").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_2fa_from_the_command_line_removes_totp_and_codes_and_ends_sessions_at_once() {
    let gw = spawn_gateway();
    let alice = gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut e = enrol(&gw, "alice").await;
    // The session is cached and two-factor.
    assert_eq!(
        e.browser
            .get("/secure/x")
            .await
            .echoed()
            .header("Remote-User")
            .as_deref(),
        Some("alice")
    );

    let out = gw.cli(&["user", "reset-2fa", "alice"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("alice"));

    // At once, without waiting for any poll.
    e.browser
        .get("/secure/x")
        .await
        .assert_redirect_to(&format!("{p}/login?rd=%2Fsecure%2Fx"));
    let store = gw.store();
    assert!(store.totp(alice).unwrap().is_none());
    assert!(store.totp_pending(alice).unwrap().is_none());
    assert_eq!(store.recovery_codes_left(alice).unwrap(), 0);
    assert!(store.list_sessions(Some("alice")).unwrap().is_empty());
    assert!(!audit_rows(&gw, "second_factor_reset", "alice")
        .await
        .is_empty());

    // The password alone signs in now.
    let mut b = gw.browser();
    b.login(&p, "alice", PASSWORD, "/app")
        .await
        .assert_redirect_to("/app");
    let (_, left, _) = account(&gw, &mut b).await;
    assert_eq!(left, None);
    let (state, _, _) = account(&gw, &mut b).await;
    assert_eq!(state, "off");

    // An unknown user is one clear error line.
    let out = gw.cli(&["user", "reset-2fa", "nobody"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nobody") && !err.contains("panicked"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_totp_secret_is_not_in_the_database_file_in_any_form() {
    let gw = spawn_gateway();
    let alice = gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    b.login(&p, "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    let setup = b.get(&format!("{p}/totp/setup")).await;
    let secret = setup_secret(&setup);
    let raw = base32_decode(&secret);
    assert_eq!(raw.len(), 20);

    let check = |when: &str| {
        let db = gw.database_bytes();
        for (what, needle) in [
            ("base32", secret.clone().into_bytes()),
            ("base32 lower case", secret.to_lowercase().into_bytes()),
            (
                "base32 grouped",
                between(&setup.body, "<code class=\"secret\">", "</code>")
                    .as_bytes()
                    .to_vec(),
            ),
            ("hex", hex::encode(&raw).into_bytes()),
            ("HEX", hex::encode_upper(&raw).into_bytes()),
            ("raw bytes", raw.clone()),
        ] {
            assert!(
                !contains_bytes(&db, &needle),
                "{when}: the secret as {what} is at rest"
            );
        }
    };
    // While the enrolment is pending…
    assert!(gw.store().totp_pending(alice).unwrap().is_some());
    check("pending");
    // …and once it is confirmed and used.
    let code = external_totp(&secret, now());
    let done = b
        .submit(
            &format!("{p}/totp/setup"),
            &format!("{p}/totp/setup"),
            &[("code", &code)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    check("enabled");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_or_missing_key_file_stops_the_gateway_with_a_clear_message() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let e = enrol(&gw, "alice").await;
    let key_path = gw.state.config().storage.key_file.clone();
    let config_path = gw.config_path.clone();
    let right_key = std::fs::read(&key_path).unwrap();
    assert_eq!(right_key.len(), 32);
    let (dir, upstream, text) = gw.stop();

    let open = || match Gateway::open(Config::load(&config_path).unwrap()) {
        Ok(_) => panic!("the gateway opened"),
        Err(e) => e.to_string(),
    };

    // Other 32 bytes.
    let other: Vec<u8> = right_key.iter().map(|b| b ^ 0x5a).collect();
    std::fs::write(&key_path, &other).unwrap();
    let err = open();
    assert!(err.contains("restore the right key file"), "{err}");
    let out = run_cli_within(&config_path, &["serve"], Duration::from_secs(30));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("restore the right key file"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        std::fs::read(&key_path).unwrap(),
        other,
        "the key file is left alone"
    );

    // No key file at all, with enrolments in the database: refused, and not made anew.
    std::fs::remove_file(&key_path).unwrap();
    let err = open();
    assert!(err.contains("missing") && err.contains("restore"), "{err}");
    assert!(!key_path.exists(), "the key file is not re-created");
    let out = run_cli_within(&config_path, &["serve"], Duration::from_secs(30));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("missing") && stderr.contains("restore"),
        "{stderr}"
    );
    assert!(!key_path.exists(), "the key file is not re-created");

    // The right key back: the gateway starts and the secret still works.
    std::fs::write(&key_path, &right_key).unwrap();
    let gw = start(dir, upstream, text);
    let (code, _) = fresh_code(&e.secret_base32, e.last_code_time).await;
    let mut b = password_step(&gw, "alice", "/secure/x").await;
    submit_totp(&gw, &mut b, &code, "/secure/x")
        .await
        .assert_redirect_to("/secure/x");
}

#[tokio::test(flavor = "multi_thread")]
async fn second_factor_events_are_in_the_audit_trail() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut e = enrol(&gw, "alice").await;

    let mut b = password_step(&gw, "alice", "/").await;
    let wrong = wrong_code(&e.secret_base32);
    let r = submit_totp(&gw, &mut b, &wrong, "/").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("That code is not right"), "{}", r.body);
    let (code, _) = fresh_code(&e.secret_base32, e.last_code_time).await;
    submit_totp(&gw, &mut b, &code, "/")
        .await
        .assert_redirect_to("/");

    e.browser
        .submit(
            &format!("{p}/account"),
            &format!("{p}/totp/disable"),
            &[("code", &e.recovery_codes[0])],
        )
        .await
        .assert_redirect_to(&format!("{p}/account?done=totp_disabled"));

    for event in [
        "totp_enabled",
        "totp_failure",
        "second_factor_success",
        "totp_disabled",
    ] {
        let rows = audit_rows(&gw, event, "alice").await;
        assert!(!rows.is_empty(), "no {event} row");
        assert!(
            rows.iter()
                .all(|r| r.client_ip.as_deref() == Some("127.0.0.1")),
            "{rows:?}"
        );
    }
    let success = audit_rows(&gw, "second_factor_success", "alice").await;
    assert_eq!(success[0].detail.as_deref(), Some("totp"));

    // The command line shows the same rows, and no row carries a code.
    let out = gw.cli(&["audit", "--json", "--limit", "200"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let events: Vec<String> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for event in [
        "totp_enabled",
        "totp_failure",
        "second_factor_success",
        "totp_disabled",
    ] {
        assert!(events.iter().any(|e| e == event), "{event} not in {stdout}");
    }
    for secret in [&wrong, &code, &e.recovery_codes[0], &e.secret_base32] {
        assert!(
            !stdout.contains(secret.as_str()),
            "{secret} in the audit trail"
        );
    }
}

// -- recovery codes ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn recovery_codes_are_typed_any_way_work_once_and_the_account_counts_them() {
    let gw = spawn_gateway();
    let alice = gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let e = enrol(&gw, "alice").await;
    let codes = e.recovery_codes.clone();

    // Ten distinct codes of the documented shape.
    assert_eq!(codes.len(), 10);
    for c in &codes {
        assert!(well_formed_recovery_code(c), "{c}");
    }
    let mut distinct = codes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10);

    // Lower case, no dashes: accepted; the page says how many remain and links to rd.
    let rd = "/app/after";
    let typed = codes[0].replace('-', "").to_lowercase();
    let (mut b, page) = recovery_sign_in(&gw, "alice", &typed, rd).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("9 recovery codes remain"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&format!("href=\"{rd}\"")),
        "{}",
        page.body
    );
    assert_eq!(
        b.get(rd).await.echoed().header("Remote-User").as_deref(),
        Some("alice")
    );
    let (_, left, page) = account(&gw, &mut b).await;
    assert_eq!(left, Some(9));
    assert!(page.body.contains("Recovery codes left"));
    assert!(!page.body.contains("class=\"warning\""), "{}", page.body);
    assert!(!audit_rows(&gw, "recovery_code_used", "alice")
        .await
        .is_empty());

    // The same code again is refused.
    let (mut again, page) = recovery_sign_in(&gw, "alice", &codes[0], rd).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(ALREADY_USED_RECOVERY), "{}", page.body);
    again
        .get(rd)
        .await
        .assert_redirect_to(&format!("{p}/totp?rd={}", enc(rd)));
    assert_eq!(gw.store().recovery_codes_left(alice).unwrap(), 9);

    // Crockford's confusables: O for 0, I and L for 1 (with spaces, mixed case).
    let mut rest: Vec<String> = codes[1..].to_vec();
    let index = rest
        .iter()
        .position(|c| c.contains('0') || c.contains('1'))
        .unwrap_or(0);
    let chosen = rest.remove(index);
    let mut ones = 0;
    let confusable: String = chosen
        .chars()
        .map(|c| match c {
            '0' => 'O',
            '1' => {
                ones += 1;
                if ones % 2 == 1 {
                    'I'
                } else {
                    'l'
                }
            }
            '-' => ' ',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    let (mut b, page) = recovery_sign_in(&gw, "alice", &confusable, rd).await;
    assert!(
        page.body.contains("8 recovery codes remain"),
        "{confusable} for {chosen}: {}",
        page.body
    );
    let (_, left, _) = account(&gw, &mut b).await;
    assert_eq!(left, Some(8));

    // Down to three: the account page warns from three on.
    for (i, code) in rest.iter().take(5).enumerate() {
        let expected = 7 - i as i64;
        let (mut b, page) = recovery_sign_in(&gw, "alice", code, rd).await;
        assert!(
            page.body.contains(&format!("{expected} recovery code")),
            "{}",
            page.body
        );
        let (_, left, page) = account(&gw, &mut b).await;
        assert_eq!(left, Some(expected));
        let warned = page
            .body
            .contains(&format!("Only {expected} recovery codes left"));
        assert_eq!(warned, expected <= 3, "{expected} left: {}", page.body);
    }
    assert_eq!(gw.store().recovery_codes_left(alice).unwrap(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_recovery_code_sent_by_twelve_sessions_at_once_works_exactly_once() {
    let gw = spawn_gateway_configured("", "", LENIENT);
    let alice = gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let e = enrol(&gw, "alice").await;
    let code = e.recovery_codes[5].clone();

    // Twelve pending sessions, each with its form token, send one code at the same moment.
    let tasks = same_code_at_once(&[&gw], "alice", "recovery", &code, 12).await;
    let mut winners = 0;
    let mut losers = 0;
    for (mut b, page) in tasks {
        assert_eq!(page.status, 200, "{}", page.body);
        if page.body.contains("You are signed in") {
            winners += 1;
            assert!(
                page.body.contains("9 recovery codes remain"),
                "{}",
                page.body
            );
            assert_eq!(
                b.get("/app")
                    .await
                    .echoed()
                    .header("Remote-User")
                    .as_deref(),
                Some("alice")
            );
        } else {
            assert!(page.body.contains(ALREADY_USED_RECOVERY), "{}", page.body);
            losers += 1;
            b.get("/app")
                .await
                .assert_redirect_to(&format!("{p}/totp?rd=%2Fapp"));
        }
    }
    assert_eq!((winners, losers), (1, 11));

    assert_eq!(gw.store().recovery_codes_left(alice).unwrap(), 9);
}

#[tokio::test(flavor = "multi_thread")]
async fn regenerating_recovery_codes_shows_a_new_set_once_and_retires_every_old_code() {
    let gw = spawn_gateway_configured("", "", LENIENT);
    let alice = gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut e = enrol(&gw, "alice").await;
    let (_, _, page) = account(&gw, &mut e.browser).await;
    let csrf = page.field("csrf");

    // A wrong code changes nothing.
    let wrong = wrong_code(&e.secret_base32);
    let r = e
        .browser
        .post_form(
            &format!("{p}/recovery-codes"),
            &[("code", &wrong), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("your recovery codes are unchanged"),
        "{}",
        r.body
    );
    assert!(shown_codes(&r).is_empty());

    let (code, _) = fresh_code(&e.secret_base32, e.last_code_time).await;
    let r = e
        .browser
        .post_form(
            &format!("{p}/recovery-codes"),
            &[("code", &code), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("Your old recovery codes no longer work."),
        "{}",
        r.body
    );
    let new_codes = shown_codes(&r);
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|c| well_formed_recovery_code(c)));
    assert!(new_codes.iter().all(|c| !e.recovery_codes.contains(c)));
    assert_eq!(gw.store().recovery_codes_left(alice).unwrap(), 10);
    // Shown once: not on the account page.
    let (_, _, page) = account(&gw, &mut e.browser).await;
    assert!(new_codes.iter().all(|c| !page.body.contains(c.as_str())));
    let rows = audit_rows(&gw, "recovery_codes_regenerated", "alice").await;
    assert_eq!(rows.len(), 1, "{rows:?}");

    // Every old code is refused.
    let mut b = password_step(&gw, "alice", "/").await;
    for old in &e.recovery_codes {
        let page = submit_recovery(&gw, &mut b, old, "/").await;
        assert!(
            page.body.contains(ALREADY_USED_RECOVERY),
            "{old}: {}",
            page.body
        );
    }
    // A new one works.
    let page = submit_recovery(&gw, &mut b, &new_codes[9], "/").await;
    assert!(
        page.body.contains("9 recovery codes remain"),
        "{}",
        page.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_download_holds_exactly_the_codes_shown_with_issuer_and_account() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let (mut b, secret, page) = enrol_keeping_page(&gw, "alice", "/").await;

    let check = |page: &Page| {
        let shown = shown_codes(page);
        assert_eq!(shown.len(), 10);
        let anchor_start = page
            .body
            .find("download=\"portcullis-recovery-codes.txt\"")
            .expect("a download link");
        let a_start = page.body[..anchor_start].rfind("<a ").unwrap();
        let a_end = page.body[a_start..].find('>').unwrap() + a_start;
        let anchor = &page.body[a_start..a_end];
        let href = html_unescape(between(anchor, "href=\"", "\""));
        let data = href
            .strip_prefix("data:text/plain;charset=utf-8,")
            .unwrap_or_else(|| panic!("a text data URL: {href}"));
        let text = percent_encoding::percent_decode_str(data)
            .decode_utf8()
            .unwrap()
            .into_owned();
        assert!(text.contains("Portcullis"), "{text}");
        assert!(text.contains("alice"), "{text}");
        let listed: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| well_formed_recovery_code(l))
            .map(str::to_string)
            .collect();
        assert_eq!(listed, shown, "the same codes in the same order: {text}");
    };
    check(&page);
    assert_eq!(page.header("cache-control"), Some("no-store"));

    // The page after regenerating has its own download with the new codes.
    let (code, _) = fresh_code(&secret, now()).await;
    let p = gw.prefix().to_string();
    let r = b
        .submit(
            &format!("{p}/account"),
            &format!("{p}/recovery-codes"),
            &[("code", &code)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    check(&r);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_recovery_code_is_in_the_database_file_in_any_spelling() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let e = enrol(&gw, "alice").await;
    // Use one, so a used code is at rest too.
    let (_, page) = recovery_sign_in(&gw, "alice", &e.recovery_codes[0], "/").await;
    assert!(
        page.body.contains("9 recovery codes remain"),
        "{}",
        page.body
    );

    let db = gw.database_bytes();
    for code in &e.recovery_codes {
        let plain = code.replace('-', "");
        for spelling in [
            code.clone(),
            plain.clone(),
            code.to_lowercase(),
            plain.to_lowercase(),
        ] {
            assert!(
                !contains_bytes(&db, spelling.as_bytes()),
                "{spelling} is in the database file"
            );
        }
    }
}
