//! Tests of the SQLite store: the contract every store keeps
//! (`tocsin_store::testkit`), then what is SQLite's own (the file's marks,
//! two writers on one file, migrations, errors on opening).

use std::error::Error;
use std::path::PathBuf;

use async_trait::async_trait;
use rusqlite::Connection;
use tocsin_ledger::NoteSigner;
use tocsin_store::testkit::{
    Fixture, HeldWriters, MAIN, batch, case, init_params, open_cases_in_two_years, signer,
    stored_account_notice_and_session, the_account_and_notice_read_back,
    the_cases_read_back_numbered, verified, write_an_account_a_notice_and_a_session,
};
use tocsin_store::{DocKind, Store, StoreError};

use super::*;

/// Stores are files in a temporary directory.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.db"))
    }
}

#[async_trait]
impl Fixture for Files {
    type Store = SqliteStore;

    async fn new() -> Self {
        Files {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    async fn create(&self, name: &str) -> SqliteStore {
        SqliteStore::create(&self.path(name), signer(), init_params()).unwrap()
    }

    async fn open(
        &self,
        name: &str,
        signer: Option<NoteSigner>,
    ) -> Result<SqliteStore, StoreError> {
        SqliteStore::open(&self.path(name), signer)
    }

    async fn close(&self, store: SqliteStore) {
        // The last handle joins the writer once it has written what is queued.
        drop(store);
    }

    async fn hold_writers(&self, name: &str) -> Box<dyn HeldWriters> {
        // Another process's write transaction holds the file's write lock.
        let c = Connection::open(self.path(name)).unwrap();
        c.execute_batch("BEGIN IMMEDIATE").unwrap();
        Box::new(Held(c))
    }
}

struct Held(Connection);

#[async_trait]
impl HeldWriters for Held {
    async fn release(self: Box<Self>) {
        self.0.execute_batch("ROLLBACK").unwrap();
    }
}

tocsin_store::contract_tests!(crate::tests::Files);

#[async_trait]
impl tocsin_store::testkit::EditLedger for Files {
    async fn set_ledger_column(
        &self,
        name: &str,
        position: u64,
        column: &str,
        value: Option<Vec<u8>>,
    ) {
        let c = Connection::open(self.path(name)).unwrap();
        let n = c
            .execute(
                &format!("UPDATE ledger SET {column} = ?1 WHERE position = ?2"),
                rusqlite::params![value, position as i64],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
}

#[tokio::test]
async fn every_edit_of_a_version_2_leaf_is_found() {
    tocsin_store::testkit::every_edit_of_a_version_2_leaf_is_found::<Files>().await;
}

#[tokio::test]
async fn a_disposed_version_2_leaf_verifies_and_reads_as_disposed() {
    tocsin_store::testkit::a_disposed_version_2_leaf_verifies_and_reads_as_disposed::<Files>()
        .await;
}

// ---------------------------------------------------------------------------
// SQLite's own.

#[tokio::test]
async fn schema_is_marked_and_versioned() {
    let f = Files::new().await;
    let s = f.create(MAIN).await;
    assert_eq!(s.meta().schema_version, schema::latest());
    assert_eq!(s.meta().schema_version, 7);
    let c = Connection::open(s.path()).unwrap();
    let app: i32 = c
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app, APPLICATION_ID);
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn two_writers_on_one_file_stay_consistent() {
    // As a server and an operator's CLI would: each reloads the tree when
    // the other appended.
    let f = Files::new().await;
    let a = f.create(MAIN).await;
    let b = SqliteStore::open(a.path(), Some(signer())).unwrap();
    for i in 0..20u128 {
        let s = if i % 2 == 0 { &a } else { &b };
        s.append(batch(case(i), 0, (i % 3 + 1) as usize))
            .await
            .unwrap();
    }
    assert_eq!(verified(&a).await, 39);
    assert_eq!(verified(&b).await, 39);
}

/// A database of schema version 3 kept accounts as documents of kind
/// `user` and had no case numbers: opening it renames them and numbers
/// its cases (by year, in ledger order), and a copy of it holds both.
#[tokio::test]
async fn accounts_of_an_older_database_read_back_under_their_name() {
    let f = Files::new().await;
    let path = f.path(MAIN);
    let numbered = {
        let s = f.create(MAIN).await;
        write_an_account_a_notice_and_a_session(&s).await;
        open_cases_in_two_years(&s).await
    };
    let kinds = |path: &std::path::Path| -> Vec<(String, String)> {
        let c = Connection::open(path).unwrap();
        let mut stmt = c
            .prepare("SELECT kind, key FROM docs ORDER BY kind, key")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(kinds(&path), stored_account_notice_and_session());
    // Back to how version 3 wrote it.
    Connection::open(&path)
        .unwrap()
        .execute_batch(
            "UPDATE docs SET kind = 'user' WHERE kind = 'account';
             UPDATE docs SET kind = 'notification' WHERE kind = 'notice';
             DROP INDEX cases_by_number;
             ALTER TABLE cases DROP COLUMN number_year;
             ALTER TABLE cases DROP COLUMN number_seq;
             DROP INDEX reports_by_number_format;
             ALTER TABLE cases DROP COLUMN measures;
             DROP INDEX cases_unwarned;
             ALTER TABLE cases DROP COLUMN unwarned_from_us;
             DROP TABLE case_counts;
             ALTER TABLE reports DROP COLUMN number_format;
             ALTER TABLE ledger DROP COLUMN content_salt;
             ALTER TABLE ledger DROP COLUMN content_body;
             PRAGMA user_version = 3;",
        )
        .unwrap();
    let s = SqliteStore::open(&path, Some(signer())).unwrap();
    assert_eq!(s.meta().schema_version, 7);
    let kim = the_account_and_notice_read_back(&s).await;
    the_cases_read_back_numbered(&s, &numbered).await;
    assert_eq!(kinds(&path), stored_account_notice_and_session());
    // What `tocsin migrate` writes from it lands under the new name.
    let target = f.create("copy").await;
    tocsin_store::copy(&s, &target, None).await.unwrap();
    assert_eq!(
        target.get_doc(DocKind::Account, "kim").await.unwrap(),
        Some(kim)
    );
    assert_eq!(kinds(target.path()), stored_account_notice_and_session());
    the_cases_read_back_numbered(&target, &numbered).await;
}

#[tokio::test]
async fn what_is_not_a_tocsin_database_is_refused_and_failures_keep_their_cause() {
    let f = Files::new().await;
    let text = f.path("text");
    std::fs::write(
        &text,
        b"this is not a database at all, just some text that is long enough",
    )
    .unwrap();
    let e = SqliteStore::open(&text, None).err().unwrap();
    assert!(
        matches!(&e, StoreError::NotTocsin(m) if m.contains("not an SQLite file")),
        "{e}"
    );
    let nowhere = f.dir.path().join("no").join("such").join("dir.db");
    let e = SqliteStore::create(&nowhere, signer(), init_params())
        .err()
        .unwrap();
    assert!(matches!(e, StoreError::Backend { .. }), "{e:?}");
    assert_eq!(e.to_string(), format!("cannot open {}", nowhere.display()));
    let cause = e.source().expect("the SQLite error is kept");
    assert!(cause.downcast_ref::<rusqlite::Error>().is_some(), "{cause}");
    assert!(
        !e.to_string().contains(&cause.to_string()),
        "the cause is not repeated"
    );
}
