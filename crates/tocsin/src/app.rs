//! Opening a deployment: database (SQLite file or PostgreSQL), signing key,
//! policy, clock.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use tocsin_domain::LoadedPolicy;
use tocsin_ledger::{NoteSigner, NoteVerifier};
use tocsin_service::{Clock, ManualClock, Service, SystemClock};
use tocsin_store::Store;
use tocsin_store_postgres::PostgresStore;
use tocsin_store_sqlite::SqliteStore;

/// Where a deployment's database is: `--db` / `TOCSIN_DB`. A value that
/// starts with `postgres://` or `postgresql://` is a PostgreSQL URL;
/// anything else is the path of an SQLite file (`sqlite://PATH` also).
#[derive(Clone, PartialEq, Eq)]
pub enum Db {
    Sqlite(PathBuf),
    /// A libpq-style URL. It may hold a password: it is only ever shown
    /// through `Display`/`Debug`, which leave the password out.
    Postgres(String),
}

impl Db {
    pub fn parse(s: impl Into<PathBuf>) -> Db {
        let p: PathBuf = s.into();
        if let Some(text) = p.to_str() {
            if text.starts_with("postgres://") || text.starts_with("postgresql://") {
                return Db::Postgres(text.to_owned());
            }
            if let Some(path) = text.strip_prefix("sqlite://") {
                return Db::Sqlite(PathBuf::from(path));
            }
        }
        Db::Sqlite(p)
    }

    /// The SQLite file, if this is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Db::Sqlite(p) => Some(p),
            Db::Postgres(_) => None,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }
}

impl From<PathBuf> for Db {
    fn from(p: PathBuf) -> Db {
        Db::parse(p)
    }
}

impl From<&Path> for Db {
    fn from(p: &Path) -> Db {
        Db::parse(p)
    }
}

impl From<&str> for Db {
    fn from(s: &str) -> Db {
        Db::parse(s)
    }
}

impl fmt::Display for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Db::Sqlite(p) => write!(f, "{}", p.display()),
            Db::Postgres(url) => f.write_str(&redact_url(url)),
        }
    }
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Db::Sqlite(p) => write!(f, "Sqlite({p:?})"),
            Db::Postgres(url) => write!(f, "Postgres({:?})", redact_url(url)),
        }
    }
}

