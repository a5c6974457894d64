//! Steps 1–3 of a search: the vocabulary tokens each query token may
//! match (exact text, other romanisations, skeleton groups, deletion keys,
//! splits and merges), then the candidate pass over their posting lists,
//! rarest first within a budget, accumulating evidence per name.

use crate::normalise::TokenKind;
use crate::score::{Tok, tok_sim};

use super::vocab::{SCRIPTS, hash_bytes32, hash_str};
use super::{Index, SearchOptions};

/// Candidate vocabulary of one query token: total posting volume, query
/// token weight, `(vocabulary id, similarity)` pairs.
type Plan = (u64, f32, Vec<(u32, f32)>);

/// Vocabulary tokens below this similarity to a query token are not
/// followed.
const VOCAB_FLOOR: f32 = 0.7;
/// Posting entries traversed beyond the two rarest query tokens.
const POSTING_BUDGET: u64 = 150_000;

/// The candidate pass's buffers, kept between searches by one thread.
#[derive(Default)]
pub(super) struct CandidateScratch {
    acc: Vec<f32>,
    touched: Vec<u32>,
    cand: Vec<(f32, u32)>,
    plans: Vec<Plan>,
    lists: Vec<Vec<(u32, f32)>>,
    vocab_cands: Vec<u32>,
    vocab_sims: Vec<(u32, f32)>,
    split_l: Vec<u32>,
    split_r: Vec<u32>,
    buf: Vec<u8>,
}

impl Index {
    fn deletion_hits(&self, h: u32, out: &mut Vec<u32>) {
        let key = u64::from(h) << 32;
        let prefix = (h >> 16) as usize;
        let (a, b) = match (
            self.deletion_buckets.get(prefix),
            self.deletion_buckets.get(prefix + 1),
        ) {
            (Some(&a), Some(&b)) => (a as usize, b as usize),
            _ => return,
        };
        let bucket = &self.deletions[a..b];
        let i = bucket.partition_point(|&x| x < key);
        for &x in &bucket[i..] {
            if (x >> 32) as u32 != h {
                break;
            }
            out.push(x as u32);
        }
    }

