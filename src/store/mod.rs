//! The SQLite store: the only module with SQL.
//!
//! Owns the schema and its migrations, users and groups, sessions (by the SHA-256 of their
//! id, never the id), TOTP secrets (as ciphertext; the key lives elsewhere), recovery codes
//! (as salted hashes), bans and the audit trail. Every method is synchronous and may block:
//! async callers go through [`Store::call`], which runs the work on the blocking pool and
//! answers within [`CALL_TIMEOUT`]. Pure reads use read-only connections and writes the one
//! writing connection, so readers never queue behind a writer (see [`Store`]).
//! Multi-statement changes run in one transaction, so a failure leaves nothing half-written.
//! Revocations and bans the store refused wait in its [`Outbox`] until it accepts them.
//!
//! This file owns what every aggregate shares: the connections and their deadlines, the
//! migrations, [`StoreError`], the `meta` table (the generation counter) and the write of the
//! outbox. Each aggregate has its own file with its SQL and row types in its own `impl Store`:
//! `users.rs` (and groups), `sessions.rs`, `second_factor.rs` (TOTP, pending enrolment,
//! recovery codes), `remembered.rs` (browsers that skip it), `passkeys.rs`, `invites.rs`, `bans.rs` and `audit.rs`. Callers see one flat `store::` namespace.

mod audit;
mod bans;
mod invites;
mod outbox;
mod passkeys;
mod remembered;
mod second_factor;
mod sessions;
mod users;

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

pub use audit::{AuditEvent, AuditKind, AuditQuery};
pub use bans::BanRow;
pub use invites::{InviteState, NO_PASSWORD};
pub use outbox::{Outbox, Pending, MAX_PENDING_BANS, MAX_PENDING_REVOCATIONS};
pub use passkeys::{NewPasskey, PasskeyRow};
pub use remembered::RememberedBrowser;
pub use second_factor::{Enrolled, PendingEnrolment, RecoveryCodeRow, SealedSecret, TotpRow};
pub use sessions::{SessionListing, SessionRow};
pub use users::{NewUser, User};

/// A store failure; the message never carries secrets.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
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

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        email TEXT,
        display_name TEXT,
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE user_groups (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        PRIMARY KEY (user_id, name)
    );
    CREATE TABLE sessions (
        id_hash BLOB PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        level INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        client_ip TEXT NOT NULL,
        user_agent TEXT NOT NULL
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE TABLE totp (
        user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        nonce BLOB NOT NULL,
        ciphertext BLOB NOT NULL,
        last_step INTEGER,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE totp_pending (
        user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        nonce BLOB NOT NULL,
        ciphertext BLOB NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE recovery_codes (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        hash TEXT NOT NULL,
        used_at INTEGER
    );
    CREATE INDEX recovery_codes_user ON recovery_codes(user_id);
    CREATE TABLE bans (
        key TEXT PRIMARY KEY,
        until INTEGER NOT NULL
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        username TEXT,
        event TEXT NOT NULL,
        client_ip TEXT,
        user_agent TEXT,
        detail TEXT
    );
    CREATE INDEX audit_user ON audit(username, id);
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL
    );
    INSERT INTO meta (key, value) VALUES ('generation', 0);
    "#,
    // 2: a pending enrolment belongs to the session that started it.
    r#"
    ALTER TABLE totp_pending ADD COLUMN session_hash BLOB;
    "#,
    // 3: invite links (by the SHA-256 of their token; a used one is kept to say so).
    r#"
    CREATE TABLE invites (
        token_hash BLOB PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
    );
    CREATE INDEX invites_user ON invites(user_id);
    "#,
    // 4: when a session's second factor was last typed; browsers that skip the second factor.
    r#"
    ALTER TABLE sessions ADD COLUMN factor_at INTEGER;
    CREATE TABLE remembered_browsers (
        token_hash BLOB PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        last_used INTEGER,
        client_ip TEXT NOT NULL,
        user_agent TEXT NOT NULL
    );
    CREATE INDEX remembered_browsers_user ON remembered_browsers(user_id);
    "#,
    // 5: a user who must set up a second factor before reaching any app (an invited person).
    r#"
    ALTER TABLE users ADD COLUMN must_enrol INTEGER NOT NULL DEFAULT 0;
    "#,
    // 6: passkeys, and the random handle that names a user to their authenticators.
    r#"
    ALTER TABLE users ADD COLUMN webauthn_handle BLOB;
    CREATE UNIQUE INDEX users_webauthn_handle ON users(webauthn_handle);
    CREATE TABLE passkeys (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        credential_id BLOB NOT NULL UNIQUE,
        rp_id TEXT NOT NULL,
        name TEXT NOT NULL,
        credential TEXT NOT NULL,
        counter INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER
    );
    CREATE INDEX passkeys_user ON passkeys(user_id);
    "#,
];

/// How long a write waits for another process's write lock on the database before SQLite
/// gives up with "database is locked".
pub const WRITE_BUSY_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a read waits on a lock. In WAL mode reads take none that a writer holds; this
/// covers a connection recovering the WAL or holding the database exclusively.
pub const READ_BUSY_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest any [`Store::call`] is waited for, from the call to its answer: then it is a
/// [`StoreError::Timeout`], which pages turn into a 503.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Read-only connections beside the one writer.
pub const READ_CONNECTIONS: usize = 4;

/// The store. Cheap to clone; connections are shared.
///
/// One connection writes; [`READ_CONNECTIONS`] read-only ones serve every pure read. In WAL
/// mode a reader never waits for a writer, so a write lock held by another process (the
/// command line, a backup, a migration) holds up writes only: session lookups, the health
/// check and sign-in's reads go on. Every wait is bounded: for a connection of the pool, by
/// the deadline of the call; for SQLite's locks, by the busy timeouts above.
#[derive(Clone)]
pub struct Store {
    writer: Arc<Pool>,
    readers: Arc<Pool>,
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

/// Connections of one kind, each used by one caller at a time.
struct Pool {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

impl Pool {
    fn new(connections: Vec<Connection>) -> Pool {
        Pool {
            idle: Mutex::new(connections),
            returned: Condvar::new(),
        }
    }

    /// A connection of the pool, waited for until `deadline` at most.
    fn checkout(&self, deadline: Instant) -> Result<Pooled<'_>> {
        // A panic while a connection was out cannot leave SQLite inconsistent (transactions
        // roll back on drop, and the connection came back when its guard dropped), so a
        // poisoned lock is safe to reuse.
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let wait = deadline.saturating_duration_since(Instant::now());
        let (mut idle, _) = self
            .returned
            .wait_timeout_while(idle, wait, |idle| idle.is_empty())
            .unwrap_or_else(|p| p.into_inner());
        match idle.pop() {
            Some(conn) => Ok(Pooled {
                pool: self,
                conn: Some(conn),
            }),
            None => Err(StoreError::Timeout(CALL_TIMEOUT)),
        }
    }
}

/// A connection taken from a [`Pool`]; it goes back when dropped.
struct Pooled<'a> {
    pool: &'a Pool,
    /// Always `Some` until dropped.
    conn: Option<Connection>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a pooled connection is present until dropped")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
            .as_mut()
            .expect("a pooled connection is present until dropped")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
            self.pool.returned.notify_one();
        }
    }
}

