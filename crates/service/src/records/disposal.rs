//! The disposal job: a records officer proposes a batch (the records the
//! schedules in force let go at the service clock's now, none under a
//! hold), kept as a document; a second records officer approves it; the
//! records are decided again on the records stream as it is when the
//! tombstones are appended (the append expects its version, so a hold
//! requested meanwhile wins: the append conflicts, and the decision is
//! made again with it), and the tombstones and the removal of the content
//! go in one store call ([`tocsin_store::Store::dispose`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::case::Case;
use tocsin_domain::disposal::{self, BatchError, DisposalBatch, Skipped};
use tocsin_domain::event::Event;
use tocsin_domain::ids::DisposalBatchId;
use tocsin_domain::taxii::AdditionSource;
use tocsin_domain::{ActorName, CaseId, Timestamp};
use tocsin_store::{
    CaseSummary, Disposal, DocExpect, DocKind, DocWrite, EventEnvelope, NewEvents, StoreError,
    StoredEvent, StreamId,
};

use super::RecordScope;
use crate::access::Principal;
use crate::{MAX_ATTEMPTS, Service, ServiceError};

/// A disposal batch: what was proposed, and what its approval did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DisposalProposal {
    pub batch_id: DisposalBatchId,
    pub requested_by: ActorName,
    pub proposed_at: Timestamp,
    /// The schedules it was proposed under.
    pub schedules_sha256: String,
    /// The ledger positions of the records proposed.
    pub positions: Vec<u64>,
    /// Records that would be due but a hold covers, at the proposal.
    #[serde(default)]
    pub held: Vec<SkippedRecord>,
    /// Set once a second person approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<DisposalApproval>,
}

/// What an approval did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DisposalApproval {
    pub approved_by: ActorName,
    pub approved_at: Timestamp,
    /// The positions disposed of, and the position of the first tombstone
    /// (one per record, in this order).
    pub disposed: Vec<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_tombstone: Option<u64>,
    /// The batch's records left as they are, and why.
    pub skipped: Vec<SkippedRecord>,
}

/// A record left as it is, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SkippedRecord {
    pub position: u64,
    pub reason: String,
}

fn batch_key(id: DisposalBatchId) -> String {
    id.to_string()
}

impl Service {
    /// Proposes, as one batch, every record the schedules in force let go
    /// now (none under a hold); kept as a document until a second records
    /// officer approves it.
    pub async fn propose_disposal(&self, p: &Principal) -> Result<DisposalProposal, ServiceError> {
        self.authorize(p, Permission::ManageRecords, "records.dispose.propose")
            .await?;
        let state = self.records_state().await?;
        let records = self.records(&state, RecordScope::All).await?;
        let now = self.clock.now();
        let batch = disposal::propose(
            DisposalBatchId::from_uuid(crate::new_uuid()),
            p.name().clone(),
            &records,
            &state.schedules,
            &state.holds,
            now,
        );
        let held = records
            .iter()
            .filter(|r| !batch.positions.contains(&r.position))
            .filter_map(|r| {
                match tocsin_domain::holds::may_dispose(r, &state.schedules, &state.holds, now) {
                    Err(refusal @ tocsin_domain::holds::Refusal::Held { .. }) => {
                        // Held: would it be due without the hold?
                        let free = tocsin_domain::holds::Holds::new();
                        tocsin_domain::holds::may_dispose(r, &state.schedules, &free, now)
                            .is_ok()
                            .then(|| SkippedRecord {
                                position: r.position,
                                reason: refusal.to_string(),
                            })
                    }
                    _ => None,
                }
            })
            .collect();
        let proposal = DisposalProposal {
            batch_id: batch.batch_id,
            requested_by: batch.requested_by,
            proposed_at: now,
            schedules_sha256: batch.schedules_sha256,
            positions: batch.positions.into_iter().collect(),
            held,
            approval: None,
        };
        self.store
            .write_docs(vec![DocWrite::put(
                DocKind::Disposal,
                batch_key(proposal.batch_id),
                DocExpect::Absent,
                &proposal,
            )])
            .await?;
        Ok(proposal)
    }

