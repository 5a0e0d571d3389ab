//! The request path: `impl ProxyHttp`, the one orchestrator.
//!
//! Read top to bottom, `request_filter` is what happens to a request: portal page? → route by
//! Host and path → session → policy → answer (redirect, 401, 403, 404) or let it through.
//! `upstream_peer` picks the app's upstream, `upstream_request_filter` rewrites the headers
//! (spoofed identity headers and our cookie out, identity and `X-Forwarded-*` in), and
//! `fail_to_proxy` turns an unreachable upstream into a 502 page. No HTML, SQL or crypto here.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use http::header;
use ipnet::IpNet;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::HttpPeer;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::{Error, ErrorSource, ErrorType, Result};

use crate::auth::unix_now;
use crate::config::Config;
use crate::connections::{Conn, HeadArrived};
use crate::http_response::{HttpResponse, HSTS};
use crate::metrics::{decision_label, AppMeters, Disposition};
use crate::policy::{decide_strictest, Decision};
use crate::portal::{self, Frame, PortalPage, PortalRequest, LANG_COOKIE, MAX_FORM_BYTES};
use crate::session::{identity_headers, ActiveSession, Identity, Level};
use crate::State;

/// The gateway's `ProxyHttp`.
pub struct Proxy {
    state: Arc<State>,
    /// Whether this service is the TLS listener (for `X-Forwarded-Proto`, HSTS).
    tls: bool,
}

impl Proxy {
    pub fn new(state: Arc<State>, tls: bool) -> Proxy {
        Proxy { state, tls }
    }
}

/// What `request_filter` learned, for the later phases.
pub struct RequestCtx {
    /// The configuration this request is judged by, from its first phase to its last: a
    /// reload never shows it half of each.
    config: Arc<Config>,
    /// The client connection (HTTP/1), to bind long-lived responses to their session.
    conn: Option<Arc<Conn>>,
    client_ip: IpAddr,
    /// Index of the app to proxy to, once the request is allowed through.
    app: Option<usize>,
    /// The session whose identity is forwarded; `None` on bypass routes.
    identity: Option<Arc<ActiveSession>>,
    /// The signed-in user, when the request was judged with a session (for the access log).
    user: Option<Arc<ActiveSession>>,
    /// When the request head had arrived.
    started: Instant,
    /// What was decided, and the meters of the app it was routed to, for the metrics.
    disposition: Disposition,
    meters: Option<Arc<AppMeters>>,
}

