//! Disposal batches: what the disposal job proposes, and what a second
//! person's approval turns into tombstones.
//!
//! The job [`propose`]s the records [`may_dispose`] allows at its `now`,
//! under the schedules in force (named by their SHA-256). A second person
//! [`approve`]s the batch: each record is decided again, against the holds
//! and the facts as they are at approval, so a hold requested after the
//! proposal wins and is reported; the rest become `record_disposed`
//! tombstones naming what, which schedule, who asked and who approved.
//! The requester never approves their own batch, and a batch proposed
//! under other schedules is refused whole. No IO, no clock.

use std::collections::BTreeSet;

use crate::event::Event;
use crate::holds::{Holds, Refusal, may_dispose};
use crate::ids::DisposalBatchId;
use crate::records::{Record, RetentionSchedules};
use crate::text::ActorName;
use crate::time::Timestamp;

/// A batch of records proposed for disposal, awaiting a second person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisposalBatch {
    pub batch_id: DisposalBatchId,
    pub requested_by: ActorName,
    /// Ledger positions of the records proposed.
    pub positions: BTreeSet<u64>,
    /// The schedules it was proposed under.
    pub schedules_sha256: String,
}

/// Proposes, as one batch, every record of `records` that may be disposed
/// of at `now`.
pub fn propose(
    batch_id: DisposalBatchId,
    requested_by: ActorName,
    records: &[Record],
    schedules: &RetentionSchedules,
    holds: &Holds,
    now: Timestamp,
) -> DisposalBatch {
    DisposalBatch {
        batch_id,
        requested_by,
        positions: records
            .iter()
            .filter(|r| may_dispose(r, schedules, holds, now).is_ok())
            .map(|r| r.position)
            .collect(),
        schedules_sha256: schedules.sha256.clone(),
    }
}

/// Why a batch cannot be approved at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("{0} proposed this batch; a second person must approve it")]
    SamePerson(ActorName),
    #[error(
        "the batch was proposed under retention schedules {proposed}, but {now} are in force: propose it again"
    )]
    SchedulesChanged { proposed: String, now: String },
}

/// Why one record of an approved batch is not disposed of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// It may not be disposed of now (a hold placed since, a case reopened).
    Refused(Refusal),
    /// The caller gave no facts for it: it is no longer a record to
    /// dispose of (already disposed, for example).
    Gone,
}

/// What an approval decides.
#[derive(Clone, Debug, PartialEq)]
pub struct Approved {
    /// One `record_disposed` per record to dispose of, in position order.
    pub tombstones: Vec<Event>,
    /// The batch's records left as they are, and why.
    pub skipped: Vec<(u64, Skipped)>,
}

