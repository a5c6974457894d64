//! Shared test scaffolding.
//!
//! **The backend** is chosen by `TOCSIN_TEST_BACKEND`: `sqlite` (the
//! default: a fresh file in a temporary directory per deployment) or
//! `postgres` (a fresh database per deployment on the server
//! `TOCSIN_TEST_PG`, default `postgres://postgres@127.0.0.1:5432`,
//! dropped `WITH (FORCE)` when the deployment is dropped, also when the
//! test fails). Every test runs on whichever is chosen; `scripts/test`
//! runs the suite once per backend. [`Sql`] looks underneath either store
//! with the same SQL.

use std::cell::RefCell;
use std::ffi::OsString;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tempfile::TempDir;
use tocsin::app::{self, Db, Paths};
use tocsin_domain::{LoadedPolicy, Timestamp};
use tocsin_service::{ManualClock, Service};
use tocsin_store::Store;

// ---------------------------------------------------------------------------
// Backends.

/// Where a test's deployment keeps its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend of this test run (`TOCSIN_TEST_BACKEND`).
    pub fn current() -> Backend {
        match std::env::var("TOCSIN_TEST_BACKEND").as_deref() {
            Ok("postgres") | Ok("postgresql") | Ok("pg") => Backend::Postgres,
            Ok("sqlite") | Ok("") | Err(_) => Backend::Sqlite,
            Ok(other) => panic!("TOCSIN_TEST_BACKEND={other}: give sqlite or postgres"),
        }
    }

    pub fn other(self) -> Backend {
        match self {
            Backend::Sqlite => Backend::Postgres,
            Backend::Postgres => Backend::Sqlite,
        }
    }
}

/// The PostgreSQL server for tests (a URL without a database).
pub fn pg_server() -> String {
    std::env::var("TOCSIN_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
        .trim_end_matches('/')
        .to_owned()
}

/// Runs `f` on a thread of its own with a runtime of its own (so it can
/// be called from inside or outside a runtime).
fn on_own_runtime<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f)
    })
    .join()
    .expect("thread")
}

static PG_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A PostgreSQL database made for one test and dropped after it.
pub struct PgDb {
    pub name: String,
    pub url: String,
}

