//! End-to-end intake through the service and the SQLite store, with
//! `synchronous=FULL`: every acknowledged report is on disk.
//!
//! `cargo bench -p tocsin --bench intake`
//!
//! * `durable_intake/concurrent_64`: 2,000 reports submitted by 64
//!   concurrent clients; the writer groups them into shared commits.
//! * `durable_intake/sequential`: one report at a time (one commit, one
//!   fsync each): the latency floor of a single client.
//! * `fold/case_show`: loading and folding one case of 17 events (Kerman),
//!   with the reader's access checked.

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tocsin::app::{self, Paths};
use tocsin::scenarios::{Cast, KERMAN_REPORT, PEOPLE, report};
use tocsin_domain::LoadedPolicy;
use tocsin_service::{Intake, ManualClock, Principal, Service, SystemClock};
use tocsin_store::Store;

/// A collector of the Kerman report's element, as the service sees it.
fn collector(rt: &tokio::runtime::Runtime, svc: &Service) -> Principal {
    let cast = rt.block_on(Cast::enrol(svc, PEOPLE, None)).unwrap();
    cast.get("collector.ct").unwrap().clone()
}

fn deployment(rt: &tokio::runtime::Runtime) -> (tempfile::TempDir, Arc<Service>) {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::new(dir.path().join("bench.db"), None);
    rt.block_on(app::init(&paths, Some("tocsin.bench/intake".into())))
        .unwrap();
    let store = rt.block_on(app::open_write(&paths)).unwrap();
    let svc = Service::new(
        store,
        Arc::new(LoadedPolicy::builtin()),
        Arc::new(SystemClock),
    );
    (dir, Arc::new(svc))
}

fn intake(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let template = report(KERMAN_REPORT).unwrap();

    let mut g = c.benchmark_group("durable_intake");
    g.sample_size(10);
    const N: usize = 2000;
    g.throughput(Throughput::Elements(N as u64));
    let (_dir, svc) = deployment(&rt);
    let who = collector(&rt, &svc);
    g.bench_function("concurrent_64", |b| {
        b.to_async(&rt).iter(|| {
            let svc = svc.clone();
            let (template, who) = (template.clone(), who.clone());
            async move {
                let sem = Arc::new(tokio::sync::Semaphore::new(64));
                let mut set = tokio::task::JoinSet::new();
                for _ in 0..N {
                    let permit = sem.clone().acquire_owned().await.unwrap();
                    let (svc, r, who) = (svc.clone(), template.clone(), who.clone());
                    set.spawn(async move {
                        svc.submit_report(&who, Intake::new(r)).await.unwrap();
                        drop(permit);
                    });
                }
                while set.join_next().await.is_some() {}
            }
        })
    });
    const M: usize = 50;
    g.throughput(Throughput::Elements(M as u64));
    g.bench_function("sequential", |b| {
        b.to_async(&rt).iter(|| {
            let svc = svc.clone();
            let (template, who) = (template.clone(), who.clone());
            async move {
                for _ in 0..M {
                    svc.submit_report(&who, Intake::new(template.clone()))
                        .await
                        .unwrap();
                }
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("fold");
    let (_dir2, _) = deployment(&rt);
    let paths = Paths::new(_dir2.path().join("bench.db"), None);
    let store = rt.block_on(app::open_write(&paths)).unwrap();
    let clock = Arc::new(ManualClock::new(tocsin::scenarios::ts(
        "2023-12-26T00:00:00Z",
    )));
    let svc = Service::new(store, Arc::new(LoadedPolicy::builtin()), clock.clone());
    let cast = rt.block_on(Cast::enrol(&svc, PEOPLE, None)).unwrap();
    let id = rt
        .block_on(tocsin::scenarios::run_kerman(
            &svc,
            &clock,
            &cast,
            &mut |_| {},
        ))
        .unwrap()
        .case_id;
    let auditor = cast.get("auditor.ng").unwrap().clone();
    g.bench_function("case_show", |b| {
        b.to_async(&rt).iter(|| svc.case(&auditor, id, "bench"))
    });
    g.finish();
}

/// Proofs and full verification on a large existing ledger, built by
/// `scripts/bench-ledger.sh` (skipped unless `TOCSIN_BENCH_DB` is set).
fn large_ledger(c: &mut Criterion) {
    let Ok(db) = std::env::var("TOCSIN_BENCH_DB") else {
        eprintln!(
            "ledger_large: skipped (set TOCSIN_BENCH_DB to a database built by scripts/bench-ledger.sh)"
        );
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = tocsin_store_sqlite::SqliteStore::open(std::path::Path::new(&db), None).unwrap();
    let verifier = tocsin_ledger::NoteVerifier::parse(&store.meta().verifier_key).unwrap();
    let size = rt.block_on(store.ledger_head()).unwrap().size;
    let mut g = c.benchmark_group(format!("ledger_{size}"));
    let mut i = 0u64;
    g.bench_function("inclusion_proof_generate_and_verify", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 7_919) % size;
            let store = &store;
            let pos = i;
            async move {
                let p = tocsin_store::audit::inclusion(store, pos, None)
                    .await
                    .unwrap()
                    .unwrap();
                tocsin_ledger::verify_inclusion(
                    &p.leaf_hash,
                    p.position,
                    p.size,
                    &p.proof,
                    &p.root,
                )
                .unwrap();
            }
        })
    });
    g.bench_function("consistency_proof_generate_and_verify", |b| {
        b.to_async(&rt).iter(|| async {
            let m = size / 3 + 1;
            let proof = tocsin_store::audit::consistency(&store, m, size)
                .await
                .unwrap()
                .unwrap();
            let r1 = tocsin_store::audit::root_at_size(&store, m)
                .await
                .unwrap()
                .unwrap();
            let r2 = tocsin_store::audit::root_at_size(&store, size)
                .await
                .unwrap()
                .unwrap();
            tocsin_ledger::verify_consistency(m, size, &r1, &r2, &proof).unwrap();
        })
    });
    g.sample_size(10);
    g.throughput(Throughput::Elements(size));
    g.bench_function("full_verification", |b| {
        b.to_async(&rt).iter(|| async {
            let opts = tocsin_store::audit::VerifyOptions {
                verifier: verifier.clone(),
                since: None,
                deep: false,
                progress: None,
                accept_disposed: false,
            };
            tocsin_store::audit::verify(std::sync::Arc::new(store.clone()), &opts)
                .await
                .unwrap()
                .unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, intake, large_ledger);
criterion_main!(benches);