#[async_trait]
impl ProxyHttp for Proxy {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx {
            config: self.state.config(),
            conn: None,
            client_ip: IpAddr::from([0, 0, 0, 0]),
            app: None,
            identity: None,
            user: None,
            started: Instant::now(),
            disposition: Disposition::BadRequest,
            meters: None,
        }
    }

    /// The connection layer hands its connection over with every HTTP/1 request (see
    /// `connections.rs`); this runs once the request head is read.
    fn on_connection_reuse(
        &self,
        _session: &mut Session,
        ctx: &mut RequestCtx,
        handed: Box<dyn std::any::Any + Send + Sync>,
    ) {
        ctx.conn = HeadArrived::take(handed);
    }

    /// Timeouts of this request's connection: idle keep-alive after it, and the longest pause
    /// in its body. A WebSocket or other upgraded stream has no read timeout: it may be quiet
    /// as long as its session lives.
    async fn early_request_filter(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        if ctx.conn.is_none() {
            // An HTTP/2 stream: the task serving it carries it.
            ctx.conn = crate::connections::current_stream();
        }
        let server = &ctx.config.server;
        if session.get_keepalive().is_some() {
            session.set_keepalive(Some(server.keepalive_timeout.as_secs().max(1)));
        }
        if session.is_upgrade_req() {
            session.set_read_timeout(None);
        } else {
            session.set_read_timeout(Some(server.body_timeout));
        }
        Ok(())
    }

    /// No downstream modules: the gateway does not compress (the app decides its encodings),
    /// so none of pingora's per-request module work is wanted.
    fn init_downstream_modules(&self, _modules: &mut pingora::modules::http::HttpModules) {}

    /// Runs first for every request. Answers it directly (`Ok(true)`) unless the request is
    /// allowed through to an app (`Ok(false)`, with `ctx.app` set).
    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        let state = &*self.state;
        let now = unix_now();
        let config = Arc::clone(&ctx.config);
        ctx.client_ip = client_ip(session, &config.server.trusted_proxies);

        // 0. Requests no app should see: oversized heads.
        if let Some((status, title, text)) = malformed(session.req_header()) {
            session.set_keepalive(None);
            return self.answer(session, status, title, text).await;
        }

        // 0b. The plain listener beside a TLS one: ACME's HTTP-01 answers, before any routing
        // or authentication, and a redirect to HTTPS for the rest.
        if !self.tls {
            if let Some(tls) = &config.server.tls {
                if let Some(response) = self.plain_http(session, tls, &config) {
                    response.send(session).await?;
                    return Ok(true);
                }
            }
        }

        // 1. The gateway's own pages, on every host.
        let path = session.req_header().uri.path();
        let prefix = state.prefix();
        if path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
        {
            ctx.disposition = Disposition::Portal;
            let response = self.portal(session, ctx, now).await?;
            response.send(session).await?;
            return Ok(true);
        }

        // 2. Which app, which rule.
        let Some(host) = request_host(session.req_header()) else {
            return self
                .answer(session, 400, "bad-request-title", "no-host-text")
                .await;
        };
        let method = session.req_header().method.as_str().to_string();
        // Every spelling of the path an app server could resolve is judged (see routes.rs).
        let route = match config.router.route(&host, &method, path) {
            Ok(Some(route)) => route,
            Ok(None) => {
                ctx.disposition = Disposition::NotFound;
                return self
                    .answer(session, 404, "not-found-title", "no-app-text")
                    .await;
            }
            Err(_) => {
                return self
                    .answer(session, 400, "bad-request-title", "bad-path-text")
                    .await;
            }
        };

        // 3. The session, only when the policy depends on it. A cached session costs no I/O.
        // A shared store unreachable for longer than its grace: what this gateway cached may
        // have been revoked elsewhere meanwhile, so no session is trusted.
        if route.needs_session() && state.store_outage_exceeded() {
            return self
                .answer(session, 503, "unavailable-title", "unavailable-sessions")
                .await;
        }
        let user_session = if route.needs_session() {
            match portal::cookie_value(&session.req_header().headers, &state.cookies.session) {
                Some(value) => state.sessions.lookup(&value, now).await,
                None => None,
            }
        } else {
            None
        };

        // 4. The decision.
        ctx.user = user_session.clone();
        let decision = decide_strictest(&route.outcomes, user_session.as_deref());
        ctx.disposition = Disposition::from(decision);
        ctx.meters = Some(state.metrics.app(route.app));
        match decision {
            Decision::Forward { identity } => {
                ctx.app = Some(route.app_index);
                ctx.identity = if identity { user_session } else { None };
                Ok(false)
            }
            Decision::Deny | Decision::Forbidden => {
                self.answer(session, 403, "forbidden-title", "forbidden-text")
                    .await
            }
            step @ (Decision::Login | Decision::Challenge | Decision::Enrol) => {
                self.send_to(session, step).await
            }
        }
    }

    /// The app's upstream; connections are pooled and reused by pingora.
    async fn upstream_peer(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<Box<HttpPeer>> {
        let index = ctx
            .app
            .ok_or_else(|| Error::explain(ErrorType::InternalError, "no app chosen"))?;
        let app = &ctx.config.router.apps()[index];
        let up = &app.upstream;
        let mut peer = HttpPeer::new(up.addr, up.tls, up.host.clone());
        peer.options.connection_timeout = Some(app.connect_timeout);
        peer.options.total_connection_timeout = Some(app.connect_timeout);
        // Pingora's read timeout covers the wait for the response head and each body read;
        // an upgraded stream (WebSocket) may be quiet for as long as its session lives.
        if !session.is_upgrade_req() {
            peer.options.read_timeout = Some(app.upstream_timeout);
        }
        peer.options.write_timeout = Some(app.upstream_timeout);
        peer.options.verify_cert = up.verify;
        peer.options.verify_hostname = up.verify;
        Ok(Box::new(peer))
    }

    /// The request as the app sees it: no client-sent identity headers (in any spelling), no
    /// gateway cookies, our identity headers and `X-Forwarded-*`.
    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        let state = &*self.state;
        // A body to forward on an HTTP/2 stream must keep flowing (HTTP/1 reads time out).
        if let Some(conn) = &ctx.conn {
            if !session.as_downstream_mut().is_body_empty() {
                conn.body_expected();
            }
        }
        let forwarding = Forwarding {
            identity: ctx.identity.as_ref().map(|s| &*s.identity),
            client_ip: ctx.client_ip,
            peer: peer_ip(session),
            tls: self.tls,
        };
        let cookies = [
            state.cookies.session.as_str(),
            state.cookies.csrf.as_str(),
            LANG_COOKIE,
        ];
        rewrite_for_upstream(&ctx.config, &cookies, upstream, &forwarding)
    }

    /// Each part of a forwarded request body moves its HTTP/2 stream's deadline on.
    async fn request_body_filter(
        &self,
        _session: &mut Session,
        _body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        if let Some(conn) = &ctx.conn {
            conn.body_arrived(end_of_stream);
        }
        Ok(())
    }

    /// A response that may outlive its session (a WebSocket, an event stream, a long or
    /// unsized body) binds its connection to the session, so that the connection ends when
    /// the session does.
    async fn upstream_response_filter(
        &self,
        _session: &mut Session,
        response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        if let (Some(conn), Some(identity)) = (&ctx.conn, &ctx.identity) {
            if is_long_lived(response) {
                conn.bind(identity.id_hash);
            }
        }
        if self.tls
            && ctx
                .config
                .server
                .tls
                .as_ref()
                .is_some_and(|t| t.hsts_for_apps)
            && !response
                .headers
                .contains_key(header::STRICT_TRANSPORT_SECURITY)
        {
            response.insert_header(header::STRICT_TRANSPORT_SECURITY, HSTS)?;
        }
        Ok(())
    }

    /// A request that failed: a 502 page when the upstream could not be reached, 504 when it
    /// did not answer in time.
    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut RequestCtx,
    ) -> FailToProxy {
        if e.esource() == &ErrorSource::Upstream {
            if let Some(meters) = &ctx.meters {
                meters.upstream_error();
            }
        }
        let code = match e.etype() {
            ErrorType::HTTPStatus(code) => *code,
            _ => match e.esource() {
                ErrorSource::Upstream => match e.etype() {
                    ErrorType::ConnectTimedout
                    | ErrorType::ReadTimedout
                    | ErrorType::WriteTimedout => 504,
                    _ => 502,
                },
                ErrorSource::Downstream => match e.etype() {
                    ErrorType::WriteError | ErrorType::ReadError | ErrorType::ConnectionClosed => 0,
                    _ => 400,
                },
                ErrorSource::Internal | ErrorSource::Unset => 500,
            },
        };
        if code > 0 && session.response_written().is_none() {
            let (title, text) = match code {
                502 => ("bad-gateway-title", "bad-gateway-text"),
                504 => ("timeout-title", "timeout-text"),
                400 => ("bad-request-title", "unreadable-request-text"),
                431 => ("headers-title", "headers-text"),
                _ => ("error-title", "error-text"),
            };
            // The connection is not reused after a failure: say so, so clients do not try.
            session.set_keepalive(None);
            let ui = self.frame(session);
            // Back to the address asked for, unless it would lead off the site (`//host/x`).
            let here = portal::safe_rd(&self.state, &self.here(session));
            let again = ui.t("link-try-again");
            let link = matches!(code, 502 | 504).then_some((here.as_str(), again.as_str()));
            let page = portal::message(&ui, code, &ui.t(title), &ui.t(text), link)
                .portal_headers(self.tls);
            if let Err(err) = page.send(session).await {
                tracing::debug!("could not send the error page: {err}");
            }
        }
        FailToProxy {
            error_code: code,
            can_reuse_downstream: false,
        }
    }

    /// A client that goes away mid-request is not an error of the gateway: log it at debug.
    fn suppress_error_log(&self, _session: &Session, _ctx: &RequestCtx, e: &Error) -> bool {
        e.esource() == &ErrorSource::Downstream
            && matches!(
                e.etype(),
                ErrorType::ConnectionClosed | ErrorType::ReadError | ErrorType::WriteError
            )
    }

    /// Runs once for every request, answered or failed: counts it, and writes its access log
    /// line (target `access`, on with `[log] access = true`): who, what, how it was judged and
    /// answered, and how long it took. Never a query string, a cookie or a header value: those
    /// may carry secrets.
    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let took = ctx.started.elapsed();
        let meters = ctx.meters.as_deref();
        self.state
            .metrics
            .request(meters, ctx.disposition, status, took);
        if !tracing::enabled!(target: "access", tracing::Level::INFO) {
            return;
        }
        let req = session.req_header();
        let app = ctx.app.map(|i| ctx.config.router.apps()[i].name.as_str());
        tracing::info!(
            target: "access",
            client = %ctx.client_ip,
            host = request_host(req).as_deref().unwrap_or(""),
            method = %req.method,
            path = req.uri.path(),
            app = app.unwrap_or(""),
            user = ctx.user.as_ref().map_or("", |s| s.identity.username.as_str()),
            decision = decision_label(ctx.disposition, status),
            status,
            duration_ms = took.as_secs_f64() * 1000.0,
            error = e.map(|e| e.etype().as_str()).unwrap_or(""),
        );
    }
}

