//! The oversight export (`tocsin records export`, issue 14): the Kerman
//! case and a "Khashoggi-like" query (a victim's name across cases, in a
//! period) exported by a records officer through the CLI; each bag passes
//! the Library of Congress BagIt validator (`bagit.py`, from PyPI through
//! `scripts/stix-tools`; missing, the test fails), `tocsin records
//! verify-export` with the deployment's key, and the independent
//! `scripts/check-export.py`. Five tampered copies each fail
//! `verify-export`: a file deleted, a record dropped with the manifests
//! fixed up, a proof byte flipped, the checkpoint swapped for a later
//! export's, the scope narrowed. A release copy: a redaction awaiting its
//! second officer blocks it; approved, it is shown in place and the
//! redacted text appears nowhere in the bag, which still verifies.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tocsin_domain::Role;
use tocsin_export::bag::{self, ALGORITHMS, Files};

use crate::support::{Deployment, Server, stderr, stdout};

const VICTIM: &str = "Dissident journalist (name withheld)";

/// The Kerman scenario run, and three reports about one victim: two
/// cases opened in February 2024, one in June.
pub(crate) fn deployment() -> (Deployment, Server, String, Vec<String>) {
    use tocsin::scenarios::{Cast, EDGE7_CONSULATE, PEOPLE, report, run_kerman};
    use tocsin_service::Intake;
    let d = Deployment::new();
    let srv = d.serve("2023-12-01T09:00:00Z");
    let (svc, clock) = (srv.svc.clone(), srv.clock.clone());
    let (kerman, victim_cases) = srv.rt.block_on(async move {
        let cast = Cast::enrol(&svc, PEOPLE, None).await.unwrap();
        let k = run_kerman(&svc, &clock, &cast, &mut |_: &str| {})
            .await
            .unwrap();
        let collector = cast.get("collector.ct").unwrap();
        let mut cases = Vec::new();
        for at in [
            "2024-02-01T10:00:00Z",
            "2024-02-02T10:00:00Z",
            "2024-06-01T10:00:00Z",
        ] {
            clock.set(at.parse().unwrap());
            let s = svc
                .submit_report(collector, Intake::new(report(EDGE7_CONSULATE).unwrap()))
                .await
                .unwrap();
            cases.push(s.case_id.to_string());
        }
        (k.case_id.to_string(), cases)
    });
    (d, srv, kerman, victim_cases)
}

fn bagit_py() -> PathBuf {
    crate::support::stix_tool("bagit.py")
}

fn check_export_py() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/check-export.py")
}

/// Every file of a bag directory by relative path.
fn read_bag(dir: &Path) -> Files {
    let mut files = Files::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                files.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    files
}

