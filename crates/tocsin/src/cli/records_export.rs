//! The oversight export, as `tocsin records export` (the server makes
//! and signs the bag, this writes it into a directory; `--release` for a
//! release copy), `tocsin records verify-export` (reads only the
//! directory: `tocsin_export::bag::verify`; exit 3 with every problem
//! found, naming the file and position), `tocsin records redact
//! request|approve|list` and `tocsin records exemptions show|set`.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use clap::{Args, Subcommand};
use serde::Serialize;
use tocsin_domain::ids::RedactionId;
use tocsin_domain::records::RecordQuery;
use tocsin_domain::text::Name;
use tocsin_export::bag::{self, Files};
use tocsin_server::api::common::List;
use tocsin_server::api::records_export::{
    ExemptionsBody, ExportRequest, ExportView, RedactionRequestBody,
};
use tocsin_service::records::exemptions::ExemptionsInForce;
use tocsin_service::records::redact::RedactionView;

use super::case::resolve;
use super::context::{Ctx, EXIT_VERIFY_FAILED};
use super::input::{parse_flag, parse_time, read_input};
use crate::client::Client;

/// `tocsin records export`.
#[derive(Args)]
pub struct ExportArgs {
    /// A case: its number, id or id prefix (repeat for more).
    #[arg(long = "case", value_name = "CASE")]
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
    /// A release copy: approved redactions shown in place ("[(b)(6), 14 words]"), originals left out; refused while a redaction awaits approval.
    #[arg(long)]
    release: bool,
    /// The directory to write the bag into (new, or empty).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// `tocsin records verify-export`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The bag's directory.
    dir: PathBuf,
    /// The deployment's verifier key, or a file holding it [default: the key the bag names, which proves the bag whole but not whose].
    #[arg(long, value_name = "KEY|FILE")]
    vkey: Option<String>,
}

#[derive(Subcommand)]
pub enum RedactCmd {
    /// Request a redaction of a field of the record at a ledger position, under an exemption code.
    Request {
        /// The record's ledger position.
        #[arg(long)]
        position: u64,
        /// The field: an RFC 6901 JSON pointer into the event (e.g. /event/report/narrative).
        #[arg(long)]
        field: String,
        /// Redact only this text where it occurs in the field (every occurrence), not the whole field; the ledger records where, never the text.
        #[arg(long)]
        text: Option<String>,
        /// The exemption code: one of `tocsin records exemptions show` (built in: (b)(1), (b)(3), (b)(6), (b)(7)(C)).
        #[arg(long)]
        exemption: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Approve another records officer's redaction.
    Approve {
        /// The redaction's id.
        redaction: String,
    },
    /// Every redaction, pending and approved.
    List,
}

#[derive(Subcommand)]
pub enum ExemptionsCmd {
    /// Print the exemption codes a redaction may cite, with their meanings.
    Show,
    /// Adopt the organisation's own codes from a TOML file (`-` for standard input: `[[exemption]]` tables with code and meaning), in place of those in force; checked whole, recorded in the ledger.
    Set {
        /// The exemptions file.
        file: PathBuf,
    },
}

pub async fn exemptions(ctx: &Ctx, cmd: ExemptionsCmd) -> Result<ExitCode> {
    let c = ctx.client()?;
    let e: ExemptionsInForce = match cmd {
        ExemptionsCmd::Show => c.get("/api/v1/records/exemptions").await?,
        ExemptionsCmd::Set { file } => {
            let body = ExemptionsBody {
                source: read_input(&file)?,
                origin: Some(file.display().to_string()),
            };
            c.put("/api/v1/records/exemptions", &body).await?
        }
    };
    ctx.emit(&e, |e| {
        let mut out = format!("exemption codes from {} (sha256 {})", e.origin, e.sha256);
        if let (Some(at), Some(by)) = (&e.adopted_at, &e.adopted_by) {
            out.push_str(&format!(", adopted {at} by {by}"));
        }
        for x in &e.codes {
            out.push_str(&format!("\n  {:<12} {}", x.code, x.meaning));
        }
        out
    })?;
    Ok(ExitCode::SUCCESS)
}

pub async fn redact(ctx: &Ctx, cmd: RedactCmd) -> Result<ExitCode> {
    let c = ctx.client()?;
    let show = |r: &RedactionView| {
        format!(
            "{}  position {}  {}{}  {}  requested by {}{}",
            r.redaction_id,
            r.position,
            r.field,
            if r.spans.is_empty() {
                String::new()
            } else {
                format!(" ({} span(s))", r.spans.len())
            },
            r.exemption,
            r.requested_by,
            match &r.approved_by {
                Some(a) => format!(", approved by {a}"),
                None => ", awaiting a second records officer".to_owned(),
            }
        )
    };
    let r: RedactionView = match cmd {
        RedactCmd::List => {
            let list: List<RedactionView> = c.get("/api/v1/records/redactions").await?;
            ctx.emit(&list, |l| {
                if l.items.is_empty() {
                    return "no redactions".to_owned();
                }
                l.items.iter().map(show).collect::<Vec<_>>().join("\n")
            })?;
            return Ok(ExitCode::SUCCESS);
        }
        RedactCmd::Request {
            position,
            field,
            text,
            exemption,
            reason,
        } => {
            let body = RedactionRequestBody {
                position,
                field,
                exemption,
                reason: parse_flag("reason", &reason)?,
                text,
            };
            c.post("/api/v1/records/redactions", &body).await?
        }
        RedactCmd::Approve { redaction } => {
            let id: RedactionId = redaction
                .trim()
                .parse()
                .map_err(|e| anyhow!("{redaction}: {e}"))?;
            c.post_empty(&format!("/api/v1/records/redactions/{id}/approval"))
                .await?
        }
    };
    ctx.emit(&r, show)?;
    Ok(ExitCode::SUCCESS)
}

async fn query(
    c: &Client,
    cases: &[String],
    victim: Option<String>,
    from: Option<String>,
    until: Option<String>,
) -> Result<RecordQuery> {
    let mut ids = BTreeSet::new();
    for case in cases {
        ids.insert(resolve(c, case).await?);
    }
    let victim = victim
        .map(|v| Name::new(v).map_err(|e| anyhow!("--victim: {e}")))
        .transpose()?;
    let from = from.map(|t| parse_time("--from", &t)).transpose()?;
    let until = until.map(|t| parse_time("--until", &t)).transpose()?;
    RecordQuery::new(ids, victim, from, until)
        .map_err(|e| anyhow!("{e} (--case, --victim, --from, --until)"))
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

pub async fn export(ctx: &Ctx, a: ExportArgs) -> Result<ExitCode> {
    let out = a.out.as_path();
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        bail!(
            "{} is not empty: export into a new directory",
            out.display()
        );
    }
    let c = ctx.client()?;
    let query = query(&c, &a.cases, a.victim, a.from, a.until).await?;
    let request = ExportRequest {
        query,
        release: a.release,
    };
    let view: ExportView = c.post("/api/v1/records/exports", &request).await?;
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

pub fn verify_export(ctx: &Ctx, a: VerifyArgs) -> Result<ExitCode> {
    let dir = a.dir.as_path();
    let key = a
        .vkey
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
            "note: no --vkey: the signatures were checked with the key the bag names; pass the deployment's verifier key to know whose bag it is"
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