impl Proxy {
    /// Reads the form (bounded), looks up the session and lets the portal answer.
    async fn portal(
        &self,
        session: &mut Session,
        ctx: &RequestCtx,
        now: i64,
    ) -> Result<HttpResponse> {
        let state = &*self.state;
        let mut body = BytesMut::new();
        if session.req_header().method == http::Method::POST {
            // HTTP/2 has no read timeout of its own: a body that stops flowing ends here.
            let pause = ctx.config.server.body_timeout;
            loop {
                let read = tokio::time::timeout(pause, session.read_request_body()).await;
                match read.unwrap_or_else(|_| Err(Error::new(ErrorType::ReadTimedout))) {
                    Ok(Some(chunk)) => {
                        if body.len() + chunk.len() > MAX_FORM_BYTES {
                            let ui = self.frame(session);
                            return Ok(portal::told(&ui, 413, "too-large-title", "too-large-text")
                                .portal_headers(self.tls));
                        }
                        body.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(_) => {
                        let ui = self.frame(session);
                        let title = ui.t("bad-request-title");
                        let text = ui.t("unreadable-form-text");
                        return Ok(
                            portal::message(&ui, 400, &title, &text, None).portal_headers(self.tls)
                        );
                    }
                }
            }
        }
        if state.store_outage_exceeded() && !session.req_header().uri.path().ends_with("/health") {
            let frame = self.frame(session);
            return Ok(
                portal::told(&frame, 503, "unavailable-title", "unavailable-sessions")
                    .portal_headers(self.tls),
            );
        }
        let req = session.req_header();
        let user_session = match portal::cookie_value(&req.headers, &state.cookies.session) {
            Some(value) => state.sessions.lookup(&value, now).await,
            None => None,
        }
        // A pending session whose user turned TOTP off meanwhile can finish nothing: to the
        // portal it is no session, so the sign-in form shows instead of a loop of redirects.
        .filter(|s| s.level != Level::Pending || s.identity.second_factor());
        let page = req.uri.path()[state.prefix().len()..].to_string();
        let query = req.uri.query().map(str::to_string);
        let kind = PortalPage::from_path(&page);
        // Recovery codes shown in answer to a POST are shown once: no link leads away from them.
        let shows_codes = req.method == http::Method::POST
            && matches!(
                kind,
                Some(PortalPage::TotpSetup | PortalPage::RecoveryCodes)
            );
        let here = match shows_codes {
            true => None,
            false => portal::return_path(state.prefix(), &page, query.as_deref()),
        };
        // Answers that are not pages for people (forward auth on every request of a proxy in
        // front, health, static files) choose no language.
        let ui = match kind {
            Some(
                PortalPage::Verify
                | PortalPage::Health
                | PortalPage::Style
                | PortalPage::Theme
                | PortalPage::Logo,
            ) => Frame::plain(state),
            _ => Frame::new(state, &req.headers, here.as_deref()),
        };
        let portal_req = PortalRequest {
            ui,
            method: req.method.clone(),
            page,
            query,
            host: request_host(req).unwrap_or_default(),
            tls: self.tls,
            headers: req.headers.clone(),
            body: Bytes::from(body),
            client_ip: ctx.client_ip,
            session: user_session,
            now,
        };
        Ok(portal::handle(state, portal_req).await)
    }

    /// Answers with a portal message page (`title` and `text` are catalog keys), in the
    /// visitor's language, and ends the request.
    async fn answer(
        &self,
        session: &mut Session,
        status: u16,
        title: &str,
        text: &str,
    ) -> Result<bool> {
        portal::told(&self.frame(session), status, title, text)
            .portal_headers(self.tls)
            .send(session)
            .await?;
        Ok(true)
    }

    /// What the plain listener answers itself when TLS is on: the key authorisation of an
    /// ACME challenge this gateway (or another on the same store) published; a 308 to the
    /// same URL over HTTPS for a host an app serves, unless `redirect_to_https = false`. The
    /// endpoints machines call over the local network (`/verify`, `/health`) are not moved.
    fn plain_http(
        &self,
        session: &Session,
        tls: &crate::config::TlsConfig,
        config: &Config,
    ) -> Option<HttpResponse> {
        let req = session.req_header();
        let path = req.uri.path();
        if tls.acme.is_some() {
            if let Some(token) = path.strip_prefix(ACME_CHALLENGE) {
                return Some(self.acme_answer(token));
            }
        }
        if !config.server.redirect_to_https {
            return None;
        }
        // Behind a trusted proxy that terminated TLS itself, the request is HTTPS already.
        let forwarded_https = req
            .headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
        if forwarded_https
            && peer_ip(session).is_some_and(|ip| is_trusted(ip, &config.server.trusted_proxies))
        {
            return None;
        }
        let prefix = self.state.prefix();
        if [PortalPage::Verify, PortalPage::Health]
            .iter()
            .any(|page| path.strip_prefix(prefix) == Some(page.path()))
        {
            return None;
        }
        let host = request_host(req)?;
        // Only hosts an app serves, and that HTTPS has a certificate for: the gateway
        // redirects nowhere else, and never to a handshake that would fail.
        config.router.app_for_host(&host)?;
        let name = crate::routes::plain_host(&host)?;
        if !self.state.edge.has_certificate(name.trim_end_matches('.')) {
            return None;
        }
        let port = match tls.listen.port() {
            443 => String::new(),
            p => format!(":{p}"),
        };
        let target = req.uri.path_and_query().map_or("/", |pq| pq.as_str());
        Some(HttpResponse::redirect(
            308,
            &format!("https://{name}{port}{target}"),
        ))
    }

    /// The answer to the ACME HTTP-01 challenge `token`: its key authorisation, else 404.
    /// Answered from memory alone: this gateway's own orders, and on a shared store every
    /// other gateway's, which PostgreSQL announces as they are published. A made-up token
    /// costs a map lookup.
    fn acme_answer(&self, token: &str) -> HttpResponse {
        let well_formed = !token.is_empty()
            && token.len() <= 256
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return HttpResponse::text(404, "no such challenge\n");
        }
        let answer = self.state.edge.challenge(token);
        match answer {
            Some(a) => HttpResponse::new(200, "application/octet-stream", a),
            None => HttpResponse::text(404, "no such challenge\n"),
        }
    }

