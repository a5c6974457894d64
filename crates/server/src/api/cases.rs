//! Cases: lists, one case, its events, the commands of the lifecycle, the
//! sanitisation check and the warning versions.
//!
//! Every command route takes a [`CaseCommand`]: the case, which the service
//! found the caller may see before the body is read, and the body; it
//! answers a [`CommandResult`].

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::case::{Case, CaseState, Command, Lateness, Measures, WarningVersion};
use tocsin_domain::delivery::{
    AdvisoryDecision, Delivery, LanguageTag, OutcomeRecord, Response as RecipientResponse, Route,
    RouteAlternative, WarningText, WithheldCategory,
};
use tocsin_domain::event::Assessment;
use tocsin_domain::ids::CaseIdPrefix;
use tocsin_domain::sanitise::Finding;
use tocsin_domain::text::{ElementName, Note, Reason};
use tocsin_domain::{ActorName, CaseId, CaseNumber, ReportId, Timestamp, WaiverId};
use tocsin_service::similar::SimilarReport;
use tocsin_service::{CaseListQuery, LoggedEvent};
use tocsin_store::CaseSummary;

use super::common::{
    CaseCommand, CommandResult, List, PathParamList, ReasonBody, TextBody, VisibleCase,
    WarningQuery, case_ref, ok, page_limit,
};
use super::needs;
use crate::AppState;
use crate::problem::{ApiError, Kind};
use crate::table::{Caller, Op, PathParams, QueryParams, RawBody, Table};

/// The description of a `{case_id}` path parameter.
pub use super::filters::{DeterminationFilter, text_filter};

pub(crate) const CASE_PARAM: &str = "The case: its id (a UUID) or its number (2026-0007)";

