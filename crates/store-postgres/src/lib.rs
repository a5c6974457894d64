//! # tocsin-store-postgres
//!
//! The PostgreSQL store: one database that several tocsin processes (API
//! servers, workers, an operator's CLI) use at once. Same tables and the
//! same semantics as `tocsin-store-sqlite`; what differs is how writers
//! agree.
//!
//! **One ledger, serialised across processes.** Every write transaction
//! begins by locking the single row of `ledger_head` (`SELECT size FROM
//! ledger_head FOR UPDATE`). Whoever holds it is the only writer anywhere
//! until it commits or rolls back; the others wait in PostgreSQL. The size
//! read under the lock is the truth: positions continue from it, so they
//! are dense and never forked, skipped or reordered, whichever process
//! appends. The row is updated to the new size in the same transaction.
//! Documents and projection rebuilds take the same lock, so tocsin writers
//! never deadlock one another.
//!
//! **Stream versions are checked under that lock**: after taking it, the
//! writer reads `max(seq)` of every stream its group appends to (one
//! query), then checks and advances those versions in memory through the
//! group. No other writer can append meanwhile, so of two approvers racing
//! through two processes with the same expected version exactly one
//! succeeds; the other gets [`StoreError::Conflict`] and nothing of it is
//! written. The `UNIQUE (stream, seq)` and position keys are a second net.
//!
//! **The Merkle frontier is cached by size.** The writer keeps the right
//! edge of the tree after its last commit; when the size under the lock is
//! not the cached one (another process appended), it reloads the frontier
//! from the stored nodes (one query) before appending.
//!
//! **Group commit inside a process**, as the SQLite writer does: appends,
//! document writes and rebuilds queue on a channel to one writer task.
//! Once it holds the write lock it takes everything queued (up to
//! [`PgOptions::max_group`]; what arrived while it waited for another
//! process joins the group) and runs it in one transaction. The plain
//! appends of a group (events, with or without their case's summary) are
//! checked against the versions in memory, so a conflicting one fails
//! before anything of it is written, and all of them are written together
//! in one statement (leaves, Merkle nodes, case rows, reports). A job that
//! can fail after writing (an append with documents, a document write, a
//! rebuild) runs on its own under a savepoint, rolled back if it fails: a
//! refused job spoils nothing else. One checkpoint is signed for the
//! group's final size, one commit covers it, and only then is each caller
//! answered. A failed commit fails every job of the group, and the
//! frontier is reloaded at the next one.
//!
//! **Reads** go to the connection pool. Reads that take several statements
//! (the ledger head, a page of cases with their reports, the projection
//! digest) run in one `REPEATABLE READ READ ONLY` transaction, so they see
//! a single commit.
//!
//! **Imports** (`Store::import_raw`, what `tocsin migrate` writes with) run
//! on a pooled connection under the same row lock, one transaction per
//! chunk; the writer reloads its frontier afterwards as after any other
//! process's commit.
//!
//! **Schema**: versioned migrations in `schema.rs`, applied when a store
//! opens, in one transaction under an advisory lock.
//!
//! **Connecting**: a libpq-style URL, `postgres://user[:password]@host[:port]/database`
//! (the database must exist; [`PostgresStore::create`] initialises it when
//! it is empty). Messages name the server, database and user, never the
//! password. No TLS in this build. Pool size and timeouts are
//! [`PgOptions`].
//!
//! **Tests** (`tests/pg.rs`) need a server: `TOCSIN_TEST_PG`, a URL
//! without a database (default `postgres://postgres@127.0.0.1:5432`); each
//! test creates and drops its own database.

mod schema;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Row};
use tocsin_domain::CaseId;
use tocsin_domain::case::CaseState;
use tocsin_ledger::{Checkpoint, Frontier, Hash, NodeId, NoteSigner, leaf_hash};
use tocsin_store::leaf::{encode, encode_body};
use tocsin_store::{
    Appended, CaseQuery, CaseSummary, Doc, DocExpect, DocKind, DocWrite, LeafPage, LedgerHead,
    NewEvents, Page, ProjectionDigest, RawRows, ReportSummary, Store, StoreError, StoreMeta,
    StoredCheckpoint, StoredEvent, StreamId,
};
use tokio::sync::{mpsc, oneshot};

pub use schema::latest as schema_version;

/// How a store connects and groups its writes. `Default` is sane for a
/// server: 16 connections, 10 s to get one, statements cancelled after 30 s.
#[derive(Clone, Debug)]
pub struct PgOptions {
    /// The most connections this process keeps to the server (the writer
    /// uses one at a time; the rest serve reads).
    pub max_connections: u32,
    /// How long to wait for a free connection before failing.
    pub acquire_timeout: Duration,
    /// How long the first connection may take (server unreachable, etc.).
    pub connect_timeout: Duration,
    /// PostgreSQL `statement_timeout` for every statement (including the
    /// wait for another process's write lock); `None` leaves the server's.
    pub statement_timeout: Option<Duration>,
    /// What `pg_stat_activity` shows for our connections.
    pub application_name: String,
    /// The most jobs committed in one transaction.
    pub max_group: usize,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            statement_timeout: Some(Duration::from_secs(30)),
            application_name: "tocsin".into(),
            max_group: 1024,
        }
    }
}

/// What `tocsin init` records about a new deployment (the same fields as
/// the SQLite store's).
#[derive(Clone, Debug)]
pub struct InitParams {
    pub deployment_id: String,
    pub origin: String,
    pub created_at: String,
}

/// Where a store connects, for messages (never the password).
#[derive(Clone, Debug)]
struct Target {
    host: String,
    port: u16,
    database: String,
    user: String,
}

impl Target {
    fn of(o: &PgConnectOptions) -> Self {
        Self {
            host: o.get_host().to_owned(),
            port: o.get_port(),
            database: o.get_database().unwrap_or(o.get_username()).to_owned(),
            user: o.get_username().to_owned(),
        }
    }
    fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "database '{}' on the PostgreSQL server at {}",
            self.database,
            self.server()
        )
    }
}

// ---------------------------------------------------------------------------
// Errors.

fn sqlstate(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// An error from a statement, in words a user understands.
fn db(e: sqlx::Error) -> StoreError {
    match (&e, sqlstate(&e).as_deref()) {
        (_, Some("57014")) => StoreError::Backend(format!(
            "a database statement ran longer than the statement timeout and was cancelled ({e})"
        )),
        (_, Some("40P01")) => StoreError::Backend(format!("PostgreSQL found a deadlock: {e}")),
        (_, Some("57P01" | "57P02" | "57P03")) => StoreError::Backend(format!(
            "the PostgreSQL server is shutting down or restarting: {e}"
        )),
        (sqlx::Error::PoolTimedOut, _) => StoreError::Backend(
            "no connection to PostgreSQL could be had within the acquire timeout: the server is unreachable or every connection is busy".into(),
        ),
        (sqlx::Error::Io(io), _) => {
            StoreError::Backend(format!("lost the connection to PostgreSQL: {io}"))
        }
        (sqlx::Error::PoolClosed, _) => StoreError::Closed,
        _ => StoreError::Backend(e.to_string()),
    }
}

/// An error while connecting, naming what is wrong and what to do.
fn connect_error(e: sqlx::Error, t: &Target) -> StoreError {
    let msg = match &e {
        sqlx::Error::Database(d) => d.message().to_owned(),
        _ => e.to_string(),
    };
    StoreError::Backend(match (&e, sqlstate(&e).as_deref()) {
        (_, Some("28P01" | "28000")) => format!(
            "the PostgreSQL server at {} refused user '{}' for database '{}': wrong password, or its pg_hba.conf does not allow this login ({msg})",
            t.server(),
            t.user,
            t.database
        ),
        (_, Some("3D000")) => format!(
            "database '{}' does not exist on the PostgreSQL server at {}: create it (for example `createdb -h {} -p {} -U {} {}`), then run `tocsin init`",
            t.database,
            t.server(),
            t.host,
            t.port,
            t.user,
            t.database
        ),
        (_, Some("53300")) => format!(
            "the PostgreSQL server at {} has no connection slot left ({msg}): lower max_connections of the tocsin processes or raise the server's",
            t.server()
        ),
        (_, Some("57P03")) => format!(
            "the PostgreSQL server at {} is starting up or shutting down: try again shortly ({msg})",
            t.server()
        ),
        (sqlx::Error::Io(io), _) => format!(
            "cannot reach the PostgreSQL server at {}: {io} (is it running and listening on that address and port?)",
            t.server()
        ),
        (sqlx::Error::Tls(_), _) => format!(
            "cannot connect to {t}: {msg} (this build of tocsin does not speak TLS to PostgreSQL)"
        ),
        _ => format!("cannot connect to {t}: {msg}"),
    })
}

fn corrupt(what: impl fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn col<'r, T>(r: &'r PgRow, i: usize) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    r.try_get(i)
        .map_err(|e| corrupt(format!("an unreadable column: {e}")))
}

