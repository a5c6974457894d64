//! The service is the one door: an edge that calls the service directly,
//! as the web UI or a TAXII server will, meets the same rules as the HTTP
//! API, and its refusals are recorded in the same way.

use serde_json::{Value, json};
use tocsin_domain::case::Command;
use tocsin_domain::{ActorName, CaseId, Event, Role};
use tocsin_service::{CaseListQuery, Intake, Principal, Service, ServiceError};
use tocsin_store::StreamId;

use crate::support::{Deployment, Server};

const EL: &str = "Counterterrorism Collection Element";
const OTHER: &str = "Other Element";
const NO_ACCESS: &str = "no access to this case (clearance, compartments or element)";
const CASE_ROLES: [Role; 4] = [
    Role::Collector,
    Role::Analyst,
    Role::Approver,
    Role::DeliveryOfficer,
];

/// Refusals recorded for `who` on the access stream: (action, target, reason).
fn refusals(d: &Deployment, srv: &Server, who: &str) -> Vec<(String, Option<String>, String)> {
    let store = d.store();
    srv.rt
        .block_on(store.read_stream(&StreamId::Access))
        .unwrap()
        .into_iter()
        .filter(|e| e.envelope.actor.as_str() == who)
        .filter_map(|e| match e.envelope.event {
            Event::AccessRefused {
                action,
                target,
                reason,
            } => Some((action, target, reason)),
            _ => None,
        })
        .collect()
}

fn principal(srv: &Server, name: &str) -> Principal {
    let svc = srv.svc.clone();
    let name = ActorName::new(name).unwrap();
    srv.rt
        .block_on(async move { svc.principal(&name).await.unwrap() })
}

async fn submit(svc: &Service, p: &Principal, report: Value) -> CaseId {
    let report = tocsin_domain::parse_report(&report.to_string()).unwrap();
    svc.submit_report(p, Intake::new(report))
        .await
        .unwrap()
        .case_id
}

