//! Screening index over a registry: candidate generation without scanning
//! every name, then re-ranking with the scorer.
//!
//! # Layout
//!
//! * **Names** (primary, aliases, original-script names) are normalised
//!   once at build time and stored as sequences of `u32` ids into an
//!   interned **vocabulary** of distinct tokens (text, phonetic skeleton,
//!   kind, script). A name in hangul, Chinese characters or kana is
//!   indexed once per reading: each reading is an indexed name with its own
//!   tokens, while its display text, entry and source are kept once per
//!   listed name (a sorted list of the further readings maps one to the
//!   other). Display strings live in one string arena, 4 bytes per string
//!   beside the text.
//! * **Postings**: for every vocabulary token, the sorted list of names that
//!   contain it, delta + varint encoded in one byte buffer.
//! * **Token-level fuzzy keys**, built over the vocabulary (much smaller
//!   than the name list): the exact text, the phonetic skeleton (groups of
//!   tokens sharing a key: romanisation variants, abjad spellings) and the
//!   single-deletion neighbourhood of each name token of 4+ letters
//!   (SymSpell-style; catches one insertion, deletion, substitution or
//!   transposition) as a sorted array of `(hash, token)` pairs.
//!
//! # Search
//!
//! 1. Normalise the query; for every substantive query token collect the
//!    vocabulary tokens reachable through the fuzzy keys (plus splits of a
//!    glued token, `VladimirPutin`, and merges of adjacent query tokens)
//!    and keep those whose token similarity passes a floor.
//! 2. **IDF-like pruning**: order query tokens by the total length of their
//!    posting lists. The two rarest are always traversed; further ones only
//!    while the traversed volume stays under a budget. Very common tokens
//!    (`mohammed`, `ltd`) therefore cost nothing unless the query has
//!    nothing rarer; they still count in the re-ranking.
//! 3. Accumulate, per name, `Σ weight(token) · idf · similarity` in a dense
//!    per-thread array; take the best few hundred names.
//! 4. **Re-rank** them with the full scorer ([`mod@crate::score`]), keep the best
//!    name per entry, return the top-k with explanations.
//!
//! # Code map
//!
//! * this module: the public types, [`Index`] and its accessors, and the
//!   two search entry points, which call the passes below in order;
//! * `build`: building an index (normalising names in parallel batches,
//!   interning, posting lists, skeleton groups, deletion keys);
//! * `candidates`: steps 1–3, the fuzzy vocabulary lookup and the
//!   candidate pass over the postings;
//! * `rerank`: step 4, re-ranking with the scorer through the per-search
//!   similarity cache, and the hits with their explanations;
//! * `vocab`, `postings`, `tables`: the stored structures (interned tokens,
//!   encoded posting lists, the string arena, the name table, readings).
//!
//! # Invariants the search relies on
//!
//! * **An entry's listed names are consecutive**, its primary name first,
//!   and the readings of one listed name are consecutive indexed names
//!   (`build` pushes them so): `Index::listed` and the primary-name walk
//!   back (`Index::primary_of`) depend on it.
//! * **The re-ranking's similarity cache holds exactly `tok_sim`** of
//!   each (query part, vocabulary token) pair, so that an index hit scores
//!   what [`crate::score()`] gives the same pair of names (see `rerank`).

mod build;
mod candidates;
mod postings;
mod rerank;
mod tables;
#[cfg(test)]
mod tests;
mod vocab;

use std::cell::RefCell;

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::normalise::NormalisedName;
use crate::registry::EntryKind;
use crate::score::{Explanation, MAX_TOKENS, ScoreConfig, Tok};

use candidates::CandidateScratch;
use postings::Postings;
use rerank::RankScratch;
use tables::{Arena, NameTable, Readings};
use vocab::Vocab;

/// Options for building an index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexOptions {
    /// Index aliases the list marks as low quality (UN "Low").
    pub include_weak_aliases: bool,
    /// Index names in their original script (transliterated).
    pub include_original_script: bool,
    /// Worker threads for normalisation (0 = available parallelism).
    pub threads: usize,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            include_weak_aliases: true,
            include_original_script: true,
            threads: 0,
        }
    }
}

