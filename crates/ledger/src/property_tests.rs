//! Property tests against a naive transcription of RFC 9162 section 2.1.

use std::collections::HashMap;

use proptest::prelude::*;

use crate::*;

/// Largest power of two strictly less than `n` (n >= 2), computed naively.
fn naive_split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 9162 `MTH`, recursively.
fn naive_mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = naive_split(n);
            node_hash(&naive_mth(&leaves[..k]), &naive_mth(&leaves[k..]))
        }
    }
}

/// RFC 9162 `MTH`, recursively, memoized by leaf range so that the roots of all
/// prefixes of a few-thousand-leaf tree stay affordable in a debug build.
fn memo_mth(leaves: &[Hash], start: usize, memo: &mut HashMap<(usize, usize), Hash>) -> Hash {
    let n = leaves.len();
    match n {
        0 => empty_root(),
        1 => leaves[0],
        _ => {
            if let Some(h) = memo.get(&(start, n)) {
                return *h;
            }
            let k = naive_split(n);
            let left = memo_mth(&leaves[..k], start, memo);
            let right = memo_mth(&leaves[k..], start + k, memo);
            let h = node_hash(&left, &right);
            memo.insert((start, n), h);
            h
        }
    }
}

/// RFC 9162 `PATH(m, D[n])`.
fn naive_path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = naive_split(n);
    let (mut p, sibling) = if m < k {
        (naive_path(m, &leaves[..k]), naive_mth(&leaves[k..]))
    } else {
        (naive_path(m - k, &leaves[k..]), naive_mth(&leaves[..k]))
    };
    p.push(sibling);
    p
}

/// RFC 9162 `SUBPROOF(m, D[n], b)`.
fn naive_subproof(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if b {
            Vec::new()
        } else {
            vec![naive_mth(leaves)]
        };
    }
    let k = naive_split(n);
    let (mut p, sibling) = if m <= k {
        (naive_subproof(m, &leaves[..k], b), naive_mth(&leaves[k..]))
    } else {
        (
            naive_subproof(m - k, &leaves[k..], false),
            naive_mth(&leaves[..k]),
        )
    };
    p.push(sibling);
    p
}

fn leaves(n: usize, seed: u64) -> Vec<Hash> {
    (0..n as u64)
        .map(|i| leaf_hash(&[seed.to_le_bytes(), i.to_le_bytes()].concat()))
        .collect()
}

/// Flip one bit of one hash, chosen by `r`.
fn flip(hashes: &mut [Hash], r: u64) {
    let i = (r as usize) % hashes.len();
    let byte = ((r >> 16) % 32) as usize;
    let bit = (r >> 24) % 8;
    hashes[i].0[byte] ^= 1 << bit;
}

fn flipped(h: &Hash, r: u64) -> Hash {
    let mut v = [*h];
    flip(&mut v, r);
    v[0]
}