    /// Vocabulary tokens that may match query token `t`.
    fn fuzzy_vocab(&self, t: Tok<'_>, scratch: &mut CandidateScratch) {
        let cands = &mut scratch.vocab_cands;
        cands.clear();
        self.vocab.lookup_text(t.text, cands);
        let exact_found = !cands.is_empty();
        // Other romanisations of the same name (`ri` → `lee`, `yi`).
        if t.text.len() <= 6 {
            for other in crate::lexicon::romanised_variants(t.text) {
                self.vocab.lookup_text(other, cands);
            }
        }
        if matches!(t.kind, TokenKind::Name | TokenKind::Initial) && t.skel.len() >= 2 {
            // Huge groups (very short keys) are only worth it for abjad
            // spellings, which have little else to go on.
            let cap = if t.script.is_abjad() { 5_000 } else { 1_000 };
            let mut follow = |key: u64| {
                if let Some(&(s, n)) = self.by_skel.get(&key)
                    && (n as usize) <= cap
                {
                    cands.extend_from_slice(&self.skel_members[s as usize..(s + n) as usize]);
                }
            };
            follow(hash_str(t.skel));
            if t.script.is_abjad() {
                for v in crate::phonetic::abjad_variants(t.text) {
                    follow(hash_str(&crate::phonetic::skeleton(&v)));
                }
            }
        }
        let b = t.text.as_bytes();
        if t.kind == TokenKind::Name && (3..=25).contains(&b.len()) {
            // The query itself may be a deletion of a vocabulary token.
            self.deletion_hits(hash_bytes32(b), cands);
            let buf = &mut scratch.buf;
            for d in 0..b.len() {
                if d > 0 && b[d] == b[d - 1] {
                    continue;
                }
                buf.clear();
                buf.extend_from_slice(&b[..d]);
                buf.extend_from_slice(&b[d + 1..]);
                if b.len() >= 5 {
                    // Deleting from the query: vocabulary token = deletion.
                    if let Ok(s) = std::str::from_utf8(buf) {
                        self.vocab.lookup_text(s, cands);
                    }
                }
                if b.len() >= 4 {
                    self.deletion_hits(hash_bytes32(buf), cands);
                }
            }
        }
        cands.sort_unstable();
        cands.dedup();
        let out = &mut scratch.vocab_sims;
        out.clear();
        let abjad = t.script.is_abjad();
        let tl = t.text.len();
        for &v in cands.iter() {
            // Cheap length filter: a similarity of 0.7 needs lengths within
            // about a factor of two (abjad spellings lack vowels). Checked
            // before the token's other fields are read.
            let vl = self.vocab.text(v).len();
            if !abjad
                && !SCRIPTS[self.vocab.script(v) as usize].is_abjad()
                && (tl.max(vl) > 2 * tl.min(vl) + 1)
            {
                continue;
            }
            let vt = self.vocab.tok(v);
            let (s, _) = tok_sim(t, vt, &self.cfg);
            if s >= VOCAB_FLOOR {
                out.push((v, s));
            }
        }
        // A glued token (`vladimirputin`): both halves in the vocabulary.
        if !exact_found && t.kind == TokenKind::Name && b.len() >= 5 {
            for cut in 2..=b.len() - 2 {
                let (l, r) = (&t.text[..cut], &t.text[cut..]);
                scratch.split_l.clear();
                scratch.split_r.clear();
                self.vocab.lookup_text(l, &mut scratch.split_l);
                if scratch.split_l.is_empty() {
                    continue;
                }
                self.vocab.lookup_text(r, &mut scratch.split_r);
                if scratch.split_r.is_empty() {
                    continue;
                }
                for &v in scratch.split_l.iter().chain(&scratch.split_r) {
                    out.push((v, 0.9));
                }
            }
        }
    }

