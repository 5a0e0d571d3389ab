//! Presents each cookie of a file once to a gateway and reports how the requests went.
//!
//! ```sh
//! cargo run --release --example touch_sessions -- URL COOKIE_NAME COOKIE_FILE [CONCURRENCY]
//! ```
//!
//! Sends one `GET URL` per line of `COOKIE_FILE` (as written by `seed_sessions`), with
//! `Cookie: COOKIE_NAME=<line>`, keeping `CONCURRENCY` requests in flight (default 32) over
//! kept-alive connections, redirects not followed. Prints a summary and a last line for
//! scripts: `RESULT requests=N ok=N other=N errors=N secs=S rps=R p50_us=.. p90_us=.. p99_us=..
//! max_us=..`. Exits non-zero when any request did not answer `200`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    ok: usize,
    other: usize,
    errors: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 || args.len() > 4 {
        bail!("usage: touch_sessions URL COOKIE_NAME COOKIE_FILE [CONCURRENCY]");
    }
    let url = args[0].clone();
    let cookie_name = args[1].clone();
    let text =
        std::fs::read_to_string(&args[2]).with_context(|| format!("cannot read {}", args[2]))?;
    let cookies: Arc<Vec<String>> = Arc::new(
        text.lines()
            .filter(|l| !l.is_empty())
            .map(|l| format!("{cookie_name}={l}"))
            .collect(),
    );
    let concurrency: usize = match args.get(3) {
        Some(c) => c.parse().context("CONCURRENCY must be a number")?,
        None => 32,
    }
    .max(1);

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(30))
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (client, url, cookies, next) = (
            client.clone(),
            url.clone(),
            Arc::clone(&cookies),
            Arc::clone(&next),
        );
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(cookie) = cookies.get(i) else { break };
                let sent = Instant::now();
                let answer = client
                    .get(&url)
                    .header(reqwest::header::COOKIE, cookie)
                    .send()
                    .await;
                match answer {
                    Ok(response) => {
                        let status = response.status();
                        // Read the body so the connection goes back to the pool.
                        let _ = response.bytes().await;
                        tally.latencies_us.push(sent.elapsed().as_micros() as u64);
                        if status == reqwest::StatusCode::OK {
                            tally.ok += 1;
                        } else {
                            tally.other += 1;
                        }
                    }
                    Err(_) => tally.errors += 1,
                }
            }
            tally
        }));
    }
    let mut all = Tally::default();
    for w in workers {
        let t = w.await?;
        all.latencies_us.extend(t.latencies_us);
        all.ok += t.ok;
        all.other += t.other;
        all.errors += t.errors;
    }
    let secs = started.elapsed().as_secs_f64();
    all.latencies_us.sort_unstable();
    let pct = |p: f64| -> u64 {
        let v = &all.latencies_us;
        if v.is_empty() {
            return 0;
        }
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1]
    };
    let n = cookies.len();
    println!(
        "{n} requests in {secs:.2} s ({:.0}/s), {} ok, {} other status, {} errors; \
         latency p50 {} us, p90 {} us, p99 {} us, max {} us",
        n as f64 / secs,
        all.ok,
        all.other,
        all.errors,
        pct(50.0),
        pct(90.0),
        pct(99.0),
        pct(100.0)
    );
    println!(
        "RESULT requests={n} ok={} other={} errors={} secs={secs:.3} rps={:.0} p50_us={} \
         p90_us={} p99_us={} max_us={}",
        all.ok,
        all.other,
        all.errors,
        n as f64 / secs,
        pct(50.0),
        pct(90.0),
        pct(99.0),
        pct(100.0)
    );
    if all.ok != n {
        bail!("{} of {n} requests did not answer 200", n - all.ok);
    }
    Ok(())
}
