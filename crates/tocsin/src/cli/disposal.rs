//! Disposal batches, as `tocsin records dispose propose|approve|list`: a
//! records officer proposes the records the schedules let go, a second
//! one approves (their content is destroyed, tombstones recorded).

use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::Subcommand;
use tocsin_server::api::common::List;
use tocsin_service::records::DisposalProposal;

use super::context::Ctx;

#[derive(Subcommand)]
pub enum DisposeCmd {
    /// Propose, as one batch, every record the retention schedules let go now (records officers).
    Propose,
    /// Approve a batch another records officer proposed: its records' content is destroyed, tombstones recorded.
    Approve {
        /// The batch id (printed by `tocsin records dispose propose`).
        batch: String,
    },
    /// Every disposal batch, proposed or approved.
    List,
}

pub async fn dispose(ctx: &Ctx, cmd: DisposeCmd) -> Result<ExitCode> {
    match cmd {
        DisposeCmd::Propose => {
            let b: DisposalProposal = ctx
                .client()?
                .post_empty("/api/v1/records/disposals")
                .await?;
            ctx.emit(&b, describe)?;
        }
        DisposeCmd::Approve { batch } => {
            let id: tocsin_domain::ids::DisposalBatchId =
                batch.trim().parse().map_err(|e| anyhow!("{batch}: {e}"))?;
            let b: DisposalProposal = ctx
                .client()?
                .post_empty(&format!("/api/v1/records/disposals/{id}/approval"))
                .await?;
            ctx.emit(&b, describe)?;
        }
        DisposeCmd::List => {
            let list: List<DisposalProposal> =
                ctx.client()?.get("/api/v1/records/disposals").await?;
            ctx.emit(&list, |l| {
                if l.items.is_empty() {
                    return "no disposal batches".to_owned();
                }
                l.items.iter().map(describe).collect::<Vec<_>>().join("\n")
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn positions(p: &[u64]) -> String {
    if p.is_empty() {
        return "none".to_owned();
    }
    p.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

fn describe(b: &DisposalProposal) -> String {
    let mut s = format!(
        "disposal batch {}: proposed by {} at {}, {} record(s) at positions {}",
        b.batch_id,
        b.requested_by,
        b.proposed_at,
        b.positions.len(),
        positions(&b.positions)
    );
    for h in &b.held {
        s.push_str(&format!(
            "\n  held, not proposed: position {}: {}",
            h.position, h.reason
        ));
    }
    match &b.approval {
        None => s.push_str("\n  awaiting a second records officer's approval"),
        Some(a) => {
            s.push_str(&format!(
                "\n  approved by {} at {}: disposed of {}",
                a.approved_by,
                a.approved_at,
                positions(&a.disposed)
            ));
            if let Some(t) = a.first_tombstone {
                s.push_str(&format!(" (tombstones from position {t})"));
            }
            for k in &a.skipped {
                s.push_str(&format!(
                    "\n  skipped position {}: {}",
                    k.position, k.reason
                ));
            }
        }
    }
    s
}
