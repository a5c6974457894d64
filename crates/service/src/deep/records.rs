//! The records stream as the ledger bears it out (`--deep`, point 4 of
//! [the module](super)). The stream is folded in order, as the service
//! folds it ([`RecordsState`]), and before each event:
//!
//! * a hold's approval, decline or release is by a second person: not the
//!   one who asked, nor one whose credential descends from a secret the
//!   other set (the fold itself refuses the same account);
//! * a tombstone is the only one naming its leaf, its batch's two people
//!   are two, it cites the schedule then in force for its class (action
//!   dispose), the record was eligible by then (for a schedule keyed to
//!   the case's closure, at exactly the time the case's fold up to the
//!   tombstone gives), and no hold then in force covered the record.
//!
//! * an oversight export (`records_exported`) names every case its query
//!   covered as the ledger stood before it (save those the exporter may
//!   not know exist): the bag proves itself complete within the cases it
//!   names, and this proves the cases are the query's.
//!
//! Then every version-2 leaf without its content is named by a tombstone,
//! and no tombstone names a leaf that still has its content.
//!
//! What the ledger can no longer show is not claimed: a disposed record's
//! own time is gone with it (its leaf holds none), so a record of no case
//! is held to a hold by period only when every time it could have had
//! (from the epoch to its tombstone) falls in the hold's period; and a
//! victim's name is known only from reports still readable, so a hold by
//! a name that only disposed reports bore is not seen.

use std::collections::HashMap;

use tocsin_domain::access::{Visibility, visibility};
use tocsin_domain::event::Event;
use tocsin_domain::holds::HoldStage;
use tocsin_domain::records::{Record, RecordQuery, RetentionAction, Trigger};
use tocsin_domain::{CaseId, Timestamp};
use tocsin_store::{StoredEvent, StreamId};

use super::{Discrepancy, History};
use crate::records::RecordsState;
use crate::records::gather::{Folded, fold_case};
use crate::{Service, ServiceError};

impl Service {
    /// [The module](self)'s checks: the first discrepancy, if any.
    pub(super) async fn check_records(
        &self,
        history: &History,
    ) -> Result<Result<(), Discrepancy>, ServiceError> {
        let mut state = RecordsState::default();
        // Tombstone position by the position it names.
        let mut named: HashMap<u64, u64> = HashMap::new();
        let mut cases: HashMap<CaseId, Vec<StoredEvent>> = HashMap::new();
        let mut exports: Vec<StoredEvent> = Vec::new();
        for t in self.store.read_stream(&StreamId::Records).await? {
            let problem = match &t.envelope.event {
                Event::HoldPlaced { hold_id }
                | Event::HoldReleased { hold_id }
                | Event::HoldDeclined { hold_id, .. } => {
                    let asked = state.holds.get(*hold_id).and_then(|h| match &h.stage {
                        HoldStage::Requested => Some(&h.requested_by),
                        HoldStage::ReleaseRequested { by } => Some(by),
                        HoldStage::Placed => None,
                    });
                    let by = &t.envelope.actor;
                    asked
                        .filter(|a| history.one_person(a, by, t.position))
                        .map(|a| {
                            format!(
                                "hold {hold_id}: {a} asked and {by} decided ({}): not two people",
                                t.envelope.event.kind()
                            )
                        })
                }
                Event::RecordsExported { .. } => {
                    exports.push(t.clone());
                    None
                }
                Event::RecordDisposed { position, .. } => match named.insert(*position, t.position)
                {
                    Some(first) => Some(format!(
                        "the leaf at {position} is named by two tombstones (the other at {first})"
                    )),
                    None => {
                        self.disposal_refused(history, &state, &t, &mut cases)
                            .await?
                    }
                },
                _ => None,
            };
            let problem = match problem {
                Some(p) => Some(p),
                None => state.apply(&t).err().map(|e| e.to_string()),
            };
            if let Some(problem) = problem {
                return Ok(Err(Discrepancy {
                    position: Some(t.position),
                    problem,
                }));
            }
        }
        if let Some(d) = self.check_exports(history, &exports, &cases).await? {
            return Ok(Err(d));
        }
        let mut from = 0u64;
        loop {
            let page = self.store.read_leaves(from, 1000).await?;
            let Some(last) = page.last_position() else {
                break;
            };
            for row in page.iter() {
                let gone = row.leaf.first() == Some(&2) && row.content.is_none();
                let problem = match (gone, named.get(&row.position)) {
                    (true, None) => (
                        row.position,
                        "the content of this version-2 leaf is gone and no tombstone names it"
                            .to_owned(),
                    ),
                    (false, Some(t)) => (
                        *t,
                        format!(
                            "the tombstone names the leaf at {}, which still has its content",
                            row.position
                        ),
                    ),
                    _ => continue,
                };
                return Ok(Err(Discrepancy {
                    position: Some(problem.0),
                    problem: problem.1,
                }));
            }
            from = last + 1;
        }
        Ok(Ok(()))
    }

