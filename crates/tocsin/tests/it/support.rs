//! Shared test scaffolding.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use tempfile::TempDir;
use tocsin::app::{self, Paths};
use tocsin_domain::{LoadedPolicy, Timestamp};
use tocsin_service::{ManualClock, Service};
use tocsin_store::Store;
use tocsin_store_sqlite::SqliteStore;

/// A fresh deployment: database and signing key in a temporary directory.
pub struct Deployment {
    pub dir: TempDir,
    pub paths: Paths,
}

impl Deployment {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = Paths::new(dir.path().join("tocsin.db"), None);
        app::init(&paths, Some("tocsin.test/it".into())).expect("init");
        Self { dir, paths }
    }

    /// A deployment with no database yet.
    pub fn empty() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = Paths::new(dir.path().join("tocsin.db"), None);
        Self { dir, paths }
    }

    pub fn db(&self) -> &Path {
        &self.paths.db
    }

    /// The tocsin binary, pointed at this deployment.
    pub fn tocsin(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tocsin"));
        c.env("TOCSIN_DB", &self.paths.db)
            .env("TOCSIN_KEY", &self.paths.key)
            .env_remove("TOCSIN_AS")
            .env_remove("TOCSIN_NOW")
            .env_remove("TOCSIN_POLICY")
            .current_dir(self.dir.path());
        c
    }

    /// Runs the binary with `args`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.tocsin().args(args).output().expect("run tocsin")
    }

    /// An in-process service on this deployment with a manual clock.
    pub fn service(&self, now: &str) -> (Service, Arc<ManualClock>, SqliteStore) {
        let store = app::open_write(&self.paths).expect("open");
        let clock = Arc::new(ManualClock::new(now.parse::<Timestamp>().expect("time")));
        let svc = Service::new(
            Arc::new(store.clone()) as Arc<dyn Store>,
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

    /// Number of rows in the ledger, read directly.
    pub fn ledger_size(&self) -> i64 {
        let c = rusqlite::Connection::open(&self.paths.db).expect("open");
        c.query_row("SELECT count(*) FROM ledger", [], |r| r.get(0))
            .expect("count")
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
