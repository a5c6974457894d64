//! The contract of appends: versions, the tree across reopenings, what is
//! stored byte for byte, and group commit (jobs committed together, a
//! refused job spoiling nothing).

use tocsin_ledger::Frontier;

use super::*;
use crate::append::Planner;
use crate::{CaseQuery, DocExpect, DocKind, DocWrite, StoreError};

pub async fn a_stale_version_is_a_conflict_and_writes_nothing<F: Fixture>() {
    let f = F::new().await;
    let s = f.create(MAIN).await;
    s.append(batch(case(1), 0, 2)).await.unwrap();
    let e = s.append(batch(case(1), 0, 1)).await.unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::Conflict {
                expected: 0,
                actual: 2,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(s.ledger_head().await.unwrap().size, 2);
    let a = s.append(batch(case(1), 2, 1)).await.unwrap();
    assert_eq!((a.first_position, a.version, a.tree_size), (2, 3, 3));
    assert_eq!(a.root, s.ledger_head().await.unwrap().root);
    assert_eq!(verified(&s).await, 3);
    assert_eq!(s.read_stream(&case(1)).await.unwrap().len(), 3);
    assert!(s.integrity_check().await.unwrap().is_empty());
}

pub async fn concurrent_appends_share_commits_and_conflicts_spoil_nothing<F: Fixture>() {
    let f = F::new().await;
    let s = f.create(MAIN).await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..200u128 {
        let s = s.clone();
        // Every fifth append claims a wrong version and must fail alone.
        let expected = if i % 5 == 0 { 7 } else { 0 };
        set.spawn(async move { (expected, s.append(batch(case(i), expected, 3)).await) });
    }
    let (mut ok, mut conflicts) = (0, 0);
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            (0, Ok(_)) => ok += 1,
            (7, Err(StoreError::Conflict { .. })) => conflicts += 1,
            (e, r) => panic!("expected {e}: {r:?}"),
        }
    }
    assert_eq!((ok, conflicts), (160, 40));
    assert_eq!(verified(&s).await, 480);
    let commits = commits(&s).await;
    assert!(commits < 160, "{commits} commits for 160 appends");
}

pub async fn reopening_continues_the_same_tree<F: Fixture>() {
    let f = F::new().await;
    let s = f.create(MAIN).await;
    s.append(batch(case(1), 0, 5)).await.unwrap();
    f.close(s).await;
    let s = f.open(MAIN, Some(signer())).await.unwrap();
    s.append(batch(case(1), 5, 6)).await.unwrap();
    assert_eq!(verified(&s).await, 11);
    // Read-only stores refuse to write.
    let ro = f.open(MAIN, None).await.unwrap();
    assert!(matches!(
        ro.append(batch(case(2), 0, 1)).await,
        Err(StoreError::ReadOnly)
    ));
    assert!(matches!(
        ro.write_docs(vec![DocWrite::delete(
            DocKind::Account,
            "x",
            DocExpect::Any
        )])
        .await,
        Err(StoreError::ReadOnly)
    ));
    assert_eq!(ro.ledger_head().await.unwrap().size, 11);
    // Only a store with the key signs a note, and its meta's key checks it.
    assert!(matches!(ro.sign_note("text\n"), Err(StoreError::ReadOnly)));
    let vkey = tocsin_ledger::NoteVerifier::parse(&s.meta().verifier_key).unwrap();
    let note = s.sign_note("an export's tag manifest\n").unwrap();
    assert_eq!(
        tocsin_ledger::open_note(&note, &vkey).unwrap(),
        "an export's tag manifest\n"
    );
    assert!(s.sign_note("no final newline").is_err());
    // Another key is refused.
    let other = NoteSigner::from_seed("tocsin-test", [4u8; 32]).unwrap();
    assert!(matches!(
        f.open(MAIN, Some(other)).await,
        Err(StoreError::WrongKey { .. })
    ));
}

