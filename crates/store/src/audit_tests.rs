//! `audit::verify` end to end over ledgers that mix leaf versions 1 and 2,
//! held in memory (no backend writes version 2 yet): a disposed leaf
//! verifies by its commitment alone, and an edit is found wherever it is,
//! including an edit of a disposed leaf's commitment with every stored
//! hash and node rewritten to match.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use tocsin_domain::event::Event;
use tocsin_domain::{ActorName, CaseId};
use tocsin_ledger::{Checkpoint, Frontier, Hash, NodeId, NoteSigner, leaf_hash};

use crate::audit::{Failure, VerifyOptions, VerifyReport, verify};
use crate::leaf::{Salt, encode, encode_body, encode_v2};
use crate::{
    Appended, CaseQuery, CaseSummary, Doc, DocKind, DocWrite, EventEnvelope, LeafContent, LeafPage,
    LedgerHead, NewEvents, Page, ProjectionDigest, RawRows, Store, StoreError, StoreMeta,
    StoredCheckpoint, StoredEvent, StreamId,
};

const ORIGIN: &str = "tocsin.test/audit-v2";

fn signer() -> NoteSigner {
    NoteSigner::from_seed("tocsin-test", [3u8; 32]).unwrap()
}

/// One stored ledger row.
#[derive(Clone)]
struct Row {
    stream: String,
    seq: u64,
    leaf: Vec<u8>,
    leaf_hash: Vec<u8>,
    content: Option<(Vec<u8>, Vec<u8>)>,
}

/// A ledger in memory: its rows, its Merkle nodes of level >= 1 and its
/// signed checkpoints, as a backend would store them.
#[derive(Clone)]
struct Ledger {
    meta: StoreMeta,
    rows: Vec<Row>,
    nodes: BTreeMap<(u8, u64), Hash>,
    checkpoints: Vec<StoredCheckpoint>,
}

impl Ledger {
    /// A ledger of eight events: the even positions on the system stream
    /// (version 1), the odd ones on a case stream (version 2, content
    /// beside them); checkpoints at sizes 4 and 8.
    fn new() -> Self {
        let case = StreamId::Case(CaseId::from_uuid(uuid::Uuid::from_u128(7)));
        let mut rows = Vec::new();
        for pos in 0..8u64 {
            let env = EventEnvelope {
                recorded_at: "2024-01-01T00:00:00Z".parse().unwrap(),
                actor: ActorName::new("analyst.a").unwrap(),
                event: Event::CaseReopened {
                    reason: format!("event {pos}"),
                },
            };
            let body = encode_body(&env);
            let seq = pos / 2 + 1;
            let row = if pos % 2 == 0 {
                Row {
                    stream: StreamId::System.to_string(),
                    seq,
                    leaf: encode(pos, &StreamId::System, seq, &body),
                    leaf_hash: vec![],
                    content: None,
                }
            } else {
                let salt = Salt([pos as u8; 32]);
                Row {
                    stream: case.to_string(),
                    seq,
                    leaf: encode_v2(pos, &case, seq, &salt, &body),
                    leaf_hash: vec![],
                    content: Some((salt.0.to_vec(), body)),
                }
            };
            rows.push(row);
        }
        let mut l = Ledger {
            meta: StoreMeta {
                deployment_id: "test".into(),
                origin: ORIGIN.into(),
                verifier_key: signer().verifier().to_string(),
                created_at: "2024-01-01T00:00:00Z".into(),
                schema_version: 1,
            },
            rows,
            nodes: BTreeMap::new(),
            checkpoints: vec![],
        };
        l.rehash();
        l.checkpoints = l.sign_at(&[4, 8]);
        l
    }

    /// Recomputes every stored leaf hash and node from the leaves (what
    /// someone with write access to the database can do; not the signing
    /// key).
    fn rehash(&mut self) {
        let mut frontier = Frontier::new();
        let mut produced = Vec::new();
        self.nodes.clear();
        for r in &mut self.rows {
            let h = leaf_hash(&r.leaf);
            r.leaf_hash = h.as_bytes().to_vec();
            produced.clear();
            frontier.push(h, &mut produced);
            for (id, h) in &produced {
                self.nodes.insert((id.level, id.index), *h);
            }
        }
    }