    /// Every disposal batch, proposed or approved, oldest first.
    pub async fn disposals(&self, p: &Principal) -> Result<Vec<DisposalProposal>, ServiceError> {
        self.authorize(p, Permission::ManageRecords, "records.dispose.list")
            .await?;
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.store.list_docs(DocKind::Disposal, after, 500).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.key.clone());
            for d in &page {
                out.push(parse_proposal(&d.body)?);
            }
        }
        out.sort_by_key(|b| b.proposed_at);
        Ok(out)
    }

    /// A second records officer approves `batch_id`: each record is
    /// decided again against the holds and schedules in force, and the
    /// tombstones and the removal of the content are written together.
    pub async fn approve_disposal(
        &self,
        p: &Principal,
        batch_id: DisposalBatchId,
    ) -> Result<DisposalProposal, ServiceError> {
        self.authorize(p, Permission::ManageRecords, "records.dispose.approve")
            .await?;
        let Some(doc) = self
            .store
            .get_doc(DocKind::Disposal, &batch_key(batch_id))
            .await?
        else {
            return Err(ServiceError::NotFound(format!(
                "there is no disposal batch {batch_id}"
            )));
        };
        let mut proposal = parse_proposal(&doc.body)?;
        if proposal.approval.is_some() {
            return Err(ServiceError::WrongState(format!(
                "disposal batch {batch_id} was approved already"
            )));
        }
        if *p.name() == proposal.requested_by {
            let e = BatchError::SamePerson(p.name().clone());
            self.refuse(p, "records.dispose.approve", None, &e.to_string())
                .await;
            return Err(ServiceError::Forbidden(e.to_string()));
        }
        self.check_second_person(p, &proposal.requested_by, "records.dispose.approve")
            .await?;
        let batch = DisposalBatch {
            batch_id,
            requested_by: proposal.requested_by.clone(),
            positions: proposal.positions.iter().copied().collect(),
            schedules_sha256: proposal.schedules_sha256.clone(),
        };
        for _ in 0..MAX_ATTEMPTS {
            let state = self.records_state().await?;
            let records = self.records(&state, RecordScope::All).await?;
            let now = self.clock.now();
            let approved = disposal::approve(
                &batch,
                p.name(),
                &records,
                &state.schedules,
                &state.holds,
                now,
            )
            .map_err(|e| match e {
                BatchError::SamePerson(_) => ServiceError::Forbidden(e.to_string()),
                BatchError::SchedulesChanged { .. } => ServiceError::WrongState(e.to_string()),
            })?;
            let mut skipped: Vec<SkippedRecord> = approved
                .skipped
                .iter()
                .map(|(position, why)| SkippedRecord {
                    position: *position,
                    reason: match why {
                        Skipped::Refused(r) => r.to_string(),
                        Skipped::Gone => "no longer a record to dispose of".to_owned(),
                    },
                })
                .collect();
            let (tombstones, kept) = keep_exchange_records(approved.tombstones);
            skipped.extend(kept);
            let (tombstones, kept) = keep_published(tombstones, &self.published_cases().await?);
            skipped.extend(kept);
            let (tombstones, summaries, unsafe_cases) = self.case_rows_after(tombstones).await?;
            skipped.extend(unsafe_cases);
            let disposed: Vec<u64> = tombstones
                .iter()
                .filter_map(|e| match e {
                    Event::RecordDisposed { position, .. } => Some(*position),
                    _ => None,
                })
                .collect();
            let mut approval = DisposalApproval {
                approved_by: p.name().clone(),
                approved_at: now,
                disposed: disposed.clone(),
                first_tombstone: None,
                skipped,
            };
            approval.skipped.sort_by_key(|s| s.position);
            if tombstones.is_empty() {
                proposal.approval = Some(approval);
                self.store
                    .write_docs(vec![DocWrite::put(
                        DocKind::Disposal,
                        batch_key(batch_id),
                        DocExpect::Version(doc.version),
                        &proposal,
                    )])
                    .await?;
                return Ok(proposal);
            }
            let envelopes: Vec<EventEnvelope> = tombstones
                .into_iter()
                .map(|event| EventEnvelope {
                    recorded_at: now,
                    actor: p.name().clone(),
                    event,
                })
                .collect();
            // The approval is written with the tombstones: the document
            // names the position of the first, known once appended, so
            // it says where to look (the tombstones of this batch id).
            let mut recorded = proposal.clone();
            recorded.approval = Some(approval.clone());
            let mut tombstones = NewEvents::new(StreamId::Records, state.version, envelopes);
            tombstones.docs = vec![DocWrite::put(
                DocKind::Disposal,
                batch_key(batch_id),
                DocExpect::Version(doc.version),
                &recorded,
            )];
            match self
                .store
                .dispose(Disposal {
                    tombstones,
                    summaries,
                })
                .await
            {
                Ok(a) => {
                    approval.first_tombstone = Some(a.first_position);
                    proposal.approval = Some(approval);
                    // The similar-case index read the disposed reports: it
                    // starts again from the ledger, which no longer has them.
                    self.forget_similar().await;
                    return Ok(proposal);
                }
                // A hold (or anything on the records stream) came first:
                // decide again with it.
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Contention("the records stream".into()))
    }

    /// The cases' query-table rows after the tombstones' records are
    /// disposed of, each case folded with their placeholders. A case
    /// whose access marking would change (a report's classification or
    /// compartments gone with it) keeps its records: they are skipped, so
    /// disposal never widens who may see a case.
    async fn case_rows_after(
        &self,
        tombstones: Vec<Event>,
    ) -> Result<(Vec<Event>, Vec<CaseSummary>, Vec<SkippedRecord>), ServiceError> {
        let mut by_case: BTreeMap<CaseId, BTreeSet<u64>> = BTreeMap::new();
        for t in &tombstones {
            if let Event::RecordDisposed {
                position,
                case_id: Some(c),
                ..
            } = t
            {
                by_case.entry(*c).or_default().insert(*position);
            }
        }
        let mut keep_out = BTreeSet::new();
        let mut skipped = Vec::new();
        let mut summaries = Vec::new();
        for (case_id, positions) in by_case {
            let events = self.store.read_stream(&StreamId::Case(case_id)).await?;
            let before = fold(case_id, &events)?;
            let after_events: Vec<StoredEvent> = events
                .into_iter()
                .map(|mut e| {
                    if positions.contains(&e.position)
                        && let Some(t) = tombstones.iter().find(
                            |t| matches!(t, Event::RecordDisposed { position, .. } if *position == e.position),
                        )
                    {
                        e.envelope.event = placeholder_of(t);
                    }
                    e
                })
                .collect();
            let after = match fold(case_id, &after_events) {
                Ok(after) => after,
                Err(e) => {
                    // A later event of the case refers to what would go
                    // (a contribution accepted, a report named): the case
                    // would not fold, so its records stay.
                    for p in positions {
                        keep_out.insert(p);
                        skipped.push(SkippedRecord {
                            position: p,
                            reason: format!(
                                "the case would no longer fold without it ({e}): it is kept"
                            ),
                        });
                    }
                    continue;
                }
            };
            // A closed case stays closed (a ledger from before every
            // closing was its own `case_closed` closes by the outcome, a
            // record): else deadlines and notices would start again.
            if after.state != before.state {
                for p in positions {
                    keep_out.insert(p);
                    skipped.push(SkippedRecord {
                        position: p,
                        reason: format!(
                            "its case's state depends on it: without it the case would read as {} instead of {}",
                            after.state.as_str(),
                            before.state.as_str()
                        ),
                    });
                }
                continue;
            }
            if after.marking() != before.marking() {
                for p in positions {
                    keep_out.insert(p);
                    skipped.push(SkippedRecord {
                        position: p,
                        reason: "its case's access marking depends on it (a report's classification or compartments): disposing of it would widen who may see the case".into(),
                    });
                }
                continue;
            }
            summaries.push(CaseSummary::of(&after, &self.policy));
        }
        let tombstones = tombstones
            .into_iter()
            .filter(|t| !matches!(t, Event::RecordDisposed { position, .. } if keep_out.contains(position)))
            .collect();
        Ok((tombstones, summaries, skipped))
    }

    /// Drops the similar-case index: it is built again from the ledger at
    /// the next question, without what was disposed of.
    async fn forget_similar(&self) {
        *self.similar.lock().await = Default::default();
    }
}

