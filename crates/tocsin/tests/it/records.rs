//! Records management (issue 14): retention schedules, legal holds and
//! the records officer's report, walked as one story over the API (and
//! the CLI for the report) on a Kerman case closed on an injected clock.

use serde_json::{Value, json};
use tocsin::scenarios::{Cast, PEOPLE, run_kerman};
use tocsin_domain::Role;

use crate::admin::{admins_with_case_roles, enrol, enrolment, login};
use crate::browser::{Browser, backend};
use crate::support::{Deployment, Server, block_on, stderr, stdout};

/// Kerman closes when its outcome is recorded, at this instant.
const CLOSED_AT: &str = "2024-01-04T12:00:00Z";
/// Reports of a closed case are disposed of 30 days after it closed.
const SCHEDULES: &str = r#"
[[schedule]]
class = "report"
trigger = "case_closed"
period = "P30D"
action = "dispose"
authority = "Test file plan, item 1"

[[schedule]]
class = "waiver"
period = "permanent"
authority = "Test file plan, item 2"
"#;

/// The report records of `case` the report lists under `list`.
fn report_records<'a>(report: &'a Value, list: &str, case: &str) -> Vec<&'a Value> {
    report[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list}: {report}"))
        .iter()
        .filter(|r| r["case_id"] == case && r["kind"] == "report_attached")
        .collect()
}

fn records_report(srv: &Server, token: &str) -> Value {
    srv.ok(token, "GET", "/api/v1/records/report", None)
}

#[track_caller]
fn refused(a: &crate::support::Answer, status: u16, kind: &str, what: &str) {
    assert_eq!(a.status, status, "{what}: {:?}", a.body);
    let t = a.body["type"].as_str().unwrap_or_default();
    assert!(t.ends_with(kind), "{what}: {:?}", a.body);
}

