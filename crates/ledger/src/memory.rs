//! A whole Merkle tree in memory.

use crate::error::ProofError;
use crate::hash::{Hash, node_hash};
use crate::proof;
use crate::tree::{Frontier, NodeId};

/// Every perfect node of a tree, level by level, in memory.
///
/// `levels[l][i]` is the hash of [`NodeId`] `{ level: l, index: i }`. About two
/// hashes (64 bytes) per leaf. Meant for tests, benchmarks and full verification of
/// a log; it answers [`MemoryTree::node`] like a store would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl Default for MemoryTree {
    fn default() -> Self {
        MemoryTree::new()
    }
}

impl MemoryTree {
    /// The empty tree.
    pub fn new() -> Self {
        MemoryTree {
            levels: vec![Vec::new()],
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// Append a leaf hash.
    pub fn push(&mut self, leaf_hash: Hash) {
        self.levels[0].push(leaf_hash);
        let mut level = 0;
        // A row of even length just completed a pair: hash it into the row above.
        while self.levels[level].len() & 1 == 0 {
            let row = &self.levels[level];
            let parent = node_hash(&row[row.len() - 2], &row[row.len() - 1]);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[level + 1].push(parent);
            level += 1;
        }
    }

    /// The hash of a perfect node, if the tree contains it.
    pub fn node(&self, id: NodeId) -> Option<Hash> {
        let row = self.levels.get(usize::from(id.level))?;
        row.get(usize::try_from(id.index).ok()?).copied()
    }

    /// The leaf hashes, in order.
    pub fn leaf_hashes(&self) -> &[Hash] {
        &self.levels[0]
    }

    /// Merkle tree hash of the whole tree.
    pub fn root(&self) -> Hash {
        self.root_at(self.size())
            .expect("a MemoryTree holds every perfect node below its own size")
    }

    /// Merkle tree hash of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        self.check_size(size)?;
        proof::root_at(size, |id| self.node(id))
    }

    /// Inclusion proof of leaf `index` in the tree of the first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(size)?;
        proof::inclusion_proof(index, size, |id| self.node(id))
    }

    /// Consistency proof from the first `size1` leaves to the first `size2` leaves.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(size2)?;
        proof::consistency_proof(size1, size2, |id| self.node(id))
    }

    /// The frontier of the tree at `size` (for handing over to an appender).
    pub fn frontier_at(&self, size: u64) -> Result<Frontier, ProofError> {
        self.check_size(size)?;
        let hashes = Frontier::node_ids(size)
            .into_iter()
            .map(|id| self.node(id).ok_or(ProofError::MissingNode(id)))
            .collect::<Result<Vec<_>, _>>()?;
        Frontier::from_nodes(size, &hashes).map_err(|_| ProofError::SizeBeyondTree {
            size,
            available: self.size(),
        })
    }

    fn check_size(&self, size: u64) -> Result<(), ProofError> {
        if size > self.size() {
            return Err(ProofError::SizeBeyondTree {
                size,
                available: self.size(),
            });
        }
        Ok(())
    }
}

impl Extend<Hash> for MemoryTree {
    fn extend<I: IntoIterator<Item = Hash>>(&mut self, iter: I) {
        for h in iter {
            self.push(h);
        }
    }
}

impl FromIterator<Hash> for MemoryTree {
    fn from_iter<I: IntoIterator<Item = Hash>>(iter: I) -> Self {
        let mut t = MemoryTree::new();
        t.extend(iter);
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{empty_root, leaf_hash};

    #[test]
    fn levels_are_consistent() {
        let t: MemoryTree = (0..13u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        assert_eq!(t.size(), 13);
        assert_eq!(t.levels.len(), 4);
        assert_eq!(t.levels[1].len(), 6);
        assert_eq!(t.levels[3].len(), 1);
        let n = NodeId { level: 2, index: 1 };
        let (l, r) = n.children().unwrap();
        assert_eq!(
            t.node(n).unwrap(),
            node_hash(&t.node(l).unwrap(), &t.node(r).unwrap())
        );
        assert_eq!(t.node(NodeId { level: 3, index: 1 }), None);
        assert_eq!(t.node(NodeId { level: 9, index: 0 }), None);
        assert_eq!(t.node(NodeId::leaf(u64::MAX)), None);
    }

    #[test]
    fn sizes_beyond_tree_are_errors() {
        let t: MemoryTree = (0..3u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        assert_eq!(MemoryTree::new().root(), empty_root());
        assert_eq!(
            t.root_at(4),
            Err(ProofError::SizeBeyondTree {
                size: 4,
                available: 3
            })
        );
        assert!(t.inclusion_proof(0, 4).is_err());
        assert!(t.consistency_proof(1, 4).is_err());
        assert!(t.frontier_at(4).is_err());
        assert_eq!(t.frontier_at(3).unwrap().root(), t.root());
    }
}
