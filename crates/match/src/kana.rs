//! Kana to Latin letters: Hepburn with the spellings Japanese names are
//! actually listed under, and a reading for foreign names in katakana.
//!
//! A Japanese name has one kana spelling and several Latin ones, because
//! long vowels are written differently: `さとう` is `Satō` in Hepburn,
//! `Sato` in passports and the press, `Satou` in word-processor
//! romanisation and `Satoh` in some passports. [`romanise`] gives each
//! [`Long`] spelling; the Kunrei/Nihon-shiki spellings (`si`, `tu`, `hu`)
//! need no reading of their own, because the phonetic skeleton already puts
//! `shi`/`si` and `tsu`/`tu` in one class.
//!
//! A foreign name in katakana (`ドナルド・トランプ`) adds vowels the
//! original does not have: every consonant but `n` carries one
//! (`do-na-ru-do to-ra-n-pu`). [`foreign`] drops the vowels that katakana
//! adds by convention (`u` after most consonants, `o` after `t`/`d`) where
//! a consonant or the end of the word follows, reads `r` as `l` when asked,
//! and `n` before `p`/`b` as `m`: `donald trump`.
//!
//! Pure and table-driven; no allocation beyond the output.

/// How a long vowel is spelt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Long {
    /// Not written: `Sato`, `Ito`, `Yuko`, `Ono` (passports, the press).
    Dropped,
    /// Written as in kana: `Satou`, `Yuuko`, `Oono`.
    Kana,
    /// `oh` for a long `o`, other long vowels dropped: `Satoh`, `Ohno`.
    Oh,
}

/// Every [`Long`] spelling, the commonest first.
pub const LONGS: [Long; 3] = [Long::Dropped, Long::Kana, Long::Oh];

/// One mora of a kana word: its letters and whether it lengthens the vowel
/// before it (a `ー`, or `う` after an `o`/`u`, `お` after an `o`).
struct Mora {
    text: &'static str,
    long: bool,
    /// A small `ッ`: the next consonant is doubled.
    sokuon: bool,
}

/// Whether `c` is hiragana or katakana (the blocks [`romanise`] reads).
#[must_use]
pub fn is_kana(c: char) -> bool {
    matches!(c as u32, 0x3041..=0x309F | 0x30A0..=0x30FF | 0x31F0..=0x31FF)
}

fn to_katakana(c: char) -> char {
    match c as u32 {
        u @ 0x3041..=0x3096 => char::from_u32(u + 0x60).unwrap_or(c),
        _ => c,
    }
}

/// Hepburn letters of one full-size katakana.
fn base(c: char) -> Option<&'static str> {
    Some(match c {
        'ア' => "a",
        'イ' => "i",
        'ウ' => "u",
        'エ' => "e",
        'オ' => "o",
        'カ' => "ka",
        'キ' => "ki",
        'ク' => "ku",
        'ケ' => "ke",
        'コ' => "ko",
        'ガ' => "ga",
        'ギ' => "gi",
        'グ' => "gu",
        'ゲ' => "ge",
        'ゴ' => "go",
        'サ' => "sa",
        'シ' => "shi",
        'ス' => "su",
        'セ' => "se",
        'ソ' => "so",
        'ザ' => "za",
        'ジ' | 'ヂ' => "ji",
        'ズ' | 'ヅ' => "zu",
        'ゼ' => "ze",
        'ゾ' => "zo",
        'タ' => "ta",
        'チ' => "chi",
        'ツ' => "tsu",
        'テ' => "te",
        'ト' => "to",
        'ダ' => "da",
        'デ' => "de",
        'ド' => "do",
        'ナ' => "na",
        'ニ' => "ni",
        'ヌ' => "nu",
        'ネ' => "ne",
        'ノ' => "no",
        'ハ' => "ha",
        'ヒ' => "hi",
        'フ' => "fu",
        'ヘ' => "he",
        'ホ' => "ho",
        'バ' => "ba",
        'ビ' => "bi",
        'ブ' => "bu",
        'ベ' => "be",
        'ボ' => "bo",
        'パ' => "pa",
        'ピ' => "pi",
        'プ' => "pu",
        'ペ' => "pe",
        'ポ' => "po",
        'マ' => "ma",
        'ミ' => "mi",
        'ム' => "mu",
        'メ' => "me",
        'モ' => "mo",
        'ヤ' => "ya",
        'ユ' => "yu",
        'ヨ' => "yo",
        'ラ' => "ra",
        'リ' => "ri",
        'ル' => "ru",
        'レ' => "re",
        'ロ' => "ro",
        'ワ' => "wa",
        'ヰ' => "i",
        'ヱ' => "e",
        'ヲ' => "o",
        'ン' => "n",
        'ヴ' => "vu",
        _ => return None,
    })
}