impl PgDb {
    pub fn new() -> PgDb {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "tocsin_it_{}_{}_{nanos}",
            std::process::id(),
            PG_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let sql = format!("CREATE DATABASE \"{name}\"");
        let r = on_own_runtime(async move {
            use sqlx::Connection;
            let mut admin =
                sqlx::PgConnection::connect(&format!("{}/postgres", pg_server())).await?;
            sqlx::query(&sql).execute(&mut admin).await?;
            admin.close().await
        });
        if let Err(e) = r {
            panic!(
                "TOCSIN_TEST_BACKEND=postgres needs a PostgreSQL server at {} (set TOCSIN_TEST_PG): {e}",
                pg_server()
            );
        }
        let url = format!("{}/{name}", pg_server());
        PgDb { name, url }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let r = on_own_runtime(async move {
            use sqlx::Connection;
            let mut admin =
                sqlx::PgConnection::connect(&format!("{}/postgres", pg_server())).await?;
            sqlx::query(&sql).execute(&mut admin).await?;
            admin.close().await
        });
        if let Err(e) = r {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

// ---------------------------------------------------------------------------
// Deployments.

/// A fresh deployment: a database (of the test run's backend) and its
/// signing key in a temporary directory.
pub struct Deployment {
    pub backend: Backend,
    pub paths: Paths,
    /// Runs the PostgreSQL stores handed out by [`Deployment::service`]:
    /// their connections belong to it, whichever runtime calls them.
    rt: Mutex<Option<tokio::runtime::Runtime>>,
    pg: Option<PgDb>,
    pub dir: TempDir,
    /// Whether the ledger is checked with `--deep` when the test ends.
    deep_check: std::sync::atomic::AtomicBool,
}

impl Drop for Deployment {
    fn drop(&mut self) {
        if self.deep_check.load(Ordering::Relaxed) && !std::thread::panicking() {
            self.verify_deep();
        }
        if let Some(rt) = self.rt.lock().ok().and_then(|mut r| r.take()) {
            rt.shutdown_background();
        }
    }
}

impl Deployment {
    /// An initialised deployment on the test run's backend.
    pub fn new() -> Self {
        Self::new_on(Backend::current())
    }

    pub fn new_on(backend: Backend) -> Self {
        let d = Self::empty_on(backend);
        let paths = d.paths.clone();
        on_own_runtime(async move { app::init(&paths, Some("tocsin.test/it".into())).await })
            .expect("init");
        d
    }

    /// An initialised SQLite deployment whose database (and key) are in
    /// `dir`: a file system the test controls, such as a small tmpfs.
    pub fn sqlite_in(dir: &Path) -> Self {
        let mut d = Self::empty_on(Backend::Sqlite);
        d.paths = Paths::new(dir.join("tocsin.db"), None);
        let paths = d.paths.clone();
        on_own_runtime(async move { app::init(&paths, Some("tocsin.test/it".into())).await })
            .expect("init");
        d
    }

    /// A deployment with no database yet (for PostgreSQL: an empty one).
    pub fn empty() -> Self {
        Self::empty_on(Backend::current())
    }

    pub fn empty_on(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (paths, pg) = match backend {
            Backend::Sqlite => (Paths::new(dir.path().join("tocsin.db"), None), None),
            Backend::Postgres => {
                let pg = PgDb::new();
                (
                    Paths::new(
                        Db::Postgres(pg.url.clone()),
                        Some(dir.path().join("tocsin.key")),
                    ),
                    Some(pg),
                )
            }
        };
        Self {
            backend,
            paths,
            rt: Mutex::new(None),
            pg,
            dir,
            deep_check: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// The test edits the database underneath the store on purpose (or
    /// runs under another policy): no `--deep` check when it ends.
    pub fn tampered(&self) {
        self.deep_check.store(false, Ordering::Relaxed);
    }

    /// What `tocsin audit verify --deep` checks beyond the ledger's
    /// integrity holds on this deployment's ledger: every clean ledger of
    /// the suite passes it when its test ends (see [`Drop`]).
    pub fn verify_deep(&self) {
        let paths = self.paths.clone();
        let check = async move {
            let store = match app::open_read(&paths).await {
                Ok(s) => s,
                // Never initialised, or dropped by the test: nothing to check.
                Err(_) => return Ok(None),
            };
            let svc = Service::new(
                store,
                Arc::new(LoadedPolicy::builtin()),
                Arc::new(ManualClock::new(
                    "2000-01-01T00:00:00Z".parse::<Timestamp>().expect("time"),
                )),
            );
            svc.verify_deep().await.map(Some)
        };
        let found = on_own_runtime(check);
        match found {
            Ok(Some(Err(d))) => panic!("audit verify --deep fails on this test's ledger: {d}"),
            Ok(_) => {}
            Err(e) => panic!("audit verify --deep cannot read this test's ledger: {e}"),
        }
    }

    /// The SQLite file (SQLite deployments only).
    pub fn sqlite_path(&self) -> &Path {
        self.paths.db.sqlite_path().expect("an SQLite deployment")
    }

    /// The PostgreSQL database (PostgreSQL deployments only).
    pub fn pg(&self) -> &PgDb {
        self.pg.as_ref().expect("a PostgreSQL deployment")
    }

    /// `--db` for this deployment: the file, or the URL.
    pub fn db_arg(&self) -> OsString {
        match &self.paths.db {
            Db::Sqlite(p) => p.clone().into_os_string(),
            Db::Postgres(url) => url.into(),
        }
    }

    pub fn key(&self) -> &Path {
        self.paths.key.as_deref().expect("a key path")
    }

    /// The tocsin binary, pointed at this deployment.
    pub fn tocsin(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tocsin"));
        c.env("TOCSIN_DB", self.db_arg())
            .env("TOCSIN_KEY", self.key())
            .env_remove("TOCSIN_SERVER")
            .env_remove("TOCSIN_TOKEN")
            .env_remove("TOCSIN_NOW")
            .env_remove("TOCSIN_POLICY")
            .env("TOCSIN_CONFIG_DIR", self.dir.path().join("config"))
            .current_dir(self.dir.path());
        c
    }

    /// Runs the binary with `args`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.tocsin().args(args).output().expect("run tocsin")
    }

    fn runtime(&self) -> tokio::runtime::Handle {
        let mut rt = self.rt.lock().expect("runtime lock");
        rt.get_or_insert_with(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime")
        })
        .handle()
        .clone()
    }

    /// The store opened for writing, usable from any runtime.
    pub fn store(&self) -> Arc<dyn Store> {
        let paths = self.paths.clone();
        match self.backend {
            Backend::Sqlite => {
                on_own_runtime(async move { app::open_write(&paths).await }).expect("open")
            }
            Backend::Postgres => {
                let rt = self.runtime();
                let h = rt.clone();
                let store = std::thread::spawn(move || h.block_on(app::open_write(&paths)))
                    .join()
                    .expect("thread")
                    .expect("open");
                Arc::new(Pinned { inner: store, rt })
            }
        }
    }

    /// An in-process service on this deployment with a manual clock.
    pub fn service(&self, now: &str) -> (Service, Arc<ManualClock>, Arc<dyn Store>) {
        let store = self.store();
        let clock = Arc::new(ManualClock::new(now.parse::<Timestamp>().expect("time")));
        let svc = Service::new(
            store.clone(),
            Arc::new(LoadedPolicy::builtin()),
            clock.clone(),
        );
        (svc, clock, store)
    }

    pub fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).expect("write");
        p
    }

    /// A direct connection to the database underneath the store.
    pub fn sql(&self) -> Sql {
        match &self.paths.db {
            Db::Sqlite(p) => Sql::Sqlite(rusqlite::Connection::open(p).expect("open")),
            Db::Postgres(url) => {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                let conn = rt
                    .block_on(<sqlx::PgConnection as sqlx::Connection>::connect(url))
                    .expect("connect");
                Sql::Pg {
                    rt,
                    conn: RefCell::new(conn),
                }
            }
        }
    }

    /// Number of rows in the ledger, read directly.
    pub fn ledger_size(&self) -> i64 {
        self.sql().i64("SELECT count(*) FROM ledger", &[])
    }
}

// ---------------------------------------------------------------------------
// A store pinned to one runtime.

/// A store whose every call runs on the runtime its connections belong to
/// (a PostgreSQL pool's sockets die with the runtime that opened them;
/// tests call stores from short-lived runtimes of their own).
struct Pinned {
    inner: Arc<dyn Store>,
    rt: tokio::runtime::Handle,
}

impl Pinned {
    async fn run<T, F>(
        &self,
        f: impl FnOnce(Arc<dyn Store>) -> F,
    ) -> Result<T, tocsin_store::StoreError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, tocsin_store::StoreError>> + Send + 'static,
    {
        self.rt
            .spawn(f(self.inner.clone()))
            .await
            .map_err(|e| tocsin_store::StoreError::backend("the store task failed", e))?
    }
}

#[async_trait::async_trait]
impl Store for Pinned {
    fn meta(&self) -> &tocsin_store::StoreMeta {
        self.inner.meta()
    }
    async fn append(
        &self,
        batch: tocsin_store::NewEvents,
    ) -> Result<tocsin_store::Appended, tocsin_store::StoreError> {
        self.run(|s| async move { s.append(batch).await }).await
    }
    async fn dispose(
        &self,
        d: tocsin_store::Disposal,
    ) -> Result<tocsin_store::Appended, tocsin_store::StoreError> {
        self.run(|s| async move { s.dispose(d).await }).await
    }
    async fn read_stream(
        &self,
        stream: &tocsin_store::StreamId,
    ) -> Result<Vec<tocsin_store::StoredEvent>, tocsin_store::StoreError> {
        let stream = *stream;
        self.run(move |s| async move { s.read_stream(&stream).await })
            .await
    }
    async fn list_cases(
        &self,
        query: &tocsin_store::CaseQuery,
    ) -> Result<tocsin_store::Page<tocsin_store::CaseSummary>, tocsin_store::StoreError> {
        let q = query.clone();
        self.run(move |s| async move { s.list_cases(&q).await })
            .await
    }
    async fn case_ids_with_prefix(
        &self,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<tocsin_domain::CaseId>, tocsin_store::StoreError> {
        let p = prefix.to_owned();
        self.run(move |s| async move { s.case_ids_with_prefix(&p, limit).await })
            .await
    }
    async fn case_ids(&self) -> Result<Vec<tocsin_domain::CaseId>, tocsin_store::StoreError> {
        self.run(|s| async move { s.case_ids().await }).await
    }
    async fn report_number_formats(&self) -> Result<Vec<String>, tocsin_store::StoreError> {
        self.run(|s| async move { s.report_number_formats().await })
            .await
    }
    async fn case_gauges(
        &self,
        now: tocsin_domain::Timestamp,
    ) -> Result<tocsin_store::counts::CaseGauges, tocsin_store::StoreError> {
        self.run(move |s| async move { s.case_gauges(now).await })
            .await
    }
    async fn case_counters(
        &self,
    ) -> Result<std::collections::BTreeMap<String, i64>, tocsin_store::StoreError> {
        self.run(|s| async move { s.case_counters().await }).await
    }
    async fn unmeasured_cases(&self) -> Result<u64, tocsin_store::StoreError> {
        self.run(|s| async move { s.unmeasured_cases().await })
            .await
    }
    async fn case_summary(
        &self,
        id: tocsin_domain::CaseId,
    ) -> Result<Option<tocsin_store::CaseSummary>, tocsin_store::StoreError> {
        self.run(move |s| async move { s.case_summary(id).await })
            .await
    }
    async fn case_by_number(
        &self,
        n: tocsin_domain::CaseNumber,
    ) -> Result<Option<tocsin_domain::CaseId>, tocsin_store::StoreError> {
        self.run(move |s| async move { s.case_by_number(n).await })
            .await
    }
    async fn ledger_head(&self) -> Result<tocsin_store::LedgerHead, tocsin_store::StoreError> {
        self.run(|s| async move { s.ledger_head().await }).await
    }
    async fn read_leaves(
        &self,
        from: u64,
        limit: u32,
    ) -> Result<tocsin_store::LeafPage, tocsin_store::StoreError> {
        self.run(move |s| async move { s.read_leaves(from, limit).await })
            .await
    }
    async fn read_nodes(
        &self,
        ids: &[tocsin_ledger::NodeId],
    ) -> Result<Vec<Option<tocsin_ledger::Hash>>, tocsin_store::StoreError> {
        let ids = ids.to_vec();
        self.run(move |s| async move { s.read_nodes(&ids).await })
            .await
    }
    async fn read_level(
        &self,
        level: u8,
        from_index: u64,
        limit: u32,
    ) -> Result<Vec<(u64, tocsin_ledger::Hash)>, tocsin_store::StoreError> {
        self.run(move |s| async move { s.read_level(level, from_index, limit).await })
            .await
    }
    async fn read_checkpoints(
        &self,
        from_size: u64,
        limit: u32,
    ) -> Result<Vec<tocsin_store::StoredCheckpoint>, tocsin_store::StoreError> {
        self.run(move |s| async move { s.read_checkpoints(from_size, limit).await })
            .await
    }
    async fn replace_projections(
        &self,
        cases: Vec<tocsin_store::CaseSummary>,
        docs: Vec<tocsin_store::Doc>,
    ) -> Result<(), tocsin_store::StoreError> {
        self.run(move |s| async move { s.replace_projections(cases, docs).await })
            .await
    }
    async fn projection_digest(
        &self,
    ) -> Result<tocsin_store::ProjectionDigest, tocsin_store::StoreError> {
        self.run(|s| async move { s.projection_digest().await })
            .await
    }
    async fn get_doc(
        &self,
        kind: tocsin_store::DocKind,
        key: &str,
    ) -> Result<Option<tocsin_store::Doc>, tocsin_store::StoreError> {
        let key = key.to_owned();
        self.run(move |s| async move { s.get_doc(kind, &key).await })
            .await
    }
    async fn list_docs(
        &self,
        kind: tocsin_store::DocKind,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<tocsin_store::Doc>, tocsin_store::StoreError> {
        self.run(move |s| async move { s.list_docs(kind, after, limit).await })
            .await
    }
    async fn write_docs(
        &self,
        writes: Vec<tocsin_store::DocWrite>,
    ) -> Result<Vec<u64>, tocsin_store::StoreError> {
        self.run(move |s| async move { s.write_docs(writes).await })
            .await
    }
    async fn integrity_check(&self) -> Result<Vec<String>, tocsin_store::StoreError> {
        self.run(|s| async move { s.integrity_check().await }).await
    }
    async fn import_raw(
        &self,
        rows: tocsin_store::RawRows,
    ) -> Result<(), tocsin_store::StoreError> {
        self.run(move |s| async move { s.import_raw(rows).await })
            .await
    }

    fn full_since(&self) -> Option<std::time::Instant> {
        self.inner.full_since()
    }
}

// ---------------------------------------------------------------------------
// SQL underneath the store.

/// A value in or out of [`Sql`].
#[derive(Clone, Debug, PartialEq)]
pub enum V {
    I(i64),
    T(String),
    B(Vec<u8>),
    Null,
}

impl V {
    #[track_caller]
    pub fn i(&self) -> i64 {
        match self {
            V::I(v) => *v,
            other => panic!("not an integer: {other:?}"),
        }
    }
    #[track_caller]
    pub fn t(&self) -> String {
        match self {
            V::T(v) => v.clone(),
            other => panic!("not text: {other:?}"),
        }
    }
    #[track_caller]
    pub fn b(&self) -> Vec<u8> {
        match self {
            V::B(v) => v.clone(),
            other => panic!("not bytes: {other:?}"),
        }
    }
}

impl From<i64> for V {
    fn from(v: i64) -> V {
        V::I(v)
    }
}
impl From<&str> for V {
    fn from(v: &str) -> V {
        V::T(v.to_owned())
    }
}
impl From<String> for V {
    fn from(v: String) -> V {
        V::T(v)
    }
}
impl From<&String> for V {
    fn from(v: &String) -> V {
        V::T(v.clone())
    }
}
impl From<Vec<u8>> for V {
    fn from(v: Vec<u8>) -> V {
        V::B(v)
    }
}
impl From<&[u8]> for V {
    fn from(v: &[u8]) -> V {
        V::B(v.to_vec())
    }
}
impl From<&Vec<u8>> for V {
    fn from(v: &Vec<u8>) -> V {
        V::B(v.clone())
    }
}

/// Parameters for [`Sql`]: `p![a, b]`.
#[macro_export]
macro_rules! p {
    ($($x:expr),* $(,)?) => { &[$($crate::support::V::from($x)),*] };
}

/// A direct connection to a deployment's database, for looking at or
/// tampering with what the store wrote. Statements use SQLite's `?N`
/// placeholders (turned into `$N` for PostgreSQL) and SQL both accept.
pub enum Sql {
    Sqlite(rusqlite::Connection),
    Pg {
        rt: tokio::runtime::Runtime,
        conn: RefCell<sqlx::PgConnection>,
    },
}

fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(|n| n.is_ascii_digit()) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

fn pg_value(row: &sqlx::postgres::PgRow, i: usize) -> V {
    use sqlx::{Column, Row, TypeInfo, ValueRef};
    if row.try_get_raw(i).expect("column").is_null() {
        return V::Null;
    }
    match row.column(i).type_info().name() {
        "INT8" => V::I(row.get::<i64, _>(i)),
        "INT4" => V::I(row.get::<i32, _>(i) as i64),
        "INT2" => V::I(row.get::<i16, _>(i) as i64),
        "BOOL" => V::I(row.get::<bool, _>(i) as i64),
        "BYTEA" => V::B(row.get(i)),
        "TEXT" | "VARCHAR" | "NAME" => V::T(row.get(i)),
        other => panic!("column {i} has type {other}, not one the tests read"),
    }
}

fn sqlite_value(r: &rusqlite::Row<'_>, i: usize) -> V {
    use rusqlite::types::ValueRef;
    match r.get_ref(i).expect("column") {
        ValueRef::Null => V::Null,
        ValueRef::Integer(v) => V::I(v),
        ValueRef::Text(t) => V::T(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => V::B(b.to_vec()),
        ValueRef::Real(f) => panic!("column {i} is a float ({f})"),
    }
}

impl Sql {
    pub fn is_pg(&self) -> bool {
        matches!(self, Sql::Pg { .. })
    }

    /// Runs a statement; the number of rows it touched.
    #[track_caller]
    pub fn exec(&self, sql: &str, params: &[V]) -> u64 {
        match self {
            Sql::Sqlite(c) => {
                let params: Vec<rusqlite::types::Value> = params.iter().map(to_sqlite).collect();
                c.execute(sql, rusqlite::params_from_iter(params))
                    .unwrap_or_else(|e| panic!("{sql}: {e}")) as u64
            }
            Sql::Pg { rt, conn } => {
                let sql = dollar_placeholders(sql);
                let mut conn = conn.borrow_mut();
                rt.block_on(bind(sqlx::query(&sql), params).execute(&mut *conn))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
                    .rows_affected()
            }
        }
    }

    /// Runs several statements without parameters.
    #[track_caller]
    pub fn batch(&self, sql: &str) {
        match self {
            Sql::Sqlite(c) => c
                .execute_batch(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
            Sql::Pg { rt, conn } => {
                let mut conn = conn.borrow_mut();
                rt.block_on(sqlx::Executor::execute(&mut *conn, sqlx::raw_sql(sql)))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }

    /// Every row of a query.
    #[track_caller]
    pub fn rows(&self, sql: &str, params: &[V]) -> Vec<Vec<V>> {
        match self {
            Sql::Sqlite(c) => {
                let params: Vec<rusqlite::types::Value> = params.iter().map(to_sqlite).collect();
                let mut stmt = c.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let n = stmt.column_count();
                stmt.query_map(rusqlite::params_from_iter(params), |r| {
                    Ok((0..n).map(|i| sqlite_value(r, i)).collect())
                })
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .map(|r| r.expect("row"))
                .collect()
            }
            Sql::Pg { rt, conn } => {
                use sqlx::Row;
                let sql = dollar_placeholders(sql);
                let mut conn = conn.borrow_mut();
                let rows = rt
                    .block_on(bind(sqlx::query(&sql), params).fetch_all(&mut *conn))
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.iter()
                    .map(|r| (0..r.len()).map(|i| pg_value(r, i)).collect())
                    .collect()
            }
        }
    }

    /// The one row of a query.
    #[track_caller]
    pub fn row(&self, sql: &str, params: &[V]) -> Vec<V> {
        let mut rows = self.rows(sql, params);
        assert_eq!(rows.len(), 1, "{sql}: {} rows", rows.len());
        rows.remove(0)
    }

    /// The one integer a query returns.
    #[track_caller]
    pub fn i64(&self, sql: &str, params: &[V]) -> i64 {
        self.row(sql, params)[0].i()
    }

    /// After rows of the ledger were deleted or added by hand: what a
    /// careful attacker also writes. PostgreSQL keeps the ledger size in
    /// `ledger_head`; SQLite derives it from the rows.
    pub fn sync_head(&self) {
        if self.is_pg() {
            self.exec(
                "UPDATE ledger_head SET size = (SELECT COALESCE(max(position) + 1, 0) FROM ledger)",
                &[],
            );
        }
    }
}

fn to_sqlite(v: &V) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    match v {
        V::I(i) => Value::Integer(*i),
        V::T(s) => Value::Text(s.clone()),
        V::B(b) => Value::Blob(b.clone()),
        V::Null => Value::Null,
    }
}

fn bind<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    params: &[V],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    for p in params {
        q = match p {
            V::I(v) => q.bind(*v),
            V::T(s) => q.bind(s.clone()),
            V::B(b) => q.bind(b.clone()),
            V::Null => q.bind(None::<String>),
        };
    }
    q
}

/// Starts `tocsin serve --bind 127.0.0.1:0` on `d` as a process of its
/// own, with the clock fixed at `now`; returns it with its URL (from its
/// first line, `listening on http://ADDR`).
pub fn spawn_server(d: &Deployment, now: &str) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = d
        .tocsin()
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .env("TOCSIN_NOW", now)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start tocsin serve");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();
    (child, url)
}

/// Clients submitting reports to a server over HTTP until stopped, on a
/// thread of their own.
pub struct Writers {
    stop: Arc<std::sync::atomic::AtomicBool>,
    acked: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writers {
    pub fn start(url: &str, token: &str, clients: usize) -> Writers {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let acked = Arc::new(AtomicU64::new(0));
        let (url, token) = (url.to_owned(), token.to_owned());
        let (s, a) = (stop.clone(), acked.clone());
        let thread = std::thread::spawn(move || {
            block_on(async move {
                let http = reqwest::Client::new();
                let base: serde_json::Value =
                    serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).expect("report");
                let mut tasks = Vec::new();
                for w in 0..clients {
                    let (http, url, token, base) =
                        (http.clone(), url.clone(), token.clone(), base.clone());
                    let (stop, acked) = (s.clone(), a.clone());
                    tasks.push(tokio::spawn(async move {
                        let mut i = 0u64;
                        while !stop.load(Ordering::Relaxed) {
                            let mut r = base.clone();
                            r["title"] = format!("Writer {w} report {i}").into();
                            let res = http
                                .post(format!("{url}/api/v1/reports"))
                                .bearer_auth(&token)
                                .json(&r)
                                .send()
                                .await;
                            match res {
                                Ok(res) if res.status().as_u16() == 201 => {
                                    acked.fetch_add(1, Ordering::Relaxed);
                                }
                                _ => break,
                            }
                            i += 1;
                        }
                    }));
                }
                for t in tasks {
                    let _ = t.await;
                }
            })
        });
        Writers {
            stop,
            acked,
            thread: Some(thread),
        }
    }

    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::Relaxed)
    }

    /// Waits until `n` reports are acknowledged (at most a minute).
    #[track_caller]
    pub fn wait_for(&self, n: u64) {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while self.acked() < n {
            assert!(
                std::time::Instant::now() < until,
                "only {} of {n} reports acknowledged",
                self.acked()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Stops the clients; the number of reports acknowledged.
    pub fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.acked()
    }
}

impl Drop for Writers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs a future on a fresh runtime (tests here are plain #[test]s).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Every element the scenario reports come from.
pub const SCENARIO_ELEMENTS: &[&str] = &[
    "Counterterrorism Collection Element",
    "Counterterrorism Center",
    "Moscow Station",
    "Cyber Threat Element",
    "Open Source Element",
    "FBI New York Field Office",
    "Human Collection Element",
    "Another Element",
];

/// The principal of `name`, an account (made if need be, by the operator)
/// with the case roles (collector, analyst, approver, delivery officer) in
/// every scenario element, cleared to the top level and HCS: a person who
/// may do anything to a case, as the rules allow.
pub async fn person(svc: &Service, name: &str) -> tocsin_service::Principal {
    use tocsin_domain::Role;
    let roles = [
        Role::Collector,
        Role::Analyst,
        Role::Approver,
        Role::DeliveryOfficer,
    ];
    let cast = tocsin::scenarios::Cast::enrol(svc, &[(name, &roles[..], SCENARIO_ELEMENTS)], None)
        .await
        .expect("enrol");
    cast.get(name).expect("person").clone()
}

/// A real tocsin server (the production router and service) on port 0 of
/// 127.0.0.1, on this deployment, with a clock the test controls.
pub struct Server {
    pub url: String,
    pub svc: Arc<Service>,
    pub clock: Arc<ManualClock>,
    pub rt: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = self.rt.block_on(t);
        }
    }
}

/// The answer to a request: status and JSON body (Null when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Deployment {
    /// Starts the server on this deployment with the clock at `now`, without
    /// background jobs (tests that want the scheduler use `serve_with`).
    pub fn serve(&self, now: &str) -> Server {
        self.serve_with(
            now,
            tocsin_server::ServerConfig {
                jobs: None,
                ..Default::default()
            },
        )
    }

    pub fn serve_with(&self, now: &str, config: tocsin_server::ServerConfig) -> Server {
        self.serve_under(now, config, LoadedPolicy::builtin())
    }

    /// [`Deployment::serve_with`] under `policy`.
    pub fn serve_under(
        &self,
        now: &str,
        config: tocsin_server::ServerConfig,
        policy: LoadedPolicy,
    ) -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let store = rt.block_on(app::open_write(&self.paths)).expect("open");
        let clock = Arc::new(ManualClock::new(now.parse::<Timestamp>().expect("time")));
        // Cheap password hashing keeps the tests fast; production uses the OWASP minimum.
        let auth = tocsin_service::AuthConfig {
            argon2_m_kib: 256,
            argon2_t: 1,
            ..Default::default()
        };
        let svc = Arc::new(Service::with_auth(
            store,
            Arc::new(policy),
            clock.clone(),
            auth,
        ));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = tocsin_server::AppState::new(svc.clone(), config);
        let task = rt.spawn(async move {
            let _ = tocsin_server::serve(listener, state, async {
                let _ = rx.await;
            })
            .await;
        });
        Server {
            url,
            svc,
            clock,
            rt,
            stop: Some(tx),
            task: Some(task),
            http: reqwest::Client::new(),
        }
    }
}

impl Server {
    pub fn set_now(&self, now: &str) {
        self.clock.set(now.parse().expect("time"));
    }

