//! Perfect subtrees, the right-edge frontier and fast whole-log roots.

use std::fmt;

use crate::error::LedgerError;
use crate::hash::{Hash, empty_root, node_hash};

/// A perfect subtree covering leaves `[index << level, (index + 1) << level)`.
///
/// Level 0 is a leaf hash; level `l` is the root of `2^l` consecutive leaves whose
/// first leaf index is a multiple of `2^l`. These are the only nodes a store needs to
/// keep: every root and every proof hash of an RFC 6962 tree of any size is either a
/// perfect node or a right-to-left fold of a few of them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct NodeId {
    /// Height of the subtree: it covers `2^level` leaves.
    pub level: u8,
    /// Position of the subtree among the subtrees of the same level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The node id of leaf `index` (level 0).
    pub const fn leaf(index: u64) -> Self {
        NodeId { level: 0, index }
    }

    /// First leaf covered (saturates at `u64::MAX` for ids outside the `u64` leaf space).
    pub fn start(&self) -> u64 {
        let start = u128::from(self.index) << self.level.min(64);
        u64::try_from(start).unwrap_or(u64::MAX)
    }

    /// One past the last leaf covered (saturates at `u64::MAX`).
    pub fn end(&self) -> u64 {
        let end = (u128::from(self.index) + 1) << self.level.min(64);
        u64::try_from(end).unwrap_or(u64::MAX)
    }

    /// The two children of a node of level >= 1, left then right.
    pub fn children(&self) -> Option<(NodeId, NodeId)> {
        let level = self.level.checked_sub(1)?;
        let left = self.index.checked_mul(2)?;
        let right = left.checked_add(1)?;
        Some((
            NodeId { level, index: left },
            NodeId {
                level,
                index: right,
            },
        ))
    }

    /// The parent node (one level up).
    pub fn parent(&self) -> Option<NodeId> {
        let level = self.level.checked_add(1).filter(|l| *l < 64)?;
        Some(NodeId {
            level,
            index: self.index >> 1,
        })
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "level {} index {} (leaves {}..{})",
            self.level,
            self.index,
            self.start(),
            self.end()
        )
    }
}

/// Decompose the leaf range `[start, end)` into maximal aligned perfect subtrees,
/// left to right. Empty when `start >= end`.
///
/// For a right-edge range of an RFC 6962 tree (a range starting at a multiple of a
/// power of two at least as large as its length, such as `[0, size)`), the Merkle
/// tree hash of the range is the right-to-left fold of these nodes:
/// `H(n0, H(n1, ... H(n_{k-1}, n_k)))`.
pub fn perfect_decomposition(start: u64, end: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    for_each_perfect(start, end, |id| out.push(id));
    out
}

/// Allocation-free form of [`perfect_decomposition`].
pub(crate) fn for_each_perfect(start: u64, end: u64, mut f: impl FnMut(NodeId)) {
    let mut s = start;
    while s < end {
        let remaining = end - s;
        let by_size = 63 - remaining.leading_zeros();
        let by_alignment = if s == 0 { 63 } else { s.trailing_zeros() };
        let level = by_size.min(by_alignment);
        f(NodeId {
            // level <= 63.
            level: level as u8,
            index: s >> level,
        });
        // s + 2^level <= end, so this cannot overflow.
        s += 1u64 << level;
    }
}

/// Fold the perfect-node hashes of a right-edge range, right to left, into its
/// Merkle tree hash. `None` for an empty slice.
pub(crate) fn fold_right(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)))
}

/// The right edge of a tree: the roots of the perfect subtrees that decompose
/// `[0, size)`, left (largest) to right (smallest). One per set bit of `size`.
///
/// This is all the state an appender needs: pushing a leaf merges equal-sized
/// subtrees at the right edge (like incrementing a binary counter) and reports the
/// perfect nodes completed on the way, which the caller stores.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Frontier::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtree hashes of the frontier, left to right, in the order of
    /// [`Frontier::node_ids`]`(self.size())`.
    pub fn hashes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Merkle tree hash of the whole tree (RFC 9162 section 2.1.1); the empty root
    /// when the tree is empty.
    pub fn root(&self) -> Hash {
        fold_right(&self.nodes).unwrap_or_else(empty_root)
    }

    /// Append a leaf hash. Every perfect node of level >= 1 that this leaf
    /// completes is pushed onto `out`, lowest level first. The caller stores the
    /// leaf itself as `NodeId { level: 0, index: old size }`.
    ///
    /// # Panics
    ///
    /// If the tree already holds `u64::MAX` leaves (not reachable in practice).
    pub fn push(&mut self, leaf: Hash, out: &mut Vec<(NodeId, Hash)>) {
        let index = self.size;
        assert!(index < u64::MAX, "Merkle tree size would overflow u64");
        let mut node = leaf;
        let mut level = 0u8;
        // Each set low bit of the old size is a perfect subtree at the right edge
        // that merges with the new one.
        while (index >> level) & 1 == 1 {
            let left = self
                .nodes
                .pop()
                .expect("frontier holds one node per set bit of its size");
            node = node_hash(&left, &node);
            level += 1;
            out.push((
                NodeId {
                    level,
                    index: index >> level,
                },
                node,
            ));
        }
        self.nodes.push(node);
        self.size = index + 1;
    }

    /// The node ids a store must load to restore the frontier at `size`: the
    /// perfect decomposition of `[0, size)`, left to right.
    pub fn node_ids(size: u64) -> Vec<NodeId> {
        perfect_decomposition(0, size)
    }

    /// Restore from the hashes of [`Frontier::node_ids`]`(size)`, in that order.
    pub fn from_nodes(size: u64, hashes: &[Hash]) -> Result<Self, LedgerError> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(LedgerError::FrontierNodeCount {
                size,
                expected,
                got: hashes.len(),
            });
        }
        Ok(Frontier {
            size,
            nodes: hashes.to_vec(),
        })
    }
}

