//! Tests of the append planner: plain cases, the golden history whose
//! bytes must never change, and a property test against a whole tree.

use proptest::prelude::*;
use sha2::{Digest, Sha256};
use tocsin_domain::event::{Event, ReassessmentReason};
use tocsin_domain::{ActorName, CaseId};
use tocsin_ledger::{MemoryTree, NoteSigner, open_checkpoint};

use super::*;
use crate::EventEnvelope;
use crate::leaf::{encode, encode_body};

fn event(n: u64) -> EventEnvelope {
    EventEnvelope {
        recorded_at: "2024-01-01T00:00:00Z".parse().unwrap(),
        actor: ActorName::new("a").unwrap(),
        event: Event::ReassessmentFlagged {
            reason: ReassessmentReason::NewInformation,
            detail: format!("event {n}"),
        },
    }
}

fn case(n: u128) -> StreamId {
    StreamId::Case(CaseId::from_uuid(tocsin_domain::ids::Uuid::from_u128(n)))
}

fn batch(stream: StreamId, expected: Option<u64>, n: usize) -> NewEvents {
    let mut b = NewEvents::new(stream, 0, (0..n as u64).map(event).collect());
    b.expected_version = expected;
    b
}

fn signer() -> NoteSigner {
    NoteSigner::from_seed("tocsin-test", [3u8; 32]).unwrap()
}

#[test]
fn a_plan_numbers_its_events_and_encodes_them_as_leaves() {
    let mut p = Planner::new(Frontier::new(), [(case(1), 0), (StreamId::System, 4)], []);
    let a = p.plan(&batch(case(1), Some(0), 3)).unwrap();
    let b = p.plan(&batch(StreamId::System, None, 2)).unwrap();
    let mut tree = MemoryTree::new();
    for (plan, stream, seqs) in [
        (&a, case(1), [1, 2, 3].as_slice()),
        (&b, StreamId::System, &[5, 6]),
    ] {
        assert_eq!(plan.stream, stream);
        assert_eq!(plan.stream_text, stream.to_string());
        for (row, (&seq, n)) in plan.leaves.iter().zip(seqs.iter().zip(0u64..)) {
            assert_eq!((row.position, row.seq), (tree.size(), seq));
            // Byte for byte what the leaf format says.
            assert_eq!(
                row.leaf,
                encode(row.position, &stream, seq, &encode_body(&event(n)))
            );
            assert_eq!(row.hash, leaf_hash(&row.leaf));
            tree.push(row.hash);
        }
        for (id, h) in &plan.nodes {
            assert_eq!(tree.node(*id), Some(*h), "{id}");
        }
    }
    let node = |level, index| NodeId { level, index };
    assert_eq!(
        a.nodes.iter().map(|n| n.0).collect::<Vec<_>>(),
        [node(1, 0)]
    );
    assert_eq!(
        b.nodes.iter().map(|n| n.0).collect::<Vec<_>>(),
        [node(1, 1), node(2, 0)]
    );
    let answer = |p: &AppendPlan| {
        (
            p.appended.first_position,
            p.appended.count,
            p.appended.version,
        )
    };
    assert_eq!(answer(&a), (0, 3, 3));
    assert_eq!(answer(&b), (3, 2, 6));
    assert_eq!(a.opens_case(), Some((case(1).case().unwrap(), 0)));
    assert_eq!(b.opens_case(), None);
    assert_eq!(p.size(), 5);
    // The next append to the case continues its sequence and does not open it.
    let c = p.plan(&batch(case(1), Some(3), 1)).unwrap();
    assert_eq!(
        (c.leaves[0].position, c.leaves[0].seq, c.opens_case()),
        (5, 4, None)
    );
}

#[test]
fn a_stale_version_is_a_conflict_and_plans_nothing() {
    let mut p = Planner::new(Frontier::new(), [(case(1), 2)], []);
    let e = p.plan(&batch(case(1), Some(0), 1)).unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict { stream, expected: 0, actual: 2 } if *stream == case(1).to_string()),
        "{e}"
    );
    assert_eq!(p.size(), 0);
    assert_eq!(p.seal("o", &signer()).unwrap(), None, "nothing to sign");
    // The version did not move either.
    assert_eq!(
        p.plan(&batch(case(1), Some(2), 1))
            .unwrap()
            .appended
            .version,
        3
    );
}

