//! Malformed input and limits: bad form encodings, oversized forms and headers, broken
//! framing and request smuggling get a 4xx or a closed connection, and the gateway keeps
//! serving.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::helpers::*;

/// Writes `request` on a fresh connection and reads until the server closes or is quiet for
/// two seconds. Returns what was read and whether the server closed the connection.
fn raw_exchange(addr: SocketAddr, request: &[u8]) -> (String, bool) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(request); // the server may close before reading everything
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let deadline = Instant::now() + Duration::from_secs(10);
    let closed = loop {
        if Instant::now() > deadline {
            break false;
        }
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break false
            }
            Err(_) => break true, // reset
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

/// The status codes of every response in `text`.
fn statuses(text: &str) -> Vec<u16> {
    text.match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| text.get(i + 9..i + 12)?.parse().ok())
        .collect()
}

/// POSTs `body` as `content_type` to `action` through `b`, with the site's Origin.
async fn post_raw(b: &mut Browser, action: &str, content_type: &str, body: Vec<u8>) -> Page {
    let req = client_without_redirects()
        .post(b.url(action))
        .header("Origin", b.origin())
        .header("Content-Type", content_type)
        .body(body);
    b.send(req).await
}

/// A plain request still gets its answer.
async fn assert_still_serving(gw: &TestGateway) {
    let r = client_without_redirects()
        .get(gw.portal("/health"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("the gateway still answers");
    assert_eq!(r.status(), 200);
    let mut b = gw.browser();
    let r = b.get(&format!("{}/login", gw.prefix())).await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_forms_are_refused_and_the_gateway_keeps_serving() {
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let p = gw.prefix().to_string();
    let mut b = gw.browser();
    let page = b.get(&format!("{p}/login")).await;
    let csrf = page.field("csrf");
    let action = format!("{p}/login");
    let form = "application/x-www-form-urlencoded";

    let mut body = format!("csrf={csrf}&username=alice&password=").into_bytes();
    body.extend_from_slice(b"\xff\xfe");
    let r = post_raw(&mut b, &action, form, body).await;
    assert_eq!(r.status, 400, "raw non-UTF-8: {}", r.body);
    let r = post_raw(
        &mut b,
        &action,
        form,
        format!("csrf={csrf}&username=%ff&password=x").into_bytes(),
    )
    .await;
    assert_eq!(r.status, 400, "encoded non-UTF-8: {}", r.body);

    let big = format!(
        "csrf={csrf}&username=alice&password={}",
        "x".repeat(17 * 1024)
    );
    let r = post_raw(&mut b, &action, form, big.into_bytes()).await;
    assert!(
        matches!(r.status, 413 | 400),
        "over 16 KiB: {} {}",
        r.status,
        r.body
    );

    let long_name = "n".repeat(10_000);
    let r = b
        .post_form(
            &action,
            &[
                ("username", &long_name),
                ("password", "x"),
                ("csrf", &csrf),
                ("rd", "/"),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("name=\"csrf\""),
        "the form again: {}",
        r.body
    );
    assert!(r.body.contains("longer than any username"), "{}", r.body);
    assert!(
        !r.body.contains(&long_name),
        "the huge name is not echoed back"
    );

    let r = post_raw(
        &mut b,
        &action,
        "application/json",
        serde_json::json!({"username": "alice", "password": PASSWORD, "csrf": csrf})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(r.status, 415, "{}", r.body);
    assert_eq!(b.session_cookie(), None);
    assert_still_serving(&gw).await;

    // None of that counted as a failed login.
    let r = b.login(&p, "alice", PASSWORD, "/").await;
    r.assert_redirect_to("/");
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_framing_and_huge_headers_get_4xx_or_a_closed_connection() {
    let gw = spawn_gateway();
    let p = gw.prefix().to_string();

    // Content-Length that is not a number.
    let req = format!(
        "POST {p}/login HTTP/1.1\r\nHost: app.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: abc\r\n\r\nusername=a"
    );
    let (text, closed) = raw_exchange(gw.addr, req.as_bytes());
    let codes = statuses(&text);
    println!("Content-Length: abc -> {codes:?}, closed: {closed}");
    assert!(
        codes.first().is_some_and(|c| (400..500).contains(c)) || (codes.is_empty() && closed),
        "bad Content-Length: {text}"
    );
    assert_still_serving(&gw).await;

    // Content-Length and Transfer-Encoding together, with a smuggled request behind them, to a
    // route the gateway proxies.
    let smuggle = "POST /public/x HTTP/1.1\r\nHost: app.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /public/smuggled HTTP/1.1\r\nHost: app.test\r\n\r\n";
    let (text, closed) = raw_exchange(gw.addr, smuggle.as_bytes());
    let codes = statuses(&text);
    println!("Content-Length + Transfer-Encoding -> {codes:?}, closed: {closed}");
    assert!(
        !text.contains("/public/smuggled"),
        "the smuggled request was answered: {text}"
    );
    assert!(codes.len() <= 1, "one request, one answer: {text}");
    assert!(
        codes.first().is_some_and(|c| (400..500).contains(c)) || closed,
        "CL+TE: a 4xx, or the connection closed after the answer: {text}"
    );
    assert_still_serving(&gw).await;

    // A 2 MiB header.
    let req = format!(
        "GET /whoami HTTP/1.1\r\nHost: app.test\r\nX-Big: {}\r\n\r\n",
        "a".repeat(2 * 1024 * 1024)
    );
    let (text, closed) = raw_exchange(gw.addr, req.as_bytes());
    let codes = statuses(&text);
    println!("2 MiB header -> {codes:?}, closed: {closed}");
    assert!(
        codes.first().is_some_and(|c| (400..500).contains(c)) || (codes.is_empty() && closed),
        "2 MiB header: {}",
        text.chars().take(300).collect::<String>()
    );
    assert_still_serving(&gw).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_100_kb_request_header_is_refused() {
    let gw = spawn_gateway();
    let req = format!(
        "GET /whoami HTTP/1.1\r\nHost: app.test\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let (text, closed) = raw_exchange(gw.addr, req.as_bytes());
    let codes = statuses(&text);
    println!("100 KB header -> {codes:?}, closed: {closed}");
    assert_still_serving(&gw).await;
    assert!(
        codes.first().is_some_and(|c| *c == 431 || *c == 400) || (codes.is_empty() && closed),
        "100 KB header: {}",
        text.chars().take(300).collect::<String>()
    );
}
