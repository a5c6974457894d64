//! # tocsin-server
//!
//! The HTTP JSON API, a face of the service. Every route is declared once,
//! with the permission it needs, by the module of its resource ([`api`]),
//! through the route table ([`table`]); [`router`] builds the router from
//! it, so a route without an access rule cannot exist, and the OpenAPI
//! document ([`openapi`]) is generated from the same table, once, at start.
//! Handlers are thin: parse, call the service, map the answer. The service
//! decides who may see or do what.
//!
//! Order of checks on every request: authenticate (401), permission (403),
//! CSRF for cookie-authenticated state changes (403), path and query (400),
//! the case's visibility (403, or 404 where its existence is restricted,
//! identical to a missing case), the body (422), then the domain.

/// A path under the API's version prefix.
macro_rules! path {
    ($p:literal) => {
        concat!("/api/v1", $p)
    };
}

pub mod api;
pub mod auth;
pub mod jobs;
mod listen;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod router;
pub mod table;
pub mod taxii;
pub mod ui;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tocsin_service::Service;

pub use problem::{ApiError, Kind};
pub use table::{Access, Op};

/// How the server behaves (the edges set it from flags).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Session cookies carry `Secure` and the `__Host-` prefix. Browsers
    /// accept that over TLS and on `localhost`; turn it off only behind a
    /// plain-HTTP network you trust.
    pub secure_cookies: bool,
    /// How long graceful shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
    /// The background jobs (sweep, escalation notices); `None` runs none.
    pub jobs: Option<jobs::JobsConfig>,
    /// A connection must send a request's headers within this time (also
    /// an idle connection waiting for its next request).
    pub header_timeout: Duration,
    /// A request's body must keep arriving: at most this long between
    /// two pieces of it.
    pub body_timeout: Duration,
    /// Connections served at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// A demo deployment: its login page says which accounts exist.
    pub demo: Option<DemoAccounts>,
}

/// The accounts of a demo deployment and their shared password, shown on
/// the login page (it is a demo: nothing there is secret).
#[derive(Clone, Debug, Default)]
pub struct DemoAccounts {
    /// Each account's name and what it does ("analyst, approver").
    pub accounts: Vec<(String, String)>,
    pub password: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            body_limit: 2 * 1024 * 1024,
            secure_cookies: true,
            shutdown_grace: Duration::from_secs(30),
            jobs: Some(jobs::JobsConfig::default()),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 512,
            demo: None,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub svc: Arc<Service>,
    pub config: Arc<ServerConfig>,
    pub metrics: Arc<metrics::Metrics>,
    /// This API's OpenAPI document, built once at start.
    pub openapi: bytes::Bytes,
    /// The long operations the web UI runs in the background (a ledger
    /// verification, a registry import), one of each at a time.
    pub background: Arc<jobs::Background>,
}

impl AppState {
    pub fn new(svc: Arc<Service>, config: ServerConfig) -> Self {
        Self {
            svc,
            config: Arc::new(config),
            metrics: Arc::new(metrics::Metrics::new()),
            openapi: bytes::Bytes::from(serde_json::to_vec(&openapi::spec()).unwrap_or_default()),
            background: Arc::new(jobs::Background::default()),
        }
    }
}

/// The whole application: routes from the table, with metrics, body
/// limits and problem-details fallbacks.
pub fn app(state: AppState) -> Router {
    router::build(state)
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets requests
/// in flight finish (up to the configured grace period). Connections are
/// limited and timed (see [`ServerConfig`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
    let jobs = state
        .config
        .jobs
        .clone()
        .map(|cfg| tokio::spawn(jobs::run(state.clone(), cfg, jobs_stopped)));
    let config = state.config.clone();
    // The jobs stop as soon as shutdown starts.
    let shutdown = async move {
        shutdown.await;
        let _ = stop_jobs.send(true);
    };
    let r = listen::run(listener, app(state), &config, shutdown).await;
    if let Some(j) = jobs {
        let _ = j.await;
    }
    r
}
