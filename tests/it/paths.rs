//! Path confusion through the proxy: every spelling of a protected path that some app server
//! resolves to it keeps its rule, the app receives the path as sent, and ambiguous framing is
//! refused. Requests go over raw sockets so that no client library rewrites the path first.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use crate::helpers::*;

const P: &str = "/.portcullis";

/// Sends `head` (without the final blank line) and returns the status and the whole answer.
fn raw(addr: SocketAddr, head: &str) -> (u16, String) {
    raw_bytes(
        addr,
        format!("{head}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

fn raw_bytes(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).into_owned();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {out:?}"));
    (status, out)
}

/// A one-factor session of a user without TOTP, as a `Cookie` header line.
async fn one_factor_cookie(gw: &TestGateway) -> String {
    gw.add_user("alice", &[]);
    let mut b = gw.browser();
    b.login(P, "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    format!(
        "Cookie: portcullis_session={}",
        b.cookie("portcullis_session").unwrap()
    )
}

/// Spellings that Tomcat/Jetty/Spring, Express, IIS/ASP.NET and decoding proxies resolve to
/// `/{dir}/a` (or to `/{dir}`).
fn spellings_of(dir: &str) -> Vec<String> {
    let upper = dir.to_ascii_uppercase();
    let first = &dir[..1];
    let rest = &dir[1..];
    vec![
        format!("/{dir};x/a"),
        format!("/{dir};jsessionid=1/a"),
        format!("/{dir}%3bjsessionid=1/a"),
        format!("/{upper}/a"),
        format!("/{}{rest}/a", first.to_ascii_uppercase()),
        format!("/{dir}./a"),
        format!("/{dir}%20/a"),
        format!("/{dir}%2e/a"),
        format!("/{dir}.%20./a"),
        format!("/{dir}::$DATA/a"),
        format!("/%20{dir}/a"),
        format!("/(S(x1y2))/{dir}/a"),
        format!("/%{:02x}{rest}/a", first.as_bytes()[0]),
        format!("/%25{:02x}{rest}/a", first.as_bytes()[0]),
        format!("//{dir}//a"),
        format!("/{dir}%2fa"),
        format!("/{dir}\\a"),
        format!("/{upper};x./a"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_spelling_of_a_two_factor_path_asks_for_the_second_factor() {
    let gw = spawn_gateway();
    let cookie = one_factor_cookie(&gw).await;
    // Control: the plain path is what the rule is about.
    let (status, _) = raw(
        gw.addr,
        &format!("GET /secure/a HTTP/1.1\r\nHost: app.test\r\n{cookie}"),
    );
    assert_eq!(status, 401);
    for path in spellings_of("secure") {
        let (status, out) = raw(
            gw.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: app.test\r\nAccept: text/html\r\n{cookie}"),
        );
        assert_eq!(status, 302, "{path} must not reach the app: {out}");
        assert!(
            out.contains("Location: /.portcullis/totp/setup?required=1&rd="),
            "{path}: {out}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_spelling_of_a_denied_path_is_denied() {
    let gw = spawn_gateway();
    let cookie = one_factor_cookie(&gw).await;
    for path in spellings_of("deny") {
        let (status, out) = raw(
            gw.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: app.test\r\n{cookie}"),
        );
        assert_eq!(status, 403, "{path} must be denied: {out}");
    }
    // HEAD, and a trailing slash on a rule's own directory.
    let (status, _) = raw(
        gw.addr,
        &format!("HEAD /DENY/ HTTP/1.1\r\nHost: app.test\r\n{cookie}"),
    );
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn traversal_hidden_in_spellings_is_refused() {
    let gw = spawn_gateway();
    for path in [
        "/public/..;/deny/a",
        "/public;x/../deny/a",
        "/public/..%20/deny/a",
        "/public/%2e%2e%20/deny/a",
        "/public/.../deny/a",
        "/public%252f..%252fdeny/a",
        "/public/%252e%252e/deny/a",
    ] {
        let (status, out) = raw(gw.addr, &format!("GET {path} HTTP/1.1\r\nHost: app.test"));
        assert_eq!(status, 400, "{path}: {out}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spelling_never_widens_a_bypass() {
    let gw = spawn_gateway();
    // Bypassed as written, and in spellings that stay under /public for every server.
    for path in ["/public/x", "/public/a%20b.pdf", "/public/x/"] {
        let (status, out) = raw(gw.addr, &format!("GET {path} HTTP/1.1\r\nHost: app.test"));
        assert_eq!(status, 200, "{path}: {out}");
    }
    // Not under /public as sent: a case-sensitive or raw-routing app serves something else,
    // so the default policy applies and an anonymous client must sign in.
    for path in ["/PUBLIC/x", "/%70ublic/x", "/public;x/y", "/public./x"] {
        let (status, out) = raw(gw.addr, &format!("GET {path} HTTP/1.1\r\nHost: app.test"));
        assert_eq!(status, 401, "{path}: {out}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_receives_the_path_as_sent() {
    let gw = spawn_gateway();
    let cookie = one_factor_cookie(&gw).await;
    let path = "/wiki;jsessionid=1/Page%20One/?q=a%2Fb";
    let (status, out) = raw(
        gw.addr,
        &format!("GET {path} HTTP/1.1\r\nHost: app.test\r\n{cookie}"),
    );
    assert_eq!(status, 200, "{out}");
    let body = &out[out.find("\r\n\r\n").unwrap() + 4..];
    let echoed: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(echoed["uri"], path);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_case_sensitive_app_opts_out_of_case_folding_only() {
    let gw = spawn_gateway_with(|up| {
        format!(
            r#"
[[apps]]
name = "exact"
hosts = ["exact.test"]
upstream = "{up}"
default_policy = "bypass"
case_sensitive = true

[[apps.rules]]
paths = ["/secure/**"]
policy = "two_factor"
"#
        )
    });
    let (status, out) = raw(gw.addr, "GET /SECURE/a HTTP/1.1\r\nHost: exact.test");
    assert_eq!(status, 200, "a different path to this app: {out}");
    for path in ["/secure/a", "/secure;x/a", "/secure./a"] {
        let (status, out) = raw(gw.addr, &format!("GET {path} HTTP/1.1\r\nHost: exact.test"));
        assert_eq!(status, 401, "{path}: {out}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_length_given_twice_or_as_a_list_is_refused() {
    let gw = spawn_gateway();
    for lengths in [
        "Content-Length: 5\r\nContent-Length: 5",
        "Content-Length: 5, 5",
        "Content-Length: 5\r\nContent-Length: 6",
        "Content-Length: +5",
    ] {
        let request = format!(
            "POST /public/x HTTP/1.1\r\nHost: app.test\r\n{lengths}\r\nConnection: close\r\n\r\nhello"
        );
        let (status, out) = raw_bytes(gw.addr, request.as_bytes());
        assert_eq!(status, 400, "{lengths}: {out}");
        assert!(!out.contains("\"method\""), "reached the app: {out}");
    }
    // Control: one plain length is forwarded.
    let (status, out) = raw_bytes(
        gw.addr,
        b"POST /public/x HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    assert_eq!(status, 200, "{out}");
}
