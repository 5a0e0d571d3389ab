//! Every flow in a real browser: headless Chromium driven through chromedriver, against the
//! gateway and its upstream on loopback. Each page state is checked with axe-core (WCAG 2.2 A
//! and AA rules) at 1280×800 and 390×844, in light and dark colour schemes, and photographed
//! into `target/screenshots/`.
//!
//! Without Chromium and chromedriver the tests say so and pass, except in CI (`CI=true`),
//! where a missing browser fails them.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use portcullis::store::AuditEvent;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

// The browser tests are a test binary of their own: cargo runs test binaries one after the
// other, so Chromium's load never lands on the timing-sensitive tests of `it`.
#[path = "it/helpers.rs"]
mod helpers;
#[path = "it/pg.rs"]
mod pg;

use helpers::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// axe-core, as published on npm: the tarball's address and SHA-256.
const AXE_VERSION: &str = "4.10.3";
const AXE_TARBALL_SHA256: &str = "0f2b4d7dcdf7d1219df8d1959ad68e565f51d14c3f0d88bb71cd59abeb956292";

/// The viewports and colour schemes every page state is checked in.
const MODES: [Mode; 4] = [
    Mode::new(1280, 800, false),
    Mode::new(1280, 800, true),
    Mode::new(390, 844, false),
    Mode::new(390, 844, true),
];

#[derive(Clone, Copy)]
struct Mode {
    width: u32,
    height: u32,
    dark: bool,
}

impl Mode {
    const fn new(width: u32, height: u32, dark: bool) -> Mode {
        Mode {
            width,
            height,
            dark,
        }
    }

    fn name(&self) -> String {
        let scheme = if self.dark { "dark" } else { "light" };
        format!("{}x{}-{scheme}", self.width, self.height)
    }
}

/// Whether the browser tests can run here; panics in CI when they cannot.
fn browser_available() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "browser tests need {} (Debian: apt-get install chromium chromium-driver)",
        missing.join(" and ")
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}");
    }
    eprintln!("skipped: {message}");
    false
}

/// chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Chrome DevTools command sent through chromedriver.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// One headless Chromium with its own profile, hosts `*.test` resolved to loopback.
struct Chrome {
    client: Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
    /// Where the gateway answers, as the browser reaches it (`http://app.test:PORT`).
    base: String,
    axe: String,
    /// Every page state seen, for the screenshots' names.
    shots: usize,
    test: &'static str,
}

impl Chrome {
    async fn open(gw: &TestGateway, test: &'static str) -> Chrome {
        let driver = Driver::start();
        let profile = tempfile::tempdir().unwrap();
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1280,800".into(),
            "--host-resolver-rules=MAP *.test 127.0.0.1".into(),
            // WebAuthn needs a secure context: plain-HTTP `app.test` is one for these tests, on
            // the gateway's port and on the upstream's (another origin of the same host).
            format!(
                "--unsafely-treat-insecure-origin-as-secure=http://app.test:{},http://app.test:{}",
                gw.addr.port(),
                gw.upstream.port()
            ),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a Chromium session");
        Chrome {
            client,
            _driver: driver,
            _profile: profile,
            base: format!("http://app.test:{}", gw.addr.port()),
            axe: axe_source(),
            shots: 0,
            test,
        }
    }