/// A database URL with its password (in the user part or as a
/// `password=` parameter) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:***@{host}"),
            None => format!("{user}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Where things are, as given on the command line or in the environment.
#[derive(Clone, Debug)]
pub struct Paths {
    pub db: Db,
    /// The signing key file: as given, else beside an SQLite file
    /// (`<db>.key`); a PostgreSQL database has no default.
    pub key: Option<PathBuf>,
}

impl Paths {
    pub fn new(db: impl Into<Db>, key: Option<PathBuf>) -> Self {
        let db = db.into();
        let key = key.or_else(|| {
            db.sqlite_path().map(|p| {
                let mut k = p.to_path_buf().into_os_string();
                k.push(".key");
                PathBuf::from(k)
            })
        });
        Self { db, key }
    }

    /// The signing key file, or why there is none.
    pub fn key(&self) -> Result<&Path> {
        match &self.key {
            Some(k) => Ok(k),
            None => bail!(
                "no signing key file: for a PostgreSQL database there is no default (an SQLite file keeps it beside itself as <db>.key); give it with --key FILE or TOCSIN_KEY"
            ),
        }
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

/// Opens a database: with the signing key for writing, without it
/// read-only.
pub async fn open(db: &Db, signer: Option<NoteSigner>) -> Result<Arc<dyn Store>> {
    Ok(match db {
        Db::Sqlite(p) => Arc::new(SqliteStore::open(p, signer)?),
        Db::Postgres(url) => Arc::new(PostgresStore::open(url, signer).await?),
    })
}

/// Opens the database for writing (needs the signing key).
pub async fn open_write(paths: &Paths) -> Result<Arc<dyn Store>> {
    let signer = read_key(paths.key()?)?;
    open(&paths.db, Some(signer)).await
}

/// Opens the database read-only (no key needed).
pub async fn open_read(paths: &Paths) -> Result<Arc<dyn Store>> {
    open(&paths.db, None).await
}

pub fn service(store: Arc<dyn Store>, policy: LoadedPolicy, clock: Arc<dyn Clock>) -> Service {
    Service::new(store, Arc::new(policy), clock)
}

/// What a new deployment records about itself.
#[derive(Clone, Debug)]
pub struct Identity {
    pub deployment_id: String,
    pub origin: String,
    pub created_at: String,
}

/// Initialises a new, empty database for a deployment signing with
/// `signer`: an SQLite file that must not exist yet, or a PostgreSQL
/// database that must exist and be empty.
pub async fn create(db: &Db, signer: NoteSigner, id: Identity) -> Result<Arc<dyn Store>> {
    Ok(match db {
        Db::Sqlite(p) => {
            if p.exists() {
                bail!(
                    "{} already exists; refusing to initialise over it",
                    p.display()
                );
            }
            Arc::new(SqliteStore::create(
                p,
                signer,
                tocsin_store_sqlite::InitParams {
                    deployment_id: id.deployment_id,
                    origin: id.origin,
                    created_at: id.created_at,
                },
            )?)
        }
        Db::Postgres(url) => Arc::new(
            PostgresStore::create(
                url,
                signer,
                tocsin_store_postgres::InitParams {
                    deployment_id: id.deployment_id,
                    origin: id.origin,
                    created_at: id.created_at,
                },
            )
            .await?,
        ),
    })
}

/// What `tocsin init` made.
pub struct Initialised {
    pub deployment_id: String,
    pub origin: String,
    pub key: PathBuf,
    pub verifier: NoteVerifier,
}

/// Creates a database and its signing key. Refuses to overwrite either.
pub async fn init(paths: &Paths, origin: Option<String>) -> Result<Initialised> {
    let Some(key) = paths.key.as_deref() else {
        bail!(
            "tocsin init on PostgreSQL needs --key FILE (or TOCSIN_KEY): the file to write the new signing key to (an SQLite database keeps it beside itself as <db>.key; a URL has no such place)"
        );
    };
    if let Some(p) = paths.db.sqlite_path()
        && p.exists()
    {
        bail!(
            "{} already exists; refusing to initialise over it",
            p.display()
        );
    }
    if key.exists() {
        bail!(
            "{} already exists; refusing to overwrite a signing key",
            key.display()
        );
    }
    let deployment_id = uuid::Uuid::new_v4().to_string();
    let short = &deployment_id[..8];
    let origin = origin.unwrap_or_else(|| format!("tocsin.local/{deployment_id}"));
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| anyhow::anyhow!("no OS randomness for the signing key: {e}"))?;
    let signer = NoteSigner::from_seed(&format!("tocsin-{short}"), seed)?;
    write_key(key, &signer)?;
    let created = create(
        &paths.db,
        signer.clone(),
        Identity {
            deployment_id: deployment_id.clone(),
            origin: origin.clone(),
            created_at: tocsin_domain::Timestamp::now().to_string(),
        },
    )
    .await;
    if let Err(e) = created {
        let _ = std::fs::remove_file(key);
        return Err(e);
    }
    Ok(Initialised {
        deployment_id,
        origin,
        key: key.to_path_buf(),
        verifier: signer.verifier(),
    })
}

pub(crate) fn write_key(path: &Path, signer: &NoteSigner) -> Result<()> {
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
    svc.fill_measures()
        .await
        .context("cannot fill the measures of cases written before this version")?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_values_pick_the_backend() {
        assert_eq!(
            Db::parse("postgres://u@h/db"),
            Db::Postgres("postgres://u@h/db".into())
        );
        assert!(Db::parse("postgresql://h/db").is_postgres());
        assert_eq!(
            Db::parse("sqlite:///var/lib/t.db"),
            Db::Sqlite("/var/lib/t.db".into())
        );
        assert_eq!(Db::parse("tocsin.db"), Db::Sqlite("tocsin.db".into()));
        // A file whose name merely mentions postgres is a file.
        assert_eq!(
            Db::parse("./postgres://x"),
            Db::Sqlite("./postgres://x".into())
        );
        // The key: beside an SQLite file; none by default for PostgreSQL.
        let p = Paths::new("/d/t.db", None);
        assert_eq!(p.key().unwrap(), Path::new("/d/t.db.key"));
        let p = Paths::new("postgres://h/db", None);
        assert!(format!("{:#}", p.key().unwrap_err()).contains("--key FILE or TOCSIN_KEY"));
    }

    #[test]
    fn urls_are_shown_without_their_password() {
        for (url, shown) in [
            (
                "postgres://tocsin:s3cret@db:5432/t",
                "postgres://tocsin:***@db:5432/t",
            ),
            ("postgres://tocsin@db/t", "postgres://tocsin@db/t"),
            (
                "postgresql://u:p%40ss@db/t?sslmode=disable&password=s3cret",
                "postgresql://u:***@db/t?sslmode=disable&password=***",
            ),
            ("postgres://db", "postgres://db"),
            (
                "postgres://u:pw@db?Password=x",
                "postgres://u:***@db?Password=***",
            ),
        ] {
            assert_eq!(redact_url(url), shown);
            let db = Db::parse(url);
            assert_eq!(db.to_string(), shown);
            assert!(!format!("{db:?}").contains("s3cret"));
        }
    }
}
