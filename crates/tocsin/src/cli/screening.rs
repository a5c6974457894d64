//! Screening names, as `tocsin screen` and `tocsin registry import|list`:
//! clients of the HTTP API like every other non-operator command.
//!
//! An import reads the files, parses them here first (a malformed file
//! stops at once with its line, record and reason, and a progress bar on a
//! terminal shows how far it got), then sends their text to the server,
//! which parses them again and stores the new version atomically.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::builder::PossibleValuesParser;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use tocsin_server::api::screening::{
    ImportBody, ImportFileBody, ImportView, RegistryList, ScreenBody, ScreenView,
};
use tocsin_service::screening::{self, EntryKind, RegistryKind};

use super::args::{Conn, Output};
use super::context::Ctx;
use super::input::wire_names;

#[derive(Args)]
pub struct ScreenArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    output: Output,
    /// The name to screen, in any script, e.g. "Умаров Доку".
    name: String,
    /// Only these registries, by name (repeat or comma-separate) [default: all].
    #[arg(long = "registry", value_delimiter = ',', value_name = "NAME")]
    registries: Vec<String>,
    /// Most hits shown (1 to 100).
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// Drop hits scoring below this, from 0 to 1 [default: 0.72, the calibrated threshold].
    #[arg(long, value_name = "SCORE")]
    min_score: Option<f32>,
    /// Only entries of this kind.
    #[arg(long, value_parser = PossibleValuesParser::new(wire_names::<EntryKind>()))]
    kind: Option<String>,
}

#[derive(Subcommand)]
pub enum RegistryCmd {
    /// Import a watch list or directory as a new version of registry NAME
    /// (replaces the current version atomically; a malformed file changes nothing).
    Import {
        /// The format: ofac (sdn.csv [alt.csv]), un (consolidated XML) or directory (CSV id,name,aliases,kind,country, or JSON lines).
        #[arg(long, value_parser = PossibleValuesParser::new(wire_names::<RegistryKind>()))]
        kind: String,
        /// The registry's name (a-z, 0-9, '.', '_', '-').
        #[arg(long)]
        name: String,
        /// The files of the list, in the format of --kind.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// The registries with their current version, hash and counts.
    List,
}

pub async fn registry(ctx: &Ctx, cmd: RegistryCmd) -> Result<ExitCode> {
    match cmd {
        RegistryCmd::List => {
            let r: RegistryList = ctx.client()?.get("/api/v1/registries").await?;
            ctx.emit(&r, registries_text)?;
            Ok(ExitCode::SUCCESS)
        }
        RegistryCmd::Import { kind, name, files } => {
            let k = RegistryKind::parse(&kind)
                .ok_or_else(|| anyhow!("--kind {kind}: give ofac, un or directory"))?;
            screening::check_name(&name)?;
            let mut inputs = Vec::new();
            for p in &files {
                let bytes =
                    std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
                let file_name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| p.display().to_string());
                inputs.push(screening::decode_file(&file_name, bytes));
            }
            let total: u64 = inputs.iter().map(|f| f.text.len() as u64).sum();
            // On standard error, and only when it is a terminal.
            let bar = ProgressBar::new(total).with_style(
                ProgressStyle::with_template("parsing [{bar:25}] {percent:>3}%  {msg}")?
                    .progress_chars("# "),
            );
            let show = |bytes: u64, records: u64| {
                bar.set_position(bytes.min(total));
                bar.set_message(format!(
                    "{:.1}/{:.1} MB  {records} records",
                    bytes.min(total) as f64 / 1e6,
                    total as f64 / 1e6
                ));
            };
            let parsed = screening::parse_registry(k, &name, &inputs, |p| {
                if !bar.is_hidden() {
                    show(p.bytes, p.records);
                }
            });
            let done = |msg: String| -> Result<()> {
                bar.set_style(ProgressStyle::with_template("{msg}")?);
                bar.finish_with_message(msg);
                Ok(())
            };
            let reg = match parsed {
                Ok(r) => r,
                Err(e) => {
                    done("parsing failed".into())?;
                    return Err(anyhow!("{e}"));
                }
            };
            done(format!(
                "parsed {} entries, {} names; sending to the server",
                reg.len(),
                reg.name_count()
            ))?;
            drop(reg);
            let body = ImportBody {
                kind: k.as_str().to_owned(),
                name,
                files: inputs
                    .into_iter()
                    .map(|f| ImportFileBody {
                        name: f.name,
                        text: f.text,
                    })
                    .collect(),
            };
            let r: ImportView = ctx.client()?.post("/api/v1/registries", &body).await?;
            ctx.emit(&r, |r| {
                let reg = &r.registry.registry;
                let mut s = format!(
                    "imported registry {} version {}: {} entries, {} names (sha256 {}; ledger position {})",
                    reg.name, reg.version, r.registry.entries, r.registry.names, reg.sha256, r.position,
                );
                if let Some(old) = &r.replaced {
                    let _ = write!(
                        s,
                        "\nreplaces version {} (sha256 {})",
                        old.version, old.sha256
                    );
                }
                s
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn registries_text(r: &RegistryList) -> String {
    if r.items.is_empty() {
        return "no registries (import one with `tocsin registry import`)".into();
    }
    let mut s = format!(
        "{:<20} {:<10} {:>7} {:>9} {:>9}  {:<16} IMPORTED\n",
        "NAME", "KIND", "VERSION", "ENTRIES", "NAMES", "SHA256"
    );
    for i in &r.items {
        let reg = &i.registry;
        let _ = writeln!(
            s,
            "{:<20} {:<10} {:>7} {:>9} {:>9}  {:<16} {} by {}",
            reg.name,
            reg.kind,
            reg.version,
            i.entries,
            i.names,
            &reg.sha256[..16.min(reg.sha256.len())],
            i.imported_at,
            i.imported_by.as_str(),
        );
    }
    s.trim_end().to_owned()
}

pub async fn screen(ctx: Ctx, args: ScreenArgs) -> Result<ExitCode> {
    let ScreenArgs {
        conn,
        output,
        name,
        registries,
        limit,
        min_score,
        kind,
    } = args;
    let ctx = ctx.on_server(&conn).printing(&output);
    let body = ScreenBody {
        name,
        registries: (!registries.is_empty()).then_some(registries),
        limit: Some(limit),
        min_score,
        kind,
    };
    let r: ScreenView = ctx.client()?.post("/api/v1/screenings", &body).await?;
    ctx.emit(&r, screen_text)?;
    Ok(ExitCode::SUCCESS)
}

fn screen_text(r: &ScreenView) -> String {
    let regs: Vec<String> = r
        .registries
        .iter()
        .map(|x| format!("{} v{}", x.name, x.version))
        .collect();
    let mut s = format!(
        "\"{}\": {} hit(s) in {}\n",
        r.name,
        r.hits.len(),
        if regs.is_empty() {
            "no registry".to_owned()
        } else {
            regs.join(", ")
        }
    );
    for h in &r.hits {
        let mut extra = vec![h.entry_kind.as_str(), h.registry.as_str()];
        extra.extend(h.program.as_deref());
        extra.extend(h.country.as_deref());
        let _ = writeln!(
            s,
            "  {:.3}  {:<14} {} ({})",
            h.score(),
            h.entry_id,
            h.listed_name,
            extra.join(", ")
        );
        if h.matched_name != h.listed_name {
            let _ = writeln!(
                s,
                "         matched {} \"{}\"",
                h.name_source.replace('_', " "),
                h.matched_name
            );
        }
        let _ = writeln!(s, "         {}", h.explanation);
    }
    s.trim_end().to_owned()
}
