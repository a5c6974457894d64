//! Copying a whole deployment from one store into another, whatever their
//! backends (`tocsin migrate`).
//!
//! Everything is read through the [`Store`] trait and written with
//! [`Store::import_raw`]: the ledger rows byte for byte, with the Merkle
//! nodes they complete and the signed checkpoints, in chunks that each
//! leave the target a whole, verifiable tree; then the query tables; then
//! every document with its version. The target must be empty and made for
//! the same deployment (same id, origin and verifier key). At the end the
//! target's ledger head (size, root, latest checkpoint) and projection
//! digest must equal the source's, and the source must not have changed.

use std::fmt;

use tocsin_ledger::{Hash, NodeId};

use crate::{CaseQuery, DocKind, ProjectionDigest, RawRows, Store, StoreError};

/// Ledger rows per imported chunk.
const LEDGER_CHUNK: u64 = 2000;
/// Cases, nodes or documents read per page.
const PAGE: u32 = 1000;

/// What is being copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyStage {
    Ledger,
    Cases,
    Documents,
}

impl fmt::Display for CopyStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CopyStage::Ledger => "ledger events",
            CopyStage::Cases => "cases",
            CopyStage::Documents => "documents",
        })
    }
}

/// How far a copy is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyProgress {
    pub stage: CopyStage,
    pub done: u64,
    /// 0 when not known in advance.
    pub total: u64,
}

/// What a copy wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyReport {
    /// Ledger size and root (the same in both stores).
    pub size: u64,
    pub root: Hash,
    pub nodes: u64,
    pub checkpoints: u64,
    pub cases: u64,
    pub docs: u64,
    /// The projection digest (the same in both stores).
    pub projection: ProjectionDigest,
}

