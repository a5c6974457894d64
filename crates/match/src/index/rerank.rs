//! Step 4 of a search: re-rank the candidate names with the full scorer,
//! keep the best name per entry, and build the hits and their
//! explanations.
//!
//! Two memos make this cheap, and both must leave every score what the
//! pair scorer would give:
//!
//! * **The similarity cache holds exactly `tok_sim`.** [`SimCache`] computes
//!   `tok_sim(query part, vocabulary token)` once per search and reading,
//!   and the scorer reads it through `score_toks_with`, whose contract is
//!   that the callback returns `tok_sim(q[i], c[j], cfg)` (`score_toks`
//!   passes `tok_sim` itself). Feeding it anything else (another
//!   similarity, a rounded one, a row of another reading) changes answers.
//! * **Each distinct name is scored once per reading and kind**: the score
//!   of a pair depends only on the query reading, whether the entry is a
//!   person, and the name's token ids, which is the key of the memo.
//!
//! A hit's listed name, entry and primary name are found through the
//! layout `build` guarantees: readings of one listed name are consecutive
//! indexed names, and an entry's listed names are consecutive, its
//! primary name first (`Index::primary_of` walks back to it).

use rustc_hash::FxHashMap;

use crate::registry::EntryKind;
use crate::score::{
    Explanation, MAX_TOKENS, MatchKind, ScoreConfig, Scratch, Tok, score_toks_with, tok_sim,
};

use super::{Hit, Index, SearchOptions};

/// The re-ranking's buffers, kept between searches by one thread.
#[derive(Default)]
pub(super) struct RankScratch {
    pair_entry: Vec<u32>,
    pair_toks: Vec<u32>,
    toks: Vec<u32>,
    pair_kind: Vec<EntryKind>,
    best: FxHashMap<u32, (f32, u32, usize)>,
    sims: SimCache,
    scorer: Scratch,
}

