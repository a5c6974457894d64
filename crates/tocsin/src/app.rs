//! Opening a deployment: database, signing key, policy, clock.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use tocsin_domain::LoadedPolicy;
use tocsin_ledger::{NoteSigner, NoteVerifier};
use tocsin_service::{Clock, ManualClock, Service, SystemClock};
use tocsin_store::Store;
use tocsin_store_sqlite::{InitParams, SqliteStore};

/// Where things are, as given on the command line or in the environment.
#[derive(Clone, Debug)]
pub struct Paths {
    pub db: PathBuf,
    pub key: PathBuf,
}

impl Paths {
    pub fn new(db: PathBuf, key: Option<PathBuf>) -> Self {
        let key = key.unwrap_or_else(|| {
            let mut k = db.clone().into_os_string();
            k.push(".key");
            PathBuf::from(k)
        });
        Self { db, key }
    }
}

/// Loads the policy: a file if given, else the built-in ICD 191.
pub fn load_policy(path: Option<&Path>) -> Result<LoadedPolicy> {
    match path {
        None => Ok(LoadedPolicy::builtin()),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read policy file {}", p.display()))?;
            Ok(LoadedPolicy::parse(&text, &p.display().to_string())?)
        }
    }
}

/// The clock: the system's, or a fixed time for exercises and tests.
pub fn clock(fixed: Option<tocsin_domain::Timestamp>) -> Arc<dyn Clock> {
    match fixed {
        Some(t) => Arc::new(ManualClock::new(t)),
        None => Arc::new(SystemClock),
    }
}

/// Reads the signing key.
pub fn read_key(path: &Path) -> Result<NoteSigner> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "the signing key is not at {}: commands that write need the key made by `tocsin init` (set --key or TOCSIN_KEY)",
            path.display()
        ),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot read the signing key {}", path.display()));
        }
    };
    NoteSigner::from_secret_key_string(text.trim())
        .with_context(|| format!("{} is not a tocsin signing key", path.display()))
}

/// Opens the database for writing (needs the signing key).
pub fn open_write(paths: &Paths) -> Result<SqliteStore> {
    let signer = read_key(&paths.key)?;
    Ok(SqliteStore::open(&paths.db, Some(signer))?)
}

/// Opens the database read-only (no key needed).
pub fn open_read(paths: &Paths) -> Result<SqliteStore> {
    Ok(SqliteStore::open(&paths.db, None)?)
}

pub fn service(store: SqliteStore, policy: LoadedPolicy, clock: Arc<dyn Clock>) -> Service {
    Service::new(Arc::new(store) as Arc<dyn Store>, Arc::new(policy), clock)
}

/// What `tocsin init` made.
pub struct Initialised {
    pub deployment_id: String,
    pub origin: String,
    pub verifier: NoteVerifier,
}

/// Creates a database and its signing key. Refuses to overwrite either.
pub fn init(paths: &Paths, origin: Option<String>) -> Result<Initialised> {
    if paths.db.exists() {
        bail!(
            "{} already exists; refusing to initialise over it",
            paths.db.display()
        );
    }
    if paths.key.exists() {
        bail!(
            "{} already exists; refusing to overwrite a signing key",
            paths.key.display()
        );
    }
    let deployment_id = uuid::Uuid::new_v4().to_string();
    let short = &deployment_id[..8];
    let origin = origin.unwrap_or_else(|| format!("tocsin.local/{deployment_id}"));
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| anyhow::anyhow!("no OS randomness for the signing key: {e}"))?;
    let signer = NoteSigner::from_seed(&format!("tocsin-{short}"), seed)?;
    write_key(&paths.key, &signer)?;
    let created = SqliteStore::create(
        &paths.db,
        signer.clone(),
        InitParams {
            deployment_id: deployment_id.clone(),
            origin: origin.clone(),
            created_at: tocsin_domain::Timestamp::now().to_string(),
        },
    );
    if let Err(e) = created {
        let _ = std::fs::remove_file(&paths.key);
        return Err(e.into());
    }
    Ok(Initialised {
        deployment_id,
        origin,
        verifier: signer.verifier(),
    })
}

fn write_key(path: &Path, signer: &NoteSigner) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create the signing key file {}", path.display()))?;
    writeln!(f, "{}", signer.to_secret_key_string())?;
    f.sync_all()?;
    Ok(())
}

/// Structured logs on standard error: `text` (human) or `json` (one
/// object per line). `RUST_LOG` filters them (default `info`).
pub fn init_logging(format: &str) -> Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let r = match format {
        "json" => builder.json().try_init(),
        "text" => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        other => bail!("--log-format {other}: give text or json"),
    };
    // A second init (tests, the demo) keeps the first subscriber.
    let _ = r;
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Binds `bind` and serves the API until Ctrl-C or SIGTERM. The first line
/// on standard output says where it listens (`listening on http://ADDR`).
pub async fn serve(
    svc: Arc<Service>,
    config: tocsin_server::ServerConfig,
    bind: &str,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    let addr = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        out.flush()?;
    }
    tracing::info!(%addr, "tocsin serving");
    let state = tocsin_server::AppState::new(svc, config);
    tocsin_server::serve(listener, state, shutdown_signal()).await?;
    Ok(())
}
