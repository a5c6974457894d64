//! STIX 2.1 export: the Kerman and Crocus cases, run end to end, exported
//! over the API and the CLI, pass the OASIS validator in its strictest
//! mode (`--strict --interop --enforce-refs`) with no error and no
//! warning, and tocsin's own TLP check; sources never leave; a reader
//! who may not see a case gets no bundle.
//!
//! The validator comes from PyPI (`scripts/stix-tools`, which
//! `scripts/test` runs); a missing validator fails these tests.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use tocsin_domain::Role;
use tocsin_export::stix::tlp::check_markings;

use crate::support::{Deployment, Server, stdout};

const STIX: &str = "application/stix+json;version=2.1";

fn validator() -> PathBuf {
    crate::support::stix_tool("stix2_validator")
}

/// Runs the validator on `bundle`: its exit status and report.
fn validate(d: &Deployment, name: &str, bundle: &Value) -> (bool, String) {
    let file = d.file(name, &serde_json::to_string_pretty(bundle).unwrap());
    let out = Command::new(validator())
        .args([
            "--version",
            "2.1",
            "--strict",
            "--interop",
            "--enforce-refs",
        ])
        .arg(&file)
        .output()
        .expect("run stix2_validator");
    let report = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), report)
}

/// Checks the duty-to-warn record against the committed JSON Schema
/// (docs/stix/duty-to-warn.schema.json), with the venv's `jsonschema`.
fn matches_the_extension_schema(d: &Deployment, name: &str, record: &Value) {
    let schema =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/stix/duty-to-warn.schema.json");
    let file = d.file(name, &record.to_string());
    let python = validator().with_file_name("python");
    let out = Command::new(python)
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             jsonschema.Draft202012Validator.check_schema(schema)\n\
             errors = list(jsonschema.Draft202012Validator(schema).iter_errors(json.load(open(sys.argv[2]))))\n\
             [print(list(e.absolute_path), e.message) for e in errors]\n\
             sys.exit(1 if errors else 0)",
        ])
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{name}: the record does not match docs/stix/duty-to-warn.schema.json:\n{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A deployment where the Kerman and Crocus scenarios have run, and a
/// reader of both (token), with their case numbers.
fn scenarios() -> (Deployment, Server, String, String, String) {
    use tocsin::scenarios::{Cast, PEOPLE, run_crocus, run_kerman};
    let d = Deployment::new();
    let srv = d.serve("2023-12-01T09:00:00Z");
    let (svc, clock) = (srv.svc.clone(), srv.clock.clone());
    let (kerman, crocus) = srv.rt.block_on(async move {
        let cast = Cast::enrol(&svc, PEOPLE, None).await.unwrap();
        let k = run_kerman(&svc, &clock, &cast, &mut |_: &str| {})
            .await
            .unwrap();
        let c = run_crocus(&svc, &clock, &cast, &mut |_: &str| {})
            .await
            .unwrap();
        let p = cast.get("analyst.kim").unwrap();
        let kn = svc.read_case(p, k.case_id).await.unwrap().number.unwrap();
        let p = cast.get("analyst.ross").unwrap();
        let cn = svc.read_case(p, c.id).await.unwrap().number.unwrap();
        (kn.to_string(), cn.to_string())
    });
    let reader = srv.account(
        "reader.stix",
        &[Role::Analyst],
        &["Counterterrorism Collection Element", "Moscow Station"],
        "TOP SECRET",
        &["HCS"],
    );
    (d, srv, reader, kerman, crocus)
}

fn export(srv: &Server, token: &str, number: &str) -> Value {
    let a = srv.call(
        "GET",
        &format!("/api/v1/cases/{number}/stix"),
        Some(token),
        None,
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(
        a.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some(STIX)
    );
    a.body
}

fn objects<'a>(b: &'a Value, kind: &str) -> Vec<&'a Value> {
    b["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["type"] == kind)
        .collect()
}

#[test]
fn kerman_and_crocus_pass_the_oasis_validator_and_the_tlp_check() {
    let (d, srv, reader, kerman, crocus) = scenarios();
    for (name, number) in [("kerman", &kerman), ("crocus", &crocus)] {
        let bundle = export(&srv, &reader, number);
        let (ok, report) = validate(&d, &format!("{name}.stix.json"), &bundle);
        assert!(ok, "{name}: the validator refused the bundle:\n{report}");
        assert!(
            !report.contains("[!]") && !report.contains("[X]"),
            "{name}: errors or warnings:\n{report}"
        );
        assert_eq!(check_markings(&bundle), vec![], "{name}");
        // The duty-to-warn record: the approved text and its hash.
        let report_obj = objects(&bundle, "report")[0];
        let record = report_obj["extensions"]
            .as_object()
            .and_then(|e| e.values().next())
            .expect("the duty-to-warn extension");
        matches_the_extension_schema(&d, &format!("{name}.record.json"), record);
        let w1 = &record["warnings"][0];
        let text = w1["approved"]["text"].as_str().expect("an approved text");
        assert_eq!(
            w1["approved"]["sha256"].as_str().unwrap(),
            tocsin_domain::delivery::WarningText::new(text)
                .unwrap()
                .sha256()
        );
        assert!(record["determinations"][0]["determination"]["trace"].is_array());
        assert!(!objects(&bundle, "threat-actor").is_empty());
        assert!(!objects(&bundle, "location").is_empty());
    }
}

#[test]
fn sources_and_methods_never_leave_and_a_reader_without_clearance_gets_nothing() {
    let (d, srv, reader, kerman, _) = scenarios();
    let bundle = export(&srv, &reader, &kerman).to_string();
    // The Kerman report's source id and the originating element's report number.
    for secret in ["CS-4471", "TD-314/00123-23", "Human source"] {
        assert!(!bundle.contains(secret), "{secret} left in the bundle");
    }
    // In the element, without HCS: the case is not theirs to export.
    let low = srv.account(
        "reader.low",
        &[Role::Analyst],
        &["Counterterrorism Collection Element"],
        "SECRET",
        &[],
    );
    let a = srv.call(
        "GET",
        &format!("/api/v1/cases/{kerman}/stix"),
        Some(&low),
        None,
    );
    assert!(matches!(a.status, 403 | 404), "{} {:?}", a.status, a.body);
    assert!(!a.body.to_string().contains("ISIS"), "{:?}", a.body);
    // The same through the CLI.
    let out = srv
        .cli(&d, &reader)
        .args(["case", "export", &kerman])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_str(&stdout(&out)).expect("a bundle on stdout");
    assert_eq!(cli["type"], "bundle");
    let out = srv
        .cli(&d, &low)
        .args(["case", "export", &kerman])
        .output()
        .unwrap();
    assert!(!out.status.success());
}