impl Index {
    /// Step 4 of a search: re-rank candidate names with the scorer, each
    /// pair `(name, reading)` scoring the name against that reading of the
    /// query (`qs`: one reading for most names); pairs of one name are
    /// adjacent. Best name and reading per entry.
    pub(super) fn rank(
        &self,
        qs: &[Vec<Tok<'_>>],
        pairs: &[(u32, usize)],
        opts: &SearchOptions,
        sc: &mut RankScratch,
    ) -> Vec<Hit> {
        // entry → (score, name, reading), in a map kept between searches.
        let mut best = std::mem::take(&mut sc.best);
        best.clear();
        let mut ctoks: Vec<Tok<'_>> = Vec::with_capacity(16);
        let mut loaded = u32::MAX;
        // Each pair's entry and kind, looked up first in loops of their own:
        // the lookups are independent there, so their cache misses overlap
        // instead of waiting one by one between two scorings.
        let entries = &mut sc.pair_entry;
        entries.clear();
        entries.extend(
            pairs
                .iter()
                .map(|&(nm, _)| self.listed_entry[self.listed(nm)]),
        );
        let kinds = &mut sc.pair_kind;
        kinds.clear();
        kinds.extend(entries.iter().map(|&e| self.entry_kind[e as usize]));
        // Likewise each pair's name tokens, copied out: `pair_toks[i]` ends
        // pair i's tokens in `toks`.
        let (toks, ends) = (&mut sc.toks, &mut sc.pair_toks);
        toks.clear();
        ends.clear();
        for &(nm, _) in pairs {
            toks.extend_from_slice(self.name_toks(nm));
            ends.push(toks.len() as u32);
        }
        // Candidates share most of their parts (the query's own, in other
        // names), and the registry holds the same name many times: each
        // (query part, vocabulary token) similarity is computed once per
        // search, and each distinct name once per reading and kind.
        sc.sims.clear();
        let mut scores: FxHashMap<(usize, bool, &[u32]), f32> = FxHashMap::default();
        for (i, &(nm, r)) in pairs.iter().enumerate() {
            let (entry, kind) = (sc.pair_entry[i], sc.pair_kind[i]);
            if let Some(k) = opts.kind
                && kind != k
            {
                continue;
            }
            let q = &qs[r];
            if q.is_empty() {
                continue;
            }
            let start = if i == 0 {
                0
            } else {
                sc.pair_toks[i - 1] as usize
            };
            let name = &sc.toks[start..sc.pair_toks[i] as usize];
            let org = !matches!(kind, EntryKind::Person);
            let s = match scores.entry((r, org, name)) {
                std::collections::hash_map::Entry::Occupied(o) => *o.get(),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    if loaded != nm {
                        ctoks.clear();
                        ctoks.extend(name.iter().map(|&v| self.vocab.tok(v)));
                        loaded = nm;
                    }
                    let rows = sc.sims.rows(r, q, name, &ctoks, &self.cfg);
                    let s = score_toks_with(
                        q,
                        &ctoks,
                        &self.cfg,
                        false,
                        org,
                        &mut sc.scorer,
                        |qi, cj| sc.sims.sim[rows[cj] as usize + qi],
                    )
                    .0;
                    *slot.insert(s)
                }
            };
            let e = best.entry(entry).or_insert((s, nm, r));
            if s > e.0 || (s == e.0 && (nm, r) < (e.1, e.2)) {
                *e = (s, nm, r);
            }
        }
        let mut ranked: Vec<(u32, f32, u32, usize)> =
            best.drain().map(|(e, (s, nm, r))| (e, s, nm, r)).collect();
        sc.best = best;
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.retain(|r| r.1 >= opts.min_score);
        ranked.truncate(opts.limit);
        ranked
            .into_iter()
            .map(|(entry, score, nm, r)| {
                let explanation = if opts.explain {
                    let name = self.name_toks(nm);
                    ctoks.clear();
                    ctoks.extend(name.iter().map(|&v| self.vocab.tok(v)));
                    let org = !matches!(self.entry_kind[entry as usize], EntryKind::Person);
                    let rows = sc.sims.rows(r, &qs[r], name, &ctoks, &self.cfg);
                    score_toks_with(
                        &qs[r],
                        &ctoks,
                        &self.cfg,
                        true,
                        org,
                        &mut sc.scorer,
                        |qi, cj| sc.sims.sim[rows[cj] as usize + qi],
                    )
                    .1
                    .unwrap_or_default()
                } else {
                    Explanation::default()
                };
                Hit {
                    entry,
                    entry_id: self.entry_id.get(entry).to_string(),
                    list: self.lists[self.entry_list[entry as usize] as usize].clone(),
                    kind: self.entry_kind[entry as usize],
                    primary_name: self
                        .listed_text
                        .get(self.primary_of(self.listed(nm)))
                        .to_string(),
                    matched_name: self.listed_text.get(self.listed(nm) as u32).to_string(),
                    source: self.listed_source[self.listed(nm)],
                    score,
                    explanation,
                }
            })
            .collect()
    }
}

/// The similarities of a search's query parts to the vocabulary tokens of
/// its candidates, each computed once per search: the row of token `v`
/// for reading `r` holds `tok_sim(qs[r][i], v)` for each part `i`.
#[derive(Default)]
struct SimCache {
    /// `(v, r)` → where its row starts in `sim`.
    at: FxHashMap<(u32, usize), u32>,
    sim: Vec<(f32, MatchKind)>,
}

impl SimCache {
    fn clear(&mut self) {
        self.at.clear();
        self.sim.clear();
    }

    /// Where the row of each of a candidate's parts starts (`name`: its
    /// vocabulary tokens, `c`: the same as [`Tok`]s), computing the rows
    /// not seen yet in this search.
    fn rows(
        &mut self,
        r: usize,
        q: &[Tok<'_>],
        name: &[u32],
        c: &[Tok<'_>],
        cfg: &ScoreConfig,
    ) -> [u32; MAX_TOKENS] {
        let q = &q[..q.len().min(MAX_TOKENS)];
        let mut rows = [0u32; MAX_TOKENS];
        for (row, (&v, &t)) in rows.iter_mut().zip(name.iter().zip(c)) {
            *row = *self.at.entry((v, r)).or_insert_with(|| {
                let at = self.sim.len() as u32;
                self.sim.extend(q.iter().map(|&a| tok_sim(a, t, cfg)));
                at
            });
        }
        rows
    }
}
