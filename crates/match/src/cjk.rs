//! Readings of CJK names: the romanisations a name's owner and the lists
//! actually use, as alternative [`NormalisedName`]s.
//!
//! A name written in hangul or Chinese characters has no single Latin
//! spelling. `김정은` is `Kim Jong Un` on the UN list, `Gim Jeong-eun` in
//! Revised Romanization; `金正恩` is the same name in hanja, which a
//! Mandarin reading (`jin zhengen`) never finds. [`readings`] returns every
//! plausible reading, and the scorer and the index keep the best:
//!
//! * **Hangul**: three romanisations of each syllable — Revised
//!   Romanization (South Korea since 2000: `Jeong-eun`), the North Korean
//!   / McCune–Reischauer habit without diacritics (`Jong Un`, `Pyong`,
//!   `Tok`) and the popular South Korean spellings (`Myung`, `Joon`,
//!   `Hee`). A one-syllable surname takes each system's usual spelling
//!   (`Lee`/`Ri`, `Park`/`Pak`, `Choi`/`Choe`); other spellings of the
//!   same surname (`Yi`, `Rhee`, `Bak`) are equal through
//!   [`crate::lexicon::same_romanised_name`].
//! * **Han characters**: the Mandarin reading (pinyin through `any_ascii`,
//!   as before), and, when every character has a Sino-Korean reading, the
//!   Korean readings: hanja to hangul through libhangul's hanja table (the
//!   `okpyeon` crate, BSD-3-Clause data), then the three romanisations.
//!   A surname character with several readings (`金` 김/금) takes the one
//!   libhangul glosses as a surname (`성`).
//!
//! * **Kanji**, when the whole name is Han characters: the Japanese
//!   readings of a surname + given name split ([`crate::japanese`], from
//!   IPADIC's name entries), in Hepburn with the usual spellings of long
//!   vowels (`Sato`/`Satou`/`Satoh`).
//! * **Kana**: Hepburn ([`crate::kana`]) with long vowels dropped and
//!   written, and, for foreign names in katakana, without the vowels
//!   katakana adds (`ドナルド・トランプ` → `donald tramp`), with `r` and `l`.
//!
//! Pure: the hanja table is a static in the `okpyeon` crate and the
//! Japanese name table is compiled in; the reverse hanja map and the name
//! map are built once on first use.

use std::sync::LazyLock;

use rustc_hash::FxHashMap;

use crate::kana::{self, Long};
use crate::normalise::{NormalisedName, Token, TokenKind, normalise};
use crate::phonetic::skeleton_into;
use crate::translit::Script;

/// A romanisation system for Korean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum System {
    /// Revised Romanization of Korean (2000).
    Revised,
    /// North Korean lists and McCune–Reischauer without diacritics.
    Northern,
    /// Popular South Korean passport/press spellings.
    Popular,
}

const SYSTEMS: [System; 3] = [System::Revised, System::Northern, System::Popular];

const FIRST: u32 = 0xAC00;
const LAST: u32 = 0xD7A3;

/// Initial consonants in Revised Romanization.
const INITIAL: [&str; 19] = [
    "g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p",
    "h",
];
/// Vowels in Revised Romanization.
const VOWEL: [&str; 21] = [
    "a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we",
    "wi", "yu", "eu", "ui", "i",
];
/// Final consonants as pronounced at the end of a syllable.
const FINAL: [&str; 28] = [
    "", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p",
    "t", "t", "ng", "t", "t", "k", "t", "p", "t",
];

