//! The SQLite schema, its migrations, and opening a file as a tocsin
//! database.
//!
//! `PRAGMA application_id` marks a file as tocsin's; `PRAGMA user_version`
//! is the schema version. Migrations run in order, each in its own
//! transaction, when a store opens ([`prepare`]). A file from a newer
//! tocsin is refused; so is any file that is not ours.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use tocsin_store::{InitParams, StoreError, StoreMeta};

use crate::common::{not_tocsin_or_backend, sql};

/// "TCSN" — marks the file as a tocsin database.
pub const APPLICATION_ID: i32 = 0x5443_534E;

/// Each entry brings the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: the ledger (which is also the event store), its Merkle nodes and
    // checkpoints, deployment metadata, and the query tables.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;

    -- One row per event; the leaf is the ledger leaf (see tocsin_store::leaf).
    -- stream and seq repeat what the leaf header says, for indexing.
    CREATE TABLE ledger (
        position  INTEGER PRIMARY KEY,
        stream    TEXT    NOT NULL,
        seq       INTEGER NOT NULL,
        leaf      BLOB    NOT NULL,
        leaf_hash BLOB    NOT NULL,
        UNIQUE (stream, seq)
    );

    -- Perfect subtrees of level >= 1 (level 0 is ledger.leaf_hash).
    CREATE TABLE merkle_nodes (
        level INTEGER NOT NULL,
        idx   INTEGER NOT NULL,
        hash  BLOB    NOT NULL,
        PRIMARY KEY (level, idx)
    ) WITHOUT ROWID;

    -- A signed checkpoint for the ledger size after every commit.
    CREATE TABLE checkpoints (
        size INTEGER PRIMARY KEY,
        note TEXT NOT NULL
    );

    -- Query tables, derived from the ledger (tocsin admin rebuild).
    CREATE TABLE cases (
        id               TEXT PRIMARY KEY,
        opened_position  INTEGER NOT NULL,
        title            TEXT NOT NULL,
        state            TEXT NOT NULL,
        owner            TEXT NOT NULL,
        lead_element     TEXT NOT NULL,
        opened_at        TEXT NOT NULL,
        updated_at       TEXT NOT NULL,
        version          INTEGER NOT NULL,
        verdict          TEXT,
        reassessment_due TEXT,
        next_step        TEXT,
        next_due         TEXT,
        next_due_us      INTEGER,
        escalations      INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX cases_by_opening ON cases (opened_position);
    CREATE INDEX cases_by_state ON cases (state, opened_position);
    CREATE INDEX cases_by_due ON cases (next_due_us);

    CREATE TABLE reports (
        id                  TEXT PRIMARY KEY,
        case_id             TEXT NOT NULL,
        ord                 INTEGER NOT NULL,
        originating_element TEXT NOT NULL,
        received_at         TEXT NOT NULL,
        grade               TEXT NOT NULL,
        independent         INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX reports_by_case ON reports (case_id, ord);
    "#,
    // 2: documents beside the ledger (accounts, sessions, idempotency
    // records, reference data, notifications, registries).
    r#"
    CREATE TABLE docs (
        kind    TEXT    NOT NULL,
        key     TEXT    NOT NULL,
        version INTEGER NOT NULL,
        body    BLOB    NOT NULL,
        PRIMARY KEY (kind, key)
    ) WITHOUT ROWID;

    -- The access marking of a case, as JSON arrays of strings.
    ALTER TABLE cases ADD COLUMN levels TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE cases ADD COLUMN compartments TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE cases ADD COLUMN elements TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE cases ADD COLUMN existence_restricted INTEGER NOT NULL DEFAULT 0;
    "#,
    // 3: when the clock next has something to do for a case, so a sweep
    // reads only the cases due.
    r#"
    ALTER TABLE cases ADD COLUMN sweep_at_us INTEGER;
    CREATE INDEX cases_by_sweep ON cases (sweep_at_us);
    "#,
    // 4: one name per concept: accounts are documents of kind 'account'
    // (they were 'user'), escalation notices of kind 'notice' (they were
    // 'notification').
    r#"
    UPDATE docs SET kind = 'account' WHERE kind = 'user';
    UPDATE docs SET kind = 'notice' WHERE kind = 'notification';
    "#,
    // 5: case numbers (year opened, UTC, and rank that year in ledger
    // order), given to the cases already there in that order.
    r#"
    ALTER TABLE cases ADD COLUMN number_year INTEGER;
    ALTER TABLE cases ADD COLUMN number_seq INTEGER;
    UPDATE cases SET number_year = CAST(substr(opened_at, 1, 4) AS INTEGER);
    UPDATE cases SET number_seq = r.rn
      FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY number_year ORDER BY opened_position) AS rn
            FROM cases) AS r
     WHERE cases.id = r.id;
    CREATE UNIQUE INDEX cases_by_number ON cases (number_year, number_seq);
    "#,
    // 6: time-to-decide, time-to-warn and what lateness needs, as JSON,
    // and the format of each report's number (NULL for a case last
    // written before: the first serve rebuilds); the case gauges' counters
    // (tocsin_store::counts), kept with every case row.
    r#"
    ALTER TABLE cases ADD COLUMN measures TEXT;
    ALTER TABLE reports ADD COLUMN number_format TEXT;
    CREATE INDEX reports_by_number_format ON reports (number_format);
    ALTER TABLE cases ADD COLUMN unwarned_from_us INTEGER;
    CREATE INDEX cases_unwarned ON cases (unwarned_from_us);
    CREATE TABLE case_counts (
        name TEXT PRIMARY KEY,
        n    INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 7: the salt and body kept beside a version-2 leaf (tocsin_store::leaf),
    // NULL for a version-1 leaf and for a disposed one.
    r#"
    ALTER TABLE ledger ADD COLUMN content_salt BLOB;
    ALTER TABLE ledger ADD COLUMN content_body BLOB;
    "#,
];

