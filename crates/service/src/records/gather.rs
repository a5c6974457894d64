//! The records of the ledger, gathered with the facts retention and holds
//! decide on: each event of a record class (`Event::record_class`) on a
//! case stream, the access stream or the exchange stream, with its case's
//! facts (opened, closed if closed now, its victims' names) from the
//! case's fold.

use std::collections::BTreeMap;

use tocsin_domain::access::ClearanceLevels;
use tocsin_domain::case::{Case, CaseState};
use tocsin_domain::event::Event;
use tocsin_domain::records::{CaseFacts, Record};
use tocsin_domain::{CaseId, Timestamp};
use tocsin_store::{StoreError, StoredEvent, StreamId};

use super::RecordsState;
use crate::access::Principal;
use crate::{Service, ServiceError};

/// Which records to gather.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordScope {
    /// Every record of the ledger: every case stream, the access stream
    /// and the exchange stream.
    All,
    /// The records of one case: its stream, and the access and exchange
    /// records about it.
    Case(CaseId),
}

/// A case as records need it: its facts, and the case itself for
/// visibility.
pub(crate) struct Folded {
    pub(crate) facts: CaseFacts,
    pub(crate) case: Case,
}

impl Service {
    /// Every record of `scope` (in ledger order), except those `state`
    /// names as disposed of. Not narrowed to anyone's view: for the
    /// disposal job and the export, which decide on every record.
    pub(crate) async fn records(
        &self,
        state: &RecordsState,
        scope: RecordScope,
    ) -> Result<Vec<Record>, ServiceError> {
        let (records, _) = self.gather_records(state, scope).await?;
        Ok(records)
    }

    /// [`Service::records`] narrowed to what `p` may see: the records of
    /// cases `p` may see, and the records of no case.
    pub(crate) async fn visible_records(
        &self,
        p: &Principal,
        state: &RecordsState,
        scope: RecordScope,
    ) -> Result<Vec<Record>, ServiceError> {
        let levels: ClearanceLevels = self.clearance_levels().await?;
        let (records, cases) = self.gather_records(state, scope).await?;
        Ok(records
            .into_iter()
            .filter(|r| match &r.case {
                None => true,
                Some(c) => cases
                    .get(&c.id)
                    .is_some_and(|f| Service::sees(p, &f.case, &levels)),
            })
            .collect())
    }

    async fn gather_records(
        &self,
        state: &RecordsState,
        scope: RecordScope,
    ) -> Result<(Vec<Record>, BTreeMap<CaseId, Folded>), ServiceError> {
        let case_ids = match scope {
            RecordScope::All => self.store.case_ids().await?,
            RecordScope::Case(id) => vec![id],
        };
        let mut cases = BTreeMap::new();
        let mut events = Vec::new();
        for id in case_ids {
            let Some(stream) = self.stream_unless_disposed(StreamId::Case(id)).await? else {
                continue;
            };
            if let Some(folded) = fold_case(id, &stream) {
                cases.insert(id, folded);
            }
            events.extend(stream);
        }
        for stream in [StreamId::Access, StreamId::Exchange] {
            let Some(stream) = self.stream_unless_disposed(stream).await? else {
                continue;
            };
            events.extend(stream.into_iter().filter(|e| match scope {
                RecordScope::All => true,
                RecordScope::Case(id) => case_named(&e.envelope.event) == Some(id),
            }));
        }
        // An access record about a case that does not exist (a refused
        // read of a missing case) has no case facts.
        let mut records: Vec<Record> = events
            .iter()
            .filter(|e| !is_disposed(e, state))
            .filter_map(|e| {
                let class = e.envelope.event.record_class()?;
                let case_id = e.stream.case().or_else(|| case_named(&e.envelope.event));
                Some(Record {
                    position: e.position,
                    kind: e.envelope.event.kind(),
                    class,
                    made_at: e.envelope.recorded_at,
                    case: case_id
                        .and_then(|id| cases.get(&id))
                        .map(|f| f.facts.clone()),
                })
            })
            .collect();
        records.sort_by_key(|r| r.position);
        Ok((records, cases))
    }

