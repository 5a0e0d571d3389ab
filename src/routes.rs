//! Host and path matching: which app a request belongs to and which rule applies.
//!
//! Pure functions over the compiled configuration; no pingora types, no I/O. Globs are
//! compiled once at load: `*` stands for one path segment (or part of one, as in `*.css`),
//! `**` for any number of segments, including none.

use std::collections::HashMap;

use crate::config::{App, Policy, Rule};

/// The most segments a glob may have (the matcher keeps its positions in a 64-bit set).
pub const MAX_GLOB_SEGMENTS: usize = 63;

/// A compiled path glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    text: String,
    segments: Vec<Segment>,
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
        Ok(Glob {
            text: text.to_string(),
            segments,
        })
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Matches a normalised path (see [`normalize_path`]).
    pub fn matches(&self, path: &str) -> bool {
        self.matches_segments(&segments(path))
    }

    /// Matches a path already split by [`segments`] (split once, matched against many globs).
    pub fn matches_segments(&self, segs: &[&str]) -> bool {
        match_segments(&self.segments, segs)
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
    /// A `.` or `..` segment (also percent-encoded), or a NUL: a traversal attempt.
    DotSegment,
}

/// The path a rule is matched against: percent-decoded, `\` read as `/`, empty segments
/// collapsed. Dot segments are refused rather than resolved, so that the gateway and the
/// upstream can never disagree about which path a request names.
pub fn normalize_path(raw: &str) -> Result<String, PathError> {
    if !raw.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(raw).collect();
    let decoded = String::from_utf8_lossy(&decoded);
    let mut out = String::with_capacity(decoded.len());
    for seg in decoded.split(['/', '\\']) {
        if seg.is_empty() {
            continue;
        }
        if is_dot_segment(seg) || seg.contains('\0') {
            return Err(PathError::DotSegment);
        }
        out.push('/');
        out.push_str(seg);
    }
    if out.is_empty() || decoded.ends_with('/') || decoded.ends_with('\\') {
        out.push('/');
    }
    Ok(out)
}

/// `.` or `..`, also with `;parameters` (which Java servers strip before resolving) and also
/// when percent-encoded once more (for apps that decode twice).
fn is_dot_segment(seg: &str) -> bool {
    let dots = |s: &str| {
        let bare = s.split(';').next().unwrap_or(s);
        bare == "." || bare == ".."
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

/// The app table: exact hosts first, then the one app without hosts, if any.
#[derive(Debug, Clone)]
pub struct Router {
    apps: Vec<App>,
    by_host: HashMap<String, usize>,
    any_host: Option<usize>,
}

/// Which app and rule a request falls under.
#[derive(Debug, Clone, Copy)]
pub struct RouteMatch<'a> {
    pub app: &'a App,
    pub app_index: usize,
    /// `None`: no rule matched, the app's default policy applies.
    pub rule: Option<&'a Rule>,
    pub policy: Policy,
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
        Router {
            apps,
            by_host,
            any_host,
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

    /// Finds the app and rule for a request; `path` must be normalised.
    pub fn route(&self, host: &str, method: &str, path: &str) -> Option<RouteMatch<'_>> {
        let (app_index, app) = self.app_for_host(host)?;
        let segs = segments(path);
        let rule = app.rules.iter().find(|rule| {
            rule.methods
                .as_ref()
                .is_none_or(|m| method_listed(m, method))
                && rule.paths.iter().any(|g| g.matches_segments(&segs))
        });
        Some(RouteMatch {
            app,
            app_index,
            rule,
            policy: rule.map_or(app.default_policy, |r| r.policy),
        })
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

    #[test]
    fn ports_are_stripped() {
        assert_eq!(strip_port("a.test:8080"), "a.test");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("a.test"), "a.test");
    }
}
