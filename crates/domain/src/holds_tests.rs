//! Tests of legal holds and the disposal decision (`crate::holds`), with a
//! property test over random histories of holds, releases and disposals.

use std::collections::BTreeSet;

use proptest::prelude::*;

use crate::event::Event;
use crate::holds::{HoldCommand, HoldError, HoldStage, Holds, Refusal, may_dispose};
use crate::ids::{CaseId, HoldId};
use crate::records::{CaseFacts, Record, RecordClass, RecordQuery, RetentionSchedules};
use crate::text::{ActorName, Name, Reason};
use crate::time::Timestamp;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn actor(s: &str) -> ActorName {
    ActorName::new(s).unwrap()
}

fn reason(s: &str) -> Reason {
    Reason::new(s).unwrap()
}

fn case(n: u128) -> CaseId {
    CaseId::from_uuid(uuid::Uuid::from_u128(n))
}

fn hold(n: u128) -> HoldId {
    HoldId::from_uuid(uuid::Uuid::from_u128(n))
}

/// Reports disposed of a day after their case closes.
fn schedules() -> RetentionSchedules {
    RetentionSchedules::parse(
        r#"
[[schedule]]
class = "report"
trigger = "case_closed"
period = "P1D"
action = "dispose"
authority = "test schedule"
"#,
        "test",
    )
    .unwrap()
}

/// A report of case `n`, whose case closed on 2024-02-01.
fn record(n: u128) -> Record {
    Record {
        position: n as u64,
        kind: "report_attached",
        class: RecordClass::Report,
        made_at: ts("2024-01-02T00:00:00Z"),
        case: Some(CaseFacts {
            id: case(n),
            opened_at: ts("2024-01-01T00:00:00Z"),
            closed_at: Some(ts("2024-02-01T00:00:00Z")),
            victims: vec![Name::new("Jamal Khashoggi").unwrap()],
        }),
    }
}

const NOW: &str = "2030-01-01T00:00:00Z";

/// Runs `cmd` as `who` and folds its event.
fn run(holds: &mut Holds, who: &str, cmd: HoldCommand) -> Result<Event, HoldError> {
    let a = actor(who);
    let e = holds.handle(cmd, &a)?;
    holds.apply(&e, &a).expect("a decided event folds");
    Ok(e)
}

fn place(holds: &mut Holds, id: u128, cases: &[u128]) {
    let scope = RecordQuery::cases(cases.iter().map(|c| case(*c))).unwrap();
    run(
        holds,
        "officer.a",
        HoldCommand::Request {
            hold_id: hold(id),
            scope,
            reason: reason("litigation"),
        },
    )
    .unwrap();
    run(
        holds,
        "officer.b",
        HoldCommand::Approve { hold_id: hold(id) },
    )
    .unwrap();
}

fn release(holds: &mut Holds, id: u128) {
    run(
        holds,
        "officer.a",
        HoldCommand::RequestRelease {
            hold_id: hold(id),
            reason: reason("settled"),
        },
    )
    .unwrap();
    run(
        holds,
        "officer.b",
        HoldCommand::Approve { hold_id: hold(id) },
    )
    .unwrap();
}

#[test]
fn under_a_hold_disposal_is_refused_and_releasing_one_of_two_still_refuses() {
    let s = schedules();
    let now = ts(NOW);
    let r = record(1);
    let mut holds = Holds::new();
    assert_eq!(may_dispose(&r, &s, &holds, now), Ok(()));

    place(&mut holds, 10, &[1]);
    place(&mut holds, 11, &[1, 2]);
    assert_eq!(
        may_dispose(&r, &s, &holds, now),
        Err(Refusal::Held {
            holds: vec![hold(10), hold(11)]
        })
    );
    release(&mut holds, 10);
    assert_eq!(
        may_dispose(&r, &s, &holds, now),
        Err(Refusal::Held {
            holds: vec![hold(11)]
        }),
        "the other hold still covers it"
    );
    release(&mut holds, 11);
    assert_eq!(may_dispose(&r, &s, &holds, now), Ok(()));
    // Eligibility still applies: not one second before the period ends.
    let at = s.eligible_at(&r).unwrap();
    assert_eq!(
        may_dispose(&r, &s, &holds, at - jiff::SignedDuration::from_secs(1)),
        Err(Refusal::NotYet { eligible_at: at })
    );
    assert_eq!(may_dispose(&r, &s, &holds, at), Ok(()));
}

