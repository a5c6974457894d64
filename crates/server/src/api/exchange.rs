//! STIX 2.1 in: a bundle imported (`POST /reports/stix`), the receipts
//! waiting for an analyst and their assessment (`/receipts`), and the
//! partner table an admin keeps (`/partners`). The service decides; these
//! handlers parse and map.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::exchange::{Partner, Receipt, StixIdentity};
use tocsin_domain::text::{ElementName, Label};
use tocsin_domain::{CaseId, CaseNumber, ReceiptId, ReportId};
use tocsin_service::{ReceiptAssessment, StixImport};

use super::common::{List, ok};
use super::needs;
use crate::AppState;
use crate::problem::{ApiError, Kind};
use crate::table::{Caller, Op, PathParams, RawBody, Table};

pub fn routes(t: &mut Table) {
    t.add(
        Op::post(
            "import_stix",
            path!("/reports/stix"),
            needs(Permission::SubmitReport),
        )
        .tag("stix")
        .summary("Import a STIX 2.1 bundle: each `report` opens a case or waits for assessment")
        .describe(
            "The body is the bundle (`application/stix+json;version=2.1` or `application/json`). \
             Every report is checked before anything is written: its producer \
             (`created_by_ref`) must be in the partner table (`PUT /partners/{identity}`), or, \
             without one, the importer must belong to exactly one element; the element must be \
             one of the importer's own. A report whose custom properties (`x_tocsin_harm_types`, \
             `x_tocsin_grading`, `x_tocsin_specificity`, `x_tocsin_window`) or tocsin's \
             extension give everything intake needs opens a case; one that lacks them becomes a \
             receipt for an analyst (`needs_assessment`). A refused bundle is answered 422 with \
             the `object`, `path` and `reason`, and nothing is written. The same report version \
             (its id and `modified`) imported again answers `already_imported` and writes \
             nothing.",
        )
        .body::<serde_json::Value>()
        .returns::<StixImport>(StatusCode::OK),
        import_stix,
    );
    t.add(
        Op::get(
            "receipt_inbox",
            path!("/receipts"),
            needs(Permission::Analyse),
        )
        .tag("stix")
        .summary("Partners' reports that need assessment, that the caller may see")
        .returns::<List<Receipt>>(StatusCode::OK),
        receipt_inbox,
    );
    t.add(
        Op::post(
            "assess_receipt",
            path!("/receipts/{receipt_id}/assessment"),
            needs(Permission::Analyse),
        )
        .tag("stix")
        .summary("Give what a receipt lacks: its report opens a case, received when the receipt was")
        .describe(
            "Repeating it (or two analysts at once) answers the first case and writes nothing more.",
        )
        .param("receipt_id", "The receipt's id")
        .body::<ReceiptAssessment>()
        .returns::<AssessedView>(StatusCode::OK)
        .errors(&[Kind::NotFound, Kind::IllegalTransition]),
        assess_receipt,
    );
    t.add(
        Op::get(
            "list_partners",
            path!("/partners"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("The partner table: STIX producers and the elements their reports are filed under")
        .returns::<List<Partner>>(StatusCode::OK),
        list_partners,
    );
    t.add(
        Op::put(
            "map_partner",
            path!("/partners/{identity}"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary(
            "Map a STIX producer (an identity id) to an element, and the level its reports get",
        )
        .param(
            "identity",
            "The producer's STIX identity id (identity--UUID)",
        )
        .body::<PartnerBody>()
        .returns::<Partner>(StatusCode::OK),
        map_partner,
    );
}

/// A partner's element and level.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct PartnerBody {
    pub element: ElementName,
    /// The level its reports are marked at [default: the lowest level].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<Label>,
}

/// The case an assessed receipt's report is in.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
pub struct AssessedView {
    pub receipt_id: ReceiptId,
    pub case_id: CaseId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<CaseNumber>,
    pub report_id: ReportId,
}

async fn import_stix(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let text = std::str::from_utf8(&body.0)
        .map_err(|_| ApiError::stix(None, "$".into(), "the bundle is not UTF-8 text".into()))?;
    ok(&state.svc.import_stix(&p, text).await?)
}

async fn receipt_inbox(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Response, ApiError> {
    let items = state.svc.receipt_inbox(&p).await?;
    ok(&List { items, next: None })
}

async fn assess_receipt(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(id): PathParams<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let receipt_id: ReceiptId = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("there is no receipt {id}")))?;
    let a: ReceiptAssessment = body.parse()?;
    let s = state.svc.assess_receipt(&p, receipt_id, a).await?;
    ok(&AssessedView {
        receipt_id,
        case_id: s.case_id,
        number: s.number,
        report_id: s.report_id,
    })
}

async fn list_partners(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Response, ApiError> {
    let items = state.svc.partners(&p).await?;
    ok(&List { items, next: None })
}

async fn map_partner(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(identity): PathParams<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let identity: StixIdentity = identity
        .parse()
        .map_err(|e| ApiError::bad_request(format!("{e}")).field("identity"))?;
    let b: PartnerBody = body.parse()?;
    ok(&state
        .svc
        .map_partner(
            &p,
            Partner {
                identity,
                element: b.element,
                classification: b.classification,
            },
        )
        .await?)
}
