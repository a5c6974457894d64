//! What every module of the PostgreSQL store needs: PostgreSQL's errors
//! as [`StoreError`]s, reading a column, running plain SQL. Imports
//! nothing from its siblings.

use std::fmt;

use sqlx::Row;
use sqlx::postgres::{PgConnection, PgRow};
use tocsin_store::StoreError;

/// The SQLSTATE of a database error.
pub fn sqlstate(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// An error from a statement, with a context a user understands.
/// PostgreSQL's `disk_full` (SQLSTATE 53100) is [`StoreError::Full`].
pub fn db(e: sqlx::Error) -> StoreError {
    let context = match (&e, sqlstate(&e).as_deref()) {
        (_, Some("53100")) => {
            return StoreError::full("PostgreSQL has no space left on its disk", e);
        }
        (_, Some("57014")) => {
            "a database statement ran longer than the statement timeout and was cancelled"
        }
        (_, Some("40P01")) => "PostgreSQL found a deadlock",
        (_, Some("57P01" | "57P02" | "57P03")) => {
            "the PostgreSQL server is shutting down or restarting"
        }
        (sqlx::Error::PoolTimedOut, _) => {
            "no connection to PostgreSQL could be had within the acquire timeout: the server is unreachable or every connection is busy"
        }
        (sqlx::Error::Io(_), _) => "lost the connection to PostgreSQL",
        (sqlx::Error::PoolClosed, _) => return StoreError::Closed,
        _ => "a PostgreSQL statement failed",
    };
    StoreError::backend(context, e)
}

/// Damaged data.
pub fn corrupt(what: impl fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// Column `i` of a row.
pub fn col<'r, T>(r: &'r PgRow, i: usize) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    r.try_get(i)
        .map_err(|e| StoreError::backend(format!("column {i} of a stored row cannot be read"), e))
}

/// Runs SQL without parameters (several statements, one round trip).
/// Through `Executor::execute`, whose future is boxed: `RawSql::execute`'s
/// generic future defeats the compiler's proof that the writer is `Send`.
pub async fn simple(conn: &mut PgConnection, sql: &'static str) -> Result<(), StoreError> {
    sqlx::Executor::execute(conn, sqlx::raw_sql(sql))
        .await
        .map_err(db)?;
    Ok(())
}
