//! A small response type for everything the gateway answers itself (portal pages, redirects,
//! errors), so that call sites say what they mean instead of building headers by hand.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;

/// The Content-Security-Policy of every portal page: no script at all, styles only from us.
pub const PORTAL_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The policy of the pages that offer a passkey: the same, and the one script file at
/// `script` (an exact URL, not `'self'`: the apps share the portal's origin, and none of their
/// scripts may run on its pages), never inline.
pub fn portal_csp_with_script(script: &str) -> String {
    format!(
        "default-src 'none'; script-src {script}; style-src 'self'; img-src 'self' data:; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// `Strict-Transport-Security` on responses over TLS: HTTPS only, for a year.
pub const HSTS: &str = "max-age=31536000";

/// A complete response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl HttpResponse {
    pub fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("Content-Type".into(), content_type.to_string())],
            body: body.into(),
        }
    }

    pub fn html(status: u16, body: String) -> HttpResponse {
        HttpResponse::new(status, "text/html; charset=utf-8", body)
    }

    pub fn json(status: u16, value: &serde_json::Value) -> HttpResponse {
        HttpResponse::new(status, "application/json", value.to_string())
    }

    pub fn text(status: u16, body: impl Into<String>) -> HttpResponse {
        HttpResponse::new(status, "text/plain; charset=utf-8", body.into())
    }

    /// A redirect (302 or 303) to `location`.
    pub fn redirect(status: u16, location: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("Location".into(), location.to_string())],
            body: Bytes::new(),
        }
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> HttpResponse {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Marks a page that runs the portal's script at `script` (its exact URL):
    /// [`HttpResponse::portal_headers`] then allows that file, and still nothing inline.
    pub fn with_script(self, script: &str) -> HttpResponse {
        self.header("Content-Security-Policy", portal_csp_with_script(script))
    }

    /// The headers every portal response carries, error pages included.
    pub fn portal_headers(self, tls: bool) -> HttpResponse {
        let scripted = self
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("Content-Security-Policy"));
        let r = self
            .header("Cache-Control", "no-store")
            .header("Pragma", "no-cache");
        let r = match scripted {
            true => r,
            false => r.header("Content-Security-Policy", PORTAL_CSP),
        };
        let r = r
            .header("Referrer-Policy", "no-referrer")
            .header("X-Content-Type-Options", "nosniff")
            .header("X-Frame-Options", "DENY");
        if tls {
            r.header("Strict-Transport-Security", HSTS)
        } else {
            r
        }
    }

    /// Builds the pingora response header.
    pub fn response_header(&self) -> pingora::Result<ResponseHeader> {
        let mut h = ResponseHeader::build(self.status, Some(self.headers.len() + 1))?;
        for (name, value) in &self.headers {
            h.append_header(name.clone(), value.as_str())?;
        }
        h.insert_header("Content-Length", self.body.len().to_string())?;
        Ok(h)
    }

    /// Writes the response to the client.
    pub async fn send(self, session: &mut Session) -> pingora::Result<()> {
        let header = self.response_header()?;
        let head_only = session.req_header().method == http::Method::HEAD;
        session
            .write_response_header(Box::new(header), head_only || self.body.is_empty())
            .await?;
        if !head_only && !self.body.is_empty() {
            session.write_response_body(Some(self.body), true).await?;
        }
        Ok(())
    }
}