    /// The frame of a portal page answering this request in place of the app.
    fn frame(&self, session: &Session) -> Frame {
        let here = self.here(session);
        Frame::new(&self.state, &session.req_header().headers, Some(&here))
    }

    /// The request's own path and query: where a page answering in its place leads back to.
    fn here(&self, session: &Session) -> String {
        let uri = &session.req_header().uri;
        uri.path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_string()
    }

    /// Sends a browser to the portal page `decision` calls for (`302`, with `rd` back here);
    /// other clients get `401`.
    async fn send_to(&self, session: &mut Session, decision: Decision) -> Result<bool> {
        let req = session.req_header();
        let back = req.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let Some((location, why)) = portal::next_step(decision, self.state.prefix(), back) else {
            return Err(Error::explain(
                ErrorType::InternalError,
                "no page for this decision",
            ));
        };
        let browser = req
            .headers
            .get_all(header::ACCEPT)
            .iter()
            .any(|v| v.to_str().is_ok_and(|s| s.contains("text/html")));
        let response = if browser {
            HttpResponse::redirect(302, &location)
        } else {
            HttpResponse::json(
                401,
                &serde_json::json!({ "error": why, "location": location }),
            )
            .header("WWW-Authenticate", "Portcullis")
        };
        response
            .header("Cache-Control", "no-store")
            .send(session)
            .await?;
        Ok(true)
    }
}

