//! Regression tests for the holes a hostile tester found (issue 11, "Trust
//! nobody"): each test failed on the code before its fix.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::Digest;
use tocsin_domain::Role;

use crate::support::{Deployment, Server};

const EL: &str = "Counterterrorism Collection Element";

fn kerman() -> Value {
    serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap()
}

/// Sends `n` logins at once; returns their statuses.
fn concurrent_logins(srv: &Server, attempts: Vec<(String, String)>) -> Vec<u16> {
    let url = srv.url.clone();
    srv.rt.block_on(async {
        let http = reqwest::Client::new();
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(attempts.len()));
        let mut set = tokio::task::JoinSet::new();
        for (name, pw) in attempts {
            let (http, url, start) = (http.clone(), url.clone(), start.clone());
            set.spawn(async move {
                start.wait().await;
                http.post(format!("{url}/api/v1/session"))
                    .json(&json!({"name": name, "password": pw}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.unwrap());
        }
        out
    })
}

#[test]
fn parallel_logins_check_at_most_the_limit() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    srv.account("kim", &[Role::Analyst], &[EL], "SECRET", &[]);
    // 60 wrong passwords and the right one, all at once, for one account.
    let mut attempts: Vec<(String, String)> = (0..60)
        .map(|i| ("kim".to_owned(), format!("wrong password {i}")))
        .collect();
    attempts.push(("kim".into(), "kim-password".into()));
    let statuses = concurrent_logins(&srv, attempts);
    assert_eq!(statuses.len(), 61);
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    let checked = statuses.iter().filter(|s| **s != 429).count();
    // The default limit is 5 failures per account: at most 5 wrong
    // passwords are checked. The right one, if it was checked, takes its
    // count back (a success is not a failure), so one more may be checked
    // after it, and it is still a failure counted.
    assert!(
        wrong <= 5 && checked <= 6,
        "{checked} of 61 concurrent logins were checked, {wrong} wrong: {statuses:?}"
    );
    // Per address: 61 names at once from one address, at most 20 checked.
    srv.set_now("2023-12-26T11:00:00Z");
    let attempts = (0..61)
        .map(|i| (format!("name{i}"), "wrong password here".to_owned()))
        .collect();
    let statuses = concurrent_logins(&srv, attempts);
    let checked = statuses.iter().filter(|s| **s != 429).count();
    assert!(
        checked <= 20,
        "{checked} of 61 concurrent logins from one address were checked"
    );
}

#[test]
fn metrics_need_a_credential() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let col = srv.account("col", &[Role::Collector], &[EL], "TOP SECRET", &["HCS"]);
    let admin = srv.account("adm", &[Role::Admin], &["Administration"], "SECRET", &[]);
    assert_eq!(srv.call("GET", "/metrics", None, None).status, 401);
    assert_eq!(srv.call("GET", "/metrics", Some(&col), None).status, 403);
    let mut restricted = kerman();
    restricted["handling"]["existence_restricted"] = json!(true);
    srv.ok(&col, "POST", "/api/v1/reports", Some(restricted));
    let m = srv.call("GET", "/metrics", Some(&admin), None);
    assert_eq!(m.status, 200);
    assert!(
        m.body
            .as_str()
            .unwrap()
            .contains("tocsin_cases{state=\"awaiting_determination\"} 1"),
        "{:?}",
        m.body
    );
}

fn quick_timeouts() -> tocsin_server::ServerConfig {
    tocsin_server::ServerConfig {
        jobs: None,
        header_timeout: Duration::from_millis(500),
        body_timeout: Duration::from_millis(500),
        max_connections: 8,
        ..Default::default()
    }
}

fn connect(srv: &Server) -> TcpStream {
    let s = TcpStream::connect(srv.url.trim_start_matches("http://")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Reads until the server closes the connection (or 5 s pass): what it
/// sent, and how long it took.
fn read_to_close(mut s: TcpStream) -> (String, Duration, bool) {
    let t = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break false;
            }
            Err(_) => break true,
        }
    };
    (
        String::from_utf8_lossy(&out).into_owned(),
        t.elapsed(),
        closed,
    )
}

