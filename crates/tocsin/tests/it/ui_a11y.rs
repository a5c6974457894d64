//! The web UI's accessibility and layout, in a real browser: axe-core
//! (from npm, injected into each page by the test: [`crate::browser`])
//! must find no serious or critical violation on the login page, the
//! dashboard, the case list, the case page (with its forms and with an
//! error beside one), the approvals inbox, the audit page and the records
//! page; the skip link is the first stop of the keyboard; and screenshots of the
//! dashboard, the Kerman case page and the approvals inbox are written at
//! a laptop's size (1366×768) and a tablet's (768×1024) to
//! `target/ui-screenshots/`. A missing axe-core fails, never skips.

use tocsin_domain::Role;

use crate::browser::{Browser, axe_js, backend};
use crate::support::Deployment;

const NOW: &str = "2023-12-26T10:00:00Z";
const CT: &str = "Counterterrorism Collection Element";

fn password(name: &str) -> String {
    format!("{name}-password")
}

/// axe's serious and critical findings on the page `b` shows, as a
/// failure naming the page.
#[track_caller]
fn assert_accessible(b: &Browser, axe: &str, what: &str) {
    let found = b.axe(axe);
    assert!(
        found.is_empty(),
        "axe-core found serious or critical problems on {what} ({}):\n{}",
        b.path(),
        found.join("\n")
    );
}

/// Screenshots of the page at a laptop's and a tablet's size, and no
/// horizontal scrolling of the page itself at either.
#[track_caller]
fn at_both_sizes(b: &Browser, name: &str) {
    for (w, h, size) in [(1366, 768, "1366x768"), (768, 1024, "768x1024")] {
        b.resize(w, h);
        let wider = b.script(
            "return document.documentElement.scrollWidth > document.documentElement.clientWidth + 1;",
            vec![],
        );
        assert_eq!(
            wider,
            serde_json::json!(false),
            "{name} scrolls sideways at {size}"
        );
        b.screenshot(&format!("{name}-{size}"));
    }
    b.resize(1366, 900);
}

#[test]
fn axe_finds_nothing_serious_on_the_pages_of_the_duty_desk() {
    let axe = axe_js();
    let d = Deployment::new();
    let srv = d.serve_with(
        NOW,
        tocsin_server::ServerConfig {
            jobs: None,
            ..tocsin::demo::demo_config()
        },
    );
    srv.account(
        "analyst.ui",
        &[Role::Analyst, Role::Approver],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    srv.account(
        "approver.ui",
        &[Role::Approver],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    srv.account(
        "auditor.ui",
        &[Role::Auditor, Role::RecordsOfficer],
        &["Oversight"],
        "TOP SECRET",
        &["HCS"],
    );
    let b = Browser::open(&srv, backend(&d));

    // The login page (a demo deployment's, with its table of accounts),
    // and its error.
    b.goto("/login");
    assert_accessible(&b, &axe, "the login page");
    // The check itself finds what it must: a button without a name.
    b.script(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<button id=\"nameless\"></button>');",
        vec![],
    );
    let found = b.axe(&axe);
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("button-name (critical)")),
        "{found:?}"
    );
    b.login("analyst.ui", "wrong password");
    assert!(b.exists("#login-error"));
    assert_accessible(&b, &axe, "the login page with an error");

    // The keyboard's first stop is the skip link, and it is seen.
    b.login("analyst.ui", &password("analyst.ui"));
    b.script("document.activeElement.blur();", vec![]);
    let first = b.script(
        r#"const a = document.querySelector('a.skip'); a.focus();
           const r = a.getBoundingClientRect();
           return [document.activeElement === a, r.left >= 0 && r.top >= 0,
                   getComputedStyle(a).outlineStyle];"#,
        vec![],
    );
    assert_eq!(first[0], true, "the skip link takes focus");
    assert_eq!(first[1], true, "the focused skip link is on screen");
    assert_ne!(first[2], "none", "focus is visible");
    let order = b.script(
        "return Array.from(document.querySelectorAll('a[href], button, input, select, textarea')).filter(e => e.type !== 'hidden')[0].className;",
        vec![],
    );
    assert_eq!(order, "skip", "the skip link comes first");
    assert_accessible(&b, &axe, "the empty dashboard");

    // The Kerman case, through the forms: intake, assessment,
    // determination, route, a refused leaky draft, then a good one.
    b.goto("/reports/new");
    assert_accessible(&b, &axe, "the intake form");
    b.paste("#report_json", tocsin::scenarios::KERMAN_REPORT);
    b.submit("#submit-report");
    let case_path = b.path();
    assert!(case_path.starts_with("/cases/2023-"), "{case_path}");
    assert_accessible(&b, &axe, "a new case's page with its forms");
    b.fill("#assess-reason", "Specific, credible plan against a crowd.");
    b.submit("#assess");
    b.submit("#determine");
    b.click("#candidate-1");
    b.submit("#choose-route");
    b.paste(
        "#draft-text",
        &format!(
            "SECRET//NOFORN Source CS-4471 reports: {}",
            tocsin::scenarios::KERMAN_WARNING
        ),
    );
    b.submit("#draft");
    assert!(b.exists("#draft-findings mark"), "{}", b.body());
    assert_accessible(&b, &axe, "the case page with a refused draft");
    b.paste("#draft-text", tocsin::scenarios::KERMAN_WARNING);
    b.submit("#draft");
    assert_eq!(b.text("#case-state"), "warning drafted", "{}", b.body());
    b.goto("/approvals");
    assert_accessible(&b, &axe, "the approvals inbox of the drafter");
    b.goto("/cases");
    assert_accessible(&b, &axe, "the case list");
    b.goto("/cases?state=warning_drafted&overdue=1");
    assert_accessible(&b, &axe, "a filtered, empty case list");
    b.logout();

    // The approver: the dashboard with what waits, the inbox with a text
    // to approve, then the case page after approval.
    b.login("approver.ui", &password("approver.ui"));
    assert_accessible(&b, &axe, "the dashboard");
    at_both_sizes(&b, "a11y-dashboard");
    b.goto("/approvals");
    assert!(b.exists("#texts .approve-text"), "{}", b.body());
    assert_accessible(&b, &axe, "the approvals inbox");
    at_both_sizes(&b, "a11y-approvals");
    b.submit("#texts .approve-text");
    assert_eq!(b.path(), case_path);
    assert_eq!(b.text("#case-state"), "warning approved");
    assert_accessible(&b, &axe, "the Kerman case page");
    at_both_sizes(&b, "a11y-kerman-case");
    b.logout();

    // The auditor (also a records officer): the audit page before and
    // after a verification, and the records page.
    b.login("auditor.ui", &password("auditor.ui"));
    b.goto("/audit");
    assert_accessible(&b, &axe, "the audit page");
    b.submit("#verify-ledger");
    assert!(b.text("#verify-result").starts_with("OK: "));
    assert_accessible(&b, &axe, "the audit page after verifying");
    b.goto("/records");
    assert!(b.exists("#exemptions"), "{}", b.body());
    assert_accessible(&b, &axe, "the records page");
    b.goto("/no/such/page");
    assert_accessible(&b, &axe, "the error page");
}

