//! Micro-benchmarks of what the gateway does for every proxied request, plus TOTP.
//!
//! `cargo bench --bench hot_path` (add a filter such as `-- session` to run a group).
//!
//! - `route/*`: host and rule matching over 50 apps × 20 rules, and path normalisation.
//! - `session/*`: a cached session (`Sessions::cached`, and `Sessions::lookup` with the cookie's
//!   SHA-256) and a cache miss (`Sessions::load`, which always reads the store) among
//!   `BENCH_SESSIONS` stored sessions (default 100 000), plus the store reads alone.
//! - `headers/*`: the identity-header work of the upstream request: the check
//!   `IdentityHeaders::is_identity` over a browser's header set, and the proxy's own rewrite
//!   `proxy::rewrite_for_upstream` (spoofed headers and gateway cookies out, identity and
//!   `X-Forwarded-*` in).
//! - `request/*`: the decision of a proxied request without I/O: cookie, session, route, policy.
//! - `metrics/*`: what counting a proxied request costs (`Metrics::app` and `Metrics::request`,
//!   as the proxy calls them), and one scrape of the registry.
//! - `totp/*`: `auth::totp::verify` of a right and of a wrong code.
//! - `password/*`: one argon2id verification, what every login costs (for the login storm).

use std::hint::black_box;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use http::HeaderMap;
use pingora::http::RequestHeader;
use portcullis::auth::password::{hash_password, verify_password};
use portcullis::auth::totp;
use portcullis::auth::unix_now;
use portcullis::auth::Origin;
use portcullis::config::{Config, TotpAlgorithm, TotpConfig};
use portcullis::metrics::{Disposition, Metrics};
use portcullis::policy::{decide_strictest, Decision};
use portcullis::portal::cookie_value;
use portcullis::routes::normalize_path;
use portcullis::session::{hash_id, random_token, Identity, Level, Sessions, Succession};
use portcullis::store::{NewUser, SessionRow, Store};

const APPS: usize = 50;
const RULES: usize = 20;
const COOKIE: &str = "portcullis_session";

/// A configuration of `APPS` apps with `RULES` rules each, of the shapes operators write.
fn config_text(dir: &Path) -> String {
    let mut t = format!(
        "[server]\nlisten = \"127.0.0.1:18080\"\n\n[storage]\npath = \"{}\"\nkey_file = \"{}\"\n\n\
         [session]\nsecure = false\n\n",
        dir.join("bench.db").display(),
        dir.join("bench.key").display()
    );
    for a in 0..APPS {
        t.push_str(&format!(
            "[[apps]]\nname = \"app{a}\"\nhosts = [\"app{a}.bench.test\", \"www.app{a}.bench.test\"]\n\
             upstream = \"127.0.0.1:{}\"\ndefault_policy = \"one_factor\"\n\n",
            20000 + a
        ));
        for r in 0..RULES {
            let (paths, policy) = match r % 5 {
                0 => (
                    format!("[\"/public{r}/**\", \"/favicon{r}.ico\"]"),
                    "bypass",
                ),
                1 => (
                    format!("[\"/static{r}/*.css\", \"/static{r}/*.js\"]"),
                    "bypass",
                ),
                2 => (
                    format!("[\"/area{r}/*/edit\", \"/area{r}/*.json\"]"),
                    "one_factor",
                ),
                3 => (format!("[\"/admin{r}/**\"]"), "two_factor"),
                _ => (format!("[\"/api/v{r}/**/items/*\"]"), "one_factor"),
            };
            t.push_str(&format!(
                "[[apps.rules]]\npaths = {paths}\npolicy = \"{policy}\"\n"
            ));
            if r % 4 == 1 {
                t.push_str("methods = [\"GET\", \"HEAD\"]\n");
            }
            if policy == "two_factor" {
                t.push_str("groups = [\"admins\"]\n");
            }
            t.push('\n');
        }
    }
    t
}

