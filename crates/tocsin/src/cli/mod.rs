//! The command line: the global options, the tree of commands, and which
//! module runs each group.
//!
//! Two kinds of command. **Operator commands** open the database directly:
//! `init`, `serve`, `account add --admin` (the first admin), `audit verify`,
//! `audit checkpoint|prove|consistency`, `admin rebuild`, `migrate`,
//! `backup`, `demo`, and the local `policy` and `report schema`.
//! **Everything else** acts through the HTTP API as an account
//! (`--server`, a token from `tocsin login` or `TOCSIN_TOKEN`), so the same
//! access policy and two-person rules hold on every path; those commands
//! read every answer into the types the server writes.
//!
//! Each group's clap enum lives with its handlers in a module of its own;
//! [`context`] and [`input`] are leaves the others share, and no command
//! module imports this one.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

mod accounts;
mod audit;
mod case;
mod context;
mod delivery;
mod input;
mod notice;
mod operator;
mod reference;
mod report;
mod screening;
mod session;
mod warning;

use context::Ctx;

const ABOUT: &str = "tocsin: a system of record for the duty to warn.

Threat reports go in; a determination with a rule trace comes out; waivers
need a second person; a sanitised warning is drafted, approved, delivered and
answered; every step lands in a tamper-evident, verifiable ledger.

Start with `tocsin demo` (a server with the Kerman and Crocus cases), or
`tocsin init`, `tocsin account add --admin NAME`, `tocsin serve`, `tocsin login`.";

