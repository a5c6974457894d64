//! Route planning through the real server and the CLI: a victim is warned
//! where they are (their recorded whereabouts, apart from where the threat
//! is expected), and our own offices, as the directory marks them, are
//! never a relay.

use serde_json::{Value, json};
use tocsin_domain::Role;

use crate::support::{Deployment, Server, stderr, stdout};

/// Runs `tocsin ARGS` against `srv` as `token`; fails the test unless it succeeds.
#[track_caller]
fn run(srv: &Server, d: &Deployment, token: &str, args: &[&str]) -> String {
    let out = srv.cli(d, token).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// Submits `report` with the CLI and returns the new case's number.
fn submit(srv: &Server, d: &Deployment, token: &str, name: &str, report: &str) -> String {
    let file = d.file(name, report);
    run(
        srv,
        d,
        token,
        &["report", "submit", "-q", file.to_str().unwrap()],
    )
    .trim()
    .to_owned()
}

fn plan(srv: &Server, d: &Deployment, token: &str, case: &str) -> Value {
    serde_json::from_str(&run(srv, d, token, &["--json", "route", "plan", case])).unwrap()
}

/// The case's events, over HTTP (the ledger as the API shows it).
fn events(srv: &Server, token: &str, case: &str) -> Vec<Value> {
    srv.ok(token, "GET", &format!("/api/v1/cases/{case}/events"), None)["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_victim_abroad_is_offered_the_domestic_channel() {
    // A journalist who lives in the United States is threatened at a
    // consulate in Istanbul: he is warned here, by our domestic service.
    let d = Deployment::new();
    let srv = d.serve("2018-09-29T12:00:00Z");
    let el = "Counterterrorism Collection Element";
    let kim = srv.account(
        "analyst.kim",
        &[Role::Collector, Role::Analyst],
        &[el],
        "SECRET",
        &[],
    );
    // The living example shows the victim's whereabouts.
    let example = run(&srv, &d, &kim, &["report", "example", "edge7-consulate"]);
    assert!(example.contains("\"whereabouts\""), "{example}");
    let case = submit(
        &srv,
        &d,
        &kim,
        "consulate.json",
        tocsin::scenarios::EDGE7_CONSULATE,
    );
    let p = plan(&srv, &d, &kim, &case);
    let domestic: Vec<&Value> = p["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["approach"] == "domestic_law_enforcement")
        .collect();
    assert_eq!(domestic.len(), 1, "{p:#}");
    let c = domestic[0];
    assert_eq!(c["rank"], 1, "{p:#}");
    assert_eq!(c["route"]["recipient"]["kind"], "victim");
    assert_eq!(c["route"]["recipient"]["country"], "US");
    assert_eq!(
        c["route"]["hops"][0]["to"]["name"],
        "Federal Bureau of Investigation (FBI)"
    );
    assert_eq!(c["route"]["hops"][0]["channel"], "law_enforcement");
    // Its reason says why: where he is, and that the threat is elsewhere.
    let why = c["reason"].as_str().unwrap();
    assert!(why.contains("Fairfax, Virginia, United States"), "{why}");
    assert!(why.contains("recorded whereabouts"), "{why}");
    assert!(why.contains("Türkiye"), "{why}");
    assert!(
        p["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("warned where they are")),
        "{p:#}"
    );
    // The state behind the threat is never proposed.
    for c in p["candidates"].as_array().unwrap() {
        for h in c["route"]["hops"].as_array().unwrap() {
            assert_ne!(h["to"]["country"], "SA", "{c:#}");
        }
    }
    // The text rendering gives the same reason.
    let text = run(&srv, &d, &kim, &["route", "plan", &case]);
    assert!(text.contains("recorded whereabouts"), "{text}");
    // The report keeps the whereabouts in the ledger, apart from the threat's location.
    let report = events(&srv, &kim, &case)
        .iter()
        .find(|e| e["event"]["report"].is_object())
        .map(|e| e["event"]["report"].clone())
        .unwrap();
    assert_eq!(
        report["target"]["victims"][0]["whereabouts"],
        json!({"country": "US", "place": "Fairfax, Virginia"})
    );
    assert_eq!(report["location"]["country"], "TR");
}

#[test]
fn a_field_office_routes_in_one_hop() {
    let d = Deployment::new();
    let srv = d.serve("2021-06-01T14:00:00Z");
    let fbi = "FBI New York Field Office";
    let admin = srv.account("admin.a", &[Role::Admin], &[fbi], "SECRET", &[]);
    let an = srv.account(
        "analyst.a",
        &[Role::Collector, Role::Analyst],
        &[fbi],
        "SECRET",
        &[],
    );
    // The shipped directory marks no office of ours: headquarters is a relay.
    let case = submit(
        &srv,
        &d,
        &an,
        "edge3.json",
        tocsin::scenarios::EDGE3_KIDNAPPING,
    );
    let before = plan(&srv, &d, &an, &case);
    assert_eq!(
        before["candidates"][0]["route"]["hops"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{before:#}"
    );
    // The admin marks headquarters and the field office as our own offices.
    let mut dir: Value = serde_json::from_str(&run(
        &srv,
        &d,
        &admin,
        &["--json", "reference", "directory"],
    ))
    .unwrap();
    let entries = dir["recipient"].as_array_mut().unwrap();
    for e in entries.iter_mut() {
        if e["id"] == "us-fbi" {
            e["own_office"] = json!(true);
        }
    }
    entries.push(json!({
        "id": "us-fbi-nyfo", "name": fbi, "kind": "police", "own_office": true,
        "country": "US", "locality": "New York",
        "contact": [{"channel": "law_enforcement", "address": "26 Federal Plaza, New York"}]
    }));
    let file = d.file("directory.json", &dir.to_string());
    let set: Value = serde_json::from_str(&run(
        &srv,
        &d,
        &admin,
        &[
            "--json",
            "reference",
            "directory",
            "--set",
            file.to_str().unwrap(),
        ],
    ))
    .unwrap();
    let own: Vec<&str> = set["recipient"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["own_office"] == true)
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(own, ["Federal Bureau of Investigation (FBI)", fbi]);
    // A protecting power is never one of ours: refused, naming why.
    let mut bad = set.clone();
    for e in bad["recipient"].as_array_mut().unwrap() {
        if e["id"] == "ch-fis-tehran" {
            e["own_office"] = json!(true);
        }
    }
    let bad_file = d.file("bad-directory.json", &bad.to_string());
    let out = srv
        .cli(&d, &admin)
        .args([
            "reference",
            "directory",
            "--set",
            bad_file.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("never one of our own offices"),
        "{}",
        stderr(&out)
    );

    // Now the field office warns the victim itself: one hop.
    let p = plan(&srv, &d, &an, &case);
    let best = &p["candidates"][0];
    assert_eq!(best["approach"], "domestic_law_enforcement", "{p:#}");
    let hops = best["route"]["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 1, "{p:#}");
    assert_eq!(hops[0]["from"]["name"], fbi);
    assert_eq!(hops[0]["from"]["kind"], "own_element");
    assert_eq!(hops[0]["to"]["kind"], "victim");
    assert_eq!(hops[0]["channel"], "law_enforcement");
    assert!(
        best["reason"].as_str().unwrap().contains("our own"),
        "{best:#}"
    );
    // No candidate, and no recorded alternative, relays through one of our offices.
    for c in p["candidates"].as_array().unwrap() {
        for h in c["route"]["hops"].as_array().unwrap() {
            assert!(!own.contains(&h["to"]["name"].as_str().unwrap()), "{c:#}");
        }
    }
    run(&srv, &d, &an, &["case", "determine", &case]);
    run(
        &srv,
        &d,
        &an,
        &["route", "choose", &case, "--candidate", "1"],
    );
    let chosen = events(&srv, &an, &case)
        .iter()
        .rev()
        .find(|e| e["event"]["type"] == "route_chosen")
        .map(|e| e["event"].clone())
        .unwrap();
    assert_eq!(chosen["route"]["hops"].as_array().unwrap().len(), 1);
    assert_eq!(chosen["route"]["hops"][0]["from"]["name"], fbi);
    for a in chosen["alternatives"].as_array().unwrap() {
        for h in a["route"]["hops"].as_array().unwrap() {
            assert!(!own.contains(&h["to"]["name"].as_str().unwrap()), "{a:#}");
        }
    }
}
