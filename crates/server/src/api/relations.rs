//! Merging and linking two cases about one threat: each lead element asks
//! for the same; the relation is made when the second does (see
//! `tocsin_service::relations`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::CaseRef;
use tocsin_domain::access::Permission;
use tocsin_service::RelationStatus;

use super::common::ok;
use super::needs;
use crate::AppState;
use crate::problem::{ApiError, Kind};
use crate::table::{Caller, Op, RawBody, Table};

pub fn routes(t: &mut Table) {
    t.add(
        Op::post("merge_cases", path!("/case-merges"), needs(Permission::Analyse))
            .tag("cases")
            .summary("Merge case `absorbed` into case `into`: proposed by one lead element, made when the other's asks for the same")
            .describe("One of the two must be a case you lead (of its lead element, and you see it). The answer is `proposed` until the other case's lead element asks for the same merge, whatever the other case is; then `merged`: the absorbed case's reports are attached to the surviving case and the absorbed case closes. A case that ever found a duty to warn is absorbed only into one that did too.")
            .body::<MergeBody>()
            .returns::<RelationReceipt>(StatusCode::OK)
            .errors(&[Kind::NotFound, Kind::IllegalTransition, Kind::Conflict]),
        merge_cases,
    );
    t.add(
        Op::post("link_cases", path!("/case-links"), needs(Permission::Analyse))
            .tag("cases")
            .summary("Link two cases about one threat: proposed by one lead element, made when the other's asks for the same")
            .body::<LinkBody>()
            .returns::<RelationReceipt>(StatusCode::OK)
            .errors(&[Kind::NotFound, Kind::IllegalTransition, Kind::Conflict]),
        link_cases,
    );
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The case that closes, its reports moved.
    pub absorbed: CaseRef,
    /// The case that survives.
    pub into: CaseRef,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    pub case: CaseRef,
    pub with: CaseRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RelationReceipt {
    pub status: RelationStatus,
}

async fn merge_cases(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: MergeBody = body.parse()?;
    let status = state.svc.merge_cases(&p, b.absorbed, b.into).await?;
    ok(&RelationReceipt { status })
}

async fn link_cases(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: LinkBody = body.parse()?;
    let status = state.svc.link_cases(&p, b.case, b.with).await?;
    ok(&RelationReceipt { status })
}
