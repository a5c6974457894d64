//! The oversight export: records as a BagIt bag (RFC 8493, version 1.0)
//! that proves what it holds and that nothing in its scope was left out;
//! and its verification, a pure function of the bag's files.
//!
//! The layout (every path relative to the bag; `N` a ledger position):
//!
//! ```text
//! bagit.txt  bag-info.txt            BagIt's declaration and metadata
//! manifest-sha256.txt  manifest-sha512.txt        every payload file
//! tagmanifest-sha256.txt  tagmanifest-sha512.txt  the tag files above
//! tagmanifest-sha256.txt.sig   the tag manifest as a signed note, signed
//!                              with the deployment's checkpoint key
//! data/checkpoint.txt    the signed checkpoint of the ledger at export
//! data/verifier-key.txt  the key that checks it (pass your own copy to
//!                        the verifier: a bag's own key proves nothing)
//! data/scope.json        the query, the range 0..size scanned, the
//!                        streams the query resolved to, and where the
//!                        resolution was recorded in the ledger
//! data/ledger-leaves.txt one line per position of the range: its leaf
//!                        hash, and for a version-2 leaf the whole leaf
//!                        (header and commitment, no content)
//! data/records/N.json    an exported record (or tombstone, or the
//!                        export's own event): leaf, content, proof
//! data/records/N.txt     the same record as readable text
//! data/disposed/N.json   a disposed leaf of the scope, its proof, and
//!                        the tombstone naming it
//! data/withheld.json     the records withheld in full, with codes
//! ```
//!
//! [`write`] builds a bag from what the service gathered; the tag
//! manifest is signed by the caller (the key lives in the store), and
//! [`Unsigned::seal`] adds the signature. [`verify`] checks a bag's
//! files and reports every problem it finds, naming the file and, where
//! there is one, the ledger position. It never panics on any input.

mod render;
mod verify;
mod wire;
mod write;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use render::render_text;
pub use verify::{Problem, Verified, verify};
pub use wire::{
    DisposedFile, ExportScope, Range, RecordFile, RecordRole, RedactionMark, WithheldEntry,
    WithheldList,
};
pub use write::{BagInfo, ExportInput, Unsigned, write};

/// A bag's files by path (`/` separators, relative to the bag's root).
pub type Files = BTreeMap<String, Vec<u8>>;

/// The BagIt declaration this module writes and accepts.
pub const BAGIT_TXT: &str = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
pub const CHECKPOINT: &str = "data/checkpoint.txt";
pub const VERIFIER_KEY: &str = "data/verifier-key.txt";
pub const SCOPE: &str = "data/scope.json";
pub const LEAVES: &str = "data/ledger-leaves.txt";
pub const WITHHELD: &str = "data/withheld.json";
pub const SIGNATURE: &str = "tagmanifest-sha256.txt.sig";
/// The manifest algorithms, each with a payload and a tag manifest.
pub const ALGORITHMS: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

/// A manifest's checksum algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    pub fn manifest(self) -> String {
        format!("manifest-{}.txt", self.name())
    }

    pub fn tag_manifest(self) -> String {
        format!("tagmanifest-{}.txt", self.name())
    }

    /// Lower-case hex digest of `bytes`.
    pub fn digest(self, bytes: &[u8]) -> String {
        use sha2::Digest;
        match self {
            Algorithm::Sha256 => hex(&sha2::Sha256::digest(bytes)),
            Algorithm::Sha512 => hex(&sha2::Sha512::digest(bytes)),
        }
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Bytes from lower- or upper-case hex, or `None`.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let val = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(val(p[0])? << 4 | val(p[1])?))
        .collect()
}

/// The path of an exported record's JSON file.
pub fn record_path(position: u64) -> String {
    format!("data/records/{position}.json")
}

/// The path of an exported record's readable text.
pub fn record_text_path(position: u64) -> String {
    format!("data/records/{position}.txt")
}

/// The path of a disposed leaf's file.
pub fn disposed_path(position: u64) -> String {
    format!("data/disposed/{position}.json")
}

/// A manifest's text: one line per file, `<digest>  <path>`, in path order.
pub fn manifest_text<'a>(
    alg: Algorithm,
    files: impl IntoIterator<Item = (&'a String, &'a Vec<u8>)>,
) -> String {
    let mut out = String::new();
    for (path, bytes) in files {
        out.push_str(&alg.digest(bytes));
        out.push_str("  ");
        out.push_str(path);
        out.push('\n');
    }
    out
}

/// The payload files of a bag (under `data/`).
pub fn payload(files: &Files) -> impl Iterator<Item = (&String, &Vec<u8>)> {
    files.iter().filter(|(p, _)| p.starts_with("data/"))
}

/// `Payload-Oxum`: the payload's total bytes and file count.
pub fn payload_oxum(files: &Files) -> String {
    let (bytes, count) = payload(files).fold((0u64, 0u64), |(b, n), (_, f)| {
        (b.saturating_add(f.len() as u64), n + 1)
    });
    format!("{bytes}.{count}")
}
