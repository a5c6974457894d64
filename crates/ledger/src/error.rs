//! Error types.

use thiserror::Error;

use crate::hash::Hash;
use crate::tree::NodeId;

/// Errors from hash parsing and frontier restoration.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// A hash was not 32 bytes long.
    #[error("a SHA-256 hash is 32 bytes, but {got} bytes were given")]
    HashLength {
        /// The length that was given.
        got: usize,
    },
    /// A hash in hex form could not be parsed.
    #[error("invalid hex hash: {reason}")]
    InvalidHex {
        /// What was wrong.
        reason: String,
    },
    /// A hash in base64 form could not be parsed.
    #[error("invalid base64 hash (expected standard padded base64 of 32 bytes): {reason}")]
    InvalidBase64 {
        /// What was wrong.
        reason: String,
    },
    /// `Frontier::from_nodes` got the wrong number of hashes.
    #[error(
        "restoring the frontier of a tree of {size} leaves needs {expected} node hashes \
         (the nodes listed by Frontier::node_ids({size}), in that order), but {got} were given"
    )]
    FrontierNodeCount {
        /// The tree size being restored.
        size: u64,
        /// Hashes required.
        expected: usize,
        /// Hashes given.
        got: usize,
    },
}

/// Errors from proof generation and proof verification.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error(
        "leaf index {index} is out of range for a tree of {size} leaves (valid indexes are 0..{size})"
    )]
    IndexOutOfRange {
        /// The requested leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof was requested or checked from a larger tree to a smaller one.
    #[error("consistency requires size1 <= size2, but size1 = {size1} and size2 = {size2}")]
    Size1GreaterThanSize2 {
        /// The older tree size.
        size1: u64,
        /// The newer tree size.
        size2: u64,
    },
    /// A consistency proof from the empty tree was requested or checked.
    #[error(
        "no consistency proof exists from the empty tree (size1 = 0) to size {size2}: every tree \
         extends the empty tree, so there is nothing to prove; callers must special-case size1 = 0"
    )]
    EmptyOldTree {
        /// The newer tree size.
        size2: u64,
    },
    /// A requested tree size is larger than the tree that holds the data.
    #[error("tree size {size} was requested, but the tree only has {available} leaves")]
    SizeBeyondTree {
        /// The requested size.
        size: u64,
        /// The size that is available.
        available: u64,
    },
    /// The proof does not have the number of hashes the (index, size) or (size1, size2) pair implies.
    #[error("wrong proof length: got {got} hashes, but the given sizes require exactly {expected}")]
    WrongProofLength {
        /// Hashes in the proof.
        got: usize,
        /// Hashes required.
        expected: usize,
    },
    /// An inclusion proof recomputed a root different from the expected one.
    #[error(
        "inclusion proof does not verify: it leads to root {computed}, expected {expected} \
         (wrong leaf, index, size, proof or root)"
    )]
    RootMismatch {
        /// The trusted root.
        expected: Hash,
        /// The root recomputed from the proof.
        computed: Hash,
    },
    /// A consistency proof recomputed an old root different from the expected one.
    #[error(
        "consistency proof does not verify: it leads to old root (size1) {computed}, expected {expected}"
    )]
    OldRootMismatch {
        /// The trusted old root.
        expected: Hash,
        /// The old root recomputed from the proof.
        computed: Hash,
    },
    /// A consistency proof recomputed a new root different from the expected one.
    #[error(
        "consistency proof does not verify: it leads to new root (size2) {computed}, expected {expected}"
    )]
    NewRootMismatch {
        /// The trusted new root.
        expected: Hash,
        /// The new root recomputed from the proof.
        computed: Hash,
    },
    /// The store has no hash for a perfect node that the computation needs.
    #[error(
        "node store is missing perfect node level {} index {} (covering leaves {}..{}); the store \
         is incomplete or the requested size exceeds the stored tree",
        .0.level, .0.index, .0.start(), .0.end()
    )]
    MissingNode(NodeId),
}

/// Errors from signed notes, keys and checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NoteError {
    /// A key name breaks the signed-note rules.
    #[error(
        "invalid key name {name:?}: key names must be non-empty and contain no whitespace, '+' or control characters"
    )]
    InvalidKeyName {
        /// The offending name.
        name: String,
    },
    /// A verifier key string could not be parsed.
    #[error(
        "invalid verifier key (expected \"<name>+<8 hex key id>+<base64(0x01 || 32-byte Ed25519 public key)>\"): {reason}"
    )]
    InvalidVerifierKey {
        /// What was wrong.
        reason: String,
    },
    /// A secret key string could not be parsed.
    #[error(
        "invalid secret key (expected \"PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 || 32-byte seed)>\"): {reason}"
    )]
    InvalidSecretKey {
        /// What was wrong (never includes key material).
        reason: String,
    },
    /// The note is not a well-formed signed note.
    #[error("malformed signed note: {reason}")]
    MalformedNote {
        /// What was wrong.
        reason: String,
    },
    /// The note exceeds the size limit.
    #[error("signed note is {size} bytes, more than the {max} byte limit")]
    NoteTooLarge {
        /// The note size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// No signature line is from the expected key.
    #[error("the note has no signature from key {name} (key id {key_id:08x})")]
    MissingSignature {
        /// Expected key name.
        name: String,
        /// Expected key id.
        key_id: u32,
    },
    /// A signature line from the expected key failed to verify.
    #[error(
        "the signature by key {name} (key id {key_id:08x}) does not verify: the note was altered or signed by another key"
    )]
    InvalidSignature {
        /// Key name.
        name: String,
        /// Key id.
        key_id: u32,
    },
    /// The note text is not a well-formed checkpoint.
    #[error("malformed checkpoint: {reason}")]
    MalformedCheckpoint {
        /// What was wrong.
        reason: String,
    },
}
