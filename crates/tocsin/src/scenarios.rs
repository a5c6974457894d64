//! The worked cases of `../shared/scenarios`, as intake documents and as
//! scripted walks through the lifecycle. `tocsin demo` runs Kerman; the
//! integration tests run both Kerman and Crocus and the edge cases.

use std::collections::BTreeSet;

use anyhow::{Context, Result, anyhow};
use tocsin_domain::case::{Case, CaseState, Command};
use tocsin_domain::delivery::*;
use tocsin_domain::report::NonEmptyVec;
use tocsin_domain::text::{Name, Note, Reason};
use tocsin_domain::time::TimeZoneName;
use tocsin_domain::{Actor, ActorName, CaseId, ThreatReport, Timestamp, WaiverId, parse_report};
use tocsin_service::{ManualClock, Service, ServiceError};

pub const KERMAN_REPORT: &str = include_str!("../scenarios/kerman-report.json");
pub const CROCUS_REPORT: &str = include_str!("../scenarios/crocus-report.json");
pub const CROCUS_SYNAGOGUE_REPORT: &str = include_str!("../scenarios/crocus-synagogue-report.json");
pub const EDGE1_DATA_CENTRE: &str = include_str!("../scenarios/edge1-data-centre.json");
pub const EDGE2_FORUM_POST: &str = include_str!("../scenarios/edge2-forum-post.json");
pub const EDGE3_KIDNAPPING: &str = include_str!("../scenarios/edge3-kidnapping.json");
pub const EDGE4_COMMANDER: &str = include_str!("../scenarios/edge4-commander.json");
pub const EDGE6_SOURCE_EXPOSURE: &str = include_str!("../scenarios/edge6-source-exposure.json");

/// The sanitised warning of the Kerman case.
pub const KERMAN_WARNING: &str = "The United States has information indicating that there is a terrorist threat \
within Iran's borders: a plan to carry out bombings against the crowds attending the commemoration at the \
Kerman Martyrs' Cemetery on or around 3 January 2024. We urge the relevant authorities to increase security \
at the cemetery and its approaches and to screen attendees.";

/// The written warning passed in Moscow.
pub const CROCUS_WARNING: &str = "The United States has information that extremists have imminent plans to \
target large gatherings in Moscow, to include concerts, including at the Crocus City Hall venue, possibly \
within the next 48 hours. We share this under our duty to warn so that you can take protective measures.";

pub fn report(json: &str) -> Result<ThreatReport> {
    Ok(parse_report(json)?)
}

