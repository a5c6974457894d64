//! `tocsin screen` and `tocsin registry import|list`: clients of the HTTP
//! API like every other non-operator command.
//!
//! An import reads the files, parses them here first (a malformed file
//! stops at once with its line, record and reason, and a progress line on a
//! terminal shows how far it got), then sends their text to the server,
//! which parses them again and stores the new version atomically.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use clap::Subcommand;
use serde_json::{Value, json};
use tocsin_service::screening::{self, ImportFile, RegistryKind};

use super::Ctx;

#[derive(Subcommand)]
pub(super) enum RegistryCmd {
    /// Import a watch list or directory as a new version of registry NAME
    /// (replaces the current version atomically; a malformed file changes nothing).
    Import {
        /// ofac (sdn.csv [alt.csv]), un (consolidated XML) or directory (CSV id,name,aliases,kind,country, or JSON lines).
        #[arg(long)]
        kind: String,
        /// The registry's name (a-z, 0-9, '.', '_', '-').
        #[arg(long)]
        name: String,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The registries with their current version, hash and counts.
    List,
}

/// A progress line on standard error, when it is a terminal.
struct ProgressLine {
    on: bool,
    total: u64,
    last: Instant,
    what: &'static str,
}

impl ProgressLine {
    fn new(what: &'static str, total: u64) -> Self {
        Self {
            on: std::io::stderr().is_terminal(),
            total,
            last: Instant::now() - Duration::from_secs(1),
            what,
        }
    }

    fn show(&mut self, bytes: u64, records: u64, force: bool) {
        if !self.on || (!force && self.last.elapsed() < Duration::from_millis(100)) {
            return;
        }
        self.last = Instant::now();
        let pct = (bytes.min(self.total) * 100)
            .checked_div(self.total)
            .unwrap_or(100) as u32;
        let filled = (pct / 4) as usize;
        let mut e = std::io::stderr();
        let _ = write!(
            e,
            "\r{} [{}{}] {:>3}%  {:.1}/{:.1} MB  {records} records ",
            self.what,
            "#".repeat(filled),
            " ".repeat(25 - filled),
            pct,
            bytes as f64 / 1e6,
            self.total as f64 / 1e6,
        );
        let _ = e.flush();
    }

