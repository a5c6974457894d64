//! Regression tests for the holes a hostile tester found (issue 11, "Trust
//! nobody"): each test failed on the code before its fix.

use serde_json::{Value, json};
use tocsin_domain::Role;

use crate::support::{Deployment, Server};

const EL: &str = "Counterterrorism Collection Element";

fn kerman() -> Value {
    serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap()
}

#[track_caller]
fn ok(srv: &Server, tok: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let a = srv.call(method, path, Some(tok), body);
    assert!(
        (200..300).contains(&a.status),
        "{method} {path}: {} {:?}",
        a.status,
        a.body
    );
    a.body
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
    let checked = statuses.iter().filter(|s| **s != 429).count();
    // The default limit is 5 failures per account.
    assert!(
        checked <= 5,
        "{checked} of 61 concurrent logins were checked: {statuses:?}"
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
    ok(&srv, &col, "POST", "/api/v1/reports", Some(restricted));
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