#[test]
fn idle_and_half_sent_requests_are_cut_off() {
    let d = Deployment::new();
    let srv = d.serve_with("2023-12-26T10:00:00Z", quick_timeouts());
    // Headers never finished.
    let mut half = connect(&srv);
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    // A connection that never says anything.
    let idle = connect(&srv);
    // A body that never arrives in full.
    let mut body = connect(&srv);
    body.write_all(
        b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":",
    )
    .unwrap();
    // A half-sent body on a route that refuses before reading it.
    let mut refused = connect(&srv);
    refused
        .write_all(
            b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        )
        .unwrap();
    // A keep-alive connection, idle after its first request.
    let mut kept = connect(&srv);
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    for (what, s) in [
        ("half-sent headers", half),
        ("idle", idle),
        ("half-sent body", body),
        ("half-sent body refused", refused),
        ("idle keep-alive", kept),
    ] {
        let (_, took, closed) = read_to_close(s);
        assert!(
            closed,
            "a connection with {what} was still open after {took:?}"
        );
        assert!(
            took < Duration::from_secs(4),
            "{what}: closed after {took:?}"
        );
    }
}

#[test]
fn connections_beyond_the_limit_are_refused() {
    let d = Deployment::new();
    let srv = d.serve_with(
        "2023-12-26T10:00:00Z",
        tocsin_server::ServerConfig {
            header_timeout: Duration::from_secs(30),
            ..quick_timeouts()
        },
    );
    // Fill every slot with a connection that sends nothing.
    let held: Vec<TcpStream> = (0..8).map(|_| connect(&srv)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut s = connect(&srv);
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (answer, took, _) = read_to_close(s);
    assert!(
        answer.starts_with("HTTP/1.1 503"),
        "the connection over the limit got {answer:?} after {took:?}"
    );
    assert!(answer.contains("application/problem+json"), "{answer}");
    drop(held);
    // Once they are gone the server answers again.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(srv.call("GET", "/healthz", None, None).status, 200);
}

#[test]
fn report_markings_are_limited_to_what_the_submitter_holds() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let low = srv.account(
        "col.low",
        &[Role::Collector],
        &[EL],
        "CONFIDENTIAL",
        &["HCS"],
    );
    let mut r = kerman();
    r["handling"]["classification"] = json!("TOP SECRET");
    let a = srv.call("POST", "/api/v1/reports", Some(&low), Some(r));
    assert_eq!(a.status, 422, "{:?}", a.body);
    assert_eq!(a.body["field"], "handling.classification", "{:?}", a.body);
    let col = srv.account("col", &[Role::Collector], &[EL], "TOP SECRET", &["HCS"]);
    let mut r = kerman();
    r["handling"]["compartments"] = json!(["HCS", "MADE-UP"]);
    let a = srv.call("POST", "/api/v1/reports", Some(&col), Some(r));
    assert_eq!(a.status, 422, "{:?}", a.body);
    assert_eq!(a.body["field"], "handling.compartments", "{:?}", a.body);
}

#[test]
fn a_join_that_would_hide_the_case_from_its_owner_is_refused() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let col = srv.account("col", &[Role::Collector], &[EL], "TOP SECRET", &["HCS"]);
    // A collector who holds a compartment the case's owner does not.
    let odd = srv.account(
        "col.odd",
        &[Role::Collector],
        &[EL],
        "TOP SECRET",
        &["HCS", "GAMMA"],
    );
    let case = srv.ok(&col, "POST", "/api/v1/reports", Some(kerman()))["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut r = kerman();
    r["title"] = json!("More on the same threat");
    r["handling"]["compartments"] = json!(["HCS", "GAMMA"]);
    r["handling"]["existence_restricted"] = json!(true);
    let a = srv.call(
        "POST",
        &format!("/api/v1/reports?case={case}"),
        Some(&odd),
        Some(r),
    );
    assert_eq!(a.status, 422, "{:?}", a.body);
    // The owner still sees the case.
    srv.ok(&col, "GET", &format!("/api/v1/cases/{case}"), None);
}

#[test]
fn query_cursors_beyond_the_range_are_bad_requests() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let t = srv.account("kim", &[Role::Analyst], &[EL], "TOP SECRET", &["HCS"]);
    for after in ["9223372036854775808", "18446744073709551615"] {
        let a = srv.call(
            "GET",
            &format!("/api/v1/cases?after={after}"),
            Some(&t),
            None,
        );
        assert_eq!(a.status, 400, "after={after}: {:?}", a.body);
    }
}

