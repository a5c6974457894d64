//! Two `tocsin serve` processes on one database, many clients at once:
//! reports submitted to both, and waiver approvals raced by two approvers
//! through the two servers while the requester tries to approve their own
//! waiver through the second. Afterwards the ledger's positions are dense
//! with no gaps or duplicates, `audit verify` passes, no waiver was
//! approved twice, no self-approval succeeded (each one refused is
//! recorded), and every acknowledged request is in the ledger.
//!
//! 30 seconds on PostgreSQL (the acceptance test of several instances on
//! one database); 10 seconds of the same on SQLite (two processes on one
//! file). `TOCSIN_CONCURRENCY_SECS` overrides the duration.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tocsin_domain::Role;
use tocsin_domain::event::Event;
use tocsin_store::StreamId;

use crate::support::{Backend, Deployment, block_on, spawn_server, stderr, stdout};

const EL: &str = "Counterterrorism Collection Element";
/// Clients that only submit reports.
const SUBMITTERS: usize = 8;
/// Clients that each run rounds of report, determination, waiver request
/// and three racing approvals (three requests at once).
const RACERS: usize = 8;

#[derive(Clone)]
struct Tokens {
    collector: String,
    /// kim: analyst and approver; requests every waiver.
    kim: String,
    lee: String,
    hale: String,
}

/// One waiver and what each approval attempt got.
struct Round {
    case: String,
    waiver: String,
    lee: u16,
    hale: u16,
    kim: u16,
}

