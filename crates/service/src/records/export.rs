//! The oversight export (`tocsin records export`): a `RecordQuery`
//! resolved to case streams through the records gathering, the
//! resolution appended to the records stream (`records_exported`) before
//! anything is written, then every leaf of the range `0..size` of the
//! checkpoint after it read once and sorted into the bag
//! (`tocsin_export::bag`): exported with its content and proof, disposed
//! of (the tombstone exported beside it), or withheld in full with an
//! exemption code. The tag manifest is signed with the deployment's
//! checkpoint key (`Store::sign_note`).
//!
//! The streams of the scope are the case streams of the records the
//! query matches (`RecordQuery::matches` over [`Service::records`]); a
//! case the officer may not see (clearance, compartments) is in the
//! scope and its leaves are withheld under `(b)(1)`, unless its very
//! existence is restricted: then it is left out of the scope, as it
//! would be missing to that officer everywhere else. Records of no case
//! (the access log's refusals of a missing case) are not exported.

use std::collections::BTreeSet;

use tocsin_domain::access::Permission;
use tocsin_domain::event::Event;
use tocsin_domain::records::RecordQuery;
use tocsin_domain::redaction::redact;
use tocsin_domain::{CaseId, ExportId};
use tocsin_export::bag::{
    self, BagInfo, DisposedFile, ExportInput, ExportScope, Files, Range, RecordFile, RecordRole,
    RedactionMark, WithheldEntry, WithheldList,
};
use tocsin_ledger::{Hash, MemoryTree, leaf_hash, open_checkpoint};
use tocsin_store::leaf::{Sealed, peek};
use tocsin_store::{EventEnvelope, NewEvents, StreamId};

use super::{RecordScope, RecordsState};
use crate::access::Principal;
use crate::command::envelopes;
use crate::{Service, ServiceError};

/// The exemption a record beyond the officer's clearance or compartments
/// is withheld under (FOIA `(b)(1)`: classified).
const BEYOND_CLEARANCE: &str = "(b)(1)";

/// A bag made, with what it holds.
#[derive(Clone, Debug)]
pub struct OversightExport {
    pub export_id: ExportId,
    /// The bag's files by path.
    pub files: Files,
    /// The range scanned is `0..size`.
    pub size: u64,
    pub streams: usize,
    pub records: usize,
    pub withheld: usize,
}

