//! `tocsin audit verify --deep` folds the accounts and every case from the
//! ledger alone (issue 11, item 3): it names an edit made directly in the
//! database to a derived document or a query-table row, and an action
//! recorded for an account that did not hold what it needed then, even
//! when the ledger itself is intact (appended through the store, with the
//! key, bypassing the service).

use serde_json::Value;
use tocsin_domain::event::Event;
use tocsin_domain::text::Reason;
use tocsin_domain::{ActorName, CaseId, Timestamp};
use tocsin_store::{EventEnvelope, NewEvents, StreamId};

use crate::p;
use crate::support::{Backend, Deployment, block_on, stdout};
use crate::tamper::demo;

#[track_caller]
fn assert_deep_fails(d: &Deployment, words: &str) {
    d.tampered();
    // The ledger itself is intact: the plain verification passes.
    let plain = d.run(&["audit", "verify"]);
    assert!(plain.status.success(), "{}", stdout(&plain));
    let out = d.run(&["audit", "verify", "--deep"]);
    let s = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "--deep should fail:\n{s}");
    assert!(
        s.starts_with("FAILED: the ledger does not bear this out"),
        "{s}"
    );
    assert!(s.contains(words), "expected '{words}':\n{s}");
}

/// Rewrites the JSON body of a derived document.
fn edit_doc(d: &Deployment, kind: &str, key: &str, edit: impl FnOnce(&mut Value)) {
    let c = d.sql();
    let body = c.row(
        "SELECT body FROM docs WHERE kind = ?1 AND key = ?2",
        p![kind, key],
    )[0]
    .b();
    let mut v: Value = serde_json::from_slice(&body).unwrap();
    edit(&mut v);
    let n = c.exec(
        "UPDATE docs SET body = ?1 WHERE kind = ?2 AND key = ?3",
        p![serde_json::to_vec(&v).unwrap(), kind, key],
    );
    assert_eq!(n, 1);
}

fn kerman_case(d: &Deployment) -> CaseId {
    let (svc, _clock, store) = d.service("2023-12-10T00:00:00Z");
    drop(svc);
    let ids = block_on(store.case_ids()).unwrap();
    assert_eq!(ids.len(), 1);
    ids[0]
}

#[test]
fn a_clean_ledger_is_borne_out() {
    let (d, _) = demo();
    let out = d.run(&["audit", "verify", "--deep"]);
    let s = stdout(&out);
    assert!(out.status.success(), "{s}");
    assert!(s.contains("the ledger bears out"), "{s}");
    let out = d.run(&["--json", "audit", "verify", "--deep"]);
    let v: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["deep"]["cases"], 1);
    assert!(v["deep"]["actions"].as_u64().unwrap() >= 8, "{v}");
}

#[test]
fn edited_account_roles_are_named() {
    let (d, _) = demo();
    edit_doc(&d, "account", "collector.ct", |v| {
        v["roles"] = serde_json::json!(["analyst", "collector"]);
    });
    assert_deep_fails(
        &d,
        "the account document collector.ct differs from the ledger: roles",
    );
}

#[test]
fn edited_marking_columns_are_named() {
    let (d, _) = demo();
    let id = kerman_case(&d);
    let empty = match d.backend {
        Backend::Sqlite => "[]",
        Backend::Postgres => "{}",
    };
    let n = d.sql().exec(
        &format!("UPDATE cases SET compartments = '{empty}' WHERE id = ?1"),
        p![id.to_string()],
    );
    assert_eq!(n, 1);
    assert_deep_fails(&d, "differs from the ledger: compartments");
}

#[test]
fn an_edited_case_counter_or_report_row_is_named() {
    let (d, _) = demo();
    let n = d.sql().exec(
        "UPDATE case_counts SET n = n + 5 WHERE name = 'state:closed'",
        &[],
    );
    assert_eq!(n, 1);
    assert_deep_fails(&d, "the case counter state:closed is");
    d.sql().exec(
        "UPDATE case_counts SET n = n - 5 WHERE name = 'state:closed'",
        &[],
    );
    let id = kerman_case(&d);
    let n = d.sql().exec(
        "UPDATE reports SET number_format = 'X' WHERE case_id = ?1",
        p![id.to_string()],
    );
    assert!(n >= 1);
    assert_deep_fails(
        &d,
        "the report-number format X is in the query tables and not in the ledger",
    );
}

#[test]
fn an_edited_derived_document_is_named() {
    let (d, _) = demo();
    edit_doc(&d, "element", "Counterterrorism Collection Element", |v| {
        v["description"] = Value::from("a description nobody recorded");
    });
    assert_deep_fails(
        &d,
        "the element document Counterterrorism Collection Element differs from the ledger: description",
    );
}

#[test]
fn an_action_by_an_account_without_the_role_then_is_named() {
    let (d, _) = demo();
    let id = kerman_case(&d);
    let (svc, _clock, store) = d.service("2023-12-10T00:00:00Z");
    drop(svc);
    // Someone with the database and the key appends, bypassing the
    // service, a re-assessment in the name of a collector.
    let stream = StreamId::Case(id);
    let version = block_on(store.read_stream(&stream)).unwrap().len() as u64;
    let forged = block_on(store.append(NewEvents {
        stream,
        expected_version: Some(version),
        events: vec![EventEnvelope {
            recorded_at: "2023-12-10T00:00:00Z".parse::<Timestamp>().unwrap(),
            actor: ActorName::new("collector.ct").unwrap(),
            event: Event::ReassessmentStarted {
                reason: Reason::new("Nothing to see here.").unwrap(),
            },
        }],
        summary: None,
        docs: vec![],
        salts: vec![],
    }));
    let position = forged.expect("append").first_position;
    drop(store);
    assert_deep_fails(
        &d,
        &format!(
            "position {position}: reassessment_started by collector.ct: the account held no role granting analyse then"
        ),
    );
}