/// The schema version this build writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// The durability SQLite was asked for and did not give.
#[derive(Debug, thiserror::Error)]
enum NotDurable {
    #[error("the journal mode is {0}, not WAL")]
    Journal(String),
    #[error("synchronous is {0}, not FULL (2)")]
    Synchronous(i64),
}

fn pragma_i64(conn: &Connection, path: &Path, name: &str) -> Result<i64, StoreError> {
    conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
        .map_err(|e| not_tocsin_or_backend(path, e))
}

/// Checks the file is ours (or empty, with `init`), runs migrations, and
/// sets the pragmas (WAL, `synchronous=FULL`, foreign keys).
pub fn prepare(
    conn: &mut Connection,
    path: &Path,
    init: Option<&InitParams>,
) -> Result<(), StoreError> {
    let app = pragma_i64(conn, path, "application_id")? as i32;
    let version = pragma_i64(conn, path, "user_version")?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(|e| not_tocsin_or_backend(path, e))?;
    let empty = app == 0 && version == 0 && tables == 0;
    if empty {
        if init.is_none() {
            return Err(StoreError::NotTocsin(format!(
                "{} is an empty database: run `tocsin init` first",
                path.display()
            )));
        }
    } else {
        if init.is_some() {
            return Err(StoreError::NotTocsin(format!(
                "{} already exists and is not empty; refusing to initialise over it",
                path.display()
            )));
        }
        if app != APPLICATION_ID {
            return Err(StoreError::NotTocsin(format!(
                "{} is an SQLite database of another application (application_id {app:#x}), not a tocsin database",
                path.display()
            )));
        }
    }
    if version > latest() {
        return Err(StoreError::TooNew {
            found: version,
            supported: latest(),
        });
    }
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(sql)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::backend(
            format!("cannot make {} durable", path.display()),
            NotDurable::Journal(mode),
        ));
    }
    conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
        .map_err(sql)?;
    // Durability is not negotiable: check that the setting took.
    let sync: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .map_err(sql)?;
    if sync != 2 {
        return Err(StoreError::backend(
            format!("cannot make {} durable", path.display()),
            NotDurable::Synchronous(sync),
        ));
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql)?;
        // Another process may have migrated while we waited for the lock.
        let now: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql)?;
        if now > i as i64 {
            continue;
        }
        tx.execute_batch(migration)
            .map_err(|e| StoreError::backend(format!("schema migration {} failed", i + 1), e))?;
        tx.execute_batch(&format!(
            "PRAGMA user_version = {}; PRAGMA application_id = {};",
            i + 1,
            APPLICATION_ID
        ))
        .map_err(sql)?;
        if let (0, Some(p)) = (i, init) {
            for (k, v) in [
                ("deployment_id", p.deployment_id.as_str()),
                ("origin", p.origin.as_str()),
                ("created_at", p.created_at.as_str()),
            ] {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    params![k, v],
                )
                .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)?;
    }
    Ok(())
}

/// The deployment's identity, as `tocsin init` recorded it.
pub fn read_meta(conn: &Connection) -> Result<StoreMeta, StoreError> {
    let get = |k: &str| -> Result<String, StoreError> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
            .optional()
            .map_err(sql)?
            .ok_or_else(|| StoreError::Corrupt(format!("meta.{k} is missing")))
    };
    Ok(StoreMeta {
        deployment_id: get("deployment_id")?,
        origin: get("origin")?,
        verifier_key: get("verifier_key")?,
        created_at: get("created_at")?,
        schema_version: conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql)?,
    })
}
