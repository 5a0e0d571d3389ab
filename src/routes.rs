//! Host and path matching: which app a request belongs to and which rules apply to it.
//!
//! Owns the routing concepts ([`App`], [`Rule`], [`Policy`], [`Upstream`]) that `config.rs`
//! builds from the file. Pure functions; no pingora types, no I/O. Globs are
//! compiled once at load: `*` stands for one path segment (or part of one, as in `*.css`),
//! `**` for any number of segments, including none.
//!
//! A rule must hold for every spelling of a path that the app behind the gateway resolves to
//! it, or it protects nothing (Apache Shiro CVE-2020-1957 and its family). So a request path is
//! matched in each of its [`spellings`]: as sent, once percent-decoded, and with what
//! mainstream app servers remove or fold before routing (`;parameters`, case, trailing dots and
//! spaces, ASP.NET cookieless-session segments, a trailing slash, a second decoding). Every
//! rule reached this way is an [`Outcome`]; the policy decides on the strictest of them, so a
//! spelling can only ever make a request stricter, and `bypass` applies only when every
//! spelling is bypassed. The app still receives the path as sent.

use std::borrow::Cow;
use std::collections::HashMap;

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

/// The most segments a glob may have (the matcher keeps its positions in a 64-bit set).
pub const MAX_GLOB_SEGMENTS: usize = 63;

/// A compiled path glob, as written and case-folded (for apps that ignore case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    text: String,
    segments: Vec<Segment>,
    folded: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `**`: zero or more segments.
    Any,
    /// A segment pattern; `*` inside matches any run of characters but `/`.
    Pattern(String),
}

