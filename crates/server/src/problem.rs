//! Errors as RFC 9457 problem details (`application/problem+json`).
//!
//! Every error kind has a stable `type` URI under [`TYPE_BASE`]; clients
//! branch on it, never on the human-readable `title` or `detail`.
//!
//! A 500 never carries internal text: its cause chain is logged with the
//! request's id, and the client gets the problem type and that id (also in
//! the `X-Request-Id` header of every routed answer).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tocsin_domain::case::CaseError;
use tocsin_domain::holds::HoldError;
use tocsin_service::screening::ScreeningError;
use tocsin_service::{AccountError, AuthError, ServiceError};
use tocsin_store::StoreError;

tokio::task_local! {
    /// The id of the request being answered (set by the route layer).
    pub(crate) static REQUEST_ID: RequestId;
}

/// A request's id: in its log line, its `X-Request-Id` header and the
/// detail of a 500.
#[derive(Clone, Debug)]
pub struct RequestId(String);

impl RequestId {
    pub(crate) fn new() -> Self {
        Self(uuid::Uuid::now_v7().simple().to_string())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub(crate) fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|r| r.0.clone()).ok()
}

pub const TYPE_BASE: &str = "https://tocsin.dev/problems/";

/// The kinds of problem, each with its status and `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The request is malformed (a bad query parameter, a bad path).
    BadRequest,
    /// The body is not valid: wrong JSON, a missing or invalid field.
    Validation,
    /// No credential, or one that is unknown, expired or revoked.
    Unauthenticated,
    /// The caller lacks the permission, or access to this case.
    Forbidden,
    /// A state change with a session cookie without the CSRF token.
    Csrf,
    /// The session logged in with a one-time enrolment secret: it may only
    /// set the person's own password.
    PasswordChangeRequired,
    /// The two-person rule: the same person cannot request and approve.
    TwoPersonRule,
    /// No such thing (or one whose existence is restricted).
    NotFound,
    /// The command is not allowed in the case's current state.
    IllegalTransition,
    /// Something exists already, or was changed concurrently.
    Conflict,
    /// A warning text would reveal protected information.
    SanitisationFindings,
    /// The same idempotency key with a different request.
    IdempotencyKeyReused,
    /// The body is larger than the limit.
    PayloadTooLarge,
    /// Too many failed logins.
    Throttled,
    /// The method is not supported on this path.
    MethodNotAllowed,
    /// The store could not keep up or is unavailable; retry.
    Unavailable,
    /// The store has no space left (its disk is full): nothing of the
    /// request was kept; it can succeed once space is freed.
    StorageFull,
    /// A bug or a damaged database.
    Internal,
}

impl Kind {
    pub const ALL: [Kind; 18] = [
        Kind::BadRequest,
        Kind::Validation,
        Kind::Unauthenticated,
        Kind::Forbidden,
        Kind::Csrf,
        Kind::PasswordChangeRequired,
        Kind::TwoPersonRule,
        Kind::NotFound,
        Kind::IllegalTransition,
        Kind::Conflict,
        Kind::SanitisationFindings,
        Kind::IdempotencyKeyReused,
        Kind::PayloadTooLarge,
        Kind::Throttled,
        Kind::MethodNotAllowed,
        Kind::Unavailable,
        Kind::StorageFull,
        Kind::Internal,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Kind::BadRequest => "bad-request",
            Kind::Validation => "validation",
            Kind::Unauthenticated => "unauthenticated",
            Kind::Forbidden => "forbidden",
            Kind::Csrf => "csrf",
            Kind::PasswordChangeRequired => "password-change-required",
            Kind::TwoPersonRule => "two-person-rule",
            Kind::NotFound => "not-found",
            Kind::IllegalTransition => "illegal-transition",
            Kind::Conflict => "conflict",
            Kind::SanitisationFindings => "sanitisation-findings",
            Kind::IdempotencyKeyReused => "idempotency-key-reused",
            Kind::PayloadTooLarge => "payload-too-large",
            Kind::Throttled => "throttled",
            Kind::MethodNotAllowed => "method-not-allowed",
            Kind::Unavailable => "unavailable",
            Kind::StorageFull => "storage-full",
            Kind::Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Validation | Kind::SanitisationFindings | Kind::IdempotencyKeyReused => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
            Kind::Forbidden | Kind::Csrf | Kind::TwoPersonRule | Kind::PasswordChangeRequired => {
                StatusCode::FORBIDDEN
            }
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::IllegalTransition | Kind::Conflict => StatusCode::CONFLICT,
            Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::Throttled => StatusCode::TOO_MANY_REQUESTS,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::BadRequest => "Bad request",
            Kind::Validation => "Invalid request body",
            Kind::Unauthenticated => "Authentication required",
            Kind::Forbidden => "Forbidden",
            Kind::Csrf => "Missing or wrong CSRF token",
            Kind::PasswordChangeRequired => "Set a password of your own first",
            Kind::TwoPersonRule => "Two-person rule",
            Kind::NotFound => "Not found",
            Kind::IllegalTransition => "Not allowed in the case's current state",
            Kind::Conflict => "Conflict",
            Kind::SanitisationFindings => "The warning would reveal protected information",
            Kind::IdempotencyKeyReused => "Idempotency key reused with a different request",
            Kind::PayloadTooLarge => "Request body too large",
            Kind::Throttled => "Too many attempts",
            Kind::MethodNotAllowed => "Method not allowed",
            Kind::Unavailable => "Temporarily unavailable",
            Kind::StorageFull => "No space left to store the request",
            Kind::Internal => "Internal error",
        }
    }

    pub fn type_uri(self) -> String {
        format!("{TYPE_BASE}{}", self.slug())
    }
}

