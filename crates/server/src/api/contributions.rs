//! Contributions: a report sent to a case the sender may not see, its
//! status for the sender, and the lead element's list, acceptance and
//! decline. The sender is told only the status (see
//! `tocsin_service::contributions`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::elements::Contribution;
use tocsin_domain::{CaseRef, ContributionId, ThreatReport};
use tocsin_service::ContributionReceipt;

use super::cases::CASE_PARAM;
use super::common::{CaseCommand, List, PathParamList, ReasonBody, VisibleCase, answer, json, ok};
use super::needs;
use crate::AppState;
use crate::problem::{ApiError, Kind};
use crate::table::{Caller, Op, PathParams, QueryParams, Table};

pub fn routes(t: &mut Table) {
    t.add(
        Op::post(
            "submit_contribution",
            path!("/contributions"),
            needs(Permission::SubmitReport),
        )
        .tag("contributions")
        .summary("Send a report to a case you may not see: it waits for the case's lead element")
        .describe("Always answers 202 with a contribution id and the status `pending`, whether the case exists, is hidden from you or not: you learn nothing about the case but, later, whether your contribution was accepted or declined.")
        .body::<ContributionBody>()
        .returns::<ContributionReceipt>(StatusCode::ACCEPTED)
        .errors(&[Kind::Conflict]),
        submit_contribution,
    );
    t.add(
        Op::get(
            "contribution_status",
            path!("/contributions/{contribution_id}"),
            needs(Permission::SubmitReport),
        )
        .tag("contributions")
        .summary("Where your contribution stands: pending, accepted or declined")
        .describe("Anything the case does not hold from you answers `pending`, as a contribution to a case that does not exist does.")
        .param("contribution_id", "The contribution id")
        .query::<ContributionQuery>()
        .returns::<ContributionReceipt>(StatusCode::OK),
        contribution_status,
    );
    t.add(
        Op::get(
            "list_contributions",
            path!("/cases/{case_id}/contributions"),
            needs(Permission::ReadCase),
        )
        .tag("contributions")
        .summary("The contributions other elements sent to the case (those you are cleared for; the read is recorded)")
        .param("case_id", CASE_PARAM)
        .returns::<List<Contribution>>(StatusCode::OK),
        list_contributions,
    );
    t.add(
        command(
            Op::post(
                "accept_contribution",
                path!("/cases/{case_id}/contributions/{contribution_id}/acceptance"),
                needs(Permission::Analyse),
            )
            .summary("Accept a pending contribution (the lead element): its report is attached to the case")
            .body::<AcceptBody>(),
        ),
        accept_contribution,
    );
    t.add(
        command(
            Op::post(
                "decline_contribution",
                path!("/cases/{case_id}/contributions/{contribution_id}/decline"),
                needs(Permission::Analyse),
            )
            .summary("Decline a pending contribution (the lead element), with the reason")
            .body::<ReasonBody>(),
        ),
        decline_contribution,
    );
}

fn command(op: Op) -> Op {
    op.tag("contributions")
        .param("case_id", CASE_PARAM)
        .param("contribution_id", "The contribution id")
        .returns::<super::common::CommandResult>(StatusCode::OK)
        .errors(&[Kind::IllegalTransition, Kind::Conflict])
}

/// A report for a case, by its number or id.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContributionBody {
    pub case: CaseRef,
    pub report: ThreatReport,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContributionQuery {
    /// The case the contribution was sent to (its number or id).
    pub case: String,
}

/// Accepting names nothing more than the path does.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {}

/// The `{contribution_id}` of the path: one that does not parse answers as
/// a missing contribution.
fn contribution_id(params: &PathParamList) -> Result<ContributionId, ApiError> {
    let c = params.get("contribution_id");
    c.parse()
        .map_err(|_| ApiError::not_found(format!("there is no contribution {c} on this case")))
}

async fn submit_contribution(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: crate::table::RawBody,
) -> Result<Response, ApiError> {
    let b: ContributionBody = body.parse()?;
    let r = state.svc.submit_contribution(&p, b.case, b.report).await?;
    Ok(json(StatusCode::ACCEPTED, &r))
}

async fn contribution_status(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(id): PathParams<String>,
    QueryParams(q): QueryParams<ContributionQuery>,
) -> Result<Response, ApiError> {
    let id: ContributionId = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("'{id}' is not a contribution id")))?;
    let case = q
        .case
        .parse::<CaseRef>()
        .map_err(|e| ApiError::bad_request(format!("case: {e}")))?;
    ok(&state.svc.contribution_status(&p, case, id).await?)
}

async fn list_contributions(
    State(state): State<AppState>,
    Caller(p): Caller,
    VisibleCase(case): VisibleCase,
) -> Result<Response, ApiError> {
    let items = state.svc.contributions(&p, &case).await?;
    ok(&List { items, next: None })
}

async fn accept_contribution(c: CaseCommand<AcceptBody>) -> Result<Response, ApiError> {
    let (state, p, case, params, _) = c.into_parts();
    let id = contribution_id(&params)?;
    let ex = state.svc.accept_contribution(&p, &case, id).await?;
    answer(ex)
}

async fn decline_contribution(c: CaseCommand<ReasonBody>) -> Result<Response, ApiError> {
    let (state, p, case, params, body) = c.into_parts();
    let id = contribution_id(&params)?;
    let ex = state
        .svc
        .decline_contribution(&p, &case, id, body.reason)
        .await?;
    answer(ex)
}
