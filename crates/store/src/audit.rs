//! Verifying a ledger through the [`Store`] trait, and building proofs.
//!
//! [`verify`] reads every leaf once, in order, and checks, position by
//! position:
//!
//! 1. the positions are dense (no gap: nothing deleted);
//! 2. the leaf's own header names this position, its stream and sequence
//!    (nothing moved or swapped), and sequences within each stream follow on;
//! 3. the stored leaf hash is the hash of the leaf (no edit, no changed
//!    hash); for a version-2 leaf, the salt and body kept beside it match
//!    its commitment, or, disposed (nothing kept), the leaf is verified by
//!    its commitment alone: the commitment is inside the hashed leaf, so
//!    steps 4 and 5 hold it to what was signed; a version-1 leaf has
//!    nothing beside it;
//! 4. every stored Merkle node equals the one recomputed from the leaves;
//! 5. at every stored checkpoint, the recomputed root equals the root it
//!    states (edits that also rewrote the stored hashes are caught here,
//!    localised to the positions since the previous checkpoint);
//! 6. the latest checkpoint covers the whole log and carries a valid
//!    signature of the deployment key (an event appended without the
//!    key is caught here); with `since`, the log extends a checkpoint the
//!    auditor kept, proved by recomputation and by a consistency proof.
//!
//! The first failure is reported with its position and what is wrong.
//! Memory use is a few pages of rows and one hash per tree level.

use std::collections::HashMap;

use tocsin_ledger::{
    Checkpoint, Frontier, Hash, NodeId, NoteVerifier, consistency_proof,
    consistency_proof_node_ids, inclusion_proof, inclusion_proof_node_ids, leaf_hash,
    open_checkpoint, root_at, root_at_node_ids, verify_consistency,
};

use crate::leaf::{Sealed, peek, verify_present};
use crate::{LeafRow, Store, StoreError};

const PAGE: u32 = 4096;

/// How to verify.
pub struct VerifyOptions<'a> {
    /// The key checkpoints must be signed with.
    pub verifier: NoteVerifier,
    /// A checkpoint the auditor kept (already opened with `verifier`): the
    /// current log must extend it.
    pub since: Option<Checkpoint>,
    /// Also parse every event body.
    pub deep: bool,
    /// Called with (positions done, total) every page.
    pub progress: Option<&'a (dyn Fn(u64, u64) + Send + Sync)>,
    /// Accept every version-2 leaf whose content is gone, verified by its
    /// commitment alone, whether a tombstone names it or not (a test of
    /// the commitment alone). No face sets it: without it, a leaf without
    /// its content is accepted exactly when a `record_disposed` tombstone
    /// on the records stream names its position (the tombstone's own leaf
    /// is verified in its turn), and is otherwise content destroyed
    /// outside tocsin, where verification fails.
    pub accept_disposed: bool,
}

/// A log that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub size: u64,
    pub root: Hash,
    pub streams: u64,
    pub checkpoints: u64,
    pub nodes: u64,
    /// Size of the latest (signature-checked) checkpoint.
    pub signed_size: u64,
    /// With `since`: the size it had and the length of the consistency proof.
    pub since: Option<(u64, usize)>,
    /// Version-2 leaves whose content was disposed of (verified by their
    /// commitment alone).
    pub disposed: u64,
}

/// The first thing found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The first bad position.
    pub position: u64,
    /// When the problem is a range: its last position.
    pub last: Option<u64>,
    pub problem: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.last {
            Some(l) if l != self.position => {
                write!(f, "positions {}..={}: {}", self.position, l, self.problem)
            }
            _ => write!(f, "position {}: {}", self.position, self.problem),
        }
    }
}

fn fail<T>(
    position: u64,
    last: Option<u64>,
    problem: impl Into<String>,
) -> Result<Result<T, Failure>, StoreError> {
    Ok(Err(Failure {
        position,
        last,
        problem: problem.into(),
    }))
}

/// The text before the blank line of a signed note.
fn note_body(note: &str) -> &str {
    match note.find("\n\n") {
        Some(i) => &note[..i + 1],
        None => note,
    }
}

/// Pages through one level of stored nodes.
struct LevelReader {
    level: u8,
    next_index: u64,
    buf: std::collections::VecDeque<(u64, Hash)>,
    exhausted: bool,
}

