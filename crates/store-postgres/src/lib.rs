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
//! query); the planner then checks and advances those versions in memory
//! through the group. No other writer can append meanwhile, so of two approvers racing
//! through two processes with the same expected version exactly one
//! succeeds; the other gets [`StoreError::Conflict`] and nothing of it is
//! written. The `UNIQUE (stream, seq)` and position keys are a second net.
//!
//! **The Merkle frontier is cached by size.** The writer keeps the right
//! edge of the tree after its last commit; when the size under the lock is
//! not the cached one (another process appended), it reloads the frontier
//! from the stored nodes (one query) before appending.
//!
//! **One planner.** What an append writes (versions, positions, leaves,
//! Merkle nodes, the checkpoint) is decided by
//! `tocsin_store::append::Planner`, as on SQLite; this crate decides how
//! it is written: locking, buffering, statements.
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
//! **Files**: `writer.rs` (the writer task), `flush.rs` (the buffered
//! statement), `read.rs`, `import.rs`, `schema.rs`, `connect.rs`.
//!
//! **Tests** (`tests/pg.rs`: the store contract of `tocsin_store::testkit`
//! and PostgreSQL's own) need a server: `TOCSIN_TEST_PG`, a URL without a
//! database (default `postgres://postgres@127.0.0.1:5432`); each test
//! creates and drops its own databases.

mod common;
mod connect;
mod flush;
mod import;
mod read;
mod schema;
mod writer;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use sqlx::Connection;
use sqlx::postgres::{PgPool, PgPoolOptions};
use tocsin_domain::{CaseId, CaseNumber};
use tocsin_ledger::{Hash, NodeId, NoteSigner};
use tocsin_store::group::{Job, Reply, Space};
use tocsin_store::{
    Appended, CaseQuery, CaseSummary, Disposal, Doc, DocKind, DocWrite, LeafPage, LedgerHead,
    NewEvents, Page, ProjectionDigest, RawRows, Store, StoreError, StoreMeta, StoredCheckpoint,
    StoredEvent, StreamId,
};
use tokio::sync::{mpsc, oneshot};

use crate::connect::{Target, connect_one, connect_options};
use crate::writer::Writer;

