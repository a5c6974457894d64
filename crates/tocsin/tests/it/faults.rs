//! Fault injection: the failpoint sweep (issue 11, item 5).
//!
//! For each failpoint of `tocsin_store::faults::POINTS` and each N in
//! 1..=20, the point is armed to fail its Nth call (in this test's
//! deployment only) while a realistic workload runs through the real
//! server: intake (with an idempotency key), a sweep that raises an
//! escalation with a notice to each of seven webhook targets, the notice
//! job, a determination, a route, a draft, its approval, the advisory
//! decision and a checkpoint read. The request the fault hits must get a
//! clear problem (503, 507, or an opaque 500 naming only the request id:
//! never the fault's or the database's words), and the same request
//! retried must succeed; a notice the fault hits is retried by the job.
//! Each pass leaves the same events on its case as a clean pass (every
//! command exactly once: nothing failed was kept, nothing retried was
//! applied twice). Then, disarmed: the ledger verifies and its root is
//! the last signed checkpoint's, every notice is delivered, and (when
//! the deployment is dropped) `audit verify --deep` finds every
//! query-table row and derived document equal to the fold. One test per
//! point, so they run side by side under nextest; under `cargo test` the
//! points' scope (`Scenario::in_deployment`) keeps them away from every
//! other test.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::Digest;
use tocsin_domain::Role;
use tocsin_server::jobs::{JobsConfig, run_once};
use tocsin_server::{AppState, ServerConfig};
use tocsin_service::RetryPolicy;
use tocsin_store::faults::{POINTS, Scenario};

use crate::support::{Answer, Deployment, Server};

const CT: &str = "Counterterrorism Collection Element";
/// Each point fails its Nth call, for N in 1..=MAX_N.
const MAX_N: u32 = 20;
/// Workload cycles run, at most, waiting for an armed point to fire.
const MAX_CYCLES: u32 = 3;
/// Webhook targets: each escalation makes one notice per target.
const TARGETS: usize = 7;

/// A deployment, its server, the people who work on it, and a webhook
/// receiver for its notices.
struct Bench {
    srv: Server,
    faults: Scenario,
    /// The point armed now, and whether it has fired since it was armed.
    armed: Option<&'static str>,
    fired: bool,
    /// Where each fault showed itself, in order.
    seen: Vec<String>,
    admin: String,
    col: String,
    kim: String,
    lee: String,
    auditor: String,
    state: AppState,
    jobs: JobsConfig,
    http: reqwest::Client,
    received: Arc<AtomicU64>,
    cycle: u32,
    /// The kinds of event (sorted) a clean pass leaves on its case: every
    /// pass must leave the same, each command applied exactly once.
    pattern: Option<Vec<String>>,
    /// Dropped last: its drop runs `audit verify --deep` on the ledger.
    _d: Deployment,
}

