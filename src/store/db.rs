//! The seam between the store's SQL and its two engines.
//!
//! Every aggregate file writes its SQL once, in the subset both engines speak: numbered
//! placeholders (`?1`), `ON CONFLICT … DO NOTHING / DO UPDATE`, `RETURNING`, `TRUE`/`FALSE`,
//! and `COLLATE NOCASE` only where the user name is compared (PostgreSQL's column is `citext`,
//! so the clause is dropped there). The statements run on a [`Conn`]: a SQLite connection, or
//! a pooled PostgreSQL client driven from the calling (blocking) thread. Values go in as
//! [`Param`]s and come out of a [`Row`] as [`Column`]s: types both drivers convert the same
//! way (`i64`, `bool`, text, bytes, and their options). What only one engine has (its
//! connections, schema, migrations, change notices) lives in `sqlite.rs` and `postgres.rs`.

use super::postgres::PgConn;
use super::{Result, StoreError};

/// A value bound to a placeholder: any type both drivers accept.
pub trait Param: Sync {
    fn sqlite(&self) -> &dyn rusqlite::ToSql;
    fn pg(&self) -> &(dyn tokio_postgres::types::ToSql + Sync);
}

impl<T: rusqlite::ToSql + tokio_postgres::types::ToSql + Sync> Param for T {
    fn sqlite(&self) -> &dyn rusqlite::ToSql {
        self
    }
    fn pg(&self) -> &(dyn tokio_postgres::types::ToSql + Sync) {
        self
    }
}

/// The values of a statement's placeholders, in order: `params![a, b]`.
macro_rules! params {
    ($($p:expr),* $(,)?) => {
        &[$(&$p as &dyn $crate::store::db::Param),*] as &[&dyn $crate::store::db::Param]
    };
}
pub(crate) use params;

/// A value read from a column: any type both drivers produce.
pub trait Column: rusqlite::types::FromSql + for<'a> tokio_postgres::types::FromSql<'a> {}
impl<T: rusqlite::types::FromSql + for<'a> tokio_postgres::types::FromSql<'a>> Column for T {}

/// One row of a result.
pub enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Pg(&'a tokio_postgres::Row),
}

impl Row<'_> {
    /// Column `index` (from 0).
    pub fn get<T: Column>(&self, index: usize) -> Result<T> {
        match self {
            Row::Sqlite(r) => Ok(r.get(index)?),
            Row::Pg(r) => Ok(r.try_get(index)?),
        }
    }

    /// Column `index` holding a SHA-256: all zeroes for a value of another length, which
    /// matches no token.
    pub fn hash(&self, index: usize) -> Result<[u8; 32]> {
        let stored: Vec<u8> = self.get(index)?;
        let mut hash = [0u8; 32];
        if stored.len() == 32 {
            hash.copy_from_slice(&stored);
        }
        Ok(hash)
    }
}

/// A connection of either engine, for one caller at a time.
#[derive(Clone, Copy)]
pub enum Conn<'a> {
    Sqlite(&'a rusqlite::Connection),
    Pg(&'a PgConn),
}

/// What runs SQL: a connection or an open transaction. Everything is provided from
/// [`Sql::conn`].
pub trait Sql {
    fn conn(&self) -> Conn<'_>;

    /// Runs a statement; how many rows it changed.
    fn execute(&self, sql: &str, params: &[&dyn Param]) -> Result<usize> {
        match self.conn() {
            Conn::Sqlite(c) => Ok(c.prepare_cached(sql)?.execute(&*sqlite_params(params))?),
            Conn::Pg(c) => c.execute(sql, params),
        }
    }

    /// Every row of a query, each through `f`.
    fn query_all<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        match self.conn() {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(&*sqlite_params(params))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(f(&Row::Sqlite(r))?);
                }
                Ok(out)
            }
            Conn::Pg(c) => c
                .query(sql, params)?
                .iter()
                .map(|r| f(&Row::Pg(r)))
                .collect(),
        }
    }

    /// The first row of a query through `f`, if there is one.
    fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        match self.conn() {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(&*sqlite_params(params))?;
                match rows.next()? {
                    Some(r) => Ok(Some(f(&Row::Sqlite(r))?)),
                    None => Ok(None),
                }
            }
            Conn::Pg(c) => match c.query(sql, params)?.first() {
                Some(r) => Ok(Some(f(&Row::Pg(r))?)),
                None => Ok(None),
            },
        }
    }

    /// The first row of a query through `f`; [`StoreError::NoRow`] when there is none.
    fn query_one<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, params, f)?.ok_or(StoreError::NoRow)
    }

    /// Column 0 of the first row, if any.
    fn value<T: Column>(&self, sql: &str, params: &[&dyn Param]) -> Result<Option<T>> {
        self.query_opt(sql, params, |r| r.get(0))
    }
}

impl Sql for Conn<'_> {
    fn conn(&self) -> Conn<'_> {
        *self
    }
}

fn sqlite_params<'p>(params: &'p [&dyn Param]) -> Vec<&'p dyn rusqlite::ToSql> {
    params.iter().map(|p| p.sqlite()).collect()
}

/// A transaction: rolled back when dropped without [`Tx::commit`].
pub enum Tx<'a> {
    Sqlite(rusqlite::Transaction<'a>),
    Pg(PgTx<'a>),
}

/// An open PostgreSQL transaction on one pooled client.
pub struct PgTx<'a> {
    conn: &'a PgConn,
    open: bool,
}

impl<'a> PgTx<'a> {
    pub(super) fn begin(conn: &'a PgConn) -> Result<PgTx<'a>> {
        conn.batch("BEGIN")?;
        conn.set_in_transaction(true);
        Ok(PgTx { conn, open: true })
    }
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        if self.open {
            // A client whose rollback fails is broken and is not reused (see `PgConn`).
            if self.conn.batch("ROLLBACK").is_err() {
                self.conn.discard();
            }
        }
        self.conn.set_in_transaction(false);
    }
}

impl Tx<'_> {
    pub fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(tx) => Ok(tx.commit()?),
            Tx::Pg(mut tx) => {
                tx.open = false;
                match tx.conn.batch("COMMIT") {
                    Ok(()) => Ok(()),
                    Err(e) => {
                        tx.conn.discard();
                        Err(e)
                    }
                }
            }
        }
    }
}

impl Sql for Tx<'_> {
    fn conn(&self) -> Conn<'_> {
        match self {
            Tx::Sqlite(tx) => Conn::Sqlite(tx),
            Tx::Pg(tx) => Conn::Pg(tx.conn),
        }
    }
}

/// Whether `e` is a uniqueness (or other constraint) violation: a duplicate, not an outage.
pub fn is_constraint_violation(e: &StoreError) -> bool {
    match e {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => {
            f.code == rusqlite::ErrorCode::ConstraintViolation
        }
        StoreError::Postgres(e) => e.code().is_some_and(|c| {
            *c == tokio_postgres::error::SqlState::UNIQUE_VIOLATION
                || *c == tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION
        }),
        _ => false,
    }
}