/// One-syllable surnames: (hangul, revised/popular spelling, northern spelling).
const SURNAMES: &[(char, &str, &str)] = &[
    ('김', "kim", "kim"),
    ('이', "lee", "ri"),
    ('리', "lee", "ri"),
    ('박', "park", "pak"),
    ('최', "choi", "choe"),
    ('정', "jung", "jong"),
    ('강', "kang", "kang"),
    ('조', "cho", "jo"),
    ('윤', "yoon", "yun"),
    ('장', "jang", "jang"),
    ('임', "lim", "rim"),
    ('림', "lim", "rim"),
    ('한', "han", "han"),
    ('오', "oh", "o"),
    ('서', "seo", "so"),
    ('신', "shin", "sin"),
    ('권', "kwon", "kwon"),
    ('황', "hwang", "hwang"),
    ('안', "ahn", "an"),
    ('송', "song", "song"),
    ('류', "ryu", "ryu"),
    ('유', "yoo", "yu"),
    ('홍', "hong", "hong"),
    ('전', "jeon", "jon"),
    ('고', "ko", "ko"),
    ('문', "moon", "mun"),
    ('양', "yang", "yang"),
    ('손', "son", "son"),
    ('배', "bae", "pae"),
    ('백', "baek", "paek"),
    ('허', "heo", "ho"),
    ('노', "roh", "no"),
    ('로', "roh", "ro"),
    ('남', "nam", "nam"),
    ('심', "shim", "sim"),
    ('하', "ha", "ha"),
    ('곽', "kwak", "kwak"),
    ('성', "sung", "song"),
    ('차', "cha", "cha"),
    ('주', "joo", "ju"),
    ('우', "woo", "u"),
    ('구', "koo", "ku"),
    ('민', "min", "min"),
    ('진', "jin", "jin"),
    ('지', "ji", "ji"),
    ('엄', "um", "om"),
    ('채', "chae", "chae"),
    ('원', "won", "won"),
    ('천', "chun", "chon"),
    ('방', "bang", "pang"),
    ('공', "kong", "kong"),
    ('현', "hyun", "hyon"),
    ('함', "ham", "ham"),
    ('변', "byun", "pyon"),
    ('염', "yeom", "yom"),
    ('여', "yeo", "yo"),
    ('추', "choo", "chu"),
    ('도', "do", "to"),
    ('석', "seok", "sok"),
    ('선', "sun", "son"),
    ('설', "seol", "sol"),
    ('길', "gil", "kil"),
    ('연', "yeon", "yon"),
    ('표', "pyo", "pyo"),
    ('명', "myung", "myong"),
    ('기', "ki", "ki"),
    ('반', "ban", "pan"),
    ('왕', "wang", "wang"),
    ('금', "keum", "kum"),
    ('육', "yook", "yuk"),
    ('탁', "tak", "thak"),
    ('국', "kook", "kuk"),
    ('나', "na", "ra"),
    ('라', "ra", "ra"),
    ('마', "ma", "ma"),
    ('모', "mo", "mo"),
    ('소', "so", "so"),
    ('인', "in", "in"),
    ('위', "wi", "wi"),
    ('제', "je", "je"),
    ('태', "tae", "thae"),
];

fn surname(c: char, system: System) -> Option<&'static str> {
    SURNAMES
        .iter()
        .find(|s| s.0 == c)
        .map(|s| if system == System::Northern { s.2 } else { s.1 })
}

/// Romanise one hangul syllable. `first` says whether it begins a word
/// (given names are romanised syllable by syllable, so every syllable of a
/// given name is romanised as if it stood alone, as the lists do).
fn syllable(c: char, system: System, first: bool, out: &mut String) -> bool {
    let u = c as u32;
    if !(FIRST..=LAST).contains(&u) {
        return false;
    }
    let s = (u - FIRST) as usize;
    let (l, v, t) = (s / (21 * 28), (s / 28) % 21, s % 28);
    let mut init = INITIAL[l];
    let mut vowel = VOWEL[v];
    let fin = FINAL[t];
    match system {
        System::Revised => {}
        System::Northern => {
            if first {
                init = match init {
                    "g" => "k",
                    "d" => "t",
                    "b" => "p",
                    x => x,
                };
            }
            if init == "t" && l == 16 {
                init = "th";
            }
            vowel = match vowel {
                "eo" => "o",
                "yeo" => "yo",
                "eu" => "u",
                "wo" => "wo",
                x => x,
            };
        }
        System::Popular => {
            if first {
                init = match init {
                    "g" => "k",
                    x => x,
                };
            }
            vowel = match (vowel, fin) {
                ("eo", "ng") | ("yeo", "ng") if init != "s" => {
                    if vowel == "eo" {
                        "u"
                    } else {
                        "yu"
                    }
                }
                ("eo", "k") => "u",
                ("yeo", "n") => "yu",
                ("u", "") | ("u", "n") => "oo",
                ("ui", "") => "ee",
                (x, _) => x,
            };
            if fin == "l" && vowel == "eo" {
                vowel = "u";
            }
            if init == "s" && vowel == "i" {
                init = "sh";
            }
        }
    }
    out.push_str(init);
    out.push_str(vowel);
    out.push_str(fin);
    true
}

