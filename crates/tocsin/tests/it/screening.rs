//! Registries and screening through the real server and the CLI: importing
//! the real OFAC and UN lists, cross-script screening, the W3 flag on a
//! case whose victim is listed, malformed imports and re-imports.

use std::path::PathBuf;

use serde_json::{Value, json};
use tocsin_domain::Role;
use tocsin_store::StreamId;

use crate::support::{Deployment, Server, stderr, stdout};

const EL: &str = "FBI New York Field Office";
const EDGE3: &str = include_str!("../../scenarios/edge3-kidnapping.json");

fn shared(rel: &str) -> PathBuf {
    let dir = std::env::var_os("TOCSIN_SHARED_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    );
    let p = dir.join(rel);
    assert!(
        p.is_file(),
        "shared test data missing: {} (set TOCSIN_SHARED_DATA)",
        p.display()
    );
    p
}

struct People {
    admin: String,
    collector: String,
    analyst: String,
}

fn people(srv: &Server) -> People {
    People {
        admin: srv.account("admin.a", &[Role::Admin], &[EL], "TOP SECRET", &[]),
        collector: srv.account("collector.c", &[Role::Collector], &[EL], "SECRET", &[]),
        analyst: srv.account("analyst.kim", &[Role::Analyst], &[EL], "TOP SECRET", &[]),
    }
}

fn json_out(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "{}{}", stdout(o), stderr(o));
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

fn import_real_lists(srv: &Server, d: &Deployment, admin: &str) {
    let sdn = shared("registry/ofac_sdn.csv");
    let alt = shared("registry/ofac_alt.csv");
    let un = shared("registry/un_consolidated.xml");
    // The OFAC body (2.6 MB of text in JSON) is above the general 2 MiB limit.
    let out = srv
        .cli(d, admin)
        .args(["registry", "import", "--kind", "ofac", "--name", "ofac"])
        .arg(&sdn)
        .arg(&alt)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    assert!(
        s.contains("imported registry ofac version 1: 8976 entries"),
        "{s}"
    );
    let out = srv
        .cli(d, admin)
        .args(["registry", "import", "--kind", "un", "--name", "un"])
        .arg(&un)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("imported registry un version 1: 1003 entries"),
        "{}",
        stdout(&out)
    );
}

fn screen(srv: &Server, d: &Deployment, token: &str, args: &[&str]) -> Value {
    let out = srv
        .cli(d, token)
        .arg("--json")
        .arg("screen")
        .args(args)
        .output()
        .unwrap();
    json_out(&out)
}

