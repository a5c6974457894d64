//! Crash safety: the server is killed with SIGKILL at random moments while
//! clients submit reports over HTTP; every report whose submission was
//! acknowledged (201) survives, the ledger verifies, positions are dense.

use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tocsin_domain::Role;

use crate::p;
use crate::support::{Deployment, block_on, spawn_server, stderr, stdout};

/// A small deterministic generator (the test must be repeatable).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Starts `tocsin serve` on a free port and returns it with its URL.
fn start(d: &Deployment) -> (Child, String) {
    // The account's token was issued at this (fixed) time.
    spawn_server(d, "2023-12-26T12:00:00Z")
}

#[test]
fn sigkill_never_loses_an_acknowledged_report() {
    let d = Deployment::new();
    let token = {
        let srv = d.serve("2023-12-26T10:00:00Z");
        let t = srv.account(
            "collector.crash",
            &[Role::Collector],
            &["Counterterrorism Collection Element"],
            "SECRET",
            &["HCS"],
        );
        drop(srv);
        t
    };
    let base: serde_json::Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut rng = Lcg(0x7063_7369_6e00_0001);
    let mut kills = 0;
    let http = reqwest::Client::new();
    let mut n = 0u64;
    for _round in 0..24 {
        let (mut child, url) = start(&d);
        let wait = Duration::from_millis(150 + rng.next() % 900);
        block_on(async {
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let mut tasks = Vec::new();
            for w in 0..32u64 {
                let (http, url, token, base) =
                    (http.clone(), url.clone(), token.clone(), base.clone());
                let (acked, stop) = (acked.clone(), stop.clone());
                let start = n + w * 100_000;
                tasks.push(tokio::spawn(async move {
                    let mut i = start;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let mut r = base.clone();
                        r["title"] = serde_json::Value::String(format!("Crash-test report {i}"));
                        let res = http
                            .post(format!("{url}/api/v1/reports"))
                            .bearer_auth(&token)
                            .json(&r)
                            .send()
                            .await;
                        let Ok(res) = res else { break };
                        if res.status().as_u16() != 201 {
                            break;
                        }
                        let Ok(v) = res.json::<serde_json::Value>().await else {
                            break;
                        };
                        acked.lock().unwrap().push((
                            v["report_id"].as_str().unwrap().to_owned(),
                            v["case_id"].as_str().unwrap().to_owned(),
                        ));
                        i += 1;
                    }
                }));
            }
            tokio::time::sleep(wait).await;
            let finished = child.try_wait().unwrap().is_some();
            child.kill().ok(); // SIGKILL on Unix
            child.wait().unwrap();
            kills += (!finished) as u32;
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            for t in tasks {
                let _ = t.await;
            }
        });
        n += 10_000_000;
    }
    assert!(kills >= 20, "only {kills} kills landed mid-run");
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty());
    // Every acknowledged report is in the database, on its case.
    let c = d.sql();
    for (report, case) in &acked {
        let n = c.i64(
            "SELECT count(*) FROM reports WHERE id = ?1 AND case_id = ?2",
            p![report, case],
        );
        assert_eq!(n, 1, "acknowledged report {report} is missing");
        let m = c.i64(
            "SELECT count(*) FROM ledger WHERE stream = 'case/' || ?1",
            p![case],
        );
        assert!(m >= 3, "the ledger lacks the events of case {case}");
    }
    // Positions are dense and the whole ledger verifies.
    let r = c.row("SELECT count(*), max(position) FROM ledger", &[]);
    let (count, max) = (r[0].i(), r[1].i());
    assert_eq!(count, max + 1, "gaps in the ledger positions");
    let reports = c.i64("SELECT count(*) FROM reports", &[]);
    eprintln!(
        "crash test ({:?}): {kills} kills mid-run, {} acknowledged reports, {reports} reports and {count} events stored",
        d.backend,
        acked.len()
    );
    assert!(reports as usize >= acked.len());
    drop(c);
    let out = d.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    // And the query tables still match the ledger exactly.
    let out = d.run(&["admin", "rebuild"]);
    assert!(
        out.status.success() && stdout(&out).contains("identical"),
        "{}",
        stdout(&out)
    );
}
