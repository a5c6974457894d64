//! The PostgreSQL schema and its migrations.
//!
//! `schema_migrations` records every migration applied (its version and
//! when); the schema version is the highest. `meta` holds the deployment's
//! identity, and its row `application = 'tocsin'` marks the database as
//! tocsin's. Migrations run when a store opens, all in one transaction that
//! holds an advisory lock ([`MIGRATION_LOCK`]), so two processes starting
//! together do not both migrate: the second waits, then finds the work done.
//! A database from a newer tocsin is refused.
//!
//! Every text column that is a key, an id or sorted on is `COLLATE "C"`:
//! byte order, as in SQLite, whatever the database's locale, so cursors and
//! listings behave the same on both backends.

use std::collections::HashMap;

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tocsin_ledger::NoteSigner;
use tocsin_store::{InitParams, StoreError, StoreMeta};

use crate::common::{col, corrupt, db};
use crate::connect::Target;

/// The key of the transaction-scoped advisory lock taken while inspecting
/// and migrating the schema ("TCSNMIGR"). Advisory locks are per database.
pub const MIGRATION_LOCK: i64 = 0x5443_534E_4D49_4752;

/// The value of `meta.application` in a tocsin database.
pub const APPLICATION: &str = "tocsin";

/// Each entry brings the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: everything SQLite has at its version 2, in PostgreSQL types.
    r#"
    CREATE TABLE schema_migrations (
        version    integer     PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE meta (
        key   text COLLATE "C" PRIMARY KEY,
        value text NOT NULL
    );

    -- The ledger size, in one row. Every write transaction locks it
    -- (SELECT ... FOR UPDATE) first: that serialises writers across
    -- processes, so positions are dense and the tree never forks.
    CREATE TABLE ledger_head (
        id   boolean PRIMARY KEY DEFAULT true CHECK (id),
        size bigint  NOT NULL CHECK (size >= 0)
    );
    INSERT INTO ledger_head (id, size) VALUES (true, 0);

    -- One row per event; the leaf is the ledger leaf (see tocsin_store::leaf).
    -- stream and seq repeat what the leaf header says, for indexing.
    CREATE TABLE ledger (
        position  bigint PRIMARY KEY CHECK (position >= 0),
        stream    text COLLATE "C" NOT NULL,
        seq       bigint NOT NULL CHECK (seq >= 1),
        leaf      bytea  NOT NULL,
        leaf_hash bytea  NOT NULL,
        UNIQUE (stream, seq)
    );
    -- The first event of each stream, in ledger order (case_ids).
    CREATE INDEX ledger_openings ON ledger (position) WHERE seq = 1;

    -- Perfect subtrees of level >= 1 (level 0 is ledger.leaf_hash).
    CREATE TABLE merkle_nodes (
        level smallint NOT NULL CHECK (level >= 1),
        idx   bigint   NOT NULL CHECK (idx >= 0),
        hash  bytea    NOT NULL,
        PRIMARY KEY (level, idx)
    );

    -- A signed checkpoint for the ledger size after every commit.
    CREATE TABLE checkpoints (
        size bigint PRIMARY KEY,
        note text   NOT NULL
    );

    -- Query tables, derived from the ledger (tocsin admin rebuild).
    -- Times are stored as their RFC 3339 text (exactly as given, so the
    -- projection digest is the same as SQLite's), with next_due also in
    -- microseconds for comparisons.
    CREATE TABLE cases (
        id                   text COLLATE "C" PRIMARY KEY,
        opened_position      bigint  NOT NULL,
        title                text    NOT NULL,
        state                text    NOT NULL,
        owner                text    NOT NULL,
        lead_element         text    NOT NULL,
        opened_at            text    NOT NULL,
        updated_at           text    NOT NULL,
        version              bigint  NOT NULL,
        verdict              text,
        reassessment_due     text,
        next_step            text,
        next_due             text,
        next_due_us          bigint,
        escalations          bigint  NOT NULL,
        -- The access marking (sorted lists of strings).
        levels               text[]  NOT NULL DEFAULT '{}',
        compartments         text[]  NOT NULL DEFAULT '{}',
        elements             text[]  NOT NULL DEFAULT '{}',
        existence_restricted boolean NOT NULL DEFAULT false
    );
    CREATE INDEX cases_by_opening ON cases (opened_position);
    CREATE INDEX cases_by_state ON cases (state, opened_position);
    CREATE INDEX cases_by_due ON cases (next_due_us);

    CREATE TABLE reports (
        id                  text COLLATE "C" PRIMARY KEY,
        case_id             text COLLATE "C" NOT NULL,
        ord                 bigint  NOT NULL,
        originating_element text    NOT NULL,
        received_at         text    NOT NULL,
        grade               text    NOT NULL,
        independent         boolean NOT NULL
    );
    CREATE INDEX reports_by_case ON reports (case_id, ord);

    -- Documents beside the ledger (accounts, sessions, idempotency
    -- records, reference data, notifications, registries).
    CREATE TABLE docs (
        kind    text COLLATE "C" NOT NULL,
        key     text COLLATE "C" NOT NULL,
        version bigint NOT NULL,
        body    bytea  NOT NULL,
        PRIMARY KEY (kind, key)
    );
    "#,
    // 2: when the clock next has something to do for a case, so a sweep
    // reads only the cases due.
    r#"
    ALTER TABLE cases ADD COLUMN sweep_at_us bigint;
    CREATE INDEX cases_by_sweep ON cases (sweep_at_us);
    "#,
    // 3: one name per concept: accounts are documents of kind 'account'
    // (they were 'user'), escalation notices of kind 'notice' (they were
    // 'notification').
    r#"
    UPDATE docs SET kind = 'account' WHERE kind = 'user';
    UPDATE docs SET kind = 'notice' WHERE kind = 'notification';
    "#,
    // 4: case numbers (year opened, UTC, and rank that year in ledger
    // order), given to the cases already there in that order.
    r#"
    ALTER TABLE cases ADD COLUMN number_year bigint;
    ALTER TABLE cases ADD COLUMN number_seq bigint;
    UPDATE cases SET number_year = CAST(substr(opened_at, 1, 4) AS bigint);
    UPDATE cases SET number_seq = r.rn
      FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY number_year ORDER BY opened_position) AS rn
            FROM cases) AS r
     WHERE cases.id = r.id;
    CREATE UNIQUE INDEX cases_by_number ON cases (number_year, number_seq);
    "#,
    // 5: time-to-decide, time-to-warn and what lateness needs, as JSON
    // text, and the format of each report's number (NULL for a case last
    // written before: the first serve rebuilds); the case gauges' counters
    // (tocsin_store::counts), kept with every case row.
    r#"
    ALTER TABLE cases ADD COLUMN measures text;
    ALTER TABLE reports ADD COLUMN number_format text;
    CREATE INDEX reports_by_number_format ON reports (number_format);
    ALTER TABLE cases ADD COLUMN unwarned_from_us bigint;
    CREATE INDEX cases_unwarned ON cases (unwarned_from_us);
    CREATE TABLE case_counts (
        name text COLLATE "C" PRIMARY KEY,
        n    bigint NOT NULL
    );
    "#,
    // 6: the salt and body kept beside a version-2 leaf (tocsin_store::leaf),
    // NULL for a version-1 leaf and for a disposed one.
    r#"
    ALTER TABLE ledger ADD COLUMN content_salt bytea;
    ALTER TABLE ledger ADD COLUMN content_body bytea;
    "#,
];

