//! # tocsin-store
//!
//! Storage behind one trait. [`Store`] is what the service layer needs from
//! a database: append events to a stream atomically with the ledger and the
//! query tables, read streams back, query cases, and read the ledger for
//! proofs and verification. Each database has its own crate implementing it
//! (`tocsin-store-sqlite`, `tocsin-store-postgres`); nothing in this trait
//! is specific to one database.
//!
//! Everything that does not depend on the database lives here, so every
//! backend shares it and keeps only its SQL, locking and batching:
//! * [`append`]: the ledger append, planned (versions, positions, leaves,
//!   Merkle nodes, the signed checkpoint) by a pure function;
//! * [`group`]: group commit bookkeeping (jobs, outcomes, answers);
//! * [`columns`]: how a case summary sits in the query tables' columns;
//! * [`leaf`]: the versioned, deterministic encoding of one event as a
//!   ledger leaf;
//! * [`model`]: stream ids, stored events, case summaries (the query
//!   tables), documents;
//! * [`LeafPage`]: ledger rows as read, packed into one buffer, with the
//!   content kept beside a version-2 leaf;
//! * [`audit`]: full verification of a ledger through the trait, and proofs;
//! * [`copy()`]: a whole deployment from one store into another (any two
//!   backends), byte for byte;
//! * `testkit` (cargo feature `testkit`): the contract every backend's
//!   tests run;
//! * `faults` (cargo feature `failpoints`): failpoints for tests, and
//!   the [`fault!`] macro that places one (nothing without the feature).

pub mod append;
pub mod audit;
#[cfg(test)]
mod audit_tests;
pub mod columns;
mod copy;
pub mod counts;
pub mod disposed;
mod error;
#[cfg(feature = "failpoints")]
pub mod faults;
pub mod group;
pub mod leaf;
#[cfg(test)]
mod leaf_v2_tests;
pub mod model;
mod query;
mod rows;
#[cfg(feature = "testkit")]
pub mod testkit;

use async_trait::async_trait;
use tocsin_ledger::{Hash, NodeId};

pub use copy::{CopyError, CopyProgress, CopyReport, CopyStage, copy};
pub use disposed::Disposal;
pub use error::{BoxError, StoreError};
pub use model::*;
pub use query::{VerdictFilter, contains_pattern};
pub use rows::{LeafContent, LeafPage, LeafRow};

/// A failpoint (see `faults`, cargo feature `failpoints`); without the
/// feature it is nothing.
#[cfg(not(feature = "failpoints"))]
#[macro_export]
macro_rules! fault {
    ($name:literal, $deployment:expr, $fail:expr) => {
        let _ = &$deployment;
    };
}

/// [`Store::sign_note`] for a backend that kept its key (or none): the one
/// place that turns a refusal to sign into a [`StoreError`].
pub fn sign_note_with(
    signer: Option<&tocsin_ledger::NoteSigner>,
    text: &str,
) -> Result<String, StoreError> {
    let signer = signer.ok_or(StoreError::ReadOnly)?;
    signer
        .sign_note(text)
        .map_err(|e| StoreError::backend("cannot sign the note", e))
}

