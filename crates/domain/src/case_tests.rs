//! State-machine tests: the lifecycle, the two-person rule, and a property
//! test that drives random command sequences through `handle` and `apply`.

use std::collections::BTreeSet;

use proptest::prelude::*;

use crate::actor::{Actor, Role};
use crate::case::*;
use crate::delivery::*;
use crate::event::{
    Assessment, ClosureGrounds, Event, Independence, ReassessmentReason, RecordedEvent,
};
use crate::grading::{AdmiraltyGrade, Detail, Grading, Specificity};
use crate::ids::{CaseId, ReportId, WaiverId};
use crate::policy::{LoadedPolicy, RuleId, Verdict};
use crate::report::*;
use crate::text::*;
use crate::time::{ThreatWindow, TimeZoneName, Timestamp};

pub(crate) fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn uuid(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

pub(crate) fn report(narrative: &str, grade: &str, window: Option<(&str, &str)>) -> ThreatReport {
    ThreatReport {
        originating_element: ElementName::new("Element A").unwrap(),
        received_at: ts("2024-01-01T00:00:00Z"),
        title: Title::new("Threat to a journalist").unwrap(),
        narrative: Narrative::new(narrative).unwrap(),
        harm_types: HarmTypes::new([HarmType::Kidnapping]).unwrap(),
        target: Target {
            kind: TargetKind::Person,
            victims: NonEmptyVec::one(Victim::named(Name::new("A. Journalist").unwrap())),
        },
        threat_actor: Some(ThreatActor {
            name: Name::new("Foreign Service X").unwrap(),
            kind: ActorKind::State,
            country: Some("IR".parse().unwrap()),
            profile: Default::default(),
        }),
        location: None,
        window: window.map(|(a, b)| {
            ThreatWindow::new(ts(a), ts(b), TimeZoneName::new("America/New_York").unwrap()).unwrap()
        }),
        grading: Grading {
            grade: AdmiraltyGrade::parse(grade).unwrap(),
            assessor: ActorName::new("analyst.a").unwrap(),
            reason: Reason::new("graded").unwrap(),
        },
        specificity: Specificity {
            who: Detail::Present,
            where_: Detail::Partial,
            when: Detail::Partial,
            how: Detail::Present,
        },
        handling: Handling {
            tlp: Tlp::Red,
            classification: None,
            compartments: BTreeSet::new(),
            existence_restricted: false,
        },
        source: Some(SourceRef {
            id: SecretTerm::new("CS-0042").unwrap(),
            description: None,
        }),
        external_reference: None,
        secret_terms: vec![],
        derived_from: None,
        origin: None,
    }
}

/// A case under test with its events, driven like the service drives it.
pub(crate) struct Harness {
    pub policy: LoadedPolicy,
    pub events: Vec<RecordedEvent>,
    pub case: Case,
    pub now: Timestamp,
}

pub(crate) fn actor(name: &str) -> Actor {
    Actor::with_all_roles(ActorName::new(name).unwrap())
}

impl Harness {
    pub fn open(r: ThreatReport, now: &str) -> Self {
        let policy = LoadedPolicy::builtin();
        let a = actor("collector.c");
        let now = ts(now);
        let evs = Case::open(
            OpenCase {
                case_id: CaseId::from_uuid(uuid(1)),
                report_id: ReportId::from_uuid(uuid(2)),
                report: r,
                owner: Some(ActorName::new("owner.o").unwrap()),
            },
            Ctx {
                actor: &a,
                now,
                policy: &policy,
                report_formats: &[],
            },
        )
        .unwrap();
        let events: Vec<RecordedEvent> = evs
            .into_iter()
            .enumerate()
            .map(|(i, e)| RecordedEvent {
                seq: i as u64 + 1,
                recorded_at: now,
                actor: a.name.clone(),
                event: e,
            })
            .collect();
        let case = Case::from_events(&events).unwrap();
        Self {
            policy,
            events,
            case,
            now,
        }
    }

    pub fn at(&mut self, now: &str) -> &mut Self {
        self.now = ts(now);
        self
    }

    pub fn try_do(&mut self, who: &Actor, cmd: Command) -> Result<Vec<Event>, CaseError> {
        let evs = self.case.handle(
            cmd,
            Ctx {
                actor: who,
                now: self.now,
                policy: &self.policy,
                report_formats: &[],
            },
        )?;
        self.record(who, evs.clone());
        Ok(evs)
    }

    pub fn record(&mut self, who: &Actor, evs: Vec<Event>) {
        for e in evs {
            let re = RecordedEvent {
                seq: self.case.version + 1,
                recorded_at: self.now,
                actor: who.name.clone(),
                event: e,
            };
            self.case.apply(&re).unwrap();
            self.events.push(re);
        }
    }

    #[track_caller]
    pub fn ok(&mut self, who: &str, cmd: Command) -> Vec<Event> {
        let a = actor(who);
        match self.try_do(&a, cmd) {
            Ok(e) => e,
            Err(e) => panic!("{who}: {e}"),
        }
    }

    #[track_caller]
    pub fn refused(&mut self, who: &str, cmd: Command) -> CaseError {
        let a = actor(who);
        let before = self.case.clone();
        let e = self.try_do(&a, cmd).unwrap_err();
        assert_eq!(self.case, before, "a refused command changed the case");
        e
    }
}

fn reason(s: &str) -> Reason {
    Reason::new(s).unwrap()
}

fn party(name: &str, kind: PartyKind, c: &str) -> Party {
    Party {
        name: Name::new(name).unwrap(),
        kind,
        country: Some(c.parse().unwrap()),
    }
}

fn direct_route() -> Route {
    let us = party("FBI New York Field Office", PartyKind::OwnElement, "US");
    let victim = party("A. Journalist", PartyKind::Victim, "US");
    Route::new(
        victim.clone(),
        NonEmptyVec::one(Hop {
            from: us,
            to: victim,
            channel: Channel::LawEnforcement,
        }),
    )
    .unwrap()
}

fn draft(text: &str) -> Command {
    Command::DraftWarning {
        warning: None,
        text: WarningText::new(text).unwrap(),
        withheld: [WithheldCategory::SourceIdentity].into_iter().collect(),
        language: LanguageTag::english(),
    }
}

fn delivery(version: u32, hop: u32, status: DeliveryStatus, at: &str) -> Delivery {
    Delivery::new(
        version,
        hop,
        status,
        Name::new("Special Agent").unwrap(),
        Name::new("A. Journalist").unwrap(),
        Channel::LawEnforcement,
        Medium::InPerson,
        ts(at),
        TimeZoneName::new("America/New_York").unwrap(),
        LanguageTag::english(),
        Some(Proof {
            kind: ProofKind::Acknowledgement,
            reference: Note::new("signed acknowledgement form").unwrap(),
        }),
        None,
        1,
    )
    .unwrap()
}

const W: Option<(&str, &str)> = Some(("2024-01-10T00:00:00Z", "2024-02-10T00:00:00Z"));

#[test]
fn kidnapping_case_runs_to_delivery() {
    let mut h = Harness::open(
        report("They plan to abduct the journalist from her home.", "B2", W),
        "2024-01-01T01:00:00Z",
    );
    assert_eq!(h.case.state, CaseState::AwaitingDetermination);
    h.ok("analyst.a", Command::Determine { note: None });
    assert_eq!(h.case.state, CaseState::DutyToWarn);
    let d = h.case.determination().unwrap();
    assert_eq!(d.determination.verdict, Verdict::DutyToWarn);
    assert_eq!(d.determination.policy.id, "icd-191");
    h.ok(
        "analyst.a",
        Command::ChooseRoute {
            warning: None,
            route: direct_route(),
            rationale: reason("victim in the US"),
            alternatives: vec![],
        },
    );
    h.ok(
        "analyst.a",
        draft("A foreign government plans to abduct you. Contact the FBI at once."),
    );
    assert_eq!(h.case.state, CaseState::WarningDrafted);
    let e = h.refused(
        "analyst.a",
        Command::ApproveWarning {
            warning: None,
            version: 1,
            sha256: None,
        },
    );
    assert!(matches!(e, CaseError::TwoPersonRule { .. }), "{e}");
    h.ok(
        "approver.b",
        Command::ApproveWarning {
            warning: None,
            version: 1,
            sha256: Some(h.case.warnings[0].versions[0].sha256.clone()),
        },
    );
    assert_eq!(h.case.state, CaseState::WarningApproved);
    h.at("2024-01-03T00:00:00Z");
    h.ok(
        "officer.d",
        Command::RecordDelivery {
            warning: None,
            delivery: delivery(1, 1, DeliveryStatus::Received, "2024-01-02T15:00:00-05:00"),
        },
    );
    assert_eq!(h.case.state, CaseState::Delivered);
    assert!(h.case.warnings[0].follow_up_by.is_some());
    h.ok(
        "officer.d",
        Command::RecordResponse {
            warning: None,
            response: Response {
                kind: ResponseKind::Acknowledged,
                at: ts("2024-01-02T20:00:00Z"),
                note: None,
            },
        },
    );
    h.ok(
        "owner.o",
        Command::RecordOutcome {
            outcome: OutcomeRecord {
                outcome: Outcome::Prevented,
                at: None,
                note: None,
            },
        },
    );
    assert_eq!(h.case.state, CaseState::Closed);
    assert!(matches!(
        h.events.last().map(|e| &e.event),
        Some(Event::CaseClosed {
            grounds: ClosureGrounds::Warned
        })
    ));
    // The fold from scratch equals the incremental fold.
    assert_eq!(Case::from_events(&h.events).unwrap(), h.case);
}

fn outcome(o: Outcome) -> Command {
    Command::RecordOutcome {
        outcome: OutcomeRecord {
            outcome: o,
            at: None,
            note: None,
        },
    }
}

#[test]
fn an_outcome_alone_never_closes_a_duty_case() {
    let mut h = Harness::open(
        report("They plan to abduct the journalist.", "B2", W),
        "2024-01-01T01:00:00Z",
    );
    h.ok("analyst.a", Command::Determine { note: None });
    assert_eq!(h.case.state, CaseState::DutyToWarn);
    // "No event": recorded, and the duty stays open.
    let evs = h.ok("analyst.a", outcome(Outcome::NoEvent));
    assert_eq!(evs.len(), 1, "{evs:?}");
    assert_eq!(h.case.state, CaseState::DutyToWarn);
    assert!(h.case.outcome.is_some());
    // With a waiver pending, still open.
    let w = WaiverId::from_uuid(uuid(10));
    h.ok(
        "analyst.a",
        Command::RequestWaiver {
            waiver_id: w,
            ground: "W3".into(),
            reason: reason("the victim commands a designated terrorist group"),
            legal_review: None,
        },
    );
    h.ok("analyst.a", outcome(Outcome::NoEvent));
    assert_eq!(h.case.state, CaseState::WaiverPending);
    // The second person's approval discharges the duty; the outcome is
    // already there, so the case closes with the approval, on its grounds.
    let evs = h.ok(
        "approver.b",
        Command::ApproveWaiver {
            waiver_id: w,
            reason: reason("W3 applies"),
        },
    );
    assert_eq!(
        evs.last(),
        Some(&Event::CaseClosed {
            grounds: ClosureGrounds::Waived { waiver_id: w }
        })
    );
    assert_eq!(h.case.state, CaseState::Closed);
    assert_eq!(Case::from_events(&h.events).unwrap(), h.case);
}

#[test]
fn a_case_never_found_to_carry_a_duty_closes_on_its_outcome() {
    let mut h = Harness::open(
        report("They plan to abduct the journalist.", "E5", W),
        "2024-01-01T01:00:00Z",
    );
    h.ok("analyst.a", Command::Determine { note: None });
    assert_eq!(h.case.state, CaseState::NoDuty);
    let evs = h.ok("analyst.a", outcome(Outcome::NoEvent));
    assert_eq!(
        evs.last(),
        Some(&Event::CaseClosed {
            grounds: ClosureGrounds::NoDuty
        })
    );
    assert_eq!(h.case.state, CaseState::Closed);
}

/// A duty case with its route chosen and a warning drafted, at
/// 2024-01-01T01:00Z.
fn drafted_duty_case() -> Harness {
    let mut h = Harness::open(
        report("They plan to abduct the journalist.", "B2", W),
        "2024-01-01T01:00:00Z",
    );
    h.ok("analyst.a", Command::Determine { note: None });
    h.ok(
        "analyst.a",
        Command::ChooseRoute {
            warning: None,
            route: direct_route(),
            rationale: reason("victim in the US"),
            alternatives: vec![],
        },
    );
    h.ok("analyst.a", draft("There is a threat to your safety."));
    h
}

/// A second person approves warning version 1, stating its hash.
fn approve_first_draft(h: &mut Harness) {
    let sha = h.case.warnings[0].versions[0].sha256.clone();
    h.ok(
        "approver.b",
        Command::ApproveWarning {
            warning: None,
            version: 1,
            sha256: Some(sha),
        },
    );
}

#[test]
fn an_outcome_before_delivery_closes_the_case_when_the_warning_arrives() {
    let mut h = drafted_duty_case();
    approve_first_draft(&mut h);
    h.ok("analyst.a", outcome(Outcome::Prevented));
    assert_eq!(h.case.state, CaseState::WarningApproved);
    h.at("2024-01-01T05:00:00Z");
    let evs = h.ok(
        "officer.d",
        Command::RecordDelivery {
            warning: None,
            delivery: delivery(1, 1, DeliveryStatus::Received, "2024-01-01T04:00:00Z"),
        },
    );
    assert_eq!(
        evs.last(),
        Some(&Event::CaseClosed {
            grounds: ClosureGrounds::Warned
        })
    );
    assert_eq!(h.case.state, CaseState::Closed);
}

#[test]
fn delivery_and_response_times_are_neither_in_the_future_nor_before_the_approval() {
    let mut h = drafted_duty_case();
    h.at("2024-01-01T02:00:00Z");
    approve_first_draft(&mut h);
    h.at("2024-01-01T03:00:00Z");
    let e = h.refused(
        "officer.d",
        Command::RecordDelivery {
            warning: None,
            delivery: delivery(1, 1, DeliveryStatus::Received, "2024-01-01T04:00:00Z"),
        },
    );
    assert!(
        matches!(
            e,
            CaseError::InTheFuture {
                what: "delivery",
                ..
            }
        ),
        "{e}"
    );
    let e = h.refused(
        "officer.d",
        Command::RecordDelivery {
            warning: None,
            delivery: delivery(1, 1, DeliveryStatus::Received, "2024-01-01T01:59:59Z"),
        },
    );
    assert!(
        matches!(
            e,
            CaseError::BeforeApproval {
                what: "delivery",
                version: 1,
                ..
            }
        ),
        "{e}"
    );
    // A client's clock a minute fast, and the second of the approval, pass.
    h.ok(
        "officer.d",
        Command::RecordDelivery {
            warning: None,
            delivery: delivery(1, 1, DeliveryStatus::Received, "2024-01-01T03:01:00Z"),
        },
    );
    let respond = |at: &str| Command::RecordResponse {
        warning: None,
        response: Response {
            kind: ResponseKind::Acknowledged,
            at: ts(at),
            note: None,
        },
    };
    let e = h.refused("officer.d", respond("2024-01-02T00:00:00Z"));
    assert!(
        matches!(
            e,
            CaseError::InTheFuture {
                what: "response",
                ..
            }
        ),
        "{e}"
    );
    let e = h.refused("officer.d", respond("2024-01-01T00:30:00Z"));
    assert!(
        matches!(
            e,
            CaseError::BeforeApproval {
                what: "response",
                ..
            }
        ),
        "{e}"
    );
    h.ok("officer.d", respond("2024-01-01T02:00:00Z"));
}

#[test]
fn illegal_transitions_say_what_is_allowed() {
    let mut h = Harness::open(report("x y z plan", "B2", W), "2024-01-01T01:00:00Z");
    let e = h.refused(
        "approver.b",
        Command::ApproveWarning {
            warning: None,
            version: 1,
            sha256: None,
        },
    );
    let msg = e.to_string();
    assert!(
        msg.contains("cannot approve warning while the case is awaiting_determination"),
        "{msg}"
    );
    assert!(
        msg.contains("allowed next: attach report, assess, determine"),
        "{msg}"
    );
}

#[test]
fn waiver_two_person_rule_and_unlisted_ground() {
    let mut h = Harness::open(
        report("They plan to kill the commander.", "B2", W),
        "2024-01-01T01:00:00Z",
    );
    h.ok("analyst.a", Command::Determine { note: None });
    let e = h.refused(
        "analyst.a",
        Command::RequestWaiver {
            waiver_id: WaiverId::from_uuid(uuid(9)),
            ground: "ADVERSARY".into(),
            reason: reason("the recipient is an adversary"),
            legal_review: None,
        },
    );
    assert!(e.is_recordable());
    assert!(
        e.to_string().contains("'ADVERSARY' is not a waiver ground"),
        "{e}"
    );
    let w = WaiverId::from_uuid(uuid(10));
    h.ok(
        "analyst.a",
        Command::RequestWaiver {
            waiver_id: w,
            ground: "W3".into(),
            reason: reason("the victim commands a designated terrorist group"),
            legal_review: None,
        },
    );
    assert_eq!(h.case.state, CaseState::WaiverPending);
    let e = h.refused(
        "analyst.a",
        Command::ApproveWaiver {
            waiver_id: w,
            reason: reason("ok"),
        },
    );
    assert!(
        matches!(e, CaseError::TwoPersonRule { .. }) && e.is_recordable(),
        "{e}"
    );
    assert!(e.to_string().contains("requested this waiver"), "{e}");
    // Without the approver role.
    let mut plain = Actor::new(ActorName::new("analyst.x").unwrap(), [Role::Analyst]);
    let err = h
        .try_do(
            &plain,
            Command::ApproveWaiver {
                waiver_id: w,
                reason: reason("ok"),
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            CaseError::MissingRole {
                role: Role::Approver,
                ..
            }
        ),
        "{err}"
    );
    plain.roles.insert(Role::Approver);
    h.try_do(
        &plain,
        Command::ApproveWaiver {
            waiver_id: w,
            reason: reason("W3 applies"),
        },
    )
    .unwrap();
    assert_eq!(h.case.state, CaseState::Waived);
    let wv = &h.case.waivers[0];
    assert_eq!(wv.requested_by.as_str(), "analyst.a");
    assert_eq!(wv.decided_by.as_ref().unwrap().as_str(), "analyst.x");
    // Review falls due after 30 days: flagged once.
    h.at("2024-02-05T00:00:00Z");
    let evs = h.case.sweep(h.now, &h.policy);
    assert!(
        evs.iter().any(|e| matches!(
            e,
            Event::ReassessmentFlagged {
                reason: ReassessmentReason::WaiverReviewDue,
                ..
            }
        )),
        "{evs:?}"
    );
}

#[test]
fn rejected_waiver_returns_to_the_warning_path() {
    let mut h = Harness::open(
        report(
            "They plan to kill the victim; a source inside the group says so.",
            "B2",
            W,
        ),
        "2024-01-01T01:00:00Z",
    );
    h.ok("analyst.a", Command::Determine { note: None });
    h.ok(
        "analyst.a",
        draft("Your life is in danger from a foreign government."),
    );
    let w = WaiverId::from_uuid(uuid(11));
    h.ok(
        "analyst.a",
        Command::RequestWaiver {
            waiver_id: w,
            ground: "W4".into(),
            reason: reason("warning would expose a source"),
            legal_review: None,
        },
    );
    h.ok(
        "approver.b",
        Command::RejectWaiver {
            waiver_id: w,
            reason: reason("a broader warning protects the source"),
        },
    );
    assert_eq!(h.case.state, CaseState::WarningDrafted);
    h.ok(
        "analyst.a",
        draft("We have information indicating a threat to your safety. Please contact us."),
    );
    assert_eq!(h.case.warnings[0].versions.len(), 2);
}

#[test]
fn drafts_naming_the_source_are_refused_with_spans() {
    let mut h = Harness::open(report("plot", "B2", W), "2024-01-01T01:00:00Z");
    h.ok("analyst.a", Command::Determine { note: None });
    let text = "SECRET//NOFORN: source CS-0042 reports a plot.";
    let e = h.refused("analyst.a", draft(text));
    let CaseError::SanitisationFindings { findings } = e else {
        panic!()
    };
    let cs = findings.iter().find(|f| f.text == "CS-0042").unwrap();
    assert_eq!(&text[cs.start..cs.end], "CS-0042");
    assert!(findings.iter().any(|f| f.text == "SECRET"));
}

#[test]
fn threat_actor_state_is_never_the_protector() {
    let mut h = Harness::open(report("plot", "B2", W), "2024-01-01T01:00:00Z");
    h.ok("analyst.a", Command::Determine { note: None });
    let us = party("US Government", PartyKind::OwnElement, "US");
    let ch = party("Swiss Embassy", PartyKind::ProtectingPower, "CH");
    let ir = party(
        "Iranian Ministry of Intelligence",
        PartyKind::SecurityService,
        "IR",
    );
    let route = Route::new(
        ir.clone(),
        NonEmptyVec::new(vec![
            Hop {
                from: us,
                to: ch.clone(),
                channel: Channel::DiplomaticNote,
            },
            Hop {
                from: ch,
                to: ir,
                channel: Channel::ProtectingPower,
            },
        ])
        .unwrap(),
    )
    .unwrap();
    let e = h.refused(
        "analyst.a",
        Command::ChooseRoute {
            warning: None,
            route,
            rationale: reason("r"),
            alternatives: vec![],
        },
    );
    assert!(matches!(e, CaseError::ThreatActorAsProtector { .. }), "{e}");
}

#[test]
fn no_duty_reopens_on_an_independent_report_but_not_a_derived_one() {
    let narrative = "An anonymous post threatens something big in the city.";
    let mut h = Harness::open(report(narrative, "F5", None), "2024-01-01T01:00:00Z");
    h.ok("analyst.a", Command::Determine { note: None });
    assert_eq!(h.case.state, CaseState::NoDuty);
    // Near-identical text: circular reporting, counts once, no reopening.
    let mut r2 = report(
        "An anonymous post threatens something big in the city!",
        "B2",
        None,
    );
    r2.originating_element = ElementName::new("Element B").unwrap();
    let evs = h.ok(
        "collector.e",
        Command::AttachReport {
            report_id: ReportId::from_uuid(uuid(20)),
            report: Box::new(r2),
        },
    );
    assert!(
        matches!(
            &evs[0],
            Event::ReportAttached {
                independence: Independence::Derived { .. },
                ..
            }
        ),
        "{evs:?}"
    );
    assert_eq!(h.case.state, CaseState::NoDuty);
    assert_eq!(h.case.independent_sources(), 1);
    // A different, independent report reopens it.
    let r3 = report(
        "A second service reports a credible plan to abduct the journalist next week.",
        "B2",
        W,
    );
    h.ok(
        "collector.e",
        Command::AttachReport {
            report_id: ReportId::from_uuid(uuid(21)),
            report: Box::new(r3),
        },
    );
    assert_eq!(h.case.state, CaseState::AwaitingDetermination);
    assert_eq!(h.case.independent_sources(), 2);
}

#[test]
fn window_lapse_flags_reassessment_once_and_escalations_fire_once() {
    let mut h = Harness::open(
        report(
            "plot",
            "B2",
            Some(("2024-01-01T06:00:00Z", "2024-01-02T00:00:00Z")),
        ),
        "2024-01-01T00:10:00Z",
    );
    let d = h.case.deadlines.clone().unwrap();
    assert_eq!(d.deliver_by, ts("2024-01-01T04:30:00Z"));
    h.ok("analyst.a", Command::Determine { note: None });
    h.at("2024-01-01T05:00:00Z");
    let evs = h.case.sweep(h.now, &h.policy);
    let steps: Vec<_> = evs
        .iter()
        .filter_map(|e| match e {
            Event::EscalationRaised { step, .. } => Some(*step),
            _ => None,
        })
        .collect();
    assert_eq!(steps, vec![Step::Approve, Step::Deliver]);
    let sys = Actor::system();
    h.record(&sys, evs);
    assert!(
        h.case.sweep(h.now, &h.policy).is_empty(),
        "escalations fire once"
    );
    h.at("2024-01-03T00:00:00Z");
    let evs = h.case.sweep(h.now, &h.policy);
    assert!(evs.iter().any(|e| matches!(
        e,
        Event::ReassessmentFlagged {
            reason: ReassessmentReason::WindowLapsed,
            ..
        }
    )));
    h.record(&sys, evs);
    assert!(h.case.reassessment_due.is_some());
    assert!(h.case.sweep(h.now, &h.policy).is_empty());
    assert!(h.case.state.is_open(), "never silently closed");
}

#[test]
fn far_off_threat_is_flagged_when_it_comes_within_the_horizon() {
    let mut h = Harness::open(
        report(
            "plot",
            "B2",
            Some(("2024-12-01T00:00:00Z", "2024-12-02T00:00:00Z")),
        ),
        "2024-01-01T00:00:00Z",
    );
    h.ok("analyst.a", Command::Determine { note: None });
    assert_eq!(h.case.state, CaseState::NoDuty);
    assert_eq!(
        h.case.determination().unwrap().determination.verdict,
        Verdict::ThresholdNotMet {
            failed: vec![RuleId::Impending]
        }
    );
    h.at("2024-06-01T00:00:00Z");
    assert!(
        h.case
            .sweep(h.now, &h.policy)
            .iter()
            .all(|e| !matches!(e, Event::ReassessmentFlagged { .. }))
    );
    h.at("2024-09-15T00:00:00Z");
    assert!(h.case.sweep(h.now, &h.policy).iter().any(|e| matches!(
        e,
        Event::ReassessmentFlagged {
            reason: ReassessmentReason::WindowApproaching,
            ..
        }
    )));
}

#[test]
fn events_round_trip_through_json() {
    let mut h = Harness::open(report("plot", "B2", W), "2024-01-01T01:00:00Z");
    h.ok("analyst.a", Command::Determine { note: None });
    h.ok(
        "analyst.a",
        Command::Assess {
            assessment: Assessment {
                grading: None,
                specificity: None,
                harm_types: None,
                window: Some(
                    ThreatWindow::new(
                        ts("2024-01-11T00:00:00Z"),
                        ts("2024-01-12T00:00:00Z"),
                        TimeZoneName::utc(),
                    )
                    .unwrap(),
                ),
                reason: reason("new window"),
            },
        },
    );
    assert!(matches!(
        h.case.reassessment_due.as_ref().map(|f| f.reason),
        Some(ReassessmentReason::WindowMoved)
    ));
    for e in &h.events {
        let json = serde_json::to_string(&e.event).unwrap();
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e.event);
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            json,
            "encoding is deterministic"
        );
    }
}

