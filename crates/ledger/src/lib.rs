//! The tocsin ledger: an append-only RFC 6962 / RFC 9162 Merkle tree over SHA-256,
//! its proofs, and signed checkpoints.
//!
//! This crate is pure: no file or network I/O, no clock, no randomness. Stores,
//! services and clients build on it.
//!
//! # The tree
//!
//! Leaves are opaque byte strings; the caller defines their encoding. Hashing
//! follows RFC 9162 section 2.1.1:
//!
//! * leaf hash: `SHA-256(0x00 || leaf)` ([`leaf_hash`]),
//! * interior node: `SHA-256(0x01 || left || right)` ([`node_hash`]),
//! * the tree of `n > 1` leaves splits at the largest power of two `k < n`:
//!   `MTH(D[0:n]) = node_hash(MTH(D[0:k]), MTH(D[k:n]))`,
//! * the empty tree's root is `SHA-256("")` ([`empty_root`]).
//!
//! # Storage: perfect subtrees only
//!
//! A *perfect node* ([`NodeId`] `{ level, index }`) is the root of the `2^level`
//! leaves `[index << level, (index + 1) << level)`. Perfect nodes never change once
//! their last leaf is appended, so a store can write each exactly once. Every hash
//! the protocol needs is a perfect node or a combination of a few:
//!
//! * The root at any size `n` is the right-to-left fold of the perfect
//!   decomposition of `[0, n)` (one node per set bit of `n`):
//!   [`root_at_node_ids`], [`root_at`].
//! * A proof hash is the hash of a leaf range that is either perfect or a right
//!   edge of the tree (a range ending at the tree size); the latter is again a fold
//!   of its [`perfect_decomposition`].
//!
//! An appender keeps only the [`Frontier`] (the perfect nodes along the right edge,
//! at most 64 hashes). [`Frontier::push`] adds a leaf hash and reports the perfect
//! nodes that leaf completes: the store saves the leaf hash as
//! `NodeId { level: 0, index }` plus those nodes, about two hashes per leaf in
//! total. After a restart, [`Frontier::node_ids`] names the nodes to load and
//! [`Frontier::from_nodes`] restores it.
//!
//! # Two-phase proofs
//!
//! Proof building never walks the tree. Phase one lists the perfect nodes needed
//! ([`inclusion_proof_node_ids`], [`consistency_proof_node_ids`],
//! [`root_at_node_ids`]: `O(log n)` ids, at most about two per tree level); the
//! store fetches them
//! in one query; phase two ([`inclusion_proof`], [`consistency_proof`], [`root_at`])
//! assembles the proof from a lookup closure over the fetched hashes. A missing
//! node is an error ([`ProofError::MissingNode`]), never a panic, and so is every
//! out-of-range argument.
//!
//! [`verify_inclusion`] and [`verify_consistency`] implement the verification
//! algorithms of RFC 9162 sections 2.1.3.2 and 2.1.4.2, additionally requiring the
//! proof to have exactly the length the sizes imply. [`MemoryTree`] keeps every
//! perfect node in memory (tests, benchmarks, audits) and [`root_of`] computes the
//! root of a full list of leaf hashes without allocating (verifying a whole log).
//!
//! # Checkpoints
//!
//! A [`Checkpoint`] is a tree head in the c2sp.org/tlog-checkpoint format, signed
//! as a c2sp.org/signed-note with Ed25519:
//!
//! ```text
//! <origin>
//! <tree size, decimal>
//! <base64 root hash>
//!
//! — <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>
//! ```
//!
//! The signature covers the text up to and including the newline before the blank
//! line. The key id is the first four bytes of
//! `SHA-256(key name || "\n" || 0x01 || public key)`. Keys use the text forms of
//! Go's `golang.org/x/mod/sumdb/note`: verifier keys
//! `<name>+<key id hex>+<base64(0x01 || public key)>` ([`NoteVerifier`]) and
//! secret keys `PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || seed)>`
//! ([`NoteSigner`]). The signer's seed is supplied by the caller, so this crate
//! never touches OS randomness. [`open_checkpoint`] ignores signatures from
//! other keys (for example witness cosignatures), rejects the note if a signature
//! from the expected key fails, and ignores checkpoint extension lines.
//!
//! # Example
//!
//! ```
//! use std::collections::HashMap;
//! use tocsin_ledger::*;
//!
//! // Append, storing the leaf hash and every completed perfect node.
//! let mut store = HashMap::new();
//! let mut frontier = Frontier::new();
//! let mut completed = Vec::new();
//! for leaf in [&b"alpha"[..], b"beta", b"gamma"] {
//!     let h = leaf_hash(leaf);
//!     store.insert(NodeId::leaf(frontier.size()), h);
//!     completed.clear();
//!     frontier.push(h, &mut completed);
//!     store.extend(completed.iter().copied());
//! }
//! let root = frontier.root();
//!
//! // Two-phase inclusion proof for leaf 1 ("beta").
//! let ids = inclusion_proof_node_ids(1, 3).unwrap();
//! let fetched: HashMap<NodeId, Hash> = ids.iter().map(|id| (*id, store[id])).collect();
//! let proof = inclusion_proof(1, 3, |id| fetched.get(&id).copied()).unwrap();
//! verify_inclusion(&leaf_hash(b"beta"), 1, 3, &proof, &root).unwrap();
//!
//! // Sign and open a checkpoint.
//! let signer = NoteSigner::from_seed("example.com/log", [42; 32]).unwrap();
//! let cp = Checkpoint { origin: "example.com/log".into(), size: 3, root };
//! let note = signer.sign_checkpoint(&cp);
//! assert_eq!(open_checkpoint(&note, &signer.verifier()).unwrap(), cp);
//! ```

mod error;
mod hash;
mod memory;
mod note;
mod proof;
mod tree;

#[cfg(test)]
mod conformance_tests;
#[cfg(test)]
mod property_tests;

pub use error::{LedgerError, NoteError, ProofError};
pub use hash::{Hash, LEAF_PREFIX, NODE_PREFIX, empty_root, leaf_hash, node_hash};
pub use memory::MemoryTree;
pub use note::{
    Checkpoint, MAX_NOTE_BYTES, MAX_SIGNATURES, NoteSigner, NoteVerifier, is_valid_key_name,
    open_checkpoint, open_note,
};
pub use proof::{
    consistency_proof, consistency_proof_len, consistency_proof_node_ids, inclusion_proof,
    inclusion_proof_len, inclusion_proof_node_ids, root_at, root_at_node_ids,
    root_from_inclusion_proof, verify_consistency, verify_inclusion,
};
pub use tree::{Frontier, NodeId, perfect_decomposition, root_of};