#[test]
fn a_hold_covers_from_its_request_until_its_release_is_approved() {
    let s = schedules();
    let now = ts(NOW);
    let r = record(1);
    let mut holds = Holds::new();
    let scope = RecordQuery::cases([case(1)]).unwrap();
    let request = |id| HoldCommand::Request {
        hold_id: hold(id),
        scope: scope.clone(),
        reason: reason("preservation letter"),
    };
    run(&mut holds, "officer.a", request(1)).unwrap();
    assert!(
        may_dispose(&r, &s, &holds, now).is_err(),
        "requested covers"
    );
    // The requester cannot approve or decline their own request.
    let e = run(
        &mut holds,
        "officer.a",
        HoldCommand::Approve { hold_id: hold(1) },
    )
    .unwrap_err();
    assert!(matches!(e, HoldError::SamePerson { .. }), "{e}");
    assert!(e.to_string().contains("cannot decide it"), "{e}");
    // A declined request ends the hold.
    run(
        &mut holds,
        "officer.b",
        HoldCommand::Decline {
            hold_id: hold(1),
            reason: reason("no litigation is pending"),
        },
    )
    .unwrap();
    assert_eq!(may_dispose(&r, &s, &holds, now), Ok(()));

    place(&mut holds, 2, &[1]);
    // A release cannot be asked for twice, nor approved by its asker.
    run(
        &mut holds,
        "officer.b",
        HoldCommand::RequestRelease {
            hold_id: hold(2),
            reason: reason("settled"),
        },
    )
    .unwrap();
    assert_eq!(
        holds.get(hold(2)).unwrap().stage,
        HoldStage::ReleaseRequested {
            by: actor("officer.b")
        }
    );
    assert!(
        may_dispose(&r, &s, &holds, now).is_err(),
        "release pending covers"
    );
    assert!(matches!(
        run(
            &mut holds,
            "officer.b",
            HoldCommand::Approve { hold_id: hold(2) }
        ),
        Err(HoldError::SamePerson { .. })
    ));
    // Declining the release keeps the hold placed.
    run(
        &mut holds,
        "officer.a",
        HoldCommand::Decline {
            hold_id: hold(2),
            reason: reason("the appeal is pending"),
        },
    )
    .unwrap();
    assert_eq!(holds.get(hold(2)).unwrap().stage, HoldStage::Placed);
    assert!(may_dispose(&r, &s, &holds, now).is_err());
    assert_eq!(
        run(
            &mut holds,
            "officer.c",
            HoldCommand::Approve { hold_id: hold(2) }
        ),
        Err(HoldError::NothingPending(hold(2)))
    );
    assert_eq!(
        run(&mut holds, "officer.c", request(2)),
        Err(HoldError::Exists(hold(2)))
    );
    assert_eq!(
        run(
            &mut holds,
            "officer.c",
            HoldCommand::Approve { hold_id: hold(9) }
        ),
        Err(HoldError::Unknown(hold(9)))
    );
}

#[test]
fn the_schedule_refuses_what_no_hold_does() {
    let s = schedules();
    let holds = Holds::new();
    let now = ts(NOW);
    let mut r = record(1);
    r.class = RecordClass::Waiver;
    assert_eq!(
        may_dispose(&r, &s, &holds, now),
        Err(Refusal::Unscheduled(RecordClass::Waiver))
    );
    let builtin = RetentionSchedules::builtin();
    assert_eq!(
        may_dispose(&r, &builtin, &holds, now),
        Err(Refusal::Permanent(RecordClass::Waiver))
    );
    let mut open = record(1);
    open.case.as_mut().unwrap().closed_at = None;
    assert!(matches!(
        may_dispose(&open, &s, &holds, now),
        Err(Refusal::Waiting { .. })
    ));
}