impl Service {
    /// The cases published to a TAXII collection (`tocsin taxii publish`).
    async fn published_cases(&self) -> Result<BTreeSet<CaseId>, ServiceError> {
        Ok(self
            .store
            .read_stream(&StreamId::Exchange)
            .await?
            .iter()
            .filter_map(|e| match &e.envelope.event {
                Event::TaxiiObjectsAdded { addition } => match addition.source {
                    AdditionSource::Published { case_id } => Some(case_id),
                    AdditionSource::Post { .. } => None,
                },
                _ => None,
            })
            .collect())
    }
}

/// The records of a case published to a TAXII collection stay: partners
/// are served its published copy (the collection's objects, which no
/// disposal reaches), so disposing of the record would leave its content
/// readable through TAXII. They are skipped, saying so.
fn keep_published(
    tombstones: Vec<Event>,
    published: &BTreeSet<CaseId>,
) -> (Vec<Event>, Vec<SkippedRecord>) {
    let mut kept = Vec::new();
    let tombstones = tombstones
        .into_iter()
        .filter(|t| match t {
            Event::RecordDisposed {
                position,
                case_id: Some(c),
                ..
            } if published.contains(c) => {
                kept.push(SkippedRecord {
                    position: *position,
                    reason: "its case was published to a TAXII collection, whose copy of it is kept: disposing of the record would leave its content readable there".into(),
                });
                false
            }
            _ => true,
        })
        .collect();
    (tombstones, kept)
}