#[test]
fn directory_names_that_cannot_be_exported_are_refused() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let admin = srv.account("adm", &[Role::Admin], &["Administration"], "SECRET", &[]);
    let dir = srv.ok(&admin, "GET", "/api/v1/reference/directory", None);
    for bad in [
        "The \"Special\" Section",
        "Embassy security \u{202E}eciffo",
        "Venue\u{2066} security",
    ] {
        let mut changed = dir.clone();
        changed["recipient"][0]["name"] = json!(bad);
        let a = srv.call(
            "PUT",
            "/api/v1/reference/directory",
            Some(&admin),
            Some(changed),
        );
        assert_eq!(a.status, 422, "{bad:?} was accepted: {:?}", a.body);
    }
}

#[test]
fn an_idempotent_replay_is_keyed_on_the_whole_request() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let t = srv.account("col", &[Role::Collector], &[EL], "TOP SECRET", &["HCS"]);
    let other = srv.ok(&t, "POST", "/api/v1/reports", Some(kerman()))["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let send = |path: &str| {
        srv.call_with(
            "POST",
            path,
            Some(&t),
            Some(kerman()),
            &[("idempotency-key", "k-1")],
        )
    };
    let first = send("/api/v1/reports");
    assert_eq!(first.status, 201, "{:?}", first.body);
    let joined = send(&format!("/api/v1/reports?case={other}"));
    assert_eq!(joined.status, 422, "{:?}", joined.body);
    assert_eq!(
        joined.body["type"],
        "https://tocsin.dev/problems/idempotency-key-reused"
    );
}

/// A case with duty to warn and a warning drafted; returns the case id
/// and the tokens of the analyst and the approver.
fn drafted(srv: &Server) -> (String, String, String) {
    let col = srv.account("col", &[Role::Collector], &[EL], "TOP SECRET", &["HCS"]);
    let kim = srv.account("kim", &[Role::Analyst], &[EL], "TOP SECRET", &["HCS"]);
    let lee = srv.account("lee", &[Role::Approver], &[EL], "TOP SECRET", &["HCS"]);
    let case = srv.ok(&col, "POST", "/api/v1/reports", Some(kerman()))["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    srv.set_now("2023-12-26T14:00:00Z");
    let r = srv.ok(
        &kim,
        "POST",
        &format!("/api/v1/cases/{case}/determinations"),
        Some(json!({})),
    );
    assert_eq!(r["state"], "duty_to_warn");
    srv.ok(
        &kim,
        "POST",
        &format!("/api/v1/cases/{case}/warnings"),
        Some(json!({"text": tocsin::scenarios::KERMAN_WARNING, "withheld": ["source_identity"]})),
    );
    (case, kim, lee)
}

#[test]
fn warning_approval_needs_the_hash_of_the_text_read() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let (case, _kim, lee) = drafted(&srv);
    let path = format!("/api/v1/cases/{case}/warnings/1/approval");
    let a = srv.call("POST", &path, Some(&lee), Some(json!({})));
    assert_eq!(a.status, 422, "approved without a hash: {:?}", a.body);
    let sha = hex::encode(sha2::Sha256::digest(
        tocsin::scenarios::KERMAN_WARNING.as_bytes(),
    ));
    srv.ok(&lee, "POST", &path, Some(json!({"sha256": sha})));
}

#[test]
fn a_hand_off_goes_only_to_an_existing_owner_and_element() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let col = srv.account("col", &[Role::Collector], &[EL], "TOP SECRET", &["HCS"]);
    let kim = srv.account("kim", &[Role::Analyst], &[EL], "TOP SECRET", &["HCS"]);
    let case = srv.ok(&col, "POST", "/api/v1/reports", Some(kerman()))["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/cases/{case}/handoffs");
    let a = srv.call(
        "POST",
        &path,
        Some(&kim),
        Some(json!({"owner": "nobody.here", "lead_element": EL, "reason": "Shift change."})),
    );
    assert_eq!(a.status, 422, "{:?}", a.body);
    assert_eq!(a.body["field"], "owner", "{:?}", a.body);
    let a = srv.call(
        "POST",
        &path,
        Some(&kim),
        Some(json!({"owner": "kim", "lead_element": "No Such Element", "reason": "Shift change."})),
    );
    assert_eq!(a.status, 422, "{:?}", a.body);
    assert_eq!(a.body["field"], "lead_element", "{:?}", a.body);
    srv.ok(
        &kim,
        "POST",
        &path,
        Some(json!({"owner": "kim", "lead_element": EL, "reason": "Shift change."})),
    );
}

