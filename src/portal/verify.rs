//! `GET {prefix}/verify`: forward authentication for nginx `auth_request`, Caddy
//! `forward_auth` and Traefik ForwardAuth.
//!
//! The original request is read from `X-Original-URL` (nginx) or from
//! `X-Forwarded-Proto/-Host/-Uri` (Caddy, Traefik), its method from `X-Original-Method` or
//! `X-Forwarded-Method`. The answer is `200` with identity headers, `401` with a `Location`
//! to the page the user must visit, or `403`.

use super::{encode_query, PortalRequest};
use crate::http_response::HttpResponse;
use crate::policy::{decide, Decision};
use crate::routes::normalize_path;
use crate::State;

/// The request the proxy in front is asking about.
struct Original {
    scheme: String,
    host: String,
    path_and_query: String,
    method: String,
}

fn original(req: &PortalRequest) -> Option<Original> {
    let method = req
        .header("x-original-method")
        .or_else(|| req.header("x-forwarded-method"))
        .unwrap_or("GET")
        .to_ascii_uppercase();
    if let Some(url) = req.header("x-original-url") {
        let u = url::Url::parse(url).ok()?;
        let host = match u.port() {
            Some(p) => format!("{}:{p}", u.host_str()?),
            None => u.host_str()?.to_string(),
        };
        let mut pq = u.path().to_string();
        if let Some(q) = u.query() {
            pq.push('?');
            pq.push_str(q);
        }
        return Some(Original {
            scheme: u.scheme().to_string(),
            host,
            path_and_query: pq,
            method,
        });
    }
    let host = req.header("x-forwarded-host")?.to_string();
    Some(Original {
        scheme: req
            .header("x-forwarded-proto")
            .unwrap_or("http")
            .to_string(),
        host,
        path_and_query: req.header("x-forwarded-uri").unwrap_or("/").to_string(),
        method,
    })
}

fn plain(status: u16, text: &str) -> HttpResponse {
    HttpResponse::text(status, text.to_string())
}

pub async fn verify(state: &State, req: &PortalRequest) -> HttpResponse {
    let Some(orig) = original(req) else {
        return plain(400, "missing X-Original-URL or X-Forwarded-Host");
    };
    let path = orig.path_and_query.split('?').next().unwrap_or("/");
    let Ok(path) = normalize_path(path) else {
        return plain(403, "path refused");
    };
    let Some(route) = state.config.router.route(&orig.host, &orig.method, &path) else {
        return plain(403, "no app serves this host");
    };
    let session = req.session.clone();
    let decision = decide(route.policy, route.rule, session.as_deref());
    let base = format!("{}://{}{}", orig.scheme, orig.host, state.prefix());
    let back = format!("{}://{}{}", orig.scheme, orig.host, orig.path_and_query);
    let location = |page: &str| format!("{base}{page}rd={}", encode_query(&back));
    match decision {
        Decision::Forward { identity } => {
            let mut r = plain(200, "ok");
            if identity {
                if let Some(s) = &session {
                    for (name, value) in state.identity_values(s) {
                        r = r.header(name, value);
                    }
                }
            }
            r
        }
        Decision::Login => plain(401, "unauthenticated").header("Location", location("/login?")),
        Decision::Challenge => {
            plain(401, "second factor required").header("Location", location("/totp?"))
        }
        Decision::Enrol => plain(401, "second factor set-up required")
            .header("Location", location("/totp/setup?required=1&")),
        Decision::Deny | Decision::Forbidden => plain(403, "forbidden"),
    }
}
