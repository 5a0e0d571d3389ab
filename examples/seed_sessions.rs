//! Fills a gateway's store with live sessions, for measuring memory and cache misses at scale.
//!
//! ```sh
//! cargo run --release --example seed_sessions -- CONFIG SESSIONS COOKIE_FILE [USERS]
//! ```
//!
//! Opens the store named by `CONFIG` (the gateway must not have the sessions yet: run this
//! before starting it), creates `USERS` users (`scale-00000`, … with an email, a display name
//! and two groups; default 1000, reused when they exist) and inserts `SESSIONS` one-factor
//! sessions spread over them. Each session id is 32 random bytes, stored as its SHA-256 only,
//! exactly as the gateway stores its own; the cookie values go to `COOKIE_FILE`, one a line,
//! for a client to present.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use portcullis::auth::password::hash_password;
use portcullis::auth::unix_now;
use portcullis::config::Config;
use portcullis::session::{hash_id, random_token, Level};
use portcullis::store::{NewUser, SessionRow, Store};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 || args.len() > 4 {
        bail!("usage: seed_sessions CONFIG SESSIONS COOKIE_FILE [USERS]");
    }
    let config = Config::load(&PathBuf::from(&args[0]))?;
    let sessions: usize = args[1].parse().context("SESSIONS must be a number")?;
    let cookie_file = PathBuf::from(&args[2]);
    let users: usize = match args.get(3) {
        Some(u) => u.parse().context("USERS must be a number")?,
        None => 1000,
    }
    .clamp(1, sessions.max(1));

    let store = Store::open(&config.storage.path)
        .with_context(|| format!("cannot open {}", config.storage.path.display()))?;
    let now = unix_now();
    let started = Instant::now();

    // One argon2 hash shared by every seeded user: nobody logs in as them, they only own sessions.
    let password_hash = hash_password(&random_token());
    let mut user_ids = Vec::with_capacity(users);
    for i in 0..users {
        let username = format!("scale-{i:05}");
        let id = match store.user_by_name(&username)? {
            Some(u) => u.id,
            None => store.create_user(
                &NewUser {
                    username: username.clone(),
                    email: Some(format!("{username}@bench.test")),
                    display_name: Some(format!("Scale User {i}")),
                    password_hash: password_hash.clone(),
                    groups: vec!["staff".into(), format!("team-{}", i % 10)],
                },
                now,
            )?,
        };
        user_ids.push(id);
    }
    let users_done = started.elapsed();

    let expires_at = now + config.session.absolute_timeout.as_secs() as i64;
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&cookie_file)
            .with_context(|| format!("cannot create {}", cookie_file.display()))?,
    );
    for i in 0..sessions {
        let value = random_token();
        let id_hash = hash_id(&value).context("a fresh token is well formed")?;
        store.insert_session(&SessionRow {
            id_hash,
            user_id: user_ids[i % user_ids.len()],
            level: Level::OneFactor as u8,
            created_at: now,
            last_seen: now,
            expires_at,
            client_ip: "127.0.0.1".into(),
            user_agent: "Mozilla/5.0 (X11; Linux x86_64) seed_sessions".into(),
            factor_at: None,
        })?;
        writeln!(out, "{value}")?;
    }
    out.flush()?;
    println!(
        "seeded {sessions} sessions over {} users in {:.1?} (users {:.1?}); cookies in {}",
        user_ids.len(),
        started.elapsed(),
        users_done,
        cookie_file.display()
    );
    Ok(())
}