// ---------------------------------------------------------------------------
// Property test: random command sequences.

#[derive(Clone, Debug)]
enum Op {
    Attach(bool),
    Determine,
    RequestWaiver(u8),
    ApproveWaiver,
    RejectWaiver,
    Route(u8),
    AddWarning(bool),
    Draft(bool, u8),
    ApproveWarning(u8),
    Deliver(u32, DeliveryStatus, u8),
    Fail(u8),
    Respond(u8),
    Advisory,
    Outcome,
    Reassess,
    Confirm,
    Sweep(i64),
    HandOff,
}

/// The warning a generated command names: 0 none (the only one), else W1..W3.
fn w_of(n: u8) -> Option<WarningNumber> {
    (n > 0).then(|| WarningNumber::new(u32::from(n)).unwrap())
}

/// A route to a second recipient: the police (required by the default
/// policy) or an embassy (optional).
fn second_route(optional: bool) -> Route {
    let us = party("FBI New York Field Office", PartyKind::OwnElement, "US");
    let to = if optional {
        party("Embassy of Ruritania", PartyKind::Embassy, "US")
    } else {
        party("NYPD Intelligence", PartyKind::Police, "US")
    };
    Route::new(
        to.clone(),
        NonEmptyVec::one(Hop {
            from: us,
            to,
            channel: Channel::LawEnforcement,
        }),
    )
    .unwrap()
}