#[test]
fn an_empty_batch_or_an_unread_stream_is_refused() {
    let mut p = Planner::new(Frontier::new(), [(case(1), 0)], []);
    assert!(matches!(
        p.plan(&batch(case(1), Some(0), 0)),
        Err(StoreError::NothingToAppend)
    ));
    let e = p.plan(&batch(case(2), Some(0), 1)).unwrap_err();
    let source = std::error::Error::source(&e).map(|s| s.to_string());
    assert!(
        matches!(e, StoreError::Backend { .. }) && source.unwrap().contains("did not read"),
        "an unread stream is never taken to be at version 0"
    );
    assert_eq!(p.size(), 0);
}

#[test]
fn restoring_a_mark_forgets_the_plans_after_it() {
    let mut p = Planner::new(Frontier::new(), [(case(1), 0), (case(2), 0)], []);
    p.plan(&batch(case(1), Some(0), 2)).unwrap();
    let root = p.clone().into_frontier().root();
    let mark = p.mark();
    p.plan(&batch(case(1), Some(2), 1)).unwrap();
    p.plan(&batch(case(2), Some(0), 3)).unwrap();
    assert_eq!(p.size(), 6);
    p.restore(mark);
    assert_eq!(p.size(), 2);
    assert_eq!(p.clone().into_frontier().root(), root);
    // Both streams are back where they were.
    assert!(matches!(
        p.plan(&batch(case(1), Some(3), 1)),
        Err(StoreError::Conflict { actual: 2, .. })
    ));
    assert_eq!(
        p.plan(&batch(case(2), Some(0), 1)).unwrap().leaves[0].position,
        2
    );
    // Undoing the only plan of a group leaves nothing to sign.
    let mut q = Planner::new(Frontier::new(), [(case(1), 0)], []);
    let mark = q.mark();
    q.plan(&batch(case(1), Some(0), 1)).unwrap();
    q.restore(mark);
    assert_eq!(q.seal("o", &signer()).unwrap(), None);
}

#[test]
fn the_seal_is_the_signed_checkpoint_of_the_planned_tree() {
    // A ledger that already holds 13 leaves.
    let before: MemoryTree = (0..13u8).map(|i| leaf_hash(&[i])).collect();
    let mut p = Planner::new(before.frontier_at(13).unwrap(), [(StreamId::Access, 9)], []);
    let plan = p.plan(&batch(StreamId::Access, None, 4)).unwrap();
    assert_eq!((plan.leaves[0].position, plan.leaves[0].seq), (13, 10));
    let mut tree = before.clone();
    tree.extend(plan.leaves.iter().map(|l| l.hash));
    let sealed = p.seal("tocsin.test/unit", &signer()).unwrap().unwrap();
    assert_eq!((sealed.size, sealed.root), (17, tree.root()));
    let cp = open_checkpoint(&sealed.note, &signer().verifier()).unwrap();
    assert_eq!(
        (cp.origin.as_str(), cp.size, cp.root),
        ("tocsin.test/unit", 17, tree.root())
    );
    assert!(matches!(
        p.seal("two\nlines", &signer()),
        Err(StoreError::Backend { .. })
    ));
}

/// The bytes of a fixed history: what every store has always written for
/// it. If this fails, stored ledgers no longer verify against new ones.
#[test]
fn a_fixed_history_gives_the_same_bytes_as_always() {
    let mut p = Planner::new(
        Frontier::new(),
        [(case(1), 0), (StreamId::System, 0), (StreamId::Accounts, 0)],
        [],
    );
    let mut h = Sha256::new();
    for b in [
        batch(case(1), Some(0), 3),
        batch(StreamId::System, Some(0), 1),
        batch(case(1), Some(3), 2),
        batch(StreamId::Accounts, None, 5),
    ] {
        let plan = p.plan(&b).unwrap();
        for l in &plan.leaves {
            h.update(&l.leaf);
        }
        for (id, n) in &plan.nodes {
            h.update(format!("{id}={}", n.to_base64()));
        }
    }
    let sealed = p.seal("tocsin.test/unit", &signer()).unwrap().unwrap();
    let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    // Computed with the append code as it was before the planner (each
    // backend's own loop over `leaf::encode`, `Frontier::push` and
    // `try_sign_checkpoint`).
    assert_eq!(
        digest,
        "f900b23dce9b7a1281ebc32118cdc59e93f6bfe94dd4534deebe4993f389405d"
    );
    assert_eq!(sealed.size, 11);
    assert_eq!(
        sealed.root.to_base64(),
        "nRVMRruvXaaHcF98xSEDOGvM5FXR0Yxw00G3T/yGhyo="
    );
    assert_eq!(
        sealed.note,
        "tocsin.test/unit\n11\nnRVMRruvXaaHcF98xSEDOGvM5FXR0Yxw00G3T/yGhyo=\n\n\
         — tocsin-test uAvmP6fFhCft4f32JqRrhjEJT44YlfYIL8xJIxK/Db11W8y61tbzLC6Ih/zf80KiYIKHZyqTl9/JyKBA8o1qpDXI1AU=\n"
    );
}

