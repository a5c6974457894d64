//! What the route modules share: lists and pages, small request bodies,
//! the answer to a case command, the case a route is about, and JSON
//! answers. A leaf: it imports no route module.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tocsin_domain::case::{Case, CaseState, Command, WarningNumber};
use tocsin_domain::event::Event;
use tocsin_domain::text::Reason;
use tocsin_domain::{CaseId, CaseRef, DisputeId, WaiverId};
use tocsin_service::{Executed, Principal, Visible};

use crate::AppState;
use crate::problem::ApiError;
use crate::table::{Caller, OpInfo, QueryParams, RawBody, parse_json};

/// A list with a cursor for the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// At most this many (1 to 1000, default 50).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
    /// The cursor from the previous page.
    pub after: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<u32, ApiError> {
        page_limit(self.limit)
    }
}

/// A page size: 1 to 1000, default 50.
pub fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(50),
        Some(n @ 1..=1000) => Ok(n),
        Some(n) => Err(ApiError::bad_request(format!("limit {n}: give 1 to 1000"))),
    }
}

/// A page of an in-memory list ordered by `key`: the items after the
/// cursor `after`, at most `limit`, with the cursor of the next page.
pub fn paginate<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    q: &PageQuery,
) -> Result<List<T>, ApiError> {
    let limit = q.limit()? as usize;
    let mut rest: Vec<T> = match &q.after {
        Some(a) => items
            .into_iter()
            .filter(|i| key(i).as_str() > a.as_str())
            .collect(),
        None => items,
    };
    let next = if rest.len() > limit {
        rest.truncate(limit);
        rest.last().map(&key)
    } else {
        None
    };
    Ok(List { items: rest, next })
}

/// A list kept in pages by the store, fetched with one more than `limit`
/// to learn whether there is a next page.
pub fn page_of<T>(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> List<T> {
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(key)
    } else {
        None
    };
    List { items, next }
}

/// Which warning of the case a request is about.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WarningQuery {
    /// The warning's number (1 for W1...). Default: the case's only
    /// warning; required when the case has several.
    pub warning: Option<WarningNumber>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: Reason,
}

/// What a command did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CommandResult {
    pub case_id: CaseId,
    pub state: CaseState,
    /// The kinds of the events recorded.
    pub events: Vec<String>,
    /// Ledger position of the first event recorded.
    pub first_position: u64,
    pub count: u64,
    /// Ledger size and root after the commit.
    pub tree_size: u64,
    pub root: String,
    /// The new waiver's id, for a waiver request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver_id: Option<WaiverId>,
    /// The new warning version, for a draft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning_version: Option<u32>,
    /// The dispute a `raise_dispute` raised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute_id: Option<DisputeId>,
}

/// Runs `cmd` on `case` as `p` and answers what it did.
pub async fn run(
    state: &AppState,
    p: &Principal,
    case: &Visible<Case>,
    cmd: Command,
) -> Result<Response, ApiError> {
    let ex = state.svc.execute(p, case, cmd).await?;
    answer(ex)
}

/// The answer to a command that went through.
pub fn answer(ex: Executed) -> Result<Response, ApiError> {
    let waiver_id = ex.events.iter().find_map(|e| match e {
        Event::WaiverRequested { waiver_id, .. } => Some(*waiver_id),
        _ => None,
    });
    let warning_version = ex.events.iter().find_map(|e| match e {
        Event::WarningDrafted { version, .. } => Some(*version),
        _ => None,
    });
    let dispute_id = ex.events.iter().find_map(|e| match e {
        Event::DisputeRaised { dispute_id, .. } => Some(*dispute_id),
        _ => None,
    });
    ok(&CommandResult {
        case_id: ex.case.id,
        state: ex.case.state,
        events: ex.events.iter().map(|e| e.kind().to_owned()).collect(),
        first_position: ex.appended.first_position,
        count: ex.appended.count,
        tree_size: ex.appended.tree_size,
        root: ex.appended.root.to_base64(),
        waiver_id,
        warning_version,
        dispute_id,
    })
}

