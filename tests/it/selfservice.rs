//! Self-service: invite links from the command line, the password rules, and the account
//! page's sessions and password change, over HTTP against the real upstream.

use std::sync::Arc;

use crate::helpers::*;

const CHROME_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1";

fn token_of(path: &str) -> String {
    path.split("token=").nth(1).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invited_person_chooses_a_password_enrols_and_is_signed_in() {
    let gw = spawn_gateway();
    let p = gw.prefix().to_string();
    let link = invite(
        &gw,
        &[
            "carol",
            "--email",
            "carol@example.test",
            "--name",
            "Carol C",
            "--group",
            "staff",
        ],
    );
    // The user exists without a password: no password signs in as them.
    let carol = gw.store().user_by_name("carol").unwrap().unwrap();
    assert_eq!(carol.groups, vec!["staff".to_string()]);
    let mut stranger = gw.browser();
    let r = stranger.login(&p, "carol", "", "/").await;
    assert_eq!(r.status, 400);

    let mut b = gw.browser();
    let page = b.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("carol"), "{}", page.body);
    assert!(
        page.body.contains("two-factor"),
        "require_totp says what comes next"
    );
    let token = token_of(&link);

    // Refused, each with its reason, the page shown again and the link still open: the two
    // passwords differ; a common password, in another case than the list's; the username in it.
    let csrf = page.field("csrf");
    let action = format!("{p}/invite");
    let choose = |password: &'static str, confirm: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("token", token.clone()),
            ("password", password.to_string()),
            ("confirm", confirm.to_string()),
        ]
    };
    for (password, confirm, why) in [
        (
            "Invited-Person-2026!",
            "Invited-Person-2026?",
            "not the same",
        ),
        ("Password123", "Password123", "most commonly used"),
        ("xx-Carol-2026-xx", "xx-Carol-2026-xx", "username"),
    ] {
        let fields = choose(password, confirm);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = b.post_form(&action, &fields).await;
        assert_eq!(r.status, 400, "{password}");
        assert!(r.body.contains(why), "{password}: {}", r.body);
    }
    let fields = choose("Invited-Person-2026!", "Invited-Person-2026!");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post_form(&action, &fields).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.location()
            .starts_with(&format!("{p}/totp/setup?required=1")),
        "{}",
        r.location()
    );
    // Signed in at one factor, and owing the second: no app before it is set up, not even a
    // one-factor route, and not after signing in again with the password either.
    let r = b.get("/x").await;
    assert_eq!(r.status, 302, "{}", r.body);
    assert!(
        r.location()
            .starts_with(&format!("{p}/totp/setup?required=1")),
        "{}",
        r.location()
    );
    let mut again = gw.browser();
    again
        .login(&p, "carol", "Invited-Person-2026!", "/")
        .await
        .assert_redirect_to("/");
    let r = again.get("/x").await;
    assert!(
        r.location()
            .starts_with(&format!("{p}/totp/setup?required=1")),
        "{}",
        r.location()
    );
    // The set-up page, then the codes.
    let setup = b.get(r.location()).await;
    assert_eq!(setup.status, 200, "{}", setup.body);
    let secret = setup_secret(&setup);
    let code = external_totp(&secret, now());
    let done = b
        .post_form(
            &format!("{p}/totp/setup"),
            &[
                ("csrf", &setup.field("csrf")),
                ("code", &code),
                ("rd", &setup.field("rd")),
                ("required", "1"),
            ],
        )
        .await;
    assert_eq!(shown_codes(&done).len(), 10, "{}", done.body);
    // Two factors now: the two-factor route lets them through, with their identity.
    let app = b.get("/secure/x").await;
    assert_eq!(app.status, 200, "{}", app.body);
    let echo = app.echoed();
    assert_eq!(echo.header("Remote-User").as_deref(), Some("carol"));
    assert_eq!(
        echo.header("Remote-Email").as_deref(),
        Some("carol@example.test")
    );

    // The link is dead, and says so plainly; the password chosen signs in.
    let again = gw.browser().get(&link).await;
    assert_eq!(again.status, 410);
    assert!(again.body.contains("used already"), "{}", again.body);
    assert!(!again.body.contains("type=\"password\""));
    let mut later = gw.browser();
    let r = later.login(&p, "carol", "Invited-Person-2026!", "/").await;
    r.assert_redirect_to(&format!("{p}/totp?rd=%2F"));

    let rows = audit_rows(&gw, "invite_created", "carol").await;
    assert_eq!(rows.len(), 1);
    audit_until(&gw, |rows| {
        count_rows(rows, "invite_accepted", "carol") == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_replaced_and_deleted_invites_are_refused_plainly() {
    let gw = spawn_gateway();
    // Expired: a link that lived one second.
    let short = invite(&gw, &["erin", "--expires", "1s"]);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = gw.browser().get(&short).await;
    assert_eq!(r.status, 410);
    assert!(r.body.contains("expired"), "{}", r.body);

    // Invited again: a new link; the old one is no longer valid.
    let fresh = invite(&gw, &["erin"]);
    let r = gw.browser().get(&short).await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains("not valid"), "{}", r.body);
    assert_eq!(gw.browser().get(&fresh).await.status, 200);

    // Deleted: the link dies with the user.
    let out = gw.cli(&["user", "delete", "erin"], None);
    assert!(out.status.success());
    assert_eq!(gw.browser().get(&fresh).await.status, 404);

    // Made up, or malformed.
    let p = gw.prefix();
    let fake = format!("{p}/invite?token={}", "A".repeat(43));
    assert_eq!(gw.browser().get(&fake).await.status, 404);
    assert_eq!(gw.browser().get(&format!("{p}/invite")).await.status, 404);
    assert_eq!(
        gw.browser()
            .get(&format!("{p}/invite?token=%00%ff"))
            .await
            .status,
        404
    );

    // A user with a password is not invited (that would replace it behind their back).
    gw.add_user("alice", &[]);
    let out = gw.cli(&["user", "invite", "alice"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("user passwd"));
}

#[tokio::test(flavor = "multi_thread")]
async fn twelve_submissions_of_one_link_at_once_sign_in_exactly_one() {
    let gw = spawn_gateway();
    let p = gw.prefix().to_string();
    let link = invite(&gw, &["frank"]);
    let token = token_of(&link);
    let mut forms = Vec::new();
    for _ in 0..12 {
        let mut b = gw.browser();
        let page = b.get(&link).await;
        assert_eq!(page.status, 200);
        let csrf = page.field("csrf");
        forms.push((b, csrf));
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(12));
    let mut tasks = Vec::new();
    for (i, (mut b, csrf)) in forms.into_iter().enumerate() {
        let (barrier, p, token) = (Arc::clone(&barrier), p.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let password = format!("Chosen-Secret-{i:02}!");
            barrier.wait().await;
            let r = b
                .post_form(
                    &format!("{p}/invite"),
                    &[
                        ("csrf", csrf.as_str()),
                        ("token", &token),
                        ("password", &password),
                        ("confirm", &password),
                    ],
                )
                .await;
            (r.status, password, b.session_cookie().is_some())
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (status, password, signed_in) = t.await.unwrap();
        match status {
            303 => {
                assert!(signed_in);
                winners.push(password);
            }
            410 => assert!(!signed_in),
            other => panic!("status {other}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    // The winner's password is the one stored.
    let mut b = gw.browser();
    b.login(&p, "frank", &winners[0], "/").await;
    assert!(b.session_cookie().is_some());
    audit_until(&gw, |rows| {
        count_rows(rows, "invite_accepted", "frank") == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn user_passwd_refuses_common_and_username_passwords_and_user_add_holds_the_length() {
    let gw = spawn_gateway();
    gw.add_user("dave", &[]);
    for (password, why) in [
        ("password123\n", "most commonly used"),
        ("Password123\n", "most commonly used"),
        ("dave-dave-77\n", "username"),
        ("short\n", "at least 8"),
    ] {
        let out = gw.cli(
            &["user", "passwd", "dave", "--password-stdin"],
            Some(password),
        );
        assert!(!out.status.success(), "{password}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{password}: {err}");
    }
    // `user add` is the operator's first password for an account: only its length is held.
    let out = gw.cli(
        &["user", "add", "erin", "--password-stdin"],
        Some("short\n"),
    );
    assert!(!out.status.success());
    assert!(gw.store().user_by_name("erin").unwrap().is_none());
    let out = gw.cli(
        &["user", "add", "erin", "--password-stdin"],
        Some("erin password 1\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing changed: the old password still signs in.
    let mut b = gw.browser();
    b.login(gw.prefix(), "dave", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
}

/// A browser with its own `User-Agent` on every request.
async fn signed_in_as(gw: &TestGateway, user: &str, ua: &str) -> Browser {
    let mut b = gw.browser();
    let r = b
        .login_with(gw.prefix(), user, PASSWORD, "/", &[("User-Agent", ua)])
        .await;
    r.assert_redirect_to("/");
    assert_signed_in(&mut b, user).await;
    b
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_page_lists_sessions_and_ends_them_one_or_all() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();
    let mut laptop = signed_in_as(&gw, "alice", CHROME_LINUX).await;
    let mut phone = signed_in_as(&gw, "alice", SAFARI_IPHONE).await;
    let mut tablet = signed_in_as(&gw, "alice", "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1").await;
    let mut bobs = signed_in_as(&gw, "bob", CHROME_LINUX).await;

    let account = laptop.get(&format!("{p}/account")).await;
    assert_eq!(account.status, 200);
    let body = &account.body;
    assert!(body.contains("Chrome on Linux"), "{body}");
    assert!(body.contains("Safari on iPhone"), "{body}");
    assert!(body.contains("Safari on iPad"), "{body}");
    assert!(body.contains("This browser"), "{body}");
    assert!(body.contains("127.0.0.1"));
    // Bob's session is not Alice's business.
    assert_eq!(body.matches("name=\"session\"").count(), 2, "{body}");

    // Sign out the phone: its next request goes to the sign-in page at once.
    let phone_handle = {
        let at = body.find("Safari on iPhone").unwrap();
        let rest = &body[at..];
        let v = rest.find("name=\"session\" value=\"").unwrap() + 22;
        rest[v..v + 32].to_string()
    };
    let csrf = account.field("csrf");
    let r = laptop
        .post_form(
            &format!("{p}/account/sessions/end"),
            &[("csrf", &csrf), ("session", &phone_handle)],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = laptop.get(r.location()).await;
    assert!(page.body.contains("That session is signed out."));
    assert_signed_out(&mut phone).await;
    assert_signed_in(&mut tablet, "alice").await;
    assert_signed_in(&mut laptop, "alice").await;

    // A handle of someone else's session ends nothing.
    let bob_page = bobs.get(&format!("{p}/account")).await;
    assert!(!bob_page.body.contains("name=\"session\""));
    let bob_handle = {
        let store = gw.store();
        let listed = store.list_sessions(Some("bob")).unwrap();
        hex::encode(&listed[0].row.id_hash[..16])
    };
    laptop
        .post_form(
            &format!("{p}/account/sessions/end"),
            &[("csrf", &csrf), ("session", &bob_handle)],
        )
        .await;
    assert_signed_in(&mut bobs, "bob").await;

    // Everywhere else: the tablet goes, the laptop stays.
    let r = laptop
        .post_form(
            &format!("{p}/account/sessions/end-others"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_signed_out(&mut tablet).await;
    assert_signed_in(&mut laptop, "alice").await;
    assert_eq!(gw.store().list_sessions(Some("alice")).unwrap().len(), 1);
    audit_until(&gw, |rows| {
        count_rows(rows, "session_ended", "alice") == 1
            && count_rows(rows, "sessions_revoked", "alice") == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_password_ends_every_other_session_at_once_and_keeps_this_one() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut here = signed_in_as(&gw, "alice", CHROME_LINUX).await;
    let mut elsewhere = signed_in_as(&gw, "alice", SAFARI_IPHONE).await;
    // Cached on both: the change must reach the cache, not only the store.
    assert_signed_in(&mut elsewhere, "alice").await;
    let old_cookie = here.session_cookie().unwrap();

    let account = format!("{p}/account");
    let action = format!("{p}/account/password");
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        vec![
            ("current_password", current),
            ("password", new),
            ("confirm", again),
        ]
    };
    // Wrong current password: refused, counted, nothing changed.
    let r = here
        .submit(
            &account,
            &action,
            &change(
                "not my password",
                "A-Brand-New-Secret",
                "A-Brand-New-Secret",
            ),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("current password is not right"),
        "{}",
        r.body
    );
    audit_until(&gw, |rows| count_rows(rows, "login_failure", "alice") == 1).await;
    // Not the same twice; a common one; the username in it.
    let r = here
        .submit(
            &account,
            &action,
            &change(PASSWORD, "A-Brand-New-Secret", "A-Brand-New-SecreT"),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("not the same"));
    let r = here
        .submit(&account, &action, &change(PASSWORD, "iloveyou", "iloveyou"))
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("most commonly used"));
    let r = here
        .submit(
            &account,
            &action,
            &change(PASSWORD, "alice-in-2026", "alice-in-2026"),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_signed_in(&mut elsewhere, "alice").await;

    let r = here
        .submit(
            &account,
            &action,
            &change(PASSWORD, "A-Brand-New-Secret", "A-Brand-New-Secret"),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    // This browser goes on, under a new id; the old id is dead.
    let new_cookie = here.session_cookie().unwrap();
    assert_ne!(new_cookie, old_cookie);
    let page = here.get(r.location()).await;
    assert!(
        page.body.contains("Your password is changed"),
        "{}",
        page.body
    );
    assert_signed_in(&mut here, "alice").await;
    let mut stale = gw.browser();
    stale
        .cookies
        .push(("portcullis_session".into(), old_cookie));
    assert_signed_out(&mut stale).await;
    // The other session ended at once, though it was cached.
    assert_signed_out(&mut elsewhere).await;
    // The new password signs in; the old one does not.
    let mut b = gw.browser();
    b.login(&p, "alice", "A-Brand-New-Secret", "/")
        .await
        .assert_redirect_to("/");
    let mut b = gw.browser();
    let r = b.login(&p, "alice", PASSWORD, "/").await;
    assert!(r.body.contains("Wrong username or password"));
    audit_until(&gw, |rows| {
        count_rows(rows, "password_changed", "alice") == 1
    })
    .await;
}

const REMEMBER_COOKIE: &str = "portcullis_session_remember";

/// Remembers the browser holding `token` for `user` for an hour, straight in the store.
fn remember_in_store(gw: &TestGateway, user: &str, token: &str) {
    let store = gw.store();
    let row = portcullis::store::RememberedBrowser {
        token_hash: portcullis::session::hash_id(token).unwrap(),
        user_id: store.user_by_name(user).unwrap().unwrap().id,
        created_at: now() as i64,
        expires_at: now() as i64 + 3600,
        last_used: None,
        client_ip: "127.0.0.1".into(),
        user_agent: String::new(),
    };
    store.remember_browser(&row).unwrap();
}

/// Signs `b` out, then in with the password: where the sign-in sends it.
async fn sign_in_again(gw: &TestGateway, b: &mut Browser) -> String {
    let p = gw.prefix().to_string();
    let account = b.get(&format!("{p}/account")).await;
    if account.status == 200 {
        b.post_form(&format!("{p}/logout"), &[("csrf", &account.field("csrf"))])
            .await;
    } else {
        // Left at the code step: that pending session is simply abandoned.
        b.cookies.retain(|(name, _)| name != "portcullis_session");
    }
    let r = b.login(&p, "alice", PASSWORD, "/secure/x").await;
    assert_eq!(r.status, 303, "{}", r.body);
    r.location().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remembered_browser_skips_the_code_for_its_user_until_forgotten() {
    let gw = spawn_gateway_configured("", "", "[totp]\nremember_browser = \"30d\"");
    gw.add_user("alice", &[]);
    gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();
    let alice = enrol(&gw, "alice").await;
    let mut b = alice.browser;

    // The code step offers it; ticking it sets a cookie of its own.
    let to_code = sign_in_again(&gw, &mut b).await;
    assert!(to_code.starts_with(&format!("{p}/totp")), "{to_code}");
    let page = b.get(&to_code).await;
    assert!(
        page.body.contains("Remember this browser for 30 days"),
        "{}",
        page.body
    );
    let (code, _) = fresh_code(&alice.secret_base32, alice.last_code_time).await;
    let r = b
        .post_form(
            &format!("{p}/totp"),
            &[
                ("csrf", &page.field("csrf")),
                ("rd", "/secure/x"),
                ("code", &code),
                ("remember", "1"),
            ],
        )
        .await;
    r.assert_redirect_to("/secure/x");
    let token = b.cookie(REMEMBER_COOKIE).expect("a remember cookie");
    let set = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with(REMEMBER_COOKIE))
        .unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("Max-Age=2592000"),
        "{set}"
    );
    audit_until(&gw, |rows| {
        count_rows(rows, "browser_remembered", "alice") == 1
    })
    .await;

    // Signed out and in again: the password alone reaches a two-factor route.
    let next = sign_in_again(&gw, &mut b).await;
    assert_eq!(next, "/secure/x");
    assert_eq!(b.get("/secure/x").await.status, 200);
    // The password is still asked, and a wrong one still refused.
    let mut wrong = gw.browser();
    wrong.cookies.push((REMEMBER_COOKIE.into(), token.clone()));
    let r = wrong.login(&p, "alice", "not the password", "/").await;
    assert!(r.body.contains("Wrong username or password"));
    // Another browser still needs the code; so does another user with this browser's token.
    let mut other = gw.browser();
    let r = other.login(&p, "alice", PASSWORD, "/").await;
    assert!(r.location().starts_with(&format!("{p}/totp")));
    enrol(&gw, "bob").await;
    let mut bobs = gw.browser();
    bobs.cookies.push((REMEMBER_COOKIE.into(), token.clone()));
    let r = bobs.login(&p, "bob", PASSWORD, "/").await;
    assert!(
        r.location().starts_with(&format!("{p}/totp")),
        "{}",
        r.location()
    );

    // The account page lists it as this browser; forgetting it brings the code back.
    let account = b.get(&format!("{p}/account")).await;
    assert!(
        account.body.contains("Remembered browsers"),
        "{}",
        account.body
    );
    let handle = account.field("browser");
    let r = b
        .post_form(
            &format!("{p}/account/browsers/forget"),
            &[("csrf", &account.field("csrf")), ("browser", &handle)],
        )
        .await;
    assert_eq!(r.status, 303);
    let next = sign_in_again(&gw, &mut b).await;
    assert!(next.starts_with(&format!("{p}/totp")), "{next}");
    audit_until(&gw, |rows| {
        count_rows(rows, "browser_forgotten", "alice") == 1
    })
    .await;

    // A new password forgets every browser too.
    remember_in_store(&gw, "alice", &token);
    assert_eq!(sign_in_again(&gw, &mut b).await, "/secure/x");
    let out = gw.cli(
        &["user", "passwd", "alice", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let next = sign_in_again(&gw, &mut b).await;
    assert!(next.starts_with(&format!("{p}/totp")), "{next}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remembered_browser_expires_and_is_not_offered_when_off() {
    let gw = spawn_gateway_configured("", "", "[totp]\nremember_browser = \"2s\"");
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let alice = enrol(&gw, "alice").await;
    let mut b = alice.browser;
    let to_code = sign_in_again(&gw, &mut b).await;
    let page = b.get(&to_code).await;
    assert!(
        page.body.contains("Remember this browser for 1 hour"),
        "{}",
        page.body
    );
    let (code, _) = fresh_code(&alice.secret_base32, alice.last_code_time).await;
    b.post_form(
        &format!("{p}/totp"),
        &[
            ("csrf", &page.field("csrf")),
            ("rd", "/secure/x"),
            ("code", &code),
            ("remember", "1"),
        ],
    )
    .await
    .assert_redirect_to("/secure/x");
    assert_eq!(sign_in_again(&gw, &mut b).await, "/secure/x");
    // Past its two seconds the store no longer knows it, whatever the browser keeps.
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    assert!(b.cookie(REMEMBER_COOKIE).is_some());
    let next = sign_in_again(&gw, &mut b).await;
    assert!(next.starts_with(&format!("{p}/totp")), "{next}");

    // Off (the default): no checkbox.
    let off = spawn_gateway();
    off.add_user("alice", &[]);
    let enrolled = enrol(&off, "alice").await;
    let mut b = enrolled.browser;
    let to_code = sign_in_again(&off, &mut b).await;
    let page = b.get(&to_code).await;
    assert!(!page.body.contains("Remember this browser"));
    assert!(!page.body.contains("name=\"remember\""));
    // A browser remembered before the operator turned the feature off is asked for the code.
    let token = portcullis::session::random_token();
    remember_in_store(&off, "alice", &token);
    b.cookies.push((REMEMBER_COOKIE.into(), token));
    let next = sign_in_again(&off, &mut b).await;
    assert!(next.starts_with(&format!("{p}/totp")), "{next}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_require_totp_only_those_named_for_two_factors_must_enrol_first() {
    let gw = spawn_gateway_configured("", "", "[invites]\nrequire_totp = false");
    let p = gw.prefix().to_string();
    let accept = |link: String, password: &'static str| {
        let gw = &gw;
        async move {
            let mut b = gw.browser();
            let page = b.get(&link).await;
            let r = b
                .post_form(
                    &format!("{}/invite", gw.prefix()),
                    &[
                        ("csrf", &page.field("csrf")),
                        ("token", &page.field("token")),
                        ("password", password),
                        ("confirm", password),
                    ],
                )
                .await;
            (b, r)
        }
    };
    let (mut plain, r) = accept(invite(&gw, &["hana"]), "Chosen-Secret-2026").await;
    r.assert_redirect_to("/");
    assert_signed_in(&mut plain, "hana").await;
    // An admin must set two factors up before anything.
    let (mut admin, r) = accept(
        invite(&gw, &["ivan", "--group", "admins"]),
        "Chosen-Secret-2026",
    )
    .await;
    assert!(
        r.location()
            .starts_with(&format!("{p}/totp/setup?required=1")),
        "{}",
        r.location()
    );
    let r = admin.get("/x").await;
    assert!(
        r.location()
            .starts_with(&format!("{p}/totp/setup?required=1")),
        "{}",
        r.location()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_set_by_the_operator_ends_the_invite_link() {
    let gw = spawn_gateway();
    let link = invite(&gw, &["jade"]);
    let out = gw.cli(
        &["user", "passwd", "jade", "--password-stdin"],
        Some("Set-By-The-Operator\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = gw.browser().get(&link).await;
    assert_eq!(r.status, 404, "{}", r.body);
    // The operator's password stands.
    let mut b = gw.browser();
    b.login(gw.prefix(), "jade", "Set-By-The-Operator", "/")
        .await
        .assert_redirect_to("/");
}