#[test]
fn a_frontier_is_restored_from_its_nodes_and_a_missing_one_is_damage() {
    let tree: MemoryTree = (0..11u8).map(|i| leaf_hash(&[i])).collect();
    let ids = Frontier::node_ids(11);
    let found: Vec<_> = ids.iter().map(|id| tree.node(*id)).collect();
    let f = frontier_from_nodes(11, &ids, found.clone()).unwrap();
    assert_eq!(f.root(), tree.root());
    let mut gap = found;
    gap[1] = None;
    let e = frontier_from_nodes(11, &ids, gap).unwrap_err();
    assert!(
        matches!(&e, StoreError::Corrupt(m) if m.contains(&format!("level {}, index {}", ids[1].level, ids[1].index))),
        "{e}"
    );
}

#[test]
fn imported_rows_must_continue_the_ledger() {
    let mut page = LeafPage::default();
    for pos in [5, 6, 7] {
        page.push(pos, "system", pos, b"x", b"h");
    }
    check_continues(5, &page).unwrap();
    assert!(matches!(
        check_continues(4, &page),
        Err(StoreError::Conflict {
            expected: 5,
            actual: 4,
            ..
        })
    ));
    let mut gap = LeafPage::default();
    gap.push(5, "system", 1, b"x", b"h");
    gap.push(7, "system", 2, b"x", b"h");
    assert!(matches!(
        check_continues(5, &gap),
        Err(StoreError::Conflict {
            expected: 7,
            actual: 6,
            ..
        })
    ));
}

/// What a step of the property test does.
#[derive(Clone, Debug)]
enum Step {
    /// Append `n` events to stream `s` at its version.
    Append { s: usize, n: usize },
    /// The same without a version.
    Unversioned { s: usize, n: usize },
    /// Append claiming a version the stream is not at.
    Stale { s: usize, n: usize },
    /// Append, then undo it (its savepoint was rolled back).
    Undone { s: usize, n: usize },
}

fn step() -> impl Strategy<Value = Step> {
    let sn = (0..3usize, 1..5usize);
    prop_oneof![
        4 => sn.clone().prop_map(|(s, n)| Step::Append { s, n }),
        2 => sn.clone().prop_map(|(s, n)| Step::Unversioned { s, n }),
        1 => sn.clone().prop_map(|(s, n)| Step::Stale { s, n }),
        1 => sn.prop_map(|(s, n)| Step::Undone { s, n }),
    ]
}