impl LevelReader {
    fn new(level: u8) -> Self {
        Self {
            level,
            next_index: 0,
            buf: Default::default(),
            exhausted: false,
        }
    }
    async fn next(&mut self, store: &dyn Store) -> Result<Option<(u64, Hash)>, StoreError> {
        if self.buf.is_empty() && !self.exhausted {
            let rows = store.read_level(self.level, self.next_index, PAGE).await?;
            if rows.len() < PAGE as usize {
                self.exhausted = true;
            }
            if let Some((i, _)) = rows.last() {
                self.next_index = i + 1;
            }
            self.buf.extend(rows);
        }
        Ok(self.buf.pop_front())
    }
}

/// The positions the `record_disposed` tombstones of the records stream
/// name.
pub async fn tombstoned_positions(
    store: &dyn Store,
) -> Result<std::collections::BTreeSet<u64>, StoreError> {
    Ok(store
        .read_stream(&crate::StreamId::Records)
        .await?
        .iter()
        .filter_map(|e| match &e.envelope.event {
            tocsin_domain::event::Event::RecordDisposed { position, .. } => Some(*position),
            _ => None,
        })
        .collect())
}

/// Whether the leaf at `position` was disposed of: the position of the
/// `record_disposed` tombstone that names it, when its content is gone.
pub async fn disposed_by(store: &dyn Store, position: u64) -> Result<Option<u64>, StoreError> {
    let page = store.read_leaves(position, 1).await?;
    match page.get(0) {
        Some(row)
            if row.position == position
                && row.content.is_none()
                && row.leaf.first() == Some(&2) => {}
        _ => return Ok(None),
    }
    Ok(store
        .read_stream(&crate::StreamId::Records)
        .await?
        .iter()
        .find(|e| {
            matches!(&e.envelope.event,
                tocsin_domain::event::Event::RecordDisposed { position: p, .. } if *p == position)
        })
        .map(|e| e.position))
}