/// Merkle tree hash of a whole list of leaf hashes, without allocating.
///
/// Equivalent to pushing every leaf into a [`Frontier`] and taking its root; meant
/// for verifying a complete log against a checkpoint.
pub fn root_of(leaf_hashes: &[Hash]) -> Hash {
    // One slot per possible set bit of the size.
    let mut stack = [Hash([0u8; 32]); 64];
    let mut depth = 0usize;
    for (i, leaf) in leaf_hashes.iter().enumerate() {
        let mut node = *leaf;
        let mut i = i as u64;
        while i & 1 == 1 {
            depth -= 1;
            node = node_hash(&stack[depth], &node);
            i >>= 1;
        }
        stack[depth] = node;
        depth += 1;
    }
    fold_right(&stack[..depth]).unwrap_or_else(empty_root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn decomposition_examples() {
        let ids = |s, e| {
            perfect_decomposition(s, e)
                .into_iter()
                .map(|n| (n.level, n.index))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(0, 0), vec![]);
        assert_eq!(ids(5, 5), vec![]);
        assert_eq!(ids(7, 3), vec![]);
        assert_eq!(ids(0, 1), vec![(0, 0)]);
        assert_eq!(ids(0, 8), vec![(3, 0)]);
        assert_eq!(ids(0, 13), vec![(3, 0), (2, 2), (0, 12)]);
        assert_eq!(ids(4, 7), vec![(1, 2), (0, 6)]);
        assert_eq!(ids(3, 9), vec![(0, 3), (2, 1), (0, 8)]);
        assert_eq!(ids(0, u64::MAX).len(), 64);
        assert_eq!(
            perfect_decomposition(u64::MAX - 1, u64::MAX),
            vec![NodeId::leaf(u64::MAX - 1)]
        );
    }

    #[test]
    fn decomposition_covers_range_exactly() {
        for s in 0..70u64 {
            for e in s..140u64 {
                let mut next = s;
                for id in perfect_decomposition(s, e) {
                    assert_eq!(id.start(), next, "gap or overlap in [{s}, {e})");
                    next = id.end();
                }
                assert_eq!(next, e);
            }
        }
    }

    #[test]
    fn node_id_helpers() {
        let n = NodeId { level: 2, index: 3 };
        assert_eq!((n.start(), n.end()), (12, 16));
        assert_eq!(
            n.children(),
            Some((NodeId { level: 1, index: 6 }, NodeId { level: 1, index: 7 }))
        );
        assert_eq!(n.parent(), Some(NodeId { level: 3, index: 1 }));
        assert_eq!(NodeId::leaf(4).children(), None);
        assert_eq!(
            NodeId {
                level: 63,
                index: 0
            }
            .parent(),
            None
        );
        let huge = NodeId {
            level: 200,
            index: 7,
        };
        assert_eq!(huge.start(), u64::MAX);
        assert_eq!(huge.end(), u64::MAX);
        assert_eq!(n.to_string(), "level 2 index 3 (leaves 12..16)");
    }

    #[test]
    fn push_reports_completed_nodes() {
        let mut f = Frontier::new();
        let mut out = Vec::new();
        for i in 0..4u64 {
            out.clear();
            f.push(leaf_hash(&i.to_be_bytes()), &mut out);
            let ids: Vec<_> = out.iter().map(|(id, _)| (id.level, id.index)).collect();
            match i {
                0 | 2 => assert_eq!(ids, vec![]),
                1 => assert_eq!(ids, vec![(1, 0)]),
                3 => assert_eq!(ids, vec![(1, 1), (2, 0)]),
                _ => unreachable!(),
            }
        }
        assert_eq!(f.size(), 4);
        assert_eq!(f.hashes().len(), 1);
        assert_eq!(f.root(), out[1].1);
    }

    #[test]
    fn from_nodes_checks_count() {
        assert_eq!(Frontier::from_nodes(0, &[]).unwrap(), Frontier::new());
        let h = leaf_hash(b"x");
        let err = Frontier::from_nodes(3, &[h]).unwrap_err();
        assert_eq!(
            err,
            LedgerError::FrontierNodeCount {
                size: 3,
                expected: 2,
                got: 1
            }
        );
        assert!(err.to_string().contains("Frontier::node_ids(3)"));
        assert!(Frontier::from_nodes(0, &[h]).is_err());
    }

    #[test]
    fn empty_tree() {
        assert_eq!(Frontier::new().root(), empty_root());
        assert_eq!(root_of(&[]), empty_root());
        assert!(Frontier::node_ids(0).is_empty());
    }
}
