//! Measures what two gateways on one PostgreSQL database do for each other: how long a
//! revocation written to the database takes to be refused by a replica that had the session
//! cached, and how long a request with a session the replica has not cached yet takes (a cache
//! miss: the session and its user read from PostgreSQL) next to one it has.
//!
//! ```sh
//! cargo run --release --example scaleout_probe -- CONFIG ADDR_A ADDR_B ROUNDS
//! ```
//!
//! `CONFIG` is a gateway's configuration with `[storage] url`; `ADDR_A` and `ADDR_B` are the
//! two replicas (`127.0.0.1:PORT`), with an app whose `/` needs one factor. Each round inserts
//! a session for the user `probe` (created when absent) as the gateway would, asks B for it
//! (a miss), then again (a hit), asks A (so both hold it), deletes it from the database (the
//! commit is the start of the clock) and asks B every millisecond until B refuses it. Prints
//! one line per measure: `NAME p50 p99 max` in milliseconds.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use portcullis::auth::password::hash_password;
use portcullis::auth::unix_now;
use portcullis::config::Config;
use portcullis::session::{hash_id, random_token, Level};
use portcullis::store::{NewUser, SessionRow, Store};

/// The status of `GET /` on `addr` with the session `cookie`, on a connection of its own.
fn status(addr: SocketAddr, cookie_name: &str, cookie: &str) -> anyhow::Result<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: bench\r\nCookie: {cookie_name}={cookie}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head)?;
    let text = std::str::from_utf8(&head[9..12])?;
    Ok(text.parse()?)
}

fn percentiles(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{name} {:.3} {:.3} {:.3}",
        at(0.5),
        at(0.99),
        ms[ms.len() - 1]
    );
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 4 {
        bail!("usage: scaleout_probe CONFIG ADDR_A ADDR_B ROUNDS");
    }
    let config = Config::load(&PathBuf::from(&args[0]))?;
    if config.storage.postgres.is_none() {
        bail!("{} has no [storage] url", args[0]);
    }
    let a: SocketAddr = args[1].parse().context("ADDR_A")?;
    let b: SocketAddr = args[2].parse().context("ADDR_B")?;
    let rounds: usize = args[3].parse().context("ROUNDS must be a number")?;
    if rounds == 0 {
        bail!("ROUNDS must be at least 1");
    }
    let cookie_name = config.session.cookie_name.clone();
    let store = Store::open_at(&config.storage.location())?;
    let user_id = match store.user_by_name("probe")? {
        Some(u) => u.id,
        None => store.create_user(
            &NewUser {
                username: "probe".into(),
                password_hash: hash_password(&random_token()),
                ..Default::default()
            },
            unix_now(),
        )?,
    };

    let (mut misses, mut hits, mut revocations) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let value = random_token();
        let id_hash = hash_id(&value).expect("a fresh token is well formed");
        let now = unix_now();
        store.insert_session(&SessionRow {
            id_hash,
            user_id,
            level: Level::OneFactor as u8,
            created_at: now,
            last_seen: now,
            expires_at: now + 3600,
            client_ip: "127.0.0.1".into(),
            user_agent: "scaleout_probe".into(),
            factor_at: None,
        })?;
        let t = Instant::now();
        let first = status(b, &cookie_name, &value)?;
        misses.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let second = status(b, &cookie_name, &value)?;
        hits.push(t.elapsed().as_secs_f64() * 1000.0);
        if first != 200 || second != 200 || status(a, &cookie_name, &value)? != 200 {
            bail!("the session was not accepted ({first}, {second})");
        }
        if !store.delete_session(&id_hash)? {
            bail!("the session row was gone before its revocation");
        }
        let t = Instant::now();
        loop {
            if status(b, &cookie_name, &value)? != 200 {
                break;
            }
            if t.elapsed() > Duration::from_secs(10) {
                bail!("B still served a revoked session after 10 s");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        revocations.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    percentiles("revocation_seen_by_other_replica_ms", revocations);
    percentiles("cache_miss_request_ms", misses);
    percentiles("cached_request_ms", hits);
    Ok(())
}