    fn done(&mut self, msg: &str) {
        if self.on {
            let _ = writeln!(std::io::stderr(), "\r{msg}{}", " ".repeat(40));
        }
    }
}

pub(super) async fn registry(ctx: &Ctx, cmd: RegistryCmd) -> Result<ExitCode> {
    match cmd {
        RegistryCmd::List => {
            let r: Value = ctx.client()?.get("/api/v1/registries").await?;
            ctx.emit(
                || {
                    let items = r["items"].as_array().cloned().unwrap_or_default();
                    if items.is_empty() {
                        return "no registries (import one with `tocsin registry import`)".into();
                    }
                    let mut s = format!(
                        "{:<20} {:<10} {:>7} {:>9} {:>9}  {:<16} IMPORTED\n",
                        "NAME", "KIND", "VERSION", "ENTRIES", "NAMES", "SHA256"
                    );
                    for i in items {
                        let reg = &i["registry"];
                        let _ = writeln!(
                            s,
                            "{:<20} {:<10} {:>7} {:>9} {:>9}  {:<16} {} by {}",
                            reg["name"].as_str().unwrap_or(""),
                            reg["kind"].as_str().unwrap_or(""),
                            reg["version"],
                            i["entries"],
                            i["names"],
                            &reg["sha256"].as_str().unwrap_or("")
                                [..16.min(reg["sha256"].as_str().unwrap_or("").len())],
                            i["imported_at"].as_str().unwrap_or(""),
                            i["imported_by"].as_str().unwrap_or(""),
                        );
                    }
                    s.trim_end().to_owned()
                },
                || r.clone(),
            );
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
            let mut line = ProgressLine::new("parsing", total);
            let parsed = screening::parse_registry(k, &name, &inputs, |p| {
                line.show(p.bytes, p.records, false)
            });
            let reg = match parsed {
                Ok(r) => r,
                Err(e) => {
                    line.done("parsing failed");
                    return Err(anyhow!("{e}"));
                }
            };
            line.show(total, reg.len() as u64, true);
            line.done(&format!(
                "parsed {} entries, {} names; sending to the server",
                reg.len(),
                reg.name_count()
            ));
            drop(reg);
            let body = json!({
                "kind": k.as_str(),
                "name": name,
                "files": inputs.into_iter().map(|ImportFile { name, text }| json!({"name": name, "text": text})).collect::<Vec<_>>(),
            });
            let r: Value = ctx.client()?.post("/api/v1/registries", &body).await?;
            ctx.emit(
                || {
                    let reg = &r["registry"];
                    let mut s = format!(
                        "imported registry {} version {}: {} entries, {} names (sha256 {}; ledger position {})",
                        reg["name"].as_str().unwrap_or(""),
                        reg["version"],
                        r["entries"],
                        r["names"],
                        reg["sha256"].as_str().unwrap_or(""),
                        r["position"],
                    );
                    if let Some(old) = r.get("replaced").filter(|v| !v.is_null()) {
                        let _ = write!(s, "\nreplaces version {} (sha256 {})", old["version"], old["sha256"].as_str().unwrap_or(""));
                    }
                    s
                },
                || r.clone(),
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub(super) async fn screen(
    ctx: &Ctx,
    name: &str,
    registries: Vec<String>,
    limit: usize,
    min_score: Option<f32>,
    kind: Option<String>,
) -> Result<ExitCode> {
    let mut body = json!({"name": name, "limit": limit});
    if !registries.is_empty() {
        body["registries"] = json!(registries);
    }
    if let Some(m) = min_score {
        body["min_score"] = json!(m);
    }
    if let Some(k) = kind {
        body["kind"] = json!(k);
    }
    let r: Value = ctx.client()?.post("/api/v1/screenings", &body).await?;
    ctx.emit(|| render_screen(&r), || r.clone());
    Ok(ExitCode::SUCCESS)
}

fn render_screen(r: &Value) -> String {
    let regs: Vec<String> = r["registries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| {
            format!(
                "{} v{}",
                x["name"].as_str().unwrap_or(""),
                x["version"].as_u64().unwrap_or(0)
            )
        })
        .collect();
    let hits = r["hits"].as_array().cloned().unwrap_or_default();
    let mut s = format!(
        "\"{}\": {} hit(s) in {}\n",
        r["name"].as_str().unwrap_or(""),
        hits.len(),
        if regs.is_empty() {
            "no registry".to_owned()
        } else {
            regs.join(", ")
        }
    );
    for h in hits {
        let score = h["score_permille"].as_u64().unwrap_or(0) as f64 / 1000.0;
        let mut extra = vec![
            h["entry_kind"].as_str().unwrap_or("").to_owned(),
            h["registry"].as_str().unwrap_or("").to_owned(),
        ];
        for k in ["program", "country"] {
            if let Some(v) = h[k].as_str() {
                extra.push(v.to_owned());
            }
        }
        let _ = writeln!(
            s,
            "  {score:.3}  {:<14} {} ({})",
            h["entry_id"].as_str().unwrap_or(""),
            h["listed_name"].as_str().unwrap_or(""),
            extra.join(", ")
        );
        if h["matched_name"] != h["listed_name"] {
            let _ = writeln!(
                s,
                "         matched {} \"{}\"",
                h["name_source"].as_str().unwrap_or("").replace('_', " "),
                h["matched_name"].as_str().unwrap_or("")
            );
        }
        let _ = writeln!(s, "         {}", h["explanation"].as_str().unwrap_or(""));
    }
    s.trim_end().to_owned()
}
