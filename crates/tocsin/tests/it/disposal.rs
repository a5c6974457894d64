//! Disposal that the ledger still proves (issue 14), over the real server
//! on an injected clock: two closed cases' reports fall due under a
//! retention schedule, not one second early; a records officer proposes
//! them, the same officer cannot approve, a second one does while a legal
//! hold requested since covers one case, which is skipped with the
//! reason. After disposal the report's content is unreadable through
//! every face (API, CLI, web UI, STIX), the case takes no more commands,
//! `audit verify` passes counting the disposed leaf, and `audit prove`
//! names its tombstone.

use serde_json::{Value, json};
use tocsin_domain::Role;
use tocsin_domain::event::Event;
use tocsin_domain::records::{RecordQuery, RetentionSchedules};
use tocsin_store::{EventEnvelope, NewEvents, StreamId};

use crate::support::{Deployment, Server, block_on, stdout};

const EL: &str = "Counterterrorism Collection Element";
/// In the disposed report's narrative, and nowhere else.
const SECRET: &str = "QUOKKA-7731 lives at 14 Rue des Tanneurs";
/// In the held case's report.
const HELD: &str = "WOMBAT-2208 meets at the old mill";

const SCHEDULES: &str = "[[schedule]]\nclass = \"report\"\ntrigger = \"case_closed\"\nperiod = \"P30D\"\naction = \"dispose\"\nauthority = \"File plan 4.2 (test)\"\n\n[[schedule]]\nclass = \"delivery_evidence\"\ntrigger = \"case_closed\"\nperiod = \"P30D\"\naction = \"dispose\"\nauthority = \"File plan 4.3 (test)\"\n";

fn report(narrative: &str, title: &str) -> Value {
    let mut r: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    r["narrative"] = json!(narrative);
    r["title"] = json!(title);
    // Unclassified: the case's marking does not depend on the report
    // (unless the title asks for SECRET).
    r["handling"] = if title.contains("SECRET") {
        json!({ "tlp": "TLP:AMBER", "classification": "SECRET" })
    } else {
        json!({ "tlp": "TLP:AMBER" })
    };
    r.as_object_mut().unwrap().remove("secret_terms");
    r
}

/// Opens a case and closes it at once (an outcome with no duty ever
/// found): its id and number.
fn closed_case(srv: &Server, token: &str, narrative: &str, title: &str) -> (String, String) {
    let a = srv.ok(
        token,
        "POST",
        "/api/v1/reports",
        Some(report(narrative, title)),
    );
    let id = a["case_id"].as_str().unwrap().to_owned();
    let r = srv.ok(
        token,
        "POST",
        &format!("/api/v1/cases/{id}/outcome"),
        Some(json!({ "outcome": "no_event", "note": "Nothing happened." })),
    );
    assert_eq!(r["state"], "closed", "{r}");
    (id, a["number"].as_str().unwrap().to_owned())
}

/// Appends `event` to the records stream as `actor` (what the records
/// officers' schedule and hold commands record).
fn record(d: &Deployment, actor: &str, at: &str, event: Event) {
    let store = d.store();
    let version = block_on(store.read_stream(&StreamId::Records))
        .unwrap()
        .len() as u64;
    let env = EventEnvelope {
        recorded_at: at.parse().unwrap(),
        actor: tocsin_domain::ActorName::new(actor).unwrap(),
        event,
    };
    block_on(store.append(NewEvents::new(StreamId::Records, version, vec![env]))).unwrap();
}

