//! The verifier against a small ledger built here (both leaf versions, a
//! withheld record, a disposed one with its tombstone), whole and with
//! each kind of tampering.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tocsin_ledger::{Checkpoint, MemoryTree, NoteSigner, leaf_hash};
use tocsin_store::StreamId;
use tocsin_store::leaf::{Salt, encode, encode_v2};

use super::*;

const A: &str = "case/0190d6a0-0000-7000-8000-00000000000a";
const B: &str = "case/0190d6a0-0000-7000-8000-00000000000b";

fn body(kind: &str, extra: &str) -> String {
    format!(
        r#"{{"recorded_at":"2026-01-01T00:00:00Z","actor":"alice","event":{{"type":"{kind}"{extra}}}}}"#
    )
}

struct Leaf {
    stream: &'static str,
    seq: u64,
    body: String,
    salt: Option<Salt>,
}

struct Ledger {
    leaves: Vec<(Leaf, Vec<u8>)>,
    tree: MemoryTree,
    signer: NoteSigner,
}

fn query() -> serde_json::Value {
    serde_json::json!({"cases": ["0190d6a0-0000-7000-8000-00000000000a"]})
}

fn ledger() -> Ledger {
    let salt = |n| Some(Salt([n; 32]));
    let export = format!(
        r#","export_id":"x1","query":{},"cases":["0190d6a0-0000-7000-8000-00000000000a"],"release":false"#,
        query()
    );
    let spec = vec![
        Leaf {
            stream: "system",
            seq: 1,
            body: body("policy_adopted", ""),
            salt: None,
        },
        Leaf {
            stream: A,
            seq: 1,
            body: body("case_opened", ""),
            salt: salt(1),
        },
        Leaf {
            stream: A,
            seq: 2,
            body: body("report_attached", ""),
            salt: None,
        },
        Leaf {
            stream: B,
            seq: 1,
            body: body("case_opened", ""),
            salt: salt(2),
        },
        Leaf {
            stream: A,
            seq: 3,
            body: body("waiver_requested", ""),
            salt: salt(3),
        },
        Leaf {
            stream: A,
            seq: 4,
            body: body("report_attached", ""),
            salt: salt(4),
        },
        Leaf {
            stream: "records",
            seq: 1,
            body: body("record_disposed", r#","position":5"#),
            salt: None,
        },
        Leaf {
            stream: "records",
            seq: 2,
            body: body("records_exported", &export),
            salt: None,
        },
    ];
    let mut tree = MemoryTree::new();
    let mut leaves = Vec::new();
    for (pos, l) in spec.into_iter().enumerate() {
        let stream: StreamId = l.stream.parse().unwrap();
        let bytes = match &l.salt {
            Some(s) => encode_v2(pos as u64, &stream, l.seq, s, l.body.as_bytes()),
            None => encode(pos as u64, &stream, l.seq, l.body.as_bytes()),
        };
        tree.push(leaf_hash(&bytes));
        leaves.push((l, bytes));
    }
    let signer = NoteSigner::from_seed("tocsin-test", [9; 32]).unwrap();
    Ledger {
        leaves,
        tree,
        signer,
    }
}

fn proof(t: &Ledger, pos: u64) -> Vec<String> {
    t.tree
        .inclusion_proof(pos, t.tree.size())
        .unwrap()
        .iter()
        .map(|h| h.to_hex())
        .collect()
}

fn record(t: &Ledger, pos: u64, role: RecordRole) -> RecordFile {
    let (l, bytes) = &t.leaves[pos as usize];
    let v: serde_json::Value = serde_json::from_str(&l.body).unwrap();
    RecordFile {
        position: pos,
        stream: l.stream.into(),
        seq: l.seq,
        kind: v["event"]["type"].as_str().unwrap().into(),
        role,
        leaf_version: if l.salt.is_some() { 2 } else { 1 },
        leaf_hash: leaf_hash(bytes).to_hex(),
        leaf: Some(BASE64.encode(bytes)),
        salt: l.salt.map(|s| hex(&s.0)),
        body: Some(l.body.clone()),
        released: None,
        redactions: vec![],
        proof: proof(t, pos),
    }
}

fn input(t: &Ledger) -> ExportInput {
    let size = t.tree.size();
    let cp = Checkpoint {
        origin: "tocsin-test".into(),
        size,
        root: t.tree.root(),
    };
    let leaf = |pos: usize| &t.leaves[pos].1;
    ExportInput {
        checkpoint: t.signer.sign_checkpoint(&cp),
        verifier_key: t.signer.verifier().to_string(),
        scope: ExportScope {
            export_id: "x1".into(),
            query: query(),
            streams: vec![A.into()],
            range: Range { from: 0, to: size },
            recorded_at: 7,
            exported_at: "2026-01-02T00:00:00Z".into(),
            exported_by: "officer".into(),
            release: false,
        },
        leaves: t
            .leaves
            .iter()
            .map(|(l, b)| (leaf_hash(b), l.salt.map(|_| b.clone())))
            .collect(),
        records: vec![
            record(t, 1, RecordRole::Record),
            record(t, 2, RecordRole::Record),
            record(t, 6, RecordRole::Tombstone),
            record(t, 7, RecordRole::Scope),
        ],
        disposed: vec![DisposedFile {
            position: 5,
            stream: A.into(),
            seq: 4,
            leaf_hash: leaf_hash(leaf(5)).to_hex(),
            leaf: BASE64.encode(leaf(5)),
            tombstone: 6,
            proof: proof(t, 5),
        }],
        withheld: WithheldList {
            records: vec![WithheldEntry {
                position: 4,
                stream: A.into(),
                seq: 3,
                leaf_hash: leaf_hash(leaf(4)).to_hex(),
                exemption: "(b)(1)".into(),
                reason: "above the officer's clearance".into(),
                bytes: 80,
                proof: proof(t, 4),
            }],
        },
        info: BagInfo {
            source_organization: "Test element".into(),
            external_description: "A test export".into(),
            bagging_date: "2026-01-02".into(),
        },
    }
}

fn bag(t: &Ledger, i: &ExportInput) -> Files {
    let u = write(i);
    let signed = t.signer.sign_note(u.tag_manifest()).unwrap();
    u.seal(signed)
}

/// Recomputes both manifests, the Oxum and the tag manifests (not the
/// signature): what a tamperer without the key can do.
fn fix_up(files: &mut Files) {
    let mut info = String::from_utf8(files["bag-info.txt"].clone()).unwrap();
    let oxum = payload_oxum(files);
    info = info
        .lines()
        .map(|l| {
            if l.starts_with("Payload-Oxum:") {
                format!("Payload-Oxum: {oxum}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    files.insert("bag-info.txt".into(), info.into_bytes());
    for alg in ALGORITHMS {
        let m = manifest_text(alg, payload(files));
        files.insert(alg.manifest(), m.into_bytes());
    }
    let tags: Files = files
        .iter()
        .filter(|(p, _)| {
            [
                "bagit.txt",
                "bag-info.txt",
                "manifest-sha256.txt",
                "manifest-sha512.txt",
            ]
            .contains(&p.as_str())
        })
        .map(|(p, b)| (p.clone(), b.clone()))
        .collect();
    for alg in ALGORITHMS {
        files.insert(alg.tag_manifest(), manifest_text(alg, &tags).into_bytes());
    }
}

fn problems(files: &Files, key: &str) -> Vec<String> {
    match verify(files, Some(key)) {
        Ok(v) => panic!("verified: {v:?}"),
        Err(p) => p.iter().map(|p| p.to_string()).collect(),
    }
}

fn has(ps: &[String], needle: &str) -> bool {
    ps.iter().any(|p| p.contains(needle))
}

#[test]
fn a_whole_bag_verifies_with_its_key_and_counts_what_it_holds() {
    let t = ledger();
    let files = bag(&t, &input(&t));
    let key = t.signer.verifier().to_string();
    let v = verify(&files, Some(&key)).unwrap();
    assert_eq!(
        v,
        Verified {
            size: 8,
            streams: 1,
            records: 2,
            tombstones: 1,
            disposed: 1,
            withheld: 1,
            key_from_bag: false,
            release: false
        }
    );
    assert!(verify(&files, None).unwrap().key_from_bag);
    let other = NoteSigner::from_seed("tocsin-test", [8; 32])
        .unwrap()
        .verifier()
        .to_string();
    let ps = problems(&files, &other);
    assert!(
        has(
            &ps,
            "tagmanifest-sha256.txt.sig: the signature does not verify"
        ),
        "{ps:?}"
    );
    assert!(
        has(&ps, "data/checkpoint.txt: the checkpoint does not verify"),
        "{ps:?}"
    );
}

#[test]
fn a_deleted_file_fails_its_manifest() {
    let t = ledger();
    let mut files = bag(&t, &input(&t));
    files.remove("data/records/2.txt");
    let ps = problems(&files, &t.signer.verifier().to_string());
    assert!(
        has(
            &ps,
            "data/records/2.txt: is listed in manifest-sha256.txt but missing"
        ),
        "{ps:?}"
    );
}

#[test]
fn a_dropped_record_with_manifests_fixed_up_fails_the_signature_and_leaves_a_gap() {
    let t = ledger();
    let mut files = bag(&t, &input(&t));
    files.remove("data/records/2.json");
    files.remove("data/records/2.txt");
    fix_up(&mut files);
    let ps = problems(&files, &t.signer.verifier().to_string());
    assert!(
        has(&ps, "tagmanifest-sha256.txt.sig: signs another text"),
        "{ps:?}"
    );
    assert!(has(&ps, &format!("{A}: event 2 is missing")), "{ps:?}");
    // A dropped version-2 leaf is named by its position too.
    let mut files = bag(&t, &input(&t));
    files.remove("data/records/1.json");
    files.remove("data/records/1.txt");
    fix_up(&mut files);
    let ps = problems(&files, &t.signer.verifier().to_string());
    assert!(
        has(&ps, "data/ledger-leaves.txt: position 1: event 1 of"),
        "{ps:?}"
    );
}

#[test]
fn a_flipped_proof_byte_fails_its_proof() {
    let t = ledger();
    let mut i = input(&t);
    let p = &mut i.records[0].proof[0];
    let flipped = if p.starts_with('0') { "1" } else { "0" };
    p.replace_range(0..1, flipped);
    let ps = problems(&bag(&t, &i), &t.signer.verifier().to_string());
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert!(
        has(
            &ps,
            "data/records/1.json: position 1: the inclusion proof fails"
        ),
        "{ps:?}"
    );
}

#[test]
fn another_valid_checkpoint_fails_the_root() {
    let t = ledger();
    let mut later = ledger();
    later.tree.push(leaf_hash(b"one more"));
    let cp = Checkpoint {
        origin: "tocsin-test".into(),
        size: 9,
        root: later.tree.root(),
    };
    let mut files = bag(&t, &input(&t));
    files.insert(
        CHECKPOINT.into(),
        t.signer.sign_checkpoint(&cp).into_bytes(),
    );
    fix_up(&mut files);
    let ps = problems(&files, &t.signer.verifier().to_string());
    assert!(has(&ps, "the checkpoint's tree has 9"), "{ps:?}");
    assert!(
        has(&ps, "tagmanifest-sha256.txt.sig: signs another text"),
        "{ps:?}"
    );
}

#[test]
fn a_narrowed_scope_fails_the_signature_and_the_recorded_resolution() {
    let t = ledger();
    let mut i = input(&t);
    i.scope.streams.clear();
    let mut files = bag(&t, &input(&t));
    files.insert(SCOPE.into(), write(&i).seal(String::new())[SCOPE].clone());
    fix_up(&mut files);
    let ps = problems(&files, &t.signer.verifier().to_string());
    assert!(
        has(&ps, "tagmanifest-sha256.txt.sig: signs another text"),
        "{ps:?}"
    );
    assert!(
        has(&ps, "the streams are not those the ledger recorded"),
        "{ps:?}"
    );
    assert!(has(&ps, "is not in the scope"), "{ps:?}");
}

#[test]
fn content_that_does_not_match_its_leaf_is_found() {
    let t = ledger();
    let mut i = input(&t);
    i.records[0].body = Some(body("case_opened", r#","x":1"#));
    i.records[1].body = Some(body("report_attached", r#","x":1"#));
    let ps = problems(&bag(&t, &i), &t.signer.verifier().to_string());
    assert!(
        has(&ps, "position 1: the salt and body do not match"),
        "{ps:?}"
    );
    assert!(
        has(&ps, "position 2: the body is not the one the leaf holds"),
        "{ps:?}"
    );
}

#[test]
fn an_extra_payload_file_or_a_withheld_record_without_a_code_is_refused() {
    let t = ledger();
    let mut i = input(&t);
    i.withheld.records[0].exemption = " ".into();
    let mut files = bag(&t, &i);
    files.insert("data/notes.txt".into(), b"hello".to_vec());
    let ps = problems(&files, &t.signer.verifier().to_string());
    assert!(
        has(&ps, "data/notes.txt: is not part of an export"),
        "{ps:?}"
    );
    assert!(
        has(&ps, "data/notes.txt: is not listed in manifest-sha256.txt"),
        "{ps:?}"
    );
    assert!(has(&ps, "withheld without an exemption code"), "{ps:?}");
}

#[test]
fn garbage_never_panics() {
    let t = ledger();
    let files = bag(&t, &input(&t));
    let key = t.signer.verifier().to_string();
    for (path, bytes) in &files {
        for cut in [0, 1, bytes.len() / 2] {
            let mut f = files.clone();
            f.insert(path.clone(), bytes[..cut.min(bytes.len())].to_vec());
            assert!(verify(&f, Some(&key)).is_err(), "{path} cut at {cut}");
            let mut f = files.clone();
            let mut b = bytes.clone();
            if let Some(x) = b.get_mut(cut) {
                *x ^= 0x80;
            }
            f.insert(path.clone(), b);
            let _ = verify(&f, Some(&key));
        }
    }
    assert!(verify(&Files::new(), None).is_err());
}
