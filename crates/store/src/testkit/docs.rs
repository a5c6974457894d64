//! The contract of documents: compare-and-set, all or nothing, riding with
//! an append, listing in byte order, deletes with expectations.

use super::*;
use crate::{Doc, DocExpect, DocKind, DocWrite, StoreError};

pub async fn documents_compare_and_set_and_go_with_their_append<F: Fixture>() {
    let f = F::new().await;
    let store = f.create(MAIN).await;
    let put = |expect, body: &str| DocWrite {
        kind: DocKind::Account,
        key: "kim".into(),
        expect,
        body: Some(body.as_bytes().to_vec()),
    };
    let write = |w: Vec<DocWrite>| {
        let store = store.clone();
        async move { store.write_docs(w).await }
    };
    assert_eq!(
        write(vec![put(DocExpect::Absent, "1")]).await.unwrap(),
        vec![1]
    );
    assert!(matches!(
        write(vec![put(DocExpect::Absent, "x")]).await,
        Err(StoreError::DocConflict { .. })
    ));
    assert!(matches!(
        write(vec![put(DocExpect::Version(7), "x")]).await,
        Err(StoreError::DocConflict { .. })
    ));
    assert_eq!(
        write(vec![put(DocExpect::Version(1), "2")]).await.unwrap(),
        vec![2]
    );
    let d = store
        .get_doc(DocKind::Account, "kim")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((d.version, d.body.as_slice()), (2, b"2".as_slice()));
    assert_eq!(
        write(vec![put(DocExpect::Any, "2")]).await.unwrap(),
        vec![3]
    );
    assert_eq!(
        write(vec![put(DocExpect::Version(3), "2")]).await.unwrap(),
        vec![4]
    );
    let d = store
        .get_doc(DocKind::Account, "kim")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((d.version, d.body.as_slice()), (4, b"2".as_slice()));
    // All or nothing: a failing second write undoes the first.
    let other = DocWrite {
        kind: DocKind::Session,
        key: "s".into(),
        expect: DocExpect::Any,
        body: Some(b"s".to_vec()),
    };
    assert!(
        write(vec![other.clone(), put(DocExpect::Absent, "3")])
            .await
            .is_err()
    );
    assert!(
        store
            .get_doc(DocKind::Session, "s")
            .await
            .unwrap()
            .is_none()
    );
    // A document conflict fails the append it rides with, and nothing of it is written.
    let mut b = batch(StreamId::Accounts, 0, 1);
    b.docs = vec![put(DocExpect::Absent, "4")];
    assert!(matches!(
        store.append(b).await,
        Err(StoreError::DocConflict { .. })
    ));
    assert_eq!(store.ledger_head().await.unwrap().size, 0);
    let mut b = batch(StreamId::Accounts, 0, 1);
    b.docs = vec![put(DocExpect::Version(4), "5"), other];
    store.append(b).await.unwrap();
    assert_eq!(store.ledger_head().await.unwrap().size, 1);
    assert_eq!(
        store
            .get_doc(DocKind::Account, "kim")
            .await
            .unwrap()
            .unwrap()
            .body,
        b"5"
    );
    assert!(
        store
            .get_doc(DocKind::Session, "s")
            .await
            .unwrap()
            .is_some()
    );
    // Listing is in key (byte) order, after a cursor.
    for k in ["b", "a", "c", "B"] {
        write(vec![DocWrite {
            kind: DocKind::Token,
            key: k.into(),
            expect: DocExpect::Any,
            body: Some(vec![]),
        }])
        .await
        .unwrap();
    }
    let keys = |v: Vec<Doc>| v.into_iter().map(|d| d.key).collect::<Vec<_>>();
    assert_eq!(
        keys(store.list_docs(DocKind::Token, None, 10).await.unwrap()),
        ["B", "a", "b", "c"]
    );
    assert_eq!(
        keys(
            store
                .list_docs(DocKind::Token, Some("a".into()), 1)
                .await
                .unwrap()
        ),
        ["b"]
    );
    // Deletes, with and without expectations.
    write(vec![DocWrite::delete(DocKind::Token, "b", DocExpect::Any)])
        .await
        .unwrap();
    assert!(store.get_doc(DocKind::Token, "b").await.unwrap().is_none());
    assert_eq!(
        write(vec![DocWrite::delete(
            DocKind::Token,
            "b",
            DocExpect::Absent
        )])
        .await
        .unwrap(),
        vec![0]
    );
    assert!(matches!(
        write(vec![DocWrite::delete(
            DocKind::Token,
            "a",
            DocExpect::Version(2)
        )])
        .await,
        Err(StoreError::DocConflict { .. })
    ));
    assert!(matches!(
        write(vec![DocWrite::delete(
            DocKind::Token,
            "a",
            DocExpect::Absent
        )])
        .await,
        Err(StoreError::DocConflict { .. })
    ));
    write(vec![DocWrite::delete(
        DocKind::Token,
        "a",
        DocExpect::Version(1),
    )])
    .await
    .unwrap();
    assert!(store.get_doc(DocKind::Token, "a").await.unwrap().is_none());
    // No write at all is no error.
    assert_eq!(write(vec![]).await.unwrap(), Vec::<u64>::new());
}