/// Small kana that combine with the mora before them.
fn small(c: char) -> Option<&'static str> {
    Some(match c {
        'ャ' => "ya",
        'ュ' => "yu",
        'ョ' => "yo",
        'ァ' => "a",
        'ィ' => "i",
        'ゥ' => "u",
        'ェ' => "e",
        'ォ' => "o",
        'ヮ' => "wa",
        _ => return None,
    })
}

/// Combined morae (`キャ`, `シュ`, `ティ`, `ファ`…) are looked up whole.
fn combined(a: &str, s: &str) -> Option<&'static str> {
    const TABLE: &[(&str, &str, &str)] = &[
        ("shi", "ya", "sha"),
        ("shi", "yu", "shu"),
        ("shi", "yo", "sho"),
        ("shi", "e", "she"),
        ("chi", "ya", "cha"),
        ("chi", "yu", "chu"),
        ("chi", "yo", "cho"),
        ("chi", "e", "che"),
        ("ji", "ya", "ja"),
        ("ji", "yu", "ju"),
        ("ji", "yo", "jo"),
        ("ji", "e", "je"),
        ("te", "i", "ti"),
        ("de", "i", "di"),
        ("te", "yu", "tyu"),
        ("de", "yu", "dyu"),
        ("to", "u", "tu"),
        ("do", "u", "du"),
        ("fu", "a", "fa"),
        ("fu", "i", "fi"),
        ("fu", "e", "fe"),
        ("fu", "o", "fo"),
        ("fu", "yu", "fyu"),
        ("vu", "a", "va"),
        ("vu", "i", "vi"),
        ("vu", "e", "ve"),
        ("vu", "o", "vo"),
        ("u", "a", "wa"),
        ("u", "i", "wi"),
        ("u", "e", "we"),
        ("u", "o", "wo"),
        ("tsu", "a", "tsa"),
        ("tsu", "i", "tsi"),
        ("tsu", "e", "tse"),
        ("tsu", "o", "tso"),
        ("i", "e", "ye"),
        ("ku", "a", "kwa"),
        ("gu", "a", "gwa"),
        ("ki", "ya", "kya"),
        ("ki", "yu", "kyu"),
        ("ki", "yo", "kyo"),
        ("gi", "ya", "gya"),
        ("gi", "yu", "gyu"),
        ("gi", "yo", "gyo"),
        ("ni", "ya", "nya"),
        ("ni", "yu", "nyu"),
        ("ni", "yo", "nyo"),
        ("hi", "ya", "hya"),
        ("hi", "yu", "hyu"),
        ("hi", "yo", "hyo"),
        ("bi", "ya", "bya"),
        ("bi", "yu", "byu"),
        ("bi", "yo", "byo"),
        ("pi", "ya", "pya"),
        ("pi", "yu", "pyu"),
        ("pi", "yo", "pyo"),
        ("mi", "ya", "mya"),
        ("mi", "yu", "myu"),
        ("mi", "yo", "myo"),
        ("ri", "ya", "rya"),
        ("ri", "yu", "ryu"),
        ("ri", "yo", "ryo"),
        ("su", "i", "si"),
        ("zu", "i", "zi"),
        ("ku", "o", "kwo"),
        ("ku", "i", "kwi"),
        ("ku", "e", "kwe"),
    ];
    TABLE.iter().find(|t| t.0 == a && t.1 == s).map(|t| t.2)
}

fn last_vowel(s: &str) -> Option<u8> {
    s.bytes().last().filter(|b| b"aeiou".contains(b))
}

/// Split a kana word into morae. Characters that are not kana end the
/// word; `None` if the word holds none.
fn morae(word: &str) -> Option<Vec<Mora>> {
    let chars: Vec<char> = word.chars().map(to_katakana).collect();
    let mut out: Vec<Mora> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c == 'ッ' {
            out.push(Mora {
                text: "",
                long: false,
                sokuon: true,
            });
            continue;
        }
        if c == 'ー' {
            out.push(Mora {
                text: "",
                long: true,
                sokuon: false,
            });
            continue;
        }
        let Some(mut text) = base(c) else {
            continue;
        };
        if let Some(&n) = chars.get(i)
            && let Some(s) = small(n)
        {
            if let Some(t) = combined(text, s) {
                text = t;
            }
            i += 1;
        }
        // A `ウ` after an o/u mora, and an `オ` after an o mora, lengthen
        // it, unless another vowel follows (`いのうえ` is Ino-ue).
        let next_is_vowel = chars
            .get(i)
            .is_some_and(|&n| matches!(n, 'ア' | 'イ' | 'ウ' | 'エ' | 'オ'));
        let prev = out.last().and_then(|m| last_vowel(m.text));
        let long = !next_is_vowel
            && ((text == "u" && matches!(prev, Some(b'o' | b'u')))
                || (text == "o" && prev == Some(b'o')));
        out.push(Mora {
            text,
            long,
            sokuon: false,
        });
    }
    if out.iter().all(|m| m.text.is_empty()) {
        None
    } else {
        Some(out)
    }
}