/// Options for one search.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchOptions {
    /// Number of entries to return (top-k).
    pub limit: usize,
    /// Drop hits scoring below this.
    pub min_score: f32,
    /// Only return entries of this kind.
    pub kind: Option<EntryKind>,
    /// Number of candidate names re-ranked with the full scorer.
    pub candidates: usize,
    /// Build explanations for the returned hits.
    pub explain: bool,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            limit: 10,
            min_score: 0.0,
            kind: None,
            candidates: 128,
            explain: true,
        }
    }
}

/// What kind of name of the entry matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NameSource {
    /// The primary name.
    Primary,
    /// An alias.
    Alias,
    /// An alias the list marks as low quality.
    WeakAlias,
    /// A name in the original script.
    OriginalScript,
}

/// One search result: an entry, the name of it that matched best, a score
/// and an explanation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hit {
    /// Position of the entry in the registries given to [`Index::build`]
    /// (concatenated in order).
    pub entry: u32,
    /// The entry's id (`ofac:36`, `un:6907993`, directory id).
    pub entry_id: String,
    /// The list the entry belongs to.
    pub list: String,
    /// Person, entity, vessel or aircraft.
    pub kind: EntryKind,
    /// The entry's primary name.
    pub primary_name: String,
    /// The entry's name that matched (may be an alias).
    pub matched_name: String,
    /// Which kind of name matched.
    pub source: NameSource,
    /// Score in `[0, 1]`.
    pub score: f32,
    /// Why (empty when explanations were not requested).
    pub explanation: Explanation,
}

/// Size figures of an index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IndexStats {
    /// Entries.
    pub entries: usize,
    /// Indexed names.
    pub names: usize,
    /// Distinct tokens.
    pub vocabulary: usize,
    /// Token occurrences in posting lists.
    pub postings: u64,
    /// Deletion keys.
    pub deletion_keys: usize,
    /// Approximate heap bytes held by the index.
    pub heap_bytes: usize,
}

/// A screening index. Build once per registry version; search from any
/// number of threads (`&self`).
#[derive(Debug)]
pub struct Index {
    vocab: Vocab,
    postings: Postings,
    /// Skeleton hash → range in `skel_members`.
    by_skel: FxHashMap<u64, (u32, u32)>,
    skel_members: Vec<u32>,
    /// Sorted `(hash << 32) | vocab id` of single-character deletions.
    deletions: Vec<u64>,
    /// Where the deletions whose hash starts with each 16-bit prefix begin
    /// (len 2^16 + 1): a lookup searches one small bucket, not the whole
    /// array (whose binary search was mostly cache misses).
    deletion_buckets: Vec<u32>,
    /// Indexed names: the tokens of each (postings, scoring). A listed name
    /// is indexed once, or for a name in hangul, Chinese characters or kana
    /// once per reading, the readings of one listed name being consecutive.
    names: NameTable,
    readings: Readings,
    // Listed names (the registries' names): display text, entry, source.
    // An entry's names are consecutive, its primary name first.
    listed_text: Arena,
    listed_entry: Vec<u32>,
    listed_source: Vec<NameSource>,
    // Entries.
    entry_id: Arena,
    entry_list: Vec<u16>,
    entry_kind: Vec<EntryKind>,
    lists: Vec<String>,
    cfg: ScoreConfig,
}

/// A query's tokens as the scorer takes them (at most [`MAX_TOKENS`]).
fn query_toks(query: &NormalisedName) -> Vec<Tok<'_>> {
    query
        .tokens
        .iter()
        .take(MAX_TOKENS)
        .map(Tok::from)
        .collect()
}