/// What the upstream is told about a request besides the request itself.
pub struct Forwarding<'a> {
    /// The signed-in user; `None` on bypass routes.
    pub identity: Option<&'a Identity>,
    pub client_ip: IpAddr,
    /// The TCP peer (a trusted proxy's `X-Forwarded-*` are kept and extended).
    pub peer: Option<IpAddr>,
    /// Whether the client reached the gateway over TLS.
    pub tls: bool,
}

/// The request as the app sees it: no client-sent identity headers (in any spelling), none of
/// the gateway's cookies, our identity headers, `X-Forwarded-For/-Proto/-Host` and
/// `X-Real-IP`, and no `Forwarded` unless a trusted proxy sent it.
pub fn rewrite_for_upstream(
    config: &Config,
    gateway_cookies: &[&str],
    upstream: &mut RequestHeader,
    f: &Forwarding<'_>,
) -> Result<()> {
    let names = &config.identity_headers;
    let spoofed: Vec<String> = upstream
        .headers
        .keys()
        .filter(|name| names.is_identity(name.as_str()))
        .map(|name| name.as_str().to_string())
        .collect();
    for name in spoofed {
        upstream.remove_header(&name);
    }
    strip_cookies(upstream, gateway_cookies)?;

    if f.identity.is_some() {
        for (name, value) in identity_headers(names, f.identity) {
            if let Some(value) = value {
                upstream.insert_header(name.clone(), value)?;
            }
        }
    }

    let trusted = f
        .peer
        .is_some_and(|p| is_trusted(p, &config.server.trusted_proxies));
    let forwarded_for = match (trusted, upstream.headers.get("x-forwarded-for"), f.peer) {
        (true, Some(existing), Some(peer)) => {
            format!("{}, {peer}", existing.to_str().unwrap_or(""))
        }
        _ => f.client_ip.to_string(),
    };
    upstream.insert_header("X-Forwarded-For", forwarded_for)?;
    // The other spellings of "who is the client": ours, or (from an untrusted client) none.
    upstream.insert_header("X-Real-IP", f.client_ip.to_string())?;
    if !trusted {
        upstream.remove_header("Forwarded");
    }
    let proto = match (trusted, upstream.headers.get("x-forwarded-proto")) {
        (true, Some(p)) => p.to_str().unwrap_or("http").to_string(),
        _ => if f.tls { "https" } else { "http" }.to_string(),
    };
    upstream.insert_header("X-Forwarded-Proto", proto)?;
    if let Some(host) = request_host(upstream) {
        upstream.insert_header("X-Forwarded-Host", host)?;
    }
    Ok(())
}