/// Reverse of libhangul's hanja table: hanja → its Sino-Korean readings,
/// the surname reading (glossed `성`) first.
static HANJA_READINGS: LazyLock<FxHashMap<char, Vec<char>>> = LazyLock::new(|| {
    let mut map: FxHashMap<char, Vec<(bool, char)>> = FxHashMap::default();
    for u in FIRST..=LAST {
        let Some(reading) = char::from_u32(u) else {
            continue;
        };
        let Some(cands) = okpyeon::hanja(reading) else {
            continue;
        };
        for &(h, gloss) in cands {
            // The gloss names the reading it is given for ("오얏 리" under
            // both 리 and 이): prefer the reading the gloss ends with, and a
            // surname gloss.
            let primary = gloss
                .split(',')
                .next()
                .is_some_and(|g| g.trim().ends_with(reading));
            let surname = gloss.contains('성');
            let e = map.entry(h).or_default();
            if !e.iter().any(|x| x.1 == reading) {
                e.push((primary || surname, reading));
            }
        }
    }
    map.into_iter()
        .map(|(h, mut v)| {
            v.sort_by_key(|x| !x.0);
            (h, v.into_iter().map(|x| x.1).collect())
        })
        .collect()
});

/// The Korean reading of a run of hanja, `None` if a character has none.
/// A surname character prefers its commonest surname reading (`金` → `김`,
/// not `금`).
fn hanja_to_hangul(word: &str, is_surname: bool) -> Option<String> {
    let mut out = String::new();
    for (i, c) in word.chars().enumerate() {
        let readings = HANJA_READINGS.get(&c)?;
        let pick = if i == 0 && is_surname {
            // The commoner surname first: the table is in order of frequency.
            SURNAMES
                .iter()
                .map(|s| s.0)
                .find(|s| readings.contains(s))
                .unwrap_or(readings[0])
        } else {
            readings[0]
        };
        out.push(pick);
    }
    Some(out)
}

fn romanise_hangul(word: &str, system: System, is_surname: bool) -> Option<String> {
    let mut s = String::new();
    let chars: Vec<char> = word.chars().collect();
    if is_surname
        && chars.len() == 1
        && let Some(sn) = surname(chars[0], system)
    {
        return Some(sn.to_string());
    }
    for (i, &c) in chars.iter().enumerate() {
        if !syllable(c, system, i == 0, &mut s) {
            return None;
        }
    }
    Some(s)
}

fn has_cjk(name: &NormalisedName) -> bool {
    name.tokens
        .iter()
        .any(|t| matches!(t.script, Script::Hangul | Script::Han | Script::Kana))
}

fn new_token(text: String, original: &str, script: Script) -> Token {
    let mut skeleton = String::new();
    skeleton_into(&text, &mut skeleton);
    Token {
        text,
        skeleton,
        kind: TokenKind::Name,
        script,
        original: original.to_string(),
    }
}

/// Japanese readings of a name written in kanji alone
/// ([`crate::japanese::readings`]), as surname + given name; with
/// `spellings`, also each reading's other spellings of long vowels.
fn japanese_readings(base: &NormalisedName, spellings: bool, out: &mut Vec<NormalisedName>) {
    if base.tokens.is_empty() || base.tokens.iter().any(|t| t.script != Script::Han) {
        return;
    }
    let kanji: String = base.tokens.iter().map(|t| t.original.as_str()).collect();
    for r in crate::japanese::readings(&kanji) {
        if !spellings && r.long != Long::Dropped {
            continue;
        }
        let n = NormalisedName {
            original: base.original.clone(),
            tokens: vec![
                new_token(r.surname.1, &r.surname.0, Script::Han),
                new_token(r.given.1, &r.given.0, Script::Han),
            ],
        };
        if !out.iter().any(|o| o.tokens == n.tokens) {
            out.push(n);
        }
    }
}

/// One way of reading a kana word.
type Reader = dyn Fn(&str) -> Option<String>;

/// Readings of a name written in kana: Hepburn with long vowels dropped
/// and written, and, for a foreign name in katakana, without the vowels
/// katakana adds ([`crate::kana::foreign`]), with `r` and with `l`.
fn kana_readings(base: &NormalisedName, out: &mut Vec<NormalisedName>) {
    if !base.tokens.iter().any(|t| t.script == Script::Kana)
        || base
            .tokens
            .iter()
            .any(|t| !matches!(t.script, Script::Kana | Script::Latin))
    {
        return;
    }
    let ways: [&Reader; 4] = [
        &|w| kana::romanise(w, Long::Dropped),
        &|w| kana::romanise(w, Long::Kana),
        &|w| kana::foreign(w, false),
        &|w| kana::foreign(w, true),
    ];
    for way in ways {
        let mut tokens = Vec::with_capacity(base.tokens.len());
        for t in &base.tokens {
            if t.script != Script::Kana {
                tokens.push(t.clone());
                continue;
            }
            match way(&t.original) {
                Some(text) => tokens.push(retext(t, text)),
                None => tokens.push(t.clone()),
            }
        }
        let n = NormalisedName {
            original: base.original.clone(),
            tokens,
        };
        if !out.iter().any(|o| o.tokens == n.tokens) {
            out.push(n);
        }
    }
}

