//! The SQLite engine: what only it has.
//!
//! One connection writes; [`READ_CONNECTIONS`] read-only ones serve every pure read. In WAL
//! mode a reader never waits for a writer, so a write lock held by another process (the
//! command line, a backup, a migration) holds up writes only: session lookups, the health
//! check and sign-in's reads go on. Every wait is bounded: for a connection of the pool, by
//! the deadline of the call; for SQLite's locks, by the busy timeouts below. The schema is
//! versioned with `user_version`.

use std::path::Path;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::{Result, StoreError, CALL_TIMEOUT};

/// How long a write waits for another process's write lock on the database before SQLite
/// gives up with "database is locked".
pub const WRITE_BUSY_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a read waits on a lock. In WAL mode reads take none that a writer holds; this
/// covers a connection recovering the WAL or holding the database exclusively.
pub const READ_BUSY_TIMEOUT: Duration = Duration::from_secs(2);
/// Read-only connections beside the one writer.
pub const READ_CONNECTIONS: usize = 4;

/// The engine: one writing connection and the readers.
pub struct SqliteEngine {
    pub writer: Pool,
    pub readers: Pool,
}

impl SqliteEngine {
    /// Opens (creating when absent) the database at `path` and runs pending migrations.
    pub fn open(path: &Path) -> Result<SqliteEngine> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Directory(dir.display().to_string(), e))?;
        }
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(WRITE_BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(64);
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
                reader.set_prepared_statement_cache_capacity(64);
                Ok(reader)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SqliteEngine {
            writer: Pool::new(vec![conn]),
            readers: Pool::new(readers),
        })
    }
}

/// The generation counter (see [`super::Store::generation`]).
pub fn generation(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'",
        [],
        |r| r.get(0),
    )?)
}

pub fn bump_generation(conn: &Connection) -> Result<()> {
    conn.execute(
        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'",
        [],
    )?;
    Ok(())
}

pub(super) const MIGRATIONS: &[&str] = &[
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
    // 7: failure counts shared by every gateway on the database (used when it is shared).
    r#"
    CREATE TABLE failures (
        key TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        since INTEGER NOT NULL
    );
    "#,
    // 8: certificates at the edge (ACME): the account, issued certificates, HTTP-01 answers
    // and the lease of the gateway ordering for a host.
    r#"
    CREATE TABLE acme_accounts (
        directory TEXT PRIMARY KEY,
        credentials BLOB NOT NULL
    );
    CREATE TABLE certificates (
        host TEXT PRIMARY KEY,
        chain TEXT NOT NULL,
        key BLOB NOT NULL,
        not_after INTEGER NOT NULL,
        updated INTEGER NOT NULL
    );
    CREATE TABLE acme_challenges (
        token TEXT PRIMARY KEY,
        key_authorization TEXT NOT NULL,
        expires INTEGER NOT NULL
    );
    CREATE TABLE acme_leases (
        host TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        until INTEGER NOT NULL
    );
    "#,
];

/// Connections of one kind, each used by one caller at a time.
pub struct Pool {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

impl Pool {
    pub fn new(connections: Vec<Connection>) -> Pool {
        Pool {
            idle: Mutex::new(connections),
            returned: Condvar::new(),
        }
    }

    /// A connection of the pool, waited for until `deadline` at most.
    pub fn checkout(&self, deadline: Instant) -> Result<Pooled<'_>> {
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
pub struct Pooled<'a> {
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

pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}
