//! Passkeys over HTTP: which pages carry the script, a user whose only second factor is a
//! passkey, refusals counted by regulation, confirming a second factor again before a change,
//! and the command line. The ceremonies themselves, in a real browser with a virtual
//! authenticator, are in `tests/browser_flows.rs`.

use serde_json::Value;
use webauthn_rs::prelude::{
    PasskeyRegistration, RegisterPublicKeyCredential, Url, WebauthnBuilder,
};

use portcullis::store::NewPasskey;

use crate::helpers::*;

/// The passkey of the recorded registration (`tests/fixtures/passkeys.json`): its stored form
/// and its credential id.
fn recorded_passkey() -> (String, Vec<u8>) {
    let f: Value = serde_json::from_str(include_str!("../fixtures/passkeys.json")).unwrap();
    let origin = Url::parse(f["origin"].as_str().unwrap()).unwrap();
    let rp = WebauthnBuilder::new("app.test", &origin)
        .unwrap()
        .build()
        .unwrap();
    let state: PasskeyRegistration =
        serde_json::from_value(f["registration"]["state"].clone()).unwrap();
    let response: RegisterPublicKeyCredential =
        serde_json::from_value(f["registration"]["response"].clone()).unwrap();
    let passkey = rp.finish_passkey_registration(&response, &state).unwrap();
    (
        serde_json::to_string(&passkey).unwrap(),
        passkey.cred_id().to_vec(),
    )
}