/// Verifies the whole ledger. `Ok(Err(failure))` is a ledger that does not
/// verify; `Err` is a store that could not be read.
pub async fn verify(
    store_arc: std::sync::Arc<dyn Store>,
    opts: &VerifyOptions<'_>,
) -> Result<Result<VerifyReport, Failure>, StoreError> {
    let store: &dyn Store = &*store_arc;
    let head = store.ledger_head().await?;
    let total = head.size;
    let origin = store.meta().origin.clone();

    // Checkpoints, in size order, paged.
    let mut cps: std::collections::VecDeque<crate::StoredCheckpoint> = Default::default();
    let mut cp_next_size = 1u64;
    let mut cp_exhausted = false;
    let mut cp_sizes: Vec<(u64, usize)> = Vec::new(); // (size, index into a re-read later)
    let mut last_cp: Option<crate::StoredCheckpoint> = None;
    let mut checkpoints = 0u64;

    let mut levels: Vec<LevelReader> = (1..64).map(LevelReader::new).collect();
    let mut frontier = Frontier::new();
    let mut produced: Vec<(NodeId, Hash)> = Vec::with_capacity(64);
    let mut seqs: HashMap<Box<str>, u64> = HashMap::new();
    let mut nodes = 0u64;
    let mut disposed = 0u64;
    let mut since_root: Option<Hash> = None;
    let mut pos = 0u64;

    // Read pages ahead on another task and hash their leaves on a blocking
    // thread, so reading the database, hashing the leaves and checking the
    // tree run on both cores at once.
    type Hashed = (crate::LeafPage, Vec<tocsin_ledger::Hash>);
    let (tx, mut pages) = tokio::sync::mpsc::channel::<Result<Hashed, StoreError>>(2);
    let reader_store = store_arc.clone();
    let reader = tokio::spawn(async move {
        let mut next = 0u64;
        loop {
            let page = match reader_store.read_leaves(next, PAGE).await {
                Ok(p) => p,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    break;
                }
            };
            let done = match page.last_position() {
                Some(last) => {
                    next = last + 1;
                    page.len() < PAGE as usize
                }
                None => true,
            };
            let hashed = tokio::task::spawn_blocking(move || {
                let hashes: Vec<tocsin_ledger::Hash> =
                    page.iter().map(|r| leaf_hash(r.leaf)).collect();
                (page, hashes)
            })
            .await
            .map_err(|e| StoreError::backend("the task hashing the leaves failed", e));
            if tx.send(hashed).await.is_err() || done {
                break;
            }
        }
    });
    let _abort_reader = AbortOnDrop(reader);
    // The positions the tombstones name, read at the first disposed leaf.
    let mut tombstoned: Option<std::collections::BTreeSet<u64>> = None;

    while let Some(page) = pages.recv().await {
        let (rows, hashes) = page?;
        if rows.is_empty() {
            break;
        }
        for (row, lh) in rows.iter().zip(hashes) {
            if row.position != pos {
                return fail(
                    pos,
                    None,
                    format!(
                        "missing: the next stored event is at position {} (events were deleted)",
                        row.position
                    ),
                );
            }
            let (hdr, _) = match peek(row.leaf) {
                Ok(x) => x,
                Err(e) => return fail(pos, None, format!("the leaf cannot be read: {e}")),
            };
            if hdr.position != pos {
                return fail(
                    pos,
                    None,
                    format!(
                        "the leaf stored here says it is position {} (events were moved or swapped)",
                        hdr.position
                    ),
                );
            }
            if hdr.stream != row.stream || hdr.seq != row.seq {
                return fail(
                    pos,
                    None,
                    format!(
                        "the index columns say {} #{} but the leaf says {} #{}",
                        row.stream, row.seq, hdr.stream, hdr.seq
                    ),
                );
            }
            let prev = match seqs.get_mut(hdr.stream) {
                Some(s) => s,
                None => seqs.entry(hdr.stream.into()).or_insert(0),
            };
            if hdr.seq != *prev + 1 {
                return fail(
                    pos,
                    None,
                    format!(
                        "in stream {} event #{} follows #{} (events were reordered or removed)",
                        hdr.stream, hdr.seq, prev
                    ),
                );
            }
            *prev = hdr.seq;
            match check_row(&row, &lh, opts.deep) {
                Ok(Content::Disposed) if opts.accept_disposed => disposed += 1,
                Ok(Content::Disposed) => {
                    if tombstoned.is_none() {
                        tombstoned = Some(tombstoned_positions(store).await?);
                    }
                    if tombstoned.as_ref().is_some_and(|t| t.contains(&pos)) {
                        disposed += 1;
                    } else {
                        return fail(
                            pos,
                            None,
                            "the content kept beside this version-2 leaf is gone, and no disposal \
                             accounts for it (no record_disposed tombstone names it): it was \
                             destroyed outside tocsin"
                                .to_owned(),
                        );
                    }
                }
                Ok(Content::InLeaf | Content::Beside) => {}
                Err(problem) => return fail(pos, None, problem),
            }
            produced.clear();
            frontier.push(lh, &mut produced);
            for (id, h) in &produced {
                nodes += 1;
                let reader = &mut levels[id.level as usize - 1];
                match reader.next(store).await? {
                    Some((i, stored)) if i == id.index && stored == *h => {}
                    Some((i, _)) if i == id.index => {
                        return fail(
                            id.start(),
                            Some(id.end() - 1),
                            format!(
                                "the stored Merkle node (level {}, index {}) does not match the events it covers",
                                id.level, id.index
                            ),
                        );
                    }
                    _ => {
                        return fail(
                            id.start(),
                            Some(id.end() - 1),
                            format!(
                                "the Merkle node (level {}, index {}) is missing from the store",
                                id.level, id.index
                            ),
                        );
                    }
                }
            }
            pos += 1;
            if let Some(s) = &opts.since
                && s.size == pos
            {
                since_root = Some(frontier.root());
            }
            // Checkpoints at this size.
            loop {
                if cps.is_empty() && !cp_exhausted {
                    let page = store.read_checkpoints(cp_next_size, PAGE).await?;
                    if page.len() < PAGE as usize {
                        cp_exhausted = true;
                    }
                    if let Some(c) = page.last() {
                        cp_next_size = c.size + 1;
                    }
                    cps.extend(page);
                }
                let Some(cp) = cps.front() else { break };
                if cp.size > pos {
                    break;
                }
                let cp = cps.pop_front().unwrap_or_else(|| unreachable!());
                if cp.size < pos {
                    // Sizes are visited in order; a smaller one was skipped only if unreadable.
                    return fail(
                        cp.size.saturating_sub(1),
                        None,
                        "a checkpoint is out of order",
                    );
                }
                let from = last_cp.as_ref().map(|c| c.size).unwrap_or(0);
                let body = match Checkpoint::parse_body(note_body(&cp.note)) {
                    Ok(b) => b,
                    Err(e) => {
                        return fail(
                            from,
                            Some(pos - 1),
                            format!("the checkpoint at size {} cannot be read: {e}", cp.size),
                        );
                    }
                };
                if body.size != cp.size || body.origin != origin {
                    return fail(
                        from,
                        Some(pos - 1),
                        format!(
                            "the checkpoint stored at size {} is for size {} of '{}'",
                            cp.size, body.size, body.origin
                        ),
                    );
                }
                if body.root != frontier.root() {
                    return fail(
                        from,
                        Some(pos - 1),
                        format!(
                            "the events do not match the signed checkpoint at size {} (its root {} ≠ recomputed {}): an event in this range was changed together with its stored hashes",
                            cp.size,
                            body.root,
                            frontier.root()
                        ),
                    );
                }
                checkpoints += 1;
                cp_sizes.push((cp.size, 0));
                last_cp = Some(cp);
            }
        }
        if let Some(p) = opts.progress {
            p(pos, total.max(pos));
        }
    }
    let size = pos;

    // Checkpoints beyond the end: events were removed from the end.
    if !cps.is_empty() || !cp_exhausted {
        let rest = if cps.is_empty() {
            store.read_checkpoints(cp_next_size, 1).await?
        } else {
            cps.into_iter().collect()
        };
        if let Some(c) = rest.first() {
            return fail(
                size,
                Some(c.size - 1),
                format!(
                    "a checkpoint covers {} events but the log ends after {size}: events were deleted from the end",
                    c.size
                ),
            );
        }
    }
    // Stored nodes beyond what the leaves produce.
    for r in &mut levels {
        if let Some((i, _)) = r.next(store).await? {
            let id = NodeId {
                level: r.level,
                index: i,
            };
            return fail(
                id.start(),
                Some(id.end() - 1),
                format!(
                    "a Merkle node (level {}, index {i}) is stored for events that do not exist",
                    r.level
                ),
            );
        }
    }
    if size == 0 {
        return Ok(Ok(VerifyReport {
            size: 0,
            root: tocsin_ledger::empty_root(),
            streams: 0,
            checkpoints,
            nodes,
            signed_size: 0,
            since: None,
            disposed,
        }));
    }
    let Some(latest) = last_cp else {
        return fail(
            0,
            Some(size - 1),
            "no signed checkpoint covers these events: they were written without the signing key",
        );
    };
    if latest.size < size {
        return fail(
            latest.size,
            Some(size - 1),
            "these events are not covered by any signed checkpoint: they were appended without the signing key",
        );
    }
    if let Err(e) = open_checkpoint(&latest.note, &opts.verifier) {
        // Find the last checkpoint whose signature holds, to say where trust ends.
        let mut good: u64 = 0;
        for (s, _) in cp_sizes.iter().rev().skip(1) {
            let c = store.read_checkpoints(*s, 1).await?;
            if let Some(c) = c.first()
                && open_checkpoint(&c.note, &opts.verifier).is_ok()
            {
                good = c.size;
                break;
            }
        }
        return fail(
            good,
            Some(size - 1),
            format!(
                "the latest checkpoint is not validly signed by {} ({e}); the last valid signature covers {good} events",
                opts.verifier
            ),
        );
    }
    let root = frontier.root();
    let mut since = None;
    if let Some(s) = &opts.since {
        if s.origin != origin {
            return fail(
                0,
                None,
                format!(
                    "the checkpoint you hold is for '{}', not this log ('{origin}')",
                    s.origin
                ),
            );
        }
        if s.size > size {
            return fail(
                size,
                Some(s.size - 1),
                format!(
                    "the log has {size} events but your checkpoint has {}: it was truncated",
                    s.size
                ),
            );
        }
        if s.size > 0 {
            if since_root != Some(s.root) {
                return fail(
                    0,
                    Some(s.size - 1),
                    "the log does not extend your checkpoint: the first events differ from what was signed",
                );
            }
            if s.size < size {
                let proof = consistency(store, s.size, size).await?;
                let proof = match proof {
                    Ok(p) => p,
                    Err(e) => {
                        return fail(
                            0,
                            Some(size - 1),
                            format!("cannot build a consistency proof: {e}"),
                        );
                    }
                };
                if let Err(e) = verify_consistency(s.size, size, &s.root, &root, &proof) {
                    return fail(
                        0,
                        Some(size - 1),
                        format!("the consistency proof does not verify: {e}"),
                    );
                }
                since = Some((s.size, proof.len()));
            } else {
                since = Some((s.size, 0));
            }
        }
    }
    Ok(Ok(VerifyReport {
        size,
        root,
        streams: seqs.len() as u64,
        checkpoints,
        nodes,
        signed_size: latest.size,
        since,
        disposed,
    }))
}