pub fn routes(t: &mut Table) {
    t.add(
        Op::get("list_cases", path!("/cases"), needs(Permission::ReadCase))
            .tag("cases")
            .summary("Cases the caller may see, newest first")
            .query::<ListCasesQuery>()
            .returns::<CasePage>(StatusCode::OK),
        list_cases,
    );
    t.add(
        Op::get(
            "get_case",
            path!("/cases/{case_id}"),
            needs(Permission::ReadCase),
        )
        .tag("cases")
        .summary("Everything about a case (the read is recorded in the ledger)")
        .param("case_id", CASE_PARAM)
        .returns::<Case>(StatusCode::OK),
        get_case,
    );
    t.add(
        Op::get("case_events", path!("/cases/{case_id}/events"), needs(Permission::ReadCase))
            .tag("cases")
            .summary("The case's events in order, with their ledger positions (fold them to rebuild the case)")
            .param("case_id", CASE_PARAM)
            .returns::<List<LoggedEvent>>(StatusCode::OK),
        case_events,
    );
    t.add(
        command::<Assessment>(
            "assess",
            path!("/cases/{case_id}/assessments"),
            Permission::Analyse,
            "Record an analyst's assessment of the case's facts",
        ),
        assess,
    );
    t.add(
        command::<DetermineBody>(
            "determine",
            path!("/cases/{case_id}/determinations"),
            Permission::Analyse,
            "Apply the policy and record the determination with its rule trace",
        ),
        determine,
    );
    t.add(
        command::<ReasonBody>(
            "confirm_determination",
            path!("/cases/{case_id}/determinations/confirmation"),
            Permission::Approve,
            "Confirm, as a second person, a determination of no duty that replaced one of a duty (the case may then close)",
        ),
        confirm_determination,
    );
    t.add(
        command::<ReasonBody>(
            "reassess",
            path!("/cases/{case_id}/reassessments"),
            Permission::Analyse,
            "Start a re-assessment",
        ),
        reassess,
    );
    t.add(
        command::<HandOffBody>(
            "hand_off",
            path!("/cases/{case_id}/handoffs"),
            Permission::Analyse,
            "Hand the case to another owner and lead element",
        ),
        hand_off,
    );
    t.add(
        command_op::<IndependenceBody>(
            Op::post(
                "mark_independence",
                path!("/cases/{case_id}/reports/{report_id}/independence"),
                needs(Permission::Analyse),
            )
            .summary("Confirm, reject or set whether a report is an independent source")
            .describe("At any time after intake (not on a closed case): `derived_of` another report of the case, or absent for independent. The detector only proposes; this is recorded, replaces what was recorded for the report, and flags a determined case for re-assessment when the count of independent sources changes. Reports that name one origin stay one source.")
            .param("report_id", "The report's id"),
        ),
        mark_independence,
    );
    t.add(
        command::<WaiverRequestBody>(
            "request_waiver",
            path!("/cases/{case_id}/waivers"),
            Permission::Analyse,
            "Request a waiver of the duty on a ground of the policy",
        ),
        request_waiver,
    );
    t.add(
        command_op::<ApproveWaiverBody>(
            Op::post(
                "approve_waiver",
                path!("/cases/{case_id}/waivers/{waiver_id}/approval"),
                needs(Permission::Approve),
            )
            .summary("Approve a waiver (never by its requester)")
            .param("waiver_id", "The waiver id"),
        ),
        approve_waiver,
    );
    t.add(
        command_op::<RejectWaiverBody>(
            Op::post(
                "reject_waiver",
                path!("/cases/{case_id}/waivers/{waiver_id}/rejection"),
                needs(Permission::Approve),
            )
            .summary("Reject a waiver (never by its requester)")
            .param("waiver_id", "The waiver id"),
        ),
        reject_waiver,
    );
    t.add(
        command::<RouteBody>(
            "choose_route",
            path!("/cases/{case_id}/route"),
            Permission::Analyse,
            "Record the chosen route, with the alternatives considered",
        )
        .query::<WarningQuery>(),
        choose_route,
    );
    t.add(
        Op::post(
            "check_warning",
            path!("/cases/{case_id}/warning-checks"),
            needs(Permission::Analyse),
        )
        .tag("cases")
        .summary("What the sanitisation check finds in a text (writes nothing)")
        .param("case_id", CASE_PARAM)
        .body::<TextBody>()
        .returns::<CheckView>(StatusCode::OK),
        check_warning,
    );
    t.add(
        command::<DraftBody>(
            "draft_warning",
            path!("/cases/{case_id}/warnings"),
            Permission::Analyse,
            "Record a new warning draft (refused with the offending spans if the check finds anything)",
        )
        .query::<WarningQuery>(),
        draft_warning,
    );
    t.add(
        command_op::<ApproveWarningBody>(
            Op::post(
                "approve_warning",
                path!("/cases/{case_id}/warnings/{version}/approval"),
                needs(Permission::Approve),
            )
            .summary("Approve a warning draft (two-person): give the sha256 you read")
            .param("version", "The warning version")
            .query::<WarningQuery>(),
        ),
        approve_warning,
    );
    t.add(
        Op::get(
            "similar_reports",
            path!("/cases/{case_id}/reports/{report_id}/similar"),
            needs(Permission::ReadCase),
        )
        .tag("cases")
        .summary("Reports of other cases that this report repeats, or that repeat it")
        .describe("Circular reporting across cases: the reports of other cases the caller may see whose text this report's contains, or which contain it (shingle containment at the policy's `derived_text_containment`, both ways), closest first, at most 50. Only a proposal: the analysts of both cases decide whether to link or merge them. Writes nothing.")
        .param("case_id", CASE_PARAM)
        .param("report_id", "The report's id")
        .returns::<List<SimilarReport>>(StatusCode::OK),
        similar_reports,
    );
    t.add(
        Op::get(
            "get_warning",
            path!("/cases/{case_id}/warnings/{version}"),
            needs(Permission::ReadCase),
        )
        .tag("cases")
        .summary("The exact text of a warning version and its hash")
        .param("case_id", CASE_PARAM)
        .param("version", "The warning version")
        .query::<WarningQuery>()
        .returns::<WarningVersion>(StatusCode::OK),
        get_warning,
    );
    t.add(
        command::<Delivery>(
            "record_delivery",
            path!("/cases/{case_id}/deliveries"),
            Permission::Deliver,
            "Record one hop of delivery: sent, relayed, received or failed",
        )
        .query::<WarningQuery>(),
        record_delivery,
    );
    t.add(
        command::<RecipientResponse>(
            "record_response",
            path!("/cases/{case_id}/responses"),
            Permission::Deliver,
            "Record a response of the recipient",
        )
        .query::<WarningQuery>(),
        record_response,
    );
    t.add(
        command::<AdvisoryDecision>(
            "decide_advisory",
            path!("/cases/{case_id}/advisory"),
            Permission::Approve,
            "Record the public-advisory (\"no double standard\") decision",
        ),
        decide_advisory,
    );
    t.add(
        command::<OutcomeRecord>(
            "record_outcome",
            path!("/cases/{case_id}/outcome"),
            Permission::Deliver,
            "Record what happened in the end",
        ),
        record_outcome,
    );
}