/// Romanise a kana word in Hepburn with long vowels spelt as `long` says.
/// `None` if the word has no kana.
#[must_use]
pub fn romanise(word: &str, long: Long) -> Option<String> {
    let morae = morae(word)?;
    let mut out = String::with_capacity(word.len());
    let mut double = false;
    for m in &morae {
        if m.sokuon {
            double = true;
            continue;
        }
        if m.long {
            let prev = last_vowel(&out);
            match long {
                Long::Dropped => {}
                Long::Kana => match (m.text, prev) {
                    ("", Some(v)) => out.push(char::from(v)),
                    ("", None) => {}
                    (t, _) => out.push_str(t),
                },
                Long::Oh => {
                    if prev == Some(b'o') {
                        out.push('h');
                    }
                }
            }
            continue;
        }
        if double {
            double = false;
            if m.text.starts_with("ch") {
                out.push('t');
            } else if let Some(c) = m.text.chars().next().filter(|c| !"aeiou".contains(*c)) {
                out.push(c);
            }
        }
        out.push_str(m.text);
    }
    if out.is_empty() { None } else { Some(out) }
}

/// Read a katakana word as the foreign name it transcribes: Hepburn with
/// long vowels dropped, then the vowels katakana adds dropped (`u` after a
/// consonant other than `ts`/`y`, `o` after `t`/`d`, `i` after `ch`/`j`
/// `r` read as `l` when `l_for_r`, `n` before `p`/`b`/`m` read as `m`.
/// `None` if the word has no kana.
#[must_use]
pub fn foreign(word: &str, l_for_r: bool) -> Option<String> {
    let morae = morae(word)?;
    let mut out = String::with_capacity(word.len());
    for (k, m) in morae.iter().enumerate() {
        // A small `ッ` marks a short vowel before a consonant
        // (`バッシャール` Bashar): the consonant is written once.
        if m.sokuon || m.long {
            continue;
        }
        let mut t = m.text.to_string();
        if l_for_r && t.starts_with('r') {
            t.replace_range(0..1, "l");
        }
        // The next mora starts with a consonant, or the word ends.
        let next = morae[k + 1..]
            .iter()
            .find(|m| !m.sokuon && !m.long && !m.text.is_empty());
        let before_consonant =
            next.is_none_or(|m| !m.text.starts_with(['a', 'e', 'i', 'o', 'u', 'y']));
        // At the start of a word only before a cluster katakana cannot
        // write: `トランプ` Trump, `プリ` Pri, `スタ` Sta.
        let cluster = next.is_some_and(|m| {
            m.text.starts_with('r') || (t == "su" && m.text.starts_with(['t', 'k', 'p']))
        });
        let epenthetic = before_consonant
            && (k > 0 || cluster)
            && match t.as_str() {
                "to" | "do" => true,
                "yu" => false,
                x => x.len() == 2 && x.ends_with('u'),
            };
        if epenthetic {
            t.pop();
        }
        if t == "n" && next.is_some_and(|m| m.text.starts_with(['p', 'b', 'm'])) {
            t = "m".to_string();
        }
        out.push_str(&t);
    }
    if out.is_empty() {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(w: &str, l: Long) -> String {
        romanise(w, l).unwrap_or_default()
    }

    #[test]
    fn hepburn_with_long_vowels_three_ways() {
        assert_eq!(r("さとう", Long::Dropped), "sato");
        assert_eq!(r("さとう", Long::Kana), "satou");
        assert_eq!(r("さとう", Long::Oh), "satoh");
        assert_eq!(r("オオノ", Long::Oh), "ohno");
        assert_eq!(r("ジュンイチロウ", Long::Dropped), "junichiro");
        assert_eq!(r("イノウエ", Long::Dropped), "inoue");
        assert_eq!(r("キョウコ", Long::Dropped), "kyoko");
        assert_eq!(r("ハットリ", Long::Dropped), "hattori");
        assert_eq!(r("マッチャ", Long::Dropped), "matcha");
        assert_eq!(r("シンゾウ", Long::Dropped), "shinzo");
        assert_eq!(r("ユウコ", Long::Kana), "yuuko");
    }

    #[test]
    fn foreign_names_lose_katakana_vowels() {
        assert_eq!(foreign("ドナルド", true).as_deref(), Some("donald"));
        assert_eq!(foreign("トランプ", false).as_deref(), Some("tramp"));
        assert_eq!(foreign("プーチン", false).as_deref(), Some("puchin"));
        assert_eq!(foreign("マクロン", false).as_deref(), Some("makron"));
    }
}
