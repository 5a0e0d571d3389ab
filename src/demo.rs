//! The demo: a small "whoami" app that shows what it received, and `portcullis demo`, which
//! runs the gateway in front of it with a throw-away data directory.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves the whoami app on `listener` until the runtime stops.
///
/// Answers JSON (`method`, `uri`, `headers` as name/value pairs in order) or, for browsers, a
/// page listing the identity headers. A request with `Upgrade` is switched (101) and then
/// echoes raw bytes back, which is enough to see upgrades pass through a proxy.
pub async fn serve_whoami(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(whoami))
                .with_upgrades()
                .await;
        });
    }
}

/// The whoami app for one request (for serving it over other transports, such as TLS).
pub async fn whoami(mut req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    if let Some(proto) = req.headers().get(hyper::header::UPGRADE).cloned() {
        let upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            if let Ok(upgraded) = upgrade.await {
                let mut io = TokioIo::new(upgraded);
                let mut buf = [0u8; 1024];
                while let Ok(n) = io.read(&mut buf).await {
                    if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        });
        return Ok(Response::builder()
            .status(101)
            .header("Connection", "upgrade")
            .header("Upgrade", proto)
            .body(Full::new(Bytes::new()))
            .expect("a valid response"));
    }
    // A page for browsers; JSON for everything else, and for clients that list JSON at all.
    let browser = req
        .headers()
        .get(hyper::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html") && !a.contains("application/json"));
    let response = if browser {
        Response::builder()
            .header("Content-Type", "text/html; charset=utf-8")
            .body(Full::new(Bytes::from(page(&req, &headers))))
    } else {
        let json = serde_json::json!({
            "method": req.method().as_str(),
            "uri": req.uri().to_string(),
            "headers": headers,
        });
        Response::builder()
            .header("Content-Type", "application/json")
            .body(Full::new(Bytes::from(json.to_string())))
    };
    Ok(response.expect("a valid response"))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(req: &Request<Incoming>, headers: &[(String, String)]) -> String {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| escape(v))
    };
    let who = match get("remote-user") {
        Some(u) => format!("<p>Hello, <strong>{u}</strong>. Portcullis let you in.</p>"),
        None => "<p>This page is public: nobody had to sign in.</p>".to_string(),
    };
    let rows: String = headers
        .iter()
        .map(|(k, v)| format!("<tr><td>{}</td><td>{}</td></tr>", escape(k), escape(v)))
        .collect();
    format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Demo app</title></head><body>\
         <h1>Demo app</h1>{who}<p>Path: <code>{}</code></p>\
         <ul><li><a href=\"/\">Home (sign-in needed)</a></li><li><a href=\"/public/\">Public page</a></li>\
         <li><a href=\"/admin/\">Admin area (needs two-factor)</a></li>\
         <li><a href=\"/.portcullis/account\">Your account</a></li></ul>\
         <h2>Headers the app received</h2><table border=1 cellpadding=4>{rows}</table></body></html>",
        escape(&req.uri().to_string())
    )
}

/// Starts the whoami app on a loopback port in its own thread; returns its address.
pub fn spawn_whoami() -> std::io::Result<SocketAddr> {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    std::thread::Builder::new()
        .name("whoami".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("a tokio listener");
                serve_whoami(listener).await;
            });
        })?;
    Ok(addr)
}

/// The demo's configuration: one app on any host, with a public, a signed-in and a
/// two-factor area.
pub fn demo_config(listen: &str, upstream: SocketAddr, data: &Path) -> String {
    format!(
        r#"# Written by `portcullis demo`.
[server]
listen = "{listen}"

[storage]
path = "{db}"
key_file = "{key}"

[session]
secure = false

[webauthn]
passwordless = true

[[apps]]
name = "demo"
upstream = "{upstream}"
default_policy = "one_factor"

[[apps.rules]]
paths = ["/public/**", "/favicon.ico"]
policy = "bypass"

[[apps.rules]]
paths = ["/admin/**"]
policy = "two_factor"
groups = ["admins"]
"#,
        db = data.join("portcullis.db").display(),
        key = data.join("portcullis.key").display(),
    )
}

/// A fresh random password for the demo user: 20 characters from an unambiguous alphabet.
pub fn demo_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A new, empty directory for the demo's data.
pub fn demo_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "portcullis-demo-{}-{}",
        std::process::id(),
        &crate::session::random_token()[..8]
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
