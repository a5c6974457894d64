//! Ledger benchmarks at one million leaves.
//!
//! Run with `cargo bench -p tocsin-ledger`.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tocsin_ledger::{
    Frontier, Hash, MemoryTree, NodeId, consistency_proof, consistency_proof_node_ids,
    inclusion_proof, inclusion_proof_node_ids, leaf_hash, root_of, verify_consistency,
    verify_inclusion,
};

const N: u64 = 1_000_000;
const LEAF_BYTES: usize = 400;

/// Cheap deterministic pseudo-random numbers (xorshift64*), so runs are repeatable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn leaf_hashes(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

/// `N` distinct leaves of `LEAF_BYTES` each, in one contiguous buffer (400 MB).
fn leaf_data() -> Vec<u8> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut data = vec![0u8; N as usize * LEAF_BYTES];
    for chunk in data.chunks_exact_mut(8) {
        chunk.copy_from_slice(&rng.next().to_le_bytes());
    }
    data
}

fn benches(c: &mut Criterion) {
    let hashes = leaf_hashes(N);
    let tree: MemoryTree = hashes.iter().copied().collect();
    let root = tree.root();

    // Appending: Frontier::push for 1M leaves, collecting completed nodes like a
    // store would (the buffer is drained after each push).
    {
        let mut g = c.benchmark_group("append");
        g.sample_size(10);
        g.throughput(Throughput::Elements(N));
        g.bench_function("frontier_push_1m", |b| {
            b.iter(|| {
                let mut f = Frontier::new();
                let mut out = Vec::with_capacity(64);
                let mut stored = 0usize;
                for h in &hashes {
                    out.clear();
                    f.push(*h, &mut out);
                    stored += out.len();
                }
                black_box((f.root(), stored))
            })
        });
        g.finish();
    }

    // Proofs at size 1M: two-phase generation with lookups from a MemoryTree
    // through a fetched map, as a store would do it.
    {
        let mut g = c.benchmark_group("proofs_1m");
        g.measurement_time(Duration::from_secs(3));
        let mut rng = Rng(42);
        g.bench_function("inclusion_generate", |b| {
            b.iter_batched(
                || rng.next() % N,
                |index| {
                    let ids = inclusion_proof_node_ids(index, N).unwrap();
                    let fetched: HashMap<NodeId, Hash> = ids
                        .iter()
                        .map(|id| (*id, tree.node(*id).unwrap()))
                        .collect();
                    inclusion_proof(index, N, |id| fetched.get(&id).copied()).unwrap()
                },
                BatchSize::SmallInput,
            )
        });
        let index = 765_432;
        let proof = tree.inclusion_proof(index, N).unwrap();
        let leaf = hashes[index as usize];
        g.bench_function("inclusion_verify", |b| {
            b.iter(|| verify_inclusion(black_box(&leaf), index, N, &proof, &root).unwrap())
        });

        let size1 = 654_321;
        let root1 = tree.root_at(size1).unwrap();
        g.bench_function("consistency_generate_and_verify", |b| {
            b.iter(|| {
                let ids = consistency_proof_node_ids(size1, N).unwrap();
                let fetched: HashMap<NodeId, Hash> = ids
                    .iter()
                    .map(|id| (*id, tree.node(*id).unwrap()))
                    .collect();
                let proof = consistency_proof(size1, N, |id| fetched.get(&id).copied()).unwrap();
                verify_consistency(size1, N, &root1, &root, &proof).unwrap();
                proof
            })
        });
        let cproof = tree.consistency_proof(size1, N).unwrap();
        g.bench_function("consistency_verify", |b| {
            b.iter(|| verify_consistency(size1, N, &root1, &root, black_box(&cproof)).unwrap())
        });
        g.finish();
    }
    drop(tree);
    drop(hashes);

    // Full verification: hash 1M leaves of 400 bytes and compute the root.
    {
        let data = leaf_data();
        let mut g = c.benchmark_group("full_verify");
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(10));
        g.throughput(Throughput::Elements(N));
        g.bench_function("leaf_hash_400b_x1m_plus_root_of", |b| {
            b.iter(|| {
                let hashes: Vec<Hash> = data.chunks_exact(LEAF_BYTES).map(leaf_hash).collect();
                black_box(root_of(&hashes))
            })
        });
        g.finish();
    }
}

criterion_group!(ledger, benches);
criterion_main!(ledger);