#[test]
fn real_lists_import_and_screen_across_scripts() {
    let d = Deployment::new();
    let srv = d.serve("2024-06-01T10:00:00Z");
    let p = people(&srv);
    import_real_lists(&srv, &d, &p.admin);

    let list = json_out(
        &srv.cli(&d, &p.analyst)
            .args(["--json", "registry", "list"])
            .output()
            .unwrap(),
    );
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["registry"]["name"], "ofac");
    assert_eq!(items[0]["sources"], json!(["ofac_sdn.csv", "ofac_alt.csv"]));
    assert_eq!(items[1]["registry"]["kind"], "un");
    assert_eq!(items[1]["registry"]["sha256"].as_str().unwrap().len(), 64);

    // Cyrillic, in the UN list's original-script form, against OFAC's
    // Latin-only entries: the Latin entry is found.
    let r = screen(
        &srv,
        &d,
        &p.analyst,
        &["Умаров Доку Хаматович", "--registry", "ofac"],
    );
    assert_eq!(r["hits"][0]["entry_id"], "ofac:12110", "{r:#}");
    assert_eq!(r["hits"][0]["listed_name"], "UMAROV, Doku");
    assert_eq!(r["registries"][0]["version"], 1);
    // Arabic script, the same way.
    let r = screen(
        &srv,
        &d,
        &p.analyst,
        &["صدام حسين التكريتي", "--registry", "ofac", "--limit", "3"],
    );
    assert_eq!(r["hits"][0]["entry_id"], "ofac:7843", "{r:#}");
    assert!(r["hits"].as_array().unwrap().len() <= 3);
    // Against the UN list: its Latin entry, and the reverse (Latin query,
    // Cyrillic original-script name), with the explanation.
    let r = screen(&srv, &d, &p.analyst, &["Доку Умаров", "--registry", "un"]);
    let top = &r["hits"][0];
    assert_eq!(top["listed_name"], "DOKU KHAMATOVICH UMAROV", "{r:#}");
    assert!(top["score_permille"].as_u64().unwrap() >= 750);
    assert!(!top["explanation"].as_str().unwrap().is_empty());
    let id = top["entry_id"].as_str().unwrap().to_owned();
    let r = screen(&srv, &d, &p.analyst, &["Doku Umarov", "--registry", "un"]);
    assert_eq!(r["hits"][0]["entry_id"], id.as_str(), "{r:#}");
    // Every registry at once; the text form shows scores and explanations.
    let out = srv
        .cli(&d, &p.analyst)
        .args(["screen", "Qasem Soleimani"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    assert!(s.contains("in ofac v1, un v1"), "{s}");
    assert!(s.to_uppercase().contains("SOLEIMANI"), "{s}");

    // Who may do what: an analyst may not import, an admin may not screen.
    let a = srv.call(
        "POST",
        "/api/v1/registries",
        Some(&p.analyst),
        Some(json!({"kind": "directory", "name": "x", "files": []})),
    );
    assert_eq!(a.status, 403, "{:?}", a.body);
    let a = srv.call(
        "POST",
        "/api/v1/screenings",
        Some(&p.admin),
        Some(json!({"name": "Doku Umarov"})),
    );
    assert_eq!(a.status, 403, "{:?}", a.body);
    let a = srv.call(
        "POST",
        "/api/v1/screenings",
        Some(&p.analyst),
        Some(json!({"name": "Doku Umarov", "registries": ["nope"]})),
    );
    assert_eq!(a.status, 404, "{:?}", a.body);
    let spec = srv.call("GET", "/openapi.json", None, None);
    for path in ["/api/v1/screenings", "/api/v1/registries"] {
        assert!(spec.body["paths"].get(path).is_some(), "{path} in the spec");
    }
}

fn report_with_victim(victim: &str, title: &str) -> Value {
    let mut v: Value = serde_json::from_str(EDGE3).unwrap();
    v["title"] = json!(title);
    v["received_at"] = json!("2024-06-01T09:00:00Z");
    v["window"]["not_before"] = json!("2024-06-05T00:00:00-04:00");
    v["window"]["not_after"] = json!("2024-08-31T00:00:00-04:00");
    v["target"]["victims"] = json!([
        {"name": victim, "nationality": "RU"},
        {"description": "His driver"}
    ]);
    v["threat_actor"] =
        json!({"name": "Islamic State in Iraq and the Levant", "kind": "terrorist_group"});
    v
}

fn submit(srv: &Server, token: &str, report: &Value) -> String {
    let a = srv.call("POST", "/api/v1/reports", Some(token), Some(report.clone()));
    assert_eq!(a.status, 201, "{:?}", a.body);
    a.body["case_id"].as_str().unwrap().to_owned()
}

fn events(srv: &Server, token: &str, case: &str) -> Vec<Value> {
    srv.call(
        "GET",
        &format!("/api/v1/cases/{case}/events"),
        Some(token),
        None,
    )
    .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].clone())
        .collect()
}

