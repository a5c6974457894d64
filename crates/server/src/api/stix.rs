//! STIX 2.1: a case as a bundle (`application/stix+json;version=2.1`).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tocsin_domain::access::Permission;

use super::cases::CASE_PARAM;
use super::common::VisibleCase;
use super::needs;
use crate::AppState;
use crate::problem::ApiError;
use crate::table::{Caller, Op, Table};

/// The media type of a STIX 2.1 bundle.
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";

pub fn routes(t: &mut Table) {
    t.add(
        Op::get(
            "case_stix",
            path!("/cases/{case_id}/stix"),
            needs(Permission::ReadCase),
        )
        .tag("stix")
        .summary(
            "The case as a STIX 2.1 bundle, with the duty-to-warn record in tocsin's extension",
        )
        .describe(
            "What the caller may see of the case: the report, the intended victims, the threat \
             actor, the place, the recipients and intermediaries of its warnings, and the \
             duty-to-warn record (determinations with their rule trace, waivers, the approved \
             warning texts with their SHA-256, deliveries, responses, outcome) in the property \
             extension extension-definition--f65ac2e9-e2ea-4c15-bf20-85c2cff42a0a (schema: \
             docs/stix/duty-to-warn.schema.json). Sources and methods never appear; every \
             free-text string passes the sanitiser. TLP markings use the TLP 2.0 ids \
             (referenced, not embedded). The read is recorded in the ledger.",
        )
        .param("case_id", CASE_PARAM)
        .returns_as::<serde_json::Value>(STIX_MEDIA_TYPE),
        case_stix,
    );
}

async fn case_stix(
    State(state): State<AppState>,
    Caller(p): Caller,
    VisibleCase(case): VisibleCase,
) -> Result<Response, ApiError> {
    let bundle = state.svc.case_stix(&p, &case).await?;
    let mut r = axum::Json(bundle).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(STIX_MEDIA_TYPE),
    );
    Ok(r)
}