/// A second person's approval of `batch`: `records` are the current facts
/// of its records (those not given are [`Skipped::Gone`]).
pub fn approve(
    batch: &DisposalBatch,
    approver: &ActorName,
    records: &[Record],
    schedules: &RetentionSchedules,
    holds: &Holds,
    now: Timestamp,
) -> Result<Approved, BatchError> {
    if *approver == batch.requested_by {
        return Err(BatchError::SamePerson(approver.clone()));
    }
    if batch.schedules_sha256 != schedules.sha256 {
        return Err(BatchError::SchedulesChanged {
            proposed: batch.schedules_sha256.clone(),
            now: schedules.sha256.clone(),
        });
    }
    let mut out = Approved {
        tombstones: Vec::new(),
        skipped: Vec::new(),
    };
    for &position in &batch.positions {
        let Some(r) = records.iter().find(|r| r.position == position) else {
            out.skipped.push((position, Skipped::Gone));
            continue;
        };
        if let Err(refusal) = may_dispose(r, schedules, holds, now) {
            out.skipped.push((position, Skipped::Refused(refusal)));
            continue;
        }
        // may_dispose allowed it: its class has a schedule that fell due.
        let (Some(schedule), Some(eligible_at)) =
            (schedules.get(r.class), schedules.eligible_at(r))
        else {
            out.skipped.push((position, Skipped::Gone));
            continue;
        };
        out.tombstones.push(Event::RecordDisposed {
            position,
            kind: r.kind.to_owned(),
            case_id: r.case.as_ref().map(|c| c.id),
            class: r.class,
            schedule: schedule.clone(),
            schedules_sha256: schedules.sha256.clone(),
            eligible_at,
            batch_id: batch.batch_id,
            requested_by: batch.requested_by.clone(),
            approved_by: approver.clone(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::holds::HoldCommand;
    use crate::ids::{CaseId, HoldId};
    use crate::records::{CaseFacts, RecordClass, RecordQuery};
    use crate::text::Reason;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn actor(s: &str) -> ActorName {
        ActorName::new(s).unwrap()
    }

    fn case(n: u128) -> CaseId {
        CaseId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn schedules() -> RetentionSchedules {
        RetentionSchedules::parse(
            "[[schedule]]\nclass = \"report\"\ntrigger = \"case_closed\"\nperiod = \"P1Y\"\naction = \"dispose\"\nauthority = \"test\"\n",
            "test",
        )
        .unwrap()
    }

    /// A report at `position` of case `n`, closed at `closed`.
    fn record(position: u64, n: u128, closed: Option<&str>) -> Record {
        Record {
            position,
            kind: "report_attached",
            class: RecordClass::Report,
            made_at: ts("2024-01-02T00:00:00Z"),
            case: Some(CaseFacts {
                id: case(n),
                opened_at: ts("2024-01-01T00:00:00Z"),
                closed_at: closed.map(ts),
                victims: vec![],
            }),
        }
    }

    #[test]
    fn a_batch_disposes_of_what_is_still_allowed_at_approval_and_says_why_not_the_rest() {
        let s = schedules();
        let now = ts("2026-01-01T00:00:00Z");
        let closed = Some("2024-02-01T00:00:00Z");
        let records = vec![
            record(3, 1, closed),
            record(4, 2, closed),
            record(5, 3, None),                         // case open
            record(6, 4, Some("2025-06-01T00:00:00Z")), // not yet
            record(7, 5, closed),
        ];
        let mut holds = Holds::new();
        let batch_id = DisposalBatchId::from_uuid(uuid::Uuid::from_u128(9));
        let batch = propose(batch_id, actor("officer.a"), &records, &s, &holds, now);
        assert_eq!(batch.positions, BTreeSet::from([3, 4, 7]));

        // The proposer cannot approve it.
        assert_eq!(
            approve(&batch, &actor("officer.a"), &records, &s, &holds, now),
            Err(BatchError::SamePerson(actor("officer.a")))
        );
        // Other schedules in force: refused whole.
        let other = RetentionSchedules::builtin();
        assert!(matches!(
            approve(&batch, &actor("officer.b"), &records, &other, &holds, now),
            Err(BatchError::SchedulesChanged { .. })
        ));

        // A hold over case 2 requested after the proposal; record 7 gone.
        let hold_event = holds
            .handle(
                HoldCommand::Request {
                    hold_id: HoldId::from_uuid(uuid::Uuid::from_u128(1)),
                    scope: RecordQuery::cases([case(2)]).unwrap(),
                    reason: Reason::new("preservation letter").unwrap(),
                },
                &actor("officer.c"),
            )
            .unwrap();
        holds.apply(&hold_event, &actor("officer.c")).unwrap();
        let now_records: Vec<Record> = records.into_iter().filter(|r| r.position != 7).collect();
        let a = approve(&batch, &actor("officer.b"), &now_records, &s, &holds, now).unwrap();
        assert_eq!(a.tombstones.len(), 1);
        let Event::RecordDisposed {
            position,
            kind,
            case_id,
            class,
            schedule,
            schedules_sha256,
            eligible_at,
            batch_id: b,
            requested_by,
            approved_by,
        } = &a.tombstones[0]
        else {
            panic!("a tombstone: {:?}", a.tombstones[0]);
        };
        assert_eq!((*position, kind.as_str()), (3, "report_attached"));
        assert_eq!((*case_id, *class), (Some(case(1)), RecordClass::Report));
        assert_eq!(schedule, s.get(RecordClass::Report).unwrap());
        assert_eq!(schedules_sha256, &s.sha256);
        assert_eq!(*eligible_at, ts("2025-02-01T00:00:00Z"));
        assert_eq!(*b, batch_id);
        assert_eq!(
            (requested_by, approved_by),
            (&actor("officer.a"), &actor("officer.b"))
        );
        assert_eq!(a.skipped.len(), 2);
        assert!(matches!(
            a.skipped[0],
            (4, Skipped::Refused(Refusal::Held { .. }))
        ));
        assert_eq!(a.skipped[1], (7, Skipped::Gone));
    }
}