#[test]
fn a_listed_victim_raises_a_w3_flag_with_evidence_and_the_determination_is_unchanged() {
    let d = Deployment::new();
    let srv = d.serve("2024-06-01T10:00:00Z");
    let p = people(&srv);
    let report = report_with_victim("Doku Umarov", "Plot to abduct a man in Brooklyn");

    // Before any registry is imported: no screening at all.
    let plain = submit(&srv, &p.collector, &report);
    assert!(
        events(&srv, &p.analyst, &plain)
            .iter()
            .all(|e| e["type"] != "screening_recorded")
    );

    import_real_lists(&srv, &d, &p.admin);
    let flagged = submit(&srv, &p.collector, &report);
    let evs = events(&srv, &p.analyst, &flagged);
    let kinds: Vec<&str> = evs.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        &kinds[..3],
        &["case_opened", "report_attached", "deadlines_set"]
    );
    assert!(kinds.contains(&"screening_recorded"), "{kinds:?}");
    let sc = &evs
        .iter()
        .find(|e| e["type"] == "screening_recorded")
        .unwrap()["screening"];
    assert_eq!(sc["registries"].as_array().unwrap().len(), 2);
    assert_eq!(sc["unnamed_victims"], 1);
    let subjects = sc["subjects"].as_array().unwrap();
    assert_eq!(subjects[0]["role"], "victim");
    assert_eq!(subjects[1]["role"], "threat_actor");
    // The threat actor is listed too: recorded, but it raises no W3 flag.
    assert!(
        !subjects[1]["listed"].as_array().unwrap().is_empty(),
        "{sc:#}"
    );
    let flags: Vec<&Value> = evs
        .iter()
        .filter(|e| e["type"] == "watch_list_flag_raised")
        .map(|e| &e["flag"])
        .collect();
    assert!(!flags.is_empty(), "{kinds:?}");
    for f in &flags {
        assert_eq!(f["subject"], "Doku Umarov");
        assert_eq!(f["ground"], "W3");
        assert_eq!(f["victim_index"], 0);
    }
    let ids: Vec<&str> = flags
        .iter()
        .map(|f| f["hit"]["entry_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"ofac:12110"), "{ids:?}");
    let un_flag = flags
        .iter()
        .find(|f| f["registry"]["name"] == "un")
        .expect("a UN flag");
    assert_eq!(un_flag["registry"]["version"], 1);
    assert_eq!(un_flag["registry"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(un_flag["hit"]["listed_name"], "DOKU KHAMATOVICH UMAROV");
    assert!(un_flag["hit"]["score_permille"].as_u64().unwrap() >= 750);
    assert!(!un_flag["hit"]["explanation"].as_str().unwrap().is_empty());

    // The case shows the flag with its evidence.
    let out = srv
        .cli(&d, &p.analyst)
        .args(["case", "show", &flagged])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    for want in [
        "WATCH LIST",
        "for the W3 assessment",
        "screening of report",
        "victim \"Doku Umarov\"",
        "LISTED",
        "[W3] victim \"Doku Umarov\" ~ ofac:12110",
        "un v1 (sha256",
        "1 victim(s) described, not named",
        "never a waiver",
    ] {
        assert!(s.contains(want), "missing '{want}' in:\n{s}");
    }

    // Determining both cases: the same verdict and rule trace, no waiver.
    srv.set_now("2024-06-01T12:00:00Z");
    let mut dets = Vec::new();
    for case in [&plain, &flagged] {
        let a = srv.call(
            "POST",
            &format!("/api/v1/cases/{case}/determinations"),
            Some(&p.analyst),
            Some(json!({})),
        );
        assert_eq!(a.status, 200, "{:?}", a.body);
        let c = srv.call(
            "GET",
            &format!("/api/v1/cases/{case}"),
            Some(&p.analyst),
            None,
        );
        assert!(c.body["waivers"].as_array().unwrap().is_empty());
        dets.push((
            c.body["state"].clone(),
            c.body["determinations"][0]["determination"].clone(),
            c.body["watch_list_flags"].as_array().unwrap().len(),
        ));
    }
    assert_eq!(dets[0].0, "duty_to_warn");
    assert_eq!(dets[0].0, dets[1].0, "same state");
    assert_eq!(
        dets[0].1, dets[1].1,
        "same determination with and without the flag"
    );
    assert_eq!((dets[0].2, dets[1].2 > 0), (0, true));

    // A report joining a case is screened in the same append too.
    let other = report_with_victim("Jane Nobody-Unlisted", "Second report");
    let a = srv.call(
        "POST",
        &format!("/api/v1/reports?case={flagged}"),
        Some(&p.collector),
        Some(other),
    );
    assert_eq!(a.status, 201, "{:?}", a.body);
    let evs = events(&srv, &p.analyst, &flagged);
    let screenings = evs
        .iter()
        .filter(|e| e["type"] == "screening_recorded")
        .count();
    assert_eq!(screenings, 2);
    let last = &evs
        .iter()
        .rev()
        .find(|e| e["type"] == "screening_recorded")
        .unwrap()["screening"];
    assert!(
        last["subjects"][0]["listed"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "{last:#}"
    );
}

const DIR_V1: &str = "id,name,aliases,kind,country\n\
p1,Jane Doe,J. Doe,person,GB\n\
p2,Acme Holdings Ltd,,entity,US\n";
const DIR_BAD: &str = "id,name,aliases,kind,country\n\
p1,Jane Doe,J. Doe,person,GB\n\
p2,Acme Holdings Ltd,,spaceship,US\n";
const DIR_V2: &str = "id,name,aliases,kind,country\n\
p1,Jane Doe,J. Doe,person,GB\n\
p2,Acme Holdings Ltd,,entity,US\n\
p3,Viktor Petrov,Виктор Петров,person,RU\n";

#[test]
fn a_malformed_import_keeps_the_previous_version_and_a_reimport_bumps_it() {
    let d = Deployment::new();
    let srv = d.serve("2024-06-01T10:00:00Z");
    let p = people(&srv);
    let import = |body: Value| srv.call("POST", "/api/v1/registries", Some(&p.admin), Some(body));
    let a = import(json!({"kind": "directory", "name": "protectees",
        "files": [{"name": "protectees.csv", "text": DIR_V1}]}));
    assert_eq!(a.status, 201, "{:?}", a.body);
    assert_eq!(a.body["registry"]["version"], 1);
    let v1 = a.body["registry"].clone();
    let size = d.ledger_size();

    // Over the API: refused with the file, line, record and reason.
    let a = import(json!({"kind": "directory", "name": "protectees",
        "files": [{"name": "bad.csv", "text": DIR_BAD}]}));
    assert_eq!(a.status, 422, "{:?}", a.body);
    let detail = a.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("bad.csv")
            && detail.contains("line 3")
            && detail.contains("p2")
            && detail.contains("spaceship"),
        "{detail}"
    );
    // Through the CLI: the local parse stops it before anything is sent.
    let f = d.file("bad.csv", DIR_BAD);
    let out = srv
        .cli(&d, &p.admin)
        .args([
            "registry",
            "import",
            "--kind",
            "directory",
            "--name",
            "protectees",
        ])
        .arg(&f)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("line 3"), "{}", stderr(&out));
    // A truncated UN file names its line too.
    let un = std::fs::read_to_string(shared("registry/un_consolidated.xml")).unwrap();
    let cut = un[..un.len() / 2].rfind('\n').unwrap();
    let a = import(json!({"kind": "un", "name": "protectees",
        "files": [{"name": "un.xml", "text": &un[..cut]}]}));
    assert_eq!(a.status, 422);
    assert!(
        a.body["detail"].as_str().unwrap().contains("line "),
        "{:?}",
        a.body
    );
    // Bad requests.
    for (body, want) in [
        (
            json!({"kind": "csv", "name": "protectees", "files": []}),
            "kind",
        ),
        (
            json!({"kind": "directory", "name": "Pro/tectees", "files": [{"name": "a.csv", "text": DIR_V1}]}),
            "registry name",
        ),
        (
            json!({"kind": "ofac", "name": "ofac", "files": []}),
            "sdn.csv",
        ),
    ] {
        let a = import(body);
        assert_eq!(a.status, 422, "{:?}", a.body);
        assert!(
            a.body["detail"].as_str().unwrap().contains(want),
            "{:?}",
            a.body
        );
    }

    // Nothing was written; version 1 is still the one in use.
    assert_eq!(d.ledger_size(), size, "a refused import wrote something");
    let list = srv.call("GET", "/api/v1/registries", Some(&p.analyst), None);
    assert_eq!(list.body["items"][0]["registry"], v1);
    let r = srv.call(
        "POST",
        "/api/v1/screenings",
        Some(&p.analyst),
        Some(json!({"name": "DOE, Jane"})),
    );
    assert_eq!(r.body["hits"][0]["entry_id"], "p1", "{:?}", r.body);
    assert_eq!(r.body["registries"][0], v1);

    // Re-import through the CLI: version 2, atomically (one ledger event).
    let f = d.file("protectees-2.csv", DIR_V2);
    let out = srv
        .cli(&d, &p.admin)
        .args([
            "registry",
            "import",
            "--kind",
            "directory",
            "--name",
            "protectees",
        ])
        .arg(&f)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    assert!(
        s.contains("imported registry protectees version 2: 3 entries, 5 names")
            && s.contains("replaces version 1"),
        "{s}"
    );
    assert_eq!(d.ledger_size(), size + 1);
    let r = srv.call(
        "POST",
        "/api/v1/screenings",
        Some(&p.analyst),
        Some(json!({"name": "Петров Виктор", "registries": ["protectees"]})),
    );
    assert_eq!(r.body["hits"][0]["entry_id"], "p3", "{:?}", r.body);
    assert_eq!(r.body["registries"][0]["version"], 2);
    let store = d.store();
    let stream = srv
        .rt
        .block_on(store.read_stream(&StreamId::Registry))
        .unwrap();
    let versions: Vec<u64> = stream
        .iter()
        .map(|e| match &e.envelope.event {
            tocsin_domain::Event::RegistryImported { registry, .. } => registry.version,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(versions, vec![1, 2]);
    // The ledger still verifies.
    let out = d.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // A directory resolves a victim on intake (no W3 flag: not a watch list).
    let case = submit(
        &srv,
        &p.collector,
        &report_with_victim("Viktor Petrov", "Threat to a protectee"),
    );
    let evs = events(&srv, &p.analyst, &case);
    assert!(evs.iter().all(|e| e["type"] != "watch_list_flag_raised"));
    let sc = &evs
        .iter()
        .find(|e| e["type"] == "screening_recorded")
        .unwrap()["screening"];
    assert_eq!(sc["subjects"][0]["resolved"][0]["entry_id"], "p3", "{sc:#}");
}