/// The schema version this build writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// What a database holds, as far as tocsin is concerned.
enum Found {
    Empty,
    Tocsin(i64),
    Foreign(String),
}

async fn inspect(conn: &mut PgConnection, t: &Target) -> Result<Found, StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT count(*) FROM pg_catalog.pg_class c
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')),
                to_regclass(quote_ident(current_schema()) || '.schema_migrations') IS NOT NULL,
                to_regclass(quote_ident(current_schema()) || '.meta') IS NOT NULL,
                current_schema()",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    let relations: i64 = col(&row, 0)?;
    let has_migrations: Option<bool> = col(&row, 1)?;
    let has_meta: Option<bool> = col(&row, 2)?;
    let schema: Option<String> = col(&row, 3)?;
    let Some(schema) = schema else {
        return Err(StoreError::NotTocsin(format!(
            "{t} has no schema to work in (the search_path names no existing schema)"
        )));
    };
    if relations == 0 {
        return Ok(Found::Empty);
    }
    if has_migrations != Some(true) || has_meta != Some(true) {
        return Ok(Found::Foreign(format!(
            "{t} is not a tocsin database: schema '{schema}' holds {relations} tables or other relations, but not tocsin's"
        )));
    }
    let app: Option<String> =
        sqlx::query_scalar("SELECT value FROM meta WHERE key = 'application'")
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    if app.as_deref() != Some(APPLICATION) {
        return Ok(Found::Foreign(format!(
            "{t} is not a tocsin database: its meta table does not say application = '{}'",
            APPLICATION
        )));
    }
    let version: i64 =
        sqlx::query_scalar("SELECT COALESCE(max(version), 0)::int8 FROM schema_migrations")
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
    Ok(Found::Tocsin(version))
}

