//! Tampering with the stored ledger is detected by `tocsin audit verify`,
//! which names the first bad position. The same edits on either backend,
//! through SQL underneath the store (on PostgreSQL the attacker also keeps
//! `ledger_head` in step with the rows, as SQLite derives it from them).

use tocsin_ledger::{Checkpoint, Frontier, NoteSigner, leaf_hash};
use tocsin_store::leaf::{Salt, commitment, decode_header, encode, peek};
use tocsin_store::{EventEnvelope, StreamId};

use crate::p;
use crate::support::{Deployment, Sql, stdout};
use tocsin::scenarios::{Cast, PEOPLE, run_kerman};

/// A deployment holding the Kerman case: its people's accounts (the
/// first `base` events), then the case's 18 events (the last closes it).
pub(crate) fn demo() -> (Deployment, i64) {
    let d = Deployment::new();
    let (svc, clock, _store) = d.service("2023-12-01T00:00:00Z");
    let cast = crate::support::block_on(Cast::enrol(&svc, PEOPLE, None)).expect("cast");
    let base = d.ledger_size();
    crate::support::block_on(run_kerman(&svc, &clock, &cast, &mut |_| {})).expect("kerman");
    drop(svc);
    assert_eq!(d.ledger_size(), base + 18);
    let ok = d.run(&["audit", "verify"]);
    assert!(ok.status.success(), "{}", stdout(&ok));
    (d, base)
}

#[track_caller]
fn assert_fails_at(d: &Deployment, position: u64, words: &str) {
    let out = d.run(&["audit", "verify"]);
    let s = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "verify should fail:\n{s}");
    assert!(
        s.starts_with(&format!("FAILED at position {position}"))
            || s.starts_with(&format!("FAILED at positions {position}..")),
        "expected position {position}:\n{s}"
    );
    assert!(s.contains(words), "expected '{words}':\n{s}");
}

/// A direct connection to the database, to tamper with it.
fn db(d: &Deployment) -> Sql {
    d.tampered();
    d.sql()
}

fn leaf(c: &Sql, pos: i64) -> Vec<u8> {
    c.row("SELECT leaf FROM ledger WHERE position = ?1", p![pos])[0].b()
}

/// The first position from `from` whose version-1 leaf holds `needle`.
fn v1_leaf_with(c: &Sql, from: i64, needle: &str) -> i64 {
    (from..)
        .take(18)
        .find(|&pos| {
            let l = leaf(c, pos);
            l[0] == 1 && String::from_utf8_lossy(&l).contains(needle)
        })
        .expect("a version-1 leaf holding it")
}

/// The first position from `from` of a version-2 leaf whose body (kept
/// beside it) holds `needle`, with its salt and body.
fn v2_row_with(c: &Sql, from: i64, needle: &str) -> (i64, Vec<u8>, Vec<u8>) {
    (from..)
        .take(18)
        .find_map(|pos| {
            let r = c.row(
                "SELECT leaf, content_salt, content_body FROM ledger WHERE position = ?1",
                p![pos],
            );
            let l = r[0].b();
            if l[0] != 2 {
                return None;
            }
            let body = r[2].b();
            String::from_utf8_lossy(&body)
                .contains(needle)
                .then(|| (pos, r[1].b(), body))
        })
        .expect("a version-2 leaf whose body holds it")
}

/// `body` with the first `needle` in it changed.
fn edited(body: &[u8], needle: &str) -> Vec<u8> {
    let i = String::from_utf8_lossy(body)
        .find(needle)
        .expect("the needle");
    let mut b = body.to_vec();
    b[i] = b'X';
    b
}

/// The leaf hashes of the whole ledger, in order.
fn leaf_hashes(c: &Sql) -> Vec<Vec<u8>> {
    c.rows("SELECT leaf_hash FROM ledger ORDER BY position", &[])
        .into_iter()
        .map(|r| r[0].b())
        .collect()
}

#[test]
fn edited_field_is_detected() {
    let (d, base) = demo();
    let c = db(&d);
    let pos = v1_leaf_with(&c, base, "analyst.kim");
    let l = edited(&leaf(&c, pos), "analyst.kim");
    c.exec(
        "UPDATE ledger SET leaf = ?1 WHERE position = ?2",
        p![l, pos],
    );
    assert_fails_at(&d, pos as u64, "is not the hash of the stored leaf");
}