/// A store of events, the ledger they form, and the query tables derived
/// from them.
///
/// Every method is atomic. `append` returns only after the events, their
/// ledger leaves and nodes, a signed checkpoint and the projection update
/// are durably committed together.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Identity of the deployment (origin of its checkpoints, verifier key).
    fn meta(&self) -> &StoreMeta;

    /// Signs `text` as a signed note (c2sp.org/signed-note) with the
    /// deployment's checkpoint key, the key `meta().verifier_key` checks
    /// (the oversight export signs its tag manifest so). A store opened
    /// without the key is [`StoreError::ReadOnly`] (the default, for
    /// stores that never sign); a text a note cannot hold (control
    /// characters, no final newline) is a `Backend` error naming why.
    fn sign_note(&self, text: &str) -> Result<String, StoreError> {
        let _ = text;
        Err(StoreError::ReadOnly)
    }

    /// Appends `batch.events` to `batch.stream` if the stream is at
    /// `batch.expected_version`; otherwise [`StoreError::Conflict`]. The
    /// batch's documents are written in the same transaction; a failed
    /// document expectation fails the append with [`StoreError::DocConflict`].
    async fn append(&self, batch: NewEvents) -> Result<Appended, StoreError>;

    /// Every event of a stream, in order; a disposed one as its
    /// placeholder ([`disposed::resolve`]).
    async fn read_stream(&self, stream: &StreamId) -> Result<Vec<StoredEvent>, StoreError>;

    /// Disposes of records, in one transaction: appends the tombstones
    /// (the records stream, through the append planner, with their
    /// documents), removes the content (salt and body) of every position
    /// they name, and writes the cases' rows again. Every position must
    /// hold a version-2 leaf with its content
    /// ([`StoreError::NotDisposable`] otherwise, and nothing is written).
    /// The freed bytes are overwritten where the database can (SQLite's
    /// `secure_delete`, PostgreSQL's `VACUUM` after the commit, best
    /// effort).
    async fn dispose(&self, disposal: Disposal) -> Result<Appended, StoreError>;

    /// Cases from the query tables.
    async fn list_cases(&self, query: &CaseQuery) -> Result<Page<CaseSummary>, StoreError>;

    /// Case ids whose text form starts with `prefix` (at most `limit`).
    async fn case_ids_with_prefix(
        &self,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<tocsin_domain::CaseId>, StoreError>;

    /// One case's row of the query tables (without its reports).
    async fn case_summary(
        &self,
        id: tocsin_domain::CaseId,
    ) -> Result<Option<CaseSummary>, StoreError>;

    /// The case numbered `number`, if there is one.
    async fn case_by_number(
        &self,
        number: tocsin_domain::CaseNumber,
    ) -> Result<Option<tocsin_domain::CaseId>, StoreError>;

    /// Ids of all case streams, in the order they were opened.
    async fn case_ids(&self) -> Result<Vec<tocsin_domain::CaseId>, StoreError>;

    /// The distinct formats of the report numbers of every case's reports
    /// ([`tocsin_domain::sanitise::report_number_format`]).
    async fn report_number_formats(&self) -> Result<Vec<String>, StoreError>;

    /// The case gauges at `now`: the counters kept with every case row,
    /// and the overdue and unwarned cases counted over their indexes.
    async fn case_gauges(
        &self,
        now: tocsin_domain::Timestamp,
    ) -> Result<counts::CaseGauges, StoreError>;

    /// The counters table as stored (what `--deep` compares with the fold).
    async fn case_counters(&self) -> Result<std::collections::BTreeMap<String, i64>, StoreError>;

    /// How many case rows were written before the query tables kept a
    /// case's measures (a rebuild fills them).
    async fn unmeasured_cases(&self) -> Result<u64, StoreError>;

    /// Size, root and latest signed checkpoint of the ledger.
    async fn ledger_head(&self) -> Result<LedgerHead, StoreError>;

    /// Up to `limit` ledger rows from position `from`, in order.
    async fn read_leaves(&self, from: u64, limit: u32) -> Result<LeafPage, StoreError>;

    /// Stored perfect-subtree hashes (level 0 = leaf hashes); `None` where absent.
    async fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, StoreError>;

    /// Up to `limit` stored nodes of `level` with index >= `from_index`, in index order.
    async fn read_level(
        &self,
        level: u8,
        from_index: u64,
        limit: u32,
    ) -> Result<Vec<(u64, Hash)>, StoreError>;

    /// Up to `limit` stored checkpoints with size >= `from_size`, in size order.
    async fn read_checkpoints(
        &self,
        from_size: u64,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, StoreError>;

    /// Replaces the query tables with these summaries, and every document
    /// of a derived kind with `docs`, in one transaction.
    async fn replace_projections(
        &self,
        cases: Vec<CaseSummary>,
        docs: Vec<Doc>,
    ) -> Result<(), StoreError>;

    /// A digest of the query tables' and derived documents' content, the
    /// same on every backend.
    async fn projection_digest(&self) -> Result<ProjectionDigest, StoreError>;

    /// One document.
    async fn get_doc(&self, kind: DocKind, key: &str) -> Result<Option<Doc>, StoreError>;

    /// Up to `limit` documents of a kind with keys after `after`, in key order.
    async fn list_docs(
        &self,
        kind: DocKind,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<Doc>, StoreError>;

    /// Writes documents atomically: every expectation holds and all are
    /// written, or [`StoreError::DocConflict`] and none is. Returns the new
    /// version of each (0 for a delete).
    async fn write_docs(&self, writes: Vec<DocWrite>) -> Result<Vec<u64>, StoreError>;

    /// Physical integrity check of the database files (SQLite `quick_check` and the like).
    async fn integrity_check(&self) -> Result<Vec<String>, StoreError>;

    /// Writes rows exported from another store of the same deployment
    /// exactly as given, in one transaction: nothing is signed, encoded,
    /// checked against the events or derived. Ledger rows must continue
    /// this store's ledger densely (otherwise [`StoreError::Conflict`]
    /// on the stream `ledger`); documents must not exist yet
    /// ([`StoreError::DocConflict`]). For [`copy()`] into an empty store;
    /// needs a store opened with the signing key ([`StoreError::ReadOnly`]).
    async fn import_raw(&self, rows: RawRows) -> Result<(), StoreError>;

    /// When a write last found the store full ([`StoreError::Full`]), if
    /// no ledger append has committed since (readiness reports it).
    fn full_since(&self) -> Option<std::time::Instant> {
        None
    }
}
