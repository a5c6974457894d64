//! The oversight export over HTTP: a records officer posts a query and
//! gets the signed BagIt bag back, its files by path (base64), which
//! `tocsin records export` writes into a directory; the redactions for
//! release copies (request, approve, list) and the exemption codes they
//! cite (show, adopt).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::records::RecordQuery;

use super::common::{List, created, ok};
use super::needs;
use crate::AppState;
use crate::problem::ApiError;
use crate::table::{Caller, Op, PathParams, RawBody, Table};
use tocsin_domain::ids::RedactionId;
use tocsin_domain::text::Reason;
use tocsin_service::records::exemptions::ExemptionsInForce;
use tocsin_service::records::redact::RedactionView;

pub fn routes(t: &mut Table) {
    t.add(
        Op::post(
            "records_export",
            path!("/records/exports"),
            needs(Permission::ManageRecords),
        )
        .tag("records")
        .summary("Export the records a query covers as a signed BagIt bag (its scope is recorded in the ledger first)")
        .body::<ExportRequest>()
        .returns::<ExportView>(StatusCode::CREATED),
        records_export,
    );
    t.add(
        Op::post(
            "request_redaction",
            path!("/records/redactions"),
            needs(Permission::ManageRecords),
        )
        .tag("records")
        .summary("Request a redaction of a record's field for release copies (a second records officer approves it)")
        .body::<RedactionRequestBody>()
        .returns::<RedactionView>(StatusCode::CREATED),
        request_redaction,
    );
    t.add(
        Op::post(
            "approve_redaction",
            path!("/records/redactions/{redaction_id}/approval"),
            needs(Permission::ManageRecords),
        )
        .tag("records")
        .summary("Approve another records officer's redaction")
        .param("redaction_id", "The redaction's id")
        .returns::<RedactionView>(StatusCode::OK),
        approve_redaction,
    );
    t.add(
        Op::get(
            "get_exemptions",
            path!("/records/exemptions"),
            needs(Permission::ManageRecords),
        )
        .tag("records")
        .summary("The exemption codes a redaction may cite: each code and its meaning; their text, origin and SHA-256")
        .returns::<ExemptionsInForce>(StatusCode::OK),
        get_exemptions,
    );
    t.add(
        Op::put(
            "set_exemptions",
            path!("/records/exemptions"),
            needs(Permission::ManageRecords),
        )
        .tag("records")
        .summary("Adopt the organisation's own exemption codes from a TOML text, in place of those in force (recorded in the ledger with its SHA-256)")
        .describe(
            "The text is checked whole: no code, a code listed twice, an empty code or one with \
             brackets, commas or a newline, or an unknown key is refused (422). Redactions \
             requested before keep the codes they cite.",
        )
        .body::<ExemptionsBody>()
        .returns::<ExemptionsInForce>(StatusCode::OK),
        set_exemptions,
    );
    t.add(
        Op::get(
            "list_redactions",
            path!("/records/redactions"),
            needs(Permission::ManageRecords),
        )
        .tag("records")
        .summary("Every redaction for release, pending and approved")
        .returns::<List<RedactionView>>(StatusCode::OK),
        list_redactions,
    );
}

/// An exemption codes file's text.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExemptionsBody {
    /// The TOML text (`[[exemption]]` tables: code, meaning).
    pub source: String,
    /// Where it came from (a file name) [default: "api"].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedactionRequestBody {
    /// The record's ledger position.
    pub position: u64,
    /// An RFC 6901 JSON pointer into its event envelope (`/event/report/narrative`).
    pub field: String,
    /// An exemption code of the deployment (`(b)(6)`...).
    pub exemption: String,
    pub reason: Reason,
    /// Redact only this text where it occurs in the field (every
    /// occurrence), not the whole field. The ledger records where (the
    /// spans), never the text itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// Which records: cases by id, a victim's name, a period.
    pub query: RecordQuery,
    /// A release copy: approved redactions shown in place, originals left out.
    #[serde(default)]
    pub release: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ExportView {
    pub export_id: String,
    /// The ledger range scanned is `0..size`.
    pub size: u64,
    /// The case streams the query resolved to.
    pub streams: usize,
    /// Records in the bag (with tombstones and the export's own event).
    pub records: usize,
    /// Records withheld in full.
    pub withheld: usize,
    /// The bag's files, in path order.
    pub files: Vec<BagFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct BagFile {
    /// Relative to the bag's directory, `/`-separated.
    pub path: String,
    /// The file's bytes, base64.
    pub content: String,
}

async fn records_export(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let req: ExportRequest = body.parse()?;
    let e = state.svc.records_export(&p, req.query, req.release).await?;
    let b64 = base64::engine::general_purpose::STANDARD;
    created(&ExportView {
        export_id: e.export_id.to_string(),
        size: e.size,
        streams: e.streams,
        records: e.records,
        withheld: e.withheld,
        files: e
            .files
            .iter()
            .map(|(path, bytes)| BagFile {
                path: path.clone(),
                content: b64.encode(bytes),
            })
            .collect(),
    })
}

async fn request_redaction(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: RedactionRequestBody = body.parse()?;
    created(
        &state
            .svc
            .request_redaction(&p, b.position, b.field, b.text, b.exemption, b.reason)
            .await?,
    )
}

async fn approve_redaction(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let id: RedactionId = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("there is no redaction {id}")))?;
    ok(&state.svc.approve_redaction(&p, id).await?)
}

async fn list_redactions(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Response, ApiError> {
    let items = state.svc.redactions(&p).await?;
    ok(&List { items, next: None })
}

async fn get_exemptions(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Response, ApiError> {
    ok(&state.svc.exemptions(&p).await?)
}

async fn set_exemptions(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: ExemptionsBody = body.parse()?;
    let origin = b.origin.as_deref().unwrap_or("api");
    ok(&state.svc.set_exemptions(&p, &b.source, origin).await?)
}