    /// Each `records_exported` of `exports` names every case its query
    /// covered as the ledger stood just before it: else the export's
    /// scope was narrower than its query, which the bag alone cannot
    /// show. A case the exporter could not see and whose existence is
    /// restricted is rightly left out (it answers as missing); one it
    /// could not see otherwise is withheld, so named. Each case stream is
    /// read once for all the exports (not again if the tombstones' checks
    /// read it: `read`).
    async fn check_exports(
        &self,
        history: &History,
        exports: &[StoredEvent],
        read: &HashMap<CaseId, Vec<StoredEvent>>,
    ) -> Result<Option<Discrepancy>, ServiceError> {
        if exports.is_empty() {
            return Ok(None);
        }
        for id in self.store.case_ids().await? {
            let stream = match read.get(&id) {
                Some(s) => std::borrow::Cow::Borrowed(s),
                None => std::borrow::Cow::Owned(self.store.read_stream(&StreamId::Case(id)).await?),
            };
            for t in exports {
                let Event::RecordsExported {
                    export_id,
                    query,
                    cases,
                    ..
                } = &t.envelope.event
                else {
                    continue;
                };
                if !cases.contains(&id) && covered(history, t, query, id, &stream) {
                    return Ok(Some(Discrepancy {
                        position: Some(t.position),
                        problem: format!(
                            "export {export_id} left out case {id}, which its query covered then"
                        ),
                    }));
                }
            }
        }
        Ok(None)
    }

    /// Why the rules in force at tombstone `t` (folded in `state`) did
    /// not allow it, if they did not. `cases` keeps the case streams read.
    async fn disposal_refused(
        &self,
        history: &History,
        state: &RecordsState,
        t: &StoredEvent,
        cases: &mut HashMap<CaseId, Vec<StoredEvent>>,
    ) -> Result<Option<String>, ServiceError> {
        let Event::RecordDisposed {
            position,
            case_id,
            class,
            schedule,
            schedules_sha256,
            eligible_at,
            requested_by,
            approved_by,
            ..
        } = &t.envelope.event
        else {
            return Ok(None);
        };
        let at = t.envelope.recorded_at;
        if history.one_person(requested_by, approved_by, t.position) {
            return Ok(Some(format!(
                "the disposal was requested by {requested_by} and approved by {approved_by}: not two people"
            )));
        }
        if state.schedules.get(*class) != Some(schedule)
            || *schedules_sha256 != state.schedules.sha256
        {
            return Ok(Some(format!(
                "the tombstone cites a schedule for {} that was not the one in force",
                class.as_str()
            )));
        }
        if schedule.action != RetentionAction::Dispose {
            return Ok(Some(format!(
                "the schedule for {} asks for {}, not disposal",
                class.as_str(),
                schedule.action.as_str()
            )));
        }
        if *eligible_at > at {
            return Ok(Some(format!(
                "the leaf at {position} was disposed of at {at}, before it was eligible ({eligible_at})"
            )));
        }
        let case = match case_id {
            Some(id) => {
                if !cases.contains_key(id) {
                    let events = self.store.read_stream(&StreamId::Case(*id)).await?;
                    cases.insert(*id, events);
                }
                facts_before(*id, &cases[id], t.position)
            }
            None => None,
        };
        let closure_known = case.as_ref().is_none_or(|(_, known)| *known);
        let case = case.map(|(f, _)| f.facts);
        let record = |made_at: Timestamp| Record {
            position: *position,
            // The kind it reads as now; no rule here looks at it.
            kind: "disposed_record",
            class: *class,
            made_at,
            case: case.clone(),
        };
        let latest = record(at);
        if schedule.trigger == Trigger::CaseClosed && closure_known {
            let due = schedule.due_at(&latest);
            if due != Some(*eligible_at) {
                return Ok(Some(match due {
                    Some(d) => format!(
                        "the tombstone says the leaf at {position} was eligible at {eligible_at}; its case's closure makes it {d}"
                    ),
                    None => format!(
                        "the leaf at {position} was disposed of under a schedule keyed to its case's closure, and its case was not closed"
                    ),
                }));
            }
        }
        // A record of no case is held by period only if every time it
        // could have had lies in the period (see the module).
        let earliest = record(Timestamp::from_second(0).unwrap_or(at));
        let held: Vec<_> = state
            .holds
            .covering(&latest)
            .into_iter()
            .filter(|h| latest.case.is_some() || state.holds.covering(&earliest).contains(h))
            .collect();
        Ok(held
            .first()
            .map(|h| format!("the leaf at {position} was disposed of while hold {h} covered it")))
    }
}

