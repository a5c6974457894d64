//! Exchange with partners: `tocsin report import --format stix FILE`,
//! `tocsin report inbox`, `tocsin report assess RECEIPT`, and the partner
//! table (`tocsin admin partner map|list`). Clients of `/reports/stix`,
//! `/receipts` and `/partners`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use tocsin_domain::exchange::{Partner, Receipt};
use tocsin_domain::grading::{AdmiraltyGrade, Detail, Grading, Specificity};
use tocsin_domain::report::{HarmType, HarmTypes};
use tocsin_domain::time::ThreatWindow;
use tocsin_server::api::common::List;
use tocsin_server::api::exchange::{AssessedView, PartnerBody};
use tocsin_server::api::session::MeView;
use tocsin_service::{ImportOutcome, ReceiptAssessment, StixImport};

use super::context::Ctx;
use super::input::{parse_flag, parse_time, read_input, wire};
use crate::client::segment;

/// The formats `report import` reads.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ImportFormat {
    /// A STIX 2.1 bundle.
    Stix,
}

/// `tocsin report import`.
#[derive(Args)]
pub struct ImportArgs {
    /// The format of the file.
    #[arg(long, value_enum)]
    pub format: ImportFormat,
    /// The file (a STIX 2.1 bundle); `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `tocsin report assess`: what the receipt lacks.
#[derive(Args)]
pub struct AssessArgs {
    /// The receipt (its id, as `report import` or `report inbox` printed it).
    pub receipt: String,
    /// Admiralty grade: source reliability A-F and information credibility 1-6, e.g. B2 (with --reason).
    #[arg(long, requires = "reason")]
    pub grade: Option<String>,
    /// Why this grade.
    #[arg(long)]
    pub reason: Option<String>,
    /// Specificity: is the intended victim identifiable? (Give all four of --who, --where, --when and --how, or none.)
    #[arg(long, value_parser = wire::<Detail>())]
    pub who: Option<Detail>,
    /// Specificity: is the place known?
    #[arg(long = "where", value_parser = wire::<Detail>())]
    pub where_: Option<Detail>,
    /// Specificity: is the time known?
    #[arg(long, value_parser = wire::<Detail>())]
    pub when: Option<Detail>,
    /// Specificity: is the method or the perpetrator known?
    #[arg(long, value_parser = wire::<Detail>())]
    pub how: Option<Detail>,
    /// Harm types (repeat or comma-separate).
    #[arg(long, value_delimiter = ',', value_parser = wire::<HarmType>())]
    pub harm: Vec<HarmType>,
    /// When the threat window opens (RFC 3339 with offset); with --window-end and --time-zone.
    #[arg(
        long,
        requires = "window_end",
        requires = "time_zone",
        value_name = "TIME"
    )]
    pub window_start: Option<String>,
    /// When the threat window closes (RFC 3339 with offset).
    #[arg(
        long,
        requires = "window_start",
        requires = "time_zone",
        value_name = "TIME"
    )]
    pub window_end: Option<String>,
    /// The IANA time zone of the place, e.g. Asia/Tehran.
    #[arg(long, value_name = "ZONE")]
    pub time_zone: Option<String>,
}

#[derive(Subcommand)]
pub enum PartnerCmd {
    /// File a STIX producer's reports under an element (set or change).
    Map {
        /// The producer's STIX identity id (a report's `created_by_ref`), identity--UUID.
        identity: String,
        /// The element its reports are filed under.
        #[arg(long)]
        element: String,
        /// The classification level its reports get [default: the lowest level].
        #[arg(long, value_name = "LEVEL")]
        classification: Option<String>,
    },
    /// The partner table.
    List,
}