fn write_bag(dir: &Path, files: &Files) {
    let _ = std::fs::remove_dir_all(dir);
    for (rel, bytes) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

/// Recomputes the manifests, the Oxum and the tag manifests, as someone
/// without the signing key can.
fn fix_up(files: &mut Files) {
    let oxum = bag::payload_oxum(files);
    let info: String = String::from_utf8(files["bag-info.txt"].clone())
        .unwrap()
        .lines()
        .map(|l| match l.starts_with("Payload-Oxum:") {
            true => format!("Payload-Oxum: {oxum}\n"),
            false => format!("{l}\n"),
        })
        .collect();
    files.insert("bag-info.txt".into(), info.into_bytes());
    for alg in ALGORITHMS {
        let m = bag::manifest_text(alg, bag::payload(files));
        files.insert(alg.manifest(), m.into_bytes());
    }
    let tags: Files = files
        .iter()
        .filter(|(p, _)| !p.starts_with("data/") && !p.starts_with("tagmanifest-"))
        .map(|(p, b)| (p.clone(), b.clone()))
        .collect();
    for alg in ALGORITHMS {
        files.insert(
            alg.tag_manifest(),
            bag::manifest_text(alg, &tags).into_bytes(),
        );
    }
}

/// `tocsin records export` by the officer into `dir`: its JSON answer.
pub(crate) fn export(
    srv: &Server,
    d: &Deployment,
    token: &str,
    args: &[&str],
    dir: &Path,
) -> Value {
    let out = srv
        .cli(d, token)
        .args(["--json", "records", "export"])
        .args(args)
        .arg("--out")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "export: {}{}",
        stdout(&out),
        stderr(&out)
    );
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// `verify-export` with the deployment's key: (exit code, report).
fn verify_export(d: &Deployment, dir: &Path, vkey: &str) -> (i32, Value) {
    let out = d
        .tocsin()
        .args(["--json", "records", "verify-export", "--vkey", vkey])
        .arg(dir)
        .output()
        .unwrap();
    let v = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (out.status.code().unwrap_or(-1), v)
}

/// The three checks every good bag passes.
pub(crate) fn passes_every_check(d: &Deployment, dir: &Path, vkey: &str) -> Value {
    let out = Command::new(bagit_py())
        .args(["--validate", "--quiet"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bagit.py --validate: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let (code, v) = verify_export(d, dir, vkey);
    assert_eq!((code, &v["ok"]), (0, &Value::Bool(true)), "{v}");
    let python = bagit_py().with_file_name("python");
    let out = Command::new(python)
        .arg(check_export_py())
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "check-export.py: {}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("all hold"), "{}", stdout(&out));
    v
}

fn problems(v: &Value) -> String {
    v["problems"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[test]
fn kerman_and_a_victim_across_cases_export_verify_and_every_tampering_fails() {
    let (d, srv, kerman, victim_cases) = deployment();
    let officer = srv.account(
        "records.officer",
        &[Role::RecordsOfficer],
        &["Oversight"],
        "TOP SECRET",
        &["HCS"],
    );
    // The deployment's key, as an auditor reads it (not from a bag).
    let auditor = srv.account(
        "auditor.x",
        &[Role::Auditor],
        &["Oversight"],
        "TOP SECRET",
        &["HCS"],
    );
    let cp = srv.ok(&auditor, "GET", "/api/v1/audit/checkpoint", None);
    let vkey = cp["verifier_key"].as_str().unwrap().to_owned();
    let root = d.dir.path().join("bags");

    // The Kerman case.
    let k_dir = root.join("kerman");
    let k = export(&srv, &d, &officer, &["--case", &kerman], &k_dir);
    assert_eq!(
        (k["streams"].as_u64(), k["withheld"].as_u64()),
        (Some(1), Some(0)),
        "{k}"
    );
    let v = passes_every_check(&d, &k_dir, &vkey);
    assert!(v["records"].as_u64().unwrap() > 10, "{v}");
    // The export and its verification count the same records.
    assert_eq!(k["records"], v["records"], "export {k}, verification {v}");

    // "Khashoggi-like": a victim's name across cases, in a period (the
    // case opened in June is outside it).
    let v_dir = root.join("victim");
    let e = export(
        &srv,
        &d,
        &officer,
        &[
            "--victim",
            VICTIM,
            "--from",
            "2024-01-01T00:00:00Z",
            "--until",
            "2024-03-01T00:00:00Z",
        ],
        &v_dir,
    );
    assert_eq!(e["streams"].as_u64(), Some(2), "{e}");
    passes_every_check(&d, &v_dir, &vkey);
    let scope: Value = serde_json::from_slice(&read_bag(&v_dir)["data/scope.json"]).unwrap();
    let streams = scope["streams"].to_string();
    assert!(
        streams.contains(&victim_cases[0]) && streams.contains(&victim_cases[1]),
        "{scope}"
    );
    assert!(
        !streams.contains(&victim_cases[2]) && !streams.contains(&kerman),
        "{scope}"
    );

    // An officer not cleared for the Kerman report (SECRET, no HCS): its
    // case is in scope, every leaf of it withheld in full under (b)(1),
    // and the bag still proves the scope complete.
    let low = srv.account(
        "records.low",
        &[Role::RecordsOfficer],
        &["Oversight"],
        "SECRET",
        &[],
    );
    let low_dir = root.join("low");
    let l = export(&srv, &d, &low, &["--case", &kerman], &low_dir);
    assert_eq!(
        l["records"].as_u64(),
        Some(0),
        "none exported, only the scope's own event in the bag: {l}"
    );
    assert!(l["withheld"].as_u64().unwrap() > 10, "{l}");
    passes_every_check(&d, &low_dir, &vkey);
    let withheld: Value = serde_json::from_slice(&read_bag(&low_dir)[bag::WITHHELD]).unwrap();
    assert!(
        withheld["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["exemption"] == "(b)(1)")
    );

    // Five tampered copies of the Kerman bag.
    let good = read_bag(&k_dir);
    let first_record = good
        .keys()
        .find(|p| p.starts_with("data/records/") && p.ends_with(".json"))
        .unwrap()
        .clone();
    let later_dir = root.join("later");
    export(&srv, &d, &officer, &["--case", &kerman], &later_dir);
    let later_checkpoint = read_bag(&later_dir)[bag::CHECKPOINT].clone();
    let scope: Value = serde_json::from_slice(&good[bag::SCOPE]).unwrap();
    let recorded = scope["recorded_at"].as_u64().unwrap();
    let mut narrowed = scope.clone();
    narrowed["streams"] = serde_json::json!([]);

    type Tamper = Box<dyn Fn(&mut Files)>;
    let dropped = first_record.clone();
    let cases: Vec<(&str, Tamper, &[&str])> = vec![
        (
            "a file deleted",
            Box::new(|f: &mut Files| {
                f.remove(bag::WITHHELD);
            }),
            &["data/withheld.json: is listed in manifest-sha256.txt but missing"],
        ),
        (
            "a record dropped, the manifests fixed up",
            Box::new(move |f: &mut Files| {
                f.remove(&dropped);
                f.remove(&dropped.replace(".json", ".txt"));
                fix_up(f);
            }),
            &[
                "tagmanifest-sha256.txt.sig: signs another text",
                "is missing (a gap in the stream)",
            ],
        ),
        (
            "a proof byte flipped",
            Box::new(move |f: &mut Files| {
                let path = bag::record_path(recorded);
                let mut r: Value = serde_json::from_slice(&f[&path]).unwrap();
                let p = r["proof"][0].as_str().unwrap().to_owned();
                let flipped = format!("{}{}", if p.starts_with('0') { '1' } else { '0' }, &p[1..]);
                r["proof"][0] = Value::String(flipped);
                f.insert(path, serde_json::to_vec_pretty(&r).unwrap());
            }),
            &["the inclusion proof fails", "does not match its sha256"],
        ),
        (
            "the checkpoint swapped for a later export's",
            Box::new(move |f: &mut Files| {
                f.insert(bag::CHECKPOINT.into(), later_checkpoint.clone());
                fix_up(f);
            }),
            &[
                "tagmanifest-sha256.txt.sig: signs another text",
                "the checkpoint's tree has",
            ],
        ),
        (
            "the scope narrowed, the manifests fixed up",
            Box::new(move |f: &mut Files| {
                f.insert(
                    bag::SCOPE.into(),
                    serde_json::to_vec_pretty(&narrowed).unwrap(),
                );
                fix_up(f);
            }),
            &[
                "tagmanifest-sha256.txt.sig: signs another text",
                "the streams are not those the ledger recorded",
            ],
        ),
    ];
    for (i, (what, tamper, expect)) in cases.iter().enumerate() {
        let mut files = good.clone();
        tamper(&mut files);
        let dir = root.join(format!("tampered-{i}"));
        write_bag(&dir, &files);
        let (code, v) = verify_export(&d, &dir, &vkey);
        assert_eq!(code, 3, "{what}: {v}");
        let found = problems(&v);
        for e in *expect {
            assert!(found.contains(e), "{what}: expected {e:?} in:\n{found}");
        }
    }

    // Redaction for release: the Kerman report's narrative, under (b)(6).
    let narrative = tocsin::scenarios::report(tocsin::scenarios::KERMAN_REPORT)
        .unwrap()
        .narrative
        .as_str()
        .to_owned();
    let report_at = good
        .iter()
        .filter(|(p, _)| p.starts_with("data/records/") && p.ends_with(".json"))
        .map(|(_, b)| serde_json::from_slice::<Value>(b).unwrap())
        .find(|r| r["kind"] == "report_attached")
        .unwrap()["position"]
        .as_u64()
        .unwrap();
    let cli = |token: &str, args: &[&str]| {
        let out = srv
            .cli(&d, token)
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        (out.status.success(), stdout(&out), stderr(&out))
    };
    let second = srv.account(
        "records.second",
        &[Role::RecordsOfficer],
        &["Oversight"],
        "TOP SECRET",
        &["HCS"],
    );
    // `records redact request` by the first officer: (ok, stdout, stderr).
    let request = |field: &str, text: Option<&str>, exemption: &str, reason: &str| {
        let position = report_at.to_string();
        let mut args = vec![
            "records",
            "redact",
            "request",
            "--position",
            &position,
            "--field",
            field,
            "--exemption",
            exemption,
            "--reason",
            reason,
        ];
        if let Some(t) = text {
            args.extend(["--text", t]);
        }
        cli(&officer, &args)
    };
    let (ok, out, err) = request(
        "/event/report/narrative",
        None,
        "(b)(6)",
        "the victims' privacy",
    );
    assert!(ok, "{out}{err}");
    let id = serde_json::from_str::<Value>(&out).unwrap()["redaction_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rel = root.join("release");
    let release_args = [
        "records",
        "export",
        "--release",
        "--case",
        kerman.as_str(),
        "--out",
    ];
    let (ok, out, err) = cli(
        &officer,
        &[&release_args[..], &[rel.to_str().unwrap()]].concat(),
    );
    assert!(
        !ok && err.contains("awaits a second records officer"),
        "{out}{err}"
    );
    let (ok, _, err) = cli(&officer, &["records", "redact", "approve", &id]);
    assert!(
        !ok && err.contains("a second records officer must approve it"),
        "{err}"
    );
    let (ok, out, err) = cli(&second, &["records", "redact", "approve", &id]);
    assert!(ok, "{out}{err}");
    // A span: only some words of a field, wherever they occur in it; the
    // ledger records where, never the words.
    const SPAN: &str = "ISIS-K facilitation networks";
    let (ok, out, err) = request(
        "/event/report/source/description",
        Some(SPAN),
        "(b)(1)",
        "the source's access",
    );
    assert!(ok, "{out}{err}");
    assert!(!out.contains(SPAN) && out.contains("\"spans\""), "{out}");
    let span_id = serde_json::from_str::<Value>(&out).unwrap()["redaction_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, out, err) = cli(&second, &["records", "redact", "approve", &span_id]);
    assert!(ok, "{out}{err}");
    // Text the field does not hold is refused, naming the field.
    let (ok, _, err) = request(
        "/event/report/source/description",
        Some("not in the field"),
        "(b)(1)",
        "a test",
    );
    assert!(!ok && err.contains("does not occur in"), "{err}");
    // The organisation's own exemption codes, as data: a bad list is
    // refused whole; an adopted one replaces the FOIA codes for new
    // requests, and the release copy marks its code in place.
    let codes = root.join("foi-act.toml");
    std::fs::write(&codes, "[[exemption]]\ncode = \"s.40(2)\"\n").unwrap();
    let (ok, _, err) = cli(
        &officer,
        &["records", "exemptions", "set", codes.to_str().unwrap()],
    );
    assert!(!ok && err.contains("meaning"), "{err}");
    std::fs::write(
        &codes,
        "[[exemption]]\ncode = \"s.40(2)\"\nmeaning = \"Personal information (FOI Act 2000)\"\n\n\
         [[exemption]]\ncode = \"s.24(1)\"\nmeaning = \"National security\"\n",
    )
    .unwrap();
    let (ok, out, err) = cli(
        &officer,
        &["records", "exemptions", "set", codes.to_str().unwrap()],
    );
    assert!(ok, "{out}{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["codes"][0]["code"], "s.24(1)", "{shown}");
    assert!(
        shown["origin"].as_str().unwrap().ends_with("foi-act.toml"),
        "{shown}"
    );
    let (ok, _, err) = request("/event/report/title", None, "(b)(6)", "privacy");
    assert!(
        !ok && err.contains("not an exemption code of this deployment"),
        "{err}"
    );
    let (ok, out, err) = request("/event/report/title", None, "s.40(2)", "the victims' names");
    assert!(ok, "{out}{err}");
    let title_id = serde_json::from_str::<Value>(&out).unwrap()["redaction_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, out, err) = cli(&second, &["records", "redact", "approve", &title_id]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = cli(
        &officer,
        &[&release_args[..], &[rel.to_str().unwrap()]].concat(),
    );
    assert!(ok, "{out}{err}");
    passes_every_check(&d, &rel, &vkey);
    let release = read_bag(&rel);
    let words = narrative.split_whitespace().count();
    let mark = format!("[(b)(6), {words} words]");
    let record = String::from_utf8(release[&bag::record_path(report_at)].clone()).unwrap();
    assert!(record.contains(&mark), "{record}");
    assert!(
        record.contains("Human source with access to [(b)(1), 3 words]"),
        "{record}"
    );
    assert!(record.contains("[s.40(2), "), "{record}");
    let head: String = narrative.chars().take(40).collect();
    for (path, bytes) in &release {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains(&narrative) && !text.contains(&head) && !text.contains(SPAN),
            "{path} holds the redacted text"
        );
    }

    // The bag proves itself complete within the cases it names; the
    // ledger proves they are the query's. An export recorded with one of
    // the victim's two cases (by an insider appending to the ledger) is
    // named by `audit verify --deep`.
    drop(srv);
    d.tampered();
    let store = d.store();
    let stream = tocsin_store::StreamId::Records;
    let version = crate::support::block_on(store.read_stream(&stream))
        .unwrap()
        .len() as u64;
    let query: tocsin_domain::records::RecordQuery = serde_json::from_value(serde_json::json!({
        "victim": VICTIM, "from": "2024-01-01T00:00:00Z", "until": "2024-03-01T00:00:00Z"
    }))
    .unwrap();
    let narrowed = tocsin_store::EventEnvelope {
        recorded_at: "2024-07-01T00:00:00Z".parse().unwrap(),
        actor: tocsin_domain::ActorName::new("records.officer").unwrap(),
        event: tocsin_domain::event::Event::RecordsExported {
            export_id: tocsin_domain::ids::ExportId::from_uuid(
                tocsin_domain::ids::Uuid::from_u128(9),
            ),
            query,
            cases: vec![victim_cases[0].parse().unwrap()],
            release: false,
        },
    };
    crate::support::block_on(store.append(tocsin_store::NewEvents::new(
        stream,
        version,
        vec![narrowed],
    )))
    .unwrap();
    let out = d.run(&["audit", "verify", "--deep"]);
    let s = stdout(&out);
    assert!(!out.status.success(), "{s}");
    assert!(
        s.contains(&format!(
            "left out case {}, which its query covered then",
            victim_cases[1]
        )),
        "{s}"
    );
}
