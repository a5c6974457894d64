//! The web UI's audit and admin pages in a real browser ([`crate::browser`])
//! against the real server on a fresh deployment: verifying the ledger in
//! the background until the page says it verified, the checkpoint and an
//! inclusion proof as downloads, accounts made and changed by an admin,
//! notification targets, a registry imported from an uploaded file, the
//! policy; and the refusals: a non-admin at `/admin`, a form without its
//! CSRF token.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tocsin_domain::Role;

use crate::browser::{Browser, backend};
use crate::support::{Deployment, Server};

const NOW: &str = "2023-12-26T10:00:00Z";
const CT: &str = "Counterterrorism Collection Element";

/// The password `Server::account` gives an account.
fn password(name: &str) -> String {
    format!("{name}-password")
}

/// What [`fetch`] answers.
struct Fetched {
    status: u16,
    disposition: String,
    refresh: String,
    body: String,
}

/// Fetches `path` with the session's cookie, from a document of the same
/// origin that has no page policy (the pages' Content-Security-Policy
/// allows no script to connect), then goes back to the page it was on.
fn fetch(b: &Browser, path: &str) -> Fetched {
    let back = b.path();
    b.goto("/healthz");
    let v = b.script(
        "return fetch(arguments[0]).then(async r => [r.status, r.headers.get('content-disposition') || '', r.headers.get('refresh') || '', await r.text()]);",
        vec![json!(path)],
    );
    b.goto(&back);
    let s = |i: usize| v[i].as_str().unwrap_or_default().to_owned();
    Fetched {
        status: v[0].as_u64().unwrap_or(0) as u16,
        disposition: s(1),
        refresh: s(2),
        body: s(3),
    }
}

/// `n` refusals recorded at once on the access stream (group commit makes
/// them a few appends): a ledger larger than one page of verification.
fn many_events(srv: &Server, n: usize) {
    let svc = srv.svc.clone();
    srv.rt.block_on(async move {
        let p = svc.operator().await.unwrap();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..n {
            let (svc, p) = (svc.clone(), p.clone());
            set.spawn(async move {
                svc.refuse(&p, "bulk", None, &format!("filling the ledger ({i})"))
                    .await
            });
            if set.len() >= 256 {
                set.join_next().await;
            }
        }
        while set.join_next().await.is_some() {}
    });
}