impl Index {
    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entry_kind.len()
    }

    /// Whether the index has no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entry_kind.is_empty()
    }

    /// Number of indexed names.
    #[must_use]
    pub fn name_count(&self) -> usize {
        self.names.count()
    }

    /// The listed name that indexed name `name` reads: readings of one
    /// listed name are consecutive, so it is `name` less the further
    /// readings up to it.
    fn listed(&self, name: u32) -> usize {
        self.readings.listed(name as usize)
    }

    /// The primary name of the entry of listed name `l`: the entry's first
    /// listed name. An entry's names are consecutive, and few: walking
    /// back from `l` reads one or two cache lines, where a binary search
    /// over all listed names missed the cache at most of its steps.
    fn primary_of(&self, l: usize) -> u32 {
        let e = self.listed_entry[l];
        let before = self.listed_entry[..l]
            .iter()
            .rev()
            .take_while(|&&x| x == e)
            .count();
        (l - before) as u32
    }

    /// Id of entry number `entry` (as in [`Hit::entry`]).
    #[must_use]
    pub fn entry_id(&self, entry: u32) -> Option<&str> {
        ((entry as usize) < self.entry_id.len()).then(|| self.entry_id.get(entry))
    }

    /// Size figures, including an estimate of heap bytes.
    #[must_use]
    pub fn stats(&self) -> IndexStats {
        let v = &self.vocab;
        let map_bytes = |n: usize, entry: usize| n * (entry + 1) * 8 / 7;
        let heap = v.heap()
            + self.postings.bytes.capacity()
            + self.postings.starts.capacity() * 8
            + self.postings.df.capacity() * 4
            + map_bytes(self.by_skel.capacity(), 16)
            + self.skel_members.capacity() * 4
            + self.deletions.capacity() * 8
            + self.deletion_buckets.capacity() * 4
            + self.names.heap()
            + self.readings.heap()
            + self.listed_text.heap()
            + self.listed_entry.capacity() * 4
            + self.listed_source.capacity()
            + self.entry_id.heap()
            + self.entry_list.capacity() * 2
            + self.entry_kind.capacity();
        IndexStats {
            entries: self.len(),
            names: self.name_count(),
            vocabulary: v.len(),
            postings: self.postings.df.iter().map(|&d| u64::from(d)).sum(),
            deletion_keys: self.deletions.len(),
            heap_bytes: heap,
        }
    }

    fn name_toks(&self, name: u32) -> &[u32] {
        self.names.get(name as usize)
    }

    /// Search with a textual query.
    #[must_use]
    /// A query in hangul or Chinese characters is searched in each of its
    /// readings ([`crate::cjk::readings`]); an entry keeps its best hit.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Vec<Hit> {
        let readings = crate::cjk::readings(query);
        if readings.len() == 1 {
            return self.search_normalised(&readings[0], opts);
        }
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            // Readings that sound alike (the same skeletons: `sato`,
            // `satou`, `satoh`; Korean in three romanisations) form one
            // group: a group's candidates are found once, from its first
            // reading, and scored with each reading of the group.
            let mut groups: Vec<(Vec<&str>, Vec<usize>)> = Vec::new();
            for (i, r) in readings.iter().enumerate() {
                let skel: Vec<&str> = r.tokens.iter().map(|t| t.skeleton.as_str()).collect();
                match groups.iter_mut().find(|g| g.0 == skel) {
                    Some(g) => g.1.push(i),
                    None => groups.push((skel, vec![i])),
                }
            }
            let qs: Vec<Vec<Tok<'_>>> = readings.iter().map(query_toks).collect();
            // (name, reading) pairs to score.
            let mut pairs: Vec<(u32, usize)> = Vec::new();
            for (_, members) in &groups {
                let cand = self.candidates(&qs[members[0]], opts, &mut s.candidates);
                for &(_, nm) in &cand {
                    pairs.extend(members.iter().map(|&r| (nm, r)));
                }
            }
            pairs.sort_unstable();
            pairs.dedup();
            self.rank(&qs, &pairs, opts, &mut s.rank)
        })
    }

    /// Search with an already normalised query.
    #[must_use]
    pub fn search_normalised(&self, query: &NormalisedName, opts: &SearchOptions) -> Vec<Hit> {
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            self.search_in(query, opts, &mut s)
        })
    }

    fn search_in(
        &self,
        query: &NormalisedName,
        opts: &SearchOptions,
        sc: &mut SearchScratch,
    ) -> Vec<Hit> {
        let q = query_toks(query);
        let pairs: Vec<(u32, usize)> = self
            .candidates(&q, opts, &mut sc.candidates)
            .into_iter()
            .map(|c| (c.1, 0))
            .collect();
        self.rank(&[q], &pairs, opts, &mut sc.rank)
    }
}

/// Buffers one thread reuses from search to search, one set per pass.
#[derive(Default)]
struct SearchScratch {
    candidates: CandidateScratch,
    rank: RankScratch,
}

thread_local! {
    static SCRATCH: RefCell<SearchScratch> = RefCell::new(SearchScratch::default());
}