/// Where a verified leaf's event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content {
    /// In the leaf (version 1).
    InLeaf,
    /// Beside the leaf, and it matches the leaf's commitment (version 2).
    Beside,
    /// Nowhere: disposed of. The leaf is verified by its commitment alone
    /// (version 2).
    Disposed,
}

/// The checks of one row that need nothing but the row: the stored leaf
/// hash is the hash of the leaf (`hash`, computed from it); a version-1
/// leaf has nothing beside it; a version-2 leaf's salt and body, when
/// kept, match its commitment; with `deep`, the event's JSON (wherever it
/// is) is a valid event. What it says is the problem, for a [`Failure`].
/// The leaf's header (its place) and the tree are checked by [`verify`].
pub fn check_row(row: &LeafRow<'_>, hash: &Hash, deep: bool) -> Result<Content, String> {
    if row.leaf_hash != hash.as_bytes() {
        return Err("the stored leaf hash is not the hash of the stored leaf (the event or its hash was changed)".into());
    }
    let sealed = peek(row.leaf).map_err(|e| format!("the leaf cannot be read: {e}"))?;
    let (content, body) = match (sealed.1, row.content) {
        (Sealed::Body(body), None) => (Content::InLeaf, Some(body)),
        (Sealed::Body(_), Some(_)) => {
            return Err(
                "content is kept beside a version-1 leaf, which holds its own event".into(),
            );
        }
        (Sealed::Commitment(_), Some(c)) => {
            verify_present(row.leaf, c.salt, c.body).map_err(|e| e.to_string())?;
            (Content::Beside, Some(c.body))
        }
        (Sealed::Commitment(_), None) => (Content::Disposed, None),
    };
    if deep
        && let Some(body) = body
        && let Err(e) = serde_json::from_slice::<crate::EventEnvelope>(body)
    {
        return Err(format!("the event body is not a valid event: {e}"));
    }
    Ok(content)
}

