//! Rows in and out of the file whole: [`Store::import_raw`] (what `tocsin
//! migrate` writes with) and the online backup (`tocsin backup`).
//!
//! [`Store::import_raw`]: tocsin_store::Store::import_raw

use std::path::Path;
use std::time::Instant;

use rusqlite::{Connection, params};
use tocsin_store::append::check_continues;
use tocsin_store::columns::i64_of;
use tocsin_store::{RawRows, StoreError};

use crate::common::{BUSY_TIMEOUT, open_read_write, sql};
use crate::read::ledger_size;
use crate::writer::{insert_docs, insert_leaves, insert_nodes, upsert_case};

/// The backup could not get a quiet moment.
#[derive(Debug, thiserror::Error)]
#[error("the database stayed locked for {0:?}")]
struct StayedLocked(std::time::Duration);

/// Writes rows copied from another store on a connection of its own, in
/// one `BEGIN IMMEDIATE` transaction (the writer re-reads the ledger size
/// at its next group, so it continues from what was imported).
pub fn import(path: &Path, rows: RawRows) -> Result<(), StoreError> {
    let mut conn = open_read_write(path)?;
    conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
        .map_err(sql)?;
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql)?;
    match rows {
        RawRows::Ledger {
            leaves,
            nodes,
            checkpoints,
        } => {
            check_continues(ledger_size(&tx)?, &leaves)?;
            insert_leaves(&tx, leaves.iter())?;
            insert_nodes(&tx, &nodes)?;
            let mut ins = tx
                .prepare_cached("INSERT INTO checkpoints (size, note) VALUES (?1, ?2)")
                .map_err(sql)?;
            for c in &checkpoints {
                ins.execute(params![i64_of(c.size), c.note]).map_err(sql)?;
            }
        }
        RawRows::Cases(cases) => {
            for s in &cases {
                upsert_case(&tx, s, None)?;
            }
        }
        RawRows::Docs(docs) => insert_docs(&tx, docs.iter().map(|d| (d, d.version)))?,
    }
    tx.commit().map_err(sql)
}

/// Copies the database on `conn` to `dest` with SQLite's online backup
/// API: one snapshot, consistent even while a server (in this process or
/// another) writes. The copy is made in a single step, under one read
/// transaction: in WAL mode that does not hold up the writer, and a write
/// by another process cannot restart it (as it would restart a copy in
/// steps).
pub fn backup(conn: &Connection, dest: &Path) -> Result<(), StoreError> {
    let mut out = Connection::open(dest)
        .map_err(|e| StoreError::backend(format!("cannot create {}", dest.display()), e))?;
    let b = rusqlite::backup::Backup::new(conn, &mut out).map_err(sql)?;
    let until = Instant::now() + BUSY_TIMEOUT;
    loop {
        // -1: every page in this one step.
        match b.step(-1).map_err(sql)? {
            rusqlite::backup::StepResult::Done => break,
            rusqlite::backup::StepResult::More => {}
            _ if Instant::now() > until => {
                return Err(StoreError::backend(
                    "the backup could not be taken",
                    StayedLocked(BUSY_TIMEOUT),
                ));
            }
            _ => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    drop(b);
    out.close().map_err(|(_, e)| sql(e))?;
    Ok(())
}
