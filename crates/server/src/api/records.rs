//! Records management for records officers: the retention schedules
//! (`/records/schedules`), legal holds (`/records/holds`) and the records
//! officer's report (`/records/report`). The service decides; these
//! handlers parse and map.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::Timestamp;
use tocsin_domain::access::Permission;
use tocsin_domain::ids::HoldId;
use tocsin_domain::records::RecordQuery;
use tocsin_domain::text::Reason;
use tocsin_service::records::holds::{HoldAnswer, HoldView};
use tocsin_service::records::report::RecordsReport;
use tocsin_service::records::schedules::SchedulesInForce;

use super::common::{List, ReasonBody, created, ok};
use super::needs;
use crate::AppState;
use crate::problem::{ApiError, Kind};
use crate::table::{Caller, Op, PathParams, QueryParams, RawBody, Table};

const HOLD_PARAM: &str = "The hold's id";

pub fn routes(t: &mut Table) {
    t.add(
        Op::get(
            "get_retention_schedules",
            path!("/records/schedules"),
            needs(Permission::ManageRecords),
        )
        .tag("records")
        .summary("The retention schedules in force: per class its trigger, period, action and authority; their text, origin and SHA-256")
        .returns::<SchedulesInForce>(StatusCode::OK),
        get_retention_schedules,
    );
    t.add(
        Op::put(
            "set_retention_schedules",
            path!("/records/schedules"),
            needs(Permission::ManageRecords),
        )
        .tag("records")
        .summary(
            "Adopt retention schedules from a TOML text (recorded in the ledger with its SHA-256)",
        )
        .describe(
            "The text is checked whole: a wrong value, an unknown key or a class listed twice is \
             refused (422) with its line. A class without a schedule is never disposed of.",
        )
        .body::<SchedulesBody>()
        .returns::<SchedulesInForce>(StatusCode::OK),
        set_retention_schedules,
    );
    t.add(
        Op::get(
            "list_holds",
            path!("/records/holds"),
            needs(Permission::ManageRecords),
        )
        .tag("records")
        .summary("The legal holds in force (requested, placed, or with a release pending)")
        .returns::<List<HoldView>>(StatusCode::OK),
        list_holds,
    );
    t.add(
        Op::post(
            "request_hold",
            path!("/records/holds"),
            needs(Permission::ManageRecords),
        )
        .tag("records")
        .summary("Request a legal hold over the records a query matches; it covers them at once, a second records officer approves it")
        .body::<HoldRequestBody>()
        .returns::<HoldAnswer>(StatusCode::CREATED)
        // A case named in the scope that the requester may not see (or
        // that does not exist).
        .errors(&[Kind::NotFound]),
        request_hold,
    );
    t.add(
        hold_step(Op::post(
            "approve_hold",
            path!("/records/holds/{hold_id}/approval"),
            needs(Permission::ManageRecords),
        ))
        .summary("Approve what is pending on a hold: its request (placed) or its release (released); by a second person"),
        approve_hold,
    );
    t.add(
        hold_step(Op::post(
            "decline_hold",
            path!("/records/holds/{hold_id}/decline"),
            needs(Permission::ManageRecords),
        ))
        .summary("Decline what is pending on a hold: a request declined ends it, a release declined leaves it placed; by a second person")
        .body::<ReasonBody>(),
        decline_hold,
    );
    t.add(
        hold_step(Op::post(
            "request_hold_release",
            path!("/records/holds/{hold_id}/release"),
            needs(Permission::ManageRecords),
        ))
        .summary("Ask for a placed hold to be released; it covers its records until a second person approves")
        .body::<ReasonBody>(),
        request_hold_release,
    );
    t.add(
        Op::get(
            "records_report",
            path!("/records/report"),
            needs(Permission::ManageRecords),
        )
        .tag("records")
        .summary("The records officer's report: records eligible for disposal now, records on hold, records disposed of in a period")
        .query::<ReportQuery>()
        .returns::<RecordsReport>(StatusCode::OK),
        records_report,
    );
}

fn hold_step(op: Op) -> Op {
    op.tag("records")
        .param("hold_id", HOLD_PARAM)
        .returns::<HoldAnswer>(StatusCode::OK)
        .errors(&[
            Kind::NotFound,
            Kind::IllegalTransition,
            Kind::TwoPersonRule,
            Kind::Conflict,
        ])
}

/// A retention schedules file's text.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchedulesBody {
    /// The TOML text (`[[schedule]]` tables: class, trigger, period,
    /// action, authority).
    pub source: String,
    /// Where it came from (a file name) [default: "api"].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// A legal hold asked for.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequestBody {
    /// The records it covers: cases by id, a victim's name, a date range.
    pub scope: RecordQuery,
    pub reason: Reason,
}

/// The period of the report's disposed records.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// Records disposed of from this instant [default: the beginning].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Timestamp>,
    /// Until this instant [default: now].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
}

fn hold_id(id: &str) -> Result<HoldId, ApiError> {
    id.parse()
        .map_err(|_| ApiError::not_found(format!("there is no hold {id}")))
}

async fn get_retention_schedules(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Response, ApiError> {
    ok(&state.svc.retention_schedules(&p).await?)
}

async fn set_retention_schedules(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: SchedulesBody = body.parse()?;
    let origin = b.origin.as_deref().unwrap_or("api");
    ok(&state
        .svc
        .set_retention_schedules(&p, &b.source, origin)
        .await?)
}

async fn list_holds(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Response, ApiError> {
    let items = state.svc.legal_holds(&p).await?;
    ok(&List { items, next: None })
}

async fn request_hold(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: HoldRequestBody = body.parse()?;
    created(&state.svc.request_hold(&p, b.scope, b.reason).await?)
}

async fn approve_hold(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    ok(&state.svc.approve_hold(&p, hold_id(&id)?).await?)
}

async fn decline_hold(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(id): PathParams<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let id = hold_id(&id)?;
    let b: ReasonBody = body.parse()?;
    ok(&state.svc.decline_hold(&p, id, b.reason).await?)
}

async fn request_hold_release(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(id): PathParams<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let id = hold_id(&id)?;
    let b: ReasonBody = body.parse()?;
    ok(&state.svc.request_hold_release(&p, id, b.reason).await?)
}

async fn records_report(
    State(state): State<AppState>,
    Caller(p): Caller,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Response, ApiError> {
    ok(&state.svc.records_report(&p, q.from, q.until).await?)
}
