//! The oversight export over HTTP: a records officer posts a query and
//! gets the signed BagIt bag back, its files by path (base64), which
//! `tocsin records export` writes into a directory.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::records::RecordQuery;

use super::common::created;
use super::needs;
use crate::AppState;
use crate::problem::ApiError;
use crate::table::{Caller, Op, RawBody, Table};

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
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// Which records: cases by id, a victim's name, a period.
    pub query: RecordQuery,
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
    let e = state.svc.records_export(&p, req.query).await?;
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
