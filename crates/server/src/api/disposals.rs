//! Disposal batches of records: proposed by a records officer, approved
//! by a second one (the tombstones and the removal of the content are
//! written together), listed.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use tocsin_domain::access::Permission;
use tocsin_domain::ids::DisposalBatchId;
use tocsin_service::records::DisposalProposal;

use super::common::{List, json, ok};
use super::needs;
use crate::AppState;
use crate::problem::{ApiError, Kind};
use crate::table::{Caller, Op, PathParams, Table};

pub fn routes(t: &mut Table) {
    t.add(
        Op::post(
            "propose_disposal",
            path!("/records/disposals"),
            needs(Permission::ManageRecords),
        )
        .tag("records")
        .summary("Propose, as one batch, every record the retention schedules in force let go now (none under a legal hold); a second records officer approves it")
        .returns::<DisposalProposal>(StatusCode::CREATED),
        propose_disposal,
    );
    t.add(
        Op::get(
            "list_disposals",
            path!("/records/disposals"),
            needs(Permission::ManageRecords),
        )
        .tag("records")
        .summary("Every disposal batch, proposed or approved, oldest first")
        .returns::<List<DisposalProposal>>(StatusCode::OK),
        list_disposals,
    );
    t.add(
        Op::post(
            "approve_disposal",
            path!("/records/disposals/{batch_id}/approval"),
            needs(Permission::ManageRecords),
        )
        .tag("records")
        .summary("Approve a disposal batch (a records officer who did not propose it): each record is decided again, a hold placed since wins; the tombstones and the removal of the content are written together")
        .param("batch_id", "The disposal batch id")
        .returns::<DisposalProposal>(StatusCode::OK)
        .errors(&[Kind::NotFound, Kind::Conflict]),
        approve_disposal,
    );
}

async fn propose_disposal(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Response, ApiError> {
    let batch = state.svc.propose_disposal(&p).await?;
    Ok(json(StatusCode::CREATED, &batch))
}

async fn list_disposals(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Response, ApiError> {
    let items = state.svc.disposals(&p).await?;
    ok(&List { items, next: None })
}

async fn approve_disposal(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let id: DisposalBatchId = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("there is no disposal batch {id}")))?;
    let batch = state.svc.approve_disposal(&p, id).await?;
    ok(&batch)
}
