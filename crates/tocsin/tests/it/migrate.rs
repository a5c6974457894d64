//! `tocsin migrate`: a whole deployment copied to a database of the other
//! backend (SQLite → PostgreSQL in the SQLite run of the suite,
//! PostgreSQL → SQLite in the PostgreSQL run), byte for byte.

use serde_json::Value;
use tocsin_domain::Role;
use tocsin_store::{RawRows, StoreError};

use crate::support::{Backend, Deployment, Sql, block_on, stderr, stdout};

/// Every row of the tables that must be identical, in a fixed order.
fn raw(c: &Sql) -> Vec<(&'static str, Vec<Vec<crate::support::V>>)> {
    [
        (
            "ledger",
            "SELECT position, stream, seq, leaf, leaf_hash, content_salt, content_body FROM ledger ORDER BY position",
        ),
        (
            "merkle_nodes",
            "SELECT level, idx, hash FROM merkle_nodes ORDER BY level, idx",
        ),
        ("checkpoints", "SELECT size, note FROM checkpoints ORDER BY size"),
        (
            "meta",
            "SELECT key, value FROM meta WHERE key IN ('deployment_id', 'origin', 'verifier_key', 'created_at') ORDER BY key",
        ),
        (
            "docs",
            "SELECT kind, key, version, body FROM docs ORDER BY kind, key",
        ),
        (
            "reports",
            "SELECT id, case_id, ord, originating_element, received_at, grade, independent FROM reports ORDER BY id",
        ),
        (
            "cases",
            "SELECT id, opened_position, title, state, owner, version, next_due_us FROM cases ORDER BY id",
        ),
    ]
    .into_iter()
    .map(|(t, q)| (t, c.rows(q, &[])))
    .collect()
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(stdout(out).trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", stdout(out), stderr(out)))
}

#[test]
fn migrate_copies_a_whole_deployment_to_the_other_backend() {
    // The source: the demo (two cases through their whole lifecycle,
    // accounts), plus reports with idempotency records through the API.
    let src = Deployment::empty();
    let out = src.run(&["demo", "--no-serve"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let srv = src.serve("2024-05-03T00:00:00Z");
    let tok = srv.account(
        "collector.m",
        &[Role::Collector, Role::Auditor],
        &["Counterterrorism Collection Element"],
        "TOP SECRET",
        &["HCS"],
    );
    let report: Value = serde_json::from_str(tocsin::scenarios::KERMAN_REPORT).unwrap();
    for i in 0..12 {
        let key = format!("m-{i}");
        let a = srv.call_with(
            "POST",
            "/api/v1/reports",
            Some(&tok),
            Some(report.clone()),
            &[("idempotency-key", &key)],
        );
        assert_eq!(a.status, 201, "{:?}", a.body);
    }
    let cases = |srv: &crate::support::Server| {
        srv.call("GET", "/api/v1/cases?limit=1000", Some(&tok), None)
            .body
    };
    let listed = cases(&srv);
    drop(srv);

    let dst = Deployment::empty_on(src.backend.other());
    let arg = |d: &Deployment| match d.backend {
        // The sqlite:// form of a path is accepted too.
        Backend::Sqlite => format!("sqlite://{}", d.sqlite_path().display()),
        Backend::Postgres => d.pg().url.clone(),
    };
    let out = src
        .tocsin()
        .args(["migrate", "--from", &arg(&src), "--to", &arg(&dst)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("audit verify: OK on the copy"),
        "{}",
        stdout(&out)
    );
    // The copy is the same deployment, with the same key.
    std::fs::copy(src.key(), dst.key()).unwrap();

    // Ledger leaves, Merkle nodes, checkpoints, meta, documents and query
    // tables, row for row and byte for byte.
    let (a, b) = (raw(&src.sql()), raw(&dst.sql()));
    for ((table, x), (_, y)) in a.iter().zip(&b) {
        assert!(!x.is_empty(), "{table} is empty in the source");
        assert_eq!(x.len(), y.len(), "{table}: row counts differ");
        assert!(x == y, "{table} differs after the migration");
    }
    // Records are version-2 leaves, their salt and body copied beside them.
    let kept = "SELECT count(*) FROM ledger WHERE content_body IS NOT NULL";
    assert!(src.sql().i64(kept, &[]) > 0);
    assert_eq!(dst.sql().i64(kept, &[]), src.sql().i64(kept, &[]));
    // Same root and size, and the copy verifies on its own.
    let (va, vb) = (
        json(&src.run(&["--json", "audit", "verify"])),
        json(&dst.run(&["--json", "audit", "verify"])),
    );
    assert_eq!(vb["ok"], true, "{vb}");
    assert_eq!((&va["size"], &va["root"]), (&vb["size"], &vb["root"]));
    assert_eq!(
        stdout(&src.run(&["audit", "checkpoint"])),
        stdout(&dst.run(&["audit", "checkpoint"]))
    );
    // The query tables are exactly what the ledger says, and the same digest.
    let out = dst.run(&["admin", "rebuild"]);
    assert!(
        out.status.success() && stdout(&out).contains("identical"),
        "{}",
        stdout(&out)
    );
    let (sa, sb) = (src.store(), dst.store());
    let digests = block_on(async { (sa.projection_digest().await, sb.projection_digest().await) });
    assert_eq!(digests.0.unwrap(), digests.1.unwrap());
    let (ma, mb) = (sa.meta(), sb.meta());
    assert_eq!(
        (
            &ma.deployment_id,
            &ma.origin,
            &ma.verifier_key,
            &ma.created_at
        ),
        (
            &mb.deployment_id,
            &mb.origin,
            &mb.verifier_key,
            &mb.created_at
        )
    );

    // The copy refuses rows that do not continue its ledger.
    let page = block_on(sa.read_leaves(3, 2)).unwrap();
    let r = block_on(sb.import_raw(RawRows::Ledger {
        leaves: page,
        nodes: vec![],
        checkpoints: vec![],
    }));
    assert!(matches!(r, Err(StoreError::Conflict { .. })), "{r:?}");
    drop((sa, sb));

    // And it works: the same cases through the API, and it takes writes.
    let srv = dst.serve("2024-05-03T00:00:00Z");
    assert_eq!(cases(&srv), listed);
    let a = srv.call("POST", "/api/v1/reports", Some(&tok), Some(report.clone()));
    assert_eq!(a.status, 201, "{:?}", a.body);
    let a = srv.call_with(
        "POST",
        "/api/v1/reports",
        Some(&tok),
        Some(report),
        &[("idempotency-key", "m-3")],
    );
    assert_eq!(a.status, 201, "an idempotent replay: {:?}", a.body);
    drop(srv);
    assert!(dst.run(&["audit", "verify"]).status.success());

    // A target that is not empty is refused.
    let out = src
        .tocsin()
        .args(["migrate", "--from", &arg(&src), "--to", &arg(&dst)])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("refusing to initialise over it"),
        "{}",
        stderr(&out)
    );
}