pub async fn unversioned_appends_go_at_the_end<F: Fixture>() {
    let f = F::new().await;
    let store = f.create(MAIN).await;
    let mut handles = Vec::new();
    for _ in 0..20 {
        let s = store.clone();
        handles.push(tokio::spawn(async move {
            let mut b = batch(StreamId::Access, 0, 1);
            b.expected_version = None;
            s.append(b).await.unwrap()
        }));
    }
    let mut versions = Vec::new();
    for h in handles {
        versions.push(h.await.unwrap().version);
    }
    versions.sort();
    assert_eq!(versions, (1..=20).collect::<Vec<_>>());
    assert_eq!(verified(&store).await, 20);
}

/// The store writes what the planner plans, byte for byte: every leaf
/// with its index columns and hash, every Merkle node, every checkpoint
/// note (one group per append here, as each is awaited).
pub async fn the_ledger_holds_exactly_what_was_planned<F: Fixture>() {
    let f = F::new().await;
    let s = f.create(MAIN).await;
    let mut unversioned = batch(StreamId::Access, 0, 2);
    unversioned.expected_version = None;
    let batches = [
        batch(case(1), 0, 3),
        batch(StreamId::System, 0, 1),
        batch(case(1), 1, 1), // stale: refused, planned as refused
        batch(case(2), 0, 6),
        unversioned,
        batch(case(1), 3, 4),
    ];
    let mut frontier = Frontier::new();
    let mut versions = std::collections::HashMap::new();
    let mut want_leaves = crate::LeafPage::default();
    let mut want_nodes = Vec::new();
    let mut want_notes = Vec::new();
    for b in batches {
        let stored = s.append(b.clone()).await;
        let version = *versions.entry(b.stream).or_insert(0u64);
        let mut planner = Planner::new(frontier.clone(), [(b.stream, version)], []);
        match planner.plan(&b) {
            Ok(plan) => {
                let a = stored.unwrap();
                let sealed = planner
                    .seal("tocsin.test/unit", &signer())
                    .unwrap()
                    .unwrap();
                let mut answer = plan.appended.clone();
                (answer.tree_size, answer.root) = (sealed.size, sealed.root);
                assert_eq!(a, answer);
                for l in &plan.leaves {
                    want_leaves.push(
                        l.position,
                        &plan.stream_text,
                        l.seq,
                        &l.leaf,
                        l.hash.as_bytes(),
                    );
                }
                want_nodes.extend(plan.nodes);
                want_notes.push((sealed.size, sealed.note));
                versions.insert(b.stream, plan.appended.version);
                frontier = planner.into_frontier();
            }
            Err(planned) => {
                let e = stored.unwrap_err();
                assert_eq!(e.to_string(), planned.to_string());
            }
        }
    }
    assert_eq!(s.read_leaves(0, 100).await.unwrap(), want_leaves);
    let mut nodes = Vec::new();
    for level in 1..8u8 {
        for (index, h) in s.read_level(level, 0, 100).await.unwrap() {
            nodes.push((tocsin_ledger::NodeId { level, index }, h));
        }
    }
    want_nodes.sort_by_key(|(id, _)| (id.level, id.index));
    assert_eq!(nodes, want_nodes);
    let notes: Vec<_> = s
        .read_checkpoints(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.size, c.note))
        .collect();
    assert_eq!(notes, want_notes);
    assert_eq!(s.ledger_head().await.unwrap().root, frontier.root());
}

/// Runs `writes` while the store's writers are held, so that all of them
/// are queued before any runs: one group.
pub(super) async fn in_one_group<F: Fixture, T>(
    f: &F,
    writes: impl std::future::Future<Output = T>,
) -> T {
    let held = f.hold_writers(MAIN).await;
    let (out, ()) = tokio::join!(writes, async {
        // The writes above were polled (queued) first.
        tokio::task::yield_now().await;
        held.release().await;
    });
    out
}

