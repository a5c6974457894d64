//! Building an index: the registries' names are normalised in batches
//! (in parallel), each listed name once or once per reading, interned in
//! order, and then the posting lists, skeleton groups and deletion keys are
//! derived from the vocabulary and the name table.
//!
//! Order is part of the layout the search relies on: an entry's listed
//! names are pushed together, its primary name first, and the readings of
//! one listed name are consecutive indexed names (see the module
//! invariants in `index`).

use std::borrow::Borrow;

use rustc_hash::FxHashMap;

use crate::normalise::{NormalisedName, TokenKind, normalise};
use crate::registry::{AliasQuality, Entry, Registry};
use crate::score::{MAX_TOKENS, ScoreConfig};
use crate::translit::Script;

use super::postings::{Postings, push_varint};
use super::tables::{Arena, NameTable, Readings};
use super::vocab::{Vocab, hash_bytes32, hash_str, kind_code, script_code};
use super::{Index, IndexOptions, NameSource};

/// Listed names normalised per batch.
const BATCH: usize = 1 << 15;

/// The forms of a registry name that are indexed: its normalised form, or
/// for a name in hangul, Chinese characters or kana each of its readings
/// ([`crate::cjk::index_readings`]), so that a romanised query finds an entry
/// listed only in its own script. Each reading is one more name of the
/// entry, with the same text and source.
fn name_forms(text: &str) -> Vec<NormalisedName> {
    if text.chars().any(|c| Script::of(c).is_syllabic()) {
        crate::cjk::index_readings(text)
    } else {
        vec![normalise(text)]
    }
}

impl Index {
    /// Build an index over the entries of the given registries (their
    /// order defines [`Hit::entry`](super::Hit::entry)).
    #[must_use]
    pub fn build(registries: &[&Registry]) -> Index {
        Index::build_with(
            registries.iter().flat_map(|r| r.entries.iter()),
            &IndexOptions::default(),
        )
    }

    /// Build from any sequence of entries (borrowed or owned, so that a
    /// caller can stream entries without holding them all), with options.
    #[must_use]
    pub fn build_with<E: Borrow<Entry>>(
        entries: impl IntoIterator<Item = E>,
        opts: &IndexOptions,
    ) -> Index {
        let threads = if opts.threads == 0 {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        } else {
            opts.threads
        };
        let mut ix = Index {
            vocab: Vocab::default(),
            postings: Postings::default(),
            by_skel: FxHashMap::default(),
            skel_members: Vec::new(),
            deletions: Vec::new(),
            deletion_buckets: Vec::new(),
            names: NameTable::default(),
            readings: Readings::default(),
            listed_text: Arena::default(),
            listed_entry: Vec::new(),
            listed_source: Vec::new(),
            entry_id: Arena::default(),
            entry_list: Vec::new(),
            entry_kind: Vec::new(),
            lists: Vec::new(),
            cfg: ScoreConfig::default(),
        };
        let mut list_ids: FxHashMap<String, u16> = FxHashMap::default();
        // Names are normalised in batches (in parallel) and interned in order.
        let mut batch: Vec<(u32, NameSource, String)> = Vec::with_capacity(BATCH);
        for e in entries {
            let e: &Entry = e.borrow();
            let eid = ix.entry_id.push(&e.id);
            let list = *list_ids.entry(e.list.clone()).or_insert_with(|| {
                ix.lists.push(e.list.clone());
                (ix.lists.len() - 1) as u16
            });
            ix.entry_list.push(list);
            ix.entry_kind.push(e.kind);
            // The primary name first, the entry's names together:
            // `primary_of` finds the primary name by walking back to it.
            batch.push((eid, NameSource::Primary, e.name.clone()));
            for a in &e.aliases {
                if a.quality == AliasQuality::Weak && !opts.include_weak_aliases {
                    continue;
                }
                let src = if a.quality == AliasQuality::Weak {
                    NameSource::WeakAlias
                } else {
                    NameSource::Alias
                };
                batch.push((eid, src, a.name.clone()));
            }
            if opts.include_original_script {
                for o in &e.original_script {
                    batch.push((eid, NameSource::OriginalScript, o.clone()));
                }
            }
            if batch.len() >= BATCH {
                ix.add_batch(&batch, threads);
                batch.clear();
            }
        }
        ix.add_batch(&batch, threads);
        drop(batch);
        ix.finish();
        ix
    }

