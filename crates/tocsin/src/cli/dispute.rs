//! Disputes between elements, as `tocsin dispute raise|list|resolve`: raised
//! by a member of an element the case is shared with, listed for arbiters,
//! resolved by an arbiter with the reason.

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::{Subcommand, ValueEnum};
use tocsin_domain::WaiverId;
use tocsin_domain::elements::DisputeSubject;
use tocsin_server::api::common::{List, ReasonBody};
use tocsin_server::api::disputes::DisputeBody;
use tocsin_service::OpenDispute;

use super::case::{CaseArg, command};
use super::context::Ctx;
use super::input::parse_flag;

/// What the elements disagree about.
#[derive(Clone, Copy, ValueEnum)]
pub enum About {
    /// Whether to warn.
    Warn,
    /// Whom to warn.
    Recipient,
    /// A waiver (name it with --waiver).
    Waiver,
}

#[derive(Subcommand)]
pub enum DisputeCmd {
    /// Raise a dispute for an arbiter (as a member of an element the case is shared with).
    Raise {
        #[command(flatten)]
        case: CaseArg,
        /// What the dispute is about.
        #[arg(long, value_enum)]
        about: About,
        /// The waiver disputed (with --about waiver).
        #[arg(long, value_name = "ID")]
        waiver: Option<String>,
        /// What your element holds, and why it disagrees.
        #[arg(long)]
        statement: String,
    },
    /// The open disputes of the cases you may see, the soonest due first (arbiters).
    List,
    /// Resolve a dispute, with the reason (an arbiter who did not raise it).
    Resolve {
        #[command(flatten)]
        case: CaseArg,
        /// The dispute id (printed by `tocsin dispute raise`, shown by `tocsin dispute list`).
        dispute: String,
        /// The resolution and why.
        #[arg(long)]
        reason: String,
    },
}

pub async fn dispute(ctx: &Ctx, cmd: DisputeCmd) -> Result<ExitCode> {
    match cmd {
        DisputeCmd::Raise {
            case,
            about,
            waiver,
            statement,
        } => {
            let subject = match (about, waiver) {
                (About::Warn, None) => DisputeSubject::Warn,
                (About::Recipient, None) => DisputeSubject::Recipient,
                (About::Waiver, Some(w)) => DisputeSubject::Waiver {
                    waiver_id: w
                        .parse::<WaiverId>()
                        .map_err(|e| anyhow!("--waiver: {e}"))?,
                },
                (About::Waiver, None) => bail!("--about waiver needs --waiver ID"),
                (_, Some(_)) => bail!("--waiver goes with --about waiver only"),
            };
            let body = DisputeBody {
                subject,
                statement: parse_flag("statement", &statement)?,
            };
            command(ctx, &case.case, "disputes", &body).await
        }
        DisputeCmd::List => {
            let list: List<OpenDispute> = ctx.client()?.get("/api/v1/disputes").await?;
            ctx.emit(&list, |list| {
                if list.items.is_empty() {
                    return "no open disputes".to_owned();
                }
                let mut s = String::new();
                for d in &list.items {
                    let case = d
                        .number
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| d.case_id.to_string());
                    s.push_str(&format!(
                        "{}  case {case}  about {}  due {}  raised by {}: {}\n",
                        d.dispute_id,
                        d.subject.describe(),
                        d.due,
                        d.raised_by,
                        d.statement
                    ));
                }
                s.trim_end().to_owned()
            })?;
            Ok(ExitCode::SUCCESS)
        }
        DisputeCmd::Resolve {
            case,
            dispute,
            reason,
        } => {
            let id: tocsin_domain::DisputeId = dispute
                .trim()
                .parse()
                .map_err(|e| anyhow!("{dispute}: {e}"))?;
            let body = ReasonBody {
                reason: parse_flag("reason", &reason)?,
            };
            command(ctx, &case.case, &format!("disputes/{id}/resolution"), &body).await
        }
    }
}
