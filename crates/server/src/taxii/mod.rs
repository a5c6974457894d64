//! The TAXII 2.1 face (OASIS): discovery at `/taxii2/`, one API root at
//! `/taxii2/api/`, its collections, their objects, manifest, versions and
//! `POST objects`, and statuses. It parses, calls the service
//! (`tocsin_service::taxii`) and maps; the service decides what a caller
//! may see.
//!
//! These routes are not in the route table: the table's layer answers a
//! refusal with an RFC 9457 problem (`application/problem+json`), and TAXII
//! requires its own error message resource in
//! `application/taxii+json;version=2.1` for every answer, and an `Accept`
//! check (406) before anything else. This module's layer does what the
//! table's does for them (a request id, the bearer token through
//! [`crate::auth::authenticate`], the log line, the metrics) in TAXII's
//! terms. Only API tokens are accepted (`Authorization: Bearer`): no
//! cookie session, so no CSRF.

mod objects;

use std::time::Instant;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use serde::Serialize;
use serde_json::{Value, json};
pub use tocsin_export::taxii::{STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE};
use tocsin_service::Principal;
use tocsin_service::taxii::CollectionView;

use crate::AppState;
use crate::problem::{ApiError, Kind};

/// The discovery path and the one API root.
pub const DISCOVERY: &str = "/taxii2/";
pub const API_ROOT: &str = "/taxii2/api/";

/// Every TAXII route (method, path), for the route list test.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/taxii2/"),
    ("GET", "/taxii2/api/"),
    ("GET", "/taxii2/api/collections/"),
    ("GET", "/taxii2/api/collections/{collection_id}/"),
    ("GET", "/taxii2/api/collections/{collection_id}/objects/"),
    ("POST", "/taxii2/api/collections/{collection_id}/objects/"),
    (
        "GET",
        "/taxii2/api/collections/{collection_id}/objects/{object_id}/",
    ),
    (
        "GET",
        "/taxii2/api/collections/{collection_id}/objects/{object_id}/versions/",
    ),
    ("GET", "/taxii2/api/collections/{collection_id}/manifest/"),
    ("GET", "/taxii2/api/status/{status_id}/"),
];

/// The TAXII routes, each behind the TAXII layer.
pub fn routes(state: AppState) -> Router<AppState> {
    let with = |m: MethodRouter<AppState>| m.fallback(method_not_allowed);
    Router::new()
        .route("/taxii2/", with(get(discovery)))
        .route("/taxii2/api/", with(get(api_root)))
        .route("/taxii2/api/collections/", with(get(collections)))
        .route(
            "/taxii2/api/collections/{collection_id}/",
            with(get(collection)),
        )
        .route(
            "/taxii2/api/collections/{collection_id}/objects/",
            with(get(objects::get_objects).post(objects::add_objects)),
        )
        .route(
            "/taxii2/api/collections/{collection_id}/objects/{object_id}/",
            with(get(objects::get_object)),
        )
        .route(
            "/taxii2/api/collections/{collection_id}/objects/{object_id}/versions/",
            with(get(objects::get_versions)),
        )
        .route(
            "/taxii2/api/collections/{collection_id}/manifest/",
            with(get(objects::get_manifest)),
        )
        .route(
            "/taxii2/api/status/{status_id}/",
            with(get(objects::status)),
        )
        .route("/taxii2/{*rest}", with(get(no_route)))
        .route_layer(middleware::from_fn_with_state(state, layer))
}

/// An error as TAXII's error message resource (in TAXII's media type).
pub(crate) struct TaxiiError {
    status: StatusCode,
    title: &'static str,
    code: &'static str,
    description: String,
    field: Option<String>,
    retry_after: Option<u32>,
}

impl TaxiiError {
    fn new(status: StatusCode, title: &'static str, code: &'static str, d: String) -> Self {
        TaxiiError {
            status,
            title,
            code,
            description: d,
            field: None,
            retry_after: None,
        }
    }

