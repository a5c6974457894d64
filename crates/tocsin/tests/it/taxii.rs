//! TAXII 2.1 against the real server: the OASIS client (taxii2-client,
//! from the STIX venv) discovers, pages a 1,050-object collection, checks
//! `added_after`, the limits, the media type of every answer and
//! `add_objects`; two readers of different clearance page one collection
//! and each learns exactly what they may see; `tocsin taxii publish`; and
//! `tocsin taxii pull` from one deployment into another, twice.
//!
//! The client comes from PyPI (`scripts/stix-tools`, which `scripts/test`
//! runs); a missing venv fails these tests.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use tocsin_domain::Role;

use crate::support::{Deployment, Server, stderr, stdout};

const TAXII: &str = "application/taxii+json;version=2.1";
const EL: &str = "Counterterrorism Collection Element";
const PARTNERS: &str = "Partner Desk";

fn python() -> PathBuf {
    crate::support::stix_tool("python")
}

/// An indicator (a small STIX object) numbered `i`.
fn indicator(i: usize) -> Value {
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--00000000-0000-4000-8000-{i:012}"),
        "created": "2026-12-01T00:00:00.000Z",
        "modified": "2026-12-01T00:00:00.000Z",
        "pattern": format!("[ipv4-addr:value = '198.51.100.{}']", i % 250),
        "pattern_type": "stix",
        "valid_from": "2026-12-01T00:00:00Z",
    })
}

/// An admin's token, to configure collections.
fn admin(srv: &Server) -> String {
    srv.account("taxii.admin", &[Role::Admin], &[EL], "UNCLASSIFIED", &[])
}

/// Another admin's token on a second deployment.
fn admin_of(srv: &Server) -> String {
    srv.account("local.admin", &[Role::Admin], &[EL], "UNCLASSIFIED", &[])
}

/// Configures collection `id`: analysts of EL read, collectors of EL
/// write, posts marked `level` (and `compartments`) for EL.
pub(crate) fn collection(srv: &Server, admin: &str, id: &str, level: &str, compartments: &[&str]) {
    srv.ok(
        admin,
        "PUT",
        &format!("/api/v1/taxii/collections/{id}"),
        Some(json!({
            "title": "Threats to life, shared with partners",
            "description": "Indicators and reports for the duty-to-warn community",
            "readers": {"roles": ["analyst"], "elements": [EL]},
            "writers": {"roles": ["collector"], "elements": [EL]},
            "marking": {"levels": [level], "compartments": compartments, "elements": [EL]},
        })),
    );
}

/// Posts `objects` to a collection as TAXII does; the status.
fn post(srv: &Server, token: &str, id: &str, objects: Vec<Value>) -> Value {
    let a = srv.call_with(
        "POST",
        &format!("/taxii2/api/collections/{id}/objects/"),
        Some(token),
        Some(json!({ "objects": objects })),
        &[("content-type", TAXII), ("accept", TAXII)],
    );
    assert_eq!(a.status, 202, "{:?}", a.body);
    assert_eq!(a.body["status"], "complete", "{:?}", a.body);
    a.body
}

/// Maps the producer of `bundle`'s report to EL in `srv`'s partner table
/// (what an admin does before a partner's reports can be imported).
fn map_producer(srv: &Server, admin: &str, bundle: &Value) {
    let producer = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["type"] == "report")
        .and_then(|r| r["created_by_ref"].as_str())
        .expect("the report's producer")
        .to_owned();
    srv.ok(
        admin,
        "PUT",
        &format!("/api/v1/partners/{producer}"),
        Some(json!({"element": EL, "classification": "SECRET"})),
    );
}

