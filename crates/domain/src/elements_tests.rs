//! Cases across elements: a disputed waiver keeps a duty case open until an
//! arbiter resolves the dispute; a merge never dodges a duty; an accepted
//! contribution shares nothing; an overdue dispute escalates once.

use crate::case::{CaseState, Command, Ctx};
use crate::case_tests::{Harness, actor, report, ts};
use crate::delivery::{Outcome, OutcomeRecord};
use crate::elements::{self, ContributionStatus, DisputeSubject, ElementsError};
use crate::event::{ClosureGrounds, Event, Step};
use crate::ids::{CaseId, ContributionId, DisputeId, ReportId, WaiverId};
use crate::text::{ElementName, Reason};

const W: Option<(&str, &str)> = Some(("2024-01-10T00:00:00Z", "2024-02-10T00:00:00Z"));

fn reason(s: &str) -> Reason {
    Reason::new(s).unwrap()
}

fn id(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

/// Records what a decision of this module produced, as `who`.
fn record(h: &mut Harness, who: &str, evs: Vec<Event>) -> Vec<Event> {
    h.record(&actor(who), evs.clone());
    evs
}

fn ctx<'a>(h: &'a Harness, a: &'a crate::actor::Actor) -> Ctx<'a> {
    Ctx {
        actor: a,
        now: h.now,
        policy: &h.policy,
        report_formats: &[],
    }
}

fn duty_case(first: u128) -> Harness {
    let mut h = Harness::open(
        report("They plan to abduct the journalist.", "B2", W),
        "2024-01-01T01:00:00Z",
    );
    h.case.id = CaseId::from_uuid(id(first));
    h.ok("analyst.a", Command::Determine { note: None });
    assert_eq!(h.case.state, CaseState::DutyToWarn);
    h
}

#[test]
fn a_disputed_waiver_keeps_the_duty_open_until_an_arbiter_resolves_it() {
    let mut h = duty_case(1);
    let w = WaiverId::from_uuid(id(10));
    h.ok(
        "analyst.a",
        Command::RequestWaiver {
            waiver_id: w,
            ground: "W3".into(),
            reason: reason("the victim commands a designated terrorist group"),
            legal_review: None,
        },
    );
    let d = DisputeId::from_uuid(id(20));
    let evs = elements::raise_dispute(
        &h.case,
        d,
        DisputeSubject::Waiver { waiver_id: w },
        reason("our element holds that the victim is not the commander"),
        ts("2024-01-03T01:00:00Z"),
    )
    .unwrap();
    record(&mut h, "partner.p", evs);
    h.ok(
        "analyst.a",
        Command::RecordOutcome {
            outcome: OutcomeRecord {
                outcome: Outcome::NoEvent,
                at: None,
                note: None,
            },
        },
    );
    let evs = h.ok(
        "approver.b",
        Command::ApproveWaiver {
            waiver_id: w,
            reason: reason("W3 applies"),
        },
    );
    assert!(
        !evs.iter().any(|e| matches!(e, Event::CaseClosed { .. })),
        "closed on a disputed waiver: {evs:?}"
    );
    assert_eq!(h.case.state, CaseState::Waived);
    assert_eq!(h.case.closure_grounds(&h.policy), None);
    // A dispute about an unknown waiver is refused.
    assert_eq!(
        elements::raise_dispute(
            &h.case,
            DisputeId::from_uuid(id(21)),
            DisputeSubject::Waiver {
                waiver_id: WaiverId::from_uuid(id(99))
            },
            reason("x"),
            h.now,
        ),
        Err(ElementsError::UnknownWaiver(WaiverId::from_uuid(id(99))))
    );
    // The arbiter's resolution lets the case close on the waiver.
    let arbiter = actor("arbiter.z");
    let evs =
        elements::resolve_dispute(&h.case, d, reason("W3 stands"), ctx(&h, &arbiter)).unwrap();
    let evs = record(&mut h, "arbiter.z", evs);
    assert_eq!(
        evs.last(),
        Some(&Event::CaseClosed {
            grounds: ClosureGrounds::Waived { waiver_id: w }
        })
    );
    assert_eq!(h.case.state, CaseState::Closed);
    assert_eq!(crate::case::Case::from_events(&h.events).unwrap(), h.case);
}

#[test]
fn a_merge_never_dodges_a_duty() {
    let mut duty = duty_case(1);
    let mut quiet = Harness::open(
        report("They plan to abduct the journalist.", "E5", W),
        "2024-01-01T01:00:00Z",
    );
    quiet.case.id = CaseId::from_uuid(id(2));
    quiet.ok("analyst.a", Command::Determine { note: None });
    assert_eq!(quiet.case.state, CaseState::NoDuty);
    let a = actor("analyst.a");
    // The duty case cannot be absorbed by a case that never found a duty.
    assert_eq!(
        elements::merge_into(&quiet.case, &duty.case, ctx(&quiet, &a)),
        Err(ElementsError::DutyNotCarried {
            absorbed: duty.case.id,
            into: quiet.case.id
        })
    );
    assert!(elements::close_absorbed(&duty.case, &quiet.case).is_err());
    // The other way: the duty case survives, holding both reports and the duty.
    let evs = elements::merge_into(&duty.case, &quiet.case, ctx(&duty, &a)).unwrap();
    record(&mut duty, "analyst.a", evs);
    // The absorbed report already has the id of the survivor's own (both
    // harnesses number their first report alike), so nothing is attached
    // twice.
    assert_eq!(duty.case.reports.len(), 1);
    assert!(duty.case.ever_found_a_duty());
    let evs = elements::close_absorbed(&quiet.case, &duty.case).unwrap();
    record(&mut quiet, "analyst.a", evs);
    assert_eq!(quiet.case.state, CaseState::Closed);
    assert_eq!(
        quiet.case.across.merged_into(),
        Some(CaseId::from_uuid(id(1)))
    );
    assert_eq!(duty.case.state, CaseState::DutyToWarn);
    // Run again, the survivor's half adds nothing; a closed case is not
    // absorbed twice.
    assert_eq!(
        elements::close_absorbed(&quiet.case, &duty.case),
        Err(ElementsError::Closed)
    );
}

#[test]
fn an_accepted_contribution_attaches_its_report_and_shares_nothing() {
    let mut h = duty_case(1);
    let a = actor("analyst.a");
    let mut r = report("A partner source saw the kidnappers' car.", "B2", W);
    r.originating_element = ElementName::new("Partner Element").unwrap();
    let c = ContributionId::from_uuid(id(30));
    let evs = elements::submit(&h.case, c, r.clone()).unwrap();
    record(&mut h, "partner.p", evs);
    assert_eq!(h.case.across.pending().count(), 1);
    assert_eq!(h.case.reports.len(), 1);
    let rid = ReportId::from_uuid(id(31));
    let evs = elements::accept(&h.case, c, rid, ctx(&h, &a)).unwrap();
    assert!(matches!(evs[0], Event::ContributionAccepted { .. }));
    assert!(matches!(evs[1], Event::ReportAttached { .. }));
    record(&mut h, "analyst.a", evs);
    assert_eq!(h.case.reports.len(), 2);
    assert_eq!(
        h.case.across.contribution(c).unwrap().status,
        ContributionStatus::Accepted
    );
    assert!(
        !h.case
            .shared_with
            .contains(&ElementName::new("Partner Element").unwrap())
    );
    // Decided once only.
    assert_eq!(
        elements::decline(&h.case, c, reason("late")),
        Err(ElementsError::AlreadyDecided(c, "accepted"))
    );
    // A report the same element sends by ordinary intake does share it.
    let mut joined = r;
    joined.narrative = crate::text::Narrative::new("Another partner report, other facts.").unwrap();
    h.ok(
        "analyst.a",
        Command::AttachReport {
            report_id: ReportId::from_uuid(id(32)),
            report: Box::new(joined),
        },
    );
    assert!(
        h.case
            .shared_with
            .contains(&ElementName::new("Partner Element").unwrap())
    );
    assert_eq!(crate::case::Case::from_events(&h.events).unwrap(), h.case);
}

#[test]
fn an_overdue_dispute_escalates_once() {
    let mut h = duty_case(1);
    let due = ts("2024-01-01T03:00:00Z");
    let evs = elements::raise_dispute(
        &h.case,
        DisputeId::from_uuid(id(40)),
        DisputeSubject::Warn,
        reason("warn now"),
        due,
    )
    .unwrap();
    record(&mut h, "partner.p", evs);
    let next = h.case.next_sweep_at(&h.policy).unwrap();
    assert!(next <= due, "{next}");
    let early = h.case.sweep(ts("2024-01-01T02:59:00Z"), &h.policy);
    assert!(!early.iter().any(|e| matches!(
        e,
        Event::EscalationRaised {
            step: Step::Arbitrate,
            ..
        }
    )));
    let evs = h.case.sweep(ts("2024-01-01T04:00:00Z"), &h.policy);
    let arbitrate: Vec<_> = evs
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::EscalationRaised {
                    step: Step::Arbitrate,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(
        arbitrate,
        [&Event::EscalationRaised {
            step: Step::Arbitrate,
            due
        }]
    );
    h.at("2024-01-01T04:00:00Z");
    record(&mut h, "tocsin", evs);
    let again = h.case.sweep(ts("2024-01-01T05:00:00Z"), &h.policy);
    assert!(!again.iter().any(|e| matches!(
        e,
        Event::EscalationRaised {
            step: Step::Arbitrate,
            ..
        }
    )));
}

#[test]
fn the_new_events_round_trip_through_json() {
    let evs = [
        Event::RelationProposed {
            relation: elements::Relation::Merge {
                absorbed: "2026-0002".parse().unwrap(),
                into: "2026-0001".parse().unwrap(),
            },
        },
        Event::DisputeRaised {
            dispute_id: DisputeId::from_uuid(id(1)),
            subject: DisputeSubject::Waiver {
                waiver_id: WaiverId::from_uuid(id(2)),
            },
            statement: reason("no"),
            due: ts("2024-01-01T00:00:00Z"),
        },
        Event::CaseClosed {
            grounds: ClosureGrounds::Merged {
                into: CaseId::from_uuid(id(3)),
            },
        },
    ];
    for e in evs {
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e, "{json}");
    }
}
