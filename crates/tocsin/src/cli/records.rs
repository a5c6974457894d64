//! Records management, as `tocsin records`: the oversight export (a
//! client command: the server makes and signs the bag, this writes it
//! into a directory) and its verification (local: a pure check of the
//! directory, `tocsin_export::bag::verify`; exit 3 with every problem
//! found, naming the file and position).

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use clap::Subcommand;
use serde::Serialize;
use tocsin_domain::CaseId;
use tocsin_domain::records::RecordQuery;
use tocsin_domain::text::Name;
use tocsin_export::bag::{self, Files};
use tocsin_server::api::records_export::{ExportRequest, ExportView};

use super::args::Conn;
use super::context::{Ctx, EXIT_VERIFY_FAILED};
use super::input::parse_time;

#[derive(Subcommand)]
pub enum RecordsCmd {
    /// Export the records a query covers as a signed BagIt bag (RFC 8493) into a new directory: each record with its proof, the signed checkpoint, the scope (recorded in the ledger first) and the records withheld with their exemption codes.
    Export {
        #[command(flatten)]
        conn: Conn,
        /// A case, by id (repeat for more).
        #[arg(long = "case", value_name = "ID")]
        cases: Vec<String>,
        /// Cases with a victim of this name (case, punctuation and spacing ignored).
        #[arg(long, value_name = "NAME")]
        victim: Option<String>,
        /// Cases open at some time from this time on (RFC 3339).
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// Cases open at some time up to this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// The directory to write the bag into (new, or empty).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Verify an oversight export: the manifests, the signatures, every proof against the checkpoint, each record against its leaf, and completeness (exit 0 when it verifies, 3 with every problem found).
    VerifyExport {
        /// The bag's directory.
        dir: PathBuf,
        /// The deployment's verifier key, or a file holding it [default: the key the bag names, which proves the bag whole but not whose].
        #[arg(long, value_name = "KEY|FILE")]
        key: Option<String>,
    },
}

pub async fn records(ctx: Ctx, cmd: RecordsCmd) -> Result<ExitCode> {
    match cmd {
        RecordsCmd::Export {
            conn,
            cases,
            victim,
            from,
            until,
            out,
        } => {
            let query = query(&cases, victim, from, until)?;
            export(&ctx.on_server(&conn), query, &out).await
        }
        RecordsCmd::VerifyExport { dir, key } => verify_export(&ctx, &dir, key),
    }
}

fn query(
    cases: &[String],
    victim: Option<String>,
    from: Option<String>,
    until: Option<String>,
) -> Result<RecordQuery> {
    let cases = cases
        .iter()
        .map(|c| c.parse::<CaseId>().map_err(|e| anyhow!("--case: {e}")))
        .collect::<Result<BTreeSet<_>>>()?;
    let victim = victim
        .map(|v| Name::new(v).map_err(|e| anyhow!("--victim: {e}")))
        .transpose()?;
    let from = from.map(|t| parse_time("--from", &t)).transpose()?;
    let until = until.map(|t| parse_time("--until", &t)).transpose()?;
    RecordQuery::new(cases, victim, from, until).map_err(|e| anyhow!("the query: {e}"))
}

#[derive(Serialize)]
struct Exported<'a> {
    export_id: &'a str,
    dir: String,
    size: u64,
    streams: usize,
    records: usize,
    withheld: usize,
}

async fn export(ctx: &Ctx, query: RecordQuery, out: &Path) -> Result<ExitCode> {
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        bail!(
            "{} is not empty: export into a new directory",
            out.display()
        );
    }
    let view: ExportView = ctx
        .client()?
        .post("/api/v1/records/exports", &ExportRequest { query })
        .await?;
    let b64 = base64::engine::general_purpose::STANDARD;
    for f in &view.files {
        let path = out.join(safe_relative(&f.path)?);
        let bytes = b64
            .decode(&f.content)
            .with_context(|| format!("the server's {} is not base64", f.path))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    ctx.emit(
        &Exported {
            export_id: &view.export_id,
            dir: out.display().to_string(),
            size: view.size,
            streams: view.streams,
            records: view.records,
            withheld: view.withheld,
        },
        |e| {
            format!(
                "export {}: {} records of {} case(s), {} withheld in full, ledger positions 0..{}; written to {}",
                e.export_id, e.records, e.streams, e.withheld, e.size, e.dir
            )
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// A bag path from the server as a relative path with no way out.
fn safe_relative(p: &str) -> Result<PathBuf> {
    let path = PathBuf::from(p);
    if p.is_empty() || !path.components().all(|c| matches!(c, Component::Normal(_))) {
        bail!("the server sent a file path that is not plainly relative: '{p}'");
    }
    Ok(path)
}

#[derive(Serialize)]
struct VerifyOutcome {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    records: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    withheld: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disposed: Option<usize>,
    key_from_bag: bool,
    problems: Vec<String>,
}

fn verify_export(ctx: &Ctx, dir: &Path, key: Option<String>) -> Result<ExitCode> {
    let key = key
        .map(|k| -> Result<String> {
            Ok(if Path::new(&k).exists() {
                std::fs::read_to_string(&k).with_context(|| format!("cannot read {k}"))?
            } else {
                k
            })
        })
        .transpose()?;
    let files = read_dir(dir)?;
    let (outcome, code) = match bag::verify(&files, key.as_deref()) {
        Ok(v) => (
            VerifyOutcome {
                ok: true,
                size: Some(v.size),
                records: Some(v.records),
                withheld: Some(v.withheld),
                disposed: Some(v.disposed),
                key_from_bag: v.key_from_bag,
                problems: Vec::new(),
            },
            ExitCode::SUCCESS,
        ),
        Err(problems) => (
            VerifyOutcome {
                ok: false,
                size: None,
                records: None,
                withheld: None,
                disposed: None,
                key_from_bag: key.is_none(),
                problems: problems.iter().map(ToString::to_string).collect(),
            },
            ExitCode::from(EXIT_VERIFY_FAILED),
        ),
    };
    if outcome.key_from_bag && !ctx.json {
        eprintln!(
            "note: no --key: the signatures were checked with the key the bag names; pass the deployment's verifier key to know whose bag it is"
        );
    }
    ctx.emit(&outcome, |o| match o.ok {
        true => format!(
            "export verified: ledger positions 0..{}, {} records, {} disposed of, {} withheld in full; every leaf of the scope accounted for",
            o.size.unwrap_or(0),
            o.records.unwrap_or(0),
            o.disposed.unwrap_or(0),
            o.withheld.unwrap_or(0)
        ),
        false => format!(
            "export does NOT verify ({} problems):\n{}",
            o.problems.len(),
            o.problems.join("\n")
        ),
    })?;
    Ok(code)
}

/// Every regular file under `dir`, by its `/`-separated relative path.
fn read_dir(dir: &Path) -> Result<Files> {
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let mut files = Files::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in
            std::fs::read_dir(&d).with_context(|| format!("cannot read {}", d.display()))?
        {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                todo.push(path);
            } else if kind.is_file() {
                let rel = path
                    .strip_prefix(dir)?
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                let bytes = std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                files.insert(rel, bytes);
            }
        }
    }
    Ok(files)
}
