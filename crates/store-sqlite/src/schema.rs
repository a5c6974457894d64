//! The SQLite schema and its migrations.
//!
//! `PRAGMA application_id` marks a file as tocsin's; `PRAGMA user_version`
//! is the schema version. Migrations run in order, each in its own
//! transaction, when a store opens. A file from a newer tocsin is refused.

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
];

/// The schema version this build writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}