fn retext(t: &Token, text: String) -> Token {
    let mut skel = String::new();
    skeleton_into(&text, &mut skel);
    Token {
        text,
        skeleton: skel,
        kind: t.kind,
        script: t.script,
        original: t.original.clone(),
    }
}

/// Every plausible reading of a name, the ordinary [`normalise()`] first.
/// Names without hangul, Chinese characters or kana have exactly one
/// reading.
#[must_use]
pub fn readings(name: &str) -> Vec<NormalisedName> {
    readings_with(name, true)
}

/// The readings of a registry name that an index keeps: [`readings`]
/// without the other spellings of long vowels in Japanese readings
/// (`satou`, `satoh` beside `sato`), which a query finds through the
/// spelling kept and scores almost as high.
#[must_use]
pub fn index_readings(name: &str) -> Vec<NormalisedName> {
    readings_with(name, false)
}

fn readings_with(name: &str, spellings: bool) -> Vec<NormalisedName> {
    let base = normalise(name);
    if !has_cjk(&base) {
        return vec![base];
    }
    let mut out = vec![base.clone()];
    kana_readings(&base, &mut out);
    if out.len() > 1 {
        return out;
    }
    // The surname is the first token when it is one CJK syllable.
    let surname_at_0 = base.tokens.first().is_some_and(|t| {
        matches!(t.script, Script::Hangul | Script::Han) && t.original.chars().count() == 1
    });
    for system in SYSTEMS {
        let mut tokens = Vec::with_capacity(base.tokens.len());
        let mut ok = true;
        for (i, t) in base.tokens.iter().enumerate() {
            let is_surname = i == 0 && surname_at_0;
            let hangul = match t.script {
                Script::Hangul => Some(t.original.clone()),
                Script::Han => hanja_to_hangul(&t.original, is_surname),
                _ => {
                    tokens.push(t.clone());
                    continue;
                }
            };
            match hangul.and_then(|h| romanise_hangul(&h, system, is_surname)) {
                Some(text) if !text.is_empty() => tokens.push(retext(t, text)),
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            let n = NormalisedName {
                original: base.original.clone(),
                tokens,
            };
            if !out.iter().any(|o| o.tokens == n.tokens) {
                out.push(n);
            }
        }
    }
    // A hangul name's `any_ascii` reading is Revised Romanization without
    // the name rules; the readings above replace it.
    if base
        .tokens
        .iter()
        .all(|t| t.script == Script::Hangul || t.script == Script::Latin)
        && out.len() > 1
    {
        out.remove(0);
    }
    japanese_readings(&base, spellings, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(name: &str) -> Vec<String> {
        readings(name)
            .iter()
            .map(NormalisedName::canonical)
            .collect()
    }

    #[test]
    fn hangul_names_in_three_systems() {
        let r = texts("김정은");
        assert!(r.contains(&"kim jeongeun".to_string()), "{r:?}");
        assert!(r.contains(&"kim jongun".to_string()), "{r:?}");
        let r = texts("최룡해");
        assert!(r.contains(&"choe ryonghae".to_string()), "{r:?}");
        let r = texts("이명박");
        assert!(r.contains(&"lee myungbak".to_string()), "{r:?}");
        let r = texts("박봉주");
        assert!(r.contains(&"pak pongju".to_string()), "{r:?}");
    }

    #[test]
    fn hanja_names_get_korean_readings_beside_mandarin() {
        let r = texts("金正恩");
        assert_eq!(r[0], "jin zhengen");
        assert!(r.contains(&"kim jongun".to_string()), "{r:?}");
        let r = texts("李明博");
        assert!(r.contains(&"lee myungbak".to_string()), "{r:?}");
    }

    #[test]
    fn other_names_have_one_reading() {
        assert_eq!(readings("Jane Doe").len(), 1);
        assert_eq!(readings("قاسم سلیمانی").len(), 1);
    }
}