fn to_hash(v: &[u8]) -> Result<Hash, StoreError> {
    Hash::from_slice(v).map_err(|e| corrupt(format!("a stored hash is damaged: {e}")))
}

fn parse<T: FromStr>(what: &str, s: &str) -> Result<T, StoreError>
where
    T::Err: fmt::Display,
{
    s.parse::<T>()
        .map_err(|e| corrupt(format!("stored {what} '{s}' is invalid: {e}")))
}

fn i64_of(v: u64) -> i64 {
    // Positions, sizes and versions never reach 2^63.
    v as i64
}

// ---------------------------------------------------------------------------
// The store.

/// A tocsin database in PostgreSQL. Cheap to clone; clones share the pool
/// and the writer.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    meta: StoreMeta,
    target: Target,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

enum Job {
    Append(Box<NewEvents>, Reply<Appended>),
    ReplaceProjections(Vec<CaseSummary>, Vec<Doc>, Reply<()>),
    WriteDocs(Vec<DocWrite>, Reply<Vec<u64>>),
}

/// What one job produced inside a group.
enum Done {
    Appended(Appended),
    Replaced,
    Written(Vec<u64>),
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
        return Err(StoreError::Backend(format!(
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
    if app.as_deref() != Some(schema::APPLICATION) {
        return Ok(Found::Foreign(format!(
            "{t} is not a tocsin database: its meta table does not say application = '{}'",
            schema::APPLICATION
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
async fn prepare(
    conn: &mut PgConnection,
    t: &Target,
    init: Option<(&InitParams, &NoteSigner)>,
) -> Result<(), StoreError> {
    let mut tx = conn.begin().await.map_err(db)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(schema::MIGRATION_LOCK)
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
    if version > schema::latest() {
        return Err(StoreError::TooNew {
            found: version,
            supported: schema::latest(),
        });
    }
    for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
        sqlx::Executor::execute(&mut *tx, sqlx::raw_sql(sql))
            .await
            .map_err(|e| StoreError::Backend(format!("schema migration {} failed: {e}", i + 1)))?;
        sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
            .bind(i as i32 + 1)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    if let Some((p, signer)) = init {
        for (k, v) in [
            ("application", schema::APPLICATION.to_owned()),
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

async fn read_meta(conn: &mut PgConnection) -> Result<StoreMeta, StoreError> {
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

fn connect_options(url: &str, opts: &PgOptions) -> Result<PgConnectOptions, StoreError> {
    // The URL is not repeated in the message: it may hold a password.
    let mut co = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Backend(format!("the PostgreSQL URL cannot be read: {e}")))?
        .application_name(&opts.application_name);
    if let Some(t) = opts.statement_timeout {
        co = co.options([("statement_timeout", format!("{}ms", t.as_millis()))]);
    }
    Ok(co)
}

/// One connection, with an error that says what is wrong.
async fn connect_one(
    co: &PgConnectOptions,
    t: &Target,
    opts: &PgOptions,
) -> Result<PgConnection, StoreError> {
    match tokio::time::timeout(opts.connect_timeout, PgConnection::connect_with(co)).await {
        Err(_) => Err(StoreError::Backend(format!(
            "no answer from the PostgreSQL server at {} within {} s",
            t.server(),
            opts.connect_timeout.as_secs_f64()
        ))),
        Ok(Err(e)) => Err(connect_error(e, t)),
        Ok(Ok(c)) => Ok(c),
    }
}

impl PostgresStore {
    /// Initialises the (empty, existing) database at `url` for a new
    /// deployment signing with `signer`, with default options.
    pub async fn create(
        url: &str,
        signer: NoteSigner,
        init: InitParams,
    ) -> Result<Self, StoreError> {
        Self::create_with(url, signer, init, PgOptions::default()).await
    }

    /// [`PostgresStore::create`] with options.
    pub async fn create_with(
        url: &str,
        signer: NoteSigner,
        init: InitParams,
        opts: PgOptions,
    ) -> Result<Self, StoreError> {
        let co = connect_options(url, &opts)?;
        let t = Target::of(&co);
        let mut conn = connect_one(&co, &t, &opts).await?;
        prepare(&mut conn, &t, Some((&init, &signer))).await?;
        let _ = conn.close().await;
        Self::open_with(url, Some(signer), opts).await
    }

    /// Opens an existing tocsin database, with default options. Without a
    /// signer the store is read-only (queries, proofs and verification
    /// work; writes are refused with [`StoreError::ReadOnly`]).
    pub async fn open(url: &str, signer: Option<NoteSigner>) -> Result<Self, StoreError> {
        Self::open_with(url, signer, PgOptions::default()).await
    }

    /// [`PostgresStore::open`] with options.
    pub async fn open_with(
        url: &str,
        signer: Option<NoteSigner>,
        opts: PgOptions,
    ) -> Result<Self, StoreError> {
        let co = connect_options(url, &opts)?;
        let target = Target::of(&co);
        let mut conn = connect_one(&co, &target, &opts).await?;
        prepare(&mut conn, &target, None).await?;
        let meta = read_meta(&mut conn).await?;
        let _ = conn.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(opts.acquire_timeout)
            .connect_lazy_with(co);
        let (jobs, writer) = match signer {
            Some(signer) => {
                let given = signer.verifier().to_string();
                if given != meta.verifier_key {
                    return Err(StoreError::WrongKey {
                        expected: meta.verifier_key,
                        given,
                    });
                }
                let max_group = opts.max_group.max(1);
                let (tx, rx) = mpsc::channel::<Job>(4 * max_group);
                let w = Writer {
                    pool: pool.clone(),
                    signer,
                    origin: meta.origin.clone(),
                    frontier: None,
                    max_group,
                };
                (Some(tx), Some(tokio::spawn(w.run(rx))))
            }
            None => (None, None),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                meta,
                target,
                jobs: Mutex::new(jobs),
                writer: Mutex::new(writer),
            }),
        })
    }

    /// The connection pool (for operator tools and tests).
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// Which database this is, for messages (no password).
    pub fn describe(&self) -> String {
        self.inner.target.to_string()
    }

    /// Stops accepting writes, lets the writer finish what is queued, and
    /// closes the pool's connections. Every clone is closed with it.
    pub async fn close(&self) {
        if let Ok(mut j) = self.inner.jobs.lock() {
            j.take();
        }
        let writer = self.inner.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(h) = writer {
            let _ = h.await;
        }
        self.inner.pool.close().await;
    }

    fn sender(&self) -> Result<mpsc::Sender<Job>, StoreError> {
        match self
            .inner
            .jobs
            .lock()
            .map_err(|_| StoreError::Closed)?
            .as_ref()
        {
            Some(s) => Ok(s.clone()),
            None if self
                .inner
                .writer
                .lock()
                .map(|w| w.is_some())
                .unwrap_or(false) =>
            {
                Err(StoreError::Closed)
            }
            None if self.inner.pool.is_closed() => Err(StoreError::Closed),
            None => Err(StoreError::ReadOnly),
        }
    }

    async fn submit<T>(&self, make: impl FnOnce(Reply<T>) -> Job) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        let sender = self.sender()?;
        sender
            .send(make(tx))
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Writes rows copied from another store (see [`Store::import_raw`]) in
    /// one transaction on a pooled connection, under the write lock (the
    /// `ledger_head` row), so it is serialised with every writer; the
    /// writer reloads its frontier at its next group, as after any other
    /// process's commit.
    async fn import(&self, rows: RawRows) -> Result<(), StoreError> {
        self.sender()?;
        let mut tx = self.inner.pool.begin().await.map_err(db)?;
        let size: i64 = sqlx::query_scalar("SELECT size FROM ledger_head FOR UPDATE")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let size = size as u64;
        match rows {
            RawRows::Ledger {
                leaves,
                nodes,
                checkpoints,
            } => {
                let mut buf = Buffer::default();
                for (i, row) in leaves.iter().enumerate() {
                    if row.position != size + i as u64 {
                        return Err(StoreError::Conflict {
                            stream: "ledger".into(),
                            expected: row.position,
                            actual: size + i as u64,
                        });
                    }
                    buf.positions.push(i64_of(row.position));
                    buf.streams.push(row.stream.to_owned());
                    buf.seqs.push(i64_of(row.seq));
                    buf.leaves.push(row.leaf.to_vec());
                    buf.leaf_hashes.push(row.leaf_hash.to_vec());
                }
                for (id, h) in &nodes {
                    buf.node_levels.push(id.level as i16);
                    buf.node_idxs.push(i64_of(id.index));
                    buf.node_hashes.push(h.as_bytes().to_vec());
                }
                flush(&mut tx, &mut buf).await?;
                let sizes: Vec<i64> = checkpoints.iter().map(|c| i64_of(c.size)).collect();
                let notes: Vec<&str> = checkpoints.iter().map(|c| c.note.as_str()).collect();
                sqlx::query(
                    "WITH c AS (INSERT INTO checkpoints (size, note)
                                SELECT * FROM unnest($1::int8[], $2::text[]))
                     UPDATE ledger_head SET size = $3",
                )
                .bind(sizes)
                .bind(notes)
                .bind(i64_of(size + leaves.len() as u64))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            RawRows::Cases(cases) => {
                let mut buf = Buffer::default();
                for s in &cases {
                    buf.push_case(s);
                }
                flush(&mut tx, &mut buf).await?;
            }
            RawRows::Docs(docs) => {
                let kinds: Vec<&str> = docs.iter().map(|d| d.kind.as_str()).collect();
                let keys: Vec<&str> = docs.iter().map(|d| d.key.as_str()).collect();
                let versions: Vec<i64> = docs.iter().map(|d| i64_of(d.version)).collect();
                let bodies: Vec<&[u8]> = docs.iter().map(|d| d.body.as_slice()).collect();
                // Every document must be new: those that were not
                // inserted name the conflict (and the transaction is
                // dropped, so none is written).
                let inserted: Vec<(String, String)> = sqlx::query_as(
                    "INSERT INTO docs (kind, key, version, body)
                     SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::bytea[])
                     ON CONFLICT (kind, key) DO NOTHING RETURNING kind, key",
                )
                .bind(kinds)
                .bind(keys)
                .bind(versions)
                .bind(bodies)
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
                if inserted.len() != docs.len() {
                    let done: std::collections::HashSet<(&str, &str)> = inserted
                        .iter()
                        .map(|(k, key)| (k.as_str(), key.as_str()))
                        .collect();
                    let mut seen = std::collections::HashSet::new();
                    for d in &docs {
                        let id = (d.kind.as_str(), d.key.as_str());
                        if !done.contains(&id) || !seen.insert(id) {
                            return Err(StoreError::DocConflict {
                                kind: d.kind,
                                key: d.key.clone(),
                            });
                        }
                    }
                }
            }
        }
        tx.commit().await.map_err(db)
    }

    /// A read-only transaction that sees one commit.
    async fn snapshot(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        self.inner
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(db)
    }
}

// ---------------------------------------------------------------------------
// The writer.

struct Writer {
    pool: PgPool,
    signer: NoteSigner,
    origin: String,
    /// The right edge of the tree after this writer's last commit.
    frontier: Option<Frontier>,
    max_group: usize,
}

struct Pending {
    job: Job,
    result: Result<Option<Done>, StoreError>,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        while let Some(first) = rx.recv().await {
            self.run_group(first, &mut rx).await;
        }
    }

    /// Commits `first` and whatever else is queued by the time the write
    /// lock is ours (waiting for another process is time in which more
    /// jobs arrive: they join this group), then answers every caller.
    async fn run_group(&mut self, first: Job, rx: &mut mpsc::Receiver<Job>) {
        let mut pending = vec![Pending {
            job: first,
            result: Ok(None),
        }];
        let outcome = self.try_commit_group(&mut pending, rx).await;
        if outcome.is_err() {
            // Nothing was committed (or we cannot know): forget the
            // frontier; it is reloaded from the database at the next group.
            self.frontier = None;
        }
        for p in pending {
            let result = match (&outcome, p.result) {
                (Err(e), Ok(_)) => Err(StoreError::Backend(format!("commit failed: {e}"))),
                (_, r) => r,
            };
            let missing = || StoreError::Backend("the writer produced no result".into());
            match p.job {
                Job::Append(_, reply) => {
                    let _ = reply.send(result.and_then(|d| match d {
                        Some(Done::Appended(a)) => Ok(a),
                        _ => Err(missing()),
                    }));
                }
                Job::ReplaceProjections(_, _, reply) => {
                    let _ = reply.send(result.map(|_| ()));
                }
                Job::WriteDocs(_, reply) => {
                    let _ = reply.send(result.and_then(|d| match d {
                        Some(Done::Written(v)) => Ok(v),
                        _ => Err(missing()),
                    }));
                }
            }
        }
    }

    /// One transaction for the whole group; Err if nothing committed. On
    /// an early return the transaction is dropped, which rolls it back.
    async fn try_commit_group(
        &mut self,
        pending: &mut Vec<Pending>,
        rx: &mut mpsc::Receiver<Job>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // The write lock: every writer of this database, in any process,
        // waits here for the one before it.
        let size: i64 = sqlx::query_scalar("SELECT size FROM ledger_head FOR UPDATE")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let size = size as u64;
        while pending.len() < self.max_group {
            match rx.try_recv() {
                Ok(job) => pending.push(Pending {
                    job,
                    result: Ok(None),
                }),
                Err(_) => break,
            }
        }
        let mut frontier = match self.frontier.take() {
            Some(f) if f.size() == size => f,
            _ => load_frontier(&mut tx, size).await?,
        };
        // Versions of the streams appended to, read under the lock; the
        // group's appends are then checked and advanced in memory.
        let mut streams: Vec<String> = pending
            .iter()
            .filter_map(|p| match &p.job {
                Job::Append(b, _) => Some(b.stream.to_string()),
                _ => None,
            })
            .collect();
        streams.sort_unstable();
        streams.dedup();
        let mut versions = stream_versions(&mut tx, streams).await?;
        let mut appended = false;
        let mut savepoint = false;
        let mut buf = Buffer::default();
        for p in pending.iter_mut() {
            let before = frontier.clone();
            let isolated = match &p.job {
                Job::Append(batch, _) => needs_savepoint(batch),
                _ => true,
            };
            if isolated {
                // What plain appends before it buffered is written first,
                // outside its savepoint.
                flush(&mut tx, &mut buf).await?;
                let sp = if savepoint {
                    "RELEASE SAVEPOINT job; SAVEPOINT job"
                } else {
                    "SAVEPOINT job"
                };
                simple(&mut tx, sp).await?;
                savepoint = true;
            }
            let r = match &p.job {
                Job::Append(batch, _) => append_one(
                    &mut tx,
                    &mut frontier,
                    &mut versions,
                    &mut buf,
                    batch,
                    isolated,
                )
                .await
                .map(Done::Appended),
                Job::ReplaceProjections(cases, docs, _) => {
                    replace_projections(&mut tx, cases, docs)
                        .await
                        .map(|_| Done::Replaced)
                }
                Job::WriteDocs(writes, _) => write_docs(&mut tx, writes).await.map(Done::Written),
            };
            match r {
                Ok(d) => {
                    appended |= matches!(d, Done::Appended(_));
                    p.result = Ok(Some(d));
                }
                Err(e) => {
                    // A plain append fails only before it buffers anything
                    // (a stale version); an isolated job is undone.
                    if isolated {
                        simple(&mut tx, "ROLLBACK TO SAVEPOINT job").await?;
                        buf.clear();
                    }
                    frontier = before;
                    p.result = Err(e);
                }
            }
        }
        flush(&mut tx, &mut buf).await?;
        if appended {
            let cp = Checkpoint {
                origin: self.origin.clone(),
                size: frontier.size(),
                root: frontier.root(),
            };
            let note = self
                .signer
                .try_sign_checkpoint(&cp)
                .map_err(|e| StoreError::Backend(format!("cannot sign checkpoint: {e}")))?;
            sqlx::query(
                "WITH c AS (INSERT INTO checkpoints (size, note) VALUES ($1, $2))
                 UPDATE ledger_head SET size = $1",
            )
            .bind(i64_of(cp.size))
            .bind(note)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            for p in pending.iter_mut() {
                if let Ok(Some(Done::Appended(a))) = &mut p.result {
                    a.tree_size = cp.size;
                    a.root = cp.root;
                }
            }
        }
        tx.commit().await.map_err(|e| {
            StoreError::Backend(format!(
                "the commit did not complete ({}); whether it took effect is unknown until the ledger is read again",
                db(e)
            ))
        })?;
        self.frontier = Some(frontier);
        Ok(())
    }
}

/// Runs SQL without parameters (several statements, one round trip).
/// Through `Executor::execute`, whose future is boxed: `RawSql::execute`'s
/// generic future defeats the compiler's proof that the writer is `Send`.
async fn simple(conn: &mut PgConnection, sql: &'static str) -> Result<(), StoreError> {
    sqlx::Executor::execute(conn, sqlx::raw_sql(sql))
        .await
        .map_err(db)?;
    Ok(())
}

/// Stored hashes of `ids` (level 0 from the ledger), `None` where absent.
async fn fetch_nodes(
    conn: &mut PgConnection,
    ids: &[NodeId],
) -> Result<Vec<Option<Hash>>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let levels: Vec<i16> = ids.iter().map(|id| id.level as i16).collect();
    let idxs: Vec<i64> = ids.iter().map(|id| i64_of(id.index)).collect();
    let rows = sqlx::query(
        // Scalar subqueries: one index probe per id whatever plan the
        // prepared statement gets (a join's generic plan can scan).
        "SELECT q.ord, CASE WHEN q.level = 0
                    THEN (SELECT leaf_hash FROM ledger WHERE position = q.idx)
                    ELSE (SELECT hash FROM merkle_nodes WHERE level = q.level AND idx = q.idx) END
           FROM unnest($1::int2[], $2::int8[]) WITH ORDINALITY AS q(level, idx, ord)",
    )
    .bind(levels)
    .bind(idxs)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut out = vec![None; ids.len()];
    for r in &rows {
        let ord: i64 = col(r, 0)?;
        let h: Option<&[u8]> = col(r, 1)?;
        if let (Some(slot), Some(h)) = (out.get_mut((ord - 1) as usize), h) {
            *slot = Some(to_hash(h)?);
        }
    }
    Ok(out)
}

async fn load_frontier(conn: &mut PgConnection, size: u64) -> Result<Frontier, StoreError> {
    let ids = Frontier::node_ids(size);
    let found = fetch_nodes(conn, &ids).await?;
    let mut hashes = Vec::with_capacity(ids.len());
    for (id, h) in ids.iter().zip(found) {
        hashes.push(h.ok_or_else(|| {
            corrupt(format!(
                "Merkle node (level {}, index {}) is missing",
                id.level, id.index
            ))
        })?);
    }
    Frontier::from_nodes(size, &hashes).map_err(corrupt)
}

/// Whether an append needs a savepoint of its own: only when something
/// can fail after its events are written (a document expectation, a
/// summary of another case than the stream's). A plain append is one
/// statement after a version check made in memory: it fails before
/// writing anything, or (a database error) the whole group fails.
fn needs_savepoint(batch: &NewEvents) -> bool {
    !batch.docs.is_empty()
        || batch
            .summary
            .as_ref()
            .is_some_and(|s| batch.stream.case() != Some(s.id))
}

/// The current version of each of `streams`, read under the write lock.
async fn stream_versions(
    conn: &mut PgConnection,
    streams: Vec<String>,
) -> Result<HashMap<String, u64>, StoreError> {
    if streams.is_empty() {
        return Ok(HashMap::new());
    }
    // One index probe per stream (a max over `stream = ANY(..)` would read
    // every row of a long stream).
    let rows = sqlx::query(
        "SELECT s, COALESCE((SELECT max(seq) FROM ledger WHERE stream = s), 0)::int8
           FROM unnest($1::text[]) AS s",
    )
    .bind(streams)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| Ok((col::<String>(r, 0)?, col::<i64>(r, 1)? as u64)))
        .collect()
}

/// Rows waiting to be written in one statement: the leaves and Merkle
/// nodes of several appends, and the last summary of each case they touch
/// with its reports.
#[derive(Default)]
struct Buffer {
    positions: Vec<i64>,
    streams: Vec<String>,
    seqs: Vec<i64>,
    leaves: Vec<Vec<u8>>,
    leaf_hashes: Vec<Vec<u8>>,
    node_levels: Vec<i16>,
    node_idxs: Vec<i64>,
    node_hashes: Vec<Vec<u8>>,
    /// The latest summary of each case, in first-touched order.
    cases: Vec<CaseSummary>,
    case_index: HashMap<CaseId, usize>,
    /// Cases whose first event is in this buffer, with its position (the
    /// statement cannot look up what it inserts itself).
    opened: HashMap<CaseId, u64>,
}

impl Buffer {
    fn is_empty(&self) -> bool {
        self.positions.is_empty() && self.cases.is_empty()
    }

    fn clear(&mut self) {
        *self = Buffer::default();
    }

    fn push_case(&mut self, s: &CaseSummary) {
        match self.case_index.get(&s.id) {
            // A later summary of the same case supersedes the earlier one.
            Some(&i) => self.cases[i] = s.clone(),
            None => {
                self.case_index.insert(s.id, self.cases.len());
                self.cases.push(s.clone());
            }
        }
    }
}

const FLUSH_LEDGER: &str = "
    l AS (
        INSERT INTO ledger (position, stream, seq, leaf, leaf_hash)
        SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[], $4::bytea[], $5::bytea[])
    )";

const FLUSH_NODES: &str = "
    INSERT INTO merkle_nodes (level, idx, hash)
    SELECT * FROM unnest($6::int2[], $7::int8[], $8::bytea[])";

/// The access marking travels as JSON text per case (arrays of arrays
/// must be rectangular in PostgreSQL).
const FLUSH_CASES: &str = "
    c AS (
        INSERT INTO cases (id, opened_position, title, state, owner, lead_element, opened_at, updated_at, version,
                           verdict, reassessment_due, next_step, next_due, next_due_us, escalations,
                           levels, compartments, elements, existence_restricted, sweep_at_us)
        SELECT u.id, COALESCE(u.hint, (SELECT position FROM ledger WHERE stream = 'case/' || u.id AND seq = 1)),
               u.title, u.state, u.owner, u.lead, u.opened_at, u.updated_at, u.version,
               u.verdict, u.reassessment_due, u.next_step, u.next_due, u.next_due_us, u.escalations,
               ARRAY(SELECT x FROM json_array_elements_text(u.levels::json) WITH ORDINALITY AS j(x, o) ORDER BY o),
               ARRAY(SELECT x FROM json_array_elements_text(u.compartments::json) WITH ORDINALITY AS j(x, o) ORDER BY o),
               ARRAY(SELECT x FROM json_array_elements_text(u.elements::json) WITH ORDINALITY AS j(x, o) ORDER BY o),
               u.restricted, u.sweep_at_us
          FROM unnest($9::text[], $10::int8[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
                      $16::text[], $17::int8[], $18::text[], $19::text[], $20::text[], $21::text[], $22::int8[],
                      $23::int8[], $24::text[], $25::text[], $26::text[], $27::bool[], $35::int8[])
               AS u(id, hint, title, state, owner, lead, opened_at, updated_at, version,
                    verdict, reassessment_due, next_step, next_due, next_due_us, escalations,
                    levels, compartments, elements, restricted, sweep_at_us)
        ON CONFLICT (id) DO UPDATE SET
           title = excluded.title, state = excluded.state, owner = excluded.owner,
           lead_element = excluded.lead_element, opened_at = excluded.opened_at,
           updated_at = excluded.updated_at, version = excluded.version, verdict = excluded.verdict,
           reassessment_due = excluded.reassessment_due, next_step = excluded.next_step,
           next_due = excluded.next_due, next_due_us = excluded.next_due_us,
           escalations = excluded.escalations, levels = excluded.levels,
           compartments = excluded.compartments, elements = excluded.elements,
           existence_restricted = excluded.existence_restricted,
           sweep_at_us = excluded.sweep_at_us
    ),
    d AS (DELETE FROM reports WHERE case_id = ANY($9::text[]) AND NOT (id = ANY($28::text[])))
    INSERT INTO reports (id, case_id, ord, originating_element, received_at, grade, independent)
    SELECT * FROM unnest($28::text[], $29::text[], $30::int8[], $31::text[], $32::text[], $33::text[], $34::bool[])
    ON CONFLICT (id) DO UPDATE SET
       case_id = excluded.case_id, ord = excluded.ord,
       originating_element = excluded.originating_element,
       received_at = excluded.received_at, grade = excluded.grade,
       independent = excluded.independent";

fn flush_sql(with_cases: bool) -> &'static str {
    static EVENTS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static ALL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if with_cases {
        ALL.get_or_init(|| format!("WITH {FLUSH_LEDGER}, n AS ({FLUSH_NODES}), {FLUSH_CASES}"))
    } else {
        EVENTS.get_or_init(|| format!("WITH {FLUSH_LEDGER} {FLUSH_NODES}"))
    }
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// Writes what the buffer holds, in one statement, and empties it.
async fn flush(conn: &mut PgConnection, buf: &mut Buffer) -> Result<(), StoreError> {
    if buf.is_empty() {
        return Ok(());
    }
    let b = std::mem::take(buf);
    let with_cases = !b.cases.is_empty();
    let mut q = sqlx::query(flush_sql(with_cases))
        .bind(b.positions)
        .bind(b.streams)
        .bind(b.seqs)
        .bind(b.leaves)
        .bind(b.leaf_hashes)
        .bind(b.node_levels)
        .bind(b.node_idxs)
        .bind(b.node_hashes);
    if with_cases {
        let n = b.cases.len();
        let mut c = CaseColumns::with_capacity(n);
        for s in &b.cases {
            c.push(s, b.opened.get(&s.id).copied());
        }
        q = c.bind(q);
    }
    q.execute(&mut *conn)
        .await
        .map_err(|e| match sqlstate(&e).as_deref() {
            Some("23505") => corrupt(format!(
                "a ledger position or Merkle node is already stored that the ledger head says is free ({e})"
            )),
            Some("23502") => corrupt(
                "a case summary names a case with no case_opened event in the ledger".to_owned(),
            ),
            _ => db(e),
        })?;
    Ok(())
}

/// The case and report columns of a flush, one array per column.
#[derive(Default)]
struct CaseColumns {
    id: Vec<String>,
    hint: Vec<Option<i64>>,
    title: Vec<String>,
    state: Vec<&'static str>,
    owner: Vec<String>,
    lead: Vec<String>,
    opened_at: Vec<String>,
    updated_at: Vec<String>,
    version: Vec<i64>,
    verdict: Vec<Option<String>>,
    reassessment_due: Vec<Option<String>>,
    next_step: Vec<Option<String>>,
    next_due: Vec<Option<String>>,
    next_due_us: Vec<Option<i64>>,
    escalations: Vec<i64>,
    levels: Vec<String>,
    compartments: Vec<String>,
    elements: Vec<String>,
    restricted: Vec<bool>,
    sweep_at_us: Vec<Option<i64>>,
    r_id: Vec<String>,
    r_case: Vec<String>,
    r_ord: Vec<i64>,
    r_el: Vec<String>,
    r_at: Vec<String>,
    r_grade: Vec<String>,
    r_ind: Vec<bool>,
    r_index: HashMap<String, usize>,
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

impl CaseColumns {
    fn with_capacity(n: usize) -> Self {
        let mut c = CaseColumns::default();
        c.id.reserve(n);
        c
    }

    fn push(&mut self, s: &CaseSummary, hint: Option<u64>) {
        let id = s.id.to_string();
        for (i, r) in s.reports.iter().enumerate() {
            let rid = r.id.to_string();
            // One row per report in a statement (ON CONFLICT cannot touch
            // a row twice): a report listed again, in this case or
            // another, is where it was listed last.
            let at = match self.r_index.get(&rid) {
                Some(&at) => at,
                None => {
                    self.r_index.insert(rid.clone(), self.r_id.len());
                    self.r_id.push(String::new());
                    self.r_case.push(String::new());
                    self.r_ord.push(0);
                    self.r_el.push(String::new());
                    self.r_at.push(String::new());
                    self.r_grade.push(String::new());
                    self.r_ind.push(false);
                    self.r_id.len() - 1
                }
            };
            self.r_id[at] = rid;
            self.r_case[at] = id.clone();
            self.r_ord[at] = i as i64;
            self.r_el[at] = r.originating_element.clone();
            self.r_at[at] = r.received_at.to_string();
            self.r_grade[at] = r.grade.clone();
            self.r_ind[at] = r.independent;
        }
        self.id.push(id);
        self.hint.push(hint.map(i64_of));
        self.title.push(s.title.clone());
        self.state.push(s.state.as_str());
        self.owner.push(s.owner.clone());
        self.lead.push(s.lead_element.clone());
        self.opened_at.push(s.opened_at.to_string());
        self.updated_at.push(s.updated_at.to_string());
        self.version.push(i64_of(s.version));
        self.verdict.push(s.verdict.clone());
        self.reassessment_due.push(s.reassessment_due.clone());
        self.next_step.push(s.next_step.clone());
        self.next_due.push(s.next_due.map(|t| t.to_string()));
        self.next_due_us.push(s.next_due.map(ts_us));
        self.escalations.push(s.escalations as i64);
        self.levels.push(json_list(&s.levels));
        self.compartments.push(json_list(&s.compartments));
        self.elements.push(json_list(&s.elements));
        self.restricted.push(s.existence_restricted);
        self.sweep_at_us.push(s.sweep_at.map(ts_us));
    }

    /// Binds $9..=$35 of the flush statement.
    fn bind(self, q: PgQuery<'_>) -> PgQuery<'_> {
        q.bind(self.id)
            .bind(self.hint)
            .bind(self.title)
            .bind(self.state)
            .bind(self.owner)
            .bind(self.lead)
            .bind(self.opened_at)
            .bind(self.updated_at)
            .bind(self.version)
            .bind(self.verdict)
            .bind(self.reassessment_due)
            .bind(self.next_step)
            .bind(self.next_due)
            .bind(self.next_due_us)
            .bind(self.escalations)
            .bind(self.levels)
            .bind(self.compartments)
            .bind(self.elements)
            .bind(self.restricted)
            .bind(self.r_id)
            .bind(self.r_case)
            .bind(self.r_ord)
            .bind(self.r_el)
            .bind(self.r_at)
            .bind(self.r_grade)
            .bind(self.r_ind)
            .bind(self.sweep_at_us)
    }
}

/// Appends one batch inside the group's transaction. `versions` holds the
/// current version of every stream the group appends to (read under the
/// write lock, advanced by each append of the group). The rows go into
/// `buf`; an isolated append (see [`needs_savepoint`]) writes them, and its
/// documents, at once.
async fn append_one(
    conn: &mut PgConnection,
    frontier: &mut Frontier,
    versions: &mut HashMap<String, u64>,
    buf: &mut Buffer,
    batch: &NewEvents,
    isolated: bool,
) -> Result<Appended, StoreError> {
    if batch.events.is_empty() {
        return Err(StoreError::Backend("nothing to append".into()));
    }
    let stream = batch.stream.to_string();
    let current = versions.get(&stream).copied().unwrap_or(0);
    let expected = batch.expected_version.unwrap_or(current);
    if current != expected {
        return Err(StoreError::Conflict {
            stream,
            expected,
            actual: current,
        });
    }
    let first_position = frontier.size();
    let n = batch.events.len();
    let mut nodes = Vec::with_capacity(8);
    for (i, env) in batch.events.iter().enumerate() {
        let position = frontier.size();
        let seq = expected + i as u64 + 1;
        let leaf = encode(position, &batch.stream, seq, &encode_body(env));
        let lh = leaf_hash(&leaf);
        buf.positions.push(i64_of(position));
        buf.streams.push(stream.clone());
        buf.seqs.push(i64_of(seq));
        buf.leaves.push(leaf);
        buf.leaf_hashes.push(lh.as_bytes().to_vec());
        nodes.clear();
        frontier.push(lh, &mut nodes);
        for (id, h) in &nodes {
            buf.node_levels.push(id.level as i16);
            buf.node_idxs.push(i64_of(id.index));
            buf.node_hashes.push(h.as_bytes().to_vec());
        }
    }
    if let (0, Some(id)) = (expected, batch.stream.case()) {
        buf.opened.insert(id, first_position);
    }
    if let Some(s) = &batch.summary {
        buf.push_case(s);
    }
    if isolated {
        flush(conn, buf).await?;
        write_docs(conn, &batch.docs).await?;
    }
    let version = expected + n as u64;
    versions.insert(stream, version);
    Ok(Appended {
        first_position,
        count: n as u64,
        version,
        tree_size: 0,
        root: Hash::default(),
    })
}

fn ts_us(t: tocsin_domain::Timestamp) -> i64 {
    t.as_microsecond()
}

async fn replace_projections(
    conn: &mut PgConnection,
    cases: &[CaseSummary],
    docs: &[Doc],
) -> Result<(), StoreError> {
    sqlx::query("WITH r AS (DELETE FROM reports) DELETE FROM cases")
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let mut buf = Buffer::default();
    for s in cases {
        buf.push_case(s);
    }
    flush(conn, &mut buf).await?;
    let derived: Vec<&'static str> = DocKind::ALL
        .into_iter()
        .filter(|k| k.derived())
        .map(|k| k.as_str())
        .collect();
    sqlx::query("DELETE FROM docs WHERE kind = ANY($1::text[])")
        .bind(derived)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    for d in docs.iter().filter(|d| d.kind.derived()) {
        sqlx::query("INSERT INTO docs (kind, key, version, body) VALUES ($1, $2, $3, $4)")
            .bind(d.kind.as_str())
            .bind(&d.key)
            .bind(i64_of(d.version.max(1)))
            .bind(&d.body)
            .execute(&mut *conn)
            .await
            .map_err(|e| match sqlstate(&e).as_deref() {
                Some("23505") => StoreError::DocConflict {
                    kind: d.kind,
                    key: d.key.clone(),
                },
                _ => db(e),
            })?;
    }
    Ok(())
}

/// Applies document writes inside the caller's transaction, each as one
/// compare-and-set statement; the first failed expectation stops with
/// [`StoreError::DocConflict`] (the caller's savepoint undoes the rest).
async fn write_docs(conn: &mut PgConnection, writes: &[DocWrite]) -> Result<Vec<u64>, StoreError> {
    let mut out = Vec::with_capacity(writes.len());
    for w in writes {
        let kind = w.kind.as_str();
        let q = match (&w.body, w.expect) {
            (Some(body), DocExpect::Any) => sqlx::query_scalar::<_, i64>(
                "INSERT INTO docs (kind, key, version, body) VALUES ($1, $2, 1, $3)
                 ON CONFLICT (kind, key) DO UPDATE SET version = docs.version + 1, body = excluded.body
                 RETURNING version",
            )
            .bind(kind)
            .bind(&w.key)
            .bind(body),
            (Some(body), DocExpect::Absent) => sqlx::query_scalar(
                "INSERT INTO docs (kind, key, version, body) VALUES ($1, $2, 1, $3)
                 ON CONFLICT (kind, key) DO NOTHING RETURNING version",
            )
            .bind(kind)
            .bind(&w.key)
            .bind(body),
            (Some(body), DocExpect::Version(v)) => sqlx::query_scalar(
                "UPDATE docs SET version = version + 1, body = $3
                 WHERE kind = $1 AND key = $2 AND version = $4 RETURNING version",
            )
            .bind(kind)
            .bind(&w.key)
            .bind(body)
            .bind(i64_of(v)),
            (None, DocExpect::Any) => sqlx::query_scalar(
                "WITH d AS (DELETE FROM docs WHERE kind = $1 AND key = $2) SELECT 0::int8",
            )
            .bind(kind)
            .bind(&w.key),
            (None, DocExpect::Absent) => sqlx::query_scalar(
                "SELECT 0::int8 WHERE NOT EXISTS (SELECT 1 FROM docs WHERE kind = $1 AND key = $2)",
            )
            .bind(kind)
            .bind(&w.key),
            (None, DocExpect::Version(v)) => sqlx::query_scalar(
                "DELETE FROM docs WHERE kind = $1 AND key = $2 AND version = $3 RETURNING 0::int8",
            )
            .bind(kind)
            .bind(&w.key)
            .bind(i64_of(v)),
        };
        match q.fetch_optional(&mut *conn).await.map_err(db)? {
            Some(v) => out.push(v as u64),
            None => {
                return Err(StoreError::DocConflict {
                    kind: w.kind,
                    key: w.key.clone(),
                });
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Reads.

const SUMMARY_COLUMNS: &str = "id, title, state, owner, lead_element, opened_at, updated_at, verdict, reassessment_due, next_step, next_due, version, escalations, opened_position, levels, compartments, elements, existence_restricted, sweep_at_us";

/// A case summary (without its reports) and its opening position.
fn build_summary(r: &PgRow) -> Result<(CaseSummary, i64), StoreError> {
    let id: String = col(r, 0)?;
    let state: String = col(r, 2)?;
    let next_due: Option<String> = col(r, 10)?;
    let summary = CaseSummary {
        id: parse("case id", &id)?,
        title: col(r, 1)?,
        state: CaseState::parse(&state)
            .ok_or_else(|| corrupt(format!("case {id}: unknown state {state}")))?,
        owner: col(r, 3)?,
        lead_element: col(r, 4)?,
        opened_at: parse("time", &col::<String>(r, 5)?)?,
        updated_at: parse("time", &col::<String>(r, 6)?)?,
        verdict: col(r, 7)?,
        reassessment_due: col(r, 8)?,
        next_step: col(r, 9)?,
        next_due: next_due.as_deref().map(|s| parse("time", s)).transpose()?,
        version: col::<i64>(r, 11)? as u64,
        escalations: col::<i64>(r, 12)? as u32,
        reports: vec![],
        levels: col(r, 14)?,
        compartments: col(r, 15)?,
        elements: col(r, 16)?,
        existence_restricted: col(r, 17)?,
        sweep_at: col::<Option<i64>>(r, 18)?
            .map(|us| {
                tocsin_domain::Timestamp::from_microsecond(us)
                    .map_err(|e| corrupt(format!("case {id}: sweep time {us}: {e}")))
            })
            .transpose()?,
    };
    Ok((summary, col(r, 13)?))
}

/// Fills in the reports of `cases` (one query).
async fn attach_reports(
    conn: &mut PgConnection,
    cases: &mut [CaseSummary],
) -> Result<(), StoreError> {
    if cases.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = cases.iter().map(|c| c.id.to_string()).collect();
    let rows = sqlx::query(
        "SELECT case_id, id, originating_element, received_at, grade, independent
           FROM reports WHERE case_id = ANY($1::text[]) ORDER BY case_id, ord",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let index: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    for r in &rows {
        let case_id: &str = col(r, 0)?;
        let Some(&i) = index.get(case_id) else {
            continue;
        };
        let id: &str = col(r, 1)?;
        let at: &str = col(r, 3)?;
        cases[i].reports.push(ReportSummary {
            id: parse("report id", id)?,
            originating_element: col(r, 2)?,
            received_at: parse("time", at)?,
            grade: col(r, 4)?,
            independent: col(r, 5)?,
        });
    }
    Ok(())
}

fn derived_kinds() -> Vec<&'static str> {
    DocKind::ALL
        .into_iter()
        .filter(|k| k.derived())
        .map(|k| k.as_str())
        .collect()
}

fn row_doc(r: &PgRow) -> Result<Doc, StoreError> {
    let kind: String = col(r, 0)?;
    Ok(Doc {
        kind: DocKind::parse(&kind)
            .ok_or_else(|| corrupt(format!("a document of unknown kind '{kind}'")))?,
        key: col(r, 1)?,
        version: col::<i64>(r, 2)? as u64,
        body: col(r, 3)?,
    })
}

#[async_trait]
impl Store for PostgresStore {
    fn meta(&self) -> &StoreMeta {
        &self.inner.meta
    }

    async fn append(&self, batch: NewEvents) -> Result<Appended, StoreError> {
        if batch.events.is_empty() {
            return Err(StoreError::Backend("nothing to append".into()));
        }
        self.submit(|reply| Job::Append(Box::new(batch), reply))
            .await
    }

    async fn read_stream(&self, stream: &StreamId) -> Result<Vec<StoredEvent>, StoreError> {
        let rows =
            sqlx::query("SELECT position, seq, leaf FROM ledger WHERE stream = $1 ORDER BY seq")
                .bind(stream.to_string())
                .fetch_all(&self.inner.pool)
                .await
                .map_err(db)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let position: i64 = col(r, 0)?;
            let leaf: &[u8] = col(r, 2)?;
            let (_, envelope) = tocsin_store::leaf::decode(leaf)
                .map_err(|e| corrupt(format!("ledger position {position}: {e}")))?;
            out.push(StoredEvent {
                position: position as u64,
                stream: *stream,
                seq: col::<i64>(r, 1)? as u64,
                envelope,
            });
        }
        Ok(out)
    }

    async fn list_cases(&self, q: &CaseQuery) -> Result<Page<CaseSummary>, StoreError> {
        let limit = q.effective_limit();
        let after: Option<i64> = match &q.after {
            Some(c) => Some(
                c.parse()
                    .map_err(|_| StoreError::Backend(format!("invalid cursor '{c}'")))?,
            ),
            None => None,
        };
        let (levels, compartments, elements) = match &q.access {
            Some(a) => (
                Some(a.levels.clone()),
                Some(a.compartments.clone()),
                a.elements.clone(),
            ),
            None => (None, None, None),
        };
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM cases
             WHERE ($1::text IS NULL OR state = $1)
               AND (NOT $6 OR state <> 'closed')
               AND (NOT $2 OR reassessment_due IS NOT NULL)
               AND ($3::int8 IS NULL OR next_due_us < $3)
               AND ($4::int8 IS NULL OR opened_position < $4)
               AND ($7::text[] IS NULL OR levels <@ $7)
               AND ($8::text[] IS NULL OR compartments <@ $8)
               AND ($9::text[] IS NULL OR elements && $9)
               AND ($10::int8 IS NULL OR sweep_at_us <= $10)
             ORDER BY opened_position DESC LIMIT $5"
        );
        let mut tx = self.snapshot().await?;
        let rows = sqlx::query(&sql)
            .bind(q.state.map(|s| s.as_str()))
            .bind(q.reassessment_due)
            .bind(q.overdue_at.map(ts_us))
            .bind(after)
            .bind(limit as i64 + 1)
            .bind(q.open_only)
            .bind(levels)
            .bind(compartments)
            .bind(elements)
            .bind(q.sweep_due_at.map(ts_us))
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        let mut items = Vec::with_capacity(rows.len());
        let mut last_opened = None;
        for r in rows.iter().take(limit as usize) {
            let (s, opened) = build_summary(r)?;
            items.push(s);
            last_opened = Some(opened);
        }
        let next = if rows.len() > limit as usize {
            last_opened.map(|p| p.to_string())
        } else {
            None
        };
        attach_reports(&mut tx, &mut items).await?;
        tx.commit().await.map_err(db)?;
        Ok(Page { items, next })
    }

    async fn case_ids_with_prefix(
        &self,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<CaseId>, StoreError> {
        // As SQLite's LIKE: wildcards in the prefix are dropped, and ASCII
        // case does not matter (ids are stored in lower case).
        let pattern = format!("{}%", prefix.replace(['%', '_'], "").to_ascii_lowercase());
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM cases WHERE id LIKE $1 ESCAPE '' ORDER BY id LIMIT $2",
        )
        .bind(pattern)
        .bind(limit as i64)
        .fetch_all(&self.inner.pool)
        .await
        .map_err(db)?;
        rows.iter().map(|s| parse("case id", s)).collect()
    }

    async fn case_ids(&self) -> Result<Vec<CaseId>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT stream FROM ledger WHERE seq = 1 AND stream LIKE 'case/%' ORDER BY position",
        )
        .fetch_all(&self.inner.pool)
        .await
        .map_err(db)?;
        let mut out = Vec::with_capacity(rows.len());
        for s in &rows {
            if let Some(id) = parse::<StreamId>("stream", s)?.case() {
                out.push(id);
            }
        }
        Ok(out)
    }

    async fn ledger_head(&self) -> Result<LedgerHead, StoreError> {
        let mut tx = self.snapshot().await?;
        let size: i64 = sqlx::query_scalar("SELECT size FROM ledger_head")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        let size = size as u64;
        let ids = tocsin_ledger::root_at_node_ids(size);
        let found = fetch_nodes(&mut tx, &ids).await?;
        let map: HashMap<NodeId, Hash> = ids
            .iter()
            .zip(found)
            .filter_map(|(id, h)| h.map(|h| (*id, h)))
            .collect();
        let root = tocsin_ledger::root_at(size, |id| map.get(&id).copied()).map_err(corrupt)?;
        let checkpoint: Option<String> =
            sqlx::query_scalar("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(LedgerHead {
            size,
            root,
            checkpoint,
        })
    }

    async fn read_leaves(&self, from: u64, limit: u32) -> Result<LeafPage, StoreError> {
        let rows = sqlx::query(
            "SELECT position, stream, seq, leaf, leaf_hash FROM ledger
             WHERE position >= $1 ORDER BY position LIMIT $2",
        )
        .bind(i64_of(from))
        .bind(limit as i64)
        .fetch_all(&self.inner.pool)
        .await
        .map_err(db)?;
        let bytes = rows.len() * 1024;
        let mut page = LeafPage::with_capacity(rows.len(), bytes);
        for r in &rows {
            let position: i64 = col(r, 0)?;
            let stream: &str = col(r, 1)?;
            let seq: i64 = col(r, 2)?;
            let leaf: &[u8] = col(r, 3)?;
            let lh: &[u8] = col(r, 4)?;
            page.push(position as u64, stream, seq as u64, leaf, lh);
        }
        Ok(page)
    }

    async fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, StoreError> {
        let mut conn = self.inner.pool.acquire().await.map_err(db)?;
        fetch_nodes(&mut conn, ids).await
    }

    async fn read_level(
        &self,
        level: u8,
        from_index: u64,
        limit: u32,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        let rows = sqlx::query(
            "SELECT idx, hash FROM merkle_nodes WHERE level = $1 AND idx >= $2 ORDER BY idx LIMIT $3",
        )
        .bind(level as i16)
        .bind(i64_of(from_index))
        .bind(limit as i64)
        .fetch_all(&self.inner.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| Ok((col::<i64>(r, 0)? as u64, to_hash(col(r, 1)?)?)))
            .collect()
    }

    async fn read_checkpoints(
        &self,
        from_size: u64,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let rows = sqlx::query(
            "SELECT size, note FROM checkpoints WHERE size >= $1 ORDER BY size LIMIT $2",
        )
        .bind(i64_of(from_size))
        .bind(limit as i64)
        .fetch_all(&self.inner.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(StoredCheckpoint {
                    size: col::<i64>(r, 0)? as u64,
                    note: col(r, 1)?,
                })
            })
            .collect()
    }

    async fn replace_projections(
        &self,
        cases: Vec<CaseSummary>,
        docs: Vec<Doc>,
    ) -> Result<(), StoreError> {
        self.submit(|reply| Job::ReplaceProjections(cases, docs, reply))
            .await
    }

    async fn projection_digest(&self) -> Result<ProjectionDigest, StoreError> {
        let mut tx = self.snapshot().await?;
        let rows = sqlx::query(&format!("SELECT {SUMMARY_COLUMNS} FROM cases ORDER BY id"))
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        let mut items = rows
            .iter()
            .map(|r| build_summary(r).map(|(s, _)| s))
            .collect::<Result<Vec<_>, _>>()?;
        attach_reports(&mut tx, &mut items).await?;
        let orphans: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM reports WHERE case_id NOT IN (SELECT id FROM cases)",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let rows = sqlx::query(
            "SELECT kind, key, version, body FROM docs WHERE kind = ANY($1::text[]) ORDER BY kind, key",
        )
        .bind(derived_kinds())
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let docs = rows.iter().map(row_doc).collect::<Result<Vec<_>, _>>()?;
        tx.commit().await.map_err(db)?;
        let mut d = ProjectionDigest::of(&items, &docs);
        d.reports += orphans as u64;
        if orphans > 0 {
            d.sha256 = format!("{}+{orphans}-orphan-reports", d.sha256);
        }
        Ok(d)
    }

    async fn get_doc(&self, kind: DocKind, key: &str) -> Result<Option<Doc>, StoreError> {
        let row =
            sqlx::query("SELECT kind, key, version, body FROM docs WHERE kind = $1 AND key = $2")
                .bind(kind.as_str())
                .bind(key)
                .fetch_optional(&self.inner.pool)
                .await
                .map_err(db)?;
        row.as_ref().map(row_doc).transpose()
    }

    async fn list_docs(
        &self,
        kind: DocKind,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<Doc>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, key, version, body FROM docs
             WHERE kind = $1 AND ($2::text IS NULL OR key > $2)
             ORDER BY key LIMIT $3",
        )
        .bind(kind.as_str())
        .bind(after)
        .bind(limit as i64)
        .fetch_all(&self.inner.pool)
        .await
        .map_err(db)?;
        rows.iter().map(row_doc).collect()
    }

    async fn write_docs(&self, writes: Vec<DocWrite>) -> Result<Vec<u64>, StoreError> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        self.submit(|reply| Job::WriteDocs(writes, reply)).await
    }

