//! Getting the warning there and what came of it, as `tocsin route|
//! delivery|response|advisory|outcome`: the route plan and the chosen
//! route, each hop's delivery, the recipient's responses, the
//! public-advisory decision and the outcome.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::Subcommand;
use tocsin_domain::delivery::{
    AdvisoryChoice, AdvisoryDecision, Channel, Delivery, DeliveryStatus, Hop, Medium, Outcome,
    OutcomeRecord, Party, Proof, ProofKind, Response, ResponseKind, Route, RouteAlternative,
};
use tocsin_domain::report::NonEmptyVec;
use tocsin_domain::text::Reason;
use tocsin_domain::warning::WarningNumber;
use tocsin_domain::warning_set::RoutePlanView;
use tocsin_server::api::cases::RouteBody;
use tocsin_server::api::delivery::ChoiceBody;

use super::case::{CaseArg, command, command_on, fetch_case, resolve};
use super::context::Ctx;
use super::input::{from_json_with_path, parse_flag, parse_opt, parse_time, read_input, wire};
use crate::render;

#[derive(Subcommand)]
pub enum RouteCmd {
    /// Ranked route candidates for the case, with their reasons, and what is excluded and why.
    Plan(CaseArg),
    /// Record the chosen route: a candidate of the plan (--candidate N), or a
    /// JSON file {"recipient", "hops", "rationale", "alternatives"}.
    Choose {
        #[command(flatten)]
        case: CaseArg,
        /// A route file (`-` for standard input), instead of --candidate.
        #[arg(required_unless_present = "candidate", conflicts_with = "candidate")]
        file: Option<PathBuf>,
        /// The rank of a candidate in `tocsin route plan`.
        #[arg(long)]
        candidate: Option<u32>,
        /// Why [default: the candidate's reason].
        #[arg(long, value_name = "TEXT")]
        rationale: Option<String>,
        /// The warning whose route this is (1 for W1...) [default: the case's only one].
        #[arg(long, value_name = "N", conflicts_with = "new_warning")]
        warning: Option<WarningNumber>,
        /// Add a warning to another recipient with this route (W2, W3...).
        #[arg(long)]
        new_warning: bool,
    },
}

#[derive(Subcommand)]
pub enum DeliveryCmd {
    /// Record one hop: sent, relayed, received or failed.
    Record {
        #[command(flatten)]
        case: CaseArg,
        /// The hop of the route (1 for the first).
        #[arg(long)]
        hop: u32,
        /// What happened on this hop.
        #[arg(long, value_parser = wire::<DeliveryStatus>())]
        status: DeliveryStatus,
        /// Who passed the warning on (a person or an office).
        #[arg(long, value_name = "NAME")]
        sender: String,
        /// Who received it.
        #[arg(long, value_name = "NAME")]
        receiver: String,
        /// The channel of this hop.
        #[arg(long, value_parser = wire::<Channel>())]
        channel: Channel,
        /// How it was conveyed.
        #[arg(long, value_parser = wire::<Medium>())]
        medium: Medium,
        /// When (RFC 3339 with offset).
        #[arg(long, value_name = "TIME")]
        at: String,
        /// The recipient's IANA time zone, e.g. Asia/Tehran.
        #[arg(long, value_name = "ZONE")]
        time_zone: String,
        /// The language the warning was given in (a BCP 47 tag: en, fa, ru, en-GB).
        #[arg(long, default_value = "en", value_name = "TAG")]
        language: String,
        /// The kind of proof that the hop arrived; with --proof.
        #[arg(long, requires = "proof", value_parser = wire::<ProofKind>())]
        proof_kind: Option<ProofKind>,
        /// Where the proof is kept, or what it says; with --proof-kind.
        #[arg(long, requires = "proof_kind", value_name = "TEXT")]
        proof: Option<String>,
        /// What went wrong, for a failed hop.
        #[arg(long, value_name = "TEXT")]
        failure: Option<String>,
        /// Which attempt at this hop (1 for the first).
        #[arg(long, default_value_t = 1)]
        attempt: u32,
        /// The warning version [default: the approved one].
        #[arg(long)]
        version: Option<u32>,
        /// The warning (1 for W1, 2 for W2...) [default: the case's only one].
        #[arg(long, value_name = "N")]
        warning: Option<WarningNumber>,
    },
}

#[derive(Subcommand)]
pub enum ResponseCmd {
    /// Record the recipient's response to the warning.
    Record {
        #[command(flatten)]
        case: CaseArg,
        /// What the recipient did.
        #[arg(long, value_parser = wire::<ResponseKind>())]
        kind: ResponseKind,
        /// When the response was given or observed (RFC 3339 with offset).
        #[arg(long, value_name = "TIME")]
        at: String,
        /// A note recorded with the response.
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        /// The warning (1 for W1, 2 for W2...) [default: the case's only one].
        #[arg(long, value_name = "N")]
        warning: Option<WarningNumber>,
    },
}

