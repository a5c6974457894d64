//! Inclusion and consistency proofs: generation from stored perfect nodes and
//! verification (RFC 9162 sections 2.1.3 and 2.1.4).

use crate::error::ProofError;
use crate::hash::{Hash, empty_root, node_hash};
use crate::tree::{NodeId, fold_right, for_each_perfect, perfect_decomposition};

/// Largest power of two strictly less than `n`; `n` must be at least 2.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Visit the leaf ranges whose Merkle tree hashes form the inclusion proof of leaf
/// `index` in a tree of `size` leaves (RFC 9162 `PATH`), from the root downwards
/// (the reverse of proof order). Requires `index < size`.
fn inclusion_ranges_top_down(index: u64, size: u64, mut f: impl FnMut(u64, u64)) {
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            f(lo + k, hi);
            hi = lo + k;
        } else {
            f(lo, lo + k);
            lo += k;
        }
    }
}

/// Visit the leaf ranges whose Merkle tree hashes form the consistency proof from
/// `size1` to `size2` (RFC 9162 `SUBPROOF`), from the root downwards (the reverse
/// of proof order). Requires `0 < size1 < size2`.
fn consistency_ranges_top_down(size1: u64, size2: u64, mut f: impl FnMut(u64, u64)) {
    // Invariant: lo < size1 <= hi.
    let (mut lo, mut hi) = (0u64, size2);
    // True while [lo, hi) is a prefix subtree whose hash the verifier already
    // knows (the old root itself), so it need not be sent.
    let mut known = true;
    while hi != size1 {
        let k = split_point(hi - lo);
        if size1 - lo <= k {
            f(lo + k, hi);
            hi = lo + k;
        } else {
            f(lo, lo + k);
            lo += k;
            known = false;
        }
    }
    if !known {
        f(lo, hi);
    }
}

fn ranges_bottom_up(visit: impl FnOnce(&mut dyn FnMut(u64, u64))) -> Vec<(u64, u64)> {
    let mut ranges = Vec::with_capacity(64);
    visit(&mut |lo, hi| ranges.push((lo, hi)));
    ranges.reverse();
    ranges
}

fn check_inclusion_args(index: u64, size: u64) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    Ok(())
}

/// `Ok(true)` when a consistency proof is needed, `Ok(false)` when sizes are equal.
fn check_consistency_args(size1: u64, size2: u64) -> Result<bool, ProofError> {
    if size1 > size2 {
        return Err(ProofError::Size1GreaterThanSize2 { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::EmptyOldTree { size2 });
    }
    Ok(size1 != size2)
}

fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    ranges_bottom_up(|f| inclusion_ranges_top_down(index, size, f))
}

fn consistency_ranges(size1: u64, size2: u64) -> Vec<(u64, u64)> {
    ranges_bottom_up(|f| consistency_ranges_top_down(size1, size2, f))
}

fn node_ids_of(ranges: &[(u64, u64)]) -> Vec<NodeId> {
    let mut ids = Vec::new();
    for &(lo, hi) in ranges {
        for_each_perfect(lo, hi, |id| ids.push(id));
    }
    ids
}

/// Merkle tree hash of a right-edge range from stored perfect nodes.
fn range_hash(
    lo: u64,
    hi: u64,
    lookup: &mut impl FnMut(NodeId) -> Option<Hash>,
) -> Result<Hash, ProofError> {
    // A right-edge range has at most one node per bit of its length.
    let mut buf = [Hash::default(); 64];
    let mut n = 0usize;
    let mut missing = None;
    for_each_perfect(lo, hi, |id| {
        if missing.is_some() {
            return;
        }
        match lookup(id) {
            Some(h) => {
                buf[n] = h;
                n += 1;
            }
            None => missing = Some(id),
        }
    });
    if let Some(id) = missing {
        return Err(ProofError::MissingNode(id));
    }
    Ok(fold_right(&buf[..n]).unwrap_or_else(empty_root))
}