    /// 406: the `Accept` header admits no TAXII 2.1.
    fn not_acceptable() -> Self {
        Self::new(
            StatusCode::NOT_ACCEPTABLE,
            "Not acceptable",
            "not-acceptable",
            format!("this server answers only {TAXII_MEDIA_TYPE}"),
        )
    }

    /// 415: a body that is not TAXII 2.1.
    pub(crate) fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            "unsupported-media-type",
            format!("send the envelope as {TAXII_MEDIA_TYPE}"),
        )
    }
}

impl From<ApiError> for TaxiiError {
    fn from(mut e: ApiError) -> Self {
        // An opaque error's cause is logged here, never sent.
        e.log_cause();
        // TAXII knows no 422: a body it cannot use is a bad request.
        let status = match e.kind {
            Kind::Validation => StatusCode::BAD_REQUEST,
            k => k.status(),
        };
        TaxiiError {
            status,
            title: e.kind.title(),
            code: e.kind.slug(),
            description: e.detail,
            field: e.field.map(String::from),
            retry_after: e.retry_after,
        }
    }
}

impl From<tocsin_service::ServiceError> for TaxiiError {
    fn from(e: tocsin_service::ServiceError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<tocsin_export::taxii::TaxiiError> for TaxiiError {
    fn from(e: tocsin_export::taxii::TaxiiError) -> Self {
        ApiError::bad_request(e.to_string()).field(e.field).into()
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "title": self.title,
            "description": self.description,
            "error_code": self.code,
            "http_status": self.status.as_u16().to_string(),
        });
        if let Some(f) = &self.field {
            body["details"] = json!({ "field": f });
        }
        if let Some(id) = crate::problem::current_request_id() {
            body["error_id"] = Value::String(id);
        }
        let mut r = (self.status, taxii_json(&body)).into_response();
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}

/// A JSON body in TAXII's media type.
pub(crate) fn taxii_json<T: Serialize>(v: &T) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(TAXII_MEDIA_TYPE),
        )],
        body,
    )
        .into_response()
}

/// Whether an `Accept` header admits TAXII 2.1 (absent: yes).
fn accepts_taxii(headers: &HeaderMap) -> bool {
    let values: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return true;
    }
    values.iter().flat_map(|v| v.split(',')).any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let params: Vec<String> = parts
            .map(|p| p.replace(' ', "").to_ascii_lowercase())
            .collect();
        let version_ok = params
            .iter()
            .filter(|p| p.starts_with("version="))
            .all(|p| p == "version=2.1");
        let refused = params
            .iter()
            .any(|p| p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000");
        !refused
            && match media.as_str() {
                "*/*" | "application/*" => true,
                "application/taxii+json" => version_ok,
                _ => false,
            }
    })
}

/// The TAXII layer: a request id, `Accept` (406), the bearer token (401),
/// the log line and the metrics.
async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "/taxii2/".to_owned());
    let request_id = crate::problem::RequestId::new();
    let (mut response, who) = crate::problem::REQUEST_ID
        .scope(request_id.clone(), async {
            match admit(&state, &mut req).await {
                Ok(name) => (next.run(req).await, Some(name)),
                Err(e) => (e.into_response(), None),
            }
        })
        .await;
    if let Ok(v) = HeaderValue::from_str(request_id.as_str()) {
        response.headers_mut().insert("x-request-id", v);
    }
    let took = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.observe(method.as_str(), &route, status, took);
    tracing::info!(
        method = %method,
        path = %path,
        route = "taxii",
        status,
        request_id = request_id.as_str(),
        account = who.as_deref().unwrap_or("-"),
        ms = took.as_secs_f64() * 1000.0,
        "request"
    );
    response
}

async fn admit(state: &AppState, req: &mut Request) -> Result<String, TaxiiError> {
    if !accepts_taxii(req.headers()) {
        return Err(TaxiiError::not_acceptable());
    }
    if !req.headers().contains_key(header::AUTHORIZATION) {
        return Err(ApiError::new(
            Kind::Unauthenticated,
            "send an API token: `Authorization: Bearer <token>`",
        )
        .into());
    }
    let p = crate::auth::authenticate(state, req.headers()).await?;
    let name = p.name().to_string();
    req.extensions_mut().insert(p);
    Ok(name)
}

