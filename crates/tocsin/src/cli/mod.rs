//! The command line: the tree of commands, and which module runs each
//! group.
//!
//! Three kinds of command, told apart by the options they declare
//! ([`args`]). **Operator commands** open the database directly (`--db`,
//! `--key`): `init`, `serve`, `account add --admin` (the first admin),
//! `audit verify|checkpoint|prove|consistency`, `admin rebuild`,
//! `migrate`, `backup`, `demo`. **Local commands** need neither database
//! nor server: `policy show|check`, `report schema|example`, `help`.
//! **Everything else** acts through the HTTP API as an account
//! (`--server`, a token from `tocsin login` or `TOCSIN_TOKEN`), so the same
//! access policy and two-person rules hold on every path; those commands
//! read every answer into the types the server writes. A help page lists
//! only its command's options; the tests in [`help`] walk the tree to keep
//! it so.
//!
//! Each group's clap enum lives with its handlers in a module of its own;
//! [`args`], [`context`], [`input`] and [`tree`] are leaves the others share, and no
//! command module imports this one.

use std::process::ExitCode;

use anyhow::Result;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

mod accounts;
mod args;
mod audit;
mod case;
mod context;
mod contribution;
mod delivery;
mod disposal;
mod dispute;
mod exchange;
mod help;
mod input;
mod notice;
mod operator;
mod records;
mod records_export;
mod reference;
mod report;
mod roles;
mod screening;
mod session;
mod taxii;
mod tree;
mod warning;

use args::{Client, Conn, Connected, Output, Printing};
use context::Ctx;

const ABOUT: &str = "tocsin: a system of record for the duty to warn.

Threat reports go in; a determination with a rule trace comes out; waivers
need a second person; a sanitised warning is drafted, approved, delivered and
answered; every step lands in a tamper-evident, verifiable ledger.

Start with `tocsin demo` (a server with the Kerman and Crocus cases), or
`tocsin init`, `tocsin account add --admin NAME`, `tocsin serve`, `tocsin login`.";

const AFTER_HELP: &str = "Each command lists its own options: `tocsin help case list`. Options may
also come before the command (`tocsin --json case list`).
Topics: `tocsin help roles` (who may run what), `tocsin help environment`
(the TOCSIN_* variables).";

#[derive(Parser)]
#[command(
    name = "tocsin",
    version,
    about = "A system of record for the duty to warn",
    long_about = ABOUT,
    after_help = AFTER_HELP,
    disable_help_subcommand = true,
    help_expected = true
)]
struct Cli {
    /// Use this fixed time as "now" (RFC 3339). For exercises, replays and tests.
    #[arg(long, env = "TOCSIN_NOW", global = true, hide = true)]
    now: Option<String>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a new database and its signing key.
    Init(operator::InitArgs),
    /// Run the HTTP API server.
    Serve(operator::ServeArgs),
    /// Log in to a server and keep an API token for the other commands.
    Login(session::LoginArgs),
    /// Set a password of your own with the one-time enrolment secret an admin gave you, and log in.
    Enrol(session::EnrolArgs),
    /// Forget the saved token (and revoke it on the server).
    Logout(Output),
    /// Who the server says you are.
    Whoami {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        output: Output,
    },
    /// Accounts (the first admin directly in the database; the rest through the API).
    #[command(alias = "user")]
    Account(Client<accounts::AccountCmd>),
    /// Elements (organisations).
    Element(Client<accounts::ElementCmd>),
    /// API tokens for machines.
    Token(Client<accounts::TokenCmd>),
    /// The deployment's clearance levels.
    Clearance(Client<accounts::ClearanceCmd>),
    /// Threat reports: submit, the intake schema, a worked example.
    #[command(subcommand)]
    Report(report::ReportCmd),
    /// Cases: list, show, assess, determine, re-assess, hand off, sweep.
    Case(Client<case::CaseCmd>),
    /// Waivers of the duty (two-person).
    Waiver(Client<case::WaiverCmd>),
    /// Reports sent to another element's case: submit, status, and the lead element's list, accept, decline.
    Contribution(Client<contribution::ContributionCmd>),
    /// Disputes between elements, for an arbiter: raise, list, resolve.
    Dispute(Client<dispute::DisputeCmd>),
    /// The route a warning takes.
    Route(Client<delivery::RouteCmd>),
    /// Reference data: relations between states, the recipients directory.
    Reference(Client<reference::ReferenceCmd>),
    /// Escalation notices: where they are sent (targets), and those not yet delivered.
    #[command(alias = "notify")]
    Notice(Client<notice::NoticeCmd>),
    /// Warning texts: check, draft, approve, show.
    Warning(Connected<warning::WarningCmd>),
    /// Delivery of the warning, per hop.
    Delivery(Client<delivery::DeliveryCmd>),
    /// The recipient's responses.
    Response(Client<delivery::ResponseCmd>),
    /// The public-advisory ("no double standard") decision.
    Advisory(Client<delivery::AdvisoryCmd>),
    /// What happened in the end.
    Outcome(Client<delivery::OutcomeCmd>),
    /// The tamper-evident ledger: verify, checkpoints, proofs, the access log.
    Audit(Printing<audit::AuditCmd>),
    /// The policy the duty is decided under.
    Policy(Printing<operator::PolicyCmd>),
    /// Records management: retention schedules, legal holds, the records officer's report, disposal, the oversight export and its verification, redactions for release.
    Records(Client<records::RecordsCmd>),
    /// Operator tasks.
    #[command(subcommand)]
    Admin(operator::AdminCmd),
    /// Screen a name against the registries (watch lists and directories), in any script.
    Screen(screening::ScreenArgs),
    /// Registries (watch lists, directories): import a new version, list them.
    Registry(Client<screening::RegistryCmd>),
    /// TAXII 2.1: the collections `tocsin serve` offers, publishing a case to one, pulling a partner's.
    Taxii(Client<taxii::TaxiiCmd>),
    /// Copy a whole deployment into a new database (another backend, too), then verify the copy.
    Migrate(operator::MigrateArgs),
    /// Back up the SQLite database to a new file (online: safe while the server runs).
    Backup(operator::BackupArgs),
    /// A demonstration deployment: the Kerman and Crocus cases with demo accounts, then the server.
    Demo(operator::DemoArgs),
    /// Help on a command, or a topic: roles (who may run what), environment (the variables tocsin reads).
    Help(help::HelpArgs),
}

