//! Cases, as `tocsin case|waiver`: list, show, assess, determine,
//! re-assess, hand off, sweep, and the waivers of the duty. Also how every
//! command names a case (an id or a unique prefix), folds it from its
//! events, and runs a command on it and says what it did.

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde::Serialize;
use tocsin_domain::case::Case;
use tocsin_domain::event::Assessment;
use tocsin_domain::grading::{AdmiraltyGrade, Detail, Grading, Specificity};
use tocsin_domain::report::{HarmType, HarmTypes};
use tocsin_domain::time::ThreatWindow;
use tocsin_domain::{CaseId, CaseState, RecordedEvent, ReportId, Timestamp, WaiverId};
use tocsin_server::api::cases::{
    ApproveWaiverBody, CasePage, CaseRow, DeterminationFilter, DetermineBody, HandOffBody,
    IndependenceBody, ListCasesQuery, RejectWaiverBody, WaiverRequestBody,
};
use tocsin_server::api::common::{CommandResult, List, ReasonBody};
use tocsin_server::api::ops::SweepView;
use tocsin_server::api::relations::{LinkBody, MergeBody, RelationReceipt};
use tocsin_server::api::session::MeView;
use tocsin_service::LoggedEvent;
use tocsin_service::RelationStatus;

use super::context::Ctx;
use super::input::{parse_flag, parse_opt, parse_time, wire};
use crate::client::{Client, NO_BODY, with_query};
use crate::out;
use crate::render::{self, join};

/// The case a command is about.
#[derive(Args)]
pub struct CaseArg {
    /// The case: its number (2026-0007), its id, or a unique prefix of its id (at least 4 characters).
    pub case: String,
}