#[derive(Default)]
struct Acks {
    /// (report id, case id) of every 201.
    reports: Vec<(String, String)>,
    /// Cases whose determination was acknowledged.
    determined: Vec<String>,
    rounds: Vec<Round>,
    /// Answers other than the expected ones (method, path, status, body).
    unexpected: Vec<String>,
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    path: &str,
    token: &str,
    body: Value,
) -> (u16, Value) {
    match http
        .post(format!("{url}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
    {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
        Err(e) => (0, Value::String(e.to_string())),
    }
}

async fn drive(urls: [String; 2], t: Tokens, secs: u64) -> Acks {
    let http = reqwest::Client::new();
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let acks = Arc::new(Mutex::new(Acks::default()));
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..SUBMITTERS {
        let (http, urls, t, report, acks) = (
            http.clone(),
            urls.clone(),
            t.clone(),
            report.clone(),
            acks.clone(),
        );
        tasks.spawn(async move {
            let mut i = 0usize;
            while Instant::now() < deadline {
                let mut r = report.clone();
                r["title"] = json!(format!("Submitter {w} report {i}"));
                let url = &urls[(w + i) % 2];
                let (s, b) = post(&http, url, "/api/v1/reports", &t.collector, r).await;
                let mut a = acks.lock().unwrap();
                if s == 201 {
                    a.reports.push((
                        b["report_id"].as_str().unwrap_or("").to_owned(),
                        b["case_id"].as_str().unwrap_or("").to_owned(),
                    ));
                } else {
                    a.unexpected
                        .push(format!("POST {url}/api/v1/reports: {s} {b}"));
                }
                i += 1;
            }
        });
    }
    for w in 0..RACERS {
        let (http, urls, t, report, acks) = (
            http.clone(),
            urls.clone(),
            t.clone(),
            report.clone(),
            acks.clone(),
        );
        tasks.spawn(async move {
            let mut i = 0usize;
            while Instant::now() < deadline {
                // The waiver is requested through `first`; the requester's
                // own approval goes through `second`.
                let first = urls[(w + i) % 2].clone();
                let second = urls[(w + i + 1) % 2].clone();
                i += 1;
                let mut r = report.clone();
                r["title"] = json!(format!("Racer {w} round {i}"));
                let (s, b) = post(&http, &first, "/api/v1/reports", &t.collector, r).await;
                let unexpected = |what: String| acks.lock().unwrap().unexpected.push(what);
                if s != 201 {
                    unexpected(format!("report: {s} {b}"));
                    continue;
                }
                let case = b["case_id"].as_str().unwrap_or("").to_owned();
                acks.lock().unwrap().reports.push((
                    b["report_id"].as_str().unwrap_or("").to_owned(),
                    case.clone(),
                ));
                let (s, b) = post(
                    &http,
                    &second,
                    &format!("/api/v1/cases/{case}/determinations"),
                    &t.kim,
                    json!({}),
                )
                .await;
                if s != 200 {
                    unexpected(format!("determination of {case}: {s} {b}"));
                    continue;
                }
                acks.lock().unwrap().determined.push(case.clone());
                let (s, b) = post(
                    &http,
                    &first,
                    &format!("/api/v1/cases/{case}/waivers"),
                    &t.kim,
                    json!({"ground": "W4", "reason": "warning would expose the source"}),
                )
                .await;
                if s != 200 {
                    unexpected(format!("waiver request on {case}: {s} {b}"));
                    continue;
                }
                let waiver = b["waiver_id"].as_str().unwrap_or("").to_owned();
                let path = format!("/api/v1/cases/{case}/waivers/{waiver}/approval");
                let body = || json!({"reason": "the source would be exposed"});
                let ((lee, _), (hale, _), (kim, _)) = tokio::join!(
                    post(&http, &first, &path, &t.lee, body()),
                    post(&http, &second, &path, &t.hale, body()),
                    post(&http, &second, &path, &t.kim, body()),
                );
                acks.lock().unwrap().rounds.push(Round {
                    case,
                    waiver,
                    lee,
                    hale,
                    kim,
                });
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("client task");
    }
    Arc::try_unwrap(acks)
        .ok()
        .expect("clients done")
        .into_inner()
        .unwrap()
}

#[test]
fn two_servers_on_one_database_keep_one_dense_ledger_and_the_two_person_rule() {
    let d = Deployment::new();
    let secs: u64 = std::env::var("TOCSIN_CONCURRENCY_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(match d.backend {
            Backend::Postgres => 30,
            Backend::Sqlite => 10,
        });
    // Accounts and tokens, made through the service before the servers start.
    let tokens = {
        let srv = d.serve("2023-12-26T10:00:00Z");
        let acct =
            |name: &str, roles: &[Role]| srv.account(name, roles, &[EL], "TOP SECRET", &["HCS"]);
        Tokens {
            collector: acct("collector.c", &[Role::Collector]),
            kim: acct("kim.both", &[Role::Analyst, Role::Approver]),
            lee: acct("lee", &[Role::Approver]),
            hale: acct("hale", &[Role::Approver]),
        }
    };
    let now = "2023-12-26T14:00:00Z";
    let (mut a, url_a) = spawn_server(&d, now);
    let (mut b, url_b) = spawn_server(&d, now);
    let started = Instant::now();
    let acks = block_on(drive([url_a, url_b], tokens, secs));
    let elapsed = started.elapsed();
    for s in [&mut a, &mut b] {
        s.kill().ok();
        s.wait().unwrap();
    }

    assert!(
        acks.unexpected.is_empty(),
        "{} unexpected answers, e.g.:\n{}",
        acks.unexpected.len(),
        acks.unexpected[..acks.unexpected.len().min(5)].join("\n")
    );
    assert!(acks.rounds.len() >= 20, "only {} rounds", acks.rounds.len());

    // Positions: dense from 0, no gaps, no duplicates.
    let c = d.sql();
    let r = c.row(
        "SELECT count(*), count(DISTINCT position), min(position), max(position) FROM ledger",
        &[],
    );
    let (count, distinct, min, max) = (r[0].i(), r[1].i(), r[2].i(), r[3].i());
    assert_eq!((count, min), (distinct, 0), "duplicate positions");
    assert_eq!(count, max + 1, "gaps in the ledger positions");
    if d.backend == Backend::Postgres {
        assert_eq!(c.i64("SELECT size FROM ledger_head", &[]), count);
    }
    // Every acknowledged report is stored, on its case.
    let stored: HashMap<String, String> = c
        .rows("SELECT id, case_id FROM reports", &[])
        .into_iter()
        .map(|r| (r[0].t(), r[1].t()))
        .collect();
    for (report, case) in &acks.reports {
        assert_eq!(
            stored.get(report),
            Some(case),
            "acknowledged report {report} is missing"
        );
    }
    drop(c);

    // The waivers, read back from the ledger.
    let store = d.store();
    let mut approved_rounds = 0;
    let mut self_refused = 0;
    for round in &acks.rounds {
        let case_id = round.case.parse().unwrap();
        let events = block_on(store.read_stream(&StreamId::Case(case_id))).unwrap();
        let mut requester = None;
        let mut approvals = Vec::new();
        let mut refused_kim = 0;
        for e in &events {
            match &e.envelope.event {
                Event::WaiverRequested { waiver_id, .. }
                    if waiver_id.to_string() == round.waiver =>
                {
                    requester = Some(e.envelope.actor.to_string());
                }
                Event::WaiverApproved { waiver_id, .. }
                | Event::WaiverRejected { waiver_id, .. }
                    if waiver_id.to_string() == round.waiver =>
                {
                    approvals.push(e.envelope.actor.to_string());
                }
                Event::AttemptRefused { .. } if e.envelope.actor.as_str() == "kim.both" => {
                    refused_kim += 1;
                }
                _ => {}
            }
        }
        assert!(
            acks.determined.contains(&round.case),
            "round on {} without its determination",
            round.case
        );
        assert_eq!(
            requester.as_deref(),
            Some("kim.both"),
            "the acknowledged waiver request {} is missing",
            round.waiver
        );
        // Exactly one of the two approvers succeeded, and the ledger says who.
        let won: Vec<&str> = [("lee", round.lee), ("hale", round.hale)]
            .into_iter()
            .filter(|(_, s)| *s == 200)
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            won.len(),
            1,
            "waiver {}: lee got {}, hale got {}",
            round.waiver,
            round.lee,
            round.hale
        );
        assert_eq!(
            approvals,
            vec![won[0].to_owned()],
            "waiver {} decided by {approvals:?}",
            round.waiver
        );
        for (who, s) in [("lee", round.lee), ("hale", round.hale)] {
            assert!(
                s == 200 || s == 409,
                "{who} got {s} on waiver {}",
                round.waiver
            );
        }
        // The requester never succeeded; each two-person refusal is recorded.
        assert!(
            round.kim == 403 || round.kim == 409,
            "the requester's own approval of {} got {}",
            round.waiver,
            round.kim
        );
        let refusals = (round.kim == 403) as usize;
        assert_eq!(
            refused_kim, refusals,
            "waiver {}: {refusals} refusals answered, {refused_kim} recorded",
            round.waiver
        );
        approved_rounds += 1;
        self_refused += refusals;
    }
    drop(store);

    let out = d.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let out = d.run(&["admin", "rebuild"]);
    assert!(
        out.status.success() && stdout(&out).contains("identical"),
        "{}",
        stdout(&out)
    );
    eprintln!(
        "concurrency ({:?}, two servers, {} clients, {:.1} s): {} reports acknowledged, {approved_rounds} waivers raced (one approval each), {self_refused} self-approvals refused as two-person violations, {count} events",
        d.backend,
        SUBMITTERS + 3 * RACERS,
        elapsed.as_secs_f64(),
        acks.reports.len(),
    );
}
