//! The contract of copying a deployment between two stores of the backend
//! ([`crate::copy()`] over [`Store::import_raw`]).

use super::*;
use crate::{
    CopyError, CopyProgress, CopyStage, DocExpect, DocKind, DocWrite, RawRows, StoreError,
};

pub async fn copy_moves_a_whole_deployment_in_chunks_and_needs_an_empty_target<F: Fixture>() {
    let f = F::new().await;
    let a = f.create(MAIN).await;
    // 4,515 events: more than two chunks of the copy, whose boundaries
    // fall inside perfect subtrees; a summary per case; documents
    // written more than once.
    for round in 0..7u64 {
        for c in 0..43u128 {
            let n = 15;
            let mut b = batch(case(c), round * n as u64, n);
            let mut s = summary(case(c), &["secret"], &[], &["cia"]);
            s.version = (round + 1) * n as u64;
            s.reports = vec![report(c * 10 + u128::from(round), "2024-01-02T03:04:05Z")];
            b.summary = Some(s);
            a.append(b).await.unwrap();
        }
    }
    for i in 0..3 {
        let w = DocWrite::put(DocKind::Session, "s1", DocExpect::Any, &i);
        a.write_docs(vec![w]).await.unwrap();
    }
    a.write_docs(vec![DocWrite::put(
        DocKind::Account,
        "kim",
        DocExpect::Absent,
        &"kim",
    )])
    .await
    .unwrap();
    let b = f.create("copy").await;
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |p: CopyProgress| seen.lock().unwrap().push(p);
    let r = crate::copy(&a, &b, Some(&progress)).await.unwrap();
    assert_eq!((r.size, r.cases, r.docs), (4515, 43, 2));
    assert_eq!(r.checkpoints, 7 * 43);
    assert_eq!(
        b.ledger_head().await.unwrap(),
        a.ledger_head().await.unwrap()
    );
    assert_eq!(
        b.projection_digest().await.unwrap(),
        a.projection_digest().await.unwrap()
    );
    assert_eq!(
        b.get_doc(DocKind::Session, "s1")
            .await
            .unwrap()
            .unwrap()
            .version,
        3
    );
    assert_eq!(
        b.get_doc(DocKind::Account, "kim").await.unwrap(),
        a.get_doc(DocKind::Account, "kim").await.unwrap()
    );
    assert_eq!(verified(&b).await, 4515);
    let ledger: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.stage == CopyStage::Ledger)
        .map(|p| p.done)
        .collect();
    assert_eq!(ledger, vec![0, 2000, 4000, 4515]);
    // The copy goes on where the source would.
    b.append(batch(case(0), 105, 1)).await.unwrap();
    assert_eq!(verified(&b).await, 4516);
    // Importing rows that do not continue the ledger, or documents that
    // exist, is refused and writes nothing.
    let page = a.read_leaves(10, 5).await.unwrap();
    let r = b
        .import_raw(RawRows::Ledger {
            leaves: page,
            nodes: vec![],
            checkpoints: vec![],
        })
        .await;
    assert!(matches!(r, Err(StoreError::Conflict { .. })), "{r:?}");
    let docs = a.list_docs(DocKind::Session, None, 2).await.unwrap();
    let r = b.import_raw(RawRows::Docs(docs)).await;
    assert!(matches!(r, Err(StoreError::DocConflict { .. })), "{r:?}");
    assert_eq!(verified(&b).await, 4516);
    // A target that holds anything is refused.
    let c = f.create("third").await;
    c.write_docs(vec![DocWrite::put(
        DocKind::Setting,
        "x",
        DocExpect::Absent,
        &1,
    )])
    .await
    .unwrap();
    let e = crate::copy(&a, &c, None).await.unwrap_err();
    assert!(matches!(e, CopyError::TargetNotEmpty(_)), "{e}");
    let e = crate::copy(&a, &b, None).await.unwrap_err();
    assert!(e.to_string().contains("ledger holds 4516 events"), "{e}");
    // A read-only target cannot be written.
    let ro = f.open("third", None).await.unwrap();
    assert!(matches!(
        ro.import_raw(RawRows::Cases(vec![])).await,
        Err(StoreError::ReadOnly)
    ));
}