/// Aborts a spawned task when dropped (an early return stops the reader).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// An inclusion proof for one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    pub position: u64,
    pub size: u64,
    pub leaf_hash: Hash,
    pub root: Hash,
    pub proof: Vec<Hash>,
}

async fn lookup_all(
    store: &dyn Store,
    ids: &[NodeId],
) -> Result<HashMap<NodeId, Hash>, StoreError> {
    let found = store.read_nodes(ids).await?;
    Ok(ids
        .iter()
        .zip(found)
        .filter_map(|(id, h)| h.map(|h| (*id, h)))
        .collect())
}

/// The root of the ledger at `size`, from stored nodes.
pub async fn root_at_size(
    store: &dyn Store,
    size: u64,
) -> Result<Result<Hash, tocsin_ledger::ProofError>, StoreError> {
    let ids = root_at_node_ids(size);
    let map = lookup_all(store, &ids).await?;
    Ok(root_at(size, |id| map.get(&id).copied()))
}

/// Proof that the event at `position` is in the tree of `size` leaves
/// (default: the current size).
pub async fn inclusion(
    store: &dyn Store,
    position: u64,
    size: Option<u64>,
) -> Result<Result<InclusionProof, tocsin_ledger::ProofError>, StoreError> {
    let size = match size {
        Some(s) => s,
        None => store.ledger_head().await?.size,
    };
    let ids = match inclusion_proof_node_ids(position, size) {
        Ok(ids) => ids,
        Err(e) => return Ok(Err(e)),
    };
    let mut want = ids.clone();
    want.push(NodeId {
        level: 0,
        index: position,
    });
    want.extend(root_at_node_ids(size));
    let map = lookup_all(store, &want).await?;
    let proof = match inclusion_proof(position, size, |id| map.get(&id).copied()) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let root = match root_at(size, |id| map.get(&id).copied()) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let Some(leaf) = map
        .get(&NodeId {
            level: 0,
            index: position,
        })
        .copied()
    else {
        return Ok(Err(tocsin_ledger::ProofError::MissingNode(NodeId {
            level: 0,
            index: position,
        })));
    };
    Ok(Ok(InclusionProof {
        position,
        size,
        leaf_hash: leaf,
        root,
        proof,
    }))
}

/// Proof that the tree of `size2` leaves extends the tree of `size1`.
pub async fn consistency(
    store: &dyn Store,
    size1: u64,
    size2: u64,
) -> Result<Result<Vec<Hash>, tocsin_ledger::ProofError>, StoreError> {
    let ids = match consistency_proof_node_ids(size1, size2) {
        Ok(ids) => ids,
        Err(e) => return Ok(Err(e)),
    };
    let map = lookup_all(store, &ids).await?;
    Ok(consistency_proof(size1, size2, |id| map.get(&id).copied()))
}