#[test]
fn a_missing_case_is_refused_with_the_same_work_as_a_hidden_one() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let col = srv.account("col", &[Role::Collector], &[EL], "TOP SECRET", &["HCS"]);
    let outsider = srv.account("kim", &[Role::Analyst], &[EL], "SECRET", &[]);
    let mut r = kerman();
    r["handling"]["existence_restricted"] = json!(true);
    let hidden = srv.ok(&col, "POST", "/api/v1/reports", Some(r))["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let missing = "0190b6b4-0000-7000-8000-000000000000";
    let mut grew = Vec::new();
    let mut answers = Vec::new();
    for id in [&hidden[..], missing] {
        let before = d.ledger_size();
        let a = srv.call("GET", &format!("/api/v1/cases/{id}"), Some(&outsider), None);
        grew.push(d.ledger_size() - before);
        answers.push((a.status, a.body["type"].clone()));
    }
    assert_eq!(answers[0].0, 404);
    assert_eq!(answers[0], answers[1]);
    assert_eq!(
        grew[0], grew[1],
        "a hidden case and a missing one wrote {grew:?} events"
    );
}

#[test]
fn the_access_log_leaves_out_cases_the_reader_cannot_see() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let col = srv.account("col", &[Role::Collector], &[EL], "TOP SECRET", &["HCS"]);
    let kim = srv.account("kim", &[Role::Analyst], &[EL], "TOP SECRET", &["HCS"]);
    let outsider = srv.account("out", &[Role::Analyst], &[EL], "SECRET", &[]);
    let high = srv.account(
        "aud.high",
        &[Role::Auditor],
        &["Oversight"],
        "TOP SECRET",
        &["HCS"],
    );
    let low = srv.account("aud.low", &[Role::Auditor], &["Oversight"], "SECRET", &[]);
    // Something in the log about no case.
    let a = srv.call(
        "POST",
        "/api/v1/session",
        None,
        Some(json!({"name": "kim", "password": "not the password"})),
    );
    assert_eq!(a.status, 401);
    let mut r = kerman();
    r["handling"]["existence_restricted"] = json!(true);
    let case = srv.ok(&col, "POST", "/api/v1/reports", Some(r))["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    srv.ok(&kim, "GET", &format!("/api/v1/cases/{case}"), None);
    let a = srv.call(
        "GET",
        &format!("/api/v1/cases/{case}"),
        Some(&outsider),
        None,
    );
    assert_eq!(a.status, 404);
    let log = |t: &str| srv.ok(t, "GET", "/api/v1/audit/access?limit=1000", None);
    let seen = log(&high).to_string();
    assert!(
        seen.contains(&case),
        "the cleared auditor misses the case: {seen}"
    );
    let shown = log(&low);
    assert!(
        !shown.to_string().contains(&case),
        "an auditor who gets 404 for the case sees it in the access log: {shown}"
    );
    // The rest of the log is still there.
    assert!(shown.to_string().contains("login_failed"), "{shown}");
}