struct Fixture {
    _dir: tempfile::TempDir,
    config: Config,
    store: Store,
    sessions: Sessions,
    rt: tokio::runtime::Runtime,
    /// Cookie value of a session that is in the cache.
    hot_cookie: String,
    hot_hash: [u8; 32],
    /// Hashes of stored sessions that are not in the cache.
    cold: Vec<[u8; 32]>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = Config::parse(&dir.path().join("bench.toml"), &config_text(dir.path()))
        .expect("the generated configuration is valid");
    assert_eq!(config.router.apps().len(), APPS);
    let store = Store::open(&config.storage.path).expect("the store opens");
    let now = unix_now();
    let user_id = store
        .create_user(
            &NewUser {
                username: "bench".into(),
                email: Some("bench@bench.test".into()),
                display_name: Some("Bench User".into()),
                // Never verified here; any PHC-shaped string will do.
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
                groups: vec!["admins".into(), "staff".into()],
            },
            now,
        )
        .expect("the user is created");
    let user = store.user_by_id(user_id).unwrap().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let sessions = Sessions::new(store.clone(), config.session.clone());

    let count: usize = std::env::var("BENCH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let expires_at = now + config.session.absolute_timeout.as_secs() as i64;
    let cold: Vec<[u8; 32]> = (0..count.max(1))
        .map(|_| {
            let id_hash = hash_id(&random_token()).unwrap();
            store
                .insert_session(&SessionRow {
                    id_hash,
                    user_id,
                    level: Level::OneFactor as u8,
                    created_at: now,
                    last_seen: now,
                    expires_at,
                    client_ip: "127.0.0.1".into(),
                    user_agent: "criterion".into(),
                    factor_at: None,
                })
                .expect("the session is stored");
            id_hash
        })
        .collect();

    let origin = Origin {
        ip: std::net::Ipv4Addr::LOCALHOST.into(),
        user_agent: Some("criterion"),
    };
    let (hot_cookie, session) = rt
        .block_on(sessions.open(
            Arc::new(Identity::from_user(&user, Default::default())),
            Level::TwoFactor,
            &origin,
            Succession::Fresh,
            Some(now),
            now,
        ))
        .expect("a session opens");
    Fixture {
        _dir: dir,
        config,
        store,
        sessions,
        rt,
        hot_cookie,
        hot_hash: session.id_hash,
        cold,
    }
}

fn route(c: &mut Criterion, f: &Fixture) {
    let router = &f.config.router;
    let mut g = c.benchmark_group("route");
    g.bench_function("first_app_first_rule", |b| {
        b.iter(|| {
            let m = router
                .route(
                    black_box("app0.bench.test"),
                    "GET",
                    black_box("/public0/x.png"),
                )
                .unwrap()
                .unwrap();
            black_box(m.outcomes[0].policy)
        })
    });
    g.bench_function("last_app_last_rule", |b| {
        b.iter(|| {
            let m = router
                .route(
                    black_box("www.app49.bench.test:8080"),
                    "GET",
                    black_box("/api/v19/orders/42/items/7"),
                )
                .unwrap()
                .unwrap();
            black_box(m.outcomes[0].policy)
        })
    });
    g.bench_function("last_app_no_rule_default", |b| {
        b.iter(|| {
            let m = router
                .route(
                    black_box("app49.bench.test"),
                    "GET",
                    black_box("/wiki/pages/Some_Page/history"),
                )
                .unwrap()
                .unwrap();
            black_box(m.outcomes[0].policy)
        })
    });
    g.bench_function("normalize_path", |b| {
        b.iter(|| normalize_path(black_box("/wiki/pages/Some%20Page//history/")).unwrap())
    });
    g.finish();
}

fn session(c: &mut Criterion, f: &Fixture) {
    let now = unix_now();
    let mut g = c.benchmark_group("session");
    g.bench_function("cached_hit", |b| {
        b.iter(|| {
            f.sessions
                .cached(black_box(&f.hot_hash), now)
                .expect("the session is cached")
        })
    });
    g.bench_function("lookup_hit_with_cookie_hash", |b| {
        b.to_async(&f.rt).iter(|| async {
            f.sessions
                .lookup(black_box(&f.hot_cookie), now)
                .await
                .expect("the session is cached")
        })
    });
    f.sessions.invalidate_all();
    let cold = &f.cold;
    let mut i = 0usize;
    g.bench_function("load_miss_from_store", |b| {
        b.to_async(&f.rt).iter(|| {
            i = (i + 1) % cold.len();
            let hash = cold[i];
            async move {
                f.sessions
                    .load(hash, now)
                    .await
                    .expect("the session is stored")
            }
        })
    });
    let mut j = 0usize;
    g.bench_function("store_reads_only_sync", |b| {
        b.iter(|| {
            j = (j + 1) % cold.len();
            let row = f.store.session(&cold[j]).unwrap().unwrap();
            let user = f.store.user_by_id(row.user_id).unwrap().unwrap();
            let totp = f.store.totp(user.id).unwrap();
            black_box((row, user, totp.is_some()))
        })
    });
    g.finish();
    // Drop what the miss benchmark loaded; keep the hot session cached for the next groups.
    f.sessions.invalidate_all();
    f.rt.block_on(f.sessions.lookup(&f.hot_cookie, now))
        .expect("the hot session is stored");
}

/// The headers of a browser's request to an app, with a spoofed identity header in two
/// spellings and the gateway's cookies among the app's own.
fn browser_request(cookie: &str) -> RequestHeader {
    let mut req = RequestHeader::build("GET", b"/wiki/pages/Some_Page?tab=history", None).unwrap();
    let headers: &[(&str, String)] = &[
        ("Host", "app7.bench.test".into()),
        (
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0".into(),
        ),
        (
            "Accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8".into(),
        ),
        ("Accept-Language", "en-GB,en;q=0.5".into()),
        ("Accept-Encoding", "gzip, deflate, br, zstd".into()),
        ("Referer", "https://app7.bench.test/wiki/".into()),
        ("Connection", "keep-alive".into()),
        (
            "Cookie",
            format!(
                "_ga=GA1.2.123456789.1700000000; theme=dark; {COOKIE}={cookie}; \
                 {COOKIE}_csrf=abcdefabcdefabcdefabcdefabcdefabcdefabcdefa; lang=en"
            ),
        ),
        ("Upgrade-Insecure-Requests", "1".into()),
        ("Sec-Fetch-Dest", "document".into()),
        ("Sec-Fetch-Mode", "navigate".into()),
        ("Sec-Fetch-Site", "same-origin".into()),
        ("Sec-Fetch-User", "?1".into()),
        ("Priority", "u=0, i".into()),
        ("remote_user", "mallory".into()),
        ("Remote-Groups", "admins".into()),
    ];
    for (name, value) in headers {
        req.append_header(name.to_string(), value.as_str()).unwrap();
    }
    req
}

/// The proxy's own header rewrite, as `upstream_request_filter` calls it.
fn rewrite(
    config: &Config,
    req: &mut RequestHeader,
    identity: &Identity,
    client: IpAddr,
) -> pingora::Result<()> {
    let forwarding = portcullis::proxy::Forwarding {
        identity: Some(identity),
        client_ip: client,
        peer: Some(client),
        tls: false,
    };
    portcullis::proxy::rewrite_for_upstream(
        config,
        &[COOKIE, "portcullis_session_csrf"],
        req,
        &forwarding,
    )
}

fn headers(c: &mut Criterion, f: &Fixture) {
    let base = browser_request(&f.hot_cookie);
    let names = &f.config.identity_headers;
    let identity = Identity::new(
        1,
        "alice".into(),
        Some("alice@example.com".into()),
        Some("Alice Example".into()),
        vec!["admins".into(), "staff".into(), "wiki-editors".into()],
        true,
    );
    let client: IpAddr = "203.0.113.7".parse().unwrap();
    let mut g = c.benchmark_group("headers");
    g.bench_function("is_identity_over_16_headers", |b| {
        b.iter(|| {
            black_box(&base)
                .headers
                .keys()
                .filter(|n| names.is_identity(n.as_str()))
                .count()
        })
    });
    g.bench_function("clone_request_header_baseline", |b| {
        b.iter(|| black_box(base.clone()))
    });
    g.bench_function("rewrite_incl_clone", |b| {
        b.iter_batched(
            || base.clone(),
            |mut req| {
                rewrite(&f.config, &mut req, &identity, client).unwrap();
                req
            },
            BatchSize::SmallInput,
        )
    });
    let mut check = base.clone();
    rewrite(&f.config, &mut check, &identity, client).unwrap();
    assert_eq!(check.headers.get("remote-user").unwrap(), "alice");
    assert!(check.headers.get("remote_user").is_none());
    assert!(!check
        .headers
        .get("cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .contains(COOKIE));
    g.finish();
}

fn request(c: &mut Criterion, f: &Fixture) {
    let base = browser_request(&f.hot_cookie);
    let now = unix_now();
    let router = &f.config.router;
    let mut g = c.benchmark_group("request");
    g.bench_function("decide_cached_session_50x20", |b| {
        b.iter(|| {
            let headers: &HeaderMap = &black_box(&base).headers;
            let host = headers.get("host").unwrap().to_str().unwrap();
            let m = router
                .route(host, base.method.as_str(), base.uri.path())
                .unwrap()
                .unwrap();
            let value = cookie_value(headers, COOKIE).unwrap();
            let session = f.sessions.cached(&hash_id(&value).unwrap(), now).unwrap();
            let d = decide_strictest(&m.outcomes, Some(&session));
            assert!(matches!(d, Decision::Forward { identity: true }));
            black_box(d)
        })
    });
    g.finish();
}

fn metrics(c: &mut Criterion, f: &Fixture) {
    let metrics = Metrics::new(f.config.router.apps());
    let app = &f.config.router.apps()[APPS - 1];
    let took = Duration::from_micros(700);
    let mut g = c.benchmark_group("metrics");
    g.bench_function("count_proxied_request", |b| {
        b.iter(|| {
            let meters = metrics.app(black_box(app));
            metrics.request(Some(&meters), Disposition::Forward, 200, black_box(took));
        })
    });
    g.bench_function("scrape_50_apps", |b| {
        b.iter(|| black_box(metrics.encode(100_000, 0)).len())
    });
    g.finish();
}

fn totp_verify(c: &mut Criterion) {
    let cfg = TotpConfig {
        issuer: "Portcullis".into(),
        algorithm: TotpAlgorithm::SHA1,
        digits: 6,
        period: 30,
        skew: 1,
        remember_browser: std::time::Duration::ZERO,
    };
    let secret = totp::generate_secret();
    // Fixed instants so a run is not disturbed by a step boundary.
    let now = 1_700_000_010u64;
    let right = totp::code_at(&cfg, &secret, now).unwrap();
    let valid: Vec<String> = [now - 30, now, now + 30]
        .iter()
        .map(|t| totp::code_at(&cfg, &secret, *t).unwrap())
        .collect();
    let wrong = (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|c| !valid.contains(c))
        .unwrap();
    let mut g = c.benchmark_group("totp");
    g.bench_function("verify_right_code", |b| {
        b.iter(|| totp::verify(&cfg, black_box(&secret), black_box(&right), now, None).unwrap())
    });
    g.bench_function("verify_wrong_code", |b| {
        b.iter(|| totp::verify(&cfg, black_box(&secret), black_box(&wrong), now, None).unwrap_err())
    });
    g.finish();
}

fn password(c: &mut Criterion) {
    let phc = hash_password("correct horse battery staple");
    let mut g = c.benchmark_group("password");
    g.sample_size(10);
    g.bench_function("argon2id_verify", |b| {
        b.iter(|| {
            assert!(verify_password(
                &phc,
                black_box("correct horse battery staple")
            ))
        })
    });
    g.finish();
}

fn all(c: &mut Criterion) {
    let f = fixture();
    route(c, &f);
    session(c, &f);
    headers(c, &f);
    request(c, &f);
    metrics(c, &f);
    totp_verify(c);
    password(c);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = all
}
criterion_main!(benches);
