//! The query tables are derived from the ledger and can be rebuilt from it.

use crate::support::{Deployment, stdout};

#[test]
fn rebuild_reproduces_the_tables_and_repairs_tampered_ones() {
    let d = Deployment::empty();
    assert!(d.run(&["demo"]).status.success());
    for f in [
        tocsin::scenarios::EDGE1_DATA_CENTRE,
        tocsin::scenarios::EDGE2_FORUM_POST,
        tocsin::scenarios::EDGE4_COMMANDER,
    ] {
        let p = d.file("r.json", f);
        assert!(
            d.run(&[
                "--as",
                "collector.a",
                "report",
                "submit",
                p.to_str().unwrap()
            ])
            .status
            .success()
        );
    }
    let before = stdout(&d.run(&["--json", "case", "list"]));
    let out = d.run(&["admin", "rebuild"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("identical"), "{}", stdout(&out));
    assert_eq!(stdout(&d.run(&["--json", "case", "list"])), before);
    // Damage the query tables: the rebuild says so and puts them right.
    let c = rusqlite::Connection::open(d.db()).unwrap();
    c.execute(
        "UPDATE cases SET state = 'closed' WHERE state <> 'closed'",
        [],
    )
    .unwrap();
    c.execute(
        "DELETE FROM reports WHERE rowid IN (SELECT rowid FROM reports LIMIT 1)",
        [],
    )
    .ok();
    drop(c);
    let out = d.run(&["admin", "rebuild"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stdout(&out).contains("DIFFERENT"), "{}", stdout(&out));
    assert_eq!(stdout(&d.run(&["--json", "case", "list"])), before);
}
