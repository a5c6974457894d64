//! Reference data, as `tocsin reference relations|directory`: the
//! relations between our state and the others, and the recipients
//! directory (printed, or replaced from a file).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tocsin_domain::reference::{Directory, Relations};

use super::context::Ctx;
use super::input::{from_json_with_path, read_input};

#[derive(Subcommand)]
pub enum ReferenceCmd {
    /// Print the relations between our state and the others.
    Relations {
        /// Replace them with this JSON file (as printed by --json).
        #[arg(long)]
        set: Option<PathBuf>,
    },
    /// Print the recipients directory.
    Directory {
        /// Replace it with this JSON file (as printed by --json).
        #[arg(long)]
        set: Option<PathBuf>,
    },
}

pub async fn reference(ctx: &Ctx, cmd: ReferenceCmd) -> Result<ExitCode> {
    match cmd {
        ReferenceCmd::Relations { set } => {
            show_or_set::<Relations>(ctx, "/api/v1/reference/relations", set).await
        }
        ReferenceCmd::Directory { set } => {
            show_or_set::<Directory>(ctx, "/api/v1/reference/directory", set).await
        }
    }
}

/// Prints the reference data at `path`, after replacing it with the
/// contents of `set` if given.
async fn show_or_set<T: Serialize + DeserializeOwned>(
    ctx: &Ctx,
    path: &str,
    set: Option<PathBuf>,
) -> Result<ExitCode> {
    let c = ctx.client()?;
    let data: T = match set {
        Some(f) => {
            let body: T = from_json_with_path(&read_input(&f)?)
                .with_context(|| format!("{}", f.display()))?;
            c.put(path, &body).await?
        }
        None => c.get(path).await?,
    };
    ctx.emit(&data, |d| {
        serde_json::to_string_pretty(d).unwrap_or_default()
    })?;
    Ok(ExitCode::SUCCESS)
}
