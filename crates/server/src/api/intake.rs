//! Threat reports in: the intake format's schema and submission (a new
//! case, or a report joining one), with an optional idempotency key.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::{ActorName, CaseId, CaseNumber, ReportId, ThreatReport};
use tocsin_service::{Idempotency, Intake, Submitted};

use super::common::{case_ref, created, ok};
use super::needs;
use crate::AppState;
use crate::problem::{ApiError, Kind};
use crate::table::{Access, Caller, Op, QueryParams, RawBody, Table};

pub fn routes(t: &mut Table) {
    t.add(
        Op::get(
            "intake_schema",
            path!("/reports/schema"),
            Access::Authenticated,
        )
        .tag("reports")
        .summary("The JSON Schema of the intake format")
        .returns::<serde_json::Value>(StatusCode::OK),
        intake_schema,
    );
    t.add(
        Op::post("submit_report", path!("/reports"), needs(Permission::SubmitReport))
            .tag("reports")
            .summary("Submit a threat report: it opens a case, or joins `case`")
            .describe("Send an `Idempotency-Key` header to make retries safe: the same key with the same body returns the first result and writes nothing.")
            .query::<SubmitQuery>()
            .body::<ThreatReport>()
            .idempotent()
            .returns::<SubmittedView>(StatusCode::CREATED)
            .errors(&[Kind::NotFound, Kind::Conflict, Kind::IllegalTransition]),
        submit_report,
    );
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitQuery {
    /// Join this case (its id or its number) instead of opening a new one.
    pub case: Option<String>,
    /// The accountable owner of a new case (default: the submitter).
    pub owner: Option<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct SubmittedView {
    pub report_id: ReportId,
    pub case_id: CaseId,
    /// The new case's number (absent when the report joined a case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<CaseNumber>,
    /// The report opened a new case (rather than joining one).
    pub new_case: bool,
}

impl From<Submitted> for SubmittedView {
    fn from(s: Submitted) -> Self {
        Self {
            report_id: s.report_id,
            case_id: s.case_id,
            number: s.number,
            new_case: s.new_case,
        }
    }
}

async fn intake_schema() -> Result<Response, ApiError> {
    ok(&tocsin_domain::intake_schema())
}

async fn submit_report(
    State(state): State<AppState>,
    Caller(p): Caller,
    headers: HeaderMap,
    QueryParams(q): QueryParams<SubmitQuery>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let idempotency = match headers.get("idempotency-key") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|k| Idempotency::new(k, &body.0).ok())
                .ok_or_else(|| {
                    ApiError::bad_request("Idempotency-Key: give 1 to 200 visible ASCII characters")
                })?,
        ),
        None => None,
    };
    let join = match &q.case {
        Some(c) => Some(state.svc.case(&p, case_ref(c)?, "submit_report").await?),
        None => None,
    };
    let owner = match &q.owner {
        Some(o) => Some(
            ActorName::new(o.as_str())
                .map_err(|e| ApiError::bad_request(format!("owner '{o}': {e}")))?,
        ),
        None => None,
    };
    let report: ThreatReport = body.parse()?;
    let s = state
        .svc
        .submit_report(
            &p,
            Intake {
                report,
                join,
                owner,
                idempotency,
            },
        )
        .await?;
    created(&SubmittedView::from(s))
}
