//! Getting the warning there, through the HTTP API of the real server:
//! route planning, sanitised drafts, exports, deliveries, responses,
//! deadlines, escalations and their notices.

use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::Digest;
use tocsin_domain::Role;
use tocsin_server::ServerConfig;
use tocsin_server::jobs::JobsConfig;
use tocsin_service::RetryPolicy;

use crate::support::{Deployment, Server};

/// A server whose background jobs run every 50 ms (the clock is manual).
fn fast(d: &Deployment, now: &str) -> Server {
    d.serve_with(
        now,
        ServerConfig {
            jobs: Some(JobsConfig {
                tick: Duration::from_millis(50),
                sweep_every: Duration::from_millis(50),
                retry: RetryPolicy {
                    base: Duration::from_millis(100),
                    max_wait: Duration::from_millis(400),
                    max_attempts: 3,
                    lease: Duration::from_secs(30),
                },
                ..Default::default()
            }),
            ..Default::default()
        },
    )
}

/// Waits (a few seconds at most) until `f` holds.
#[track_caller]
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("timed out waiting for {what}");
}

/// A webhook receiver on a free port: records what it gets, answers `status`.
struct Hook {
    url: String,
    got: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>,
    _rt: tokio::runtime::Runtime,
}

fn hook(status: u16) -> Hook {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let got: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>> = Arc::default();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let g = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let g = g.clone();
            async move {
                g.lock().unwrap().push((headers, body));
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Hook { url, got, _rt: rt }
}

fn events_of(srv: &Server, tok: &str, case: &str) -> Vec<Value> {
    srv.ok(tok, "GET", &format!("/api/v1/cases/{case}/events"), None)["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn count(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["event"]["type"] == kind).count()
}

fn sha256_hex(s: &str) -> String {
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const CT: &str = "Counterterrorism Collection Element";

#[test]
fn kerman_end_to_end_over_http() {
    let d = Deployment::new();
    let srv = fast(&d, "2023-12-26T10:00:00Z");
    let admin = srv.account(
        "admin",
        &[Role::Admin],
        &["Administration"],
        "UNCLASSIFIED",
        &[],
    );
    let col = srv.account(
        "collector.ct",
        &[Role::Collector],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let kim = srv.account(
        "analyst.kim",
        &[Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let lee = srv.account(
        "approver.lee",
        &[Role::Approver],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let diaz = srv.account(
        "officer.diaz",
        &[Role::DeliveryOfficer],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let auditor = srv.account(
        "auditor.ng",
        &[Role::Auditor],
        &["Oversight"],
        "TOP SECRET",
        &["HCS"],
    );
    let h = hook(200);
    srv.ok(
        &admin,
        "PUT",
        "/api/v1/notification-targets/duty-desk",
        Some(
            json!({"channel": {"kind": "webhook", "url": h.url}, "secret": "a-long-shared-webhook-secret"}),
        ),
    );
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let case = srv.ok(&col, "POST", "/api/v1/reports", Some(report))["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = |p: &str| format!("/api/v1/cases/{case}{p}");
    srv.set_now("2023-12-26T14:00:00Z");
    let r = srv.ok(&kim, "POST", &c("/determinations"), Some(json!({})));
    assert_eq!(r["state"], "duty_to_warn");
    // The intermediary route via Switzerland is proposed first, with its reason.
    let plan = srv.ok(&kim, "GET", &c("/route-plan"), None);
    let best = &plan["candidates"][0];
    let hops = best["route"]["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 2, "{best}");
    assert_eq!(hops[0]["to"]["country"], "CH");
    assert_eq!(hops[1]["to"]["country"], "IR");
    assert_eq!(hops[1]["channel"], "protecting_power");
    let why = best["reason"].as_str().unwrap();
    assert!(
        why.contains("Switzerland") || why.contains("protecting power"),
        "{why}"
    );
    let excluded = plan["excluded"].as_array().unwrap();
    assert!(
        excluded.iter().any(|e| e["cause"] == "no_relations"),
        "direct to Iran is excluded for want of relations: {plan}"
    );
    srv.set_now("2023-12-26T15:00:00Z");
    let r = srv.ok(
        &kim,
        "POST",
        &c("/route-choice"),
        Some(json!({"candidate": 1})),
    );
    assert_eq!(r["events"][0], "route_chosen");
    // A draft naming the source is refused, with the offending spans.
    let bad = "Source CS-4471 (codename NIGHTJAR) reports bombings planned at the Kerman cemetery on 3 January.";
    let a = srv.call(
        "POST",
        &c("/warnings"),
        Some(&kim),
        Some(json!({"text": bad})),
    );
    assert_eq!(a.status, 422, "{:?}", a.body);
    assert_eq!(
        a.body["type"],
        "https://tocsin.dev/problems/sanitisation-findings"
    );
    let spans: Vec<(u64, u64, String)> = a.body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["start"].as_u64().unwrap(),
                f["end"].as_u64().unwrap(),
                f["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for secret in ["CS-4471", "NIGHTJAR"] {
        let i = bad.find(secret).unwrap() as u64;
        assert!(
            spans
                .iter()
                .any(|(s, e, t)| *s == i && *e == i + secret.len() as u64 && t == secret),
            "{secret} not found with its span in {spans:?}"
        );
    }
    // The template's draft passes the check.
    let tpl = srv.ok(
        &kim,
        "GET",
        &c("/warning-template?sender=The%20United%20States"),
        None,
    );
    let check = srv.ok(
        &kim,
        "POST",
        &c("/warning-checks"),
        Some(json!({"text": tpl["text"]})),
    );
    assert_eq!(check["findings"], json!([]), "{tpl}");
    let text = tocsin::scenarios::KERMAN_WARNING;
    let r = srv.ok(
        &kim,
        "POST",
        &c("/warnings"),
        Some(json!({"text": text, "withheld": ["source_identity", "collection_method"]})),
    );
    assert_eq!(r["warning_version"], 1);
    srv.set_now("2023-12-27T09:00:00Z");
    srv.ok(
        &lee,
        "POST",
        &c("/warnings/1/approval"),
        Some(json!({"sha256": sha256_hex(text)})),
    );
    srv.ok(
        &lee,
        "POST",
        &c("/advisory"),
        Some(
            json!({"decision": "not_issued", "reason": "US citizens are already advised not to travel to Iran."}),
        ),
    );
    // Exports: CAP 1.2 and the letter carry the exact approved text.
    let cap = srv.call("GET", &c("/warnings/1/cap"), Some(&diaz), None);
    assert_eq!(cap.status, 200);
    assert!(
        cap.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    let xml = cap.body.as_str().unwrap();
    for want in [
        "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">",
        "<scope>Private</scope>",
        "<category>Security</category>",
        "<urgency>",
        "<areaDesc>",
        "<addresses>",
    ] {
        assert!(xml.contains(want), "{want} missing in\n{xml}");
    }
    assert!(
        xml.contains(&text.replace('\'', "&apos;")) || xml.contains(text),
        "{xml}"
    );
    let letter = srv.call("GET", &c("/warnings/1/letter"), Some(&diaz), None);
    let letter = letter.body.as_str().unwrap();
    assert_eq!(tocsin_export::text_of(letter), Some(text));
    assert!(letter.contains(&sha256_hex(text)), "{letter}");
    // Two hops: the diplomatic note to the Swiss, then the Swiss to Iran.
    srv.set_now("2023-12-28T16:00:00Z");
    srv.ok(
        &diaz,
        "POST",
        &c("/deliveries"),
        Some(json!({
            "warning_version": 1, "hop": 1, "status": "received",
            "sender": "US Department of State, Office of Iranian Affairs",
            "receiver": "Swiss Federal Department of Foreign Affairs",
            "channel": "diplomatic_note", "medium": "written",
            "at": "2023-12-28T16:00:00+01:00", "time_zone": "Europe/Zurich", "language": "en",
            "proof": {"kind": "acknowledgement", "reference": "Swiss FDFA acknowledgement of the note"},
            "attempt": 1
        })),
    );
    srv.set_now("2023-12-29T08:00:00Z");
    let r = srv.ok(
        &diaz,
        "POST",
        &c("/deliveries"),
        Some(json!({
            "warning_version": 1, "hop": 2, "status": "received",
            "sender": "Embassy of Switzerland in Tehran",
            "receiver": "Iranian Ministry of Foreign Affairs, for the Ministry of Intelligence",
            "channel": "protecting_power", "medium": "written",
            "at": "2023-12-29T10:30:00+03:30", "time_zone": "Asia/Tehran", "language": "en",
            "proof": {"kind": "receipt", "reference": "Swiss embassy report of delivery"},
            "attempt": 1
        })),
    );
    assert_eq!(r["state"], "delivered");
    srv.set_now("2024-01-02T12:00:00Z");
    srv.ok(
        &diaz,
        "POST",
        &c("/responses"),
        Some(json!({
            "kind": "no_response", "at": "2024-01-02T12:00:00Z", "note": "No reply through the Swiss channel."
        })),
    );
    // The follow-up is overdue: the scheduler raises it once, and notifies once.
    eventually("the follow-up escalation", || {
        count(&events_of(&srv, &kim, &case), "escalation_raised") == 1
    });
    eventually("the notice", || h.got.lock().unwrap().len() == 1);
    eventually("the notice's record", || {
        count(&events_of(&srv, &kim, &case), "notification_delivered") == 1
    });
    std::thread::sleep(Duration::from_millis(400));
    let ev = events_of(&srv, &kim, &case);
    assert_eq!(count(&ev, "escalation_raised"), 1, "fired twice");
    assert_eq!(h.got.lock().unwrap().len(), 1, "notified twice");
    let esc = ev
        .iter()
        .find(|e| e["event"]["type"] == "escalation_raised")
        .unwrap();
    assert_eq!(esc["event"]["step"], "follow_up");
    // The notice is signed: HMAC-SHA256 over "timestamp.body".
    {
        let got = h.got.lock().unwrap();
        let (headers, body) = &got[0];
        let ts = headers["x-tocsin-timestamp"].to_str().unwrap();
        let sig = headers["x-tocsin-signature"].to_str().unwrap();
        let want = tocsin_server::jobs::hmac_sha256_hex(
            b"a-long-shared-webhook-secret",
            format!("{ts}.{body}").as_bytes(),
        );
        assert_eq!(sig, format!("sha256={want}"));
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["case_id"], case);
        assert_eq!(v["step"], "follow_up");
    }
    srv.set_now("2024-01-04T12:00:00Z");
    let r = srv.ok(
        &kim,
        "POST",
        &c("/outcome"),
        Some(json!({
            "outcome": "attack_occurred", "at": "2024-01-03T14:50:00+03:30",
            "note": "Two suicide bombings near the memorial; about 90 killed."
        })),
    );
    assert_eq!(r["state"], "closed");
    let v = srv.ok(&auditor, "GET", "/api/v1/audit/verification", None);
    assert_eq!(v["ok"], true, "{v}");
    // Time-to-decide and time-to-warn are measured.
    let m = srv
        .call("GET", "/metrics", Some(&admin), None)
        .body
        .as_str()
        .unwrap()
        .to_owned();
    assert!(m.contains("tocsin_time_to_decide_seconds_count 1"), "{m}");
    assert!(m.contains("tocsin_time_to_warn_seconds_count 1"), "{m}");
    // Warned on 2 January, the window opening on the 3rd: in time, and
    // the case list says so.
    assert!(
        m.contains(r#"tocsin_duty_cases{lateness="in_time"} 1"#),
        "{m}"
    );
    let row = &srv.ok(&kim, "GET", "/api/v1/cases", None)["items"][0];
    assert_eq!(row["lateness"]["status"], "in_time", "{row}");
    assert!(row["measures"]["time_to_warn"].is_string(), "{row}");
    let case_figures = |m: &str| -> Vec<String> {
        let mut v: Vec<String> = m
            .lines()
            .filter(|l| l.starts_with("tocsin_time_to_") || l.starts_with("tocsin_duty_cases"))
            .map(str::to_owned)
            .collect();
        v.sort();
        v
    };
    // They come from the ledger's fold: a restart changes none of them.
    drop(srv);
    let srv = d.serve("2024-01-04T12:00:00Z");
    let again = srv
        .call("GET", "/metrics", Some(&admin), None)
        .body
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(case_figures(&again), case_figures(&m));
}

#[test]
fn crocus_end_to_end_over_http() {
    let d = Deployment::new();
    let srv = fast(&d, "2024-03-05T11:00:00Z");
    let els = ["Moscow Station", "Counterterrorism Center"];
    let col = srv.account(
        "collector.moscow",
        &[Role::Collector],
        &els,
        "TOP SECRET",
        &[],
    );
    let ross = srv.account("analyst.ross", &[Role::Analyst], &els, "TOP SECRET", &[]);
    let hale = srv.account("approver.hale", &[Role::Approver], &els, "TOP SECRET", &[]);
    let off = srv.account(
        "officer.moscow",
        &[Role::DeliveryOfficer],
        &els,
        "TOP SECRET",
        &[],
    );
    let r1: Value = serde_json::from_str(tocsin::scenarios::CROCUS_REPORT).unwrap();
    let case = srv.ok(&col, "POST", "/api/v1/reports", Some(r1))["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = |p: &str| format!("/api/v1/cases/{case}{p}");
    srv.set_now("2024-03-06T09:00:00Z");
    let r2: Value = serde_json::from_str(tocsin::scenarios::CROCUS_SYNAGOGUE_REPORT).unwrap();
    let j = srv.ok(
        &col,
        "POST",
        &format!("/api/v1/reports?case={case}"),
        Some(r2),
    );
    assert_eq!(j["new_case"], false);
    srv.ok(&ross, "POST", &c("/determinations"), Some(json!({})));
    // Direct relations: service-to-service liaison to the FSB.
    let plan = srv.ok(&ross, "GET", &c("/route-plan"), None);
    let best = &plan["candidates"][0];
    assert_eq!(best["route"]["hops"].as_array().unwrap().len(), 1, "{plan}");
    assert_eq!(best["route"]["hops"][0]["channel"], "service_liaison");
    assert_eq!(best["route"]["recipient"]["country"], "RU");
    srv.ok(
        &ross,
        "POST",
        &c("/route-choice"),
        Some(json!({"candidate": 1})),
    );
    let text = tocsin::scenarios::CROCUS_WARNING;
    srv.ok(
        &ross,
        "POST",
        &c("/warnings"),
        Some(json!({"text": text, "withheld": ["source_identity", "collection_method"]})),
    );
    srv.set_now("2024-03-07T07:00:00Z");
    srv.ok(
        &hale,
        "POST",
        &c("/warnings/1/approval"),
        Some(json!({"sha256": sha256_hex(text)})),
    );
    // Written delivery at 11:15 Moscow time.
    srv.set_now("2024-03-07T08:30:00Z");
    let r = srv.ok(
        &off,
        "POST",
        &c("/deliveries"),
        Some(json!({
            "warning_version": 1, "hop": 1, "status": "received",
            "sender": "CIA Moscow Station", "receiver": "Federal Security Service (FSB)",
            "channel": "service_liaison", "medium": "written",
            "at": "2024-03-07T11:15:00+03:00", "time_zone": "Europe/Moscow", "language": "en",
            "proof": {"kind": "receipt", "reference": "Delivered through established channels"},
            "attempt": 1
        })),
    );
    assert_eq!(r["state"], "delivered");
    srv.set_now("2024-03-07T20:00:00Z");
    srv.ok(
        &hale,
        "POST",
        &c("/advisory"),
        Some(json!({
            "decision": "issued", "reason": "US citizens attend concerts in Moscow: no double standard.",
            "issued_at": "2024-03-07T19:00:00Z",
            "text": "The Embassy is monitoring reports that extremists have imminent plans to target large gatherings in Moscow.",
            "issuer": "US Embassy Moscow"
        })),
    );
    srv.ok(
        &off,
        "POST",
        &c("/responses"),
        Some(json!({
            "kind": "action_observed", "at": "2024-03-07T18:00:00+03:00",
            "note": "FSB announced it broke up an ISIS cell plotting against a Moscow synagogue."
        })),
    );
    // The window lapses with no outcome: the case is flagged for re-assessment.
    srv.set_now("2024-03-10T00:00:00Z");
    eventually("the re-assessment flag", || {
        count(&events_of(&srv, &ross, &case), "reassessment_flagged") >= 1
    });
    let list = srv.ok(&ross, "GET", "/api/v1/cases?reassessment_due=true", None);
    assert_eq!(list["items"][0]["id"], case.as_str());
    srv.set_now("2024-03-19T12:00:00Z");
    srv.ok(
        &off,
        "POST",
        &c("/responses"),
        Some(json!({
            "kind": "dismissed", "at": "2024-03-19T12:00:00+03:00",
            "note": "The Russian president called Western warnings 'provocative'."
        })),
    );
    srv.set_now("2024-03-23T08:00:00Z");
    let r = srv.ok(
        &ross,
        "POST",
        &c("/outcome"),
        Some(json!({
            "outcome": "attack_occurred", "at": "2024-03-22T20:00:00+03:00",
            "note": "Gunmen attacked the concert at Crocus City Hall."
        })),
    );
    assert_eq!(r["state"], "closed");
    // The exact delivered text and its hash are retrievable.
    let w = srv.ok(&off, "GET", &c("/warnings/1"), None);
    assert_eq!(w["text"], text);
    assert_eq!(w["sha256"], sha256_hex(text));
    let ev = events_of(&srv, &ross, &case);
    let delivered = ev
        .iter()
        .find(|e| e["event"]["type"] == "delivery_recorded")
        .unwrap();
    assert_eq!(delivered["event"]["delivery"]["at"], "2024-03-07T08:15:00Z");
    assert_eq!(delivered["event"]["delivery"]["time_zone"], "Europe/Moscow");
    let kinds: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"]["type"] == "response_recorded")
        .map(|e| e["event"]["response"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["action_observed", "dismissed"]);
    assert_eq!(count(&ev, "public_advisory_decided"), 1);
}

#[test]
fn edge_3_kidnapping_warned_in_person_through_law_enforcement() {
    let d = Deployment::new();
    let srv = fast(&d, "2021-06-01T14:00:00Z");
    let fbi = "FBI New York Field Office";
    let col = srv.account("collector.fbi", &[Role::Collector], &[fbi], "SECRET", &[]);
    let an = srv.account("analyst.a", &[Role::Analyst], &[fbi], "SECRET", &[]);
    let ap = srv.account("approver.b", &[Role::Approver], &[fbi], "SECRET", &[]);
    let of = srv.account("officer.c", &[Role::DeliveryOfficer], &[fbi], "SECRET", &[]);
    let r: Value = serde_json::from_str(tocsin::scenarios::EDGE3_KIDNAPPING).unwrap();
    let case = srv.ok(&col, "POST", "/api/v1/reports", Some(r))["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = |p: &str| format!("/api/v1/cases/{case}{p}");
    assert_eq!(
        srv.ok(&an, "POST", &c("/determinations"), Some(json!({})))["state"],
        "duty_to_warn"
    );
    let plan = srv.ok(&an, "GET", &c("/route-plan"), None);
    let best = &plan["candidates"][0];
    assert_eq!(best["route"]["recipient"]["kind"], "victim", "{plan}");
    assert_eq!(best["route"]["hops"][0]["channel"], "law_enforcement");
    // The plotting state is never proposed as the protector.
    for cand in plan["candidates"].as_array().unwrap() {
        for hop in cand["route"]["hops"].as_array().unwrap() {
            assert_ne!(hop["to"]["country"], "IR", "{cand}");
        }
    }
    srv.ok(
        &an,
        "POST",
        &c("/route-choice"),
        Some(json!({"candidate": 1})),
    );
    let text = "Agents of a foreign government plan to abduct you. Do not travel alone; the FBI will help you with protective measures.";
    srv.ok(
        &an,
        "POST",
        &c("/warnings"),
        Some(json!({"text": text, "withheld": ["source_identity"]})),
    );
    srv.ok(
        &ap,
        "POST",
        &c("/warnings/1/approval"),
        Some(json!({"sha256": sha256_hex(text)})),
    );
    srv.set_now("2021-06-02T16:00:00Z");
    // Every hop of the chosen route, the last one in person with an acknowledgement.
    let hops = best["route"]["hops"].as_array().unwrap().clone();
    let mut state = Value::Null;
    for (i, hop) in hops.iter().enumerate() {
        let last = i + 1 == hops.len();
        let r = srv.ok(
            &of,
            "POST",
            &c("/deliveries"),
            Some(json!({
                "warning_version": 1, "hop": i + 1, "status": "received",
                "sender": hop["from"]["name"], "receiver": hop["to"]["name"],
                "channel": hop["channel"], "medium": if last { "in_person" } else { "written" },
                "at": "2021-06-02T11:00:00-04:00", "time_zone": "America/New_York", "language": "en",
                "proof": {"kind": "acknowledgement", "reference": "Signed acknowledgement of the warning"},
                "attempt": 1
            })),
        );
        state = r["state"].clone();
    }
    assert_eq!(state, "delivered");
    let ev = events_of(&srv, &of, &case);
    let last = ev
        .iter()
        .rev()
        .find(|e| e["event"]["type"] == "delivery_recorded")
        .unwrap();
    assert_eq!(last["event"]["delivery"]["medium"], "in_person");
    assert_eq!(
        last["event"]["delivery"]["proof"]["kind"],
        "acknowledgement"
    );
    assert_eq!(
        last["event"]["delivery"]["receiver"],
        best["route"]["recipient"]["name"]
    );
}

#[test]
fn edge_6_w4_rejected_then_a_broader_warning_from_the_template() {
    let d = Deployment::new();
    let srv = fast(&d, "2024-07-01T09:00:00Z");
    let el = "Human Collection Element";
    let col = srv.account("collector.h", &[Role::Collector], &[el], "TOP SECRET", &[]);
    let an = srv.account("analyst.a", &[Role::Analyst], &[el], "TOP SECRET", &[]);
    let ap = srv.account("approver.b", &[Role::Approver], &[el], "TOP SECRET", &[]);
    let r: Value = serde_json::from_str(tocsin::scenarios::EDGE6_SOURCE_EXPOSURE).unwrap();
    let case = srv.ok(&col, "POST", "/api/v1/reports", Some(r))["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = |p: &str| format!("/api/v1/cases/{case}{p}");
    srv.ok(&an, "POST", &c("/determinations"), Some(json!({})));
    let w = srv.ok(
        &an,
        "POST",
        &c("/waivers"),
        Some(
            json!({"ground": "W4", "reason": "A precise warning would expose our source inside the group."}),
        ),
    );
    let wid = w["waiver_id"].as_str().unwrap();
    let r = srv.ok(
        &ap,
        "POST",
        &c(&format!("/waivers/{wid}/rejection")),
        Some(json!({"reason": "A broader warning protects the source and the victim."})),
    );
    assert_eq!(r["state"], "duty_to_warn");
    let a = srv.call(
        "POST",
        &c("/warnings"),
        Some(&an),
        Some(json!({"text": "KESTREL reports a shooting planned at your office next Tuesday."})),
    );
    assert_eq!(a.status, 422);
    let tpl = srv.ok(&an, "GET", &c("/warning-template"), None);
    let r = srv.ok(
        &an,
        "POST",
        &c("/warnings"),
        Some(json!({"text": tpl["text"], "withheld": tpl["withheld"]})),
    );
    assert_eq!(r["state"], "warning_drafted");
}

#[test]
fn edge_8_six_hours_before_the_window_an_undelivered_warning_escalates_in_time() {
    let d = Deployment::new();
    // The window opens at 12:00 UTC; the report arrives at 06:00.
    let srv = fast(&d, "2024-05-10T06:00:00Z");
    let col = srv.account(
        "collector.e8",
        &[Role::Collector],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let an = srv.account(
        "analyst.e8",
        &[Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let ap = srv.account(
        "approver.e8",
        &[Role::Approver],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let mut r: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    r["received_at"] = json!("2024-05-10T06:00:00Z");
    r["window"] = json!({"not_before": "2024-05-10T12:00:00Z", "not_after": "2024-05-10T18:00:00Z", "time_zone": "Asia/Tehran"});
    let case = srv.ok(&col, "POST", "/api/v1/reports", Some(r))["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = |p: &str| format!("/api/v1/cases/{case}{p}");
    // The case shows the deadline.
    let rows = srv.ok(&an, "GET", "/api/v1/cases", None);
    assert_eq!(rows["items"][0]["next_step"], "decide");
    let due = rows["items"][0]["next_due"].as_str().unwrap().to_owned();
    assert!(due.as_str() < "2024-05-10T12:00:00Z", "decide by {due}");
    srv.ok(&an, "POST", &c("/determinations"), Some(json!({})));
    srv.ok(
        &an,
        "POST",
        &c("/route-choice"),
        Some(json!({"candidate": 1})),
    );
    let text = tocsin::scenarios::KERMAN_WARNING;
    srv.ok(&an, "POST", &c("/warnings"), Some(json!({"text": text})));
    srv.ok(
        &ap,
        "POST",
        &c("/warnings/1/approval"),
        Some(json!({"sha256": sha256_hex(text)})),
    );
    let rows = srv.ok(&an, "GET", "/api/v1/cases", None);
    assert_eq!(rows["items"][0]["next_step"], "deliver");
    let deliver_by = rows["items"][0]["next_due"].as_str().unwrap().to_owned();
    assert!(
        deliver_by.as_str() < "2024-05-10T12:00:00Z",
        "deliver by {deliver_by}"
    );
    // Nobody delivers: past the deliver-by time, still before the window, it escalates.
    let after: jiff::Timestamp =
        deliver_by.parse::<jiff::Timestamp>().unwrap() + jiff::SignedDuration::from_secs(60);
    assert!(after < "2024-05-10T12:00:00Z".parse().unwrap());
    srv.set_now(&after.to_string());
    eventually("the delivery escalation", || {
        count(&events_of(&srv, &an, &case), "escalation_raised") == 1
    });
    let ev = events_of(&srv, &an, &case);
    let esc = ev
        .iter()
        .find(|e| e["event"]["type"] == "escalation_raised")
        .unwrap();
    assert_eq!(esc["event"]["step"], "deliver");
    assert_eq!(esc["event"]["due"], deliver_by.as_str());
    let overdue = srv.ok(&an, "GET", "/api/v1/cases?overdue=true", None);
    assert_eq!(overdue["items"].as_array().unwrap().len(), 1);
}

#[test]
fn a_failing_webhook_is_retried_and_the_failure_is_visible() {
    let d = Deployment::new();
    let srv = fast(&d, "2023-12-26T10:00:00Z");
    let admin = srv.account(
        "admin",
        &[Role::Admin],
        &["Administration"],
        "UNCLASSIFIED",
        &[],
    );
    let col = srv.account(
        "collector.w",
        &[Role::Collector, Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let h = hook(500);
    srv.ok(
        &admin,
        "PUT",
        "/api/v1/notification-targets/broken",
        Some(json!({"channel": {"kind": "webhook", "url": h.url}})),
    );
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let case = srv.ok(&col, "POST", "/api/v1/reports", Some(report))["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Nobody decides by the decide-by time: escalation, notice, retries.
    srv.set_now("2023-12-27T10:00:00Z");
    eventually("three attempts", || h.got.lock().unwrap().len() == 3);
    eventually("the failure on the case", || {
        count(&events_of(&srv, &col, &case), "notification_failed") == 1
    });
    let failed = srv.ok(&admin, "GET", "/api/v1/notifications?status=failed", None);
    let n = &failed["items"][0];
    assert_eq!(n["attempts"], 3, "{failed}");
    assert!(n["last_error"].as_str().unwrap().contains("500"), "{n}");
    // The attempts were spaced by the back-off, and no more came after giving up.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(h.got.lock().unwrap().len(), 3);
    // Every attempt carried the same notice id, for the receiver to deduplicate.
    let ids: std::collections::BTreeSet<String> = h
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(hd, _)| hd["x-tocsin-delivery"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1);
}

/// `tocsin serve` as a process on this deployment, its clock fixed at `now`.
fn serve_process(d: &Deployment, now: &str) -> (Child, String) {
    use std::io::BufRead;
    let mut child = d
        .tocsin()
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--sweep-interval",
            "1",
            "--jobs-tick",
            "1",
        ])
        .env("TOCSIN_NOW", now)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    (child, url)
}

fn escalations(d: &Deployment) -> i64 {
    // A structural event: its JSON is in its version-1 leaf.
    let test = match d.backend {
        crate::support::Backend::Sqlite => "instr(leaf, ?1) > 0",
        crate::support::Backend::Postgres => "position(?1 in leaf) > 0",
    };
    d.sql().i64(
        &format!("SELECT count(*) FROM ledger WHERE {test}"),
        crate::p![b"escalation_raised".as_slice()],
    )
}

fn overdue_case(d: &Deployment) {
    let (svc, _clock, _s) = d.service("2023-12-26T10:00:00Z");
    let _ = &_s;
    let r = tocsin::scenarios::report(tocsin::scenarios::KERMAN_REPORT).unwrap();
    crate::support::block_on(async {
        let col = crate::support::person(&svc, "col").await;
        svc.submit_report(&col, tocsin_service::Intake::new(r))
            .await
    })
    .unwrap();
}

#[test]
fn an_escalation_fires_once_across_a_restart() {
    let d = Deployment::new();
    overdue_case(&d);
    // Past the decide-by time (27 December 09:00 UTC), nobody has decided.
    let (mut a, _) = serve_process(&d, "2023-12-28T00:00:00Z");
    eventually("the escalation", || escalations(&d) == 1);
    a.kill().unwrap();
    a.wait().unwrap();
    let (mut b, _) = serve_process(&d, "2023-12-28T00:00:00Z");
    std::thread::sleep(Duration::from_millis(3000));
    b.kill().unwrap();
    b.wait().unwrap();
    assert_eq!(escalations(&d), 1, "the restart raised it again");
    assert!(d.run(&["audit", "verify"]).status.success());
}

#[test]
fn an_escalation_fires_once_with_two_server_processes() {
    let d = Deployment::new();
    overdue_case(&d);
    let (mut a, _) = serve_process(&d, "2023-12-28T00:00:00Z");
    let (mut b, _) = serve_process(&d, "2023-12-28T00:00:00Z");
    eventually("the escalation", || escalations(&d) >= 1);
    std::thread::sleep(Duration::from_millis(3000));
    for p in [&mut a, &mut b] {
        p.kill().unwrap();
        p.wait().unwrap();
    }
    assert_eq!(escalations(&d), 1, "two processes raised it twice");
    assert!(d.run(&["audit", "verify"]).status.success());
}

/// A minimal SMTP server that accepts every message (plain SMTP, as lettre
/// speaks to a relay) and keeps the DATA of each.
fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>, tokio::runtime::Runtime) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let g = got.clone();
    rt.spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let g = g.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(d) = data.as_mut() {
                        if line == "." {
                            g.lock().unwrap().push(data.take().unwrap());
                            let _ = w.write_all(b"250 queued\r\n").await;
                        } else {
                            d.push_str(&line);
                            d.push('\n');
                        }
                        continue;
                    }
                    let cmd = line.to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if cmd.starts_with("DATA") {
                        data = Some(String::new());
                        b"354 go ahead\r\n"
                    } else if cmd.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 OK\r\n"
                    };
                    let _ = w.write_all(reply).await;
                }
            });
        }
    });
    (port, got, rt)
}

#[test]
fn escalations_are_emailed_where_smtp_is_configured() {
    let d = Deployment::new();
    let (port, mails, _rt) = smtp_sink();
    let srv = d.serve_with(
        "2023-12-26T10:00:00Z",
        ServerConfig {
            jobs: Some(JobsConfig {
                tick: Duration::from_millis(50),
                sweep_every: Duration::from_millis(50),
                smtp: Some(tocsin_server::jobs::SmtpConfig {
                    host: "127.0.0.1".into(),
                    port,
                    from: "tocsin@example.org".into(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    let admin = srv.account(
        "admin",
        &[Role::Admin],
        &["Administration"],
        "UNCLASSIFIED",
        &[],
    );
    let col = srv.account(
        "collector.m",
        &[Role::Collector, Role::Analyst],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    srv.ok(
        &admin,
        "PUT",
        "/api/v1/notification-targets/duty-officer",
        Some(json!({"channel": {"kind": "email", "to": ["duty.officer@example.org"]}})),
    );
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let case = srv.ok(&col, "POST", "/api/v1/reports", Some(report))["case_id"]
        .as_str()
        .unwrap()
        .to_owned();
    srv.set_now("2023-12-27T10:00:00Z");
    eventually("the email", || mails.lock().unwrap().len() == 1);
    let mail = mails.lock().unwrap()[0].clone();
    assert!(mail.contains("To: duty.officer@example.org"), "{mail}");
    assert!(mail.contains(&case), "{mail}");
    assert!(mail.contains("overdue"), "{mail}");
    eventually("the record", || {
        count(&events_of(&srv, &col, &case), "notification_delivered") == 1
    });
}

#[test]
fn a_sweep_visits_only_the_cases_whose_time_has_come() {
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let admin = srv.account(
        "admin",
        &[Role::Admin],
        &["Administration"],
        "UNCLASSIFIED",
        &[],
    );
    let col = srv.account(
        "collector.s",
        &[Role::Collector],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    for _ in 0..3 {
        srv.ok(&col, "POST", "/api/v1/reports", Some(report.clone()));
    }
    let sweep = |srv: &Server| srv.ok(&admin, "POST", "/api/v1/sweep", Some(json!({})));
    // Nothing is due yet: no case is even read.
    assert_eq!(sweep(&srv)["cases_checked"], 0);
    // Past the decide-by time: each case once, an escalation each.
    srv.set_now("2023-12-27T10:00:00Z");
    let r = sweep(&srv);
    assert_eq!(r["cases_checked"], 3, "{r}");
    assert_eq!(r["events"].as_array().unwrap().len(), 3);
    // Escalated: nothing is due again until the window lapses.
    assert_eq!(sweep(&srv)["cases_checked"], 0);
    srv.set_now("2024-01-05T00:00:00Z");
    let r = sweep(&srv);
    assert_eq!(r["cases_checked"], 3, "{r}");
    assert!(
        r["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["event"]["type"] == "reassessment_flagged")
    );
}