    /// Creates an account directly through the service (registering its
    /// elements) and returns an API token for it with all its roles.
    pub fn account(
        &self,
        name: &str,
        roles: &[tocsin_domain::Role],
        elements: &[&str],
        clearance: &str,
        compartments: &[&str],
    ) -> String {
        use tocsin_domain::access::{AccountSpec, Password};
        use tocsin_domain::text::{ElementName, Label, Name};
        let svc = self.svc.clone();
        self.rt.block_on(async {
            let sys = svc.operator().await.unwrap();
            for e in elements {
                if svc.element(e).await.unwrap().is_none() {
                    svc.register_element(&sys, ElementName::new(*e).unwrap(), None)
                        .await
                        .unwrap();
                }
            }
            let name = tocsin_domain::ActorName::new(name).unwrap();
            svc.create_account(
                &sys,
                name.clone(),
                AccountSpec {
                    display_name: Name::new(name.as_str()).unwrap(),
                    elements: elements
                        .iter()
                        .map(|e| ElementName::new(*e).unwrap())
                        .collect(),
                    roles: roles.iter().copied().collect(),
                    clearance: Label::new(clearance).unwrap(),
                    compartments: compartments
                        .iter()
                        .map(|c| Label::new(*c).unwrap())
                        .collect(),
                },
                Some(Password::new(format!("{name}-password")).unwrap()),
            )
            .await
            .unwrap();
            svc.issue_token(
                &sys,
                name,
                Name::new("test").unwrap(),
                roles.iter().copied().collect(),
                std::time::Duration::from_secs(366 * 86_400),
            )
            .await
            .unwrap()
            .secret
        })
    }

