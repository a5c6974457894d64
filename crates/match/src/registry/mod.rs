//! Registries (watch lists, protectee directories) and their parsers.
//!
//! A [`Registry`] is a plain value: a name and a list of [`Entry`]s, with a
//! [`Registry::content_hash`] so that the storage layer can record which
//! version a screening ran against. Parsers are pure: they read from any
//! [`std::io::BufRead`] handed in by the caller, report progress through a
//! callback and fail with a [`ParseError`] naming the source, the line and
//! the record.
//!
//! * [`parse_ofac`] — OFAC SDN legacy CSV (`sdn.csv` + optional `alt.csv`).
//! * [`parse_un_xml`] — UN Security Council consolidated list XML.
//! * [`parse_directory_csv`] / [`parse_directory_jsonl`] — the simple
//!   protectee/directory format (`id,name,aliases,kind,country`).

mod directory;
mod ofac;
mod un;

use std::fmt;
use std::io::{self, BufRead, Read};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use directory::{parse_directory_csv, parse_directory_jsonl};
pub use ofac::{parse_ofac, parse_ofac_sdn};
pub use un::parse_un_xml;

/// What an entry designates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A natural person.
    Person,
    /// An organisation, company or group.
    Entity,
    /// A ship (OFAC).
    Vessel,
    /// An aircraft (OFAC).
    Aircraft,
}

impl EntryKind {
    /// Parse the spellings used by directories and lists.
    #[must_use]
    pub fn parse(s: &str) -> Option<EntryKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "person" | "individual" | "people" | "natural person" => Some(EntryKind::Person),
            "entity" | "organisation" | "organization" | "org" | "company" | "group"
            | "legal entity" => Some(EntryKind::Entity),
            "vessel" | "ship" => Some(EntryKind::Vessel),
            "aircraft" => Some(EntryKind::Aircraft),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            EntryKind::Person => "person",
            EntryKind::Entity => "entity",
            EntryKind::Vessel => "vessel",
            EntryKind::Aircraft => "aircraft",
        }
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much a list trusts an alias.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AliasQuality {
    /// A normal alias (OFAC aka/fka/nka, UN "Good", "a.k.a.", "f.k.a.").
    Strong,
    /// A low-quality alias (UN "Low"): a hit on it alone deserves less trust.
    Weak,
}

/// An alternative name of an entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Alias {
    /// The alias as listed.
    pub name: String,
    /// Its quality.
    pub quality: AliasQuality,
}

/// One listed person or organisation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry {
    /// Stable identifier, prefixed by the source (`ofac:36`, `un:6907993`).
    pub id: String,
    /// The list it comes from (`OFAC SDN`, `UN`, a directory name).
    pub list: String,
    /// Person, entity, vessel or aircraft.
    pub kind: EntryKind,
    /// Primary name as listed.
    pub name: String,
    /// Alternative names.
    pub aliases: Vec<Alias>,
    /// Names in their original script (e.g. Arabic, Cyrillic).
    pub original_script: Vec<String>,
    /// Country (nationality or seat), when the list gives one.
    pub country: Option<String>,
    /// Sanctions programme or list type (OFAC program, UN list type).
    pub program: Option<String>,
}

impl Entry {
    /// All names of the entry: primary, aliases, original-script names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str())
            .chain(self.aliases.iter().map(|a| a.name.as_str()))
            .chain(self.original_script.iter().map(String::as_str))
    }
}

/// A parsed registry: a plain value with a content hash.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    /// Registry name (`OFAC SDN`, `UN Consolidated`, a directory name).
    pub name: String,
    /// Entries in source order.
    pub entries: Vec<Entry>,
}

/// SHA-256 of a registry's canonical encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContentHash(pub [u8; 32]);

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({self})")
    }
}