    async fn import_raw(&self, rows: RawRows) -> Result<(), StoreError> {
        self.import(rows).await
    }

    /// Consistency of what PostgreSQL itself does not check: the ledger
    /// head against the ledger rows, the latest checkpoint against the
    /// head, the count of stored Merkle nodes per level, the query tables
    /// against the ledger, the schema version. Empty when all is well.
    async fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let mut tx = self.snapshot().await?;
        let row = sqlx::query(
            "SELECT (SELECT size FROM ledger_head),
                    (SELECT count(*) FROM ledger),
                    (SELECT COALESCE(max(position) + 1, 0) FROM ledger),
                    (SELECT max(size) FROM checkpoints),
                    (SELECT count(*) FROM ledger_head)",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let head: Option<i64> = col(&row, 0)?;
        let rows: i64 = col(&row, 1)?;
        let end: i64 = col(&row, 2)?;
        let checkpoint: Option<i64> = col(&row, 3)?;
        let head_rows: i64 = col(&row, 4)?;
        if head_rows != 1 {
            out.push(format!(
                "ledger_head has {head_rows} rows instead of exactly one"
            ));
        }
        let size = head.unwrap_or(0);
        if rows != size || end != size {
            out.push(format!(
                "the ledger head says {size} events, but the ledger holds {rows} rows ending before position {end}"
            ));
        }
        if size > 0 && checkpoint != Some(size) {
            out.push(format!(
                "the latest checkpoint covers {} events, but the ledger head says {size}",
                checkpoint.unwrap_or(0)
            ));
        }
        if checkpoint.unwrap_or(0) > size {
            out.push(format!(
                "a checkpoint covers {} events, more than the ledger holds ({size})",
                checkpoint.unwrap_or(0)
            ));
        }
        let levels = sqlx::query(
            "SELECT level, count(*), max(idx) FROM merkle_nodes GROUP BY level ORDER BY level",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let mut found: HashMap<i16, (i64, i64)> = HashMap::new();
        for r in &levels {
            found.insert(col(r, 0)?, (col(r, 1)?, col(r, 2)?));
        }
        let size = size.max(0) as u64;
        for level in 1..64i16 {
            let want = (size >> level) as i64;
            let (n, max) = found.remove(&level).unwrap_or((0, -1));
            if n != want || max != want - 1 {
                out.push(format!(
                    "level {level} of the Merkle tree has {n} stored nodes (last index {max}) where a ledger of {size} events has {want}"
                ));
            }
        }
        for (level, (n, _)) in found {
            out.push(format!(
                "{n} Merkle nodes are stored at impossible level {level}"
            ));
        }
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM reports WHERE case_id NOT IN (SELECT id FROM cases)),
                    (SELECT count(*) FROM cases c WHERE NOT EXISTS
                        (SELECT 1 FROM ledger l WHERE l.position = c.opened_position
                            AND l.stream = 'case/' || c.id AND l.seq = 1)),
                    (SELECT COALESCE(max(version), 0)::int8 FROM schema_migrations)",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let orphans: i64 = col(&row, 0)?;
        let unopened: i64 = col(&row, 1)?;
        let version: i64 = col(&row, 2)?;
        if orphans > 0 {
            out.push(format!("{orphans} reports belong to no case"));
        }
        if unopened > 0 {
            out.push(format!(
                "{unopened} cases do not point at their case_opened event in the ledger"
            ));
        }
        if version != schema::latest() {
            out.push(format!(
                "the schema is at version {version}, not {}",
                schema::latest()
            ));
        }
        tx.commit().await.map_err(db)?;
        Ok(out)
    }
}