/// The exchange stream's records (a partner's report received, its
/// assessment) stay: the receipts documents are folded from them, and a
/// receipt without its report does not fold. They are skipped, saying so.
fn keep_exchange_records(tombstones: Vec<Event>) -> (Vec<Event>, Vec<SkippedRecord>) {
    let mut kept = Vec::new();
    let tombstones = tombstones
        .into_iter()
        .filter(|t| match t {
            Event::RecordDisposed { position, kind, .. }
                if kind == "stix_report_received" || kind == "stix_report_assessed" =>
            {
                kept.push(SkippedRecord {
                    position: *position,
                    reason: "a record of the exchange stream: the receipts are folded from it, so it is not disposed of yet".into(),
                });
                false
            }
            _ => true,
        })
        .collect();
    (tombstones, kept)
}

/// The placeholder a tombstone's record reads as (its tombstone position
/// is not known before the append; nothing projected depends on it).
fn placeholder_of(t: &Event) -> Event {
    match t {
        Event::RecordDisposed {
            position,
            kind,
            class,
            schedule,
            ..
        } => Event::DisposedRecord {
            position: *position,
            kind: kind.clone(),
            class: *class,
            schedule: schedule.clone(),
            tombstone: 0,
        },
        other => other.clone(),
    }
}

fn fold(id: CaseId, events: &[StoredEvent]) -> Result<Case, ServiceError> {
    let recorded: Vec<_> = events.iter().map(StoredEvent::to_recorded).collect();
    Case::from_events(&recorded).map_err(|source| ServiceError::Corrupt { case: id, source })
}

fn parse_proposal(body: &[u8]) -> Result<DisposalProposal, ServiceError> {
    serde_json::from_slice(body)
        .map_err(|e| ServiceError::internal("a disposal batch document does not parse", e))
}
