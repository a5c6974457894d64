//! TAXII collections and pulls, administered through the API (the TAXII
//! face itself is `crate::taxii`, outside the route table):
//!
//! * `GET /api/v1/taxii/collections`, `PUT /api/v1/taxii/collections/{id}`
//!   (`operate`): the collections an admin configures;
//! * `POST /api/v1/cases/{case_id}/taxii` (`read_case`, and the caller
//!   among the collection's writers): publish a case's STIX bundle;
//! * `GET|PUT /api/v1/taxii/cursor` (`submit_report`): where a pull from
//!   a partner's collection stopped (`tocsin taxii pull`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::taxii::{Audience, ObjectMarking, PullCursor, TaxiiCollection};
use tocsin_domain::text::{Note, Title};
use tocsin_service::taxii::Published;
use uuid::Uuid;

use super::cases::CASE_PARAM;
use super::common::{VisibleCase, ok};
use super::needs;
use crate::AppState;
use crate::problem::ApiError;
use crate::table::{Caller, Op, PathParams, QueryParams, RawBody, Table};

pub fn routes(t: &mut Table) {
    t.add(
        Op::get(
            "list_taxii_collections",
            path!("/taxii/collections"),
            needs(Permission::Operate),
        )
        .tag("taxii")
        .summary("The TAXII collections, as configured")
        .returns::<CollectionList>(StatusCode::OK),
        list_taxii_collections,
    );
    t.add(
        Op::put(
            "set_taxii_collection",
            path!("/taxii/collections/{collection_id}"),
            needs(Permission::Operate),
        )
        .tag("taxii")
        .summary("Configure a TAXII collection (create it, or change it)")
        .describe(
            "Who may read it and who may write it (`POST objects`, `tocsin taxii publish`): \
             holders of one of the roles who, when elements are listed, belong to one of them. \
             `marking` is what objects posted to it are served under (a published case's \
             objects carry the case's own): each object reaches only a reader whose \
             clearance, compartments and elements admit it. Recorded on the exchange stream.",
        )
        .param("collection_id", "The collection's id (a UUID).")
        .body::<CollectionBody>()
        .returns::<TaxiiCollection>(StatusCode::OK),
        set_taxii_collection,
    );
    t.add(
        Op::post(
            "publish_case",
            path!("/cases/{case_id}/taxii"),
            needs(Permission::ReadCase),
        )
        .tag("taxii")
        .summary("Publish the case's STIX bundle, as you see it, to a TAXII collection")
        .describe(
            "The bundle of `GET /cases/{case_id}/stix` as the caller sees it, added to a \
             collection the caller may write, marked with the case's marking; objects already \
             there at the same version are not added again. One event on the exchange stream.",
        )
        .param("case_id", CASE_PARAM)
        .body::<PublishBody>()
        .returns::<Published>(StatusCode::OK),
        publish_case,
    );
    t.add(
        Op::get(
            "pull_cursor",
            path!("/taxii/cursor"),
            needs(Permission::SubmitReport),
        )
        .tag("taxii")
        .summary("Where the last pull of a partner's TAXII collection stopped")
        .query::<CursorQuery>()
        .returns::<CursorView>(StatusCode::OK),
        pull_cursor,
    );
    t.add(
        Op::put(
            "set_pull_cursor",
            path!("/taxii/cursor"),
            needs(Permission::SubmitReport),
        )
        .tag("taxii")
        .summary("Record how far a pull of a partner's TAXII collection got")
        .body::<PullCursor>()
        .no_content(),
        set_pull_cursor,
    );
}

/// A collection's configuration.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionBody {
    pub title: Title,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Note>,
    pub readers: Audience,
    pub writers: Audience,
    pub marking: ObjectMarking,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CollectionList {
    pub items: Vec<TaxiiCollection>,
}

/// The collection to publish to.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    pub collection: Uuid,
}

/// Which pull.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CursorQuery {
    /// The partner's API root URL.
    pub server: String,
    pub collection: Uuid,
}

/// Where the pull stopped (absent: it never ran).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CursorView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<PullCursor>,
}

async fn list_taxii_collections(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Response, ApiError> {
    let items = state.svc.taxii_collections_all(&p).await?;
    ok(&CollectionList { items })
}

async fn set_taxii_collection(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(id): PathParams<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let id = Uuid::try_parse(&id)
        .map_err(|_| ApiError::bad_request("collection_id: not a UUID").field("collection_id"))?;
    let b: CollectionBody = body.parse()?;
    let c = state
        .svc
        .set_taxii_collection(
            &p,
            TaxiiCollection {
                id,
                title: b.title,
                description: b.description,
                readers: b.readers,
                writers: b.writers,
                marking: b.marking,
            },
        )
        .await?;
    ok(&c)
}

async fn publish_case(
    State(state): State<AppState>,
    Caller(p): Caller,
    VisibleCase(case): VisibleCase,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: PublishBody = body.parse()?;
    let published = state.svc.publish_case(&p, &case, &b.collection).await?;
    ok(&published)
}

async fn pull_cursor(
    State(state): State<AppState>,
    Caller(p): Caller,
    QueryParams(q): QueryParams<CursorQuery>,
) -> Result<Response, ApiError> {
    let cursor = state.svc.pull_cursor(&p, &q.server, &q.collection).await?;
    ok(&CursorView { cursor })
}

async fn set_pull_cursor(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let cursor: PullCursor = body.parse()?;
    state.svc.set_pull_cursor(&p, cursor).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
