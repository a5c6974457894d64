//! The ledger append, planned in one place.
//!
//! Appending a batch decides everything the ledger will hold: whether the
//! stream is at the version its caller read, the sequence number and
//! ledger position of each event, the leaf bytes and their hashes, the
//! Merkle nodes the new leaves complete, and, once a whole group of
//! appends is planned, the signed checkpoint of the new size. [`Planner`]
//! decides all of it from what a backend read under its write lock (the
//! ledger's [`Frontier`], and the current version of each stream its group
//! appends to) and returns exactly the rows to write, or the conflict.
//!
//! An event of a record class on a case or the access stream, handed in
//! with a salt ([`NewEvents::salts`]), becomes a version-2 leaf: the plan
//! carries its salt and body ([`NewLeaf::content`]) for the backend to
//! keep beside the leaf, in the same row.
//!
//! It does no IO and reads no clock, so the same events give the same
//! bytes on every backend; a backend only writes what it is given, with
//! its own SQL, locking and batching.
//!
//! It also numbers each case it opens ([`CaseNumber`]: the year of the
//! case's opening and its rank that year in ledger order), from the last
//! number of each year the writer read under the same lock, so numbers are
//! dense, unique and what a rebuild from the ledger gives.
//!
//! A writer runs a group of jobs in one transaction, each job under a
//! savepoint: a [`Mark`] taken before a job, given back to
//! [`Planner::restore`] when the job's savepoint is rolled back, makes the
//! planner forget what it planned for that job.

use std::collections::HashMap;

use tocsin_domain::{CaseId, CaseNumber};
use tocsin_ledger::{Checkpoint, Frontier, Hash, NodeId, NoteSigner, leaf_hash};

use crate::leaf::{Salt, committed_event, encode_body, encode_event, encode_v2};
use crate::{Appended, LeafPage, NewEvents, StoreError, StreamId};

/// Plans the appends of one group, in order, from the state of the ledger
/// the writer read under its lock.
#[derive(Clone, Debug)]
pub struct Planner {
    frontier: Frontier,
    versions: HashMap<StreamId, u64>,
    /// The last case number given in each year.
    numbers: HashMap<u16, u32>,
    /// What every plan still standing changed, oldest first: what
    /// [`Planner::restore`] undoes.
    undo: Vec<Undo>,
}

/// What one plan changed: the stream's version before, and the last case
/// number of a year before, when it numbered a case.
#[derive(Clone, Debug)]
struct Undo {
    stream: StreamId,
    version: u64,
    number: Option<(u16, u32)>,
}

/// Where a planner was before a job (see [`Planner::mark`]).
#[derive(Clone, Debug)]
pub struct Mark {
    frontier: Frontier,
    undo: usize,
}

/// One ledger row to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLeaf {
    pub position: u64,
    /// The event's sequence number within its stream (1-based).
    pub seq: u64,
    /// The leaf ([`crate::leaf`] format).
    pub leaf: Vec<u8>,
    /// The leaf's Merkle hash (level 0 of the tree).
    pub hash: Hash,
    /// What is kept beside a version-2 leaf (its salt and the event's
    /// JSON); `None` for a version-1 leaf.
    pub content: Option<NewContent>,
}

impl NewLeaf {
    /// The row to write, in `stream` (its text form).
    pub fn row<'a>(&'a self, stream: &'a str) -> crate::LeafRow<'a> {
        crate::LeafRow {
            position: self.position,
            stream,
            seq: self.seq,
            leaf: &self.leaf,
            leaf_hash: self.hash.as_bytes().as_slice(),
            content: self.content.as_ref().map(|c| crate::LeafContent {
                salt: &c.salt.0,
                body: &c.body,
            }),
        }
    }
}