    /// Steps 1–3 of a search: the names with the most evidence for the
    /// query's tokens, `(evidence, name)`, at most `opts.candidates`.
    pub(super) fn candidates(
        &self,
        q: &[Tok<'_>],
        opts: &SearchOptions,
        sc: &mut CandidateScratch,
    ) -> Vec<(f32, u32)> {
        if q.is_empty() || self.name_count() == 0 {
            return Vec::new();
        }
        let n_names = self.name_count();
        if sc.acc.len() < n_names {
            sc.acc.resize(n_names, 0.0);
        }
        // 1. Fuzzy vocabulary per query token.
        let substantive: Vec<usize> = (0..q.len())
            .filter(|&i| {
                matches!(
                    q[i].kind,
                    TokenKind::Name | TokenKind::Number | TokenKind::Initial
                )
            })
            .collect();
        let use_all = substantive.iter().all(|&i| q[i].kind == TokenKind::Initial);
        // Per query token: total posting volume, weight, (token, similarity).
        // The plans and their lists are kept between searches.
        let mut plans: Vec<Plan> = std::mem::take(&mut sc.plans);
        sc.lists.extend(plans.drain(..).map(|p| p.2));
        for i in 0..q.len() {
            if !use_all && !substantive.contains(&i) {
                continue;
            }
            if q[i].kind == TokenKind::Initial && !use_all {
                continue;
            }
            self.fuzzy_vocab(q[i], sc);
            let mut list = sc.lists.pop().unwrap_or_default();
            list.clear();
            list.extend_from_slice(&sc.vocab_sims);
            // Merge with the next query token(s): `siemens ag` → `siemensag`,
            // `hdayt allah` → `hidayatullah`, `shms al din` → `shamsuddin`.
            for (len, skip_al) in [(2usize, false), (3, false), (3, true)] {
                if i + len > q.len()
                    || !q[i..i + len]
                        .iter()
                        .all(|t| matches!(t.kind, TokenKind::Name | TokenKind::Particle))
                {
                    continue;
                }
                if len == 3 && !(q[i + 1].kind == TokenKind::Particle && q[i + 1].text == "al") {
                    continue;
                }
                let mut merged = String::new();
                for (k, t) in q[i..i + len].iter().enumerate() {
                    if !(skip_al && k == 1) {
                        merged.push_str(t.text);
                    }
                }
                if merged.len() > 24 {
                    continue;
                }
                let skel = crate::phonetic::skeleton(&merged);
                let mt = Tok {
                    text: &merged,
                    skel: &skel,
                    kind: TokenKind::Name,
                    script: q[i].script,
                    original: &merged,
                };
                self.fuzzy_vocab(mt, sc);
                list.extend(sc.vocab_sims.iter().filter(|&&(_, sim)| sim >= 0.85));
            }
            // One entry per vocabulary token (best similarity).
            list.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
            list.dedup_by_key(|e| e.0);
            let total: u64 = list
                .iter()
                .map(|&(v, _)| u64::from(self.postings.df[v as usize]))
                .sum();
            let w = match q[i].kind {
                TokenKind::Name => 1.0,
                TokenKind::Number => 0.5,
                _ => 0.3,
            };
            plans.push((total, w, list));
        }
        plans.sort_by_key(|p| p.0);
        // 2–3. Traverse the rarest tokens' postings, accumulate.
        let n = n_names as f32;
        let mut traversed = 0u64;
        sc.touched.clear();
        for (k, (total, w, list)) in plans.iter().enumerate() {
            if k >= 2 && traversed + total > POSTING_BUDGET {
                break;
            }
            traversed += total;
            // A variant of a query token is not more telling than the token
            // itself: cap the IDF at the exact token's, when it exists.
            let cap = list
                .iter()
                .filter(|e| e.1 >= 0.99)
                .map(|&(v, _)| (1.0 + n / self.postings.df[v as usize].max(1) as f32).ln())
                .fold(f32::INFINITY, f32::min);
            // A name is recorded the first time it is touched without a
            // branch on its accumulator, which is a cache miss most often:
            // the name is always written after the last recorded one, and
            // the count moves on only for a new name, so the misses of
            // consecutive postings overlap instead of waiting on a
            // mispredicted branch. (`total` postings at most: room made
            // first.)
            let touched = &mut sc.touched;
            let mut count = touched.len();
            touched.resize(count + *total as usize, 0);
            for &(v, sim) in list {
                let df = self.postings.df[v as usize].max(1) as f32;
                let idf = (1.0 + n / df).ln().min(cap);
                let add = w * idf * sim * sim;
                for name in self.postings.iter(v) {
                    let a = &mut sc.acc[name as usize];
                    match touched.get_mut(count) {
                        Some(slot) => *slot = name,
                        None => touched.push(name),
                    }
                    count += usize::from(*a == 0.0);
                    *a += add;
                }
            }
            touched.truncate(count);
        }
        sc.plans = plans;
        // Top candidates by accumulated weight.
        // Among equal evidence prefer shorter names (fewer unmatched parts):
        // `sarina` should meet the entry `SARINA` before `Sarina Ashtari`.
        // One pass over the touched names reads and clears the accumulator
        // (the buffer is reused: a common token touches 100k+ names).
        let cand = &mut sc.cand;
        cand.clear();
        for &nm in &sc.touched {
            let n = nm as usize;
            let len = u32::from(self.names.len[n]);
            let a = std::mem::take(&mut sc.acc[n]);
            cand.push((a - 0.05 * len.min(20) as f32, nm));
        }
        let m = opts.candidates.max(opts.limit).max(1);
        if cand.len() > m {
            cand.select_nth_unstable_by(m - 1, |a, b| b.0.total_cmp(&a.0));
            cand.truncate(m);
        }
        cand.clone()
    }
}
