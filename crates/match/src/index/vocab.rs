//! The index's vocabulary: every distinct token of the indexed names,
//! interned once (text, phonetic skeleton, kind, script, and for syllabic
//! scripts the original spelling), and the hashes the fuzzy keys are built
//! from.

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHasher};

use crate::normalise::{Token, TokenKind};
use crate::score::Tok;
use crate::translit::Script;

const NONE: u32 = u32::MAX;

pub(super) fn hash_str(s: &str) -> u64 {
    let mut h = FxHasher::default();
    s.hash(&mut h);
    h.finish()
}

pub(super) fn hash_bytes32(b: &[u8]) -> u32 {
    let mut h = FxHasher::default();
    b.hash(&mut h);
    let x = h.finish();
    (x ^ (x >> 32)) as u32
}

pub(super) fn kind_code(k: TokenKind) -> u8 {
    match k {
        TokenKind::Name => 0,
        TokenKind::Initial => 1,
        TokenKind::Particle => 2,
        TokenKind::Title => 3,
        TokenKind::LegalForm => 4,
        TokenKind::Stopword => 5,
        TokenKind::Number => 6,
    }
}

const KINDS: [TokenKind; 7] = [
    TokenKind::Name,
    TokenKind::Initial,
    TokenKind::Particle,
    TokenKind::Title,
    TokenKind::LegalForm,
    TokenKind::Stopword,
    TokenKind::Number,
];

pub(super) const SCRIPTS: [Script; 9] = [
    Script::Latin,
    Script::Cyrillic,
    Script::Greek,
    Script::Arabic,
    Script::Hebrew,
    Script::Han,
    Script::Hangul,
    Script::Kana,
    Script::Other,
];

pub(super) fn script_code(s: Script) -> u8 {
    SCRIPTS.iter().position(|&x| x == s).unwrap_or(8) as u8
}

/// One interned token: where its text, skeleton and original spelling lie
/// (one after the other) in [`Vocab::data`], its kind and script, and the
/// next token with the same text hash. One record per token, so that
/// reading a token touches one record and one stretch of text.
#[derive(Clone, Copy, Debug)]
struct VocabRec {
    start: u64,
    text: u32,
    skel: u32,
    /// Original spelling, only for syllabic scripts (else empty).
    orig: u32,
    next_same_text: u32,
    kind: u8,
    script: u8,
}

/// Interned distinct tokens.
#[derive(Default, Debug)]
pub(super) struct Vocab {
    data: String,
    recs: Vec<VocabRec>,
    by_text: FxHashMap<u64, u32>,
}

impl Vocab {
    #[inline]
    pub(super) fn text(&self, v: u32) -> &str {
        let r = &self.recs[v as usize];
        let a = r.start as usize;
        &self.data[a..a + r.text as usize]
    }

    #[inline]
    pub(super) fn skel(&self, v: u32) -> &str {
        let r = &self.recs[v as usize];
        let a = r.start as usize + r.text as usize;
        &self.data[a..a + r.skel as usize]
    }

    #[inline]
    pub(super) fn kind(&self, v: u32) -> u8 {
        self.recs[v as usize].kind
    }

    #[inline]
    pub(super) fn script(&self, v: u32) -> u8 {
        self.recs[v as usize].script
    }

    #[inline]
    pub(super) fn tok(&self, v: u32) -> Tok<'_> {
        let r = &self.recs[v as usize];
        let a = r.start as usize;
        let (b, c) = (a + r.text as usize, a + (r.text + r.skel) as usize);
        let text = &self.data[a..b];
        let orig = &self.data[c..c + r.orig as usize];
        Tok {
            text,
            skel: &self.data[b..c],
            kind: KINDS[r.kind as usize],
            script: SCRIPTS[r.script as usize],
            original: if orig.is_empty() { text } else { orig },
        }
    }

    pub(super) fn intern(&mut self, t: &Token) -> u32 {
        let h = hash_str(&t.text);
        let kind = kind_code(t.kind);
        let script = script_code(t.script);
        let orig: &str = if t.script.is_syllabic() {
            &t.original
        } else {
            ""
        };
        let mut cur = self.by_text.get(&h).copied().unwrap_or(NONE);
        let head = cur;
        while cur != NONE {
            let r = self.recs[cur as usize];
            if r.kind == kind && r.script == script && self.text(cur) == t.text {
                let c = r.start as usize + (r.text + r.skel) as usize;
                if &self.data[c..c + r.orig as usize] == orig {
                    return cur;
                }
            }
            cur = r.next_same_text;
        }
        let id = self.recs.len() as u32;
        let start = self.data.len() as u64;
        self.data.push_str(&t.text);
        self.data.push_str(&t.skeleton);
        self.data.push_str(orig);
        self.recs.push(VocabRec {
            start,
            text: t.text.len() as u32,
            skel: t.skeleton.len() as u32,
            orig: orig.len() as u32,
            next_same_text: head,
            kind,
            script,
        });
        self.by_text.insert(h, id);
        id
    }

    /// All vocabulary ids whose text is `text`.
    pub(super) fn lookup_text(&self, text: &str, out: &mut Vec<u32>) {
        let mut cur = self.by_text.get(&hash_str(text)).copied().unwrap_or(NONE);
        while cur != NONE {
            if self.text(cur) == text {
                out.push(cur);
            }
            cur = self.recs[cur as usize].next_same_text;
        }
    }

    pub(super) fn len(&self) -> usize {
        self.recs.len()
    }

    pub(super) fn heap(&self) -> usize {
        self.data.capacity()
            + self.recs.capacity() * std::mem::size_of::<VocabRec>()
            + self.by_text.capacity() * 13 * 8 / 7
    }

    pub(super) fn shrink(&mut self) {
        self.data.shrink_to_fit();
        self.recs.shrink_to_fit();
        self.by_text.shrink_to_fit();
    }
}
