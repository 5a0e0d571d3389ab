//! HTTPS at the edge, against real components: Debian's `pebble` (Let's Encrypt's ACME test
//! server) validating real HTTP-01 challenges at the gateway's plain listener, its names
//! resolved by `pebble-challtestsrv` to 127.0.0.1; HTTP/2 through ALPN with real clients
//! (reqwest, and hyper on one TLS connection held open across a renewal).
//!
//! Without pebble installed the ACME tests say so and pass, except in CI (`CI=true`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

const P: &str = "/.portcullis";

/// pebble and its DNS, on free loopback ports, stopped by PID when dropped.
struct Pebble {
    dir: tempfile::TempDir,
    api: u16,
    management: u16,
    dns: u16,
    http_port: u16,
    validity: u64,
    /// The CA of pebble's own HTTPS (the API), which the gateway is told to trust.
    api_ca: TestCerts,
    children: Mutex<Vec<Child>>,
}

impl Pebble {
    /// Starts pebble validating HTTP-01 at `http_port` and issuing certificates valid for
    /// `validity` seconds. `None` when it is not installed (outside CI).
    fn start(http_port: u16, validity: u64) -> Option<Pebble> {
        crate::forward_auth_real::installed("pebble")?;
        crate::forward_auth_real::installed("pebble-challtestsrv")?;
        let pebble = Pebble {
            dir: tempfile::tempdir().unwrap(),
            api: free_port(),
            management: free_port(),
            dns: free_port(),
            http_port,
            validity,
            api_ca: test_ca_and_cert(&["127.0.0.1"]),
            children: Mutex::new(Vec::new()),
        };
        std::fs::write(pebble.ca_file(), &pebble.api_ca.ca_pem).unwrap();
        std::fs::write(pebble.dir.path().join("api.pem"), &pebble.api_ca.cert_pem).unwrap();
        std::fs::write(pebble.dir.path().join("api.key"), &pebble.api_ca.key_pem).unwrap();
        let dns = Command::new("pebble-challtestsrv")
            .args(["-dns01", &format!("127.0.0.1:{}", pebble.dns)])
            .args(["-management", &format!("127.0.0.1:{}", free_port())])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        pebble.children.lock().unwrap().push(dns);
        pebble.run();
        Some(pebble)
    }