    fn add_batch(&mut self, batch: &[(u32, NameSource, String)], threads: usize) {
        if batch.is_empty() {
            return;
        }
        let normed = map_in_threads(batch, threads, |(_, _, n)| name_forms(n));
        for ((eid, src, text), forms) in batch.iter().zip(normed) {
            self.listed_text.push(text);
            self.listed_entry.push(*eid);
            self.listed_source.push(*src);
            for (k, nn) in forms.iter().enumerate() {
                self.readings.push(k > 0);
                let vocab = &mut self.vocab;
                self.names
                    .push(nn.tokens.iter().take(MAX_TOKENS).map(|t| vocab.intern(t)));
            }
        }
    }

    fn finish(&mut self) {
        let nv = self.vocab.len();
        // Postings: counting sort of (token, name) by token; names ascending.
        // Done over slices of the vocabulary holding at most an eighth of
        // the token occurrences each, so that the sort's buffer stays an
        // eighth of the names' tokens (it was the build's high-water mark).
        let mut df = vec![0u32; nv];
        let all_toks = &self.names.toks;
        for &v in all_toks {
            df[v as usize] += 1;
        }
        let slice_cap = (all_toks.len() / 8).max(1 << 16) as u64;
        let mut bytes = Vec::with_capacity(all_toks.len() * 2);
        let mut starts = Vec::with_capacity(nv + 1);
        let mut flat: Vec<u32> = Vec::new();
        let mut start: Vec<u32> = Vec::new();
        let mut fill: Vec<u32> = Vec::new();
        let mut v0 = 0;
        while v0 < nv {
            // Tokens v0..v1 of this slice (at least one).
            let mut v1 = v0;
            let mut total = 0u64;
            while v1 < nv && (v1 == v0 || total + u64::from(df[v1]) <= slice_cap) {
                total += u64::from(df[v1]);
                v1 += 1;
            }
            start.clear();
            start.push(0);
            for v in v0..v1 {
                let s = start[v - v0] + df[v];
                start.push(s);
            }
            fill.clear();
            fill.extend_from_slice(&start);
            flat.clear();
            flat.resize(total as usize, 0);
            let (lo, hi) = (v0 as u32, v1 as u32);
            let mut b = 0;
            for (name, &len) in self.names.len.iter().enumerate() {
                let a = b;
                b += usize::from(len);
                for &v in &all_toks[a..b] {
                    if v < lo || v >= hi {
                        continue;
                    }
                    let k = (v - lo) as usize;
                    let slot = &mut fill[k];
                    // A token repeated in one name is posted once.
                    if *slot > start[k] && flat[*slot as usize - 1] == name as u32 {
                        continue;
                    }
                    flat[*slot as usize] = name as u32;
                    *slot += 1;
                }
            }
            for (k, d) in df[v0..v1].iter_mut().enumerate() {
                starts.push(bytes.len() as u64);
                let mut prev = 0u32;
                let list = &flat[start[k] as usize..fill[k] as usize];
                *d = list.len() as u32;
                for (i, &n) in list.iter().enumerate() {
                    push_varint(&mut bytes, if i == 0 { n } else { n - prev });
                    prev = n;
                }
            }
            v0 = v1;
        }
        starts.push(bytes.len() as u64);
        drop((flat, start, fill));
        bytes.shrink_to_fit();
        self.postings = Postings { bytes, starts, df };

        // Skeleton groups.
        let mut by_skel: Vec<(u64, u32)> = (0..nv as u32)
            .map(|v| (hash_str(self.vocab.skel(v)), v))
            .collect();
        // Abjad tokens are also filed under the skeletons of their
        // alternative readings (`wthiq` under `wsiq`, so "Wassiq" finds it).
        let abjad = script_code(Script::Arabic);
        for v in 0..nv as u32 {
            if self.vocab.script(v) == abjad {
                for alt in crate::phonetic::abjad_variants(self.vocab.text(v)) {
                    by_skel.push((hash_str(&crate::phonetic::skeleton(&alt)), v));
                }
            }
        }
        by_skel.sort_unstable();
        by_skel.dedup();
        let mut i = 0;
        self.skel_members = Vec::with_capacity(by_skel.len());
        while i < by_skel.len() {
            let h = by_skel[i].0;
            let s = self.skel_members.len() as u32;
            while i < by_skel.len() && by_skel[i].0 == h {
                self.skel_members.push(by_skel[i].1);
                i += 1;
            }
            self.by_skel
                .insert(h, (s, self.skel_members.len() as u32 - s));
        }
        drop(by_skel);

        // Deletion neighbourhood of name tokens (4..=24 letters).
        let mut dels = Vec::new();
        let mut buf = Vec::with_capacity(32);
        for v in 0..nv as u32 {
            if self.vocab.kind(v) != kind_code(TokenKind::Name) {
                continue;
            }
            let t = self.vocab.text(v).as_bytes();
            if !(4..=24).contains(&t.len()) {
                continue;
            }
            for d in 0..t.len() {
                if d > 0 && t[d] == t[d - 1] {
                    continue; // same string as deleting the previous byte
                }
                buf.clear();
                buf.extend_from_slice(&t[..d]);
                buf.extend_from_slice(&t[d + 1..]);
                dels.push((u64::from(hash_bytes32(&buf)) << 32) | u64::from(v));
            }
        }
        dels.sort_unstable();
        dels.dedup();
        dels.shrink_to_fit();
        let mut buckets = Vec::with_capacity((1 << 16) + 1);
        for prefix in 0..=(1u64 << 16) {
            buckets.push(dels.partition_point(|&x| x >> 48 < prefix) as u32);
        }
        self.deletions = dels;
        self.deletion_buckets = buckets;

        self.vocab.shrink();
        self.by_skel.shrink_to_fit();
        self.names.shrink();
        self.readings.shrink();
        self.listed_text.shrink();
        self.listed_entry.shrink_to_fit();
        self.listed_source.shrink_to_fit();
        self.entry_id.shrink();
        self.entry_list.shrink_to_fit();
        self.entry_kind.shrink_to_fit();
    }
}

/// `f` of every item, in order, on up to `threads` threads (one for a
/// small batch). A panic in `f` is a bug: it is raised again here, never
/// turned into missing results (which would pair later names with the
/// wrong entries).
fn map_in_threads<T: Sync, U: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> U + Sync,
) -> Vec<U> {
    if threads <= 1 || items.len() < 1024 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

#[cfg(test)]
mod map_tests {
    use super::map_in_threads;

    #[test]
    fn results_keep_their_order_across_threads() {
        let items: Vec<u32> = (0..5000).collect();
        assert_eq!(
            map_in_threads(&items, 4, |x| x * 2),
            (0..5000).map(|x| x * 2).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_panic_in_one_thread_is_raised_not_turned_into_missing_results() {
        let items: Vec<u32> = (0..5000).collect();
        let r = std::panic::catch_unwind(|| {
            map_in_threads(&items, 4, |&x| {
                if x == 10 {
                    panic!("a bug in normalisation");
                }
                x
            })
        });
        assert!(
            r.is_err(),
            "got {} results",
            r.map(|v| v.len()).unwrap_or(0)
        );
    }
}
