//! The admin area over real HTTP: who may see it (admins, with two factors), the fresh second
//! factor every change needs, each change as the store and the audit trail record it, the
//! last-admin rule, bans, and the audit log's filters and pages.

use std::time::Duration;

use portcullis::store::AuditEvent;

use crate::helpers::*;

const SESSION: &str = "portcullis_session";

/// An admin (`root`, in `admins`) signed in with both factors, and how they enrolled.
async fn signed_in_admin(gw: &TestGateway) -> Enrolled {
    gw.add_user("root", &["admins"]);
    enrol(gw, "root").await
}

/// A fresh browser signed in as `user` with the password (a user without TOTP).
async fn password_session(gw: &TestGateway, user: &str) -> Browser {
    let mut b = gw.browser();
    b.login(gw.prefix(), user, PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    b
}

/// The user page of `name`.
fn user_page(gw: &TestGateway, name: &str) -> String {
    format!("{}/admin/user?name={name}", gw.prefix())
}

/// Posts the form of `name`'s user page with `fields` (and the page's CSRF token).
async fn act(gw: &TestGateway, b: &mut Browser, name: &str, fields: &[(&str, &str)]) -> Page {
    let page = user_page(gw, name);
    b.submit(&page, &page, fields).await
}

/// The audit rows of `event` naming `user`, once one names `admin` as who made it.
async fn change_rows(gw: &TestGateway, event: &str, user: &str, admin: &str) -> Vec<AuditEvent> {
    let by = format!("by admin {admin}");
    let named = |e: &AuditEvent| {
        e.event == event
            && e.username.as_deref() == Some(user)
            && e.detail.as_deref().is_some_and(|d| d.contains(&by))
    };
    audit_until(gw, |rows| rows.iter().any(named))
        .await
        .into_iter()
        .filter(named)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_area_is_refused_to_visitors_and_to_users_outside_the_admin_groups() {
    let gw = spawn_gateway();
    gw.add_user("bob", &["staff"]);
    let p = gw.prefix().to_string();

    let mut nobody = gw.browser();
    let r = nobody.get(&format!("{p}/admin/audit?user=x")).await;
    r.assert_redirect_to(&format!(
        "{p}/login?rd=%2F.portcullis%2Fadmin%2Faudit%3Fuser%3Dx"
    ));

    let mut bob = gw.browser();
    bob.login(&p, "bob", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    for page in [
        "/admin",
        "/admin/user?name=bob",
        "/admin/bans",
        "/admin/audit",
    ] {
        let r = bob.get(&format!("{p}{page}")).await;
        assert_eq!(r.status, 403, "{page}: {}", r.body);
        assert!(r.body.contains("Admins only"), "{}", r.body);
    }
    let account = bob.get(&format!("{p}/account")).await;
    assert!(!account.body.contains("id=\"admin-link\""));
    // Nor may a non-admin change anything, whatever the form carries.
    let csrf = account.field("csrf");
    let r = bob
        .post_form(
            &format!("{p}/admin/user?name=bob"),
            &[
                ("csrf", &csrf),
                ("action", "add-group"),
                ("group", "admins"),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        gw.store().user_by_name("bob").unwrap().unwrap().groups,
        ["staff"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_without_totp_enrols_and_a_one_factor_admin_steps_up_first() {
    let gw = spawn_gateway();
    gw.add_user("root", &["admins"]);
    let p = gw.prefix().to_string();

    let mut a = gw.browser();
    a.login(&p, "root", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    a.get(&format!("{p}/admin"))
        .await
        .assert_redirect_to(&format!(
            "{p}/totp/setup?required=1&rd=%2F.portcullis%2Fadmin"
        ));

    // Enrolled elsewhere: this session is still one factor, and is asked for a code.
    let e = enrol(&gw, "root").await;
    let r = a.get(&format!("{p}/admin/bans")).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().contains("/totp?rd="), "{}", r.location());
    let (code, _) = fresh_code(&e.secret_base32, e.last_code_time).await;
    let r = a
        .submit(r.location(), &format!("{p}/totp"), &[("code", &code)])
        .await;
    r.assert_redirect_to(&format!("{p}/admin/bans"));
    let bans = a.get(&format!("{p}/admin/bans")).await;
    assert_eq!(bans.status, 200, "{}", bans.body);
    assert!(bans.body.contains("Nobody is banned."));

    let account = a.get(&format!("{p}/account")).await;
    assert!(
        account.body.contains("id=\"admin-link\""),
        "{}",
        account.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_users_list_shows_each_users_state_and_searches_names_and_emails() {
    let gw = spawn_gateway();
    let mut root = signed_in_admin(&gw).await.browser;
    gw.add_user("bob", &["staff", "ops"]);
    gw.add_user("carol", &[]);
    let p = gw.prefix().to_string();
    let mut bob = gw.browser();
    bob.login(&p, "bob", PASSWORD, "/")
        .await
        .assert_redirect_to("/");

    let list = root.get(&format!("{p}/admin")).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let row = |name: &str| {
        let start = list.body.find(&format!("name={name}\"")).unwrap();
        list.body[start..]
            .split("</tr>")
            .next()
            .unwrap()
            .to_string()
    };
    let bob_row = row("bob");
    assert!(
        bob_row.contains("staff, ops") || bob_row.contains("ops, staff"),
        "{bob_row}"
    );
    assert!(bob_row.contains("<td>off</td>") && bob_row.contains("<td>active</td>"));
    assert!(bob_row.contains("<td>1</td>"), "one session: {bob_row}");
    assert!(!bob_row.contains("never"), "bob signed in: {bob_row}");
    assert!(row("root").contains("<td>on</td>"));
    assert!(row("carol").contains("never"));

    let found = root.get(&format!("{p}/admin?q=CAROL%40example")).await;
    assert!(found.body.contains("name=carol\""));
    assert!(!found.body.contains("name=bob\""));
    let none = root.get(&format!("{p}/admin?q=nobody-like-this")).await;
    assert!(none.body.contains("No users match."));
}

#[tokio::test(flavor = "multi_thread")]
async fn each_change_is_in_the_store_and_in_the_audit_trail_naming_the_admin() {
    let gw = spawn_gateway();
    let mut root = signed_in_admin(&gw).await.browser;
    let bob_id = gw.add_user("bob", &["staff"]);
    let store = gw.store();
    let bob = || store.user_by_name("bob").unwrap().unwrap();

    let r = act(
        &gw,
        &mut root,
        "bob",
        &[
            ("action", "profile"),
            ("email", "b@example.org"),
            ("display_name", "Bob B"),
        ],
    )
    .await;
    r.assert_redirect_to(&format!("{}&done=profile", user_page(&gw, "bob")));
    assert_eq!(bob().email.as_deref(), Some("b@example.org"));
    assert_eq!(bob().display_name.as_deref(), Some("Bob B"));
    change_rows(&gw, "profile_changed", "bob", "root")
        .await
        .pop()
        .expect("a row");
    let shown = root.get(r.location()).await;
    assert!(
        shown.body.contains("The profile is saved."),
        "{}",
        shown.body
    );

    let r = act(
        &gw,
        &mut root,
        "bob",
        &[("action", "add-group"), ("group", "ops")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(bob().groups, ["ops", "staff"]);
    let r = act(
        &gw,
        &mut root,
        "bob",
        &[("action", "remove-group"), ("group", "staff")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(bob().groups, ["ops"]);
    let removed = Some("removed staff by admin root");
    let rows = audit_until(&gw, |rows| {
        rows.iter().any(|e| e.detail.as_deref() == removed)
    })
    .await;
    let row = rows
        .iter()
        .find(|e| e.detail.as_deref() == removed)
        .expect("a row");
    assert_eq!(
        (row.event.as_str(), row.username.as_deref()),
        ("groups_changed", Some("bob"))
    );
    let r = act(
        &gw,
        &mut root,
        "bob",
        &[("action", "add-group"), ("group", "a,b")],
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("without commas"), "{}", r.body);

    // Bob's own sessions, cached by the gateway, end the moment he is disabled.
    let e = enrol(&gw, "bob").await;
    let mut bob_browser = e.browser;
    assert_signed_in(&mut bob_browser, "bob").await;
    let r = act(&gw, &mut root, "bob", &[("action", "disable")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_signed_out(&mut bob_browser).await;
    assert!(bob().disabled);
    change_rows(&gw, "user_disabled", "bob", "root")
        .await
        .pop()
        .expect("a row");
    let mut again = gw.browser();
    let r = again.login(gw.prefix(), "bob", PASSWORD, "/").await;
    assert_eq!(r.status, 200, "a disabled user cannot sign in");

    act(&gw, &mut root, "bob", &[("action", "enable")]).await;
    assert!(!bob().disabled);
    change_rows(&gw, "user_enabled", "bob", "root")
        .await
        .pop()
        .expect("a row");

    // Two-factor reset: the secret goes, and so do the sessions.
    let mut bob_browser = gw.browser();
    let r = bob_browser.login(gw.prefix(), "bob", PASSWORD, "/").await;
    assert!(
        r.location().contains("/totp"),
        "bob has TOTP: {}",
        r.location()
    );
    assert!(store.totp(bob_id).unwrap().is_some());
    act(&gw, &mut root, "bob", &[("action", "reset-2fa")]).await;
    assert!(store.totp(bob_id).unwrap().is_none());
    assert_eq!(store.recovery_codes_left(bob_id).unwrap(), 0);
    change_rows(&gw, "second_factor_reset", "bob", "root")
        .await
        .pop()
        .expect("a row");

    // Ending sessions.
    let mut bob_browser = password_session(&gw, "bob").await;
    assert_signed_in(&mut bob_browser, "bob").await;
    act(&gw, &mut root, "bob", &[("action", "end-sessions")]).await;
    assert_signed_out(&mut bob_browser).await;
    assert!(store.list_sessions(Some("bob")).unwrap().is_empty());
    change_rows(&gw, "sessions_revoked", "bob", "root")
        .await
        .pop()
        .expect("a row");

    // One session among several.
    let mut two = [
        password_session(&gw, "bob").await,
        password_session(&gw, "bob").await,
    ];
    let page = root.get(&user_page(&gw, "bob")).await;
    let id = page.field("session");
    act(
        &gw,
        &mut root,
        "bob",
        &[("action", "end-session"), ("session", &id)],
    )
    .await;
    assert_eq!(store.list_sessions(Some("bob")).unwrap().len(), 1);
    let mut still_in = 0;
    for b in &mut two {
        still_in += usize::from(b.get("/whoami").await.status == 200);
    }
    assert_eq!(still_in, 1, "the other session goes on");
    change_rows(&gw, "session_ended", "bob", "root")
        .await
        .pop()
        .expect("a row");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_is_deleted_only_with_their_name_typed() {
    let gw = spawn_gateway();
    let mut root = signed_in_admin(&gw).await.browser;
    gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();
    let mut bob = gw.browser();
    bob.login(&p, "bob", PASSWORD, "/")
        .await
        .assert_redirect_to("/");

    for typed in ["", "Bob", "bobby"] {
        let r = act(
            &gw,
            &mut root,
            "bob",
            &[("action", "delete"), ("confirm", typed)],
        )
        .await;
        assert_eq!(r.status, 400, "{typed:?}: {}", r.body);
        assert!(r.body.contains("does not match"), "{}", r.body);
        assert!(gw.store().user_by_name("bob").unwrap().is_some());
    }
    let r = act(
        &gw,
        &mut root,
        "bob",
        &[("action", "delete"), ("confirm", "bob")],
    )
    .await;
    r.assert_redirect_to(&format!("{p}/admin?done=deleted"));
    assert!(gw.store().user_by_name("bob").unwrap().is_none());
    assert_signed_out(&mut bob).await;
    change_rows(&gw, "user_deleted", "bob", "root")
        .await
        .pop()
        .expect("a row");
    let gone = root.get(&user_page(&gw, "bob")).await;
    assert_eq!(gone.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_admin_cannot_disable_delete_or_demote_themselves() {
    let gw = spawn_gateway();
    let mut root = signed_in_admin(&gw).await.browser;
    let store = gw.store();

    for fields in [
        vec![("action", "disable")],
        vec![("action", "delete"), ("confirm", "root")],
    ] {
        let r = act(&gw, &mut root, "root", &fields).await;
        assert_eq!(r.status, 409, "{fields:?}: {}", r.body);
        assert!(r.body.contains("last enabled administrator"), "{}", r.body);
    }
    let r = act(
        &gw,
        &mut root,
        "root",
        &[("action", "remove-group"), ("group", "admins")],
    )
    .await;
    assert_eq!(r.status, 409);
    assert!(
        r.body.contains("cannot remove your own admin group"),
        "{}",
        r.body
    );
    let root_row = store.user_by_name("root").unwrap().unwrap();
    assert!(!root_row.disabled);
    assert_eq!(root_row.groups, ["admins"]);

    // With another admin, either may be disabled; but not their own admin group, still.
    gw.add_user("ann", &["admins"]);
    let r = act(
        &gw,
        &mut root,
        "ann",
        &[("action", "remove-group"), ("group", "admins")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    gw.store()
        .change_groups("ann", &["admins".into()], &[])
        .unwrap();
    let r = act(
        &gw,
        &mut root,
        "root",
        &[("action", "remove-group"), ("group", "admins")],
    )
    .await;
    assert_eq!(r.status, 409);
    let r = act(&gw, &mut root, "ann", &[("action", "disable")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(store.user_by_name("ann").unwrap().unwrap().disabled);
    // Ann disabled, root is the last one again.
    let r = act(&gw, &mut root, "root", &[("action", "disable")]).await;
    assert_eq!(r.status, 409);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_with_a_stale_second_factor_waits_for_a_new_code() {
    let gw = spawn_gateway_configured("", "", "[admin]\nreauth = \"2s\"");
    let e = signed_in_admin(&gw).await;
    let mut root = e.browser;
    gw.add_user("bob", &[]);
    let store = gw.store();
    let page = user_page(&gw, "bob");

    tokio::time::sleep(Duration::from_secs(3)).await;
    let r = act(&gw, &mut root, "bob", &[("action", "disable")]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Confirm it is you"), "{}", r.body);
    assert!(
        !store.user_by_name("bob").unwrap().unwrap().disabled,
        "not performed"
    );
    assert_eq!(r.field("rd"), page);

    let before = root.cookie(SESSION).unwrap();
    let wrong = wrong_code(&e.secret_base32);
    let p = gw.prefix().to_string();
    let r = root
        .submit(
            &format!("{p}/admin/reauth?rd={}", enc(&page)),
            &format!("{p}/admin/reauth"),
            &[("code", &wrong)],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("That code is not right."), "{}", r.body);

    let (code, _) = fresh_code(&e.secret_base32, e.last_code_time).await;
    let r = root
        .submit(
            &format!("{p}/admin/reauth?rd={}", enc(&page)),
            &format!("{p}/admin/reauth"),
            &[("code", &code)],
        )
        .await;
    r.assert_redirect_to(&page);
    assert_ne!(root.cookie(SESSION).unwrap(), before, "a new session id");
    audit_rows(&gw, "admin_reauth", "root")
        .await
        .pop()
        .expect("a row");

    let r = act(&gw, &mut root, "bob", &[("action", "disable")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(store.user_by_name("bob").unwrap().unwrap().disabled);
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_without_its_token_changes_nothing() {
    let gw = spawn_gateway();
    let mut root = signed_in_admin(&gw).await.browser;
    gw.add_user("bob", &[]);
    let page = user_page(&gw, "bob");
    let r = root.post_form(&page, &[("action", "disable")]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = root
        .post_form(&page, &[("action", "disable"), ("csrf", "forged")])
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!gw.store().user_by_name("bob").unwrap().unwrap().disabled);
}

#[tokio::test(flavor = "multi_thread")]
async fn bans_are_listed_and_lifted_at_once_with_an_audit_row() {
    let gw = spawn_gateway_configured(TRUST_LOOPBACK, "", "");
    let mut root = signed_in_admin(&gw).await.browser;
    gw.add_user("bob", &[]);
    gw.add_user("carol", &[]);
    let p = gw.prefix().to_string();
    fail_until_banned(&gw, "203.0.113.9", "bob").await;
    fail_until_banned(&gw, "203.0.113.10", "carol").await;

    let bans = root.get(&format!("{p}/admin/bans")).await;
    assert!(bans.body.contains("<td>bob</td>"), "{}", bans.body);
    assert!(bans.body.contains("203.0.113.9"), "{}", bans.body);
    let r = root
        .submit(
            &format!("{p}/admin/bans"),
            &format!("{p}/admin/bans"),
            &[("subject", "user:bob")],
        )
        .await;
    r.assert_redirect_to(&format!("{p}/admin/bans?done=lifted"));
    let keys: Vec<String> = gw
        .store()
        .active_bans(now() as i64)
        .unwrap()
        .into_iter()
        .map(|b| b.key)
        .collect();
    assert!(
        keys.iter()
            .all(|k| !k.contains("bob") && k != "ip:203.0.113.9"),
        "{keys:?}"
    );
    let mut bob = gw.browser();
    bob.login_from(&p, "203.0.113.9", "bob", PASSWORD)
        .await
        .assert_redirect_to("/");
    change_rows(&gw, "ban_lifted", "bob", "root")
        .await
        .pop()
        .expect("a row");

    // From the user's page too.
    let r = act(&gw, &mut root, "carol", &[("action", "lift-ban")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let mut carol = gw.browser();
    carol
        .login_from(&p, "203.0.113.10", "carol", PASSWORD)
        .await
        .assert_redirect_to("/");
    let r = act(&gw, &mut root, "carol", &[("action", "lift-ban")]).await;
    assert_eq!(r.status, 409, "nothing left to lift: {}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_log_filters_by_user_event_and_dates_and_pages_by_fifty() {
    let gw = spawn_gateway();
    let mut root = signed_in_admin(&gw).await.browser;
    let store = gw.store();
    let day = 86_400;
    let base = 1_700_000_000 / day * day; // 2023-11-14 00:00 UTC
    for i in 0..120 {
        let event = if i % 3 == 0 { "logout" } else { "login" };
        store
            .audit(&AuditEvent {
                at: base + (i % 4) * day + i,
                username: Some("dora".into()),
                event: event.into(),
                client_ip: None,
                user_agent: None,
                detail: Some(format!("row {i}")),
            })
            .unwrap();
    }
    let p = gw.prefix().to_string();
    let rows = |page: &Page| page.body.matches("<tr><td>").count();

    let first = root.get(&format!("{p}/admin/audit?user=DORA")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(rows(&first), 50);
    assert!(first.body.contains("row 119"), "newest first");
    assert!(!first.body.contains("rel=\"prev\""));
    let next = html_unescape(
        first
            .body
            .split("rel=\"next\"")
            .next()
            .unwrap()
            .rsplit("href=\"")
            .next()
            .unwrap()
            .trim_end_matches("\" "),
    );
    assert!(
        next.contains("page=2") && next.contains("user=DORA"),
        "{next}"
    );
    let third = root.get(&format!("{p}/admin/audit?user=dora&page=3")).await;
    assert_eq!(rows(&third), 20);
    assert!(third.body.contains("rel=\"prev\"") && !third.body.contains("rel=\"next\""));

    let logouts = root
        .get(&format!("{p}/admin/audit?user=dora&event=logout&page=1"))
        .await;
    assert_eq!(rows(&logouts), 40);
    // Day 2 (2023-11-15): the rows with i % 4 == 1, 30 of them.
    let one_day = root
        .get(&format!(
            "{p}/admin/audit?user=dora&from=2023-11-15&to=2023-11-15"
        ))
        .await;
    assert_eq!(rows(&one_day), 30, "{}", one_day.body);
    let bad = root.get(&format!("{p}/admin/audit?from=15/11/2023")).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("YYYY-MM-DD"));
    let bad = root.get(&format!("{p}/admin/audit?event=made_up")).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_changes_are_refused_with_a_message_and_change_nothing() {
    let gw = spawn_gateway();
    let mut root = signed_in_admin(&gw).await.browser;
    gw.add_user("bob", &["staff"]);
    let p = gw.prefix().to_string();
    let store = gw.store();

    let long = "x".repeat(300);
    let r = act(
        &gw,
        &mut root,
        "bob",
        &[("action", "profile"), ("email", &long)],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("at most 256 characters"), "{}", r.body);
    let r = act(
        &gw,
        &mut root,
        "bob",
        &[("action", "profile"), ("display_name", "a\nb")],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        store.user_by_name("bob").unwrap().unwrap().email.as_deref(),
        Some("bob@example.com")
    );

    let r = act(&gw, &mut root, "bob", &[("action", "promote")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = act(
        &gw,
        &mut root,
        "bob",
        &[("action", "end-session"), ("session", "zz")],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = act(
        &gw,
        &mut root,
        "bob",
        &[("action", "add-group"), ("group", &long)],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        store.user_by_name("bob").unwrap().unwrap().groups,
        ["staff"]
    );

    for page in [
        "/admin/user",
        "/admin/user?name=nobody",
        "/admin/user?name=%00",
    ] {
        let r = root.get(&format!("{p}{page}")).await;
        assert_eq!(r.status, 404, "{page}: {}", r.body);
    }
    let r = root
        .submit(
            &user_page(&gw, "bob"),
            &user_page(&gw, "nobody"),
            &[("action", "disable")],
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);

    // In the visitor's language, like every page.
    let r = root
        .get_with(&format!("{p}/admin"), &[("Accept-Language", "de")])
        .await;
    assert_eq!(r.header("content-language"), Some("de"));
    assert!(r.body.contains("Letzte Anmeldung"), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_admins_disabling_each_other_at_once_leave_one_admin() {
    let gw = spawn_gateway();
    let mut root = signed_in_admin(&gw).await.browser;
    gw.add_user("ann", &["admins"]);
    let mut ann = enrol(&gw, "ann").await.browser;
    let (root_page, ann_page) = (user_page(&gw, "root"), user_page(&gw, "ann"));
    let root_csrf = root.get(&ann_page).await.field("csrf");
    let ann_csrf = ann.get(&root_page).await.field("csrf");
    let root_fields = [("action", "disable"), ("csrf", root_csrf.as_str())];
    let ann_fields = [("action", "disable"), ("csrf", ann_csrf.as_str())];
    let (a, b) = tokio::join!(
        root.post_form(&ann_page, &root_fields),
        ann.post_form(&root_page, &ann_fields),
    );
    // One change is made. The other is refused as the last admin's (409), or, when the first
    // had already ended its author's session before it was even read, it comes from nobody
    // signed in and its form is refused (403).
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert!(
        statuses == [303, 409] || statuses == [303, 403],
        "{statuses:?}: {} {}",
        a.body,
        b.body
    );
    let store = gw.store();
    let disabled = ["root", "ann"]
        .iter()
        .filter(|n| store.user_by_name(n).unwrap().unwrap().disabled)
        .count();
    assert_eq!(disabled, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_invites_a_person_whose_link_then_works_once() {
    let gw = spawn_gateway();
    let mut root = signed_in_admin(&gw).await.browser;
    let p = gw.prefix().to_string();
    let page = format!("{p}/admin/invite");
    let form = root.get(&page).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert_eq!(form.field("expires"), "3days", "the configured default");

    // Malformed: nothing is made.
    for (fields, why) in [
        (
            vec![("username", "bad name!"), ("expires", "72h")],
            "A username has",
        ),
        (
            vec![("username", "gail"), ("expires", "forever")],
            "how long the link",
        ),
        (
            vec![("username", "gail"), ("expires", "90d")],
            "how long the link",
        ),
        (
            vec![
                ("username", "gail"),
                ("expires", "72h"),
                ("groups", "a,b c\u{1}"),
            ],
            "A group name",
        ),
    ] {
        let r = root.submit(&page, &page, &fields).await;
        assert_eq!(r.status, 400, "{fields:?}");
        assert!(r.body.contains(why), "{fields:?}: {}", r.body);
    }
    assert!(gw.store().user_by_name("gail").unwrap().is_none());

    let r = root
        .submit(
            &page,
            &page,
            &[
                ("username", "gail"),
                ("display_name", "Gail G"),
                ("email", "gail@example.test"),
                ("groups", "staff ops"),
                ("expires", "2d"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Send this link to gail"), "{}", r.body);
    let start = r
        .body
        .find("http://app.test/")
        .expect("the link on the page");
    let link: String = r.body[start..]
        .chars()
        .take_while(|c| *c != '"' && *c != '<')
        .collect();
    let path = link
        .trim_start_matches("http://app.test")
        .replace("&amp;", "&");
    let gail = gw.store().user_by_name("gail").unwrap().unwrap();
    assert_eq!(gail.groups, vec!["ops".to_string(), "staff".to_string()]);
    assert_eq!(gail.email.as_deref(), Some("gail@example.test"));
    change_rows(&gw, "invite_created", "gail", "root").await;
    // The list says she has no password yet.
    let list = root.get(&format!("{p}/admin?q=gail")).await;
    assert!(
        list.body.contains("invited, no password yet"),
        "{}",
        list.body
    );

    // The person opens it and chooses a password; the link then is dead.
    let mut b = gw.browser();
    let invite = b.get(&path).await;
    assert_eq!(invite.status, 200, "{}", invite.body);
    let r = b
        .post_form(
            &format!("{p}/invite"),
            &[
                ("csrf", &invite.field("csrf")),
                ("token", &invite.field("token")),
                ("password", "Chosen-Secret-2026"),
                ("confirm", "Chosen-Secret-2026"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(gw.browser().get(&path).await.status, 410);

    // A user who has a password is not invited again.
    let r = root
        .submit(&page, &page, &[("username", "root"), ("expires", "1h")])
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("already has a password"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remembered_browser_is_no_fresh_factor_for_admin_changes() {
    let gw = spawn_gateway_configured("", "", "[totp]\nremember_browser = \"30d\"");
    let e = signed_in_admin(&gw).await;
    let mut root = e.browser;
    gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();
    // Remembered at the code step of a new sign-in.
    let account = root.get(&format!("{p}/account")).await;
    root.post_form(&format!("{p}/logout"), &[("csrf", &account.field("csrf"))])
        .await;
    let r = root.login(&p, "root", PASSWORD, "/").await;
    let code_page = root.get(r.location()).await;
    let (code, _) = fresh_code(&e.secret_base32, e.last_code_time).await;
    root.post_form(
        &format!("{p}/totp"),
        &[
            ("csrf", &code_page.field("csrf")),
            ("rd", "/"),
            ("code", &code),
            ("remember", "1"),
        ],
    )
    .await
    .assert_redirect_to("/");
    // Signed in again with the password alone: two factors for the admin area's pages...
    let account = root.get(&format!("{p}/account")).await;
    root.post_form(&format!("{p}/logout"), &[("csrf", &account.field("csrf"))])
        .await;
    root.login(&p, "root", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    assert_eq!(root.get(&format!("{p}/admin")).await.status, 200);
    // ...but a change asks for a code first.
    let r = act(&gw, &mut root, "bob", &[("action", "disable")]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Confirm it is you"), "{}", r.body);
    assert!(!gw.store().user_by_name("bob").unwrap().unwrap().disabled);
}