/// Fetch the listed nodes from the tree, as a store would in one query.
fn fetch(tree: &MemoryTree, ids: &[NodeId]) -> HashMap<NodeId, Hash> {
    ids.iter()
        .map(|id| (*id, tree.node(*id).expect("node in tree")))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Frontier, MemoryTree, root_of, root_at and the naive MTH agree at every size;
    /// the frontier reports exactly the perfect nodes the full tree has, and
    /// restores from stored nodes at every size.
    #[test]
    fn roots_agree_at_every_size(n in 0usize..=3000, seed in any::<u64>()) {
        let ls = leaves(n, seed);
        let tree: MemoryTree = ls.iter().copied().collect();
        let mut frontier = Frontier::new();
        let mut out = Vec::new();
        let mut memo = HashMap::new();
        prop_assert_eq!(frontier.root(), empty_root());
        for (i, leaf) in ls.iter().enumerate() {
            out.clear();
            frontier.push(*leaf, &mut out);
            let size = i as u64 + 1;
            for (id, h) in &out {
                prop_assert!(id.level >= 1);
                prop_assert_eq!(id.end(), size, "completed node must end at the new size");
                prop_assert_eq!(tree.node(*id), Some(*h));
            }
            for w in out.windows(2) {
                prop_assert!(w[0].0.level < w[1].0.level, "lowest level first");
            }
            // The plain recursion is quadratic over all prefixes: use it on small
            // trees and the memoized recursion on large ones.
            let want = if n <= 500 {
                naive_mth(&ls[..=i])
            } else {
                memo_mth(&ls[..=i], 0, &mut memo)
            };
            prop_assert_eq!(frontier.root(), want);
            prop_assert_eq!(tree.root_at(size).unwrap(), want);
            if n <= 500 || size % 97 == 1 {
                prop_assert_eq!(root_of(&ls[..=i]), want);
            }

            let ids = Frontier::node_ids(size);
            prop_assert_eq!(&ids, &root_at_node_ids(size));
            let stored = fetch(&tree, &ids);
            prop_assert_eq!(root_at(size, |id| stored.get(&id).copied()).unwrap(), want);
            let hashes: Vec<Hash> = ids.iter().map(|id| stored[id]).collect();
            let restored = Frontier::from_nodes(size, &hashes).unwrap();
            prop_assert_eq!(&restored, &frontier);
            prop_assert_eq!(restored.root(), want);
            if (size + 1).count_ones() as usize != hashes.len() {
                prop_assert!(Frontier::from_nodes(size + 1, &hashes).is_err());
            }
        }
        prop_assert_eq!(tree.root(), naive_mth(&ls));
        prop_assert_eq!(root_of(&ls), naive_mth(&ls));
    }

    /// Restored frontiers keep appending exactly like the original.
    #[test]
    fn restored_frontier_continues(n in 0usize..600, extra in 1usize..200, seed in any::<u64>()) {
        let ls = leaves(n + extra, seed);
        let tree: MemoryTree = ls[..n].iter().copied().collect();
        let ids = Frontier::node_ids(n as u64);
        let hashes: Vec<Hash> = ids.iter().map(|id| tree.node(*id).unwrap()).collect();
        let mut restored = Frontier::from_nodes(n as u64, &hashes).unwrap();
        let mut full = MemoryTree::new();
        full.extend(ls.iter().copied());
        let mut out = Vec::new();
        for (i, leaf) in ls[n..].iter().enumerate() {
            out.clear();
            restored.push(*leaf, &mut out);
            for (id, h) in &out {
                prop_assert_eq!(full.node(*id), Some(*h));
            }
            prop_assert_eq!(restored.root(), full.root_at((n + i + 1) as u64).unwrap());
        }
    }

    /// Two-phase inclusion proofs equal RFC PATH, verify, and every tampering is
    /// rejected.
    #[test]
    fn inclusion_proofs(
        n in 1usize..=3000,
        seed in any::<u64>(),
        picks in prop::collection::vec(any::<(u64, u64, u64, u64)>(), 8),
    ) {
        let ls = leaves(n, seed);
        let tree: MemoryTree = ls.iter().copied().collect();
        let n = n as u64;
        for (a, b, r, s) in picks {
            let size = 1 + a % n;
            let index = b % size;
            let ids = inclusion_proof_node_ids(index, size).unwrap();
            let stored = fetch(&tree, &ids);
            let proof = inclusion_proof(index, size, |id| stored.get(&id).copied()).unwrap();
            prop_assert_eq!(&proof, &naive_path(index as usize, &ls[..size as usize]));
            prop_assert_eq!(proof.len(), inclusion_proof_len(index, size).unwrap());
            prop_assert_eq!(&tree.inclusion_proof(index, size).unwrap(), &proof);
            let root = tree.root_at(size).unwrap();
            let leaf = ls[index as usize];
            prop_assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));

            // Any single bit flip in the proof.
            if !proof.is_empty() {
                let mut bad = proof.clone();
                flip(&mut bad, r);
                prop_assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
            }
            // Wrong leaf, wrong root.
            prop_assert!(verify_inclusion(&flipped(&leaf, r), index, size, &proof, &root).is_err());
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &flipped(&root, r)).is_err());
            // Wrong index (in range and out of range).
            if size > 1 {
                let other = (index + 1 + s % (size - 1)) % size;
                prop_assert_ne!(other, index);
                prop_assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err(),
                    "index {} accepted for a proof of {} in size {}", other, index, size);
            }
            prop_assert!(verify_inclusion(&leaf, size + s % 4, size, &proof, &root).is_err());
            // Wrong size, with the genuine root of that size (the pair a checkpoint
            // would vouch for).
            if n > index + 1 {
                let other = index + 1 + s % (n - index - 1);
                let other = if other == size { n } else { other };
                if other != size {
                    let other_root = tree.root_at(other).unwrap();
                    prop_assert!(verify_inclusion(&leaf, index, other, &proof, &other_root).is_err(),
                        "size {} accepted for a proof of {} in size {}", other, index, size);
                }
            }
            // Truncated and extended proofs.
            if !proof.is_empty() {
                prop_assert!(verify_inclusion(&leaf, index, size, &proof[1..], &root).is_err());
                prop_assert!(verify_inclusion(&leaf, index, size, &proof[..proof.len() - 1], &root).is_err());
            }
            let mut longer = proof.clone();
            longer.push(root);
            prop_assert!(verify_inclusion(&leaf, index, size, &longer, &root).is_err());
        }
    }

    /// Two-phase consistency proofs equal RFC PROOF, verify, and every tampering is
    /// rejected.
    #[test]
    fn consistency_proofs(
        n in 1usize..=3000,
        seed in any::<u64>(),
        picks in prop::collection::vec(any::<(u64, u64, u64, u64)>(), 8),
    ) {
        let ls = leaves(n, seed);
        let tree: MemoryTree = ls.iter().copied().collect();
        let n = n as u64;
        for (a, b, r, s) in picks {
            let size2 = 1 + a % n;
            let size1 = 1 + b % size2;
            let ids = consistency_proof_node_ids(size1, size2).unwrap();
            let stored = fetch(&tree, &ids);
            let proof = consistency_proof(size1, size2, |id| stored.get(&id).copied()).unwrap();
            let naive = if size1 == size2 {
                Vec::new()
            } else {
                naive_subproof(size1 as usize, &ls[..size2 as usize], true)
            };
            prop_assert_eq!(&proof, &naive);
            prop_assert_eq!(proof.len(), consistency_proof_len(size1, size2).unwrap());
            prop_assert_eq!(&tree.consistency_proof(size1, size2).unwrap(), &proof);
            let root1 = tree.root_at(size1).unwrap();
            let root2 = tree.root_at(size2).unwrap();
            prop_assert_eq!(verify_consistency(size1, size2, &root1, &root2, &proof), Ok(()));

            if !proof.is_empty() {
                let mut bad = proof.clone();
                flip(&mut bad, r);
                prop_assert!(verify_consistency(size1, size2, &root1, &root2, &bad).is_err());
                prop_assert!(verify_consistency(size1, size2, &root1, &root2, &proof[1..]).is_err());
            }
            prop_assert!(verify_consistency(size1, size2, &flipped(&root1, r), &root2, &proof).is_err());
            prop_assert!(verify_consistency(size1, size2, &root1, &flipped(&root2, r), &proof).is_err());
            let mut longer = proof.clone();
            longer.push(root2);
            prop_assert!(verify_consistency(size1, size2, &root1, &root2, &longer).is_err());
            // Wrong size1 (with its genuine root).
            if size2 > 1 {
                let other = 1 + (size1 + s % (size2 - 1)) % size2;
                if other != size1 {
                    let other_root = tree.root_at(other).unwrap();
                    prop_assert!(
                        verify_consistency(other, size2, &other_root, &root2, &proof).is_err(),
                        "size1 {} accepted for a proof {} -> {}", other, size1, size2);
                }
            }
            // Wrong size2 (with its genuine root).
            if n > size1 {
                let other = size1 + s % (n - size1 + 1);
                if other != size2 {
                    let other_root = tree.root_at(other).unwrap();
                    prop_assert!(
                        verify_consistency(size1, other, &root1, &other_root, &proof).is_err(),
                        "size2 {} accepted for a proof {} -> {}", other, size1, size2);
                }
            }
            // Swapped roots.
            if root1 != root2 {
                prop_assert!(verify_consistency(size1, size2, &root2, &root1, &proof).is_err());
            }
        }
    }
}
