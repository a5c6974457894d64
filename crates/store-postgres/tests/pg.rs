//! Tests of the PostgreSQL store against a live server.
//!
//! The server is `TOCSIN_TEST_PG` (a URL without a database name; default
//! `postgres://postgres@127.0.0.1:5432`). Every test creates its own
//! database, `tocsin_test_<pid>_<n>_<nanos>`, and drops it afterwards, also
//! when the test fails (the guard's `Drop`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tocsin_domain::case::CaseState;
use tocsin_domain::event::{Event, ReassessmentReason};
use tocsin_domain::{ActorName, CaseId, ReportId};
use tocsin_ledger::NoteSigner;
use tocsin_store::audit::{VerifyOptions, verify};
use tocsin_store::{
    AccessFilter, CaseQuery, CaseSummary, Doc, DocExpect, DocKind, DocWrite, EventEnvelope,
    NewEvents, ReportSummary, Store, StoreError, StreamId,
};
use tocsin_store_postgres::{InitParams, PgOptions, PostgresStore};

// ---------------------------------------------------------------------------
// A database per test.

fn server() -> String {
    std::env::var("TOCSIN_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
        .trim_end_matches('/')
        .to_owned()
}

/// A fresh database, dropped (with its connections) when this is dropped.
struct TestDb {
    name: String,
    url: String,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDb {
    async fn new() -> TestDb {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "tocsin_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect(&format!("{}/postgres", server()))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "these tests need a PostgreSQL server at {} (set TOCSIN_TEST_PG): {e}",
                    server()
                )
            });
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .unwrap();
        let _ = admin.close().await;
        let url = format!("{}/{name}", server());
        TestDb { name, url }
    }

    /// A plain connection to this database, for looking underneath the store.
    async fn conn(&self) -> PgConnection {
        PgConnection::connect(&self.url).await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop may run inside the test's runtime: do the work on a thread
        // with a runtime of its own.
        let name = self.name.clone();
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut admin = PgConnection::connect(&format!("{}/postgres", server())).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut admin)
                    .await?;
                admin.close().await
            })
        })
        .join();
        if let Ok(Err(e)) = done {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

// ---------------------------------------------------------------------------
// Helpers (the same as the SQLite store's tests).

fn signer() -> NoteSigner {
    NoteSigner::from_seed("tocsin-test", [3u8; 32]).unwrap()
}

fn init() -> InitParams {
    InitParams {
        deployment_id: "d".into(),
        origin: "tocsin.test/unit".into(),
        created_at: "2024-01-01T00:00:00Z".into(),
    }
}

async fn create(db: &TestDb) -> PostgresStore {
    PostgresStore::create(&db.url, signer(), init())
        .await
        .unwrap()
}

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

fn batch(stream: StreamId, expected: u64, n: usize) -> NewEvents {
    NewEvents::new(stream, expected, (0..n).map(|i| event(i as u64)).collect())
}

fn uuid_from(n: u128) -> tocsin_domain::ids::Uuid {
    tocsin_domain::ids::Uuid::from_u128(n)
}

fn case(n: u128) -> StreamId {
    StreamId::Case(CaseId::from_uuid(uuid_from(n)))
}

async fn verified(store: Arc<dyn Store>) -> u64 {
    let opts = VerifyOptions {
        verifier: signer().verifier(),
        since: None,
        deep: true,
        progress: None,
    };
    match verify(store, &opts).await.unwrap() {
        Ok(r) => r.size,
        Err(f) => panic!("{f}"),
    }
}

async fn count(db: &TestDb, table: &str) -> i64 {
    let mut c = db.conn().await;
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&mut c)
        .await
        .unwrap()
}

fn summary(stream: StreamId, levels: &[&str], comps: &[&str], els: &[&str]) -> CaseSummary {
    let t: tocsin_domain::Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
    let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    CaseSummary {
        id: stream.case().unwrap(),
        title: "t".into(),
        state: CaseState::AwaitingDetermination,
        owner: "o".into(),
        lead_element: "e".into(),
        opened_at: t,
        updated_at: t,
        version: 1,
        verdict: None,
        reassessment_due: None,
        next_step: None,
        next_due: None,
        escalations: 0,
        reports: vec![],
        levels: v(levels),
        compartments: v(comps),
        elements: v(els),
        existence_restricted: false,
        sweep_at: None,
    }
}

// ---------------------------------------------------------------------------
// The SQLite store's tests, ported.

#[tokio::test]
async fn schema_is_marked_and_versioned() {
    let db = TestDb::new().await;
    let s = create(&db).await;
    assert_eq!(
        s.meta().schema_version,
        tocsin_store_postgres::schema_version()
    );
    assert_eq!(s.meta().origin, "tocsin.test/unit");
    assert_eq!(s.meta().verifier_key, signer().verifier().to_string());
    let mut c = db.conn().await;
    let app: String = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'application'")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(app, "tocsin");
    let versions: Vec<i32> =
        sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(&mut c)
            .await
            .unwrap();
    assert_eq!(
        versions,
        (1..=tocsin_store_postgres::schema_version() as i32).collect::<Vec<_>>()
    );
    assert!(s.integrity_check().await.unwrap().is_empty());
    assert!(s.describe().contains(&db.name), "{}", s.describe());
    // The pool's connections carry the statement timeout.
    let timeout: String = sqlx::query_scalar("SELECT current_setting('statement_timeout')")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(timeout, "30s");
}

