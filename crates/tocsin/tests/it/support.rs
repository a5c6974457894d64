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
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let store = app::open_write(&self.paths).expect("open");
        let clock = Arc::new(ManualClock::new(now.parse::<Timestamp>().expect("time")));
        // Cheap password hashing keeps the tests fast; production uses the OWASP minimum.
        let auth = tocsin_service::AuthConfig {
            argon2_m_kib: 256,
            argon2_t: 1,
            ..Default::default()
        };
        let svc = Arc::new(Service::with_auth(
            Arc::new(store) as Arc<dyn Store>,
            Arc::new(LoadedPolicy::builtin()),
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
        let sys = tocsin_domain::ActorName::system();
        self.rt.block_on(async {
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
