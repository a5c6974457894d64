//! What every module of the SQLite store needs: opening a connection,
//! and turning SQLite's errors into [`StoreError`]s. Imports nothing from
//! its siblings.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};
use tocsin_store::StoreError;

/// How long a connection waits for another process's lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A statement failed. SQLite's `SQLITE_FULL` (the disk is full, or the
/// database reached its page limit) is [`StoreError::Full`].
pub fn sql(e: rusqlite::Error) -> StoreError {
    if e.sqlite_error_code() == Some(ErrorCode::DiskFull) {
        return StoreError::full("SQLite found no room to write", e);
    }
    StoreError::backend("an SQLite statement failed", e)
}

/// A connection to the file at `path`, waiting [`BUSY_TIMEOUT`] for locks.
pub fn open_connection(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let conn =
        Connection::open_with_flags(path, flags).map_err(|e| not_tocsin_or_backend(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    Ok(conn)
}

/// A read-write connection (the flags every connection of ours uses).
pub fn open_read_write(path: &Path) -> Result<Connection, StoreError> {
    open_connection(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// An error opening or first reading the file at `path`, in words that say
/// what the file is.
pub fn not_tocsin_or_backend(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::NotTocsin(format!(
            "{} is not a tocsin database: it is not an SQLite file (or it is damaged or encrypted)",
            path.display()
        )),
        Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt(format!(
            "{}: SQLite finds the database file malformed",
            path.display()
        )),
        Some(ErrorCode::CannotOpen) => {
            StoreError::backend(format!("cannot open {}", path.display()), e)
        }
        _ => sql(e),
    }
}

/// Whether `e` is a violated constraint (a key that exists, a NULL where
/// none may be).
pub fn is_constraint(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_full_is_a_full_store() {
        let full = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(13), None);
        assert!(sql(full).is_full());
        let busy = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(5), None);
        assert!(matches!(sql(busy), StoreError::Backend { .. }));
    }
}