    /// Sends a request with a bearer token and returns its body; fails the
    /// test unless the answer is 2xx.
    #[track_caller]
    pub fn ok(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let a = self.call(method, path, Some(token), body);
        assert!(
            (200..300).contains(&a.status),
            "{method} {path}: {} {:?}",
            a.status,
            a.body
        );
        a.body
    }

    /// Sends a request with a bearer token (or none) and optional JSON body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Answer {
        self.call_with(method, path, token, body, &[])
    }

    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(m, format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.rt.block_on(async {
            let r = req.send().await.expect("request");
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            let bytes = r.bytes().await.expect("body");
            let body = if bytes.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                    serde_json::Value::String(String::from_utf8_lossy(&bytes).into())
                })
            };
            Answer {
                status,
                body,
                headers,
            }
        })
    }

    /// A command line pointed at this server with `token`.
    pub fn cli(&self, d: &Deployment, token: &str) -> Command {
        let mut c = d.tocsin();
        c.env("TOCSIN_SERVER", &self.url)
            .env("TOCSIN_TOKEN", token)
            .env("TOCSIN_CONFIG_DIR", d.dir.path().join("config"));
        c
    }
}

/// A program of the STIX tools' venv (`TOCSIN_STIX_VENV`, else
/// `target/venv-stix`): `bin/python` (with stix2 and taxii2-client) or
/// `bin/stix2_validator`. A missing tool fails the test, saying how to get
/// it; it never skips.
pub fn stix_tool(name: &str) -> std::path::PathBuf {
    let venv = std::env::var_os("TOCSIN_STIX_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/venv-stix")
        });
    let bin = venv.join("bin").join(name);
    assert!(
        bin.exists(),
        "the STIX tools' {name} is not at {}: run scripts/stix-tools (scripts/test does)",
        bin.display()
    );
    bin
}