/// An analyst who files and closes cases, and two records officers:
/// their tokens.
fn people(srv: &Server) -> (String, String, String) {
    let analyst = srv.account(
        "analyst.a",
        &[Role::Collector, Role::Analyst],
        &[EL],
        "TOP SECRET",
        &[],
    );
    let officer = |name: &str| srv.account(name, &[Role::RecordsOfficer], &[EL], "TOP SECRET", &[]);
    (analyst, officer("records.a"), officer("records.b"))
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn text(v: &Value) -> String {
    v.to_string()
}

#[test]
fn a_closed_cases_report_is_disposed_of_and_the_ledger_still_proves_it() {
    let d = Deployment::new();
    let srv = d.serve("2024-02-01T10:00:00Z");
    let (analyst, rec_a, rec_b) = people(&srv);
    let auditor = srv.account("auditor", &[Role::Auditor], &[EL], "TOP SECRET", &[]);
    let (case, number) = closed_case(&srv, &analyst, SECRET, "Disposal test case");
    let (held_case, _) = closed_case(&srv, &analyst, HELD, "Held test case");
    // A SECRET report: without it the case would lose its marking.
    let (marked_case, _) = closed_case(&srv, &analyst, "A classified report.", "SECRET test case");
    // A case published to a TAXII collection: partners keep its copy.
    let (published_case, _) =
        closed_case(&srv, &analyst, "A shared report.", "Published test case");
    let admin = srv.account("admin.t", &[Role::Admin], &[EL], "TOP SECRET", &[]);
    let collection = "01935f6e-0000-7000-8000-00000000d15b";
    crate::taxii::collection(&srv, &admin, collection, "UNCLASSIFIED", &[]);
    srv.ok(
        &analyst,
        "POST",
        &format!("/api/v1/cases/{published_case}/taxii"),
        Some(json!({ "collection": collection })),
    );
    assert!(
        text(&srv.ok(&analyst, "GET", &format!("/api/v1/cases/{case}"), None)).contains(SECRET)
    );
    let schedules = RetentionSchedules::parse(SCHEDULES, "test.toml").unwrap();
    record(
        &d,
        "records.a",
        "2024-02-01T11:00:00Z",
        Event::RetentionSchedulesAdopted {
            sha256: schedules.sha256.clone(),
            origin: "test.toml".into(),
            source: SCHEDULES.into(),
        },
    );

    // Closed at 10:00 on 1 February: due 30 days later, not one second
    // before.
    srv.set_now("2024-03-02T09:59:59Z");
    let early = srv.ok(&rec_a, "POST", "/api/v1/records/disposals", None);
    assert_eq!(early["positions"], json!([]), "{early}");
    srv.set_now("2024-03-02T10:00:00Z");
    let batch = srv.ok(&rec_a, "POST", "/api/v1/records/disposals", None);
    let id = batch["batch_id"].as_str().unwrap().to_owned();
    let proposed: Vec<u64> = serde_json::from_value(batch["positions"].clone()).unwrap();
    assert!(proposed.len() >= 2, "{batch}");
    // The report of each case, by its ledger position.
    let events = |c: &str| srv.ok(&auditor, "GET", &format!("/api/v1/cases/{c}/events"), None);
    let ev = events(&case);
    let report_at = |ev: &Value| -> u64 {
        ev["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event"]["type"] == "report_attached")
            .and_then(|e| e["position"].as_u64())
            .unwrap_or_else(|| panic!("no report_attached with its position: {ev}"))
    };
    let pos = report_at(&ev);
    let held_pos = report_at(&events(&held_case));
    let marked_pos = report_at(&events(&marked_case));
    let published_pos = report_at(&events(&published_case));
    assert!(proposed.contains(&marked_pos), "{batch}");
    assert!(
        proposed.contains(&pos) && proposed.contains(&held_pos),
        "{batch}"
    );

    // The same officer cannot approve; a legal hold requested since the
    // proposal covers the second case.
    let approve = format!("/api/v1/records/disposals/{id}/approval");
    let same = srv.call("POST", &approve, Some(&rec_a), None);
    assert_eq!(same.status, 403, "{:?}", same.body);
    record(
        &d,
        "records.a",
        "2024-03-02T10:00:00Z",
        Event::HoldRequested {
            hold_id: tocsin_domain::ids::HoldId::from_uuid(tocsin_domain::ids::Uuid::from_u128(5)),
            scope: RecordQuery::cases([held_case.parse().unwrap()]).unwrap(),
            reason: tocsin_domain::text::Reason::new("litigation: Doe v. Agency").unwrap(),
        },
    );
    // A failure anywhere in the disposal's transaction leaves nothing of
    // it: no tombstone, the content kept, the batch still awaiting.
    {
        let faults = tocsin_store::faults::Scenario::in_deployment(srv.svc.deployment_id());
        let records = || {
            block_on(d.store().read_stream(&StreamId::Records))
                .unwrap()
                .len()
        };
        let before = records();
        for point in [
            "store::append",
            "store::docs::write",
            "ledger::checkpoint::sign",
            "store::commit",
        ] {
            faults.arm(point, "1*return->off");
            let a = srv.call("POST", &approve, Some(&rec_b), None);
            faults.disarm(point);
            assert_eq!(a.status, 500, "{point}: {:?}", a.body);
            assert_eq!(records(), before, "{point}");
            let kept = d.sql().rows(
                "SELECT content_body FROM ledger WHERE position = ?1",
                crate::p![pos as i64],
            );
            assert!(!matches!(kept[0][0], crate::support::V::Null), "{point}");
        }
        let list = srv.ok(&rec_a, "GET", "/api/v1/records/disposals", None);
        assert!(list["items"][1]["approval"].is_null(), "{list}");
    }
    let done = srv.ok(&rec_b, "POST", &approve, None);
    let approval = &done["approval"];
    let disposed: Vec<u64> = serde_json::from_value(approval["disposed"].clone()).unwrap();
    assert!(
        disposed.contains(&pos) && !disposed.contains(&held_pos),
        "{done}"
    );
    let skipped = approval["skipped"].as_array().unwrap();
    assert!(
        skipped
            .iter()
            .any(|s| s["position"] == held_pos
                && s["reason"].as_str().unwrap().contains("legal hold")),
        "{done}"
    );
    // Nor leaves content readable through TAXII: the published case's
    // report stays.
    assert!(
        proposed.contains(&published_pos)
            && !disposed.contains(&published_pos)
            && skipped.iter().any(|s| s["position"] == published_pos
                && s["reason"].as_str().unwrap().contains("TAXII")),
        "{done}"
    );
    // The outcome goes too (delivery evidence, due the same day); the
    // case stays closed: its own `case_closed` closed it.
    let ev = events(&case);
    let outcome_at = |ev: &Value| {
        ev["items"].as_array().unwrap().iter().find_map(|e| {
            let t = &e["event"];
            (t["type"] == "outcome_recorded"
                || t["type"] == "disposed_record" && t["kind"] == "outcome_recorded")
                .then(|| e["position"].as_u64().unwrap())
        })
    };
    let outcome = outcome_at(&ev).unwrap_or_else(|| panic!("no outcome: {ev}"));
    assert!(disposed.contains(&outcome), "{done}");
    assert_eq!(
        srv.ok(&analyst, "GET", &format!("/api/v1/cases/{case}"), None)["state"],
        "closed"
    );
    // Disposal never widens who may see a case: the classified report stays.
    assert!(
        skipped.iter().any(|s| s["position"] == marked_pos
            && s["reason"].as_str().unwrap().contains("access marking")),
        "{done}"
    );
    let tombstone = approval["first_tombstone"].as_u64().unwrap();
    assert_eq!(srv.call("POST", &approve, Some(&rec_b), None).status, 409);
    let list = srv.ok(&rec_a, "GET", "/api/v1/records/disposals", None);
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");

    // The content is unreadable through every face; the placeholder says
    // what it was and under which schedule.
    let api = text(&srv.ok(&analyst, "GET", &format!("/api/v1/cases/{case}"), None));
    assert!(!api.contains("QUOKKA"), "{api}");
    assert!(api.contains("File plan 4.2"), "{api}");
    let ev = text(&events(&case));
    assert!(
        !ev.contains("QUOKKA") && ev.contains("disposed_record"),
        "{ev}"
    );
    let stix = srv.call(
        "GET",
        &format!("/api/v1/cases/{case}/stix"),
        Some(&analyst),
        None,
    );
    // A bundle restates a report: with none left, it is refused, saying why.
    assert_eq!(stix.status, 409, "{:?}", stix.body);
    assert!(text(&stix.body).contains("disposed of"), "{:?}", stix.body);
    assert!(!text(&stix.body).contains("QUOKKA"), "{:?}", stix.body);
    let cli = srv
        .cli(&d, &analyst)
        .args(["case", "show", &number])
        .output()
        .unwrap();
    assert!(cli.status.success(), "{}", crate::support::stderr(&cli));
    let shown = stdout(&cli);
    assert!(
        !shown.contains("QUOKKA") && shown.contains("disposed of"),
        "{shown}"
    );
    let login = srv.call(
        "POST",
        "/api/v1/session",
        None,
        Some(json!({ "name": "analyst.a", "password": "analyst.a-password" })),
    );
    let cookie = login.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = srv.call_with(
        "GET",
        &format!("/cases/{number}"),
        None,
        None,
        &[("cookie", &cookie)],
    );
    assert_eq!(page.status, 200, "{:?}", page.body);
    let page = text(&page.body);
    assert!(
        !page.contains("QUOKKA") && page.contains("disposed of"),
        "{page}"
    );
    // The held case keeps its content.
    assert!(
        text(&srv.ok(&analyst, "GET", &format!("/api/v1/cases/{held_case}"), None))
            .contains("WOMBAT")
    );

    // A case with a disposed record takes no more commands.
    let more = srv.call(
        "POST",
        &format!("/api/v1/cases/{case}/outcome"),
        Some(&analyst),
        Some(json!({ "outcome": "no_event", "note": "Again." })),
    );
    assert_eq!(more.status, 409, "{:?}", more.body);
    assert!(text(&more.body).contains("disposed"), "{:?}", more.body);

    // The ledger still proves it.
    let v = srv.ok(&auditor, "GET", "/api/v1/audit/verification", None);
    assert_eq!(v["ok"], true, "{v}");
    // An oversight export of the case accounts for the disposed record by
    // its tombstone, passes every check, and holds no trace of it.
    let vkey = srv.ok(&auditor, "GET", "/api/v1/audit/checkpoint", None)["verifier_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let bag = d.dir.path().join("disposed-bag");
    crate::records_export::export(&srv, &d, &rec_a, &["--case", &case], &bag);
    let v = crate::records_export::passes_every_check(&d, &bag, &vkey);
    assert_eq!(v["disposed"].as_u64(), Some(2), "{v}");
    for f in walk(&bag) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("QUOKKA"),
            "{} holds the disposed content",
            f.display()
        );
    }
    drop(srv);
    let out = d.run(&["audit", "verify"]);
    let s = stdout(&out);
    assert!(out.status.success(), "{s}");
    assert!(
        s.contains("2 leaves disposed of (verified by their commitments)"),
        "{s}"
    );
    let out = d.run(&["audit", "verify", "--deep"]);
    assert!(out.status.success(), "{}", stdout(&out));
    for p in [pos, tombstone] {
        let out = d.run(&["audit", "prove", "--position", &p.to_string()]);
        let s = stdout(&out);
        assert!(out.status.success(), "{s}");
        assert_eq!(
            s.contains(&format!(
                "content disposed of; see the tombstone at position {tombstone}"
            )),
            p == pos,
            "{s}"
        );
    }
    // An insider with the database and the code disposes of the held
    // case's report as the service would, but without asking the holds: a
    // well-formed tombstone by two people, query tables rebuilt to match.
    // `audit verify` passes (the ledger is whole); `--deep` names it.
    d.tampered();
    let store = d.store();
    let records = block_on(store.read_stream(&StreamId::Records)).unwrap();
    let mut forged = records
        .iter()
        .find(|e| matches!(e.envelope.event, Event::RecordDisposed { position, .. } if position == pos))
        .unwrap()
        .envelope
        .clone();
    if let Event::RecordDisposed {
        position, case_id, ..
    } = &mut forged.event
    {
        *position = held_pos;
        *case_id = Some(held_case.parse().unwrap());
    }
    let held_row = block_on(store.case_summary(held_case.parse().unwrap()))
        .unwrap()
        .unwrap();
    block_on(store.dispose(tocsin_store::Disposal {
        tombstones: NewEvents::new(StreamId::Records, records.len() as u64, vec![forged]),
        summaries: vec![held_row],
    }))
    .unwrap();
    // The query tables made to agree with the ledger.
    // (It exits non-zero: the tables changed.)
    let rebuilt = stdout(&d.run(&["admin", "rebuild"]));
    assert!(rebuilt.contains("rebuilt the query tables"), "{rebuilt}");
    let out = d.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let out = d.run(&["audit", "verify", "--deep"]);
    let s = stdout(&out);
    assert!(!out.status.success(), "{s}");
    assert!(
        s.contains(&format!(
            "the leaf at {held_pos} was disposed of while hold"
        )),
        "{s}"
    );

    // Neither the database file nor any table answers the secret any more.
    let c = d.sql();
    let rows = c.rows(
        "SELECT content_body FROM ledger WHERE position = ?1",
        crate::p![pos as i64],
    );
    assert!(
        matches!(rows[0][0], crate::support::V::Null),
        "content kept"
    );
}