/// The command tree, as clap parses it and as the help shows it.
fn command() -> clap::Command {
    help::env_when_set(Cli::command(), &|name: &std::ffi::OsStr| {
        std::env::var_os(name)
    })
}

pub fn main() -> ExitCode {
    let cli = command();
    let matches = cli.get_matches_from(args::hoist(std::env::args_os().collect(), &command()));
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
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
    let ctx = Ctx::new(now);
    // A group of client commands: its server and output options.
    let client = |conn: &Conn, output: &Output| ctx.clone().on_server(conn).printing(output);
    match cli.command {
        Cmd::Init(args) => operator::init(ctx, args).await,
        Cmd::Serve(args) => operator::serve(ctx, args).await,
        Cmd::Login(args) => session::login(ctx, args).await,
        Cmd::Enrol(args) => session::enrol(ctx, args).await,
        Cmd::Logout(output) => session::logout(&ctx.printing(&output)).await,
        Cmd::Whoami { conn, output } => session::whoami(&client(&conn, &output)).await,
        Cmd::Account(g) => accounts::account(&client(&g.conn, &g.output), g.cmd).await,
        Cmd::Element(g) => accounts::element(&client(&g.conn, &g.output), g.cmd).await,
        Cmd::Token(g) => accounts::token(&client(&g.conn, &g.output), g.cmd).await,
        Cmd::Clearance(g) => accounts::clearance(&client(&g.conn, &g.output), g.cmd).await,
        Cmd::Report(cmd) => report::report(ctx, cmd).await,
        Cmd::Case(g) => case::case(&client(&g.conn, &g.output), g.cmd).await,
        Cmd::Waiver(g) => case::waiver(&client(&g.conn, &g.output), g.cmd).await,
        Cmd::Contribution(g) => {
            contribution::contribution(&client(&g.conn, &g.output), g.cmd).await
        }
        Cmd::Dispute(g) => dispute::dispute(&client(&g.conn, &g.output), g.cmd).await,
        Cmd::Route(g) => delivery::route(&client(&g.conn, &g.output), g.cmd).await,
        Cmd::Reference(g) => reference::reference(&client(&g.conn, &g.output), g.cmd).await,
        Cmd::Notice(g) => notice::notice(&client(&g.conn, &g.output), g.cmd).await,
        Cmd::Warning(g) => warning::warning(ctx.clone().on_server(&g.conn), g.cmd).await,
        Cmd::Delivery(g) => delivery::delivery(&client(&g.conn, &g.output), g.cmd).await,
        Cmd::Response(g) => delivery::response(&client(&g.conn, &g.output), g.cmd).await,
        Cmd::Advisory(g) => delivery::advisory(&client(&g.conn, &g.output), g.cmd).await,
        Cmd::Outcome(g) => delivery::outcome(&client(&g.conn, &g.output), g.cmd).await,
        Cmd::Audit(g) => audit::audit(ctx.clone().printing(&g.output), g.cmd).await,
        Cmd::Policy(g) => operator::policy(ctx.clone().printing(&g.output), g.cmd),
        Cmd::Records(g) => records::records(&client(&g.conn, &g.output), g.cmd).await,
        Cmd::Admin(cmd) => operator::admin(ctx, cmd).await,
        Cmd::Screen(args) => screening::screen(ctx, args).await,
        Cmd::Registry(g) => screening::registry(&client(&g.conn, &g.output), g.cmd).await,
        Cmd::Taxii(g) => taxii::taxii(&client(&g.conn, &g.output), g.cmd).await,
        Cmd::Migrate(args) => operator::migrate(ctx, args).await,
        Cmd::Backup(args) => operator::backup(ctx, args).await,
        Cmd::Demo(args) => operator::demo(ctx, args).await,
        Cmd::Help(args) => help::help(command(), args),
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