/// One ledger row, as the export needs it.
struct Row {
    stream: String,
    seq: u64,
    /// The leaf; empty for a version-1 leaf of a stream not kept.
    leaf: Vec<u8>,
    hash: Hash,
    /// The event's JSON (a version-1 leaf's body, or a version-2 leaf's
    /// content), and a version-2 leaf's salt; `None` once disposed of,
    /// and for a stream the export does not keep (see `rows`).
    content: Option<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Service {
    /// Exports the records `query` covers as a signed BagIt bag; with
    /// `release`, a release copy: each approved redaction shown in place
    /// (`[(b)(6), 14 words]`), the redacted record's original and salt
    /// left out (its leaf hash and proof stay). A redaction awaiting its
    /// second officer on a record of the scope blocks a release copy.
    pub async fn records_export(
        &self,
        p: &Principal,
        query: RecordQuery,
        release: bool,
    ) -> Result<OversightExport, ServiceError> {
        self.authorize(p, Permission::ManageRecords, "records_export")
            .await?;
        let state = self.records_state().await?;
        let (cases, visible) = self.export_scope(p, &state, &query).await?;
        if release {
            self.no_pending_redaction(&state, &cases).await?;
        }
        let export_id = ExportId::from_uuid(crate::new_uuid());
        let now = self.now();
        let appended = self
            .store
            .append(NewEvents {
                stream: StreamId::Records,
                expected_version: None,
                events: envelopes(
                    p.name(),
                    now,
                    vec![Event::RecordsExported {
                        export_id,
                        query: query.clone(),
                        cases: cases.iter().copied().collect(),
                        release,
                    }],
                ),
                summary: None,
                docs: Vec::new(),
                salts: Vec::new(),
            })
            .await?;
        let recorded_at = appended.first_position;
        let head = self.store.ledger_head().await?;
        let note = head
            .checkpoint
            .clone()
            .ok_or_else(|| ServiceError::internal("export", "no signed checkpoint"))?;
        let vkey = tocsin_ledger::NoteVerifier::parse(&self.store.meta().verifier_key)
            .map_err(|e| ServiceError::internal("the deployment's verifier key", e))?;
        let cp = open_checkpoint(&note, &vkey)
            .map_err(|e| ServiceError::internal("the latest checkpoint", e))?;
        let streams: BTreeSet<String> = cases
            .iter()
            .map(|c| StreamId::Case(*c).to_string())
            .collect();
        // The content of the scope's streams and of the records stream
        // (tombstones, the scope's own event); of the rest, the hashes
        // (and a version-2 leaf, which the bag lists).
        let records_stream = StreamId::Records.to_string();
        let rows = self
            .rows(cp.size, |s| s == records_stream || streams.contains(s))
            .await?;
        let mut tree = MemoryTree::new();
        rows.iter().for_each(|r| tree.push(r.hash));
        if tree.root() != cp.root {
            return Err(ServiceError::internal(
                "export",
                "the leaves read do not make the checkpoint's root: run tocsin audit verify",
            ));
        }
        let proof = |pos: u64| -> Result<Vec<String>, ServiceError> {
            Ok(tree
                .inclusion_proof(pos, cp.size)?
                .iter()
                .map(Hash::to_hex)
                .collect())
        };
        let seen: BTreeSet<String> = visible
            .iter()
            .map(|c| StreamId::Case(*c).to_string())
            .collect();
        let mut records = Vec::new();
        let mut disposed = Vec::new();
        let mut withheld = WithheldList::default();
        let mut tombstones = BTreeSet::new();
        for (pos, r) in (0u64..).zip(&rows) {
            if !streams.contains(&r.stream) {
                continue;
            }
            if !seen.contains(&r.stream) {
                withheld.records.push(WithheldEntry {
                    position: pos,
                    stream: r.stream.clone(),
                    seq: r.seq,
                    leaf_hash: r.hash.to_hex(),
                    exemption: BEYOND_CLEARANCE.into(),
                    reason: "beyond the exporting officer's clearance or compartments".into(),
                    bytes: r.content.as_ref().map_or(0, |(b, _)| b.len() as u64),
                    proof: proof(pos)?,
                });
                continue;
            }
            if r.content.is_some() {
                let mut f = record_file(pos, r, RecordRole::Record, proof(pos)?)?;
                if release {
                    apply_redactions(&mut f, &state)?;
                }
                records.push(f);
                continue;
            }
            // A version-2 leaf without its content: disposed of, which a
            // tombstone must say.
            let Some(t) = state.disposed.get(&pos) else {
                return Err(ServiceError::WrongState(format!(
                    "the content of ledger position {pos} is gone and no tombstone names it: run tocsin audit verify"
                )));
            };
            tombstones.insert(t.tombstone_position);
            disposed.push(DisposedFile {
                position: pos,
                stream: r.stream.clone(),
                seq: r.seq,
                leaf_hash: r.hash.to_hex(),
                leaf: base64(&r.leaf),
                tombstone: t.tombstone_position,
                proof: proof(pos)?,
            });
        }
        for (pos, role) in tombstones
            .into_iter()
            .map(|t| (t, RecordRole::Tombstone))
            .chain([(recorded_at, RecordRole::Scope)])
        {
            let row = usize::try_from(pos).ok().and_then(|i| rows.get(i));
            let Some(row) = row else {
                return Err(ServiceError::internal(
                    "export",
                    "a position beyond the range",
                ));
            };
            records.push(record_file(pos, row, role, proof(pos)?)?);
        }
        let scope = ExportScope {
            export_id: export_id.to_string(),
            query: serde_json::to_value(&query)
                .map_err(|e| ServiceError::internal("the query as JSON", e))?,
            streams: streams.iter().cloned().collect(),
            range: Range {
                from: 0,
                to: cp.size,
            },
            recorded_at,
            exported_at: now.to_string(),
            exported_by: p.name().to_string(),
            release,
        };
        // The records of the scope's streams, as `verify-export` counts them
        // (not the tombstones, nor the event recording the scope).
        let exported = records
            .iter()
            .filter(|r| r.role == RecordRole::Record)
            .count();
        let counts = (streams.len(), exported, withheld.records.len());
        let input = ExportInput {
            checkpoint: note,
            verifier_key: self.store.meta().verifier_key.clone(),
            scope,
            leaves: rows
                .iter()
                .map(|r| (r.hash, (r.leaf.first() == Some(&2)).then(|| r.leaf.clone())))
                .collect(),
            records,
            disposed,
            withheld,
            info: BagInfo {
                source_organization: format!("tocsin deployment {}", self.store.meta().origin),
                external_description: format!(
                    "Oversight export {export_id}: every record of the {} case(s) the query resolved to, in the ledger's first {} positions",
                    counts.0, cp.size
                ),
                bagging_date: now.strftime("%Y-%m-%d").to_string(),
            },
        };
        let unsigned = bag::write(&input);
        let signed = self.store.sign_note(unsigned.tag_manifest())?;
        Ok(OversightExport {
            export_id,
            files: unsigned.seal(signed),
            size: cp.size,
            streams: counts.0,
            records: counts.1,
            withheld: counts.2,
        })
    }

    /// Refuses a release copy while a redaction of a record of `cases`
    /// awaits its second officer.
    async fn no_pending_redaction(
        &self,
        state: &RecordsState,
        cases: &BTreeSet<CaseId>,
    ) -> Result<(), ServiceError> {
        let streams: BTreeSet<String> = cases
            .iter()
            .map(|c| StreamId::Case(*c).to_string())
            .collect();
        for r in state.redactions.all.values() {
            if r.approved_by.is_some() {
                continue;
            }
            let page = self.store.read_leaves(r.position, 1).await?;
            if page.get(0).is_some_and(|row| streams.contains(row.stream)) {
                return Err(ServiceError::WrongState(format!(
                    "redaction {} (position {}, {}) awaits a second records officer's approval: a release copy cannot be made until it is approved",
                    r.id, r.position, r.field
                )));
            }
        }
        Ok(())
    }

    /// The cases `query` resolves to, and those of them `p` may see.
    async fn export_scope(
        &self,
        p: &Principal,
        state: &RecordsState,
        query: &RecordQuery,
    ) -> Result<(BTreeSet<CaseId>, BTreeSet<CaseId>), ServiceError> {
        let cases_of = |records: Vec<tocsin_domain::records::Record>| -> BTreeSet<CaseId> {
            records
                .iter()
                .filter(|r| query.matches(r))
                .filter_map(|r| r.case.as_ref().map(|c| c.id))
                .collect()
        };
        let mut all = cases_of(self.records(state, RecordScope::All).await?);
        let visible = cases_of(self.visible_records(p, state, RecordScope::All).await?);
        // A case whose existence is restricted answers as a missing one to
        // whoever may not see it: out of the scope, not withheld (which
        // would name it).
        for id in all.difference(&visible).copied().collect::<Vec<_>>() {
            if self.load(id).await?.marking().existence_restricted {
                all.remove(&id);
            }
        }
        Ok((all, visible))
    }

    /// Every ledger row `0..size`, in order; the content and the leaf
    /// only of the streams `keep` names, and every version-2 leaf (the
    /// rest is its hash: an export scans the whole ledger, and keeps in
    /// memory only what its bag may hold).
    async fn rows(&self, size: u64, keep: impl Fn(&str) -> bool) -> Result<Vec<Row>, ServiceError> {
        const PAGE: u32 = 1000;
        let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        while (out.len() as u64) < size {
            let page = self.store.read_leaves(out.len() as u64, PAGE).await?;
            if page.is_empty() {
                break;
            }
            for r in page.iter() {
                if out.len() as u64 == size {
                    break;
                }
                let kept = keep(r.stream);
                let content = match (peek(r.leaf), r.content) {
                    (Ok(_), _) if !kept => None,
                    (Ok((_, Sealed::Body(b))), _) => Some((b.to_vec(), None)),
                    (Ok((_, Sealed::Commitment(_))), Some(c)) => {
                        Some((c.body.to_vec(), Some(c.salt.to_vec())))
                    }
                    (Ok((_, Sealed::Commitment(_))), None) => None,
                    (Err(e), _) => {
                        return Err(ServiceError::internal("a leaf that does not parse", e));
                    }
                };
                out.push(Row {
                    stream: r.stream.to_owned(),
                    seq: r.seq,
                    leaf: if kept || r.leaf.first() == Some(&2) {
                        r.leaf.to_vec()
                    } else {
                        Vec::new()
                    },
                    hash: leaf_hash(r.leaf),
                    content,
                });
            }
        }
        if out.len() as u64 != size {
            return Err(ServiceError::internal(
                "export",
                "fewer leaves than the checkpoint",
            ));
        }
        Ok(out)
    }
}

fn record_file(
    position: u64,
    r: &Row,
    role: RecordRole,
    proof: Vec<String>,
) -> Result<RecordFile, ServiceError> {
    let Some((body, salt)) = &r.content else {
        return Err(ServiceError::internal(
            "export",
            "a tombstone without content",
        ));
    };
    let env: EventEnvelope = serde_json::from_slice(body)
        .map_err(|e| ServiceError::internal("an event that does not parse", e))?;
    let body = String::from_utf8(body.clone())
        .map_err(|e| ServiceError::internal("an event that is not UTF-8", e))?;
    Ok(RecordFile {
        position,
        stream: r.stream.clone(),
        seq: r.seq,
        kind: env.event.kind().into(),
        role,
        leaf_version: r.leaf.first().copied().unwrap_or(0),
        leaf_hash: r.hash.to_hex(),
        leaf: Some(base64(&r.leaf)),
        salt: salt.as_deref().map(bag::hex),
        body: Some(body),
        released: None,
        redactions: Vec::new(),
        proof,
    })
}

/// A release copy of a record with approved redactions: each shown in
/// place, the original body and salt left out (and a version-1 leaf,
/// which holds the original); the leaf hash and proof stay.
fn apply_redactions(f: &mut RecordFile, state: &RecordsState) -> Result<(), ServiceError> {
    let approved: Vec<_> = state
        .redactions
        .all
        .values()
        .filter(|r| r.position == f.position && r.approved_by.is_some())
        .collect();
    if approved.is_empty() {
        return Ok(());
    }
    let Some(body) = &f.body else {
        return Ok(());
    };
    let mut v: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| ServiceError::internal("an event that does not parse", e))?;
    for r in approved {
        let words = redact(&mut v, &r.field, &r.spans, &r.exemption).ok_or_else(|| {
            ServiceError::WrongState(format!(
                "redaction {} names {}, which the event at position {} does not have",
                r.id, r.field, r.position
            ))
        })?;
        f.redactions.push(RedactionMark {
            field: r.field.clone(),
            exemption: r.exemption.clone(),
            words,
        });
    }
    f.released = Some(v);
    f.body = None;
    f.salt = None;
    if f.leaf_version == 1 {
        f.leaf = None;
    }
    Ok(())
}

fn base64(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
