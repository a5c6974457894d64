//! The worked cases of ../shared/scenarios, end to end through the crates'
//! public API on a real SQLite store.

use tocsin::scenarios::*;
use tocsin_domain::case::Case;
use tocsin_domain::case::{CaseError, CaseState, Command};
use tocsin_domain::delivery::*;
use tocsin_domain::event::{Event, ReassessmentReason};
use tocsin_domain::policy::{RuleId, RuleOutcome, Verdict};
use tocsin_domain::report::NonEmptyVec;
use tocsin_domain::text::{Name, Reason};
use tocsin_domain::time::TimeZoneName;
use tocsin_domain::{CaseId, ThreatReport};
use tocsin_domain::{LoadedPolicy, WaiverId};
use tocsin_ledger::{NoteSigner, open_checkpoint};
use tocsin_service::{Intake, Service, ServiceError};
use tocsin_store::StreamId;
use tocsin_store::audit::{VerifyOptions, verify};

use crate::support::{Deployment, block_on, person};

fn verifier(d: &Deployment) -> tocsin_ledger::NoteVerifier {
    let key = std::fs::read_to_string(d.key()).unwrap();
    NoteSigner::from_secret_key_string(key.trim())
        .unwrap()
        .verifier()
}

#[test]
fn kerman_end_to_end() {
    let d = Deployment::new();
    block_on(async {
        let (svc, clock, store) = d.service("2023-12-26T00:00:00Z");
        let cast = Cast::enrol(&svc, PEOPLE, None).await.unwrap();
        let run = run_kerman(&svc, &clock, &cast, &mut |_| {}).await.unwrap();
        let c = &run.case;
        // 1. Intake: the facts as reported.
        let r = &c.reports[0].report;
        assert_eq!(r.grading.grade.to_string(), "B2");
        assert_eq!(
            r.threat_actor.as_ref().unwrap().name.as_str(),
            "ISIS-Khorasan"
        );
        assert_eq!(
            r.window.as_ref().unwrap().time_zone().as_str(),
            "Asia/Tehran"
        );
        // 2. Duty to warn, every rule passed, under the named policy.
        let det = &c.determinations[0].determination;
        assert_eq!(det.verdict, Verdict::DutyToWarn);
        assert_eq!(
            det.trace
                .iter()
                .map(|t| (t.rule, t.outcome))
                .collect::<Vec<_>>(),
            vec![
                (RuleId::HarmInScope, RuleOutcome::Pass),
                (RuleId::Credible, RuleOutcome::Pass),
                (RuleId::Specific, RuleOutcome::Pass),
                (RuleId::Impending, RuleOutcome::Pass),
            ]
        );
        assert_eq!(det.policy, LoadedPolicy::builtin().reference());
        // 3. The "recipient is an adversary" waiver is refused by the policy and recorded.
        assert!(
            run.adversary_waiver_refusal
                .contains("is not a waiver ground"),
            "{}",
            run.adversary_waiver_refusal
        );
        assert!(c.waivers.is_empty());
        assert!(
            c.refusals
                .iter()
                .any(|r| r.reason.contains("not a waiver ground"))
        );
        // 4. Two hops through the protecting power.
        let w1 = &c.warnings[0];
        let route = &w1.route.as_ref().unwrap().route;
        assert_eq!(route.hops().len(), 2);
        assert_eq!(route.hops()[0].to.kind, PartyKind::ProtectingPower);
        assert_eq!(route.hops()[0].to.country.unwrap().as_str(), "CH");
        assert_eq!(route.recipient().country.unwrap().as_str(), "IR");
        assert_eq!(w1.route.as_ref().unwrap().alternatives.len(), 1);
        // 5. The draft naming the source was refused with its spans; the warning is sanitised.
        match &run.source_draft_refusal {
            ServiceError::Refused(CaseError::SanitisationFindings { findings }) => {
                let texts: Vec<&str> = findings.iter().map(|f| f.text.as_str()).collect();
                assert!(
                    texts.contains(&"CS-4471")
                        && texts.contains(&"SECRET")
                        && texts.contains(&"TD-314/00123-23"),
                    "{texts:?}"
                );
            }
            other => panic!("unexpected: {other}"),
        }
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(w1.versions.len(), 1);
        let w = &w1.versions[0];
        assert_eq!(w.text.as_str(), KERMAN_WARNING);
        assert_eq!(w.sha256, WarningText::new(KERMAN_WARNING).unwrap().sha256());
        assert!(w.withheld.contains(&WithheldCategory::SourceIdentity));
        assert_eq!(w.approved_by.as_ref().unwrap().as_str(), "approver.lee");
        assert_ne!(w.approved_by.as_ref(), Some(&w.drafted_by));
        // 6. Delivery per hop with time zones, no response, escalation, outcome.
        assert_eq!(w1.deliveries.len(), 2);
        assert_eq!(w1.deliveries[1].delivery.time_zone.as_str(), "Asia/Tehran");
        assert_eq!(w1.responses[0].response.kind, ResponseKind::NoResponse);
        assert_eq!(c.escalations.len(), 1);
        assert_eq!(
            c.outcome.as_ref().unwrap().value.outcome,
            Outcome::AttackOccurred
        );
        assert_eq!(c.state, CaseState::Closed);
        // The escalation fires once: a second sweep raises nothing.
        assert!(svc.sweep().await.unwrap().events.is_empty());
        // 7. The whole case verifies in the audit log; the policy text is in the ledger too.
        let system = store.read_stream(&StreamId::System).await.unwrap();
        assert!(
            matches!(&system[0].envelope.event, Event::PolicyAdopted { policy, .. } if policy.sha256 == det.policy.sha256)
        );
        let outcome = verify(
            store.clone(),
            &VerifyOptions {
                accept_disposed: false,
                verifier: verifier(&d),
                since: None,
                deep: true,
                progress: None,
            },
        )
        .await
        .unwrap();
        let report = outcome.unwrap_or_else(|f| panic!("{f}"));
        let head = store.ledger_head().await.unwrap();
        assert_eq!(report.size, head.size);
        let cp = open_checkpoint(head.checkpoint.as_deref().unwrap(), &verifier(&d)).unwrap();
        assert_eq!((cp.size, cp.root), (head.size, head.root));
        // The folded case read back equals the one the run ended with.
        assert_eq!(&load(&svc, run.case_id).await, c);
    });
}