/// A schedule keyed to when a record was made can reach the records of
/// an open case. Disposing of a case's determination would take it back
/// to before it was determined (and its deadlines and notices with it):
/// the case's state depends on it, so it is kept, with the reason.
#[test]
fn records_whose_case_state_depends_on_them_are_kept() {
    let d = Deployment::new();
    let srv = d.serve("2024-02-01T10:00:00Z");
    let (analyst, a, b) = people(&srv);
    let opened = srv.ok(
        &analyst,
        "POST",
        "/api/v1/reports",
        Some(report("A plot against the consulate.", "Open test case")),
    );
    let case = opened["case_id"].as_str().unwrap().to_owned();
    srv.ok(
        &analyst,
        "POST",
        &format!("/api/v1/cases/{case}/determinations"),
        Some(json!({})),
    );
    let state = || srv.ok(&a, "GET", &format!("/api/v1/cases/{case}"), None)["state"].clone();
    let before = state();
    let source = "[[schedule]]\nclass = \"determination\"\ntrigger = \"record_made\"\nperiod = \"P1D\"\naction = \"dispose\"\nauthority = \"File plan 9 (test)\"\n";
    srv.ok(
        &a,
        "PUT",
        "/api/v1/records/schedules",
        Some(json!({ "source": source, "origin": "determinations.toml" })),
    );
    srv.set_now("2025-01-01T00:00:00Z");
    let batch = srv.ok(&a, "POST", "/api/v1/records/disposals", None);
    let proposed: Vec<u64> = serde_json::from_value(batch["positions"].clone()).unwrap();
    assert!(!proposed.is_empty(), "{before} {batch}");
    let id = batch["batch_id"].as_str().unwrap();
    let done = srv.ok(
        &b,
        "POST",
        &format!("/api/v1/records/disposals/{id}/approval"),
        None,
    );
    let approval = &done["approval"];
    assert_eq!(approval["disposed"], json!([]), "{done}");
    let skipped = approval["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), proposed.len(), "{done}");
    assert!(
        skipped.iter().all(|s| s["reason"]
            .as_str()
            .unwrap()
            .contains("its case's state depends on it")),
        "{done}"
    );
    assert_eq!(state(), before);
}
