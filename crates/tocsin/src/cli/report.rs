//! Threat reports in, as `tocsin report`: submission (every document is
//! checked here first, so one bad document means nothing is sent; then
//! they go with bounded concurrency, each with an idempotency key so a
//! retry never duplicates it), the intake schema, and reports from
//! partners (`import`, `inbox`, `assess`: [`super::exchange`]).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, bail};
use clap::Subcommand;
use clap::builder::PossibleValuesParser;
use reqwest::Method;
use serde::Serialize;
use sha2::Digest;
use tocsin_domain::{CaseId, CaseNumber, ReportId, Timestamp, parse_report};
use tocsin_server::api::intake::{SubmitQuery, SubmittedView};

use super::args::{Conn, Output};
use super::case::resolve;
use super::context::Ctx;
use super::exchange;
use super::input::read_input;
use crate::client::{self, Client, with_query};
use crate::{example, out};

#[derive(Subcommand)]
pub enum ReportCmd {
    /// Submit reports (JSON files in the intake format; `-` reads standard input).
    Submit {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        output: Output,
        /// Report files in the intake format (`tocsin report schema`); `-` reads standard input.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Join this case instead of opening a new one.
        #[arg(long)]
        case: Option<String>,
        /// The accountable owner of a new case (an account name) [default: the submitter].
        #[arg(long, value_name = "NAME")]
        owner: Option<String>,
        /// Each file holds one report per line (JSON lines).
        #[arg(long)]
        jsonl: bool,
        /// Reports in flight at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Print only each report's case: its number (its id when joining), for scripts (`CASE=$(tocsin report submit -q FILE)`).
        #[arg(long, short, conflicts_with = "json")]
        quiet: bool,
    },
    /// Import reports from another format: a STIX 2.1 bundle's `report` objects open cases, or wait for assessment.
    Import {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        output: Output,
        #[command(flatten)]
        args: exchange::ImportArgs,
    },
    /// Partners' reports that need assessment (that you may see).
    Inbox {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        output: Output,
    },
    /// Give what a partner's report lacks: it then opens a case, received when it was imported.
    Assess {
        #[command(flatten)]
        conn: Conn,
        #[command(flatten)]
        output: Output,
        #[command(flatten)]
        args: exchange::AssessArgs,
    },
    /// Print the JSON Schema of the intake format.
    Schema,
    /// Print a shipped scenario's report with its dates moved to now, to submit: received now, its threat window as many days ahead as in the scenario (Kerman's opens in about a week).
    Example {
        /// The scenario.
        #[arg(value_parser = PossibleValuesParser::new(example::names()))]
        name: String,
    },
}

/// One line of `--json` output per report accepted.
#[derive(Serialize)]
struct Accepted<'a> {
    accepted: &'a str,
    report: ReportId,
    case: CaseId,
    #[serde(skip_serializing_if = "Option::is_none")]
    number: Option<CaseNumber>,
    new_case: bool,
}

pub async fn report(ctx: Ctx, cmd: ReportCmd) -> Result<ExitCode> {
    match cmd {
        ReportCmd::Schema => {
            out::line(serde_json::to_string_pretty(
                &tocsin_domain::intake_schema(),
            )?)?;
            Ok(ExitCode::SUCCESS)
        }
        ReportCmd::Example { name } => {
            // To the second: an intake document a person could have written.
            let now = ctx.now.unwrap_or_else(|| {
                Timestamp::from_second(Timestamp::now().as_second())
                    .unwrap_or_else(|_| Timestamp::now())
            });
            out::line(example::to_json(&example::report(&name, now)?)?)?;
            Ok(ExitCode::SUCCESS)
        }
        ReportCmd::Import { conn, output, args } => {
            exchange::import(&ctx.on_server(&conn).printing(&output), args).await
        }
        ReportCmd::Inbox { conn, output } => {
            exchange::inbox(&ctx.on_server(&conn).printing(&output)).await
        }
        ReportCmd::Assess { conn, output, args } => {
            exchange::assess(&ctx.on_server(&conn).printing(&output), args).await
        }
        ReportCmd::Submit {
            conn,
            output,
            files,
            case,
            owner,
            jsonl,
            concurrency,
            quiet,
        } => {
            let ctx = ctx.on_server(&conn).printing(&output);
            let ack = if ctx.json {
                Ack::Json
            } else if quiet {
                Ack::Case
            } else {
                Ack::Text
            };
            submit(&ctx, files, case, owner, jsonl, concurrency, ack).await
        }
    }
}

