//! The operator's commands on a deployment, which open the database (or
//! the policy file) themselves rather than asking a server: `init`,
//! `serve`, `policy show|check`, `admin rebuild`, `migrate` and `demo`.
//! (`backup` is `crate::ops`; the ledger checks are in `audit`.)

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use serde::Serialize;
use tocsin_server::api::policy::{PolicyCheckView, PolicyView};

use super::args::{Client, DbOnly, Output, PolicyArg, Store};
use super::context::{Ctx, EXIT_VERIFY_FAILED};
use crate::app;

#[derive(Args)]
pub struct InitArgs {
    #[command(flatten)]
    store: Store,
    #[command(flatten)]
    output: Output,
    /// The checkpoint origin line [default: tocsin.local/<deployment id>].
    #[arg(long)]
    origin: Option<String>,
}

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    store: Store,
    #[command(flatten)]
    policy: PolicyArg,
    /// Where to listen, HOST:PORT.
    #[arg(
        long,
        env = "TOCSIN_BIND",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    bind: String,
    /// How log lines are written on standard error.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    /// Session cookies without `Secure` and the `__Host-` prefix (plain HTTP beyond localhost only).
    #[arg(long)]
    insecure_cookies: bool,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = 2 * 1024 * 1024, value_name = "BYTES")]
    body_limit: usize,
    /// Seconds between applications of the clock (escalations, re-assessment flags).
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    sweep_interval: u64,
    /// Seconds between looks for escalation notices to send.
    #[arg(long, default_value_t = 2, hide = true)]
    jobs_tick: u64,
    /// Seconds to wait after a failed notice before retrying (doubled each time).
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    retry_base: u64,
    /// Attempts before a notice is given up (and recorded as failed on its case).
    #[arg(long, default_value_t = 8)]
    retry_attempts: u32,
    /// Run no background jobs (no sweep, no notices): another process does them.
    #[arg(long)]
    no_jobs: bool,
    /// An SMTP relay for email notice targets, HOST:PORT (plain SMTP).
    #[arg(long, env = "TOCSIN_SMTP", value_name = "HOST:PORT")]
    smtp: Option<String>,
    /// The sender address of notice emails.
    #[arg(
        long,
        env = "TOCSIN_SMTP_FROM",
        default_value = "tocsin@localhost",
        value_name = "ADDRESS"
    )]
    smtp_from: String,
}

#[derive(Args)]
pub struct MigrateArgs {
    /// The deployment's signing key file [default for an SQLite source: its path with .key appended; required for PostgreSQL].
    #[arg(long, env = "TOCSIN_KEY", value_name = "FILE")]
    key: Option<PathBuf>,
    #[command(flatten)]
    output: Output,
    /// The database to copy: an SQLite path (or sqlite://PATH) or a
    /// postgres:// URL. Stop the servers writing to it first.
    #[arg(long, value_name = "FILE|URL")]
    from: PathBuf,
    /// The new database: an SQLite path that does not exist yet, or an
    /// existing, empty PostgreSQL database (postgres://...). The signing
    /// key (--key; for an SQLite source, by default the one beside it)
    /// stays the deployment's key.
    #[arg(long, value_name = "FILE|URL")]
    to: PathBuf,
    /// Do not run a full `audit verify` on the copy afterwards.
    #[arg(long)]
    no_verify: bool,
}

#[derive(Args)]
pub struct BackupArgs {
    #[command(flatten)]
    db: DbOnly,
    #[command(flatten)]
    output: Output,
    /// The backup file to create.
    dest: PathBuf,
}

