//! SHA-256 hashes and the RFC 6962 / RFC 9162 hashing rules.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

use crate::error::LedgerError;

/// A SHA-256 output: a leaf hash, an interior node hash or a tree root.
///
/// `Debug` and `Display` print 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Length of a hash in bytes.
    pub const LEN: usize = 32;

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Build from a byte slice that must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, LedgerError> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| LedgerError::HashLength { got: bytes.len() })?;
        Ok(Hash(arr))
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// Parse 64 hex digits (either case).
    pub fn from_hex(s: &str) -> Result<Self, LedgerError> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(LedgerError::InvalidHex {
                reason: format!(
                    "expected 64 hex digits, got {} characters",
                    s.chars().count()
                ),
            });
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = hex_digit(pair[0]);
            let lo = hex_digit(pair[1]);
            match (hi, lo) {
                (Some(hi), Some(lo)) => out[i] = (hi << 4) | lo,
                _ => {
                    return Err(LedgerError::InvalidHex {
                        reason: format!("non-hex character near position {}", 2 * i),
                    });
                }
            }
        }
        Ok(Hash(out))
    }

    /// Standard base64 (RFC 4648 section 4) with padding: 44 characters.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Parse standard, padded, canonical base64 that decodes to exactly 32 bytes.
    pub fn from_base64(s: &str) -> Result<Self, LedgerError> {
        let bytes = BASE64.decode(s).map_err(|e| LedgerError::InvalidBase64 {
            reason: e.to_string(),
        })?;
        Self::from_slice(&bytes)
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 64];
        for (i, b) in self.0.iter().enumerate() {
            buf[2 * i] = DIGITS[usize::from(b >> 4)];
            buf[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
        }
        // Only ASCII hex digits were written.
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for Hash {
    type Err = LedgerError;
    /// Parses hex (the `Display` form).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hash::from_hex(s)
    }
}

impl From<[u8; 32]> for Hash {
    fn from(b: [u8; 32]) -> Self {
        Hash(b)
    }
}

impl From<Hash> for [u8; 32] {
    fn from(h: Hash) -> Self {
        h.0
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Domain-separation prefix of a leaf hash.
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash.
pub const NODE_PREFIX: u8 = 0x01;

/// `SHA-256(0x00 || leaf)`: the hash of one leaf (RFC 9162 section 2.1.1).
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(leaf);
    Hash(h.finalize().into())
}

/// SHA-256 initial state (FIPS 180-4 section 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
///
/// The 65-byte message always pads to exactly two SHA-256 blocks, so the blocks are
/// laid out by hand and fed to the compression function directly (hardware SHA
/// extensions are used when the CPU has them). This skips the generic streaming
/// buffer, which matters because a log performs about one node hash per leaf.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut blocks = [[0u8; 64]; 2];
    blocks[0][0] = NODE_PREFIX;
    blocks[0][1..33].copy_from_slice(&left.0);
    blocks[0][33..64].copy_from_slice(&right.0[..31]);
    blocks[1][0] = right.0[31];
    blocks[1][1] = 0x80;
    // Message length in bits (65 * 8 = 520), big-endian, in the last 8 bytes.
    blocks[1][56..64].copy_from_slice(&(65u64 * 8).to_be_bytes());
    let mut state = SHA256_IV;
    sha2::block_api::compress256(&mut state, &blocks);
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    Hash(out)
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_node_hash(l: &Hash, r: &Hash) -> Hash {
        let mut h = Sha256::new();
        h.update([NODE_PREFIX]);
        h.update(l.0);
        h.update(r.0);
        Hash(h.finalize().into())
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn leaf_hash_of_empty_leaf() {
        // RFC 6962 reference tree, leaf 0 (the empty string).
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn node_hash_matches_streaming_sha256() {
        let mut l = Hash([0u8; 32]);
        let mut r = Hash([0xffu8; 32]);
        for i in 0..200u8 {
            l.0[usize::from(i % 32)] ^= i.wrapping_mul(31);
            r.0[usize::from(i.wrapping_mul(7) % 32)] ^= i.wrapping_add(5);
            assert_eq!(node_hash(&l, &r), reference_node_hash(&l, &r));
            assert_eq!(node_hash(&r, &l), reference_node_hash(&r, &l));
        }
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let h = leaf_hash(b"abc");
        assert_eq!(Hash::from_hex(&h.to_hex()).unwrap(), h);
        assert_eq!(Hash::from_hex(&h.to_hex().to_uppercase()).unwrap(), h);
        assert_eq!(format!("{h:?}"), h.to_hex());
        assert_eq!(h.to_string().len(), 64);
        assert!(Hash::from_hex("00").is_err());
        assert!(Hash::from_hex(&"g".repeat(64)).is_err());
        // Multi-byte characters must not cause a panic on slicing.
        assert!(Hash::from_hex(&"é".repeat(32)).is_err());
    }

    #[test]
    fn base64_round_trip_and_errors() {
        let h = leaf_hash(b"abc");
        let s = h.to_base64();
        assert_eq!(s.len(), 44);
        assert_eq!(Hash::from_base64(&s).unwrap(), h);
        // Wrong length.
        assert!(matches!(
            Hash::from_base64("V3JvbmdSb290"),
            Err(LedgerError::HashLength { got: 9 })
        ));
        // Missing padding, URL-safe alphabet and garbage are rejected.
        assert!(Hash::from_base64(s.trim_end_matches('=')).is_err());
        assert!(Hash::from_base64(&format!("{}_-=", "A".repeat(41))).is_err());
        // Non-canonical trailing bits are rejected (so each hash has one encoding).
        assert!(Hash::from_base64(&format!("{}B=", "A".repeat(42))).is_err());
        assert!(Hash::from_base64("not base64!").is_err());
        assert!(Hash::from_base64("").is_err());
    }
}
