//! Connecting to PostgreSQL: [`PgOptions`], the options from a URL, one
//! connection with a deadline, and errors that name the server, database and user (never
//! the password) and say what to do.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use tocsin_store::StoreError;

use crate::common::sqlstate;

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

/// Where a store connects, for messages (never the password).
#[derive(Clone, Debug)]
pub struct Target {
    host: String,
    port: u16,
    database: String,
    user: String,
}

impl Target {
    pub fn of(o: &PgConnectOptions) -> Self {
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

/// An error while connecting, naming what is wrong and what to do.
fn connect_error(e: sqlx::Error, t: &Target) -> StoreError {
    let context = match (&e, sqlstate(&e).as_deref()) {
        (_, Some("28P01" | "28000")) => format!(
            "the PostgreSQL server at {} refused user '{}' for database '{}': wrong password, or its pg_hba.conf does not allow this login",
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
            "the PostgreSQL server at {} has no connection slot left: lower max_connections of the tocsin processes or raise the server's",
            t.server()
        ),
        (_, Some("57P03")) => format!(
            "the PostgreSQL server at {} is starting up or shutting down: try again shortly",
            t.server()
        ),
        (sqlx::Error::Io(_), _) => format!(
            "cannot reach the PostgreSQL server at {} (is it running and listening on that address and port?)",
            t.server()
        ),
        (sqlx::Error::Tls(_), _) => {
            format!("cannot connect to {t} (this build of tocsin does not speak TLS to PostgreSQL)")
        }
        _ => format!("cannot connect to {t}"),
    };
    StoreError::backend(context, e)
}

/// The connection options of `url` with ours (application name, statement
/// timeout).
pub fn connect_options(url: &str, opts: &PgOptions) -> Result<PgConnectOptions, StoreError> {
    // The URL is not repeated in the message: it may hold a password.
    let mut co = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::backend("the PostgreSQL URL cannot be read", e))?
        .application_name(&opts.application_name);
    if let Some(t) = opts.statement_timeout {
        co = co.options([("statement_timeout", format!("{}ms", t.as_millis()))]);
    }
    Ok(co)
}

/// One connection, with an error that says what is wrong.
pub async fn connect_one(
    co: &PgConnectOptions,
    t: &Target,
    opts: &PgOptions,
) -> Result<PgConnection, StoreError> {
    match tokio::time::timeout(opts.connect_timeout, PgConnection::connect_with(co)).await {
        Err(elapsed) => Err(StoreError::backend(
            format!(
                "no answer from the PostgreSQL server at {} within {} s",
                t.server(),
                opts.connect_timeout.as_secs_f64()
            ),
            elapsed,
        )),
        Ok(Err(e)) => Err(connect_error(e, t)),
        Ok(Ok(c)) => Ok(c),
    }
}
