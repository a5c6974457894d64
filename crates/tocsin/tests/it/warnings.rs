//! Several warnings per case, through the HTTP API of the real server: a
//! case warns a company's security lead and the host state's service, each
//! with its own route, text, approval and deliveries; the case is warned
//! only when both required warnings are delivered; a route is never
//! replaced once its warning is on its way, and a command that could mean
//! either warning is refused.

use serde_json::{Value, json};
use tocsin_domain::Role;

use crate::support::{Deployment, Server, stderr, stdout};

const STATION: &str = "Moscow Station";

struct Cast {
    collector: String,
    analyst: String,
    approver: String,
    officer: String,
}

fn cast(srv: &Server) -> Cast {
    let account = |name: &str, role: Role| srv.account(name, &[role], &[STATION], "SECRET", &[]);
    Cast {
        collector: account("collector.ms", Role::Collector),
        analyst: account("analyst.ross", Role::Analyst),
        approver: account("approver.lee", Role::Approver),
        officer: account("officer.diaz", Role::DeliveryOfficer),
    }
}

fn party(name: &str, kind: &str) -> Value {
    json!({"name": name, "kind": kind, "country": "RU"})
}

/// A one-hop route from our station to `to` over `channel`.
fn route(to: Value, channel: &str) -> Value {
    let us = json!({"name": STATION, "kind": "own_element", "country": "US"});
    json!({"recipient": to, "hops": [{"from": us, "to": to, "channel": channel}]})
}

fn fsb() -> Value {
    route(
        party("Federal Security Service (FSB)", "security_service"),
        "service_liaison",
    )
}

fn venue() -> Value {
    route(
        party("Crocus International, head of security", "company_security"),
        "private_sector_liaison",
    )
}

fn delivery(channel: &str, receiver: &str, at: &str) -> Value {
    json!({
        "warning_version": 1, "hop": 1, "status": "received",
        "sender": "Moscow Station liaison officer", "receiver": receiver,
        "channel": channel, "medium": "written",
        "at": at, "time_zone": "Europe/Moscow", "language": "en", "attempt": 1
    })
}

const TEXT: &str = "Extremists plan to attack large gatherings in Moscow, including concerts, within the next 48 hours. Crocus City Hall may be a target.";

