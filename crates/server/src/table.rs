//! The route table: every route with the access it needs, in one place.
//!
//! [`Table::add`] is the only way to register a handler, and it takes the
//! route's [`Op`] (method, path, [`Access`], documentation, schemas). Each
//! route gets a layer that gives the request an id, authenticates the
//! caller, has the service check the permission (the service records a
//! refusal), checks the CSRF token of cookie sessions, and measures the
//! request. This module imports no route module: `router` builds the
//! router from `api::routes`.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodFilter;
use bytes::Bytes;
use schemars::{JsonSchema, SchemaGenerator};
use serde::de::DeserializeOwned;
use tocsin_domain::access::Permission;
use tocsin_service::Principal;

use crate::AppState;
use crate::auth;
use crate::problem::{ApiError, Kind};

/// What a route needs from its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Anyone (health, metrics, the spec, login).
    Public,
    /// Any signed-in account, whatever its roles.
    Authenticated,
    /// An account holding a role that grants the permission.
    Needs(Permission),
}

pub type SchemaFn = fn(&mut SchemaGenerator) -> schemars::Schema;

fn schema_fn<T: JsonSchema>() -> SchemaFn {
    |g| g.subschema_for::<T>()
}

/// One route: what it is, who may call it, what it takes and returns.
#[derive(Clone, Debug)]
pub struct Op {
    /// The OpenAPI operationId.
    pub id: &'static str,
    pub method: Method,
    /// The path, with `{name}` parameters (axum and OpenAPI agree on it).
    pub path: &'static str,
    pub access: Access,
    pub tag: &'static str,
    pub summary: &'static str,
    pub description: &'static str,
    /// Path parameters: name and description (all strings).
    pub path_params: Vec<(&'static str, &'static str)>,
    /// A struct whose fields are the query parameters.
    pub query: Option<SchemaFn>,
    /// The JSON request body.
    pub body: Option<SchemaFn>,
    /// Accepts an `Idempotency-Key` header.
    pub idempotent: bool,
    pub success: StatusCode,
    /// The JSON response body (`None`: no body, or `text` below).
    pub response: Option<SchemaFn>,
    /// A non-JSON success body (`text/plain`).
    pub text: bool,
    /// The media type of a JSON success body that is not plain
    /// `application/json` (STIX's `application/stix+json;version=2.1`).
    pub media: Option<&'static str>,
    /// Error kinds this route can answer besides the ones implied by its
    /// access, parameters and body.
    pub errors: Vec<Kind>,
    /// The handler's path (set by [`Table::add`]): its last segment is the
    /// operation id.
    pub handler: &'static str,
}