impl Store {
    /// Opens (creating when absent) the database at `path` and runs pending migrations.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Directory(dir.display().to_string(), e))?;
        }
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(WRITE_BUSY_TIMEOUT)?;
        migrate(&mut conn)?;
        // Opened after the writer made the file a WAL database with its schema: read-only
        // connections can neither create the file nor change its journal mode.
        let readers = (0..READ_CONNECTIONS)
            .map(|_| {
                let reader = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                reader.busy_timeout(READ_BUSY_TIMEOUT)?;
                Ok(reader)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Store {
            writer: Arc::new(Pool::new(vec![conn])),
            readers: Arc::new(Pool::new(readers)),
            deadline: None,
            outbox: Arc::default(),
            session_reads: Arc::default(),
        })
    }

    /// When waiting for a connection must end: the call's deadline, else (a synchronous
    /// caller such as the command line) [`CALL_TIMEOUT`] from now.
    fn deadline(&self) -> Instant {
        self.deadline
            .unwrap_or_else(|| Instant::now() + CALL_TIMEOUT)
    }

    /// The writing connection.
    fn write(&self) -> Result<Pooled<'_>> {
        self.writer.checkout(self.deadline())
    }

    /// A read-only connection: never waits for the writer.
    fn read(&self) -> Result<Pooled<'_>> {
        self.readers.checkout(self.deadline())
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
        Ok(self
            .read()?
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
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

    /// A counter bumped by every change that must reach running gateways' caches
    /// (revocations, user changes made from the command line).
    pub fn generation(&self) -> Result<i64> {
        Ok(self.read()?.query_row(
            "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'",
            [],
            |r| r.get(0),
        )?)
    }

    fn bump_generation(conn: &Connection) -> Result<()> {
        conn.execute(
            "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'",
            [],
        )?;
        Ok(())
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
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if batch.end_all {
            tx.execute("DELETE FROM sessions", [])?;
        }
        {
            let mut delete = tx.prepare_cached("DELETE FROM sessions WHERE id_hash = ?1")?;
            for id_hash in &batch.revoked {
                delete.execute([&id_hash[..]])?;
            }
            let mut ban = tx.prepare_cached(Self::PUT_BAN)?;
            for (key, until) in &batch.bans {
                ban.execute(params![key, until])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// A 32-byte SHA-256 stored in column `index` (all zeroes for a value of another length,
/// which matches no token).
fn hash_column(r: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<[u8; 32]> {
    let stored: Vec<u8> = r.get(index)?;
    let mut hash = [0u8; 32];
    if stored.len() == 32 {
        hash.copy_from_slice(&stored);
    }
    Ok(hash)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
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
        let other = Connection::open(dir.path().join("t.db")).unwrap();
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
            .execute("INSERT INTO bans (key, until) VALUES ('k', 1)", [])
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
