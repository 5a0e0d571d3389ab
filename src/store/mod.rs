//! The store: the only module with SQL, on SQLite (one gateway) or PostgreSQL (several).
//!
//! Owns the schema and its migrations, users and groups, sessions (by the SHA-256 of their
//! id, never the id), TOTP secrets (as ciphertext; the key lives elsewhere), recovery codes
//! (as salted hashes), passkeys, bans, shared failure counts and the audit trail.
//!
//! **The interface** is [`Store`]: one type, the same methods on both engines, each
//! synchronous and possibly blocking. Async callers go through [`Store::call`], which runs the
//! work on the blocking pool and answers within [`CALL_TIMEOUT`]; the command line calls the
//! methods directly. Nothing outside this module sees a connection, a row or a dialect.
//! Multi-statement changes run in one transaction, so a failure leaves nothing half-written;
//! rules that must hold across gateways (a TOTP step used once, a recovery code used once, a
//! passkey counter that only grows) are conditional updates the database decides. Revocations
//! and bans the store refused wait in its [`Outbox`] until it accepts them.
//!
//! **The engines**: each aggregate file (`users.rs` and groups, `sessions.rs`,
//! `second_factor.rs` for TOTP, pending enrolment and recovery codes, `remembered.rs`,
//! `passkeys.rs`, `invites.rs`, `bans.rs`, `audit.rs`) writes its SQL once against `db.rs`,
//! the seam both engines implement; `sqlite.rs` and `postgres.rs` hold what only one has (its
//! connections, schema and migrations; PostgreSQL's change notices and health). `copy.rs`
//! moves a SQLite database into PostgreSQL. This file owns what every aggregate shares: the
//! connections and their deadlines, [`StoreError`], the `meta` table, the generation counter
//! and the write of the outbox.

mod audit;
mod bans;
mod certificates;
mod copy;
pub(crate) mod db;
mod invites;
mod outbox;
mod passkeys;
mod postgres;
mod remembered;
mod second_factor;
mod sessions;
mod sqlite;
mod users;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use db::{params, Conn, Sql, Tx};

pub use audit::{AuditEvent, AuditKind, AuditQuery};
pub use bans::BanRow;
pub use certificates::CertificateRow;
pub use copy::{copy_into, Copied};
pub use invites::{InviteState, NO_PASSWORD};
pub use outbox::{Outbox, Pending, MAX_PENDING_BANS, MAX_PENDING_REVOCATIONS};
pub use passkeys::{NewPasskey, PasskeyRow};
pub use postgres::{unix_millis, Health, Notice, NoticeHandler, PgTarget};
pub use remembered::RememberedBrowser;
pub use second_factor::{Enrolled, PendingEnrolment, RecoveryCodeRow, SealedSecret, TotpRow};
pub use sessions::{SessionListing, SessionRow};
pub use sqlite::{READ_BUSY_TIMEOUT, READ_CONNECTIONS, WRITE_BUSY_TIMEOUT};
pub use users::{NewUser, User};

/// A store failure; the message never carries secrets.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {}", postgres::describe(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("the database is unreachable: {0}")]
    Unreachable(String),
    #[error("{0}")]
    Config(String),
    #[error("the query returned no row")]
    NoRow,
    #[error("cannot create the data directory {0}: {1}")]
    Directory(String, std::io::Error),
    #[error("user `{0}` already exists")]
    DuplicateUser(String),
    #[error("no user named `{0}`")]
    UnknownUser(String),
    #[error("the session ended")]
    SessionGone,
    #[error("the store task failed: {0}")]
    Task(String),
    #[error("the database did not answer within {}", humantime::format_duration(*.0))]
    Timeout(Duration),
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The longest any [`Store::call`] is waited for, from the call to its answer: then it is a
/// [`StoreError::Timeout`], which pages turn into a 503.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Where the store is: a SQLite file, or a PostgreSQL database shared by replicas.
#[derive(Debug, Clone)]
pub enum Location {
    Sqlite(std::path::PathBuf),
    Postgres(PgTarget),
}