/// `tocsin --json taxii pull` into `local` as `puller`, from the API root
/// `root` (with the partner's token in `token_file`, `--page` when
/// given); it must succeed: its summary and its progress lines.
fn pull_into(
    local: &Server,
    d: &Deployment,
    puller: &str,
    root: &str,
    id: &str,
    page: Option<&str>,
    token_file: &std::path::Path,
) -> (Value, String) {
    let mut cmd = local.cli(d, puller);
    cmd.args([
        "--json",
        "taxii",
        "pull",
        "--from",
        root,
        "--collection",
        id,
    ]);
    if let Some(n) = page {
        cmd.args(["--page", n]);
    }
    let out = cmd.arg("--token-file").arg(token_file).output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    (serde_json::from_str(&stdout(&out)).unwrap(), stderr(&out))
}

/// The Kerman report submitted to `srv` by `token`: the new case's id.
fn submit_kerman(srv: &Server, token: &str) -> String {
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    let r = srv.call("POST", "/api/v1/reports", Some(token), Some(report));
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["case_id"].as_str().unwrap().to_owned()
}

fn get(srv: &Server, token: &str, path: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    let a = srv.call_with("GET", path, Some(token), None, &[("accept", TAXII)]);
    assert_eq!(
        a.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some(TAXII),
        "GET {path}"
    );
    (a.status, a.body, a.headers)
}

