//! The command tree as data, for the help topics and the tests: the
//! commands that run something ([`leaves`]) and where each acts ([`Kind`],
//! from the options it declares); and wrapping the topics' text. A leaf:
//! it imports no other command module.

use clap::Command;

/// Where a command acts, as its options say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// It talks to the server (`--server`).
    Client,
    /// It opens the database (`--db` or `--key`).
    Operator,
    /// Neither.
    Local,
}

/// Options only client commands have.
pub const CLIENT_OPTIONS: &[&str] = &["server", "token"];
/// The option that makes the one command of both kinds (`account add`)
/// an operator command.
pub const OPERATOR_FLAG: &str = "--admin";

impl Kind {
    /// The kinds of the command `c` (of a built tree): one, or, for
    /// [`MIXED`], client and operator.
    pub fn of(c: &Command) -> Vec<Kind> {
        let has = |names: &[&str]| {
            c.get_arguments()
                .any(|a| a.get_long().is_some_and(|l| names.contains(&l)))
        };
        let mut kinds = Vec::new();
        if has(CLIENT_OPTIONS) {
            kinds.push(Kind::Client);
        }
        if has(&["db", "key"]) {
            kinds.push(Kind::Operator);
        }
        if kinds.is_empty() {
            kinds.push(Kind::Local);
        }
        kinds
    }
}

/// The commands of a built tree that run something (not groups, not
/// hidden, not clap's `help`), by their path (`case list`).
pub fn leaves(cli: &Command) -> Vec<(String, &Command)> {
    fn walk<'a>(c: &'a Command, path: &str, out: &mut Vec<(String, &'a Command)>) {
        for sub in c.get_subcommands() {
            if sub.is_hide_set() || sub.get_name() == "help" {
                continue;
            }
            let p = if path.is_empty() {
                sub.get_name().to_owned()
            } else {
                format!("{path} {}", sub.get_name())
            };
            if sub.has_subcommands() {
                walk(sub, &p, out);
            } else {
                out.push((p, sub));
            }
        }
    }
    let mut out = Vec::new();
    walk(cli, "", &mut out);
    out
}

/// `text` in lines of at most 80 columns, each starting with `indent`.
pub fn wrap(text: &str, indent: &str) -> String {
    let mut s = String::new();
    let mut line = String::from(indent);
    for word in text.split(' ') {
        if line.len() > indent.len() && line.len() + 1 + word.len() > 80 {
            s.push_str(line.trim_end());
            s.push('\n');
            line = String::from(indent);
        }
        if line.len() > indent.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    s.push_str(line.trim_end());
    s.push('\n');
    s
}
