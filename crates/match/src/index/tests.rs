//! Tests of the whole index: building from entries and registries, and
//! searching across typos, orders, scripts and readings. The stored
//! structures are tested beside their code.

use rustc_hash::FxHashMap;

use super::*;
use crate::registry::{Alias, AliasQuality, Entry, Registry};

fn entry(id: &str, kind: EntryKind, name: &str, aliases: &[&str], orig: &[&str]) -> Entry {
    Entry {
        id: id.into(),
        list: "test".into(),
        kind,
        name: name.into(),
        aliases: aliases
            .iter()
            .map(|a| Alias {
                name: (*a).into(),
                quality: AliasQuality::Strong,
            })
            .collect(),
        original_script: orig.iter().map(|s| (*s).to_string()).collect(),
        country: None,
        program: None,
    }
}

/// The hits for `q`, checking that the first is `want`, above the
/// default threshold.
fn first_is(ix: &Index, q: &str, want: &str) -> Vec<Hit> {
    let hits = ix.search(q, &SearchOptions::default());
    assert_eq!(
        hits.first().map(|h| h.entry_id.as_str()),
        Some(want),
        "{q}: {hits:?}"
    );
    assert!(hits[0].score >= crate::DEFAULT_THRESHOLD, "{q}: {hits:?}");
    hits
}

#[test]
fn cjk_queries_find_romanised_entries_in_every_reading() {
    let entries = vec![
        entry("k1", EntryKind::Person, "Kim Jong Un", &[], &[]),
        entry("k2", EntryKind::Person, "Kim Yo Jong", &[], &[]),
        entry("j1", EntryKind::Person, "Shinzo Abe", &[], &[]),
        entry("j2", EntryKind::Person, "Yuriko Koike", &[], &[]),
        entry("r1", EntryKind::Person, "Donald Trump", &[], &[]),
        entry("c1", EntryKind::Person, "Xi Jinping", &[], &[]),
    ];
    let ix = Index::build_with(&entries, &IndexOptions::default());
    for (q, want) in [
        ("金正恩", "k1"),
        ("김정은", "k1"),
        ("安倍晋三", "j1"),
        ("ドナルド・トランプ", "r1"),
        ("习近平", "c1"),
    ] {
        let hits = first_is(&ix, q, want);
        // The score is the pair scorer's, explained on the reading used.
        let direct = crate::score(q, &hits[0].matched_name).score;
        assert!(
            (direct - hits[0].score).abs() < 1e-4,
            "{q}: {direct} vs {hits:?}"
        );
        assert!(!hits[0].explanation.matches.is_empty(), "{q}");
    }
}

#[test]
fn entries_listed_in_cjk_scripts_are_found_by_their_romanisations() {
    let entries = vec![
        entry("j1", EntryKind::Person, "山田太郎", &[], &[]),
        entry("k1", EntryKind::Person, "Someone Else", &[], &["김정은"]),
        entry("j2", EntryKind::Person, "佐藤栄作", &[], &[]),
        entry("c1", EntryKind::Person, "习近平", &[], &[]),
    ];
    let ix = Index::build_with(&entries, &IndexOptions::default());
    for (q, want) in [
        ("Taro Yamada", "j1"),
        ("Kim Jong Un", "k1"),
        ("Eisaku Sato", "j2"),
        ("Xi Jinping", "c1"),
    ] {
        first_is(&ix, q, want);
    }
    // The primary name of an entry is still its first name.
    let hits = ix.search("Taro Yamada", &SearchOptions::default());
    assert_eq!(hits[0].primary_name, "山田太郎");
}