/// Whether the query of export `t` covered case `id` (its `stream` as
/// read now) as the ledger stood just before `t`, for the exporter: the
/// case had a record then (a record event, or one disposed of since:
/// a placeholder whose tombstone is later), its facts then match, and
/// the exporter could know it exists.
fn covered(
    history: &History,
    t: &StoredEvent,
    query: &RecordQuery,
    id: CaseId,
    stream: &[StoredEvent],
) -> bool {
    let at = t.position;
    let class = stream
        .iter()
        .filter(|e| e.position < at)
        .find_map(|e| match &e.envelope.event {
            Event::DisposedRecord {
                tombstone, class, ..
            } => (*tombstone > at).then_some(*class),
            ev => ev.record_class(),
        });
    let (Some(class), Some((folded, _))) = (class, facts_before(id, stream, at)) else {
        return false;
    };
    let marking = folded.case.marking();
    let record = Record {
        position: 0,
        kind: "case",
        class,
        made_at: folded.case.opened_at,
        case: Some(folded.facts),
    };
    if !query.matches(&record) {
        return false;
    }
    let levels = history.levels(at);
    let seen = history
        .account(&t.envelope.actor, at)
        .is_some_and(|a| visibility(a, &a.spec.roles, &levels, &marking) == Visibility::Visible);
    seen || !marking.existence_restricted
}

/// Case `id` as the ledger stood before position `at`, from its `stream`
/// as read now (`None` when it does not fold), and whether its closure
/// is known. A record disposed of at or after `at` was there then but
/// reads as its placeholder now: if it was the case's closure (an
/// outcome, a closing), when the case closed is unknown, and the facts
/// say it closed when it opened, the least any rule may assume (a hold
/// or query by period that covers the case so covers it for sure). A
/// report disposed of so only leaves its victims out, which also
/// assumes less.
fn facts_before(id: CaseId, stream: &[StoredEvent], at: u64) -> Option<(Folded, bool)> {
    let before: Vec<StoredEvent> = stream.iter().filter(|e| e.position < at).cloned().collect();
    let mut folded = fold_case(id, &before)?;
    let known = !before.iter().any(|e| {
        matches!(&e.envelope.event, Event::DisposedRecord { tombstone, kind, .. }
            if *tombstone >= at && matches!(kind.as_str(), "outcome_recorded" | "case_closed"))
    });
    if !known {
        folded.facts.closed_at = Some(folded.facts.opened_at);
    }
    Some((folded, known))
}
