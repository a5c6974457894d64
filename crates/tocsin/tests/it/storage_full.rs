//! A full store (issue 11, item 5): a write that finds no space is
//! answered 507 `storage-full` (never a 500, never the database's words),
//! `/readyz` says the server is not ready and why, and once space is
//! freed the same server (no restart) takes the next write, is ready
//! again, and has lost nothing it acknowledged; the ledger verifies.
//!
//! How the store is filled depends on what the machine allows:
//! * SQLite on a small tmpfs filled with a ballast file, where `mount`
//!   works (root, a container that permits it);
//! * SQLite at its page limit (`PRAGMA max_page_count`, set through the
//!   test-only failpoint `store::sqlite::page_limit`), always;
//! * PostgreSQL: a trigger raising SQLSTATE 53100 (`disk_full`), the
//!   error PostgreSQL gives when it cannot extend a file; a real full
//!   disk under a shared server cannot be provoked safely.
//!
//! The SQLite tests run in the SQLite run of the suite, the PostgreSQL
//! one in the PostgreSQL run.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use tocsin_domain::Role;
use tocsin_store::faults::Scenario;

use crate::support::{Backend, Deployment, Server};

const CT: &str = "Counterterrorism Collection Element";

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// A tmpfs of `size` (as `mount -o size=` takes it), or `None` where
    /// this process may not mount one.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// The file that fills a tmpfs.
const BALLAST: &str = "ballast";

/// Fills the file system at `dir` with a ballast file.
fn fill(dir: &Path) {
    let path = dir.join(BALLAST);
    let mut f = std::fs::File::create(&path).expect("ballast");
    let big = vec![0x5a_u8; 1 << 20];
    while f.write_all(&big).is_ok() {}
    let small = vec![0x5a_u8; 512];
    while f.write_all(&small).is_ok() {}
    let _ = f.flush();
}

fn report(i: usize) -> Value {
    let mut r: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    r["title"] = json!(format!("Report {i} before the disk fills"));
    r
}

/// The scenario: writes acknowledged, the store fills (`make_full`),
/// writes answer 507 and readiness says why, space is freed
/// (`make_room`), and the same server goes on.
fn full_then_freed(
    d: &Deployment,
    srv: &Server,
    make_full: impl FnOnce(),
    make_room: impl FnOnce(),
) {
    let col = srv.account(
        "collector.ct",
        &[Role::Collector],
        &[CT],
        "TOP SECRET",
        &["HCS"],
    );
    let auditor = srv.account(
        "auditor.ng",
        &[Role::Auditor],
        &["Oversight"],
        "TOP SECRET",
        &["HCS"],
    );
    let post = |i: usize| srv.call("POST", "/api/v1/reports", Some(&col), Some(report(i)));
    let mut acked = Vec::new();
    for i in 0..3 {
        acked.push(srv.ok(&col, "POST", "/api/v1/reports", Some(report(i)))["case_id"].clone());
    }
    make_full();
    // A write finds the store full (on SQLite, the write-ahead log may
    // take a few more commits before it needs space it cannot have).
    let mut refused = None;
    for i in 3..2000 {
        let a = post(i);
        if a.status == 201 {
            acked.push(a.body["case_id"].clone());
        } else {
            refused = Some(a);
            break;
        }
    }
    let a = refused.expect("the store never filled");
    assert_eq!(a.status, 507, "{:?}", a.body);
    assert_eq!(a.body["type"], "https://tocsin.dev/problems/storage-full");
    let text = a.body.to_string();
    for leak in ["SQLite", "PostgreSQL", "disk is full", "on device", "53100"] {
        assert!(!text.contains(leak), "the answer says {leak:?}: {text}");
    }
    // Readiness says not ready, and why.
    let r = srv.call("GET", "/readyz", None, None);
    assert_eq!(r.status, 503, "ready while the store is full: {:?}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|t| t.contains("storage-full")),
        "{:?}",
        r.body
    );
    // Still full: still refused, still 507.
    assert_eq!(post(5000).status, 507);
    make_room();
    // The same server takes the next write and is ready again.
    let a = post(5001);
    assert_eq!(
        a.status, 201,
        "no recovery after space was freed: {:?}",
        a.body
    );
    acked.push(a.body["case_id"].clone());
    let r = srv.call("GET", "/readyz", None, None);
    assert_eq!(
        r.status, 200,
        "not ready after space was freed: {:?}",
        r.body
    );
    // Nothing acknowledged was lost, and the ledger verifies.
    for id in &acked {
        let id = id.as_str().expect("case id");
        srv.ok(&col, "GET", &format!("/api/v1/cases/{id}"), None);
    }
    let v = srv.ok(&auditor, "GET", "/api/v1/audit/verification", None);
    assert_eq!(v["ok"], true, "{v}");
    eprintln!(
        "{:?}: {} writes acknowledged, the store filled, then recovered",
        d.backend,
        acked.len()
    );
}

#[test]
fn sqlite_on_a_full_tmpfs_answers_507_and_recovers() {
    if Backend::current() != Backend::Sqlite {
        return; // PostgreSQL: see postgres_disk_full_answers_507_and_recovers.
    }
    let Some(disk) = Tmpfs::mount("24m") else {
        eprintln!("cannot mount a tmpfs here: the page-limit test stands in for this one");
        return;
    };
    let d = Deployment::sqlite_in(disk.path());
    let srv = d.serve("2023-12-26T10:00:00Z");
    full_then_freed(
        &d,
        &srv,
        || fill(disk.path()),
        || std::fs::remove_file(disk.path().join(BALLAST)).expect("free the disk"),
    );
    drop(srv);
    // The deployment's drop runs --deep while the tmpfs is still mounted.
    drop(d);
}

#[test]
fn sqlite_at_its_page_limit_answers_507_and_recovers() {
    if Backend::current() != Backend::Sqlite {
        return;
    }
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let faults = Scenario::in_deployment(srv.svc.deployment_id());
    full_then_freed(
        &d,
        &srv,
        || {
            let pages = d.sql().i64("PRAGMA page_count", &[]);
            faults.arm("store::sqlite::page_limit", &format!("return({pages})"));
        },
        || faults.arm("store::sqlite::page_limit", "return(1073741823)"),
    );
}

#[test]
fn postgres_disk_full_answers_507_and_recovers() {
    if Backend::current() != Backend::Postgres {
        return;
    }
    let d = Deployment::new();
    let srv = d.serve("2023-12-26T10:00:00Z");
    let sql = d.sql();
    full_then_freed(
        &d,
        &srv,
        || {
            sql.batch(
                "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' \
                 USING ERRCODE = 'disk_full'; END $$; \
                 CREATE TRIGGER full_ledger BEFORE INSERT ON ledger \
                 FOR EACH ROW EXECUTE FUNCTION disk_full(); \
                 CREATE TRIGGER full_docs BEFORE INSERT OR UPDATE ON docs \
                 FOR EACH ROW EXECUTE FUNCTION disk_full();",
            )
        },
        || {
            sql.batch(
                "DROP TRIGGER full_ledger ON ledger; DROP TRIGGER full_docs ON docs; \
                 DROP FUNCTION disk_full();",
            )
        },
    );
}