#[test]
fn readiness_reflects_whether_the_store_can_write() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    assert_eq!(srv.call("GET", "/readyz", None, None).status, 200);
    let t = srv.account("col", &[Role::Collector], &[EL], "TOP SECRET", &["HCS"]);
    // The database refuses every write from now on.
    let sql = d.sql();
    if sql.is_pg() {
        sql.batch(
            "CREATE FUNCTION no_writes() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'simulated: no space left on device'; END $$; \
             CREATE TRIGGER no_docs BEFORE INSERT OR UPDATE OR DELETE ON docs \
             FOR EACH ROW EXECUTE FUNCTION no_writes(); \
             CREATE TRIGGER no_leaves BEFORE INSERT ON ledger \
             FOR EACH ROW EXECUTE FUNCTION no_writes();",
        );
    } else {
        for (name, table, on) in [
            ("no_docs_i", "docs", "INSERT"),
            ("no_docs_u", "docs", "UPDATE"),
            ("no_docs_d", "docs", "DELETE"),
            ("no_leaves", "ledger", "INSERT"),
        ] {
            sql.batch(&format!(
                "CREATE TRIGGER {name} BEFORE {on} ON {table} \
                 BEGIN SELECT RAISE(ABORT, 'simulated: no space left on device'); END;"
            ));
        }
    }
    // A success proves readiness for a second.
    std::thread::sleep(Duration::from_millis(1100));
    let a = srv.call("GET", "/readyz", None, None);
    assert_eq!(
        a.status, 503,
        "ready while the store cannot write: {:?}",
        a.body
    );
    assert_eq!(a.body["type"], "https://tocsin.dev/problems/unavailable");
    // A write fails without database text in the answer.
    let a = srv.call("POST", "/api/v1/reports", Some(&t), Some(kerman()));
    assert!(a.status >= 500, "{:?}", a.body);
    assert!(!a.body.to_string().contains("simulated"), "{:?}", a.body);
}

#[test]
fn an_admin_cannot_change_its_own_privileges() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let a = srv.account("adm.a", &[Role::Admin], &["Administration"], "SECRET", &[]);
    let b = srv.account("adm.b", &[Role::Admin], &["Administration"], "SECRET", &[]);
    let me = srv.ok(&a, "GET", "/api/v1/accounts/adm.a", None);
    let spec = |roles: Value, clearance: &str, compartments: Value| {
        json!({
            "display_name": me["display_name"],
            "elements": me["elements"],
            "roles": roles,
            "clearance": clearance,
            "compartments": compartments,
        })
    };
    for (what, body) in [
        (
            "roles",
            spec(json!(["admin", "analyst", "approver"]), "SECRET", json!([])),
        ),
        ("clearance", spec(json!(["admin"]), "TOP SECRET", json!([]))),
        (
            "compartments",
            spec(json!(["admin"]), "SECRET", json!(["HCS"])),
        ),
    ] {
        let r = srv.call("PUT", "/api/v1/accounts/adm.a", Some(&a), Some(body));
        assert_eq!(
            r.status, 403,
            "an admin changed its own {what}: {:?}",
            r.body
        );
    }
    // A second admin may, and it is in the ledger as done by that admin.
    let before = d.ledger_size();
    let body = spec(json!(["admin"]), "TOP SECRET", json!([]));
    srv.ok(&b, "PUT", "/api/v1/accounts/adm.a", Some(body));
    assert_eq!(d.ledger_size(), before + 1);
}

/// Issue 10's hole: the sanitiser caught a report number only when it was
/// the case's own. Another case's number of a format no built-in pattern
/// knows (`NYFO/21/0118`) now stops a draft here too, in the check and in
/// the command.
#[test]
fn a_report_number_of_another_case_is_caught_in_a_warning() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let (case, kim, _lee) = drafted(&srv);
    let col = srv.account("col2", &[Role::Collector], &[EL], "TOP SECRET", &["HCS"]);
    let mut other = kerman();
    other["title"] = "A field office's report on another plot".into();
    other["external_reference"] = "NYFO/21/0118".into();
    let other_case = srv.ok(&col, "POST", "/api/v1/reports", Some(other))["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(other_case, case);
    let text = format!(
        "{} See also NYFO/21/0977.",
        tocsin::scenarios::KERMAN_WARNING
    );
    let check = srv.ok(
        &kim,
        "POST",
        &format!("/api/v1/cases/{case}/warning-checks"),
        Some(json!({"text": text})),
    );
    let findings = check["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["category"] == "report_number" && f["text"] == "NYFO/21/0977"),
        "{check}"
    );
    let r = srv.call(
        "POST",
        &format!("/api/v1/cases/{case}/warnings"),
        Some(&kim),
        Some(json!({"text": text, "withheld": ["source_identity"]})),
    );
    assert_eq!(r.status, 422, "{:?}", r.body);
    assert!(r.body.to_string().contains("NYFO/21/0977"), "{:?}", r.body);
}