fn build(
    ranges: &[(u64, u64)],
    mut lookup: impl FnMut(NodeId) -> Option<Hash>,
) -> Result<Vec<Hash>, ProofError> {
    ranges
        .iter()
        .map(|&(lo, hi)| range_hash(lo, hi, &mut lookup))
        .collect()
}

/// The perfect nodes a store must fetch to build the inclusion proof of leaf
/// `index` in the tree of `size` leaves (phase one of two).
///
/// The ids are distinct and listed in the order [`inclusion_proof`] asks for them.
/// There are at most about `2 log2(size)` of them.
pub fn inclusion_proof_node_ids(index: u64, size: u64) -> Result<Vec<NodeId>, ProofError> {
    check_inclusion_args(index, size)?;
    Ok(node_ids_of(&inclusion_ranges(index, size)))
}

/// Build the inclusion proof (RFC 9162 `PATH`) of leaf `index` in the tree of
/// `size` leaves from stored perfect nodes (phase two of two). `lookup` is asked for
/// exactly the nodes of [`inclusion_proof_node_ids`]; `None` yields
/// [`ProofError::MissingNode`]. The proof lists hashes from the leaf upwards.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    lookup: impl FnMut(NodeId) -> Option<Hash>,
) -> Result<Vec<Hash>, ProofError> {
    check_inclusion_args(index, size)?;
    build(&inclusion_ranges(index, size), lookup)
}

/// The perfect nodes a store must fetch to build the consistency proof from
/// `size1` to `size2` (phase one of two). Empty when `size1 == size2`.
///
/// Errors when `size1 > size2` or `size1 == 0` (see [`ProofError::EmptyOldTree`]).
pub fn consistency_proof_node_ids(size1: u64, size2: u64) -> Result<Vec<NodeId>, ProofError> {
    if !check_consistency_args(size1, size2)? {
        return Ok(Vec::new());
    }
    Ok(node_ids_of(&consistency_ranges(size1, size2)))
}

/// Build the consistency proof (RFC 9162 `PROOF`) from `size1` to `size2` from
/// stored perfect nodes (phase two of two). Empty when `size1 == size2`.
pub fn consistency_proof(
    size1: u64,
    size2: u64,
    lookup: impl FnMut(NodeId) -> Option<Hash>,
) -> Result<Vec<Hash>, ProofError> {
    if !check_consistency_args(size1, size2)? {
        return Ok(Vec::new());
    }
    build(&consistency_ranges(size1, size2), lookup)
}

/// The perfect nodes needed to compute the root at `size`: the decomposition of
/// `[0, size)`.
pub fn root_at_node_ids(size: u64) -> Vec<NodeId> {
    perfect_decomposition(0, size)
}

/// The root of the tree at any `size` up to the stored size, from stored perfect
/// nodes (the nodes of [`root_at_node_ids`]). The empty root for `size == 0`.
pub fn root_at(
    size: u64,
    mut lookup: impl FnMut(NodeId) -> Option<Hash>,
) -> Result<Hash, ProofError> {
    range_hash(0, size, &mut lookup)
}

/// Number of hashes in the inclusion proof of `index` in a tree of `size` leaves.
pub fn inclusion_proof_len(index: u64, size: u64) -> Result<usize, ProofError> {
    check_inclusion_args(index, size)?;
    // Levels below the point where the paths of `index` and of the last leaf
    // diverge contribute one hash each; above it, one hash per left sibling.
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    // `inner` is 64 when the paths diverge at the top bit (a size above
    // 2^63): no bits are left above it.
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    Ok((inner + border) as usize)
}

/// Number of hashes in the consistency proof from `size1` to `size2`.
pub fn consistency_proof_len(size1: u64, size2: u64) -> Result<usize, ProofError> {
    if !check_consistency_args(size1, size2)? {
        return Ok(0);
    }
    let mut n = 0usize;
    consistency_ranges_top_down(size1, size2, |_, _| n += 1);
    Ok(n)
}

