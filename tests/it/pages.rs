//! The pages people see: their language (from `Accept-Language`, the picker, the operator's
//! choice), the operator's brand (title, logo, accent colour, footer), and the wording of each
//! step where a new user used to stumble.

use std::path::Path;

use crate::helpers::*;
use portcullis::config::Config;

/// The word "Password" on the sign-in page, in each language.
const PASSWORD_WORDS: [(&str, &str); 5] = [
    ("en", "Password"),
    ("pt-BR", "Senha"),
    ("es", "Contraseña"),
    ("fr", "Mot de passe"),
    ("de", "Passwort"),
];

fn html_lang(page: &Page) -> String {
    let start = page.body.find("<html lang=\"").expect("<html lang>") + 12;
    page.body[start..].split('"').next().unwrap().to_string()
}

async fn login_page_in(b: &mut Browser, p: &str, accept: &str) -> Page {
    let page = b
        .get_with(&format!("{p}/login"), &[("Accept-Language", accept)])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    page
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sign_in_page_speaks_the_language_the_browser_asks_for() {
    let gw = spawn_gateway();
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    for (tag, word) in PASSWORD_WORDS {
        let page = login_page_in(&mut b, &p, &format!("{tag},en;q=0.5")).await;
        assert!(page.body.contains(word), "{tag}: {}", page.body);
        assert_eq!(html_lang(&page), tag);
        assert_eq!(page.header("content-language"), Some(tag));
        let vary = page.header("vary").unwrap_or_default().to_ascii_lowercase();
        assert!(vary.contains("accept-language"), "{tag}: Vary {vary}");
        assert!(vary.contains("cookie"), "{tag}: Vary {vary}");
    }
    // Regional and bare tags find their language, by weight; the unknown get the default.
    for (accept, word, tag) in [
        ("pt", "Senha", "pt-BR"),
        ("pt-PT", "Senha", "pt-BR"),
        ("de-AT,de;q=0.9", "Passwort", "de"),
        ("es-MX", "Contraseña", "es"),
        ("ja", "Password", "en"),
        ("ja, fr;q=0.2, de;q=0.7", "Passwort", "de"),
        ("*", "Password", "en"),
    ] {
        let page = login_page_in(&mut b, &p, accept).await;
        assert!(page.body.contains(word), "{accept}: {}", page.body);
        assert_eq!(html_lang(&page), tag, "{accept}");
    }
    // Without the header: the default, and still the headers.
    let page = b.get(&format!("{p}/login")).await;
    assert_eq!(html_lang(&page), "en");
    assert_eq!(page.header("content-language"), Some("en"));
}

#[tokio::test(flavor = "multi_thread")]
async fn error_pages_of_apps_speak_the_visitors_language_too() {
    let gw = spawn_gateway();
    let mut b = gw.browser();
    let denied = b.get_with("/deny/x", &[("Accept-Language", "fr-FR")]).await;
    assert_eq!(denied.status, 403);
    assert!(denied.body.contains("Accès refusé"), "{}", denied.body);
    assert_eq!(html_lang(&denied), "fr");
    assert_eq!(denied.header("content-language"), Some("fr"));
    // Every error page leads somewhere.
    assert!(denied
        .body
        .contains(&format!("href=\"{}/account\"", gw.prefix())));
    let missing = b
        .get_with(
            &format!("{}/nope", gw.prefix()),
            &[("Accept-Language", "de")],
        )
        .await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("Diese Seite gibt es nicht."),
        "{}",
        missing.body
    );
    assert!(missing.body.contains("Zu Ihrem Konto"), "{}", missing.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_picker_sets_a_cookie_that_outweighs_accept_language_and_stays_on_site() {
    let gw = spawn_gateway();
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    let page = b
        .get_with(
            &format!("{p}/login?rd=%2Fwiki"),
            &[("Accept-Language", "fr")],
        )
        .await;
    // One link per language, in the language's own name; the current one is not a link.
    for name in ["English", "Português (Brasil)", "Español", "Deutsch"] {
        assert!(
            page.body.contains(&format!(">{name}</a>")),
            "{name}: {}",
            page.body
        );
    }
    assert!(page.body.contains("aria-current=\"true\">Français<"));
    let link_start = page.body.find(&format!("{p}/language?set=de")).unwrap();
    let link = html_unescape(page.body[link_start..].split('"').next().unwrap());
    let chosen = b.get(&link).await;
    chosen.assert_redirect_to(&format!("{p}/login?rd=%2Fwiki"));
    let cookie = chosen
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("portcullis_lang=de"))
        .expect("the language cookie");
    assert!(
        cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    let page = b
        .get_with(&format!("{p}/login"), &[("Accept-Language", "fr")])
        .await;
    assert!(page.body.contains("Passwort"), "{}", page.body);
    assert_eq!(page.header("content-language"), Some("de"));

    // The way back is judged like every `rd`: never off the site.
    for rd in [
        "https://evil.test/x",
        "//evil.test/x",
        "/\\evil.test",
        "javascript:alert(1)",
    ] {
        let r = b
            .get(&format!(
                "{p}/language?set=es&rd={}",
                form_urlencoded::byte_serialize(rd.as_bytes()).collect::<String>()
            ))
            .await;
        r.assert_redirect_to("/");
    }
    // An unknown language changes nothing.
    let r = b.get(&format!("{p}/language?set=xx&rd=%2F")).await;
    r.assert_redirect_to("/");
    assert!(r.set_cookies().is_empty(), "{:?}", r.set_cookies());
    // The gateway's language cookie is not the app's business.
    gw.add_user("alice", &[]);
    b.login(&p, "alice", PASSWORD, "/").await;
    let echoed = b.get("/whoami").await.echoed();
    let cookies = echoed.header("cookie").unwrap_or_default();
    assert!(!cookies.contains("portcullis_lang"), "{cookies}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_chooses_the_languages_offered_and_the_default() {
    let gw = spawn_gateway_configured(
        "",
        "",
        "[portal]\nlanguages = [\"de\", \"fr\"]\ndefault_language = \"fr\"\n",
    );
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    for (accept, word) in [
        ("en", "Mot de passe"),
        ("ja", "Mot de passe"),
        ("pt-BR, de;q=0.1", "Passwort"),
    ] {
        let page = login_page_in(&mut b, &p, accept).await;
        assert!(page.body.contains(word), "{accept}: {}", page.body);
    }
    let page = login_page_in(&mut b, &p, "en").await;
    assert!(page.body.contains(">Deutsch</a>"), "{}", page.body);
    assert!(!page.body.contains("English"), "{}", page.body);
    // A cookie for a language no longer offered is ignored.
    b.cookies.push(("portcullis_lang".into(), "es".into()));
    let page = login_page_in(&mut b, &p, "de").await;
    assert!(page.body.contains("Passwort"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operators_title_is_on_every_page() {
    let gw = spawn_gateway_configured("", "", "[portal]\ntitle = \"Acme intranet\"\n");
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    let login = b.get(&format!("{p}/login")).await;
    assert!(
        login
            .body
            .contains("<title>Sign in · Acme intranet</title>"),
        "{}",
        login.body
    );
    assert!(
        login.body.contains("<h1>Sign in to Acme intranet</h1>"),
        "{}",
        login.body
    );
    let de = login_page_in(&mut b, &p, "de").await;
    assert!(
        de.body.contains("Bei Acme intranet anmelden"),
        "{}",
        de.body
    );
    b.login(&p, "alice", PASSWORD, "/").await;
    for path in [
        format!("{p}/account"),
        format!("{p}/totp/setup"),
        format!("{p}/nope"),
        "/deny/x".to_string(),
    ] {
        let page = b.get(&path).await;
        assert!(
            page.body.contains(" · Acme intranet</title>")
                && page.body.contains("<span>Acme intranet</span>"),
            "{path}: {}",
            page.body
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_logo_accent_and_footer_are_served_without_loosening_the_csp() {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.svg");
    let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>";
    std::fs::write(&logo, svg).unwrap();
    let gw = spawn_gateway_configured(
        "",
        "",
        &format!(
            "[portal]\nlogo = \"{}\"\naccent_color = \"#fc0\"\n\
             footer = \"Help: https://help.example.com/desk. Ask <b>us</b>\"\n",
            logo.display()
        ),
    );
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    let page = b.get(&format!("{p}/login")).await;
    assert!(page.body.contains(&format!(
        "<img class=\"logo\" src=\"{p}/static/logo\" alt=\"\">"
    )));
    assert!(page
        .body
        .contains(&format!("href=\"{p}/static/theme.css\"")));
    assert!(
        page.body
            .contains("<a href=\"https://help.example.com/desk\">https://help.example.com/desk</a>. Ask &#60;b&#62;us&#60;/b&#62;")
            || page.body.contains("<a href=\"https://help.example.com/desk\">https://help.example.com/desk</a>. Ask &lt;b&gt;us&lt;/b&gt;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("style="), "no inline style");
    assert!(!page.body.contains("<style"), "no inline style");
    let csp = page.header("content-security-policy").unwrap();
    assert!(!csp.contains("unsafe-inline"), "{csp}");

    let served = b.get(&format!("{p}/static/logo")).await;
    assert_eq!(served.status, 200);
    assert_eq!(served.header("content-type"), Some("image/svg+xml"));
    assert_eq!(served.body, svg);
    let theme = b.get(&format!("{p}/static/theme.css")).await;
    assert_eq!(theme.status, 200);
    assert_eq!(
        theme.header("content-type"),
        Some("text/css; charset=utf-8")
    );
    // A light accent gets black text.
    assert!(
        theme.body.contains("--accent-bg: #ffcc00"),
        "{}",
        theme.body
    );
    assert!(theme.body.contains("--on-accent: #000"), "{}", theme.body);

    // Without a logo or accent, there is nothing at those paths.
    let plain = spawn_gateway_configured("", "", "[portal]\naccent_color = \"#123456\"\n");
    let mut c = plain.browser();
    assert_eq!(c.get(&format!("{p}/static/logo")).await.status, 404);
    let theme = c.get(&format!("{p}/static/theme.css")).await;
    assert!(
        theme.body.contains("--on-accent: #fff"),
        "a dark accent gets white text"
    );
    let page = c.get(&format!("{p}/login")).await;
    assert!(!page.body.contains("static/logo"));
}

fn config_error(portal: &str) -> String {
    let text = format!(
        "[storage]\npath = \"x.db\"\n\n[portal]\n{portal}\n\n[[apps]]\nname = \"a\"\nupstream = \"127.0.0.1:1\"\n"
    );
    Config::parse(Path::new("bad.toml"), &text)
        .map(|_| ())
        .expect_err("a wrong [portal] is refused")
        .to_string()
}

#[test]
fn a_wrong_portal_section_is_refused_at_load_with_its_place() {
    let err = config_error("languages = [\"en\", \"fr\"]\ndefault_language = \"de\"");
    assert!(err.starts_with("bad.toml:6:20:"), "{err}");
    assert!(
        err.contains("default_language") && err.contains("en, fr"),
        "{err}"
    );
    let err = config_error("languages = [\"en\", \"klingon\"]");
    assert!(err.starts_with("bad.toml:5:"), "{err}");
    assert!(err.contains("klingon"), "{err}");
    for colour in ["blue", "#12", "#1234567", "#ggg", "2d5bd7"] {
        let err = config_error(&format!("accent_color = \"{colour}\""));
        assert!(err.starts_with("bad.toml:5:16:"), "{colour}: {err}");
        assert!(err.contains("accent_color"), "{err}");
    }
    let err = config_error("logo = \"/nonexistent/logo.png\"");
    assert!(err.starts_with("bad.toml:5:8:"), "{err}");
    assert!(
        err.contains("/nonexistent/logo.png") && err.contains("cannot be read"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let text_file = dir.path().join("logo.png");
    std::fs::write(&text_file, "not an image").unwrap();
    let err = config_error(&format!("logo = \"{}\"", text_file.display()));
    assert!(
        err.contains("is not a PNG, JPEG, GIF, WebP or SVG image"),
        "{err}"
    );
    // However large the file (here endless), at most a byte past the limit is read.
    let err = config_error("logo = \"/dev/zero\"");
    assert!(err.contains("larger than 1 MiB"), "{err}");
    let err = config_error("title = \"\"");
    assert!(err.starts_with("bad.toml:5:"), "{err}");
    let err = config_error("titel = \"Acme\"");
    assert!(err.contains("titel"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn after_sign_out_the_sign_in_page_says_so_in_the_pages_language() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    b.login(&p, "alice", PASSWORD, "/").await;
    let out = b
        .submit(&format!("{p}/account"), &format!("{p}/logout"), &[])
        .await;
    assert_eq!(out.status, 303);
    let login = b.get(out.location()).await;
    assert!(login.body.contains("You are signed out."), "{}", login.body);
    let german = b
        .get_with(out.location(), &[("Accept-Language", "de")])
        .await;
    assert!(
        german.body.contains("Sie sind abgemeldet."),
        "{}",
        german.body
    );
    // Only after signing out.
    let plain = b.get(&format!("{p}/login")).await;
    assert!(!plain.body.contains("signed out"), "{}", plain.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sign_in_page_says_a_ban_before_the_password_is_typed() {
    let gw = spawn_gateway_configured(TRUST_LOOPBACK, "", "");
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let (banned, _) = fail_until_banned(&gw, "203.0.113.9", "alice").await;
    assert_banned(&banned, 900);
    // The ban page: when (a time and minutes), what to do, and a way on.
    assert!(banned.body.contains("UTC"), "{}", banned.body);
    assert!(banned.body.contains("minutes"), "{}", banned.body);
    assert!(
        banned.body.contains("ask the people who run this site"),
        "{}",
        banned.body
    );
    assert!(
        banned.body.contains(&format!("href=\"{p}/login\"")),
        "{}",
        banned.body
    );
    let mut b = gw.browser();
    let page = b
        .get_with(&format!("{p}/login"), &[("X-Forwarded-For", "203.0.113.9")])
        .await;
    assert_eq!(page.status, 200);
    let said = page
        .body
        .find("Too many failed attempts")
        .expect("the ban is said");
    assert!(said < page.body.find("<form").unwrap(), "before the form");
    let elsewhere = b
        .get_with(
            &format!("{p}/login"),
            &[("X-Forwarded-For", "203.0.113.10")],
        )
        .await;
    assert!(!elsewhere.body.contains("Too many failed attempts"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timed_out_sign_in_form_keeps_the_username_and_says_it_timed_out() {
    let gw = spawn_gateway();
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    b.get(&format!("{p}/login")).await;
    let stale = "B".repeat(43);
    let r = b
        .post_form(
            &format!("{p}/login"),
            &[
                ("username", "alice"),
                ("password", "x"),
                ("csrf", &stale),
                ("rd", "/wiki"),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("The form timed out."), "{}", r.body);
    assert!(!r.body.contains("not sent from this site"), "{}", r.body);
    assert!(r.body.contains("value=\"alice\""), "{}", r.body);
    assert_eq!(r.field("rd"), "/wiki");
    // The fresh form works.
    gw.add_user("alice", &[]);
    let csrf = r.field("csrf");
    let again = b
        .post_form(
            &format!("{p}/login"),
            &[
                ("username", "alice"),
                ("password", PASSWORD),
                ("csrf", &csrf),
                ("rd", "/wiki"),
            ],
        )
        .await;
    again.assert_redirect_to("/wiki");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_set_up_page_shows_the_qr_first_and_the_link_as_a_link() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    b.login(&p, "alice", PASSWORD, "/secure/x").await;
    let page = b
        .get(&format!("{p}/totp/setup?required=1&rd=%2Fsecure%2Fx"))
        .await;
    let qr = page.body.find("<svg").unwrap();
    let key = page.body.find("class=\"secret\"").unwrap();
    assert!(qr < key, "the QR code comes first");
    assert!(
        page.body
            .contains("<a class=\"uri\" href=\"otpauth://totp/"),
        "{}",
        page.body
    );
    assert!(page.body.contains("name=\"code\" inputmode=\"numeric\""));
    let code_field = &page.body[page.body.find("id=\"code\"").unwrap()..];
    assert!(code_field.split('>').next().unwrap().contains("autofocus"));
    let note = "This page needs two-factor sign-in.";
    assert!(page.body.contains(note), "{}", page.body);
    // A wrong code keeps the note.
    let secret = setup_secret(&page);
    let wrong = b
        .submit(
            &format!("{p}/totp/setup?required=1&rd=%2Fsecure%2Fx"),
            &format!("{p}/totp/setup"),
            &[("code", &wrong_code(&secret)), ("required", "1")],
        )
        .await;
    assert!(
        wrong.body.contains("That code is not right"),
        "{}",
        wrong.body
    );
    assert!(wrong.body.contains(note), "{}", wrong.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_codes_pages_say_what_happened_once_and_a_reload_explains() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    // First set-up: nothing about old codes.
    let mut b = gw.browser();
    b.login(&p, "alice", PASSWORD, "/").await;
    let setup = b.get(&format!("{p}/totp/setup")).await;
    let secret = setup_secret(&setup);
    let csrf = setup.field("csrf");
    let t = now();
    let code = external_totp(&secret, t);
    let fields = [
        ("code", code.as_str()),
        ("csrf", csrf.as_str()),
        ("rd", "/"),
    ];
    let done = b.post_form(&format!("{p}/totp/setup"), &fields).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Two-factor sign-in is on."));
    assert!(!done.body.contains("no longer work"), "{}", done.body);
    // The browser re-sends the same form (a reload): the codes are not shown again, and the
    // page says why and how to get a new set.
    let reload = b.post_form(&format!("{p}/totp/setup"), &fields).await;
    assert_eq!(
        reload.status, 403,
        "refused, and nothing changed: {}",
        reload.body
    );
    assert!(reload.body.contains("already shown"), "{}", reload.body);
    assert!(!reload.body.contains("not sent from this site"));
    assert!(shown_codes(&reload).is_empty());
    assert!(reload
        .body
        .contains(&format!("href=\"{p}/account#recovery-codes\"")));

    // A new set: says once that the old ones stopped working.
    let (code, _) = fresh_code(&secret, t).await;
    let account = b.get(&format!("{p}/account")).await;
    let csrf = account.field("csrf");
    let fields = [("code", code.as_str()), ("csrf", csrf.as_str())];
    let regen = b.post_form(&format!("{p}/recovery-codes"), &fields).await;
    assert_eq!(shown_codes(&regen).len(), 10, "{}", regen.body);
    assert_eq!(
        regen.body.matches("no longer work").count(),
        1,
        "{}",
        regen.body
    );
    let reload = b.post_form(&format!("{p}/recovery-codes"), &fields).await;
    assert!(reload.body.contains("already shown"), "{}", reload.body);
    assert!(shown_codes(&reload).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn moving_to_a_new_authenticator_is_worded_as_a_move_with_a_way_out() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut enrolled = enrol(&gw, "alice").await;
    let b = &mut enrolled.browser;
    let page = b.get(&format!("{p}/totp/setup")).await;
    assert!(
        page.body.contains("<h1>Move to a new authenticator</h1>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Two-factor sign-in stays on"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("<a href=\"{p}/account\">Cancel")),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("Turn on two-factor sign-in"),
        "{}",
        page.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_recovery_code_continuing_comes_first() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let enrolled = enrol(&gw, "alice").await;
    let mut b = gw.browser();
    b.login(&p, "alice", PASSWORD, "/wiki").await;
    let page = b
        .submit(
            &format!("{p}/recovery?rd=%2Fwiki"),
            &format!("{p}/recovery"),
            &[("code", &enrolled.recovery_codes[0])],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("9 recovery codes remain."),
        "{}",
        page.body
    );
    let primary = page
        .body
        .find("<a class=\"button\" href=\"/wiki\">Continue</a>");
    let setup = page.body.find("Set up a new authenticator</a>");
    assert!(primary.is_some() && setup.is_some(), "{}", page.body);
    assert!(primary < setup, "continue first, set-up beside it");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_page_puts_sign_out_first_and_guards_destructive_forms() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut enrolled = enrol(&gw, "alice").await;
    let page = enrolled.browser.get(&format!("{p}/account")).await;
    let sign_out = page.body.find(&format!("action=\"{p}/logout\"")).unwrap();
    assert!(
        sign_out < page.body.find("<dl").unwrap(),
        "sign-out at the top"
    );
    for action in ["recovery-codes", "totp/disable"] {
        let form_start = page.body.find(&format!("action=\"{p}/{action}\"")).unwrap();
        let form = &page.body[form_start..];
        let form = &form[..form.find("</form>").unwrap()];
        assert!(
            form.contains("type=\"checkbox\" name=\"confirm\" value=\"1\" required"),
            "{action}: {form}"
        );
        assert!(form.contains("class=\"danger\""), "{action}: {form}");
        let section = page.body[..form_start].rfind("<section").unwrap();
        assert!(page.body[section..form_start].contains("danger-zone"));
    }
    let css = enrolled.browser.get(&format!("{p}/static/style.css")).await;
    assert!(css.body.contains("overflow-wrap: anywhere"));
}

#[tokio::test(flavor = "multi_thread")]
async fn recovery_codes_once_shown_offer_no_link_away_from_them() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    b.login(&p, "alice", PASSWORD, "/").await;
    let setup = b.get(&format!("{p}/totp/setup")).await;
    assert!(
        setup.body.contains("hreflang="),
        "the set-up page has its picker"
    );
    let secret = setup_secret(&setup);
    let code = external_totp(&secret, now());
    let csrf = setup.field("csrf");
    let codes = b
        .post_form(
            &format!("{p}/totp/setup"),
            &[("code", &code), ("csrf", &csrf), ("rd", "/")],
        )
        .await;
    assert_eq!(shown_codes(&codes).len(), 10, "{}", codes.body);
    assert!(
        !codes.body.contains("hreflang="),
        "a language link would lose the codes: {}",
        codes.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_address_gets_a_small_answer_without_a_picker() {
    let gw = spawn_gateway();
    let mut b = gw.browser();
    let long = format!("/public/{}", "a".repeat(60_000));
    let page = b.get(&long).await;
    assert_eq!(
        page.status,
        414,
        "{}",
        &page.body[..page.body.len().min(200)]
    );
    assert!(page.body.len() < 16 * 1024, "{} bytes", page.body.len());
    assert!(!page.body.contains("hreflang="));
    // An address of a reasonable length keeps its picker on an error page.
    let page = b.get("/deny/x").await;
    assert_eq!(page.status, 403);
    assert!(page.body.contains("hreflang="));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_try_again_link_of_a_502_stays_on_the_site() {
    let gw = spawn_gateway_with_dead_app();
    let mut b = Browser::new(gw.addr, "dead.test");
    let page = b.get("//evil.example/x").await;
    assert_eq!(page.status, 502, "{}", page.body);
    assert!(!page.body.contains("//evil.example"), "{}", page.body);
    let page = b.get("/reports/x?y=1").await;
    assert_eq!(page.status, 502);
    assert!(
        page.body.contains("href=\"/reports/x?y=1\""),
        "{}",
        page.body
    );
}