impl Glob {
    /// Compiles a glob; it must be an absolute path.
    pub fn compile(text: &str) -> Result<Glob, String> {
        if !text.starts_with('/') {
            return Err("must start with `/`".into());
        }
        let mut segments = Vec::new();
        for part in text[1..].split('/') {
            if part == "**" {
                if segments.last() != Some(&Segment::Any) {
                    segments.push(Segment::Any);
                }
            } else if part.contains("**") {
                return Err("`**` must be a whole segment, as in `/a/**`".into());
            } else {
                segments.push(Segment::Pattern(part.to_string()));
            }
        }
        if segments.len() > MAX_GLOB_SEGMENTS {
            return Err(format!("at most {MAX_GLOB_SEGMENTS} segments"));
        }
        let folded = segments
            .iter()
            .map(|s| match s {
                Segment::Any => Segment::Any,
                Segment::Pattern(p) => Segment::Pattern(fold_case(p).into_owned()),
            })
            .collect();
        Ok(Glob {
            text: text.to_string(),
            segments,
            folded,
        })
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Matches a normalised path (see [`normalize_path`]), case as written.
    pub fn matches(&self, path: &str) -> bool {
        self.matches_segments(&segments(path), false)
    }

    /// Matches a path already split by [`segments`] (split once, matched against many globs);
    /// `folded` compares with the case-folded glob (the path must be folded too).
    pub fn matches_segments(&self, segs: &[&str], folded: bool) -> bool {
        let globs = if folded { &self.folded } else { &self.segments };
        match_segments(globs, segs)
    }
}

/// The segments of a normalised path: `/a/b` is `["a", "b"]`, `/` is `[""]`.
pub fn segments(path: &str) -> Vec<&str> {
    path.strip_prefix('/').unwrap_or(path).split('/').collect()
}

/// Matches in O(globs × segments): the set of glob positions reachable after each segment
/// (a bit set: globs have at most [`MAX_GLOB_SEGMENTS`]) is carried forward, so no path,
/// however long, makes matching backtrack. Globs without `**` match segment for segment.
fn match_segments(globs: &[Segment], segs: &[&str]) -> bool {
    let one = |p: &str, seg: &str| wildcard(p.as_bytes(), seg.as_bytes());
    if !globs.contains(&Segment::Any) {
        return globs.len() == segs.len()
            && globs
                .iter()
                .zip(segs)
                .all(|(g, seg)| matches!(g, Segment::Pattern(p) if one(p, seg)));
    }
    let mut here = close_over_any(globs, 1);
    for seg in segs {
        let mut next = 0u64;
        for (i, glob) in globs.iter().enumerate() {
            if here & (1 << i) == 0 {
                continue;
            }
            match glob {
                Segment::Any => next |= 1 << i,
                Segment::Pattern(p) if one(p, seg) => next |= 1 << (i + 1),
                Segment::Pattern(_) => {}
            }
        }
        here = close_over_any(globs, next);
        if here == 0 {
            return false;
        }
    }
    here & (1 << globs.len()) != 0
}

/// `**` also matches no segment: a position before it reaches the position after it.
fn close_over_any(globs: &[Segment], mut reach: u64) -> u64 {
    for (i, glob) in globs.iter().enumerate() {
        if reach & (1 << i) != 0 && *glob == Segment::Any {
            reach |= 1 << (i + 1);
        }
    }
    reach
}

/// `*` matches any run of bytes; everything else matches itself.
fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

/// Why a path cannot be routed.
#[derive(Debug, PartialEq, Eq)]
pub enum PathError {
    /// Not an absolute path.
    NotAbsolute,
    /// A `.` or `..` segment (also percent-encoded, with `;parameters`, or padded with dots
    /// and spaces that Windows servers strip), or a NUL: a traversal attempt.
    DotSegment,
}

/// The path a rule is matched against: percent-decoded once, `\` read as `/`, empty segments
/// collapsed. Dot segments are refused rather than resolved, so that the gateway and the
/// upstream can never disagree about which path a request names.
pub fn normalize_path(raw: &str) -> Result<String, PathError> {
    if !raw.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(raw).collect();
    collapse(&String::from_utf8_lossy(&decoded), &['/', '\\'])
}

/// Splits on `separators`, refuses dot segments and NULs, drops empty segments; a trailing
/// separator is kept as a trailing `/`.
fn collapse(path: &str, separators: &[char]) -> Result<String, PathError> {
    let mut out = String::with_capacity(path.len() + 1);
    for seg in path.split(separators) {
        if seg.is_empty() {
            continue;
        }
        if is_dot_segment(seg) || seg.contains('\0') {
            return Err(PathError::DotSegment);
        }
        out.push('/');
        out.push_str(seg);
    }
    if out.is_empty() || path.ends_with(separators) {
        out.push('/');
    }
    Ok(out)
}

/// `.` or `..`, also with `;parameters` (which Java servers strip before resolving), padded
/// with more dots or spaces (which Windows servers strip: `.. ` is `..` to IIS), and also
/// when percent-encoded once more (for apps that decode twice).
fn is_dot_segment(seg: &str) -> bool {
    let dots = |s: &str| {
        let bare = s.split(';').next().unwrap_or(s);
        bare.contains('.') && bare.chars().all(|c| c == '.' || c.is_whitespace())
    };
    if dots(seg) {
        return true;
    }
    if seg.contains('%') {
        let again: Vec<u8> = percent_encoding::percent_decode_str(seg).collect();
        return dots(&String::from_utf8_lossy(&again));
    }
    false
}

/// One way of reading a request path, and whether it is case-folded (then it is matched
/// against the folded globs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spelling {
    pub path: String,
    pub folded: bool,
}

