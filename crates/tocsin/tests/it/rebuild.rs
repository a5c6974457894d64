//! The query tables are derived from the ledger and can be rebuilt from it.

use tocsin_domain::Role;

use crate::support::{Deployment, stdout};

#[test]
fn rebuild_reproduces_the_tables_and_repairs_tampered_ones() {
    let d = Deployment::empty();
    assert!(d.run(&["demo", "--no-serve"]).status.success());
    let srv = d.serve("2024-05-03T00:00:00Z");
    let els = [
        "Cyber Threat Element",
        "Open Source Element",
        "Counterterrorism Collection Element",
    ];
    let tok = srv.account(
        "collector.a",
        &[Role::Collector, Role::Auditor],
        &els,
        "TOP SECRET",
        &["HCS"],
    );
    for f in [
        tocsin::scenarios::EDGE1_DATA_CENTRE,
        tocsin::scenarios::EDGE2_FORUM_POST,
        tocsin::scenarios::EDGE4_COMMANDER,
    ] {
        let a = srv.call(
            "POST",
            "/api/v1/reports",
            Some(&tok),
            Some(serde_json::from_str(f).unwrap()),
        );
        assert_eq!(a.status, 201, "{:?}", a.body);
    }
    let list = |srv: &crate::support::Server| {
        srv.call("GET", "/api/v1/cases?limit=1000", Some(&tok), None)
            .body
    };
    let before = list(&srv);
    assert_eq!(before["items"].as_array().unwrap().len(), 5);
    drop(srv);
    let out = d.run(&["admin", "rebuild"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("identical"), "{}", stdout(&out));
    let srv = d.serve("2024-05-03T00:00:00Z");
    assert_eq!(list(&srv), before);
    drop(srv);
    // Damage the query tables: the rebuild says so and puts them right.
    let c = d.sql();
    c.exec(
        "UPDATE cases SET state = 'closed' WHERE state <> 'closed'",
        &[],
    );
    c.exec(
        "DELETE FROM reports WHERE id = (SELECT min(id) FROM reports)",
        &[],
    );
    drop(c);
    let out = d.run(&["admin", "rebuild"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stdout(&out).contains("DIFFERENT"), "{}", stdout(&out));
    let srv = d.serve("2024-05-03T00:00:00Z");
    assert_eq!(list(&srv), before);
    drop(srv);
    // Damage a derived document (an account): found and repaired too.
    let n = d.sql().exec(
        "UPDATE docs SET body = ?1 WHERE kind = 'account' AND key = 'analyst.kim'",
        crate::p![b"{}".as_slice()],
    );
    assert_eq!(n, 1);
    let out = d.run(&["admin", "rebuild"]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let out = d.run(&["admin", "rebuild"]);
    assert!(stdout(&out).contains("identical"), "{}", stdout(&out));
    // Rows written before the query tables kept measures (an upgrade):
    // the first `tocsin serve` fills them, and answers only after that.
    let n = d.sql().exec("UPDATE cases SET measures = NULL", &[]);
    assert_eq!(n, 5);
    let (mut child, _url) = crate::support::spawn_server(&d, "2024-05-03T00:00:00Z");
    let _ = child.kill();
    let _ = child.wait();
    let left = d
        .sql()
        .i64("SELECT count(*) FROM cases WHERE measures IS NULL", &[]);
    assert_eq!(left, 0);
    let out = d.run(&["admin", "rebuild"]);
    assert!(stdout(&out).contains("identical"), "{}", stdout(&out));
}