/// Recompute the root implied by an inclusion proof (RFC 9162 section 2.1.3.2,
/// steps 1 to 3). Checks the index and the proof length but not the root.
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    let expected = inclusion_proof_len(index, size)?;
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            got: proof.len(),
            expected,
        });
    }
    let wrong_len = || ProofError::WrongProofLength {
        got: proof.len(),
        expected,
    };
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s == 0 {
            return Err(wrong_len());
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(wrong_len());
    }
    Ok(r)
}

/// Verify that `leaf_hash` is leaf `index` of the tree of `size` leaves with root
/// `root` (RFC 9162 section 2.1.3.2). The proof length must be exactly the one the
/// index and size imply.
///
/// `size` and `root` must come from the same trusted tree head (a verified
/// [`Checkpoint`](crate::Checkpoint)): the proof binds the leaf to the index and
/// the root, but like any RFC 9162 inclusion proof it does not by itself bind the
/// size (for example, leaf 4's proofs in trees of 7 and 8 leaves hash alike).
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(leaf_hash, index, size, proof)?;
    if computed != *root {
        return Err(ProofError::RootMismatch {
            expected: *root,
            computed,
        });
    }
    Ok(())
}

/// Verify that the tree of `size2` leaves with root `root2` extends the tree of
/// `size1` leaves with root `root1` (RFC 9162 section 2.1.4.2).
///
/// Equal sizes verify with an empty proof and equal roots. `size1 == 0` is always
/// rejected ([`ProofError::EmptyOldTree`]): no proof exists from the empty tree, as
/// in RFC 9162 (`0 < m < n`) and the shared conformance vectors; callers wanting to
/// accept any tree after an empty one must special-case it.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    let expected = consistency_proof_len(size1, size2)?;
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            got: proof.len(),
            expected,
        });
    }
    if size1 == size2 {
        if root1 != root2 {
            return Err(ProofError::NewRootMismatch {
                expected: *root2,
                computed: *root1,
            });
        }
        return Ok(());
    }
    let wrong_len = || ProofError::WrongProofLength {
        got: proof.len(),
        expected,
    };
    // If size1 is a power of two, the old root is itself a node of the new tree
    // and is not sent: start from it.
    let (first, rest) = if size1.is_power_of_two() {
        (root1, proof)
    } else {
        proof.split_first().ok_or_else(wrong_len)?
    };
    let (mut f, mut s) = (size1 - 1, size2 - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return Err(wrong_len());
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(wrong_len());
    }
    if fr != *root1 {
        return Err(ProofError::OldRootMismatch {
            expected: *root1,
            computed: fr,
        });
    }
    if sr != *root2 {
        return Err(ProofError::NewRootMismatch {
            expected: *root2,
            computed: sr,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::memory::MemoryTree;

    fn tree(n: u64) -> MemoryTree {
        let mut t = MemoryTree::new();
        for i in 0..n {
            t.push(leaf_hash(&i.to_le_bytes()));
        }
        t
    }

    #[test]
    fn split_points() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn argument_errors_not_panics() {
        let none = |_| None;
        assert_eq!(
            inclusion_proof_node_ids(0, 0),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert!(inclusion_proof(5, 5, none).is_err());
        assert!(inclusion_proof(u64::MAX, u64::MAX, none).is_err());
        assert_eq!(
            consistency_proof_node_ids(3, 2),
            Err(ProofError::Size1GreaterThanSize2 { size1: 3, size2: 2 })
        );
        assert_eq!(
            consistency_proof(0, 2, none),
            Err(ProofError::EmptyOldTree { size2: 2 })
        );
        assert_eq!(consistency_proof(7, 7, none), Ok(vec![]));
        let h = empty_root();
        assert!(verify_inclusion(&h, 0, 0, &[], &h).is_err());
        assert!(verify_inclusion(&h, u64::MAX, u64::MAX, &[], &h).is_err());
        assert!(verify_consistency(0, 0, &h, &h, &[]).is_err());
        assert!(verify_consistency(u64::MAX, 1, &h, &h, &[]).is_err());
        // Huge sizes are fine and cheap.
        assert_eq!(
            inclusion_proof_node_ids(0, u64::MAX).unwrap().len(),
            64 + 62
        );
        assert!(consistency_proof_node_ids(u64::MAX - 1, u64::MAX).is_ok());
        assert_eq!(root_at_node_ids(u64::MAX).len(), 64);
    }

    #[test]
    fn missing_node_is_reported() {
        let t = tree(5);
        let err = inclusion_proof(0, 6, |id| t.node(id)).unwrap_err();
        // The first node asked for is the sibling range [4, 6), a perfect node.
        assert_eq!(err, ProofError::MissingNode(NodeId { level: 1, index: 2 }));
        assert!(err.to_string().contains("leaves 4..6"), "{err}");
        assert!(root_at(6, |id| t.node(id)).is_err());
    }

    #[test]
    fn lengths_match_generated_proofs() {
        for size in 1..80u64 {
            for index in 0..size {
                let ranges = inclusion_ranges(index, size);
                assert_eq!(inclusion_proof_len(index, size).unwrap(), ranges.len());
            }
            for size1 in 1..=size {
                let n = if size1 == size {
                    0
                } else {
                    consistency_ranges(size1, size).len()
                };
                assert_eq!(consistency_proof_len(size1, size).unwrap(), n);
            }
        }
    }

    #[test]
    fn proofs_verify_exhaustively_small() {
        let t = tree(40);
        for size in 1..=40u64 {
            let root = t.root_at(size).unwrap();
            for index in 0..size {
                let ids = inclusion_proof_node_ids(index, size).unwrap();
                let mut asked = Vec::new();
                let proof = inclusion_proof(index, size, |id| {
                    asked.push(id);
                    t.node(id)
                })
                .unwrap();
                assert_eq!(asked, ids, "lookup order must match the node-id list");
                let leaf = t.node(NodeId::leaf(index)).unwrap();
                verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
            }
            for size1 in 1..=size {
                let root1 = t.root_at(size1).unwrap();
                let proof = consistency_proof(size1, size, |id| t.node(id)).unwrap();
                verify_consistency(size1, size, &root1, &root, &proof).unwrap();
            }
        }
    }

    /// Documents why callers must take `size` and `root` from one tree head: the
    /// RFC 9162 algorithm computes the same root for leaf 4 with size 7 or 8.
    #[test]
    fn inclusion_size_is_bound_by_the_root_only() {
        let t = tree(8);
        let leaf = t.node(NodeId::leaf(4)).unwrap();
        let proof8 = t.inclusion_proof(4, 8).unwrap();
        assert!(verify_inclusion(&leaf, 4, 7, &proof8, &t.root()).is_ok());
        // With the genuine root of size 7 the mismatch is caught.
        let root7 = t.root_at(7).unwrap();
        assert!(verify_inclusion(&leaf, 4, 7, &proof8, &root7).is_err());
    }

    #[test]
    fn error_variants_for_bad_proofs() {
        let t = tree(7);
        let root = t.root();
        let leaf = t.node(NodeId::leaf(2)).unwrap();
        let proof = t.inclusion_proof(2, 7).unwrap();
        assert!(matches!(
            verify_inclusion(&leaf, 2, 7, &proof[1..], &root),
            Err(ProofError::WrongProofLength {
                got: 2,
                expected: 3
            })
        ));
        assert!(matches!(
            verify_inclusion(&leaf, 3, 7, &proof, &root),
            Err(ProofError::RootMismatch { .. })
        ));
        let root3 = t.root_at(3).unwrap();
        let cproof = t.consistency_proof(3, 7).unwrap();
        assert!(matches!(
            verify_consistency(3, 7, &root, &root, &cproof),
            Err(ProofError::OldRootMismatch { .. })
        ));
        assert!(matches!(
            verify_consistency(3, 7, &root3, &root3, &cproof),
            Err(ProofError::NewRootMismatch { .. })
        ));
        assert!(matches!(
            verify_consistency(3, 3, &root3, &root3, &cproof),
            Err(ProofError::WrongProofLength { expected: 0, .. })
        ));
    }
}