fn sha256_hex(s: &str) -> String {
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

impl Bench {
    fn new() -> Bench {
        let d = Deployment::new();
        let srv = d.serve("2023-12-26T10:00:00Z");
        let person = |name: &str, role: Role, el: &str| {
            srv.account(name, &[role], &[el], "TOP SECRET", &["HCS"])
        };
        let admin = srv.account("admin", &[Role::Admin], &["Administration"], "SECRET", &[]);
        let col = person("collector.ct", Role::Collector, CT);
        let kim = person("analyst.kim", Role::Analyst, CT);
        let lee = person("approver.lee", Role::Approver, CT);
        let auditor = person("auditor.ng", Role::Auditor, "Oversight");
        // The webhook receiver, on the server's runtime.
        let received = Arc::new(AtomicU64::new(0));
        let listener = srv
            .rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let r = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move || {
                r.fetch_add(1, Ordering::Relaxed);
                async { axum::http::StatusCode::OK }
            }),
        );
        srv.rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        for i in 1..=TARGETS {
            srv.ok(
                &admin,
                "PUT",
                &format!("/api/v1/notification-targets/desk-{i}"),
                Some(json!({"channel": {"kind": "webhook", "url": url}})),
            );
        }
        let state = AppState::new(srv.svc.clone(), ServerConfig::default());
        let jobs = JobsConfig {
            retry: RetryPolicy {
                base: Duration::from_millis(10),
                max_wait: Duration::from_millis(40),
                max_attempts: 5,
                lease: Duration::from_millis(150),
            },
            ..Default::default()
        };
        let faults = Scenario::in_deployment(srv.svc.deployment_id());
        Bench {
            srv,
            faults,
            armed: None,
            fired: false,
            seen: Vec::new(),
            admin,
            col,
            kim,
            lee,
            auditor,
            state,
            jobs,
            http: reqwest::Client::new(),
            received,
            cycle: 0,
            pattern: None,
            _d: d,
        }
    }

    /// Arms `point` to fail its `n`th call from now, once.
    fn arm(&mut self, point: &'static str, n: u32) {
        let actions = match n {
            1 => "1*return->off".to_owned(),
            n => format!("{}*off->1*return->off", n - 1),
        };
        self.faults.arm(point, &actions);
        self.armed = Some(point);
        self.fired = false;
    }

    fn disarm(&mut self) {
        if let Some(p) = self.armed.take() {
            self.faults.disarm(p);
        }
    }

    /// A fault showed itself (`what` saw it): there must be one armed.
    fn fault_seen(&mut self, what: &str) {
        assert!(
            self.armed.is_some() || self.fired,
            "{what} failed with no fault armed"
        );
        if !self.fired {
            self.seen.push(what.to_owned());
        }
        self.fired = true;
        self.disarm();
    }

    /// Sends a request; if a fault makes it fail, checks the answer, then
    /// retries it (disarmed), which must succeed. The body of the success.
    #[track_caller]
    fn step(&mut self, what: &str, send: impl Fn(&Bench) -> Answer) -> Value {
        let a = send(self);
        if (200..300).contains(&a.status) {
            return a.body;
        }
        check_problem(what, &a);
        self.fault_seen(what);
        let b = send(self);
        assert!(
            (200..300).contains(&b.status),
            "{what}: the retry after the fault failed: {} {:?}",
            b.status,
            b.body
        );
        b.body
    }

    fn call(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.srv.call(method, path, Some(token), body)
    }

    /// Runs the notice job until every notice is delivered; a round the
    /// fault hits is retried by the job itself (after the backoff, or the
    /// lease of a notice it left claimed).
    fn deliver_notices(&mut self) {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let round = self
                .srv
                .rt
                .block_on(run_once(&self.state, &self.jobs, &self.http, false));
            let left = self
                .srv
                .rt
                .block_on(self.srv.svc.notices())
                .expect("notices");
            let injected = left.iter().any(|(_, n)| {
                n.last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("injected"))
            });
            if round.is_err() || injected {
                self.fault_seen("the notice job");
            }
            if left.is_empty() {
                return;
            }
            assert!(
                Instant::now() < until,
                "notices not delivered: {:?}",
                left.iter().map(|(_, n)| n).collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// One pass of the workload: a case from intake to an approved
    /// warning, with an escalation and its notices on the way.
    fn cycle(&mut self) {
        self.cycle += 1;
        let k = self.cycle;
        self.srv.set_now("2023-12-26T10:00:00Z");
        let mut report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
        report["title"] = json!(format!("Fault cycle {k}"));
        let key = format!("fault-cycle-{k}");
        let r = self.step("intake", |b| {
            b.srv.call_with(
                "POST",
                "/api/v1/reports",
                Some(&b.col),
                Some(report.clone()),
                &[("Idempotency-Key", key.as_str())],
            )
        });
        let case = r["case_id"].as_str().expect("case id").to_owned();
        let c = |p: &str| format!("/api/v1/cases/{case}{p}");
        // Past the decide-by time: the sweep escalates, with a notice to
        // every target.
        self.srv.set_now("2023-12-27T10:00:00Z");
        let swept = self.step("sweep", |b| {
            b.call(&b.admin, "POST", "/api/v1/sweep", Some(json!({})))
        });
        assert!(
            swept["events"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["case_id"] == case.as_str())),
            "no escalation for the new case: {swept}"
        );
        self.deliver_notices();
        self.srv.set_now("2023-12-27T11:00:00Z");
        self.step("determination", |b| {
            b.call(&b.kim, "POST", &c("/determinations"), Some(json!({})))
        });
        self.step("route choice", |b| {
            b.call(
                &b.kim,
                "POST",
                &c("/route-choice"),
                Some(json!({"candidate": 1})),
            )
        });
        let text = tocsin::scenarios::KERMAN_WARNING;
        self.step("draft", |b| {
            b.call(
                &b.kim,
                "POST",
                &c("/warnings"),
                Some(json!({"text": text, "withheld": ["source_identity", "collection_method"]})),
            )
        });
        self.srv.set_now("2023-12-27T12:00:00Z");
        self.step("approval", |b| {
            b.call(
                &b.lee,
                "POST",
                &c("/warnings/1/approval"),
                Some(json!({"sha256": sha256_hex(text)})),
            )
        });
        self.step("advisory", |b| {
            b.call(
                &b.lee,
                "POST",
                &c("/advisory"),
                Some(
                    json!({"decision": "not_issued", "reason": "Advised against travel already."}),
                ),
            )
        });
        self.step("checkpoint", |b| {
            b.call(&b.auditor, "GET", "/api/v1/audit/checkpoint", None)
        });
        // Every command of the pass is on the case exactly once: nothing
        // a fault failed was kept, nothing retried was applied twice.
        let events = self.step("events", |b| b.call(&b.kim, "GET", &c("/events"), None));
        let mut kinds: Vec<String> = events["items"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| e["event"]["type"].as_str().unwrap_or_default().to_owned())
            .collect();
        kinds.sort();
        match &self.pattern {
            None => self.pattern = Some(kinds),
            Some(p) => assert_eq!(&kinds, p, "pass {k} left other events on its case"),
        }
    }

    /// Nothing is half-written: every notice is delivered, the ledger
    /// verifies, and its root is the one the last checkpoint signs.
    fn check_whole(&self, context: &str) {
        let left = self
            .srv
            .rt
            .block_on(self.srv.svc.notices())
            .expect("notices");
        assert!(left.is_empty(), "{context}: notices left: {}", left.len());
        let v = self
            .srv
            .ok(&self.auditor, "GET", "/api/v1/audit/verification", None);
        assert_eq!(v["ok"], true, "{context}: {v}");
        let cp = self
            .srv
            .ok(&self.auditor, "GET", "/api/v1/audit/checkpoint", None);
        let note = cp["checkpoint"].as_str().expect("a signed checkpoint");
        let lines: Vec<&str> = note.lines().collect();
        assert_eq!(
            (lines[1], lines[2]),
            (
                v["size"].to_string().as_str(),
                v["root"].as_str().expect("root")
            ),
            "{context}: the ledger is not the last checkpoint's: {cp} {v}"
        );
    }
}