#[derive(Parser)]
#[command(name = "tocsin", version, about = "A system of record for the duty to warn", long_about = ABOUT)]
struct Cli {
    /// The database (operator commands): an SQLite file, or a PostgreSQL URL
    /// (postgres://user@host:port/database).
    #[arg(
        long,
        env = "TOCSIN_DB",
        default_value = "tocsin.db",
        global = true,
        hide_env_values = true
    )]
    db: PathBuf,
    /// The signing key file (default for an SQLite file: its path with `.key` appended; required for PostgreSQL).
    #[arg(long, env = "TOCSIN_KEY", global = true)]
    key: Option<PathBuf>,
    /// A policy file to use instead of the built-in ICD 191 policy.
    #[arg(long, env = "TOCSIN_POLICY", global = true)]
    policy: Option<PathBuf>,
    /// The tocsin server (default: the one `tocsin login` used, else http://127.0.0.1:8080).
    #[arg(long, env = "TOCSIN_SERVER", global = true)]
    server: Option<String>,
    /// An API token (default: the one `tocsin login` saved).
    #[arg(long, env = "TOCSIN_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Use this fixed time as "now" (RFC 3339). For exercises, replays and tests.
    #[arg(long, env = "TOCSIN_NOW", global = true, hide = true)]
    now: Option<String>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a new database and its signing key.
    Init {
        /// The checkpoint origin line (default: tocsin.local/<deployment id>).
        #[arg(long)]
        origin: Option<String>,
    },
    /// Run the HTTP API server.
    Serve(operator::ServeArgs),
    /// Log in to a server and keep an API token for the other commands.
    Login(session::LoginArgs),
    /// Forget the saved token (and revoke it on the server).
    Logout,
    /// Who the server says you are.
    Whoami,
    /// Accounts (the first admin directly in the database; the rest through the API).
    #[command(subcommand, alias = "user")]
    Account(accounts::AccountCmd),
    /// Elements (organisations).
    #[command(subcommand)]
    Element(accounts::ElementCmd),
    /// API tokens for machines.
    #[command(subcommand)]
    Token(accounts::TokenCmd),
    /// The deployment's clearance levels.
    #[command(subcommand)]
    Clearance(accounts::ClearanceCmd),
    /// Threat reports: submit, and the intake schema.
    #[command(subcommand)]
    Report(report::ReportCmd),
    /// Cases: list, show, assess, determine, re-assess, hand off, sweep.
    #[command(subcommand)]
    Case(case::CaseCmd),
    /// Waivers of the duty (two-person).
    #[command(subcommand)]
    Waiver(case::WaiverCmd),
    /// The route a warning takes.
    #[command(subcommand)]
    Route(delivery::RouteCmd),
    /// Reference data: relations between states, the recipients directory.
    #[command(subcommand)]
    Reference(reference::ReferenceCmd),
    /// Escalation notices: where they are sent (targets), and those not yet delivered.
    #[command(subcommand, alias = "notify")]
    Notice(notice::NoticeCmd),
    /// Warning texts: check, draft, approve, show.
    #[command(subcommand)]
    Warning(warning::WarningCmd),
    /// Delivery of the warning, per hop.
    #[command(subcommand)]
    Delivery(delivery::DeliveryCmd),
    /// The recipient's responses.
    #[command(subcommand)]
    Response(delivery::ResponseCmd),
    /// The public-advisory ("no double standard") decision.
    #[command(subcommand)]
    Advisory(delivery::AdvisoryCmd),
    /// What happened in the end.
    #[command(subcommand)]
    Outcome(delivery::OutcomeCmd),
    /// The tamper-evident ledger: verify, checkpoints, proofs, the access log.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// The policy the duty is decided under.
    #[command(subcommand)]
    Policy(operator::PolicyCmd),
    /// Operator tasks.
    #[command(subcommand)]
    Admin(operator::AdminCmd),
    /// Screen a name against the registries (watch lists and directories), in any script.
    Screen(screening::ScreenArgs),
    /// Registries (watch lists, directories): import a new version, list them.
    #[command(subcommand)]
    Registry(screening::RegistryCmd),
    /// Copy a whole deployment into a new database (another backend, too), then verify the copy.
    Migrate(operator::MigrateArgs),
    /// Back up the SQLite database to a new file (online: safe while the server runs).
    Backup {
        /// The backup file to create.
        dest: PathBuf,
    },
    /// A demonstration deployment: the Kerman and Crocus cases with demo accounts, then the server.
    Demo(operator::DemoArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        // The reader stopped reading (`tocsin ... | head`): not a failure.
        Err(e) if crate::out::is_closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let now = cli
        .now
        .as_deref()
        .map(|s| input::parse_time("--now", s))
        .transpose()?;
    let ctx = Ctx {
        paths: crate::app::Paths::new(cli.db, cli.key.clone()),
        policy_path: cli.policy,
        server: cli.server,
        token: cli.token,
        json: cli.json,
        now,
    };
    match cli.command {
        Cmd::Init { origin } => operator::init(&ctx, origin).await,
        Cmd::Serve(args) => operator::serve(&ctx, args).await,
        Cmd::Login(args) => session::login(&ctx, args).await,
        Cmd::Logout => session::logout(&ctx).await,
        Cmd::Whoami => session::whoami(&ctx).await,
        Cmd::Account(cmd) => accounts::account(&ctx, cmd).await,
        Cmd::Element(cmd) => accounts::element(&ctx, cmd).await,
        Cmd::Token(cmd) => accounts::token(&ctx, cmd).await,
        Cmd::Clearance(cmd) => accounts::clearance(&ctx, cmd).await,
        Cmd::Report(cmd) => report::report(&ctx, cmd).await,
        Cmd::Case(cmd) => case::case(&ctx, cmd).await,
        Cmd::Waiver(cmd) => case::waiver(&ctx, cmd).await,
        Cmd::Route(cmd) => delivery::route(&ctx, cmd).await,
        Cmd::Reference(cmd) => reference::reference(&ctx, cmd).await,
        Cmd::Notice(cmd) => notice::notice(&ctx, cmd).await,
        Cmd::Warning(cmd) => warning::warning(&ctx, cmd).await,
        Cmd::Delivery(cmd) => delivery::delivery(&ctx, cmd).await,
        Cmd::Response(cmd) => delivery::response(&ctx, cmd).await,
        Cmd::Advisory(cmd) => delivery::advisory(&ctx, cmd).await,
        Cmd::Outcome(cmd) => delivery::outcome(&ctx, cmd).await,
        Cmd::Audit(cmd) => audit::audit(&ctx, cmd).await,
        Cmd::Policy(cmd) => operator::policy(&ctx, cmd),
        Cmd::Admin(cmd) => operator::admin(&ctx, cmd).await,
        Cmd::Screen(args) => screening::screen(&ctx, args).await,
        Cmd::Registry(cmd) => screening::registry(&ctx, cmd).await,
        Cmd::Migrate(args) => operator::migrate(&ctx, args, cli.key).await,
        Cmd::Backup { dest } => crate::ops::backup(&ctx.paths.db, &dest, ctx.json).await,
        Cmd::Demo(args) => operator::demo(&ctx, args).await,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn the_command_tree_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn old_words_are_hidden_aliases() {
        let help = Cli::command().render_long_help().to_string();
        assert!(
            help.contains("account") && help.contains("notice"),
            "{help}"
        );
        assert!(
            !help.contains(" user ") && !help.contains("notify"),
            "{help}"
        );
        for old in [
            "tocsin user list",
            "tocsin notify set desk --email a@example.org",
            "tocsin notify targets",
            "tocsin notify remove desk",
            "tocsin notify list --status failed",
            "tocsin case handoff 0190 --owner a --element E --reason r",
        ] {
            if let Err(e) = <Cli as clap::Parser>::try_parse_from(old.split(' ')) {
                panic!("{old}: {e}");
            }
        }
    }
}