fn op() -> impl Strategy<Value = Op> {
    // Weighted so that histories reach delivery often; closing and
    // re-assessing are rarer, as they are in life.
    prop_oneof![
        2 => any::<bool>().prop_map(Op::Attach),
        6 => Just(Op::Determine),
        3 => (0u8..8).prop_map(Op::RequestWaiver),
        3 => Just(Op::ApproveWaiver),
        3 => Just(Op::RejectWaiver),
        6 => (0u8..3).prop_map(Op::Route),
        2 => any::<bool>().prop_map(Op::AddWarning),
        6 => (any::<bool>(), 0u8..4).prop_map(|(c, w)| Op::Draft(c, w)),
        6 => (0u8..4).prop_map(Op::ApproveWarning),
        6 => (1u32..3, prop_oneof![Just(DeliveryStatus::Sent), Just(DeliveryStatus::Received)], 0u8..4).prop_map(|(h, s, w)| Op::Deliver(h, s, w)),
        2 => (0u8..4).prop_map(Op::Fail),
        3 => (0u8..4).prop_map(Op::Respond),
        2 => Just(Op::Confirm),
        2 => Just(Op::Advisory),
        1 => Just(Op::Outcome),
        1 => Just(Op::Reassess),
        2 => (0i64..2000).prop_map(Op::Sweep),
        1 => Just(Op::HandOff),
    ]
}