/// Why a copy did not happen or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the target is not empty ({0}): copy only into a freshly initialised store")]
    TargetNotEmpty(String),
    #[error("the target was initialised for another deployment: {0}")]
    OtherDeployment(String),
    #[error("the source is damaged: {0} (run `tocsin audit verify` on it)")]
    SourceDamaged(String),
    #[error(
        "the source changed during the copy ({0}): stop every tocsin process that writes to it, then copy again into an empty target"
    )]
    SourceChanged(String),
    #[error("the copy differs from the source: {0}")]
    Mismatch(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Copies everything `from` holds into the empty store `to` (opened with
/// the deployment's signing key). `progress` is called after every chunk.
pub async fn copy(
    from: &dyn Store,
    to: &dyn Store,
    progress: Option<&(dyn Fn(CopyProgress) + Send + Sync)>,
) -> Result<CopyReport, CopyError> {
    let report = |stage, done, total| {
        if let Some(p) = progress {
            p(CopyProgress { stage, done, total });
        }
    };
    let (a, b) = (from.meta(), to.meta());
    for (what, x, y) in [
        ("deployment id", &a.deployment_id, &b.deployment_id),
        ("origin", &a.origin, &b.origin),
        ("verifier key", &a.verifier_key, &b.verifier_key),
    ] {
        if x != y {
            return Err(CopyError::OtherDeployment(format!(
                "its {what} is {y}, the source's is {x}"
            )));
        }
    }
    ensure_empty(to).await?;

    let head = from.ledger_head().await?;
    let digest = from.projection_digest().await?;

    // The ledger, with its nodes and checkpoints, chunk by chunk.
    let (mut nodes_copied, mut checkpoints_copied) = (0u64, 0u64);
    let mut pos = 0u64;
    report(CopyStage::Ledger, 0, head.size);
    while pos < head.size {
        let want = (head.size - pos).min(LEDGER_CHUNK);
        let end = pos + want;
        let leaves = from.read_leaves(pos, want as u32).await?;
        for (i, row) in leaves.iter().enumerate() {
            if row.position != pos + i as u64 {
                return Err(CopyError::SourceDamaged(format!(
                    "ledger position {} is missing",
                    pos + i as u64
                )));
            }
        }
        if (leaves.len() as u64) < want {
            return Err(CopyError::SourceDamaged(format!(
                "ledger position {} is missing",
                pos + leaves.len() as u64
            )));
        }
        let nodes = completed_nodes(from, pos, end).await?;
        let checkpoints: Vec<_> = from
            .read_checkpoints(pos + 1, want as u32 + 1)
            .await?
            .into_iter()
            .filter(|c| c.size <= end)
            .collect();
        nodes_copied += nodes.len() as u64;
        checkpoints_copied += checkpoints.len() as u64;
        to.import_raw(RawRows::Ledger {
            leaves,
            nodes,
            checkpoints,
        })
        .await?;
        pos = end;
        report(CopyStage::Ledger, pos, head.size);
    }

    // The query tables.
    let mut cases = 0u64;
    let mut q = CaseQuery {
        limit: PAGE,
        ..Default::default()
    };
    report(CopyStage::Cases, 0, digest.cases);
    loop {
        let page = from.list_cases(&q).await?;
        if !page.items.is_empty() {
            cases += page.items.len() as u64;
            to.import_raw(RawRows::Cases(page.items)).await?;
            report(CopyStage::Cases, cases, digest.cases);
        }
        match page.next {
            Some(c) => q.after = Some(c),
            None => break,
        }
    }

    // Every document, derived or not, with its version.
    let mut docs = 0u64;
    report(CopyStage::Documents, 0, 0);
    for kind in DocKind::ALL {
        let mut after = None;
        loop {
            let page = from.list_docs(kind, after.clone(), PAGE).await?;
            let full = page.len() == PAGE as usize;
            after = page.last().map(|d| d.key.clone());
            if !page.is_empty() {
                docs += page.len() as u64;
                to.import_raw(RawRows::Docs(page)).await?;
                report(CopyStage::Documents, docs, 0);
            }
            if !full {
                break;
            }
        }
    }

    // The source must not have moved, and the copy must be the same.
    let now = from.ledger_head().await?;
    if now != head {
        return Err(CopyError::SourceChanged(format!(
            "its ledger grew from {} to {} events",
            head.size, now.size
        )));
    }
    let copied = to.ledger_head().await?;
    if copied != head {
        return Err(CopyError::Mismatch(format!(
            "the target's ledger has {} events with root {}, the source's {} with root {}",
            copied.size,
            copied.root.to_base64(),
            head.size,
            head.root.to_base64()
        )));
    }
    let theirs = to.projection_digest().await?;
    if theirs != digest {
        if from.projection_digest().await? != digest {
            return Err(CopyError::SourceChanged(
                "its query tables or documents changed".into(),
            ));
        }
        return Err(CopyError::Mismatch(format!(
            "the target's query tables have digest {} ({} cases), the source's {} ({} cases)",
            theirs.sha256, theirs.cases, digest.sha256, digest.cases
        )));
    }
    Ok(CopyReport {
        size: head.size,
        root: head.root,
        nodes: nodes_copied,
        checkpoints: checkpoints_copied,
        cases,
        docs,
        projection: digest,
    })
}

async fn ensure_empty(to: &dyn Store) -> Result<(), CopyError> {
    let head = to.ledger_head().await?;
    if head.size > 0 {
        return Err(CopyError::TargetNotEmpty(format!(
            "its ledger holds {} events",
            head.size
        )));
    }
    if !to.read_checkpoints(0, 1).await?.is_empty() {
        return Err(CopyError::TargetNotEmpty("it holds checkpoints".into()));
    }
    let q = CaseQuery {
        limit: 1,
        ..Default::default()
    };
    if !to.list_cases(&q).await?.items.is_empty() {
        return Err(CopyError::TargetNotEmpty("it holds cases".into()));
    }
    for kind in DocKind::ALL {
        if !to.list_docs(kind, None, 1).await?.is_empty() {
            return Err(CopyError::TargetNotEmpty(format!(
                "it holds {kind} documents"
            )));
        }
    }
    Ok(())
}

/// The stored Merkle nodes (level >= 1) that the leaves at positions
/// `start..end` complete: at each level, the nodes whose last leaf is in
/// that range.
async fn completed_nodes(
    from: &dyn Store,
    start: u64,
    end: u64,
) -> Result<Vec<(NodeId, Hash)>, CopyError> {
    let mut out = Vec::new();
    for level in 1..64u8 {
        let (lo, hi) = (start >> level, end >> level);
        if hi == 0 {
            break;
        }
        let mut next = lo;
        while next < hi {
            let limit = (hi - next).min(PAGE as u64) as u32;
            let rows = from.read_level(level, next, limit).await?;
            if rows.is_empty() {
                return Err(missing_node(level, next));
            }
            for (index, hash) in rows {
                if index != next {
                    return Err(missing_node(level, next));
                }
                out.push((NodeId { level, index }, hash));
                next += 1;
            }
        }
    }
    Ok(out)
}

fn missing_node(level: u8, index: u64) -> CopyError {
    CopyError::SourceDamaged(format!(
        "Merkle node (level {level}, index {index}) is missing"
    ))
}
