//! The web UI in a real browser: Debian's `chromium`, headless, driven
//! through `chromedriver` ([`crate::browser`]) against the real server on a
//! fresh deployment. A missing browser or driver fails the tests: CI
//! installs both (`.ci/run`). Screenshots of the dashboard, the Kerman case
//! page, the approvals inbox and the audit page go to
//! `target/ui-screenshots/` (or `TOCSIN_UI_SCREENSHOTS`), named after the
//! backend.

use serde_json::{Value, json};
use tocsin_domain::Role;

use crate::browser::{Browser, backend};
use crate::support::Deployment;

const NOW: &str = "2023-12-26T10:00:00Z";
const CT: &str = "Counterterrorism Collection Element";

/// The password `Server::account` gives an account.
fn password(name: &str) -> String {
    format!("{name}-password")
}

#[test]
fn logging_in_through_the_form_shows_the_dashboard_and_who_one_is() {
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

    // Not logged in: the UI's front page is the login page.
    b.goto("/");
    assert_eq!(b.path(), "/login");
    assert!(!b.exists("#demo-accounts"), "not a demo deployment");

    // A login posted from another site is refused before anything else.
    let forged = srv.call_with(
        "POST",
        "/login",
        None,
        None,
        &[
            ("sec-fetch-site", "cross-site"),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
    );
    assert_eq!(forged.status, 403, "{:?}", forged.body);
    assert!(forged.headers.get("set-cookie").is_none());

    b.login("analyst.ui", "wrong password");
    assert!(
        b.text("#login-error").contains("wrong password"),
        "{}",
        b.body()
    );

    b.login("analyst.ui", &password("analyst.ui"));
    assert_eq!(b.path(), "/");
    assert_eq!(b.text("h1"), "Dashboard");
    assert_eq!(b.text("#who-name"), "analyst.ui");
    assert_eq!(b.text("#who-roles"), "analyst");
    let who = b.text("#who");
    assert!(
        who.contains(CT) && who.contains("TOP SECRET (HCS)"),
        "{who}"
    );
    b.screenshot("dashboard-empty");

    // The API is unchanged beside it, and the spec lists no page.
    b.goto("/openapi.json");
    let spec = b.body();
    assert!(spec.contains("/api/v1/cases") && !spec.contains("\"/login\""));

    // An unknown page is a page; the API's unknown paths stay problems.
    b.goto("/no/such/page");
    assert_eq!(b.text("#error-title"), "Not found");
    b.goto("/api/v1/no-such-route");
    assert!(b.body().contains("problems/not-found"), "{}", b.body());

    b.goto("/");
    b.logout();
    b.goto("/cases");
    assert_eq!(b.path(), "/login", "a logged-out session is over");
}

#[test]
fn a_demo_deployment_s_login_page_lists_the_demo_accounts() {
    let d = Deployment::new();
    let srv = d.serve_with(
        NOW,
        tocsin_server::ServerConfig {
            jobs: None,
            ..tocsin::demo::demo_config()
        },
    );
    let b = Browser::open(&srv, backend(&d));
    b.goto("/");
    let demo = b.text("#demo-accounts");
    for name in ["analyst.kim", "approver.lee", "auditor.ng"] {
        assert!(demo.contains(name), "{demo}");
    }
    assert!(demo.contains(tocsin::demo::DEMO_PASSWORD), "{demo}");
}

#[test]
fn a_restricted_case_is_a_missing_case_in_lists_counts_and_by_url() {
    let d = Deployment::new();
    let srv = d.serve(NOW);
    let full = srv.account("full", &[Role::Analyst], &[CT], "TOP SECRET", &["HCS"]);
    srv.account("low", &[Role::Analyst], &[CT], "CONFIDENTIAL", &["HCS"]);
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let open = srv.ok(&full, "POST", "/api/v1/reports", Some(report.clone()));
    let mut hidden = report;
    hidden["handling"]["existence_restricted"] = json!(true);
    hidden["title"] = json!("A case whose very existence is restricted");
    let hidden = srv.ok(&full, "POST", "/api/v1/reports", Some(hidden));
    let hidden_number = hidden["number"].as_str().unwrap().to_owned();
    let open_number = open["number"].as_str().unwrap().to_owned();

    let b = Browser::open(&srv, backend(&d));
    // The cleared reader sees both.
    b.login("full", &password("full"));
    assert!(b.text("#open-h").contains("Open cases: 2"), "{}", b.body());
    b.goto(&format!("/cases/{hidden_number}"));
    assert_eq!(b.text("#case-number"), hidden_number);
    b.logout();

    // A reader without the clearance: not in the count, not in the list,
    // not in a search by number, and its page is a missing case's page.
    b.login("low", &password("low"));
    assert!(b.text("#open-h").contains("Open cases: 0"), "{}", b.body());
    b.goto("/cases");
    assert!(b.exists("#no-cases"), "{}", b.body());
    let body = b.body();
    assert!(
        !body.contains(&hidden_number) && !body.contains("restricted"),
        "{body}"
    );
    b.goto(&format!("/cases?q={hidden_number}"));
    assert!(b.exists("#no-cases"), "{}", b.body());

    let missing = "2023-0099";
    let page = |n: &str| {
        b.goto(&format!("/cases/{n}"));
        (
            b.text("#error-title"),
            b.text("#error-detail").replace(n, "N"),
            b.body().replace(n, "N"),
        )
    };
    let restricted = page(&hidden_number);
    assert_eq!(restricted.0, "Not found");
    assert_eq!(
        restricted,
        page(missing),
        "a restricted case answers as a missing one"
    );
    // (The same reader's lower clearance also keeps the plain SECRET case
    // from them, but as a refusal of a case that exists.)
    b.goto(&format!("/cases/{open_number}"));
    assert_eq!(b.text("#error-title"), "Forbidden");
}

#[test]
fn a_form_post_without_the_csrf_token_is_refused_and_recorded() {
    let d = Deployment::new();
    let srv = d.serve(NOW);
    let t = srv.account(
        "analyst.ui",
        &[Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let number = srv.ok(&t, "POST", "/api/v1/reports", Some(report))["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = Browser::open(&srv, backend(&d));
    b.login("analyst.ui", &password("analyst.ui"));
    b.goto(&format!("/cases/{number}"));
    // A forged form: the hidden token taken out, then a wrong one.
    for forge in [
        "document.querySelector('#determine-form input[name=csrf]').remove();",
        "document.querySelector('#determine-form input[name=csrf]').value = 'forged';",
    ] {
        b.goto(&format!("/cases/{number}"));
        b.script(forge, vec![]);
        b.submit("#determine");
        assert_eq!(
            b.text("#error-title"),
            "Missing or wrong CSRF token",
            "{}",
            b.body()
        );
    }
    b.goto(&format!("/cases/{number}"));
    assert!(!b.exists("#verdict"), "nothing was determined");
    // The same form with its token goes through.
    b.submit("#determine");
    assert_eq!(b.path(), format!("/cases/{number}"));
    assert_eq!(b.text("#verdict"), "duty to warn");
    // Both forgeries are on the access log, as the API's are.
    let auditor = srv.account(
        "auditor.ui",
        &[Role::Auditor],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let log = srv.ok(&auditor, "GET", "/api/v1/audit/access?limit=1000", None);
    let refusals = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.to_string().contains("ui_form") && e.to_string().contains("CSRF"))
        .count();
    assert_eq!(refusals, 2, "{log}");
}

#[test]
fn kerman_in_the_browser_by_an_analyst_and_an_approver() {
    let d = Deployment::new();
    let srv = d.serve(NOW);
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
        &[Role::Auditor],
        &["Oversight"],
        "TOP SECRET",
        &["HCS"],
    );
    let b = Browser::open(&srv, backend(&d));
    b.login("analyst.ui", &password("analyst.ui"));

    // Intake: a report that does not parse is answered beside the field.
    b.goto("/reports/new");
    let mut bad: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    bad["harm_types"] = json!(["gossip"]);
    b.paste("#report_json", &bad.to_string());
    b.submit("#submit-report");
    let e = b.text("#report_json-error");
    assert!(e.contains("harm_types"), "{e}");
    b.paste("#report_json", tocsin::scenarios::KERMAN_REPORT);
    b.submit("#submit-report");
    let case_path = b.path();
    assert!(case_path.starts_with("/cases/2023-"), "{case_path}");
    assert_eq!(b.text("#case-state"), "awaiting determination");
    assert_eq!(b.text("#sources"), "1");

    // Assess, then determine: the verdict with its rule trace.
    b.fill("#assess-reason", "Specific, credible plan against a crowd.");
    b.submit("#assess");
    assert!(b.text("#assessment").contains("Specific, credible plan"));
    b.submit("#determine");
    assert_eq!(b.text("#verdict"), "duty to warn");
    let trace = b.text("#trace");
    assert!(trace.contains("met"), "{trace}");

    // The route: the planner's first candidate (through the protecting power).
    b.click("#candidate-1");
    b.submit("#choose-route");
    let route = b.text("#warning-W1 .route");
    assert!(
        route.contains("Switzerland") || route.contains("Swiss"),
        "{route}"
    );

    // A leaky draft is refused, its findings marked in the text.
    let leaky = format!(
        "SECRET//NOFORN Source CS-4471 (TD-314/00123-23) reports: {}",
        tocsin::scenarios::KERMAN_WARNING
    );
    b.paste("#draft-text", &leaky);
    b.submit("#draft");
    assert!(b.text("#draft-error").contains("refused"), "{}", b.body());
    let marks = b.text("#draft-findings mark");
    assert!(!marks.is_empty());
    assert!(b.exists("#draft-findings mark"));
    assert!(b.text("#draft-findings").contains("CS-4471"));
    b.paste("#draft-text", tocsin::scenarios::KERMAN_WARNING);
    b.submit("#draft");
    assert_eq!(b.text("#case-state"), "warning drafted", "{}", b.body());
    let sha = b.text("#sha-W1-1");
    assert_eq!(sha.len(), 64);

    // Approving one's own draft is refused, and says why.
    b.submit("#approve");
    let e = b.text("#approve-error");
    assert!(e.contains("Needs another approver"), "{e}");
    assert_eq!(b.text("#case-state"), "warning drafted");
    b.script(
        "document.querySelector('#approve-error').scrollIntoView();",
        vec![],
    );
    b.screenshot("kerman-self-approval-refused");
    b.click("#nav-approvals");
    let inbox = b.text("#texts");
    assert!(
        inbox.contains(&sha) && inbox.contains("needs another approver"),
        "{inbox}"
    );
    assert!(
        !b.exists("#texts .approve-text"),
        "no button for one's own draft"
    );
    b.logout();

    // The approver sees it waiting, reads the exact text and hash, approves.
    b.login("approver.ui", &password("approver.ui"));
    assert!(
        b.text("#waiting").contains("approve the warning text"),
        "{}",
        b.body()
    );
    b.screenshot("dashboard");
    // The inbox shows the exact text and its hash; approved from there.
    b.click("#nav-approvals");
    let inbox = b.text("#texts");
    assert!(inbox.contains(&sha), "{inbox}");
    assert!(
        inbox.contains("Kerman Martyrs' Cemetery on or around 3 January 2024"),
        "{inbox}"
    );
    b.screenshot("approvals");
    b.submit("#texts .approve-text");
    assert_eq!(b.path(), case_path);
    assert_eq!(b.text("#case-state"), "warning approved");
    assert!(b.text("#approved-W1-1").contains("approver.ui"));
    // The public advisory: "issued" needs its time; then a decision not to.
    b.click("#advisory-issued");
    b.fill("#advisory-reason", "The public must know too.");
    b.submit("#decide-advisory");
    assert!(
        b.text("#advisory-error").contains("issued_at"),
        "{}",
        b.body()
    );
    b.fill(
        "#advisory-reason",
        "Warning the public would reveal the plot's detail to its authors.",
    );
    b.submit("#decide-advisory");
    assert!(
        b.text("#advisories").contains("not issued by approver.ui"),
        "{}",
        b.body()
    );
    assert!(b.text("#timeline").contains("warning approved"));
    b.screenshot("kerman-case");
    assert!(!b.exists("#nav-audit"), "an approver has no audit page");
    b.logout();

    // The run ends with a passing verification on the audit page.
    b.login("auditor.ui", &password("auditor.ui"));
    b.click("#nav-audit");
    assert!(
        b.text("#checkpoint-text").contains("tocsin.test/it"),
        "{}",
        b.body()
    );
    b.submit("#verify-ledger");
    let verified = b.text("#verify-result");
    assert!(verified.starts_with("OK: "), "{verified}");
    assert!(b.exists("#access-log tbody tr"), "{}", b.body());
    b.screenshot("audit");
}

#[test]
fn an_enrolment_secret_only_opens_the_page_to_set_one_s_own_password() {
    let d = Deployment::new();
    let srv = d.serve(NOW);
    srv.account(
        "analyst.ui",
        &[Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let admin = srv.account("adm", &[Role::Admin], &["Administration"], "SECRET", &[]);
    let secret = srv.ok(
        &admin,
        "POST",
        "/api/v1/accounts/analyst.ui/enrolment",
        None,
    )["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = Browser::open(&srv, backend(&d));
    b.login("analyst.ui", &secret);
    assert_eq!(b.path(), "/password");
    assert!(b.exists("#password-required"));
    // Nothing else opens with it.
    for page in ["/", "/cases", "/reports/new"] {
        b.goto(page);
        assert_eq!(b.path(), "/password", "{page}");
    }
    b.fill("#current", &secret);
    b.fill("#new", "a password of my own");
    b.fill("#confirm", "a different one");
    b.submit("#set-password");
    assert!(b.text("#password-error").contains("differ"), "{}", b.body());
    b.fill("#current", &secret);
    b.fill("#new", "a password of my own");
    b.fill("#confirm", "a password of my own");
    b.submit("#set-password");
    assert_eq!(b.path(), "/");
    assert_eq!(b.text("#who-name"), "analyst.ui");
    b.logout();
    b.login("analyst.ui", "a password of my own");
    assert_eq!(b.path(), "/");
}

#[test]
fn the_case_list_keeps_its_filters_in_the_url_and_pages() {
    let d = Deployment::new();
    let srv = d.serve(NOW);
    let t = srv.account(
        "analyst.ui",
        &[Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let mut numbers = Vec::new();
    for i in 0..3 {
        let mut r = report.clone();
        r["title"] = json!(format!("Case number {i}"));
        numbers.push(
            srv.ok(&t, "POST", "/api/v1/reports", Some(r))["number"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // One of them determined: duty to warn.
    srv.ok(
        &t,
        "POST",
        &format!("/api/v1/cases/{}/determinations", numbers[0]),
        Some(json!({})),
    );
    let b = Browser::open(&srv, backend(&d));
    b.login("analyst.ui", &password("analyst.ui"));

    // Two per page, newest first: a next page, then the last.
    b.goto("/cases?limit=2");
    let first = b.text("#case-list");
    assert!(
        first.contains(&numbers[2]) && first.contains(&numbers[1]),
        "{first}"
    );
    assert!(!first.contains(&numbers[0]), "{first}");
    b.submit("#next-page");
    assert!(
        b.path().contains("after=") && b.path().contains("limit=2"),
        "{}",
        b.path()
    );
    let second = b.text("#case-list");
    assert!(
        second.contains(&numbers[0]) && !second.contains(&numbers[1]),
        "{second}"
    );
    assert!(!b.exists("#next-page"));

    // A filter by state, as a link one can share.
    b.goto("/cases?state=duty_to_warn");
    let only = b.text("#case-list");
    assert!(
        only.contains(&numbers[0]) && !only.contains(&numbers[1]),
        "{only}"
    );
    // The form writes the same URL.
    b.goto("/cases");
    b.script(
        "document.querySelector('#state').value = 'awaiting_determination';",
        vec![],
    );
    b.submit("#filters button");
    assert!(
        b.path().contains("state=awaiting_determination"),
        "{}",
        b.path()
    );
    let awaiting = b.text("#case-list");
    assert!(
        awaiting.contains(&numbers[1]) && !awaiting.contains(&numbers[0]),
        "{awaiting}"
    );
    // By number.
    b.goto(&format!("/cases?q={}", numbers[1]));
    let one = b.text("#case-list");
    assert!(
        one.contains("Case number 1") && !one.contains("Case number 2"),
        "{one}"
    );
    // By determination, element, owner and words of the title, together,
    // kept in the next page's link.
    b.goto("/cases?determination=duty_to_warn");
    let duty = b.text("#case-list");
    assert!(
        duty.contains(&numbers[0]) && !duty.contains(&numbers[1]),
        "{duty}"
    );
    b.goto("/cases?determination=undetermined&text=NUMBER%202");
    let words = b.text("#case-list");
    assert!(
        words.contains(&numbers[2]) && !words.contains(&numbers[1]),
        "{words}"
    );
    b.goto(&format!(
        "/cases?element={}&owner=analyst.ui&limit=1",
        CT.replace(' ', "%20")
    ));
    assert!(b.text("#case-list").contains(&numbers[2]));
    b.submit("#next-page");
    let path = b.path();
    assert!(
        path.contains("owner=analyst.ui") && path.contains("element=Counterterrorism"),
        "{path}"
    );
    assert!(b.text("#case-list").contains(&numbers[1]));
    b.goto("/cases?element=Nobody");
    assert!(b.exists("#no-cases"));
    b.goto("/cases?determination=maybe");
    assert!(
        b.text(".error").contains("no determination"),
        "{}",
        b.body()
    );

    // An hour after the decisions were due: the undetermined cases are
    // overdue, with how late (the determined one is due to be approved
    // a day later).
    srv.set_now("2023-12-27T10:00:00Z");
    b.login("analyst.ui", &password("analyst.ui"));
    let overdue = b.text("#overdue");
    assert!(overdue.contains("Overdue (2)"), "{overdue}");
    assert!(
        overdue.contains(&numbers[1]) && overdue.contains("1h"),
        "{overdue}"
    );
    assert!(!overdue.contains(&numbers[0]), "{overdue}");
    b.screenshot("dashboard-overdue");
    b.goto("/cases?overdue=1");
    let late = b.text("#case-list");
    assert!(
        late.contains(&numbers[1]) && late.contains("late"),
        "{late}"
    );
}

#[test]
fn a_delivery_officer_records_the_hops_of_an_approved_warning() {
    let d = Deployment::new();
    let srv = d.serve(NOW);
    let analyst = srv.account(
        "analyst.ui",
        &[Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let approver = srv.account(
        "approver.ui",
        &[Role::Approver],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    srv.account(
        "officer.ui",
        &[Role::DeliveryOfficer],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    // Up to the approval through the API.
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let n = srv.ok(&analyst, "POST", "/api/v1/reports", Some(report))["number"]
        .as_str()
        .unwrap()
        .to_owned();
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
    srv.ok(
        &analyst,
        "POST",
        &format!("{case}/warnings"),
        Some(json!({"text": tocsin::scenarios::KERMAN_WARNING})),
    );
    let sha = srv.ok(&analyst, "GET", &format!("{case}/warnings/1"), None)["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    srv.ok(
        &approver,
        "POST",
        &format!("{case}/warnings/1/approval"),
        Some(json!({"sha256": sha})),
    );

    let b = Browser::open(&srv, backend(&d));
    b.login("officer.ui", &password("officer.ui"));
    assert!(
        b.text("#waiting").contains("record the delivery"),
        "{}",
        b.body()
    );
    b.goto(&format!("/cases/{n}"));
    // A failure without its reason is refused, beside the form.
    b.script(
        "document.querySelector('#status-W1').value = 'failed';",
        vec![],
    );
    b.submit("#deliver-W1");
    assert!(b.text("#deliver-error").contains("fail"), "{}", b.body());
    // Hop 1 relayed, then hop 2 received: the warning is delivered.
    b.submit("#deliver-W1");
    assert!(
        b.text("#deliveries-W1").contains("hop 1: sent"),
        "{}",
        b.body()
    );
    b.script(
        "document.querySelector('#hop-W1').value = '2';\
         document.querySelector('#status-W1').value = 'received';\
         document.querySelector('#channel-W1').value = 'protecting_power';",
        vec![],
    );
    b.fill("#sender-W1", "Embassy of Switzerland in Tehran");
    b.fill("#receiver-W1", "Iranian Ministry of Foreign Affairs");
    b.fill("#tz-W1", "Asia/Tehran");
    b.submit("#deliver-W1");
    assert!(
        b.text("#deliveries-W1").contains("hop 2: received"),
        "{}",
        b.body()
    );
    assert_eq!(b.text("#case-state"), "delivered");

    // The recipient's response, then the outcome: the case closes.
    b.script(
        "document.querySelector('#response-W1').value = 'acknowledged';",
        vec![],
    );
    b.fill("#response-at-W1", "not a time");
    b.submit("#respond-W1");
    assert!(b.text("#respond-error").contains("at"), "{}", b.body());
    b.fill("#response-at-W1", NOW);
    b.script(
        "document.querySelector('#response-W1').value = 'acknowledged';",
        vec![],
    );
    b.fill(
        "#response-note-W1",
        "Receipt confirmed through the Swiss channel.",
    );
    b.submit("#respond-W1");
    assert!(
        b.text("#responses-W1").contains("acknowledged"),
        "{}",
        b.body()
    );
    b.script(
        "document.querySelector('#outcome-kind').value = 'no_event';",
        vec![],
    );
    b.fill(
        "#outcome-note",
        "The commemoration passed without an attack.",
    );
    b.submit("#record-outcome");
    assert!(
        b.text("#outcome-text").starts_with("no event"),
        "{}",
        b.body()
    );
    assert_eq!(b.text("#case-state"), "closed");
    assert!(!b.exists("#outcome-form"));
}

#[test]
fn a_waiver_is_requested_and_decided_by_another_approver() {
    let d = Deployment::new();
    let srv = d.serve(NOW);
    let analyst = srv.account(
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
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let n = srv.ok(&analyst, "POST", "/api/v1/reports", Some(report))["number"]
        .as_str()
        .unwrap()
        .to_owned();
    srv.ok(
        &analyst,
        "POST",
        &format!("/api/v1/cases/{n}/determinations"),
        Some(json!({})),
    );
    let b = Browser::open(&srv, backend(&d));
    b.login("analyst.ui", &password("analyst.ui"));
    b.goto(&format!("/cases/{n}"));
    // OTHER needs a legal review: refused, beside the form.
    b.script("document.querySelector('#ground').value = 'OTHER';", vec![]);
    b.fill("#waiver-reason", "Warning would expose an operation.");
    b.submit("#request-waiver");
    assert!(
        b.text("#waiver-error").contains("legal review"),
        "{}",
        b.body()
    );
    b.script("document.querySelector('#ground').value = 'W4';", vec![]);
    b.fill("#waiver-reason", "Warning would expose an operation.");
    b.submit("#request-waiver");
    assert_eq!(b.text("#case-state"), "waiver pending", "{}", b.body());
    // The requester may approve in general, but not this one.
    assert!(b.text("#waiver-1").contains("needs another approver"));
    b.fill("#decide-reason-1", "I agree with myself.");
    b.submit("#approve-waiver-1");
    assert!(
        b.text("#decide-error").contains("Needs another approver"),
        "{}",
        b.body()
    );
    assert_eq!(b.text("#case-state"), "waiver pending");
    b.logout();

    b.login("approver.ui", &password("approver.ui"));
    b.click("#nav-approvals");
    let inbox = b.text("#pending-waivers");
    assert!(inbox.contains("W4") && inbox.contains(&n), "{inbox}");
    b.submit("#pending-waivers a");
    b.fill(
        "#decide-reason-1",
        "The operation outweighs; review in 30 days.",
    );
    b.submit("#approve-waiver-1");
    assert_eq!(b.text("#case-state"), "waived", "{}", b.body());
    assert!(b.text("#waiver-1").contains("approved by approver.ui"));
}

#[test]
fn a_derived_report_is_marked_and_counts_as_no_new_source() {
    let d = Deployment::new();
    let srv = d.serve(NOW);
    let t = srv.account(
        "analyst.ui",
        &[Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let mut first: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    first["origin"] = json!("Wall Street Journal, 2023-12-25");
    let n = srv.ok(&t, "POST", "/api/v1/reports", Some(first.clone()))["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut again = first;
    again["title"] = json!("The same story, forwarded");
    srv.ok(
        &t,
        "POST",
        &format!("/api/v1/reports?case={n}"),
        Some(again),
    );
    let b = Browser::open(&srv, backend(&d));
    b.login("analyst.ui", &password("analyst.ui"));
    b.goto(&format!("/cases/{n}"));
    assert_eq!(
        b.text("#sources"),
        "1",
        "two reports of one origin are one source"
    );
    let derived = b.text("#reports .report.derived");
    assert!(
        derived.contains("The same story, forwarded") && derived.contains("derived"),
        "{derived}"
    );
    assert!(derived.contains("re-states"), "{derived}");
}

/// The README's tour on the demo's own data: the Kerman case as
/// `tocsin demo` walks it, read by its people.
#[test]
fn the_readme_tour_on_the_demo_s_kerman_case() {
    use tocsin::demo::DEMO_PASSWORD;
    use tocsin::scenarios::{Cast, PEOPLE, run_kerman};
    let d = Deployment::new();
    let srv = d.serve_with(
        "2023-12-01T09:00:00Z",
        tocsin_server::ServerConfig {
            jobs: None,
            ..tocsin::demo::demo_config()
        },
    );
    let (svc, clock) = (srv.svc.clone(), srv.clock.clone());
    let number = srv.rt.block_on(async move {
        let cast = Cast::enrol(&svc, PEOPLE, Some(DEMO_PASSWORD))
            .await
            .unwrap();
        let run = run_kerman(&svc, &clock, &cast, &mut |_: &str| {})
            .await
            .unwrap();
        let p = cast.get("analyst.kim").unwrap();
        svc.read_case(p, run.case_id).await.unwrap().number.unwrap()
    });
    let b = Browser::open(&srv, backend(&d));
    b.goto("/");
    assert!(b.text("#demo-accounts").contains("analyst.kim"));
    b.login("analyst.kim", DEMO_PASSWORD);
    assert_eq!(b.text("#who-name"), "analyst.kim");
    b.goto("/cases");
    let list = b.text("#case-list");
    assert!(list.contains(&number.to_string()));
    // Warned on 2 January through Switzerland, the window opening on the 3rd.
    assert!(list.contains("in time,"), "{list}");
    b.goto(&format!("/cases/{number}"));
    assert_eq!(b.text("#verdict"), "duty to warn");
    let w1 = b.text("#warning-W1");
    assert!(
        w1.contains("Switzerland") && w1.contains("approved"),
        "{w1}"
    );
    assert!(b.text("#deliveries-W1").contains("hop 2: received"), "{w1}");
    assert!(b.exists("#outcome-text"), "{}", b.body());
    // Closed: nothing more to do on it, so no form is offered.
    assert_eq!(b.text("#case-state"), "closed");
    for form in [
        "#assess-form",
        "#determine-form",
        "#draft-form",
        "#waiver-form",
    ] {
        assert!(!b.exists(form), "{form} on a closed case");
    }
    b.screenshot("demo-kerman-case");
    // The case as a STIX 2.1 bundle, from the page's link, with the session.
    let href = b.script(
        "return document.querySelector('#stix-export').getAttribute('href');",
        vec![],
    );
    b.goto(href.as_str().expect("the STIX link"));
    let bundle = b.body();
    assert!(
        bundle.contains("bundle--") && bundle.contains("ISIS-Khorasan"),
        "{bundle}"
    );
    assert!(
        !bundle.contains("CS-4471"),
        "a source id left in the bundle"
    );
    b.goto("/");
    b.logout();
    b.login("auditor.ng", DEMO_PASSWORD);
    b.click("#nav-audit");
    b.submit("#verify-ledger");
    assert!(b.text("#verify-result").starts_with("OK: "), "{}", b.body());
}

#[test]
fn the_intake_form_names_the_wrong_field_and_keeps_what_was_typed() {
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
    b.click("#main a[href='/reports/new']");
    assert_eq!(b.path(), "/reports/new");
    b.fill("#title", "Bombing plot against the Kerman commemoration");
    b.fill(
        "#narrative",
        "Operatives plan a bombing at the commemoration at the Kerman cemetery on 3 January 2024.",
    );
    b.click("input[name=harm_types][value=intentional_killing]");
    b.script(
        "document.querySelector('#target_kind').value = 'gathering';",
        vec![],
    );
    b.fill("#victim_description", "Civilians at the commemoration");
    b.fill("#victim_nationality", "IR");
    b.fill("#location_description", "Kerman Martyrs' Cemetery");
    b.fill("#location_country", "IR");
    b.fill("#window_not_before", "2024-01-03T00:00:00+03:30");
    b.fill("#window_not_after", "2024-01-04T00:00:00+03:30");
    b.fill("#window_time_zone", "Asia/Tehran");
    b.fill("#grade", "Z9");
    b.fill("#grading_reason", "Usually reliable source.");
    b.script(
        "for (const [a, v] of [['who','partial'],['where','present'],['when','partial'],['how','present']]) \
         document.querySelector('#spec-' + a).value = v;",
        vec![],
    );
    b.fill("#classification", "SECRET");
    b.fill("#compartments", "HCS");
    b.submit("#submit-report");
    // The grade is named beside its field; everything typed is still there.
    assert!(!b.text("#grade-error").is_empty(), "{}", b.body());
    assert!(!b.exists("#title-error"));
    let kept = b.script("return document.querySelector('#narrative').value;", vec![]);
    assert!(
        kept.as_str().unwrap_or("").contains("Kerman cemetery"),
        "{kept}"
    );
    let harm = b.script(
        "return document.querySelector('input[name=harm_types][value=intentional_killing]').checked;",
        vec![],
    );
    assert_eq!(harm, json!(true));
    b.fill("#grade", "B2");
    b.submit("#submit-report");
    assert!(b.path().starts_with("/cases/2023-"), "{}", b.body());
    assert_eq!(b.text("#case-state"), "awaiting determination");
    b.submit("#determine");
    assert_eq!(b.text("#verdict"), "duty to warn", "{}", b.body());
}

#[test]
fn a_report_uploaded_as_a_json_file_opens_a_case_and_a_bad_file_is_named() {
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
    // No file chosen: said beside the file field.
    b.submit("#upload-report");
    assert!(
        b.text("#report_file-error").contains("choose a JSON file"),
        "{}",
        b.body()
    );
    // A file that is not a report: the error beside the pasted JSON, with
    // the file's text there to fix.
    let bad = d.file("bad-report.json", "{\"title\": \"no more than this\"}");
    b.choose_file("#report_file", &bad);
    b.submit("#upload-report");
    assert!(!b.text("#report_json-error").is_empty(), "{}", b.body());
    let kept = b.script(
        "return document.querySelector('#report_json').value;",
        vec![],
    );
    assert!(
        kept.as_str().unwrap_or("").contains("no more than this"),
        "{kept}"
    );
    // The Kerman report as a file: a new case.
    let good = d.file("kerman-report.json", tocsin::scenarios::KERMAN_REPORT);
    b.goto("/reports/new");
    b.choose_file("#report_file", &good);
    b.submit("#upload-report");
    assert!(b.path().starts_with("/cases/2023-"), "{}", b.body());
    assert_eq!(b.text("#case-state"), "awaiting determination");
}

#[test]
fn an_analyst_re_marks_a_source_re_assesses_and_hands_the_case_off() {
    let d = Deployment::new();
    let srv = d.serve(NOW);
    let t = srv.account(
        "analyst.ui",
        &[Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    srv.account(
        "analyst.two",
        &[Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let mut first: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    // The same words, no origin named: the detector calls it derived.
    first["title"] = json!("The first report");
    let n = srv.ok(&t, "POST", "/api/v1/reports", Some(first.clone()))["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut again = first;
    again["title"] = json!("The same story, forwarded");
    srv.ok(
        &t,
        "POST",
        &format!("/api/v1/reports?case={n}"),
        Some(again),
    );
    srv.ok(
        &t,
        "POST",
        &format!("/api/v1/cases/{n}/determinations"),
        Some(json!({})),
    );
    let b = Browser::open(&srv, backend(&d));
    b.login("analyst.ui", &password("analyst.ui"));
    b.goto(&format!("/cases/{n}"));
    assert_eq!(b.text("#sources"), "1");
    // The analyst knows better than the detector: the second is independent.
    b.fill(
        "#independence-reason-2",
        "A second journalist with their own source.",
    );
    b.submit("#mark-independence-2");
    assert_eq!(b.text("#sources"), "2", "{}", b.body());
    // Re-assess: back to awaiting a determination.
    b.fill(
        "#reassess-reason",
        "A second independent source changes the picture.",
    );
    b.submit("#reassess");
    assert_eq!(
        b.text("#case-state"),
        "awaiting determination",
        "{}",
        b.body()
    );
    // Hand off: an unknown owner is refused beside the form, then it goes.
    b.fill("#new-owner", "nobody.here");
    b.fill("#handoff-reason", "Shift change.");
    b.submit("#hand-off");
    assert!(
        b.text("#handoff-error").contains("nobody.here"),
        "{}",
        b.body()
    );
    b.fill("#new-owner", "analyst.two");
    b.fill("#handoff-reason", "Shift change.");
    b.submit("#hand-off");
    assert!(
        b.text("#case-facts").contains("analyst.two"),
        "{}",
        b.body()
    );
}
