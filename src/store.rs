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

mod outbox;

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

pub use outbox::{Outbox, Pending, MAX_PENDING_BANS, MAX_PENDING_REVOCATIONS};

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

/// A user as the gateway needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: i64,
    pub groups: Vec<String>,
}

/// Fields of a new user.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub password_hash: String,
    pub groups: Vec<String>,
}

/// A session row. `id_hash` is the SHA-256 of the cookie value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id_hash: [u8; 32],
    pub user_id: i64,
    pub level: u8,
    pub created_at: i64,
    pub last_seen: i64,
    pub expires_at: i64,
    pub client_ip: String,
    pub user_agent: String,
}

/// A session listed with its user's name.
#[derive(Debug, Clone)]
pub struct SessionListing {
    pub username: String,
    pub row: SessionRow,
}

/// An encrypted TOTP secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// The TOTP state of a user.
#[derive(Debug, Clone)]
pub struct TotpRow {
    pub secret: SealedSecret,
    /// Last accepted time step; codes at or before it are refused.
    pub last_step: Option<i64>,
}

/// A TOTP secret waiting for its first code.
#[derive(Debug, Clone)]
pub struct PendingEnrolment {
    pub secret: SealedSecret,
    pub created_at: i64,
    /// The session that started it; only that session may see or confirm it.
    pub session_hash: Option<Vec<u8>>,
}

/// A recovery code hash with its row id.
#[derive(Debug, Clone)]
pub struct RecoveryCodeRow {
    pub id: i64,
    pub hash: String,
}

/// One audit row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEvent {
    pub at: i64,
    pub username: Option<String>,
    pub event: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
}

