//! A collection's objects over TAXII: `GET objects` (an envelope, a page),
//! the manifest, one object, its versions, `POST objects` (202 with a
//! status resource) and `GET status`. Each parses its query and path,
//! calls the service and maps the page: the service has already left out
//! what the caller may not see.

use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tocsin_export::taxii::{Query, STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE, timestamp_text};
use tocsin_service::taxii::TaxiiPage;

use super::{TaxiiCaller, TaxiiError, TaxiiPath, collection_id, taxii_json};
use crate::AppState;
use crate::problem::{ApiError, Kind};

/// The query string as TAXII reads it.
fn query(raw: Option<String>) -> Result<Query, TaxiiError> {
    let raw = raw.unwrap_or_default();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&raw)
        .map_err(|_| ApiError::bad_request("the query string is not valid"))?;
    Ok(Query::parse(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )?)
}

/// An object id from the path: a STIX identifier, or no such object.
fn object_id(raw: &str) -> Result<String, TaxiiError> {
    if tocsin_export::taxii::is_stix_id(raw) {
        Ok(raw.to_owned())
    } else {
        Err(ApiError::not_found(format!("there is no object {raw:.80}")).into())
    }
}

/// A page's body, with the date-added headers of its first and last item.
fn page_response(page: &TaxiiPage, key: &str, items: Vec<Value>) -> Response {
    let mut body = json!({ "more": page.more });
    if let Some(n) = &page.next {
        body["next"] = Value::String(n.clone());
    }
    if !items.is_empty() {
        body[key] = Value::Array(items);
    }
    let mut r = taxii_json(&body);
    let dates = [
        ("x-taxii-date-added-first", page.records.first()),
        ("x-taxii-date-added-last", page.records.last()),
    ];
    for (name, rec) in dates {
        if let Some(rec) = rec
            && let Ok(v) = HeaderValue::from_str(&timestamp_text(rec.date_added))
        {
            r.headers_mut().insert(name, v);
        }
    }
    r
}

fn objects_of(page: &TaxiiPage) -> Vec<Value> {
    page.records.iter().map(|r| r.object.clone()).collect()
}

pub(super) async fn get_objects(
    State(state): State<AppState>,
    TaxiiCaller(p): TaxiiCaller,
    TaxiiPath(id): TaxiiPath<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, TaxiiError> {
    let id = collection_id(&id)?;
    let q = query(raw)?;
    let page = state.svc.taxii_objects(&p, &id, &q).await?;
    Ok(page_response(&page, "objects", objects_of(&page)))
}

pub(super) async fn get_manifest(
    State(state): State<AppState>,
    TaxiiCaller(p): TaxiiCaller,
    TaxiiPath(id): TaxiiPath<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, TaxiiError> {
    let id = collection_id(&id)?;
    let q = query(raw)?;
    let page = state.svc.taxii_objects(&p, &id, &q).await?;
    let items = page
        .records
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "date_added": timestamp_text(r.date_added),
                "version": r.version,
                "media_type": STIX_MEDIA_TYPE,
            })
        })
        .collect();
    Ok(page_response(&page, "objects", items))
}

pub(super) async fn get_object(
    State(state): State<AppState>,
    TaxiiCaller(p): TaxiiCaller,
    TaxiiPath((id, object)): TaxiiPath<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, TaxiiError> {
    let id = collection_id(&id)?;
    let object = object_id(&object)?;
    let q = query(raw)?;
    let page = state.svc.taxii_object(&p, &id, &object, &q).await?;
    Ok(page_response(&page, "objects", objects_of(&page)))
}

pub(super) async fn get_versions(
    State(state): State<AppState>,
    TaxiiCaller(p): TaxiiCaller,
    TaxiiPath((id, object)): TaxiiPath<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, TaxiiError> {
    let id = collection_id(&id)?;
    let object = object_id(&object)?;
    let q = query(raw)?;
    let page = state.svc.taxii_versions(&p, &id, &object, &q).await?;
    let items = page
        .records
        .iter()
        .map(|r| Value::String(r.version.clone()))
        .collect();
    Ok(page_response(&page, "versions", items))
}

/// Whether a `Content-Type` is TAXII 2.1.
fn is_taxii(v: Option<&HeaderValue>) -> bool {
    let Some(v) = v.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let v = v.replace(' ', "").to_ascii_lowercase();
    v == TAXII_MEDIA_TYPE || v == "application/taxii+json"
}

pub(super) async fn add_objects(
    State(state): State<AppState>,
    TaxiiCaller(p): TaxiiCaller,
    TaxiiPath(id): TaxiiPath<String>,
    req: Request,
) -> Result<Response, TaxiiError> {
    let id = collection_id(&id)?;
    if !is_taxii(req.headers().get(header::CONTENT_TYPE)) {
        return Err(TaxiiError::unsupported_media_type());
    }
    let limit = state.config.body_limit;
    let bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| {
            ApiError::new(
                Kind::PayloadTooLarge,
                format!("the envelope is larger than {limit} bytes (or broke off)"),
            )
        })?;
    let envelope: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the envelope is not JSON: {e}")))?;
    let status = state.svc.taxii_add_objects(&p, &id, &envelope).await?;
    let mut r = taxii_json(&status);
    *r.status_mut() = StatusCode::ACCEPTED;
    Ok(r.into_response())
}

pub(super) async fn status(
    State(state): State<AppState>,
    TaxiiCaller(p): TaxiiCaller,
    TaxiiPath(id): TaxiiPath<String>,
) -> Result<Response, TaxiiError> {
    let id = uuid::Uuid::try_parse(&id)
        .map_err(|_| ApiError::not_found(format!("there is no status {id:.80}")))?;
    let status = state.svc.taxii_status(&p, &id).await?;
    Ok(taxii_json(&status))
}
