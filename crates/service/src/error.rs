//! Why a service call failed. The faces map each variant to their own
//! answer (the HTTP API to an RFC 9457 problem type); the variants that
//! are faults of this process or the store carry their cause as a source,
//! to be logged, never shown.

use tocsin_domain::CaseId;
use tocsin_domain::case::{CaseError, FoldError};
use tocsin_store::StoreError;

use tocsin_domain::Role;
use tocsin_domain::access::UnknownLevel;

use crate::screening::ScreeningError;

/// Why a service call failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No such case, or one the caller may not learn exists (the two are
    /// answered identically).
    #[error("there is no case {0}")]
    CaseNotFound(String),
    /// Something else that is not there: a warning version, a token, a
    /// notice target.
    #[error("{0}")]
    NotFound(String),
    /// The caller lacks the permission, or access to the case. Recorded.
    #[error("{0}")]
    Forbidden(String),
    /// The request names something this deployment refuses (an element
    /// the submitter does not belong to, an unknown clearance level...).
    #[error("{message}")]
    Invalid {
        /// The JSON path of the offending field, when there is one.
        field: Option<String>,
        message: String,
    },
    /// A query's parameters that cannot be answered together (a period
    /// given reversed): the faces' "bad request", naming the parameter.
    #[error("{parameter}: {message}")]
    BadQuery { parameter: String, message: String },
    /// A STIX bundle refused: the object at fault, the path inside it and
    /// why. Nothing of the bundle was written.
    #[error("{}{path}: {reason}", object.as_ref().map(|o| format!("{o}: ")).unwrap_or_default())]
    StixRefused {
        object: Option<String>,
        path: String,
        reason: String,
    },
    /// Not possible in the case's current state (exporting a warning that
    /// is not approved, say).
    #[error("{0}")]
    WrongState(String),
    /// A proof that cannot exist (a position beyond the size, sizes out of
    /// order).
    #[error(transparent)]
    Proof(tocsin_ledger::ProofError),
    /// The same idempotency key with a different request.
    #[error("this Idempotency-Key was used with a different request body")]
    IdempotencyKeyReused,
    /// The domain refused the command (state, policy, two-person rule...).
    #[error(transparent)]
    Refused(#[from] CaseError),
    /// Others kept changing the same thing while this ran; try again.
    #[error("{0} kept changing while this ran ({n} attempts); try again", n = crate::MAX_ATTEMPTS)]
    Contention(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("case {case}: the recorded events do not fold: {source}")]
    Corrupt { case: CaseId, source: FoldError },
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Screening(#[from] ScreeningError),
    /// The rules of legal holds refused the step (the same person twice,
    /// nothing pending, no such hold...).
    #[error(transparent)]
    Hold(#[from] tocsin_domain::holds::HoldError),
    /// The service is stopping.
    #[error("the service is shutting down")]
    ShuttingDown,
    /// A fault of this process (no randomness from the OS, a task that died).
    #[error("{context}")]
    Internal {
        context: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ServiceError {
    pub(crate) fn invalid(field: &str, message: impl std::fmt::Display) -> Self {
        ServiceError::Invalid {
            field: Some(field.to_owned()),
            message: format!("{field}: {message}"),
        }
    }

    pub(crate) fn internal(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        ServiceError::Internal {
            context,
            source: source.into(),
        }
    }

    /// Another writer got there first: the caller should reload and retry.
    pub(crate) fn is_conflict(&self) -> bool {
        matches!(self, ServiceError::Store(StoreError::Conflict { .. }))
    }
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("there is no account '{0}'")]
    NoSuchAccount(String),
    #[error("the account '{0}' already exists")]
    AccountExists(String),
    #[error("the element '{0}' is not registered (register it first)")]
    NoSuchElement(String),
    #[error("the element '{0}' is already registered")]
    ElementExists(String),
    #[error(transparent)]
    UnknownLevel(#[from] UnknownLevel),
    #[error("there is no token {0}")]
    NoSuchToken(String),
    #[error("a token may only carry roles its account holds; {0} does not hold {1}")]
    RoleNotHeld(String, Role),
    #[error("the first admin exists already; admins add further accounts")]
    AlreadyBootstrapped,
    #[error("{0}")]
    Invalid(String),
}

/// An account operation the service refuses, with why.
pub(crate) fn invalid(msg: impl Into<String>) -> ServiceError {
    ServiceError::Account(AccountError::Invalid(msg.into()))
}

/// Why a login or a credential was refused. The messages never say whether
/// an account exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("unknown account or wrong password")]
    BadLogin,
    #[error("too many failed logins; try again in {0} s")]
    Throttled(u64),
    #[error("the credential is missing, unknown, expired or revoked")]
    BadCredential,
    #[error(
        "this session logged in with a one-time enrolment secret an admin set: set a password of your own first (PUT /api/v1/me/password, or `tocsin enrol`)"
    )]
    PasswordChangeRequired,
}
