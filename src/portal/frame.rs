//! `Frame`: what surrounds every portal page (its language and translator, the operator's
//! brand, the language picker), built once per request, and the one way a page is rendered:
//! inside its frame, with `Content-Language` and a `Vary` that names what chose the language.
//!
//! The language is the picker's cookie when it names an offered language, else the best match
//! for `Accept-Language`, else the operator's `default_language`.

use std::sync::Arc;

use askama::Template;
use http::HeaderMap;

use super::{cookie_value, encode_query, PortalPage};
use crate::config::Brand;
use crate::http_response::HttpResponse;
use crate::i18n::{negotiate, Lang, Msg, Tr};
use crate::State;

/// The cookie the language picker sets.
pub const LANG_COOKIE: &str = "portcullis_lang";

/// The longest address the picker's links come back to.
const MAX_RETURN: usize = 2048;

/// The surroundings of a portal page; templates reach it as `ui`.
#[derive(Debug)]
pub struct Frame {
    pub tr: Tr,
    pub prefix: String,
    pub brand: Arc<Brand>,
    /// One link per offered language; empty when only one is offered.
    pub picker: Vec<PickerLink>,
}

/// A language in the picker: its own name, and the link that chooses it.
#[derive(Debug)]
pub struct PickerLink {
    pub tag: &'static str,
    pub name: String,
    pub href: String,
    pub current: bool,
}

impl Frame {
    /// The frame of a page answering a request with `headers`, whose picker comes back to
    /// `here` (a path on this site, with its query); no picker without `here`.
    pub fn new(state: &State, headers: &HeaderMap, here: Option<&str>) -> Frame {
        let config = state.config();
        let portal = &config.portal;
        let chosen = cookie_value(headers, LANG_COOKIE)
            .and_then(|tag| Lang::from_tag(&tag))
            .filter(|lang| portal.languages.contains(lang));
        let lang = chosen.unwrap_or_else(|| {
            let accept = headers
                .get(http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok());
            negotiate(accept, &portal.languages, portal.default_language)
        });
        let prefix = state.prefix();
        let picker = match here {
            // An address too long to come back to gets no picker (its links would be as long,
            // five times over, and refused in turn).
            Some(here) if portal.languages.len() > 1 && here.len() <= MAX_RETURN => {
                let back = encode_query(here);
                portal
                    .languages
                    .iter()
                    .map(|&l| PickerLink {
                        tag: l.tag(),
                        name: Tr::new(l).t("language-name"),
                        href: format!(
                            "{}?set={}&rd={back}",
                            PortalPage::Language.at(prefix),
                            l.tag()
                        ),
                        current: l == lang,
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        Frame {
            tr: Tr::new(lang),
            prefix: prefix.to_string(),
            brand: Arc::clone(&portal.brand),
            picker,
        }
    }

    /// The frame of an answer that is no page for people: the default language, no picker.
    pub fn plain(state: &State) -> Frame {
        let config = state.config();
        Frame {
            tr: Tr::new(config.portal.default_language),
            prefix: state.prefix().to_string(),
            brand: Arc::clone(&config.portal.brand),
            picker: Vec::new(),
        }
    }

    /// The page's language tag, for `<html lang>`.
    pub fn lang(&self) -> &'static str {
        self.tr.lang.tag()
    }

    /// The message `key` in the page's language.
    pub fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }

    /// The message `key` with arguments to come.
    pub fn msg(&self, key: &'static str) -> Msg {
        self.tr.msg(key)
    }

    /// Renders `page` inside this frame.
    pub fn render(&self, status: u16, page: &impl Template) -> HttpResponse {
        match page.render() {
            Ok(html) => HttpResponse::html(status, html)
                .header("Content-Language", self.lang())
                .header("Vary", "Accept-Language, Cookie"),
            Err(e) => {
                tracing::error!("template failed: {e}");
                HttpResponse::text(500, "internal error")
            }
        }
    }
}