/// The operation of a command on a case, whose only path parameter is the case.
fn command<B: JsonSchema>(
    id: &'static str,
    path: &'static str,
    permission: Permission,
    summary: &'static str,
) -> Op {
    command_op::<B>(Op::post(id, path, needs(permission)).summary(summary))
}

/// The operation of a command on a case with body `B`: the case parameter
/// first, the other path parameters after it.
fn command_op<B: JsonSchema>(op: Op) -> Op {
    let mut op = op
        .tag("cases")
        .param("case_id", CASE_PARAM)
        .body::<B>()
        .returns::<CommandResult>(StatusCode::OK)
        .errors(&[Kind::IllegalTransition, Kind::Conflict, Kind::TwoPersonRule]);
    op.path_params.rotate_right(1);
    op
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListCasesQuery {
    pub state: Option<CaseState>,
    /// Only cases that are not closed.
    pub open: Option<bool>,
    /// Only cases flagged for re-assessment.
    pub reassessment_due: Option<bool>,
    /// Only cases with an overdue step.
    pub overdue: Option<bool>,
    /// Only cases whose id starts with this (at least 4 hexadecimal
    /// characters), or the case with this number (2026-0007).
    pub prefix: Option<String>,
    /// Only cases whose latest determination is this one.
    pub determination: Option<DeterminationFilter>,
    /// Only cases shared with this element (it leads them or contributed).
    pub element: Option<String>,
    /// Only cases this account owns.
    pub owner: Option<String>,
    /// Only cases whose title contains this text (ASCII case ignored).
    pub text: Option<String>,
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
    pub after: Option<String>,
}

/// One row of the case list.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CaseRow {
    pub id: CaseId,
    /// Its short reference number (2026-0007).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<CaseNumber>,
    pub title: String,
    pub state: CaseState,
    pub owner: String,
    pub lead_element: String,
    pub opened_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reassessment_due: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_due: Option<Timestamp>,
    pub escalations: u32,
    pub reports: u32,
    pub levels: Vec<String>,
    pub compartments: Vec<String>,
    /// Time-to-decide, time-to-warn and the threat's window, folded from
    /// the ledger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measures: Option<Measures>,
    /// Whether a standing duty was met before the window opened, as of
    /// this answer: `in_time`, `late` (warned after it opened) or
    /// `unwarned` (it has opened and the case is not warned). Absent when
    /// no duty stands, the window is unknown, or it is still to open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lateness: Option<Lateness>,
}

impl CaseRow {
    /// The row of a summary, its lateness as of `now`.
    pub fn of(s: CaseSummary, now: Timestamp) -> Self {
        let lateness = s.measures.and_then(|m| m.lateness(now));
        Self {
            measures: s.measures,
            lateness,
            id: s.id,
            number: s.number,
            title: s.title,
            state: s.state,
            owner: s.owner,
            lead_element: s.lead_element,
            opened_at: s.opened_at,
            updated_at: s.updated_at,
            verdict: s.verdict,
            reassessment_due: s.reassessment_due,
            next_step: s.next_step,
            next_due: s.next_due,
            escalations: s.escalations,
            reports: s.reports.len() as u32,
            levels: s.levels,
            compartments: s.compartments,
        }
    }
}