#[test]
fn crocus_end_to_end() {
    let d = Deployment::new();
    block_on(async {
        let (svc, clock, store) = d.service("2024-03-05T00:00:00Z");
        let cast = Cast::enrol(&svc, PEOPLE, None).await.unwrap();
        let c = run_crocus(&svc, &clock, &cast, &mut |_| {}).await.unwrap();
        // Both reports in one case; two independent sources.
        assert_eq!(c.reports.len(), 2);
        assert_eq!(c.independent_sources(), 2);
        assert_eq!(
            c.determinations[0].determination.verdict,
            Verdict::DutyToWarn
        );
        // Liaison route, written delivery at 11:15 Moscow time.
        let w1 = &c.warnings[0];
        let route = &w1.route.as_ref().unwrap().route;
        assert_eq!(route.hops().len(), 1);
        assert_eq!(route.hops()[0].channel, Channel::ServiceLiaison);
        let d0 = &w1.deliveries[0].delivery;
        assert_eq!(d0.medium, Medium::Written);
        assert_eq!(d0.at, ts("2024-03-07T11:15:00+03:00"));
        assert!(
            d0.time_zone
                .local(d0.at)
                .starts_with("2024-03-07 11:15 MSK"),
            "{}",
            d0.time_zone.local(d0.at)
        );
        // The public advisory is its own decision.
        assert_eq!(c.advisories.len(), 1);
        assert_eq!(c.advisories[0].value.decision, AdvisoryChoice::Issued);
        // Responses over time.
        let kinds: Vec<_> = w1.responses.iter().map(|r| r.response.kind).collect();
        assert_eq!(
            kinds,
            vec![ResponseKind::ActionObserved, ResponseKind::Dismissed]
        );
        // The window lapsed on 9 March: flagged for re-assessment, not silently closed.
        let flag = c
            .flags
            .iter()
            .find(|f| f.reason == ReassessmentReason::WindowLapsed)
            .expect("lapse flagged");
        assert!(flag.at > ts("2024-03-09T00:00:00+03:00"));
        assert_eq!(
            c.outcome.as_ref().unwrap().value.outcome,
            Outcome::AttackOccurred
        );
        // The exact delivered text and its hash are retrievable from the record.
        let stored = load(&svc, c.id).await;
        let delivered = stored.warnings[0].version(d0.warning_version).unwrap();
        assert_eq!(delivered.text.as_str(), CROCUS_WARNING);
        assert_eq!(
            delivered.sha256,
            WarningText::new(CROCUS_WARNING).unwrap().sha256()
        );
        let outcome = verify(
            store.clone(),
            &VerifyOptions {
                accept_disposed: false,
                verifier: verifier(&d),
                since: None,
                deep: true,
                progress: None,
            },
        )
        .await
        .unwrap();
        assert!(outcome.is_ok(), "{outcome:?}");
    });
}