pub use connect::PgOptions;
pub use schema::latest as schema_version;
pub use tocsin_store::InitParams;

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
    space: Arc<Space>,
    /// The checkpoint key, kept for `sign_note` (the writer has its own).
    note_signer: Option<NoteSigner>,
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
        schema::prepare(&mut conn, &t, Some((&init, &signer))).await?;
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
        schema::prepare(&mut conn, &target, None).await?;
        let meta = schema::read_meta(&mut conn).await?;
        let _ = conn.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(opts.acquire_timeout)
            .connect_lazy_with(co);
        let space = Arc::new(Space::default());
        let note_signer = signer.clone();
        let (jobs, writer) = match signer {
            Some(signer) => {
                meta.check_key(&signer)?;
                let max_group = opts.max_group.max(1);
                let (tx, rx) = mpsc::channel::<Job>(4 * max_group);
                let w = Writer {
                    pool: pool.clone(),
                    signer,
                    origin: meta.origin.clone(),
                    deployment: meta.deployment_id.clone(),
                    space: space.clone(),
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
                space,
                note_signer,
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
}

#[async_trait]
impl Store for PostgresStore {
    fn meta(&self) -> &StoreMeta {
        &self.inner.meta
    }

    async fn append(&self, batch: NewEvents) -> Result<Appended, StoreError> {
        if batch.events.is_empty() {
            return Err(StoreError::NothingToAppend);
        }
        self.submit(|reply| Job::Append(Box::new(batch), reply))
            .await
    }

    async fn dispose(&self, disposal: Disposal) -> Result<Appended, StoreError> {
        disposal.positions()?;
        let appended = self
            .submit(|reply| Job::Dispose(Box::new(disposal), reply))
            .await?;
        // The freed tuples' bytes go at the next reuse of their space; a
        // VACUUM (outside any transaction) marks them free now. Best
        // effort: the disposal is committed whatever it says.
        // (The simple protocol: VACUUM runs in no transaction block.)
        if let Err(e) = sqlx::raw_sql("VACUUM ledger")
            .execute(&self.inner.pool)
            .await
        {
            tracing::warn!(error = %e, "VACUUM of the ledger after a disposal failed");
        }
        Ok(appended)
    }

    fn sign_note(&self, text: &str) -> Result<String, StoreError> {
        tocsin_store::sign_note_with(self.inner.note_signer.as_ref(), text)
    }

    async fn read_stream(&self, stream: &StreamId) -> Result<Vec<StoredEvent>, StoreError> {
        read::read_stream(&self.inner.pool, *stream).await
    }

    async fn list_cases(&self, q: &CaseQuery) -> Result<Page<CaseSummary>, StoreError> {
        read::list_cases(&self.inner.pool, q).await
    }

    async fn case_ids_with_prefix(
        &self,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<CaseId>, StoreError> {
        read::case_ids_with_prefix(&self.inner.pool, prefix, limit).await
    }

    async fn case_summary(&self, id: CaseId) -> Result<Option<CaseSummary>, StoreError> {
        read::case_summary(&self.inner.pool, id).await
    }

    async fn case_by_number(&self, n: CaseNumber) -> Result<Option<CaseId>, StoreError> {
        read::case_by_number(&self.inner.pool, n).await
    }

    async fn case_ids(&self) -> Result<Vec<CaseId>, StoreError> {
        read::case_ids(&self.inner.pool).await
    }

    async fn report_number_formats(&self) -> Result<Vec<String>, StoreError> {
        read::report_number_formats(&self.inner.pool).await
    }

    async fn case_gauges(
        &self,
        now: tocsin_domain::Timestamp,
    ) -> Result<tocsin_store::counts::CaseGauges, StoreError> {
        read::case_gauges(&self.inner.pool, now).await
    }

    async fn case_counters(&self) -> Result<std::collections::BTreeMap<String, i64>, StoreError> {
        read::case_counters(&self.inner.pool).await
    }

    async fn unmeasured_cases(&self) -> Result<u64, StoreError> {
        read::unmeasured_cases(&self.inner.pool).await
    }

    async fn ledger_head(&self) -> Result<LedgerHead, StoreError> {
        read::ledger_head(&self.inner.pool).await
    }

    async fn read_leaves(&self, from: u64, limit: u32) -> Result<LeafPage, StoreError> {
        read::read_leaves(&self.inner.pool, from, limit).await
    }

    async fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, StoreError> {
        read::read_nodes(&self.inner.pool, ids).await
    }

    async fn read_level(
        &self,
        level: u8,
        from_index: u64,
        limit: u32,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        read::read_level(&self.inner.pool, level, from_index, limit).await
    }

    async fn read_checkpoints(
        &self,
        from_size: u64,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        read::read_checkpoints(&self.inner.pool, from_size, limit).await
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
        read::projection_digest(&self.inner.pool).await
    }

    async fn get_doc(&self, kind: DocKind, key: &str) -> Result<Option<Doc>, StoreError> {
        read::get_doc(&self.inner.pool, kind, key).await
    }

    async fn list_docs(
        &self,
        kind: DocKind,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<Doc>, StoreError> {
        read::list_docs(&self.inner.pool, kind, after, limit).await
    }

    async fn write_docs(&self, writes: Vec<DocWrite>) -> Result<Vec<u64>, StoreError> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        self.submit(|reply| Job::WriteDocs(writes, reply)).await
    }

    async fn import_raw(&self, rows: RawRows) -> Result<(), StoreError> {
        self.sender()?;
        import::import(&self.inner.pool, rows).await
    }

    fn full_since(&self) -> Option<std::time::Instant> {
        self.inner.space.full_since()
    }

    /// Consistency of what PostgreSQL itself does not check (see
    /// `read::integrity_check`). Empty when all is well.
    async fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        read::integrity_check(&self.inner.pool, schema::latest()).await
    }
}