    async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    async fn body_text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn html_lang(&self) -> String {
        self.client
            .find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    /// Whether the submit button of the form posting to `action` is wholly in the viewport as
    /// the page opened (after the browser scrolled to the autofocused field, as a person sees it).
    async fn button_in_view(&self, action: &str) -> bool {
        let script = format!(
            "const r = document.querySelector('form[action$=\"{action}\"] button[type=submit]')\
             .getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight;"
        );
        self.client.execute(&script, vec![]).await.unwrap() == json!(true)
    }

    /// Follows the language picker's link to `tag`.
    async fn pick_language(&self, tag: &str) {
        let link = self
            .client
            .find(Locator::Css(&format!("a[hreflang=\"{tag}\"]")))
            .await
            .unwrap_or_else(|e| panic!("no picker link for {tag}: {e}"));
        self.click_to_next_page(link).await;
    }

    /// Clicks `element`, which leads to another page, and waits until that page has loaded: a
    /// click answers before the browser has even left the old page, and reading the page then
    /// can find no `<body>` at all.
    async fn click_to_next_page(&self, element: fantoccini::elements::Element) {
        let old = self.client.find(Locator::Css("html")).await.unwrap();
        element.click().await.unwrap();
        self.wait_for_next_page(old).await;
    }

    /// Waits until the page whose root is `old` has been replaced and the new one has loaded.
    async fn wait_for_next_page(&self, old: fantoccini::elements::Element) {
        let deadline = Instant::now() + Duration::from_secs(15);
        // The old document's root goes stale once the new document replaces it.
        while old.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "the click led to no new page");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        loop {
            let state = self
                .client
                .execute("return document.readyState", vec![])
                .await;
            if matches!(state, Ok(ref s) if s == "complete") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the next page did not finish loading"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn fill(&self, css: &str, value: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Submits the form whose action ends in `action`, ticking any required checkbox (a
    /// confirmation) first.
    async fn submit(&self, action: &str) {
        let form = format!("form[action$=\"{action}\"]");
        for tick in self
            .client
            .find_all(Locator::Css(&format!(
                "{form} input[type=checkbox][required]"
            )))
            .await
            .unwrap()
        {
            tick.click().await.unwrap();
        }
        let button = self
            .client
            .find(Locator::Css(&format!("{form} button[type=submit]")))
            .await
            .unwrap();
        self.click_to_next_page(button).await;
    }

    async fn click_link_to(&self, href_part: &str) {
        let link = self
            .client
            .find(Locator::Css(&format!("a[href*=\"{href_part}\"]")))
            .await
            .unwrap();
        self.click_to_next_page(link).await;
    }

    async fn set_mode(&self, mode: Mode) {
        let scheme = if mode.dark { "dark" } else { "light" };
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        )
        .await;
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": mode.width,
                "height": mode.height,
                "deviceScaleFactor": 1,
                "mobile": mode.width < 600,
            }),
        )
        .await;
    }

    async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    /// Checks the page in every mode: axe-core finds no violation, and a screenshot is kept.
    /// Ends in the first mode (1280×800, light).
    async fn check_page(&mut self, state: &str) {
        self.shots += 1;
        let mut failures = Vec::new();
        for mode in MODES {
            self.set_mode(mode).await;
            let violations = self.axe_violations().await;
            if !violations.is_empty() {
                failures.push(format!(
                    "{state} at {}: {}",
                    mode.name(),
                    serde_json::to_string_pretty(&violations).unwrap()
                ));
            }
            let png = self.client.screenshot().await.unwrap();
            let name = format!(
                "{}-{:02}-{state}-{}.png",
                self.test,
                self.shots,
                mode.name()
            );
            std::fs::write(screenshots_dir().join(name), png).unwrap();
        }
        self.set_mode(MODES[0]).await;
        assert!(
            failures.is_empty(),
            "axe-core found violations:\n{}",
            failures.join("\n")
        );
    }

    async fn axe_violations(&self) -> Vec<Value> {
        let loaded = self
            .client
            .execute("return typeof window.axe", vec![])
            .await
            .unwrap();
        if loaded != json!("object") {
            self.client.execute(&self.axe, vec![]).await.unwrap();
        }
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, {
                runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
                resultTypes: ['violations'],
            }).then(r => done(r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary),
            })))).catch(e => done([{ id: 'axe-error', help: String(e) }]));
        "#;
        match self.client.execute_async(script, vec![]).await.unwrap() {
            Value::Array(v) => v,
            other => panic!("axe-core answered {other}"),
        }
    }

    /// The QR code in a screenshot of the page, decoded.
    async fn decode_qr(&self) -> String {
        let png = self.client.screenshot().await.unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        let channels = info.color_type.samples();
        let (w, h) = (info.width as usize, info.height as usize);
        let luma = |x: usize, y: usize| {
            let i = (y * w + x) * channels;
            let (r, g, b) = (buf[i] as u32, buf[i + 1] as u32, buf[i + 2] as u32);
            ((r * 299 + g * 587 + b * 114) / 1000) as u8
        };
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, luma);
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code on the set-up page");
        grids[0].decode().expect("the QR code decodes").1
    }

    /// A platform authenticator in this tab (Chrome DevTools' virtual authenticator): it keeps
    /// passkeys, verifies the user and is present at once. Returns its id.
    async fn add_authenticator(&self) -> String {
        self.cdp("WebAuthn.enable", json!({ "enableUI": false }))
            .await;
        let added = self
            .cdp(
                "WebAuthn.addVirtualAuthenticator",
                json!({ "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": true,
                    "hasUserVerification": true,
                    "isUserVerified": true,
                    "automaticPresenceSimulation": true,
                }}),
            )
            .await;
        added["authenticatorId"].as_str().unwrap().to_string()
    }

    /// The authenticator's passkeys, as the authenticator holds them.
    async fn authenticator_credentials(&self, authenticator: &str) -> Vec<Value> {
        let got = self
            .cdp(
                "WebAuthn.getCredentials",
                json!({ "authenticatorId": authenticator }),
            )
            .await;
        got["credentials"].as_array().unwrap().clone()
    }

    /// Puts `credential` back into the authenticator with signature counter `count`: a copy of
    /// the key, as a cloned authenticator would hold it.
    async fn set_sign_count(&self, authenticator: &str, credential: &Value, count: u32) {
        let id = credential["credentialId"].clone();
        self.cdp(
            "WebAuthn.removeCredential",
            json!({ "authenticatorId": authenticator, "credentialId": id }),
        )
        .await;
        let mut copy = credential.clone();
        copy["signCount"] = json!(count);
        self.cdp(
            "WebAuthn.addCredential",
            json!({ "authenticatorId": authenticator, "credential": copy }),
        )
        .await;
    }

    /// The passkey form of this page: its ceremony id and the options it hands the browser.
    async fn passkey_form(&self) -> (String, String) {
        let got = self
            .client
            .execute(
                "const f = document.querySelector('form[data-passkey]');\
                 return [f.elements.ceremony.value, f.dataset.options];",
                vec![],
            )
            .await
            .unwrap();
        (
            got[0].as_str().unwrap().to_string(),
            got[1].as_str().unwrap().to_string(),
        )
    }

    /// Asks the authenticator for an assertion with `options` (a page's `data-options`) from
    /// whatever page the browser is on, without the gateway's script; the browser's own JSON
    /// of it.
    async fn assertion(&self, options: &str) -> String {
        let script = r#"
            const [options, done] = arguments;
            const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
            const o = JSON.parse(options).publicKey;
            const publicKey = {
                challenge: bytes(o.challenge),
                rpId: o.rpId,
                userVerification: o.userVerification,
                allowCredentials: (o.allowCredentials || []).map((c) => ({ type: c.type, id: bytes(c.id) })),
            };
            navigator.credentials.get({ publicKey }).then(
                (c) => done(JSON.stringify(c.toJSON())),
                (e) => done('failed: ' + e),
            );
        "#;
        let got = self
            .client
            .execute_async(script, vec![json!(options)])
            .await
            .unwrap();
        let text = got.as_str().unwrap().to_string();
        assert!(!text.starts_with("failed"), "{text}");
        text
    }

    /// Sends this page's passkey form with `ceremony` and `credential` in place of what its
    /// script would put there, and waits for the next page.
    async fn send_passkey_form(&self, ceremony: &str, credential: &str) {
        let old = self.client.find(Locator::Css("html")).await.unwrap();
        self.client
            .execute(
                "const [ceremony, credential] = arguments;\
                 const f = document.querySelector('form[data-passkey]');\
                 f.elements.ceremony.value = ceremony; f.elements.credential.value = credential;\
                 setTimeout(() => f.submit(), 0);",
                vec![json!(ceremony), json!(credential)],
            )
            .await
            .unwrap();
        self.wait_for_next_page(old).await;
    }

    /// Signs out (from the account page), then opens the two-factor page and signs in there
    /// with `user`'s password.
    async fn sign_in_again(&self, prefix: &str, user: &str) {
        self.goto(&format!("{prefix}/account")).await;
        self.submit("/logout").await;
        self.goto("/secure/report").await;
        self.fill("input[name=username]", user).await;
        self.fill("input[name=password]", PASSWORD).await;
        self.submit("/login").await;
    }

    /// Presses this page's passkey button (the gateway's script does the rest).
    async fn press_passkey_button(&self) {
        let button = self
            .client
            .find(Locator::Css("form[data-passkey] .passkey-start"))
            .await
            .unwrap();
        assert!(
            button.is_displayed().await.unwrap(),
            "the script shows the passkey button"
        );
        self.click_to_next_page(button).await;
    }

    async fn close(self) {
        let _ = self.client.close().await;
    }
}

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// axe-core's script: from `AXE_CORE_JS` when set, else from npm's registry (checked against
/// its SHA-256) into `target/axe/`, once per process. The tests of this binary open their
/// browsers at the same time, and test runners that give each test its own process do too,
/// so each process unpacks into a directory of its own and renames the script into place.
fn axe_source() -> String {
    static SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SOURCE.get_or_init(fetch_axe).clone()
}