/// The caller the layer authenticated.
pub(crate) struct TaxiiCaller(pub Principal);

impl FromRequestParts<AppState> for TaxiiCaller {
    type Rejection = TaxiiError;
    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, TaxiiError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(TaxiiCaller)
            .ok_or_else(|| ApiError::new(Kind::Unauthenticated, "no credential").into())
    }
}

/// Path parameters, refused in TAXII's terms (404).
pub(crate) struct TaxiiPath<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send> FromRequestParts<AppState> for TaxiiPath<T> {
    type Rejection = TaxiiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, TaxiiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| TaxiiPath(p.0))
            .map_err(|_| ApiError::not_found("no such TAXII resource").into())
    }
}

/// A collection id from the path.
pub(crate) fn collection_id(raw: &str) -> Result<uuid::Uuid, TaxiiError> {
    uuid::Uuid::try_parse(raw)
        .map_err(|_| ApiError::not_found(format!("there is no collection {raw:.80}")).into())
}

async fn method_not_allowed(method: axum::http::Method) -> TaxiiError {
    ApiError::new(
        Kind::MethodNotAllowed,
        format!("{method} is not supported here"),
    )
    .into()
}

async fn no_route() -> TaxiiError {
    ApiError::not_found("no such TAXII resource").into()
}

/// Discovery: API roots are given as paths (relative references, which
/// clients resolve against the discovery URL), so the answer is right
/// behind any proxy.
async fn discovery(TaxiiCaller(_): TaxiiCaller) -> Response {
    taxii_json(&json!({
        "title": "tocsin",
        "description": "A duty-to-warn desk's TAXII 2.1 server: collections configured by its admins; every object served to a reader its marking admits.",
        "default": API_ROOT,
        "api_roots": [API_ROOT],
    }))
}

async fn api_root(State(state): State<AppState>, TaxiiCaller(_): TaxiiCaller) -> Response {
    taxii_json(&json!({
        "title": "tocsin",
        "description": "The collections of this deployment.",
        "versions": [TAXII_MEDIA_TYPE],
        "max_content_length": state.config.body_limit,
    }))
}

fn collection_json(v: &CollectionView) -> Value {
    let c = &v.collection;
    let mut o = json!({
        "id": c.id.to_string(),
        "title": c.title.as_str(),
        "can_read": v.can_read,
        "can_write": v.can_write,
        "media_types": [STIX_MEDIA_TYPE],
    });
    if let Some(d) = &c.description {
        o["description"] = Value::String(d.to_string());
    }
    o
}

async fn collections(
    State(state): State<AppState>,
    TaxiiCaller(p): TaxiiCaller,
) -> Result<Response, TaxiiError> {
    let list = state.svc.taxii_collections(&p).await?;
    let items: Vec<Value> = list.iter().map(collection_json).collect();
    Ok(if items.is_empty() {
        taxii_json(&json!({}))
    } else {
        taxii_json(&json!({ "collections": items }))
    })
}

async fn collection(
    State(state): State<AppState>,
    TaxiiCaller(p): TaxiiCaller,
    TaxiiPath(id): TaxiiPath<String>,
) -> Result<Response, TaxiiError> {
    let id = collection_id(&id)?;
    let v = state
        .svc
        .taxii_collection(&p, &id, "taxii_collection")
        .await?;
    Ok(taxii_json(&collection_json(&v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> bool {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        accepts_taxii(&h)
    }

    #[test]
    fn accept_admits_taxii_21_and_wildcards_only() {
        assert!(accepts_taxii(&HeaderMap::new()));
        assert!(accept("application/taxii+json;version=2.1"));
        assert!(accept("application/taxii+json; version=2.1"));
        assert!(accept("application/taxii+json"));
        assert!(accept("*/*"));
        assert!(accept("text/html, application/*;q=0.5"));
        assert!(!accept("application/taxii+json;version=2.0"));
        assert!(!accept("text/html"));
        assert!(!accept("application/json"));
        assert!(!accept("application/taxii+json;version=2.1;q=0"));
    }
}
