//! Cross-site request forgery: forged forms (no token, a wrong one, a foreign `Origin` or
//! `Referer`) get 403 and change nothing, while an honest form with `Origin: null` signs in.

use crate::helpers::*;

/// The words of the 403 page shown for a form from another site.
const FORGED: &str = "This form was not sent from this site";

/// What a form without a valid token is told: it timed out, or (a form that showed recovery
/// codes) that they were already shown.
const STALE: [&str; 2] = ["timed out", "already shown"];

/// Five forgeries of a form whose honest fields (without `csrf`) are `fields`: no token, a
/// wrong token, the right token from a foreign `Origin`, a foreign `Referer`, `Origin: null`
/// without a token.
/// Each must be a 403 that changes nothing: "not sent from this site" for a foreign origin,
/// "timed out" (or "already shown") for a missing or wrong token.
async fn assert_forgeries_refused(
    b: &mut Browser,
    action: &str,
    fields: &[(&str, &str)],
    csrf: &str,
) {
    let own = b.origin();
    let wrong_token = "A".repeat(43);
    // (what, csrf sent, Origin, Referer)
    let cases = [
        ("no csrf", None, Some(own.as_str()), None),
        (
            "wrong csrf",
            Some(wrong_token.as_str()),
            Some(own.as_str()),
            None,
        ),
        ("foreign Origin", Some(csrf), Some("http://evil.test"), None),
        ("Origin null without csrf", None, Some("null"), None),
        (
            "foreign Referer",
            Some(csrf),
            None,
            Some("http://evil.test/page"),
        ),
    ];
    for (what, token, origin, referer) in cases {
        let mut pairs: Vec<(&str, &str)> = fields.to_vec();
        if let Some(t) = token {
            pairs.push(("csrf", t));
        }
        let headers: Vec<(&str, &str)> = referer.map(|r| ("Referer", r)).into_iter().collect();
        let r = b.post_form_with(action, &pairs, origin, &headers).await;
        assert_eq!(r.status, 403, "{what} on {action}: {} {}", r.status, r.body);
        if what.starts_with("foreign") {
            assert!(r.body.contains(FORGED), "{what} on {action}: {}", r.body);
        } else {
            assert!(
                STALE.iter().any(|s| r.body.contains(s)),
                "{what} on {action}: {}",
                r.body
            );
        }
        assert!(
            r.set_cookies().is_empty(),
            "{what} on {action}: {:?}",
            r.set_cookies()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_forms_get_403_and_change_nothing() {
    let gw = spawn_gateway();
    let alice = gw.add_user("alice", &[]);
    gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();
    let mut enrolled = enrol(&gw, "alice").await;
    let store = gw.store();
    let codes_before: Vec<String> = store
        .unused_recovery_codes(alice)
        .unwrap()
        .into_iter()
        .map(|r| r.hash)
        .collect();
    assert_eq!(codes_before.len(), 10);
    let a = &mut enrolled.browser;
    assert_signed_in(a, "alice").await;
    let account = a.get(&format!("{p}/account")).await;
    let csrf = account.field("csrf");

    // Login: no session appears.
    let mut visitor = gw.browser();
    let page = visitor.get(&format!("{p}/login")).await;
    let login_csrf = page.field("csrf");
    assert_forgeries_refused(
        &mut visitor,
        &format!("{p}/login"),
        &[("username", "bob"), ("password", PASSWORD), ("rd", "/")],
        &login_csrf,
    )
    .await;
    assert_eq!(visitor.session_cookie(), None);
    assert_signed_out(&mut visitor).await;

    // Logout: still signed in.
    assert_forgeries_refused(a, &format!("{p}/logout"), &[], &csrf).await;
    assert_signed_in(a, "alice").await;

    // Disable 2FA with a valid recovery code: still on.
    let recovery = enrolled.recovery_codes[0].clone();
    let a = &mut enrolled.browser;
    assert_forgeries_refused(
        a,
        &format!("{p}/totp/disable"),
        &[("code", &recovery)],
        &csrf,
    )
    .await;
    assert!(store.totp(alice).unwrap().is_some(), "2FA is still on");

    // Regenerate recovery codes with a valid TOTP code: the same codes.
    let (code, _) = fresh_code(&enrolled.secret_base32, enrolled.last_code_time).await;
    let a = &mut enrolled.browser;
    assert_forgeries_refused(a, &format!("{p}/recovery-codes"), &[("code", &code)], &csrf).await;
    let codes_after: Vec<String> = store
        .unused_recovery_codes(alice)
        .unwrap()
        .into_iter()
        .map(|r| r.hash)
        .collect();
    assert_eq!(codes_before, codes_after, "recovery codes unchanged");
    assert_signed_in(a, "alice").await;

    // The same requests with the right token from the site itself do work.
    let r = a
        .post_form(
            &format!("{p}/recovery-codes"),
            &[("code", &code), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let new_codes = shown_codes(&r);
    assert_eq!(new_codes.len(), 10, "{}", r.body);
    let r = a
        .post_form(
            &format!("{p}/totp/disable"),
            &[("code", &new_codes[0]), ("csrf", &csrf)],
        )
        .await;
    r.assert_redirect_to(&format!("{p}/account?done=totp_disabled"));
    assert!(store.totp(alice).unwrap().is_none());
    let r = a
        .submit(&format!("{p}/account"), &format!("{p}/logout"), &[])
        .await;
    r.assert_redirect_to(&format!("{p}/login?signed_out=1"));
    assert_signed_out(a).await;
    let r = visitor
        .post_form(
            &format!("{p}/login"),
            &[
                ("username", "bob"),
                ("password", PASSWORD),
                ("csrf", &login_csrf),
                ("rd", "/"),
            ],
        )
        .await;
    r.assert_redirect_to("/");
}

/// Pages are served with `Referrer-Policy: no-referrer`, so browsers post their forms with
/// `Origin: null` and no `Referer`; with the right token that is an honest sign-in.
#[tokio::test(flavor = "multi_thread")]
async fn a_browser_form_post_with_origin_null_and_its_token_signs_in() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    let page = b.get(&format!("{p}/login?rd=%2Fdocs")).await;
    let csrf = page.field("csrf");
    let fields = [
        ("username", "alice"),
        ("password", PASSWORD),
        ("csrf", csrf.as_str()),
        ("rd", "/docs"),
    ];
    let r = b
        .post_form_with(&format!("{p}/login"), &fields, Some("null"), &[])
        .await;
    r.assert_redirect_to("/docs");
    assert!(b.cookie("portcullis_session").is_some());
}
