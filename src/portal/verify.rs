//! `GET {prefix}/verify`: forward authentication for nginx `auth_request`, Caddy
//! `forward_auth` and Traefik ForwardAuth.
//!
//! The original request is read from `X-Original-URL` (nginx) or from
//! `X-Forwarded-Proto/-Host/-Uri` (Caddy, Traefik), its method from `X-Original-Method` or
//! `X-Forwarded-Method`. It is judged exactly as the proxy judges it (every spelling of the
//! path, the strictest rule). The answers:
//!
//! - `200` with all identity headers, empty when unknown (a bypass route, a user without an
//!   email), so that a proxy copying them never forwards a placeholder of its own;
//! - a browser (GET or HEAD, `Accept` with `text/html`) that must sign in or add a factor:
//!   `302` to the portal page; under nginx (`X-Original-URL`) `401` with that `Location`
//!   instead, because nginx turns any other answer of an auth subrequest into a 500 and its
//!   config redirects on the `Location` itself;
//! - any other client: `401`, without `Location`;
//! - `403` for denied routes and unmet groups or users.
//!
//! A login `Location` never leaves the site: the original host must be a plain `host[:port]`
//! (else `400`) and one of the apps' hosts or under `cookie_domain`, where the `Location` is
//! absolute; a host served only by an app without `hosts` gets a relative `Location`, which the
//! browser resolves against the site it is on. Any other host gets `403`.
//!
//! Proxies pass the client's own headers along, so a client can add the family its proxy does
//! not set (Traefik forwards a client's `X-Original-URL` untouched). When both families are
//! present they must describe the same request, or the answer is `400`: the gateway never
//! judges a request other than the one the proxy is about to serve.

use super::{host_is_ours, next_step, PortalRequest};
use crate::http_response::HttpResponse;
use crate::policy::{decide_strictest, Decision};
use crate::routes::plain_host;
use crate::session::identity_headers;
use crate::State;

/// The request the proxy in front is asking about.
struct Original {
    scheme: String,
    host: String,
    path_and_query: String,
    method: String,
    /// Named by nginx's `X-Original-URL` (the answer must then be 401, never 302).
    auth_request: bool,
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
            auth_request: true,
        });
    }
    let host = forwarded_host.ok_or("missing X-Original-URL or X-Forwarded-Host")?;
    let path_and_query = forwarded_uri.unwrap_or("/");
    if !path_and_query.starts_with('/') {
        return Err("X-Forwarded-Uri is not a path");
    }
    Ok(Original {
        scheme: match req.header("x-forwarded-proto") {
            Some(p) if p.eq_ignore_ascii_case("https") => "https".into(),
            _ => "http".into(),
        },
        host: host.to_string(),
        path_and_query: path_and_query.to_string(),
        method,
        auth_request: false,
    })
}

fn plain(status: u16, text: &str) -> HttpResponse {
    HttpResponse::text(status, text.to_string())
}

pub async fn verify(state: &State, req: &PortalRequest) -> HttpResponse {
    let config = state.config();
    let orig = match original(req) {
        Ok(orig) => orig,
        Err(why) => return plain(400, why),
    };
    let Some(bare_host) = plain_host(&orig.host) else {
        return plain(400, "the original host is not a plain host[:port]");
    };
    let named = host_is_ours(&config, bare_host.trim_end_matches('.'));
    if !named && !config.router.has_catch_all() {
        return plain(403, "no app serves this host");
    }
    let path = orig.path_and_query.split('?').next().unwrap_or("/");
    let route = match config.router.route(&orig.host, &orig.method, path) {
        Ok(Some(route)) => route,
        Ok(None) => return plain(403, "no app serves this host"),
        Err(_) => return plain(403, "path refused"),
    };
    let session = req.session.as_deref();
    let decision = decide_strictest(&route.outcomes, session);
    match decision {
        Decision::Forward { identity } => {
            let mut r = plain(200, "ok");
            let id = session.filter(|_| identity).map(|s| &*s.identity);
            for (name, value) in identity_headers(&config.identity_headers, id) {
                r = r.header(name.as_str(), value.unwrap_or(""));
            }
            return r;
        }
        Decision::Deny | Decision::Forbidden => return plain(403, "forbidden"),
        Decision::Login | Decision::Challenge | Decision::Enrol => {}
    }
    // On a named host the way back is absolute; elsewhere (an app without hosts) it stays
    // relative, so that it can only lead back to the site the browser is on.
    let origin = if named {
        format!("{}://{}", orig.scheme, orig.host)
    } else {
        String::new()
    };
    let back = format!("{origin}{}", orig.path_and_query);
    let Some((page, why)) = next_step(decision, state.prefix(), &back) else {
        return plain(403, "forbidden");
    };
    let browser = matches!(orig.method.as_str(), "GET" | "HEAD")
        && req
            .header("accept")
            .is_some_and(|a| a.contains("text/html"));
    if !browser {
        return plain(401, why);
    }
    let status = if orig.auth_request { 401 } else { 302 };
    plain(status, why).header("Location", format!("{origin}{page}"))
}