#[derive(Subcommand)]
pub enum CaseCmd {
    /// List cases, newest first.
    List {
        /// Only cases in this state.
        #[arg(long, value_parser = wire::<CaseState>())]
        state: Option<CaseState>,
        /// Only cases that are not closed.
        #[arg(long)]
        open: bool,
        /// Only cases flagged for re-assessment.
        #[arg(long)]
        reassessment_due: bool,
        /// Only cases with an overdue step.
        #[arg(long)]
        overdue: bool,
        /// Only cases whose latest determination is this one.
        #[arg(long, value_parser = wire::<DeterminationFilter>())]
        determination: Option<DeterminationFilter>,
        /// Only cases shared with this element.
        #[arg(long)]
        element: Option<String>,
        /// Only cases this account owns.
        #[arg(long)]
        owner: Option<String>,
        /// Only cases whose title contains this text.
        #[arg(long)]
        text: Option<String>,
        /// Most cases on a page.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Continue from the cursor printed with the previous page.
        #[arg(long)]
        after: Option<String>,
    },
    /// Everything about a case: facts, determination with rule trace, waivers, route, warning, deliveries, responses, timeline.
    Show(CaseArg),
    /// Record an analyst's assessment of the case's facts.
    Assess {
        #[command(flatten)]
        case: CaseArg,
        /// Admiralty grade: source reliability A-F and information credibility 1-6, e.g. B2.
        #[arg(long)]
        grade: Option<String>,
        /// Specificity: is the intended victim identifiable? (Give all four of --who, --where, --when and --how, or none.)
        #[arg(long, value_parser = wire::<Detail>())]
        who: Option<Detail>,
        /// Specificity: is the place known?
        #[arg(long = "where", value_parser = wire::<Detail>())]
        where_: Option<Detail>,
        /// Specificity: is the time known?
        #[arg(long, value_parser = wire::<Detail>())]
        when: Option<Detail>,
        /// Specificity: is the method or the perpetrator known?
        #[arg(long, value_parser = wire::<Detail>())]
        how: Option<Detail>,
        /// Harm types (repeat or comma-separate).
        #[arg(long, value_delimiter = ',', value_parser = wire::<HarmType>())]
        harm: Vec<HarmType>,
        /// When the threat window opens (RFC 3339 with offset); with --window-end and --time-zone.
        #[arg(
            long,
            requires = "window_end",
            requires = "time_zone",
            value_name = "TIME"
        )]
        window_start: Option<String>,
        /// When the threat window closes (RFC 3339 with offset).
        #[arg(
            long,
            requires = "window_start",
            requires = "time_zone",
            value_name = "TIME"
        )]
        window_end: Option<String>,
        /// The IANA time zone of the place, e.g. Asia/Tehran.
        #[arg(long, value_name = "ZONE")]
        time_zone: Option<String>,
        /// Why (recorded with the assessment, and as the grading's reason).
        #[arg(long)]
        reason: String,
    },
    /// Apply the policy and record the determination with its rule trace.
    Determine {
        #[command(flatten)]
        case: CaseArg,
        /// A note recorded with the determination.
        #[arg(long)]
        note: Option<String>,
    },
    /// Start a re-assessment (after a lapse, a new report, a waiver review).
    Reassess {
        #[command(flatten)]
        case: CaseArg,
        /// Why the case is re-assessed.
        #[arg(long)]
        reason: String,
    },
    /// Confirm, as a second person, a re-assessment that found no duty
    /// where an earlier determination found one (the case may then close).
    Confirm {
        #[command(flatten)]
        case: CaseArg,
        /// Why the new determination stands.
        #[arg(long)]
        reason: String,
    },
    /// Hand the case to another owner and lead element.
    Handoff {
        #[command(flatten)]
        case: CaseArg,
        /// The new accountable owner (an account name).
        #[arg(long, value_name = "NAME")]
        owner: String,
        /// The new lead element.
        #[arg(long, alias = "element", value_name = "ELEMENT")]
        lead_element: String,
        /// Why the case changes hands.
        #[arg(long)]
        reason: String,
    },
    /// Confirm, reject or set whether a report is an independent source (the detector only proposes).
    Independence {
        #[command(flatten)]
        case: CaseArg,
        /// The report: its number in the case (1, 2... as `case show` and the rule trace count them) or its id.
        #[arg(long, value_name = "REPORT")]
        report: String,
        /// The report it repeats (number or id).
        #[arg(long, value_name = "REPORT", required_unless_present = "independent")]
        derived_of: Option<String>,
        /// It is an independent source.
        #[arg(long, conflicts_with = "derived_of")]
        independent: bool,
        /// Why (recorded, and shown in the rule trace).
        #[arg(long)]
        reason: String,
    },
    /// Reports of other cases (that you may see) which a report repeats, or which repeat it.
    Similar {
        #[command(flatten)]
        case: CaseArg,
        /// The report: its number in the case (1, 2...) or its id.
        #[arg(long, value_name = "REPORT")]
        report: String,
    },
    /// The case as a STIX 2.1 bundle (JSON on standard output), for partners' threat-intelligence platforms.
    Export {
        #[command(flatten)]
        case: CaseArg,
        /// The format of the export.
        #[arg(long, value_parser = ["stix"], default_value = "stix")]
        format: String,
    },
    /// Apply the clock: escalate overdue steps, flag lapsed windows and due waiver reviews.
    Sweep,
    /// Merge a case into another (the lead analysts of both ask for the same; the second makes it).
    Merge {
        /// The case that closes, its reports moved (number or id; you may not see it).
        absorbed: String,
        /// The case that survives (number or id).
        #[arg(long)]
        into: String,
    },
    /// Link two cases about one threat (the lead analysts of both ask for the same; the second makes it).
    Link {
        /// A case (number or id).
        case: String,
        /// The other case (number or id; you may not see it).
        #[arg(long)]
        with: String,
    },
}