/// Reloads the page until `css` exists (a background run finishing).
#[track_caller]
fn wait_for(b: &Browser, path: &str, css: &str, seen_running: &mut bool) {
    let started = Instant::now();
    loop {
        b.goto(path);
        if b.exists(css) {
            return;
        }
        if b.exists("#verify-progress") || b.exists("#import-progress") {
            *seen_running = true;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{css} never appeared on {path}: {}",
            b.body()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_audit_page_verifies_in_the_background_and_hands_out_the_checkpoint_and_proofs() {
    let d = Deployment::new();
    let srv = d.serve(NOW);
    let auditor = srv.account(
        "auditor.ui",
        &[Role::Auditor],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let analyst = srv.account(
        "analyst.ui",
        &[Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    srv.ok(&analyst, "POST", "/api/v1/reports", Some(report));
    // More than one page (4096 leaves) of verification.
    many_events(&srv, 5000);
    let size = srv.ok(&auditor, "GET", "/api/v1/audit/checkpoint", None)["size"]
        .as_u64()
        .unwrap();
    assert!(size > 5000, "{size}");

    let b = Browser::open(&srv, backend(&d));
    b.login("auditor.ui", &password("auditor.ui"));
    b.goto("/audit");
    assert_eq!(b.text("#ledger-size"), size.to_string());
    // The access log is a page at a time.
    assert!(b.exists("#access-next"), "{}", b.body());
    b.click("#access-next");
    assert!(b.path().starts_with("/audit?after="), "{}", b.path());
    assert!(b.exists("#access-first"));

    // Verify: the job runs, the page reloads itself, then says what it found.
    b.goto("/audit");
    b.submit("#verify-ledger");
    assert!(b.path().starts_with("/audit"), "{}", b.path());
    let mut seen_running = false;
    // The page reloads itself while it runs: read it without the DOM.
    let page = fetch(&b, "/audit");
    assert_eq!(page.status, 200);
    if page.body.contains("id=\"verify-progress\"") {
        seen_running = true;
        assert!(
            page.body.contains("Verified ") && page.body.contains(&format!("of {size} leaves")),
            "{}",
            page.body
        );
        assert_eq!(page.refresh, "2");
        assert!(page.body.contains("id=\"verify-quiet\""));
        assert!(
            fetch(&b, "/audit?quiet=1").refresh.is_empty(),
            "asked to stay still"
        );
        // A second request shows the running one rather than start another.
        assert!(!page.body.contains("id=\"verify-ledger\""));
    } else {
        assert!(page.body.contains("id=\"verify-result\""), "{}", page.body);
        assert!(page.refresh.is_empty(), "a finished run stops reloading");
    }
    wait_for(&b, "/audit", "#verify-result", &mut seen_running);
    eprintln!("the verification's progress was seen: {seen_running}");
    let result = b.text("#verify-result");
    assert!(
        result.starts_with(&format!("OK: verified {size} events")),
        "{result}"
    );
    assert!(b.text("#verify-status").contains("started by auditor.ui"));
    b.screenshot("audit-verified");

    // The signed checkpoint as a file.
    let file = fetch(&b, "/audit/checkpoint");
    assert_eq!(file.status, 200);
    assert!(
        file.disposition.starts_with("attachment;") && file.disposition.contains(".txt"),
        "{}",
        file.disposition
    );
    let api = srv.ok(&auditor, "GET", "/api/v1/audit/checkpoint", None);
    assert_eq!(file.body, api["checkpoint"].as_str().unwrap());

    // The inclusion proof of a position, shown and as the API's JSON.
    b.goto("/audit");
    b.fill("#proof-position", "3");
    b.submit("#proof-lookup");
    assert_eq!(b.path(), "/audit/proof?position=3");
    assert_eq!(b.text("#proof-leaf-position"), "3");
    let shown_size: u64 = b.text("#proof-size").parse().unwrap();
    let download = fetch(&b, "/audit/proof.json?position=3");
    assert_eq!(download.status, 200);
    assert!(
        download.disposition.contains(".json"),
        "{}",
        download.disposition
    );
    let file: Value = serde_json::from_str(&download.body).unwrap();
    let api = srv.ok(
        &auditor,
        "GET",
        &format!("/api/v1/audit/proofs/inclusion?position=3&size={shown_size}"),
        None,
    );
    assert_eq!(file, api);
    assert_eq!(b.text("#proof-leaf"), api["leaf_hash"].as_str().unwrap());
    assert_eq!(b.text("#proof-root"), api["root"].as_str().unwrap());
    assert_eq!(
        b.text("#proof-path").lines().count(),
        api["proof"].as_array().unwrap().len()
    );
    // A position that is not a number is named beside the field, kept.
    b.goto("/audit/proof?position=three");
    assert!(b.text("#proof-error").contains("'three'"), "{}", b.body());
    // One beyond the ledger is refused as the API refuses it.
    b.goto(&format!("/audit/proof?position={}", size + 10));
    assert!(b.exists("#proof-error"), "{}", b.body());
    assert!(!b.exists("#proof-result"));

    // Not an auditor: the same refusal as the API's 403, as a page.
    b.logout();
    b.login("analyst.ui", &password("analyst.ui"));
    for page in ["/audit", "/audit/checkpoint", "/audit/proof?position=1"] {
        b.goto(page);
        assert_eq!(b.text("#error-title"), "Forbidden", "{page}: {}", b.body());
    }
}

#[test]
fn an_admin_creates_and_changes_an_account_and_a_non_admin_is_refused() {
    let d = Deployment::new();
    let srv = d.serve(NOW);
    srv.account("admin.ui", &[Role::Admin], &[CT], "TOP SECRET", &[]);
    let analyst = srv.account(
        "analyst.ui",
        &[Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let b = Browser::open(&srv, backend(&d));

    // A non-admin at /admin: the refusal page, answered 403.
    b.login("analyst.ui", &password("analyst.ui"));
    b.goto("/admin");
    assert_eq!(b.text("#error-title"), "Forbidden", "{}", b.body());
    assert!(b.text("#error-detail").contains("manage_accounts"));
    assert_eq!(fetch(&b, "/admin").status, 403);
    b.logout();

    b.login("admin.ui", &password("admin.ui"));
    // Elements and clearance levels: a level an account holds cannot go,
    // and the form keeps what was typed.
    b.goto("/admin/elements");
    b.fill("#element-name", "Liaison Office");
    b.fill("#element-description", "our liaison with foreign services");
    b.submit("#register-element");
    assert!(
        b.text("#elements-table").contains("Liaison Office"),
        "{}",
        b.body()
    );
    b.fill("#levels-input", "UNCLASSIFIED, SECRET");
    b.submit("#set-levels");
    assert!(b.exists("#levels-error"), "{}", b.body());
    assert_eq!(
        b.script(
            "return document.querySelector('#levels-input').value;",
            vec![]
        ),
        json!("UNCLASSIFIED, SECRET")
    );
    b.fill(
        "#levels-input",
        "UNCLASSIFIED, CONFIDENTIAL, SECRET, TOP SECRET, COSMIC",
    );
    b.submit("#set-levels");
    assert!(b.text("#levels-list").contains("COSMIC"), "{}", b.body());

    b.goto("/admin");
    assert!(b.exists("#accounts-row-admin\\.ui"), "{}", b.body());
    // A bad name: named beside its field, and nothing typed is lost.
    b.fill("#account-name", "Not A Name!");
    b.fill("#display-name", "Rita Approver");
    b.click("#role-approver");
    b.click("#role-analyst");
    b.script(
        "document.querySelector('#clearance').value = 'SECRET';",
        vec![],
    );
    b.fill("#compartments", "HCS");
    b.click("#element-1");
    b.submit("#create-account");
    assert!(b.exists("#account-name-error"), "{}", b.body());
    let kept = b.script(
        "return [document.querySelector('#display-name').value, document.querySelector('#role-approver').checked, document.querySelector('#clearance').value, document.querySelector('#compartments').value, document.querySelector('#element-1').checked];",
        vec![],
    );
    assert_eq!(kept, json!(["Rita Approver", true, "SECRET", "HCS", true]));
    b.fill("#account-name", "rita.approver");
    b.submit("#create-account");
    assert_eq!(b.path(), "/admin/accounts/rita.approver", "{}", b.body());
    assert_eq!(b.text("#account-roles"), "analyst, approver");
    assert_eq!(b.text("#account-clearance"), "SECRET (HCS)");
    assert_eq!(b.text("#account-elements"), CT);

    // Change the roles; then a one-time enrolment secret; then disable.
    b.click("#role-analyst");
    b.submit("#change-account");
    assert!(b.exists("#spec-saved"), "{}", b.body());
    assert_eq!(b.text("#account-roles"), "approver");
    b.fill("#status-reason", "left the unit");
    b.submit("#disable-account");
    assert_eq!(b.text("#account-status"), "disabled");
    // A reason of nothing but blanks: refused beside the form.
    b.fill("#status-reason", "   ");
    b.submit("#enable-account");
    assert!(b.exists("#status-error"), "{}", b.body());
    b.fill("#status-reason", "back");
    b.submit("#enable-account");
    assert_eq!(b.text("#account-status"), "enabled");
    b.submit("#issue-enrolment");
    let secret = b.text("#enrolment-secret");
    assert!(!secret.is_empty());
    // An account's API token, revoked from its page.
    b.goto("/admin/accounts/analyst.ui");
    assert_eq!(
        srv.call("GET", "/api/v1/cases", Some(&analyst), None)
            .status,
        200
    );
    b.submit("#revoke-token-1");
    assert!(b.text("#tokens-table").contains("revoked"), "{}", b.body());
    assert_eq!(
        srv.call("GET", "/api/v1/cases", Some(&analyst), None)
            .status,
        401
    );

    // Nobody changes their own privileges: the service's refusal, beside the form.
    b.goto("/admin/accounts/admin.ui");
    b.click("#role-auditor");
    b.submit("#change-account");
    assert_eq!(b.text("#error-title"), "Forbidden", "{}", b.body());

    // The admin never holds the person's password: the enrolment secret
    // opens only the page to set one's own.
    b.logout();
    b.login("rita.approver", &secret);
    assert_eq!(b.path(), "/password", "{}", b.body());
    b.goto("/approvals");
    assert_eq!(b.path(), "/password");
}

#[test]
fn forms_without_the_csrf_token_are_refused_on_the_admin_pages() {
    let d = Deployment::new();
    let srv = d.serve(NOW);
    srv.account("admin.ui", &[Role::Admin], &[CT], "TOP SECRET", &[]);
    let b = Browser::open(&srv, backend(&d));
    b.login("admin.ui", &password("admin.ui"));
    // A target form whose token was taken out, then an upload's.
    b.goto("/admin/notification-targets");
    b.fill("#target-name", "ops-hook");
    b.fill("#target-url", "https://hooks.example.org/tocsin");
    b.script(
        "document.querySelector('#target-form input[name=csrf]').value = 'forged';",
        vec![],
    );
    b.submit("#add-target-submit");
    assert_eq!(b.text("#error-title"), "Missing or wrong CSRF token");
    b.goto("/admin/notification-targets");
    assert!(b.exists("#no-targets"), "nothing was added");
    let file = d.file(
        "dir.csv",
        "id,name,aliases,kind,country\np1,Jane Doe,,person,GB\n",
    );
    b.goto("/admin/registries");
    b.fill("#import-name", "staff");
    b.fill("#import-file", file.to_str().unwrap());
    b.script(
        "document.querySelector('#import-form input[name=csrf]').remove();",
        vec![],
    );
    b.submit("#import-submit");
    assert_eq!(b.text("#error-title"), "Missing or wrong CSRF token");
    b.goto("/admin/registries");
    assert!(b.exists("#no-registries"), "nothing was imported");
}

#[test]
fn an_admin_manages_targets_imports_a_registry_and_reads_the_policy() {
    let d = Deployment::new();
    let srv = d.serve(NOW);
    let admin = srv.account("admin.ui", &[Role::Admin], &[CT], "TOP SECRET", &[]);
    srv.account(
        "analyst.ui",
        &[Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let b = Browser::open(&srv, backend(&d));
    b.login("admin.ui", &password("admin.ui"));

    // Notification targets: a bad URL is named and kept; add; remove.
    b.goto("/admin/notification-targets");
    b.fill("#target-name", "ops-hook");
    b.fill("#target-url", "ftp://nowhere");
    b.submit("#add-target-submit");
    assert!(b.exists("#target-url-error"), "{}", b.body());
    assert_eq!(
        b.script(
            "return document.querySelector('#target-name').value;",
            vec![]
        ),
        json!("ops-hook")
    );
    b.fill("#target-url", "https://hooks.example.org/tocsin");
    b.fill("#target-secret", "a-secret-of-sixteen-or-more");
    b.submit("#add-target-submit");
    assert!(
        b.text("#target-ops-hook").contains("hooks.example.org"),
        "{}",
        b.body()
    );
    b.click("#channel-email");
    b.fill("#target-name", "duty-desk");
    b.fill("#target-to", "desk@example.org, night@example.org");
    b.submit("#add-target-submit");
    assert!(b.text("#target-duty-desk").contains("night@example.org"));
    let api = srv.ok(&admin, "GET", "/api/v1/notification-targets", None);
    assert_eq!(api["items"].as_array().unwrap().len(), 2, "{api}");
    assert_eq!(api["items"][1]["signed"], json!(true), "{api}");
    b.submit("#remove-target-ops-hook");
    assert!(!b.exists("#target-ops-hook"));
    let api = srv.ok(&admin, "GET", "/api/v1/notification-targets", None);
    assert_eq!(api["items"].as_array().unwrap().len(), 1, "{api}");

    // A registry from an uploaded file, in the background, to its result.
    let mut csv = String::from("id,name,aliases,kind,country\n");
    for i in 0..2000 {
        csv.push_str(&format!("p{i},Person Number{i} Example,,person,GB\n"));
    }
    let file = d.file("staff.csv", &csv);
    b.goto("/admin/registries");
    b.fill("#import-name", "Bad Name");
    b.fill("#import-file", file.to_str().unwrap());
    b.submit("#import-submit");
    assert!(b.exists("#import-name-error"), "{}", b.body());
    assert_eq!(
        b.script(
            "return document.querySelector('#import-name').value;",
            vec![]
        ),
        json!("Bad Name")
    );
    b.fill("#import-name", "staff");
    b.fill("#import-file", file.to_str().unwrap());
    b.submit("#import-submit");
    let mut seen_running = false;
    wait_for(&b, "/admin/registries", "#import-result", &mut seen_running);
    let result = b.text("#import-result");
    assert!(
        result.starts_with("Imported registry staff version 1: 2000 entries"),
        "{result}"
    );
    assert_eq!(b.text("#registry-staff .entries"), "2000");
    let api = srv.ok(&admin, "GET", "/api/v1/registries", None);
    assert_eq!(api["items"][0]["entries"], json!(2000), "{api}");
    // A malformed file: the run says so, and the version stays.
    let bad = d.file(
        "bad.csv",
        "id,name,aliases,kind,country\np1,Jane,,spaceship,GB\n",
    );
    b.fill("#import-name", "staff");
    b.fill("#import-file", bad.to_str().unwrap());
    b.submit("#import-submit");
    wait_for(
        &b,
        "/admin/registries",
        "#import-result.error",
        &mut seen_running,
    );
    assert!(b.text("#import-result").contains("bad.csv"), "{}", b.body());
    assert_eq!(b.text("#registry-staff .entries"), "2000");

    // The relations and the directory are shown, and replaced as JSON.
    b.goto("/admin/reference");
    assert!(
        b.text("#relations-table").contains("Switzerland"),
        "{}",
        b.body()
    );
    assert!(b.exists("#directory-table tbody tr"));
    b.click("#relations summary");
    b.paste(
        "#relations-document",
        "{\"our_state\": \"US\", \"countries\": {\"US\": {\"relation\": \"direct\"}}}",
    );
    b.submit("#set-relations");
    assert!(b.exists("#relations-error"), "{}", b.body());
    assert!(
        b.script(
            "return document.querySelector('#relations-document').value;",
            vec![]
        )
        .as_str()
        .unwrap()
        .contains("\"US\": {\"relation\""),
        "what was typed is kept"
    );
    b.paste(
        "#relations-document",
        "{\"our_state\": \"US\", \"countries\": {\"IR\": {\"relation\": \"no_relations\", \"protecting_power\": \"SE\"}}}",
    );
    b.submit("#set-relations");
    assert!(b.exists("#relations-saved"), "{}", b.body());
    assert!(b.text("#relations-table").contains("Sweden"));

    // The policy, read only.
    b.goto("/admin/policy");
    let api = srv.ok(&admin, "GET", "/api/v1/policy", None);
    assert_eq!(b.text("#policy-id"), api["id"].as_str().unwrap());
    assert_eq!(b.text("#policy-sha256"), api["sha256"].as_str().unwrap());
    assert!(b.text("#policy-source").contains("[policy]"));
    assert!(!b.exists("main form"), "nothing to change here");
    b.screenshot("admin-policy");

    // An analyst sees the directory but is offered no form, and may not
    // see the targets.
    b.logout();
    b.login("analyst.ui", &password("analyst.ui"));
    b.goto("/admin/reference");
    assert!(!b.exists("#relations-form"));
    b.goto("/admin/notification-targets");
    assert_eq!(b.text("#error-title"), "Forbidden");
}
