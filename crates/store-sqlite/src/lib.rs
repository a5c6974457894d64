//! # tocsin-store-sqlite
//!
//! The embedded default store: one SQLite file in WAL mode with
//! `synchronous=FULL`, so a commit is on disk when it returns.
//!
//! **Writes** go through one writer thread that owns the write connection.
//! Commands queue on a channel; the writer takes everything queued (group
//! commit), runs it in one `BEGIN IMMEDIATE` transaction with a savepoint
//! per command (a refused command does not spoil the others), appends the
//! ledger leaves and Merkle nodes, updates the query tables, signs one
//! checkpoint for the new size, commits, and only then answers each caller.
//! One fsync covers many commands, which is how durable intake reaches
//! thousands of reports per second.
//!
//! The writer re-reads the ledger size inside each transaction and reloads
//! its Merkle frontier if another process appended in between, so two
//! processes on one file (a server and an operator's CLI) stay consistent;
//! `busy_timeout` makes them wait for each other rather than fail.
//!
//! **Reads** use a small pool of connections on blocking threads; WAL lets
//! them run while the writer writes.

mod schema;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};
use tocsin_domain::CaseId;
use tocsin_domain::case::CaseState;
use tocsin_ledger::{Checkpoint, Frontier, Hash, NodeId, NoteSigner, leaf_hash};
use tocsin_store::leaf::{encode, encode_body};
use tocsin_store::{
    Appended, CaseQuery, CaseSummary, Doc, DocExpect, DocKind, DocWrite, LeafPage, LedgerHead,
    NewEvents, Page, ProjectionDigest, RawRows, ReportSummary, Store, StoreError, StoreMeta,
    StoredCheckpoint, StoredEvent, StreamId,
};

pub use schema::APPLICATION_ID;

/// How long a connection waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// The most commands committed together.
const MAX_GROUP: usize = 1024;
/// Reader connections kept open.
const MAX_IDLE_READERS: usize = 8;

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// What `tocsin init` records about a new deployment.
#[derive(Clone, Debug)]
pub struct InitParams {
    pub deployment_id: String,
    pub origin: String,
    pub created_at: String,
}

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

type Reply<T> = tokio::sync::oneshot::Sender<Result<T, StoreError>>;

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

fn open_connection(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let conn =
        Connection::open_with_flags(path, flags).map_err(|e| not_tocsin_or_backend(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
    Ok(conn)
}

fn not_tocsin_or_backend(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::NotTocsin(format!(
            "{} is not a tocsin database: it is not an SQLite file (or it is damaged or encrypted)",
            path.display()
        )),
        Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt(format!("{}: {e}", path.display())),
        Some(ErrorCode::CannotOpen) => {
            StoreError::Backend(format!("cannot open {}: {e}", path.display()))
        }
        _ => backend(e),
    }
}

fn pragma_i64(conn: &Connection, path: &Path, name: &str) -> Result<i64, StoreError> {
    conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
        .map_err(|e| not_tocsin_or_backend(path, e))
}

/// Checks the file is ours, runs migrations, and sets the pragmas.
fn prepare(
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
    if version > schema::latest() {
        return Err(StoreError::TooNew {
            found: version,
            supported: schema::latest(),
        });
    }
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(backend)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "cannot switch {} to WAL mode (got {mode})",
            path.display()
        )));
    }
    conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
        .map_err(backend)?;
    // Durability is not negotiable: check that the setting took.
    let sync: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .map_err(backend)?;
    if sync != 2 {
        return Err(StoreError::Backend(format!(
            "synchronous is {sync}, not FULL (2)"
        )));
    }
    for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        // Another process may have migrated while we waited for the lock.
        let now: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(backend)?;
        if now > i as i64 {
            continue;
        }
        tx.execute_batch(sql).map_err(backend)?;
        tx.execute_batch(&format!(
            "PRAGMA user_version = {}; PRAGMA application_id = {};",
            i + 1,
            APPLICATION_ID
        ))
        .map_err(backend)?;
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
                .map_err(backend)?;
            }
        }
        tx.commit().map_err(backend)?;
    }
    Ok(())
}