impl Registry {
    /// A new, empty registry.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Registry {
            name: name.into(),
            entries: Vec::new(),
        }
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of names (primary + aliases + original script) over all entries.
    #[must_use]
    pub fn name_count(&self) -> usize {
        self.entries.iter().map(|e| e.names().count()).sum()
    }

    /// Append the entries of another registry (e.g. OFAC + UN).
    pub fn extend(&mut self, other: Registry) {
        self.entries.extend(other.entries);
    }

    /// SHA-256 over a canonical, length-prefixed encoding of the name and
    /// all entries in order. Equal registries have equal hashes; any change
    /// of a field, an alias or the order changes it.
    #[must_use]
    pub fn content_hash(&self) -> ContentHash {
        let mut h = Sha256::new();
        let put = |h: &mut Sha256, s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        put(&mut h, "tocsin-registry-v1");
        put(&mut h, &self.name);
        h.update((self.entries.len() as u64).to_le_bytes());
        for e in &self.entries {
            put(&mut h, &e.id);
            put(&mut h, &e.list);
            put(&mut h, e.kind.as_str());
            put(&mut h, &e.name);
            h.update((e.aliases.len() as u64).to_le_bytes());
            for a in &e.aliases {
                put(&mut h, &a.name);
                put(
                    &mut h,
                    if a.quality == AliasQuality::Strong {
                        "strong"
                    } else {
                        "weak"
                    },
                );
            }
            h.update((e.original_script.len() as u64).to_le_bytes());
            for o in &e.original_script {
                put(&mut h, o);
            }
            put(&mut h, e.country.as_deref().unwrap_or("\u{0}"));
            put(&mut h, e.program.as_deref().unwrap_or("\u{0}"));
        }
        ContentHash(h.finalize().into())
    }
}

/// Parsing progress, reported through the callback every few hundred
/// records and once at the end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Records (entries or alias rows) processed so far.
    pub records: u64,
    /// Bytes of input consumed so far.
    pub bytes: u64,
}

/// A registry file could not be parsed. The message names the source, the
/// line (1-based) and, when known, the record identifier.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum ParseError {
    /// A record is malformed.
    #[error("{source_name}, line {line}{}: {reason}", record_suffix(record.as_deref()))]
    Record {
        /// Which input (e.g. `OFAC sdn.csv`).
        source_name: &'static str,
        /// 1-based line where the record starts.
        line: u64,
        /// Record identifier, when one could be read.
        record: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// The input could not be read.
    #[error("{source_name}, line {line}: read error: {message}")]
    Io {
        /// Which input.
        source_name: &'static str,
        /// 1-based line reached.
        line: u64,
        /// The I/O error.
        message: String,
    },
}

fn record_suffix(r: Option<&str>) -> String {
    r.map(|r| format!(" (record {r})")).unwrap_or_default()
}

/// Decode bytes as UTF-8, falling back to Latin-1 (older OFAC files).
pub(crate) fn decode_text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => b.iter().map(|&c| char::from(c)).collect(),
    }
}

/// A reader that remembers where newlines were, so that a record's byte
/// offset (as reported by the `csv` crate) can be turned into a line
/// number. Offsets before the current record are dropped as records
/// advance, so memory stays bounded by the reader's read-ahead.
pub(crate) struct LineTracker<R> {
    inner: R,
    read: u64,
    pending: std::collections::VecDeque<u64>,
    lines_before: u64,
}

impl<R> LineTracker<R> {
    pub(crate) fn new(inner: R) -> Self {
        LineTracker {
            inner,
            read: 0,
            pending: std::collections::VecDeque::new(),
            lines_before: 0,
        }
    }

    /// 1-based line of the byte at `offset` (offsets must not decrease
    /// between calls).
    pub(crate) fn line_at(&mut self, offset: u64) -> u64 {
        // With CRLF endings the csv crate reports a record as starting at the
        // LF of the previous line, hence `<=`.
        while self.pending.front().is_some_and(|&nl| nl <= offset) {
            self.pending.pop_front();
            self.lines_before += 1;
        }
        self.lines_before + 1
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' {
                self.pending.push_back(self.read + i as u64);
            }
        }
        self.read += n as u64;
        Ok(n)
    }
}

/// A reader that counts consumed bytes and newlines (for progress and for
/// line numbers in XML errors).
pub(crate) struct CountingReader<R> {
    inner: R,
    pub(crate) bytes: u64,
    pub(crate) newlines: u64,
}

impl<R> CountingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        CountingReader {
            inner,
            bytes: 0,
            newlines: 0,
        }
    }
}