#[test]
fn a_printed_case_page_shows_the_case_without_navigation_or_forms() {
    let d = Deployment::new();
    let srv = d.serve(NOW);
    srv.account(
        "analyst.ui",
        &[Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let b = Browser::open(&srv, backend(&d));
    b.login("analyst.ui", &password("analyst.ui"));
    b.goto("/reports/new");
    b.paste("#report_json", tocsin::scenarios::KERMAN_REPORT);
    b.submit("#submit-report");
    // The print stylesheet, asked of the browser: the page's rules for
    // print applied by matching them against the elements.
    let shown = b.script(
        r#"const hidden = sel => Array.from(document.querySelectorAll(sel)).every(e => {
             for (const sheet of document.styleSheets) for (const rule of sheet.cssRules) {
               if (rule.media && Array.from(rule.media).includes('print'))
                 for (const r of rule.cssRules)
                   if (r.style && r.style.display === 'none' && e.matches(r.selectorText)) return true;
             }
             return false; });
           return [hidden('header.top nav'), hidden('main form'), hidden('a.skip'),
                   hidden('#case-state'), hidden('main h1')];"#,
        vec![],
    );
    assert_eq!(
        shown,
        serde_json::json!([true, true, true, false, false]),
        "in print: no navigation and no forms, the case itself shown"
    );
}

#[test]
fn the_dashboard_charts_count_only_the_cases_a_reader_may_see() {
    use serde_json::{Value, json};
    let d = Deployment::new();
    let srv = d.serve(NOW);
    let full = srv.account("full", &[Role::Analyst], &[CT], "TOP SECRET", &["HCS"]);
    srv.account("low", &[Role::Analyst], &[CT], "CONFIDENTIAL", &["HCS"]);
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    srv.ok(&full, "POST", "/api/v1/reports", Some(report.clone()));
    let mut hidden = report;
    hidden["handling"]["existence_restricted"] = json!(true);
    hidden["title"] = json!("A case whose very existence is restricted");
    srv.ok(&full, "POST", "/api/v1/reports", Some(hidden));

    let b = Browser::open(&srv, backend(&d));
    b.login("full", &password("full"));
    let weeks = b.text("#chart-weeks");
    assert!(weeks.contains("2 cases opened in 12 weeks"), "{weeks}");
    assert_eq!(
        b.script(
            "return document.querySelectorAll('#chart-weeks svg rect').length;",
            vec![]
        ),
        json!(1),
        "one bar: both not determined, in this week"
    );
    assert!(b.text("#chart-decide").contains("No case"));
    b.logout();

    // Not cleared for either: no bar, no count, in any chart.
    b.login("low", &password("low"));
    for id in ["#chart-decide", "#chart-warn", "#chart-weeks"] {
        assert!(b.text(id).contains("No case"), "{id}: {}", b.text(id));
    }
    assert_eq!(
        b.script(
            "return document.querySelectorAll('#charts rect').length;",
            vec![]
        ),
        json!(0)
    );
}
