//! `GET {prefix}/verify`: forward authentication for nginx `auth_request`, Caddy
//! `forward_auth` and Traefik ForwardAuth.
//!
//! The original request is read from `X-Original-URL` (nginx) or from
//! `X-Forwarded-Proto/-Host/-Uri` (Caddy, Traefik), its method from `X-Original-Method` or
//! `X-Forwarded-Method`. The answer is `200` with identity headers, `401` with a `Location`
//! to the page the user must visit, or `403`.
//!
//! Proxies pass the client's own headers along, so a client can add the family its proxy does
//! not set (Traefik forwards a client's `X-Original-URL` untouched). When both families are
//! present they must describe the same request, or the answer is `400`: the gateway never
//! judges a request other than the one the proxy is about to serve.

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

/// `scheme://authority/path?query` split without resolving anything in the path.
fn split_url(url: &str) -> Option<(String, String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, pq) = rest.split_at(end);
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let pq = if pq.starts_with('/') {
        pq.to_string()
    } else {
        format!("/{pq}")
    };
    Some((scheme, authority.to_string(), pq))
}

fn original(req: &PortalRequest) -> Result<Original, &'static str> {
    let nginx_method = req.header("x-original-method").map(str::to_ascii_uppercase);
    let forwarded_method = req
        .header("x-forwarded-method")
        .map(str::to_ascii_uppercase);
    if let (Some(a), Some(b)) = (&nginx_method, &forwarded_method) {
        if a != b {
            return Err("X-Original-Method and X-Forwarded-Method disagree");
        }
    }
    let method = nginx_method
        .or(forwarded_method)
        .unwrap_or_else(|| "GET".into());
    let forwarded_host = req.header("x-forwarded-host");
    let forwarded_uri = req.header("x-forwarded-uri");
    if let Some(url) = req.header("x-original-url") {
        let (scheme, host, path_and_query) =
            split_url(url).ok_or("X-Original-URL is not an http(s) URL")?;
        if forwarded_host.is_some_and(|h| !h.eq_ignore_ascii_case(&host))
            || forwarded_uri.is_some_and(|u| u != path_and_query)
        {
            return Err("X-Original-URL and X-Forwarded-Host/-Uri disagree");
        }
        return Ok(Original {
            scheme,
            host,
            path_and_query,
            method,
        });
    }
    let host = forwarded_host.ok_or("missing X-Original-URL or X-Forwarded-Host")?;
    Ok(Original {
        scheme: match req.header("x-forwarded-proto") {
            Some(p) if p.eq_ignore_ascii_case("https") => "https".into(),
            _ => "http".into(),
        },
        host: host.to_string(),
        path_and_query: forwarded_uri.unwrap_or("/").to_string(),
        method,
    })
}

fn plain(status: u16, text: &str) -> HttpResponse {
    HttpResponse::text(status, text.to_string())
}

pub async fn verify(state: &State, req: &PortalRequest) -> HttpResponse {
    let orig = match original(req) {
        Ok(orig) => orig,
        Err(why) => return plain(400, why),
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