    /// Starts (or starts again) the pebble process itself; returns once it answers.
    fn run(&self) {
        let config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{}", self.api),
            "managementListenAddress": format!("127.0.0.1:{}", self.management),
            "certificate": self.dir.path().join("api.pem"),
            "privateKey": self.dir.path().join("api.key"),
            "httpPort": self.http_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
            "certificateValidityPeriod": self.validity,
        }});
        let path = self.dir.path().join("pebble.json");
        std::fs::write(&path, config.to_string()).unwrap();
        let child = Command::new("pebble")
            .arg("-config")
            .arg(&path)
            .args(["-dnsserver", &format!("127.0.0.1:{}", self.dns)])
            // No random validation delays, no nonces refused at random: the timing is the test's.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.children.lock().unwrap().push(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.api)).is_err() {
            assert!(Instant::now() < deadline, "pebble did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the pebble process (its DNS stays): the CA is unreachable.
    fn stop(&self) {
        let mut children = self.children.lock().unwrap();
        let mut pebble = children.pop().unwrap();
        let _ = pebble.kill();
        let _ = pebble.wait();
    }

    fn directory(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.api)
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("api-ca.pem")
    }

    /// The root pebble issues under (a new one each time pebble starts).
    async fn root(&self) -> String {
        let client = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(
                reqwest::Certificate::from_pem(self.api_ca.ca_pem.as_bytes()).unwrap(),
            )
            .build()
            .unwrap();
        let url = format!("https://127.0.0.1:{}/roots/0", self.management);
        client.get(url).send().await.unwrap().text().await.unwrap()
    }

    /// `[server.tls]` ordering from this pebble.
    fn tls_section(&self, tls_port: u16) -> String {
        format!(
            "[server.tls]\nlisten = \"127.0.0.1:{tls_port}\"\nacme = true\nacme_email = \"ops@example.com\"\n\
             acme_directory = \"{}\"\nacme_ca_file = \"{}\"\n",
            self.directory(),
            self.ca_file().display()
        )
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in self.children.lock().unwrap().iter_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A gateway whose plain listener is `plain` and whose config holds `server_extra` in
/// `[server]` and `rest` before the standard apps.
fn gateway_on(plain: u16, server_extra: &str, rest: &str) -> TestGateway {
    let dir = tempfile::tempdir().unwrap();
    let upstream = spawn_upstream();
    let text = gateway_config(
        dir.path(),
        dir.path(),
        "",
        "",
        &format!("{rest}\n{}", standard_apps(upstream)),
    );
    // The plain port is the test's (pebble validates there); the rest of `[server]` follows.
    let listen = text
        .lines()
        .find(|l| l.starts_with("listen = "))
        .unwrap()
        .to_string();
    let text = text.replacen(
        &listen,
        &format!("listen = \"127.0.0.1:{plain}\"\n{server_extra}"),
        1,
    );
    start(dir, upstream, text)
}

/// Waits until the gateway serves a certificate for `host` other than `than` (by its end of
/// validity); returns its end of validity.
async fn served_after(gw: &TestGateway, host: &str, than: Option<i64>, within: Duration) -> i64 {
    let deadline = Instant::now() + within;
    loop {
        if let Some(l) = gw.state.edge.served(host) {
            if Some(l.not_after) != than {
                return l.not_after;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no new certificate for {host} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Accepts any certificate: for reading which one the gateway serves, valid or not.
#[derive(Debug)]
struct AnyCertificate;

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A TLS connection to `addr` with SNI `name`, offering `alpn`; verified against `root` when
/// given. Returns the stream, the leaf certificate served and the protocol chosen.
async fn connect(
    addr: SocketAddr,
    name: &str,
    root: Option<&str>,
    alpn: &[&[u8]],
) -> (
    tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    Vec<u8>,
    Option<Vec<u8>>,
) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap();
    let mut config = match root {
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            use rustls::pki_types::pem::PemObject;
            for c in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                roots.add(c.unwrap()).unwrap();
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate))
            .with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from(name.to_string()).unwrap(), tcp)
        .await
        .unwrap_or_else(|e| panic!("TLS to {name}: {e}"));
    let (_, session) = tls.get_ref();
    let leaf = session.peer_certificates().unwrap()[0].to_vec();
    let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
    (tls, leaf, alpn)
}

/// The leaf certificate a new connection to `addr` with SNI `name` is served.
async fn leaf(addr: SocketAddr, name: &str) -> Vec<u8> {
    connect(addr, name, None, &[b"http/1.1"]).await.1
}

type H2 = hyper::client::conn::http2::SendRequest<BoxBody<Bytes, std::convert::Infallible>>;

/// One HTTP/2 connection (ALPN `h2`) to `name` at `addr`, verified against `root`.
async fn h2_connection(addr: SocketAddr, name: &str, root: &str) -> (H2, Vec<u8>) {
    let (tls, leaf, alpn) = connect(addr, name, Some(root), &[b"h2", b"http/1.1"]).await;
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]), "ALPN chose {alpn:?}");
    let (send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    (send, leaf)
}

/// `GET path` on an HTTP/2 connection; the status and the response (whose body is still
/// coming).
async fn h2_get(
    h2: &mut H2,
    name: &str,
    path: &str,
    cookie: Option<&str>,
) -> hyper::Response<hyper::body::Incoming> {
    let mut req =
        hyper::Request::get(format!("https://{name}{path}")).header("accept", "application/json");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    h2.ready().await.unwrap();
    h2.send_request(req.body(Empty::new().boxed()).unwrap())
        .await
        .unwrap()
}

