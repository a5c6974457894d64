//! Disputes between elements about a case: raised by a member of an
//! element the case is shared with, listed for arbiters, resolved by an
//! arbiter with a reason.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::DisputeId;
use tocsin_domain::access::Permission;
use tocsin_domain::elements::DisputeSubject;
use tocsin_domain::text::Reason;
use tocsin_service::OpenDispute;

use super::cases::CASE_PARAM;
use super::common::{CaseCommand, CommandResult, List, PathParamList, ReasonBody, answer, ok};
use super::needs;
use crate::AppState;
use crate::problem::{ApiError, Kind};
use crate::table::{Caller, Op, Table};

pub fn routes(t: &mut Table) {
    t.add(
        command(
            Op::post(
                "raise_dispute",
                path!("/cases/{case_id}/disputes"),
                needs(Permission::ReadCase),
            )
            .summary("Raise a dispute between elements (whether to warn, whom, a waiver) for an arbiter; by a member of an element the case is shared with")
            .body::<DisputeBody>(),
        ),
        raise_dispute,
    );
    t.add(
        command(
            Op::post(
                "resolve_dispute",
                path!("/cases/{case_id}/disputes/{dispute_id}/resolution"),
                needs(Permission::Arbitrate),
            )
            .summary("Resolve a dispute (an arbiter who did not raise it), with the reason")
            .param("dispute_id", "The dispute id")
            .body::<ReasonBody>(),
        ),
        resolve_dispute,
    );
    t.add(
        Op::get(
            "list_disputes",
            path!("/disputes"),
            needs(Permission::Arbitrate),
        )
        .tag("disputes")
        .summary("The open disputes of the cases you may see, the soonest due first")
        .returns::<List<OpenDispute>>(StatusCode::OK),
        list_disputes,
    );
}

fn command(op: Op) -> Op {
    let mut op = op
        .tag("disputes")
        .param("case_id", CASE_PARAM)
        .returns::<CommandResult>(StatusCode::OK)
        .errors(&[Kind::IllegalTransition, Kind::Conflict]);
    op.path_params.rotate_right(1);
    op
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeBody {
    pub subject: DisputeSubject,
    /// What the raising element holds, and why it disagrees.
    pub statement: Reason,
}

fn dispute_id(params: &PathParamList) -> Result<DisputeId, ApiError> {
    let d = params.get("dispute_id");
    d.parse()
        .map_err(|_| ApiError::not_found(format!("there is no dispute {d} on this case")))
}

async fn raise_dispute(c: CaseCommand<DisputeBody>) -> Result<Response, ApiError> {
    let (state, p, case, _, body) = c.into_parts();
    let (ex, _) = state
        .svc
        .raise_dispute(&p, &case, body.subject, body.statement)
        .await?;
    answer(ex)
}

async fn resolve_dispute(c: CaseCommand<ReasonBody>) -> Result<Response, ApiError> {
    let (state, p, case, params, body) = c.into_parts();
    let id = dispute_id(&params)?;
    let ex = state
        .svc
        .resolve_dispute(&p, &case, id, body.reason)
        .await?;
    answer(ex)
}

async fn list_disputes(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Response, ApiError> {
    let items = state.svc.open_disputes(&p).await?;
    ok(&List { items, next: None })
}