const ACTORS: [&str; 3] = ["alice", "bob", "carol"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn random_histories_keep_the_invariants(ops in proptest::collection::vec((op(), 0usize..3, any::<bool>()), 1..60)) {
        let mut h = Harness::open(report("They plan to abduct the journalist.", "B2", W), "2024-01-01T01:00:00Z");
        let mut n = 100u128;
        for (op, who, grade_ok) in ops {
            n += 1;
            let a = actor(ACTORS[who]);
            let before = h.case.clone();
            let state = h.case.state;
            let pending = h.case.waivers.iter().rev().find(|w| w.status == WaiverStatus::Pending).map(|w| w.id).unwrap_or(WaiverId::from_uuid(uuid(1)));
            let of = |w: u8| h.case.warning(w_of(w).unwrap_or(WarningNumber::FIRST));
            let latest_warning = |w: u8| of(w).and_then(|w| w.versions.last()).map(|v| v.version).unwrap_or(1);
            let approved = |w: u8| of(w).and_then(|w| w.approved()).map(|v| v.version).unwrap_or(1);
            let cmd = match op {
                Op::Attach(similar) => {
                    let text = if similar { "They plan to abduct the journalist." } else { "Another service reports the abduction plan for next week." };
                    Some(Command::AttachReport { report_id: ReportId::from_uuid(uuid(n)), report: Box::new(report(text, if grade_ok { "B2" } else { "E5" }, W)) })
                }
                Op::Determine => Some(Command::Determine { note: None }),
                Op::RequestWaiver(g) => Some(Command::RequestWaiver {
                    waiver_id: WaiverId::from_uuid(uuid(n)),
                    ground: ["W1", "W2", "W3", "W4", "W5", "W6", "OTHER", "HOSTILE"][g as usize].into(),
                    reason: reason("because"),
                    legal_review: grade_ok.then(|| Note::new("legal reviewed").unwrap()),
                }),
                Op::ApproveWaiver => Some(Command::ApproveWaiver { waiver_id: pending, reason: reason("ok") }),
                Op::RejectWaiver => Some(Command::RejectWaiver { waiver_id: pending, reason: reason("no") }),
                Op::Route(w) => Some(Command::ChooseRoute { warning: w_of(w), route: direct_route(), rationale: reason("direct"), alternatives: vec![] }),
                Op::AddWarning(optional) => Some(Command::AddWarning { route: second_route(optional), rationale: reason("also them"), alternatives: vec![] }),
                Op::Draft(clean, w) => Some(Command::DraftWarning {
                    warning: w_of(w),
                    text: WarningText::new(if clean { "There is a threat to your safety." } else { "Source CS-0042 says there is a threat." }).unwrap(),
                    withheld: BTreeSet::new(),
                    language: LanguageTag::english(),
                }),
                Op::ApproveWarning(w) => Some(Command::ApproveWarning { warning: w_of(w), version: latest_warning(w), sha256: None }),
                Op::Deliver(hop, status, w) => Some(Command::RecordDelivery { warning: w_of(w), delivery: delivery(approved(w), hop, status, &h.now.to_string()) }),
                Op::Fail(w) => Some(Command::RecordDelivery { warning: w_of(w), delivery: Delivery::new(
                    approved(w), 1, DeliveryStatus::Failed, Name::new("Special Agent").unwrap(), Name::new("Front desk").unwrap(),
                    Channel::LawEnforcement, Medium::Phone, h.now, TimeZoneName::new("America/New_York").unwrap(), LanguageTag::english(),
                    None, Some(Note::new("no answer").unwrap()), h.policy.warnings.attempts,
                ).unwrap() }),
                Op::Respond(w) => Some(Command::RecordResponse { warning: w_of(w), response: Response { kind: ResponseKind::Dismissed, at: h.now, note: None } }),
                Op::Confirm => Some(Command::ConfirmDetermination { reason: reason("checked the re-assessment") }),
                Op::Advisory => Some(Command::DecidePublicAdvisory { advisory: AdvisoryDecision::new(AdvisoryChoice::NotIssued, reason("private threat"), None, None, None).unwrap() }),
                Op::Outcome => Some(Command::RecordOutcome { outcome: OutcomeRecord { outcome: Outcome::Unknown, at: None, note: None } }),
                Op::Reassess => Some(Command::Reassess { reason: reason("look again") }),
                Op::HandOff => Some(Command::HandOff { owner: a.name.clone(), lead_element: ElementName::new("Element B").unwrap(), reason: reason("transfer") }),
                Op::Sweep(hours) => {
                    h.now = crate::time::add(h.now, jiff::SignedDuration::from_hours(hours));
                    let evs = h.case.sweep(h.now, &h.policy);
                    // Whatever the clock produces, the case said it would be due by now.
                    prop_assert!(
                        evs.is_empty() || h.case.next_sweep_at(&h.policy).is_some_and(|t| t <= h.now),
                        "sweep produced {:?} before next_sweep_at {:?}", evs, h.case.next_sweep_at(&h.policy)
                    );
                    h.record(&Actor::system(), evs);
                    prop_assert!(h.case.sweep(h.now, &h.policy).is_empty(), "a sweep is idempotent");
                    None
                }
            };
            if let Some(cmd) = cmd {
                let action = cmd.action();
                match h.try_do(&a, cmd) {
                    // With several warnings, a warning's own state decides.
                    Ok(_) if before.warnings.len() > 1 && state.is_warning_work() => {}
                    Ok(_) => prop_assert!(state.allowed().contains(&action), "{action:?} succeeded in {state:?}"),
                    Err(e) => {
                        prop_assert_eq!(&h.case, &before, "a refused command changed nothing");
                        if let CaseError::NotAllowed { allowed, .. } = &e {
                            prop_assert_eq!(allowed.as_slice(), state.allowed());
                        }
                    }
                }
            }
            // Invariants.
            // The duty cannot be dodged: a case that was ever found to
            // carry a duty closed only on a delivered warning or an
            // approved waiver, with nothing but CaseClosed closing it.
            for e in &h.events {
                if let Event::OutcomeRecorded { keeps_open, .. } = &e.event {
                    prop_assert!(*keeps_open, "an outcome closed the case by itself");
                }
            }
            if h.case.state == CaseState::Closed && h.case.ever_found_a_duty() {
                let i = h.events.iter().rposition(|e| matches!(e.event, Event::CaseClosed { .. })).expect("a CaseClosed event");
                let Event::CaseClosed { grounds } = &h.events[i].event else { unreachable!() };
                let before_close = Case::from_events(&h.events[..i]).unwrap();
                match grounds {
                    ClosureGrounds::Warned => {
                        prop_assert_eq!(before_close.state, CaseState::Delivered);
                        prop_assert!(before_close.is_warned(), "closed as warned with a required warning undelivered");
                        prop_assert!(before_close.warnings.iter().filter(|w| w.required).all(|w| w.status == WarningStatus::Delivered));
                    }
                    ClosureGrounds::WarningFailed { failed } => {
                        prop_assert!(!failed.is_empty());
                        let required: Vec<_> = before_close.warnings.iter().filter(|w| w.required).collect();
                        let pool = if required.is_empty() { before_close.warnings.iter().collect() } else { required };
                        prop_assert!(!pool.is_empty());
                        for w in pool {
                            prop_assert!(w.status == WarningStatus::Delivered || w.failed_after(h.policy.warnings.attempts), "{} neither delivered nor failed", w.number);
                        }
                    }
                    ClosureGrounds::Redetermined { confirmed_by } => {
                        let d = before_close.determination().expect("a determination");
                        prop_assert!(matches!(d.determination.verdict, Verdict::ThresholdNotMet { .. }), "not a no-duty determination");
                        prop_assert_eq!(before_close.state, CaseState::NoDuty);
                        prop_assert_eq!(d.confirmed_by.as_ref(), Some(confirmed_by));
                        prop_assert_ne!(&d.by, confirmed_by, "the determiner confirmed their own determination");
                    }
                    ClosureGrounds::Waived { waiver_id } => {
                        prop_assert_eq!(before_close.state, CaseState::Waived);
                        prop_assert!(before_close.waivers.iter().any(|w| w.id == *waiver_id && w.status == WaiverStatus::Approved));
                    }
                    other => prop_assert!(false, "a duty case closed on {other:?}"),
                }
            }
            for w in &h.case.waivers {
                if let Some(by) = &w.decided_by {
                    prop_assert_ne!(by, &w.requested_by, "requester decided own waiver");
                }
            }
            for w in h.case.warnings.iter().flat_map(|w| &w.versions) {
                if let Some(by) = &w.approved_by {
                    prop_assert_ne!(by, &w.drafted_by, "drafter approved own warning");
                    prop_assert!(h.case.check_warning_text(w.text.as_str(), &h.policy, &[]).is_empty());
                }
            }
            // A route never changes under a delivery.
            for w in &h.case.warnings {
                let was = before.warning(w.number);
                if let Some(was) = was.filter(|was| !was.deliveries.is_empty()) {
                    prop_assert_eq!(&was.route, &w.route, "{} changed route after a delivery", w.number);
                }
            }
            prop_assert_eq!(h.case.timeline.len() as u64, h.case.version);
        }
        let refolded = Case::from_events(&h.events).unwrap();
        prop_assert_eq!(&refolded, &h.case);
        for e in &h.events {
            let json = serde_json::to_string(&e.event).unwrap();
            let back: Event = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, &e.event);
        }
    }
}

