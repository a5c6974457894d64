//! Crash safety: the binary is killed with SIGKILL at random moments while
//! submitting reports; every acknowledged report survives, the ledger
//! verifies and its positions are dense.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{Deployment, stderr, stdout};

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

#[test]
fn sigkill_never_loses_an_acknowledged_report() {
    let d = Deployment::new();
    let base: serde_json::Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let mut lines = String::new();
    for i in 0..3000 {
        let mut r = base.clone();
        r["title"] = serde_json::Value::String(format!("Crash-test report {i}"));
        lines.push_str(&r.to_string());
        lines.push('\n');
    }
    let file = d.file("reports.jsonl", &lines);
    let mut rng = Lcg(0x7063_7369_6e00_0001);
    let mut acked: Vec<String> = Vec::new();
    let mut kills = 0;
    for round in 0..24 {
        let mut child = d
            .tocsin()
            .args([
                "--as",
                "collector.crash",
                "--json",
                "report",
                "submit",
                "--jsonl",
                "--concurrency",
                "64",
            ])
            .arg(&file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                match line {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        });
        // Kill after a random number of acknowledgements (or a random time), mid-stream.
        let target = 1 + rng.next() % 400;
        let deadline = Instant::now() + Duration::from_millis(200 + rng.next() % 3000);
        let mut seen = 0;
        loop {
            match rx.recv_timeout(Duration::from_millis(5)) {
                Ok(l) => {
                    acked.push(l);
                    seen += 1;
                    if seen >= target {
                        break;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if Instant::now() > deadline {
                        break;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let finished = child.try_wait().unwrap().is_some();
        child.kill().ok(); // SIGKILL on Unix
        child.wait().unwrap();
        kills += (!finished) as u32;
        reader.join().unwrap();
        // Lines written before the kill but read after it were acknowledged too.
        acked.extend(rx.try_iter());
        let _ = round;
    }
    assert!(kills >= 20, "only {kills} kills landed mid-run");
    assert!(!acked.is_empty());
    // Every acknowledged report is in the database, on its case.
    let c = rusqlite::Connection::open(d.db()).unwrap();
    for line in &acked {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad ack line {line}: {e}"));
        let report = v["report"].as_str().unwrap();
        let case = v["case"].as_str().unwrap();
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM reports WHERE id = ?1 AND case_id = ?2",
                [report, case],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "acknowledged report {report} is missing");
        let [a, b] = [
            v["positions"][0].as_i64().unwrap(),
            v["positions"][1].as_i64().unwrap(),
        ];
        let m: i64 = c
            .query_row("SELECT count(*) FROM ledger WHERE position BETWEEN ?1 AND ?2 AND stream = 'case/' || ?3", rusqlite::params![a, b, case], |r| r.get(0))
            .unwrap();
        assert_eq!(m, b - a + 1, "the ledger positions of {report} changed");
    }
    // Positions are dense and the whole ledger verifies.
    let (count, max): (i64, i64) = c
        .query_row("SELECT count(*), max(position) FROM ledger", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(count, max + 1, "gaps in the ledger positions");
    let reports: i64 = c
        .query_row("SELECT count(*) FROM reports", [], |r| r.get(0))
        .unwrap();
    eprintln!(
        "crash test: {kills} kills mid-run, {} acknowledged reports, {reports} reports and {count} events stored",
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