enum Engine {
    Sqlite(sqlite::SqliteEngine),
    Postgres(Box<postgres::PgEngine>),
}

/// The store. Cheap to clone; connections are shared.
///
/// On SQLite, one connection writes and [`READ_CONNECTIONS`] read-only ones serve every pure
/// read (in WAL mode a reader never waits for a writer); on PostgreSQL, every call takes a
/// client from one pool. Every wait is bounded by the deadline of the call.
#[derive(Clone)]
pub struct Store {
    engine: Arc<Engine>,
    /// Set on the copy a [`Store::call`] runs with: waits for a connection end there.
    deadline: Option<Instant>,
    outbox: Arc<Outbox>,
    /// Session rows read so far: lets tests and benchmarks see that cached sessions never
    /// reach the store.
    session_reads: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// A connection taken for one caller: back to its pool when dropped.
enum Handle<'a> {
    Sqlite(sqlite::Pooled<'a>),
    Pg(postgres::PgConn),
}

impl Sql for Handle<'_> {
    fn conn(&self) -> Conn<'_> {
        match self {
            Handle::Sqlite(c) => Conn::Sqlite(c),
            Handle::Pg(c) => Conn::Pg(c),
        }
    }
}

impl Handle<'_> {
    /// Opens a transaction (on SQLite, one that takes the write lock at once).
    fn transaction(&mut self) -> Result<Tx<'_>> {
        match self {
            Handle::Sqlite(c) => Ok(Tx::Sqlite(
                c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?,
            )),
            Handle::Pg(c) => Ok(Tx::Pg(db::PgTx::begin(c)?)),
        }
    }
}

impl Store {
    /// Opens the SQLite database at `path` (creating it when absent) and runs pending
    /// migrations.
    pub fn open(path: &Path) -> Result<Store> {
        Self::open_at(&Location::Sqlite(path.to_path_buf()))
    }

    /// Opens the store at `location` and brings its schema up to date.
    pub fn open_at(location: &Location) -> Result<Store> {
        let engine = match location {
            Location::Sqlite(path) => Engine::Sqlite(sqlite::SqliteEngine::open(path)?),
            Location::Postgres(target) => {
                Engine::Postgres(Box::new(postgres::PgEngine::open(target)?))
            }
        };
        Ok(Store {
            engine: Arc::new(engine),
            deadline: None,
            outbox: Arc::default(),
            session_reads: Arc::default(),
        })
    }

    /// Whether several gateways may share this store (PostgreSQL): failure counts are then
    /// kept in it rather than in each gateway's memory.
    pub fn is_shared(&self) -> bool {
        matches!(*self.engine, Engine::Postgres(_))
    }

    /// Since when (Unix milliseconds) the database has been unreachable, if it is: always
    /// `None` for SQLite, a file that is always there.
    pub fn down_since(&self) -> Option<i64> {
        match &*self.engine {
            Engine::Sqlite(_) => None,
            Engine::Postgres(pg) => pg.health.down_since(),
        }
    }

    /// Since when (Unix milliseconds) statements have failed for want of the database, if they
    /// have: what `outage_grace` counts from. Always `None` for SQLite.
    pub fn unreachable_since(&self) -> Option<i64> {
        match &*self.engine {
            Engine::Sqlite(_) => None,
            Engine::Postgres(pg) => pg.health.unreachable_since(),
        }
    }

    /// Whether cached copies may be stale because the store's change notices may have been
    /// missed (PostgreSQL, while the listening connection is down); never on SQLite.
    pub fn cache_suspect(&self) -> bool {
        match &*self.engine {
            Engine::Sqlite(_) => false,
            Engine::Postgres(pg) => pg.health.deaf(),
        }
    }