/// The case as a person of the scenarios sees it.
async fn load(svc: &Service, id: CaseId) -> Case {
    let p = person(svc, "reader").await;
    svc.case(&p, id, "test").await.unwrap().into_inner()
}

/// `report` joins case `id`, submitted by `who`; the case after it.
async fn join(svc: &Service, who: &str, report: ThreatReport, id: CaseId) -> Case {
    let p = person(svc, who).await;
    let case = svc.case(&p, id, "submit_report").await.unwrap();
    svc.submit_report(
        &p,
        Intake {
            join: Some(case),
            ..Intake::new(report)
        },
    )
    .await
    .unwrap();
    load(svc, id).await
}

async fn determine(svc: &tocsin_service::Service, json: &str) -> tocsin_domain::case::Case {
    let sub = svc
        .submit_report(
            &person(svc, "collector.x").await,
            Intake::new(report(json).unwrap()),
        )
        .await
        .unwrap();
    act(
        svc,
        &person(svc, "analyst.a").await,
        sub.case_id,
        Command::Determine { note: None },
    )
    .await
    .unwrap()
    .case
}

#[test]
fn edge_1_out_of_scope() {
    let d = Deployment::new();
    block_on(async {
        let (svc, _, _) = d.service("2024-05-01T09:00:00Z");
        let c = determine(&svc, EDGE1_DATA_CENTRE).await;
        let det = &c.determinations[0].determination;
        assert_eq!(
            det.verdict,
            Verdict::ThresholdNotMet {
                failed: vec![RuleId::HarmInScope]
            }
        );
        assert!(
            det.trace[0].explanation.contains("property_damage"),
            "{}",
            det.trace[0].explanation
        );
        assert_eq!(c.state, CaseState::NoDuty);
    });
}

#[test]
fn edge_2_not_credible_then_reopened_by_an_independent_report() {
    let d = Deployment::new();
    block_on(async {
        let (svc, clock, _) = d.service("2024-05-02T09:00:00Z");
        let c = determine(&svc, EDGE2_FORUM_POST).await;
        assert_eq!(
            c.determinations[0].determination.verdict,
            Verdict::ThresholdNotMet {
                failed: vec![RuleId::Credible, RuleId::Specific]
            }
        );
        // A re-post of the same text is circular reporting: the case stays closed to duty.
        let mut copy = report(EDGE2_FORUM_POST).unwrap();
        copy.originating_element =
            tocsin_domain::text::ElementName::new("Another Element").unwrap();
        let case = join(&svc, "collector.y", copy, c.id).await;
        assert_eq!(case.state, CaseState::NoDuty);
        assert_eq!(case.independent_sources(), 1);
        // A second, independent report re-opens it.
        clock.set(ts("2024-05-03T09:00:00Z"));
        let mut second = report(EDGE2_FORUM_POST).unwrap();
        second.narrative = tocsin_domain::text::Narrative::new(
            "A police informant in Lyon reports that a named cell intends to attack the Fête des Lumières crowd with a vehicle.",
        )
        .unwrap();
        let case = join(&svc, "collector.y", second, c.id).await;
        assert_eq!(case.state, CaseState::AwaitingDetermination);
        assert_eq!(case.independent_sources(), 2);
        assert!(case.timeline.iter().any(|t| t.kind == "case_reopened"));
    });
}