fn registry() -> Registry {
    let mut r = Registry::new("test");
    r.entries = vec![
        entry(
            "p1",
            EntryKind::Person,
            "PUTIN, Vladimir Vladimirovich",
            &["Vova Putin"],
            &[],
        ),
        entry(
            "p2",
            EntryKind::Person,
            "Qasem Soleimani",
            &["Qassem Suleimani"],
            &[],
        ),
        entry("p3", EntryKind::Person, "Vladimir Pushkin", &[], &[]),
        entry("e1", EntryKind::Entity, "Siemens AG", &[], &[]),
        entry(
            "p4",
            EntryKind::Person,
            "SADDAM HUSSEIN AL-TIKRITI",
            &[],
            &["صدام حسين التكريتي"],
        ),
        entry("p5", EntryKind::Person, "Olaf Scholz", &[], &[]),
    ];
    r
}

#[test]
fn finds_typos_reorderings_and_scripts() {
    let reg = registry();
    let ix = Index::build(&[&reg]);
    assert_eq!(ix.len(), 6);
    assert!(ix.name_count() >= 8);
    let top = |q: &str| {
        let hits = ix.search(q, &SearchOptions::default());
        hits.first()
            .map(|h| (h.entry_id.clone(), h.score))
            .unwrap_or_default()
    };
    assert_eq!(top("Vladimir Putin").0, "p1");
    assert_eq!(top("Putin Vladimr").0, "p1");
    assert_eq!(top("VladimirPutin").0, "p1");
    assert_eq!(top("قاسم سلیمانی").0, "p2");
    assert_eq!(top("Ghasem Soleymani").0, "p2");
    assert_eq!(top("Siemens Aktiengesellschaft").0, "e1");
    assert_eq!(top("Olaf Schloz").0, "p5");
    assert_eq!(top("Saddam Husayn al-Tikriti").0, "p4");
    let hits = ix.search("Vladimir Putin", &SearchOptions::default());
    assert!(hits[0].score > 0.9);
    assert!(!hits[0].explanation.matches.is_empty());
    assert_eq!(hits[0].primary_name, "PUTIN, Vladimir Vladimirovich");
    // The Pushkin entry is a weaker candidate.
    assert!(hits.iter().any(|h| h.entry_id == "p3" && h.score < 0.75));
}

#[test]
fn kind_filter_and_limits() {
    let reg = registry();
    let ix = Index::build(&[&reg]);
    let opts = SearchOptions {
        kind: Some(EntryKind::Entity),
        ..SearchOptions::default()
    };
    let hits = ix.search("Siemens", &opts);
    assert!(hits.iter().all(|h| h.kind == EntryKind::Entity));
    let opts = SearchOptions {
        limit: 1,
        ..SearchOptions::default()
    };
    assert_eq!(ix.search("Vladimir", &opts).len(), 1);
    assert!(ix.search("", &opts).is_empty());
    assert!(ix.search("zzzzqqqq", &SearchOptions::default()).is_empty());
    let stats = ix.stats();
    assert_eq!(stats.entries, 6);
    assert!(stats.heap_bytes > 0);
}

/// Sorted lowercase words: recognises the same party listed twice (the
/// OFAC and UN records of one person write the name in different orders).
fn party_key(s: &str) -> String {
    let lower: String = s
        .to_lowercase()
        .chars()
        .filter(|&c| !matches!(c, '\'' | '’' | '`'))
        .collect();
    let mut w: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    w.sort_unstable();
    w.join(" ")
}

struct CrossScript {
    persons: (u32, u32, u32),
    entities: (u32, u32, u32),
}