proptest! {
    /// Planning batches one after another, from a ledger of any size,
    /// gives the tree built from all their leaves at once: dense
    /// positions, every completed node stored once and right, and a
    /// checkpoint of that tree. Conflicts and undone jobs leave no trace.
    #[test]
    fn planning_in_steps_builds_the_whole_tree(
        start in 0u8..40,
        steps in proptest::collection::vec(step(), 1..30),
    ) {
        let streams = [case(1), StreamId::System, StreamId::Access];
        let mut tree: MemoryTree = (0..start).map(|i| leaf_hash(&[i])).collect();
        let mut versions = [0u64, 7, 0];
        let mut p = Planner::new(
            tree.frontier_at(tree.size()).unwrap(),
            streams.iter().copied().zip(versions),
            [],
        );
        let mut nodes: Vec<(NodeId, Hash)> = Vec::new();
        let mut appended = false;
        for st in steps {
            let mark = p.mark();
            let (s, n, expected, keep) = match st {
                Step::Append { s, n } => (s, n, Some(versions[s]), true),
                Step::Unversioned { s, n } => (s, n, None, true),
                Step::Stale { s, n } => (s, n, Some(versions[s] + 1), false),
                Step::Undone { s, n } => (s, n, Some(versions[s]), false),
            };
            let r = p.plan(&batch(streams[s], expected, n));
            if matches!(st, Step::Stale { .. }) {
                let is_conflict = matches!(r, Err(StoreError::Conflict { .. }));
                prop_assert!(is_conflict);
                prop_assert_eq!(p.size(), tree.size());
                continue;
            }
            let plan = r.unwrap();
            if !keep {
                p.restore(mark);
                prop_assert_eq!(p.size(), tree.size());
                continue;
            }
            for (i, l) in plan.leaves.iter().enumerate() {
                prop_assert_eq!(l.position, tree.size());
                prop_assert_eq!(l.seq, versions[s] + 1 + i as u64);
                prop_assert_eq!(l.hash, leaf_hash(&l.leaf));
                tree.push(l.hash);
            }
            versions[s] += n as u64;
            prop_assert_eq!(plan.appended.version, versions[s]);
            nodes.extend(plan.nodes);
            appended = true;
        }
        // Every node the new leaves complete, and no other, each right.
        let mut want = Vec::new();
        for level in 1..64u8 {
            for index in (u64::from(start) >> level)..(tree.size() >> level) {
                let id = NodeId { level, index };
                // A node made entirely of the old leaves was stored before.
                if id.end() > u64::from(start) {
                    want.push((id, tree.node(id).unwrap()));
                }
            }
        }
        nodes.sort_by_key(|(id, _)| (id.level, id.index));
        prop_assert_eq!(nodes, want);
        let sealed = p.seal("tocsin.test/unit", &signer()).unwrap();
        match sealed {
            Some(s) => {
                prop_assert!(appended);
                prop_assert_eq!((s.size, s.root), (tree.size(), tree.root()));
            }
            None => prop_assert!(!appended),
        }
        prop_assert_eq!(p.into_frontier().root(), tree.root());
    }
}

/// The fixed history with a version-2 leaf: a record (a read of
/// restricted content) handed in with a salt, beside a structural event
/// with one (version 1). Pinned bytes; the commitment was recomputed
/// with Python's hashlib from the body and salt below.
#[test]
fn a_fixed_history_with_a_version_2_leaf_gives_the_same_bytes_as_always() {
    let mut p = Planner::new(Frontier::new(), [(case(1), 0)], []);
    let read = EventEnvelope {
        recorded_at: "2024-01-01T00:00:00Z".parse().unwrap(),
        actor: ActorName::new("a").unwrap(),
        event: Event::ContentRead {
            case_id: CaseId::from_uuid(tocsin_domain::ids::Uuid::from_u128(1)),
            parts: vec!["narrative".into()],
        },
    };
    let b = NewEvents::new(case(1), 0, vec![event(0), read.clone()])
        .salted(vec![crate::leaf::Salt([1; 32]), crate::leaf::Salt([7; 32])]);
    let plan = p.plan(&b).unwrap();
    let [v1, v2] = &plan.leaves[..] else {
        panic!("two leaves")
    };
    assert_eq!(v1.leaf, encode(0, &case(1), 1, &encode_body(&event(0))));
    assert_eq!(v1.content, None);
    let body = encode_body(&read);
    assert_eq!(
        String::from_utf8(body.clone()).unwrap(),
        r#"{"recorded_at":"2024-01-01T00:00:00Z","actor":"a","event":{"type":"content_read","case_id":"00000000-0000-0000-0000-000000000001","parts":["narrative"]}}"#
    );
    assert_eq!(
        v2.content,
        Some(NewContent {
            salt: crate::leaf::Salt([7; 32]),
            body
        })
    );
    let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(
        hex(&v2.leaf),
        "02000000000000000100000000000000020029636173652f30303030303030302d303030302d30\
         3030302d303030302d30303030303030303030303129f0592e5e0c58b2485627179389034f291f\
         678e0dc0fd3fc2b6b58d1ad50813"
    );
    let sealed = p.seal("tocsin.test/unit", &signer()).unwrap().unwrap();
    assert_eq!(
        sealed.root.to_base64(),
        "uUBWOZmYDE282A3h4P0wVO+rWoxqRqXZLOYwgTBdlEo="
    );
}