    /// Signed checkpoints of the current leaves at these sizes.
    fn sign_at(&self, sizes: &[u64]) -> Vec<StoredCheckpoint> {
        let mut frontier = Frontier::new();
        let mut produced = Vec::new();
        let mut out = Vec::new();
        for (i, r) in self.rows.iter().enumerate() {
            frontier.push(leaf_hash(&r.leaf), &mut produced);
            let size = i as u64 + 1;
            if sizes.contains(&size) {
                let cp = Checkpoint {
                    origin: ORIGIN.into(),
                    size,
                    root: frontier.root(),
                };
                out.push(StoredCheckpoint {
                    size,
                    note: signer().sign_checkpoint(&cp),
                });
            }
        }
        out
    }

    fn verify(&self) -> Result<VerifyReport, Failure> {
        let store: Arc<dyn Store> = Arc::new(self.clone());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let opts = VerifyOptions {
                verifier: signer().verifier(),
                since: None,
                deep: true,
                progress: None,
                // These ledgers dispose of content on purpose (the
                // commitment's checks); the contract suite shows that
                // without this, a leaf without its content fails.
                accept_disposed: true,
            };
            verify(store, &opts).await.unwrap()
        })
    }
}

#[test]
fn a_ledger_of_both_versions_verifies_and_counts_what_was_disposed_of() {
    let mut l = Ledger::new();
    let r = l.verify().unwrap();
    assert_eq!((r.size, r.checkpoints, r.disposed), (8, 2, 0));
    // Disposal: the content and salt of positions 3 and 5 are gone; the
    // leaves, hashes, nodes and checkpoints are as they were.
    l.rows[3].content = None;
    l.rows[5].content = None;
    let r = l.verify().unwrap();
    assert_eq!((r.size, r.disposed), (8, 2));
}

#[test]
fn an_edit_of_a_disposed_leafs_commitment_is_found_however_it_is_hidden() {
    let mut l = Ledger::new();
    l.rows[5].content = None;
    let last = l.rows[5].leaf.len() - 1;
    l.rows[5].leaf[last] ^= 0x01;
    // The stored hash as it was.
    let f = l.verify().unwrap_err();
    assert_eq!(f.position, 5, "{f}");
    assert!(f.problem.contains("stored leaf hash"), "{f}");
    // The leaf hash rewritten: a stored node no longer matches.
    let mut hidden = l.clone();
    hidden.rows[5].leaf_hash = leaf_hash(&hidden.rows[5].leaf).as_bytes().to_vec();
    let f = hidden.verify().unwrap_err();
    assert!(f.position <= 5 && f.last.unwrap_or(f.position) >= 5, "{f}");
    assert!(f.problem.contains("Merkle node"), "{f}");
    // Every hash and node rewritten: the signed checkpoint does not match.
    let mut rewritten = l.clone();
    rewritten.rehash();
    let f = rewritten.verify().unwrap_err();
    assert_eq!((f.position, f.last), (4, Some(7)), "{f}");
    assert!(f.problem.contains("signed checkpoint at size 8"), "{f}");
}

#[test]
fn an_edit_of_kept_content_is_found_at_its_position() {
    let mut l = Ledger::new();
    let (_, body) = l.rows[3].content.as_mut().unwrap();
    body[10] ^= 0x01;
    let f = l.verify().unwrap_err();
    assert_eq!(f.position, 3, "{f}");
    assert!(f.problem.contains("does not match its commitment"), "{f}");

    let mut l = Ledger::new();
    let (salt, _) = l.rows[7].content.as_mut().unwrap();
    salt[0] ^= 0x01;
    let f = l.verify().unwrap_err();
    assert_eq!(f.position, 7, "{f}");

    // Content put beside a version-1 leaf.
    let mut l = Ledger::new();
    l.rows[2].content = Some((vec![0; 32], b"{}".to_vec()));
    let f = l.verify().unwrap_err();
    assert_eq!(f.position, 2, "{f}");
    assert!(f.problem.contains("version-1"), "{f}");
}

fn unused() -> StoreError {
    StoreError::backend("not used by verify", std::io::Error::other("test store"))
}

