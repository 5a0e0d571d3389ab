//! The languages of the portal pages: which ones exist, how one is chosen for a request, and
//! the translator the templates call.
//!
//! The words themselves live in `locales/<tag>/portal.ftl` (Project Fluent), embedded at compile
//! time; English is the fallback for a message another catalog lacks. Plural forms are the
//! catalogs' business (Fluent selectors on a number), never a template's. Bidi isolation marks
//! are off: every argument is a name, a number or a time, and the marks would land in HTML as
//! invisible characters.
//!
//! This module knows nothing of HTTP beyond the text of an `Accept-Language` header.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language the portal speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    PtBr,
    Es,
    Fr,
    De,
}

/// Every language with a catalog, English first.
pub const LANGUAGES: [Lang; 5] = [Lang::En, Lang::PtBr, Lang::Es, Lang::Fr, Lang::De];

impl Lang {
    /// The BCP 47 tag, as written in `<html lang>`, `Content-Language` and the config.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::PtBr => "pt-BR",
            Lang::Es => "es",
            Lang::Fr => "fr",
            Lang::De => "de",
        }
    }

    /// The language whose tag is `tag` exactly (in any case).
    pub fn from_tag(tag: &str) -> Option<Lang> {
        LANGUAGES
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(tag))
    }

    /// The primary language subtag: `pt` for `pt-BR`.
    fn primary(self) -> &'static str {
        self.tag().split('-').next().unwrap_or_default()
    }

    /// The identifier the catalogs are keyed by, parsed once per language rather than on
    /// every lookup.
    fn id(self) -> &'static LanguageIdentifier {
        static IDS: std::sync::LazyLock<[LanguageIdentifier; 5]> = std::sync::LazyLock::new(|| {
            LANGUAGES.map(|l| {
                l.tag()
                    .parse()
                    .expect("every tag is a valid language identifier")
            })
        });
        &IDS[self as usize]
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// The longest `Accept-Language` value read.
const MAX_ACCEPT_LANGUAGE: usize = 1024;

/// The language for a visitor who asks for `accept` (an `Accept-Language` value), among
/// `offered`.
///
/// Ranges are taken by their `q` (highest first, then in the order written; `q=0` refuses).
/// A range matches a language of the same tag, else one of the same primary subtag, so that
/// `pt` and `pt-PT` find `pt-BR`, and `de-AT` finds `de`. `*` takes `default`. Nothing matched,
/// or no header: `default`.
pub fn negotiate(accept: Option<&str>, offered: &[Lang], default: Lang) -> Lang {
    // Browsers send a few dozen bytes; a header much longer than any real one is not read.
    let Some(accept) = accept.filter(|a| a.len() <= MAX_ACCEPT_LANGUAGE) else {
        return default;
    };
    let mut ranges: Vec<(&str, u16)> = accept
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let range = parts.next()?.trim();
            let q = parts
                .filter_map(|p| {
                    let p = p.trim();
                    p.get(..2)
                        .filter(|name| name.eq_ignore_ascii_case("q="))
                        .and_then(|_| p.get(2..))
                })
                .next()
                .map_or(Some(1000), quality)?;
            (!range.is_empty() && q > 0).then_some((range, q))
        })
        .collect();
    // Stable: equal weights keep the order they were written in.
    ranges.sort_by_key(|r| std::cmp::Reverse(r.1));
    for (range, _) in ranges {
        if range == "*" {
            return default;
        }
        if let Some(exact) = offered.iter().find(|l| l.tag().eq_ignore_ascii_case(range)) {
            return *exact;
        }
        let primary = range.split('-').next().unwrap_or_default();
        if let Some(near) = offered
            .iter()
            .find(|l| l.primary().eq_ignore_ascii_case(primary))
        {
            return *near;
        }
    }
    default
}

/// A `q` value in thousandths; `None` when it is not a number from 0 to 1.
fn quality(text: &str) -> Option<u16> {
    let q: f32 = text.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&q)
        .then(|| (q * 1000.0).round() as u16)
}

/// The translator a page is rendered with: every visible word goes through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    /// The message `key`, without arguments.
    pub fn t(&self, key: &str) -> String {
        LOCALES.lookup(self.lang.id(), key)
    }

    /// The message `key`, to be given arguments with [`Msg::num`] and [`Msg::str`]; it is
    /// formatted when displayed.
    pub fn msg(&self, key: &'static str) -> Msg {
        Msg {
            lang: self.lang,
            key,
            args: HashMap::new(),
        }
    }
}

/// A message with its arguments, formatted when displayed (askama escapes the result).
#[derive(Debug, Clone)]
pub struct Msg {
    lang: Lang,
    key: &'static str,
    args: HashMap<Cow<'static, str>, FluentValue<'static>>,
}

