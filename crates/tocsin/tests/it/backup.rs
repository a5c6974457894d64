//! Backup and restore while a server writes: `tocsin backup` (SQLite's
//! online backup) on SQLite, `pg_dump` / `pg_restore` (as the README
//! documents) on PostgreSQL. The restored ledger extends the checkpoint
//! kept before the backup, and its root is the live ledger's root at the
//! restored size: the backup is an exact prefix of the live log.

use std::process::Command;

use serde_json::Value;
use tocsin_domain::Role;

use crate::support::{Backend, Deployment, Writers, spawn_server, stderr, stdout};

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}{}", stdout(out), stderr(out));
    serde_json::from_str(stdout(out).trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

/// Runs a PostgreSQL client tool (`pg_dump`, `pg_restore`).
#[track_caller]
fn pg_tool(name: &str, args: &[&str]) {
    let out = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} is needed for the PostgreSQL backup test: {e}"));
    assert!(out.status.success(), "{name} {args:?}: {}", stderr(&out));
}

#[test]
fn a_backup_taken_while_the_server_writes_restores_to_the_checkpoint_kept() {
    let d = Deployment::new();
    let token = d.serve("2023-12-26T10:00:00Z").account(
        "collector.b",
        &[Role::Collector],
        &["Counterterrorism Collection Element"],
        "SECRET",
        &["HCS"],
    );
    let (mut server, url) = spawn_server(&d, "2023-12-26T12:00:00Z");
    let writers = Writers::start(&url, &token, 8);
    writers.wait_for(100);

    // The checkpoint an auditor keeps, then the backup, while the
    // clients go on writing.
    let kept_note = stdout(&d.run(&["audit", "checkpoint"]));
    let kept_size: u64 = kept_note.lines().nth(1).unwrap().parse().unwrap();
    let kept = d.file("kept.checkpoint", &kept_note);
    let backup = d.dir.path().join("backup");
    let reported = match d.backend {
        Backend::Sqlite => Some(json(&d.run(&[
            "--json",
            "backup",
            backup.to_str().unwrap(),
        ]))),
        Backend::Postgres => {
            pg_tool(
                "pg_dump",
                &[
                    "--format=custom",
                    "--file",
                    backup.to_str().unwrap(),
                    &d.pg().url,
                ],
            );
            None
        }
    };
    let during = writers.acked();
    writers.wait_for(during + 50);
    let acked = writers.stop();
    server.kill().ok();
    server.wait().unwrap();

    // Restore into a fresh database with the deployment's key.
    let r = Deployment::empty();
    match r.backend {
        Backend::Sqlite => {
            std::fs::copy(&backup, r.sqlite_path()).unwrap();
        }
        Backend::Postgres => pg_tool(
            "pg_restore",
            &[
                "--no-owner",
                "--exit-on-error",
                "--dbname",
                &r.pg().url,
                backup.to_str().unwrap(),
            ],
        ),
    }
    std::fs::copy(d.key(), r.key()).unwrap();

    // It verifies, and extends the checkpoint kept before the backup.
    let v = json(&r.run(&[
        "--json",
        "audit",
        "verify",
        "--since",
        kept.to_str().unwrap(),
    ]));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["since"]["size"], kept_size, "{v}");
    let size = v["size"].as_u64().unwrap();
    assert!(size >= kept_size);
    // Its root is the live ledger's root at that size.
    let live = json(&d.run(&[
        "--json",
        "audit",
        "consistency",
        "--from",
        &size.to_string(),
    ]));
    assert_eq!(live["root1"], v["root"], "{live}\n{v}");
    assert!(
        live["size2"].as_u64().unwrap() > size,
        "the live ledger grew after the backup"
    );
    // `tocsin backup` says what the backup holds, checkpoint included.
    if let Some(b) = reported {
        assert_eq!((&b["size"], &b["root"]), (&v["size"], &v["root"]), "{b}");
        assert_eq!(
            b["checkpoint"].as_str().unwrap(),
            stdout(&r.run(&["audit", "checkpoint"]))
        );
    }
    eprintln!(
        "backup test ({:?}): kept checkpoint of size {kept_size}, backup of {size} events, {acked} reports acknowledged in all",
        d.backend
    );
}

#[test]
fn backup_refuses_to_overwrite_and_points_postgres_to_pg_dump() {
    let d = Deployment::new();
    let dest = d.file("exists.db", "x");
    let out = d.run(&["backup", dest.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    match d.backend {
        Backend::Sqlite => assert!(err.contains("already exists"), "{err}"),
        Backend::Postgres => assert!(err.contains("pg_dump"), "{err}"),
    }
}