pub async fn appends_committed_together_leave_the_last_summary_of_each_case<F: Fixture>() {
    let f = F::new().await;
    let store = f.create(MAIN).await;
    let sm = |i: u128, version: u64, reports: &[u128]| {
        let mut s = summary(case(i), &[], &[], &["ct"]);
        s.version = version;
        s.reports = reports
            .iter()
            .map(|r| report(*r, "2024-01-02T00:00:00Z"))
            .collect();
        s
    };
    let with = |i: u128, version: u64, reports: &[u128]| {
        let mut b = batch(case(i), version, 1);
        b.summary = Some(sm(i, version + 1, reports));
        b
    };
    // One group: case 1 opened and updated twice, report 3 listed by
    // case 1 and then moved to case 2.
    let (a, b, c, d) = in_one_group(&f, async {
        tokio::join!(
            store.append(with(1, 0, &[1, 3])),
            store.append(with(1, 1, &[1, 2, 3])),
            store.append(with(2, 0, &[3])),
            store.append(with(1, 2, &[1, 2])),
        )
    })
    .await;
    for r in [a, b, c, d] {
        r.unwrap();
    }
    assert_eq!(commits(&store).await, 1, "one group");
    let all = store.list_cases(&CaseQuery::default()).await.unwrap().items;
    // Case 1 keeps the number it got when its first summary was written.
    assert_eq!(
        all,
        vec![
            numbered(sm(2, 1, &[3]), 2024, 2),
            numbered(sm(1, 3, &[1, 2]), 2024, 1)
        ]
    );
    assert!(store.integrity_check().await.unwrap().is_empty());
    assert_eq!(verified(&store).await, 4);
}

pub async fn in_one_group_a_failed_job_undoes_only_itself<F: Fixture>() {
    let f = F::new().await;
    let store = f.create(MAIN).await;
    let doc = |key: &str, expect| DocWrite::put(DocKind::Account, key, expect, &key);
    store
        .write_docs(vec![doc("taken", DocExpect::Absent)])
        .await
        .unwrap();
    let with_doc = |stream, version, d: DocWrite| {
        let mut b = batch(stream, version, 1);
        b.docs = vec![d];
        b
    };
    let mut opened = batch(case(1), 0, 2);
    opened.summary = Some(summary(case(1), &[], &[], &[]));
    let mut next = batch(case(1), 2, 1);
    let mut sm = summary(case(1), &["secret"], &[], &[]);
    sm.version = 3;
    next.summary = Some(sm.clone());
    let (a, b, c, d, e, g) = in_one_group(&f, async {
        tokio::join!(
            // Plain, then a document conflict (its savepoint is rolled
            // back), then plain again on the same case, then a document
            // that holds, then a stale version, then a document write
            // that fails.
            store.append(opened),
            store.append(with_doc(
                StreamId::Accounts,
                0,
                doc("taken", DocExpect::Absent)
            )),
            store.append(next),
            store.append(with_doc(
                StreamId::Accounts,
                0,
                doc("free", DocExpect::Absent)
            )),
            store.append(batch(case(1), 1, 1)),
            store.write_docs(vec![doc("taken", DocExpect::Version(9))]),
        )
    })
    .await;
    assert_eq!(a.unwrap().first_position, 0);
    assert!(matches!(b, Err(StoreError::DocConflict { .. })), "{b:?}");
    assert_eq!(c.unwrap().first_position, 2);
    let d = d.unwrap();
    assert_eq!(d.first_position, 3);
    assert_eq!((d.tree_size, d.root), {
        let h = store.ledger_head().await.unwrap();
        (h.size, h.root)
    });
    assert!(
        matches!(
            e,
            Err(StoreError::Conflict {
                expected: 1,
                actual: 3,
                ..
            })
        ),
        "{e:?}"
    );
    assert!(matches!(g, Err(StoreError::DocConflict { .. })), "{g:?}");
    assert_eq!(commits(&store).await, 1, "one group");
    assert_eq!(verified(&store).await, 4);
    assert_eq!(
        store.list_cases(&CaseQuery::default()).await.unwrap().items,
        vec![numbered(sm, 2024, 1)]
    );
    assert!(
        store
            .get_doc(DocKind::Account, "free")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .get_doc(DocKind::Account, "taken")
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
    assert!(store.integrity_check().await.unwrap().is_empty());
}