#[test]
fn the_oasis_client_pages_1050_objects_and_adds_objects() {
    let d = Deployment::new();
    let srv = d.serve("2026-12-04T10:00:00Z");
    let admin = admin(&srv);
    let analyst = srv.account(
        "analyst.taxii",
        &[Role::Analyst, Role::Collector],
        &[EL],
        "SECRET",
        &[],
    );
    let id = "01935f6e-0000-7000-8000-00000000c011";
    collection(&srv, &admin, id, "SECRET", &[]);
    // 500 objects added at once share one date added; 550 more follow,
    // 50 at a time, a second apart.
    post(&srv, &analyst, id, (0..500).map(indicator).collect());
    for batch in 0..11 {
        srv.set_now(&format!("2026-12-04T10:00:{:02}Z", batch + 1));
        post(
            &srv,
            &analyst,
            id,
            (500 + batch * 50..550 + batch * 50)
                .map(indicator)
                .collect(),
        );
    }
    let out = Command::new(python())
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/taxii_client.py"))
        .args([&srv.url, &analyst, id])
        .output()
        .expect("run python");
    assert!(
        out.status.success() && stdout(&out).trim_end().ends_with("ok"),
        "taxii2-client:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
}

/// Every id a reader gets paging the collection `limit` at a time, with
/// the number of pages; checks `more` and `next` on the way.
fn page_all(srv: &Server, token: &str, id: &str, what: &str, limit: u32) -> (Vec<String>, usize) {
    let mut ids = vec![];
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!("/taxii2/api/collections/{id}/{what}/?limit={limit}");
        if let Some(n) = &next {
            path.push_str(&format!("&next={n}"));
        }
        let (status, body, headers) = get(srv, token, &path);
        assert_eq!(status, 200, "{body:?}");
        pages += 1;
        let got = body["objects"].as_array().cloned().unwrap_or_default();
        assert!(got.len() <= limit as usize);
        if !got.is_empty() {
            assert!(headers.contains_key("x-taxii-date-added-first"));
            assert!(headers.contains_key("x-taxii-date-added-last"));
        }
        ids.extend(got.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
        if body["more"] == json!(true) {
            // A page that says more is full: nothing hidden thins it.
            assert_eq!(got.len(), limit as usize, "{body:?}");
            next = Some(body["next"].as_str().expect("next").to_owned());
        } else {
            assert!(body.get("next").is_none(), "{body:?}");
            return (ids, pages);
        }
    }
}

#[test]
fn two_readers_of_different_clearance_each_learn_only_what_they_may_see() {
    let d = Deployment::new();
    let srv = d.serve("2026-12-04T10:00:00Z");
    let admin = admin(&srv);
    let writer = srv.account(
        "collector.taxii",
        &[Role::Collector],
        &[EL],
        "TOP SECRET",
        &["HCS"],
    );
    let high = srv.account(
        "analyst.high",
        &[Role::Analyst],
        &[EL],
        "TOP SECRET",
        &["HCS"],
    );
    let low = srv.account("analyst.low", &[Role::Analyst], &[EL], "SECRET", &[]);
    let outsider = srv.account(
        "analyst.out",
        &[Role::Analyst],
        &[PARTNERS],
        "TOP SECRET",
        &["HCS"],
    );
    let id = "01935f6e-0000-7000-8000-00000000c022";
    // 30 objects at SECRET, then the admin raises the collection's marking
    // and 20 more are posted at TOP SECRET/HCS, interleaved in time.
    collection(&srv, &admin, id, "SECRET", &[]);
    post(&srv, &writer, id, (0..30).map(indicator).collect());
    collection(&srv, &admin, id, "TOP SECRET", &["HCS"]);
    srv.set_now("2026-12-04T10:00:01Z");
    let status = post(&srv, &writer, id, (30..50).map(indicator).collect());
    assert_eq!(status["success_count"], 20);
    // A second version of a SECRET object, now at TOP SECRET/HCS.
    srv.set_now("2026-12-04T10:00:02Z");
    let mut v2 = indicator(3);
    v2["modified"] = json!("2026-12-02T00:00:00.000Z");
    post(&srv, &writer, id, vec![v2]);
    let all: BTreeSet<String> = (0..50)
        .map(|i| indicator(i)["id"].as_str().unwrap().to_owned())
        .collect();
    let secret: BTreeSet<String> = (0..30)
        .map(|i| indicator(i)["id"].as_str().unwrap().to_owned())
        .collect();
    for what in ["objects", "manifest"] {
        let (ids, _) = page_all(&srv, &high, id, what, 7);
        assert_eq!(ids.len(), 50, "{what}: each object once, its last version");
        assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), all);
        let (ids, pages) = page_all(&srv, &low, id, what, 7);
        assert_eq!(ids.len(), 30, "{what}");
        assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), secret);
        assert_eq!(pages, 5, "{what}: 30 objects, 7 a page, and nothing more");
    }
    // The low reader sees indicator 3 at its first version only; the high
    // reader its last.
    let three = indicator(3)["id"].as_str().unwrap().to_owned();
    let path = format!("/taxii2/api/collections/{id}/objects/{three}/versions/");
    let (_, low_v, _) = get(&srv, &low, &path);
    assert_eq!(low_v["versions"], json!(["2026-12-01T00:00:00.000Z"]));
    let (_, high_v, _) = get(&srv, &high, &path);
    assert_eq!(
        high_v["versions"],
        json!(["2026-12-01T00:00:00.000Z", "2026-12-02T00:00:00.000Z"])
    );
    // A TOP SECRET object answers the low reader as one that does not exist.
    let hidden = indicator(40)["id"].as_str().unwrap().to_owned();
    let missing = "indicator--00000000-0000-4000-8000-999999999999";
    let answer = |obj: &str, suffix: &str| {
        let (status, mut body, _) = get(
            &srv,
            &low,
            &format!("/taxii2/api/collections/{id}/objects/{obj}/{suffix}"),
        );
        body.as_object_mut().unwrap().remove("error_id");
        let text = body.to_string().replace(obj, "ID");
        (status, text)
    };
    for suffix in ["", "versions/"] {
        let (hs, hb) = answer(&hidden, suffix);
        let (ms, mb) = answer(missing, suffix);
        assert_eq!((hs, &hb), (ms, &mb), "hidden and missing alike");
        assert_eq!(hs, 404);
    }
    // match[id] of a hidden object finds nothing, and says no more.
    let (_, body, headers) = get(
        &srv,
        &low,
        &format!("/taxii2/api/collections/{id}/objects/?match[id]={hidden}"),
    );
    assert_eq!(body, json!({"more": false}));
    assert!(!headers.contains_key("x-taxii-date-added-first"));
    // Someone outside the collection's audience (element) does not learn
    // it exists; nor does a wrong id.
    let (s1, b1, _) = get(&srv, &outsider, &format!("/taxii2/api/collections/{id}/"));
    assert_eq!(s1, 404, "{b1:?}");
    let (_, list, _) = get(&srv, &outsider, "/taxii2/api/collections/");
    assert_eq!(list, json!({}), "the outsider lists no collection");
    // Only the poster reads a status.
    let sid = status["id"].as_str().unwrap();
    let (s, _, _) = get(&srv, &high, &format!("/taxii2/api/status/{sid}/"));
    assert_eq!(s, 404);
    let (s, again, _) = get(&srv, &writer, &format!("/taxii2/api/status/{sid}/"));
    assert_eq!((s, &again), (200, &status));
    // A reader who may not write is refused a post.
    let a = srv.call_with(
        "POST",
        &format!("/taxii2/api/collections/{id}/objects/"),
        Some(&low),
        Some(json!({"objects": [indicator(99)]})),
        &[("content-type", TAXII)],
    );
    assert_eq!(a.status, 403, "{:?}", a.body);
    // A post that is not TAXII is refused for its media type.
    let a = srv.call_with(
        "POST",
        &format!("/taxii2/api/collections/{id}/objects/"),
        Some(&writer),
        Some(json!({"objects": [indicator(98)]})),
        &[("content-type", "application/json")],
    );
    assert_eq!(a.status, 415, "{:?}", a.body);
    // A cursor this server never handed out is refused, naming `next`.
    let (s, body, _) = get(
        &srv,
        &high,
        &format!("/taxii2/api/collections/{id}/objects/?next=bm9wZQ"),
    );
    assert_eq!(s, 400, "{body:?}");
    assert_eq!(body["details"]["field"], "next");
    // The ledger holds what was served: a rebuild comes out identical
    // (and the deployment's drop runs `audit verify --deep`).
    let r = srv.rt.block_on(srv.svc.rebuild()).unwrap();
    assert!(r.identical(), "{r:?}");
}