/// A duty case (the Crocus report) with W1 to the host service and W2 to
/// the venue's owner, both drafted and approved.
fn two_warnings(srv: &Server, who: &Cast) -> String {
    let report: Value = serde_json::from_str(tocsin::scenarios::CROCUS_REPORT).unwrap();
    srv.set_now("2024-03-05T11:00:00Z");
    let case = srv.ok(&who.collector, "POST", "/api/v1/reports", Some(report))["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = |p: &str| format!("/api/v1/cases/{case}{p}");
    let r = srv.ok(&who.analyst, "POST", &c("/determinations"), Some(json!({})));
    assert_eq!(r["state"], "duty_to_warn");
    // The plan proposes the set: the host service first.
    let plan = srv.ok(&who.analyst, "GET", &c("/route-plan"), None);
    assert!(plan["warning_set"]["warnings"].is_array(), "{plan}");
    let r = srv.ok(
        &who.analyst,
        "POST",
        &c("/route"),
        Some(json!({"route": fsb(), "rationale": "The host state protects the venue."})),
    );
    assert_eq!(r["events"], json!(["route_chosen"]));
    // A second recipient is an explicit act.
    let r = srv.ok(
        &who.analyst,
        "POST",
        &c("/route"),
        Some(json!({"route": venue(), "rationale": "The venue's owner can act at once.", "new_warning": true})),
    );
    assert_eq!(r["events"], json!(["route_chosen"]));
    for n in [1, 2] {
        let r = srv.ok(
            &who.analyst,
            "POST",
            &c(&format!("/warnings?warning={n}")),
            Some(json!({"text": TEXT, "withheld": ["source_identity"]})),
        );
        assert_eq!(r["warning_version"], 1);
        let sha = srv.ok(
            &who.analyst,
            "GET",
            &c(&format!("/warnings/1?warning={n}")),
            None,
        )["sha256"]
            .as_str()
            .unwrap()
            .to_owned();
        srv.ok(
            &who.approver,
            "POST",
            &c(&format!("/warnings/1/approval?warning={n}")),
            Some(json!({"sha256": sha})),
        );
    }
    case
}

#[test]
fn a_case_warns_a_company_and_a_host_service() {
    let d = Deployment::new();
    let srv = d.serve("2024-03-05T10:30:00Z");
    let who = cast(&srv);
    let case = two_warnings(&srv, &who);
    let c = |p: &str| format!("/api/v1/cases/{case}{p}");
    // The outcome is in early; it closes nothing.
    srv.set_now("2024-03-06T09:00:00Z");
    let r = srv.ok(
        &who.officer,
        "POST",
        &c("/outcome"),
        Some(json!({"outcome": "prevented"})),
    );
    assert_eq!(r["events"], json!(["outcome_recorded"]));
    // The host service receives W1: one of two required warnings.
    srv.set_now("2024-03-06T10:00:00Z");
    let r = srv.ok(
        &who.officer,
        "POST",
        &c("/deliveries?warning=1"),
        Some(delivery(
            "service_liaison",
            "FSB duty officer",
            "2024-03-06T12:30:00+03:00",
        )),
    );
    assert_ne!(r["state"], "delivered", "{r}");
    assert!(
        !r["events"]
            .as_array()
            .unwrap()
            .contains(&json!("case_closed")),
        "{r}"
    );
    // The venue's security receives W2: now the case is warned, and the
    // early outcome closes it.
    srv.set_now("2024-03-06T11:00:00Z");
    let r = srv.ok(
        &who.officer,
        "POST",
        &c("/deliveries?warning=2"),
        Some(delivery(
            "private_sector_liaison",
            "Crocus International, head of security",
            "2024-03-06T13:45:00+03:00",
        )),
    );
    assert_eq!(r["state"], "closed", "{r}");
    assert_eq!(
        r["events"],
        json!(["delivery_recorded", "deadlines_set", "case_closed"])
    );
    // Both warnings are in the ledger, each named.
    let events: Vec<Value> = srv.ok(&who.analyst, "GET", &c("/events"), None)["items"]
        .as_array()
        .unwrap()
        .clone();
    let of_kind = |kind: &str| -> Vec<Value> {
        events
            .iter()
            .filter(|e| e["event"]["type"] == kind)
            .map(|e| e["event"].clone())
            .collect()
    };
    let routes = of_kind("route_chosen");
    assert_eq!(routes.len(), 2);
    assert!(routes[0].get("warning").is_none(), "W1 keeps the old form");
    assert_eq!(routes[1]["warning"], 2);
    assert_eq!(routes[1]["route"]["recipient"]["kind"], "company_security");
    let deliveries = of_kind("delivery_recorded");
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[1]["warning"], 2);
    assert_eq!(
        of_kind("case_closed")[0]["grounds"],
        json!({"kind": "warned"})
    );
    // The case shows both, delivered.
    let view = srv.ok(&who.analyst, "GET", &c(""), None);
    let warnings = view["warnings"].as_array().expect("the case's warnings");
    assert_eq!(warnings.len(), 2, "{view}");
    for w in warnings {
        assert_eq!(w["status"], "delivered");
        assert_eq!(w["required"], true);
    }
    // Each exports on its own.
    let letter = srv.call(
        "GET",
        &c("/warnings/1/letter?warning=2"),
        Some(&who.officer),
        None,
    );
    assert_eq!(letter.status, 200);
    assert!(
        letter
            .body
            .as_str()
            .unwrap()
            .contains("Crocus International, head of security"),
        "{:?}",
        letter.body
    );
    assert!(letter.body.as_str().unwrap().contains("Warning: W2\n"));
    let cap = srv.call(
        "GET",
        &c("/warnings/1/cap?warning=2"),
        Some(&who.officer),
        None,
    );
    assert_eq!(cap.status, 200, "{:?}", cap.body);
    let xml = cap.body.as_str().unwrap();
    assert!(
        xml.contains(&format!(
            "<identifier>tocsin-{case}-warning-2-1</identifier>"
        )),
        "{xml}"
    );
    assert!(
        xml.contains("<valueName>tocsin:warning</valueName>"),
        "{xml}"
    );
}

