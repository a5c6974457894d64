//! Tests of the PostgreSQL store against a live server: the contract
//! every store keeps (`tocsin_store::testkit`), then what is PostgreSQL's
//! own (schema marks, connection errors, several stores on one database,
//! the same content as SQLite, copies between the two).
//!
//! The server is `TOCSIN_TEST_PG` (a URL without a database name; default
//! `postgres://postgres@127.0.0.1:5432`). Every test creates its own
//! databases, `tocsin_test_<pid>_<n>_<nanos>`, and drops them afterwards,
//! also when the test fails (the guard's `Drop`).

use std::collections::{BTreeMap, HashMap};
use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tocsin_ledger::NoteSigner;
use tocsin_store::audit::{VerifyOptions, verify};
use tocsin_store::testkit::{
    Fixture, HeldWriters, batch, case, commits, init_params, open_cases_in_two_years, report,
    signer, stored_account_notice_and_session, summary, the_account_and_notice_read_back,
    the_cases_read_back_numbered, verified, write_an_account_a_notice_and_a_session,
};
use tocsin_store::{CaseQuery, DocExpect, DocKind, DocWrite, Store, StoreError, StreamId};
use tocsin_store_postgres::{PgOptions, PostgresStore};

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

async fn create(db: &TestDb) -> PostgresStore {
    PostgresStore::create(&db.url, signer(), init_params())
        .await
        .unwrap()
}

async fn count(db: &TestDb, table: &str) -> i64 {
    let mut c = db.conn().await;
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&mut c)
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------
// The contract.

/// Stores are databases on the test server, made as a test asks for them.
#[derive(Default)]
struct Databases {
    made: Mutex<HashMap<String, Arc<TestDb>>>,
}

impl Databases {
    fn db(&self, name: &str) -> Arc<TestDb> {
        self.made.lock().unwrap()[name].clone()
    }
}

#[async_trait]
impl Fixture for Databases {
    type Store = PostgresStore;

    async fn new() -> Self {
        Databases::default()
    }

    async fn create(&self, name: &str) -> PostgresStore {
        let db = Arc::new(TestDb::new().await);
        self.made.lock().unwrap().insert(name.into(), db.clone());
        create(&db).await
    }

    async fn open(
        &self,
        name: &str,
        signer: Option<NoteSigner>,
    ) -> Result<PostgresStore, StoreError> {
        PostgresStore::open(&self.db(name).url, signer).await
    }

    async fn close(&self, store: PostgresStore) {
        store.close().await;
    }

    async fn hold_writers(&self, name: &str) -> Box<dyn HeldWriters> {
        // Another process's writer, in the middle of its transaction.
        let mut c = self.db(name).conn().await;
        sqlx::query("BEGIN").execute(&mut c).await.unwrap();
        sqlx::query("SELECT size FROM ledger_head FOR UPDATE")
            .fetch_one(&mut c)
            .await
            .unwrap();
        Box::new(Held(c))
    }
}

struct Held(PgConnection);

#[async_trait]
impl HeldWriters for Held {
    async fn release(self: Box<Self>) {
        let mut c = self.0;
        sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
        let _ = c.close().await;
    }
}

tocsin_store::contract_tests!(crate::Databases);

#[async_trait]
impl tocsin_store::testkit::EditLedger for Databases {
    async fn set_ledger_column(
        &self,
        name: &str,
        position: u64,
        column: &str,
        value: Option<Vec<u8>>,
    ) {
        let mut c = self.db(name).conn().await;
        let r = sqlx::query(&format!(
            "UPDATE ledger SET {column} = $1 WHERE position = $2"
        ))
        .bind(value)
        .bind(position as i64)
        .execute(&mut c)
        .await
        .unwrap();
        assert_eq!(r.rows_affected(), 1);
        let _ = c.close().await;
    }
}

#[tokio::test]
async fn every_edit_of_a_version_2_leaf_is_found() {
    tocsin_store::testkit::every_edit_of_a_version_2_leaf_is_found::<Databases>().await;
}

#[tokio::test]
async fn a_disposed_version_2_leaf_verifies_and_reads_as_disposed() {
    tocsin_store::testkit::a_disposed_version_2_leaf_verifies_and_reads_as_disposed::<Databases>()
        .await;
}