pub type CasePage = List<CaseRow>;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetermineBody {
    #[serde(default)]
    pub note: Option<Note>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveWaiverBody {
    pub reason: Reason,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectWaiverBody {
    pub reason: Reason,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOffBody {
    pub owner: ActorName,
    pub lead_element: ElementName,
    pub reason: Reason,
}

/// Whether a report is an independent source, as an analyst marks it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndependenceBody {
    /// The report of the case it repeats; absent: it is independent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived_of: Option<ReportId>,
    pub reason: Reason,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverRequestBody {
    /// A ground code of the policy (W1...W6, OTHER).
    pub ground: String,
    pub reason: Reason,
    #[serde(default)]
    pub legal_review: Option<Note>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteBody {
    pub route: Route,
    pub rationale: Reason,
    #[serde(default)]
    pub alternatives: Vec<RouteAlternative>,
    /// Add a warning to another recipient with this route (the next
    /// number: W2, W3...) rather than choose the route of an existing one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_warning: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CheckView {
    /// What would reveal protected information, with byte spans; empty when the text can be drafted.
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    pub text: WarningText,
    #[serde(default)]
    pub withheld: BTreeSet<WithheldCategory>,
    /// BCP 47 language tag (default `en`).
    #[serde(default)]
    pub language: Option<LanguageTag>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveWarningBody {
    /// The SHA-256 of the text the approver read (required): refused if the draft differs.
    pub sha256: String,
}

/// A warning version from a path: one that does not parse answers as a
/// missing version.
pub(crate) fn version(case: &CaseId, v: &str) -> Result<u32, ApiError> {
    v.parse()
        .map_err(|_| ApiError::not_found(format!("case {case} has no warning version {v}")))
}

async fn list_cases(
    State(state): State<AppState>,
    Caller(p): Caller,
    QueryParams(q): QueryParams<ListCasesQuery>,
) -> Result<Response, ApiError> {
    let limit = page_limit(q.limit)?;
    let now = state.svc.now();
    if let Some(prefix) = &q.prefix {
        let items = match prefix.parse::<CaseNumber>() {
            Ok(number) => state.svc.find_case_by_number(&p, number).await?,
            Err(_) => {
                let prefix = CaseIdPrefix::new(prefix)
                    .map_err(|e| ApiError::bad_request(format!("prefix: {e}")))?;
                state.svc.find_cases(&p, &prefix).await?
            }
        };
        return ok(&List {
            items: items
                .into_iter()
                .map(|s| CaseRow::of(s, now))
                .collect::<Vec<_>>(),
            next: None,
        });
    }
    let after = match q.after {
        // A cursor is a ledger position: 0 to 2^63 - 1.
        Some(a) if a.parse::<i64>().is_ok_and(|n| n >= 0) => Some(a),
        Some(a) => {
            return Err(ApiError::bad_request(format!(
                "after '{a}' is not a cursor from a previous page"
            )));
        }
        None => None,
    };
    let page = state
        .svc
        .list_cases(
            &p,
            CaseListQuery {
                state: q.state,
                open_only: q.open.unwrap_or(false),
                reassessment_due: q.reassessment_due.unwrap_or(false),
                overdue: q.overdue.unwrap_or(false),
                owner: text_filter("owner", q.owner.as_deref()).map_err(ApiError::bad_request)?,
                verdict: q.determination.map(DeterminationFilter::verdict),
                element: text_filter("element", q.element.as_deref())
                    .map_err(ApiError::bad_request)?,
                title_contains: text_filter("text", q.text.as_deref())
                    .map_err(ApiError::bad_request)?,
                after,
                limit,
            },
        )
        .await?;
    ok(&List {
        items: page
            .items
            .into_iter()
            .map(|s| CaseRow::of(s, now))
            .collect::<Vec<_>>(),
        next: page.next,
    })
}

async fn get_case(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    ok(&*state.svc.read_case(&p, case_ref(&id)?).await?)
}

async fn case_events(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let items = state.svc.case_events(&p, case_ref(&id)?).await?;
    ok(&List { items, next: None })
}

async fn assess(c: CaseCommand<Assessment>) -> Result<Response, ApiError> {
    c.run(|assessment, _| Ok(Command::Assess { assessment }))
        .await
}

async fn determine(c: CaseCommand<DetermineBody>) -> Result<Response, ApiError> {
    c.run(|b, _| Ok(Command::Determine { note: b.note })).await
}

async fn confirm_determination(c: CaseCommand<ReasonBody>) -> Result<Response, ApiError> {
    c.run(|b, _| Ok(Command::ConfirmDetermination { reason: b.reason }))
        .await
}

async fn reassess(c: CaseCommand<ReasonBody>) -> Result<Response, ApiError> {
    c.run(|b, _| Ok(Command::Reassess { reason: b.reason }))
        .await
}

async fn hand_off(c: CaseCommand<HandOffBody>) -> Result<Response, ApiError> {
    c.run(|b, _| {
        Ok(Command::HandOff {
            owner: b.owner,
            lead_element: b.lead_element,
            reason: b.reason,
        })
    })
    .await
}

async fn mark_independence(c: CaseCommand<IndependenceBody>) -> Result<Response, ApiError> {
    c.run(|b, params| {
        let r = params.get("report_id");
        let report_id = r
            .parse()
            .map_err(|_| ApiError::not_found(format!("there is no report {r} on this case")))?;
        Ok(Command::MarkIndependence {
            report_id,
            derived_of: b.derived_of,
            reason: b.reason,
        })
    })
    .await
}

async fn request_waiver(c: CaseCommand<WaiverRequestBody>) -> Result<Response, ApiError> {
    c.run(|b, _| {
        Ok(Command::RequestWaiver {
            waiver_id: WaiverId::from_uuid(uuid::Uuid::now_v7()),
            ground: b.ground,
            reason: b.reason,
            legal_review: b.legal_review,
        })
    })
    .await
}

/// The `{waiver_id}` of the path: one that does not parse answers as a
/// missing waiver.
fn waiver_id(params: &PathParamList) -> Result<WaiverId, ApiError> {
    let w = params.get("waiver_id");
    w.parse()
        .map_err(|_| ApiError::not_found(format!("there is no waiver {w} on this case")))
}

async fn approve_waiver(c: CaseCommand<ApproveWaiverBody>) -> Result<Response, ApiError> {
    c.run(|b, params| {
        Ok(Command::ApproveWaiver {
            waiver_id: waiver_id(params)?,
            reason: b.reason,
        })
    })
    .await
}

async fn reject_waiver(c: CaseCommand<RejectWaiverBody>) -> Result<Response, ApiError> {
    c.run(|b, params| {
        Ok(Command::RejectWaiver {
            waiver_id: waiver_id(params)?,
            reason: b.reason,
        })
    })
    .await
}

async fn choose_route(c: CaseCommand<RouteBody>) -> Result<Response, ApiError> {
    let warning = c.warning();
    c.run(move |b, _| match (b.new_warning, warning) {
        (true, Some(_)) => Err(ApiError::bad_request(
            "give either new_warning or a warning number, not both",
        )),
        (true, None) => Ok(Command::AddWarning {
            route: b.route,
            rationale: b.rationale,
            alternatives: b.alternatives,
        }),
        (false, warning) => Ok(Command::ChooseRoute {
            warning,
            route: b.route,
            rationale: b.rationale,
            alternatives: b.alternatives,
        }),
    })
    .await
}

async fn check_warning(
    State(state): State<AppState>,
    Caller(p): Caller,
    VisibleCase(case): VisibleCase,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: TextBody = body.parse()?;
    ok(&CheckView {
        findings: state.svc.check_warning(&p, &case, &b.text).await?,
    })
}

async fn draft_warning(c: CaseCommand<DraftBody>) -> Result<Response, ApiError> {
    let warning = c.warning();
    c.run(move |b, _| {
        Ok(Command::DraftWarning {
            warning,
            text: b.text,
            withheld: b.withheld,
            language: b.language.unwrap_or_else(LanguageTag::english),
        })
    })
    .await
}

async fn approve_warning(c: CaseCommand<ApproveWarningBody>) -> Result<Response, ApiError> {
    let warning = c.warning();
    c.run(move |b, params| {
        let v = params.get("version");
        let version = v
            .parse()
            .map_err(|_| ApiError::not_found(format!("there is no warning version {v}")))?;
        Ok(Command::ApproveWarning {
            warning,
            version,
            sha256: Some(b.sha256),
        })
    })
    .await
}

async fn similar_reports(
    State(state): State<AppState>,
    Caller(p): Caller,
    VisibleCase(case): VisibleCase,
    PathParams((_, r)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let report_id: ReportId = r
        .parse()
        .map_err(|_| ApiError::not_found(format!("there is no report {r} on this case")))?;
    let items = state.svc.similar_reports(&p, &case, report_id).await?;
    ok(&List { items, next: None })
}

async fn get_warning(
    State(state): State<AppState>,
    Caller(p): Caller,
    VisibleCase(case): VisibleCase,
    PathParams((_, v)): PathParams<(String, String)>,
    QueryParams(q): QueryParams<WarningQuery>,
) -> Result<Response, ApiError> {
    let v = version(&case.id, &v)?;
    ok(&state.svc.warning(&p, &case, q.warning, v).await?)
}

async fn record_delivery(c: CaseCommand<Delivery>) -> Result<Response, ApiError> {
    let warning = c.warning();
    c.run(move |delivery, _| Ok(Command::RecordDelivery { warning, delivery }))
        .await
}

async fn record_response(c: CaseCommand<RecipientResponse>) -> Result<Response, ApiError> {
    let warning = c.warning();
    c.run(move |response, _| Ok(Command::RecordResponse { warning, response }))
        .await
}

async fn decide_advisory(c: CaseCommand<AdvisoryDecision>) -> Result<Response, ApiError> {
    c.run(|advisory, _| Ok(Command::DecidePublicAdvisory { advisory }))
        .await
}

async fn record_outcome(c: CaseCommand<OutcomeRecord>) -> Result<Response, ApiError> {
    c.run(|outcome, _| Ok(Command::RecordOutcome { outcome }))
        .await
}
