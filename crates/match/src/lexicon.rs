//! Small word lists used by the scorer.

use std::sync::LazyLock;

use rustc_hash::{FxHashMap, FxHashSet};

/// Common given-name short forms: (short, full). Looked up both ways.
const NICKNAMES: &[(&str, &str)] = &[
    ("ben", "benjamin"),
    ("benny", "benjamin"),
    ("bill", "william"),
    ("billy", "william"),
    ("will", "william"),
    ("willy", "william"),
    ("bob", "robert"),
    ("bobby", "robert"),
    ("rob", "robert"),
    ("robbie", "robert"),
    ("dick", "richard"),
    ("rick", "richard"),
    ("rich", "richard"),
    ("jim", "james"),
    ("jimmy", "james"),
    ("mike", "michael"),
    ("mick", "michael"),
    ("tom", "thomas"),
    ("tommy", "thomas"),
    ("ted", "theodore"),
    ("ted", "edward"),
    ("ed", "edward"),
    ("eddie", "edward"),
    ("ned", "edward"),
    ("tony", "anthony"),
    ("andy", "andrew"),
    ("alex", "alexander"),
    ("alex", "aleksandr"),
    ("sasha", "alexander"),
    ("sasha", "aleksandr"),
    ("nick", "nicholas"),
    ("joe", "joseph"),
    ("jack", "john"),
    ("johnny", "john"),
    ("dan", "daniel"),
    ("danny", "daniel"),
    ("dave", "david"),
    ("steve", "stephen"),
    ("steve", "steven"),
    ("chris", "christopher"),
    ("matt", "matthew"),
    ("pat", "patrick"),
    ("peggy", "margaret"),
    ("maggie", "margaret"),
    ("liz", "elizabeth"),
    ("beth", "elizabeth"),
    ("betty", "elizabeth"),
    ("kate", "katherine"),
    ("kathy", "katherine"),
    ("jenny", "jennifer"),
    ("sam", "samuel"),
    ("sue", "susan"),
    ("fred", "frederick"),
    ("greg", "gregory"),
    ("jeff", "jeffrey"),
    ("larry", "lawrence"),
    ("harry", "henry"),
    ("hank", "henry"),
    ("chuck", "charles"),
    ("charlie", "charles"),
    ("frank", "francis"),
    ("ray", "raymond"),
    ("ron", "ronald"),
    ("don", "donald"),
    ("walt", "walter"),
    ("vova", "vladimir"),
    ("volodya", "vladimir"),
    ("kolya", "nikolai"),
    ("misha", "mikhail"),
    ("dima", "dmitry"),
    ("pasha", "pavel"),
    ("zhenya", "evgeny"),
    ("zhenya", "yevgeny"),
    ("lyosha", "alexei"),
    ("seryozha", "sergey"),
];

static NICKNAME_SET: LazyLock<FxHashSet<(&'static str, &'static str)>> = LazyLock::new(|| {
    NICKNAMES
        .iter()
        .flat_map(|&(a, b)| [(a, b), (b, a)])
        .collect()
});

/// Whether one token is a known short form of the other.
pub(crate) fn is_nickname(a: &str, b: &str) -> bool {
    a.len().min(b.len()) <= 8 && NICKNAME_SET.contains(&(a, b))
}