/// The answer to a request a fault failed: a problem, with nothing of
/// the fault or the database in it.
#[track_caller]
fn check_problem(what: &str, a: &Answer) {
    let kinds = ["internal", "unavailable", "storage-full"];
    let t = a.body["type"].as_str().unwrap_or_default();
    assert!(
        matches!(a.status, 500 | 503 | 507)
            && kinds
                .iter()
                .any(|k| t == format!("https://tocsin.dev/problems/{k}")),
        "{what}: not a clear problem: {} {:?}",
        a.status,
        a.body
    );
    assert_eq!(
        a.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "{what}"
    );
    let text = a.body.to_string();
    for leak in [
        "injected",
        "SQLite",
        "PostgreSQL",
        "sqlx",
        "statement",
        "savepoint",
    ] {
        assert!(
            !text.contains(leak),
            "{what}: the answer says {leak:?}: {text}"
        );
    }
    if a.status == 500 {
        assert!(text.contains("request id"), "{what}: {text}");
    }
}

/// The sweep of one point: the N (of 1..=MAX_N) whose fault fired.
fn sweep(point: &'static str) {
    let started = Instant::now();
    let mut b = Bench::new();
    // One clean pass first: accounts, policy and targets in place.
    b.cycle();
    b.check_whole("before any fault");
    let mut missed = Vec::new();
    for n in 1..=MAX_N {
        b.arm(point, n);
        for _ in 0..MAX_CYCLES {
            b.cycle();
            if b.fired {
                break;
            }
        }
        b.disarm();
        b.check_whole(&format!("{point}, call {n} failed"));
        if !b.fired {
            missed.push(n);
        }
    }
    let delivered = b.received.load(Ordering::Relaxed);
    eprintln!(
        "failpoint {point}: N = 1..={MAX_N} in {} cycles ({} events on each case), {delivered} notices received, {:.1} s; seen by: {}",
        b.cycle,
        b.pattern.as_ref().map_or(0, Vec::len),
        started.elapsed().as_secs_f64(),
        b.seen.join(", ")
    );
    assert!(
        missed.is_empty(),
        "{point}: the workload never reached call N for N in {missed:?}"
    );
}

#[test]
fn every_point_is_swept() {
    // A point added to the list needs its test here.
    assert_eq!(
        POINTS,
        [
            "store::append",
            "store::docs::write",
            "ledger::checkpoint::sign",
            "store::commit",
            "jobs::notice::send",
        ]
    );
}

#[test]
fn sweep_store_append() {
    sweep("store::append");
}

#[test]
fn sweep_store_docs_write() {
    sweep("store::docs::write");
}

#[test]
fn sweep_ledger_checkpoint_sign() {
    sweep("ledger::checkpoint::sign");
}

#[test]
fn sweep_store_commit() {
    sweep("store::commit");
}

#[test]
fn sweep_jobs_notice_send() {
    sweep("jobs::notice::send");
}