pub fn ts(s: &str) -> Timestamp {
    // Scenario times are literals checked by the tests.
    s.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

pub fn actor(name: &str) -> Actor {
    Actor::with_all_roles(ActorName::new(name).unwrap_or_else(|_| ActorName::system()))
}

fn reason(s: &str) -> Reason {
    Reason::new(s).unwrap_or_else(|_| unreachable!("scenario reasons are not empty"))
}
fn name(s: &str) -> Name {
    Name::new(s).unwrap_or_else(|_| unreachable!("scenario names are valid"))
}
fn note(s: &str) -> Note {
    Note::new(s).unwrap_or_else(|_| unreachable!("scenario notes are valid"))
}
fn tz(s: &str) -> TimeZoneName {
    TimeZoneName::new(s).unwrap_or_else(|_| TimeZoneName::utc())
}

pub fn party(n: &str, kind: PartyKind, country: &str) -> Party {
    Party {
        name: name(n),
        kind,
        country: country.parse().ok(),
    }
}

/// The Kerman route: US → Switzerland (protecting power) → Iran.
pub fn kerman_route() -> Result<Route> {
    let us = party("US Department of State", PartyKind::OwnElement, "US");
    let swiss = party(
        "Embassy of Switzerland in Tehran, Foreign Interests Section",
        PartyKind::ProtectingPower,
        "CH",
    );
    let iran = party(
        "Government of Iran, Ministry of Intelligence",
        PartyKind::SecurityService,
        "IR",
    );
    Ok(Route::new(
        iran.clone(),
        NonEmptyVec::new(vec![
            Hop {
                from: us,
                to: swiss.clone(),
                channel: Channel::DiplomaticNote,
            },
            Hop {
                from: swiss,
                to: iran,
                channel: Channel::ProtectingPower,
            },
        ])?,
    )?)
}

/// Narrates a scenario as it runs.
pub type Narrator<'a> = &'a mut dyn FnMut(&str);

/// What running the Kerman scenario produced.
pub struct KermanRun {
    pub case_id: CaseId,
    pub case: Case,
    /// The error for the waiver on "the recipient is an adversary".
    pub adversary_waiver_refusal: String,
    /// The error for the draft naming the source.
    pub source_draft_refusal: ServiceError,
}

/// Walks the Kerman case through the whole lifecycle, December 2023 to January 2024.
pub async fn run_kerman(
    svc: &Service,
    clock: &ManualClock,
    say: Narrator<'_>,
) -> Result<KermanRun> {
    let collector = actor("collector.ct");
    let analyst = actor("analyst.kim");
    let approver = actor("approver.lee");
    let officer = actor("officer.diaz");

    clock.set(ts("2023-12-26T10:00:00Z"));
    let sub = svc
        .submit_report(
            &collector,
            report(KERMAN_REPORT)?,
            None,
            Some(analyst.name.clone()),
        )
        .await?;
    let id = sub.case_id;
    say(&format!(
        "2023-12-26  report received from the collecting element; case {id} opened (owner analyst.kim)"
    ));

    clock.set(ts("2023-12-26T14:00:00Z"));
    let ex = svc
        .execute(&analyst, id, Command::Determine { note: None })
        .await?;
    let det = ex
        .case
        .determination()
        .ok_or_else(|| anyhow!("no determination"))?;
    say(&format!(
        "2023-12-26  determination: {} under {}",
        det.determination.verdict, det.determination.policy
    ));
    for r in &det.determination.trace {
        say(&format!(
            "              {:<14} {:?}: {}",
            r.rule.as_str(),
            r.outcome,
            r.explanation
        ));
    }

    clock.set(ts("2023-12-26T14:30:00Z"));
    let refusal = svc
        .execute(
            &analyst,
            id,
            Command::RequestWaiver {
                waiver_id: WaiverId::from_uuid(uuid::Uuid::new_v4()),
                ground: "RECIPIENT_IS_ADVERSARY".into(),
                reason: reason("Iran is an adversary government."),
                legal_review: None,
            },
        )
        .await
        .err()
        .ok_or_else(|| anyhow!("a waiver on an unlisted ground was accepted"))?;
    say(&format!(
        "2023-12-26  waiver refused and recorded: {refusal}"
    ));

    clock.set(ts("2023-12-26T15:00:00Z"));
    let direct = Route::new(
        party(
            "Government of Iran, Ministry of Intelligence",
            PartyKind::SecurityService,
            "IR",
        ),
        NonEmptyVec::one(Hop {
            from: party("US Department of State", PartyKind::OwnElement, "US"),
            to: party(
                "Government of Iran, Ministry of Intelligence",
                PartyKind::SecurityService,
                "IR",
            ),
            channel: Channel::DiplomaticNote,
        }),
    )?;
    svc.execute(
        &analyst,
        id,
        Command::ChooseRoute {
            route: kerman_route()?,
            rationale: reason("The victims are civilians in Iran; Iran's security services protect them. The US and Iran have no diplomatic relations, so the warning goes through the protecting power, Switzerland."),
            alternatives: vec![RouteAlternative {
                route: direct,
                reason: note("No diplomatic relations: no direct channel exists."),
            }],
        },
    )
    .await?;
    say(
        "2023-12-26  route chosen: US Department of State → Swiss protecting power → Government of Iran (two hops)",
    );

    clock.set(ts("2023-12-26T15:30:00Z"));
    let leaked =
        format!("SECRET//NOFORN Source CS-4471 (TD-314/00123-23) reports: {KERMAN_WARNING}");
    let source_draft_refusal = svc
        .execute(
            &analyst,
            id,
            Command::DraftWarning {
                text: WarningText::new(leaked)?,
                withheld: BTreeSet::new(),
                language: LanguageTag::english(),
            },
        )
        .await
        .err()
        .ok_or_else(|| anyhow!("a draft naming the source was accepted"))?;
    say(&format!(
        "2023-12-26  draft refused: {source_draft_refusal}"
    ));

    let ex = svc
        .execute(
            &analyst,
            id,
            Command::DraftWarning {
                text: WarningText::new(KERMAN_WARNING)?,
                withheld: [
                    WithheldCategory::SourceIdentity,
                    WithheldCategory::CollectionMethod,
                    WithheldCategory::PerpetratorDetails,
                    WithheldCategory::ReportNumbers,
                    WithheldCategory::ClassificationMarkings,
                ]
                .into_iter()
                .collect(),
                language: LanguageTag::english(),
            },
        )
        .await?;
    let sha = ex
        .case
        .warnings
        .last()
        .map(|w| w.sha256.clone())
        .unwrap_or_default();
    say(&format!(
        "2023-12-26  sanitised warning v1 drafted (sha256 {sha})"
    ));

    clock.set(ts("2023-12-27T09:00:00Z"));
    if let Err(e) = svc
        .execute(
            &analyst,
            id,
            Command::ApproveWarning {
                version: 1,
                sha256: Some(sha.clone()),
            },
        )
        .await
    {
        say(&format!(
            "2023-12-27  self-approval refused and recorded: {e}"
        ));
    }
    svc.execute(
        &approver,
        id,
        Command::ApproveWarning {
            version: 1,
            sha256: Some(sha),
        },
    )
    .await?;
    say("2023-12-27  warning v1 approved by approver.lee (two-person rule)");

    svc.execute(
        &approver,
        id,
        Command::DecidePublicAdvisory {
            advisory: AdvisoryDecision::new(
                AdvisoryChoice::NotIssued,
                reason("The threat is to an Iranian commemoration; US citizens are already advised not to travel to Iran (Level 4)."),
                None,
                None,
                None,
            )?,
        },
    )
    .await?;
    say("2023-12-27  public advisory considered: not issued (existing Do Not Travel advisory)");

    clock.set(ts("2023-12-28T16:00:00Z"));
    let hop1 = Delivery::new(
        1,
        1,
        DeliveryStatus::Received,
        name("US Department of State, Office of Iranian Affairs"),
        name("Swiss Federal Department of Foreign Affairs"),
        Channel::DiplomaticNote,
        Medium::Written,
        ts("2023-12-28T15:00:00Z"),
        tz("Europe/Zurich"),
        LanguageTag::english(),
        Some(Proof {
            kind: ProofKind::Acknowledgement,
            reference: note("Swiss FDFA acknowledgement of the diplomatic note"),
        }),
        None,
        1,
    )?;
    svc.execute(&officer, id, Command::RecordDelivery { delivery: hop1 })
        .await?;
    clock.set(ts("2023-12-29T12:00:00Z"));
    let hop2 = Delivery::new(
        1,
        2,
        DeliveryStatus::Received,
        name("Embassy of Switzerland in Tehran"),
        name("Iranian Ministry of Foreign Affairs, for the Ministry of Intelligence"),
        Channel::ProtectingPower,
        Medium::Written,
        ts("2023-12-29T10:30:00+03:30"),
        tz("Asia/Tehran"),
        LanguageTag::english(),
        Some(Proof {
            kind: ProofKind::Receipt,
            reference: note("Swiss embassy report of delivery"),
        }),
        None,
        1,
    )?;
    let ex = svc
        .execute(&officer, id, Command::RecordDelivery { delivery: hop2 })
        .await?;
    say(&format!(
        "2023-12-29  both hops recorded; delivered 2023-12-29 10:30 Asia/Tehran; follow-up due {}",
        ex.case
            .follow_up_by
            .map(|t| t.to_string())
            .unwrap_or_default()
    ));

    clock.set(ts("2024-01-02T12:00:00Z"));
    svc.execute(
        &officer,
        id,
        Command::RecordResponse {
            response: Response {
                kind: ResponseKind::NoResponse,
                at: ts("2024-01-02T12:00:00Z"),
                note: Some(note("No reply through the Swiss channel.")),
            },
        },
    )
    .await?;
    let sweep = svc.sweep().await?;
    for (_, e) in &sweep.events {
        say(&format!("2024-01-02  {}", e.summary()));
    }

    clock.set(ts("2024-01-04T12:00:00Z"));
    let ex = svc
        .execute(
            &analyst,
            id,
            Command::RecordOutcome {
                outcome: OutcomeRecord {
                    outcome: Outcome::AttackOccurred,
                    at: Some(ts("2024-01-03T14:50:00+03:30")),
                    note: Some(note("Two suicide bombings near the memorial; about 90 killed. ISIS claimed it on 4 January.")),
                },
            },
        )
        .await?;
    say("2024-01-04  outcome recorded: attack occurred (3 January)");
    if ex.case.state != CaseState::Closed {
        return Err(anyhow!("the Kerman case did not close"));
    }
    Ok(KermanRun {
        case_id: id,
        case: ex.case,
        adversary_waiver_refusal: refusal.to_string(),
        source_draft_refusal,
    })
}

/// Crocus City Hall, March 2024: liaison route, written delivery at 11:15
/// Moscow time, public advisory, action then dismissal, lapse, outcome.
pub async fn run_crocus(svc: &Service, clock: &ManualClock, say: Narrator<'_>) -> Result<Case> {
    let station = actor("collector.moscow");
    let analyst = actor("analyst.ross");
    let approver = actor("approver.hale");
    let officer = actor("officer.moscow");

    clock.set(ts("2024-03-05T11:00:00Z"));
    let sub = svc
        .submit_report(&station, report(CROCUS_REPORT)?, None, None)
        .await?;
    let id = sub.case_id;
    say(&format!("2024-03-05  report received; case {id} opened"));
    clock.set(ts("2024-03-06T09:00:00Z"));
    svc.submit_report(&station, report(CROCUS_SYNAGOGUE_REPORT)?, Some(id), None)
        .await
        .context("the synagogue report joins the case")?;
    say("2024-03-06  related report on the synagogue plot joined the case");
    svc.execute(&analyst, id, Command::Determine { note: None })
        .await?;
    let us = party("CIA Moscow Station", PartyKind::OwnElement, "US");
    let fsb = party(
        "Federal Security Service (FSB)",
        PartyKind::SecurityService,
        "RU",
    );
    let route = Route::new(
        fsb.clone(),
        NonEmptyVec::one(Hop {
            from: us,
            to: fsb,
            channel: Channel::ServiceLiaison,
        }),
    )?;
    svc.execute(
        &analyst,
        id,
        Command::ChooseRoute { route, rationale: reason("Direct relations: service-to-service liaison reaches the Russian security services fastest."), alternatives: vec![] },
    )
    .await?;
    let ex = svc
        .execute(
            &analyst,
            id,
            Command::DraftWarning {
                text: WarningText::new(CROCUS_WARNING)?,
                withheld: [
                    WithheldCategory::SourceIdentity,
                    WithheldCategory::CollectionMethod,
                ]
                .into_iter()
                .collect(),
                language: LanguageTag::english(),
            },
        )
        .await?;
    let sha = ex.case.warnings[0].sha256.clone();
    clock.set(ts("2024-03-07T07:00:00Z"));
    svc.execute(
        &approver,
        id,
        Command::ApproveWarning {
            version: 1,
            sha256: Some(sha),
        },
    )
    .await?;
    clock.set(ts("2024-03-07T08:30:00Z"));
    let d = Delivery::new(
        1,
        1,
        DeliveryStatus::Received,
        name("CIA Moscow Station"),
        name("Federal Security Service (FSB)"),
        Channel::ServiceLiaison,
        Medium::Written,
        ts("2024-03-07T11:15:00+03:00"),
        tz("Europe/Moscow"),
        LanguageTag::english(),
        Some(Proof {
            kind: ProofKind::Receipt,
            reference: note("Delivered through established channels"),
        }),
        None,
        1,
    )?;
    svc.execute(&officer, id, Command::RecordDelivery { delivery: d })
        .await?;
    say("2024-03-07  written warning delivered to the FSB at 11:15 Moscow time");
    clock.set(ts("2024-03-07T20:00:00Z"));
    svc.execute(
        &approver,
        id,
        Command::DecidePublicAdvisory {
            advisory: AdvisoryDecision::new(
                AdvisoryChoice::Issued,
                reason("US citizens attend concerts in Moscow: no double standard."),
                Some(ts("2024-03-07T19:00:00Z")),
                Some(note("The Embassy is monitoring reports that extremists have imminent plans to target large gatherings in Moscow, to include concerts. U.S. citizens should avoid large gatherings over the next 48 hours.")),
                Some(name("US Embassy Moscow")),
            )?,
        },
    )
    .await?;
    svc.execute(
        &officer,
        id,
        Command::RecordResponse {
            response: Response {
                kind: ResponseKind::ActionObserved,
                at: ts("2024-03-07T18:00:00+03:00"),
                note: Some(note(
                    "FSB announced it broke up an ISIS cell plotting against a Moscow synagogue.",
                )),
            },
        },
    )
    .await?;
    say("2024-03-07  public advisory issued; action observed (synagogue cell broken up)");
    clock.set(ts("2024-03-10T00:00:00Z"));
    let sweep = svc.sweep().await?;
    for (_, e) in &sweep.events {
        say(&format!("2024-03-10  {}", e.summary()));
    }
    clock.set(ts("2024-03-19T12:00:00Z"));
    svc.execute(
        &officer,
        id,
        Command::RecordResponse {
            response: Response {
                kind: ResponseKind::Dismissed,
                at: ts("2024-03-19T12:00:00+03:00"),
                note: Some(note(
                    "The Russian president called Western warnings 'provocative' and 'blackmail'.",
                )),
            },
        },
    )
    .await?;
    clock.set(ts("2024-03-23T08:00:00Z"));
    let ex = svc
        .execute(
            &analyst,
            id,
            Command::RecordOutcome {
                outcome: OutcomeRecord {
                    outcome: Outcome::AttackOccurred,
                    at: Some(ts("2024-03-22T20:00:00+03:00")),
                    note: Some(note(
                        "Gunmen attacked the concert at Crocus City Hall; about 145 killed.",
                    )),
                },
            },
        )
        .await?;
    say("2024-03-23  outcome recorded: attack occurred (22 March)");
    Ok(ex.case)
}