#[test]
fn a_route_is_not_replaced_after_delivery_and_ambiguity_is_refused() {
    let d = Deployment::new();
    let srv = d.serve("2024-03-05T10:30:00Z");
    let who = cast(&srv);
    let case = two_warnings(&srv, &who);
    let c = |p: &str| format!("/api/v1/cases/{case}{p}");
    srv.set_now("2024-03-06T10:00:00Z");
    // Which warning? With two, the command must say.
    let a = srv.call(
        "POST",
        &c("/deliveries"),
        Some(&who.officer),
        Some(delivery(
            "service_liaison",
            "FSB duty officer",
            "2024-03-06T12:30:00+03:00",
        )),
    );
    assert_eq!(a.status, 422, "{:?}", a.body);
    assert!(
        a.body["detail"].as_str().unwrap().contains("W1, W2"),
        "{:?}",
        a.body
    );
    let a = srv.call("GET", &c("/warnings/1/letter"), Some(&who.officer), None);
    assert_eq!(a.status, 422, "{:?}", a.body);
    // A warning that does not exist.
    let a = srv.call(
        "POST",
        &c("/deliveries?warning=3"),
        Some(&who.officer),
        Some(delivery(
            "service_liaison",
            "FSB duty officer",
            "2024-03-06T12:30:00+03:00",
        )),
    );
    assert_eq!(a.status, 404, "{:?}", a.body);
    srv.ok(
        &who.officer,
        "POST",
        &c("/deliveries?warning=1"),
        Some(delivery(
            "service_liaison",
            "FSB duty officer",
            "2024-03-06T12:30:00+03:00",
        )),
    );
    // W1 is delivered: its route stays.
    let a = srv.call(
        "POST",
        &c("/route?warning=1"),
        Some(&who.analyst),
        Some(json!({"route": venue(), "rationale": "Changed our mind."})),
    );
    assert_eq!(a.status, 409, "{:?}", a.body);
    assert_eq!(
        a.body["type"],
        "https://tocsin.dev/problems/illegal-transition"
    );
    assert!(
        a.body["detail"]
            .as_str()
            .unwrap()
            .contains("W1 already has a delivery"),
        "{:?}",
        a.body
    );
    // W2's route may still change before its delivery; new_warning and a
    // number together are refused.
    srv.ok(
        &who.analyst,
        "POST",
        &c("/route?warning=2"),
        Some(json!({"route": venue(), "rationale": "Confirmed the contact."})),
    );
    let a = srv.call(
        "POST",
        &c("/route?warning=2"),
        Some(&who.analyst),
        Some(json!({"route": venue(), "rationale": "x", "new_warning": true})),
    );
    assert_eq!(a.status, 400, "{:?}", a.body);
}

#[test]
fn the_cli_adds_a_warning_and_names_it() {
    let d = Deployment::new();
    let srv = d.serve("2024-03-05T10:30:00Z");
    let who = cast(&srv);
    let run = |token: &str, args: &[&str]| srv.cli(&d, token).args(args).output().unwrap();
    let report = d.file("crocus.json", tocsin::scenarios::CROCUS_REPORT);
    srv.set_now("2024-03-05T11:00:00Z");
    let out = run(
        &who.collector,
        &["report", "submit", "-q", report.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let case = stdout(&out).trim().to_owned();
    let out = run(&who.analyst, &["case", "determine", &case]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&who.analyst, &["route", "plan", &case]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("warn together"), "{}", stdout(&out));
    let out = run(
        &who.analyst,
        &["route", "choose", &case, "--candidate", "1"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut file = venue();
    file["rationale"] = json!("The venue's owner can act at once.");
    let f = d.file("venue.json", &file.to_string());
    let out = run(
        &who.analyst,
        &[
            "route",
            "choose",
            &case,
            f.to_str().unwrap(),
            "--new-warning",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = d.file("w.txt", TEXT);
    // Two warnings: the draft must say which.
    let out = run(
        &who.analyst,
        &["warning", "draft", &case, "--file", text.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("W1, W2"), "{}", stderr(&out));
    let out = run(
        &who.analyst,
        &[
            "warning",
            "draft",
            &case,
            "--warning",
            "2",
            "--file",
            text.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("--warning 2 --version 1"),
        "{}",
        stdout(&out)
    );
    let out = run(&who.analyst, &["case", "show", &case]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(
        shown.contains("=== W1 to ") && shown.contains("=== W2 to Crocus International"),
        "{shown}"
    );
}