/// Gives `user_id` the recorded passkey (under credential id `credential_id`, which must be
/// new) named `name`; returns its id.
fn give_passkey(gw: &TestGateway, user_id: i64, name: &str, credential_id: &[u8]) -> i64 {
    let (credential, _) = recorded_passkey();
    let new = NewPasskey {
        user_id,
        credential_id: credential_id.to_vec(),
        rp_id: "app.test".into(),
        name: name.into(),
        credential,
        counter: 1,
    };
    gw.store().add_passkey(&new, now() as i64).unwrap().unwrap()
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_pages_that_offer_a_passkey_run_a_script() {
    let gw = spawn_gateway();
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    let login = b.get(&format!("{p}/login")).await;
    assert_eq!(login.status, 200);
    let csp = login.header("content-security-policy").unwrap().to_string();
    assert!(!csp.contains("script-src"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!login.body.contains("<script"), "{}", login.body);
    // Without passwordless sign-in there is no such form to send.
    let csrf = login.field("csrf");
    let refused = b
        .post_form(&format!("{p}/passkey/login"), &[("csrf", &csrf)])
        .await;
    assert_eq!(refused.status, 404);

    let script = b.get(&format!("{p}/static/passkey.js")).await;
    assert_eq!(script.status, 200);
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(script.header("x-content-type-options"), Some("nosniff"));
    assert!(script.body.contains("navigator.credentials.get"));

    let gw = spawn_gateway_configured("", "", "[webauthn]\npasswordless = true\n");
    let mut b = gw.browser();
    let login = b.get(&format!("{p}/login")).await;
    let csps: Vec<_> = login
        .headers
        .get_all("content-security-policy")
        .iter()
        .collect();
    assert_eq!(csps.len(), 1, "one policy: {csps:?}");
    let csp = csps[0].to_str().unwrap();
    // The one file, by its exact address: not `'self'`, which would let the apps' own
    // scripts (same origin) run on the gateway's pages.
    assert!(
        csp.contains(&format!("script-src http://app.test{p}/static/passkey.js;")),
        "{csp}"
    );
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    // One script, from the gateway's file; nothing inline.
    assert_eq!(login.body.matches("<script").count(), 1, "{}", login.body);
    assert!(login.body.contains(&format!(
        "<script src=\"{p}/static/passkey.js\" defer></script>"
    )));
    assert!(login.body.contains("data-passkey=\"get\""));
    let options = html_unescape(
        login
            .body
            .split("data-options=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap(),
    );
    let options: Value = serde_json::from_str(&options).unwrap();
    assert_eq!(options["publicKey"]["rpId"], "app.test");
    assert_eq!(options["publicKey"]["userVerification"], "required");
    // The password form still works without the script: it is a plain form.
    assert!(login.body.contains(&format!("action=\"{p}/login\"")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_whose_second_factor_is_a_passkey_is_asked_for_it_not_sent_to_set_up() {
    let gw = spawn_gateway_configured(
        "",
        "",
        "[regulation]\nmax_failures = 3\nwindow = \"5m\"\nban = \"15m\"\n",
    );
    let p = gw.prefix().to_string();
    let bob = gw.add_user("bob", &[]);
    let (_, credential_id) = recorded_passkey();
    give_passkey(&gw, bob, "Phone", &credential_id);
    let mut b = gw.browser();
    let signed = b.login(&p, "bob", PASSWORD, "/secure/x").await;
    signed.assert_redirect_to(&format!("{p}/totp?rd=%2Fsecure%2Fx"));
    // Waiting for the second factor: no app, whatever its policy.
    b.get("/secure/x")
        .await
        .assert_redirect_to(&format!("{p}/totp?rd=%2Fsecure%2Fx"));
    b.get("/")
        .await
        .assert_redirect_to(&format!("{p}/totp?rd=%2F"));

    let page = b.get(&format!("{p}/totp?rd=%2Fsecure%2Fx")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Confirm with your passkey"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&base64url(&credential_id)),
        "the passkey is allowed"
    );
    assert!(
        !page.body.contains("name=\"code\""),
        "bob has no authenticator app"
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("static/passkey.js;"), "{csp}");
    // The way out when the passkey is lost: a recovery code.
    assert!(page.body.contains("Lost your passkey? Use a recovery code"));
    let recovery = b.get(&format!("{p}/recovery?rd=%2F")).await;
    assert_eq!(recovery.status, 200);
    assert!(recovery.body.contains("Use your passkey instead"));

    // Answers that do not check out are refused and counted like wrong codes, until the ban.
    for attempt in 1..=3 {
        let page = b.get(&format!("{p}/totp?rd=%2Fsecure%2Fx")).await;
        let (csrf, ceremony) = (page.field("csrf"), page.field("ceremony"));
        let answer = b
            .post_form(
                &format!("{p}/passkey/verify"),
                &[
                    ("csrf", &csrf),
                    ("ceremony", &ceremony),
                    ("rd", "/secure/x"),
                    ("credential", "{\"id\":\"forged\"}"),
                ],
            )
            .await;
        if attempt < 3 {
            assert_eq!(answer.status, 200);
            assert!(answer.body.contains("That passkey was not accepted"));
        } else {
            assert_banned(&answer, 15 * 60);
        }
    }
    let rows = audit_rows_at_least(&gw, "passkey_failure", "bob", 3).await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        rows[0].detail.as_deref(),
        Some("no credential in the answer")
    );
    // Still waiting for the second factor.
    b.get("/secure/x")
        .await
        .assert_redirect_to(&format!("{p}/totp?rd=%2Fsecure%2Fx"));
}

#[tokio::test(flavor = "multi_thread")]
async fn passwordless_answers_that_name_nobody_count_against_the_client() {
    let gw = spawn_gateway_configured(
        "",
        "",
        "[webauthn]\npasswordless = true\n\n[regulation]\nmax_failures = 2\nwindow = \"5m\"\nban = \"10m\"\n",
    );
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    for attempt in 1..=2 {
        let page = b.get(&format!("{p}/login")).await;
        let fields = [
            ("csrf", page.field("csrf")),
            ("ceremony", page.field("ceremony")),
            ("rd", "/".to_string()),
            ("credential", "not json".to_string()),
        ];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = b.post_form(&format!("{p}/passkey/login"), &fields).await;
        if attempt < 2 {
            assert_eq!(answer.status, 200);
            assert!(answer.body.contains("That passkey was not accepted"));
            assert!(answer
                .set_cookies()
                .iter()
                .all(|c| !c.starts_with("portcullis_session=")));
        } else {
            assert_banned(&answer, 10 * 60);
        }
    }
    let rows = audit_until(&gw, |r| {
        r.iter().filter(|e| e.event == "passkey_failure").count() >= 2
    })
    .await;
    let failures: Vec<_> = rows
        .iter()
        .filter(|e| e.event == "passkey_failure")
        .collect();
    assert_eq!(failures.len(), 2);
    assert!(
        failures.iter().all(|e| e.username.is_none()),
        "{failures:?}"
    );
    // The client is banned, from the password form too.
    let page = b.login(&p, "nobody", "whatever password", "/").await;
    assert_eq!(page.status, 429, "{}", page.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn adding_a_passkey_needs_a_second_factor_confirmed_lately() {
    let gw = spawn_gateway();
    let p = gw.prefix().to_string();
    gw.add_user("carol", &[]);
    let mut carol = enrol(&gw, "carol").await;
    // Her session confirmed its second factor an hour ago: longer than `reauth` (10 minutes).
    carol.browser = two_factor_session(&gw, "carol", now() as i64 - 3600).await;
    let new = format!("{p}/account/passkeys/new?name=Phone");
    let asked = carol.browser.get(&new).await;
    let again = format!(
        "{p}/totp?again=1&rd={}",
        form_urlencoded::byte_serialize(new.as_bytes()).collect::<String>()
    );
    asked.assert_redirect_to(&again);
    let page = carol.browser.get(&again).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Confirm it is you"));
    assert!(page.body.contains("name=\"again\" value=\"1\""));
    let (code, t) = fresh_code(&carol.secret_base32, carol.last_code_time).await;
    carol.last_code_time = t;
    let csrf = page.field("csrf");
    let confirmed = carol
        .browser
        .post_form(
            &format!("{p}/totp"),
            &[
                ("csrf", &csrf),
                ("code", &code),
                ("again", "1"),
                ("rd", &new),
            ],
        )
        .await;
    confirmed.assert_redirect_to(&new);
    let rows = audit_rows(&gw, "admin_reauth", "carol").await;
    assert_eq!(rows[0].detail.as_deref(), Some("confirmed again: totp"));
    // Confirmed: the page that creates the passkey, with its script.
    let page = carol.browser.get(&new).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("This passkey will be called “Phone”."));
    assert!(page.body.contains("data-passkey=\"create\""));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("script-src http://app.test/"));
    // A registration that answers no ceremony of this session adds nothing.
    let refused = carol
        .browser
        .post_form(
            &format!("{p}/account/passkeys/register"),
            &[
                ("csrf", &page.field("csrf")),
                ("ceremony", "made-up"),
                ("credential", "{}"),
            ],
        )
        .await;
    assert_eq!(refused.status, 200);
    assert!(
        refused.body.contains("That attempt expired"),
        "{}",
        refused.body
    );
    assert!(gw.store().passkeys(carol_id(&gw)).unwrap().is_empty());

    // Asking again where there is nothing to confirm: a fresh session goes straight on, and a
    // person without a second factor is sent to set one up, never raised.
    carol
        .browser
        .get(&format!("{p}/totp?again=1&rd=%2Fx"))
        .await
        .assert_redirect_to("/x");
    gw.add_user("dave", &[]);
    let mut dave = gw.browser();
    dave.login(&p, "dave", PASSWORD, "/").await;
    dave.get(&format!("{p}/totp?again=1&rd=%2Fx"))
        .await
        .assert_redirect_to(&format!("{p}/totp/setup?rd=%2Fx"));
}

fn carol_id(gw: &TestGateway) -> i64 {
    gw.store().user_by_name("carol").unwrap().unwrap().id
}

#[tokio::test(flavor = "multi_thread")]
async fn only_its_owner_renames_or_removes_a_passkey() {
    let gw = spawn_gateway();
    let p = gw.prefix().to_string();
    let bob = gw.add_user("bob", &[]);
    let (_, credential_id) = recorded_passkey();
    let id = give_passkey(&gw, bob, "Phone", &credential_id).to_string();
    gw.add_user("alice", &[]);
    let mut alice = gw.browser();
    alice.login(&p, "alice", PASSWORD, "/").await;
    let account = alice.get(&format!("{p}/account")).await;
    let csrf = account.field("csrf");
    for (action, fields) in [
        ("rename", vec![("passkey", id.as_str()), ("name", "mine")]),
        ("remove", vec![("passkey", id.as_str())]),
    ] {
        let mut all = fields.clone();
        all.push(("csrf", &csrf));
        let page = alice
            .post_form(&format!("{p}/account/passkeys/{action}"), &all)
            .await;
        assert_eq!(page.status, 404, "{action}: {}", page.body);
    }
    let keys = gw.store().passkeys(bob).unwrap();
    assert_eq!((keys.len(), keys[0].name.as_str()), (1, "Phone"));
    // A name of nothing but spaces and control characters is no name.
    let page = alice
        .post_form(
            &format!("{p}/account/passkeys/rename"),
            &[("passkey", &id), ("name", " \u{7} "), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("Give the passkey a name."));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_lists_and_removes_passkeys() {
    let gw = spawn_gateway();
    let bob = gw.add_user("bob", &[]);
    let (_, credential_id) = recorded_passkey();
    let phone = give_passkey(&gw, bob, "Phone", &credential_id);
    let key = give_passkey(&gw, bob, "Security key", b"another credential id");
    let text = |args: &[&str]| {
        let out = gw.cli(args, None);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, listed, _) = text(&["user", "passkeys", "bob"]);
    assert!(ok);
    assert!(listed.starts_with("ID"), "{listed}");
    assert!(
        listed.contains(&format!("{phone:<6}")) && listed.contains("Phone"),
        "{listed}"
    );
    assert!(
        listed.contains("Security key") && listed.contains("never"),
        "{listed}"
    );

    let (ok, _, err) = text(&["user", "passkeys", "bob", "--remove", "999"]);
    assert!(!ok);
    assert_eq!(
        err.trim(),
        "error: bob has no passkey 999 (see `portcullis user passkeys bob`)"
    );
    let (ok, _, err) = text(&["user", "passkeys", "nobody"]);
    assert!(!ok);
    assert!(err.contains("no user named `nobody`"), "{err}");

    let mut signed_in = gw.browser();
    signed_in
        .login(gw.prefix(), "bob", PASSWORD, "/")
        .await
        .assert_redirect_to(&format!("{}/totp?rd=%2F", gw.prefix()));
    let (ok, said, _) = text(&["user", "passkeys", "bob", "--remove", &key.to_string()]);
    assert!(ok);
    // Its sessions end with it, as with a second-factor reset.
    assert!(gw.store().list_sessions(Some("bob")).unwrap().is_empty());
    assert_eq!(
        said.trim(),
        format!("removed passkey {key} of bob; their sessions ended")
    );
    let left = gw.store().passkeys(bob).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, phone);
    let rows = audit_rows(&gw, "passkey_removed", "bob").await;
    assert_eq!(
        rows[0].detail.as_deref(),
        Some(format!("#{key}, from the command line").as_str())
    );

    // The last passkey of a person without an app takes the recovery codes with it.
    gw.state
        .factors
        .replace_recovery_codes(bob, portcullis::auth::recovery::generate_codes(3))
        .await
        .unwrap();
    let (ok, _, _) = text(&["user", "passkeys", "bob", "--remove", &phone.to_string()]);
    assert!(ok);
    assert_eq!(gw.store().recovery_codes_left(bob).unwrap(), 0);
    give_passkey(&gw, bob, "Phone", &credential_id);
    // A reset of the second factor takes passkeys too; deleting the user takes them all.
    let (ok, _, _) = text(&["user", "reset-2fa", "bob"]);
    assert!(ok);
    let (_, listed, _) = text(&["user", "passkeys", "bob"]);
    assert_eq!(listed.trim(), "bob has no passkeys");
    give_passkey(&gw, bob, "Phone", &credential_id);
    let (ok, _, _) = text(&["user", "delete", "bob"]);
    assert!(ok);
    assert!(gw
        .store()
        .passkey_by_credential(&credential_id)
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_passkey_and_an_app_the_code_still_works_without_the_script() {
    let gw = spawn_gateway();
    let p = gw.prefix().to_string();
    let erin = gw.add_user("erin", &[]);
    let enrolled = enrol(&gw, "erin").await;
    let (_, credential_id) = recorded_passkey();
    give_passkey(&gw, erin, "Phone", &credential_id);
    let mut b = gw.browser();
    b.login(&p, "erin", PASSWORD, "/secure/x")
        .await
        .assert_redirect_to(&format!("{p}/totp?rd=%2Fsecure%2Fx"));
    let page = b.get(&format!("{p}/totp?rd=%2Fsecure%2Fx")).await;
    // The passkey first, then the code form: a plain form that needs no script.
    let passkey_at = page
        .body
        .find("data-passkey=\"get\"")
        .expect("a passkey form");
    let code_at = page.body.find("name=\"code\"").expect("a code form");
    assert!(passkey_at < code_at);
    assert!(page.body.contains("Or enter a code"));
    let (code, _) = fresh_code(&enrolled.secret_base32, enrolled.last_code_time).await;
    let csrf = page.field("csrf");
    b.post_form(
        &format!("{p}/totp"),
        &[("csrf", &csrf), ("code", &code), ("rd", "/secure/x")],
    )
    .await
    .assert_redirect_to("/secure/x");
    assert_signed_in(&mut b, "erin").await;

    // Turning the app off leaves the passkey: the session keeps its two factors.
    let account = b.get(&format!("{p}/account")).await;
    let csrf = account.field("csrf");
    let recovery = &enrolled.recovery_codes[0];
    b.post_form(
        &format!("{p}/totp/disable"),
        &[("code", recovery), ("csrf", &csrf), ("confirm", "1")],
    )
    .await
    .assert_redirect_to(&format!("{p}/account?done=totp_disabled_passkey"));
    // The recovery codes stay with the passkey (one was just used), and the page says so.
    assert_eq!(gw.store().recovery_codes_left(erin).unwrap(), 9);
    let account = b
        .get(&format!("{p}/account?done=totp_disabled_passkey"))
        .await;
    assert!(account
        .body
        .contains("Your passkeys remain your second factor."));
    let page = b.get("/secure/x").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.echoed().header("remote-user").as_deref(), Some("erin"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_with_the_password_alone_cannot_add_an_app_beside_a_passkey() {
    let gw = spawn_gateway();
    let p = gw.prefix().to_string();
    let alice = gw.add_user("alice", &[]);
    // Signed in with the password while alice had no second factor: one factor.
    let mut old = gw.browser();
    old.login(&p, "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    // Then she adds a passkey (elsewhere).
    let (_, credential_id) = recorded_passkey();
    give_passkey(&gw, alice, "Phone", &credential_id);
    gw.state.sessions.forget_user(alice);
    // The old session cannot set up an authenticator of its own: the passkey first.
    let setup = format!("{p}/totp/setup?rd=%2F");
    let again = format!(
        "{p}/totp?again=1&rd={}",
        form_urlencoded::byte_serialize(setup.as_bytes()).collect::<String>()
    );
    old.get(&setup).await.assert_redirect_to(&again);
    let account = old.get(&format!("{p}/account")).await;
    let posted = old
        .post_form(
            &format!("{p}/totp/setup"),
            &[
                ("csrf", &account.field("csrf")),
                ("code", "123456"),
                ("rd", "/"),
            ],
        )
        .await;
    assert_eq!(posted.status, 303);
    assert!(
        posted.location().starts_with(&format!("{p}/totp?again=1")),
        "{}",
        posted.location()
    );
    assert!(gw.store().totp(alice).unwrap().is_none());
    assert!(gw.store().totp_pending(alice).unwrap().is_none());
    // The challenge it is sent to asks for the passkey, and no code can stand in for it.
    let page = old.get(&again).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("data-passkey=\"get\""));
    assert!(!page.body.contains("name=\"code\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn passkeys_made_for_another_site_name_are_not_offered_and_the_page_says_where() {
    let gw = spawn_gateway();
    let p = gw.prefix().to_string();
    let bob = gw.add_user("bob", &[]);
    let (credential, credential_id) = recorded_passkey();
    let new = NewPasskey {
        user_id: bob,
        credential_id,
        rp_id: "example.org".into(),
        name: "Phone".into(),
        credential,
        counter: 1,
    };
    gw.store().add_passkey(&new, now() as i64).unwrap().unwrap();
    let mut b = gw.browser();
    b.login(&p, "bob", PASSWORD, "/").await;
    let page = b.get(&format!("{p}/totp?rd=%2F")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("Your passkeys were made for example.org."),
        "{}",
        page.body
    );
    assert!(!page.body.contains("data-passkey"));
    assert!(!page.body.contains("<script"));
    // The way out is still there: a recovery code.
    assert!(page.body.contains("Lost your passkey? Use a recovery code"));
}

#[tokio::test(flavor = "multi_thread")]
async fn passwordless_failures_that_name_a_user_never_lock_that_user_out() {
    let gw = spawn_gateway_configured(
        TRUST_LOOPBACK,
        "",
        "[webauthn]\npasswordless = true\n\n[regulation]\nmax_failures = 2\nwindow = \"5m\"\nban = \"10m\"\n",
    );
    let p = gw.prefix().to_string();
    let bob = gw.add_user("bob", &[]);
    let (_, credential_id) = recorded_passkey();
    give_passkey(&gw, bob, "Phone", &credential_id);
    let handle = gw.store().webauthn_handle(bob, [9; 16]).unwrap();
    // An answer that names bob's passkey and handle, with a signature nobody made.
    let forged = serde_json::json!({
        "id": base64url(&credential_id),
        "rawId": base64url(&credential_id),
        "type": "public-key",
        "response": {
            "authenticatorData": base64url(&[0; 37]),
            "clientDataJSON": base64url(b"{}"),
            "signature": base64url(&[1; 64]),
            "userHandle": base64url(&handle),
        },
    })
    .to_string();
    for ip in ["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"] {
        let mut attacker = gw.browser();
        let xff = [("X-Forwarded-For", ip)];
        let page = attacker.get_with(&format!("{p}/login"), &xff).await;
        let fields = [
            ("csrf", page.field("csrf")),
            ("ceremony", page.field("ceremony")),
            ("rd", "/".to_string()),
            ("credential", forged.clone()),
        ];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let origin = attacker.origin();
        let answer = attacker
            .post_form_with(&format!("{p}/passkey/login"), &fields, Some(&origin), &xff)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(answer.body.contains("That passkey was not accepted"));
    }
    let rows = audit_until(&gw, |r| count_rows(r, "passkey_failure", "bob") >= 4).await;
    assert_eq!(count_rows(&rows, "passkey_failure", "bob"), 4);
    assert_eq!(
        count_rows(&rows, "ban", "bob"),
        0,
        "bob's second factor is not banned"
    );
    // Bob, from his own address, signs in and reaches his challenge page.
    let mut real = gw.browser();
    let xff = [("X-Forwarded-For", "198.51.100.7")];
    real.login_with(&p, "bob", PASSWORD, "/", &xff)
        .await
        .assert_redirect_to(&format!("{p}/totp?rd=%2F"));
    let page = real.get_with(&format!("{p}/totp?rd=%2F"), &xff).await;
    assert_eq!(page.status, 200, "{}", page.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_sees_a_users_passkeys_and_removes_one() {
    let gw = spawn_gateway();
    let p = gw.prefix().to_string();
    gw.add_user("root", &["admins"]);
    let mut root = enrol(&gw, "root").await;
    let bob = gw.add_user("bob", &[]);
    let (_, credential_id) = recorded_passkey();
    let id = give_passkey(&gw, bob, "Phone", &credential_id).to_string();
    let mut bobs = two_factor_session(&gw, "bob", now() as i64).await;
    assert_signed_in(&mut bobs, "bob").await;
    let page_path = format!("{p}/admin/user?name=bob");
    let page = root.browser.get(&page_path).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<strong>Phone</strong>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("for app.test, added"), "{}", page.body);
    let done = root
        .browser
        .submit(
            &page_path,
            &page_path,
            &[("action", "remove-passkey"), ("passkey", &id)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(gw.store().passkeys(bob).unwrap().is_empty());
    // Bob's session (which that passkey may have opened) is over.
    bobs.get("/")
        .await
        .assert_redirect_to(&format!("{p}/login?rd=%2F"));
    let rows = audit_until(&gw, |r| count_rows(r, "passkey_removed", "bob") > 0).await;
    let row = rows.iter().find(|e| e.event == "passkey_removed").unwrap();
    assert!(
        row.detail.as_deref().unwrap().contains("by admin root"),
        "{row:?}"
    );
    // Again: it is gone, and the page says so.
    let again = root
        .browser
        .submit(
            &page_path,
            &page_path,
            &[("action", "remove-passkey"), ("passkey", &id)],
        )
        .await;
    assert_eq!(again.status, 404);
    assert!(again.body.contains("That passkey is no longer there."));
}

/// A session for `user` at two factors whose factor was confirmed at `factor_at`, as a
/// browser would hold it after a passkey (which only a real browser can make).
async fn two_factor_session(gw: &TestGateway, user: &str, factor_at: i64) -> Browser {
    use portcullis::session::{Identity, Level, Succession};
    let store = gw.store();
    let found = store.user_by_name(user).unwrap().unwrap();
    let enrolled = store.enrolled(found.id).unwrap();
    let identity = std::sync::Arc::new(Identity::from_user(&found, enrolled));
    let origin = portcullis::auth::Origin {
        ip: "127.0.0.1".parse().unwrap(),
        user_agent: Some("test"),
    };
    let (value, _) = gw
        .state
        .sessions
        .open(
            identity,
            Level::TwoFactor,
            &origin,
            Succession::Fresh,
            Some(factor_at),
            now() as i64,
        )
        .await
        .unwrap();
    let mut b = gw.browser();
    b.cookies.push(("portcullis_session".into(), value));
    b
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passkey_only_user_signs_in_with_a_recovery_code_and_renews_them_with_the_passkey() {
    let gw = spawn_gateway_configured("", "", "[admin]\nreauth = \"1m\"\n");
    let p = gw.prefix().to_string();
    let bob = gw.add_user("bob", &[]);
    let (_, credential_id) = recorded_passkey();
    give_passkey(&gw, bob, "Phone", &credential_id);
    let codes = portcullis::auth::recovery::generate_codes(10);
    gw.state
        .factors
        .replace_recovery_codes(bob, codes.clone())
        .await
        .unwrap();
    // The passkey is lost: a recovery code signs bob in, at two factors.
    let mut b = gw.browser();
    b.login(&p, "bob", PASSWORD, "/secure/x")
        .await
        .assert_redirect_to(&format!("{p}/totp?rd=%2Fsecure%2Fx"));
    let page = b.get(&format!("{p}/recovery?rd=%2Fsecure%2Fx")).await;
    let used = b
        .post_form(
            &format!("{p}/recovery"),
            &[
                ("csrf", &page.field("csrf")),
                ("code", &codes[0]),
                ("rd", "/secure/x"),
            ],
        )
        .await;
    assert_eq!(used.status, 200, "{}", used.body);
    assert!(
        used.body.contains("That recovery code is now used up."),
        "{}",
        used.body
    );
    assert_eq!(gw.store().recovery_codes_left(bob).unwrap(), 9);
    // The way back is a new passkey, not an authenticator app bob never had.
    assert!(used.body.contains("Add a new passkey"), "{}", used.body);
    assert!(!used.body.contains("Set up a new authenticator"));
    assert_signed_in(&mut b, "bob").await;

    // New codes with a passkey confirmed long ago: the challenge asks for it again first.
    let mut stale = two_factor_session(&gw, "bob", now() as i64 - 3600).await;
    let account = stale.get(&format!("{p}/account")).await;
    assert!(
        account.body.contains("id=\"recovery-codes\""),
        "{}",
        account.body
    );
    let asked = stale
        .post_form(
            &format!("{p}/recovery-codes"),
            &[("csrf", &account.field("csrf"))],
        )
        .await;
    assert_eq!(asked.status, 303);
    assert!(
        asked.location().starts_with(&format!("{p}/totp?again=1")),
        "{}",
        asked.location()
    );
    assert_eq!(gw.store().recovery_codes_left(bob).unwrap(), 9);
    // Confirmed just now: ten new codes, shown once; the old ones no longer work.
    let mut fresh = two_factor_session(&gw, "bob", now() as i64).await;
    let account = fresh.get(&format!("{p}/account")).await;
    let renewed = fresh
        .post_form(
            &format!("{p}/recovery-codes"),
            &[("csrf", &account.field("csrf"))],
        )
        .await;
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    let shown = shown_codes(&renewed);
    assert_eq!(shown.len(), 10);
    assert!(!shown.contains(&codes[1]));
    let mut again = gw.browser();
    again.login(&p, "bob", PASSWORD, "/").await;
    let page = again.get(&format!("{p}/recovery?rd=%2F")).await;
    let refused = again
        .post_form(
            &format!("{p}/recovery"),
            &[
                ("csrf", &page.field("csrf")),
                ("code", &codes[1]),
                ("rd", "/"),
            ],
        )
        .await;
    assert_eq!(refused.status, 200);
    assert!(!refused
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("portcullis_session=")));
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_a_passkey_ends_the_persons_other_sessions() {
    let gw = spawn_gateway();
    let p = gw.prefix().to_string();
    let bob = gw.add_user("bob", &[]);
    let (_, credential_id) = recorded_passkey();
    let phone = give_passkey(&gw, bob, "Phone", &credential_id).to_string();
    give_passkey(&gw, bob, "Key", b"a second credential id");
    let mut elsewhere = two_factor_session(&gw, "bob", now() as i64).await;
    assert_signed_in(&mut elsewhere, "bob").await;
    let mut here = two_factor_session(&gw, "bob", now() as i64).await;
    let account = here.get(&format!("{p}/account")).await;
    here.post_form(
        &format!("{p}/account/passkeys/remove"),
        &[("csrf", &account.field("csrf")), ("passkey", &phone)],
    )
    .await
    .assert_redirect_to(&format!("{p}/account?done=passkey_removed"));
    // The other session is over; this one goes on, at two factors (a passkey remains).
    elsewhere
        .get("/")
        .await
        .assert_redirect_to(&format!("{p}/login?rd=%2F"));
    assert_signed_in(&mut here, "bob").await;
    let page = here.get("/secure/x").await;
    assert_eq!(page.status, 200, "{}", page.body);
}