#[tokio::test]
async fn a_stale_version_is_a_conflict_and_writes_nothing() {
    let db = TestDb::new().await;
    let s = create(&db).await;
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
    assert_eq!(verified(Arc::new(s.clone())).await, 3);
    assert_eq!(s.read_stream(&case(1)).await.unwrap().len(), 3);
    assert!(s.integrity_check().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_share_commits_and_conflicts_spoil_nothing() {
    let db = TestDb::new().await;
    let s = create(&db).await;
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
    assert_eq!(verified(Arc::new(s.clone())).await, 480);
    let commits = count(&db, "checkpoints").await;
    assert!(commits < 160, "{commits} commits for 160 appends");
}

#[tokio::test]
async fn two_stores_on_one_database_take_turns_and_stay_consistent() {
    // As two processes would: each reloads the tree when the other appended.
    let db = TestDb::new().await;
    let a = create(&db).await;
    let b = PostgresStore::open(&db.url, Some(signer())).await.unwrap();
    for i in 0..20u128 {
        let s = if i % 2 == 0 { &a } else { &b };
        s.append(batch(case(i), 0, (i % 3 + 1) as usize))
            .await
            .unwrap();
    }
    assert_eq!(verified(Arc::new(a.clone())).await, 39);
    assert_eq!(verified(Arc::new(b.clone())).await, 39);
    assert_eq!(count(&db, "checkpoints").await, 20);
}

#[tokio::test]
async fn reopening_continues_the_same_tree() {
    let db = TestDb::new().await;
    {
        let s = create(&db).await;
        s.append(batch(case(1), 0, 5)).await.unwrap();
        s.close().await;
        assert!(matches!(
            s.append(batch(case(1), 5, 1)).await,
            Err(StoreError::Closed)
        ));
    }
    let s = PostgresStore::open(&db.url, Some(signer())).await.unwrap();
    s.append(batch(case(1), 5, 6)).await.unwrap();
    assert_eq!(verified(Arc::new(s.clone())).await, 11);
    // Read-only stores refuse to write.
    let ro = PostgresStore::open(&db.url, None).await.unwrap();
    assert!(matches!(
        ro.append(batch(case(2), 0, 1)).await,
        Err(StoreError::ReadOnly)
    ));
    assert!(matches!(
        ro.write_docs(vec![DocWrite::delete(DocKind::User, "x", DocExpect::Any)])
            .await,
        Err(StoreError::ReadOnly)
    ));
    assert_eq!(ro.ledger_head().await.unwrap().size, 11);
    // Another key is refused.
    let other = NoteSigner::from_seed("tocsin-test", [4u8; 32]).unwrap();
    assert!(matches!(
        PostgresStore::open(&db.url, Some(other)).await,
        Err(StoreError::WrongKey { .. })
    ));
}

#[tokio::test]
async fn documents_compare_and_set_and_go_with_their_append() {
    let db = TestDb::new().await;
    let store = create(&db).await;
    let put = |expect, body: &str| DocWrite {
        kind: DocKind::User,
        key: "kim".into(),
        expect,
        body: Some(body.as_bytes().to_vec()),
    };
    assert_eq!(
        store
            .write_docs(vec![put(DocExpect::Absent, "1")])
            .await
            .unwrap(),
        vec![1]
    );
    assert!(matches!(
        store.write_docs(vec![put(DocExpect::Absent, "x")]).await,
        Err(StoreError::DocConflict { .. })
    ));
    assert!(matches!(
        store
            .write_docs(vec![put(DocExpect::Version(7), "x")])
            .await,
        Err(StoreError::DocConflict { .. })
    ));
    assert_eq!(
        store
            .write_docs(vec![put(DocExpect::Version(1), "2")])
            .await
            .unwrap(),
        vec![2]
    );
    assert_eq!(
        store
            .write_docs(vec![put(DocExpect::Any, "2")])
            .await
            .unwrap(),
        vec![3]
    );
    assert_eq!(
        store
            .write_docs(vec![put(DocExpect::Version(3), "2")])
            .await
            .unwrap(),
        vec![4]
    );
    let d = store.get_doc(DocKind::User, "kim").await.unwrap().unwrap();
    assert_eq!((d.version, d.body.as_slice()), (4, b"2".as_slice()));
    // All or nothing: a failing second write undoes the first.
    let other = DocWrite {
        kind: DocKind::Session,
        key: "s".into(),
        expect: DocExpect::Any,
        body: Some(b"s".to_vec()),
    };
    assert!(
        store
            .write_docs(vec![other.clone(), put(DocExpect::Absent, "3")])
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
            .get_doc(DocKind::User, "kim")
            .await
            .unwrap()
            .unwrap()
            .body,
        b"5"
    );
    // Listing is in key (byte) order, after a cursor.
    for k in ["b", "a", "c", "B"] {
        store
            .write_docs(vec![DocWrite {
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
    store
        .write_docs(vec![DocWrite::delete(DocKind::Token, "b", DocExpect::Any)])
        .await
        .unwrap();
    assert!(store.get_doc(DocKind::Token, "b").await.unwrap().is_none());
    assert_eq!(
        store
            .write_docs(vec![DocWrite::delete(
                DocKind::Token,
                "b",
                DocExpect::Absent
            )])
            .await
            .unwrap(),
        vec![0]
    );
    assert!(matches!(
        store
            .write_docs(vec![DocWrite::delete(
                DocKind::Token,
                "a",
                DocExpect::Version(2)
            )])
            .await,
        Err(StoreError::DocConflict { .. })
    ));
    assert!(matches!(
        store
            .write_docs(vec![DocWrite::delete(
                DocKind::Token,
                "a",
                DocExpect::Absent
            )])
            .await,
        Err(StoreError::DocConflict { .. })
    ));
    store
        .write_docs(vec![DocWrite::delete(
            DocKind::Token,
            "a",
            DocExpect::Version(1),
        )])
        .await
        .unwrap();
    assert!(store.get_doc(DocKind::Token, "a").await.unwrap().is_none());
}

#[tokio::test]
async fn unversioned_appends_go_at_the_end() {
    let db = TestDb::new().await;
    let store = create(&db).await;
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
    assert_eq!(verified(Arc::new(store.clone())).await, 20);
}

#[tokio::test]
async fn the_access_filter_admits_exactly_what_a_reader_may_see() {
    let db = TestDb::new().await;
    let store = create(&db).await;
    let cases: [(&[&str], &[&str], &[&str]); 4] = [
        (&[], &[], &["ct"]),
        (&["secret"], &[], &["ct"]),
        (&["secret"], &["HCS"], &["ct", "fbi"]),
        (&[], &[], &["fbi"]),
    ];
    for (i, (l, c, e)) in cases.iter().enumerate() {
        let s = case(i as u128 + 1);
        let mut b = batch(s, 0, 1);
        b.summary = Some(summary(s, l, c, e));
        store.append(b).await.unwrap();
    }
    let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let seen = |f: AccessFilter| {
        let store = store.clone();
        async move {
            let q = CaseQuery {
                access: Some(f.clone()),
                ..Default::default()
            };
            let page = store.list_cases(&q).await.unwrap();
            let all = store.list_cases(&CaseQuery::default()).await.unwrap();
            // The database filter and the in-memory test agree.
            let expected: Vec<_> = all
                .items
                .iter()
                .filter(|s| f.admits(s))
                .map(|s| s.id)
                .collect();
            let got: Vec<_> = page.items.iter().map(|s| s.id).collect();
            assert_eq!(got, expected);
            got.len()
        }
    };
    let f = |l: &[&str], c: &[&str], e: Option<&[&str]>| AccessFilter {
        levels: v(l),
        compartments: v(c),
        elements: e.map(v),
    };
    assert_eq!(seen(f(&[], &[], Some(&["ct"]))).await, 1);
    assert_eq!(seen(f(&["secret"], &[], Some(&["ct"]))).await, 2);
    assert_eq!(seen(f(&["secret"], &["HCS"], Some(&["ct"]))).await, 3);
    assert_eq!(seen(f(&["secret"], &["HCS"], None)).await, 4);
    assert_eq!(seen(f(&[], &[], Some(&["fbi"]))).await, 1);
    assert_eq!(seen(f(&[], &[], Some(&["nobody"]))).await, 0);
}

// ---------------------------------------------------------------------------
// Queries, projections, integrity.

fn report(n: u128, at: &str) -> ReportSummary {
    ReportSummary {
        id: ReportId::from_uuid(uuid_from(1000 + n)),
        originating_element: format!("el{n}"),
        received_at: at.parse().unwrap(),
        grade: "B2".into(),
        independent: n.is_multiple_of(2),
    }
}

#[tokio::test]
async fn case_lists_page_filter_and_carry_their_reports() {
    let db = TestDb::new().await;
    let store = create(&db).await;
    for i in 1..=7u128 {
        let s = case(i);
        let mut b = batch(s, 0, 1);
        let mut sm = summary(s, &[], &[], &["ct"]);
        sm.reports = vec![
            report(i * 10, "2024-01-02T00:00:00.123456789Z"),
            report(i * 10 + 1, "2024-01-03T00:00:00Z"),
        ];
        if i % 2 == 0 {
            sm.state = CaseState::Closed;
        }
        if i == 3 {
            sm.reassessment_due = Some("window_lapsed".into());
            sm.next_step = Some("determine".into());
            sm.next_due = Some("2024-02-01T00:00:00Z".parse().unwrap());
        }
        b.summary = Some(sm);
        store.append(b).await.unwrap();
    }
    // A later summary replaces the row and its reports.
    let mut b = batch(case(5), 1, 1);
    let mut sm = summary(case(5), &[], &[], &["ct"]);
    sm.version = 2;
    sm.reports = vec![report(99, "2024-01-04T00:00:00Z")];
    b.summary = Some(sm.clone());
    store.append(b).await.unwrap();

    let page = store
        .list_cases(&CaseQuery {
            limit: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    let ids = |p: &[CaseSummary]| p.iter().map(|s| s.id).collect::<Vec<_>>();
    let case_id = |i: u128| case(i).case().unwrap();
    assert_eq!(ids(&page.items), [case_id(7), case_id(6), case_id(5)]);
    assert_eq!(page.items[2], sm);
    assert_eq!(page.items[0].reports.len(), 2);
    assert_eq!(
        page.items[0].reports[0].received_at.to_string(),
        "2024-01-02T00:00:00.123456789Z"
    );
    let page2 = store
        .list_cases(&CaseQuery {
            limit: 3,
            after: page.next.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&page2.items), [case_id(4), case_id(3), case_id(2)]);
    let page3 = store
        .list_cases(&CaseQuery {
            limit: 3,
            after: page2.next.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((ids(&page3.items), page3.next), (vec![case_id(1)], None));
    let open = store
        .list_cases(&CaseQuery {
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.items.len(), 4);
    let closed = store
        .list_cases(&CaseQuery {
            state: Some(CaseState::Closed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(closed.items.len(), 3);
    let due = store
        .list_cases(&CaseQuery {
            reassessment_due: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&due.items), [case_id(3)]);
    let overdue = |at: &str| {
        let store = store.clone();
        let at = at.parse().unwrap();
        async move {
            store
                .list_cases(&CaseQuery {
                    overdue_at: Some(at),
                    ..Default::default()
                })
                .await
                .unwrap()
                .items
                .len()
        }
    };
    assert_eq!(overdue("2024-02-01T00:00:00Z").await, 0);
    assert_eq!(overdue("2024-02-01T00:00:01Z").await, 1);

    assert_eq!(
        store.case_ids().await.unwrap(),
        (1..=7).map(case_id).collect::<Vec<_>>()
    );
    let prefix = case_id(3).to_string();
    let found = store
        .case_ids_with_prefix(&prefix[..prefix.len() - 1].to_uppercase(), 10)
        .await
        .unwrap();
    assert!(found.contains(&case_id(3)), "{found:?}");
    assert_eq!(
        store.case_ids_with_prefix("%", 10).await.unwrap().len(),
        7,
        "a wildcard in the prefix is dropped"
    );
    assert!(store.integrity_check().await.unwrap().is_empty());
}

#[tokio::test]
async fn appends_committed_together_leave_the_last_summary_of_each_case() {
    let db = TestDb::new().await;
    let store = create(&db).await;
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
    // Queued together, so one group: case 1 opened and
    // updated twice, report 3 listed by case 1 and then moved to case 2.
    let (a, b, c, d) = tokio::join!(
        store.append(with(1, 0, &[1, 3])),
        store.append(with(1, 1, &[1, 2, 3])),
        store.append(with(2, 0, &[3])),
        store.append(with(1, 2, &[1, 2])),
    );
    for r in [a, b, c, d] {
        r.unwrap();
    }
    // (On this single-threaded runtime all four are queued before the
    // writer runs.)
    assert_eq!(count(&db, "checkpoints").await, 1, "one group");
    let all = store.list_cases(&CaseQuery::default()).await.unwrap().items;
    assert_eq!(all, vec![sm(2, 1, &[3]), sm(1, 3, &[1, 2])]);
    assert!(store.integrity_check().await.unwrap().is_empty());
    assert_eq!(verified(Arc::new(store.clone())).await, 4);
}

#[tokio::test]
async fn in_one_group_a_failed_job_undoes_only_itself() {
    let db = TestDb::new().await;
    let store = create(&db).await;
    let doc = |key: &str, expect| DocWrite::put(DocKind::User, key, expect, &key);
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
    let (a, b, c, d, e, f) = tokio::join!(
        // Plain (buffered), then a document conflict (its savepoint is
        // rolled back), then plain again on the same case, then a
        // document that holds, then a stale version, then a document
        // write that fails.
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
    );
    assert_eq!(a.unwrap().first_position, 0);
    assert!(matches!(b, Err(StoreError::DocConflict { .. })), "{b:?}");
    assert_eq!(c.unwrap().first_position, 2);
    assert_eq!(d.unwrap().first_position, 3);
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
    assert!(matches!(f, Err(StoreError::DocConflict { .. })), "{f:?}");
    assert_eq!(count(&db, "checkpoints").await, 1, "one group");
    assert_eq!(verified(Arc::new(store.clone())).await, 4);
    assert_eq!(
        store.list_cases(&CaseQuery::default()).await.unwrap().items,
        vec![sm]
    );
    assert!(
        store
            .get_doc(DocKind::User, "free")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .get_doc(DocKind::User, "taken")
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
    assert!(store.integrity_check().await.unwrap().is_empty());
}

#[tokio::test]
async fn replacing_projections_rebuilds_cases_and_derived_documents() {
    let db = TestDb::new().await;
    let store = create(&db).await;
    for i in 1..=3u128 {
        let mut b = batch(case(i), 0, 1);
        b.summary = Some(summary(case(i), &[], &[], &[]));
        store.append(b).await.unwrap();
    }
    store
        .write_docs(vec![
            DocWrite::put(DocKind::User, "old", DocExpect::Any, &"old"),
            DocWrite::put(DocKind::Session, "s", DocExpect::Any, &"session"),
        ])
        .await
        .unwrap();
    let before = store.projection_digest().await.unwrap();
    assert_eq!((before.cases, before.docs), (3, 1));
    let doc = |kind, key: &str| Doc {
        kind,
        key: key.into(),
        version: 1,
        body: key.as_bytes().to_vec(),
    };
    let mut sm = summary(case(2), &["secret"], &[], &["ct"]);
    sm.reports = vec![report(1, "2024-01-02T00:00:00Z")];
    store
        .replace_projections(
            vec![sm.clone()],
            vec![doc(DocKind::User, "new"), doc(DocKind::Element, "ct")],
        )
        .await
        .unwrap();
    let all = store.list_cases(&CaseQuery::default()).await.unwrap();
    assert_eq!(all.items, vec![sm.clone()]);
    assert!(store.get_doc(DocKind::User, "old").await.unwrap().is_none());
    assert!(store.get_doc(DocKind::User, "new").await.unwrap().is_some());
    // Documents that are not derived survive a rebuild.
    assert!(
        store
            .get_doc(DocKind::Session, "s")
            .await
            .unwrap()
            .is_some()
    );
    let after = store.projection_digest().await.unwrap();
    assert_eq!((after.cases, after.reports, after.docs), (1, 1, 2));
    assert_eq!(
        after,
        tocsin_store::ProjectionDigest::of(
            &[sm.clone()],
            &[doc(DocKind::User, "new"), doc(DocKind::Element, "ct")]
        )
    );
    // A document given twice fails the rebuild, which changes nothing.
    assert!(matches!(
        store
            .replace_projections(
                vec![],
                vec![doc(DocKind::User, "a"), doc(DocKind::User, "a")]
            )
            .await,
        Err(StoreError::DocConflict { .. })
    ));
    assert_eq!(store.projection_digest().await.unwrap(), after);
    // A summary for a case the ledger does not have is refused.
    assert!(matches!(
        store
            .replace_projections(vec![summary(case(42), &[], &[], &[])], vec![])
            .await,
        Err(StoreError::Corrupt(_))
    ));
    assert_eq!(store.projection_digest().await.unwrap(), after);
}

#[tokio::test]
async fn the_integrity_check_finds_what_postgres_does_not() {
    let db = TestDb::new().await;
    let store = create(&db).await;
    for i in 0..5u128 {
        store.append(batch(case(i), 0, 3)).await.unwrap();
    }
    assert_eq!(store.integrity_check().await.unwrap(), Vec::<String>::new());
    let mut c = db.conn().await;
    sqlx::query("DELETE FROM ledger WHERE position = 7")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query("DELETE FROM merkle_nodes WHERE level = 2 AND idx = 1")
        .execute(&mut c)
        .await
        .unwrap();
    let found = store.integrity_check().await.unwrap();
    assert!(found.iter().any(|f| f.contains("14 rows")), "{found:#?}");
    assert!(found.iter().any(|f| f.contains("level 2")), "{found:#?}");
    // The audit finds it too, at the position.
    let opts = VerifyOptions {
        verifier: signer().verifier(),
        since: None,
        deep: false,
        progress: None,
    };
    let f = verify(Arc::new(store.clone()), &opts)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(f.position, 7, "{f}");
}

// ---------------------------------------------------------------------------
// Opening: what is refused, and how it is said.

#[tokio::test]
async fn opening_refuses_what_is_not_a_tocsin_database() {
    let db = TestDb::new().await;
    // Empty: run init first.
    let e = PostgresStore::open(&db.url, None).await.err().unwrap();
    assert!(
        matches!(&e, StoreError::NotTocsin(m) if m.contains("tocsin init")),
        "{e}"
    );
    // Somebody else's tables.
    let mut c = db.conn().await;
    sqlx::query("CREATE TABLE invoices (id int)")
        .execute(&mut c)
        .await
        .unwrap();
    let e = PostgresStore::open(&db.url, None).await.err().unwrap();
    assert!(
        matches!(&e, StoreError::NotTocsin(m) if m.contains("not a tocsin database")),
        "{e}"
    );
    let e = PostgresStore::create(&db.url, signer(), init())
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&e, StoreError::NotTocsin(m) if m.contains("refusing")),
        "{e}"
    );
    sqlx::query("DROP TABLE invoices")
        .execute(&mut c)
        .await
        .unwrap();
    // Initialised once, not twice.
    create(&db).await;
    let e = PostgresStore::create(&db.url, signer(), init())
        .await
        .err()
        .unwrap();
    assert!(matches!(e, StoreError::NotTocsin(_)), "{e}");
    // From a newer tocsin.
    sqlx::query("INSERT INTO schema_migrations (version) VALUES (99)")
        .execute(&mut c)
        .await
        .unwrap();
    let e = PostgresStore::open(&db.url, None).await.err().unwrap();
    assert!(matches!(e, StoreError::TooNew { found: 99, .. }), "{e}");
}

#[tokio::test]
async fn connection_failures_say_what_is_wrong() {
    let quick = PgOptions {
        connect_timeout: Duration::from_secs(3),
        ..PgOptions::default()
    };
    // A database that does not exist.
    let url = format!("{}/tocsin_test_no_such_database", server());
    let e = PostgresStore::open_with(&url, None, quick.clone())
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&e, StoreError::Backend(m) if m.contains("does not exist") && m.contains("createdb")),
        "{e}"
    );
    // Nobody listening (port 1 on loopback).
    let e = PostgresStore::open_with("postgres://postgres@127.0.0.1:1/x", None, quick.clone())
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&e, StoreError::Backend(m) if m.contains("cannot reach") && m.contains("127.0.0.1:1")),
        "{e}"
    );
    // A URL that is not one, without echoing it (it may hold a password).
    let e = PostgresStore::open_with("postgres://u:sekrit@[bad", None, quick.clone())
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&e, StoreError::Backend(m) if !m.contains("sekrit")),
        "{e}"
    );
    // A role that does not exist (trust authentication still checks the role).
    let url = server().replacen("postgres://postgres@", "postgres://no_such_role@", 1);
    if url != server() {
        let e = PostgresStore::open_with(&format!("{url}/postgres"), None, quick)
            .await
            .err()
            .unwrap();
        assert!(
            matches!(&e, StoreError::Backend(m) if m.contains("no_such_role")),
            "{e}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processes_starting_together_initialise_once_and_open_together() {
    let db = TestDb::new().await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let url = db.url.clone();
        set.spawn(async move { PostgresStore::create(&url, signer(), init()).await });
    }
    let (mut ok, mut refused) = (0, 0);
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::NotTocsin(_)) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!((ok, refused), (1, 3));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let url = db.url.clone();
        set.spawn(async move { PostgresStore::open(&url, Some(signer())).await });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    assert_eq!(
        count(&db, "schema_migrations").await,
        tocsin_store_postgres::schema_version()
    );
}

// ---------------------------------------------------------------------------
// Several processes on one database.

/// What an acknowledged append claimed.
#[derive(Debug)]
struct Ack {
    stream: StreamId,
    first_position: u64,
    count: u64,
    version: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_with_many_tasks_keep_one_dense_ledger() {
    let db = TestDb::new().await;
    let a = create(&db).await;
    // A second store with its own pool and writer, as another process.
    let b = PostgresStore::open(&db.url, Some(signer())).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    let contested = case(1_000_000);
    let mut set = tokio::task::JoinSet::new();
    for t in 0..20u128 {
        let s = if t % 2 == 0 { a.clone() } else { b.clone() };
        set.spawn(async move {
            let mut acks = Vec::new();
            let mut conflicts = 0u64;
            let mut own: HashMap<u128, u64> = HashMap::new();
            let mut n = 0u128;
            while Instant::now() < deadline {
                n += 1;
                // Which of this task's own streams, if it is one.
                let mut own_key = None;
                let b = if n.is_multiple_of(7) {
                    // A record-only stream: unversioned.
                    let mut b = batch(StreamId::Access, 0, 1);
                    b.expected_version = None;
                    b
                } else if n.is_multiple_of(5) {
                    // One stream everybody appends to: versions collide.
                    let v = s.read_stream(&contested).await.unwrap().len() as u64;
                    batch(contested, v, 1)
                } else {
                    // This task's own streams, a few events at a time.
                    let k = t * 1000 + n % 3;
                    own_key = Some(k);
                    let v = *own.get(&k).unwrap_or(&0);
                    batch(case(k), v, (n % 3 + 1) as usize)
                };
                let stream = b.stream;
                match s.append(b).await {
                    Ok(r) => {
                        if let Some(k) = own_key {
                            own.insert(k, r.version);
                        }
                        acks.push(Ack {
                            stream,
                            first_position: r.first_position,
                            count: r.count,
                            version: r.version,
                        });
                    }
                    Err(StoreError::Conflict { .. }) if stream == contested => conflicts += 1,
                    Err(e) => panic!("append to {stream}: {e}"),
                }
            }
            (acks, conflicts)
        });
    }
    let mut acks = Vec::new();
    let mut conflicts = 0;
    while let Some(r) = set.join_next().await {
        let (a, c) = r.unwrap();
        acks.extend(a);
        conflicts += c;
    }
    let head = a.ledger_head().await.unwrap();
    let total: u64 = acks.iter().map(|a| a.count).sum();
    assert_eq!(head.size, total, "every leaf is an acknowledged append");
    assert!(total > 100, "only {total} events in 3 s");
    // Positions are dense, no duplicate, and each acknowledged append is
    // where it was told it is.
    let mut at: BTreeMap<u64, (String, u64)> = BTreeMap::new();
    let mut from = 0;
    loop {
        let page = b.read_leaves(from, 1000).await.unwrap();
        for r in page.iter() {
            assert!(
                at.insert(r.position, (r.stream.to_owned(), r.seq))
                    .is_none()
            );
        }
        match page.last_position() {
            Some(p) => from = p + 1,
            None => break,
        }
    }
    assert_eq!(
        at.keys().copied().collect::<Vec<_>>(),
        (0..head.size).collect::<Vec<_>>()
    );
    for ack in &acks {
        for i in 0..ack.count {
            let (stream, seq) = &at[&(ack.first_position + i)];
            assert_eq!(stream, &ack.stream.to_string(), "{ack:?}");
            assert_eq!(*seq, ack.version - ack.count + 1 + i, "{ack:?}");
        }
    }
    let contested_acks = acks.iter().filter(|a| a.stream == contested).count() as u64;
    assert_eq!(
        a.read_stream(&contested).await.unwrap().len() as u64,
        contested_acks
    );
    eprintln!(
        "two instances, 20 tasks, 3 s: {} appends ({total} events), {conflicts} conflicts on the contested stream, {} commits",
        acks.len(),
        count(&db, "checkpoints").await
    );
    assert_eq!(verified(Arc::new(a.clone())).await, head.size);
    assert_eq!(verified(Arc::new(b.clone())).await, head.size);
    assert!(a.integrity_check().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_approvals_on_two_instances_exactly_one_wins() {
    let db = TestDb::new().await;
    let a = create(&db).await;
    let b = PostgresStore::open(&db.url, Some(signer())).await.unwrap();
    let stream = case(7);
    a.append(batch(stream, 0, 1)).await.unwrap();
    for round in 1..=30u64 {
        // Four contenders, two through each instance, all holding version `round`.
        let barrier = Arc::new(tokio::sync::Barrier::new(4));
        let mut set = tokio::task::JoinSet::new();
        for i in 0..4 {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            let barrier = barrier.clone();
            set.spawn(async move {
                barrier.wait().await;
                s.append(batch(stream, round, 1)).await
            });
        }
        let (mut won, mut lost) = (0, 0);
        while let Some(r) = set.join_next().await {
            match r.unwrap() {
                Ok(a) => {
                    assert_eq!(a.version, round + 1);
                    won += 1
                }
                Err(StoreError::Conflict {
                    expected, actual, ..
                }) => {
                    assert_eq!((expected, actual), (round, round + 1));
                    lost += 1
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!((won, lost), (1, 3), "round {round}");
    }
    assert_eq!(a.read_stream(&stream).await.unwrap().len(), 31);
    assert_eq!(verified(Arc::new(b.clone())).await, 31);
}

// ---------------------------------------------------------------------------
// The same content as SQLite.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_content_gives_the_same_digest_and_tree_as_sqlite() {
    let db = TestDb::new().await;
    let pg = create(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let lite = tocsin_store_sqlite::SqliteStore::create(
        &dir.path().join("t.db"),
        signer(),
        tocsin_store_sqlite::InitParams {
            deployment_id: "d".into(),
            origin: "tocsin.test/unit".into(),
            created_at: "2024-01-01T00:00:00Z".into(),
        },
    )
    .unwrap();
    let stores: [&dyn Store; 2] = [&pg, &lite];
    for s in stores {
        for i in 1..=5u128 {
            let mut b = batch(case(i), 0, i as usize);
            let mut sm = summary(
                case(i),
                if i % 2 == 0 { &["secret"] } else { &[] },
                &[],
                &["ct", "fbi"],
            );
            sm.title = format!("case «{i}»");
            sm.version = i as u64;
            sm.reports = (0..i)
                .map(|r| report(i * 10 + r, "2024-01-02T03:04:05.678Z"))
                .collect();
            sm.next_due = Some("2024-03-01T12:00:00Z".parse().unwrap());
            sm.next_step = Some("determine".into());
            b.summary = Some(sm);
            b.docs = vec![
                DocWrite::put(DocKind::User, format!("user{i}"), DocExpect::Absent, &i),
                DocWrite::put(DocKind::Session, format!("s{i}"), DocExpect::Any, &i),
            ];
            s.append(b).await.unwrap();
        }
        let mut b = batch(StreamId::System, 0, 2);
        b.docs = vec![DocWrite::put(
            DocKind::Setting,
            "levels",
            DocExpect::Absent,
            &["a", "b"],
        )];
        s.append(b).await.unwrap();
    }
    let (dp, dl) = (
        pg.projection_digest().await.unwrap(),
        lite.projection_digest().await.unwrap(),
    );
    assert_eq!(dp, dl);
    assert_eq!((dp.cases, dp.reports, dp.docs), (5, 15, 6));
    let (hp, hl) = (
        pg.ledger_head().await.unwrap(),
        lite.ledger_head().await.unwrap(),
    );
    assert_eq!((hp.size, hp.root), (hl.size, hl.root));
    assert_eq!(
        pg.read_leaves(0, 100).await.unwrap(),
        lite.read_leaves(0, 100).await.unwrap()
    );
    assert_eq!(
        pg.list_cases(&CaseQuery::default()).await.unwrap(),
        lite.list_cases(&CaseQuery::default()).await.unwrap()
    );
    assert_eq!(pg.case_ids().await.unwrap(), lite.case_ids().await.unwrap());
    // And after a rebuild from the same summaries.
    let cases = pg.list_cases(&CaseQuery::default()).await.unwrap().items;
    let mut docs = Vec::new();
    for k in DocKind::ALL {
        docs.extend(pg.list_docs(k, None, 100).await.unwrap());
    }
    pg.replace_projections(cases.clone(), docs.clone())
        .await
        .unwrap();
    lite.replace_projections(cases, docs).await.unwrap();
    assert_eq!(
        pg.projection_digest().await.unwrap(),
        lite.projection_digest().await.unwrap()
    );
    assert_eq!(pg.projection_digest().await.unwrap(), dp);
}

/// SQLite → PostgreSQL → SQLite with `tocsin_store::copy` (what `tocsin
/// migrate` does), over several chunks: every leaf, node, checkpoint,
/// summary and document arrives as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_to_postgres_and_back_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let lite = |name: &str| {
        tocsin_store_sqlite::SqliteStore::create(
            &dir.path().join(name),
            signer(),
            tocsin_store_sqlite::InitParams {
                deployment_id: "d".into(),
                origin: "tocsin.test/unit".into(),
                created_at: "2024-01-01T00:00:00Z".into(),
            },
        )
        .unwrap()
    };
    let source = lite("a.db");
    for round in 0..5u64 {
        for c in 0..50u128 {
            let mut b = batch(case(c), round * 17, 17);
            let mut sm = summary(case(c), &["secret"], &["HCS"], &["ct"]);
            sm.version = (round + 1) * 17;
            sm.reports = vec![report(c * 10 + round as u128, "2024-01-02T03:04:05Z")];
            b.summary = Some(sm);
            b.docs = vec![DocWrite::put(
                DocKind::Idempotency,
                format!("k{c}"),
                DocExpect::Any,
                &round,
            )];
            source.append(b).await.unwrap();
        }
    }
    let db = TestDb::new().await;
    let pg = create(&db).await;
    let to_pg = tocsin_store::copy(&source, &pg, None).await.unwrap();
    assert_eq!((to_pg.size, to_pg.cases, to_pg.docs), (4250, 50, 50));
    let back = lite("b.db");
    let to_lite = tocsin_store::copy(&pg, &back, None).await.unwrap();
    assert_eq!(to_lite, to_pg);
    let stores: [&dyn Store; 3] = [&source, &pg, &back];
    let mut heads = Vec::new();
    for s in stores {
        heads.push((
            s.ledger_head().await.unwrap(),
            s.read_leaves(0, 5000).await.unwrap(),
            s.read_level(1, 0, 5000).await.unwrap(),
            s.read_checkpoints(0, 5000).await.unwrap(),
            s.list_docs(DocKind::Idempotency, None, 100).await.unwrap(),
            s.list_cases(&CaseQuery::default()).await.unwrap(),
            s.projection_digest().await.unwrap(),
        ));
    }
    assert!(heads[0] == heads[1] && heads[1] == heads[2]);
    assert_eq!(count(&db, "ledger_head WHERE size = 4250").await, 1);
    assert_eq!(verified(Arc::new(pg.clone())).await, 4250);
    // The copy on PostgreSQL takes appends where the source left off.
    pg.append(batch(case(0), 85, 1)).await.unwrap();
    assert_eq!(verified(Arc::new(pg.clone())).await, 4251);
    // Importing rows that do not continue the ledger, or documents that
    // exist, is refused and writes nothing.
    let page = source.read_leaves(10, 5).await.unwrap();
    let r = pg
        .import_raw(tocsin_store::RawRows::Ledger {
            leaves: page,
            nodes: vec![],
            checkpoints: vec![],
        })
        .await;
    assert!(matches!(r, Err(StoreError::Conflict { .. })), "{r:?}");
    let docs = source
        .list_docs(DocKind::Idempotency, None, 2)
        .await
        .unwrap();
    let r = pg.import_raw(tocsin_store::RawRows::Docs(docs)).await;
    assert!(matches!(r, Err(StoreError::DocConflict { .. })), "{r:?}");
    assert_eq!(verified(Arc::new(pg.clone())).await, 4251);
}

// ---------------------------------------------------------------------------
// Throughput (not a test: `cargo test -p tocsin-store-postgres --test pg --
// --ignored --nocapture throughput`).

async fn drive(stores: &[PostgresStore], tasks: usize, secs: u64) -> (u64, f64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let s = stores[t % stores.len()].clone();
        set.spawn(async move {
            let mut n = 0u64;
            let stream = case(5_000_000 + t as u128);
            while Instant::now() < deadline {
                // As the service appends to a case: its events and the
                // case's new summary, with its reports.
                let mut b = batch(stream, n, 1);
                let mut sm = summary(stream, &[], &[], &["ct"]);
                sm.version = n + 1;
                sm.reports = vec![
                    report(t as u128 * 2, "2024-01-02T00:00:00Z"),
                    report(t as u128 * 2 + 1, "2024-01-02T00:00:00Z"),
                ];
                b.summary = Some(sm);
                s.append(b).await.unwrap();
                n += 1;
            }
            n
        });
    }
    let mut total = 0;
    while let Some(r) = set.join_next().await {
        total += r.unwrap();
    }
    (total, started.elapsed().as_secs_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test"]
async fn throughput() {
    for (instances, tasks) in [(1, 1), (1, 16), (1, 64), (2, 16), (2, 64)] {
        let db = TestDb::new().await;
        let first = create(&db).await;
        let mut stores = vec![first];
        for _ in 1..instances {
            stores.push(PostgresStore::open(&db.url, Some(signer())).await.unwrap());
        }
        let (n, secs) = drive(&stores, tasks, 5).await;
        let commits = count(&db, "checkpoints").await;
        println!(
            "{instances} instance(s), {tasks} tasks: {n} appends in {secs:.1} s = {:.0} appends/s, {commits} commits ({:.1} appends per commit)",
            n as f64 / secs,
            n as f64 / commits.max(1) as f64
        );
        assert_eq!(verified(Arc::new(stores[0].clone())).await, n);
        for s in &stores {
            s.close().await;
        }
    }
}
