//! The case page and intake in a real browser (see `ui.rs` and
//! `browser.rs`): name screening and the W3 evidence, a contribution sent by
//! one element and accepted by another, a dispute raised and resolved, a
//! second warning added from the route plan, the warning editor's check
//! with and without script, deadlines with countdowns, and the timeline's
//! link to each event's inclusion proof.

use serde_json::{Value, json};
use tocsin_domain::Role;

use crate::browser::{Browser, backend};
use crate::support::{Deployment, Server};

const NOW: &str = "2023-12-26T10:00:00Z";
const CT: &str = "Counterterrorism Collection Element";
const PARTNER: &str = "Partner Liaison Element";

fn password(name: &str) -> String {
    format!("{name}-password")
}

/// The Kerman report as a case, through the API; its number.
fn kerman(srv: &Server, token: &str) -> String {
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    srv.ok(token, "POST", "/api/v1/reports", Some(report))["number"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Waits (up to 10 s) until `css` exists on the page.
fn wait_for(b: &Browser, css: &str) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(10) {
        if b.exists(css) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

#[test]
fn the_case_page_shows_screening_hits_and_the_w3_evidence() {
    const EL: &str = "FBI New York Field Office";
    let d = Deployment::new();
    let srv = d.serve("2024-06-01T10:00:00Z");
    let admin = srv.account("admin.a", &[Role::Admin], &[EL], "TOP SECRET", &[]);
    let collector = srv.account("collector.c", &[Role::Collector], &[EL], "SECRET", &[]);
    srv.account("analyst.w", &[Role::Analyst], &[EL], "TOP SECRET", &[]);
    // A one-entry OFAC list: Doku Umarov, as the real list gives him.
    let sdn = "12110,\"UMAROV, Doku\",\"individual\",\"SDGT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"DOB 13 Apr 1964; nationality Russia.\"\n";
    let a = srv.call(
        "POST",
        "/api/v1/registries",
        Some(&admin),
        Some(json!({"kind": "ofac", "name": "ofac", "files": [{"name": "sdn.csv", "text": sdn}]})),
    );
    assert_eq!(a.status, 201, "{:?}", a.body);
    let mut report: Value = serde_json::from_str(tocsin::scenarios::EDGE3_KIDNAPPING).unwrap();
    report["title"] = json!("Plot to abduct a man in Brooklyn");
    report["received_at"] = json!("2024-06-01T09:00:00Z");
    report["window"]["not_before"] = json!("2024-06-05T00:00:00-04:00");
    report["window"]["not_after"] = json!("2024-08-31T00:00:00-04:00");
    report["target"]["victims"] =
        json!([{"name": "Doku Umarov", "nationality": "RU"}, {"description": "His driver"}]);
    let n = srv.ok(&collector, "POST", "/api/v1/reports", Some(report))["number"]
        .as_str()
        .unwrap()
        .to_owned();

    let b = Browser::open(&srv, backend(&d));
    b.login("analyst.w", &password("analyst.w"));
    b.goto(&format!("/cases/{n}"));
    let screening = b.text("#screening");
    assert!(
        screening.contains("Doku Umarov") && screening.contains("ofac v1"),
        "{screening}"
    );
    assert!(
        b.text("#screening .listed").contains("UMAROV, Doku"),
        "{screening}"
    );
    assert!(
        screening.contains("given only by a description"),
        "{screening}"
    );
    let w3 = b.text("#w3-evidence");
    assert!(
        w3.contains("W3") && w3.contains("Doku Umarov") && w3.contains("waives nothing"),
        "{w3}"
    );
    // Deadlines count down from the page's time.
    let due = b.text("#deadlines");
    assert!(due.contains("decide") && due.contains(" in "), "{due}");
    b.script(
        "document.querySelector('#screening').scrollIntoView();",
        vec![],
    );
    b.screenshot("case-screening");
}

#[test]
fn a_contribution_sent_by_one_element_is_accepted_by_the_lead_element_in_the_browser() {
    let d = Deployment::new();
    let srv = d.serve(NOW);
    let lead = srv.account(
        "analyst.lead",
        &[Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    srv.account(
        "collector.partner",
        &[Role::Collector],
        &[PARTNER],
        "TOP SECRET",
        &["HCS"],
    );
    srv.account(
        "arbiter.ui",
        &[Role::Arbiter],
        &["Oversight"],
        "TOP SECRET",
        &["HCS"],
    );
    let n = kerman(&srv, &lead);
    let b = Browser::open(&srv, backend(&d));

    // The partner's collector sends a report to a case they cannot see.
    b.login("collector.partner", &password("collector.partner"));
    b.goto(&format!("/cases/{n}"));
    assert_eq!(b.text("#error-title"), "Forbidden", "{}", b.body());
    let mut report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    report["originating_element"] = json!(PARTNER);
    report["title"] = json!("Partner liaison: a second attacker near the cemetery");
    report["narrative"] = json!(
        "A liaison service reports that a second attacker will approach the memorial \
         procession from the south road, carrying an explosive vest, in the first days of January."
    );
    b.goto("/reports/new");
    b.paste("#report_json", &report.to_string());
    b.click("#dest-contribute");
    b.fill("#case", &n);
    b.submit("#submit-report");
    assert_eq!(b.text("#contribution-status"), "pending", "{}", b.body());
    let status_link = b.path();
    assert!(!b.body().contains("Kerman"), "nothing about the case");
    b.submit("#contribution-link");
    let asked_again = b.path();
    assert!(
        asked_again.starts_with("/contributions/"),
        "{status_link} {asked_again}"
    );
    b.logout();

    // The lead element sees it on the case and accepts it.
    b.login("analyst.lead", &password("analyst.lead"));
    b.goto(&format!("/cases/{n}"));
    assert!(
        b.text("#contributions-summary").contains("pending"),
        "{}",
        b.body()
    );
    b.submit("#elements-link");
    assert_eq!(b.text("#contribution-1 .contribution-status"), "pending");
    b.screenshot("case-elements");
    b.submit("#accept-contribution-1");
    assert_eq!(
        b.text("#contribution-1 .contribution-status"),
        "accepted",
        "{}",
        b.body()
    );
    b.goto(&format!("/cases/{n}"));
    assert!(
        b.text("#reports-h").starts_with("Reports (2;"),
        "{}",
        b.body()
    );
    assert!(b.text("#reports").contains("a second attacker"));

    // A dispute, raised by the lead element, resolved by an arbiter.
    b.submit("#elements-link");
    b.fill(
        "#dispute-statement",
        "Our partner holds that the venue must be warned too.",
    );
    b.submit("#raise-dispute");
    assert!(
        b.text("#dispute-1 .dispute-status").starts_with("open"),
        "{}",
        b.body()
    );
    assert!(!b.exists("#resolve-form-1"), "an analyst cannot resolve it");
    b.logout();
    b.login("arbiter.ui", &password("arbiter.ui"));
    b.goto("/disputes");
    assert!(b.text("#open-disputes").contains(&n), "{}", b.body());
    b.submit("#open-disputes a");
    assert!(b.path().starts_with(&format!("/cases/{n}/elements")));
    b.fill(
        "#resolve-reason-1",
        "Warn the venue as well: both elements agree now.",
    );
    b.submit("#resolve-dispute-1");
    assert_eq!(
        b.text("#dispute-1 .dispute-status"),
        "resolved",
        "{}",
        b.body()
    );
    b.logout();

    // The contributor learns the status, and nothing else.
    b.login("collector.partner", &password("collector.partner"));
    b.goto(&asked_again);
    assert_eq!(b.text("#contribution-status"), "accepted", "{}", b.body());
}

#[test]
fn a_second_warning_from_the_route_plan_and_the_warning_check_with_and_without_script() {
    let d = Deployment::new();
    let srv = d.serve(NOW);
    let analyst = srv.account(
        "analyst.two",
        &[Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    srv.account(
        "auditor.two",
        &[Role::Auditor],
        &["Oversight"],
        "TOP SECRET",
        &["HCS"],
    );
    let n = kerman(&srv, &analyst);
    let case = format!("/api/v1/cases/{n}");
    srv.ok(
        &analyst,
        "POST",
        &format!("{case}/determinations"),
        Some(json!({})),
    );
    srv.ok(
        &analyst,
        "POST",
        &format!("{case}/route-choice"),
        Some(json!({"candidate": 1})),
    );
    let plan = srv.ok(&analyst, "GET", &format!("{case}/route-plan"), None);
    let cands = plan["candidates"].as_array().unwrap();
    let first = &cands[0]["route"]["recipient"];
    let other = cands
        .iter()
        .find(|c| &c["route"]["recipient"] != first)
        .unwrap_or_else(|| panic!("a second recipient in {plan}"))["rank"]
        .as_u64()
        .unwrap();

    let b = Browser::open(&srv, backend(&d));
    b.login("analyst.two", &password("analyst.two"));
    b.goto(&format!("/cases/{n}"));
    b.submit("#plan-link");
    assert!(b.text("#plan-form").contains("why") || b.exists("#plan-candidate-1"));
    assert!(
        b.exists(&format!("#plan-candidate-{other}")),
        "{}",
        b.body()
    );
    b.screenshot("route-plan");
    b.click(&format!("#plan-candidate-{other}"));
    b.click("#target-new");
    b.submit("#plan-choose");
    assert!(b.path().starts_with(&format!("/cases/{n}")), "{}", b.body());
    assert!(b.exists("#warning-W2"), "{}", b.body());
    assert!(b.text("#warning-W2 .route").len() > 3);

    // The check without script: the text comes back with the findings marked.
    let leaky = format!(
        "Source CS-4471 (TD-314/00123-23) reports: {}",
        tocsin::scenarios::KERMAN_WARNING
    );
    b.paste("#draft-text", &leaky);
    b.submit("#check");
    let marked = b.text("#check-findings");
    assert!(marked.contains("CS-4471"), "{}", b.body());
    assert!(b.text("#check-findings mark").contains("CS-4471") || b.exists("#check-findings mark"));
    assert!(b.exists("#check-list li"));
    b.script(
        "document.querySelector('#check-result').scrollIntoView();",
        vec![],
    );
    b.screenshot("warning-check");
    let kept = b.script(
        "return document.querySelector('#draft-text').value;",
        vec![],
    );
    assert_eq!(kept.as_str(), Some(leaky.as_str()), "the text is kept");
    assert_eq!(b.text("#case-state"), "duty to warn", "nothing recorded");
    // A clean text: nothing found.
    b.paste("#draft-text", tocsin::scenarios::KERMAN_WARNING);
    b.submit("#check");
    assert!(b.exists("#check-clean"), "{}", b.body());

    // The template's text, checked, in the editor.
    b.submit("#from-template");
    assert!(b.exists("#check-result"), "{}", b.body());
    let t = b.script(
        "return document.querySelector('#draft-text').value;",
        vec![],
    );
    assert!(t.as_str().is_some_and(|t| t.len() > 40), "{t}");

    // A route of one's own, as JSON: refused beside the field, then chosen.
    b.goto(&format!("/cases/{n}/plan"));
    b.paste("#own-route", "{}");
    b.fill("#own-rationale", "The liaison desk asked for this route.");
    b.submit("#own-route-choose");
    assert!(b.text("#own-route-error").contains("route"), "{}", b.body());
    b.paste("#own-route", &cands[0]["route"].to_string());
    b.script(
        "document.querySelector('#own-target').value = 'W1';",
        vec![],
    );
    b.submit("#own-route-choose");
    assert!(
        b.text("#warning-W1")
            .contains("The liaison desk asked for this route."),
        "{}",
        b.body()
    );

    // With script: the same check as one types, through the API.
    b.goto(&format!("/cases/{n}"));
    b.fill(
        "#draft-text",
        "Asset NIGHTJAR, source CS-4471, says a bomb is planned.",
    );
    assert!(wait_for(&b, "#live-findings mark"), "{}", b.body());
    assert!(b.text("#live-findings").contains("CS-4471"));

    // Draft W2 (the form names it) and see it drafted.
    b.paste("#draft-text", tocsin::scenarios::KERMAN_WARNING);
    b.script(
        "document.querySelector('#draft-warning').value = '2';",
        vec![],
    );
    b.submit("#draft");
    assert!(b.exists("#sha-W2-1"), "{}", b.body());
    assert_eq!(b.text("#sha-W2-1").len(), 64);
    b.logout();

    // The timeline: each event's ledger position links to its inclusion proof.
    b.login("auditor.two", &password("auditor.two"));
    b.goto(&format!("/cases/{n}"));
    let href = b.script(
        "return document.querySelector('#timeline .proof-json').getAttribute('href');",
        vec![],
    );
    let href = href.as_str().unwrap().to_owned();
    let page = b.script(
        "return document.querySelector('#timeline .proof-link').getAttribute('href');",
        vec![],
    );
    assert!(page.as_str().unwrap().starts_with("/audit/proof?position="));
    b.goto(&href);
    let proof: Value =
        serde_json::from_str(&b.body()).unwrap_or_else(|e| panic!("{e}: {}", b.body()));
    assert!(
        proof["leaf_hash"].is_string() && proof["root"].is_string(),
        "{proof}"
    );
}

#[test]
fn intake_says_a_joined_report_is_derived_and_two_similar_cases_are_linked() {
    let d = Deployment::new();
    let srv = d.serve(NOW);
    let t = srv.account(
        "analyst.join",
        &[Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let mut first: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    first["origin"] = json!("Wall Street Journal, 2023-12-25");
    let a = srv.ok(&t, "POST", "/api/v1/reports", Some(first.clone()))["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut other = first.clone();
    other["title"] = json!("The same story, seen by another desk");
    let b_case = srv.ok(&t, "POST", "/api/v1/reports", Some(other))["number"]
        .as_str()
        .unwrap()
        .to_owned();

    let b = Browser::open(&srv, backend(&d));
    b.login("analyst.join", &password("analyst.join"));
    // A report added to case A through the form: marked derived on intake.
    let mut again = first;
    again["title"] = json!("The same story, forwarded");
    b.goto("/reports/new");
    b.paste("#report_json", &again.to_string());
    b.click("#dest-join");
    b.fill("#case", &a);
    b.submit("#submit-report");
    let result = b.text("#derived-result");
    assert!(result.contains("Marked derived"), "{}", b.body());
    assert_eq!(b.text("#sources"), "1");
    // A case number that does not parse is named beside the field.
    b.goto("/reports/new");
    b.paste("#report_json", &again.to_string());
    b.click("#dest-join");
    b.fill("#case", "not a case");
    b.submit("#submit-report");
    assert!(b.text("#case-error").contains("not a case"), "{}", b.body());

    // The cross-case lookup finds case B's report.
    b.goto(&format!("/cases/{a}"));
    b.submit("#reports .similar-link");
    assert!(b.text("#similar").contains(&b_case), "{}", b.body());

    // Linking: one lead element leads both cases, so its ask makes the link.
    b.goto(&format!("/cases/{a}/elements"));
    b.fill("#relation-other", "no such case");
    b.submit("#relate");
    assert!(b.text("#relations-error").contains("other"), "{}", b.body());
    b.fill("#relation-other", &b_case);
    b.submit("#relate");
    assert!(b.text("#related").contains("linked"), "{}", b.body());
    b.goto(&format!("/cases/{a}"));
    assert!(
        b.text("#related-summary").contains("linked"),
        "{}",
        b.body()
    );
}
