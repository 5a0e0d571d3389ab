//! The message catalogs and the templates: every catalog has exactly English's keys and every
//! message formats without error, and no template holds words of its own (every visible word
//! comes from a catalog).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use fluent_templates::fluent_bundle::{FluentArgs, FluentBundle, FluentResource};

const LANGUAGES: [&str; 5] = ["en", "pt-BR", "es", "fr", "de"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.ftl` file of language `lang`, one after another (the gateway loads them all).
fn catalog_text(lang: &str) -> String {
    let dir = root().join("locales").join(lang);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ftl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: no catalog", dir.display());
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect::<Vec<_>>()
        .join("\n")
}

fn resource(lang: &str) -> FluentResource {
    FluentResource::try_new(catalog_text(lang))
        .unwrap_or_else(|(_, errors)| panic!("{lang}: the catalog does not parse: {errors:?}"))
}

/// The message ids catalog `lang` defines (a message starts a line with `id =`); the catalog
/// must also parse as a whole.
fn keys(lang: &str) -> BTreeSet<String> {
    resource(lang);
    catalog_text(lang)
        .lines()
        .filter_map(|line| line.split_once(" ="))
        .map(|(id, _)| id)
        .filter(|id| {
            id.starts_with(|c: char| c.is_ascii_lowercase())
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn every_catalog_has_exactly_the_keys_english_has() {
    let english = keys("en");
    assert!(english.len() > 100, "{} keys", english.len());
    for lang in LANGUAGES {
        let these = keys(lang);
        let missing: Vec<_> = english.difference(&these).collect();
        let extra: Vec<_> = these.difference(&english).collect();
        assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        assert!(extra.is_empty(), "{lang} has keys English lacks: {extra:?}");
    }
}

#[test]
fn every_message_formats_without_error_in_every_catalog() {
    for lang in LANGUAGES {
        let mut bundle = FluentBundle::new(vec![lang.parse().unwrap()]);
        bundle.set_use_isolating(false);
        bundle.add_resource(resource(lang)).unwrap();
        for key in keys(lang) {
            let message = bundle.get_message(&key).unwrap();
            let pattern = message
                .value()
                .unwrap_or_else(|| panic!("{lang}: {key} has no value"));
            // Every argument any message takes; a message naming another is a mistake.
            for count in [0, 1, 2, 5, 21] {
                let mut args = FluentArgs::new();
                for name in ["count", "minutes", "digits"] {
                    args.set(name, count);
                }
                for name in [
                    "title",
                    "time",
                    "issuer",
                    "username",
                    "date",
                    "browser",
                    "system",
                    "ip",
                    "signed_in",
                    "last_active",
                    "since",
                    "until",
                    "name",
                    "created",
                    "last_used",
                    "places",
                    "rp",
                ] {
                    args.set(name, "x");
                }
                let mut errors = Vec::new();
                let text = bundle.format_pattern(pattern, Some(&args), &mut errors);
                assert!(errors.is_empty(), "{lang}: {key}: {errors:?}");
                assert!(!text.trim().is_empty(), "{lang}: {key} is empty");
                assert!(
                    !text.contains('\u{2068}'),
                    "{lang}: {key} has isolation marks"
                );
            }
        }
    }
}

#[test]
fn plurals_are_chosen_by_the_catalog() {
    let mut bundle = FluentBundle::new(vec!["en".parse().unwrap()]);
    bundle.set_use_isolating(false);
    bundle.add_resource(resource("en")).unwrap();
    let say = |count: i64| {
        let pattern = bundle
            .get_message("recovered-remaining")
            .unwrap()
            .value()
            .unwrap();
        let mut args = FluentArgs::new();
        args.set("count", count);
        bundle
            .format_pattern(pattern, Some(&args), &mut Vec::new())
            .to_string()
    };
    assert_eq!(say(1), "1 recovery code remains.");
    assert_eq!(say(3), "3 recovery codes remain.");
    assert_eq!(say(0), "No recovery codes remain.");
}

/// The HTML templates.
fn templates() -> Vec<(PathBuf, String)> {
    let dir = root().join("templates");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "html") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path, text));
        }
    }
    assert!(out.len() >= 8, "templates found: {}", out.len());
    out
}

/// `text` with every `{{ … }}`, `{% … %}` and `{# … #}` replaced by a space.
fn without_expressions(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(['{']) {
        let closing = match rest[start..].chars().nth(1) {
            Some('{') => "}}",
            Some('%') => "%}",
            Some('#') => "#}",
            _ => {
                out.push_str(&rest[..=start]);
                rest = &rest[start + 1..];
                continue;
            }
        };
        out.push_str(&rest[..start]);
        out.push(' ');
        let end = rest[start..]
            .find(closing)
            .unwrap_or_else(|| panic!("unclosed {closing} in a template"));
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// The words a template shows by itself: text between tags, and the values of attributes
/// people read (`title`, `placeholder`, `aria-label`, `alt`, `value` of buttons).
fn literal_words(template: &str) -> Vec<String> {
    let bare = without_expressions(template);
    let mut found = Vec::new();
    // Text nodes.
    for piece in bare.split('<').skip(1) {
        let Some((tag, text)) = piece.split_once('>') else {
            continue;
        };
        let text = text.trim();
        let in_style = tag.starts_with("style");
        if !in_style && text.chars().any(char::is_alphabetic) {
            found.push(text.to_string());
        }
        for attribute in ["title", "placeholder", "aria-label", "alt", "summary"] {
            let needle = format!(" {attribute}=\"");
            if let Some(start) = tag.find(&needle) {
                let value = &tag[start + needle.len()..];
                let value = value.split('"').next().unwrap_or_default();
                if value.chars().any(char::is_alphabetic) {
                    found.push(format!("{attribute}=\"{value}\""));
                }
            }
        }
    }
    found
}

#[test]
fn templates_hold_no_words_of_their_own() {
    for (path, text) in templates() {
        let words = literal_words(&text);
        assert!(
            words.is_empty(),
            "{} shows words that no catalog holds: {words:?}",
            path.display()
        );
    }
}

#[test]
fn the_literal_text_check_finds_words() {
    assert_eq!(
        literal_words("<p>{{ ui.t(\"x\") }}</p><button>Sign in</button>"),
        vec!["Sign in"]
    );
    assert_eq!(
        literal_words("<input placeholder=\"Your name\" value=\"{{ v }}\">"),
        vec!["placeholder=\"Your name\""]
    );
    assert_eq!(
        literal_words("<nav aria-label=\"{{ ui.t(\"picker-label\") }}\"></nav> · "),
        Vec::<String>::new()
    );
    assert!(Path::new(&root().join("templates/base.html")).exists());
}