impl Op {
    fn new(method: Method, id: &'static str, path: &'static str, access: Access) -> Self {
        Self {
            id,
            method,
            path,
            access,
            tag: "",
            summary: "",
            description: "",
            path_params: vec![],
            query: None,
            body: None,
            idempotent: false,
            success: StatusCode::OK,
            response: None,
            text: false,
            media: None,
            errors: vec![],
            handler: "",
        }
    }
    pub fn get(id: &'static str, path: &'static str, access: Access) -> Self {
        Self::new(Method::GET, id, path, access)
    }
    pub fn post(id: &'static str, path: &'static str, access: Access) -> Self {
        Self::new(Method::POST, id, path, access)
    }
    pub fn put(id: &'static str, path: &'static str, access: Access) -> Self {
        Self::new(Method::PUT, id, path, access)
    }
    pub fn delete(id: &'static str, path: &'static str, access: Access) -> Self {
        Self::new(Method::DELETE, id, path, access)
    }
    pub fn tag(mut self, t: &'static str) -> Self {
        self.tag = t;
        self
    }
    pub fn summary(mut self, s: &'static str) -> Self {
        self.summary = s;
        self
    }
    pub fn describe(mut self, d: &'static str) -> Self {
        self.description = d;
        self
    }
    pub fn param(mut self, name: &'static str, description: &'static str) -> Self {
        self.path_params.push((name, description));
        self
    }
    pub fn query<T: JsonSchema>(mut self) -> Self {
        self.query = Some(schema_fn::<T>());
        self
    }
    pub fn body<T: JsonSchema>(mut self) -> Self {
        self.body = Some(schema_fn::<T>());
        self
    }
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }
    pub fn returns<T: JsonSchema>(mut self, status: StatusCode) -> Self {
        self.success = status;
        self.response = Some(schema_fn::<T>());
        self
    }
    /// A JSON body of its own media type (`media`), described by `T`.
    pub fn returns_as<T: JsonSchema>(mut self, media: &'static str) -> Self {
        self.success = StatusCode::OK;
        self.response = Some(schema_fn::<T>());
        self.media = Some(media);
        self
    }
    pub fn returns_text(mut self) -> Self {
        self.text = true;
        self
    }
    pub fn no_content(mut self) -> Self {
        self.success = StatusCode::NO_CONTENT;
        self.response = None;
        self
    }
    pub fn errors(mut self, k: &[Kind]) -> Self {
        self.errors.extend_from_slice(k);
        self
    }

    /// Every error kind the route may answer, for the spec and the tests.
    pub fn error_kinds(&self) -> Vec<Kind> {
        // Any route may have to write (a read of restricted content is
        // recorded), so any may find the store full.
        let mut v = vec![Kind::Internal, Kind::Unavailable, Kind::StorageFull];
        if self.access != Access::Public {
            v.push(Kind::Unauthenticated);
            v.push(Kind::Forbidden);
            if !matches!(self.method, Method::GET | Method::HEAD) {
                v.push(Kind::Csrf);
            }
        }
        if self.query.is_some() || !self.path_params.is_empty() {
            v.push(Kind::BadRequest);
        }
        if !self.path_params.is_empty() {
            v.push(Kind::NotFound);
        }
        if self.body.is_some() {
            v.push(Kind::Validation);
            v.push(Kind::PayloadTooLarge);
        }
        if self.idempotent {
            v.push(Kind::IdempotencyKeyReused);
        }
        v.extend(self.errors.iter().copied());
        let mut out = Vec::new();
        for k in v {
            if !out.contains(&k) {
                out.push(k);
            }
        }
        out
    }
}

/// What the route layer knows about the route it guards (also in the
/// request's extensions, for extractors that name the operation).
#[derive(Clone, Debug)]
pub(crate) struct OpInfo {
    pub(crate) id: &'static str,
    pub(crate) path: &'static str,
    pub(crate) access: Access,
}

/// Routes being registered.
pub struct Table {
    /// `None` when only the table is wanted (the OpenAPI document).
    state: Option<AppState>,
    router: Router<AppState>,
    ops: Vec<Op>,
}

fn method_filter(m: &Method) -> MethodFilter {
    match *m {
        Method::POST => MethodFilter::POST,
        Method::PUT => MethodFilter::PUT,
        Method::DELETE => MethodFilter::DELETE,
        Method::PATCH => MethodFilter::PATCH,
        _ => MethodFilter::GET,
    }
}

impl Table {
    /// Registers `handler` for `op`. The only way a route comes to exist.
    pub fn add<H, T>(&mut self, mut op: Op, handler: H)
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        op.handler = std::any::type_name::<H>();
        if let Some(state) = &self.state {
            let info = Arc::new(OpInfo {
                id: op.id,
                path: op.path,
                access: op.access,
            });
            let route = axum::routing::on(method_filter(&op.method), handler)
                .route_layer(middleware::from_fn_with_state(state.clone(), guard))
                .route_layer(axum::Extension(info));
            let router = std::mem::take(&mut self.router);
            self.router = router.route(op.path, route);
        }
        self.ops.push(op);
    }
}

impl Table {
    /// A table that builds a router for `state`, or (with `None`) only
    /// collects the operations (for the OpenAPI document and the tests).
    pub fn new(state: Option<AppState>) -> Self {
        Self {
            state,
            router: Router::new(),
            ops: Vec::new(),
        }
    }

    /// The router and the operations registered.
    pub fn into_parts(self) -> (Router<AppState>, Vec<Op>) {
        (self.router, self.ops)
    }
}