#[async_trait]
impl Store for Ledger {
    fn meta(&self) -> &StoreMeta {
        &self.meta
    }
    async fn ledger_head(&self) -> Result<LedgerHead, StoreError> {
        let mut frontier = Frontier::new();
        let mut produced = Vec::new();
        for r in &self.rows {
            frontier.push(leaf_hash(&r.leaf), &mut produced);
        }
        Ok(LedgerHead {
            size: self.rows.len() as u64,
            root: frontier.root(),
            checkpoint: self.checkpoints.last().map(|c| c.note.clone()),
        })
    }
    async fn read_leaves(&self, from: u64, limit: u32) -> Result<LeafPage, StoreError> {
        let mut page = LeafPage::default();
        for (pos, r) in self
            .rows
            .iter()
            .enumerate()
            .skip(from as usize)
            .take(limit as usize)
        {
            match &r.content {
                Some((salt, body)) => page.push_with_content(
                    pos as u64,
                    &r.stream,
                    r.seq,
                    &r.leaf,
                    &r.leaf_hash,
                    LeafContent { salt, body },
                ),
                None => page.push(pos as u64, &r.stream, r.seq, &r.leaf, &r.leaf_hash),
            }
        }
        Ok(page)
    }
    async fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, StoreError> {
        Ok(ids
            .iter()
            .map(|id| match id.level {
                0 => self
                    .rows
                    .get(id.index as usize)
                    .and_then(|r| Hash::from_slice(&r.leaf_hash).ok()),
                l => self.nodes.get(&(l, id.index)).copied(),
            })
            .collect())
    }
    async fn read_level(
        &self,
        level: u8,
        from_index: u64,
        limit: u32,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        Ok(self
            .nodes
            .range((level, from_index)..=(level, u64::MAX))
            .take(limit as usize)
            .map(|((_, i), h)| (*i, *h))
            .collect())
    }
    async fn read_checkpoints(
        &self,
        from_size: u64,
        limit: u32,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        Ok(self
            .checkpoints
            .iter()
            .filter(|c| c.size >= from_size)
            .take(limit as usize)
            .cloned()
            .collect())
    }

    // Nothing below is used by verification.
    async fn append(&self, _: NewEvents) -> Result<Appended, StoreError> {
        Err(unused())
    }
    async fn dispose(&self, _: crate::Disposal) -> Result<Appended, StoreError> {
        Err(unused())
    }
    async fn read_stream(&self, _: &StreamId) -> Result<Vec<StoredEvent>, StoreError> {
        Err(unused())
    }
    async fn list_cases(&self, _: &CaseQuery) -> Result<Page<CaseSummary>, StoreError> {
        Err(unused())
    }
    async fn case_ids_with_prefix(&self, _: &str, _: u32) -> Result<Vec<CaseId>, StoreError> {
        Err(unused())
    }
    async fn case_summary(&self, _: CaseId) -> Result<Option<CaseSummary>, StoreError> {
        Err(unused())
    }
    async fn case_by_number(
        &self,
        _: tocsin_domain::CaseNumber,
    ) -> Result<Option<CaseId>, StoreError> {
        Err(unused())
    }
    async fn case_ids(&self) -> Result<Vec<CaseId>, StoreError> {
        Err(unused())
    }
    async fn report_number_formats(&self) -> Result<Vec<String>, StoreError> {
        Err(unused())
    }
    async fn case_gauges(
        &self,
        _: tocsin_domain::Timestamp,
    ) -> Result<crate::counts::CaseGauges, StoreError> {
        Err(unused())
    }
    async fn case_counters(&self) -> Result<BTreeMap<String, i64>, StoreError> {
        Err(unused())
    }
    async fn unmeasured_cases(&self) -> Result<u64, StoreError> {
        Err(unused())
    }
    async fn replace_projections(
        &self,
        _: Vec<CaseSummary>,
        _: Vec<Doc>,
    ) -> Result<(), StoreError> {
        Err(unused())
    }
    async fn projection_digest(&self) -> Result<ProjectionDigest, StoreError> {
        Err(unused())
    }
    async fn get_doc(&self, _: DocKind, _: &str) -> Result<Option<Doc>, StoreError> {
        Err(unused())
    }
    async fn list_docs(
        &self,
        _: DocKind,
        _: Option<String>,
        _: u32,
    ) -> Result<Vec<Doc>, StoreError> {
        Err(unused())
    }
    async fn write_docs(&self, _: Vec<DocWrite>) -> Result<Vec<u64>, StoreError> {
        Err(unused())
    }
    async fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        Err(unused())
    }
    async fn import_raw(&self, _: RawRows) -> Result<(), StoreError> {
        Err(unused())
    }
}