// ---------------------------------------------------------------------------
// For backends' migration tests (the stored kind name is only visible in
// SQL).

/// Writes an account twice (so at version 2) and a session whose key is
/// `user`, the documents a migration test takes back to an older schema.
pub async fn write_an_account_a_notice_and_a_session(store: &dyn Store) {
    let kim = DocWrite::put(DocKind::Account, "kim", DocExpect::Absent, &"kim");
    store.write_docs(vec![kim.clone()]).await.unwrap();
    let again = DocWrite {
        expect: DocExpect::Version(1),
        ..kim
    };
    let session = DocWrite::put(DocKind::Session, "user", DocExpect::Absent, &1);
    let notice = DocWrite::put(DocKind::Notice, "n1", DocExpect::Absent, &"n1");
    store
        .write_docs(vec![again, session, notice])
        .await
        .unwrap();
}

/// The (kind, key) rows of what [`write_an_account_a_notice_and_a_session`]
/// wrote, in (kind, key) order, as the current schema stores them.
pub fn stored_account_notice_and_session() -> Vec<(String, String)> {
    vec![
        ("account".to_owned(), "kim".to_owned()),
        ("notice".to_owned(), "n1".to_owned()),
        ("session".to_owned(), "user".to_owned()),
    ]
}

/// Checks that the account [`write_an_account_a_notice_and_a_session`] wrote reads
/// back as it was written; returns it.
pub async fn the_account_and_notice_read_back(store: &dyn Store) -> Doc {
    let kim = store
        .get_doc(DocKind::Account, "kim")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (kim.version, kim.parse::<String>().unwrap().as_str()),
        (2, "kim")
    );
    let listed = store.list_docs(DocKind::Account, None, 10).await.unwrap();
    assert_eq!(listed, vec![kim.clone()]);
    let notice = store.get_doc(DocKind::Notice, "n1").await.unwrap().unwrap();
    assert_eq!(notice.parse::<String>().unwrap(), "n1");
    kim
}

/// Opens cases in 2024, 2023 and 2024 (by their summaries' opening times),
/// in that ledger order; their ids with the numbers they must carry.
pub async fn open_cases_in_two_years(
    store: &dyn Store,
) -> Vec<(tocsin_domain::CaseId, tocsin_domain::CaseNumber)> {
    let mut out = Vec::new();
    for (i, at, year, seq) in [
        (71u128, "2024-02-01T00:00:00Z", 2024, 1),
        (72, "2023-11-01T00:00:00Z", 2023, 1),
        (73, "2024-03-01T00:00:00Z", 2024, 2),
    ] {
        let mut b = batch(case(i), 0, 1);
        let mut s = summary(case(i), &[], &[], &[]);
        s.opened_at = at.parse().unwrap();
        b.summary = Some(s);
        let n = tocsin_domain::CaseNumber::new(year, seq).unwrap();
        assert_eq!(store.append(b).await.unwrap().case_number, Some(n));
        out.push((case(i).case().unwrap(), n));
    }
    out
}

/// Checks that each case of `numbered` carries its number.
pub async fn the_cases_read_back_numbered(
    store: &dyn Store,
    numbered: &[(tocsin_domain::CaseId, tocsin_domain::CaseNumber)],
) {
    for (id, n) in numbered {
        assert_eq!(store.case_by_number(*n).await.unwrap(), Some(*id), "{n}");
        let s = store.case_summary(*id).await.unwrap().unwrap();
        assert_eq!(s.number, Some(*n));
    }
}