// ---------------------------------------------------------------------------
// Several warnings per case.

fn route_to(name: &str, kind: PartyKind, channel: Channel) -> Route {
    let us = party("FBI New York Field Office", PartyKind::OwnElement, "US");
    let to = party(name, kind, "US");
    Route::new(
        to.clone(),
        NonEmptyVec::one(Hop {
            from: us,
            to,
            channel,
        }),
    )
    .unwrap()
}

fn wn(n: u32) -> Option<WarningNumber> {
    Some(WarningNumber::new(n).unwrap())
}

/// A duty case warning a company's security lead (W1) and a host service
/// (W2), both drafted and approved, at 2024-01-01T01:00Z.
fn two_warning_case(second: Route) -> Harness {
    let mut h = Harness::open(
        report("They plan to abduct the journalist.", "B2", W),
        "2024-01-01T01:00:00Z",
    );
    h.ok("analyst.a", Command::Determine { note: None });
    h.ok(
        "analyst.a",
        Command::ChooseRoute {
            warning: None,
            route: direct_route(),
            rationale: reason("the victim"),
            alternatives: vec![],
        },
    );
    h.ok(
        "analyst.a",
        Command::AddWarning {
            route: second,
            rationale: reason("and those protecting them"),
            alternatives: vec![],
        },
    );
    for n in [1, 2] {
        h.ok(
            "analyst.a",
            Command::DraftWarning {
                warning: wn(n),
                text: WarningText::new("There is a threat to your safety.").unwrap(),
                withheld: BTreeSet::new(),
                language: LanguageTag::english(),
            },
        );
        h.ok(
            "approver.b",
            Command::ApproveWarning {
                warning: wn(n),
                version: 1,
                sha256: None,
            },
        );
    }
    h
}