    /// A stream's events, or `None` when the store refuses to read it as
    /// `StoreError::Disposed`: content gone with no tombstone naming it,
    /// destroyed outside tocsin (`audit verify` fails there). A disposed
    /// event reads as its placeholder (`Event::DisposedRecord`), which has
    /// no record class, so it is no record here.
    async fn stream_unless_disposed(
        &self,
        stream: StreamId,
    ) -> Result<Option<Vec<StoredEvent>>, ServiceError> {
        match self.store.read_stream(&stream).await {
            Ok(events) => Ok(Some(events)),
            Err(StoreError::Disposed { position }) => {
                tracing::warn!(%stream, position, "a stream with a disposed event is left out of the records");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Whether the event was disposed of: a tombstone names its position (its
/// placeholder has no record class either).
fn is_disposed(e: &StoredEvent, state: &RecordsState) -> bool {
    state.disposed.contains_key(&e.position)
}

/// The case an event of the access or exchange stream is about, if any.
fn case_named(event: &Event) -> Option<CaseId> {
    match event {
        Event::ContentRead { case_id, .. } | Event::StixReportAssessed { case_id, .. } => {
            Some(*case_id)
        }
        Event::AccessRefused {
            target: Some(t), ..
        } => t.strip_prefix("case/").and_then(|id| id.parse().ok()),
        _ => None,
    }
}

/// A case's facts from its fold: `None` when it does not fold (a case
/// the store holds but cannot be decided on; its records are gathered
/// without facts, so no schedule keyed to its closure reaches them).
pub(crate) fn fold_case(id: CaseId, events: &[StoredEvent]) -> Option<Folded> {
    let recorded: Vec<_> = events.iter().map(StoredEvent::to_recorded).collect();
    let case = match Case::from_events(&recorded) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(case = %id, error = %e, "a case that does not fold is gathered without its facts");
            return None;
        }
    };
    let closed_at = (case.state == CaseState::Closed)
        .then(|| last_closure(events))
        .flatten();
    let victims = case
        .reports
        .iter()
        .flat_map(|r| r.report.target.victims.iter())
        .filter_map(|v| v.name.clone())
        .collect();
    Some(Folded {
        facts: CaseFacts {
            id,
            opened_at: case.opened_at,
            closed_at,
            victims,
        },
        case,
    })
}

/// When the case last closed: its last `case_closed`, or an outcome that
/// closed it.
fn last_closure(events: &[StoredEvent]) -> Option<Timestamp> {
    events
        .iter()
        .rev()
        .find(|e| {
            matches!(
                e.envelope.event,
                Event::CaseClosed { .. }
                    | Event::OutcomeRecorded {
                        keeps_open: false,
                        ..
                    }
            )
        })
        .map(|e| e.envelope.recorded_at)
}

#[cfg(test)]
mod tests {
    use tocsin_domain::ActorName;
    use tocsin_domain::event::ClosureGrounds;
    use tocsin_store::EventEnvelope;

    use super::*;

    fn at(event: Event, second: i64) -> StoredEvent {
        StoredEvent {
            position: second as u64,
            stream: StreamId::Access,
            seq: 1,
            envelope: EventEnvelope {
                recorded_at: Timestamp::from_second(1_700_000_000 + second).unwrap(),
                actor: ActorName::new("someone").unwrap(),
                event,
            },
        }
    }

    #[test]
    fn an_access_record_names_the_case_it_is_about() {
        let id = CaseId::from_uuid(uuid::Uuid::from_u128(7));
        let refused = |target: Option<String>| Event::AccessRefused {
            action: "get_case".into(),
            target,
            reason: "no".into(),
        };
        assert_eq!(case_named(&refused(Some(format!("case/{id}")))), Some(id));
        assert_eq!(case_named(&refused(Some("case/2024-0001".into()))), None);
        assert_eq!(case_named(&refused(None)), None);
        let read = Event::ContentRead {
            case_id: id,
            parts: vec![],
        };
        assert_eq!(case_named(&read), Some(id));
    }

    #[test]
    fn a_case_closes_at_its_last_closure() {
        let closed = || Event::CaseClosed {
            grounds: ClosureGrounds::NoDuty,
        };
        let events = [at(closed(), 1), at(closed(), 5)];
        assert_eq!(
            last_closure(&events),
            Some(Timestamp::from_second(1_700_000_005).unwrap())
        );
        assert_eq!(last_closure(&[]), None);
    }
}
