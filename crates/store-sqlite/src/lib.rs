//! # tocsin-store-sqlite
//!
//! The embedded default store: one SQLite file in WAL mode with
//! `synchronous=FULL`, so a commit is on disk when it returns.
//!
//! **Writes** go through one writer thread that owns the write connection
//! (`writer.rs`). Commands queue on a channel; the writer takes the write
//! lock and everything queued by then (group commit), runs it in one
//! `BEGIN IMMEDIATE` transaction with a savepoint per command (a refused
//! command does not spoil the others), writes the ledger rows that
//! `tocsin_store::append::Planner` plans, updates the query tables, signs
//! one checkpoint for the new size, commits, and only then answers each
//! caller. One fsync covers many commands, which is how durable intake
//! reaches thousands of reports per second.
//!
//! The writer re-reads the ledger size inside each transaction and reloads
//! its Merkle frontier if another process appended in between, so two
//! processes on one file (a server and an operator's CLI) stay consistent;
//! `busy_timeout` makes them wait for each other rather than fail.
//!
//! **Reads** (`read.rs`) use a small pool of connections on blocking
//! threads; WAL lets them run while the writer writes. Imports and the
//! online backup are in `import.rs`, the schema and its migrations in
//! `schema.rs`.

mod common;
mod import;
mod read;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags};
use tocsin_domain::{CaseId, CaseNumber};
use tocsin_ledger::{Hash, NodeId, NoteSigner};
use tocsin_store::group::{Job, Reply, Space};
use tocsin_store::{
    Appended, CaseQuery, CaseSummary, Disposal, Doc, DocKind, DocWrite, LeafPage, LedgerHead,
    NewEvents, Page, ProjectionDigest, RawRows, Store, StoreError, StoreMeta, StoredCheckpoint,
    StoredEvent, StreamId,
};

use crate::common::{open_connection, open_read_write, sql};
use crate::writer::{MAX_GROUP, Writer};

pub use schema::APPLICATION_ID;
pub use tocsin_store::InitParams;

/// Reader connections kept open.
const MAX_IDLE_READERS: usize = 8;

/// A tocsin database in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    meta: StoreMeta,
    jobs: Mutex<Option<SyncSender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    space: Arc<Space>,
    /// The checkpoint key, kept for `sign_note` (the writer has its own).
    note_signer: Option<NoteSigner>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel lets the writer finish what is queued and stop.
        if let Ok(mut j) = self.jobs.lock() {
            j.take();
        }
        if let Ok(mut w) = self.writer.lock()
            && let Some(h) = w.take()
        {
            let _ = h.join();
        }
    }
}

/// A task of the store's own that did not finish (it panicked or was
/// cancelled).
fn task_failed(what: &'static str) -> impl FnOnce(tokio::task::JoinError) -> StoreError {
    move |e| StoreError::backend(what, e)
}

impl SqliteStore {
    /// Creates a new database at `path` (which must not exist or be empty)
    /// for the deployment signing with `signer`.
    pub fn create(path: &Path, signer: NoteSigner, init: InitParams) -> Result<Self, StoreError> {
        if path.exists()
            && std::fs::metadata(path)
                .map(|m| m.len() > 0)
                .unwrap_or(false)
        {
            return Err(StoreError::NotTocsin(format!(
                "{} already exists; refusing to initialise over it",
                path.display()
            )));
        }
        let mut conn = open_connection(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        schema::prepare(&mut conn, path, Some(&init))?;
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('verifier_key', ?1)",
            [signer.verifier().to_string()],
        )
        .map_err(sql)?;
        drop(conn);
        Self::open(path, Some(signer))
    }