pub(crate) async fn not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route {method} {}", uri.path()))
}

pub(crate) async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        Kind::MethodNotAllowed,
        format!("{method} is not supported on {}", uri.path()),
    )
}

/// The client's address, when the server knows it.
pub fn client_address(req_extensions: &axum::http::Extensions) -> Option<String> {
    req_extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

async fn guard(
    State(state): State<AppState>,
    axum::Extension(op): axum::Extension<Arc<OpInfo>>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let uri_path = req.uri().path().to_owned();
    let request_id = crate::problem::RequestId::new();
    let (mut response, who) = crate::problem::REQUEST_ID
        .scope(request_id.clone(), async {
            match admit(&state, &op, &mut req).await {
                Ok(who) => (next.run(req).await, who),
                Err(e) => (e.into_response(), None),
            }
        })
        .await;
    if let Ok(v) = axum::http::HeaderValue::from_str(request_id.as_str()) {
        response.headers_mut().insert("x-request-id", v);
    }
    let took = started.elapsed();
    let status = response.status().as_u16();
    state
        .metrics
        .observe(method.as_str(), op.path, status, took);
    tracing::info!(
        method = %method,
        path = %uri_path,
        route = op.id,
        status,
        request_id = request_id.as_str(),
        account = who.as_deref().unwrap_or("-"),
        ms = took.as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// Authenticates and authorises; the account name, if any, for the log.
async fn admit(
    state: &AppState,
    op: &OpInfo,
    req: &mut Request,
) -> Result<Option<String>, ApiError> {
    if op.access == Access::Public {
        return Ok(None);
    }
    let principal = auth::authenticate(state, req.headers()).await?;
    if let Access::Needs(p) = op.access {
        state.svc.authorize(&principal, p, op.id).await?;
    }
    if let Err(e) = auth::check_csrf(req.method(), req.headers(), &principal) {
        state.svc.refuse(&principal, op.id, None, &e.detail).await;
        return Err(e);
    }
    let name = principal.name().to_string();
    req.extensions_mut().insert(principal);
    Ok(Some(name))
}

/// The request body as bytes, at most the configured limit.
pub struct RawBody(pub Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.config.body_limit;
        axum::body::to_bytes(req.into_body(), limit)
            .await
            .map(RawBody)
            .map_err(|_| {
                ApiError::new(
                    Kind::PayloadTooLarge,
                    format!("the request body is larger than {limit} bytes (or broke off)"),
                )
            })
    }
}

impl RawBody {
    /// Parses the body as JSON of `T`, naming the offending field.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        parse_json(&self.0)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut *de) {
        // Anything after the value is an error too, as in the CLI's parser.
        Ok(v) => match de.end() {
            Ok(()) => Ok(v),
            Err(e) => Err(ApiError::validation(format!("the body is not valid: {e}"))),
        },
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let field = if path.is_empty() || path == "." {
                None
            } else {
                Some(path.clone())
            };
            let detail = match &field {
                Some(f) => format!("{f}: {inner}"),
                None => format!("the body is not valid: {inner}"),
            };
            let e = ApiError::validation(detail);
            Err(match field {
                Some(f) => e.field(f),
                None => e,
            })
        }
    }
}

/// Path parameters, with problems instead of plain-text rejections.
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for PathParams<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParams(p.0))
            .map_err(|e| ApiError::not_found(format!("no such resource: {e}")))
    }
}

/// Query parameters, with problems instead of plain-text rejections.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for QueryParams<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded_like(q);
        de.map(QueryParams)
    }
}

fn serde_urlencoded_like<T: DeserializeOwned>(q: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{q}")
            .parse()
            .map_err(|_| ApiError::bad_request("the query string is not valid"))?,
    )
    .map(|q| q.0)
    .map_err(|e| ApiError::bad_request(format!("query: {}", e.body_text())))
}

/// The caller, put in place by the route layer (absent on public routes).
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| ApiError::new(Kind::Unauthenticated, "no credential"))
    }
}