/// A record's event is kept beside its version-2 leaf: an edit of it, or
/// of its salt, or of the commitment in the leaf, is found.
#[test]
fn edited_content_of_a_version_2_leaf_is_detected() {
    let (d, base) = demo();
    let c = db(&d);
    let (pos, salt, body) = v2_row_with(&c, base, "analyst.kim");
    c.exec(
        "UPDATE ledger SET content_body = ?1 WHERE position = ?2",
        p![edited(&body, "analyst.kim"), pos],
    );
    assert_fails_at(&d, pos as u64, "does not match its commitment");
    let mut other = salt.clone();
    other[0] ^= 1;
    c.exec(
        "UPDATE ledger SET content_body = ?1, content_salt = ?2 WHERE position = ?3",
        p![&body, &other, pos],
    );
    assert_fails_at(&d, pos as u64, "does not match its commitment");
    c.exec(
        "UPDATE ledger SET content_salt = ?1 WHERE position = ?2",
        p![&salt, pos],
    );
    let ok = d.run(&["audit", "verify"]);
    assert!(ok.status.success(), "restored: {}", stdout(&ok));
    let mut l = leaf(&c, pos);
    let last = l.len() - 1;
    l[last] ^= 1;
    c.exec(
        "UPDATE ledger SET leaf = ?1 WHERE position = ?2",
        p![&l, pos],
    );
    assert_fails_at(&d, pos as u64, "is not the hash of the stored leaf");
}

#[test]
fn destroyed_content_of_a_version_2_leaf_is_detected() {
    // An insider with the database NULLs a record's content, as disposal
    // does, but no tombstone accounts for it: verification names the
    // position.
    let (d, base) = demo();
    let c = db(&d);
    let (pos, _, _) = v2_row_with(&c, base, "analyst.kim");
    c.exec(
        "UPDATE ledger SET content_body = NULL, content_salt = NULL WHERE position = ?1",
        p![pos],
    );
    assert_fails_at(&d, pos as u64, "no disposal accounts for it");
}

/// A disposed record's leaf still commits to the content it had: an edit
/// of the commitment is found by the stored hash, as for any leaf.
#[test]
fn edited_commitment_of_a_disposed_leaf_is_detected() {
    use tocsin_domain::event::Event;
    use tocsin_domain::records::{
        RecordClass, RetentionAction, RetentionPeriod, RetentionSchedule, Trigger,
    };
    let (d, base) = demo();
    let c = db(&d);
    let (pos, _, _) = v2_row_with(&c, base, "analyst.kim");
    let tombstone = EventEnvelope {
        recorded_at: "2031-01-01T00:00:00Z".parse().unwrap(),
        actor: tocsin_domain::ActorName::new("records.b").unwrap(),
        event: Event::RecordDisposed {
            position: pos as u64,
            kind: "report_attached".into(),
            case_id: None,
            class: RecordClass::Report,
            schedule: RetentionSchedule {
                class: RecordClass::Report,
                trigger: Trigger::CaseClosed,
                period: RetentionPeriod::years(7),
                action: RetentionAction::Dispose,
                authority: tocsin_domain::text::Note::new("file plan").unwrap(),
            },
            schedules_sha256: "0".repeat(64),
            eligible_at: "2031-01-01T00:00:00Z".parse().unwrap(),
            batch_id: tocsin_domain::ids::DisposalBatchId::from_uuid(
                tocsin_domain::ids::Uuid::from_u128(1),
            ),
            requested_by: tocsin_domain::ActorName::new("records.a").unwrap(),
            approved_by: tocsin_domain::ActorName::new("records.b").unwrap(),
        },
    };
    let store = d.store();
    crate::support::block_on(store.dispose(tocsin_store::Disposal {
        tombstones: tocsin_store::NewEvents::new(StreamId::Records, 0, vec![tombstone]),
        summaries: vec![],
    }))
    .expect("disposed");
    drop(store);
    let ok = d.run(&["audit", "verify"]);
    assert!(ok.status.success(), "disposed: {}", stdout(&ok));
    assert!(
        stdout(&ok).contains("1 leaves disposed of (verified by their commitments)"),
        "{}",
        stdout(&ok)
    );
    let mut l = leaf(&c, pos);
    let last = l.len() - 1;
    l[last] ^= 1;
    c.exec(
        "UPDATE ledger SET leaf = ?1 WHERE position = ?2",
        p![&l, pos],
    );
    assert_fails_at(&d, pos as u64, "is not the hash of the stored leaf");
}