fn received(n: u32, at: &str) -> Command {
    Command::RecordDelivery {
        warning: wn(n),
        delivery: delivery(1, 1, DeliveryStatus::Received, at),
    }
}

fn failed(n: u32, attempt: u32) -> Command {
    Command::RecordDelivery {
        warning: wn(n),
        delivery: Delivery::new(
            1,
            1,
            DeliveryStatus::Failed,
            Name::new("Special Agent").unwrap(),
            Name::new("Front desk").unwrap(),
            Channel::LawEnforcement,
            Medium::Phone,
            ts("2024-01-01T03:00:00Z"),
            TimeZoneName::new("America/New_York").unwrap(),
            LanguageTag::english(),
            None,
            Some(Note::new("no answer").unwrap()),
            attempt,
        )
        .unwrap(),
    }
}

#[test]
fn a_case_is_warned_only_when_every_required_warning_is_delivered() {
    let police = route_to(
        "NYPD Intelligence",
        PartyKind::Police,
        Channel::LawEnforcement,
    );
    let mut h = two_warning_case(police);
    assert_eq!(h.case.warnings.len(), 2);
    assert!(h.case.warnings.iter().all(|w| w.required));
    assert_eq!(h.case.state, CaseState::WarningApproved);
    h.at("2024-01-01T05:00:00Z");
    h.ok("officer.d", received(1, "2024-01-01T04:00:00Z"));
    // One of two required warnings: not warned, an outcome closes nothing.
    assert_eq!(h.case.warnings[0].status, WarningStatus::Delivered);
    assert_eq!(h.case.state, CaseState::WarningApproved);
    assert!(!h.case.is_warned());
    assert_eq!(h.case.measures().time_to_warn, None);
    let evs = h.ok("analyst.a", outcome(Outcome::Prevented));
    assert_eq!(evs.len(), 1);
    // W1 is followed up on its own.
    assert!(h.case.warnings[0].follow_up_by.is_some());
    assert!(h.case.warnings[1].follow_up_by.is_none());
    let evs = h.ok("officer.d", received(2, "2024-01-01T04:30:00Z"));
    assert_eq!(
        evs.last(),
        Some(&Event::CaseClosed {
            grounds: ClosureGrounds::Warned
        })
    );
    assert!(h.case.warnings[1].follow_up_by.is_some());
    // Time to warn runs to the moment the last required warning arrived.
    let start = h.case.received_at();
    let arrived: Timestamp = "2024-01-01T04:30:00Z".parse().unwrap();
    assert_eq!(
        h.case.measures().time_to_warn,
        Some(arrived.duration_since(start))
    );
    // The events of W2 say so; those of W1 keep the old form.
    let w2 = serde_json::to_string(&evs[0]).unwrap();
    assert!(w2.contains("\"warning\":2"), "{w2}");
    for e in &h.events {
        if let Event::DeliveryRecorded {
            warning: WarningNumber::FIRST,
            ..
        } = &e.event
        {
            let json = serde_json::to_string(&e.event).unwrap();
            assert!(!json.contains("\"warning\""), "{json}");
        }
    }
}