#[test]
fn edge_3_kidnapping_direct_to_the_victim_through_law_enforcement() {
    let d = Deployment::new();
    block_on(async {
        let (svc, clock, _) = d.service("2021-06-01T14:00:00Z");
        let c = determine(&svc, EDGE3_KIDNAPPING).await;
        assert_eq!(c.state, CaseState::DutyToWarn);
        let fbi = party("FBI New York Field Office", PartyKind::OwnElement, "US");
        let victim = party(
            "Dissident journalist (name withheld)",
            PartyKind::Victim,
            "US",
        );
        let route = Route::new(
            victim.clone(),
            NonEmptyVec::one(Hop {
                from: fbi,
                to: victim,
                channel: Channel::LawEnforcement,
            }),
        )
        .unwrap();
        let analyst = person(&svc, "analyst.a").await;
        act(
            &svc,
            &analyst,
            c.id,
            Command::ChooseRoute {
                warning: None,
                route,
                rationale: Reason::new("Warn the victim in person through the FBI.").unwrap(),
                alternatives: vec![],
            },
        )
        .await
        .unwrap();
        let text = "Agents of a foreign government plan to abduct you. Do not travel alone; the FBI will help you with protective measures.";
        let ex = act(
            &svc,
            &analyst,
            c.id,
            Command::DraftWarning {
                warning: None,
                text: WarningText::new(text).unwrap(),
                withheld: [WithheldCategory::SourceIdentity].into(),
                language: LanguageTag::english(),
            },
        )
        .await
        .unwrap();
        let sha = ex.case.warnings[0].versions[0].sha256.clone();
        act(
            &svc,
            &person(&svc, "approver.b").await,
            c.id,
            Command::ApproveWarning {
                warning: None,
                version: 1,
                sha256: Some(sha),
            },
        )
        .await
        .unwrap();
        clock.set(ts("2021-06-02T16:00:00Z"));
        let delivery = Delivery::new(
            1,
            1,
            DeliveryStatus::Received,
            Name::new("Special Agent, FBI New York").unwrap(),
            Name::new("Dissident journalist (name withheld)").unwrap(),
            Channel::LawEnforcement,
            Medium::InPerson,
            ts("2021-06-02T11:00:00-04:00"),
            TimeZoneName::new("America/New_York").unwrap(),
            LanguageTag::english(),
            Some(Proof {
                kind: ProofKind::Acknowledgement,
                reference: tocsin_domain::text::Note::new("Signed acknowledgement of the warning")
                    .unwrap(),
            }),
            None,
            1,
        )
        .unwrap();
        let ex = act(
            &svc,
            &person(&svc, "officer.c").await,
            c.id,
            Command::RecordDelivery {
                warning: None,
                delivery,
            },
        )
        .await
        .unwrap();
        assert_eq!(ex.case.state, CaseState::Delivered);
        assert_eq!(
            ex.case.warnings[0].deliveries[0]
                .delivery
                .proof
                .as_ref()
                .unwrap()
                .kind,
            ProofKind::Acknowledgement
        );
    });
}

#[test]
fn edge_4_w3_waiver_approved_by_a_different_official() {
    let d = Deployment::new();
    block_on(async {
        let (svc, _, _) = d.service("2024-06-01T09:00:00Z");
        let c = determine(&svc, EDGE4_COMMANDER).await;
        assert_eq!(c.state, CaseState::DutyToWarn);
        let waiver_id = WaiverId::from_uuid(uuid::Uuid::now_v7());
        act(
            &svc,
            &person(&svc, "analyst.a").await,
            c.id,
            Command::RequestWaiver {
                waiver_id,
                ground: "W3".into(),
                reason: Reason::new(
                    "The intended victim commands fighters of a designated terrorist group.",
                )
                .unwrap(),
                legal_review: None,
            },
        )
        .await
        .unwrap();
        let ex = act(
            &svc,
            &person(&svc, "approver.senior").await,
            c.id,
            Command::ApproveWaiver {
                waiver_id,
                reason: Reason::new("W3 applies: the victim directs terrorist operations.")
                    .unwrap(),
            },
        )
        .await
        .unwrap();
        let c = ex.case;
        assert_eq!(c.state, CaseState::Waived);
        assert!(c.warnings.is_empty(), "no warning issued");
        let w = &c.waivers[0];
        assert_eq!(w.ground, "W3");
        assert_eq!(w.requested_by.as_str(), "analyst.a");
        assert_eq!(w.decided_by.as_ref().unwrap().as_str(), "approver.senior");
        assert!(w.review_by.is_some());
    });
}

#[test]
fn edge_5_requester_cannot_approve_own_waiver_and_the_attempt_is_recorded() {
    let d = Deployment::new();
    block_on(async {
        let (svc, _, store) = d.service("2024-06-01T09:00:00Z");
        let c = determine(&svc, EDGE4_COMMANDER).await;
        let waiver_id = WaiverId::from_uuid(uuid::Uuid::now_v7());
        let analyst = person(&svc, "analyst.a").await;
        act(
            &svc,
            &analyst,
            c.id,
            Command::RequestWaiver {
                waiver_id,
                ground: "W3".into(),
                reason: Reason::new("designated group commander").unwrap(),
                legal_review: None,
            },
        )
        .await
        .unwrap();
        let err = act(
            &svc,
            &analyst,
            c.id,
            Command::ApproveWaiver {
                waiver_id,
                reason: Reason::new("approving my own request").unwrap(),
            },
        )
        .await
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("two-person rule") && msg.contains("requested this waiver"),
            "{msg}"
        );
        let c = load(&svc, c.id).await;
        assert_eq!(c.state, CaseState::WaiverPending);
        assert_eq!(c.refusals.len(), 1);
        assert_eq!(c.refusals[0].by.as_str(), "analyst.a");
        let events = store
            .read_stream(&tocsin_store::StreamId::Case(c.id))
            .await
            .unwrap();
        assert!(
            events
                .iter()
                .any(|e| matches!(&e.envelope.event, Event::AttemptRefused { .. }))
        );
    });
}

