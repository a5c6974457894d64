//! Why a service call failed. The faces map each variant to their own
//! answer (the HTTP API to an RFC 9457 problem type); the variants that
//! are faults of this process or the store carry their cause as a source,
//! to be logged, never shown.

use tocsin_domain::CaseId;
use tocsin_domain::case::{CaseError, FoldError};
use tocsin_store::StoreError;

use crate::accounts::AccountError;
use crate::screening::ScreeningError;
use crate::sessions::AuthError;

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