#[test]
fn records_officers_keep_schedules_and_legal_holds_and_the_report_follows_the_clock() {
    let d = Deployment::new();
    // A policy that lets an admin hold other roles: the worst case for
    // the two-person rule's credential lineage (below).
    let srv = d.serve_under(
        "2023-12-26T10:00:00Z",
        tocsin_server::ServerConfig {
            jobs: None,
            ..Default::default()
        },
        admins_with_case_roles(),
    );
    let case = srv.rt.block_on(async {
        let cast = Cast::enrol(&srv.svc, PEOPLE, None).await.unwrap();
        run_kerman(&srv.svc, &srv.clock, &cast, &mut |_: &str| {})
            .await
            .unwrap()
            .case_id
            .to_string()
    });
    let officer = |name: &str| {
        srv.account(
            name,
            &[Role::RecordsOfficer],
            &["Records"],
            "TOP SECRET",
            &["HCS"],
        )
    };
    let (a, b) = (officer("records.a"), officer("records.b"));
    let analyst = srv.account(
        "analyst.x",
        &[Role::Analyst],
        &["Counterterrorism Center"],
        "TOP SECRET",
        &["HCS"],
    );

    // Schedules: the built-in ones schedule no report; only records
    // officers read or set them; a wrong file is refused with its line.
    let s = srv.ok(&a, "GET", "/api/v1/records/schedules", None);
    assert_eq!(s["origin"], "built-in", "{s}");
    assert!(
        s["unscheduled"]
            .as_array()
            .unwrap()
            .contains(&json!("report")),
        "{s}"
    );
    let r = srv.call("GET", "/api/v1/records/schedules", Some(&analyst), None);
    refused(&r, 403, "forbidden", "an analyst reads the schedules");
    let r = srv.call(
        "PUT",
        "/api/v1/records/schedules",
        Some(&a),
        Some(json!({"source": SCHEDULES.replace("P30D", "thirty days"), "origin": "bad.toml"})),
    );
    refused(&r, 422, "validation", "a wrong period");
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("line 5") && detail.contains("thirty days"),
        "{detail}"
    );
    let s = srv.ok(
        &a,
        "PUT",
        "/api/v1/records/schedules",
        Some(json!({"source": SCHEDULES, "origin": "file-plan.toml"})),
    );
    assert_eq!(
        (&s["origin"], &s["adopted_by"]),
        (&json!("file-plan.toml"), &json!("records.a"))
    );
    let report_schedule = &s["schedules"][0];
    assert_eq!(
        (
            &report_schedule["class"],
            &report_schedule["trigger"],
            &report_schedule["period"],
            &report_schedule["action"]
        ),
        (
            &json!("report"),
            &json!("case_closed"),
            &json!("P30D"),
            &json!("dispose")
        ),
        "{s}"
    );

    // The case closed at CLOSED_AT: its report is eligible at +30 days,
    // not one second earlier.
    srv.set_now("2024-02-03T11:59:59Z");
    let r = records_report(&srv, &a);
    assert!(report_records(&r, "eligible", &case).is_empty(), "{r}");
    srv.set_now("2024-02-03T12:00:00Z");
    let r = records_report(&srv, &a);
    // A period starting after now holds nothing yet (not an error); a
    // reversed one is a bad query.
    let later = srv.ok(
        &a,
        "GET",
        "/api/v1/records/report?from=2024-02-04T00:00:00Z",
        None,
    );
    assert_eq!(later["disposed"], serde_json::json!([]), "{later}");
    let reversed = srv.call(
        "GET",
        "/api/v1/records/report?from=2024-02-04T00:00:00Z&until=2024-02-01T00:00:00Z",
        Some(&a),
        None,
    );
    assert_eq!(reversed.status, 400, "{:?}", reversed.body);
    assert!(
        reversed.body["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("from: ") && d.contains("is after until")),
        "{:?}",
        reversed.body
    );
    let eligible = report_records(&r, "eligible", &case);
    assert_eq!(eligible.len(), 1, "{r}");
    assert_eq!(eligible[0]["eligible_since"], "2024-02-03T12:00:00Z");
    assert_eq!(
        eligible[0]["schedule"]["authority"],
        "Test file plan, item 1"
    );
    let position = eligible[0]["position"].clone();
    assert_eq!(CLOSED_AT, "2024-01-04T12:00:00Z");

    // A hold over the case, requested by a: it holds at once; a cannot
    // approve it; b does.
    let hold = |by: &str| -> String {
        let h = srv.ok(
            by,
            "POST",
            "/api/v1/records/holds",
            Some(json!({"scope": {"cases": [case]}, "reason": "Preservation letter from the inspector general"})),
        );
        assert_eq!(h["hold"]["stage"], "requested", "{h}");
        h["hold_id"].as_str().unwrap().to_owned()
    };
    let step = |by: &str, id: &str, what: &str, body: Option<Value>| {
        srv.call(
            "POST",
            &format!("/api/v1/records/holds/{id}/{what}"),
            Some(by),
            body,
        )
    };
    // A hold names cases that exist.
    let r = srv.call(
        "POST",
        "/api/v1/records/holds",
        Some(&a),
        Some(json!({"scope": {"cases": ["01a20000-0000-7000-8000-000000000000"]}, "reason": "A typo"})),
    );
    refused(&r, 404, "not-found", "a hold on no case");
    let first = hold(&a);
    let r = records_report(&srv, &a);
    assert!(report_records(&r, "eligible", &case).is_empty(), "{r}");
    let held = report_records(&r, "held", &case);
    assert_eq!(held[0]["holds"], json!([first]), "{r}");
    assert_eq!(held[0]["position"], position);
    let r = step(&a, &first, "approval", None);
    refused(&r, 403, "two-person-rule", "the requester approves");
    let r = step(&analyst, &first, "approval", None);
    refused(&r, 403, "forbidden", "an analyst approves");
    let placed = step(&b, &first, "approval", None);
    assert_eq!(placed.status, 200, "{:?}", placed.body);
    assert_eq!(placed.body["hold"]["stage"], "placed");
    let r = step(&b, &first, "approval", None);
    refused(&r, 409, "illegal-transition", "approved twice");

    // Two holds: releasing one still holds the record.
    let second = hold(&b);
    assert_eq!(step(&a, &second, "approval", None).status, 200);
    let held = report_records(&records_report(&srv, &a), "held", &case)[0].clone();
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    assert_eq!(held["holds"], json!(both));
    let why = json!({"reason": "The inquiry closed"});
    let r = step(&b, &first, "release", Some(why.clone()));
    assert_eq!(r.body["hold"]["stage"], "release_requested", "{:?}", r.body);
    // Still held while the release awaits a second person, who is not b.
    let r = step(&b, &first, "approval", None);
    refused(
        &r,
        403,
        "two-person-rule",
        "the release's requester approves it",
    );
    let r = step(&a, &first, "approval", None);
    assert_eq!(
        (r.status, &r.body["recorded"]),
        (200, &json!("hold_released")),
        "{:?}",
        r.body
    );
    let report = records_report(&srv, &a);
    let held = report_records(&report, "held", &case);
    assert_eq!(held[0]["holds"], json!([second]), "{report}");
    assert!(report_records(&report, "eligible", &case).is_empty());
    let list = srv.ok(&a, "GET", "/api/v1/records/holds", None);
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    // Releasing the other makes the record eligible again.
    assert_eq!(step(&a, &second, "release", Some(why)).status, 200);
    assert_eq!(step(&b, &second, "approval", None).status, 200);
    let report = records_report(&srv, &a);
    assert_eq!(report_records(&report, "eligible", &case).len(), 1);
    assert!(report["held"].as_array().unwrap().is_empty(), "{report}");
    // A declined request ends the hold; an unknown hold is 404.
    let third = hold(&a);
    let r = step(
        &b,
        &third,
        "decline",
        Some(json!({"reason": "No proceedings"})),
    );
    assert_eq!(
        (r.status, &r.body["recorded"]),
        (200, &json!("hold_declined"))
    );
    let r = step(&b, &third, "approval", None);
    refused(&r, 404, "not-found", "approving a declined hold");

    // Credential lineage: an admin who is also a records officer (the
    // policy allows it here) enrolled c; c cannot approve the admin's hold.
    let adm = srv.account(
        "adm",
        &[Role::Admin, Role::RecordsOfficer],
        &["Records"],
        "TOP SECRET",
        &["HCS"],
    );
    officer("records.c");
    let secret = enrolment(&srv, &adm, "records.c");
    enrol(&srv, "records.c", &secret, "c chose this one");
    let c = login(&srv, "records.c", "c chose this one");
    let fourth = hold(&adm);
    let r = srv.call_with(
        "POST",
        &format!("/api/v1/records/holds/{fourth}/approval"),
        None,
        None,
        &c.headers(),
    );
    refused(&r, 403, "forbidden", "approved through a minted credential");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("one-time secret"),
        "{:?}",
        r.body
    );
    assert_eq!(step(&b, &fourth, "approval", None).status, 200);

    // The CLI prints the same report and the schedules.
    let out = srv
        .cli(&d, &a)
        .args(["records", "report", "--from", "2024-01-01T00:00:00Z"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("on hold: "), "{text}");
    assert!(
        text.contains(&format!(
            "position {position}  case {case}  report (report_attached)"
        )),
        "{text}"
    );
    let out = srv
        .cli(&d, &a)
        .args(["records", "schedule", "show"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("file-plan.toml"), "{}", stdout(&out));

    // The records page shows the same, to a records officer only.
    let browser = Browser::open(&srv, backend(&d));
    browser.login("analyst.x", "analyst.x-password");
    assert!(!browser.exists("#nav-records"), "{}", browser.body());
    browser.goto("/records");
    assert!(!browser.exists("#schedules"), "{}", browser.body());
    browser.logout();
    browser.login("records.a", "records.a-password");
    browser.click("#nav-records");
    assert_eq!(browser.path(), "/records");
    assert_eq!(browser.text("#schedules-origin"), "file-plan.toml");
    assert_eq!(browser.text("#exemptions-origin"), "built-in");
    assert!(
        browser.text("#exemptions").contains("(b)(7)(C)"),
        "{}",
        browser.body()
    );
    let held = browser.text("#held");
    assert!(held.contains(&case) && held.contains(&fourth), "{held}");
    assert!(browser.exists("#no-eligible"), "{}", browser.body());

    // An insider who appends c's approval of the admin's hold straight to
    // the ledger passes the service by, not `audit verify --deep`.
    let fifth = hold(&adm);
    drop(browser);
    drop(srv);
    d.tampered();
    let store = d.store();
    let stream = tocsin_store::StreamId::Records;
    let version = block_on(store.read_stream(&stream)).unwrap().len() as u64;
    let placed = tocsin_store::EventEnvelope {
        recorded_at: "2024-06-01T00:00:00Z".parse().unwrap(),
        actor: tocsin_domain::ActorName::new("records.c").unwrap(),
        event: tocsin_domain::event::Event::HoldPlaced {
            hold_id: fifth.parse().unwrap(),
        },
    };
    block_on(store.append(tocsin_store::NewEvents::new(stream, version, vec![placed]))).unwrap();
    let out = d.run(&["audit", "verify", "--deep"]);
    let s = stdout(&out);
    assert!(!out.status.success(), "{s}");
    assert!(
        s.contains(&format!(
            "hold {fifth}: adm asked and records.c decided (hold_placed): not two people"
        )),
        "{s}"
    );
}