// ---------------------------------------------------------------------------
// Schema, closing, integrity.

#[tokio::test]
async fn schema_is_marked_and_versioned() {
    let db = TestDb::new().await;
    let s = create(&db).await;
    assert_eq!(
        s.meta().schema_version,
        tocsin_store_postgres::schema_version()
    );
    assert_eq!(s.meta().schema_version, 6);
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
async fn a_closed_store_refuses_to_write() {
    let db = TestDb::new().await;
    let s = create(&db).await;
    s.append(batch(case(1), 0, 5)).await.unwrap();
    s.close().await;
    assert!(matches!(
        s.append(batch(case(1), 5, 1)).await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(
        s.write_docs(vec![DocWrite::delete(
            DocKind::Account,
            "x",
            DocExpect::Any
        )])
        .await,
        Err(StoreError::Closed)
    ));
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
    assert_eq!(verified(&a).await, 39);
    assert_eq!(verified(&b).await, 39);
    assert_eq!(count(&db, "checkpoints").await, 20);
    assert_eq!(commits(&a).await, 20);
}

async fn kinds(db: &TestDb) -> Vec<(String, String)> {
    sqlx::query_as("SELECT kind, key FROM docs ORDER BY kind, key")
        .fetch_all(&mut db.conn().await)
        .await
        .unwrap()
}

/// A database of schema version 2 kept accounts as documents of kind
/// `user` and had no case numbers: opening it renames them and numbers its
/// cases (by year, in ledger order).
#[tokio::test]
async fn accounts_of_an_older_database_read_back_under_their_name() {
    let db = TestDb::new().await;
    let s = create(&db).await;
    write_an_account_a_notice_and_a_session(&s).await;
    let numbered = open_cases_in_two_years(&s).await;
    s.close().await;
    assert_eq!(kinds(&db).await, stored_account_notice_and_session());
    // Back to how version 2 wrote it.
    sqlx::raw_sql(
        "UPDATE docs SET kind = 'user' WHERE kind = 'account';
         UPDATE docs SET kind = 'notification' WHERE kind = 'notice';
         DROP INDEX cases_by_number;
         ALTER TABLE cases DROP COLUMN number_year, DROP COLUMN number_seq;
         DROP INDEX reports_by_number_format;
         ALTER TABLE cases DROP COLUMN measures;
         DROP INDEX cases_unwarned;
         ALTER TABLE cases DROP COLUMN unwarned_from_us;
         DROP TABLE case_counts;
         ALTER TABLE reports DROP COLUMN number_format;
         ALTER TABLE ledger DROP COLUMN content_salt, DROP COLUMN content_body;
         DELETE FROM schema_migrations WHERE version >= 3;",
    )
    .execute(&mut db.conn().await)
    .await
    .unwrap();
    let s = PostgresStore::open(&db.url, Some(signer())).await.unwrap();
    assert_eq!(s.meta().schema_version, 6);
    the_account_and_notice_read_back(&s).await;
    the_cases_read_back_numbered(&s, &numbered).await;
    assert_eq!(kinds(&db).await, stored_account_notice_and_session());
}

#[tokio::test]
async fn a_disk_full_postgres_is_a_full_store_and_keeps_nothing() {
    let db = TestDb::new().await;
    let s = create(&db).await;
    s.append(batch(case(1), 0, 2)).await.unwrap();
    let mut c = db.conn().await;
    // What PostgreSQL says when it cannot extend a file: SQLSTATE 53100.
    sqlx::raw_sql(
        "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' \
         USING ERRCODE = 'disk_full'; END $$; \
         CREATE TRIGGER full_docs BEFORE INSERT OR UPDATE ON docs \
         FOR EACH ROW EXECUTE FUNCTION disk_full(); \
         CREATE CONSTRAINT TRIGGER full_at_commit AFTER INSERT ON ledger \
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION disk_full();",
    )
    .execute(&mut c)
    .await
    .unwrap();
    // At the commit (a deferred trigger fires there), and in a statement.
    let e = s.append(batch(case(1), 2, 1)).await.unwrap_err();
    assert!(e.is_full(), "{}", chain(&e));
    let e = s
        .write_docs(vec![DocWrite {
            kind: DocKind::Probe,
            key: "p".into(),
            expect: DocExpect::Any,
            body: Some(b"{}".to_vec()),
        }])
        .await
        .unwrap_err();
    assert!(e.is_full(), "{}", chain(&e));
    assert!(s.full_since().is_some());
    assert_eq!(count(&db, "ledger").await, 2);
    // Space again: the next append commits, and the store has room.
    sqlx::raw_sql("DROP TRIGGER full_docs ON docs; DROP TRIGGER full_at_commit ON ledger;")
        .execute(&mut c)
        .await
        .unwrap();
    s.append(batch(case(1), 2, 1)).await.unwrap();
    assert!(s.full_since().is_none());
    assert_eq!(count(&db, "ledger").await, 3);
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
        accept_disposed: false,
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
    let e = PostgresStore::create(&db.url, signer(), init_params())
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
    let e = PostgresStore::create(&db.url, signer(), init_params())
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

/// What a chain printer shows of an error: it and every cause.
fn chain(e: &StoreError) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out = format!("{out}: {c}");
        cause = c.source();
    }
    out
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
    let m = e.to_string();
    assert!(
        matches!(e, StoreError::Backend { .. })
            && m.contains("does not exist")
            && m.contains("createdb"),
        "{e}"
    );
    // The server's own words are the cause, kept, not repeated.
    let cause = e.source().expect("the cause is kept");
    assert!(cause.downcast_ref::<sqlx::Error>().is_some(), "{cause}");
    assert!(!m.contains(&cause.to_string()), "{m}");
    // Nobody listening (port 1 on loopback).
    let e = PostgresStore::open_with("postgres://postgres@127.0.0.1:1/x", None, quick.clone())
        .await
        .err()
        .unwrap();
    let m = e.to_string();
    assert!(
        matches!(e, StoreError::Backend { .. })
            && m.contains("cannot reach")
            && m.contains("127.0.0.1:1"),
        "{e}"
    );
    assert!(e.source().is_some(), "{e}");
    // A URL that is not one, without echoing it (it may hold a password),
    // anywhere in the chain.
    let e = PostgresStore::open_with("postgres://u:sekrit@[bad", None, quick.clone())
        .await
        .err()
        .unwrap();
    assert!(
        matches!(e, StoreError::Backend { .. }) && !chain(&e).contains("sekrit"),
        "{}",
        chain(&e)
    );
    // A role that does not exist (trust authentication still checks the role).
    let url = server().replacen("postgres://postgres@", "postgres://no_such_role@", 1);
    if url != server() {
        let e = PostgresStore::open_with(&format!("{url}/postgres"), None, quick)
            .await
            .err()
            .unwrap();
        assert!(
            matches!(e, StoreError::Backend { .. }) && e.to_string().contains("no_such_role"),
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
        set.spawn(async move { PostgresStore::create(&url, signer(), init_params()).await });
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
    assert_eq!(verified(&a).await, head.size);
    assert_eq!(verified(&b).await, head.size);
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
    assert_eq!(verified(&b).await, 31);
}

// ---------------------------------------------------------------------------
// The same content as SQLite.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_content_gives_the_same_digest_and_tree_as_sqlite() {
    let db = TestDb::new().await;
    let pg = create(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let lite =
        tocsin_store_sqlite::SqliteStore::create(&dir.path().join("t.db"), signer(), init_params())
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
                DocWrite::put(DocKind::Account, format!("user{i}"), DocExpect::Absent, &i),
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
        tocsin_store_sqlite::SqliteStore::create(&dir.path().join(name), signer(), init_params())
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
    assert_eq!(verified(&pg).await, 4250);
    // The copy on PostgreSQL takes appends where the source left off.
    pg.append(batch(case(0), 85, 1)).await.unwrap();
    assert_eq!(verified(&pg).await, 4251);
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
    assert_eq!(verified(&pg).await, 4251);
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
        assert_eq!(verified(&stores[0]).await, n);
        for s in &stores {
            s.close().await;
        }
    }
}