/// Spellings of one name in different romanisations, each group one name:
/// Korean surnames (Revised, McCune–Reischauer, North Korean and popular
/// spellings) and the Wade–Giles forms of common Chinese surnames. Two
/// tokens of one group are the same name written another way.
const ROMANISED_GROUPS: &[&[&str]] = &[
    &["lee", "yi", "ri", "rhee", "li", "i", "rhie", "ree"],
    &["kim", "gim"],
    &["park", "pak", "bak", "bahk", "pack", "paik"],
    &["choi", "choe", "chey", "choy", "chwe"],
    &["jung", "jeong", "chung", "chong", "jong", "cheong"],
    &["kang", "gang"],
    &["cho", "jo", "joe", "zo"],
    &["yoon", "yun", "youn"],
    &["jang", "chang"],
    &["lim", "im", "rim", "yim"],
    &["oh", "o"],
    &["seo", "suh", "so", "sir"],
    &["shin", "sin", "shinn"],
    &["kwon", "gwon"],
    &["ahn", "an"],
    &["ryu", "yoo", "yu", "rhyu", "lyu", "ryoo", "you"],
    &["jeon", "chun", "chon", "jun", "jon", "cheon"],
    &["ko", "go", "koh"],
    &["moon", "mun"],
    &["son", "sohn"],
    &["bae", "pae"],
    &["baek", "paek", "baik", "back"],
    &["heo", "huh", "ho", "hur"],
    &["roh", "noh", "no", "ro"],
    &["shim", "sim"],
    &["kwak", "gwak"],
    &["sung", "seong", "song"],
    &["joo", "ju", "chu", "choo"],
    &["woo", "u"],
    &["koo", "ku", "gu"],
    &["um", "eom", "om"],
    &["hyun", "hyeon", "hyon"],
    &["byun", "byeon", "pyon", "pyun"],
    &["yeom", "yum", "yom"],
    &["yeo", "yo", "yuh"],
    &["seok", "suk", "sok"],
    &["seol", "sol", "sul"],
    &["gil", "kil"],
    &["yeon", "yon"],
    &["myung", "myeong", "myong"],
    &["ki", "gi"],
    &["keum", "kum", "geum"],
    &["yook", "yuk"],
    &["kook", "guk", "kuk"],
    &["tae", "thae"],
    &["na", "ra"],
    // Chinese: pinyin and Wade–Giles.
    &["zhang", "chang", "cheung"],
    &["zhou", "chou", "chow"],
    &["jiang", "chiang"],
    &["zhao", "chao", "chiu"],
    &["xu", "hsu"],
    &["zhu", "chu"],
    &["cai", "tsai", "choi"],
    &["deng", "teng"],
    &["guo", "kuo"],
    &["he", "ho"],
    &["xie", "hsieh"],
    &["zheng", "cheng"],
    &["qian", "chien"],
    &["xi", "hsi"],
];

/// The pairs of [`ROMANISED_GROUPS`], and which first letters pair up (a
/// bit per letter: most token pairs are ruled out without hashing).
type Romanised = (FxHashSet<(&'static str, &'static str)>, [u32; 26]);

/// See [`Romanised`].
static ROMANISED: LazyLock<Romanised> = LazyLock::new(|| {
    let mut s = FxHashSet::default();
    let mut firsts = [0u32; 26];
    for g in ROMANISED_GROUPS {
        for &a in *g {
            for &b in *g {
                if a != b {
                    s.insert((a, b));
                    if let (Some(x), Some(y)) = (letter(a), letter(b)) {
                        firsts[x] |= 1 << y;
                    }
                }
            }
        }
    }
    (s, firsts)
});

/// The first letter of a token as 0–25, if it is a–z.
fn letter(t: &str) -> Option<usize> {
    t.bytes()
        .next()
        .filter(u8::is_ascii_lowercase)
        .map(|c| usize::from(c - b'a'))
}

/// Every spelling of [`ROMANISED_GROUPS`] with its other spellings, in
/// group order (a lookup per query token, not a scan of the groups).
static ROMANISED_VARIANTS: LazyLock<FxHashMap<&'static str, Vec<&'static str>>> =
    LazyLock::new(|| {
        let mut m: FxHashMap<&'static str, Vec<&'static str>> = FxHashMap::default();
        for g in ROMANISED_GROUPS {
            for &a in *g {
                let v = m.entry(a).or_default();
                v.extend(g.iter().copied().filter(|&b| b != a));
            }
        }
        m
    });

/// The other spellings of a token's name in other romanisations.
pub(crate) fn romanised_variants(a: &str) -> impl Iterator<Item = &'static str> + '_ {
    ROMANISED_VARIANTS
        .get(a)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .copied()
}

/// Whether two tokens are one name in two romanisations (`lee`/`ri`).
pub(crate) fn same_romanised_name(a: &str, b: &str) -> bool {
    if a.len().max(b.len()) > 6 {
        return false;
    }
    let (Some(x), Some(y)) = (letter(a), letter(b)) else {
        return false;
    };
    let (pairs, firsts) = &*ROMANISED;
    firsts[x] & (1 << y) != 0 && pairs.contains(&(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn romanised_variants_are_the_groups_other_spellings() {
        let mut tokens: Vec<&str> = ROMANISED_GROUPS
            .iter()
            .flat_map(|g| g.iter().copied())
            .collect();
        tokens.extend(["kim jong", "smith", "", "l"]);
        for a in tokens {
            // The definition: every group holding `a`, less `a` itself.
            let want: Vec<&str> = ROMANISED_GROUPS
                .iter()
                .filter(|g| g.contains(&a))
                .flat_map(|g| g.iter().copied())
                .filter(|&b| b != a)
                .collect();
            assert_eq!(romanised_variants(a).collect::<Vec<_>>(), want, "{a}");
        }
        assert!(romanised_variants("ri").any(|v| v == "lee"));
    }
}