/// Every path an app server could resolve `raw` (the path as sent) to, the normalised one
/// first. Each spelling is built by a subset of these steps, in this order, so that every
/// server's combination of them is covered:
///
/// - percent-decoding once (always) and once more (apps behind a decoding proxy, or that
///   decode twice): `%252e` is `%2e` to one and `.` to the other;
/// - removing `;parameters` from every segment (Tomcat, Jetty, Spring: `/a;jsessionid=1/b`
///   is `/a/b`);
/// - removing ASP.NET cookieless-session segments (`/(S(x))/a` is `/a`);
/// - removing leading white space and trailing dots, white space and `::$DATA` from every
///   segment (IIS and ASP.NET, for Windows file names; Spring's trimmed path tokens);
/// - removing a trailing slash (Express, Spring, and most frameworks' non-strict routing);
/// - case folding, unless the app is `case_sensitive` (Express, IIS and ASP.NET route
///   without regard to case; folding is Unicode-aware, so `ſ` and `K` fold like Java and .NET
///   fold them).
///
/// The path as sent but not decoded is a spelling too (an app that routes on the raw path
/// does not see `/%70ublic` as `/public`). More spellings only ever make a request stricter.
pub fn spellings(raw: &str, fold: bool) -> Result<Vec<Spelling>, PathError> {
    let normalized = normalize_path(raw)?;
    let mut list = vec![Spelling {
        path: normalized,
        folded: false,
    }];
    if raw.contains('%') {
        let undecoded = collapse(raw, &['/'])?;
        push_new(&mut list, undecoded, false);
    }
    // Decoding again can reveal dot segments: refuse them like the first decoding does.
    for i in 0..list.len() {
        if let Some(again) = decode_again(&list[i].path)? {
            push_new(&mut list, again, false);
        }
    }
    let steps: [fn(&str) -> Option<String>; 4] = [
        strip_parameters,
        strip_cookieless,
        trim_segments,
        strip_trailing_slash,
    ];
    for step in steps {
        for i in 0..list.len() {
            if let Some(next) = step(&list[i].path) {
                push_new(&mut list, next, false);
            }
        }
    }
    if fold {
        for i in 0..list.len() {
            let folded = fold_case(&list[i].path).into_owned();
            push_new(&mut list, folded, true);
        }
        // An unchanged path folds to itself: matched against folded globs all the same.
    }
    Ok(list)
}

fn push_new(list: &mut Vec<Spelling>, path: String, folded: bool) {
    if !list.iter().any(|s| s.folded == folded && s.path == path) {
        list.push(Spelling { path, folded });
    }
}

fn decode_again(path: &str) -> Result<Option<String>, PathError> {
    if !path.contains('%') {
        return Ok(None);
    }
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(path).collect();
    let again = collapse(&String::from_utf8_lossy(&decoded), &['/', '\\'])?;
    Ok((again != path).then_some(again))
}

/// Rebuilds a normalised path with `f` applied to every segment; `None` when nothing changed.
fn map_segments(path: &str, f: impl Fn(&str) -> &str) -> Option<String> {
    let mut changed = false;
    let mut out = String::with_capacity(path.len());
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        let new = f(seg);
        changed |= new.len() != seg.len();
        if !new.is_empty() {
            out.push('/');
            out.push_str(new);
        }
    }
    if !changed {
        return None;
    }
    if out.is_empty() || path.ends_with('/') {
        out.push('/');
    }
    Some(out)
}

fn strip_parameters(path: &str) -> Option<String> {
    if !path.contains(';') {
        return None;
    }
    map_segments(path, |seg| seg.split(';').next().unwrap_or(seg))
}

/// `(S(…))`, `(A(…))`, `(F(…))`: ASP.NET keeps session ids in such segments and routes
/// without them.
fn strip_cookieless(path: &str) -> Option<String> {
    if !path.contains("))") {
        return None;
    }
    map_segments(path, |seg| {
        let b = seg.as_bytes();
        let cookieless = b.len() >= 5 && b[0] == b'(' && b[1].is_ascii_alphabetic() && b[2] == b'(';
        if cookieless && seg.ends_with("))") {
            ""
        } else {
            seg
        }
    })
}

fn trim_segments(path: &str) -> Option<String> {
    map_segments(path, |seg| {
        let mut s = seg.trim_start();
        loop {
            let before = s.len();
            s = s.trim_end_matches(|c: char| c == '.' || c.is_whitespace());
            let n = s.len();
            if n >= 7 && s.is_char_boundary(n - 7) && s[n - 7..].eq_ignore_ascii_case("::$data") {
                s = &s[..n - 7];
            }
            if s.len() == before {
                return s;
            }
        }
    })
}

fn strip_trailing_slash(path: &str) -> Option<String> {
    (path.len() > 1 && path.ends_with('/')).then(|| path[..path.len() - 1].to_string())
}

/// Case folding as case-insensitive servers compare: each character upper-cased, then
/// lower-cased, so `ſ` (long s) and `K` (Kelvin sign) fold to `s` and `k` as they do in Java's
/// and .NET's ignore-case comparisons.
pub fn fold_case(s: &str) -> Cow<'_, str> {
    if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .flat_map(char::to_uppercase)
            .flat_map(char::to_lowercase)
            .collect(),
    )
}

