//! STIX 2.1 import: a bundle built with the OASIS `stix2` library imports
//! into the right threat report (or, without tocsin's custom properties,
//! waits for an analyst's assessment); tocsin's own export of Kerman
//! imports into an equal report in a fresh deployment; a re-import writes
//! nothing; a hundred bad bundles are refused over HTTP with the object,
//! the path and the reason, and nothing is written; the partner table,
//! the elements and the clearance rule hold.
//!
//! The `stix2` library comes from PyPI with the validator
//! (`scripts/stix-tools`); a missing one fails these tests.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use tocsin_domain::Role;
use tocsin_domain::report::{TargetKind, Tlp};
use tocsin_domain::{ActorName, ThreatReport};

use crate::support::{Deployment, Server, stderr, stdout};

const PARTNER_DESK: &str = "Partner Desk";

fn python() -> PathBuf {
    crate::support::stix_tool("python")
}

/// A partner's bundle made by the reference `stix2` library: a report
/// about a threat actor targeting a journalist at a hotel, TLP:AMBER;
/// with tocsin's custom properties when `custom`.
fn stix2_bundle(d: &Deployment, custom: bool) -> Value {
    let script = r#"
import sys
from stix2 import Bundle, Identity, ThreatActor, Location, Relationship, Report, TLP_AMBER
producer = Identity(name="Partner CERT", identity_class="organization")
actor = ThreatActor(name="Example Cell", threat_actor_types=["terrorist"], created_by_ref=producer)
victim = Identity(name="Jane Doe", identity_class="individual", description="A journalist", created_by_ref=producer)
place = Location(name="Harbour Hotel", city="Valletta", country="MT", created_by_ref=producer)
r1 = Relationship(actor, "targets", victim, created_by_ref=producer)
r2 = Relationship(actor, "targets", place, created_by_ref=producer)
extra = {}
if sys.argv[1] == "custom":
    extra = dict(
        x_tocsin_harm_types=["intentional_killing"],
        x_tocsin_grading={"grade": "B2", "assessor": "partner.analyst", "reason": "Reliable partner, corroborated."},
        x_tocsin_specificity={"who": "present", "where": "present", "when": "partial", "how": "partial"},
        x_tocsin_window={"not_before": "2024-03-10T00:00:00+01:00", "not_after": "2024-03-12T00:00:00+01:00", "time_zone": "Europe/Malta"},
    )
report = Report(
    name="Plot against a journalist",
    description="Example Cell plans to kill the journalist Jane Doe at the Harbour Hotel in Valletta.",
    published="2024-03-01T10:00:00Z",
    report_types=["threat-report"],
    object_refs=[actor, victim, place, r1, r2],
    object_marking_refs=[TLP_AMBER],
    created_by_ref=producer,
    allow_custom=True,
    **extra,
)
print(Bundle(producer, actor, victim, place, r1, r2, report, allow_custom=True).serialize())
"#;
    let file = d.file("make_bundle.py", script);
    let out = Command::new(python())
        .arg(&file)
        .arg(if custom { "custom" } else { "plain" })
        .output()
        .expect("run python");
    assert!(out.status.success(), "stix2: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("a bundle")
}

fn report_of(b: &Value) -> &Value {
    b["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["type"] == "report")
        .expect("a report")
}

/// An admin's token (made the first time).
fn admin(srv: &Server) -> String {
    use std::sync::Mutex;
    static TOKENS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
    let mut tokens = TOKENS.lock().unwrap();
    if let Some((_, t)) = tokens.iter().find(|(url, _)| *url == srv.url) {
        return t.clone();
    }
    let t = srv.account(
        "admin.stix",
        &[Role::Admin],
        &["Admin Office"],
        "TOP SECRET",
        &[],
    );
    tokens.push((srv.url.clone(), t.clone()));
    t
}

/// The partner of `bundle` mapped to `element` (registered first); the
/// admin's token.
fn map_partner(srv: &Server, bundle: &Value, element: &str, level: Option<&str>) -> String {
    let admin = admin(srv);
    {
        let svc = srv.svc.clone();
        let element = element.to_owned();
        srv.rt.block_on(async move {
            let sys = svc.operator().await.unwrap();
            if svc.element(&element).await.unwrap().is_none() {
                let name = tocsin_domain::text::ElementName::new(element).unwrap();
                svc.register_element(&sys, name, None).await.unwrap();
            }
        });
    }
    let producer = report_of(bundle)["created_by_ref"].as_str().unwrap();
    let mut body = json!({ "element": element });
    if let Some(l) = level {
        body["classification"] = json!(l);
    }
    srv.ok(
        &admin,
        "PUT",
        &format!("/api/v1/partners/{producer}"),
        Some(body),
    );
    admin
}

fn import(srv: &Server, token: &str, bundle: &Value) -> crate::support::Answer {
    srv.call_with(
        "POST",
        "/api/v1/reports/stix",
        Some(token),
        Some(bundle.clone()),
        &[("content-type", "application/stix+json;version=2.1")],
    )
}

/// The report a case holds, as `name` reads it.
fn case_report(srv: &Server, name: &str, case_id: &str) -> ThreatReport {
    let svc = srv.svc.clone();
    let (name, id) = (
        name.to_owned(),
        case_id.parse::<tocsin_domain::CaseId>().unwrap(),
    );
    srv.rt.block_on(async move {
        let p = svc.principal(&ActorName::new(name).unwrap()).await.unwrap();
        let case = svc.read_case(&p, id).await.unwrap();
        case.reports[0].report.clone()
    })
}

#[test]
fn a_stix2_bundle_with_custom_properties_opens_a_case_with_the_right_report() {
    let d = Deployment::new();
    let srv = d.serve("2024-03-02T09:00:00Z");
    let bundle = stix2_bundle(&d, true);
    map_partner(&srv, &bundle, PARTNER_DESK, None);
    let collector = srv.account(
        "collector.stix",
        &[Role::Collector],
        &[PARTNER_DESK],
        "SECRET",
        &[],
    );
    let a = import(&srv, &collector, &bundle);
    assert_eq!(a.status, 200, "{:?}", a.body);
    let got = &a.body["reports"][0];
    assert_eq!(got["outcome"], "opened", "{got}");
    assert_eq!(got["stix_id"], report_of(&bundle)["id"]);
    let case_id = got["case_id"].as_str().unwrap().to_owned();
    let r = case_report(&srv, "collector.stix", &case_id);
    assert_eq!(r.title.as_str(), "Plot against a journalist");
    assert!(r.narrative.as_str().contains("Jane Doe"));
    assert_eq!(r.originating_element.as_str(), PARTNER_DESK);
    assert_eq!(r.received_at.to_string(), "2024-03-02T09:00:00Z");
    assert_eq!(r.target.kind, TargetKind::Person);
    assert_eq!(r.target.victims.first().label(), "Jane Doe");
    let actor = r.threat_actor.as_ref().unwrap();
    assert_eq!(actor.name.as_str(), "Example Cell");
    let at = r.location.as_ref().unwrap();
    assert_eq!(at.country.as_str(), "MT");
    assert_eq!(at.locality.as_ref().unwrap().as_str(), "Valletta");
    assert_eq!(r.handling.tlp, Tlp::Amber);
    assert_eq!(
        r.handling.classification.as_ref().map(|l| l.as_str()),
        Some("UNCLASSIFIED"),
        "the lowest level by default"
    );
    assert_eq!(r.grading.grade.to_string(), "B2");
    assert!(r.window.is_some());
    assert_eq!(
        r.external_reference.as_ref().map(|e| e.as_str()),
        report_of(&bundle)["id"].as_str()
    );
    // Again, over the API and the CLI: the first result, nothing written.
    let size = d.ledger_size();
    let again = import(&srv, &collector, &bundle);
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body["reports"][0]["outcome"], "already_imported");
    assert_eq!(again.body["reports"][0]["case_id"], json!(case_id));
    let file = d.file("partner.json", &bundle.to_string());
    let out = srv
        .cli(&d, &collector)
        .args(["report", "import", "--format", "stix"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("already imported"),
        "{}",
        stdout(&out)
    );
    assert_eq!(d.ledger_size(), size, "a re-import wrote something");
}

#[test]
fn without_custom_properties_a_report_waits_for_assessment_then_opens_a_case() {
    let d = Deployment::new();
    // A clock with nanoseconds, as the system's: the receipt's time
    // becomes the report's, and the case's deadlines count from it.
    let srv = d.serve("2024-03-02T09:00:00.123456789Z");
    let bundle = stix2_bundle(&d, false);
    let admin = map_partner(&srv, &bundle, PARTNER_DESK, Some("SECRET"));
    let analyst = srv.account(
        "analyst.stix",
        &[Role::Analyst],
        &[PARTNER_DESK],
        "SECRET",
        &[],
    );
    let low = srv.account(
        "analyst.low",
        &[Role::Analyst],
        &[PARTNER_DESK],
        "CONFIDENTIAL",
        &[],
    );
    // The partner table through the CLI: another producer mapped, then
    // both listed.
    let out = srv
        .cli(&d, &admin)
        .args(["admin", "partner", "map"])
        .arg("identity--0b7a1a42-5d3f-4b7e-9d3a-aaaaaaaaaaaa")
        .args([
            "--element",
            PARTNER_DESK,
            "--classification",
            "CONFIDENTIAL",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = srv
        .cli(&d, &admin)
        .args(["admin", "partner", "list"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let list = stdout(&out);
    assert!(
        list.contains("identity--0b7a1a42-5d3f-4b7e-9d3a-aaaaaaaaaaaa  Partner Desk  CONFIDENTIAL"),
        "{list}"
    );
    assert!(
        list.contains(report_of(&bundle)["created_by_ref"].as_str().unwrap()),
        "{list}"
    );
    // The bundle on standard input.
    let mut child = srv
        .cli(&d, &analyst)
        .args(["report", "import", "--format", "stix", "--json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(bundle.to_string().as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let got = &got["reports"][0];
    assert_eq!(got["outcome"], "needs_assessment", "{got}");
    assert_eq!(
        got["missing"],
        json!(["harm_types", "grading", "specificity"])
    );
    let receipt = got["receipt_id"].as_str().unwrap().to_owned();
    // Again: the first result, nothing written.
    let size = d.ledger_size();
    let again = import(&srv, &analyst, &bundle);
    assert_eq!(again.body["reports"][0]["outcome"], "already_imported");
    assert_eq!(again.body["reports"][0]["receipt_id"], json!(receipt));
    assert_eq!(d.ledger_size(), size);
    // The inbox: the SECRET receipt for the SECRET analyst, not for the
    // CONFIDENTIAL one, who cannot assess it either.
    let inbox = srv.ok(&analyst, "GET", "/api/v1/receipts", None);
    assert_eq!(inbox["items"][0]["receipt_id"], json!(receipt));
    assert_eq!(inbox["items"][0]["status"], "needs_assessment");
    let low_inbox = srv.ok(&low, "GET", "/api/v1/receipts", None);
    assert_eq!(low_inbox["items"], json!([]), "{low_inbox}");
    let body = json!({
        "harm_types": ["intentional_killing"],
        "grading": {"grade": "C3", "assessor": "analyst.low", "reason": "Partner not yet graded."},
        "specificity": {"who": "present", "where": "present", "when": "absent", "how": "partial"}
    });
    let path = format!("/api/v1/receipts/{receipt}/assessment");
    let a = srv.call("POST", &path, Some(&low), Some(body));
    assert_eq!(a.status, 404, "{:?}", a.body);
    // The analyst assesses it a day later: received when it was imported.
    srv.set_now("2024-03-03T09:00:00Z");
    let out = srv
        .cli(&d, &analyst)
        .args(["report", "assess", &receipt, "--grade", "C3", "--reason"])
        .arg("Partner not yet graded; the plot is plausible.")
        .args(["--who", "present", "--where", "present", "--when", "absent"])
        .args([
            "--how",
            "partial",
            "--harm",
            "intentional_killing",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let done: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let case_id = done["case_id"].as_str().unwrap().to_owned();
    let r = case_report(&srv, "analyst.stix", &case_id);
    assert_eq!(r.received_at.to_string(), "2024-03-02T09:00:00.123456789Z");
    assert_eq!(r.grading.grade.to_string(), "C3");
    assert_eq!(r.grading.assessor.as_str(), "analyst.stix");
    assert_eq!(
        r.handling.classification.as_ref().map(|l| l.as_str()),
        Some("SECRET")
    );
    assert_eq!(r.target.victims.first().label(), "Jane Doe");
    // Done: off the inbox; assessing again answers the same case and
    // writes nothing.
    let inbox = srv.ok(&analyst, "GET", "/api/v1/receipts", None);
    assert_eq!(inbox["items"], json!([]));
    let size = d.ledger_size();
    let again = srv.ok(&analyst, "POST", &path, Some(json!({})));
    assert_eq!(again["case_id"], json!(case_id));
    assert_eq!(d.ledger_size(), size);
    // And importing the bundle again still writes nothing.
    let again = import(&srv, &analyst, &bundle);
    assert_eq!(again.body["reports"][0]["outcome"], "already_imported");
    assert_eq!(d.ledger_size(), size);
    // The partners and receipts are what the exchange stream says.
    let out = d.run(&["admin", "rebuild"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("identical"), "{}", stdout(&out));
    // And the ledger bears out every row, the case's sweep time included.
    let out = d.run(&["audit", "verify", "--deep"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn tocsins_export_of_kerman_reimports_into_an_equal_report() {
    use tocsin::scenarios::{Cast, PEOPLE, run_kerman};
    let d = Deployment::new();
    let srv = d.serve("2023-12-01T09:00:00Z");
    let (svc, clock) = (srv.svc.clone(), srv.clock.clone());
    let (case_id, original) = srv.rt.block_on(async move {
        let cast = Cast::enrol(&svc, PEOPLE, None).await.unwrap();
        let k = run_kerman(&svc, &clock, &cast, &mut |_: &str| {})
            .await
            .unwrap();
        let p = cast.get("analyst.kim").unwrap();
        let case = svc.read_case(p, k.case_id).await.unwrap();
        (k.case_id, case.reports[0].report.clone())
    });
    let reader = srv.account(
        "reader.stix",
        &[Role::Analyst],
        &[original.originating_element.as_str()],
        "TOP SECRET",
        &["HCS"],
    );
    let bundle = srv.ok(
        &reader,
        "GET",
        &format!("/api/v1/cases/{case_id}/stix"),
        None,
    );
    // A second deployment, its partner table naming the first.
    let d2 = Deployment::new();
    let srv2 = d2.serve("2024-01-10T09:00:00Z");
    let element = original.originating_element.as_str();
    map_partner(&srv2, &bundle, element, None);
    let importer = srv2.account(
        "analyst.two",
        &[Role::Analyst],
        &[element],
        "TOP SECRET",
        &["HCS"],
    );
    let a = import(&srv2, &importer, &bundle);
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["reports"][0]["outcome"], "opened", "{:?}", a.body);
    let got = case_report(
        &srv2,
        "analyst.two",
        a.body["reports"][0]["case_id"].as_str().unwrap(),
    );
    // What is shared: everything but sources and methods.
    let mut expected = original.clone();
    expected.source = None;
    expected.external_reference = None;
    expected.secret_terms.clear();
    expected.derived_from = None;
    assert_eq!(got, expected);
}

#[test]
fn a_hundred_bad_bundles_are_refused_over_http_and_nothing_is_written() {
    use tocsin_export::stix::testing::{bad_bundles, partner_bundle};
    let d = Deployment::new();
    let srv = d.serve("2024-03-02T09:00:00Z");
    map_partner(&srv, &partner_bundle(), PARTNER_DESK, None);
    let collector = srv.account(
        "collector.stix",
        &[Role::Collector],
        &[PARTNER_DESK],
        "SECRET",
        &[],
    );
    let size = d.ledger_size();
    let bad = bad_bundles();
    assert!(bad.len() >= 100, "{}", bad.len());
    for (what, b) in &bad {
        let a = import(&srv, &collector, b);
        assert_eq!(a.status, 422, "{what}: {:?}", a.body);
        assert_eq!(
            a.body["type"], "https://tocsin.dev/problems/validation",
            "{what}"
        );
        assert!(a.body["path"].is_string(), "{what}: {:?}", a.body);
        assert!(
            !a.body["reason"].as_str().unwrap_or_default().is_empty(),
            "{what}: {:?}",
            a.body
        );
    }
    // Not JSON at all, and JSON nested past the parser's limit.
    for raw in ["{".to_owned(), "[".repeat(100_000)] {
        let a = srv.rt.block_on(async {
            reqwest::Client::new()
                .post(format!("{}/api/v1/reports/stix", srv.url))
                .bearer_auth(&collector)
                .header("content-type", "application/json")
                .body(raw)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
        assert_eq!(a, 422);
    }
    assert_eq!(d.ledger_size(), size, "a refused bundle wrote something");
    // The good one goes in; then the ledger verifies.
    let a = import(&srv, &collector, &partner_bundle());
    assert_eq!(a.status, 200, "{:?}", a.body);
    let out = d.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn an_unmapped_producer_and_another_elements_report_are_refused() {
    use tocsin_export::stix::testing::{partner_bundle, report_mut};
    let d = Deployment::new();
    let srv = d.serve("2024-03-02T09:00:00Z");
    let collector = srv.account(
        "collector.stix",
        &[Role::Collector],
        &[PARTNER_DESK],
        "SECRET",
        &[],
    );
    let size = d.ledger_size();
    // Nobody mapped the producer.
    let bundle = partner_bundle();
    let a = import(&srv, &collector, &bundle);
    assert_eq!(a.status, 422, "{:?}", a.body);
    assert_eq!(a.body["object"], report_of(&bundle)["id"]);
    assert_eq!(a.body["path"], "created_by_ref");
    assert!(
        a.body["reason"]
            .as_str()
            .unwrap()
            .contains("tocsin admin partner map identity--"),
        "{:?}",
        a.body
    );
    // The CLI says the same.
    let file = d.file("unmapped.json", &bundle.to_string());
    let out = srv
        .cli(&d, &collector)
        .args(["report", "import", "--format", "stix"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("created_by_ref")
            && stderr(&out).contains("tocsin admin partner map"),
        "{}",
        stderr(&out)
    );
    assert_eq!(d.ledger_size(), size);
    // Mapped to another element: this collector may not file for it.
    srv.account(
        "other.collector",
        &[Role::Collector],
        &["Other Element"],
        "SECRET",
        &[],
    );
    map_partner(&srv, &bundle, "Other Element", None);
    let size2 = d.ledger_size();
    let a = import(&srv, &collector, &bundle);
    assert_eq!(a.status, 422, "{:?}", a.body);
    assert_eq!(a.body["path"], "created_by_ref");
    assert!(
        a.body["reason"].as_str().unwrap().contains("Other Element"),
        "{:?}",
        a.body
    );
    assert_eq!(d.ledger_size(), size2);
    // No producer at all: the importer's only element.
    let mut anonymous = partner_bundle();
    report_mut(&mut anonymous)
        .as_object_mut()
        .unwrap()
        .remove("created_by_ref");
    let a = import(&srv, &collector, &anonymous);
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["reports"][0]["outcome"], "needs_assessment");
    assert!(d.ledger_size() > size);
    // The partner table is an admin's: a collector may not change it.
    let a = srv.call(
        "PUT",
        "/api/v1/partners/identity--0b7a1a42-5d3f-4b7e-9d3a-111111111111",
        Some(&collector),
        Some(json!({"element": PARTNER_DESK})),
    );
    assert_eq!(a.status, 403);
}

#[test]
fn racing_imports_of_one_report_version_open_one_case_and_keep_one_receipt() {
    use tocsin_export::stix::testing::{partner_bundle, report_mut};
    use tocsin_service::ImportOutcome;
    let d = Deployment::new();
    let srv = d.serve("2024-03-02T09:00:00Z");
    let incomplete = partner_bundle();
    map_partner(&srv, &incomplete, PARTNER_DESK, None);
    srv.account(
        "collector.stix",
        &[Role::Collector],
        &[PARTNER_DESK],
        "SECRET",
        &[],
    );
    let mut complete = partner_bundle();
    let r = report_mut(&mut complete);
    r["id"] = json!("report--0b7a1a42-5d3f-4b7e-9d3a-888888888888");
    r["x_tocsin_harm_types"] = json!(["intentional_killing"]);
    r["x_tocsin_grading"] =
        json!({"grade": "B2", "assessor": "partner.analyst", "reason": "Reliable."});
    r["x_tocsin_specificity"] =
        json!({"who": "present", "where": "present", "when": "absent", "how": "partial"});
    let svc = srv.svc.clone();
    let outcomes: Vec<ImportOutcome> = srv.rt.block_on(async move {
        let p = svc
            .principal(&ActorName::new("collector.stix").unwrap())
            .await
            .unwrap();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..16 {
            let (svc, p) = (svc.clone(), p.clone());
            let text = if i % 2 == 0 { &complete } else { &incomplete }.to_string();
            set.spawn(async move { svc.import_stix(&p, &text).await.unwrap() });
        }
        let mut all = Vec::new();
        while let Some(r) = set.join_next().await {
            all.extend(r.unwrap().reports.into_iter().map(|r| r.outcome));
        }
        all
    });
    let mut cases = std::collections::BTreeSet::new();
    let mut receipts = std::collections::BTreeSet::new();
    for o in &outcomes {
        match o {
            ImportOutcome::Opened { case_id, .. } => {
                cases.insert(*case_id);
            }
            ImportOutcome::NeedsAssessment { receipt_id, .. } => {
                receipts.insert(*receipt_id);
            }
            ImportOutcome::AlreadyImported {
                case_id,
                receipt_id,
                ..
            } => {
                cases.extend(*case_id);
                receipts.extend(*receipt_id);
            }
        }
    }
    assert_eq!((cases.len(), receipts.len()), (1, 1), "{outcomes:?}");
    assert_eq!(d.sql().i64("SELECT count(*) FROM cases", &[]), 1);
}