#[test]
fn lateness_is_measured_against_the_window_from_the_fold() {
    use crate::case::Lateness;
    let police = route_to(
        "NYPD Intelligence",
        PartyKind::Police,
        Channel::LawEnforcement,
    );
    let mut h = two_warning_case(police);
    let opens = ts("2024-01-10T00:00:00Z");
    let m = h.case.measures();
    assert!(m.duty);
    assert_eq!(m.window_opens, Some(opens));
    assert_eq!(m.received_at, Some(h.case.received_at()));
    assert!(m.decided_at.is_some());
    // Before the window opens an unwarned case is not late; after, it is.
    assert_eq!(m.lateness(ts("2024-01-05T00:00:00Z")), None);
    assert_eq!(
        m.lateness(ts("2024-01-10T06:00:00Z")),
        Some(Lateness::Unwarned {
            by: jiff::SignedDuration::from_hours(6)
        })
    );
    // One of two required warnings is not "warned".
    h.at("2024-01-12T05:00:00Z");
    h.ok("officer.d", received(1, "2024-01-11T04:00:00Z"));
    assert_eq!(h.case.measures().warned_at, None);
    h.ok("officer.d", received(2, "2024-01-12T04:00:00Z"));
    let m = h.case.measures();
    assert_eq!(m.warned_at, Some(ts("2024-01-12T04:00:00Z")));
    let late = m.lateness(ts("2025-01-01T00:00:00Z")).unwrap();
    assert_eq!(
        late,
        Lateness::Late {
            by: jiff::SignedDuration::from_hours(52)
        }
    );
    assert!(late.is_late());
    // The fold alone gives the same figures: they survive a restart.
    let refolded = Case::from_events(&h.events).unwrap();
    assert_eq!(refolded.measures(), m);
}

#[test]
fn a_waived_duty_is_never_late() {
    let mut h = Harness::open(
        report("They plan to abduct the journalist.", "B2", W),
        "2024-01-01T01:00:00Z",
    );
    h.ok("analyst.a", Command::Determine { note: None });
    assert!(h.case.measures().duty);
    assert!(
        h.case
            .measures()
            .lateness(ts("2024-03-01T00:00:00Z"))
            .is_some()
    );
    let w = WaiverId::from_uuid(uuid(10));
    h.ok(
        "analyst.a",
        Command::RequestWaiver {
            waiver_id: w,
            ground: "W3".into(),
            reason: reason("the victim commands a designated terrorist group"),
            legal_review: None,
        },
    );
    // Requested is not approved: the duty still stands.
    assert!(h.case.measures().duty);
    h.ok(
        "approver.b",
        Command::ApproveWaiver {
            waiver_id: w,
            reason: reason("W3 applies"),
        },
    );
    assert!(!h.case.measures().duty);
    assert_eq!(h.case.measures().lateness(ts("2024-03-01T00:00:00Z")), None);
    // No determination: no duty, nothing is late.
    let h2 = Harness::open(
        report("They plan to abduct the journalist.", "B2", W),
        "2024-01-01T01:00:00Z",
    );
    assert!(!h2.case.measures().duty);
    assert_eq!(
        h2.case.measures().lateness(ts("2024-03-01T00:00:00Z")),
        None
    );
}

#[test]
fn an_optional_recipient_does_not_hold_the_case_open() {
    let embassy = route_to(
        "Embassy of Ruritania",
        PartyKind::Embassy,
        Channel::LawEnforcement,
    );
    let mut h = two_warning_case(embassy);
    assert!(!h.case.warnings[1].required);
    h.at("2024-01-01T05:00:00Z");
    h.ok("analyst.a", outcome(Outcome::Prevented));
    let evs = h.ok("officer.d", received(1, "2024-01-01T04:00:00Z"));
    assert_eq!(
        evs.last(),
        Some(&Event::CaseClosed {
            grounds: ClosureGrounds::Warned
        })
    );
}

#[test]
fn a_required_warning_that_failed_after_the_policys_attempts_discharges_it() {
    let police = route_to(
        "NYPD Intelligence",
        PartyKind::Police,
        Channel::LawEnforcement,
    );
    let mut h = two_warning_case(police);
    h.at("2024-01-01T05:00:00Z");
    h.ok("analyst.a", outcome(Outcome::Prevented));
    h.ok("officer.d", received(1, "2024-01-01T04:00:00Z"));
    // A first failed attempt is not enough.
    let evs = h.ok("officer.d", failed(2, 1));
    assert_eq!(evs.len(), 1, "{evs:?}");
    assert!(h.case.state.is_open());
    let attempts = h.policy.warnings.attempts;
    let evs = h.ok("officer.d", failed(2, attempts));
    assert_eq!(
        evs.last(),
        Some(&Event::CaseClosed {
            grounds: ClosureGrounds::WarningFailed {
                failed: vec![WarningNumber::new(2).unwrap()]
            }
        })
    );
}