/// The salt and body kept beside a version-2 leaf, in the same row.
#[derive(Clone, PartialEq, Eq)]
pub struct NewContent {
    pub salt: Salt,
    /// The envelope's JSON, as a version-1 leaf would hold it.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for NewContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewContent")
            .field("salt", &self.salt)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

/// What one append writes to the ledger, and what its caller is answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendPlan {
    pub stream: StreamId,
    /// The stream id as the ledger's `stream` column holds it.
    pub stream_text: String,
    /// One row per event, at dense positions.
    pub leaves: Vec<NewLeaf>,
    /// The Merkle nodes of level >= 1 these leaves complete, in order.
    pub nodes: Vec<(NodeId, Hash)>,
    /// The number of the case this append opens (write it with the summary).
    pub number: Option<CaseNumber>,
    /// The answer; its `tree_size` and `root` are the group's, filled in
    /// when the group commits (see [`crate::group::Group::answer`]).
    pub appended: Appended,
}

impl AppendPlan {
    /// The case this append opens (its first event is the case stream's
    /// first), with that event's position.
    pub fn opens_case(&self) -> Option<(CaseId, u64)> {
        match (self.stream.case(), self.leaves.first()) {
            (Some(id), Some(first)) if first.seq == 1 => Some((id, first.position)),
            _ => None,
        }
    }
}

/// The checkpoint of a group's tree, signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub size: u64,
    pub root: Hash,
    /// The signed note (C2SP checkpoint) to store for `size`.
    pub note: String,
}

/// A stream the writer did not read the version of before planning an
/// append to it: a bug in the writer, never a conflict.
#[derive(Debug, thiserror::Error)]
#[error("the writer did not read {0} before planning an append")]
pub struct UnreadVersion(String);

/// A batch whose salts are not one per event: a bug in the caller.
#[derive(Debug, thiserror::Error)]
#[error("the batch has {0} salts for {1} events")]
pub struct SaltCount(usize, usize);

impl Planner {
    /// A planner for a ledger whose right edge is `frontier`, whose
    /// streams are at `versions` (every stream the group appends to; a
    /// stream with no events is at 0), and whose last case numbers are
    /// `numbers` (for every year the group opens cases in; 0 for none yet).
    pub fn new(
        frontier: Frontier,
        versions: impl IntoIterator<Item = (StreamId, u64)>,
        numbers: impl IntoIterator<Item = (u16, u32)>,
    ) -> Self {
        Self {
            frontier,
            versions: versions.into_iter().collect(),
            numbers: numbers.into_iter().collect(),
            undo: Vec::new(),
        }
    }

    /// The ledger size after everything planned.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The right edge of the tree after everything planned (what a writer
    /// keeps for its next group once this one committed).
    pub fn into_frontier(self) -> Frontier {
        self.frontier
    }

    /// Plans `batch` after everything planned so far: the version check,
    /// then a leaf per event with its place, and the nodes they complete.
    /// A conflict (or an empty batch) changes nothing.
    pub fn plan(&mut self, batch: &NewEvents) -> Result<AppendPlan, StoreError> {
        if batch.events.is_empty() {
            return Err(StoreError::NothingToAppend);
        }
        let stream_text = batch.stream.to_string();
        let unread =
            |what: String| StoreError::backend("cannot plan the append", UnreadVersion(what));
        let Some(&current) = self.versions.get(&batch.stream) else {
            return Err(unread(format!("the version of stream {stream_text}")));
        };
        let expected = batch.expected_version.unwrap_or(current);
        if current != expected {
            return Err(StoreError::Conflict {
                stream: stream_text,
                expected,
                actual: current,
            });
        }
        let number = match batch.opens_case_in() {
            Some(year) => {
                let Some(&last) = self.numbers.get(&year) else {
                    return Err(unread(format!("the last case number of {year}")));
                };
                let n = last
                    .checked_add(1)
                    .and_then(|seq| CaseNumber::new(year, seq).ok());
                Some((
                    year,
                    last,
                    n.ok_or_else(|| {
                        StoreError::Corrupt(format!("no case number after {year}-{last}"))
                    })?,
                ))
            }
            None => None,
        };
        crate::disposed::refuse_placeholders(batch)?;
        if !batch.salts.is_empty() && batch.salts.len() != batch.events.len() {
            return Err(StoreError::backend(
                "cannot plan the append",
                SaltCount(batch.salts.len(), batch.events.len()),
            ));
        }
        let first_position = self.frontier.size();
        let count = batch.events.len();
        let mut leaves = Vec::with_capacity(count);
        let mut nodes = Vec::with_capacity(count);
        for ((i, env), seq) in batch.events.iter().enumerate().zip(expected + 1..) {
            let position = self.frontier.size();
            let (leaf, content) = match batch.salts.get(i) {
                Some(salt) if committed_event(&batch.stream, env) => {
                    let body = encode_body(env);
                    let leaf = encode_v2(position, &batch.stream, seq, salt, &body);
                    (leaf, Some(NewContent { salt: *salt, body }))
                }
                _ => (encode_event(position, &stream_text, seq, env), None),
            };
            let hash = leaf_hash(&leaf);
            self.frontier.push(hash, &mut nodes);
            leaves.push(NewLeaf {
                position,
                seq,
                leaf,
                hash,
                content,
            });
        }
        let version = expected + count as u64;
        self.undo.push(Undo {
            stream: batch.stream,
            version: current,
            number: number.map(|(year, last, _)| (year, last)),
        });
        self.versions.insert(batch.stream, version);
        if let Some((year, _, n)) = number {
            self.numbers.insert(year, n.seq());
        }
        let number = number.map(|(_, _, n)| n);
        Ok(AppendPlan {
            stream: batch.stream,
            stream_text,
            leaves,
            nodes,
            number,
            appended: Appended {
                first_position,
                count: count as u64,
                version,
                tree_size: 0,
                root: Hash::default(),
                case_number: number,
            },
        })
    }