#[test]
fn edge_6_w4_rejected_and_a_broader_warning_drafted() {
    let d = Deployment::new();
    block_on(async {
        let (svc, _, _) = d.service("2024-07-01T09:00:00Z");
        let c = determine(&svc, EDGE6_SOURCE_EXPOSURE).await;
        assert_eq!(c.state, CaseState::DutyToWarn);
        let waiver_id = WaiverId::from_uuid(uuid::Uuid::now_v7());
        act(
            &svc,
            &person(&svc, "analyst.a").await,
            c.id,
            Command::RequestWaiver {
                waiver_id,
                ground: "W4".into(),
                reason: Reason::new("A precise warning would expose our source inside the group.")
                    .unwrap(),
                legal_review: None,
            },
        )
        .await
        .unwrap();
        let ex = act(
            &svc,
            &person(&svc, "approver.b").await,
            c.id,
            Command::RejectWaiver {
                waiver_id,
                reason: Reason::new("A broader warning protects the source and the victim.")
                    .unwrap(),
            },
        )
        .await
        .unwrap();
        assert_eq!(
            ex.case.state,
            CaseState::DutyToWarn,
            "back on the warning path"
        );
        // A precise draft naming the source's code name is refused; a broader one is accepted.
        let err = act(
            &svc,
            &person(&svc, "analyst.a").await,
            c.id,
            Command::DraftWarning {
                warning: None,
                text: WarningText::new(
                    "KESTREL reports a shooting planned at your office next Tuesday.",
                )
                .unwrap(),
                withheld: Default::default(),
                language: LanguageTag::english(),
            },
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("KESTREL"), "{err}");
        let broad = "We have information indicating a threat to your life in Nairobi in the coming weeks. Vary your routine and contact the police.";
        let ex = act(
            &svc,
            &person(&svc, "analyst.a").await,
            c.id,
            Command::DraftWarning {
                warning: None,
                text: WarningText::new(broad).unwrap(),
                withheld: [
                    WithheldCategory::SourceIdentity,
                    WithheldCategory::ExactTiming,
                    WithheldCategory::ExactLocation,
                ]
                .into(),
                language: LanguageTag::english(),
            },
        )
        .await
        .unwrap();
        assert_eq!(ex.case.state, CaseState::WarningDrafted);
        assert_eq!(
            ex.case.waivers[0].status,
            tocsin_domain::case::WaiverStatus::Rejected
        );
    });
}

#[test]
fn racing_approvers_cannot_both_succeed() {
    let d = Deployment::new();
    block_on(async {
        let (svc, _, _) = d.service("2024-06-01T09:00:00Z");
        let svc = std::sync::Arc::new(svc);
        let c = determine(&svc, EDGE4_COMMANDER).await;
        let waiver_id = WaiverId::from_uuid(uuid::Uuid::now_v7());
        act(
            &svc,
            &person(&svc, "analyst.a").await,
            c.id,
            Command::RequestWaiver {
                waiver_id,
                ground: "W3".into(),
                reason: Reason::new("r").unwrap(),
                legal_review: None,
            },
        )
        .await
        .unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8 {
            let svc = svc.clone();
            let id = c.id;
            tasks.spawn(async move {
                let cmd = if i % 2 == 0 {
                    Command::ApproveWaiver {
                        waiver_id,
                        reason: Reason::new("yes").unwrap(),
                    }
                } else {
                    Command::RejectWaiver {
                        waiver_id,
                        reason: Reason::new("no").unwrap(),
                    }
                };
                act(&svc, &person(&svc, &format!("approver.{i}")).await, id, cmd)
                    .await
                    .is_ok()
            });
        }
        let mut ok = 0;
        while let Some(r) = tasks.join_next().await {
            ok += r.unwrap() as usize;
        }
        assert_eq!(ok, 1, "exactly one decision");
        let c = load(&svc, c.id).await;
        assert_eq!(c.waivers.len(), 1);
        assert!(c.waivers[0].decided_by.is_some());
    });
}
