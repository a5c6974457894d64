//! Contributions, as `tocsin contribution submit|status|list|accept|decline`:
//! a report sent to a case of another element (which the sender may not
//! see: it is named by the number the sender was given), where it stands,
//! and the lead element's list and decisions.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::Subcommand;
use tocsin_domain::elements::Contribution;
use tocsin_domain::{CaseRef, ContributionId, parse_report};
use tocsin_server::api::common::{List, ReasonBody};
use tocsin_server::api::contributions::{AcceptBody, ContributionBody, ContributionQuery};
use tocsin_service::ContributionReceipt;

use super::case::{CaseArg, command, resolve};
use super::context::Ctx;
use super::input::{parse_flag, read_input};
use crate::client::with_query;

#[derive(Subcommand)]
pub enum ContributionCmd {
    /// Send a report to a case of another element, which you may not see: it waits for that case's lead element.
    Submit {
        /// The case's number (2026-0007) or id, as you were given it.
        case: String,
        /// The report (an intake JSON file; - for standard input).
        file: PathBuf,
    },
    /// Where your contribution stands: pending, accepted or declined (nothing more).
    Status {
        /// The case you sent it to (its number or id).
        case: String,
        /// The contribution id `tocsin contribution submit` printed.
        contribution: String,
    },
    /// The contributions sent to a case you read (those you are cleared for).
    List(CaseArg),
    /// Accept a pending contribution (the lead element): its report is attached to the case.
    Accept {
        #[command(flatten)]
        case: CaseArg,
        /// The contribution id (shown by `tocsin contribution list`).
        contribution: String,
    },
    /// Decline a pending contribution (the lead element), with the reason.
    Decline {
        #[command(flatten)]
        case: CaseArg,
        /// The contribution id (shown by `tocsin contribution list`).
        contribution: String,
        /// Why (kept in the ledger; the sender is told only "declined").
        #[arg(long)]
        reason: String,
    },
}

fn case_ref(s: &str) -> Result<CaseRef> {
    s.trim()
        .parse()
        .map_err(|e| anyhow!("{s}: give a case number (2026-0007) or id: {e}"))
}

fn contribution_id(s: &str) -> Result<ContributionId> {
    s.trim()
        .parse()
        .map_err(|e| anyhow!("{s}: not a contribution id: {e}"))
}

fn receipt(ctx: &Ctx, r: &ContributionReceipt) -> Result<ExitCode> {
    ctx.emit(r, |r| {
        format!("contribution {}: {}", r.contribution_id, r.status.as_str())
    })?;
    Ok(ExitCode::SUCCESS)
}

pub async fn contribution(ctx: &Ctx, cmd: ContributionCmd) -> Result<ExitCode> {
    match cmd {
        ContributionCmd::Submit { case, file } => {
            let text = read_input(&file)?;
            let report = parse_report(&text).map_err(|e| anyhow!("{}: {e}", file.display()))?;
            let body = ContributionBody {
                case: case_ref(&case)?,
                report,
            };
            let r: ContributionReceipt = ctx.client()?.post("/api/v1/contributions", &body).await?;
            receipt(ctx, &r)
        }
        ContributionCmd::Status { case, contribution } => {
            let id = contribution_id(&contribution)?;
            let query = ContributionQuery {
                case: case_ref(&case)?.to_string(),
            };
            let r: ContributionReceipt = ctx
                .client()?
                .get(&with_query(&format!("/api/v1/contributions/{id}"), &query)?)
                .await?;
            receipt(ctx, &r)
        }
        ContributionCmd::List(c) => {
            let cl = ctx.client()?;
            let id = resolve(&cl, &c.case).await?;
            let list: List<Contribution> =
                cl.get(&format!("/api/v1/cases/{id}/contributions")).await?;
            ctx.emit(&list, |list| {
                if list.items.is_empty() {
                    return "no contributions".to_owned();
                }
                let mut s = String::new();
                for c in &list.items {
                    s.push_str(&format!(
                        "{}  {:<8}  from {} ({}) at {}: {}\n",
                        c.id,
                        c.status.as_str(),
                        c.submitted_by,
                        c.report.originating_element,
                        c.submitted_at,
                        c.report.title
                    ));
                    if let Some(r) = &c.reason {
                        s.push_str(&format!("    declined: {r}\n"));
                    }
                }
                s.trim_end().to_owned()
            })?;
            Ok(ExitCode::SUCCESS)
        }
        ContributionCmd::Accept { case, contribution } => {
            let id = contribution_id(&contribution)?;
            command(
                ctx,
                &case.case,
                &format!("contributions/{id}/acceptance"),
                &AcceptBody {},
            )
            .await
        }
        ContributionCmd::Decline {
            case,
            contribution,
            reason,
        } => {
            let id = contribution_id(&contribution)?;
            let body = ReasonBody {
                reason: parse_flag("reason", &reason)?,
            };
            command(
                ctx,
                &case.case,
                &format!("contributions/{id}/decline"),
                &body,
            )
            .await
        }
    }
}