fn read_meta(conn: &Connection) -> Result<StoreMeta, StoreError> {
    let get = |k: &str| -> Result<String, StoreError> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
            .optional()
            .map_err(backend)?
            .ok_or_else(|| StoreError::Corrupt(format!("meta.{k} is missing")))
    };
    Ok(StoreMeta {
        deployment_id: get("deployment_id")?,
        origin: get("origin")?,
        verifier_key: get("verifier_key")?,
        created_at: get("created_at")?,
        schema_version: conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(backend)?,
    })
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
        prepare(&mut conn, path, Some(&init))?;
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('verifier_key', ?1)",
            [signer.verifier().to_string()],
        )
        .map_err(backend)?;
        drop(conn);
        Self::open(path, Some(signer))
    }

    /// Opens an existing database. Without a signer the store is read-only
    /// (queries, proofs and verification work; appends are refused).
    pub fn open(path: &Path, signer: Option<NoteSigner>) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing(path.display().to_string()));
        }
        let mut conn = open_connection(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        prepare(&mut conn, path, None)?;
        let meta = read_meta(&conn)?;
        let (jobs, writer) = match signer {
            Some(signer) => {
                let given = signer.verifier().to_string();
                if given != meta.verifier_key {
                    return Err(StoreError::WrongKey {
                        expected: meta.verifier_key,
                        given,
                    });
                }
                let (tx, rx) = sync_channel::<Job>(4 * MAX_GROUP);
                let origin = meta.origin.clone();
                let handle = std::thread::Builder::new()
                    .name("tocsin-sqlite-writer".into())
                    .spawn(move || Writer::new(conn, signer, origin).run(rx))
                    .map_err(|e| {
                        StoreError::Backend(format!("cannot start the writer thread: {e}"))
                    })?;
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
                    let c = open_connection(
                        &inner.path,
                        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    c.execute_batch("PRAGMA query_only=ON;").map_err(backend)?;
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
        .map_err(|e| StoreError::Backend(format!("reader task failed: {e}")))?
    }

    /// Copies the database with SQLite's online backup API: one snapshot,
    /// consistent even while a server (in this process or another) writes.
    /// The copy is made in a single step, under one read transaction: in WAL
    /// mode that does not hold up the writer, and a write by another
    /// process cannot restart it (as it would restart a copy in steps).
    pub async fn backup_to(&self, dest: PathBuf) -> Result<(), StoreError> {
        self.read(move |conn| {
            let mut out = Connection::open(&dest).map_err(|e| {
                StoreError::Backend(format!("cannot create {}: {e}", dest.display()))
            })?;
            let b = rusqlite::backup::Backup::new(conn, &mut out).map_err(backend)?;
            let until = std::time::Instant::now() + BUSY_TIMEOUT;
            loop {
                // -1: every page in this one step.
                match b.step(-1).map_err(backend)? {
                    rusqlite::backup::StepResult::Done => break,
                    rusqlite::backup::StepResult::More => {}
                    _ if std::time::Instant::now() > until => {
                        return Err(StoreError::Backend(
                            "the database stayed locked: the backup could not be taken".into(),
                        ));
                    }
                    _ => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            drop(b);
            out.close().map_err(|(_, e)| backend(e))?;
            Ok(())
        })
        .await
    }

    /// Writes rows copied from another store (see [`Store::import_raw`]) on
    /// a connection of its own, in one `BEGIN IMMEDIATE` transaction (the
    /// writer re-reads the ledger size at its next group, so it continues
    /// from what was imported).
    fn import_blocking(path: &Path, rows: RawRows) -> Result<(), StoreError> {
        let mut conn = open_connection(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
            .map_err(backend)?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        match rows {
            RawRows::Ledger {
                leaves,
                nodes,
                checkpoints,
            } => {
                let size = tx
                    .query_row(
                        "SELECT COALESCE(MAX(position) + 1, 0) FROM ledger",
                        [],
                        |r| r.get::<_, i64>(0),
                    )
                    .map_err(backend)? as u64;
                for (i, row) in leaves.iter().enumerate() {
                    if row.position != size + i as u64 {
                        return Err(StoreError::Conflict {
                            stream: "ledger".into(),
                            expected: row.position,
                            actual: size + i as u64,
                        });
                    }
                }
                let mut ins = tx
                    .prepare_cached("INSERT INTO ledger (position, stream, seq, leaf, leaf_hash) VALUES (?1, ?2, ?3, ?4, ?5)")
                    .map_err(backend)?;
                for row in leaves.iter() {
                    ins.execute(params![
                        row.position as i64,
                        row.stream,
                        row.seq as i64,
                        row.leaf,
                        row.leaf_hash
                    ])
                    .map_err(backend)?;
                }
                drop(ins);
                let mut ins = tx
                    .prepare_cached(
                        "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?1, ?2, ?3)",
                    )
                    .map_err(backend)?;
                for (id, h) in &nodes {
                    ins.execute(params![
                        id.level as i64,
                        id.index as i64,
                        h.as_bytes().as_slice()
                    ])
                    .map_err(backend)?;
                }
                drop(ins);
                let mut ins = tx
                    .prepare_cached("INSERT INTO checkpoints (size, note) VALUES (?1, ?2)")
                    .map_err(backend)?;
                for c in &checkpoints {
                    ins.execute(params![c.size as i64, c.note])
                        .map_err(backend)?;
                }
            }
            RawRows::Cases(cases) => {
                for s in &cases {
                    upsert_case(&tx, s)?;
                }
            }
            RawRows::Docs(docs) => {
                let mut ins = tx
                    .prepare_cached(
                        "INSERT INTO docs (kind, key, version, body) VALUES (?1, ?2, ?3, ?4)",
                    )
                    .map_err(backend)?;
                for d in &docs {
                    ins.execute(params![d.kind.as_str(), d.key, d.version as i64, d.body])
                        .map_err(|e| match e.sqlite_error_code() {
                            Some(ErrorCode::ConstraintViolation) => StoreError::DocConflict {
                                kind: d.kind,
                                key: d.key.clone(),
                            },
                            _ => backend(e),
                        })?;
                }
            }
        }
        tx.commit().map_err(backend)
    }
}

// ---------------------------------------------------------------------------
// The writer.

struct Writer {
    conn: Connection,
    signer: NoteSigner,
    origin: String,
    frontier: Option<Frontier>,
}

struct Pending {
    reply: Job,
    result: Result<Option<Done>, StoreError>,
}

impl Writer {
    fn new(conn: Connection, signer: NoteSigner, origin: String) -> Self {
        Self {
            conn,
            signer,
            origin,
            frontier: None,
        }
    }

    fn run(mut self, rx: Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let mut jobs = vec![first];
            while jobs.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            self.run_group(jobs);
        }
    }

    fn run_group(&mut self, jobs: Vec<Job>) {
        let mut pending: Vec<Pending> = jobs
            .into_iter()
            .map(|j| Pending {
                reply: j,
                result: Ok(None),
            })
            .collect();
        let outcome = self.commit_group(&mut pending);
        for p in pending {
            let result = match (&outcome, p.result) {
                (Err(e), Ok(_)) => Err(StoreError::Backend(format!("commit failed: {e}"))),
                (_, r) => r,
            };
            let missing = || StoreError::Backend("the writer produced no result".into());
            match p.reply {
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

    /// One transaction for the whole group. Returns Err if nothing committed.
    fn commit_group(&mut self, pending: &mut [Pending]) -> Result<(), StoreError> {
        let r = self.try_commit_group(pending);
        if r.is_err() {
            // Nothing was committed: forget the frontier; it is reloaded
            // from the database at the next group.
            self.frontier = None;
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        r
    }

    fn try_commit_group(&mut self, pending: &mut [Pending]) -> Result<(), StoreError> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(backend)?;
        let size: u64 = self
            .conn
            .query_row(
                "SELECT COALESCE(MAX(position) + 1, 0) FROM ledger",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(backend)? as u64;
        let mut frontier = match self.frontier.take() {
            Some(f) if f.size() == size => f,
            _ => load_frontier(&self.conn, size)?,
        };
        let mut appended = false;
        for p in pending.iter_mut() {
            let before = frontier.clone();
            self.conn.execute_batch("SAVEPOINT job").map_err(backend)?;
            let r = match &p.reply {
                Job::Append(batch, _) => {
                    append_one(&self.conn, &mut frontier, batch).map(Done::Appended)
                }
                Job::ReplaceProjections(cases, docs, _) => {
                    replace_projections(&self.conn, cases, docs).map(|_| Done::Replaced)
                }
                Job::WriteDocs(writes, _) => write_docs(&self.conn, writes).map(Done::Written),
            };
            match r {
                Ok(d) => {
                    self.conn.execute_batch("RELEASE job").map_err(backend)?;
                    appended |= matches!(d, Done::Appended(_));
                    p.result = Ok(Some(d));
                }
                Err(e) => {
                    self.conn
                        .execute_batch("ROLLBACK TO job; RELEASE job")
                        .map_err(backend)?;
                    frontier = before;
                    p.result = Err(e);
                }
            }
        }
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
            self.conn
                .execute(
                    "INSERT INTO checkpoints (size, note) VALUES (?1, ?2)",
                    params![cp.size as i64, note],
                )
                .map_err(backend)?;
            for p in pending.iter_mut() {
                if let Ok(Some(Done::Appended(a))) = &mut p.result {
                    a.tree_size = cp.size;
                    a.root = cp.root;
                }
            }
        }
        self.conn.execute_batch("COMMIT").map_err(backend)?;
        self.frontier = Some(frontier);
        Ok(())
    }
}

fn load_frontier(conn: &Connection, size: u64) -> Result<Frontier, StoreError> {
    let ids = Frontier::node_ids(size);
    let mut hashes = Vec::with_capacity(ids.len());
    for id in &ids {
        let h = read_node(conn, *id)?.ok_or_else(|| {
            StoreError::Corrupt(format!(
                "Merkle node (level {}, index {}) is missing",
                id.level, id.index
            ))
        })?;
        hashes.push(h);
    }
    Frontier::from_nodes(size, &hashes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn to_hash(v: Vec<u8>) -> Result<Hash, StoreError> {
    Hash::from_slice(&v).map_err(|e| StoreError::Corrupt(format!("a stored hash is damaged: {e}")))
}

fn read_node(conn: &Connection, id: NodeId) -> Result<Option<Hash>, StoreError> {
    let v: Option<Vec<u8>> = if id.level == 0 {
        conn.prepare_cached("SELECT leaf_hash FROM ledger WHERE position = ?1")
            .map_err(backend)?
            .query_row([id.index as i64], |r| r.get(0))
            .optional()
            .map_err(backend)?
    } else {
        conn.prepare_cached("SELECT hash FROM merkle_nodes WHERE level = ?1 AND idx = ?2")
            .map_err(backend)?
            .query_row(params![id.level as i64, id.index as i64], |r| r.get(0))
            .optional()
            .map_err(backend)?
    };
    v.map(to_hash).transpose()
}

fn append_one(
    conn: &Connection,
    frontier: &mut Frontier,
    batch: &NewEvents,
) -> Result<Appended, StoreError> {
    let stream = batch.stream.to_string();
    let current: u64 = conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM ledger WHERE stream = ?1")
        .map_err(backend)?
        .query_row([&stream], |r| r.get::<_, i64>(0))
        .map_err(backend)? as u64;
    let expected = batch.expected_version.unwrap_or(current);
    if current != expected {
        return Err(StoreError::Conflict {
            stream,
            expected,
            actual: current,
        });
    }
    let first_position = frontier.size();
    let mut insert_leaf = conn
        .prepare_cached("INSERT INTO ledger (position, stream, seq, leaf, leaf_hash) VALUES (?1, ?2, ?3, ?4, ?5)")
        .map_err(backend)?;
    let mut insert_node = conn
        .prepare_cached("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")
        .map_err(backend)?;
    let mut nodes = Vec::with_capacity(8);
    for (i, env) in batch.events.iter().enumerate() {
        let position = frontier.size();
        let seq = expected + i as u64 + 1;
        let leaf = encode(position, &batch.stream, seq, &encode_body(env));
        let lh = leaf_hash(&leaf);
        insert_leaf
            .execute(params![
                position as i64,
                stream,
                seq as i64,
                leaf,
                lh.as_bytes().as_slice()
            ])
            .map_err(backend)?;
        nodes.clear();
        frontier.push(lh, &mut nodes);
        for (id, h) in &nodes {
            insert_node
                .execute(params![
                    id.level as i64,
                    id.index as i64,
                    h.as_bytes().as_slice()
                ])
                .map_err(backend)?;
        }
    }
    if let Some(s) = &batch.summary {
        upsert_case(conn, s)?;
    }
    write_docs(conn, &batch.docs)?;
    Ok(Appended {
        first_position,
        count: batch.events.len() as u64,
        version: expected + batch.events.len() as u64,
        tree_size: 0,
        root: Hash::default(),
    })
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn parse_list(what: &str, s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("stored {what} '{s}': {e}")))
}

fn ts_us(t: tocsin_domain::Timestamp) -> i64 {
    t.as_microsecond()
}

fn upsert_case(conn: &Connection, s: &CaseSummary) -> Result<(), StoreError> {
    let id = s.id.to_string();
    conn.prepare_cached(
        "INSERT INTO cases (id, opened_position, title, state, owner, lead_element, opened_at, updated_at, version,
                            verdict, reassessment_due, next_step, next_due, next_due_us, escalations,
                            levels, compartments, elements, existence_restricted, sweep_at_us)
         VALUES (?1, (SELECT position FROM ledger WHERE stream = 'case/' || ?1 AND seq = 1), ?2, ?3, ?4, ?5, ?6, ?7, ?8,
                 ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
         ON CONFLICT (id) DO UPDATE SET
            title = excluded.title, state = excluded.state, owner = excluded.owner,
            lead_element = excluded.lead_element, opened_at = excluded.opened_at,
            updated_at = excluded.updated_at, version = excluded.version, verdict = excluded.verdict,
            reassessment_due = excluded.reassessment_due, next_step = excluded.next_step,
            next_due = excluded.next_due, next_due_us = excluded.next_due_us,
            escalations = excluded.escalations, levels = excluded.levels,
            compartments = excluded.compartments, elements = excluded.elements,
            existence_restricted = excluded.existence_restricted,
            sweep_at_us = excluded.sweep_at_us",
    )
    .map_err(backend)?
    .execute(params![
        id,
        s.title,
        s.state.as_str(),
        s.owner,
        s.lead_element,
        s.opened_at.to_string(),
        s.updated_at.to_string(),
        s.version as i64,
        s.verdict,
        s.reassessment_due,
        s.next_step,
        s.next_due.map(|t| t.to_string()),
        s.next_due.map(ts_us),
        s.escalations as i64,
        json_list(&s.levels),
        json_list(&s.compartments),
        json_list(&s.elements),
        s.existence_restricted as i64,
        s.sweep_at.map(ts_us),
    ])
    .map_err(|e| match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => {
            StoreError::Corrupt(format!("case {id} has no case_opened event in the ledger"))
        }
        _ => backend(e),
    })?;
    conn.prepare_cached("DELETE FROM reports WHERE case_id = ?1")
        .map_err(backend)?
        .execute([&id])
        .map_err(backend)?;
    let mut ins = conn
        .prepare_cached(
            "INSERT INTO reports (id, case_id, ord, originating_element, received_at, grade, independent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(backend)?;
    for (i, r) in s.reports.iter().enumerate() {
        ins.execute(params![
            r.id.to_string(),
            id,
            i as i64,
            r.originating_element,
            r.received_at.to_string(),
            r.grade,
            r.independent as i64
        ])
        .map_err(backend)?;
    }
    Ok(())
}

fn replace_projections(
    conn: &Connection,
    cases: &[CaseSummary],
    docs: &[Doc],
) -> Result<(), StoreError> {
    conn.execute_batch("DELETE FROM reports; DELETE FROM cases;")
        .map_err(backend)?;
    for s in cases {
        upsert_case(conn, s)?;
    }
    let mut del = conn
        .prepare_cached("DELETE FROM docs WHERE kind = ?1")
        .map_err(backend)?;
    for kind in DocKind::ALL.into_iter().filter(|k| k.derived()) {
        del.execute([kind.as_str()]).map_err(backend)?;
    }
    let mut ins = conn
        .prepare_cached("INSERT INTO docs (kind, key, version, body) VALUES (?1, ?2, ?3, ?4)")
        .map_err(backend)?;
    for d in docs.iter().filter(|d| d.kind.derived()) {
        ins.execute(params![
            d.kind.as_str(),
            d.key,
            d.version.max(1) as i64,
            d.body
        ])
        .map_err(|e| match e.sqlite_error_code() {
            Some(ErrorCode::ConstraintViolation) => StoreError::DocConflict {
                kind: d.kind,
                key: d.key.clone(),
            },
            _ => backend(e),
        })?;
    }
    Ok(())
}

/// Applies document writes inside the caller's transaction; the first
/// failed expectation stops with [`StoreError::DocConflict`] (the caller's
/// savepoint undoes the rest).
fn write_docs(conn: &Connection, writes: &[DocWrite]) -> Result<Vec<u64>, StoreError> {
    let mut out = Vec::with_capacity(writes.len());
    for w in writes {
        let current: Option<i64> = conn
            .prepare_cached("SELECT version FROM docs WHERE kind = ?1 AND key = ?2")
            .map_err(backend)?
            .query_row(params![w.kind.as_str(), w.key], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        let ok = match (w.expect, current) {
            (DocExpect::Any, _) => true,
            (DocExpect::Absent, c) => c.is_none(),
            (DocExpect::Version(v), Some(c)) => c as u64 == v,
            (DocExpect::Version(_), None) => false,
        };
        if !ok {
            return Err(StoreError::DocConflict {
                kind: w.kind,
                key: w.key.clone(),
            });
        }
        match &w.body {
            Some(body) => {
                let version = current.unwrap_or(0) + 1;
                conn.prepare_cached(
                    "INSERT INTO docs (kind, key, version, body) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version, body = excluded.body",
                )
                .map_err(backend)?
                .execute(params![w.kind.as_str(), w.key, version, body])
                .map_err(backend)?;
                out.push(version as u64);
            }
            None => {
                conn.prepare_cached("DELETE FROM docs WHERE kind = ?1 AND key = ?2")
                    .map_err(backend)?
                    .execute(params![w.kind.as_str(), w.key])
                    .map_err(backend)?;
                out.push(0);
            }
        }
    }
    Ok(out)
}

fn row_doc(kind: DocKind, r: &rusqlite::Row<'_>) -> rusqlite::Result<Doc> {
    Ok(Doc {
        kind,
        key: r.get(0)?,
        version: r.get::<_, i64>(1)? as u64,
        body: r.get(2)?,
    })
}

fn derived_docs(conn: &Connection) -> Result<Vec<Doc>, StoreError> {
    let mut out = Vec::new();
    let mut stmt = conn
        .prepare_cached("SELECT key, version, body FROM docs WHERE kind = ?1 ORDER BY key")
        .map_err(backend)?;
    for kind in DocKind::ALL.into_iter().filter(|k| k.derived()) {
        let rows = stmt
            .query_map([kind.as_str()], |r| row_doc(kind, r))
            .map_err(backend)?;
        for r in rows {
            out.push(r.map_err(backend)?);
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Reads.

fn parse<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>()
        .map_err(|e| StoreError::Corrupt(format!("stored {what} '{s}' is invalid: {e}")))
}

/// One row of the `cases` table.
struct SummaryRow {
    id: String,
    title: String,
    state: String,
    owner: String,
    lead_element: String,
    opened_at: String,
    updated_at: String,
    verdict: Option<String>,
    reassessment_due: Option<String>,
    next_step: Option<String>,
    next_due: Option<String>,
    version: i64,
    escalations: i64,
    opened_position: i64,
    levels: String,
    compartments: String,
    elements: String,
    existence_restricted: i64,
    sweep_at_us: Option<i64>,
}

fn row_summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<SummaryRow> {
    Ok(SummaryRow {
        id: r.get(0)?,
        title: r.get(1)?,
        state: r.get(2)?,
        owner: r.get(3)?,
        lead_element: r.get(4)?,
        opened_at: r.get(5)?,
        updated_at: r.get(6)?,
        verdict: r.get(7)?,
        reassessment_due: r.get(8)?,
        next_step: r.get(9)?,
        next_due: r.get(10)?,
        version: r.get(11)?,
        escalations: r.get(12)?,
        opened_position: r.get(13)?,
        levels: r.get(14)?,
        compartments: r.get(15)?,
        elements: r.get(16)?,
        existence_restricted: r.get(17)?,
        sweep_at_us: r.get(18)?,
    })
}

const SUMMARY_COLUMNS: &str = "id, title, state, owner, lead_element, opened_at, updated_at, verdict, reassessment_due, next_step, next_due, version, escalations, opened_position, levels, compartments, elements, existence_restricted, sweep_at_us";

fn build_summary(row: SummaryRow) -> Result<CaseSummary, StoreError> {
    let id = &row.id;
    Ok(CaseSummary {
        id: parse("case id", id)?,
        title: row.title,
        state: CaseState::parse(&row.state).ok_or_else(|| {
            StoreError::Corrupt(format!("case {id}: unknown state {}", row.state))
        })?,
        owner: row.owner,
        lead_element: row.lead_element,
        opened_at: parse("time", &row.opened_at)?,
        updated_at: parse("time", &row.updated_at)?,
        version: row.version as u64,
        verdict: row.verdict,
        reassessment_due: row.reassessment_due,
        next_step: row.next_step,
        next_due: row
            .next_due
            .as_deref()
            .map(|s| parse("time", s))
            .transpose()?,
        escalations: row.escalations as u32,
        reports: vec![],
        levels: parse_list("levels", &row.levels)?,
        compartments: parse_list("compartments", &row.compartments)?,
        elements: parse_list("elements", &row.elements)?,
        existence_restricted: row.existence_restricted != 0,
        sweep_at: row
            .sweep_at_us
            .map(|us| {
                tocsin_domain::Timestamp::from_microsecond(us)
                    .map_err(|e| StoreError::Corrupt(format!("case {id}: sweep time {us}: {e}")))
            })
            .transpose()?,
    })
}

fn attach_reports(conn: &Connection, cases: &mut [CaseSummary]) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, originating_element, received_at, grade, independent FROM reports WHERE case_id = ?1 ORDER BY ord",
        )
        .map_err(backend)?;
    for c in cases.iter_mut() {
        let rows = stmt
            .query_map([c.id.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(backend)?;
        for row in rows {
            let (id, el, at, grade, ind) = row.map_err(backend)?;
            c.reports.push(ReportSummary {
                id: parse("report id", &id)?,
                originating_element: el,
                received_at: parse("time", &at)?,
                grade,
                independent: ind != 0,
            });
        }
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
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
        let sid = stream.to_string();
        let stream = *stream;
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT position, seq, leaf FROM ledger WHERE stream = ?1 ORDER BY seq",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([&sid], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                    ))
                })
                .map_err(backend)?;
            let mut out = Vec::new();
            for row in rows {
                let (position, seq, leaf) = row.map_err(backend)?;
                let (_, envelope) = tocsin_store::leaf::decode(&leaf)
                    .map_err(|e| StoreError::Corrupt(format!("ledger position {position}: {e}")))?;
                out.push(StoredEvent {
                    position: position as u64,
                    stream,
                    seq: seq as u64,
                    envelope,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn list_cases(&self, q: &CaseQuery) -> Result<Page<CaseSummary>, StoreError> {
        let limit = q.effective_limit();
        let state = q.state.map(|s| s.as_str().to_owned());
        let due = q.reassessment_due;
        let open_only = q.open_only;
        let overdue = q.overdue_at.map(ts_us);
        let sweep_due = q.sweep_due_at.map(ts_us);
        let access = q.access.as_ref().map(|a| {
            (
                json_list(&a.levels),
                json_list(&a.compartments),
                a.elements.as_deref().map(json_list),
            )
        });
        let (levels, compartments, elements) = match access {
            Some((l, c, e)) => (Some(l), Some(c), e),
            None => (None, None, None),
        };
        let after: Option<i64> = match &q.after {
            Some(c) => Some(
                c.parse()
                    .map_err(|_| StoreError::Backend(format!("invalid cursor '{c}'")))?,
            ),
            None => None,
        };
        self.read(move |conn| {
            let sql = format!(
                "SELECT {SUMMARY_COLUMNS} FROM cases
                 WHERE (?1 IS NULL OR state = ?1)
                   AND (?6 = 0 OR state <> 'closed')
                   AND (?2 = 0 OR reassessment_due IS NOT NULL)
                   AND (?3 IS NULL OR next_due_us < ?3)
                   AND (?4 IS NULL OR opened_position < ?4)
                   AND (?7 IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(cases.levels)
                        WHERE value NOT IN (SELECT value FROM json_each(?7))))
                   AND (?8 IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(cases.compartments)
                        WHERE value NOT IN (SELECT value FROM json_each(?8))))
                   AND (?9 IS NULL OR EXISTS (SELECT 1 FROM json_each(cases.elements)
                        WHERE value IN (SELECT value FROM json_each(?9))))
                   AND (?10 IS NULL OR sweep_at_us <= ?10)
                 ORDER BY opened_position DESC LIMIT ?5"
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
            let rows = stmt
                .query_map(
                    params![
                        state,
                        due as i64,
                        overdue,
                        after,
                        limit as i64 + 1,
                        open_only as i64,
                        levels,
                        compartments,
                        elements,
                        sweep_due
                    ],
                    row_summary,
                )
                .map_err(backend)?;
            let mut raw = Vec::new();
            for r in rows {
                raw.push(r.map_err(backend)?);
            }
            let next = if raw.len() > limit as usize {
                raw.truncate(limit as usize);
                raw.last().map(|r| r.opened_position.to_string())
            } else {
                None
            };
            let mut items = raw
                .into_iter()
                .map(build_summary)
                .collect::<Result<Vec<_>, _>>()?;
            attach_reports(conn, &mut items)?;
            Ok(Page { items, next })
        })
        .await
    }

    async fn case_ids_with_prefix(
        &self,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<CaseId>, StoreError> {
        let pattern = format!("{}%", prefix.replace(['%', '_'], ""));
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT id FROM cases WHERE id LIKE ?1 ORDER BY id LIMIT ?2")
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![pattern, limit as i64], |r| r.get::<_, String>(0))
                .map_err(backend)?;
            let mut out = Vec::new();
            for r in rows {
                out.push(parse("case id", &r.map_err(backend)?)?);
            }
            Ok(out)
        })
        .await
    }

    async fn case_ids(&self) -> Result<Vec<CaseId>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare("SELECT stream FROM ledger WHERE seq = 1 AND stream LIKE 'case/%' ORDER BY position")
                .map_err(backend)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(backend)?;
            let mut out = Vec::new();
            for r in rows {
                let s = r.map_err(backend)?;
                if let Some(id) = parse::<StreamId>("stream", &s)?.case() {
                    out.push(id);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn ledger_head(&self) -> Result<LedgerHead, StoreError> {
        self.read(move |conn| {
            let size = conn
                .query_row(
                    "SELECT COALESCE(MAX(position) + 1, 0) FROM ledger",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(backend)? as u64;
            let ids = tocsin_ledger::root_at_node_ids(size);
            let mut map = std::collections::HashMap::new();
            for id in ids {
                if let Some(h) = read_node(conn, id)? {
                    map.insert(id, h);
                }
            }
            let root = tocsin_ledger::root_at(size, |id| map.get(&id).copied())
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let checkpoint = conn
                .query_row(
                    "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            Ok(LedgerHead {
                size,
                root,
                checkpoint,
            })
        })
        .await
    }

    async fn read_leaves(&self, from: u64, limit: u32) -> Result<LeafPage, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT position, stream, seq, leaf, leaf_hash FROM ledger
                     WHERE position >= ?1 ORDER BY position LIMIT ?2",
                )
                .map_err(backend)?;
            let mut rows = stmt
                .query(params![from as i64, limit as i64])
                .map_err(backend)?;
            let mut page = LeafPage::with_capacity(limit as usize, limit as usize * 1024);
            while let Some(r) = rows.next().map_err(backend)? {
                let blob = |i: usize| -> Result<&[u8], StoreError> {
                    r.get_ref(i)
                        .map_err(backend)?
                        .as_bytes()
                        .map_err(|e| StoreError::Corrupt(format!("ledger column {i}: {e}")))
                };
                let stream = std::str::from_utf8(blob(1)?)
                    .map_err(|_| StoreError::Corrupt("a ledger stream id is not UTF-8".into()))?;
                page.push(
                    r.get::<_, i64>(0).map_err(backend)? as u64,
                    stream,
                    r.get::<_, i64>(2).map_err(backend)? as u64,
                    blob(3)?,
                    blob(4)?,
                );
            }
            Ok(page)
        })
        .await
    }

    async fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, StoreError> {
        let ids = ids.to_vec();
        self.read(move |conn| ids.iter().map(|id| read_node(conn, *id)).collect())
            .await
    }

    async fn read_level(
        &self,
        level: u8,
        from_index: u64,
        limit: u32,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT idx, hash FROM merkle_nodes WHERE level = ?1 AND idx >= ?2 ORDER BY idx LIMIT ?3")
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![level as i64, from_index as i64, limit as i64], |r| {
                    Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?))
                })
                .map_err(backend)?;
            let mut out = Vec::new();
            for r in rows {
                let (i, h) = r.map_err(backend)?;
                out.push((i, to_hash(h)?));
            }
            Ok(out)
        })
        .await
    }

    async fn read_checkpoints(
        &self,
        from_size: u64,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT size, note FROM checkpoints WHERE size >= ?1 ORDER BY size LIMIT ?2",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![from_size as i64, limit as i64], |r| {
                    Ok(StoredCheckpoint {
                        size: r.get::<_, i64>(0)? as u64,
                        note: r.get(1)?,
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend)
        })
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

    async fn get_doc(&self, kind: DocKind, key: &str) -> Result<Option<Doc>, StoreError> {
        let key = key.to_owned();
        self.read(move |conn| {
            conn.prepare_cached("SELECT key, version, body FROM docs WHERE kind = ?1 AND key = ?2")
                .map_err(backend)?
                .query_row(params![kind.as_str(), key], |r| row_doc(kind, r))
                .optional()
                .map_err(backend)
        })
        .await
    }

    async fn list_docs(
        &self,
        kind: DocKind,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<Doc>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT key, version, body FROM docs WHERE kind = ?1 AND (?2 IS NULL OR key > ?2)
                     ORDER BY key LIMIT ?3",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![kind.as_str(), after, limit as i64], |r| {
                    row_doc(kind, r)
                })
                .map_err(backend)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend)
        })
        .await
    }

    async fn write_docs(&self, writes: Vec<DocWrite>) -> Result<Vec<u64>, StoreError> {
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        self.submit(|reply| Job::WriteDocs(writes, reply)).await
    }

    async fn projection_digest(&self) -> Result<ProjectionDigest, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare(&format!("SELECT {SUMMARY_COLUMNS} FROM cases ORDER BY id"))
                .map_err(backend)?;
            let rows = stmt.query_map([], row_summary).map_err(backend)?;
            let mut items = Vec::new();
            for r in rows {
                items.push(build_summary(r.map_err(backend)?)?);
            }
            attach_reports(conn, &mut items)?;
            let orphans: i64 = conn
                .query_row(
                    "SELECT count(*) FROM reports WHERE case_id NOT IN (SELECT id FROM cases)",
                    [],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            let docs = derived_docs(conn)?;
            let mut d = ProjectionDigest::of(&items, &docs);
            d.reports += orphans as u64;
            if orphans > 0 {
                d.sha256 = format!("{}+{orphans}-orphan-reports", d.sha256);
            }
            Ok(d)
        })
        .await
    }

    async fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare("PRAGMA quick_check").map_err(backend)?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(backend)?;
            let mut out = Vec::new();
            for r in rows {
                let s = r.map_err(backend)?;
                if s != "ok" {
                    out.push(s);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn import_raw(&self, rows: RawRows) -> Result<(), StoreError> {
        self.sender()?;
        let path = self.inner.path.clone();
        tokio::task::spawn_blocking(move || Self::import_blocking(&path, rows))
            .await
            .map_err(|e| StoreError::Backend(format!("import task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tocsin_domain::event::{Event, ReassessmentReason};
    use tocsin_domain::{ActorName, CaseId};
    use tocsin_store::audit::{VerifyOptions, verify};
    use tocsin_store::{AccessFilter, EventEnvelope, NewEvents, Store, StoreError, StreamId};

    use super::*;

    fn signer() -> NoteSigner {
        NoteSigner::from_seed("tocsin-test", [3u8; 32]).unwrap()
    }

    fn create(dir: &tempfile::TempDir) -> SqliteStore {
        SqliteStore::create(
            &dir.path().join("t.db"),
            signer(),
            InitParams {
                deployment_id: "d".into(),
                origin: "tocsin.test/unit".into(),
                created_at: "2024-01-01T00:00:00Z".into(),
            },
        )
        .unwrap()
    }

    fn event(n: u64) -> EventEnvelope {
        EventEnvelope {
            recorded_at: "2024-01-01T00:00:00Z".parse().unwrap(),
            actor: ActorName::new("a").unwrap(),
            event: Event::ReassessmentFlagged {
                reason: ReassessmentReason::NewInformation,
                detail: format!("event {n}"),
            },
        }
    }

    fn batch(stream: StreamId, expected: u64, n: usize) -> NewEvents {
        NewEvents::new(stream, expected, (0..n).map(|i| event(i as u64)).collect())
    }

    fn case(n: u128) -> StreamId {
        StreamId::Case(CaseId::from_uuid(uuid_from(n)))
    }

    fn uuid_from(n: u128) -> tocsin_domain::ids::Uuid {
        tocsin_domain::ids::Uuid::from_u128(n)
    }

    async fn verified(store: &SqliteStore) -> u64 {
        let opts = VerifyOptions {
            verifier: signer().verifier(),
            since: None,
            deep: true,
            progress: None,
        };
        match verify(Arc::new(store.clone()), &opts).await.unwrap() {
            Ok(r) => r.size,
            Err(f) => panic!("{f}"),
        }
    }

    #[tokio::test]
    async fn schema_is_marked_and_versioned() {
        let dir = tempfile::tempdir().unwrap();
        let s = create(&dir);
        assert_eq!(s.meta().schema_version, schema::latest());
        let c = Connection::open(s.path()).unwrap();
        let app: i32 = c
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap();
        assert_eq!(app, APPLICATION_ID);
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[tokio::test]
    async fn a_stale_version_is_a_conflict_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = create(&dir);
        s.append(batch(case(1), 0, 2)).await.unwrap();
        let e = s.append(batch(case(1), 0, 1)).await.unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::Conflict {
                    expected: 0,
                    actual: 2,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(s.ledger_head().await.unwrap().size, 2);
        let a = s.append(batch(case(1), 2, 1)).await.unwrap();
        assert_eq!((a.first_position, a.version, a.tree_size), (2, 3, 3));
        assert_eq!(verified(&s).await, 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_appends_share_commits_and_conflicts_spoil_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = create(&dir);
        let mut set = tokio::task::JoinSet::new();
        for i in 0..200u128 {
            let s = s.clone();
            // Every fifth append claims a wrong version and must fail alone.
            let expected = if i % 5 == 0 { 7 } else { 0 };
            set.spawn(async move { (expected, s.append(batch(case(i), expected, 3)).await) });
        }
        let (mut ok, mut conflicts) = (0, 0);
        while let Some(r) = set.join_next().await {
            match r.unwrap() {
                (0, Ok(_)) => ok += 1,
                (7, Err(StoreError::Conflict { .. })) => conflicts += 1,
                (e, r) => panic!("expected {e}: {r:?}"),
            }
        }
        assert_eq!((ok, conflicts), (160, 40));
        assert_eq!(verified(&s).await, 480);
        let commits: i64 = Connection::open(s.path())
            .unwrap()
            .query_row("SELECT count(*) FROM checkpoints", [], |r| r.get(0))
            .unwrap();
        assert!(commits <= 160, "{commits} commits for 160 appends");
    }

    #[tokio::test]
    async fn two_writers_on_one_file_stay_consistent() {
        // As a server and an operator's CLI would: each reloads the tree when
        // the other appended.
        let dir = tempfile::tempdir().unwrap();
        let a = create(&dir);
        let b = SqliteStore::open(a.path(), Some(signer())).unwrap();
        for i in 0..20u128 {
            let s = if i % 2 == 0 { &a } else { &b };
            s.append(batch(case(i), 0, (i % 3 + 1) as usize))
                .await
                .unwrap();
        }
        assert_eq!(verified(&a).await, 39);
        assert_eq!(verified(&b).await, 39);
    }

    #[tokio::test]
    async fn reopening_continues_the_same_tree() {
        let dir = tempfile::tempdir().unwrap();
        let path = {
            let s = create(&dir);
            s.append(batch(case(1), 0, 5)).await.unwrap();
            s.path().to_owned()
        };
        let s = SqliteStore::open(&path, Some(signer())).unwrap();
        s.append(batch(case(1), 5, 6)).await.unwrap();
        assert_eq!(verified(&s).await, 11);
        // Read-only stores refuse to append.
        let ro = SqliteStore::open(&path, None).unwrap();
        assert!(matches!(
            ro.append(batch(case(2), 0, 1)).await,
            Err(StoreError::ReadOnly)
        ));
        // Another key is refused.
        let other = NoteSigner::from_seed("tocsin-test", [4u8; 32]).unwrap();
        assert!(matches!(
            SqliteStore::open(&path, Some(other)),
            Err(StoreError::WrongKey { .. })
        ));
    }

    #[tokio::test]
    async fn documents_compare_and_set_and_go_with_their_append() {
        let dir = tempfile::tempdir().unwrap();
        let store = create(&dir);
        let put = |expect, body: &str| DocWrite {
            kind: DocKind::User,
            key: "kim".into(),
            expect,
            body: Some(body.as_bytes().to_vec()),
        };
        assert_eq!(
            store
                .write_docs(vec![put(DocExpect::Absent, "1")])
                .await
                .unwrap(),
            vec![1]
        );
        assert!(matches!(
            store.write_docs(vec![put(DocExpect::Absent, "x")]).await,
            Err(StoreError::DocConflict { .. })
        ));
        assert!(matches!(
            store
                .write_docs(vec![put(DocExpect::Version(7), "x")])
                .await,
            Err(StoreError::DocConflict { .. })
        ));
        assert_eq!(
            store
                .write_docs(vec![put(DocExpect::Version(1), "2")])
                .await
                .unwrap(),
            vec![2]
        );
        let d = store.get_doc(DocKind::User, "kim").await.unwrap().unwrap();
        assert_eq!((d.version, d.body.as_slice()), (2, b"2".as_slice()));
        // All or nothing: a failing second write undoes the first.
        let other = DocWrite {
            kind: DocKind::Session,
            key: "s".into(),
            expect: DocExpect::Any,
            body: Some(b"s".to_vec()),
        };
        assert!(
            store
                .write_docs(vec![other.clone(), put(DocExpect::Absent, "3")])
                .await
                .is_err()
        );
        assert!(
            store
                .get_doc(DocKind::Session, "s")
                .await
                .unwrap()
                .is_none()
        );
        // A document conflict fails the append it rides with, and nothing of it is written.
        let mut b = batch(StreamId::Accounts, 0, 1);
        b.docs = vec![put(DocExpect::Absent, "4")];
        assert!(matches!(
            store.append(b).await,
            Err(StoreError::DocConflict { .. })
        ));
        assert_eq!(store.ledger_head().await.unwrap().size, 0);
        let mut b = batch(StreamId::Accounts, 0, 1);
        b.docs = vec![put(DocExpect::Version(2), "5"), other];
        store.append(b).await.unwrap();
        assert_eq!(store.ledger_head().await.unwrap().size, 1);
        assert_eq!(
            store
                .get_doc(DocKind::User, "kim")
                .await
                .unwrap()
                .unwrap()
                .body,
            b"5"
        );
        // Listing is in key order, after a cursor.
        for k in ["b", "a", "c"] {
            store
                .write_docs(vec![DocWrite {
                    kind: DocKind::Token,
                    key: k.into(),
                    expect: DocExpect::Any,
                    body: Some(vec![]),
                }])
                .await
                .unwrap();
        }
        let keys = |v: Vec<Doc>| v.into_iter().map(|d| d.key).collect::<Vec<_>>();
        assert_eq!(
            keys(store.list_docs(DocKind::Token, None, 10).await.unwrap()),
            ["a", "b", "c"]
        );
        assert_eq!(
            keys(
                store
                    .list_docs(DocKind::Token, Some("a".into()), 1)
                    .await
                    .unwrap()
            ),
            ["b"]
        );
        // Deletes.
        store
            .write_docs(vec![DocWrite::delete(DocKind::Token, "b", DocExpect::Any)])
            .await
            .unwrap();
        assert!(store.get_doc(DocKind::Token, "b").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn unversioned_appends_go_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let store = create(&dir);
        let mut handles = Vec::new();
        for _ in 0..20 {
            let s = store.clone();
            handles.push(tokio::spawn(async move {
                let mut b = batch(StreamId::Access, 0, 1);
                b.expected_version = None;
                s.append(b).await.unwrap()
            }));
        }
        let mut versions = Vec::new();
        for h in handles {
            versions.push(h.await.unwrap().version);
        }
        versions.sort();
        assert_eq!(versions, (1..=20).collect::<Vec<_>>());
        assert_eq!(verified(&store).await, 20);
    }

    fn summary(stream: StreamId, levels: &[&str], comps: &[&str], els: &[&str]) -> CaseSummary {
        let t: tocsin_domain::Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        CaseSummary {
            id: stream.case().unwrap(),
            title: "t".into(),
            state: CaseState::AwaitingDetermination,
            owner: "o".into(),
            lead_element: "e".into(),
            opened_at: t,
            updated_at: t,
            version: 1,
            verdict: None,
            reassessment_due: None,
            next_step: None,
            next_due: None,
            escalations: 0,
            reports: vec![],
            levels: v(levels),
            compartments: v(comps),
            elements: v(els),
            existence_restricted: false,
            sweep_at: None,
        }
    }

    #[tokio::test]
    async fn the_access_filter_admits_exactly_what_a_reader_may_see() {
        let dir = tempfile::tempdir().unwrap();
        let store = create(&dir);
        let cases: [(&[&str], &[&str], &[&str]); 4] = [
            (&[], &[], &["ct"]),
            (&["secret"], &[], &["ct"]),
            (&["secret"], &["HCS"], &["ct", "fbi"]),
            (&[], &[], &["fbi"]),
        ];
        for (i, (l, c, e)) in cases.iter().enumerate() {
            let s = case(i as u128 + 1);
            let mut b = batch(s, 0, 1);
            b.summary = Some(summary(s, l, c, e));
            store.append(b).await.unwrap();
        }
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let seen = |f: AccessFilter| {
            let store = store.clone();
            async move {
                let q = CaseQuery {
                    access: Some(f.clone()),
                    ..Default::default()
                };
                let page = store.list_cases(&q).await.unwrap();
                let all = store.list_cases(&CaseQuery::default()).await.unwrap();
                // The database filter and the in-memory test agree.
                let expected: Vec<_> = all
                    .items
                    .iter()
                    .filter(|s| f.admits(s))
                    .map(|s| s.id)
                    .collect();
                let got: Vec<_> = page.items.iter().map(|s| s.id).collect();
                assert_eq!(got, expected);
                got.len()
            }
        };
        let f = |l: &[&str], c: &[&str], e: Option<&[&str]>| AccessFilter {
            levels: v(l),
            compartments: v(c),
            elements: e.map(v),
        };
        assert_eq!(seen(f(&[], &[], Some(&["ct"]))).await, 1);
        assert_eq!(seen(f(&["secret"], &[], Some(&["ct"]))).await, 2);
        assert_eq!(seen(f(&["secret"], &["HCS"], Some(&["ct"]))).await, 3);
        assert_eq!(seen(f(&["secret"], &["HCS"], None)).await, 4);
        assert_eq!(seen(f(&[], &[], Some(&["fbi"]))).await, 1);
        assert_eq!(seen(f(&[], &[], Some(&["nobody"]))).await, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn copy_moves_a_whole_deployment_in_chunks_and_needs_an_empty_target() {
        let dir = tempfile::tempdir().unwrap();
        let a = create(&dir);
        // 4,515 events: more than two chunks of the copy, whose boundaries
        // fall inside perfect subtrees; a summary per case; documents
        // written more than once.
        for round in 0..7u64 {
            for c in 0..43u128 {
                let n = 15;
                let mut b = batch(case(c), round * n as u64, n);
                let mut s = summary(case(c), &["secret"], &[], &["cia"]);
                s.version = (round + 1) * n as u64;
                b.summary = Some(s);
                a.append(b).await.unwrap();
            }
        }
        for i in 0..3 {
            let w = DocWrite::put(DocKind::Session, "s1", DocExpect::Any, &i);
            a.write_docs(vec![w]).await.unwrap();
        }
        a.write_docs(vec![DocWrite::put(
            DocKind::User,
            "kim",
            DocExpect::Absent,
            &"kim",
        )])
        .await
        .unwrap();
        let b = SqliteStore::create(
            &dir.path().join("copy.db"),
            signer(),
            InitParams {
                deployment_id: "d".into(),
                origin: "tocsin.test/unit".into(),
                created_at: "2024-01-01T00:00:00Z".into(),
            },
        )
        .unwrap();
        let seen = std::sync::Mutex::new(Vec::new());
        let progress = |p: tocsin_store::CopyProgress| seen.lock().unwrap().push(p);
        let r = tocsin_store::copy(&a, &b, Some(&progress)).await.unwrap();
        assert_eq!((r.size, r.cases, r.docs), (4515, 43, 2));
        assert_eq!(r.checkpoints, 7 * 43);
        assert_eq!(
            b.ledger_head().await.unwrap(),
            a.ledger_head().await.unwrap()
        );
        assert_eq!(
            b.projection_digest().await.unwrap(),
            a.projection_digest().await.unwrap()
        );
        assert_eq!(
            b.get_doc(DocKind::Session, "s1")
                .await
                .unwrap()
                .unwrap()
                .version,
            3
        );
        assert_eq!(verified(&b).await, 4515);
        let ledger: Vec<_> = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.stage == tocsin_store::CopyStage::Ledger)
            .map(|p| p.done)
            .collect();
        assert_eq!(ledger, vec![0, 2000, 4000, 4515]);
        // The copy goes on where the source would.
        b.append(batch(case(0), 105, 1)).await.unwrap();
        assert_eq!(verified(&b).await, 4516);
        // A target that holds anything is refused.
        let c = SqliteStore::create(
            &dir.path().join("third.db"),
            signer(),
            InitParams {
                deployment_id: "d".into(),
                origin: "tocsin.test/unit".into(),
                created_at: "2024-01-01T00:00:00Z".into(),
            },
        )
        .unwrap();
        c.write_docs(vec![DocWrite::put(
            DocKind::Setting,
            "x",
            DocExpect::Absent,
            &1,
        )])
        .await
        .unwrap();
        let e = tocsin_store::copy(&a, &c, None).await.unwrap_err();
        assert!(
            matches!(e, tocsin_store::CopyError::TargetNotEmpty(_)),
            "{e}"
        );
        let e = tocsin_store::copy(&a, &b, None).await.unwrap_err();
        assert!(e.to_string().contains("ledger holds 4516 events"), "{e}");
    }
}