    /// Hands every change the database announces to `handler` (PostgreSQL; SQLite announces
    /// nothing: the generation counter and the control socket serve its single gateway).
    pub fn listen(&self, handler: NoticeHandler) {
        if let Engine::Postgres(pg) = &*self.engine {
            pg.listen(handler);
        }
    }

    /// This store with every wait ending at `deadline` (a long piece of work, such as a copy).
    fn until(&self, deadline: Instant) -> Store {
        Store {
            deadline: Some(deadline),
            ..self.clone()
        }
    }

    /// When waiting for a connection must end: the call's deadline, else (a synchronous
    /// caller such as the command line) [`CALL_TIMEOUT`] from now.
    fn deadline(&self) -> Instant {
        self.deadline
            .unwrap_or_else(|| Instant::now() + CALL_TIMEOUT)
    }

    /// A connection that may write (SQLite's one writer).
    fn write(&self) -> Result<Handle<'_>> {
        match &*self.engine {
            Engine::Sqlite(e) => Ok(Handle::Sqlite(e.writer.checkout(self.deadline())?)),
            Engine::Postgres(e) => Ok(Handle::Pg(e.get(self.deadline())?)),
        }
    }

    /// A connection for reading (on SQLite, read-only: never waits for the writer).
    fn read(&self) -> Result<Handle<'_>> {
        match &*self.engine {
            Engine::Sqlite(e) => Ok(Handle::Sqlite(e.readers.checkout(self.deadline())?)),
            Engine::Postgres(e) => Ok(Handle::Pg(e.get(self.deadline())?)),
        }
    }

    /// Writes the store refused, waiting to be retried.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Runs `f` on the blocking pool: how async code reaches the store. Answers within
    /// [`CALL_TIMEOUT`], with [`StoreError::Timeout`] when the work did not finish by then
    /// (it may still finish later; nobody waits for it).
    pub async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T> + Send + 'static,
    {
        let deadline = Instant::now() + CALL_TIMEOUT;
        let mut store = self.clone();
        store.deadline = Some(deadline);
        let task = tokio::task::spawn_blocking(move || {
            // Work queued past its deadline is not started: its caller has given up.
            if Instant::now() >= deadline {
                return Err(StoreError::Timeout(CALL_TIMEOUT));
            }
            f(&store)
        });
        match tokio::time::timeout_at(deadline.into(), task).await {
            Ok(joined) => joined.map_err(|e| StoreError::Task(e.to_string()))?,
            Err(_) => Err(StoreError::Timeout(CALL_TIMEOUT)),
        }
    }

    // -- meta --------------------------------------------------------------------------------

    /// The value stored under `key` in the `meta` table.
    pub fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.read()?
            .value("SELECT value FROM meta WHERE key = ?1", params![key])
    }

    /// Stores `value` under `key`, replacing what was there.
    pub fn meta_set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.write()?.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Stores `value` under `key` unless a value is there already; whether it did.
    pub fn meta_insert_new(&self, key: &str, value: &[u8]) -> Result<bool> {
        Ok(self.write()?.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
            params![key, value],
        )? == 1)
    }

    /// A counter bumped by every change that must reach running gateways' caches
    /// (revocations, user changes made from the command line).
    pub fn generation(&self) -> Result<i64> {
        match self.read()? {
            Handle::Sqlite(c) => sqlite::generation(&c),
            Handle::Pg(c) => postgres::generation(&c),
        }
    }

    fn bump_generation(conn: &impl Sql) -> Result<()> {
        match conn.conn() {
            Conn::Sqlite(c) => sqlite::bump_generation(c),
            Conn::Pg(c) => postgres::bump_generation(c),
        }
    }

    /// Answers when the database does: for the health check. Reads a row (`SELECT 1` would
    /// not touch the file) on a read connection, so a writer elsewhere does not hold it up.
    pub fn ping(&self) -> Result<()> {
        self.generation().map(|_| ())
    }

    // -- the outbox --------------------------------------------------------------------------

    /// Writes what the [`Outbox`] kept while the store refused it, in one transaction: deletes
    /// the revoked sessions (every session, with `end_all`) and records the bans.
    pub fn write_pending(&self, batch: &Pending) -> Result<()> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        if batch.end_all {
            tx.execute("DELETE FROM sessions", params![])?;
        }
        // In one order on every gateway, as `touch_sessions` does: no two wait on each other.
        let mut revoked = batch.revoked.clone();
        revoked.sort_unstable();
        for id_hash in &revoked {
            tx.execute(
                "DELETE FROM sessions WHERE id_hash = ?1",
                params![&id_hash[..]],
            )?;
        }
        for (key, until) in &batch.bans {
            tx.execute(Self::PUT_BAN, params![key, until])?;
        }
        tx.commit()?;
        Ok(())
    }

    // -- shared failure counts ---------------------------------------------------------------

    /// Counts a failure against `key` at `now` in the store (for gateways that share it) and
    /// returns the failures counted since the count began, within `window` seconds of it; a
    /// count older than the window starts again. One statement: two gateways counting at
    /// once get consecutive numbers.
    pub fn count_failure(&self, key: &str, now: i64, window: i64) -> Result<i64> {
        self.write()?.query_one(
            "INSERT INTO failures (key, count, since) VALUES (?1, 1, ?2)
             ON CONFLICT(key) DO UPDATE SET
                 count = CASE WHEN failures.since <= ?3 THEN 1 ELSE failures.count + 1 END,
                 since = CASE WHEN failures.since <= ?3 THEN ?2 ELSE failures.since END
             RETURNING count",
            params![key, now, now - window],
            |r| r.get(0),
        )
    }

    /// Forgets the shared failure count of `key` (a success, or a lifted ban).
    pub fn clear_failures(&self, key: &str) -> Result<()> {
        self.write()?
            .execute("DELETE FROM failures WHERE key = ?1", params![key])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh store in a directory that lives as long as the returned guard.
    pub(super) fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("t.db")).unwrap();
        (dir, s)
    }

    /// Creates a user named `name` in the group `g`; returns its id.
    pub(super) fn user(s: &Store, name: &str) -> i64 {
        s.create_user(
            &NewUser {
                username: name.into(),
                password_hash: "x".into(),
                groups: vec!["g".into()],
                ..Default::default()
            },
            1,
        )
        .unwrap()
    }

    #[test]
    fn reads_do_not_wait_for_a_write_lock_held_elsewhere() {
        let (dir, s) = store();
        let id = user(&s, "erin");
        let other = rusqlite::Connection::open(dir.path().join("t.db")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let started = Instant::now();
        assert!(s.user_by_id(id).unwrap().is_some());
        s.ping().unwrap();
        assert!(started.elapsed() < READ_BUSY_TIMEOUT / 4);
        other.execute_batch("COMMIT").unwrap();
    }

    #[test]
    fn waiting_for_the_writer_ends_at_the_deadline() {
        let (_d, s) = store();
        let held = s.write().unwrap();
        let mut late = s.clone();
        late.deadline = Some(Instant::now() + Duration::from_millis(50));
        assert!(matches!(
            late.put_ban("user:a", 10),
            Err(StoreError::Timeout(_))
        ));
        drop(held);
        s.put_ban("user:a", 10).unwrap();
        assert_eq!(s.ban_until("user:a", 0).unwrap(), Some(10));
    }

    #[test]
    fn read_connections_cannot_write() {
        let (_d, s) = store();
        let reader = s.read().unwrap();
        assert!(reader
            .execute("INSERT INTO bans (key, until) VALUES ('k', 1)", params![])
            .is_err());
    }

    #[test]
    fn migrations_run_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        drop(Store::open(&path).unwrap());
        let s = Store::open(&path).unwrap();
        assert_eq!(s.generation().unwrap(), 0);
    }
}