#[test]
fn deleted_event_is_detected() {
    let (d, base) = demo();
    let c = db(&d);
    c.exec("DELETE FROM ledger WHERE position = ?1", p![base + 7]);
    c.sync_head();
    assert_fails_at(&d, (base + 7) as u64, "missing");
}

#[test]
fn deleted_last_event_is_detected() {
    let (d, base) = demo();
    let c = db(&d);
    c.exec("DELETE FROM ledger WHERE position = ?1", p![base + 17]);
    c.sync_head();
    assert_fails_at(&d, (base + 17) as u64, "deleted from the end");
}

#[test]
fn swapped_events_are_detected() {
    let (d, base) = demo();
    let c = db(&d);
    let row = |pos: i64| -> (String, i64, Vec<u8>, Vec<u8>) {
        let r = c.row(
            "SELECT stream, seq, leaf, leaf_hash FROM ledger WHERE position = ?1",
            p![pos],
        );
        (r[0].t(), r[1].i(), r[2].b(), r[3].b())
    };
    let (x, y) = (base + 4, base + 9);
    let (a, b) = (row(x), row(y));
    // A free seq while the rows trade places (stream and seq are unique).
    let put = |pos: i64, r: &(String, i64, Vec<u8>, Vec<u8>)| {
        c.exec(
            "UPDATE ledger SET stream = ?2, seq = ?3, leaf = ?4, leaf_hash = ?5 WHERE position = ?1",
            p![pos, &r.0, 1_000_000 + pos, &r.2, &r.3],
        );
    };
    put(x, &b);
    put(y, &a);
    // Restore seq to what each moved row says (a careful attacker keeps the index columns consistent).
    c.exec("UPDATE ledger SET seq = ?2 WHERE position = ?1", p![x, b.1]);
    c.exec("UPDATE ledger SET seq = ?2 WHERE position = ?1", p![y, a.1]);
    assert_fails_at(&d, x as u64, &format!("says it is position {y}"));
}