/// Responses above this size (or of no announced size) may take long enough to outlive the
/// session that asked for them.
const LONG_BODY_BYTES: u64 = 1 << 20;

/// Whether a response may last: an upgrade, an event stream, or a body without a length or
/// larger than [`LONG_BODY_BYTES`].
fn is_long_lived(response: &ResponseHeader) -> bool {
    if response.status == http::StatusCode::SWITCHING_PROTOCOLS {
        return true;
    }
    let headers = &response.headers;
    let event_stream = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/event-stream"));
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let bodiless = response.status == http::StatusCode::NO_CONTENT
        || response.status == http::StatusCode::NOT_MODIFIED;
    event_stream || (!bodiless && length.is_none_or(|n| n > LONG_BODY_BYTES))
}

/// Largest request head (all header names and values) and request target accepted.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Why a request must not be processed at all, as status, and catalog keys of title and text.
fn malformed(req: &RequestHeader) -> Option<(u16, &'static str, &'static str)> {
    let uri_len = req.uri.path_and_query().map_or(0, |pq| pq.as_str().len());
    if uri_len > MAX_URI_BYTES {
        return Some((414, "uri-too-long-title", "uri-too-long-text"));
    }
    let head: usize = req
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if head > MAX_HEADER_BYTES {
        return Some((431, "headers-title", "headers-limit-text"));
    }
    // A body length given twice, or as a list (`5, 5`), is ambiguous framing: one server in a
    // chain may read one length and the next another. Refuse it, as nginx does.
    let mut lengths = req.headers.get_all(header::CONTENT_LENGTH).iter();
    if let Some(first) = lengths.next() {
        let digits = !first.is_empty() && first.as_bytes().iter().all(u8::is_ascii_digit);
        if !digits || lengths.next().is_some() {
            return Some((400, "bad-request-title", "length-twice-text"));
        }
    }
    // Conflicting framing (Content-Length with Transfer-Encoding) never reaches here: pingora
    // drops the length, reads the chunked body and closes the connection afterwards, so no
    // second request can be smuggled behind the first.
    None
}