/// Query every UN entry that has an original-script name against an
/// index where that entry is only known in the *other* script; count
/// top-1 and top-10 hits on the entry (or a duplicate listing of the
/// same party).
fn cross_script(reverse: bool) -> CrossScript {
    use crate::registry::{parse_ofac, parse_un_xml};
    use crate::test_support::open;
    let ofac = parse_ofac(
        open("registry/ofac_sdn.csv"),
        Some(open("registry/ofac_alt.csv")),
        |_| {},
    )
    .expect("OFAC");
    let un = parse_un_xml(open("registry/un_consolidated.xml"), |_| {}).expect("UN");
    let all: Vec<&Entry> = un.entries.iter().chain(&ofac.entries).collect();
    let mut by_key: FxHashMap<String, Vec<usize>> = FxHashMap::default();
    for (i, e) in all.iter().enumerate() {
        for n in e.names() {
            by_key.entry(party_key(n)).or_default().push(i);
        }
    }
    // Forward: Latin names only, query in original script. Reverse:
    // entries with an original-script name are indexed by it alone,
    // queried with their Latin primary name.
    let indexed: Vec<Entry> = all
        .iter()
        .map(|e| {
            let mut e = (*e).clone();
            if reverse && !e.original_script.is_empty() {
                e.name = e.original_script[0].clone();
                e.aliases.clear();
                e.original_script.clear();
            } else {
                e.original_script.clear();
            }
            e
        })
        .collect();
    let ix = Index::build_with(&indexed, &IndexOptions::default());
    let mut out = CrossScript {
        persons: (0, 0, 0),
        entities: (0, 0, 0),
    };
    for (i, e) in all.iter().enumerate() {
        let Some(orig) = e.original_script.first() else {
            continue;
        };
        let query = if reverse { &e.name } else { orig };
        let ok: Vec<usize> = std::iter::once(i)
            .chain(
                e.names()
                    .flat_map(|n| by_key[&party_key(n)].iter().copied()),
            )
            .collect();
        let hits = ix.search(query, &SearchOptions::default());
        let top1 = hits
            .first()
            .is_some_and(|h| ok.contains(&(h.entry as usize)));
        let top10 = hits.iter().any(|h| ok.contains(&(h.entry as usize)));
        let c = if e.kind == EntryKind::Person {
            &mut out.persons
        } else {
            &mut out.entities
        };
        c.0 += 1;
        c.1 += u32::from(top1);
        c.2 += u32::from(top10);
    }
    out
}

fn rate(c: (u32, u32, u32)) -> (f64, f64) {
    (
        f64::from(c.1) / f64::from(c.0.max(1)),
        f64::from(c.2) / f64::from(c.0.max(1)),
    )
}

/// Cross-script acceptance: UN `NAME_ORIGINAL_SCRIPT` names (Arabic,
/// Persian, Cyrillic) must find their Latin-script entry among the
/// ~25k OFAC + UN names, and the Latin names must find entries indexed
/// only in the original script.
///
/// The bar is on persons: their Latin names are transliterations, which
/// this crate is built to bridge (>= 0.85 at top-1, >= 0.92 in the top
/// 10, i.e. a screening would surface them). Entity names are often
/// translations (`جبهة النصرة لأهل الشام` vs "Al-Nusrah Front for the
/// People of the Levant"), which no transliteration can match; they are
/// reported, with a low bar guarding against regressions.
#[test]
fn cross_script_original_names_find_latin_entries_and_back() {
    for reverse in [false, true] {
        let r = cross_script(reverse);
        let (p1, p10) = rate(r.persons);
        let (e1, e10) = rate(r.entities);
        let dir = if reverse {
            "Latin -> original script"
        } else {
            "original script -> Latin"
        };
        println!(
            "{dir}: persons {} queries, top-1 {p1:.3}, top-10 {p10:.3}; entities {} queries, top-1 {e1:.3}, top-10 {e10:.3}",
            r.persons.0, r.entities.0
        );
        assert!(
            r.persons.0 >= 300,
            "expected the UN list's ~340 persons with original-script names"
        );
        assert!(p1 >= 0.85, "{dir}: person top-1 {p1:.3} < 0.85");
        assert!(p10 >= 0.92, "{dir}: person top-10 {p10:.3} < 0.92");
        assert!(e10 >= 0.3, "{dir}: entity top-10 {e10:.3} < 0.30");
    }
}

#[test]
fn index_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Index>();
    let reg = registry();
    let ix = Index::build(&[&reg]);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                assert_eq!(
                    ix.search("Olaf Scholz", &SearchOptions::default())[0].entry_id,
                    "p5"
                )
            });
        }
    });
}