impl Msg {
    /// A number argument: Fluent chooses plural forms by it.
    pub fn num(mut self, name: &'static str, value: impl Count) -> Msg {
        self.args
            .insert(Cow::Borrowed(name), FluentValue::from(value.count()));
        self
    }

    /// A text argument (a name, a title, a time).
    pub fn str(mut self, name: &'static str, value: impl fmt::Display) -> Msg {
        self.args
            .insert(Cow::Borrowed(name), FluentValue::from(value.to_string()));
        self
    }
}

/// A whole number a message counts by; templates pass their fields by reference.
pub trait Count {
    fn count(&self) -> i64;
}

impl Count for i64 {
    fn count(&self) -> i64 {
        *self
    }
}

impl Count for u8 {
    fn count(&self) -> i64 {
        i64::from(*self)
    }
}

impl<T: Count> Count for &T {
    fn count(&self) -> i64 {
        (**self).count()
    }
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&LOCALES.lookup_with_args(self.lang.id(), self.key, &self.args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(accept: &str) -> Lang {
        negotiate(Some(accept), &LANGUAGES, Lang::En)
    }

    #[test]
    fn exact_tags_are_chosen_in_any_case() {
        assert_eq!(pick("fr"), Lang::Fr);
        assert_eq!(pick("PT-br"), Lang::PtBr);
        assert_eq!(pick("de"), Lang::De);
    }

    #[test]
    fn regional_and_bare_tags_fall_back_to_their_language() {
        assert_eq!(pick("pt"), Lang::PtBr);
        assert_eq!(pick("pt-PT"), Lang::PtBr);
        assert_eq!(pick("de-AT"), Lang::De);
        assert_eq!(pick("de-CH,de;q=0.9"), Lang::De);
        assert_eq!(pick("es-MX"), Lang::Es);
        assert_eq!(pick("fr-CA"), Lang::Fr);
        assert_eq!(pick("en-GB"), Lang::En);
    }

    #[test]
    fn q_values_order_the_ranges() {
        assert_eq!(pick("en;q=0.5, de;q=0.8, fr;q=0.7"), Lang::De);
        assert_eq!(pick("ja, es;q=0.3, en;q=0.2"), Lang::Es);
        assert_eq!(pick("fr;q=0, de;q=0.1"), Lang::De);
        assert_eq!(
            pick("es;q=1.0,fr;q=1"),
            Lang::Es,
            "equal weights keep their order"
        );
        assert_eq!(
            pick("de;q=2, fr;q=0.5"),
            Lang::Fr,
            "a q above 1 is not a weight"
        );
        assert_eq!(pick("de;q=abc, fr"), Lang::Fr);
        assert_eq!(pick("en;Q=0.2, de;Q=0.9"), Lang::De, "the q is any case");
    }

    #[test]
    fn each_language_has_its_own_identifier() {
        for lang in LANGUAGES {
            assert_eq!(lang.id().to_string(), lang.tag());
        }
    }

    #[test]
    fn an_oversized_header_is_not_read() {
        let long = format!("{}, de", "x-private-tag;q=0.1, ".repeat(100));
        assert!(long.len() > MAX_ACCEPT_LANGUAGE);
        assert_eq!(pick(&long), Lang::En);
        assert_eq!(pick("x-private-tag;q=0.1, de"), Lang::De);
    }

    #[test]
    fn unknown_languages_and_wildcards_take_the_default() {
        assert_eq!(pick("ja"), Lang::En);
        assert_eq!(pick("ja, *;q=0.1"), Lang::En);
        assert_eq!(negotiate(Some("*"), &LANGUAGES, Lang::De), Lang::De);
        assert_eq!(negotiate(Some("ja"), &LANGUAGES, Lang::Fr), Lang::Fr);
        assert_eq!(negotiate(None, &LANGUAGES, Lang::Es), Lang::Es);
        assert_eq!(pick(""), Lang::En);
        assert_eq!(pick(" , ;q=1"), Lang::En);
    }

    #[test]
    fn only_offered_languages_are_chosen() {
        let offered = [Lang::De, Lang::En];
        assert_eq!(
            negotiate(Some("fr, de;q=0.5"), &offered, Lang::En),
            Lang::De
        );
        assert_eq!(negotiate(Some("pt-BR"), &offered, Lang::De), Lang::De);
    }

    #[test]
    fn messages_are_formatted_with_plurals() {
        let en = Tr::new(Lang::En);
        assert_eq!(
            en.msg("recovered-remaining")
                .num("count", 1_i64)
                .to_string(),
            "1 recovery code remains."
        );
        assert_eq!(
            en.msg("recovered-remaining")
                .num("count", 3_i64)
                .to_string(),
            "3 recovery codes remain."
        );
        let de = Tr::new(Lang::De);
        assert_eq!(de.t("login-password"), "Passwort");
    }
}
