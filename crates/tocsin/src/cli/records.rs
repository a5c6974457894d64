//! Records management, as `tocsin records`: the retention schedules
//! (`records schedule show|set FILE`), legal holds (`records hold
//! request|approve|decline|release|list`) and the records officer's
//! report (`records report`); disposal batches (`records dispose`, in
//! `disposal.rs`). For records officers; the server decides.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::Subcommand;
use tocsin_domain::ids::HoldId;
use tocsin_domain::records::RecordQuery;
use tocsin_server::api::common::{List, ReasonBody};
use tocsin_server::api::records::{HoldRequestBody, ReportQuery, SchedulesBody};
use tocsin_service::records::holds::{HoldAnswer, HoldView};
use tocsin_service::records::report::RecordsReport;
use tocsin_service::records::schedules::SchedulesInForce;

use super::case::resolve;
use super::context::Ctx;
use super::input::{parse_flag, parse_opt, parse_time, read_input};
use crate::client::with_query;

#[derive(Subcommand)]
pub enum RecordsCmd {
    /// The retention schedules: show those in force, or adopt a file's.
    #[command(subcommand)]
    Schedule(ScheduleCmd),
    /// Legal holds: request, approve, decline, release, list (two people).
    #[command(subcommand)]
    Hold(HoldCmd),
    /// Disposal batches: propose, approve (a second records officer), list.
    #[command(subcommand)]
    Dispose(super::disposal::DisposeCmd),
    /// Export the records a query covers as a signed BagIt bag (RFC 8493) into a new directory: each record with its proof, the signed checkpoint, the scope (recorded in the ledger first) and the records withheld with their exemption codes.
    Export(super::records_export::ExportArgs),
    /// Verify an oversight export: the manifests, the signatures, every proof against the checkpoint, each record against its leaf, and completeness (exit 0 when it verifies, 3 with every problem found). Reads only the directory.
    VerifyExport(super::records_export::VerifyArgs),
    /// Redactions for release copies: request one (a field of a record, an exemption code), approve another officer's, list them.
    #[command(subcommand)]
    Redact(super::records_export::RedactCmd),
    /// The exemption codes a redaction may cite: show those in force, or adopt the organisation's own list from a file.
    #[command(subcommand)]
    Exemptions(super::records_export::ExemptionsCmd),
    /// The records officer's report: eligible for disposal now, on hold, disposed of in a period.
    Report {
        /// Records disposed of from this time (RFC 3339) [default: the beginning].
        #[arg(long)]
        from: Option<String>,
        /// Until this time [default: now].
        #[arg(long)]
        until: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum ScheduleCmd {
    /// Print the schedules in force: per class its trigger, period, action and authority.
    Show,
    /// Adopt the schedules of a TOML file (`-` for standard input); checked whole, recorded in the ledger.
    Set {
        /// The schedules file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum HoldCmd {
    /// Request a legal hold over the records of cases (by --case), of a victim, or of a period; it covers them at once.
    Request {
        /// A case the hold covers: its number, id or id prefix (repeat for more).
        #[arg(long = "case", value_name = "CASE")]
        cases: Vec<String>,
        /// Cases with a victim of this name.
        #[arg(long)]
        victim: Option<String>,
        /// Cases open at some time from this time (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Cases open at some time until this time (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        /// Why (the litigation, the inquiry, the preservation letter).
        #[arg(long)]
        reason: String,
    },
    /// Approve what is pending on a hold, its request or its release (a second records officer).
    Approve {
        /// The hold's id.
        hold: String,
    },
    /// Decline what is pending on a hold (a second records officer).
    Decline {
        /// The hold's id.
        hold: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Ask for a placed hold to be released; it holds until a second records officer approves.
    Release {
        /// The hold's id.
        hold: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// The holds in force.
    List,
}

pub async fn records(ctx: &Ctx, cmd: RecordsCmd) -> Result<ExitCode> {
    match cmd {
        RecordsCmd::Schedule(cmd) => schedule(ctx, cmd).await,
        RecordsCmd::Hold(cmd) => hold(ctx, cmd).await,
        RecordsCmd::Dispose(cmd) => super::disposal::dispose(ctx, cmd).await,
        RecordsCmd::Export(args) => super::records_export::export(ctx, args).await,
        RecordsCmd::VerifyExport(args) => super::records_export::verify_export(ctx, args),
        RecordsCmd::Redact(cmd) => super::records_export::redact(ctx, cmd).await,
        RecordsCmd::Exemptions(cmd) => super::records_export::exemptions(ctx, cmd).await,
        RecordsCmd::Report { from, until } => {
            let q = ReportQuery {
                from: from.map(|s| parse_time("--from", &s)).transpose()?,
                until: until.map(|s| parse_time("--until", &s)).transpose()?,
            };
            let r: RecordsReport = ctx
                .client()?
                .get(&with_query("/api/v1/records/report", &q)?)
                .await?;
            ctx.emit(&r, print_report)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn schedule(ctx: &Ctx, cmd: ScheduleCmd) -> Result<ExitCode> {
    let c = ctx.client()?;
    let s: SchedulesInForce = match cmd {
        ScheduleCmd::Show => c.get("/api/v1/records/schedules").await?,
        ScheduleCmd::Set { file } => {
            let body = SchedulesBody {
                source: read_input(&file)?,
                origin: Some(file.display().to_string()),
            };
            c.put("/api/v1/records/schedules", &body).await?
        }
    };
    ctx.emit(&s, print_schedules)?;
    Ok(ExitCode::SUCCESS)
}

async fn hold(ctx: &Ctx, cmd: HoldCmd) -> Result<ExitCode> {
    let c = ctx.client()?;
    let id = |s: &str| -> Result<HoldId> { s.trim().parse().map_err(|e| anyhow!("{s}: {e}")) };
    let answer: HoldAnswer = match cmd {
        HoldCmd::List => {
            let list: List<HoldView> = c.get("/api/v1/records/holds").await?;
            ctx.emit(&list, |l| {
                if l.items.is_empty() {
                    return "no legal holds in force".to_owned();
                }
                l.items
                    .iter()
                    .map(print_hold)
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
            return Ok(ExitCode::SUCCESS);
        }
        HoldCmd::Request {
            cases,
            victim,
            from,
            until,
            reason,
        } => {
            let mut ids = BTreeSet::new();
            for case in &cases {
                ids.insert(resolve(&c, case).await?);
            }
            let scope = RecordQuery::new(
                ids,
                parse_opt("victim", victim.as_deref())?,
                from.map(|s| parse_time("--from", &s)).transpose()?,
                until.map(|s| parse_time("--until", &s)).transpose()?,
            )
            .map_err(|e| anyhow!("{e} (--case, --victim, --from, --until)"))?;
            let body = HoldRequestBody {
                scope,
                reason: parse_flag("reason", &reason)?,
            };
            c.post("/api/v1/records/holds", &body).await?
        }
        HoldCmd::Approve { hold } => {
            c.post_empty(&format!("/api/v1/records/holds/{}/approval", id(&hold)?))
                .await?
        }
        HoldCmd::Decline { hold, reason } => {
            let body = ReasonBody {
                reason: parse_flag("reason", &reason)?,
            };
            c.post(
                &format!("/api/v1/records/holds/{}/decline", id(&hold)?),
                &body,
            )
            .await?
        }
        HoldCmd::Release { hold, reason } => {
            let body = ReasonBody {
                reason: parse_flag("reason", &reason)?,
            };
            c.post(
                &format!("/api/v1/records/holds/{}/release", id(&hold)?),
                &body,
            )
            .await?
        }
    };
    ctx.emit(&answer, |a| match &a.hold {
        Some(h) => format!("{}\n{}", a.recorded, print_hold(h)),
        None => format!("{}: hold {} is no longer in force", a.recorded, a.hold_id),
    })?;
    Ok(ExitCode::SUCCESS)
}

fn print_schedules(s: &SchedulesInForce) -> String {
    let mut out = format!(
        "retention schedules from {} (sha256 {})",
        s.origin, s.sha256
    );
    if let (Some(at), Some(by)) = (&s.adopted_at, &s.adopted_by) {
        let _ = write!(out, ", adopted {at} by {by}");
    }
    for x in &s.schedules {
        let _ = write!(
            out,
            "\n  {:<18} {:<10} after {:<12} then {:<8} ({})",
            x.class.as_str(),
            x.period.to_string(),
            x.trigger.as_str(),
            x.action.as_str(),
            x.authority
        );
    }
    for c in &s.unscheduled {
        let _ = write!(out, "\n  {:<18} no schedule: never disposed of", c.as_str());
    }
    out
}

fn print_hold(h: &HoldView) -> String {
    let stage = match &h.release_requested_by {
        Some(by) => format!("release requested by {by}"),
        None => serde_json::to_value(h.stage)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    };
    let scope = serde_json::to_string(&h.scope).unwrap_or_default();
    format!(
        "{}  {stage}  requested by {} at {}  scope {scope}: {}",
        h.hold_id, h.requested_by, h.requested_at, h.reason
    )
}

fn print_report(r: &RecordsReport) -> String {
    let case = |c: &Option<tocsin_domain::CaseId>| c.map(|c| c.to_string()).unwrap_or("-".into());
    let mut out = format!(
        "records report at {} under the schedules from {} (sha256 {})",
        r.at, r.schedules_origin, r.schedules_sha256
    );
    let _ = write!(out, "\neligible for disposal: {}", r.eligible.len());
    for e in &r.eligible {
        let _ = write!(
            out,
            "\n  position {}  case {}  {} ({})  since {}  under the {} schedule ({})",
            e.position,
            case(&e.case_id),
            e.class,
            e.kind,
            e.eligible_since,
            e.schedule.class,
            e.schedule.authority
        );
    }
    let _ = write!(out, "\non hold: {}", r.held.len());
    for h in &r.held {
        let holds: Vec<_> = h.holds.iter().map(|h| h.to_string()).collect();
        let _ = write!(
            out,
            "\n  position {}  case {}  {} ({})  held by {}",
            h.position,
            case(&h.case_id),
            h.class,
            h.kind,
            holds.join(", ")
        );
    }
    let period = match &r.from {
        Some(f) => format!("from {f} until {}", r.until),
        None => format!("until {}", r.until),
    };
    let _ = write!(out, "\ndisposed of {period}: {}", r.disposed.len());
    for d in &r.disposed {
        let _ = write!(
            out,
            "\n  position {}  case {}  {} ({})  at {}  tombstone {}  approved by {}",
            d.position,
            case(&d.case_id),
            d.class,
            d.kind,
            d.disposed_at,
            d.tombstone_position,
            d.approved_by
        );
    }
    out
}