fn fetch_axe() -> String {
    if let Ok(path) = std::env::var("AXE_CORE_JS") {
        return std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/axe");
    let script = dir.join(format!("axe-{AXE_VERSION}.min.js"));
    if let Ok(text) = std::fs::read_to_string(&script) {
        return text;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("https://registry.npmjs.org/axe-core/-/axe-core-{AXE_VERSION}.tgz");
    let out = Command::new("curl")
        .args(["-sSfL", "--max-time", "60", &url])
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "fetching {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sum = hex::encode(Sha256::digest(&out.stdout));
    assert_eq!(sum, AXE_TARBALL_SHA256, "axe-core tarball checksum");
    let work = dir.join(format!("unpack-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let tarball = work.join(format!("axe-core-{AXE_VERSION}.tgz"));
    std::fs::write(&tarball, &out.stdout).unwrap();
    let unpacked = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&work)
        .arg("package/axe.min.js")
        .status()
        .unwrap();
    assert!(unpacked.success(), "unpacking axe-core");
    let text = std::fs::read_to_string(work.join("package/axe.min.js")).unwrap();
    // Renamed into place last, so a half-written file is never taken for the script.
    std::fs::rename(work.join("package/axe.min.js"), &script).unwrap();
    let _ = std::fs::remove_dir_all(&work);
    text
}

/// Puts `line` in the log of screenshots people can look through.
fn note(test: &str, line: &str) {
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(screenshots_dir().join(format!("{test}.txt")))
        .unwrap();
    writeln!(log, "{line}").unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_two_factor_flow_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut c = Chrome::open(&gw, "flows").await;

    // A page that needs two factors sends an unknown visitor to the sign-in page.
    c.goto("/secure/report").await;
    assert!(c.path().await.starts_with(&format!("{p}/login")));
    c.check_page("sign-in").await;

    c.fill("input[name=username]", "alice").await;
    c.fill("input[name=password]", "not the password").await;
    c.submit("/login").await;
    assert!(c.body_text().await.contains(WRONG_LOGIN));
    c.check_page("wrong-password").await;

    // The right password on a two-factor route: set up an authenticator first.
    c.fill("input[name=password]", PASSWORD).await;
    c.submit("/login").await;
    assert!(c.path().await.starts_with(&format!("{p}/totp/setup")));
    assert!(
        c.button_in_view("/totp/setup").await,
        "the set-up button shows without scrolling at 1280x800"
    );
    c.check_page("set-up").await;
    let uri = c.decode_qr().await;
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let secret = otpauth_secret(&uri);
    let shown = c.body_text().await.replace(' ', "");
    assert!(shown.contains(&secret), "the key on the page is the QR's");
    note("flows", &format!("QR decoded from the set-up page: {uri}"));

    c.fill("input[name=code]", &wrong_code(&secret)).await;
    c.submit("/totp/setup").await;
    assert!(c.path().await.starts_with(&format!("{p}/totp/setup")));
    c.check_page("set-up-wrong-code").await;

    let t = now();
    c.fill("input[name=code]", &external_totp(&secret, t)).await;
    c.submit("/totp/setup").await;
    let codes: Vec<String> = {
        let mut codes = Vec::new();
        for item in c.client.find_all(Locator::Css("ul li code")).await.unwrap() {
            codes.push(item.text().await.unwrap());
        }
        codes
    };
    assert_eq!(codes.len(), 10, "{}", c.body_text().await);
    c.check_page("recovery-codes").await;

    // On to the page first asked for, with the identity at the upstream.
    c.click_link_to("/secure/report").await;
    assert_eq!(c.path().await, "/secure/report");
    assert!(c.body_text().await.contains("alice"));

    c.goto(&format!("{p}/account")).await;
    c.check_page("account").await;

    // Sign out, then in with password and a code from the authenticator.
    c.submit("/logout").await;
    assert!(c.path().await.starts_with(&format!("{p}/login")));
    assert!(c.body_text().await.contains("You are signed out."));
    c.check_page("signed-out").await;
    c.goto("/secure/report").await;
    c.fill("input[name=username]", "alice").await;
    c.fill("input[name=password]", PASSWORD).await;
    c.submit("/login").await;
    assert!(c.path().await.starts_with(&format!("{p}/totp")));
    c.check_page("code").await;
    let (code, mut t) = fresh_code(&secret, t).await;
    c.fill("input[name=code]", &code).await;
    c.submit("/totp").await;
    if c.path().await != "/secure/report" {
        // A person whose code was refused types the next one; the refusal is kept for a look.
        let said = c.body_text().await;
        note(
            "flows",
            &format!("code for step {} refused: {said}", t / 30),
        );
        let (next, at) = fresh_code(&secret, t).await;
        t = at;
        c.fill("input[name=code]", &next).await;
        c.submit("/totp").await;
        assert_eq!(c.path().await, "/secure/report", "first refusal: {said}");
    }

    // Sign out, then in with a recovery code.
    c.sign_in_again(&p, "alice").await;
    c.click_link_to("/recovery").await;
    assert!(c.path().await.starts_with(&format!("{p}/recovery")));
    c.check_page("recovery").await;
    c.fill("input[name=code]", &codes[0]).await;
    c.submit("/recovery").await;
    assert!(c.body_text().await.contains('9'), "{}", c.body_text().await);
    c.check_page("recovered").await;

    // A new set of recovery codes from the account page, with a fresh code.
    c.goto(&format!("{p}/account")).await;
    let (code, t) = fresh_code(&secret, t).await;
    c.fill("form[action$=\"/recovery-codes\"] input[name=code]", &code)
        .await;
    c.submit("/recovery-codes").await;
    let fresh = c.client.find_all(Locator::Css("ul li code")).await.unwrap();
    assert_eq!(fresh.len(), 10, "{}", c.body_text().await);
    c.check_page("new-recovery-codes").await;

    // Turn two-factor sign-in off with a code.
    c.goto(&format!("{p}/account")).await;
    let (code, _) = fresh_code(&secret, t).await;
    c.fill("form[action$=\"/totp/disable\"] input[name=code]", &code)
        .await;
    c.submit("/totp/disable").await;
    c.goto(&format!("{p}/account")).await;
    let store = gw.store();
    let alice = store.user_by_name("alice").unwrap().unwrap();
    assert!(
        store.totp(alice.id).unwrap().is_none(),
        "two-factor sign-in is still on"
    );
    c.check_page("two-factor-off").await;
    c.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ban_page_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let gw = spawn_gateway_configured(
        TRUST_LOOPBACK,
        "",
        "[regulation]\nmax_failures = 3\nwindow = \"5m\"\nban = \"5m\"",
    );
    gw.add_user("bob", &[]);
    let p = gw.prefix().to_string();
    let mut c = Chrome::open(&gw, "ban").await;
    c.goto("/").await;
    // Wrong passwords until the page has no form left to fill: the ban.
    let mut attempts = 0;
    while !c
        .client
        .find_all(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .is_empty()
    {
        attempts += 1;
        assert!(attempts <= 10, "no ban after {attempts} wrong passwords");
        c.fill("input[name=username]", "bob").await;
        c.fill("input[name=password]", "wrong wrong wrong").await;
        c.submit("/login").await;
    }
    assert_eq!(attempts, 3, "banned at the configured number of failures");
    assert!(c.path().await.starts_with(&format!("{p}/login")));
    assert!(c
        .client
        .get_named_cookie("portcullis_session")
        .await
        .is_err());
    c.check_page("banned").await;
    c.goto("/").await;
    assert!(c.path().await.starts_with(&format!("{p}/login")));
    c.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pages_in_every_language_and_the_picker_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let gw = spawn_gateway();
    gw.add_user("carol", &[]);
    let p = gw.prefix().to_string();
    let mut c = Chrome::open(&gw, "languages").await;
    c.goto("/secure/report").await;
    let words = [
        ("pt-BR", "Senha"),
        ("es", "Contraseña"),
        ("fr", "Mot de passe"),
        ("de", "Passwort"),
        ("en", "Password"),
    ];
    for (tag, word) in words {
        // The picker on the page, without a script: a link that sets the language and comes back.
        c.pick_language(tag).await;
        assert!(
            c.path().await.starts_with(&format!("{p}/login?rd=")),
            "back on the sign-in page: {}",
            c.path().await
        );
        assert_eq!(c.html_lang().await, tag);
        assert!(c.body_text().await.contains(word), "{tag}: {word}");
        c.check_page(&format!("sign-in-{tag}")).await;
    }
    // The choice holds from page to page: the set-up page in German, then in French.
    c.pick_language("de").await;
    c.fill("input[name=username]", "carol").await;
    c.fill("input[name=password]", PASSWORD).await;
    c.submit("/login").await;
    assert!(c.path().await.starts_with(&format!("{p}/totp/setup")));
    assert_eq!(c.html_lang().await, "de");
    assert!(c.button_in_view("/totp/setup").await, "in German too");
    c.check_page("set-up-de").await;
    c.pick_language("fr").await;
    assert!(c.path().await.starts_with(&format!("{p}/totp/setup")));
    assert_eq!(c.html_lang().await, "fr");
    c.check_page("set-up-fr").await;
    c.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invite_the_account_page_and_an_admin_change_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let gw = spawn_gateway();
    gw.add_user("erin", &[]);
    let p = gw.prefix().to_string();
    let link = invite(&gw, &["dana", "--name", "Dana D", "--group", "admins"]);
    let path = link.as_str();
    let mut c = Chrome::open(&gw, "invite").await;

    c.goto(path).await;
    c.check_page("invite").await;
    c.fill("input[name=password]", "Chosen-Secret-2026!").await;
    c.fill("input[name=confirm]", "Chosen-Secret-2026?").await;
    c.submit("/invite").await;
    assert!(c.body_text().await.contains("not the same"));
    c.check_page("invite-mismatch").await;
    c.fill("input[name=password]", "Chosen-Secret-2026!").await;
    c.fill("input[name=confirm]", "Chosen-Secret-2026!").await;
    c.submit("/invite").await;

    // Signed in, and on to the authenticator: then the recovery codes, then the app.
    assert!(c.path().await.starts_with(&format!("{p}/totp/setup")));
    c.check_page("invite-set-up").await;
    let uri = c.decode_qr().await;
    let secret = otpauth_secret(&uri);
    c.fill("input[name=code]", &external_totp(&secret, now()))
        .await;
    c.submit("/totp/setup").await;
    let codes = c.client.find_all(Locator::Css("ul li code")).await.unwrap();
    assert_eq!(codes.len(), 10, "{}", c.body_text().await);
    c.goto("/secure/report").await;
    assert_eq!(c.path().await, "/secure/report");
    assert!(c.body_text().await.contains("dana"));

    // The account page: this browser among the sessions, and the password form.
    c.goto(&format!("{p}/account")).await;
    let text = c.body_text().await;
    assert!(text.contains("Where you are signed in"), "{text}");
    assert!(text.contains("This browser"), "{text}");
    assert!(text.contains("Chrome on Linux"), "{text}");
    c.check_page("account-sessions").await;
    c.fill("input[name=current_password]", "Chosen-Secret-2026!")
        .await;
    c.fill("#new_password", "Another-Secret-2026").await;
    c.fill("#confirm_password", "Another-Secret-2026").await;
    c.submit("/account/password").await;
    assert!(c.body_text().await.contains("Your password is changed"));
    c.check_page("password-changed").await;
    // Dana is an admin: the admin area, and one change made there.
    c.goto(&format!("{p}/admin")).await;
    assert!(c.body_text().await.contains("erin"));
    c.check_page("admin-users").await;
    c.click_link_to("/admin/user?name=erin").await;
    c.check_page("admin-user").await;
    let disable = c
        .client
        .find(Locator::Css(
            "form:has(input[name=action][value=disable]) button[type=submit]",
        ))
        .await
        .unwrap();
    c.click_to_next_page(disable).await;
    assert!(c.body_text().await.contains("The user is disabled"));
    assert!(gw.store().user_by_name("erin").unwrap().unwrap().disabled);
    c.check_page("admin-user-disabled").await;
    c.goto(&format!("{p}/admin/audit")).await;
    assert!(c.body_text().await.contains("by admin dana"));
    c.check_page("admin-audit").await;

    // The link is used: it says so.
    c.goto(path).await;
    assert!(c.body_text().await.contains("used already"));
    c.check_page("invite-used").await;
    c.close().await;
}

/// The audit rows of `event` for `user`, once there are `n` of them (rows are written off the
/// request path).
async fn rows(gw: &TestGateway, event: &str, user: &str, n: usize) -> Vec<AuditEvent> {
    let all = audit_until(gw, |r| count_rows(r, event, user) >= n).await;
    let found: Vec<AuditEvent> = all
        .into_iter()
        .filter(|e| e.event == event && e.username.as_deref() == Some(user))
        .collect();
    assert_eq!(found.len(), n, "{event} rows for {user}: {found:?}");
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn passkeys_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let gw = spawn_gateway_configured(
        "",
        "",
        "[webauthn]\npasswordless = true\n\n[admin]\nreauth = \"4s\"\n",
    );
    let alice = gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut c = Chrome::open(&gw, "passkeys").await;
    let authenticator = c.add_authenticator().await;

    // A two-factor page for someone without a second factor: the set-up page offers a
    // passkey beside the authenticator app.
    c.goto("/secure/report").await;
    c.fill("input[name=username]", "alice").await;
    c.fill("input[name=password]", PASSWORD).await;
    c.submit("/login").await;
    assert!(c.path().await.starts_with(&format!("{p}/totp/setup")));
    assert!(c.body_text().await.contains("Rather use a passkey"));
    c.click_link_to("/account/passkeys/new").await;
    assert!(c
        .path()
        .await
        .starts_with(&format!("{p}/account/passkeys/new")));
    // Named after the browser and system unless the person names it.
    assert!(c
        .body_text()
        .await
        .contains("This passkey will be called “Chrome on Linux”."));
    c.check_page("passkey-new").await;
    c.press_passkey_button().await;
    // Made and stored, the person is at two factors; recovery codes come with a first passkey,
    // shown once, then on to the page.
    assert!(c.body_text().await.contains("Your passkey is added."));
    let codes = c.client.find_all(Locator::Css("ul li code")).await.unwrap();
    assert_eq!(codes.len(), 10, "{}", c.body_text().await);
    c.check_page("passkey-codes").await;
    c.click_link_to("/secure/report").await;
    assert_eq!(c.path().await, "/secure/report");
    assert!(c.body_text().await.contains("alice"));
    let keys = gw.store().passkeys(alice).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].name, "Chrome on Linux");
    let held = c.authenticator_credentials(&authenticator).await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["isResidentCredential"], json!(true), "{held:?}");
    assert_eq!(held[0]["rpId"], json!("app.test"));
    rows(&gw, "passkey_added", "alice", 1).await;

    // Signed out and in again: the passkey is asked for first, with no code form (alice has
    // no authenticator app).
    c.sign_in_again(&p, "alice").await;
    assert!(c.path().await.starts_with(&format!("{p}/totp")));
    assert!(c.body_text().await.contains("Confirm with your passkey"));
    assert!(c
        .client
        .find(Locator::Css("input[name=code]"))
        .await
        .is_err());
    c.check_page("passkey-challenge").await;
    c.press_passkey_button().await;
    assert_eq!(c.path().await, "/secure/report");
    let used = rows(&gw, "second_factor_success", "alice", 1).await;
    assert_eq!(
        used[0].detail.as_deref(),
        Some("passkey \"Chrome on Linux\"")
    );

    // The account page lists it; it is renamed there.
    c.goto(&format!("{p}/account")).await;
    let text = c.body_text().await;
    assert!(text.contains("Chrome on Linux"), "{text}");
    assert!(!text.contains("last used never"), "{text}");
    c.check_page("account-passkeys").await;
    c.fill("input[name=name][id^=rename-]", "Work laptop").await;
    c.submit("/account/passkeys/rename").await;
    assert!(c.body_text().await.contains("The passkey is renamed."));
    assert_eq!(gw.store().passkeys(alice).unwrap()[0].name, "Work laptop");

    // Passwordless: the sign-in page's button alone signs in, at two factors.
    c.submit("/logout").await;
    c.goto("/secure/report").await;
    assert!(c.body_text().await.contains("Sign in with a passkey"));
    c.check_page("sign-in-passkey").await;
    c.press_passkey_button().await;
    assert_eq!(c.path().await, "/secure/report");
    // The first sign-in (the password, before any second factor) was the other.
    let logins = rows(&gw, "login", "alice", 2).await;
    assert_eq!(
        logins[1].detail.as_deref(),
        Some("two_factor, passkey \"Work laptop\"")
    );
    // New recovery codes, confirmed by the passkey (again, if the sign-in is already more than
    // `reauth` ago).
    c.goto(&format!("{p}/account")).await;
    c.submit("/recovery-codes").await;
    if c.path().await.starts_with(&format!("{p}/totp?again=1")) {
        c.press_passkey_button().await;
        c.submit("/recovery-codes").await;
    }
    assert!(c
        .body_text()
        .await
        .contains("Your old recovery codes no longer work."));
    let codes = c.client.find_all(Locator::Css("ul li code")).await.unwrap();
    assert_eq!(codes.len(), 10);

    // A replayed assertion: used once through the page's own form, then sent again, with the
    // spent ceremony and with a new one. Both refused.
    c.sign_in_again(&p, "alice").await;
    let (ceremony, options) = c.passkey_form().await;
    let assertion = c.assertion(&options).await;
    c.send_passkey_form(&ceremony, &assertion).await;
    assert_eq!(c.path().await, "/secure/report");
    c.sign_in_again(&p, "alice").await;
    c.send_passkey_form(&ceremony, &assertion).await;
    assert!(c
        .body_text()
        .await
        .contains("That passkey was not accepted"));
    let (fresh_ceremony, _) = c.passkey_form().await;
    c.send_passkey_form(&fresh_ceremony, &assertion).await;
    assert!(c
        .body_text()
        .await
        .contains("That passkey was not accepted"));
    c.check_page("passkey-refused").await;
    let failures = rows(&gw, "passkey_failure", "alice", 2).await;
    assert!(
        failures[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("expired or answered already"),
        "{failures:?}"
    );
    assert_eq!(failures[1].detail.as_deref(), Some("wrong challenge"));

    // Another origin of the same rp id (the upstream's port on app.test): the authenticator
    // answers the gateway's challenge there, and the gateway refuses the answer.
    let (ceremony, options) = c.passkey_form().await;
    c.client
        .goto(&format!("http://app.test:{}/", gw.upstream.port()))
        .await
        .unwrap();
    let elsewhere = c.assertion(&options).await;
    c.goto(&format!("{p}/totp")).await;
    c.send_passkey_form(&ceremony, &elsewhere).await;
    assert!(c
        .body_text()
        .await
        .contains("That passkey was not accepted"));
    let failures = rows(&gw, "passkey_failure", "alice", 3).await;
    assert_eq!(failures[2].detail.as_deref(), Some("wrong origin"));

    // A copy of the key whose counter is behind the last one seen: refused, and the audit
    // says the key may have been copied.
    let held = c.authenticator_credentials(&authenticator).await;
    let seen = gw.store().passkeys(alice).unwrap()[0].counter;
    assert!(seen >= 4, "the counter moved with each use: {seen}");
    c.set_sign_count(&authenticator, &held[0], 1).await;
    c.goto(&format!("{p}/totp")).await;
    c.press_passkey_button().await;
    assert!(c
        .body_text()
        .await
        .contains("That passkey was not accepted"));
    rows(&gw, "passkey_clone_warning", "alice", 1).await;
    assert_eq!(gw.store().passkeys(alice).unwrap()[0].counter, seen);

    // The real key again (its counter ahead), then removal from the account page. The second
    // factor must be fresh (`reauth` is 4 s here): once it is stale, the challenge page asks
    // for it again and comes back.
    c.set_sign_count(&authenticator, &held[0], seen + 10).await;
    c.goto(&format!("{p}/totp")).await;
    c.press_passkey_button().await;
    tokio::time::sleep(Duration::from_millis(4100)).await;
    c.goto(&format!("{p}/account")).await;
    c.submit("/account/passkeys/remove").await;
    assert!(c.path().await.starts_with(&format!("{p}/totp?again=1")));
    assert!(c.body_text().await.contains("Confirm it is you"));
    c.check_page("confirm-again").await;
    c.press_passkey_button().await;
    assert!(c.path().await.starts_with(&format!("{p}/account")));
    c.submit("/account/passkeys/remove").await;
    assert!(c.body_text().await.contains("The passkey is removed."));
    assert!(gw.store().passkeys(alice).unwrap().is_empty());
    rows(&gw, "passkey_removed", "alice", 1).await;
    // No second factor left: the session is at one factor, and a two-factor page asks for
    // one to be set up.
    c.goto("/secure/report").await;
    assert!(c.path().await.starts_with(&format!("{p}/totp/setup")));
    c.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passkey_only_admin_confirms_changes_with_the_passkey() {
    if !browser_available() {
        return;
    }
    let gw = spawn_gateway_configured("", "", "[admin]\nreauth = \"4s\"\n");
    gw.add_user("root", &["admins"]);
    gw.add_user("erin", &[]);
    let p = gw.prefix().to_string();
    let mut c = Chrome::open(&gw, "passkey-admin").await;
    c.add_authenticator().await;

    // The admin area needs two factors: root, with none, is sent to set one up, and picks a
    // passkey there.
    c.goto(&format!("{p}/admin")).await;
    c.fill("input[name=username]", "root").await;
    c.fill("input[name=password]", PASSWORD).await;
    c.submit("/login").await;
    assert!(c.path().await.starts_with(&format!("{p}/totp/setup")));
    c.click_link_to("/account/passkeys/new").await;
    c.press_passkey_button().await;
    assert!(c.body_text().await.contains("Your passkey is added."));
    c.click_link_to(&format!("{p}/admin")).await;
    assert_eq!(c.path().await, format!("{p}/admin"));

    // Once the factor is stale, a change waits: the page offers the passkey, and no code form
    // (root has no authenticator app).
    tokio::time::sleep(Duration::from_millis(4100)).await;
    c.goto(&format!("{p}/admin/user?name=erin")).await;
    let disable = "form:has(input[name=action][value=disable]) button[type=submit]";
    let button = c.client.find(Locator::Css(disable)).await.unwrap();
    c.click_to_next_page(button).await;
    assert!(c
        .body_text()
        .await
        .contains("Confirm with your passkey to continue"));
    assert!(c
        .client
        .find(Locator::Css("input[name=code]"))
        .await
        .is_err());
    assert!(!gw.store().user_by_name("erin").unwrap().unwrap().disabled);
    c.check_page("admin-reauth-passkey").await;
    c.click_link_to("/totp?again=1").await;
    c.press_passkey_button().await;
    assert!(c
        .path()
        .await
        .starts_with(&format!("{p}/admin/user?name=erin")));
    let button = c.client.find(Locator::Css(disable)).await.unwrap();
    c.click_to_next_page(button).await;
    assert!(c.body_text().await.contains("The user is disabled"));
    assert!(gw.store().user_by_name("erin").unwrap().unwrap().disabled);
    let confirmed = rows(&gw, "admin_reauth", "root", 1).await;
    assert!(
        confirmed[0]
            .detail
            .as_deref()
            .unwrap()
            .starts_with("confirmed again: passkey"),
        "{confirmed:?}"
    );
    c.close().await;
}

/// Records the ceremonies the unit tests of `auth::passkeys` replay
/// (`tests/fixtures/passkeys.json`): a registration and an assertion made by Chromium's
/// virtual authenticator for `app.test`, with the server-side state of each. Run it again with
/// `cargo test --test browser_flows -- --ignored record_passkey_fixtures` after a change of
/// library that changes the state's format.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "records fixtures; run by hand"]
async fn record_passkey_fixtures() {
    use webauthn_rs::prelude::{Url, Uuid, WebauthnBuilder};
    if !browser_available() {
        return;
    }
    let gw = spawn_gateway();
    let c = Chrome::open(&gw, "record").await;
    c.add_authenticator().await;
    let p = gw.prefix().to_string();
    c.goto(&format!("{p}/login")).await;
    let origin = format!("http://app.test:{}", gw.addr.port());
    let rp = WebauthnBuilder::new("app.test", &Url::parse(&origin).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let handle = Uuid::from_bytes([7; 16]);
    let (ccr, registration) = rp
        .start_passkey_registration(handle, "alice", "Alice Example", None)
        .unwrap();
    let options = portcullis::auth::passkeys::creation_options_json(&ccr);
    let script = r#"
        const [options, done] = arguments;
        const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
        const o = JSON.parse(options).publicKey;
        const publicKey = Object.assign({}, o, {
            challenge: bytes(o.challenge),
            user: Object.assign({}, o.user, { id: bytes(o.user.id) }),
            excludeCredentials: [],
        });
        navigator.credentials.create({ publicKey }).then(
            (c) => done(JSON.stringify(c.toJSON())),
            (e) => done('failed: ' + e),
        );
    "#;
    let created = c
        .client
        .execute_async(script, vec![json!(options)])
        .await
        .unwrap();
    let created = created.as_str().unwrap().to_string();
    assert!(!created.starts_with("failed"), "{created}");
    let response: webauthn_rs::prelude::RegisterPublicKeyCredential =
        serde_json::from_str(&created).unwrap();
    let passkey = rp
        .finish_passkey_registration(&response, &registration)
        .unwrap();
    let (rcr, authentication) = rp.start_passkey_authentication(&[passkey]).unwrap();
    let asserted = c
        .assertion(&portcullis::auth::passkeys::request_options_json(&rcr))
        .await;
    let fixture = json!({
        "origin": origin,
        "rp_id": "app.test",
        "registration": {
            "state": registration,
            "response": serde_json::from_str::<Value>(&created).unwrap(),
        },
        "authentication": {
            "state": authentication,
            "response": serde_json::from_str::<Value>(&asserted).unwrap(),
        },
    });
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/passkeys.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_string_pretty(&fixture).unwrap()).unwrap();
    c.close().await;
}