/// A problem details document.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Problem {
    /// Stable URI naming the kind of problem.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    /// What went wrong in this occurrence, for a person.
    pub detail: String,
    /// The JSON path of the offending field, for validation problems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is allowed next, for illegal transitions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
    /// The findings of the sanitisation check, with their byte spans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<serde_json::Value>,
    /// A refused STIX bundle: the id of the object at fault (absent for
    /// the bundle itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// A refused STIX bundle: the JSON path inside the object (or the
    /// bundle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A refused STIX bundle: what is wrong there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What few errors carry beside their detail.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    pub findings: Vec<serde_json::Value>,
    /// A refused STIX bundle: the object, the path, the reason.
    pub stix: Option<(Option<String>, String, String)>,
}

/// An error a handler returns.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub kind: Kind,
    pub detail: String,
    pub field: Option<Box<str>>,
    pub allowed: Vec<String>,
    /// The sanitisation findings, or where a STIX bundle is wrong (kept
    /// out of line: most errors have neither).
    pub extra: Option<Box<Extra>>,
    /// Seconds, for `Retry-After`.
    pub retry_after: Option<u32>,
    /// What went wrong inside (the cause chain): logged, never sent.
    cause: Option<Box<str>>,
}

/// An error's message with its chain of sources.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut next = e.source();
    while let Some(c) = next {
        s.push_str(": ");
        s.push_str(&c.to_string());
        next = c.source();
    }
    s
}

impl ApiError {
    pub fn new(kind: Kind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            field: None,
            allowed: vec![],
            extra: None,
            retry_after: None,
            cause: None,
        }
    }

    /// A refused STIX bundle (422): the object at fault, the path inside
    /// it and why.
    pub fn stix(object: Option<String>, path: String, reason: String) -> Self {
        let detail = format!(
            "{}{path}: {reason}",
            object
                .as_ref()
                .map(|o| format!("{o}: "))
                .unwrap_or_default()
        );
        Self {
            extra: Some(Box::new(Extra {
                findings: vec![],
                stix: Some((object, path, reason)),
            })),
            ..Self::validation(detail)
        }
    }

    pub fn field(mut self, f: impl Into<String>) -> Self {
        self.field = Some(f.into().into_boxed_str());
        self
    }

    pub fn bad_request(d: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, d)
    }
    pub fn validation(d: impl Into<String>) -> Self {
        Self::new(Kind::Validation, d)
    }
    pub fn not_found(d: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, d)
    }
    pub fn forbidden(d: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, d)
    }
    /// A fault inside: `cause` is logged, the client learns only that it
    /// happened and the request's id.
    pub fn internal(cause: impl Into<String>) -> Self {
        Self::opaque(Kind::Internal, cause.into())
    }

    /// An error of `kind` whose cause must not reach the client.
    fn opaque(kind: Kind, cause: String) -> Self {
        let detail = match kind {
            Kind::Unavailable => "the service cannot answer now; try again",
            Kind::StorageFull => {
                "the store has no space left, so nothing of this request was kept; try again once space is freed"
            }
            _ => "an internal error occurred; it is logged",
        };
        Self {
            cause: Some(cause.into_boxed_str()),
            ..Self::new(kind, detail)
        }
    }

    fn stix_at(&self) -> Option<&(Option<String>, String, String)> {
        self.extra.as_ref().and_then(|e| e.stix.as_ref())
    }

    pub fn problem(&self) -> Problem {
        Problem {
            type_: self.kind.type_uri(),
            title: self.kind.title().to_owned(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
            field: self.field.as_deref().map(str::to_owned),
            allowed: self.allowed.clone(),
            findings: self
                .extra
                .as_ref()
                .map(|e| e.findings.clone())
                .unwrap_or_default(),
            object: self.stix_at().and_then(|s| s.0.clone()),
            path: self.stix_at().map(|s| s.1.clone()),
            reason: self.stix_at().map(|s| s.2.clone()),
        }
    }
}

