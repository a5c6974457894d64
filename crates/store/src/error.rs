//! [`StoreError`]: what can go wrong in a store, the same for every backend.
//!
//! A failure of the database itself is [`StoreError::Backend`]: a sentence
//! saying what the store was doing, and the database's own error as its
//! `source`, so whoever logs it can print the whole cause chain. Its
//! `Display` is the sentence alone (the chain printer adds the source).
//! Damaged data is [`StoreError::Corrupt`], a message about the data.

use std::borrow::Cow;
use std::error::Error;

use crate::model::DocKind;

/// The underlying error of a [`StoreError::Backend`].
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// Errors from a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another command appended to the stream first; reload and retry.
    #[error(
        "stream {stream} is at version {actual}, not {expected}: someone else changed it first"
    )]
    Conflict {
        stream: String,
        expected: u64,
        actual: u64,
    },
    #[error("no database at {0}: run `tocsin init` first")]
    Missing(String),
    #[error("{0}")]
    NotTocsin(String),
    #[error(
        "the database schema is version {found}, newer than this tocsin understands ({supported}); upgrade tocsin"
    )]
    TooNew { found: i64, supported: i64 },
    #[error("this store was opened without the signing key, so it cannot append")]
    ReadOnly,
    #[error(
        "the signing key does not belong to this database (database key {expected}, given key {given})"
    )]
    WrongKey { expected: String, given: String },
    /// A document write found something other than it expected.
    #[error("{kind} '{key}' was changed by someone else (or already exists); reload and retry")]
    DocConflict { kind: DocKind, key: String },
    /// An append with no events.
    #[error("nothing to append: the batch has no events")]
    NothingToAppend,
    /// A case-list cursor that no page of this store handed out.
    #[error("invalid cursor '{0}'")]
    BadCursor(String),
    /// Stored data is damaged; the message says what and where.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// The database (or the machinery around it) failed while the store
    /// was doing what `context` says; `source` is the failure itself.
    #[error("{context}")]
    Backend {
        context: Cow<'static, str>,
        #[source]
        source: BoxError,
    },
    /// The database has no room left (its disk is full, or it reached a
    /// size limit): nothing of the write was kept, and the same write can
    /// succeed once space is freed. `source` is the database's error.
    #[error("the store has no space left: {context}")]
    Full {
        context: Cow<'static, str>,
        #[source]
        source: BoxError,
    },
    #[error("the store is shut down")]
    Closed,
    /// The event at `position` has no content beside its version-2 leaf
    /// and no `record_disposed` tombstone names it: its content was
    /// destroyed outside tocsin (a disposal always appends its tombstone
    /// in the transaction that removes the content).
    #[error(
        "the content of the event at ledger position {position} is gone and no tombstone names it"
    )]
    Disposed { position: u64 },
    /// A disposal named a position whose content cannot be disposed of
    /// (not a version-2 leaf, already disposed of, not in the ledger, or
    /// named twice): nothing of the disposal was written.
    #[error("ledger position {position} cannot be disposed of: {reason}")]
    NotDisposable { position: u64, reason: &'static str },
    /// An append carried a placeholder of a disposed event
    /// (`disposed_record`), which is only ever read, never recorded.
    #[error("a disposed_record placeholder is never appended (event {index} of the batch)")]
    Placeholder { index: usize },
}

impl StoreError {
    /// A [`StoreError::Backend`]: `source` failed while doing `context`.
    ///
    /// `source` must be an error (not a message): what it says is printed
    /// by whoever walks the cause chain, after `context`.
    pub fn backend(
        context: impl Into<Cow<'static, str>>,
        source: impl Error + Send + Sync + 'static,
    ) -> StoreError {
        StoreError::Backend {
            context: context.into(),
            source: Box::new(source),
        }
    }

    /// A [`StoreError::Full`]: `source` reported no space while doing
    /// `context`.
    pub fn full(
        context: impl Into<Cow<'static, str>>,
        source: impl Error + Send + Sync + 'static,
    ) -> StoreError {
        StoreError::Full {
            context: context.into(),
            source: Box::new(source),
        }
    }

    /// Whether the store refused for want of space.
    pub fn is_full(&self) -> bool {
        matches!(self, StoreError::Full { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_error_keeps_its_source_and_does_not_repeat_it() {
        let io = std::io::Error::other("disk on fire");
        let e = StoreError::backend("cannot write the ledger", io);
        assert_eq!(e.to_string(), "cannot write the ledger");
        let source = e.source().expect("the source is kept");
        assert_eq!(source.to_string(), "disk on fire");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
    }
}