#[test]
fn queries_match_cases_victims_and_dates() {
    let r = record(1);
    let q = |cases: &[u128], victim: Option<&str>, from: Option<&str>, until: Option<&str>| {
        RecordQuery::new(
            cases.iter().map(|c| case(*c)).collect(),
            victim.map(|v| Name::new(v).unwrap()),
            from.map(ts),
            until.map(ts),
        )
        .unwrap()
    };
    assert!(q(&[1], None, None, None).matches(&r));
    assert!(!q(&[2], None, None, None).matches(&r));
    assert!(q(&[], Some("  jamal KHASHOGGI "), None, None).matches(&r));
    assert!(!q(&[], Some("Jamal"), None, None).matches(&r));
    // The case was open 2024-01-01..2024-02-01: overlapping ranges match.
    assert!(q(&[], None, Some("2024-01-31T00:00:00Z"), None).matches(&r));
    assert!(q(&[], None, None, Some("2024-01-01T00:00:00Z")).matches(&r));
    assert!(!q(&[], None, Some("2024-02-02T00:00:00Z"), None).matches(&r));
    assert!(
        !q(
            &[1],
            Some("Jamal Khashoggi"),
            Some("2025-01-01T00:00:00Z"),
            None
        )
        .matches(&r)
    );
    // A record of no case matches by the time it was made, never by case or victim.
    let log = Record {
        case: None,
        class: RecordClass::AccessLog,
        ..record(1)
    };
    assert!(
        q(
            &[],
            None,
            Some("2024-01-02T00:00:00Z"),
            Some("2024-01-02T00:00:00Z")
        )
        .matches(&log)
    );
    assert!(!q(&[1], None, None, None).matches(&log));
    assert!(!q(&[], Some("Jamal Khashoggi"), None, None).matches(&log));
    // A query that would cover everything, or nothing, is refused.
    assert!(RecordQuery::new(BTreeSet::new(), None, None, None).is_err());
    assert!(
        RecordQuery::new(
            BTreeSet::new(),
            None,
            Some(ts("2024-02-01T00:00:00Z")),
            Some(ts("2024-01-01T00:00:00Z"))
        )
        .is_err()
    );
    assert!(serde_json::from_str::<RecordQuery>("{}").is_err());
    assert!(serde_json::from_str::<RecordQuery>(r#"{"victim":"x","where":1}"#).is_err());
}

#[test]
fn records_events_have_the_wire_form_of_events() {
    let e = Event::HoldRequested {
        hold_id: hold(1),
        scope: RecordQuery::new(
            BTreeSet::from([case(2)]),
            Some(Name::new("Jamal Khashoggi").unwrap()),
            None,
            Some(ts("2018-10-02T00:00:00Z")),
        )
        .unwrap(),
        reason: reason("FOIA litigation"),
    };
    let json = serde_json::to_string(&e).unwrap();
    assert_eq!(
        json,
        r#"{"type":"hold_requested","hold_id":"00000000-0000-0000-0000-000000000001","scope":{"cases":["00000000-0000-0000-0000-000000000002"],"victim":"Jamal Khashoggi","until":"2018-10-02T00:00:00Z"},"reason":"FOIA litigation"}"#
    );
    assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
    assert_eq!(e.kind(), "hold_requested");
    let s = schedules();
    let tomb = Event::RecordDisposed {
        position: 41,
        kind: "report_attached".into(),
        case_id: Some(case(2)),
        class: RecordClass::Report,
        schedule: s.get(RecordClass::Report).unwrap().clone(),
        schedules_sha256: s.sha256.clone(),
        eligible_at: ts("2024-02-02T00:00:00Z"),
        batch_id: crate::ids::DisposalBatchId::from_uuid(uuid::Uuid::from_u128(3)),
        requested_by: actor("officer.a"),
        approved_by: actor("officer.b"),
    };
    let json = serde_json::to_string(&tomb).unwrap();
    assert!(
        json.starts_with(r#"{"type":"record_disposed","position":41,"kind":"report_attached""#),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), tomb);
    assert!(tomb.summary().contains("position 41"), "{}", tomb.summary());
    // Every variant's kind is its wire type.
    let every = [
        Event::RetentionSchedulesAdopted {
            sha256: s.sha256.clone(),
            origin: s.origin.clone(),
            source: s.source.clone(),
        },
        e,
        Event::HoldPlaced { hold_id: hold(1) },
        Event::HoldDeclined {
            hold_id: hold(1),
            reason: reason("no"),
        },
        Event::HoldReleaseRequested {
            hold_id: hold(1),
            reason: reason("settled"),
        },
        Event::HoldReleased { hold_id: hold(1) },
        tomb,
    ];
    for ev in every {
        let v = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["type"], ev.kind(), "{v}");
        assert!(!ev.summary().is_empty());
        assert_eq!(serde_json::from_value::<Event>(v).unwrap(), ev);
    }
}

// ---- random histories ----

const CASES: u128 = 4;
const RECORDS: u128 = 6;
const HOLDS: u128 = 4;
const PEOPLE: [&str; 3] = ["officer.a", "officer.b", "officer.c"];

#[derive(Clone, Debug)]
enum Op {
    Request {
        h: u128,
        cases: u8,
        who: usize,
    },
    Approve {
        h: u128,
        who: usize,
    },
    Decline {
        h: u128,
        who: usize,
    },
    RequestRelease {
        h: u128,
        who: usize,
    },
    Dispose {
        r: u128,
    },
    /// The disposal job proposes a batch (`crate::disposal`).
    Propose {
        who: usize,
    },
    /// A person approves the latest batch.
    ApproveBatch {
        who: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let h = 0..HOLDS;
    let who = 0..PEOPLE.len();
    prop_oneof![
        (h.clone(), 1u8..(1 << CASES), who.clone()).prop_map(|(h, cases, who)| Op::Request {
            h,
            cases,
            who
        }),
        (h.clone(), who.clone()).prop_map(|(h, who)| Op::Approve { h, who }),
        (h.clone(), who.clone()).prop_map(|(h, who)| Op::Decline { h, who }),
        (h, who).prop_map(|(h, who)| Op::RequestRelease { h, who }),
        (0..RECORDS).prop_map(|r| Op::Dispose { r }),
        (0..PEOPLE.len()).prop_map(|who| Op::Propose { who }),
        (0..PEOPLE.len()).prop_map(|who| Op::ApproveBatch { who }),
    ]
}

/// The oracle's hold: which cases (a bit mask), who asked for what is
/// pending, and whether it is placed.
#[derive(Clone, Copy, Debug)]
struct Model {
    cases: u8,
    placed: bool,
    pending: Option<usize>,
}

/// Record `r` belongs to case `r % CASES`.
fn random_record(r: u128) -> Record {
    let mut rec = record(r % CASES);
    rec.position = r as u64;
    rec
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, .. ProptestConfig::default() })]

    /// No record is disposed of while any hold covers it; a record no hold
    /// covers (and due) is disposed of; every command is accepted exactly
    /// when a plain model of the two-person steps says so; and folding the
    /// events again gives the same holds.
    #[test]
    fn no_record_is_disposed_of_while_held(ops in proptest::collection::vec(op(), 1..40)) {
        let s = schedules();
        let now = ts(NOW);
        let mut holds = Holds::new();
        let mut model: [Option<Model>; HOLDS as usize] = [None; HOLDS as usize];
        let mut disposed = BTreeSet::new();
        let mut log: Vec<(Event, ActorName)> = Vec::new();
        let mut batch: Option<crate::disposal::DisposalBatch> = None;
        for op in ops {
            let held_now = |model: &[Option<Model>], r: u128| {
                model.iter().flatten().any(|m| m.cases & (1 << (r % CASES)) != 0)
            };
            let present = |disposed: &BTreeSet<u128>| -> Vec<Record> {
                (0..RECORDS).filter(|r| !disposed.contains(r)).map(random_record).collect()
            };
            if let Op::Propose { who } = op {
                let b = crate::disposal::propose(
                    crate::ids::DisposalBatchId::from_uuid(uuid::Uuid::from_u128(1)),
                    actor(PEOPLE[who]),
                    &present(&disposed),
                    &s,
                    &holds,
                    now,
                );
                for p in &b.positions {
                    prop_assert!(!held_now(&model, u128::from(*p)), "held record {p} proposed");
                }
                batch = Some(b);
                continue;
            }
            if let Op::ApproveBatch { who } = op {
                let Some(b) = &batch else { continue };
                let approved = crate::disposal::approve(b, &actor(PEOPLE[who]), &present(&disposed), &s, &holds, now);
                let Ok(a) = approved else {
                    prop_assert_eq!(&b.requested_by, &actor(PEOPLE[who]));
                    continue;
                };
                for t in &a.tombstones {
                    let Event::RecordDisposed { position, .. } = t else {
                        return Err(TestCaseError::fail("not a tombstone"));
                    };
                    let r = u128::from(*position);
                    prop_assert!(!held_now(&model, r), "record {r} disposed of by a batch while held");
                    disposed.insert(r);
                }
                for p in &b.positions {
                    let r = u128::from(*p);
                    prop_assert!(disposed.contains(&r) || held_now(&model, r), "record {r} neither disposed of nor held");
                }
                batch = None;
                continue;
            }
            if let Op::Dispose { r } = op {
                if disposed.contains(&r) {
                    continue;
                }
                let rec = random_record(r);
                let held_by_model = held_now(&model, r);
                let decision = may_dispose(&rec, &s, &holds, now);
                if held_by_model {
                    prop_assert!(matches!(decision, Err(Refusal::Held { .. })), "record {r} disposed of while held: {decision:?}");
                } else {
                    prop_assert_eq!(decision, Ok(()));
                    disposed.insert(r);
                }
                continue;
            }
            let (cmd, who, slot) = match op {
                Op::Request { h, cases, who } => (
                    HoldCommand::Request {
                        hold_id: hold(h),
                        scope: RecordQuery::cases((0..CASES).filter(|c| cases & (1 << c) != 0).map(case)).unwrap(),
                        reason: reason("hold"),
                    },
                    who,
                    h,
                ),
                Op::Approve { h, who } => (HoldCommand::Approve { hold_id: hold(h) }, who, h),
                Op::Decline { h, who } => (HoldCommand::Decline { hold_id: hold(h), reason: reason("no") }, who, h),
                Op::RequestRelease { h, who } => (HoldCommand::RequestRelease { hold_id: hold(h), reason: reason("done") }, who, h),
                Op::Dispose { .. } | Op::Propose { .. } | Op::ApproveBatch { .. } => unreachable!(),
            };
            let m = &mut model[slot as usize];
            let expected: Option<Option<Model>> = match (&op, *m) {
                (Op::Request { cases, who, .. }, None) => Some(Some(Model { cases: *cases, placed: false, pending: Some(*who) })),
                (Op::Approve { who, .. }, Some(x)) if x.pending.is_some_and(|p| p != *who) => {
                    Some(if x.placed { None } else { Some(Model { placed: true, pending: None, ..x }) })
                }
                (Op::Decline { who, .. }, Some(x)) if x.pending.is_some_and(|p| p != *who) => {
                    Some(if x.placed { Some(Model { pending: None, ..x }) } else { None })
                }
                (Op::RequestRelease { who, .. }, Some(x)) if x.placed && x.pending.is_none() => {
                    Some(Some(Model { pending: Some(*who), ..x }))
                }
                _ => None,
            };
            let a = actor(PEOPLE[who]);
            match holds.handle(cmd, &a) {
                Ok(e) => {
                    let Some(next) = expected else {
                        return Err(TestCaseError::fail(format!("{op:?} accepted against the model {m:?}")));
                    };
                    holds.apply(&e, &a).unwrap();
                    log.push((e, a));
                    *m = next;
                }
                Err(e) => prop_assert!(expected.is_none(), "{op:?} refused ({e}) though the model accepts it"),
            }
        }
        let mut again = Holds::new();
        for (e, a) in &log {
            again.apply(e, a).unwrap();
        }
        prop_assert_eq!(again, holds);
    }
}