#[test]
fn several_warnings_refuse_ambiguity_and_a_route_change_after_delivery() {
    let police = route_to(
        "NYPD Intelligence",
        PartyKind::Police,
        Channel::LawEnforcement,
    );
    let mut h = two_warning_case(police.clone());
    // Which one? The command must say.
    let e = h.refused(
        "officer.d",
        Command::RecordDelivery {
            warning: None,
            delivery: delivery(1, 1, DeliveryStatus::Received, "2024-01-01T00:30:00Z"),
        },
    );
    assert_eq!(e, CaseError::AmbiguousWarning { count: 2 });
    assert!(e.to_string().contains("W1, W2"), "{e}");
    let e = h.refused(
        "analyst.a",
        Command::ChooseRoute {
            warning: wn(3),
            route: police.clone(),
            rationale: reason("x"),
            alternatives: vec![],
        },
    );
    assert!(matches!(e, CaseError::UnknownWarning { .. }), "{e}");
    // Before delivery, W1's route may still change; after, never.
    h.ok(
        "analyst.a",
        Command::ChooseRoute {
            warning: wn(1),
            route: direct_route(),
            rationale: reason("confirmed"),
            alternatives: vec![],
        },
    );
    h.at("2024-01-01T05:00:00Z");
    h.ok("officer.d", received(1, "2024-01-01T04:00:00Z"));
    let e = h.refused(
        "analyst.a",
        Command::ChooseRoute {
            warning: wn(1),
            route: police,
            rationale: reason("changed our mind"),
            alternatives: vec![],
        },
    );
    assert_eq!(
        e,
        CaseError::RouteAfterDelivery {
            warning: WarningNumber::FIRST
        }
    );
    // A delivered warning is not re-drafted; the other one still can be.
    let e = h.refused(
        "analyst.a",
        Command::DraftWarning {
            warning: wn(1),
            text: WarningText::new("Another text.").unwrap(),
            withheld: BTreeSet::new(),
            language: LanguageTag::english(),
        },
    );
    assert!(matches!(e, CaseError::WarningNotAllowed { .. }), "{e}");
    h.ok(
        "analyst.a",
        Command::DraftWarning {
            warning: wn(2),
            text: WarningText::new("Another text.").unwrap(),
            withheld: BTreeSet::new(),
            language: LanguageTag::english(),
        },
    );
    assert_eq!(h.case.warnings[1].versions.len(), 2);
    assert_eq!(h.case.state, CaseState::WarningDrafted);
}

#[test]
fn a_single_warning_route_is_not_replaced_after_delivery_either() {
    let mut h = drafted_duty_case();
    approve_first_draft(&mut h);
    h.at("2024-01-01T05:00:00Z");
    h.ok(
        "officer.d",
        Command::RecordDelivery {
            warning: None,
            delivery: delivery(1, 1, DeliveryStatus::Sent, "2024-01-01T04:00:00Z"),
        },
    );
    let e = h.refused(
        "analyst.a",
        Command::ChooseRoute {
            warning: None,
            route: direct_route(),
            rationale: reason("again"),
            alternatives: vec![],
        },
    );
    assert_eq!(
        e,
        CaseError::RouteAfterDelivery {
            warning: WarningNumber::FIRST
        }
    );
}

#[test]
fn a_redetermination_to_no_duty_closes_only_once_a_second_person_confirms_it() {
    let mut h = Harness::open(
        report("They plan to abduct the journalist.", "B2", W),
        "2024-01-01T01:00:00Z",
    );
    h.ok("analyst.a", Command::Determine { note: None });
    assert_eq!(h.case.state, CaseState::DutyToWarn);
    h.ok(
        "analyst.a",
        Command::Reassess {
            reason: reason("the source recanted"),
        },
    );
    let bad = report("x", "E5", W).grading;
    h.ok(
        "analyst.a",
        Command::Assess {
            assessment: Assessment {
                grading: Some(bad),
                specificity: None,
                harm_types: None,
                window: None,
                reason: reason("the source is unreliable"),
            },
        },
    );
    h.ok("analyst.a", Command::Determine { note: None });
    assert_eq!(h.case.state, CaseState::NoDuty);
    let evs = h.ok("analyst.a", outcome(Outcome::NoEvent));
    assert_eq!(evs.len(), 1, "stays open: {evs:?}");
    let e = h.refused(
        "analyst.a",
        Command::ConfirmDetermination {
            reason: reason("I agree with myself"),
        },
    );
    assert!(matches!(e, CaseError::TwoPersonRule { .. }), "{e}");
    let evs = h.ok(
        "approver.b",
        Command::ConfirmDetermination {
            reason: reason("the recantation is documented"),
        },
    );
    assert_eq!(
        evs.last(),
        Some(&Event::CaseClosed {
            grounds: ClosureGrounds::Redetermined {
                confirmed_by: ActorName::new("approver.b").unwrap()
            }
        })
    );
}

#[test]
fn a_ledger_written_before_several_warnings_folds_as_before() {
    // Events as they were written before warnings had numbers: no
    // `warning` field, no `optional`.
    let legacy = [
        r#"{"type":"determination_made","determination":DET,"note":null}"#,
        r#"{"type":"route_chosen","route":{"recipient":{"name":"A. Journalist","kind":"victim","country":"US"},"hops":[{"from":{"name":"FBI New York Field Office","kind":"own_element","country":"US"},"to":{"name":"A. Journalist","kind":"victim","country":"US"},"channel":"law_enforcement"}]},"rationale":"victim in the US"}"#,
        r#"{"type":"warning_drafted","version":1,"text":"There is a threat to your safety.","sha256":"SHA","withheld":[],"language":"en"}"#,
        r#"{"type":"warning_approved","version":1,"sha256":"SHA"}"#,
        r#"{"type":"delivery_recorded","delivery":{"warning_version":1,"hop":1,"status":"received","sender":"Special Agent","receiver":"A. Journalist","channel":"law_enforcement","medium":"in_person","at":"2024-01-01T04:00:00Z","time_zone":"America/New_York","language":"en","attempt":1}}"#,
        r#"{"type":"response_recorded","response":{"kind":"acknowledged","at":"2024-01-01T04:10:00Z"}}"#,
    ];
    let mut h = Harness::open(
        report("They plan to abduct the journalist.", "B2", W),
        "2024-01-01T01:00:00Z",
    );
    // The determination as this build makes it (its JSON is long).
    let det = Case::from_events(&h.events)
        .unwrap()
        .handle(
            Command::Determine { note: None },
            Ctx {
                actor: &actor("analyst.a"),
                now: h.now,
                policy: &h.policy,
                report_formats: &[],
            },
        )
        .unwrap();
    let Event::DeterminationMade { determination, .. } = &det[0] else {
        panic!("{det:?}")
    };
    let det_json = serde_json::to_string(determination).unwrap();
    let sha = WarningText::new("There is a threat to your safety.")
        .unwrap()
        .sha256();
    for raw in legacy {
        let raw = raw.replace("DET", &det_json).replace("SHA", &sha);
        let event: Event = serde_json::from_str(&raw).unwrap();
        // Written again, an old event has exactly its old bytes.
        let again: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&event).unwrap()).unwrap();
        let mut was: serde_json::Value = serde_json::from_str(&raw).unwrap();
        if let Some(o) = was.as_object_mut() {
            o.retain(|_, v| !v.is_null());
        }
        assert_eq!(again, was, "{raw}");
        h.record(&actor("analyst.a"), vec![event]);
    }
    let c = Case::from_events(&h.events).unwrap();
    assert_eq!(c.state, CaseState::Delivered);
    assert_eq!(c.warnings.len(), 1);
    let w = &c.warnings[0];
    assert_eq!(w.number, WarningNumber::FIRST);
    assert!(w.required);
    assert_eq!(w.status, WarningStatus::Delivered);
    assert_eq!(w.versions.len(), 1);
    assert_eq!(w.deliveries.len(), 1);
    assert_eq!(w.responses.len(), 1);
    assert_eq!(c.closure_grounds(&h.policy), Some(ClosureGrounds::Warned));
}