#[derive(Args)]
pub struct DemoArgs {
    /// The demo's database: an SQLite file (replaced with --force), or an empty PostgreSQL database.
    #[arg(
        long,
        env = "TOCSIN_DB",
        default_value = "tocsin-demo.db",
        value_name = "FILE|URL",
        help_heading = "Database"
    )]
    db: PathBuf,
    /// The demo's signing key file [default for an SQLite file: its path with .key appended; required for PostgreSQL].
    #[arg(
        long,
        env = "TOCSIN_KEY",
        value_name = "FILE",
        help_heading = "Database"
    )]
    key: Option<PathBuf>,
    #[command(flatten)]
    policy: PolicyArg,
    /// Replace the demo database if it exists.
    #[arg(long)]
    force: bool,
    /// Load and print the demo, then stop instead of serving it.
    #[arg(long)]
    no_serve: bool,
    /// Where the demo server listens, HOST:PORT.
    #[arg(
        long,
        env = "TOCSIN_BIND",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    bind: String,
}

#[derive(Subcommand)]
pub enum PolicyCmd {
    /// Print the active policy (its exact text, with id, version and hash).
    Show(PolicyArg),
    /// Check a policy file without using it.
    Check {
        /// The policy file (TOML) to check.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum AdminCmd {
    /// The partner table: which element a STIX producer's reports are filed under.
    Partner(Client<super::exchange::PartnerCmd>),
    /// Rebuild the query tables from the ledger and compare with what was there.
    Rebuild {
        #[command(flatten)]
        store: Store,
        #[command(flatten)]
        policy: PolicyArg,
        #[command(flatten)]
        output: Output,
    },
}

/// What `tocsin init` made.
#[derive(Serialize)]
struct InitView {
    db: String,
    deployment_id: String,
    origin: String,
    key: PathBuf,
    verifier_key: String,
}

pub async fn init(ctx: Ctx, args: InitArgs) -> Result<ExitCode> {
    let ctx = ctx.on_store(&args.store).printing(&args.output);
    let paths = ctx.paths()?;
    let init = app::init(paths, args.origin).await?;
    let view = InitView {
        db: paths.db.to_string(),
        deployment_id: init.deployment_id,
        origin: init.origin,
        key: init.key,
        verifier_key: init.verifier.to_string(),
    };
    ctx.emit(&view, |v| {
        format!(
            "initialised {}\n  deployment  {}\n  origin      {}\n  signing key {} (keep it secret; back it up)\n  verifier    {}\nnext: tocsin account add --admin NAME, then tocsin serve",
            v.db,
            v.deployment_id,
            v.origin,
            v.key.display(),
            v.verifier_key
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

pub async fn serve(ctx: Ctx, args: ServeArgs) -> Result<ExitCode> {
    let ctx = ctx.on_store(&args.store).under(&args.policy);
    app::init_logging(&args.log_format)?;
    let svc = Arc::new(ctx.write_service().await?);
    let smtp = match &args.smtp {
        Some(s) => {
            let (host, port) = s
                .rsplit_once(':')
                .ok_or_else(|| anyhow!("--smtp {s}: give HOST:PORT"))?;
            Some(tocsin_server::jobs::SmtpConfig {
                host: host.to_owned(),
                port: port
                    .parse()
                    .map_err(|_| anyhow!("--smtp {s}: the port is not a number"))?,
                from: args.smtp_from.clone(),
            })
        }
        None => None,
    };
    let jobs = (!args.no_jobs).then(|| tocsin_server::jobs::JobsConfig {
        tick: std::time::Duration::from_secs(args.jobs_tick.max(1)),
        sweep_every: std::time::Duration::from_secs(args.sweep_interval.max(1)),
        retry: tocsin_service::RetryPolicy {
            base: std::time::Duration::from_secs(args.retry_base.max(1)),
            max_attempts: args.retry_attempts.max(1),
            ..Default::default()
        },
        smtp,
        ..Default::default()
    });
    let config = tocsin_server::ServerConfig {
        body_limit: args.body_limit,
        secure_cookies: !args.insecure_cookies,
        jobs,
        ..Default::default()
    };
    app::serve(svc, config, &args.bind).await?;
    Ok(ExitCode::SUCCESS)
}

pub fn policy(ctx: Ctx, cmd: PolicyCmd) -> Result<ExitCode> {
    match cmd {
        PolicyCmd::Show(policy) => {
            let ctx = ctx.under(&policy);
            let p = ctx.policy()?;
            let view = PolicyView {
                id: p.policy.policy.id.clone(),
                version: p.policy.policy.version.clone(),
                sha256: p.sha256.clone(),
                origin: p.origin.clone(),
                source: p.source.clone(),
            };
            ctx.emit(&view, |v| {
                format!(
                    "# active policy: {} ({})\n# sha256: {}\n{}",
                    p.reference(),
                    v.origin,
                    v.sha256,
                    v.source
                )
            })?;
        }
        PolicyCmd::Check { file } => {
            let p = app::load_policy(Some(&file))?;
            let view = PolicyCheckView {
                valid: true,
                id: Some(p.policy.policy.id.clone()),
                version: Some(p.policy.policy.version.clone()),
                sha256: Some(p.sha256.clone()),
                error: None,
            };
            ctx.emit(&view, |_| {
                format!(
                    "{} is a valid policy: {} (sha256 {})",
                    file.display(),
                    p.reference(),
                    p.sha256
                )
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What `tocsin admin rebuild` did.
#[derive(Serialize)]
struct RebuildView {
    events: u64,
    cases: u64,
    /// SHA-256 of the query tables before and after.
    before: String,
    after: String,
    identical: bool,
}

pub async fn admin(ctx: Ctx, cmd: AdminCmd) -> Result<ExitCode> {
    match cmd {
        AdminCmd::Partner(g) => {
            super::exchange::partner(&ctx.on_server(&g.conn).printing(&g.output), g.cmd).await
        }
        AdminCmd::Rebuild {
            store,
            policy,
            output,
        } => {
            let ctx = ctx.on_store(&store).under(&policy).printing(&output);
            let svc = ctx.write_service().await?;
            let r = svc.rebuild().await?;
            let view = RebuildView {
                events: r.events,
                cases: r.cases,
                before: r.before.sha256.clone(),
                after: r.after.sha256.clone(),
                identical: r.identical(),
            };
            ctx.emit(&view, |_| {
                format!(
                    "rebuilt the query tables from {} events in {} cases\n  before {} cases, {} reports, {} documents, sha256 {}\n  after  {} cases, {} reports, {} documents, sha256 {}\n  {}",
                    r.events,
                    r.cases,
                    r.before.cases,
                    r.before.reports,
                    r.before.docs,
                    r.before.sha256,
                    r.after.cases,
                    r.after.reports,
                    r.after.docs,
                    r.after.sha256,
                    if r.identical() {
                        "identical: the tables are exactly what the ledger says"
                    } else {
                        "DIFFERENT: the old tables did not match the ledger; they are now rebuilt from it"
                    }
                )
            })?;
            Ok(if r.identical() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_VERIFY_FAILED)
            })
        }
    }
}

pub async fn migrate(_: Ctx, args: MigrateArgs) -> Result<ExitCode> {
    crate::ops::migrate(
        &app::Db::parse(args.from),
        &app::Db::parse(args.to),
        args.key,
        !args.no_verify,
        args.output.json,
    )
    .await
}

pub async fn backup(ctx: Ctx, args: BackupArgs) -> Result<ExitCode> {
    let ctx = ctx.on_db(&args.db).printing(&args.output);
    crate::ops::backup(&ctx.paths()?.db, &args.dest, ctx.json).await
}

pub async fn demo(ctx: Ctx, args: DemoArgs) -> Result<ExitCode> {
    let ctx = ctx.under(&args.policy);
    crate::demo::run(
        &app::Paths::new(args.db, args.key),
        ctx.policy()?,
        args.force,
        args.no_serve,
        &args.bind,
    )
    .await
}