    /// Opens an existing database. Without a signer the store is read-only
    /// (queries, proofs and verification work; appends are refused).
    pub fn open(path: &Path, signer: Option<NoteSigner>) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing(path.display().to_string()));
        }
        let mut conn = open_read_write(path)?;
        schema::prepare(&mut conn, path, None)?;
        // What a disposal frees is overwritten with zeros, so the content
        // leaves the file (the WAL keeps it until its next checkpoint).
        conn.pragma_update(None, "secure_delete", true)
            .map_err(sql)?;
        let meta = schema::read_meta(&conn)?;
        let space = Arc::new(Space::default());
        let note_signer = signer.clone();
        let (jobs, writer) = match signer {
            Some(signer) => {
                meta.check_key(&signer)?;
                let (tx, rx) = sync_channel::<Job>(4 * MAX_GROUP);
                let origin = meta.origin.clone();
                let deployment = meta.deployment_id.clone();
                let space = space.clone();
                let handle = std::thread::Builder::new()
                    .name("tocsin-sqlite-writer".into())
                    .spawn(move || Writer::new(conn, signer, origin, deployment, space).run(rx))
                    .map_err(|e| StoreError::backend("cannot start the writer thread", e))?;
                (Some(tx), Some(handle))
            }
            None => (None, None),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                meta,
                jobs: Mutex::new(jobs),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                space,
                note_signer,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn sender(&self) -> Result<SyncSender<Job>, StoreError> {
        self.inner
            .jobs
            .lock()
            .map_err(|_| StoreError::Closed)?
            .clone()
            .ok_or(StoreError::ReadOnly)
    }

    async fn submit<T>(&self, make: impl FnOnce(Reply<T>) -> Job) -> Result<T, StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sender = self.sender()?;
        let job = make(tx);
        // The channel is bounded: when the writer is far behind, wait on a
        // blocking thread rather than stall the async runtime.
        match sender.try_send(job) {
            Ok(()) => {}
            Err(std::sync::mpsc::TrySendError::Full(job)) => {
                tokio::task::spawn_blocking(move || sender.send(job).map_err(|_| ()))
                    .await
                    .map_err(|_| StoreError::Closed)?
                    .map_err(|_| StoreError::Closed)?;
            }
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => return Err(StoreError::Closed),
        }
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` with a reader connection on a blocking thread.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = match inner.readers.lock().map_err(|_| StoreError::Closed)?.pop() {
                Some(c) => c,
                None => {
                    let c = open_read_write(&inner.path)?;
                    c.execute_batch("PRAGMA query_only=ON;").map_err(sql)?;
                    c
                }
            };
            let out = f(&conn);
            if let Ok(mut pool) = inner.readers.lock()
                && pool.len() < MAX_IDLE_READERS
            {
                pool.push(conn);
            }
            out
        })
        .await
        .map_err(task_failed("a reader task failed"))?
    }

    /// Copies the database to `dest` with SQLite's online backup API: one
    /// snapshot, consistent even while a server (in this process or
    /// another) writes (see `import.rs`).
    pub async fn backup_to(&self, dest: PathBuf) -> Result<(), StoreError> {
        self.read(move |conn| import::backup(conn, &dest)).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn meta(&self) -> &StoreMeta {
        &self.inner.meta
    }

    fn sign_note(&self, text: &str) -> Result<String, StoreError> {
        tocsin_store::sign_note_with(self.inner.note_signer.as_ref(), text)
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
        self.submit(|reply| Job::Dispose(Box::new(disposal), reply))
            .await
    }

    async fn read_stream(&self, stream: &StreamId) -> Result<Vec<StoredEvent>, StoreError> {
        let stream = *stream;
        self.read(move |conn| read::read_stream(conn, stream)).await
    }

    async fn list_cases(&self, q: &CaseQuery) -> Result<Page<CaseSummary>, StoreError> {
        let q = q.clone();
        self.read(move |conn| read::list_cases(conn, &q)).await
    }

    async fn case_ids_with_prefix(
        &self,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<CaseId>, StoreError> {
        let prefix = prefix.to_owned();
        self.read(move |conn| read::case_ids_with_prefix(conn, &prefix, limit))
            .await
    }

    async fn case_summary(&self, id: CaseId) -> Result<Option<CaseSummary>, StoreError> {
        self.read(move |conn| read::case_summary(conn, id)).await
    }

    async fn case_by_number(&self, n: CaseNumber) -> Result<Option<CaseId>, StoreError> {
        self.read(move |conn| read::case_by_number(conn, n)).await
    }

    async fn case_ids(&self) -> Result<Vec<CaseId>, StoreError> {
        self.read(read::case_ids).await
    }

    async fn report_number_formats(&self) -> Result<Vec<String>, StoreError> {
        self.read(read::report_number_formats).await
    }

    async fn case_gauges(
        &self,
        now: tocsin_domain::Timestamp,
    ) -> Result<tocsin_store::counts::CaseGauges, StoreError> {
        self.read(move |conn| read::case_gauges(conn, now)).await
    }

    async fn case_counters(&self) -> Result<std::collections::BTreeMap<String, i64>, StoreError> {
        self.read(read::case_counters).await
    }

    async fn unmeasured_cases(&self) -> Result<u64, StoreError> {
        self.read(read::unmeasured_cases).await
    }

    async fn ledger_head(&self) -> Result<LedgerHead, StoreError> {
        self.read(read::ledger_head).await
    }

    async fn read_leaves(&self, from: u64, limit: u32) -> Result<LeafPage, StoreError> {
        self.read(move |conn| read::read_leaves(conn, from, limit))
            .await
    }

    async fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, StoreError> {
        let ids = ids.to_vec();
        self.read(move |conn| read::read_nodes(conn, &ids)).await
    }

    async fn read_level(
        &self,
        level: u8,
        from_index: u64,
        limit: u32,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        self.read(move |conn| read::read_level(conn, level, from_index, limit))
            .await
    }

    async fn read_checkpoints(
        &self,
        from_size: u64,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.read(move |conn| read::read_checkpoints(conn, from_size, limit))
            .await
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
        self.read(read::projection_digest).await
    }

    async fn get_doc(&self, kind: DocKind, key: &str) -> Result<Option<Doc>, StoreError> {
        let key = key.to_owned();
        self.read(move |conn| read::get_doc(conn, kind, &key)).await
    }

    async fn list_docs(
        &self,
        kind: DocKind,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<Doc>, StoreError> {
        self.read(move |conn| read::list_docs(conn, kind, after.as_deref(), limit))
            .await
    }

    async fn write_docs(&self, writes: Vec<DocWrite>) -> Result<Vec<u64>, StoreError> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        self.submit(|reply| Job::WriteDocs(writes, reply)).await
    }

    async fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        self.read(read::integrity_check).await
    }

    fn full_since(&self) -> Option<std::time::Instant> {
        self.inner.space.full_since()
    }

    async fn import_raw(&self, rows: RawRows) -> Result<(), StoreError> {
        self.sender()?;
        let path = self.inner.path.clone();
        tokio::task::spawn_blocking(move || import::import(&path, rows))
            .await
            .map_err(task_failed("the import task failed"))?
    }
}

#[cfg(test)]
mod tests;
