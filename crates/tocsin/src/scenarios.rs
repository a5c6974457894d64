//! The worked cases of `../shared/scenarios`, as intake documents and as
//! scripted walks through the lifecycle. `tocsin demo` runs Kerman; the
//! integration tests run both Kerman and Crocus and the edge cases.

use std::collections::BTreeSet;

use anyhow::{Context, Result, anyhow};
use std::collections::BTreeMap;
use tocsin_domain::case::{Case, CaseState, Command};
use tocsin_domain::delivery::*;
use tocsin_domain::report::NonEmptyVec;
use tocsin_domain::text::{Name, Note, Reason};
use tocsin_domain::time::TimeZoneName;

use tocsin_domain::access::{AccountSpec, Password};
use tocsin_domain::text::{ElementName, Label};
use tocsin_domain::{ActorName, CaseId, Role, ThreatReport, Timestamp, WaiverId, parse_report};
use tocsin_service::{Executed, Intake, ManualClock, Principal, Service, ServiceError};

pub const KERMAN_REPORT: &str = include_str!("../scenarios/kerman-report.json");
pub const CROCUS_REPORT: &str = include_str!("../scenarios/crocus-report.json");
pub const CROCUS_SYNAGOGUE_REPORT: &str = include_str!("../scenarios/crocus-synagogue-report.json");
pub const EDGE1_DATA_CENTRE: &str = include_str!("../scenarios/edge1-data-centre.json");
pub const EDGE2_FORUM_POST: &str = include_str!("../scenarios/edge2-forum-post.json");
pub const EDGE3_KIDNAPPING: &str = include_str!("../scenarios/edge3-kidnapping.json");
pub const EDGE4_COMMANDER: &str = include_str!("../scenarios/edge4-commander.json");
pub const EDGE6_SOURCE_EXPOSURE: &str = include_str!("../scenarios/edge6-source-exposure.json");
/// A victim who lives here, threatened at a consulate abroad: the victim's
/// whereabouts apart from the threat's location.
pub const EDGE7_CONSULATE: &str = include_str!("../scenarios/edge7-consulate.json");

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