/// What a route demands of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    Bypass,
    OneFactor,
    TwoFactor,
    Deny,
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Policy::Bypass => "bypass",
            Policy::OneFactor => "one_factor",
            Policy::TwoFactor => "two_factor",
            Policy::Deny => "deny",
        })
    }
}

/// Where an app's requests go.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// As written in the file, for the route table.
    pub text: String,
    pub addr: SocketAddr,
    pub tls: bool,
    /// SNI and certificate name for TLS upstreams.
    pub host: String,
    pub verify: bool,
}

/// One `[[apps]]` entry, compiled.
#[derive(Debug, Clone)]
pub struct App {
    pub name: String,
    /// Lower-case host names without port; empty: any host.
    pub hosts: Vec<String>,
    pub upstream: Upstream,
    /// Connecting to the upstream (TCP and TLS) must take no longer than this.
    pub connect_timeout: Duration,
    /// Longest wait for the response head, and between two reads of the response body.
    pub upstream_timeout: Duration,
    pub default_policy: Policy,
    /// Whether the app distinguishes paths by case (`[[apps]] case_sensitive`); when not,
    /// rules also apply to every case-folded spelling of a path.
    pub case_sensitive: bool,
    pub rules: Vec<Rule>,
    /// This app's metrics, made when it first counts (see `metrics.rs`).
    pub meters: crate::metrics::AppSlot,
}

/// One `[[apps.rules]]` entry, compiled.
#[derive(Debug, Clone)]
pub struct Rule {
    pub paths: Vec<Glob>,
    /// Upper-case method names; `None`: any method.
    pub methods: Option<Vec<String>>,
    pub policy: Policy,
    pub groups: Vec<String>,
    pub users: Vec<String>,
}

impl Rule {
    /// Whether the rule names a subject (users or groups) the session must match.
    pub fn has_subject(&self) -> bool {
        !self.groups.is_empty() || !self.users.is_empty()
    }
}

/// The app table: exact hosts first, then the one app without hosts, if any.
#[derive(Debug, Clone)]
pub struct Router {
    apps: Vec<App>,
    by_host: HashMap<String, usize>,
    any_host: Option<usize>,
    /// Per app: whether every glob folds to itself (then a path that folds to itself matches
    /// folded and as written alike, and one pass over the rules is enough).
    fold_invariant: Vec<bool>,
}

/// A rule a request falls under (or the app's default policy, when `rule` is `None`).
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'a> {
    pub rule: Option<&'a Rule>,
    pub policy: Policy,
}

/// Which app a request belongs to and every rule its spellings reach.
#[derive(Debug, Clone)]
pub struct Route<'a> {
    pub app: &'a App,
    pub app_index: usize,
    /// One per distinct rule reached; never empty. The first is the path's normalised
    /// spelling's, which is what the route table shows.
    pub outcomes: Vec<Outcome<'a>>,
}

impl Route<'_> {
    /// Whether any outcome depends on who is asking (so the session must be looked up).
    pub fn needs_session(&self) -> bool {
        self.outcomes
            .iter()
            .any(|o| matches!(o.policy, Policy::OneFactor | Policy::TwoFactor))
    }
}

impl Router {
    pub fn new(apps: Vec<App>) -> Router {
        let mut by_host = HashMap::new();
        let mut any_host = None;
        for (i, app) in apps.iter().enumerate() {
            if app.hosts.is_empty() {
                any_host = Some(i);
            }
            for h in &app.hosts {
                by_host.insert(h.clone(), i);
            }
        }
        let fold_invariant = apps
            .iter()
            .map(|app| {
                app.rules
                    .iter()
                    .flat_map(|r| &r.paths)
                    .all(|g| g.segments == g.folded)
            })
            .collect();
        Router {
            apps,
            by_host,
            any_host,
            fold_invariant,
        }
    }

    pub fn apps(&self) -> &[App] {
        &self.apps
    }

    /// Whether `host` (lower-case, without port) is one of the apps' hosts.
    pub fn knows_host(&self, host: &str) -> bool {
        self.by_host
            .contains_key(host.strip_suffix('.').unwrap_or(host))
    }

