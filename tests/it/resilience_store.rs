//! The store under faults: a full disk (signing out still ends the session, and the revocation
//! and bans reach the database once space returns, before a restart could bring them back), a
//! write lock held by another process (reads go on, writes answer within a bound), and a
//! database that cannot be read (the health check says so).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use portcullis::store::CALL_TIMEOUT;

use crate::helpers::*;

const P: &str = "/.portcullis";

/// A small tmpfs mounted on a temporary directory, unmounted when dropped: a disk the test can
/// fill without filling the machine's.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts one, or says why it cannot and returns `None`. Mounting needs root; in CI
    /// (`CI=true`) as root it must work, so the full-disk tests never skip there.
    fn mount(size: &str) -> Option<Tmpfs> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        if !root {
            eprintln!(
                "SKIPPED: the full-disk tests mount a small tmpfs, which needs root; \
                 run them as root to see logout and bans survive a full disk"
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { dir }),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
                    Err(e) => e.to_string(),
                };
                assert!(
                    !ci,
                    "running as root in CI, yet no tmpfs could be mounted: {why}"
                );
                eprintln!("SKIPPED: the full-disk tests could not mount a tmpfs: {why}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a filler file until the filesystem has no byte left.
    fn fill(&self) -> PathBuf {
        let path = self.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0xa5u8; 64 * 1024];
        for size in [64 * 1024, 4096, 1] {
            while matches!(f.write(&chunk[..size]), Ok(n) if n > 0) {}
        }
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: the gateway's files may still be open for a moment.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// A gateway whose database lives in `db_dir` (the config and key file stay on the ordinary
/// disk, in the gateway's own directory), with `extra` sections.
fn gateway_with_database_in(db_dir: &Path, extra: &str) -> TestGateway {
    let dir = tempfile::tempdir().unwrap();
    let upstream = spawn_upstream();
    let sections = format!("{extra}\n\n{}", standard_apps(upstream));
    let text = gateway_config(dir.path(), db_dir, "", "", &sections);
    start(dir, upstream, text)
}

/// A connection of the test's own to the gateway's database.
fn sqlite(gw: &TestGateway) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(&gw.state.config().storage.path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn
}

/// Moves everything from the WAL into the database file and empties the WAL, so that the
/// next write must grow the WAL file (on a full disk, it cannot).
fn checkpoint(gw: &TestGateway) {
    let busy: i64 = sqlite(gw)
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(busy, 0, "the checkpoint could not complete");
}

fn session_rows(gw: &TestGateway, cookie: &str) -> i64 {
    let hash = portcullis::session::hash_id(cookie).unwrap();
    sqlite(gw)
        .query_row(
            "SELECT COUNT(*) FROM sessions WHERE id_hash = ?1",
            [&hash[..]],
            |r| r.get(0),
        )
        .unwrap()
}

fn ban_row(gw: &TestGateway, key: &str) -> Option<i64> {
    use rusqlite::OptionalExtension;
    sqlite(gw)
        .query_row("SELECT until FROM bans WHERE key = ?1", [key], |r| r.get(0))
        .optional()
        .unwrap()
}

/// Waits (at most 10 s) until `done` holds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The same browser with an old session cookie put back.
fn replaying(b: &mut Browser, name: &str, value: &str) {
    b.cookies.retain(|(k, _)| k != name);
    b.cookies.push((name.to_string(), value.to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_on_a_full_disk_ends_the_session_and_the_revocation_survives_a_restart() {
    if crate::pg::on_postgres() {
        return; // the SQLite file itself is what this test breaks; PostgreSQL outages: scaleout.rs
    }
    let Some(disk) = Tmpfs::mount("8m") else {
        return;
    };
    let gw = gateway_with_database_in(disk.path(), "");
    gw.add_user("alice", &[]);
    let name = gw.state.cookies.session.clone();
    let mut b = gw.browser();
    b.login(P, "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    let cookie = b.cookie(&name).expect("signed in");
    assert_eq!(b.get("/x").await.status, 200);
    let account = b.get(&format!("{P}/account")).await;
    assert_eq!(account.status, 200, "{}", account.body);
    // The sign-in's audit row is written off the request path: let it land first.
    eventually("the login is audited", || {
        sqlite(&gw)
            .query_row(
                "SELECT COUNT(*) FROM audit WHERE event = 'login'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
            > 0
    })
    .await;

    checkpoint(&gw);
    let filler = disk.fill();
    assert!(
        sqlite(&gw)
            .execute("INSERT INTO meta (key, value) VALUES ('probe', 1)", [])
            .is_err(),
        "the disk is full, yet SQLite could write"
    );

    let r = b
        .post_form(&format!("{P}/logout"), &[("csrf", &account.field("csrf"))])
        .await;
    r.assert_redirect_to(&format!("{P}/login?signed_out=1"));
    assert!(
        r.set_cookies()
            .iter()
            .any(|c| c.starts_with(&format!("{name}=;")) && c.contains("Max-Age=0")),
        "the cookie is cleared: {:?}",
        r.set_cookies()
    );
    assert_eq!(b.cookie(&name), None);
    assert_eq!(session_rows(&gw, &cookie), 1, "the delete cannot land yet");

    // The old cookie, replayed, no longer reaches the app: not from the cache, and not from
    // the row still in the store either.
    replaying(&mut b, &name, &cookie);
    let again = b.get("/x").await;
    assert_eq!(again.status, 302, "{}", again.body);
    gw.state.sessions.invalidate_all();
    let again = b.get("/x").await;
    assert_eq!(again.status, 302, "a cache miss revived it: {}", again.body);

    // Space returns: the maintenance loop writes the revocation.
    std::fs::remove_file(filler).unwrap();
    eventually("the session row is deleted", || {
        session_rows(&gw, &cookie) == 0
    })
    .await;

    let gw = gw.restart();
    assert_eq!(session_rows(&gw, &cookie), 0);
    let mut b = gw.browser();
    replaying(&mut b, &name, &cookie);
    let after = b.get("/x").await;
    assert_eq!(after.status, 302, "after a restart: {}", after.body);
    drop(gw);
    drop(disk);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ban_decided_on_a_full_disk_reaches_the_store_once_space_returns() {
    if crate::pg::on_postgres() {
        return; // the SQLite file itself is what this test breaks; PostgreSQL outages: scaleout.rs
    }
    let Some(disk) = Tmpfs::mount("8m") else {
        return;
    };
    let regulation = "[regulation]\nmax_failures = 3\nwindow = \"5m\"\nban = \"15m\"\n";
    let gw = gateway_with_database_in(disk.path(), regulation);
    gw.add_user("bob", &[]);
    checkpoint(&gw);
    let filler = disk.fill();
    assert!(
        sqlite(&gw)
            .execute("INSERT INTO meta (key, value) VALUES ('probe', 1)", [])
            .is_err(),
        "the disk is full, yet SQLite could write"
    );

    let mut m = gw.browser();
    for attempt in 1..=4 {
        let r = m.login(P, "bob", "a wrong guess", "/").await;
        let expected = if attempt < 3 { 200 } else { 429 };
        assert_eq!(r.status, expected, "attempt {attempt}: {}", r.body);
    }
    assert_eq!(
        ban_row(&gw, "user:bob"),
        None,
        "the disk is full: no row yet"
    );

    std::fs::remove_file(filler).unwrap();
    eventually("the ban is written", || ban_row(&gw, "user:bob").is_some()).await;
    let until = ban_row(&gw, "user:bob").unwrap();
    assert!(
        until > now() as i64 + 600,
        "a 15-minute ban, ends at {until}"
    );

    // After a restart the ban still holds, even for the right password.
    let gw = gw.restart();
    let r = gw.browser().login(P, "bob", PASSWORD, "/").await;
    assert_eq!(r.status, 429, "{}", r.body);
    drop(gw);
    drop(disk);
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_answer_at_once_while_another_process_holds_the_write_lock() {
    if crate::pg::on_postgres() {
        return; // the SQLite file itself is what this test breaks; PostgreSQL outages: scaleout.rs
    }
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    let mut b = gw.browser();
    b.login(P, "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
    assert_eq!(b.get("/x").await.status, 200);

    // Another connection (as another process would) takes the write lock and keeps it
    // longer than any store call may wait.
    let hold = CALL_TIMEOUT + Duration::from_secs(1);
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let db = gw.state.config().storage.path.clone();
    let holder = std::thread::spawn(move || {
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        locked_tx.send(Instant::now()).unwrap();
        std::thread::sleep(hold);
        conn.execute_batch("COMMIT").unwrap();
        Instant::now()
    });
    let locked_at = locked_rx.recv().unwrap();

    // A sign-in meanwhile: it must write its session, so it waits for the lock.
    let addr = gw.addr;
    let sign_in = tokio::spawn(async move {
        let started = Instant::now();
        let mut other = Browser::new(addr, "app.test");
        let page = other.login(P, "alice", PASSWORD, "/").await;
        (page, started.elapsed(), Instant::now())
    });
    // Let it reach the store (past the password hash) and queue its write.
    tokio::time::sleep(Duration::from_millis(700)).await;

    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        gw.state.sessions.invalidate_all();
        let started = Instant::now();
        let page = b.get("/x").await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(page.status, 200, "uncached lookup: {}", page.body);
    }
    assert!(
        slowest < Duration::from_millis(100),
        "an uncached lookup took {slowest:?} during the write lock"
    );
    let started = Instant::now();
    let health = client_without_redirects()
        .get(gw.portal("/health"))
        .send()
        .await
        .unwrap();
    let health_took = started.elapsed();
    assert_eq!(health.status(), 200);
    assert!(
        health_took < Duration::from_millis(100),
        "/health took {health_took:?} during the write lock"
    );

    let (page, took, answered_at) = sign_in.await.unwrap();
    let released_at = holder.join().unwrap();
    println!(
        "during a held write lock: slowest uncached lookup {slowest:?}, /health \
         {health_took:?}, sign-in {} after {took:?}",
        page.status
    );
    assert!(
        took < CALL_TIMEOUT + Duration::from_secs(2),
        "the sign-in hung for {took:?}"
    );
    match page.status {
        503 => assert!(page.body.contains("unavailable"), "{}", page.body),
        303 => assert!(
            answered_at >= released_at,
            "written while the lock was held"
        ),
        other => panic!("sign-in during the lock answered {other}: {}", page.body),
    }
    assert!(released_at > locked_at);
    // Once the lock is gone, sign-in works again.
    let mut again = gw.browser();
    again
        .login(P, "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_answers_503_when_the_database_cannot_be_read() {
    if crate::pg::on_postgres() {
        return; // the SQLite file itself is what this test breaks; PostgreSQL outages: scaleout.rs
    }
    let gw = spawn_gateway();
    let client = client_without_redirects();
    let ok = client.get(gw.portal("/health")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body["status"], "ok");

    // The data is gone from under the gateway: everything in the database file, with an
    // empty WAL beside it.
    checkpoint(&gw);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&gw.state.config().storage.path)
        .unwrap()
        .set_len(0)
        .unwrap();

    let started = Instant::now();
    let down = client.get(gw.portal("/health")).send().await.unwrap();
    assert_eq!(down.status(), 503);
    assert!(started.elapsed() < CALL_TIMEOUT + Duration::from_secs(1));
    let body: serde_json::Value = down.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_failure_during_sign_in_answers_503_and_counts_no_failure() {
    if crate::pg::on_postgres() {
        return; // the SQLite file itself is what this test breaks; PostgreSQL outages: scaleout.rs
    }
    let gw = spawn_gateway();
    gw.add_user("alice", &[]);
    checkpoint(&gw);
    let path = gw.state.config().storage.path.clone();
    let saved = std::fs::read(&path).unwrap();
    // The store cannot be read: every attempt is answered 503, never "wrong password", and
    // none counts: past max_failures a counted failure would have turned into a 429.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    let max_failures = gw.state.config().regulation.max_failures;
    for attempt in 0..max_failures + 2 {
        let mut b = gw.browser();
        let r = b
            .login("/.portcullis", "alice", "not her password", "/")
            .await;
        assert_eq!(r.status, 503, "attempt {attempt}: {}", r.body);
        assert!(!r.body.contains("Wrong"), "{}", r.body);
    }
    // The database is back: no ban was recorded, and the right password signs in.
    let (dir, upstream, text) = gw.stop();
    std::fs::write(&path, &saved).unwrap();
    let gw = start(dir, upstream, text);
    assert_eq!(ban_row(&gw, "user:alice"), None);
    let mut b = gw.browser();
    b.login("/.portcullis", "alice", PASSWORD, "/")
        .await
        .assert_redirect_to("/");
}
