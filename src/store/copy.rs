//! Moving a SQLite store into PostgreSQL (`portcullis migrate --to`).
//!
//! Every table is read from one snapshot of the SQLite file and written into an empty
//! PostgreSQL database in one transaction; before it commits, each table's row count there is
//! checked against the source, so the target ends up with all of it or none of it. Ids keep
//! their values (sessions, codes and passkeys refer to users by id) and the identity sequences
//! move past them. The `meta` table comes along except the generation counter, which
//! PostgreSQL keeps apart: the key check travels with it, so the same key file opens the
//! copy and no other does.

use super::db::{Param, Sql};
use super::{Handle, Result, Store, StoreError};

/// How a column is read from SQLite and bound for PostgreSQL.
#[derive(Clone, Copy)]
enum Kind {
    Int,
    Text,
    Blob,
    Bool,
}

use Kind::*;

/// The tables, parents first, with their columns.
const TABLES: &[(&str, &[(&str, Kind)])] = &[
    (
        "users",
        &[
            ("id", Int),
            ("username", Text),
            ("email", Text),
            ("display_name", Text),
            ("password_hash", Text),
            ("disabled", Bool),
            ("created_at", Int),
            ("must_enrol", Bool),
            ("webauthn_handle", Blob),
        ],
    ),
    ("user_groups", &[("user_id", Int), ("name", Text)]),
    (
        "sessions",
        &[
            ("id_hash", Blob),
            ("user_id", Int),
            ("level", Int),
            ("created_at", Int),
            ("last_seen", Int),
            ("expires_at", Int),
            ("client_ip", Text),
            ("user_agent", Text),
            ("factor_at", Int),
        ],
    ),
    (
        "totp",
        &[
            ("user_id", Int),
            ("nonce", Blob),
            ("ciphertext", Blob),
            ("last_step", Int),
            ("created_at", Int),
        ],
    ),
    (
        "totp_pending",
        &[
            ("user_id", Int),
            ("nonce", Blob),
            ("ciphertext", Blob),
            ("created_at", Int),
            ("session_hash", Blob),
        ],
    ),
    (
        "recovery_codes",
        &[
            ("id", Int),
            ("user_id", Int),
            ("hash", Text),
            ("used_at", Int),
        ],
    ),
    (
        "passkeys",
        &[
            ("id", Int),
            ("user_id", Int),
            ("credential_id", Blob),
            ("rp_id", Text),
            ("name", Text),
            ("credential", Text),
            ("counter", Int),
            ("created_at", Int),
            ("last_used_at", Int),
        ],
    ),
    (
        "invites",
        &[
            ("token_hash", Blob),
            ("user_id", Int),
            ("created_at", Int),
            ("expires_at", Int),
            ("used_at", Int),
        ],
    ),
    (
        "remembered_browsers",
        &[
            ("token_hash", Blob),
            ("user_id", Int),
            ("created_at", Int),
            ("expires_at", Int),
            ("last_used", Int),
            ("client_ip", Text),
            ("user_agent", Text),
        ],
    ),
    ("bans", &[("key", Text), ("until", Int)]),
    ("failures", &[("key", Text), ("count", Int), ("since", Int)]),
    (
        "audit",
        &[
            ("id", Int),
            ("at", Int),
            ("username", Text),
            ("event", Text),
            ("client_ip", Text),
            ("user_agent", Text),
            ("detail", Text),
        ],
    ),
    ("meta", &[("key", Text), ("value", Blob)]),
    (
        "acme_accounts",
        &[("directory", Text), ("credentials", Blob)],
    ),
    (
        "certificates",
        &[
            ("host", Text),
            ("chain", Text),
            ("key", Blob),
            ("not_after", Int),
            ("updated", Int),
        ],
    ),
];

/// Tables whose ids come from a sequence on PostgreSQL.
const IDENTITIES: &[&str] = &["users", "recovery_codes", "passkeys", "audit"];

/// What was copied: each table and its rows, in copying order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied(pub Vec<(&'static str, i64)>);