#[derive(Subcommand)]
pub enum AdvisoryCmd {
    /// Record the decision whether the public is told too.
    Decide {
        #[command(flatten)]
        case: CaseArg,
        /// The decision.
        #[arg(long, value_parser = wire::<AdvisoryChoice>())]
        decision: AdvisoryChoice,
        /// Why.
        #[arg(long)]
        reason: String,
        /// When the advisory was published, if it was (RFC 3339 with offset).
        #[arg(long, value_name = "TIME")]
        issued_at: Option<String>,
        /// The text of the advisory as published.
        #[arg(long)]
        text: Option<String>,
        /// Who published it (an embassy, a press office).
        #[arg(long, value_name = "NAME")]
        issuer: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum OutcomeCmd {
    /// Record the outcome of the case.
    Record {
        #[command(flatten)]
        case: CaseArg,
        /// What happened.
        #[arg(long, value_parser = wire::<Outcome>())]
        outcome: Outcome,
        /// When it happened, if it did (RFC 3339 with offset).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// A note recorded with the outcome.
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
}

/// A route file for `tocsin route choose CASE FILE`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteFile {
    recipient: Party,
    hops: NonEmptyVec<Hop>,
    rationale: Reason,
    #[serde(default)]
    alternatives: Vec<RouteAlternative>,
}

pub async fn route(ctx: &Ctx, cmd: RouteCmd) -> Result<ExitCode> {
    match cmd {
        RouteCmd::Plan(case) => {
            let c = ctx.client()?;
            let id = resolve(&c, &case.case).await?;
            let plan: RoutePlanView = c.get(&format!("/api/v1/cases/{id}/route-plan")).await?;
            ctx.emit(&plan, render::route_plan)?;
            Ok(ExitCode::SUCCESS)
        }
        RouteCmd::Choose {
            case,
            file: None,
            candidate: Some(n),
            rationale,
            warning,
            new_warning,
        } => {
            let body = ChoiceBody {
                candidate: n,
                rationale: parse_opt("rationale", rationale.as_deref())?,
                new_warning,
            };
            let what = format!("route-choice{}", warning_query(warning));
            command(ctx, &case.case, &what, &body).await
        }
        RouteCmd::Choose {
            case,
            file,
            warning,
            new_warning,
            ..
        } => {
            let file = file.ok_or_else(|| anyhow!("give a route file or --candidate N"))?;
            let raw = read_input(&file)?;
            let rf: RouteFile =
                from_json_with_path(&raw).with_context(|| format!("{}", file.display()))?;
            let route =
                Route::new(rf.recipient, rf.hops).with_context(|| format!("{}", file.display()))?;
            let body = RouteBody {
                route,
                rationale: rf.rationale,
                alternatives: rf.alternatives,
                new_warning,
            };
            let what = format!("route{}", warning_query(warning));
            command(ctx, &case.case, &what, &body).await
        }
    }
}

pub async fn delivery(ctx: &Ctx, cmd: DeliveryCmd) -> Result<ExitCode> {
    let DeliveryCmd::Record {
        case,
        hop,
        status,
        sender,
        receiver,
        channel,
        medium,
        at,
        time_zone,
        language,
        proof_kind,
        proof,
        failure,
        attempt,
        version,
        warning,
    } = cmd;
    let c = ctx.client()?;
    let id = resolve(&c, &case.case).await?;
    let version = match version {
        Some(v) => v,
        None => {
            let cs = fetch_case(&c, id).await?;
            let n = cs.resolve_warning(warning).map_err(|e| anyhow!("{e}"))?;
            cs.warning(n)
                .and_then(|w| w.approved())
                .map(|w| w.version)
                .ok_or_else(|| anyhow!("no version of {n} is approved on this case yet"))?
        }
    };
    let proof = match (proof_kind, proof) {
        (Some(kind), Some(r)) => Some(Proof {
            kind,
            reference: parse_flag("proof", &r)?,
        }),
        _ => None,
    };
    let body = Delivery::new(
        version,
        hop,
        status,
        parse_flag("sender", &sender)?,
        parse_flag("receiver", &receiver)?,
        channel,
        medium,
        parse_time("--at", &at)?,
        parse_flag("time-zone", &time_zone)?,
        parse_flag("language", &language)?,
        proof,
        parse_opt("failure", failure.as_deref())?,
        attempt,
    )
    .map_err(|e| anyhow!("{e}"))?;
    let what = format!("deliveries{}", warning_query(warning));
    command_on(ctx, &c, (id, &case.case), &what, &body).await
}

pub async fn response(ctx: &Ctx, cmd: ResponseCmd) -> Result<ExitCode> {
    let ResponseCmd::Record {
        case,
        kind,
        at,
        note,
        warning,
    } = cmd;
    let body = Response {
        kind,
        at: parse_time("--at", &at)?,
        note: parse_opt("note", note.as_deref())?,
    };
    let what = format!("responses{}", warning_query(warning));
    command(ctx, &case.case, &what, &body).await
}

/// `?warning=N` for a command about warning N; nothing for the default.
pub fn warning_query(warning: Option<WarningNumber>) -> String {
    warning
        .map(|n| format!("?warning={}", n.get()))
        .unwrap_or_default()
}

pub async fn advisory(ctx: &Ctx, cmd: AdvisoryCmd) -> Result<ExitCode> {
    let AdvisoryCmd::Decide {
        case,
        decision,
        reason,
        issued_at,
        text,
        issuer,
    } = cmd;
    let issued_at = issued_at
        .map(|s| parse_time("--issued-at", &s))
        .transpose()?;
    let body = AdvisoryDecision::new(
        decision,
        parse_flag("reason", &reason)?,
        issued_at,
        parse_opt("text", text.as_deref())?,
        parse_opt("issuer", issuer.as_deref())?,
    )
    .map_err(|e| anyhow!("{e}"))?;
    command(ctx, &case.case, "advisory", &body).await
}

pub async fn outcome(ctx: &Ctx, cmd: OutcomeCmd) -> Result<ExitCode> {
    let OutcomeCmd::Record {
        case,
        outcome,
        at,
        note,
    } = cmd;
    let body = OutcomeRecord {
        outcome,
        at: at.map(|s| parse_time("--at", &s)).transpose()?,
        note: parse_opt("note", note.as_deref())?,
    };
    command(ctx, &case.case, "outcome", &body).await
}