    /// Whether an app without `hosts` serves every other host.
    pub fn has_catch_all(&self) -> bool {
        self.any_host.is_some()
    }

    /// The app serving `host` (as sent, with or without port, any case).
    pub fn app_for_host(&self, host: &str) -> Option<(usize, &App)> {
        // `example.com.` is the same host as `example.com` to DNS and to most servers.
        let bare = strip_port(host);
        let bare = bare.strip_suffix('.').unwrap_or(bare);
        let index = if bare.bytes().any(|b| b.is_ascii_uppercase()) {
            self.by_host.get(&bare.to_ascii_lowercase()).copied()
        } else {
            self.by_host.get(bare).copied()
        }
        .or(self.any_host)?;
        Some((index, &self.apps[index]))
    }

    /// Finds the app and every rule that a request's path (as sent) reaches in any of its
    /// [`spellings`]. `Err` for a path that must not be routed at all (400), `Ok(None)` when
    /// no app serves the host (404).
    pub fn route(
        &self,
        host: &str,
        method: &str,
        raw_path: &str,
    ) -> Result<Option<Route<'_>>, PathError> {
        let normalized = normalize_path(raw_path)?;
        let Some((app_index, app)) = self.app_for_host(host) else {
            return Ok(None);
        };
        let mut outcomes: Vec<Outcome<'_>> = Vec::with_capacity(1);
        let mut add = |path: &str, folded: bool| {
            let outcome = first_rule(app, method, path, folded);
            let seen = outcomes.iter().any(|o| match (o.rule, outcome.rule) {
                (Some(a), Some(b)) => std::ptr::eq(a, b),
                (None, None) => true,
                _ => false,
            });
            if !seen {
                outcomes.push(outcome);
            }
        };
        let fold = !app.case_sensitive;
        if raw_path == normalized && is_plain(&normalized, fold) {
            // The common case: nothing any server would strip, fold or decode differently.
            add(&normalized, false);
            if fold && !self.fold_invariant[app_index] {
                add(&normalized, true);
            }
        } else {
            for spelling in spellings(raw_path, fold)? {
                add(&spelling.path, spelling.folded);
            }
        }
        Ok(Some(Route {
            app,
            app_index,
            outcomes,
        }))
    }
}

/// True for a path that every spelling step leaves alone: ASCII letters (lower-case only
/// when the app folds case), digits, `-_~+,=@/` and dots inside segments, no trailing slash
/// (the root aside).
fn is_plain(path: &str, fold: bool) -> bool {
    let b = path.as_bytes();
    let trailing_ok = b.len() == 1 || b.last() != Some(&b'/');
    trailing_ok
        && b.iter().enumerate().all(|(i, &c)| match c {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'~' | b'+' | b',' | b'=' | b'@' | b'/' => {
                true
            }
            b'A'..=b'Z' => !fold,
            // A dot that ends a segment is what Windows strips.
            b'.' => b.get(i + 1).is_some_and(|&n| n != b'/'),
            _ => false,
        })
}

/// The first rule of `app` that matches (method and path), else the default policy.
fn first_rule<'a>(app: &'a App, method: &str, path: &str, folded: bool) -> Outcome<'a> {
    let segs = segments(path);
    let rule = app.rules.iter().find(|rule| {
        rule.methods
            .as_ref()
            .is_none_or(|m| method_listed(m, method))
            && rule.paths.iter().any(|g| g.matches_segments(&segs, folded))
    });
    Outcome {
        rule,
        policy: rule.map_or(app.default_policy, |r| r.policy),
    }
}

/// Whether `method` is among `listed`. A rule that lists GET also covers HEAD: servers answer
/// HEAD with their GET handler, so a HEAD must not slip past a GET-only rule.
fn method_listed(listed: &[String], method: &str) -> bool {
    listed.iter().any(|m| {
        m.eq_ignore_ascii_case(method) || (m == "GET" && method.eq_ignore_ascii_case("HEAD"))
    })
}

