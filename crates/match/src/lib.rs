//! Name matching for tocsin: normalise names, score two names with an
//! explanation, and screen a name against large registries (protectee
//! directories, OFAC SDN, the UN consolidated list) through an index.
//!
//! When an organisation learns of a credible threat it must identify the
//! potential victim and the threat actor: their names have to be resolved
//! against the protectee directory and screened against sanctions and watch
//! lists, across spellings, typos, word orders and scripts. This crate is
//! **pure**: no file or network IO (parsers take readers, the caller opens
//! files), no `unsafe`, no global state besides immutable lookup tables.
//!
//! # Design
//!
//! **1. Normalisation** ([`normalise()`], [`normalise::NormalisedName`]).
//! NFKC, Unicode lowercasing, word splitting that keeps the information
//! punctuation carries (initials, `Last, First`, `as-Sisi`), transliteration
//! to ASCII per script run ([`translit`]: hand-written rules for Arabic,
//! Persian/Urdu, Hebrew and Cyrillic with language variants; the
//! `any_ascii` tables for Greek, CJK and the rest), diacritics removal, and
//! token classification: particles (`al`, `bin`/`ibn`/`ben`, `abu`,
//! `abdul` → `abd al`, `van`, `de`, `von`…), titles and honorifics,
//! company legal forms with their family (`Gesellschaft mit beschränkter
//! Haftung` → `gmbh`; `JSC`/`OAO` equivalent, `AG` vs `GmbH` conflicting),
//! numbers (`forty-four` → `44`), initials. Nothing is silently deleted:
//! every token keeps a [`TokenKind`] that the scorer weighs. Every token
//! also gets a phonetic skeleton ([`phonetic`]): consonant classes that
//! merge romanisation variants (`Qasem`, `Ghasem`, `قاسم` → `KSM`).
//!
//! **2. Scoring** ([`score()`], [`score::Score`], [`score::Explanation`]).
//! Token-set alignment (order-free), token similarity from an OSA
//! (Damerau–Levenshtein, bit-parallel) similarity and skeleton equality,
//! with abjad-aware rules (vowel-less Arabic spellings must fit the Latin
//! one's written long vowels), merges of adjacent parts (`JanDaniel`,
//! `Abdulaziz`), initials and acronyms, nicknames. Aggregation separates
//! *substitutions* (a part unmatched on both sides: different person) from
//! *additions* (a middle name, a title, a legal form on one side only), and
//! applies contradiction penalties (swapped patronymics, conflicting legal
//! forms, nothing but initials matching). One fixed threshold,
//! [`DEFAULT_THRESHOLD`], chosen for a stated false-alert rate (0.2 %) on
//! the train split of the evaluation set in bench/names; [`calibration`]
//! reads a score as a probability of a match. A pair takes a few
//! microseconds.
//!
//! **3. Index** ([`Index`]). Names are interned as sequences of `u32`
//! token ids; per token a sorted, delta + varint encoded posting list of
//! names. Fuzzy lookup happens at the vocabulary level (exact text,
//! skeleton groups, single-deletion neighbourhood, splits and merges), so
//! no query scans the registry. Query tokens are ordered by posting volume;
//! the rarest are traversed, very common ones only within a budget
//! (IDF-like pruning); the best few hundred names are re-ranked with the
//! full scorer and the top-k entries returned with explanations. At a
//! million names a query takes well under a millisecond at the median and
//! the index holds under 100 MB.
//!
//! **4. Registries** ([`registry`]). Parsers for the OFAC SDN legacy CSV
//! (with `alt.csv`), the UN consolidated XML and a simple directory format
//! (CSV / JSON lines), streaming from any [`std::io::BufRead`], reporting
//! progress through a callback and failing with a [`ParseError`] that names
//! the source, the line and the record. A [`Registry`] is a plain value with
//! a [`Registry::content_hash`] so the storage layer can record versions.
//!
//! # Example
//!
//! ```
//! use tocsin_match::{Entry, EntryKind, Index, Registry, SearchOptions, DEFAULT_THRESHOLD};
//!
//! // Pairwise: a Persian spelling against a Latin one, with the reason.
//! let s = tocsin_match::score("قاسم سلیمانی", "Qassem Suleimani");
//! assert!(s.score >= DEFAULT_THRESHOLD);
//! println!("{:.2}: {}", s.score, s.explanation);
//!
//! // Screening: parse (here: build) a registry, index it, search.
//! let csv = "id,name,aliases,kind,country\np1,Jane Doe,J. Doe,person,GB\n";
//! let reg: Registry = tocsin_match::registry::parse_directory_csv(csv.as_bytes(), "protectees", |_| {})?;
//! let index = Index::build(&[&reg]);
//! let hits = index.search("DOE, Jane", &SearchOptions::default());
//! assert_eq!(hits[0].entry_id, "p1");
//! assert!(hits[0].score >= DEFAULT_THRESHOLD);
//! # let _ = (Entry::clone, EntryKind::Person);
//! # Ok::<(), tocsin_match::ParseError>(())
//! ```
#![forbid(unsafe_code)]

pub mod calibration;
pub mod cjk;
pub mod index;
pub mod japanese;
pub mod kana;
mod lexicon;
pub mod normalise;
pub mod phonetic;
pub mod registry;
pub mod score;
pub mod similarity;
pub mod translit;

pub use index::{Hit, Index, IndexOptions, IndexStats, NameSource, SearchOptions};
pub use normalise::{LegalFamily, NormalisedName, Token, TokenKind, normalise};
pub use registry::{
    Alias, AliasQuality, ContentHash, Entry, EntryKind, ParseError, Progress, Registry,
};
pub use score::{
    DEFAULT_THRESHOLD, Explanation, MatchKind, PartMatch, Score, ScoreConfig, score,
    score_normalised, score_value,
};
pub use translit::Script;

#[cfg(test)]
pub(crate) mod test_support {
    use std::path::PathBuf;

    /// The shared data directory: `$TOCSIN_SHARED_DATA`, else
    /// `<crate>/../../../shared/data`. Panics (failing the test) with a
    /// clear message when it is missing.
    pub(crate) fn shared_data() -> PathBuf {
        let dir = std::env::var_os("TOCSIN_SHARED_DATA").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
            PathBuf::from,
        );
        assert!(
            dir.join("names/name_pairs.csv").is_file()
                && dir.join("registry/un_consolidated.xml").is_file(),
            "shared test data not found at {} (expected names/name_pairs.csv and registry/*); \
             set TOCSIN_SHARED_DATA to the shared/data directory",
            dir.display()
        );
        dir
    }

    pub(crate) fn open(rel: &str) -> std::io::BufReader<std::fs::File> {
        let path = shared_data().join(rel);
        let f = std::fs::File::open(&path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        std::io::BufReader::new(f)
    }
}
