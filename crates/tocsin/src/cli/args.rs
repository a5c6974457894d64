//! The options that say where a command acts and how it prints, one clap
//! `Args` struct per kind, flattened into the commands that use them, so a
//! command's help lists only the options it uses:
//!
//! * a **client** command talks to the server: [`Conn`] (`--server`,
//!   `--token`);
//! * an **operator** command opens the database: [`Store`] (`--db`,
//!   `--key`), or [`DbOnly`] when it only reads, and [`PolicyArg`]
//!   (`--policy`) when the policy decides what it does;
//! * [`Output`] (`--json`) wherever there is something to print as JSON.
//!
//! They are `global`, so that flattened into a group ([`Client`] for
//! `tocsin case`) they are accepted after any command of the group.
//! Written before the command (`tocsin --json case list`, as scripts do),
//! they are moved after it by [`hoist`] before clap parses.
//!
//! A leaf: it imports no other command module.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use clap::{Args, Command, Subcommand};

/// `--server` alone (for `tocsin login`, which has no token yet).
#[derive(Args, Clone, Debug, Default)]
pub struct ServerArg {
    /// The tocsin server [default: the one `tocsin login` used, else http://127.0.0.1:8080].
    #[arg(
        long,
        env = "TOCSIN_SERVER",
        global = true,
        value_name = "URL",
        help_heading = "Server"
    )]
    pub server: Option<String>,
}

/// Where a client command sends its requests, and as whom.
#[derive(Args, Clone, Debug, Default)]
pub struct Conn {
    #[command(flatten)]
    pub server: ServerArg,
    /// An API token [default: the one `tocsin login` saved for this server].
    #[arg(
        long,
        env = "TOCSIN_TOKEN",
        global = true,
        hide_env_values = true,
        value_name = "TOKEN",
        help_heading = "Server"
    )]
    pub token: Option<String>,
}

/// The database an operator command opens, and its signing key.
#[derive(Args, Clone, Debug)]
pub struct Store {
    /// The database: an SQLite file, or a PostgreSQL URL (postgres://user@host:port/database).
    #[arg(
        long,
        env = "TOCSIN_DB",
        default_value = "tocsin.db",
        global = true,
        value_name = "FILE|URL",
        help_heading = "Database"
    )]
    pub db: PathBuf,
    /// The signing key file [default for an SQLite file: its path with .key appended; required for PostgreSQL].
    #[arg(
        long,
        env = "TOCSIN_KEY",
        global = true,
        value_name = "FILE",
        help_heading = "Database"
    )]
    pub key: Option<PathBuf>,
}

/// The database a command only reads (it needs no key).
#[derive(Args, Clone, Debug)]
pub struct DbOnly {
    /// The database: an SQLite file, or a PostgreSQL URL (postgres://user@host:port/database).
    #[arg(
        long,
        env = "TOCSIN_DB",
        default_value = "tocsin.db",
        global = true,
        value_name = "FILE|URL",
        help_heading = "Database"
    )]
    pub db: PathBuf,
}