async fn body_text(r: hyper::Response<hyper::body::Incoming>) -> String {
    String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

/// A plain HTTP/1.1 request to `addr` with `Host: host`; the raw answer.
async fn plain(addr: SocketAddr, method: &str, host: &str, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    answer
}

async fn health(gw: &TestGateway) -> serde_json::Value {
    let r = reqwest::get(gw.portal("/health")).await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// `/health` once it shows app.test's certificate failing (panics after `within`).
async fn health_once_failing(gw: &TestGateway, within: Duration) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        let h = health(gw).await;
        if h["certificates"]["app.test"]
            .get("renewal_failing_since")
            .is_some()
        {
            return h;
        }
        assert!(Instant::now() < deadline, "no failure shown: {h}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn acme_issues_certificates_served_by_sni_over_http2_and_renews_them_live() {
    let plain_port = free_port();
    // Certificates valid 20 s: renewed at two thirds, about 13 s after issuance.
    let Some(pebble) = Pebble::start(plain_port, 20) else {
        return;
    };
    let tls_port = free_port();
    let gw = gateway_on(plain_port, "", &pebble.tls_section(tls_port));
    let tls_addr: SocketAddr = format!("127.0.0.1:{tls_port}").parse().unwrap();
    let first = served_after(&gw, "app.test", None, Duration::from_secs(30)).await;
    served_after(&gw, "other.test", None, Duration::from_secs(30)).await;
    let root = pebble.root().await;

    // Each host is served its own certificate, by SNI, valid to a client trusting the CA.
    let app_leaf = leaf(tls_addr, "app.test").await;
    assert_ne!(app_leaf, leaf(tls_addr, "other.test").await);
    // Stored with its key under the data directory, private; the key sealed in the store.
    let certs = gw.dir.path().join("certificates");
    for f in [
        "app.test.crt",
        "app.test.key",
        "other.test.crt",
        "other.test.key",
    ] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(certs.join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
    let key_pem = std::fs::read(certs.join("app.test.key")).unwrap();
    assert!(key_pem.starts_with(b"-----BEGIN PRIVATE KEY-----"));
    let stored = gw.store().certificates().unwrap();
    assert_eq!(
        stored.iter().map(|c| c.host.as_str()).collect::<Vec<_>>(),
        ["app.test", "other.test"]
    );
    assert!(!gw.database_bytes().windows(11).any(|w| w == b"PRIVATE KEY"));

    // HTTP/2 through ALPN: the portal signs in and the app gets the identity, as over HTTP/1.
    gw.add_user("alice", &["staff"]);
    let mut b = Browser::over_tls(tls_addr, "app.test", &root);
    let r = b.get(&format!("{P}/login")).await;
    assert_eq!((r.status, r.version), (200, reqwest::Version::HTTP_2));
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    b.login(P, "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    b.accept_html = false;
    let r = b.get("/docs/x").await;
    assert_eq!(
        (r.status, r.version),
        (200, reqwest::Version::HTTP_2),
        "{}",
        r.body
    );
    let echo = r.echoed();
    assert_eq!(echo.header("remote-user").as_deref(), Some("alice"));
    assert_eq!(echo.header("remote-groups").as_deref(), Some("staff"));
    assert_eq!(echo.header("x-forwarded-proto").as_deref(), Some("https"));
    assert_eq!(
        echo.header("x-forwarded-host"),
        Some(format!("app.test:{tls_port}"))
    );
    assert!(!echo
        .headers("cookie")
        .iter()
        .any(|c| c.contains("portcullis_session")));
    // No session over HTTP/2: the same redirect to the login page.
    let mut anonymous = Browser::over_tls(tls_addr, "app.test", &root);
    let r = anonymous.get("/docs/x").await;
    assert_eq!(
        (r.status, r.location()),
        (302, "/.portcullis/login?rd=%2Fdocs%2Fx")
    );

    // Plain HTTP: 308 to HTTPS for an app's host (the method kept), nothing for other hosts,
    // and the ACME challenge path answered by the gateway without a session.
    let plain_addr = gw.addr;
    let r = plain(plain_addr, "POST", "app.test", "/form?x=1").await;
    assert!(r.starts_with("HTTP/1.1 308"), "{r}");
    assert!(
        r.contains(&format!(
            "\r\nLocation: https://app.test:{tls_port}/form?x=1\r\n"
        )),
        "{r}"
    );
    let r = plain(plain_addr, "GET", "elsewhere.test", "/").await;
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    let r = plain(
        plain_addr,
        "GET",
        "app.test",
        "/.well-known/acme-challenge/unknown-token",
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    assert!(!r.contains("Location:"), "{r}");
    // A challenge another gateway on a shared store published is answered here too.
    gw.store()
        .put_challenge("tok-42", "tok-42.thumbprint", i64::MAX)
        .unwrap();
    // PostgreSQL announces it to every gateway (a notice, within milliseconds).
    let mut r = String::new();
    for _ in 0..50 {
        r = plain(
            plain_addr,
            "GET",
            "app.test",
            "/.well-known/acme-challenge/tok-42",
        )
        .await;
        if r.starts_with("HTTP/1.1 200") || !crate::pg::on_postgres() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if crate::pg::on_postgres() {
        assert!(
            r.starts_with("HTTP/1.1 200") && r.ends_with("\r\n\r\ntok-42.thumbprint"),
            "{r}"
        );
    } else {
        // A SQLite store belongs to this gateway alone: what it did not publish is unknown.
        assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    }
    // The endpoints machines call on the local network are not moved.
    let r = plain(plain_addr, "GET", "app.test", &format!("{P}/health")).await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");

    // A connection opened before the renewal keeps working after it; a new one gets the new
    // certificate.
    let (mut held, held_leaf) = h2_connection(tls_addr, "app.test", &root).await;
    assert_eq!(held_leaf, app_leaf);
    assert_eq!(
        h2_get(&mut held, "app.test", "/public/a", None)
            .await
            .status(),
        200
    );
    let renewed = served_after(&gw, "app.test", Some(first), Duration::from_secs(40)).await;
    assert!(renewed > first, "{renewed} after {first}");
    let r = h2_get(&mut held, "app.test", "/public/b", None).await;
    assert_eq!(r.status(), 200);
    assert!(body_text(r).await.contains("/public/b"));
    let new_leaf = leaf(tls_addr, "app.test").await;
    assert_ne!(
        new_leaf, app_leaf,
        "a new connection still gets the old certificate"
    );
    let (mut fresh, _) = h2_connection(tls_addr, "app.test", &root).await;
    assert_eq!(
        h2_get(&mut fresh, "app.test", "/public/c", None)
            .await
            .status(),
        200
    );

    let h = health(&gw).await;
    assert_eq!(
        h["certificates"]["app.test"]["not_after"].as_i64(),
        Some(gw.state.edge.served("app.test").unwrap().not_after)
    );
    assert!(
        h["certificates"]["app.test"]
            .get("renewal_failing_since")
            .is_none(),
        "{h}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_acme_server_leaves_the_old_certificate_serving_and_says_so() {
    let plain_port = free_port();
    let Some(pebble) = Pebble::start(plain_port, 12) else {
        return;
    };
    let tls_port = free_port();
    let metrics_port = free_port();
    let gw = gateway_on(
        plain_port,
        "",
        &format!(
            "[metrics]\nlisten = \"127.0.0.1:{metrics_port}\"\n\n{}",
            pebble.tls_section(tls_port)
        ),
    );
    let tls_addr: SocketAddr = format!("127.0.0.1:{tls_port}").parse().unwrap();
    let first = served_after(&gw, "app.test", None, Duration::from_secs(30)).await;
    let first_leaf = leaf(tls_addr, "app.test").await;
    pebble.stop();

    // Past the renewal time (two thirds of 12 s), attempts fail: the old certificate is still
    // served, and /health, the metrics and the log say so.
    let failing = health_once_failing(&gw, Duration::from_secs(30)).await;
    let app = &failing["certificates"]["app.test"];
    assert!(app["failures"].as_u64().unwrap() >= 1, "{failing}");
    assert_eq!(app["not_after"].as_i64(), Some(first));
    // Why is for the log (the CA's words may name internal addresses), not for anyone.
    assert!(app.get("error").is_none(), "{failing}");
    let status = gw.state.edge.status()["app.test"].clone();
    assert!(status.last_error.unwrap().contains("Connection refused"));
    assert_eq!(leaf(tls_addr, "app.test").await, first_leaf);
    let metrics = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "portcullis_certificate_expiry_timestamp_seconds{{host=\"app.test\"}} {first}"
        )),
        "{metrics}"
    );
    let failures = metrics
        .lines()
        .find(|l| l.starts_with("portcullis_certificate_renewal_failures{host=\"app.test\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .unwrap();
    assert!(failures >= 1, "{metrics}");
    assert!(
        !metrics.contains("portcullis_acme_orders_total{result=\"failure\"} 0"),
        "{metrics}"
    );

    // The CA back (a new pebble: it has forgotten the account, which is made again within
    // the same attempt): the next attempt renews and the failure is over.
    pebble.run();
    let renewed = served_after(&gw, "app.test", Some(first), Duration::from_secs(40)).await;
    assert!(renewed > first);
    assert_ne!(leaf(tls_addr, "app.test").await, first_leaf);
    let h = health(&gw).await;
    assert!(
        h["certificates"]["app.test"]
            .get("renewal_failing_since")
            .is_none(),
        "{h}"
    );
}

/// Writes `certs`' certificate and key as `tls.crt` and `tls.key` in `dir`; returns its CA.
fn write_pair(dir: &Path, certs: &TestCerts) -> String {
    std::fs::write(dir.join("tls.crt"), &certs.cert_pem).unwrap();
    std::fs::write(dir.join("tls.key"), &certs.key_pem).unwrap();
    certs.ca_pem.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn certificate_files_serve_http2_and_websockets_and_are_reloaded_live() {
    let files = tempfile::tempdir().unwrap();
    let first = test_ca_and_cert(&["app.test", "other.test"]);
    let ca1 = write_pair(files.path(), &first);
    let tls_port = free_port();
    let gw = gateway_on(
        free_port(),
        &format!("{TRUST_LOOPBACK}\nheader_timeout = \"1s\""),
        &format!(
            "[server.tls]\nlisten = \"127.0.0.1:{tls_port}\"\ncert = \"{0}/tls.crt\"\nkey = \"{0}/tls.key\"\nhsts_for_apps = true\n",
            files.path().display()
        ),
    );
    let tls_addr: SocketAddr = format!("127.0.0.1:{tls_port}").parse().unwrap();
    let out = gw.cli(&["check"], None);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!(
            "https 127.0.0.1:{tls_port}  certificate {}/tls.crt (valid until ",
            files.path().display()
        )),
        "{said}"
    );

    // HTTP/2 to the app, with HSTS on the app's responses too (`hsts_for_apps`).
    let mut b = Browser::over_tls(tls_addr, "app.test", &ca1);
    let r = b.get("/public/x").await;
    assert_eq!((r.status, r.version), (200, reqwest::Version::HTTP_2));
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=31536000")
    );

    // Plain HTTP is moved to HTTPS, except from a trusted proxy that says it terminated TLS.
    let mut plain_b = gw.browser();
    let r = plain_b.get("/public/x").await;
    assert_eq!(
        (r.status, r.location()),
        (
            308,
            format!("https://app.test:{tls_port}/public/x").as_str()
        )
    );
    let r = plain_b
        .get_with("/public/x", &[("X-Forwarded-Proto", "https")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // A client that opens a connection to the HTTPS port and never starts its handshake is
    // closed at header_timeout too (it counts as a connection waiting for its first head).
    let mut mute = tokio::net::TcpStream::connect(tls_addr).await.unwrap();
    let opened = Instant::now();
    let mut byte = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(5), mute.read(&mut byte))
        .await
        .expect("a connection that sent no handshake stayed open");
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    let after = opened.elapsed();
    assert!(after < Duration::from_secs(3), "closed after {after:?}");

    // A client that picks HTTP/2 and then sends nothing is closed at header_timeout.
    let (mut silent, _, alpn) = connect(tls_addr, "app.test", Some(&ca1), &[b"h2"]).await;
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    let opened = Instant::now();
    let mut byte = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match silent.read(&mut byte).await {
                Ok(0) | Err(_) => return opened.elapsed(),
                Ok(_) => continue,
            }
        }
    })
    .await
    .expect("a silent HTTP/2 connection stayed open");
    assert!(closed < Duration::from_secs(3), "closed after {closed:?}");

    // A WebSocket over TLS: ALPN http/1.1 and an upgrade, echoed through.
    let (mut ws, _, alpn) = connect(tls_addr, "app.test", Some(&ca1), &[b"http/1.1"]).await;
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    ws.write_all(
        b"GET /public/ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = ws.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the upgrade");
        head.extend_from_slice(&buf[..n]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    ws.write_all(b"ping").await.unwrap();
    let mut echoed = [0u8; 4];
    ws.read_exact(&mut echoed).await.unwrap();
    assert_eq!(&echoed, b"ping");

    // New files, then a reload: new connections get them, the open one goes on.
    let (mut held, held_leaf) = h2_connection(tls_addr, "app.test", &ca1).await;
    let ca2 = write_pair(files.path(), &test_ca_and_cert(&["app.test"]));
    let out = gw.cli(&["reload"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut b2 = Browser::over_tls(tls_addr, "app.test", &ca2);
    assert_eq!(b2.get("/public/y").await.status, 200);
    assert_ne!(leaf(tls_addr, "app.test").await, held_leaf);
    assert_eq!(
        h2_get(&mut held, "app.test", "/public/z", None)
            .await
            .status(),
        200
    );

    // A broken pair is refused at reload with its file named; the good one stays served.
    std::fs::write(files.path().join("tls.key"), &first.key_pem).unwrap();
    let out = gw.cli(&["reload"], None);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("tls.key") && said.contains("does not belong to the certificate"),
        "{said}"
    );
    assert_eq!(
        Browser::over_tls(tls_addr, "app.test", &ca2)
            .get("/public/y")
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_certificate_yet_plain_http_is_served_and_health_says_why() {
    // A CA that cannot be reached: no certificate can be obtained.
    let ca = tempfile::tempdir().unwrap();
    let ca_file = ca.path().join("ca.pem");
    std::fs::write(&ca_file, test_ca_and_localhost_cert().ca_pem).unwrap();
    let gw = gateway_on(
        free_port(),
        "",
        &format!(
            "[server.tls]\nlisten = \"127.0.0.1:{}\"\nacme = true\nacme_directory = \"https://127.0.0.1:{}/dir\"\nacme_ca_file = \"{}\"\n",
            free_port(),
            free_port(),
            ca_file.display()
        ),
    );
    let h = health_once_failing(&gw, Duration::from_secs(10)).await;
    assert!(h["certificates"]["app.test"]["not_after"].is_null(), "{h}");
    // No redirect to an HTTPS that could not complete a handshake for this host.
    let r = gw.browser().get("/public/x").await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn redirect_to_https_false_serves_plain_http_as_before() {
    let files = tempfile::tempdir().unwrap();
    write_pair(files.path(), &test_ca_and_cert(&["app.test"]));
    let gw = gateway_on(
        free_port(),
        "redirect_to_https = false",
        &format!(
            "[server.tls]\nlisten = \"127.0.0.1:{}\"\ncert = \"{1}/tls.crt\"\nkey = \"{1}/tls.key\"\n",
            free_port(),
            files.path().display()
        ),
    );
    let r = gw.browser().get("/public/x").await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Without ACME, the challenge path is the app's like any other.
    let r = gw.browser().get("/.well-known/acme-challenge/x").await;
    assert_eq!(r.status, 302, "{}", r.body);
}

/// An upstream on a loopback port serving each connection with `serve`.
async fn upstream_serving<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(serve(s));
        }
    });
    addr
}

/// An upstream answering every request with an event stream that never ends (a tick every
/// 50 ms).
async fn event_stream_upstream() -> SocketAddr {
    upstream_serving(|mut s| async move {
        let mut buf = [0u8; 4096];
        let mut head = Vec::new();
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let _ = s
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
            )
            .await;
        while s.write_all(b"data: tick\n\n").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http2_event_stream_ends_with_its_session_and_the_connection_goes_on() {
    let files = tempfile::tempdir().unwrap();
    let ca = write_pair(
        files.path(),
        &test_ca_and_cert(&["app.test", "events.test"]),
    );
    let events = event_stream_upstream().await;
    let tls_port = free_port();
    // Short idle limits: a connection busy with a stream must outlive them.
    let gw = gateway_on(
        free_port(),
        "header_timeout = \"1s\"\nkeepalive_timeout = \"1s\"",
        &format!(
            "[server.tls]\nlisten = \"127.0.0.1:{tls_port}\"\ncert = \"{0}/tls.crt\"\nkey = \"{0}/tls.key\"\n\n\
             [[apps]]\nname = \"events\"\nhosts = [\"events.test\"]\nupstream = \"{events}\"\n",
            files.path().display()
        ),
    );
    let tls_addr: SocketAddr = format!("127.0.0.1:{tls_port}").parse().unwrap();
    gw.add_user("alice", &[]);
    let mut b = Browser::over_tls(tls_addr, "app.test", &ca);
    b.login(P, "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    let cookie = format!("portcullis_session={}", b.session_cookie().unwrap());

    // One HTTP/2 connection carries the stream; a second stream on it comes and goes.
    let (mut h2, _) = h2_connection(tls_addr, "events.test", &ca).await;
    let r = h2_get(&mut h2, "events.test", "/feed", Some(&cookie)).await;
    assert_eq!(r.status(), 200);
    let mut body = r.into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert!(first
        .data_ref()
        .is_some_and(|d| d.starts_with(b"data: tick")));
    // Twice the idle limits later the stream still flows: the connection is busy, not idle.
    let flowing = Instant::now();
    while flowing.elapsed() < Duration::from_secs(4) {
        let frame = tokio::time::timeout(Duration::from_secs(1), body.frame()).await;
        assert!(
            matches!(frame, Ok(Some(Ok(_)))),
            "the stream stopped after {:?}",
            flowing.elapsed()
        );
    }

    let r = b
        .submit(&format!("{P}/account"), &format!("{P}/logout"), &[])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let signed_out = Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match body.frame().await {
                Some(Ok(_)) => continue,
                _ => return signed_out.elapsed(),
            }
        }
    })
    .await
    .expect("the event stream outlived its session");
    assert!(
        ended < Duration::from_secs(1),
        "ended {ended:?} after sign-out"
    );
    // Only that stream was reset: the connection serves the next request.
    let r = h2_get(&mut h2, "app.test", "/public/after", None).await;
    assert_eq!(r.status(), 200);
}

/// ACME orders that succeeded on `gw`, from its metrics.
fn orders_succeeded(gw: &TestGateway) -> u64 {
    let text = portcullis::metrics::scrape(&gw.state);
    text.lines()
        .find(|l| l.starts_with("portcullis_acme_orders_total{result=\"success\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_on_one_database_share_certificates_and_order_each_once() {
    if !crate::pg::on_postgres() {
        return;
    }
    let plain_a = free_port();
    // Valid 30 s: both hosts are renewed about 20 s after issuance (and again 20 s later,
    // after the test has counted), by one of the two.
    let Some(pebble) = Pebble::start(plain_a, 30) else {
        return;
    };
    let (tls_a, tls_b) = (free_port(), free_port());
    let a = gateway_on(plain_a, "", &pebble.tls_section(tls_a));
    let first = served_after(&a, "app.test", None, Duration::from_secs(30)).await;
    served_after(&a, "other.test", None, Duration::from_secs(30)).await;
    // B, on A's database and key file, serves what A obtained without ordering. pebble
    // validates at A's plain port only: when B orders a renewal, A answers its challenge
    // from the store.
    let text = std::fs::read_to_string(&a.config_path)
        .unwrap()
        .replace(
            &format!("127.0.0.1:{plain_a}"),
            &format!("127.0.0.1:{}", free_port()),
        )
        .replace(&format!("127.0.0.1:{tls_a}"), &format!("127.0.0.1:{tls_b}"));
    let b = start(tempfile::tempdir().unwrap(), a.upstream, text);
    let (addr_a, addr_b): (SocketAddr, SocketAddr) = (
        format!("127.0.0.1:{tls_a}").parse().unwrap(),
        format!("127.0.0.1:{tls_b}").parse().unwrap(),
    );
    assert_eq!(
        served_after(&b, "app.test", None, Duration::from_secs(10)).await,
        first
    );
    assert_eq!(
        leaf(addr_a, "app.test").await,
        leaf(addr_b, "app.test").await
    );
    assert_eq!(orders_succeeded(&b), 0);

    // The renewals: each host once, by whichever gateway took its lease; both serve it.
    let olds = ["app.test", "other.test"].map(|h| (h, a.state.edge.served(h).unwrap().not_after));
    for (host, old) in olds {
        let renewed = served_after(&a, host, Some(old), Duration::from_secs(40)).await;
        assert_eq!(
            served_after(&b, host, Some(old), Duration::from_secs(10)).await,
            renewed
        );
        assert_eq!(leaf(addr_a, host).await, leaf(addr_b, host).await);
    }
    let (on_a, on_b) = (orders_succeeded(&a), orders_succeeded(&b));
    assert_eq!(
        on_a + on_b,
        4,
        "A ordered {on_a}, B {on_b}: two issuances and two renewals"
    );
    eprintln!("renewals ordered: A {}, B {on_b}", on_a - 2);
    assert_eq!(b.store().certificates().unwrap().len(), 2);
}

/// A request body that sends its first part and then nothing, ever.
struct Stalled(bool);

impl hyper::body::Body for Stalled {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        if self.0 {
            return std::task::Poll::Pending;
        }
        self.0 = true;
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(Bytes::from_static(
            b"the first part",
        )))))
    }
}

/// An upstream that reads whatever it is sent and never answers.
async fn silent_upstream() -> SocketAddr {
    upstream_serving(|mut s| async move {
        let mut buf = [0u8; 4096];
        while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http2_request_body_that_stops_is_reset_at_body_timeout() {
    let files = tempfile::tempdir().unwrap();
    let ca = write_pair(files.path(), &test_ca_and_cert(&["app.test", "slow.test"]));
    let silent = silent_upstream().await;
    let tls_port = free_port();
    let _gw = gateway_on(
        free_port(),
        "body_timeout = \"1s\"",
        &format!(
            "[server.tls]\nlisten = \"127.0.0.1:{tls_port}\"\ncert = \"{0}/tls.crt\"\nkey = \"{0}/tls.key\"\n\n\
             [[apps]]\nname = \"slow\"\nhosts = [\"slow.test\"]\nupstream = \"{silent}\"\n\
             default_policy = \"bypass\"\nupstream_timeout = \"30s\"\n",
            files.path().display()
        ),
    );
    let tls_addr: SocketAddr = format!("127.0.0.1:{tls_port}").parse().unwrap();
    let (mut h2, _) = h2_connection(tls_addr, "slow.test", &ca).await;
    h2.ready().await.unwrap();
    let upload = hyper::Request::post("https://slow.test/upload")
        .body(Stalled(false).boxed())
        .unwrap();
    let sent = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(5), h2.send_request(upload))
        .await
        .expect("the stalled upload was still open after 5 s");
    assert!(answer.is_err(), "answered {:?}", answer.map(|r| r.status()));
    let took = sent.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
        "reset after {took:?}"
    );
    // The stream alone: the connection serves the next request.
    let r = h2_get(&mut h2, "app.test", "/public/after", None).await;
    assert_eq!(r.status(), 200);
}