impl<R: BufRead> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        self.newlines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for CountingReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        // fill_buf after fill_buf returns the same, already buffered bytes.
        if let Ok(buf) = self.inner.fill_buf() {
            let amt2 = amt.min(buf.len());
            self.newlines += buf[..amt2].iter().filter(|&&b| b == b'\n').count() as u64;
        }
        self.bytes += amt as u64;
        self.inner.consume(amt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> Entry {
        Entry {
            id: id.into(),
            list: "L".into(),
            kind: EntryKind::Person,
            name: "A B".into(),
            aliases: vec![Alias {
                name: "C".into(),
                quality: AliasQuality::Strong,
            }],
            original_script: vec![],
            country: None,
            program: None,
        }
    }

    #[test]
    fn content_hash_is_stable_and_sensitive() {
        let mut r = Registry::new("test");
        r.entries.push(entry("1"));
        r.entries.push(entry("2"));
        let h1 = r.content_hash();
        assert_eq!(h1, r.clone().content_hash());
        assert_eq!(h1.to_string().len(), 64);
        let mut r2 = r.clone();
        r2.entries[1].aliases[0].quality = AliasQuality::Weak;
        assert_ne!(h1, r2.content_hash());
        let mut r3 = r.clone();
        r3.entries.swap(0, 1);
        assert_ne!(h1, r3.content_hash());
        // Field boundaries matter: "A B"+"C" differs from "A"+"B C".
        let mut r4 = r.clone();
        r4.entries[0].name = "A".into();
        r4.entries[0].aliases[0].name = "B C".into();
        assert_ne!(h1, r4.content_hash());
    }

    #[test]
    fn parses_the_real_ofac_and_un_files() {
        use crate::test_support::open;
        let mut last = Progress::default();
        let mut calls = 0;
        let ofac = parse_ofac(
            open("registry/ofac_sdn.csv"),
            Some(open("registry/ofac_alt.csv")),
            |p| {
                last = p;
                calls += 1;
            },
        )
        .expect("OFAC parses");
        assert_eq!(ofac.len(), 8976);
        assert_eq!(
            ofac.entries.iter().map(|e| e.aliases.len()).sum::<usize>(),
            11910
        );
        assert!(calls > 10, "progress reported as parsing goes");
        let size = |rel: &str| {
            std::fs::metadata(crate::test_support::shared_data().join(rel))
                .map(|m| m.len())
                .unwrap_or(0)
        };
        assert_eq!(
            last.bytes,
            size("registry/ofac_sdn.csv") + size("registry/ofac_alt.csv")
        );
        assert_eq!(last.records, 8976 + 11910);
        let e = &ofac.entries[0];
        assert_eq!(
            (e.id.as_str(), e.name.as_str(), e.kind),
            ("ofac:36", "AEROCARIBBEAN AIRLINES", EntryKind::Entity)
        );
        assert_eq!(e.aliases[0].name, "AERO-CARIBBEAN");
        let persons = ofac
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Person)
            .count();
        assert_eq!(persons, 4620);

        let un = parse_un_xml(open("registry/un_consolidated.xml"), |_| {}).expect("UN parses");
        assert_eq!(un.len(), 1003);
        assert_eq!(
            un.entries
                .iter()
                .filter(|e| e.kind == EntryKind::Person)
                .count(),
            730
        );
        let with_orig = un
            .entries
            .iter()
            .filter(|e| !e.original_script.is_empty())
            .count();
        assert!(with_orig >= 378, "{with_orig}");
        let saddam = un
            .entries
            .iter()
            .find(|e| e.name == "SADDAM HUSSEIN AL-TIKRITI")
            .expect("listed");
        assert_eq!(saddam.original_script[0], "صدام حسين التكريتي");

        // Hashes: deterministic, and different registries differ.
        let again = parse_un_xml(open("registry/un_consolidated.xml"), |_| {}).expect("UN parses");
        assert_eq!(un.content_hash(), again.content_hash());
        assert_ne!(un.content_hash(), ofac.content_hash());
    }

    #[test]
    fn truncated_real_un_file_reports_a_line() {
        let path = crate::test_support::shared_data().join("registry/un_consolidated.xml");
        let text = std::fs::read_to_string(path).expect("readable");
        // Cut at a line end 60% into the file (inside some record).
        let cut = text[..text.len() * 3 / 5].rfind('\n').map_or(0, |i| i + 1);
        let err =
            parse_un_xml(&text.as_bytes()[..cut], |_| {}).expect_err("truncated input must fail");
        let ParseError::Record { line, .. } = &err else {
            panic!("unexpected error {err}")
        };
        let expected_line = text[..cut].matches('\n').count() as u64;
        assert!(
            line.abs_diff(expected_line) <= 1,
            "{err} (expected about line {expected_line})"
        );
        assert!(err.to_string().contains("unexpected end of file"), "{err}");
    }

    #[test]
    fn kinds_parse() {
        assert_eq!(EntryKind::parse("Individual"), Some(EntryKind::Person));
        assert_eq!(EntryKind::parse(" organisation "), Some(EntryKind::Entity));
        assert_eq!(EntryKind::parse("robot"), None);
    }

    #[test]
    fn counting_reader_counts_lines() {
        let mut r = CountingReader::new(&b"a\nb\nc"[..]);
        let mut s = String::new();
        r.read_to_string(&mut s).expect("read");
        assert_eq!((r.bytes, r.newlines), (5, 2));
    }
}