    /// Where the planner is now, to [`Planner::restore`] if the next job
    /// is undone.
    pub fn mark(&self) -> Mark {
        Mark {
            frontier: self.frontier.clone(),
            undo: self.undo.len(),
        }
    }

    /// Forgets every plan made since `mark`.
    pub fn restore(&mut self, mark: Mark) {
        while self.undo.len() > mark.undo {
            if let Some(u) = self.undo.pop() {
                self.versions.insert(u.stream, u.version);
                if let Some((year, last)) = u.number {
                    self.numbers.insert(year, last);
                }
            }
        }
        self.frontier = mark.frontier;
    }

    /// Whether a plan still stands (so [`Planner::seal`] signs a checkpoint).
    pub fn has_appends(&self) -> bool {
        !self.undo.is_empty()
    }

    /// The checkpoint of the tree after every plan still standing, signed
    /// for `origin`; `None` when nothing is appended (a group of document
    /// writes signs nothing).
    pub fn seal(&self, origin: &str, signer: &NoteSigner) -> Result<Option<Sealed>, StoreError> {
        if self.undo.is_empty() {
            return Ok(None);
        }
        let cp = Checkpoint {
            origin: origin.to_owned(),
            size: self.frontier.size(),
            root: self.frontier.root(),
        };
        let note = signer
            .try_sign_checkpoint(&cp)
            .map_err(|e| StoreError::backend("cannot sign the checkpoint", e))?;
        Ok(Some(Sealed {
            size: cp.size,
            root: cp.root,
            note,
        }))
    }
}

/// The frontier of a ledger of `size` leaves, from the stored hashes
/// `found` of [`Frontier::node_ids`]`(size)` (in that order). A missing
/// node is damage.
pub fn frontier_from_nodes(
    size: u64,
    ids: &[NodeId],
    found: Vec<Option<Hash>>,
) -> Result<Frontier, StoreError> {
    let mut hashes = Vec::with_capacity(ids.len());
    for (id, h) in ids.iter().zip(found) {
        hashes.push(h.ok_or_else(|| {
            StoreError::Corrupt(format!(
                "Merkle node (level {}, index {}) is missing",
                id.level, id.index
            ))
        })?);
    }
    Frontier::from_nodes(size, &hashes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Checks that imported ledger rows continue a ledger of `size` leaves
/// densely, as [`crate::Store::import_raw`] requires; otherwise a
/// [`StoreError::Conflict`] on the stream `ledger`.
pub fn check_continues(size: u64, leaves: &LeafPage) -> Result<(), StoreError> {
    for (row, at) in leaves.iter().zip(size..) {
        if row.position != at {
            return Err(StoreError::Conflict {
                stream: "ledger".into(),
                expected: row.position,
                actual: at,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "append_tests.rs"]
mod tests;