/// Checks the database is ours (or empty, for `init`) and migrates it, in
/// one transaction under the migration lock.
pub async fn prepare(
    conn: &mut PgConnection,
    t: &Target,
    init: Option<(&InitParams, &NoteSigner)>,
) -> Result<(), StoreError> {
    let mut tx = conn.begin().await.map_err(db)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let version = match (inspect(&mut tx, t).await?, init) {
        (Found::Empty, Some(_)) => 0,
        (Found::Empty, None) => {
            return Err(StoreError::NotTocsin(format!(
                "{t} is empty: run `tocsin init` first"
            )));
        }
        (Found::Tocsin(_) | Found::Foreign(_), Some(_)) => {
            return Err(StoreError::NotTocsin(format!(
                "{t} is not empty; refusing to initialise over it"
            )));
        }
        (Found::Foreign(why), None) => return Err(StoreError::NotTocsin(why)),
        (Found::Tocsin(v), None) => v,
    };
    if version > latest() {
        return Err(StoreError::TooNew {
            found: version,
            supported: latest(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        sqlx::Executor::execute(&mut *tx, sqlx::raw_sql(sql))
            .await
            .map_err(|e| StoreError::backend(format!("schema migration {} failed", i + 1), e))?;
        sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
            .bind(i as i32 + 1)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    if let Some((p, signer)) = init {
        for (k, v) in [
            ("application", APPLICATION.to_owned()),
            ("deployment_id", p.deployment_id.clone()),
            ("origin", p.origin.clone()),
            ("created_at", p.created_at.clone()),
            ("verifier_key", signer.verifier().to_string()),
        ] {
            sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2)")
                .bind(k)
                .bind(v)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
    }
    tx.commit().await.map_err(db)
}

pub async fn read_meta(conn: &mut PgConnection) -> Result<StoreMeta, StoreError> {
    let rows = sqlx::query("SELECT key, value FROM meta")
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    let mut map = HashMap::new();
    for r in &rows {
        map.insert(col::<String>(r, 0)?, col::<String>(r, 1)?);
    }
    let get = |k: &str| {
        map.get(k)
            .cloned()
            .ok_or_else(|| corrupt(format!("meta.{k} is missing")))
    };
    let version: i64 =
        sqlx::query_scalar("SELECT COALESCE(max(version), 0)::int8 FROM schema_migrations")
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
    Ok(StoreMeta {
        deployment_id: get("deployment_id")?,
        origin: get("origin")?,
        verifier_key: get("verifier_key")?,
        created_at: get("created_at")?,
        schema_version: version,
    })
}
