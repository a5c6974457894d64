//! The records stream's fold.

use tocsin_domain::event::Event;
use tocsin_domain::holds::HoldStage;
use tocsin_domain::ids::{DisposalBatchId, HoldId};
use tocsin_domain::records::{RecordClass, RecordQuery, RetentionSchedules};
use tocsin_domain::text::Reason;
use tocsin_domain::{ActorName, CaseId, Timestamp};
use tocsin_store::{EventEnvelope, StoredEvent, StreamId};

use super::{RecordsFoldError, fold};

const SCHEDULES: &str = "[[schedule]]\nclass = \"report\"\ntrigger = \"case_closed\"\nperiod = \"P30D\"\naction = \"dispose\"\nauthority = \"test file plan\"\n";

fn actor(s: &str) -> ActorName {
    ActorName::new(s).unwrap()
}

fn hold(n: u128) -> HoldId {
    HoldId::from_uuid(uuid::Uuid::from_u128(n))
}

fn case(n: u128) -> CaseId {
    CaseId::from_uuid(uuid::Uuid::from_u128(n))
}

fn reason() -> Reason {
    Reason::new("preservation letter").unwrap()
}

/// The records stream of `events` (by, event), at ledger positions from 100.
fn stream(events: Vec<(&str, Event)>) -> Vec<StoredEvent> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, (by, event))| StoredEvent {
            position: 100 + i as u64,
            stream: StreamId::Records,
            seq: i as u64 + 1,
            envelope: EventEnvelope {
                recorded_at: Timestamp::from_second(1_700_000_000 + i as i64).unwrap(),
                actor: actor(by),
                event,
            },
        })
        .collect()
}

fn requested(n: u128, c: u128) -> Event {
    Event::HoldRequested {
        hold_id: hold(n),
        scope: RecordQuery::cases([case(c)]).unwrap(),
        reason: reason(),
    }
}

#[test]
fn an_empty_stream_is_the_built_in_schedules_and_no_holds() {
    let s = fold(&[]).unwrap();
    assert_eq!(s.schedules, RetentionSchedules::builtin());
    assert!(s.schedules_adopted.is_none());
    assert_eq!(s.holds.iter().count(), 0);
    assert!(s.disposed.is_empty());
    assert_eq!(s.version, 0);
}

#[test]
fn the_latest_schedules_adopted_are_in_force() {
    let first = RetentionSchedules::parse(SCHEDULES, "first.toml").unwrap();
    let s = fold(&stream(vec![
        (
            "officer.a",
            Event::RetentionSchedulesAdopted {
                sha256: first.sha256.clone(),
                origin: "first.toml".into(),
                source: SCHEDULES.into(),
            },
        ),
        (
            "officer.b",
            Event::RetentionSchedulesAdopted {
                sha256: RetentionSchedules::builtin().sha256,
                origin: "second.toml".into(),
                source: tocsin_domain::records::DEFAULT_RETENTION_TOML.into(),
            },
        ),
    ]))
    .unwrap();
    assert_eq!(s.schedules.origin, "second.toml");
    assert!(s.schedules.get(RecordClass::Report).is_none());
    assert_eq!(s.schedules_adopted.unwrap().1, actor("officer.b"));
    assert_eq!(s.version, 2);

    let s = fold(&stream(vec![(
        "officer.a",
        Event::RetentionSchedulesAdopted {
            sha256: first.sha256.clone(),
            origin: "first.toml".into(),
            source: SCHEDULES.into(),
        },
    )]))
    .unwrap();
    assert_eq!(s.schedules, first);
}

#[test]
fn holds_stack_and_leave_the_fold_when_released_or_declined() {
    let s = fold(&stream(vec![
        ("officer.a", requested(1, 7)),
        ("officer.b", Event::HoldPlaced { hold_id: hold(1) }),
        ("officer.a", requested(2, 7)),
        ("officer.b", Event::HoldPlaced { hold_id: hold(2) }),
        ("officer.a", requested(3, 8)),
        (
            "officer.b",
            Event::HoldDeclined {
                hold_id: hold(3),
                reason: reason(),
            },
        ),
        (
            "officer.b",
            Event::HoldReleaseRequested {
                hold_id: hold(1),
                reason: reason(),
            },
        ),
        ("officer.a", Event::HoldReleased { hold_id: hold(1) }),
        (
            "officer.a",
            Event::HoldReleaseRequested {
                hold_id: hold(2),
                reason: reason(),
            },
        ),
    ]))
    .unwrap();
    let ids: Vec<_> = s.holds.iter().map(|h| h.id).collect();
    assert_eq!(ids, vec![hold(2)]);
    assert_eq!(
        s.holds.get(hold(2)).unwrap().stage,
        HoldStage::ReleaseRequested {
            by: actor("officer.a")
        }
    );
    let steps: Vec<_> = s.hold_steps[&hold(2)].iter().map(|x| x.kind).collect();
    assert_eq!(
        steps,
        ["hold_requested", "hold_placed", "hold_release_requested"]
    );
    assert_eq!(s.hold_steps.keys().collect::<Vec<_>>(), vec![&hold(2)]);
}

#[test]
fn a_hold_decided_by_its_requester_does_not_fold() {
    let err = fold(&stream(vec![
        ("officer.a", requested(1, 7)),
        ("officer.a", Event::HoldPlaced { hold_id: hold(1) }),
    ]))
    .unwrap_err();
    assert!(
        matches!(err, RecordsFoldError::Hold { position: 101, .. }),
        "{err}"
    );
}

#[test]
fn tombstones_are_kept_by_the_position_they_dispose_of() {
    let schedules = RetentionSchedules::parse(SCHEDULES, "t").unwrap();
    let schedule = schedules.get(RecordClass::Report).unwrap().clone();
    let s = fold(&stream(vec![(
        "officer.b",
        Event::RecordDisposed {
            position: 12,
            kind: "report_attached".into(),
            case_id: Some(case(7)),
            class: RecordClass::Report,
            schedule: schedule.clone(),
            schedules_sha256: schedules.sha256.clone(),
            eligible_at: Timestamp::from_second(1_600_000_000).unwrap(),
            batch_id: DisposalBatchId::from_uuid(uuid::Uuid::from_u128(3)),
            requested_by: actor("officer.a"),
            approved_by: actor("officer.b"),
        },
    )]))
    .unwrap();
    let t = &s.disposed[&12];
    assert_eq!((t.tombstone_position, t.position), (100, 12));
    assert_eq!(t.schedule, schedule);
    assert_eq!(t.case_id, Some(case(7)));
}