/// The rows of `table` worth copying (the generation counter stays behind).
fn filter(table: &str) -> &'static str {
    if table == "meta" {
        " WHERE key <> 'generation'"
    } else {
        ""
    }
}

/// Copies everything in the SQLite store `from` into the PostgreSQL store `to`, which must
/// hold no user yet, in one transaction; verifies each table's count before committing.
pub fn copy_into(from: &Store, to: &Store) -> Result<Copied> {
    if from.is_shared() || !to.is_shared() {
        return Err(StoreError::Config(
            "a copy goes from a SQLite file into PostgreSQL".into(),
        ));
    }
    // A copy of a long audit trail takes longer than any one call may.
    let deadline = std::time::Instant::now() + COPY_TIMEOUT;
    let (from, to) = (from.until(deadline), to.until(deadline));
    let mut source = from.read()?;
    let Handle::Sqlite(snapshot) = &mut source else {
        unreachable!("checked to be SQLite above");
    };
    // One read transaction: every table from the same moment.
    let snapshot = Snapshot::begin(snapshot)?;
    let mut target = to.write()?;
    let tx = target.transaction()?;
    // One copy at a time into a database; the checks below and the copy are one transaction.
    tx.execute("SELECT pg_advisory_xact_lock(7072)", &[])?;
    let users: i64 = tx
        .value("SELECT COUNT(*) FROM users", super::db::params![])?
        .unwrap_or(0);
    if users > 0 {
        return Err(StoreError::Config(format!(
            "the PostgreSQL database already holds {users} users: copy into an empty one"
        )));
    }
    for (table, _) in TABLES {
        let rows: i64 = tx
            .value(
                &format!("SELECT COUNT(*) FROM {table}{}", filter(table)),
                super::db::params![],
            )?
            .unwrap_or(0);
        if rows > 0 {
            return Err(StoreError::Config(format!(
                "the PostgreSQL database already holds rows in {table} (a gateway ran on it?): \
                 copy into an empty one"
            )));
        }
    }

    let mut copied = Vec::new();
    for (table, columns) in TABLES {
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        let select = format!("SELECT {} FROM {table}{}", names.join(", "), filter(table));
        let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        let insert = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            names.join(", "),
            placeholders.join(", ")
        );
        let rows = super::db::Conn::Sqlite(snapshot.0).query_all(&select, &[], |r| {
            columns
                .iter()
                .enumerate()
                .map(|(i, (_, kind))| -> Result<Box<dyn Param>> {
                    Ok(match kind {
                        Int => Box::new(r.get::<Option<i64>>(i)?),
                        Text => Box::new(r.get::<Option<String>>(i)?),
                        Blob => Box::new(r.get::<Option<Vec<u8>>>(i)?),
                        Bool => Box::new(r.get::<bool>(i)?),
                    })
                })
                .collect::<Result<Vec<_>>>()
        })?;
        for row in &rows {
            let params: Vec<&dyn Param> = row.iter().map(|b| b.as_ref()).collect();
            tx.execute(&insert, &params)?;
        }
        let expected = rows.len() as i64;
        let count: i64 = tx
            .value(
                &format!("SELECT COUNT(*) FROM {table}{}", filter(table)),
                &[],
            )?
            .unwrap_or(0);
        if count != expected {
            return Err(StoreError::Config(format!(
                "{table}: {expected} rows read but {count} in PostgreSQL; nothing was copied"
            )));
        }
        copied.push((*table, count));
    }
    for table in IDENTITIES {
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                               COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            ),
            &[],
        )?;
    }
    tx.commit()?;
    Ok(Copied(copied))
}

/// The longest a copy may take.
const COPY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

/// A read transaction on a SQLite connection, ended however the copy ends (the connection
/// goes back to its pool with none open).
struct Snapshot<'a>(&'a rusqlite::Connection);

impl<'a> Snapshot<'a> {
    fn begin(conn: &'a rusqlite::Connection) -> Result<Snapshot<'a>> {
        conn.execute_batch("BEGIN")?;
        Ok(Snapshot(conn))
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        let _ = self.0.execute_batch("ROLLBACK");
    }
}
