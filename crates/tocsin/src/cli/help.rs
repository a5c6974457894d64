//! The help beyond clap's defaults: `tocsin help [COMMAND | TOPIC]` with
//! the topics `roles` ([`super::roles`]) and `environment`; an
//! environment variable shown in a help page only when it is set (never
//! with a secret's value). Its tests walk the command tree: every
//! argument has a description, and no help page lists an option its
//! command ignores.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Command};

use super::tree::{leaves, wrap};
use crate::app::redact_url;
use crate::out;

/// Exit code for a usage error (as clap's own).
const EXIT_USAGE: u8 = 2;

#[derive(Args)]
pub struct HelpArgs {
    /// A command (e.g. `case list`), or a topic: roles (who may run what), environment (the TOCSIN_* variables).
    #[arg(value_name = "COMMAND|TOPIC")]
    words: Vec<String>,
}

/// The help topics, with what each covers.
pub const TOPICS: &[(&str, &str)] = &[
    ("roles", "who may run what"),
    ("environment", "the environment variables tocsin reads"),
];

/// `tocsin help ...`: a topic, or the help of a command of `cli`.
pub fn help(mut cli: Command, args: HelpArgs) -> Result<ExitCode> {
    cli.build();
    let words: Vec<&str> = args.words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["roles"] => out::text(super::roles::topic(&cli))?,
        ["environment" | "env"] => out::text(environment(&cli))?,
        path => {
            let mut cmd = &cli;
            for (i, w) in path.iter().enumerate() {
                match cmd.find_subcommand(w) {
                    Some(sub) => cmd = sub,
                    None => {
                        let topics: Vec<&str> = TOPICS.iter().map(|(t, _)| *t).collect();
                        eprintln!(
                            "error: `{}` is neither a command nor a help topic (topics: {}; commands: tocsin --help)",
                            path[..=i].join(" "),
                            topics.join(", ")
                        );
                        return Ok(ExitCode::from(EXIT_USAGE));
                    }
                }
            }
            out::text(cmd.clone().render_long_help())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Variables tocsin reads itself rather than through an option.
pub const READ_IN_CODE: &[(&str, &str)] = &[
    (
        "TOCSIN_PASSWORD",
        "A password for `tocsin login`, the new one for `tocsin enrol`, the first admin's for `account add --admin`, and the one-time one for `account password`, instead of a prompt or --password-stdin.",
    ),
    (
        "TOCSIN_ENROLMENT_SECRET",
        "The one-time enrolment secret for `tocsin enrol`, instead of --secret or a prompt.",
    ),
    (
        "TOCSIN_CONFIG_DIR",
        "Where `tocsin login` keeps its token (credentials.json, owner-only) [default: $XDG_CONFIG_HOME/tocsin, else ~/.config/tocsin].",
    ),
    (
        "RUST_LOG",
        "Which log lines `tocsin serve` writes, e.g. info or tocsin_server=debug [default: info].",
    ),
];

/// The text of `tocsin help environment`, for the command tree `cli`
/// (built): every variable an option reads, with the option and the
/// commands that have it, then those read in code.
fn environment(cli: &Command) -> String {
    // Variable -> (option, description, commands).
    let mut vars: BTreeMap<String, (String, String, Vec<String>)> = BTreeMap::new();
    for (path, c) in leaves(cli) {
        for a in c.get_arguments() {
            let Some(var) = a.get_env() else { continue };
            let entry = vars
                .entry(var.to_string_lossy().into_owned())
                .or_insert_with(|| {
                    (
                        a.get_long().map(|l| format!("--{l}")).unwrap_or_default(),
                        a.get_help().map(|h| h.to_string()).unwrap_or_default(),
                        Vec::new(),
                    )
                });
            entry.2.push(path.clone());
        }
    }
    let mut s = wrap(
        "Environment variables tocsin reads. An option given on the command line wins over \
its variable; a help page shows a variable only when it is set.",
        "",
    );
    for (var, (option, about, commands)) in &vars {
        let _ = write!(
            s,
            "\n{var}\n{}{}",
            wrap(&format!("{option}: {about}"), "    "),
            wrap(
                &format!("used by: {}", group(cli, commands).join(", ")),
                "    "
            )
        );
    }
    for (var, about) in READ_IN_CODE {
        let _ = write!(s, "\n{var}\n{}", wrap(about, "    "));
    }
    s
}

/// `commands` with every group all of whose commands are listed named
/// once (`case` for `case list`, `case show`, ...).
fn group(cli: &Command, commands: &[String]) -> Vec<String> {
    let every = leaves(cli);
    if every.iter().all(|(p, _)| commands.contains(p)) {
        return vec!["every command".to_owned()];
    }
    let mut out: Vec<String> = Vec::new();
    for path in commands {
        let top = path.split(' ').next().unwrap_or(path);
        let in_group: Vec<&String> = every
            .iter()
            .map(|(p, _)| p)
            .filter(|p| p.split(' ').next() == Some(top))
            .collect();
        let all = in_group.len() > 1 && in_group.iter().all(|p| commands.contains(p));
        let name = if all { top.to_owned() } else { path.clone() };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// `cmd` with each option's `[env: NAME=value]` shown only when `NAME` is
/// set in `env`, and its value only when it is no secret: not a token
/// (`hide_env_values` in its definition) and not a URL with a password.
pub fn env_when_set(mut cmd: Command, env: &impl Fn(&OsStr) -> Option<OsString>) -> Command {
    let ids: Vec<_> = cmd
        .get_arguments()
        .filter(|a| a.get_env().is_some())
        .map(|a| a.get_id().clone())
        .collect();
    for id in ids {
        cmd = cmd.mut_arg(id, |a| {
            let Some(value) = a.get_env().and_then(env) else {
                return a.hide_env(true);
            };
            let shown = value.to_string_lossy();
            if a.is_hide_env_values_set() || redact_url(&shown) != shown {
                a.hide_env_values(true)
            } else {
                a
            }
        });
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, |s| env_when_set(s, env));
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::super::tree::{CLIENT_OPTIONS, Kind, OPERATOR_FLAG};
    use super::*;

    /// Options only operator commands have (`--policy` also local ones).
    const OPERATOR_OPTIONS: &[&str] = &["db", "key", "policy"];
    /// The one command of both kinds.
    const MIXED: &str = "account add";

    fn built(env: &impl Fn(&OsStr) -> Option<OsString>) -> Command {
        let mut cli = env_when_set(<super::super::Cli as clap::CommandFactory>::command(), env);
        cli.build();
        cli
    }

    fn no_env(_: &OsStr) -> Option<OsString> {
        None
    }

    #[test]
    fn every_argument_and_option_has_a_description() {
        let cli = built(&no_env);
        let mut missing = Vec::new();
        fn walk(c: &Command, path: &str, missing: &mut Vec<String>) {
            for a in c.get_arguments() {
                let about = a.get_help().map(|h| h.to_string()).unwrap_or_default();
                if about.trim().is_empty() {
                    missing.push(format!("tocsin {path} {}", a.get_id()));
                }
            }
            for sub in c.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        walk(&cli, "", &mut missing);
        assert!(missing.is_empty(), "without a description: {missing:#?}");
    }

    #[test]
    fn client_commands_list_no_operator_option_and_operator_commands_no_client_option() {
        let cli = built(&no_env);
        let mut wrong = Vec::new();
        for (path, c) in leaves(&cli) {
            let kinds = Kind::of(c);
            let longs: Vec<&str> = c.get_arguments().filter_map(|a| a.get_long()).collect();
            let client = longs.iter().any(|l| CLIENT_OPTIONS.contains(l));
            let operator = longs.iter().any(|l| OPERATOR_OPTIONS.contains(l));
            if client && operator && path != MIXED {
                wrong.push(format!("tocsin {path}: {longs:?}"));
            }
            if kinds.contains(&Kind::Operator) && longs.contains(&"json") && path == "serve" {
                wrong.push(format!("tocsin {path} prints no JSON: {longs:?}"));
            }
        }
        assert!(wrong.is_empty(), "mixed options: {wrong:#?}");
        // The mixed command is one through its flag.
        let (_, add) = leaves(&cli).into_iter().find(|(p, _)| p == MIXED).unwrap();
        assert!(
            add.get_arguments()
                .any(|a| a.get_long() == Some(&OPERATOR_FLAG[2..]))
        );
        // As the issue asks: serve and init have no --server or --token,
        // case list no --db, --key or --policy.
        let find = |p: &str| leaves(&cli).into_iter().find(|(x, _)| x == p).unwrap().1;
        for p in ["serve", "init", "audit verify", "backup", "migrate", "demo"] {
            assert_eq!(Kind::of(find(p)), [Kind::Operator], "{p}");
        }
        for p in [
            "case list",
            "warning draft",
            "screen",
            "audit access",
            "report submit",
        ] {
            assert_eq!(Kind::of(find(p)), [Kind::Client], "{p}");
        }
        for p in ["policy show", "policy check", "report schema"] {
            assert_eq!(Kind::of(find(p)), [Kind::Local], "{p}");
        }
    }

    /// Which annotation shows, with a stand-in environment. (Clap reads
    /// the values themselves from the real one: the integration test
    /// `the_help_shows_a_variable_only_when_set_and_never_a_secret` checks
    /// them.)
    #[test]
    fn an_environment_variable_shows_only_when_set_and_a_secret_never() {
        let page = |env: &dyn Fn(&OsStr) -> Option<OsString>, path: &[&str]| {
            let mut c = built(&|n: &OsStr| env(n));
            for p in path {
                c = c.find_subcommand(p).unwrap().clone();
            }
            // One line, so that wrapping does not matter.
            c.render_long_help()
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        let unset = page(&no_env, &["case", "list"]);
        assert!(!unset.contains("TOCSIN_"), "{unset}");
        let set = |pairs: &'static [(&'static str, &'static str)]| {
            move |n: &OsStr| {
                pairs
                    .iter()
                    .find(|(k, _)| OsStr::new(k) == n)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let env = set(&[
            ("TOCSIN_SERVER", "http://10.0.0.1:8080"),
            ("TOCSIN_TOKEN", "tsn_s3cret"),
        ]);
        let shown = page(&env, &["case", "list"]);
        assert!(shown.contains("[env: TOCSIN_SERVER="), "{shown}");
        assert!(shown.contains("[env: TOCSIN_TOKEN]"), "{shown}");
        let env = set(&[("TOCSIN_DB", "postgres://tocsin:s3cret@db/tocsin")]);
        let shown = page(&env, &["audit", "verify"]);
        assert!(shown.contains("[env: TOCSIN_DB]"), "{shown}");
        assert!(!shown.contains("TOCSIN_KEY"), "{shown}");
        let env = set(&[("TOCSIN_DB", "/var/lib/tocsin/tocsin.db")]);
        let shown = page(&env, &["audit", "verify"]);
        assert!(shown.contains("[env: TOCSIN_DB="), "{shown}");
    }

    #[test]
    fn the_environment_topic_names_every_variable_the_code_reads() {
        let cli = built(&no_env);
        let topic = environment(&cli);
        // Every TOCSIN_* name in the source is in the topic.
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut names = std::collections::BTreeSet::new();
        fn scan(dir: &std::path::Path, names: &mut std::collections::BTreeSet<String>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    scan(&p, names);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    for (i, _) in text.match_indices("\"TOCSIN_") {
                        let rest = &text[i + 1..];
                        let end = rest
                            .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                            .unwrap_or(rest.len());
                        if end > "TOCSIN_".len() {
                            names.insert(rest[..end].to_owned());
                        }
                    }
                }
            }
        }
        scan(std::path::Path::new(src), &mut names);
        assert!(names.len() > 8, "{names:?}");
        for n in &names {
            assert!(
                topic.contains(&format!("\n{n}\n")),
                "{n} is read but `tocsin help environment` does not say so:\n{topic}"
            );
        }
        for want in [
            "TOCSIN_KEY\n    --key: The signing key file",
            "TOCSIN_TOKEN\n    --token: An API token",
            "used by: login, enrol, whoami, account",
            "TOCSIN_PASSWORD",
        ] {
            assert!(topic.contains(want), "missing {want:?} in:\n{topic}");
        }
    }
}