/// `report import`: the bundle to the server, what became of each report.
pub async fn import(ctx: &Ctx, args: ImportArgs) -> Result<ExitCode> {
    let ImportFormat::Stix = args.format;
    let raw = read_input(&args.file)?;
    let bundle: serde_json::Value = serde_json::from_str(&raw)
        .map_err(|e| anyhow!("{}: not a JSON document: {e}", args.file.display()))?;
    let c = ctx.client()?;
    let done: StixImport = c.post("/api/v1/reports/stix", &bundle).await?;
    ctx.emit(&done, |d| {
        d.reports
            .iter()
            .map(|r| {
                let what = match &r.outcome {
                    ImportOutcome::Opened {
                        case_id,
                        number,
                        report_id,
                    } => format!(
                        "opened case {}{case_id} (report {report_id})",
                        number.map(|n| format!("{n} ")).unwrap_or_default()
                    ),
                    ImportOutcome::NeedsAssessment {
                        receipt_id,
                        missing,
                    } => format!(
                        "needs assessment: receipt {receipt_id} lacks {} (tocsin report assess {receipt_id})",
                        missing.join(", ")
                    ),
                    ImportOutcome::AlreadyImported {
                        case_id,
                        number,
                        receipt_id,
                        ..
                    } => match (case_id, receipt_id) {
                        (Some(c), _) => format!(
                            "already imported: case {}{c}",
                            number.map(|n| format!("{n} ")).unwrap_or_default()
                        ),
                        (None, Some(r)) => format!("already imported: receipt {r}"),
                        (None, None) => "already imported".to_owned(),
                    },
                };
                format!("{} ({}): {what}", r.stix_id, r.modified)
            })
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `report inbox`: receipts needing assessment.
pub async fn inbox(ctx: &Ctx) -> Result<ExitCode> {
    let c = ctx.client()?;
    let page: List<Receipt> = c.get("/api/v1/receipts").await?;
    ctx.emit(&page, |p| {
        if p.items.is_empty() {
            return "no receipts need assessment".to_owned();
        }
        p.items
            .iter()
            .map(|r| {
                format!(
                    "{}  {}  {}  \"{}\"  lacks {}",
                    r.receipt_id,
                    r.received_at,
                    r.report.originating_element,
                    r.report.title.as_str(),
                    r.report.missing.join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `report assess`: what the receipt lacks, then the case it opened.
pub async fn assess(ctx: &Ctx, a: AssessArgs) -> Result<ExitCode> {
    let c = ctx.client()?;
    let grading = match a.grade {
        Some(g) => {
            let me: MeView = c.get("/api/v1/me").await?;
            Some(Grading {
                grade: AdmiraltyGrade::parse(&g).map_err(|e| anyhow!("--grade: {e}"))?,
                assessor: me.account.name,
                reason: parse_flag("reason", a.reason.as_deref().unwrap_or_default())?,
            })
        }
        None => None,
    };
    let specificity = match (a.who, a.where_, a.when, a.how) {
        (None, None, None, None) => None,
        (Some(who), Some(where_), Some(when), Some(how)) => Some(Specificity {
            who,
            where_,
            when,
            how,
        }),
        _ => {
            bail!("give all four of --who, --where, --when and --how (present, partial or absent)")
        }
    };
    let harm_types = if a.harm.is_empty() {
        None
    } else {
        Some(HarmTypes::new(a.harm).map_err(|e| anyhow!("--harm: {e}"))?)
    };
    let window = match (a.window_start, a.window_end, a.time_zone) {
        (Some(s), Some(e), Some(z)) => Some(
            ThreatWindow::new(
                parse_time("--window-start", &s)?,
                parse_time("--window-end", &e)?,
                parse_flag("time-zone", &z)?,
            )
            .map_err(|e| anyhow!("--window-end: {e}"))?,
        ),
        _ => None,
    };
    let body = ReceiptAssessment {
        harm_types,
        grading,
        specificity,
        window,
    };
    let path = format!("/api/v1/receipts/{}/assessment", segment(&a.receipt));
    let v: AssessedView = c.post(&path, &body).await?;
    ctx.emit(&v, |v| {
        format!(
            "receipt {} assessed: case {}{} (report {})",
            v.receipt_id,
            v.number.map(|n| format!("{n} ")).unwrap_or_default(),
            v.case_id,
            v.report_id
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `admin partner map|list`.
pub async fn partner(ctx: &Ctx, cmd: PartnerCmd) -> Result<ExitCode> {
    let c = ctx.client()?;
    match cmd {
        PartnerCmd::Map {
            identity,
            element,
            classification,
        } => {
            let body = PartnerBody {
                element: parse_flag("element", &element)?,
                classification: match classification {
                    Some(l) => Some(parse_flag("classification", &l)?),
                    None => None,
                },
            };
            let p: Partner = c
                .put(&format!("/api/v1/partners/{}", segment(&identity)), &body)
                .await?;
            ctx.emit(&p, |p| {
                format!(
                    "partner {} files its reports under {}{}",
                    p.identity,
                    p.element,
                    p.classification
                        .as_ref()
                        .map(|l| format!(" at {l}"))
                        .unwrap_or_else(|| " at the lowest level".to_owned())
                )
            })?;
        }
        PartnerCmd::List => {
            let page: List<Partner> = c.get("/api/v1/partners").await?;
            ctx.emit(&page, |p| {
                if p.items.is_empty() {
                    return "no partners (tocsin admin partner map IDENTITY --element ELEMENT)"
                        .to_owned();
                }
                p.items
                    .iter()
                    .map(|p| {
                        format!(
                            "{}  {}  {}",
                            p.identity,
                            p.element,
                            p.classification
                                .as_ref()
                                .map(|l| l.to_string())
                                .unwrap_or_else(|| "(lowest level)".to_owned())
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