/// A persisted ban.
#[derive(Debug, Clone)]
pub struct BanRow {
    pub key: String,
    pub until: i64,
}

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

    pub fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .read()?
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

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

    /// Whether any user has a TOTP secret (enabled or pending).
    pub fn has_sealed_secrets(&self) -> Result<bool> {
        Ok(self.read()?.query_row(
            "SELECT EXISTS(SELECT 1 FROM totp) OR EXISTS(SELECT 1 FROM totp_pending)",
            [],
            |r| r.get(0),
        )?)
    }

    /// Answers when the database does: for the health check. Reads a row (`SELECT 1` would
    /// not touch the file) on a read connection, so a writer elsewhere does not hold it up.
    pub fn ping(&self) -> Result<()> {
        self.generation().map(|_| ())
    }

    // -- users -------------------------------------------------------------------------------

    pub fn create_user(&self, new: &NewUser, now: i64) -> Result<i64> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        let inserted = tx.execute(
            "INSERT INTO users (username, email, display_name, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                new.username,
                new.email,
                new.display_name,
                new.password_hash,
                now
            ],
        );
        match inserted {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                return Err(StoreError::DuplicateUser(new.username.clone()));
            }
            other => other?,
        };
        let id = tx.last_insert_rowid();
        for g in &new.groups {
            tx.execute(
                "INSERT OR IGNORE INTO user_groups (user_id, name) VALUES (?1, ?2)",
                params![id, g],
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    fn user_from_row(conn: &Connection, row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
        let id: i64 = row.get(0)?;
        let mut stmt =
            conn.prepare_cached("SELECT name FROM user_groups WHERE user_id = ?1 ORDER BY name")?;
        let groups = stmt
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(User {
            id,
            username: row.get(1)?,
            email: row.get(2)?,
            display_name: row.get(3)?,
            password_hash: row.get(4)?,
            disabled: row.get(5)?,
            created_at: row.get(6)?,
            groups,
        })
    }

    const USER_COLUMNS: &'static str =
        "id, username, email, display_name, password_hash, disabled, created_at";

    pub fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        let conn = self.read()?;
        let sql = format!(
            "SELECT {} FROM users WHERE username = ?1",
            Self::USER_COLUMNS
        );
        Ok(conn
            .query_row(&sql, [username], |r| Self::user_from_row(&conn, r))
            .optional()?)
    }

    pub fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let conn = self.read()?;
        let sql = format!("SELECT {} FROM users WHERE id = ?1", Self::USER_COLUMNS);
        Ok(conn
            .query_row(&sql, [id], |r| Self::user_from_row(&conn, r))
            .optional()?)
    }

    pub fn list_users(&self) -> Result<Vec<User>> {
        let conn = self.read()?;
        let sql = format!("SELECT {} FROM users ORDER BY username", Self::USER_COLUMNS);
        let mut stmt = conn.prepare(&sql)?;
        let users = stmt
            .query_map([], |r| Self::user_from_row(&conn, r))?
            .collect::<rusqlite::Result<Vec<User>>>()?;
        Ok(users)
    }

    fn require_user(tx: &Connection, username: &str) -> Result<i64> {
        tx.query_row(
            "SELECT id FROM users WHERE username = ?1",
            [username],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| StoreError::UnknownUser(username.to_string()))
    }

    /// Sets a new password hash and ends every session of the user.
    pub fn set_password(&self, username: &str, hash: &str) -> Result<()> {
        self.change_user(username, |tx, id| {
            tx.execute(
                "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                params![hash, id],
            )?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
            Ok(())
        })
    }

    /// Disables or enables a user; disabling ends every session.
    pub fn set_disabled(&self, username: &str, disabled: bool) -> Result<()> {
        self.change_user(username, |tx, id| {
            tx.execute(
                "UPDATE users SET disabled = ?1 WHERE id = ?2",
                params![disabled, id],
            )?;
            if disabled {
                tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
            }
            Ok(())
        })
    }

    /// Deletes a user and, by cascade, their sessions, secrets and codes.
    pub fn delete_user(&self, username: &str) -> Result<()> {
        self.change_user(username, |tx, id| {
            tx.execute("DELETE FROM users WHERE id = ?1", [id])?;
            Ok(())
        })
    }

    /// Adds and removes groups.
    pub fn change_groups(&self, username: &str, add: &[String], remove: &[String]) -> Result<()> {
        self.change_user(username, |tx, id| {
            for g in add {
                tx.execute(
                    "INSERT OR IGNORE INTO user_groups (user_id, name) VALUES (?1, ?2)",
                    params![id, g],
                )?;
            }
            for g in remove {
                tx.execute(
                    "DELETE FROM user_groups WHERE user_id = ?1 AND name = ?2",
                    params![id, g],
                )?;
            }
            Ok(())
        })
    }

    /// Removes TOTP (enabled and pending) and recovery codes and ends every session.
    pub fn reset_second_factor(&self, username: &str) -> Result<()> {
        self.change_user(username, |tx, id| {
            tx.execute("DELETE FROM totp WHERE user_id = ?1", [id])?;
            tx.execute("DELETE FROM totp_pending WHERE user_id = ?1", [id])?;
            tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [id])?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
            Ok(())
        })
    }

    /// Ends every session of a user; returns how many there were.
    pub fn revoke_user_sessions(&self, username: &str) -> Result<usize> {
        let mut count = 0;
        self.change_user(username, |tx, id| {
            count = tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
            Ok(())
        })?;
        Ok(count)
    }

    /// One transaction around a change to a named user; bumps the generation so running
    /// gateways drop what they cached.
    fn change_user(
        &self,
        username: &str,
        f: impl FnOnce(&Connection, i64) -> Result<()>,
    ) -> Result<()> {
        let mut conn = self.write()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = Self::require_user(&tx, username)?;
        f(&tx, id)?;
        Self::bump_generation(&tx)?;
        tx.commit()?;
        Ok(())
    }

    // -- sessions ----------------------------------------------------------------------------

    pub fn insert_session(&self, row: &SessionRow) -> Result<()> {
        self.write()?.execute(
            "INSERT INTO sessions (id_hash, user_id, level, created_at, last_seen, expires_at,
                                   client_ip, user_agent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                &row.id_hash[..],
                row.user_id,
                row.level,
                row.created_at,
                row.last_seen,
                row.expires_at,
                row.client_ip,
                row.user_agent
            ],
        )?;
        Ok(())
    }

    /// Replaces one session by another in one transaction (a change of level). With
    /// `must_exist`, nothing is written and `false` returned when the old session is gone (it
    /// was revoked meanwhile: it must not be raised).
    pub fn replace_session(
        &self,
        old: &[u8; 32],
        new: &SessionRow,
        must_exist: bool,
    ) -> Result<bool> {
        let mut conn = self.write()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let deleted = tx.execute("DELETE FROM sessions WHERE id_hash = ?1", [&old[..]])?;
        if must_exist && deleted == 0 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO sessions (id_hash, user_id, level, created_at, last_seen, expires_at,
                                   client_ip, user_agent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                &new.id_hash[..],
                new.user_id,
                new.level,
                new.created_at,
                new.last_seen,
                new.expires_at,
                new.client_ip,
                new.user_agent
            ],
        )?;
        tx.commit()?;
        Ok(true)
    }

    pub fn session(&self, id_hash: &[u8; 32]) -> Result<Option<SessionRow>> {
        self.session_reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id_hash, user_id, level, created_at, last_seen, expires_at, client_ip,
                    user_agent FROM sessions WHERE id_hash = ?1",
        )?;
        Ok(stmt
            .query_row([&id_hash[..]], session_from_row)
            .optional()?)
    }

    /// How many session rows this store (and its clones) has read.
    pub fn session_reads(&self) -> u64 {
        self.session_reads
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn delete_session(&self, id_hash: &[u8; 32]) -> Result<bool> {
        Ok(self
            .write()?
            .execute("DELETE FROM sessions WHERE id_hash = ?1", [&id_hash[..]])?
            > 0)
    }

    /// Records when sessions were last seen (batched by the gateway).
    pub fn touch_sessions(&self, seen: &[([u8; 32], i64)]) -> Result<()> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE sessions SET last_seen = MAX(last_seen, ?2) WHERE id_hash = ?1",
            )?;
            for (hash, at) in seen {
                stmt.execute(params![&hash[..], at])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes sessions past their absolute expiry or idle for longer than `idle_secs`.
    pub fn sweep_sessions(&self, now: i64, idle_secs: i64) -> Result<usize> {
        Ok(self.write()?.execute(
            "DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen + ?2 <= ?1",
            params![now, idle_secs],
        )?)
    }

    pub fn list_sessions(&self, username: Option<&str>) -> Result<Vec<SessionListing>> {
        let conn = self.read()?;
        let mut stmt = conn.prepare(
            "SELECT s.id_hash, s.user_id, s.level, s.created_at, s.last_seen, s.expires_at,
                    s.client_ip, s.user_agent, u.username
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE ?1 IS NULL OR u.username = ?1
             ORDER BY u.username, s.last_seen DESC",
        )?;
        let rows = stmt
            .query_map([username], |r| {
                Ok(SessionListing {
                    row: session_from_row(r)?,
                    username: r.get(8)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    // -- TOTP --------------------------------------------------------------------------------

    pub fn totp(&self, user_id: i64) -> Result<Option<TotpRow>> {
        Ok(self
            .read()?
            .query_row(
                "SELECT nonce, ciphertext, last_step FROM totp WHERE user_id = ?1",
                [user_id],
                |r| {
                    Ok(TotpRow {
                        secret: SealedSecret {
                            nonce: r.get(0)?,
                            ciphertext: r.get(1)?,
                        },
                        last_step: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// The pending enrolment of a user.
    pub fn totp_pending(&self, user_id: i64) -> Result<Option<PendingEnrolment>> {
        Ok(self
            .read()?
            .query_row(
                "SELECT nonce, ciphertext, created_at, session_hash FROM totp_pending
                 WHERE user_id = ?1",
                [user_id],
                |r| {
                    Ok(PendingEnrolment {
                        secret: SealedSecret {
                            nonce: r.get(0)?,
                            ciphertext: r.get(1)?,
                        },
                        created_at: r.get(2)?,
                        session_hash: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// Starts (or restarts) the enrolment of a user from the session `session_hash`.
    pub fn set_totp_pending(
        &self,
        user_id: i64,
        secret: &SealedSecret,
        now: i64,
        session_hash: &[u8; 32],
    ) -> Result<()> {
        self.write()?.execute(
            "INSERT INTO totp_pending (user_id, nonce, ciphertext, created_at, session_hash)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(user_id) DO UPDATE SET nonce = excluded.nonce,
                 ciphertext = excluded.ciphertext, created_at = excluded.created_at,
                 session_hash = excluded.session_hash",
            params![
                user_id,
                secret.nonce,
                secret.ciphertext,
                now,
                &session_hash[..]
            ],
        )?;
        Ok(())
    }

    /// Records `step` as the last accepted one, unless a step at or after it was accepted
    /// already: returns false then (the code is a replay or lost a race).
    pub fn accept_totp_step(&self, user_id: i64, step: i64) -> Result<bool> {
        Ok(self.write()?.execute(
            "UPDATE totp SET last_step = ?2
             WHERE user_id = ?1 AND (last_step IS NULL OR last_step < ?2)",
            params![user_id, step],
        )? == 1)
    }

    /// Turns the pending enrolment into the enabled secret, with `step` accepted and a new set
    /// of recovery codes, in one transaction. False when the pending enrolment is gone.
    pub fn confirm_totp(
        &self,
        user_id: i64,
        expected: &SealedSecret,
        step: i64,
        code_hashes: &[String],
        now: i64,
    ) -> Result<bool> {
        let mut conn = self.write()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let removed = tx.execute(
            "DELETE FROM totp_pending WHERE user_id = ?1 AND nonce = ?2 AND ciphertext = ?3",
            params![user_id, expected.nonce, expected.ciphertext],
        )?;
        if removed != 1 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO totp (user_id, nonce, ciphertext, last_step, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(user_id) DO UPDATE SET nonce = excluded.nonce,
                 ciphertext = excluded.ciphertext, last_step = excluded.last_step,
                 created_at = excluded.created_at",
            params![user_id, expected.nonce, expected.ciphertext, step, now],
        )?;
        Self::write_recovery_codes(&tx, user_id, code_hashes)?;
        tx.commit()?;
        Ok(true)
    }

    /// Removes TOTP and recovery codes of a user (the user turned 2FA off).
    pub fn disable_totp(&self, user_id: i64) -> Result<()> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM totp WHERE user_id = ?1", [user_id])?;
        tx.execute("DELETE FROM totp_pending WHERE user_id = ?1", [user_id])?;
        tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [user_id])?;
        tx.commit()?;
        Ok(())
    }

    // -- recovery codes ----------------------------------------------------------------------

    fn write_recovery_codes(tx: &Connection, user_id: i64, hashes: &[String]) -> Result<()> {
        tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [user_id])?;
        let mut stmt =
            tx.prepare_cached("INSERT INTO recovery_codes (user_id, hash) VALUES (?1, ?2)")?;
        for h in hashes {
            stmt.execute(params![user_id, h])?;
        }
        Ok(())
    }

    /// Replaces the whole set of a user's recovery codes.
    pub fn replace_recovery_codes(&self, user_id: i64, hashes: &[String]) -> Result<()> {
        let mut conn = self.write()?;
        let tx = conn.transaction()?;
        Self::write_recovery_codes(&tx, user_id, hashes)?;
        tx.commit()?;
        Ok(())
    }

    /// Unused recovery codes of a user.
    pub fn unused_recovery_codes(&self, user_id: i64) -> Result<Vec<RecoveryCodeRow>> {
        let conn = self.read()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, hash FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL ORDER BY id",
        )?;
        let rows = stmt
            .query_map([user_id], |r| {
                Ok(RecoveryCodeRow {
                    id: r.get(0)?,
                    hash: r.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Marks a code used if it still is unused; returns the count left, or `None` when
    /// another request used it first.
    pub fn consume_recovery_code(&self, user_id: i64, id: i64, now: i64) -> Result<Option<i64>> {
        let mut conn = self.write()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE recovery_codes SET used_at = ?3 WHERE id = ?1 AND user_id = ?2 AND used_at IS NULL",
            params![id, user_id, now],
        )?;
        if changed != 1 {
            return Ok(None);
        }
        let left = tx.query_row(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
            [user_id],
            |r| r.get(0),
        )?;
        tx.commit()?;
        Ok(Some(left))
    }

    pub fn recovery_codes_left(&self, user_id: i64) -> Result<i64> {
        Ok(self.read()?.query_row(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
            [user_id],
            |r| r.get(0),
        )?)
    }

    // -- bans --------------------------------------------------------------------------------

    const PUT_BAN: &'static str = "INSERT INTO bans (key, until) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET until = MAX(until, excluded.until)";

    pub fn put_ban(&self, key: &str, until: i64) -> Result<()> {
        self.write()?.execute(Self::PUT_BAN, params![key, until])?;
        Ok(())
    }

    pub fn ban_until(&self, key: &str, now: i64) -> Result<Option<i64>> {
        Ok(self
            .read()?
            .query_row(
                "SELECT until FROM bans WHERE key = ?1 AND until > ?2",
                params![key, now],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn active_bans(&self, now: i64) -> Result<Vec<BanRow>> {
        let conn = self.read()?;
        let mut stmt = conn.prepare("SELECT key, until FROM bans WHERE until > ?1")?;
        let rows = stmt
            .query_map([now], |r| {
                Ok(BanRow {
                    key: r.get(0)?,
                    until: r.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    pub fn sweep_bans(&self, now: i64) -> Result<usize> {
        Ok(self
            .write()?
            .execute("DELETE FROM bans WHERE until <= ?1", [now])?)
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

    // -- audit -------------------------------------------------------------------------------

    pub fn audit(&self, e: &AuditEvent) -> Result<()> {
        self.write()?.execute(
            "INSERT INTO audit (at, username, event, client_ip, user_agent, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                e.at,
                e.username,
                e.event,
                e.client_ip,
                e.user_agent,
                e.detail
            ],
        )?;
        Ok(())
    }

    /// The newest `limit` events, oldest first.
    pub fn audit_events(&self, username: Option<&str>, limit: usize) -> Result<Vec<AuditEvent>> {
        let conn = self.read()?;
        let mut stmt = conn.prepare(
            "SELECT at, username, event, client_ip, user_agent, detail FROM (
                 SELECT * FROM audit WHERE ?1 IS NULL OR username = ?1 COLLATE NOCASE
                 ORDER BY id DESC LIMIT ?2
             ) ORDER BY id",
        )?;
        let rows = stmt
            .query_map(params![username, limit as i64], |r| {
                Ok(AuditEvent {
                    at: r.get(0)?,
                    username: r.get(1)?,
                    event: r.get(2)?,
                    client_ip: r.get(3)?,
                    user_agent: r.get(4)?,
                    detail: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

fn session_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    let hash: Vec<u8> = r.get(0)?;
    let mut id_hash = [0u8; 32];
    if hash.len() == 32 {
        id_hash.copy_from_slice(&hash);
    }
    Ok(SessionRow {
        id_hash,
        user_id: r.get(1)?,
        level: r.get(2)?,
        created_at: r.get(3)?,
        last_seen: r.get(4)?,
        expires_at: r.get(5)?,
        client_ip: r.get(6)?,
        user_agent: r.get(7)?,
    })
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

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("t.db")).unwrap();
        (dir, s)
    }

    fn user(s: &Store, name: &str) -> i64 {
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
    fn duplicate_users_are_refused_whatever_the_case() {
        let (_d, s) = store();
        user(&s, "alice");
        let err = s
            .create_user(
                &NewUser {
                    username: "ALICE".into(),
                    password_hash: "x".into(),
                    ..Default::default()
                },
                1,
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::DuplicateUser(_)));
    }

    #[test]
    fn a_recovery_code_is_consumed_once() {
        let (_d, s) = store();
        let id = user(&s, "bob");
        s.replace_recovery_codes(id, &["h1".into(), "h2".into()])
            .unwrap();
        let codes = s.unused_recovery_codes(id).unwrap();
        assert_eq!(
            s.consume_recovery_code(id, codes[0].id, 5).unwrap(),
            Some(1)
        );
        assert_eq!(s.consume_recovery_code(id, codes[0].id, 6).unwrap(), None);
        assert_eq!(s.recovery_codes_left(id).unwrap(), 1);
    }

    #[test]
    fn totp_steps_only_move_forward() {
        let (_d, s) = store();
        let id = user(&s, "carol");
        let sealed = SealedSecret {
            nonce: vec![1],
            ciphertext: vec![2],
        };
        s.set_totp_pending(id, &sealed, 1, &[7; 32]).unwrap();
        assert!(s.confirm_totp(id, &sealed, 10, &[], 1).unwrap());
        assert!(!s.accept_totp_step(id, 10).unwrap());
        assert!(!s.accept_totp_step(id, 9).unwrap());
        assert!(s.accept_totp_step(id, 11).unwrap());
    }

    #[test]
    fn the_sweep_removes_idle_and_expired_sessions_only() {
        let (_d, s) = store();
        let id = user(&s, "dave");
        let row = |n: u8, last_seen: i64, expires_at: i64| SessionRow {
            id_hash: [n; 32],
            user_id: id,
            level: 1,
            created_at: 0,
            last_seen,
            expires_at,
            client_ip: "127.0.0.1".into(),
            user_agent: "t".into(),
        };
        s.insert_session(&row(1, 990, 2000)).unwrap(); // live
        s.insert_session(&row(2, 100, 2000)).unwrap(); // idle for 900 s
        s.insert_session(&row(3, 995, 1000)).unwrap(); // past its absolute expiry
        assert_eq!(s.sweep_sessions(1000, 600).unwrap(), 2);
        assert!(s.session(&[1; 32]).unwrap().is_some());
        assert!(s.session(&[2; 32]).unwrap().is_none());
        assert!(s.session(&[3; 32]).unwrap().is_none());
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