/// A case from a path or a query, by its id or its number: one that does
/// not parse answers as a case that does not exist.
pub fn case_ref(s: &str) -> Result<CaseRef, ApiError> {
    s.parse()
        .map_err(|_| ApiError::not_found(format!("there is no case {s}")))
}

/// The `{case_id}` of the route's path, as a case the caller may see (the
/// service checks, and records a refusal under the route's operation id).
pub struct VisibleCase(pub Visible<Case>);

impl FromRequestParts<AppState> for VisibleCase {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(p) = Caller::from_request_parts(parts, state).await?;
        let action = parts
            .extensions
            .get::<std::sync::Arc<OpInfo>>()
            .map(|o| o.id)
            .unwrap_or("case");
        let axum::extract::Path(params) =
            axum::extract::Path::<Vec<(String, String)>>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::not_found(format!("no such resource: {e}")))?;
        let raw = params
            .iter()
            .find(|(k, _)| k == "case_id")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        let reference = case_ref(raw)?;
        Ok(VisibleCase(state.svc.case(&p, reference, action).await?))
    }
}

/// A command on the route's case: the caller, the case (which the service
/// found the caller may see, before the body was read), the other path
/// parameters and the parsed body `B`.
pub struct CaseCommand<B> {
    state: AppState,
    caller: Principal,
    case: Visible<Case>,
    params: Vec<(String, String)>,
    warning: Option<WarningNumber>,
    body: B,
}

impl<B: DeserializeOwned + Send> FromRequest<AppState> for CaseCommand<B> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = req.into_parts();
        let Caller(caller) = Caller::from_request_parts(&mut parts, state).await?;
        let VisibleCase(case) = VisibleCase::from_request_parts(&mut parts, state).await?;
        let axum::extract::Path(params) =
            axum::extract::Path::<Vec<(String, String)>>::from_request_parts(&mut parts, state)
                .await
                .map_err(|e| ApiError::not_found(format!("no such resource: {e}")))?;
        let QueryParams(WarningQuery { warning }) =
            QueryParams::from_request_parts(&mut parts, state).await?;
        let RawBody(bytes) = RawBody::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Self {
            state: state.clone(),
            caller,
            case,
            params,
            warning,
            body: parse_json(&bytes)?,
        })
    }
}

impl<B> CaseCommand<B> {
    /// The `warning` of the query: which warning the command is about.
    pub fn warning(&self) -> Option<WarningNumber> {
        self.warning
    }

    /// The state, the caller, the case, the path parameters and the body,
    /// for a route that calls the service itself.
    pub fn into_parts(self) -> (AppState, Principal, Visible<Case>, PathParamList, B) {
        (
            self.state,
            self.caller,
            self.case,
            PathParamList(self.params),
            self.body,
        )
    }

    /// Runs the command `make` builds from the body and the path
    /// parameters, and answers what it did.
    pub async fn run(
        self,
        make: impl FnOnce(B, &PathParamList) -> Result<Command, ApiError>,
    ) -> Result<Response, ApiError> {
        let cmd = make(self.body, &PathParamList(self.params))?;
        run(&self.state, &self.caller, &self.case, cmd).await
    }
}

/// The path parameters of a route.
pub struct PathParamList(Vec<(String, String)>);

impl PathParamList {
    /// The value of `{name}` ("" when the route has none).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

/// A JSON answer.
pub fn json<T: Serialize>(status: StatusCode, v: &T) -> Response {
    match serde_json::to_vec(v) {
        Ok(body) => {
            let mut r = (status, body).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
        Err(e) => ApiError::internal(format!("cannot encode the answer: {e}")).into_response(),
    }
}

/// `200 OK` with `v` as JSON.
pub fn ok<T: Serialize>(v: &T) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, v))
}

/// `201 Created` with `v` as JSON.
pub fn created<T: Serialize>(v: &T) -> Result<Response, ApiError> {
    Ok(json(StatusCode::CREATED, v))
}

/// A text answer of `content_type`.
pub fn text(content_type: &'static str, body: String) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}
