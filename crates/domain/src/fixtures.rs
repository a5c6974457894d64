//! Test fixtures shared by the routing, template and sanitiser tests: the
//! scenario intake documents (the canonical files of the `tocsin` crate, so
//! there is one copy of each scenario) and cases built from them.

use crate::actor::Actor;
use crate::case::{Case, Command, Ctx, OpenCase};
use crate::event::RecordedEvent;
use crate::ids::{CaseId, ReportId};
use crate::policy::LoadedPolicy;
use crate::report::{ThreatReport, parse_report};
use crate::text::ActorName;

pub const KERMAN: &str = include_str!("../../tocsin/scenarios/kerman-report.json");
pub const CROCUS: &str = include_str!("../../tocsin/scenarios/crocus-report.json");
pub const CROCUS_SYNAGOGUE: &str =
    include_str!("../../tocsin/scenarios/crocus-synagogue-report.json");
pub const EDGE1: &str = include_str!("../../tocsin/scenarios/edge1-data-centre.json");
pub const EDGE2: &str = include_str!("../../tocsin/scenarios/edge2-forum-post.json");
pub const EDGE3: &str = include_str!("../../tocsin/scenarios/edge3-kidnapping.json");
pub const EDGE4: &str = include_str!("../../tocsin/scenarios/edge4-commander.json");
pub const EDGE6: &str = include_str!("../../tocsin/scenarios/edge6-source-exposure.json");
pub const EDGE7: &str = include_str!("../../tocsin/scenarios/edge7-consulate.json");

/// Every scenario report, with a short name.
pub const ALL: &[(&str, &str)] = &[
    ("kerman", KERMAN),
    ("crocus", CROCUS),
    ("crocus-synagogue", CROCUS_SYNAGOGUE),
    ("edge1", EDGE1),
    ("edge2", EDGE2),
    ("edge3", EDGE3),
    ("edge4", EDGE4),
    ("edge6", EDGE6),
    ("edge7", EDGE7),
];

pub fn report(json: &str) -> ThreatReport {
    parse_report(json).unwrap()
}

/// A case opened by the first report, with the others attached, folded from its events.
pub fn case_of(reports: &[ThreatReport]) -> Case {
    let policy = LoadedPolicy::builtin();
    let actor = Actor::with_all_roles(ActorName::new("collector.a").unwrap());
    let ctx = Ctx {
        actor: &actor,
        now: reports[0].received_at,
        policy: &policy,
        report_formats: &[],
    };
    let events = Case::open(
        OpenCase {
            case_id: CaseId::from_uuid(uuid::Uuid::from_u128(1)),
            report_id: ReportId::from_uuid(uuid::Uuid::from_u128(100)),
            report: reports[0].clone(),
            owner: None,
        },
        ctx,
    )
    .unwrap();
    let mut recorded: Vec<RecordedEvent> = events
        .into_iter()
        .enumerate()
        .map(|(i, event)| RecordedEvent {
            seq: i as u64 + 1,
            recorded_at: ctx.now,
            actor: actor.name.clone(),
            event,
        })
        .collect();
    let mut case = Case::from_events(&recorded).unwrap();
    for (n, r) in reports.iter().enumerate().skip(1) {
        let events = case
            .handle(
                Command::AttachReport {
                    report_id: ReportId::from_uuid(uuid::Uuid::from_u128(100 + n as u128)),
                    report: Box::new(r.clone()),
                },
                ctx,
            )
            .unwrap();
        for event in events {
            let e = RecordedEvent {
                seq: recorded.len() as u64 + 1,
                recorded_at: ctx.now,
                actor: actor.name.clone(),
                event,
            };
            case.apply(&e).unwrap();
            recorded.push(e);
        }
    }
    case
}