/// `host:port` or `[v6]:port` to the bare host.
pub fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// A `Host` as a proxy may name it: a DNS name (letters, digits, `-`, `_`, `.`), an IPv4
/// address or a bracketed IPv6 address, with an optional numeric port. Returns the bare host,
/// lower-cased (IPv6 in brackets); `None` for anything else (`a@b`, spaces, paths, `[a]@b`).
pub fn plain_host(host: &str) -> Option<String> {
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        v6.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (&host[..v6.len() + 2], port)
    } else {
        let (name, port) = match host.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (host, None),
        };
        let name_ok = !name.is_empty()
            && name.len() <= 253
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if !name_ok {
            return None;
        }
        (name, port)
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.parse::<u16>().is_err() {
            return None;
        }
    }
    Some(name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Glob {
        Glob::compile(s).unwrap()
    }

    #[test]
    fn single_star_is_one_segment() {
        assert!(g("/a/*").matches("/a/b"));
        assert!(!g("/a/*").matches("/a/b/c"));
        assert!(!g("/a/*").matches("/a"));
        assert!(g("/static/*.css").matches("/static/site.css"));
        assert!(!g("/static/*.css").matches("/static/x/site.css"));
    }

    #[test]
    fn double_star_is_any_depth() {
        assert!(g("/public/**").matches("/public"));
        assert!(g("/public/**").matches("/public/"));
        assert!(g("/public/**").matches("/public/a/b/c"));
        assert!(!g("/public/**").matches("/publicity"));
        assert!(g("/**/x").matches("/a/b/x"));
        assert!(g("/**").matches("/"));
        assert!(g("/favicon.ico").matches("/favicon.ico"));
    }

    #[test]
    fn traversal_is_refused_and_encodings_decoded() {
        assert_eq!(
            normalize_path("/public/../admin"),
            Err(PathError::DotSegment)
        );
        assert_eq!(
            normalize_path("/public/%2e%2e/admin"),
            Err(PathError::DotSegment)
        );
        assert_eq!(
            normalize_path("/public\\..\\admin"),
            Err(PathError::DotSegment)
        );
        assert_eq!(normalize_path("//admin//x").unwrap(), "/admin/x");
        assert_eq!(normalize_path("/%61dmin").unwrap(), "/admin");
        assert_eq!(normalize_path("/").unwrap(), "/");
        assert_eq!(normalize_path("/a/").unwrap(), "/a/");
        assert_eq!(normalize_path("x"), Err(PathError::NotAbsolute));
    }

    #[test]
    fn java_path_parameters_and_double_encoding_do_not_hide_dot_segments() {
        assert_eq!(
            normalize_path("/public/..;/admin/x"),
            Err(PathError::DotSegment)
        );
        assert_eq!(
            normalize_path("/public/.;x=1/admin"),
            Err(PathError::DotSegment)
        );
        assert_eq!(
            normalize_path("/public/%2e%2e%3b/admin"),
            Err(PathError::DotSegment)
        );
        assert_eq!(
            normalize_path("/public/%252e%252e/admin"),
            Err(PathError::DotSegment)
        );
        assert_eq!(normalize_path("/a;b/c").unwrap(), "/a;b/c");
        assert_eq!(
            normalize_path("/files/..hidden").unwrap(),
            "/files/..hidden"
        );
    }

    #[test]
    fn long_paths_match_in_linear_time() {
        let glob = g("/**/a/**/a/**/b");
        let long: String = "/a".repeat(4000);
        let started = std::time::Instant::now();
        assert!(!glob.matches(&long));
        assert!(glob.matches(&format!("{long}/b")));
        // Exponential backtracking took seconds here; linear matching takes microseconds.
        assert!(started.elapsed() < std::time::Duration::from_millis(500));
    }

    #[test]
    fn get_rules_cover_head() {
        assert!(method_listed(&["GET".into()], "HEAD"));
        assert!(!method_listed(&["POST".into()], "HEAD"));
        assert!(method_listed(&["POST".into()], "post"));
    }

    /// One app with a rule for every policy; `case_sensitive` as given.
    fn router(case_sensitive: bool) -> Router {
        let text = format!(
            r#"
[[apps]]
name = "app"
upstream = "127.0.0.1:1"
default_policy = "one_factor"
case_sensitive = {case_sensitive}
[[apps.rules]]
paths = ["/public/**", "/favicon.ico"]
policy = "bypass"
[[apps.rules]]
paths = ["/secure/**"]
policy = "two_factor"
[[apps.rules]]
paths = ["/closed/**", "/admin", "/keys/**", "/Reports/**"]
policy = "deny"
"#
        );
        crate::config::Config::parse(std::path::Path::new("t.toml"), &text)
            .unwrap()
            .router
    }

    fn rank(p: Policy) -> u8 {
        match p {
            Policy::Bypass => 0,
            Policy::OneFactor => 1,
            Policy::TwoFactor => 2,
            Policy::Deny => 3,
        }
    }

    /// The strictest policy any spelling of `path` reaches, or the path error.
    fn judged(r: &Router, path: &str) -> Result<Policy, PathError> {
        let route = r.route("any.test", "GET", path)?.expect("an app");
        Ok(route
            .outcomes
            .iter()
            .map(|o| o.policy)
            .max_by_key(|p| rank(*p))
            .unwrap())
    }

    fn table(r: &Router, family: &str, rows: &[(&str, Result<Policy, PathError>)]) {
        for (path, want) in rows {
            assert_eq!(&judged(r, path), want, "{family}: {path}");
        }
    }

    use Policy::{Bypass, Deny, OneFactor, TwoFactor};

    #[test]
    fn tomcat_jetty_and_spring_spellings_keep_their_rule() {
        // Path parameters are stripped from every segment before routing; Spring also
        // matches with a trailing slash and trims white space from path tokens.
        table(
            &router(false),
            "Tomcat/Jetty/Spring",
            &[
                ("/secure;x/a", Ok(TwoFactor)),
                ("/secure;jsessionid=1/a", Ok(TwoFactor)),
                ("/secure%3bjsessionid=1/a", Ok(TwoFactor)),
                ("/secure/a;x", Ok(TwoFactor)),
                ("/closed;/a", Ok(Deny)),
                ("/;x/closed/a", Ok(Deny)),
                ("/admin;x=1", Ok(Deny)),
                ("/admin/", Ok(Deny)),
                ("/admin;/", Ok(Deny)),
                ("/admin%20", Ok(Deny)),
                ("/%20admin", Ok(Deny)),
                ("/admin%09", Ok(Deny)),
                ("/public/..;/closed/a", Err(PathError::DotSegment)),
                ("/public;x/../closed", Err(PathError::DotSegment)),
                ("/public/.;x/closed", Err(PathError::DotSegment)),
            ],
        );
    }

    #[test]
    fn express_spellings_keep_their_rule() {
        // Express routes without regard to case, and `/a/` as `/a` (non-strict routing).
        table(
            &router(false),
            "Express",
            &[
                ("/SECURE/a", Ok(TwoFactor)),
                ("/Secure/a", Ok(TwoFactor)),
                ("/Closed/a", Ok(Deny)),
                ("/ADMIN", Ok(Deny)),
                ("/ADMIN/", Ok(Deny)),
                ("/%53ECURE/a", Ok(TwoFactor)),
                // A rule written with capitals also holds for the lower-case spelling.
                ("/reports/q3", Ok(Deny)),
            ],
        );
    }

    #[test]
    fn iis_and_asp_net_spellings_keep_their_rule() {
        // Windows drops trailing dots and spaces (and reads `::$DATA` as the file), reads `\`
        // as `/`, ignores case (Unicode-aware), and ASP.NET drops cookieless-session segments.
        table(
            &router(false),
            "IIS/ASP.NET",
            &[
                ("/secure./a", Ok(TwoFactor)),
                ("/secure%20/a", Ok(TwoFactor)),
                ("/secure.%20./a", Ok(TwoFactor)),
                ("/secure%2e/a", Ok(TwoFactor)),
                ("/admin.", Ok(Deny)),
                ("/admin::$DATA", Ok(Deny)),
                ("/closed::$data/x", Ok(Deny)),
                ("/closed\\a", Ok(Deny)),
                ("/(S(lit3py55t21z5v55vlm25s55))/closed/a", Ok(Deny)),
                ("/(A(x))/admin", Ok(Deny)),
                // ſ (long s) upper-cases to S, and the Kelvin sign lower-cases to k.
                ("/%C5%BFecure/a", Ok(TwoFactor)),
                ("/%E2%84%AAeys/x", Ok(Deny)),
                ("/public/..%20/closed", Err(PathError::DotSegment)),
                ("/public/%2e%2e%20/closed", Err(PathError::DotSegment)),
                ("/public/.../closed", Err(PathError::DotSegment)),
                ("/public/%20../closed", Err(PathError::DotSegment)),
            ],
        );
    }

    #[test]
    fn django_flask_go_and_nginx_spellings_keep_their_rule() {
        // These decode once and collapse slashes; an app behind another decoding proxy
        // decodes twice.
        table(
            &router(false),
            "Django/Flask/Go/nginx",
            &[
                ("/%73ecure/a", Ok(TwoFactor)),
                ("//secure//a", Ok(TwoFactor)),
                ("/secure%2fa", Ok(TwoFactor)),
                ("/%2573ecure/a", Ok(TwoFactor)),
                ("/closed%252fa", Ok(Deny)),
                ("/public%2f..%2fclosed", Err(PathError::DotSegment)),
                ("/public/%252e%252e/closed", Err(PathError::DotSegment)),
                ("/public%252f..%252fclosed", Err(PathError::DotSegment)),
                ("/public/x%00", Err(PathError::DotSegment)),
            ],
        );
    }

    #[test]
    fn bypass_is_never_widened_by_a_spelling() {
        table(
            &router(false),
            "bypass",
            &[
                ("/public/x", Ok(Bypass)),
                ("/public/x.css", Ok(Bypass)),
                ("/public/", Ok(Bypass)),
                ("/public/a%20b.pdf", Ok(Bypass)),
                ("/favicon.ico", Ok(Bypass)),
                // As sent, these are not under /public: a case-sensitive or raw-routing app
                // serves something else at them.
                ("/PUBLIC/x", Ok(OneFactor)),
                ("/%70ublic/x", Ok(OneFactor)),
                ("/public;x/y", Ok(OneFactor)),
                ("/favicon.ico/", Ok(OneFactor)),
                ("/public./x", Ok(OneFactor)),
            ],
        );
    }

    #[test]
    fn a_case_sensitive_app_matches_case_as_written_and_keeps_the_other_spellings() {
        table(
            &router(true),
            "case_sensitive",
            &[
                ("/SECURE/a", Ok(OneFactor)),
                ("/reports/q3", Ok(OneFactor)),
                ("/Reports/q3", Ok(Deny)),
                ("/secure;x/a", Ok(TwoFactor)),
                ("/secure./a", Ok(TwoFactor)),
                ("/admin/", Ok(Deny)),
            ],
        );
    }

    #[test]
    fn plain_paths_take_one_pass_and_agree_with_the_full_spelling_set() {
        let r = router(false);
        for path in ["/secure/a", "/public/x.css", "/wiki/page-1", "/", "/admin"] {
            let route = r.route("any.test", "GET", path).unwrap().unwrap();
            assert_eq!(route.outcomes.len(), 1, "{path}");
            let all = spellings(path, true).unwrap();
            let app = &r.apps()[0];
            for s in all {
                let o = first_rule(app, "GET", &s.path, s.folded);
                assert_eq!(o.policy, route.outcomes[0].policy, "{path} as {}", s.path);
            }
        }
    }

    #[test]
    fn hosts_must_be_plain() {
        assert_eq!(plain_host("App.Test:8080").as_deref(), Some("app.test"));
        assert_eq!(plain_host("[::1]:80").as_deref(), Some("[::1]"));
        assert_eq!(plain_host("127.0.0.1").as_deref(), Some("127.0.0.1"));
        for bad in [
            "",
            "[app.test]@evil.example",
            "app.test@evil.example",
            "app.test:80@evil",
            "app.test:",
            "app.test:99999",
            "app test",
            "app.test/x",
            "[::1]x",
            "[nothost]",
        ] {
            assert_eq!(plain_host(bad), None, "{bad}");
        }
    }

    #[test]
    fn ports_are_stripped() {
        assert_eq!(strip_port("a.test:8080"), "a.test");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("a.test"), "a.test");
    }
}