#[test]
fn a_direct_caller_without_access_can_neither_see_nor_act_and_is_recorded_as_over_http() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    srv.account("full", &CASE_ROLES, &[EL], "TOP SECRET", &["HCS"]);
    let tokens = [
        (
            "low",
            srv.account("low", &CASE_ROLES, &[EL], "CONFIDENTIAL", &["HCS"]),
        ),
        (
            "other",
            srv.account("other", &CASE_ROLES, &[OTHER], "TOP SECRET", &["HCS"]),
        ),
    ];
    let full = principal(&srv, "full");
    let svc = srv.svc.clone();
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let mut restricted = report.clone();
    restricted["handling"]["existence_restricted"] = json!(true);
    let (case, hidden) = srv.rt.block_on(async {
        (
            submit(&svc, &full, report).await,
            submit(&svc, &full, restricted).await,
        )
    });
    for (who, token) in &tokens {
        let p = principal(&srv, who);
        let before = refusals(&d, &srv, who).len();
        let version_before = srv.rt.block_on(async {
            let c = svc.case(&full, case, "test").await.unwrap();
            c.version
        });
        let (direct, hidden_direct) = srv.rt.block_on(async {
            // Neither the case nor what hangs on it.
            let seen = svc.case(&p, case, "get_case").await.unwrap_err();
            assert!(matches!(seen, ServiceError::Forbidden(_)), "{who}: {seen}");
            let read = svc.read_case(&p, case).await.unwrap_err();
            assert!(matches!(read, ServiceError::Forbidden(_)), "{who}: {read}");
            let events = svc.case_events(&p, case).await.unwrap_err();
            assert!(
                matches!(events, ServiceError::Forbidden(_)),
                "{who}: {events}"
            );
            let plan = svc.route_plan(&p, case).await.unwrap_err();
            assert!(matches!(plan, ServiceError::Forbidden(_)), "{who}: {plan}");
            // Lists leave it out.
            let list = svc
                .list_cases(
                    &p,
                    CaseListQuery {
                        limit: 100,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert!(list.items.iter().all(|c| c.id != case), "{who} lists it");
            // Acting through someone else's proof of access is refused too:
            // the command checks the caller against the state it folds.
            let theirs = svc.case(&full, case, "test").await.unwrap();
            let act = svc
                .execute(&p, &theirs, Command::Determine { note: None })
                .await
                .unwrap_err();
            assert!(matches!(act, ServiceError::Forbidden(_)), "{who}: {act}");
            // A case whose existence is restricted is a missing case.
            let h = svc.case(&p, hidden, "get_case").await.unwrap_err();
            (seen.to_string(), h.to_string())
        });
        assert_eq!(
            direct,
            format!("you may not see case {case}: {NO_ACCESS}"),
            "{who}"
        );
        assert_eq!(hidden_direct, format!("there is no case {hidden}"), "{who}");
        // Nothing was written to the case.
        let version_after = srv.rt.block_on(async {
            let c = svc.case(&full, case, "test").await.unwrap();
            c.version
        });
        assert_eq!(version_after, version_before, "{who} changed the case");
        // Over HTTP the same account gets the same answers.
        let a = srv.call("GET", &format!("/api/v1/cases/{case}"), Some(token), None);
        assert_eq!(a.status, 403, "{who}: {:?}", a.body);
        assert_eq!(a.body["detail"], direct.as_str());
        let h = srv.call("GET", &format!("/api/v1/cases/{hidden}"), Some(token), None);
        assert_eq!(h.status, 404, "{who}: {:?}", h.body);
        assert_eq!(h.body["detail"], hidden_direct.as_str());
        // Every refusal is recorded, the direct ones exactly as the HTTP one.
        let recorded = refusals(&d, &srv, who);
        let new = &recorded[before..];
        let target = Some(format!("case/{case}"));
        let get_case: Vec<_> = new
            .iter()
            .filter(|r| r.0 == "get_case" && r.1 == target)
            .collect();
        assert_eq!(
            get_case.len(),
            3,
            "{who}: svc.case, svc.read_case and GET /cases/{{id}}: {new:?}"
        );
        assert!(get_case.iter().all(|r| r.2 == NO_ACCESS), "{new:?}");
        for action in ["case_events", "route_plan", "determine"] {
            assert!(
                new.iter()
                    .any(|r| r.0 == action && r.1 == target && r.2 == NO_ACCESS),
                "{who}: no refusal of {action} recorded: {new:?}"
            );
        }
        let hidden_target = Some(format!("case/{hidden}"));
        assert_eq!(
            new.iter().filter(|r| r.1 == hidden_target).count(),
            2,
            "{who}: the restricted case, directly and over HTTP: {new:?}"
        );
    }
}

#[test]
fn a_direct_caller_without_the_permission_is_refused_and_recorded() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    srv.account("col", &[Role::Collector], &[EL], "TOP SECRET", &["HCS"]);
    let col = principal(&srv, "col");
    let svc = srv.svc.clone();
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let err = srv.rt.block_on(async {
        let id = submit(&svc, &col, report).await;
        let case = svc.case(&col, id, "get_case").await.unwrap();
        svc.execute(&col, &case, Command::Determine { note: None })
            .await
            .unwrap_err()
    });
    assert!(matches!(err, ServiceError::Forbidden(_)), "{err}");
    assert!(
        err.to_string().contains("lacks the analyse permission"),
        "{err}"
    );
    // An admin manages accounts, and never reads a case.
    let col = principal(&srv, "col");
    let admin_err = srv.rt.block_on(async {
        let admin = svc.operator().await.unwrap();
        let id = svc
            .list_cases(
                &col,
                CaseListQuery {
                    limit: 1,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .items[0]
            .id;
        svc.case(&admin, id, "get_case").await.unwrap_err()
    });
    assert!(
        admin_err
            .to_string()
            .contains("lacks the read_case permission"),
        "{admin_err}"
    );
    let recorded = refusals(&d, &srv, "col");
    assert!(
        recorded
            .iter()
            .any(|r| r.0 == "determine" && r.2 == err.to_string()),
        "{recorded:?}"
    );
}