/// The reports in `files` (labelled by file, and line with `jsonl`).
fn units(files: &[PathBuf], jsonl: bool) -> Result<Vec<(String, String)>> {
    let mut units = Vec::new();
    for f in files {
        let raw = read_input(f)?;
        let label = if f.as_os_str() == "-" {
            "stdin".to_owned()
        } else {
            f.display().to_string()
        };
        if jsonl {
            for (i, line) in raw.lines().enumerate() {
                if !line.trim().is_empty() {
                    units.push((format!("{label}:{}", i + 1), line.to_owned()));
                }
            }
        } else {
            units.push((label, raw));
        }
    }
    Ok(units)
}

async fn submit(
    ctx: &Ctx,
    files: Vec<PathBuf>,
    case: Option<String>,
    owner: Option<String>,
    jsonl: bool,
    concurrency: usize,
    ack: Ack,
) -> Result<ExitCode> {
    // Check every document before sending anything: one bad document
    // and nothing is submitted.
    let units = units(&files, jsonl)?;
    let mut errors = Vec::new();
    for (label, text) in &units {
        if let Err(e) = parse_report(text) {
            errors.push(format!("{label}: {e}"));
        }
    }
    if !errors.is_empty() {
        for e in errors.iter().take(50) {
            eprintln!("invalid report: {e}");
        }
        if errors.len() > 50 {
            eprintln!("... and {} more", errors.len() - 50);
        }
        bail!("{} report(s) invalid; nothing was submitted", errors.len());
    }
    if units.is_empty() {
        bail!("no reports found in the input");
    }
    let c = ctx.client()?;
    let query = SubmitQuery {
        case: match case {
            Some(cs) => Some(resolve(&c, &cs).await?.to_string()),
            None => None,
        },
        owner,
    };
    let path = with_query("/api/v1/reports", &query)?;
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut failed = 0;
    for (label, text) in units {
        let permit = sem.clone().acquire_owned().await?;
        let (c, path) = (c.clone(), path.clone());
        tasks.spawn(async move {
            let res = submit_one(&c, &path, &label, &text).await;
            drop(permit);
            (label, res)
        });
        while let Some(done) = tasks.try_join_next() {
            if !print_ack(ack, done?)? {
                failed += 1;
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        if !print_ack(ack, done?)? {
            failed += 1;
        }
    }
    if failed > 0 {
        bail!("{failed} report(s) were not accepted");
    }
    Ok(ExitCode::SUCCESS)
}

/// Submits one report with an idempotency key derived from its place and
/// content, retrying connection failures: a retry never duplicates it.
async fn submit_one(c: &Client, path: &str, label: &str, text: &str) -> Result<SubmittedView> {
    let digest = sha2::Sha256::digest(format!("{label}\n{text}").as_bytes());
    let key = hex::encode(&digest[..16]);
    let report = parse_report(text)?;
    let mut delay = std::time::Duration::from_millis(100);
    for attempt in 0..5 {
        match c
            .send(
                Method::POST,
                path,
                Some(&report),
                &[("idempotency-key", &key)],
            )
            .await
        {
            Ok(answer) => return answer.json(),
            Err(e) if e.downcast_ref::<client::Problem>().is_none() && attempt < 4 => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => return Err(e),
        }
    }
    bail!("gave up after retries")
}

/// How each accepted report is told.
#[derive(Clone, Copy)]
enum Ack {
    Text,
    Json,
    /// Only its case (for scripts).
    Case,
}

/// Prints the answer for one report; whether it was accepted. An error is
/// standard output failing (a closed pipe stops the submission there).
fn print_ack(ack: Ack, (label, res): (String, Result<SubmittedView>)) -> Result<bool> {
    match res {
        Ok(v) => {
            match ack {
                Ack::Json => {
                    let line = Accepted {
                        accepted: &label,
                        report: v.report_id,
                        case: v.case_id,
                        number: v.number,
                        new_case: v.new_case,
                    };
                    out::line(serde_json::to_string(&line)?)?;
                }
                Ack::Case => out::line(match v.number {
                    Some(n) => n.to_string(),
                    None => v.case_id.to_string(),
                })?,
                Ack::Text => out::line(format!(
                    "accepted {label}: report {} {} case {}{}",
                    v.report_id,
                    if v.new_case { "opened" } else { "joined" },
                    v.number.map(|n| format!("{n} ")).unwrap_or_default(),
                    v.case_id
                ))?,
            }
            Ok(true)
        }
        Err(e) => {
            eprintln!("not accepted {label}: {e:#}");
            Ok(false)
        }
    }
}
