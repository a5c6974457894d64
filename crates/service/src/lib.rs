//! # tocsin-service
//!
//! The application layer, and **the one door**: every face (the HTTP API,
//! the CLI through it, the demo, the tests, tomorrow the web UI and TAXII)
//! reaches cases, reports, accounts and the ledger only through
//! [`Service`], and the service alone decides who may see or do what.
//!
//! * Callers are [`Principal`]s: an account with the roles its credential
//!   may use. Only the service makes one (from a token, a session, or for
//!   an in-process edge that opened the deployment itself:
//!   [`Service::principal`]).
//! * Every operation that needs a permission checks it ([`access`]) and
//!   records a refusal on the access stream.
//! * A case is acted on only through a [`Visible<Case>`], which only the
//!   service constructs, after checking clearance, compartments, elements
//!   and restricted existence (and recording a refusal). A command re-checks
//!   visibility against the state it folds.
//! * Intake ([`intake`]) checks the submitter's element, the
//!   classification and the idempotency key (replay and race) itself.
//!
//! It supplies what the pure domain lacks: the time ([`Clock`]), fresh ids,
//! the current state of a case (folded from the store), and it writes what
//! the domain decides. Every command runs as *load → decide → append*
//! ([`command`]): the case is folded from its events, [`Case::handle`]
//! checks the command and returns events, and the store appends them only
//! if nobody else appended to the case in the meantime (optimistic
//! concurrency on the stream version). On a conflict the command is re-run
//! against the new state, so two approvers racing can never both succeed.
//!
//! Refusals that oversight must see (a two-person violation, a waiver on an
//! unlisted ground, a missing role) are appended to the case as
//! `attempt_refused` before the error is returned.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod background;
pub mod cases;
mod clock;
mod command;
pub mod contributions;
pub mod dashboard;
mod deep;
pub mod disputes;
pub mod error;
pub mod exports;
pub mod intake;
pub mod notices;
mod partners;
mod projection;
mod rebuild;
pub mod receipts;
pub mod records;
pub mod reference;
pub mod relations;
pub mod screening;
mod sessions;
pub mod similar;
mod stix;
pub mod stix_import;
mod sweep;
pub mod taxii;
mod tokens;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

pub use access::{Principal, Via, Visible};
pub use accounts::AccountError;
pub use cases::{CaseListQuery, LoggedEvent};
pub use clock::{Clock, ManualClock, SystemClock};
pub use command::Executed;
pub use contributions::ContributionReceipt;
pub use dashboard::{Dashboard, Overdue, Waiting};
pub use deep::{DeepReport, Discrepancy};
pub use disputes::OpenDispute;
pub use error::ServiceError;
pub use intake::{Idempotency, Intake, Submitted};
pub use notices::{Notice, NoticeStatus, RetryPolicy};
pub use rebuild::RebuildReport;
pub use receipts::ReceiptAssessment;
pub use relations::RelationStatus;
pub use sessions::{AuthConfig, AuthError, Enrolment, NewSession, SessionRecord};
pub use stix_import::{ImportOutcome, ImportedReport, StixImport};
pub use sweep::SweepReport;
pub use tokens::NewToken;

use tocsin_domain::{LoadedPolicy, Timestamp};
use tocsin_store::Store;
use tocsin_store::leaf::{SALT_LEN, Salt};

/// How many times a command is re-run when others keep appending first.
pub(crate) const MAX_ATTEMPTS: u32 = 16;

/// The application service: the one door to a deployment.
pub struct Service {
    store: Arc<dyn Store>,
    policy: Arc<LoadedPolicy>,
    clock: Arc<dyn Clock>,
    /// Policies whose text is known to be in the ledger.
    adopted: Mutex<HashSet<String>>,
    auth: AuthConfig,
    /// Password hashes computed at once (each takes tens of ms of a core).
    hashing: tokio::sync::Semaphore,
    throttle: sessions::Throttle,
    dummy: OnceLock<String>,
    /// Screening indexes per loaded registry version.
    indexes: screening::Indexes,
    /// When the store last proved it can write (for readiness).
    wrote: Mutex<Option<std::time::Instant>>,
    /// Sampled word pairs of every report, for circular reporting across
    /// cases (built from the ledger at the first question).
    similar: tokio::sync::Mutex<similar::SimilarIndex>,
}

