//! What the help shows beyond clap's defaults: an environment variable
//! only when it is set (and never the value of a secret).

use std::ffi::{OsStr, OsString};

use clap::Command;

use crate::app::redact_url;

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