impl ApiError {
    /// Logs the cause of an opaque error (with the request id, which the
    /// detail then names); the detail is what a client may read. Every
    /// face that answers an error (the API's problems, the UI's pages)
    /// calls it once.
    pub fn log_cause(&mut self) {
        if let Some(cause) = self.cause.take() {
            let id = current_request_id();
            tracing::error!(
                request_id = id.as_deref().unwrap_or("-"),
                kind = self.kind.slug(),
                cause = %cause,
                "request failed inside"
            );
            if let Some(id) = id {
                self.detail = format!("{} (request id {id})", self.detail);
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(mut self) -> Response {
        self.log_cause();
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut r = (self.kind.status(), body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.kind == Kind::Unauthenticated {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tocsin\""),
            );
        }
        r
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { .. }
            | StoreError::DocConflict { .. }
            | StoreError::NotDisposable { .. } => ApiError::new(Kind::Conflict, e.to_string()),
            StoreError::Closed => ApiError::opaque(Kind::Unavailable, chain(&e)),
            StoreError::Full { .. } => ApiError::opaque(Kind::StorageFull, chain(&e)),
            StoreError::BadCursor(_) => ApiError::bad_request(e.to_string()),
            _ => ApiError::internal(chain(&e)),
        }
    }
}

impl From<CaseError> for ApiError {
    fn from(e: CaseError) -> Self {
        let detail = e.to_string();
        match e {
            CaseError::NotAllowed { allowed, .. } => ApiError {
                allowed: allowed.iter().map(|a| a.as_str().to_owned()).collect(),
                ..ApiError::new(Kind::IllegalTransition, detail)
            },
            CaseError::WarningNotAllowed { allowed, .. } => ApiError {
                allowed: allowed.iter().map(|a| a.as_str().to_owned()).collect(),
                ..ApiError::new(Kind::IllegalTransition, detail)
            },
            CaseError::RouteAfterDelivery { .. } | CaseError::NothingToConfirm => {
                ApiError::new(Kind::IllegalTransition, detail)
            }
            CaseError::UnknownWarning { .. } => ApiError::not_found(detail),
            CaseError::AmbiguousWarning { .. } => ApiError {
                field: Some("warning".into()),
                ..ApiError::validation(detail)
            },
            CaseError::TwoPersonRule { .. } => ApiError::new(Kind::TwoPersonRule, detail),
            CaseError::MissingRole { .. } => ApiError::forbidden(detail),
            CaseError::UnknownWaiver(_) | CaseError::UnknownReport(_) => {
                ApiError::not_found(detail)
            }
            CaseError::WaiverNotPending(_) | CaseError::NotLatestDraft { .. } => {
                ApiError::new(Kind::IllegalTransition, detail)
            }
            CaseError::DuplicateWaiver(_)
            | CaseError::DuplicateReport(_)
            | CaseError::TextChanged { .. }
            | CaseError::SameOwner(_)
            | CaseError::RecordsDisposed { .. } => ApiError::new(Kind::Conflict, detail),
            CaseError::SanitisationFindings { findings } => ApiError {
                extra: Some(Box::new(Extra {
                    findings: findings
                        .iter()
                        .map(|f| serde_json::to_value(f).unwrap_or_default())
                        .collect(),
                    stix: None,
                })),
                ..ApiError::new(Kind::SanitisationFindings, detail)
            },
            _ => ApiError::validation(detail),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::CaseNotFound(_) | ServiceError::NotFound(_) => {
                ApiError::not_found(e.to_string())
            }
            ServiceError::Forbidden(_) => ApiError::forbidden(e.to_string()),
            ServiceError::Invalid { field, message } => ApiError {
                field: field.map(String::into_boxed_str),
                ..ApiError::validation(message)
            },
            ServiceError::BadQuery { ref parameter, .. } => ApiError {
                field: Some(parameter.as_str().into()),
                ..ApiError::bad_request(e.to_string())
            },
            ServiceError::StixRefused {
                object,
                path,
                reason,
            } => ApiError::stix(object, path, reason),
            ServiceError::WrongState(m) => ApiError::new(Kind::IllegalTransition, m),
            ServiceError::Proof(p) => ApiError::bad_request(p.to_string()),
            ServiceError::IdempotencyKeyReused => {
                ApiError::new(Kind::IdempotencyKeyReused, e.to_string())
            }
            ServiceError::Refused(c) => c.into(),
            ServiceError::Contention(_) => ApiError::new(Kind::Unavailable, e.to_string()),
            ServiceError::Store(s) => s.into(),
            ServiceError::Account(a) => match a {
                AccountError::NoSuchAccount(_)
                | AccountError::NoSuchElement(_)
                | AccountError::NoSuchToken(_) => ApiError::not_found(a.to_string()),
                AccountError::AccountExists(_)
                | AccountError::ElementExists(_)
                | AccountError::AlreadyBootstrapped => ApiError::new(Kind::Conflict, a.to_string()),
                AccountError::UnknownLevel(_)
                | AccountError::RoleNotHeld(..)
                | AccountError::Invalid(_) => ApiError::validation(a.to_string()),
            },
            ServiceError::Auth(a) => match a {
                AuthError::Throttled(s) => ApiError {
                    retry_after: Some(u32::try_from(s).unwrap_or(u32::MAX)),
                    ..ApiError::new(Kind::Throttled, a.to_string())
                },
                AuthError::BadLogin | AuthError::BadCredential => {
                    ApiError::new(Kind::Unauthenticated, a.to_string())
                }
                AuthError::PasswordChangeRequired => {
                    ApiError::new(Kind::PasswordChangeRequired, a.to_string())
                }
            },
            ServiceError::Screening(s) => match s {
                ScreeningError::Invalid(_) | ScreeningError::Parse { .. } => {
                    ApiError::validation(s.to_string())
                }
                ScreeningError::NoSuchRegistry(_) => ApiError::not_found(s.to_string()),
                ScreeningError::Contention(_) => ApiError::new(Kind::Conflict, s.to_string()),
                ScreeningError::Store(st) => st.into(),
                ScreeningError::Damaged { .. } => ApiError::internal(chain(&s)),
            },
            ServiceError::Hold(h) => match h {
                HoldError::Unknown(_) => ApiError::not_found(h.to_string()),
                HoldError::SamePerson { .. } => ApiError::new(Kind::TwoPersonRule, h.to_string()),
                HoldError::Exists(_) => ApiError::new(Kind::Conflict, h.to_string()),
                HoldError::NothingPending(_) | HoldError::NotPlaced(_) => {
                    ApiError::new(Kind::IllegalTransition, h.to_string())
                }
                // The service hands the holds only hold commands.
                HoldError::NotAHoldEvent(_) => ApiError::internal(chain(&h)),
            },
            ServiceError::ShuttingDown => ApiError::opaque(Kind::Unavailable, e.to_string()),
            ServiceError::Corrupt { .. } | ServiceError::Internal { .. } => {
                ApiError::internal(chain(&e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_store_answers_507_storage_full_without_its_text() {
        let e = ApiError::from(ServiceError::Store(StoreError::full(
            "SQLite found no room to write",
            std::io::Error::other("database or disk is full"),
        )));
        let r = REQUEST_ID
            .scope(RequestId("req-2".into()), async { e.into_response() })
            .await;
        assert_eq!(r.status(), StatusCode::INSUFFICIENT_STORAGE);
        let body = axum::body::to_bytes(r.into_body(), 10_000).await.unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            text.contains("https://tocsin.dev/problems/storage-full"),
            "{text}"
        );
        assert!(
            !text.contains("SQLite") && !text.contains("disk is full"),
            "{text}"
        );
        assert!(text.contains("request id req-2"), "{text}");
    }

    #[tokio::test]
    async fn a_500_carries_no_internal_text_and_names_the_request() {
        let e = ApiError::from(ServiceError::Store(StoreError::Corrupt(
            "table cases: secret database detail".into(),
        )));
        let id = RequestId("req-1".into());
        let r = REQUEST_ID.scope(id, async { e.into_response() }).await;
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(r.into_body(), 10_000).await.unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains("secret database detail"), "{text}");
        assert!(text.contains("request id req-1"), "{text}");
        assert!(
            text.contains("https://tocsin.dev/problems/internal"),
            "{text}"
        );
    }
}