#[test]
fn swapped_events_with_rewritten_headers_are_detected() {
    // The attacker also rewrites the positions inside the leaves and their hashes:
    // the sequence inside the stream breaks, or failing that the signed roots.
    let (d, base) = demo();
    let c = db(&d);
    let (x, y) = (base + 4, base + 9);
    let (l4, l9) = (leaf(&c, x), leaf(&c, y));
    let rewrite = |pos: u64, l: &[u8]| -> i64 {
        // Either version: the position is bytes 1..9 of the header.
        let (h, _) = peek(l).unwrap();
        let mut new = l.to_vec();
        new[1..9].copy_from_slice(&pos.to_be_bytes());
        c.exec(
            "UPDATE ledger SET stream = ?2, seq = ?3, leaf = ?4, leaf_hash = ?5 WHERE position = ?1",
            p![pos as i64, h.stream, 1_000_000 + pos as i64, &new, leaf_hash(&new).as_bytes().as_slice()],
        );
        h.seq as i64
    };
    let s4 = rewrite(x as u64, &l9);
    let s9 = rewrite(y as u64, &l4);
    c.exec("UPDATE ledger SET seq = ?2 WHERE position = ?1", p![x, s4]);
    c.exec("UPDATE ledger SET seq = ?2 WHERE position = ?1", p![y, s9]);
    let out = d.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stdout(&out).starts_with(&format!("FAILED at position {x}")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn changed_stored_hash_is_detected() {
    let (d, base) = demo();
    db(&d).exec(
        "UPDATE ledger SET leaf_hash = ?1 WHERE position = ?2",
        p![vec![0u8; 32], base + 3],
    );
    assert_fails_at(&d, (base + 3) as u64, "is not the hash of the stored leaf");
}

/// Appends a well-formed event at the end, with correct leaf hash and
/// Merkle nodes: everything an attacker without the signing key can do.
fn forge_append(d: &Deployment, c: &Sql) -> u64 {
    let size = c.i64("SELECT count(*) FROM ledger", &[]);
    let r = c.row("SELECT stream, seq, leaf FROM ledger WHERE stream LIKE 'case/%' ORDER BY position DESC LIMIT 1", &[]);
    let (stream, seq, last) = (r[0].t(), r[1].i(), r[2].b());
    let (_, body) = decode_header(&last).unwrap();
    let mut env: EventEnvelope = serde_json::from_slice(body).unwrap();
    env.event = tocsin_domain::event::Event::AttemptRefused {
        action: tocsin_domain::Action::Determine,
        reason: "forged".into(),
    };
    let sid: StreamId = stream.parse().unwrap();
    let leaf = encode(
        size as u64,
        &sid,
        seq as u64 + 1,
        &tocsin_store::leaf::encode_body(&env),
    );
    let lh = leaf_hash(&leaf);
    c.exec(
        "INSERT INTO ledger (position, stream, seq, leaf, leaf_hash) VALUES (?1, ?2, ?3, ?4, ?5)",
        p![size, stream, seq + 1, &leaf, lh.as_bytes().as_slice()],
    );
    c.sync_head();
    // Recompute the Merkle nodes the new leaf completes, from the stored leaf hashes.
    let mut f = Frontier::new();
    let mut out = Vec::new();
    for (i, h) in leaf_hashes(c).iter().enumerate() {
        out.clear();
        f.push(tocsin_ledger::Hash::from_slice(h).unwrap(), &mut out);
        if i as i64 == size {
            for (id, h) in &out {
                c.exec(
                    "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?1, ?2, ?3)",
                    p![id.level as i64, id.index as i64, h.as_bytes().as_slice()],
                );
            }
        }
    }
    let _ = d;
    size as u64
}

#[test]
fn appended_forged_event_is_detected() {
    let (d, _) = demo();
    let c = db(&d);
    let pos = forge_append(&d, &c);
    assert_fails_at(&d, pos, "not covered by any signed checkpoint");
}

#[test]
fn appended_forged_event_with_a_forged_checkpoint_is_detected() {
    let (d, _) = demo();
    let c = db(&d);
    let pos = forge_append(&d, &c);
    // A checkpoint signed with some other key, under the right origin.
    let origin = c.row("SELECT value FROM meta WHERE key = 'origin'", &[])[0].t();
    let mut f = Frontier::new();
    for h in leaf_hashes(&c) {
        f.push(
            tocsin_ledger::Hash::from_slice(&h).unwrap(),
            &mut Vec::new(),
        );
    }
    let name = c.row("SELECT value FROM meta WHERE key = 'verifier_key'", &[])[0]
        .t()
        .split('+')
        .next()
        .unwrap()
        .to_owned();
    let forger = NoteSigner::from_seed(&name, [7u8; 32]).unwrap();
    let note = forger.sign_checkpoint(&Checkpoint {
        origin,
        size: f.size(),
        root: f.root(),
    });
    c.exec(
        "INSERT INTO checkpoints (size, note) VALUES (?1, ?2)",
        p![f.size() as i64, note],
    );
    let out = d.run(&["audit", "verify"]);
    let s = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{s}");
    assert!(s.contains("not validly signed"), "{s}");
    assert!(s.starts_with(&format!("FAILED at position {pos}:")), "{s}");
}

#[test]
fn consistent_rewrite_without_the_key_is_caught_by_the_signed_roots() {
    // Edit an event and rewrite its stored hash and every Merkle node to match:
    // only the signed checkpoints can tell, and they localise the change.
    let (d, base) = demo();
    let c = db(&d);
    let pos = v1_leaf_with(&c, base + 6, "analyst.kim");
    let l = edited(&leaf(&c, pos), "analyst.kim");
    c.exec(
        "UPDATE ledger SET leaf = ?1, leaf_hash = ?2 WHERE position = ?3",
        p![&l, leaf_hash(&l).as_bytes().as_slice(), pos],
    );
    caught_by_the_signed_roots(&d, &c, pos);
}

#[test]
fn consistent_rewrite_of_a_version_2_record_is_caught_by_the_signed_roots() {
    // The body beside a version-2 leaf edited, its commitment recomputed
    // with the same salt, the leaf, its hash and every node rewritten.
    let (d, base) = demo();
    let c = db(&d);
    let (pos, salt, body) = v2_row_with(&c, base + 6, "analyst.kim");
    let body = edited(&body, "analyst.kim");
    let salt = Salt::try_from(salt.as_slice()).unwrap();
    let mut l = leaf(&c, pos);
    let tail = l.len() - 32;
    l[tail..].copy_from_slice(&commitment(&salt, &body));
    c.exec(
        "UPDATE ledger SET leaf = ?1, leaf_hash = ?2, content_body = ?3 WHERE position = ?4",
        p![&l, leaf_hash(&l).as_bytes().as_slice(), &body, pos],
    );
    caught_by_the_signed_roots(&d, &c, pos);
}

/// After a consistent rewrite of position `pos` (the stored nodes are
/// rewritten here), verify fails on the signed checkpoints, naming a
/// range that holds `pos`.
fn caught_by_the_signed_roots(d: &Deployment, c: &Sql, pos: i64) {
    c.exec("DELETE FROM merkle_nodes", &[]);
    let mut f = Frontier::new();
    for h in leaf_hashes(c) {
        let mut out = Vec::new();
        f.push(tocsin_ledger::Hash::from_slice(&h).unwrap(), &mut out);
        for (id, h) in out {
            c.exec(
                "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?1, ?2, ?3)",
                p![id.level as i64, id.index as i64, h.as_bytes().as_slice()],
            );
        }
    }
    let out = d.run(&["audit", "verify"]);
    let s = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{s}");
    assert!(s.contains("do not match the signed checkpoint"), "{s}");
    // The range named contains the edited position (with a checkpoint per
    // commit it is exactly that one).
    let head = s
        .trim_start_matches("FAILED at ")
        .split(':')
        .next()
        .unwrap()
        .to_owned();
    let (a, b) = match head.strip_prefix("positions ") {
        Some(r) => {
            let (a, b) = r.split_once("..=").unwrap();
            (a.parse::<u64>().unwrap(), b.parse::<u64>().unwrap())
        }
        None => {
            let p = head.trim_start_matches("position ").parse::<u64>().unwrap();
            (p, p)
        }
    };
    let pos = pos as u64;
    assert!(a <= pos && pos <= b, "{s}");
}

#[test]
fn verify_since_a_kept_checkpoint() {
    let (d, base) = demo();
    let out = d.run(&["audit", "checkpoint"]);
    let kept = d.file("kept.checkpoint", &stdout(&out));
    // The log grows...
    {
        let (svc, _clock, _store) = d.service("2024-05-01T09:00:00Z");
        let r = tocsin::scenarios::report(tocsin::scenarios::EDGE1_DATA_CENTRE).unwrap();
        crate::support::block_on(async {
            let collector = [(
                "collector.a",
                &[tocsin_domain::Role::Collector][..],
                &["Cyber Threat Element"][..],
            )];
            let cast = Cast::enrol(&svc, &collector, None).await?;
            svc.submit_report(cast.get("collector.a")?, tocsin_service::Intake::new(r))
                .await?;
            anyhow::Ok(())
        })
        .expect("submit");
    }
    let out = d.run(&["audit", "verify", "--since", kept.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(&format!("extends your checkpoint of size {}", base + 18)),
        "{}",
        stdout(&out)
    );
    // ...and a truncated log does not extend it, even when what is left is
    // internally consistent (cut at a checkpoint, nodes beyond removed).
    let c = db(&d);
    let cut = c.i64(
        "SELECT max(size) FROM checkpoints WHERE size <= ?1",
        p![base + 12],
    );
    c.exec("DELETE FROM ledger WHERE position >= ?1", p![cut]);
    c.exec("DELETE FROM checkpoints WHERE size > ?1", p![cut]);
    c.exec(
        "DELETE FROM merkle_nodes WHERE ((idx + 1) << level) > ?1",
        p![cut],
    );
    c.sync_head();
    let plain = d.run(&["audit", "verify"]);
    assert!(
        plain.status.success(),
        "without the kept checkpoint the truncation is invisible: {}",
        stdout(&plain)
    );
    let out = d.run(&["audit", "verify", "--since", kept.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("it was truncated"),
        "{}",
        stdout(&out)
    );
}