/// The policy, for the commands it decides.
#[derive(Args, Clone, Debug, Default)]
pub struct PolicyArg {
    /// A policy file to use instead of the built-in ICD 191 policy.
    #[arg(long, env = "TOCSIN_POLICY", global = true, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

/// How a command prints.
#[derive(Args, Clone, Debug, Default)]
pub struct Output {
    /// Print JSON instead of text.
    #[arg(long, global = true, display_order = 900)]
    pub json: bool,
}

/// A group of client commands (`tocsin case ...`): the server and the
/// output options, for every command of the group.
#[derive(Args)]
pub struct Client<C: Subcommand> {
    #[command(flatten)]
    pub conn: Conn,
    #[command(flatten)]
    pub output: Output,
    #[command(subcommand)]
    pub cmd: C,
}

/// A group of client commands some of which print no JSON: the server
/// options for every command; each command that prints JSON has `--json`.
#[derive(Args)]
pub struct Connected<C: Subcommand> {
    #[command(flatten)]
    pub conn: Conn,
    #[command(subcommand)]
    pub cmd: C,
}

/// A group whose commands differ in where they act (some open the
/// database, some ask the server) but all print JSON: each command has
/// its own `--db` or `--server`.
#[derive(Args)]
pub struct Printing<C: Subcommand> {
    #[command(flatten)]
    pub output: Output,
    #[command(subcommand)]
    pub cmd: C,
}

/// The long names of the options above, and whether each takes a value.
fn context_options() -> Vec<(String, bool)> {
    let kinds = [
        Conn::augment_args(Command::new("conn")),
        Store::augment_args(Command::new("store")),
        PolicyArg::augment_args(Command::new("policy")),
        Output::augment_args(Command::new("output")),
    ];
    kinds
        .iter()
        .flat_map(|c| c.get_arguments())
        .filter_map(|a| {
            a.get_long()
                .map(|l| (l.to_owned(), a.get_action().takes_values()))
        })
        .collect()
}

/// The command line with the options of [`context_options`] that come
/// before the command moved to right after it: `tocsin --db X audit
/// verify` becomes `tocsin audit verify --db X`, which is where the command
/// declares them. Everything else keeps its place; an option the command
/// does not have is then refused by clap, naming it.
pub fn hoist(args: Vec<OsString>, cli: &Command) -> Vec<OsString> {
    let known = context_options();
    let mut out = Vec::with_capacity(args.len());
    let mut moved = Vec::new();
    let mut rest = args.into_iter();
    out.extend(rest.next());
    let mut built = cli.clone();
    built.build();
    let mut cmd = &built;
    while let Some(arg) = rest.next() {
        let text = arg.to_str().unwrap_or("");
        if text == "--" {
            out.push(arg);
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, inline_value) = match long.split_once('=') {
                Some((n, _)) => (n, true),
                None => (long, false),
            };
            let takes_value = |n: &str| {
                cmd.get_arguments()
                    .find(|a| a.get_long() == Some(n))
                    .is_some_and(|a| a.get_action().takes_values())
            };
            let (target, value) = match known.iter().find(|(k, _)| k == name) {
                Some((_, v)) => (&mut moved, *v),
                None => (&mut out, takes_value(name)),
            };
            target.push(arg);
            if value && !inline_value {
                target.extend(rest.next());
            }
            continue;
        }
        if text.starts_with('-') {
            out.push(arg);
            continue;
        }
        match cmd.find_subcommand(OsStr::new(text)) {
            Some(sub) => {
                out.push(arg);
                cmd = sub;
                if !sub.has_subcommands() {
                    break;
                }
            }
            None => {
                out.push(arg);
                break;
            }
        }
    }
    out.extend(moved);
    out.extend(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli() -> Command {
        #[derive(clap::Parser)]
        struct T {
            #[arg(long, global = true)]
            now: Option<String>,
            #[command(subcommand)]
            cmd: G,
        }
        #[derive(clap::Subcommand)]
        enum G {
            Case(Client<L>),
            Init {
                #[command(flatten)]
                store: Store,
            },
        }
        #[derive(clap::Subcommand)]
        enum L {
            List,
            Show { case: String },
        }
        <T as clap::CommandFactory>::command()
    }

    fn hoisted(line: &str) -> String {
        let args = line.split(' ').map(OsString::from).collect();
        hoist(args, &cli())
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn options_before_the_command_go_after_it() {
        for (given, want) in [
            ("t --json case list", "t case list --json"),
            (
                "t --server http://h --token T case show 0190",
                "t case show --server http://h --token T 0190",
            ),
            ("t --db=x.db init", "t init --db=x.db"),
            ("t case --json show 0190", "t case show --json 0190"),
            // Other options keep their place, with their values.
            (
                "t --now 2024-01-01T00:00:00Z case list",
                "t --now 2024-01-01T00:00:00Z case list",
            ),
            ("t case list --json", "t case list --json"),
            // A value that looks like a command is a value.
            ("t --token case case list", "t case list --token case"),
            // Not a command: nothing moves past what clap will refuse.
            ("t --json nope list", "t nope --json list"),
            ("t --json", "t --json"),
        ] {
            assert_eq!(hoisted(given), want, "{given}");
        }
    }
}