/// A report of `case` named by its number in the case (from 1) or its id.
fn report_of(case: &Case, given: &str) -> Result<ReportId> {
    let given = given.trim();
    if let Ok(n) = given.parse::<usize>() {
        return case
            .reports
            .get(n.wrapping_sub(1))
            .map(|r| r.id)
            .ok_or_else(|| {
                anyhow!(
                    "case has {} report(s): there is no report {n}",
                    case.reports.len()
                )
            });
    }
    let id: ReportId = given
        .parse()
        .map_err(|_| anyhow!("'{given}' is neither a report number (1, 2...) nor a report id"))?;
    if !case.reports.iter().any(|r| r.id == id) {
        bail!("there is no report {id} on this case");
    }
    Ok(id)
}

#[derive(Subcommand)]
pub enum WaiverCmd {
    /// Request a waiver on a ground of the policy.
    Request {
        #[command(flatten)]
        case: CaseArg,
        #[arg(long, value_name = "CODE", help = ground_help())]
        ground: String,
        /// Why the duty should be waived.
        #[arg(long)]
        reason: String,
        /// The legal review the request rests on (a reference or a summary).
        #[arg(long, value_name = "TEXT")]
        legal_review: Option<String>,
    },
    /// Approve a waiver (never by its requester).
    Approve {
        #[command(flatten)]
        case: CaseArg,
        /// The waiver's id (printed by `tocsin waiver request`, shown by `tocsin case show`).
        waiver: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Reject a waiver (never by its requester).
    Reject {
        #[command(flatten)]
        case: CaseArg,
        /// The waiver's id (printed by `tocsin waiver request`, shown by `tocsin case show`).
        waiver: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

/// The help of `--ground`: the codes of the built-in policy as examples
/// (the server's policy decides which it accepts).
fn ground_help() -> String {
    let policy = tocsin_domain::LoadedPolicy::builtin();
    let codes: Vec<&str> = policy
        .policy
        .waiver
        .grounds
        .iter()
        .map(|g| g.code.as_str())
        .collect();
    format!(
        "A waiver ground of the server's policy, by its code (the built-in policy's: {})",
        codes.join(", ")
    )
}

/// A case id from an id, a case number (2026-0007) or a unique prefix of
/// the id, among the cases the caller may see. An ambiguous prefix is
/// refused with the cases it matches.
pub async fn resolve(c: &Client, reference: &str) -> Result<CaseId> {
    let s = reference.trim();
    if let Ok(id) = s.parse::<CaseId>() {
        return Ok(id);
    }
    let rows = find(c, s).await?;
    match rows.as_slice() {
        [one] => Ok(one.id),
        [] => bail!("there is no case {s}"),
        more => {
            let list: Vec<String> = more
                .iter()
                .take(20)
                .map(|r| {
                    let n = r.number.map(|n| n.to_string()).unwrap_or_default();
                    format!("  {n:<10}  {}  {}", r.id, r.title)
                })
                .collect();
            bail!(
                "'{s}' matches {} cases; give its number or more of its id:\n{}",
                more.len(),
                list.join("\n")
            )
        }
    }
}

/// The cases the caller may see that `s` names: by number, or by the start
/// of their id (the server tells what is wrong with `s`).
async fn find(c: &Client, s: &str) -> Result<Vec<CaseRow>> {
    let query = ListCasesQuery {
        prefix: Some(s.to_owned()),
        ..Default::default()
    };
    let page: CasePage = c.get(&with_query("/api/v1/cases", &query)?).await?;
    Ok(page.items)
}

/// The case, folded here from its events (the same pure fold the server uses).
pub async fn fetch_case(c: &Client, id: CaseId) -> Result<Case> {
    let page: List<LoggedEvent> = c.get(&format!("/api/v1/cases/{id}/events")).await?;
    let recorded: Vec<RecordedEvent> = page
        .items
        .into_iter()
        .map(|e| RecordedEvent {
            seq: e.seq,
            recorded_at: e.recorded_at,
            actor: e.actor,
            event: e.event,
        })
        .collect();
    let mut case =
        Case::from_events(&recorded).map_err(|e| anyhow!("case {id} does not fold: {e}"))?;
    // The number is the store's, not the events': from the case's row.
    case.number = find(c, &id.to_string())
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .and_then(|r| r.number);
    Ok(case)
}

/// Runs a command on the case named `case`: `body` to `what` under the case.
pub async fn command<B: Serialize>(
    ctx: &Ctx,
    case: &str,
    what: &str,
    body: &B,
) -> Result<ExitCode> {
    let c = ctx.client()?;
    let id = resolve(&c, case).await?;
    command_on(ctx, &c, (id, case), what, body).await
}

/// How a command's output names the case: by the number the user gave,
/// else by its id.
pub fn shown(id: CaseId, reference: &str) -> String {
    match reference.trim().parse::<tocsin_domain::CaseNumber>() {
        Ok(n) => n.to_string(),
        Err(_) => id.to_string(),
    }
}

/// Runs a command on the case `id` (which the user called `reference`) and
/// says what it did.
pub async fn command_on<B: Serialize>(
    ctx: &Ctx,
    c: &Client,
    (id, reference): (CaseId, &str),
    what: &str,
    body: &B,
) -> Result<ExitCode> {
    let r: CommandResult = c.post(&format!("/api/v1/cases/{id}/{what}"), body).await?;
    ctx.emit(&r, |r| {
        let mut s = format!(
            "recorded {} on case {}; it is now {} (ledger positions {}..{}, size {})",
            join(r.events.iter().map(String::as_str)),
            shown(id, reference),
            r.state.as_str(),
            r.first_position,
            r.first_position + r.count.max(1) - 1,
            r.tree_size
        );
        if let Some(w) = r.waiver_id {
            s.push_str(&format!("\nwaiver {w}"));
        }
        if let Some(v) = r.warning_version {
            s.push_str(&format!("\nwarning version {v}"));
        }
        if let Some(d) = r.dispute_id {
            s.push_str(&format!("\ndispute {d}"));
        }
        s
    })?;
    Ok(ExitCode::SUCCESS)
}

pub async fn case(ctx: &Ctx, cmd: CaseCmd) -> Result<ExitCode> {
    match cmd {
        CaseCmd::List {
            state,
            open,
            reassessment_due,
            overdue,
            determination,
            element,
            owner,
            text,
            limit,
            after,
        } => {
            let query = ListCasesQuery {
                state,
                open: open.then_some(true),
                reassessment_due: reassessment_due.then_some(true),
                overdue: overdue.then_some(true),
                prefix: None,
                determination,
                element,
                owner,
                text,
                limit: Some(limit),
                after,
            };
            let page: CasePage = ctx
                .client()?
                .get(&with_query("/api/v1/cases", &query)?)
                .await?;
            ctx.emit(&page, |page| {
                let mut s = render::case_list(&page.items, Timestamp::now());
                if let Some(n) = &page.next {
                    s.push_str(&format!("more: --after {n}\n"));
                }
                s.trim_end_matches('\n').to_owned()
            })?;
            Ok(ExitCode::SUCCESS)
        }
        CaseCmd::Show(c) => {
            let cl = ctx.client()?;
            let id = resolve(&cl, &c.case).await?;
            let case = fetch_case(&cl, id).await?;
            if ctx.json {
                out::line(serde_json::to_string_pretty(&case)?)?;
            } else {
                out::text(render::case(&case, ctx.now.unwrap_or_else(Timestamp::now)))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        CaseCmd::Assess {
            case,
            grade,
            who,
            where_,
            when,
            how,
            harm,
            window_start,
            window_end,
            time_zone,
            reason,
        } => {
            let c = ctx.client()?;
            let me: MeView = c.get("/api/v1/me").await?;
            let grading = match grade {
                Some(g) => Some(Grading {
                    grade: AdmiraltyGrade::parse(&g).map_err(|e| anyhow!("--grade: {e}"))?,
                    assessor: me.account.name,
                    reason: parse_flag("reason", &reason)?,
                }),
                None => None,
            };
            let specificity = match (who, where_, when, how) {
                (None, None, None, None) => None,
                (Some(who), Some(where_), Some(when), Some(how)) => Some(Specificity {
                    who,
                    where_,
                    when,
                    how,
                }),
                _ => bail!(
                    "give all four of --who, --where, --when and --how (present, partial or absent)"
                ),
            };
            let harm_types = if harm.is_empty() {
                None
            } else {
                Some(HarmTypes::new(harm).map_err(|e| anyhow!("--harm: {e}"))?)
            };
            let window = match (window_start, window_end, time_zone) {
                (Some(a), Some(b), Some(z)) => Some(
                    ThreatWindow::new(
                        parse_time("--window-start", &a)?,
                        parse_time("--window-end", &b)?,
                        parse_flag("time-zone", &z)?,
                    )
                    .map_err(|e| anyhow!("--window-end: {e}"))?,
                ),
                _ => None,
            };
            let body = Assessment {
                grading,
                specificity,
                harm_types,
                window,
                reason: parse_flag("reason", &reason)?,
            };
            let id = resolve(&c, &case.case).await?;
            command_on(ctx, &c, (id, &case.case), "assessments", &body).await
        }
        CaseCmd::Determine { case, note } => {
            let body = DetermineBody {
                note: parse_opt("note", note.as_deref())?,
            };
            command(ctx, &case.case, "determinations", &body).await
        }
        CaseCmd::Reassess { case, reason } => {
            let body = ReasonBody {
                reason: parse_flag("reason", &reason)?,
            };
            command(ctx, &case.case, "reassessments", &body).await
        }
        CaseCmd::Confirm { case, reason } => {
            let body = ReasonBody {
                reason: parse_flag("reason", &reason)?,
            };
            command(ctx, &case.case, "determinations/confirmation", &body).await
        }
        CaseCmd::Handoff {
            case,
            owner,
            lead_element,
            reason,
        } => {
            let body = HandOffBody {
                owner: parse_flag("owner", &owner)?,
                lead_element: parse_flag("lead-element", &lead_element)?,
                reason: parse_flag("reason", &reason)?,
            };
            command(ctx, &case.case, "handoffs", &body).await
        }
        CaseCmd::Independence {
            case,
            report,
            derived_of,
            independent: _,
            reason,
        } => {
            let c = ctx.client()?;
            let id = resolve(&c, &case.case).await?;
            let folded = fetch_case(&c, id).await?;
            let report_id = report_of(&folded, &report)?;
            let body = IndependenceBody {
                derived_of: derived_of.map(|d| report_of(&folded, &d)).transpose()?,
                reason: parse_flag("reason", &reason)?,
            };
            let what = format!("reports/{report_id}/independence");
            command_on(ctx, &c, (id, &case.case), &what, &body).await
        }
        CaseCmd::Export { case, format: _ } => {
            let c = ctx.client()?;
            let id = resolve(&c, &case.case).await?;
            out::text(c.get_text(&format!("/api/v1/cases/{id}/stix")).await?)?;
            Ok(ExitCode::SUCCESS)
        }
        CaseCmd::Similar { case, report } => {
            let c = ctx.client()?;
            let id = resolve(&c, &case.case).await?;
            let folded = fetch_case(&c, id).await?;
            let report_id = report_of(&folded, &report)?;
            let page: serde_json::Value = c
                .send(
                    Method::GET,
                    &format!("/api/v1/cases/{id}/reports/{report_id}/similar"),
                    NO_BODY,
                    &[],
                )
                .await?
                .json()?;
            ctx.emit(&page, |p| {
                let items = p["items"].as_array().cloned().unwrap_or_default();
                if items.is_empty() {
                    return "no report of another case you may see repeats it, or is repeated by it"
                        .to_owned();
                }
                let mut s = String::new();
                for i in &items {
                    let case = i["case_number"].as_str().or(i["case_id"].as_str()).unwrap_or("?");
                    s.push_str(&format!(
                        "case {case} report {}: received {} ({}); {}% of this report in it, {}% of it in this report, {} word pairs shared\n",
                        i["report"],
                        i["received_at"].as_str().unwrap_or("?"),
                        if i["received"] == "before" { "before this one: this may repeat it" } else { "after this one: it may repeat this" },
                        i["this_in_other_percent"],
                        i["other_in_this_percent"],
                        i["shared_pairs"],
                    ));
                }
                s.push_str("a proposal only: link or merge the cases (tocsin case link / merge) if they are one threat");
                s
            })?;
            Ok(ExitCode::SUCCESS)
        }
        CaseCmd::Merge { absorbed, into } => {
            let body = MergeBody {
                absorbed: case_ref(&absorbed)?,
                into: case_ref(&into)?,
            };
            relation(ctx, "/api/v1/case-merges", &body).await
        }
        CaseCmd::Link { case, with } => {
            let body = LinkBody {
                case: case_ref(&case)?,
                with: case_ref(&with)?,
            };
            relation(ctx, "/api/v1/case-links", &body).await
        }
        CaseCmd::Sweep => {
            let r: SweepView = ctx
                .client()?
                .send(Method::POST, "/api/v1/sweep", NO_BODY, &[])
                .await?
                .json()?;
            ctx.emit(&r, |r| {
                let mut s = format!(
                    "checked {} open case(s); {} event(s) raised\n",
                    r.cases_checked,
                    r.events.len()
                );
                for e in &r.events {
                    s.push_str(&format!("  {}  {}\n", e.case_id, e.event.summary()));
                }
                s.trim_end().to_owned()
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A case number or id, as typed (the other case of a merge or a link may
/// be one the caller does not see, so it is not looked up).
fn case_ref(s: &str) -> Result<tocsin_domain::CaseRef> {
    s.trim()
        .parse()
        .map_err(|e| anyhow!("{s}: give a case number (2026-0007) or id: {e}"))
}

/// Asks for a merge or a link and says where it stands.
async fn relation<B: Serialize>(ctx: &Ctx, path: &str, body: &B) -> Result<ExitCode> {
    let r: RelationReceipt = ctx.client()?.post(path, body).await?;
    ctx.emit(&r, |r| match r.status {
        RelationStatus::Proposed => {
            "proposed: the other case's lead element must ask for the same".to_owned()
        }
        RelationStatus::Merged => "merged".to_owned(),
        RelationStatus::Linked => "linked".to_owned(),
    })?;
    Ok(ExitCode::SUCCESS)
}

pub async fn waiver(ctx: &Ctx, cmd: WaiverCmd) -> Result<ExitCode> {
    match cmd {
        WaiverCmd::Request {
            case,
            ground,
            reason,
            legal_review,
        } => {
            let body = WaiverRequestBody {
                ground,
                reason: parse_flag("reason", &reason)?,
                legal_review: parse_opt("legal-review", legal_review.as_deref())?,
            };
            command(ctx, &case.case, "waivers", &body).await
        }
        WaiverCmd::Approve {
            case,
            waiver,
            reason,
        } => {
            let w: WaiverId = waiver.parse()?;
            let body = ApproveWaiverBody {
                reason: parse_flag("reason", &reason)?,
            };
            command(ctx, &case.case, &format!("waivers/{w}/approval"), &body).await
        }
        WaiverCmd::Reject {
            case,
            waiver,
            reason,
        } => {
            let w: WaiverId = waiver.parse()?;
            let body = RejectWaiverBody {
                reason: parse_flag("reason", &reason)?,
            };
            command(ctx, &case.case, &format!("waivers/{w}/rejection"), &body).await
        }
    }
}