/// A person of the scenarios: account name, roles, elements.
pub type Person<'a> = (&'a str, &'a [Role], &'a [&'a str]);

/// The people of the Kerman and Crocus cases (and the demo's accounts).
pub const PEOPLE: &[Person<'static>] = &[
    ("admin", &[Role::Admin], &["Administration"]),
    // A senior analyst who may also approve, but never her own drafts: the
    // Kerman run shows the two-person rule refusing her.
    (
        "analyst.kim",
        &[Role::Analyst, Role::Approver],
        &[
            "Counterterrorism Collection Element",
            "Counterterrorism Center",
        ],
    ),
    (
        "analyst.ross",
        &[Role::Analyst],
        &["Moscow Station", "Counterterrorism Center"],
    ),
    (
        "approver.lee",
        &[Role::Approver],
        &[
            "Counterterrorism Collection Element",
            "Counterterrorism Center",
        ],
    ),
    (
        "approver.hale",
        &[Role::Approver],
        &["Moscow Station", "Counterterrorism Center"],
    ),
    (
        "collector.ct",
        &[Role::Collector],
        &["Counterterrorism Collection Element"],
    ),
    (
        "collector.moscow",
        &[Role::Collector],
        &["Moscow Station", "Counterterrorism Center"],
    ),
    (
        "officer.diaz",
        &[Role::DeliveryOfficer],
        &["Counterterrorism Collection Element"],
    ),
    (
        "officer.moscow",
        &[Role::DeliveryOfficer],
        &["Moscow Station"],
    ),
    ("auditor.ng", &[Role::Auditor], &["Oversight"]),
    // Keeps the records: retention schedules, legal holds, the report.
    ("records.ortiz", &[Role::RecordsOfficer], &["Oversight"]),
];

/// People of a deployment as accounts, with their principals: how an
/// in-process edge (the demo, the tests) acts through the service.
pub struct Cast {
    people: BTreeMap<String, Principal>,
}

impl Cast {
    /// Makes `people` accounts of the deployment (done by the operator,
    /// [`Service::operator`]), each cleared to the top level and the HCS
    /// compartment, with `password` if given. Elements they need are
    /// registered. Accounts that exist already are kept.
    pub async fn enrol(
        svc: &Service,
        people: &[Person<'_>],
        password: Option<&str>,
    ) -> Result<Cast> {
        let mut cast = Cast {
            people: BTreeMap::new(),
        };
        cast.add(svc, people, password).await?;
        Ok(cast)
    }

    /// Adds `people` (see [`Cast::enrol`]).
    pub async fn add(
        &mut self,
        svc: &Service,
        people: &[Person<'_>],
        password: Option<&str>,
    ) -> Result<()> {
        let pw = |p: Option<&str>| -> Result<Option<Password>> {
            p.map(|p| Password::new(p).map_err(|e| anyhow!("{e}")))
                .transpose()
        };
        let operator = svc.operator().await?;
        let levels = svc.clearance_levels().await?;
        let top = levels
            .levels()
            .last()
            .cloned()
            .ok_or_else(|| anyhow!("no clearance levels"))?;
        for (name, roles, elements) in people {
            let n = ActorName::new(*name)?;
            if svc.principal(&n).await.is_err() {
                for e in *elements {
                    if svc.element(e).await?.is_none() {
                        svc.register_element(&operator, ElementName::new(*e)?, None)
                            .await?;
                    }
                }
                let spec = AccountSpec {
                    display_name: Name::new(*name)?,
                    elements: elements
                        .iter()
                        .map(|e| ElementName::new(*e))
                        .collect::<Result<BTreeSet<_>, _>>()?,
                    roles: roles.iter().copied().collect(),
                    clearance: top.clone(),
                    // The Kerman report is in the HCS compartment.
                    compartments: BTreeSet::from([Label::new("HCS")?]),
                };
                svc.create_account(&operator, n.clone(), spec, pw(password)?)
                    .await?;
            }
            self.people
                .insert(name.to_string(), svc.principal(&n).await?);
        }
        Ok(())
    }

    /// The principal of `name`.
    pub fn get(&self, name: &str) -> Result<&Principal> {
        self.people
            .get(name)
            .ok_or_else(|| anyhow!("{name} is not in the cast"))
    }
}

/// Runs `cmd` on case `id` as `who`: the service checks that `who` may
/// see the case, then runs the command.
pub async fn act(
    svc: &Service,
    who: &Principal,
    id: CaseId,
    cmd: Command,
) -> Result<Executed, ServiceError> {
    let case = svc.case(who, id, cmd.action().as_str()).await?;
    svc.execute(who, &case, cmd).await
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
    cast: &Cast,
    say: Narrator<'_>,
) -> Result<KermanRun> {
    let collector = cast.get("collector.ct")?;
    let analyst = cast.get("analyst.kim")?;
    let approver = cast.get("approver.lee")?;
    let officer = cast.get("officer.diaz")?;

    clock.set(ts("2023-12-26T10:00:00Z"));
    let sub = svc
        .submit_report(
            collector,
            Intake {
                owner: Some(analyst.name().clone()),
                ..Intake::new(report(KERMAN_REPORT)?)
            },
        )
        .await?;
    let id = sub.case_id;
    say(&format!(
        "2023-12-26  report received from the collecting element; case {id} opened (owner analyst.kim)"
    ));

    clock.set(ts("2023-12-26T14:00:00Z"));
    let ex = act(svc, analyst, id, Command::Determine { note: None }).await?;
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
    let refusal = act(
        svc,
        analyst,
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
    act(svc, analyst, id,
        Command::ChooseRoute { warning: None,
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
    let source_draft_refusal = act(
        svc,
        analyst,
        id,
        Command::DraftWarning {
            warning: None,
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

    let ex = act(
        svc,
        analyst,
        id,
        Command::DraftWarning {
            warning: None,
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
        .and_then(|w| w.versions.last())
        .map(|w| w.sha256.clone())
        .unwrap_or_default();
    say(&format!(
        "2023-12-26  sanitised warning v1 drafted (sha256 {sha})"
    ));

    clock.set(ts("2023-12-27T09:00:00Z"));
    if let Err(e) = act(
        svc,
        analyst,
        id,
        Command::ApproveWarning {
            warning: None,
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
    act(
        svc,
        approver,
        id,
        Command::ApproveWarning {
            warning: None,
            version: 1,
            sha256: Some(sha),
        },
    )
    .await?;
    say("2023-12-27  warning v1 approved by approver.lee (two-person rule)");

    act(svc, approver, id,
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
    act(
        svc,
        officer,
        id,
        Command::RecordDelivery {
            warning: None,
            delivery: hop1,
        },
    )
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
    let ex = act(
        svc,
        officer,
        id,
        Command::RecordDelivery {
            warning: None,
            delivery: hop2,
        },
    )
    .await?;
    say(&format!(
        "2023-12-29  both hops recorded; delivered 2023-12-29 10:30 Asia/Tehran; follow-up due {}",
        ex.case.warnings[0]
            .follow_up_by
            .map(|t| t.to_string())
            .unwrap_or_default()
    ));

    clock.set(ts("2024-01-02T12:00:00Z"));
    act(
        svc,
        officer,
        id,
        Command::RecordResponse {
            warning: None,
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
    let ex = act(svc, analyst, id,
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
pub async fn run_crocus(
    svc: &Service,
    clock: &ManualClock,
    cast: &Cast,
    say: Narrator<'_>,
) -> Result<Case> {
    let station = cast.get("collector.moscow")?;
    let analyst = cast.get("analyst.ross")?;
    let approver = cast.get("approver.hale")?;
    let officer = cast.get("officer.moscow")?;

    clock.set(ts("2024-03-05T11:00:00Z"));
    let sub = svc
        .submit_report(station, Intake::new(report(CROCUS_REPORT)?))
        .await?;
    let id = sub.case_id;
    say(&format!("2024-03-05  report received; case {id} opened"));
    clock.set(ts("2024-03-06T09:00:00Z"));
    let join = svc.case(station, id, "submit_report").await?;
    svc.submit_report(
        station,
        Intake {
            join: Some(join),
            ..Intake::new(report(CROCUS_SYNAGOGUE_REPORT)?)
        },
    )
    .await
    .context("the synagogue report joins the case")?;
    say("2024-03-06  related report on the synagogue plot joined the case");
    act(svc, analyst, id, Command::Determine { note: None }).await?;
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
    act(svc, analyst, id,
        Command::ChooseRoute { warning: None, route, rationale: reason("Direct relations: service-to-service liaison reaches the Russian security services fastest."), alternatives: vec![] },
    )
    .await?;
    let ex = act(
        svc,
        analyst,
        id,
        Command::DraftWarning {
            warning: None,
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
    let sha = ex.case.warnings[0].versions[0].sha256.clone();
    clock.set(ts("2024-03-07T07:00:00Z"));
    act(
        svc,
        approver,
        id,
        Command::ApproveWarning {
            warning: None,
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
    act(
        svc,
        officer,
        id,
        Command::RecordDelivery {
            warning: None,
            delivery: d,
        },
    )
    .await?;
    say("2024-03-07  written warning delivered to the FSB at 11:15 Moscow time");
    clock.set(ts("2024-03-07T20:00:00Z"));
    act(svc, approver, id,
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
    act(
        svc,
        officer,
        id,
        Command::RecordResponse {
            warning: None,
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
    act(
        svc,
        officer,
        id,
        Command::RecordResponse {
            warning: None,
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
    let ex = act(
        svc,
        analyst,
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