/// The Host a request names: the `Host` header, or the authority of an absolute-form URI.
/// Where ACME's HTTP-01 challenges are fetched (RFC 8555 §8.3).
const ACME_CHALLENGE: &str = "/.well-known/acme-challenge/";

fn request_host(req: &RequestHeader) -> Option<String> {
    let host = req
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri.authority().map(|a| a.to_string()))?;
    (!host.is_empty()).then_some(host)
}

/// The TCP peer's address; IPv4 clients of an IPv6 socket (`::ffff:a.b.c.d`) as IPv4, so
/// that IPv4 `trusted_proxies` and bans apply to them.
fn peer_ip(session: &Session) -> Option<IpAddr> {
    session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip().to_canonical())
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// The TCP peer, or, when the peer is a trusted proxy, the right-most address of
/// `X-Forwarded-For` that is not itself a trusted proxy.
fn client_ip(session: &Session, trusted: &[IpNet]) -> IpAddr {
    let Some(peer) = peer_ip(session) else {
        return IpAddr::from([0, 0, 0, 0]);
    };
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let chain: Vec<&str> = session
        .req_header()
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    forwarded_client(peer, &chain, trusted)
}

/// Walks `X-Forwarded-For` from the right, past trusted proxies.
pub fn forwarded_client(peer: IpAddr, chain: &[&str], trusted: &[IpNet]) -> IpAddr {
    let mut client = peer;
    for entry in chain.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip.to_canonical();
                if !is_trusted(ip, trusted) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// Removes the named cookies from the `Cookie` header(s), keeping all others.
fn strip_cookies(req: &mut RequestHeader, names: &[&str]) -> Result<()> {
    let values: Vec<String> = req
        .headers
        .get_all(header::COOKIE)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    if values.is_empty() {
        return Ok(());
    }
    let ours = |pair: &str| {
        let name = pair.split('=').next().unwrap_or("").trim();
        names.contains(&name)
    };
    if !values.iter().any(|v| v.split(';').any(ours)) {
        return Ok(());
    }
    let kept: Vec<&str> = values
        .iter()
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|p| !p.is_empty() && !ours(p))
        .collect();
    req.remove_header(&header::COOKIE);
    if !kept.is_empty() {
        req.insert_header(header::COOKIE, kept.join("; "))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_read_from_the_right_past_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: IpAddr = "10.0.0.1".parse().unwrap();
        let client = forwarded_client(peer, &["6.6.6.6", "1.2.3.4", "10.0.0.2"], &trusted);
        assert_eq!(client, "1.2.3.4".parse::<IpAddr>().unwrap());
        let client = forwarded_client(peer, &["garbage"], &trusted);
        assert_eq!(client, peer);
    }

    #[test]
    fn only_gateway_cookies_are_removed() {
        let mut req = RequestHeader::build("GET", b"/", None).unwrap();
        req.append_header("Cookie", "a=1; sess=secret; b=2")
            .unwrap();
        req.append_header("Cookie", "sess_csrf=x").unwrap();
        strip_cookies(&mut req, &["sess", "sess_csrf"]).unwrap();
        let all: Vec<_> = req.headers.get_all("cookie").iter().collect();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0], "a=1; b=2");
    }
}