#[test]
fn a_case_is_published_as_its_publisher_sees_it_under_its_marking() {
    let d = Deployment::new();
    let srv = d.serve("2026-12-04T10:00:00Z");
    let admin = admin(&srv);
    let analyst = srv.account(
        "analyst.pub",
        &[Role::Analyst, Role::Collector],
        &[EL],
        "TOP SECRET",
        &["HCS"],
    );
    let low = srv.account("analyst.nohcs", &[Role::Analyst], &[EL], "TOP SECRET", &[]);
    let id = "01935f6e-0000-7000-8000-00000000c033";
    // Configured with the CLI this time.
    let out = srv
        .cli(&d, &admin)
        .args([
            "taxii",
            "collection",
            "add",
            "--id",
            id,
            "--title",
            "Kerman partners",
            "--read-role",
            "analyst",
            "--read-element",
            EL,
            "--write-role",
            "collector",
            "--write-element",
            EL,
            "--level",
            "SECRET",
            "--element",
            EL,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = srv
        .cli(&d, &admin)
        .args(["taxii", "collection", "list"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains(id) && stdout(&out).contains("Kerman partners"),
        "{}",
        stdout(&out)
    );
    let case = submit_kerman(&srv, &analyst);
    let out = srv
        .cli(&d, &analyst)
        .args(["taxii", "publish", "--case", &case, "--collection", id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("objects added"), "{}", stdout(&out));
    let bundle = srv.ok(&analyst, "GET", &format!("/api/v1/cases/{case}/stix"), None);
    let exported = bundle["objects"].as_array().unwrap().len();
    // Published again: nothing new.
    let again = srv.ok(
        &analyst,
        "POST",
        &format!("/api/v1/cases/{case}/taxii"),
        Some(json!({"collection": id})),
    );
    assert_eq!(
        (again["added"].clone(), again["unchanged"].clone()),
        (json!(0), json!(exported))
    );
    let (ids, _) = page_all(&srv, &analyst, id, "objects", 1000);
    assert_eq!(ids.len(), exported);
    assert!(ids.iter().any(|i| i.starts_with("report--")));
    // Reading them is recorded as a read of the case.
    let auditor = srv.account(
        "auditor.taxii",
        &[Role::Auditor],
        &[EL],
        "TOP SECRET",
        &["HCS"],
    );
    let log = srv.ok(&auditor, "GET", "/api/v1/audit/access?limit=1000", None);
    let taxii_reads = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["event"]["type"] == "content_read"
                && e["event"]["parts"] == json!(["taxii_objects"])
                && e["event"]["case_id"] == json!(case)
        })
        .count();
    assert!(taxii_reads >= 1, "{log:?}");
    // A reader without the case's compartment gets none of it.
    let (ids, _) = page_all(&srv, &low, id, "objects", 1000);
    assert!(ids.is_empty(), "{ids:?}");
    // Nor may a reader who may not write the collection publish to it.
    let a = srv.call(
        "POST",
        &format!("/api/v1/cases/{case}/taxii"),
        Some(&low),
        Some(json!({"collection": id})),
    );
    assert!(matches!(a.status, 403 | 404), "{:?}", a.body);
}

#[test]
fn pull_a_partners_collection_into_another_deployment_twice() {
    // The partner: the Kerman case published to a collection, and 230
    // indicators after it.
    let a = Deployment::new();
    let srv = a.serve("2026-12-04T10:00:00Z");
    let admin = admin(&srv);
    let analyst = srv.account(
        "analyst.partner",
        &[Role::Analyst, Role::Collector],
        &[EL],
        "TOP SECRET",
        &["HCS"],
    );
    let id = "01935f6e-0000-7000-8000-00000000c044";
    collection(&srv, &admin, id, "SECRET", &[]);
    let case = submit_kerman(&srv, &analyst);
    let published = srv.ok(
        &analyst,
        "POST",
        &format!("/api/v1/cases/{case}/taxii"),
        Some(json!({"collection": id})),
    );
    let published = published["added"].as_u64().unwrap();
    assert!(published > 3 && published < 100, "{published}");
    srv.set_now("2026-12-04T10:00:01Z");
    post(&srv, &analyst, id, (0..230).map(indicator).collect());
    let partner_token = srv.account(
        "puller.remote",
        &[Role::Analyst],
        &[EL],
        "TOP SECRET",
        &["HCS"],
    );

    // This deployment pulls.
    let b = Deployment::new();
    let local = b.serve("2026-12-04T11:00:00Z");
    let puller = local.account("puller", &[Role::Collector], &[EL], "SECRET", &["HCS"]);
    let bundle = srv.ok(&analyst, "GET", &format!("/api/v1/cases/{case}/stix"), None);
    map_producer(&local, &admin_of(&local), &bundle);
    let token_file = b.file("partner.token", &partner_token);
    let root = format!("{}/taxii2/api/", srv.url);
    let pull = || pull_into(&local, &b, &puller, &root, id, None, &token_file);
    let (first, progress) = pull();
    assert_eq!(first["objects"], 230 + published, "{first:?}");
    assert_eq!(first["pages"], 3, "{first:?}");
    assert_eq!(first["reports"], 1, "{first:?}");
    assert!(progress.contains("page 3:"), "{progress}");
    // The Kerman report opened a case here, under the puller's element.
    let cases = local.ok(&puller, "GET", "/api/v1/cases", None);
    assert_eq!(cases["items"].as_array().unwrap().len(), 1, "{cases:?}");
    // The cursor is in the deployment.
    let cursor = local.ok(
        &puller,
        "GET",
        &format!(
            "/api/v1/taxii/cursor?server={}&collection={id}",
            root.replace(':', "%3A").replace('/', "%2F")
        ),
        None,
    );
    assert_eq!(
        cursor["cursor"]["added_after"],
        first["cursor"]["added_after"]
    );
    assert!(cursor["cursor"]["added_after"].is_string(), "{cursor:?}");
    // Ten more on the partner's side: the second pull fetches only those.
    srv.set_now("2026-12-04T10:00:02Z");
    post(&srv, &analyst, id, (300..310).map(indicator).collect());
    let (second, _) = pull();
    assert_eq!(second["objects"], 10, "{second:?}");
    let (third, _) = pull();
    assert_eq!(third["objects"], 0, "{third:?}");
    // A pull that cannot reach the partner fails and leaves the cursor.
    let out = local
        .cli(&b, &puller)
        .args([
            "taxii",
            "pull",
            "--from",
            "http://127.0.0.1:9/taxii2/api/",
            "--collection",
            id,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cursor stays"), "{}", stderr(&out));
}

#[test]
fn a_posted_report_goes_through_the_stix_import() {
    // A bundle exported by another deployment.
    let a = Deployment::new();
    let partner = a.serve("2026-12-04T10:00:00Z");
    let analyst = partner.account(
        "analyst.src",
        &[Role::Analyst],
        &[EL],
        "TOP SECRET",
        &["HCS"],
    );
    let case = submit_kerman(&partner, &analyst);
    let bundle = partner.ok(&analyst, "GET", &format!("/api/v1/cases/{case}/stix"), None);
    let objects = bundle["objects"].as_array().unwrap().clone();
    let report_id = objects.iter().find(|o| o["type"] == "report").unwrap()["id"].clone();

    let d = Deployment::new();
    let srv = d.serve("2026-12-04T11:00:00Z");
    let admin = admin(&srv);
    let writer = srv.account(
        "collector.in",
        &[Role::Collector],
        &[EL],
        "SECRET",
        &["HCS"],
    );
    map_producer(&srv, &admin, &bundle);
    let id = "01935f6e-0000-7000-8000-00000000c055";
    collection(&srv, &admin, id, "SECRET", &["HCS"]);
    let status = post(&srv, &writer, id, objects.clone());
    assert_eq!(status["failure_count"], 0, "{status:?}");
    let note = status["successes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == report_id)
        .expect("the report succeeded");
    assert!(
        note["message"].as_str().unwrap().contains("opened a case"),
        "{note:?}"
    );
    let cases = srv.ok(&writer, "GET", "/api/v1/cases", None);
    assert_eq!(cases["items"].as_array().unwrap().len(), 1, "{cases:?}");
    // Posted again: every object is there already, and the import says so.
    let again = post(&srv, &writer, id, objects);
    assert_eq!(again["failure_count"], 0, "{again:?}");
    let cases = srv.ok(&writer, "GET", "/api/v1/cases", None);
    assert_eq!(cases["items"].as_array().unwrap().len(), 1, "{cases:?}");
    // A report the import refuses is refused, and not added.
    let mut bad = indicator(1);
    bad["type"] = json!("report");
    bad["id"] = json!("report--00000000-0000-4000-8000-00000000bad1");
    let refused = post(&srv, &writer, id, vec![bad]);
    assert_eq!(refused["failure_count"], 1, "{refused:?}");
    assert!(
        refused["failures"][0]["message"]
            .as_str()
            .unwrap()
            .contains("STIX import refused"),
        "{refused:?}"
    );
}

#[test]
fn a_pulled_report_finds_what_it_refers_to_on_earlier_pages() {
    // The partner's Kerman bundle, paged four objects at a time: the
    // report comes pages after the objects it refers to.
    let a = Deployment::new();
    let srv = a.serve("2026-12-04T10:00:00Z");
    let admin = admin(&srv);
    let analyst = srv.account(
        "analyst.partner",
        &[Role::Analyst, Role::Collector],
        &[EL],
        "TOP SECRET",
        &["HCS"],
    );
    let id = "01935f6e-0000-7000-8000-00000000c066";
    collection(&srv, &admin, id, "SECRET", &[]);
    let case = submit_kerman(&srv, &analyst);
    srv.ok(
        &analyst,
        "POST",
        &format!("/api/v1/cases/{case}/taxii"),
        Some(json!({"collection": id})),
    );
    let bundle = srv.ok(&analyst, "GET", &format!("/api/v1/cases/{case}/stix"), None);
    let partner_token = srv.account(
        "puller.remote",
        &[Role::Analyst],
        &[EL],
        "TOP SECRET",
        &["HCS"],
    );
    let b = Deployment::new();
    let local = b.serve("2026-12-04T11:00:00Z");
    let puller = local.account("puller", &[Role::Collector], &[EL], "SECRET", &["HCS"]);
    map_producer(&local, &admin_of(&local), &bundle);
    let token_file = b.file("partner.token", &partner_token);
    let root = format!("{}/taxii2/api/", srv.url);
    let (v, _) = pull_into(&local, &b, &puller, &root, id, Some("4"), &token_file);
    assert_eq!(v["reports"], 1, "{v:?}");
    assert!(v["pages"].as_u64().unwrap() > 1, "{v:?}");
    let cases = local.ok(&puller, "GET", "/api/v1/cases", None);
    assert_eq!(cases["items"].as_array().unwrap().len(), 1, "{cases:?}");
}

#[test]
fn a_pulled_report_fetches_what_it_refers_to_from_later_pages() {
    // A partner's bundle posted with its report first: paged two objects
    // at a time, the report arrives before the objects it refers to, and
    // the pull asks the partner for those by id.
    let p = Deployment::new();
    let producer = p.serve("2026-12-04T09:00:00Z");
    let author = producer.account(
        "analyst.src",
        &[Role::Analyst],
        &[EL],
        "TOP SECRET",
        &["HCS"],
    );
    let case = submit_kerman(&producer, &author);
    let bundle = producer.ok(&author, "GET", &format!("/api/v1/cases/{case}/stix"), None);
    let mut objects = bundle["objects"].as_array().unwrap().clone();
    objects.sort_by_key(|o| o["type"] != "report");
    assert_eq!(objects[0]["type"], "report");

    let a = Deployment::new();
    let srv = a.serve("2026-12-04T10:00:00Z");
    let admin = admin(&srv);
    let writer = srv.account(
        "collector.in",
        &[Role::Collector],
        &[EL],
        "SECRET",
        &["HCS"],
    );
    map_producer(&srv, &admin, &bundle);
    let id = "01935f6e-0000-7000-8000-00000000c077";
    collection(&srv, &admin, id, "SECRET", &["HCS"]);
    let status = post(&srv, &writer, id, objects);
    assert_eq!(status["failure_count"], 0, "{status:?}");
    let reader = srv.account(
        "puller.remote",
        &[Role::Analyst],
        &[EL],
        "TOP SECRET",
        &["HCS"],
    );

    let b = Deployment::new();
    let local = b.serve("2026-12-04T11:00:00Z");
    let puller = local.account("puller", &[Role::Collector], &[EL], "SECRET", &["HCS"]);
    map_producer(&local, &admin_of(&local), &bundle);
    let token_file = b.file("partner.token", &reader);
    let root = format!("{}/taxii2/api/", srv.url);
    let (v, _) = pull_into(&local, &b, &puller, &root, id, Some("2"), &token_file);
    assert_eq!(v["reports"], 1, "{v:?}");
    let cases = local.ok(&puller, "GET", "/api/v1/cases", None);
    assert_eq!(cases["items"].as_array().unwrap().len(), 1, "{cases:?}");
}