/// How long a write that found the store full makes it not ready for
/// (unless a ledger append commits first).
const FULL_HOLD: std::time::Duration = std::time::Duration::from_secs(15);

/// A write found the store full (the store logged its own error).
#[derive(Debug, thiserror::Error)]
#[error("a recent write found the store full")]
struct FoundFull;

/// How long a successful write proves readiness for.
const READY_PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

pub(crate) fn new_uuid() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

/// One salt per event, from the operating system's generator (the store
/// appends an event of a record class as a version-2 leaf committing to
/// its salt and body: `tocsin_store::leaf`).
pub(crate) fn salts(events: &[tocsin_store::EventEnvelope]) -> Result<Vec<Salt>, ServiceError> {
    let mut bytes = vec![0u8; events.len() * SALT_LEN];
    getrandom::fill(&mut bytes)
        .map_err(|e| ServiceError::internal("no randomness from the OS", e.to_string()))?;
    Ok(bytes
        .chunks_exact(SALT_LEN)
        .filter_map(|c| Salt::try_from(c).ok())
        .collect())
}

/// `batch` with one salt per event ([`salts`]).
pub(crate) fn salted(
    batch: tocsin_store::NewEvents,
) -> Result<tocsin_store::NewEvents, ServiceError> {
    let salts = salts(&batch.events)?;
    Ok(batch.salted(salts))
}

impl Service {
    pub fn new(store: Arc<dyn Store>, policy: Arc<LoadedPolicy>, clock: Arc<dyn Clock>) -> Self {
        Self::with_auth(store, policy, clock, AuthConfig::default())
    }

    pub fn with_auth(
        store: Arc<dyn Store>,
        policy: Arc<LoadedPolicy>,
        clock: Arc<dyn Clock>,
        auth: AuthConfig,
    ) -> Self {
        Self {
            store,
            policy,
            clock,
            adopted: Mutex::new(HashSet::new()),
            auth,
            hashing: tokio::sync::Semaphore::new(2),
            throttle: sessions::Throttle::default(),
            dummy: OnceLock::new(),
            indexes: screening::Indexes::default(),
            wrote: Mutex::new(None),
            similar: Default::default(),
        }
    }

    pub fn auth_config(&self) -> &AuthConfig {
        &self.auth
    }

    /// The active policy.
    pub fn policy(&self) -> &LoadedPolicy {
        &self.policy
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The deployment's id (the sender of its CAP alerts, say).
    pub fn deployment_id(&self) -> &str {
        &self.store.meta().deployment_id
    }

    /// Readiness: the store answers and can write (disk full, a
    /// read-only file or a read-only database make it not ready). The
    /// write is a small document, at most once a second: a probe answered
    /// in between reuses the last success.
    pub async fn ready(&self) -> Result<(), ServiceError> {
        self.store.ledger_head().await?;
        // A write found no space, and no ledger append has committed
        // since: not ready (a small probe may still fit where an append
        // does not). After a while the probe decides again, so a store
        // that got room back without any write is found ready.
        if let Some(at) = self.store.full_since()
            && at.elapsed() < FULL_HOLD
        {
            return Err(ServiceError::Store(tocsin_store::StoreError::full(
                "a write found no space left in the store",
                FoundFull,
            )));
        }
        let recent = self
            .wrote
            .lock()
            .ok()
            .and_then(|w| *w)
            .is_some_and(|t| t.elapsed() < READY_PROBE_EVERY);
        if recent {
            return Ok(());
        }
        self.store
            .write_docs(vec![tocsin_store::DocWrite::put(
                tocsin_store::DocKind::Probe,
                "readiness",
                tocsin_store::DocExpect::Any,
                &serde_json::json!({ "at": self.now() }),
            )])
            .await?;
        if let Ok(mut w) = self.wrote.lock() {
            *w = Some(std::time::Instant::now());
        }
        Ok(())
    }
}
