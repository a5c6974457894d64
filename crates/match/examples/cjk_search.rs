//! Screening with CJK names on either side: builds an index of the curated
//! CJK names (`bench/names/data/cjk_names.csv`) in their own script and
//! searches each romanisation (registry side read), then an index of the
//! romanisations searched with each native name (query side read). A hit
//! counts when the top entry is the same person at or above
//! `DEFAULT_THRESHOLD`. Prints recall by script, and the index size.
//!
//! `cargo run -p tocsin-match --release --features bench --example cjk_search -- bench/names/data/cjk_names.csv`

use tocsin_match::{DEFAULT_THRESHOLD, Entry, EntryKind, Index, IndexOptions, SearchOptions};

fn entry(id: &str, name: &str) -> Entry {
    Entry {
        id: id.to_string(),
        list: "cjk".to_string(),
        kind: EntryKind::Person,
        name: name.to_string(),
        aliases: Vec::new(),
        original_script: Vec::new(),
        country: None,
        program: None,
    }
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: cjk_search cjk_names.csv");
    let mut rdr = csv::Reader::from_path(&path).expect("open csv");
    // (person, script, native, latin)
    let rows: Vec<[String; 4]> = rdr
        .records()
        .map(|r| {
            let r = r.expect("record");
            [
                r[0].to_string(),
                r[1].to_string(),
                r[2].to_string(),
                r[3].to_string(),
            ]
        })
        .collect();
    let opts = SearchOptions::default();
    let scripts: std::collections::BTreeSet<String> = rows.iter().map(|r| r[1].clone()).collect();
    for (label, registry_native) in [
        ("registry native, query Latin", true),
        ("registry Latin, query native", false),
    ] {
        println!(
            "{label} (one index per script, so that a person listed in two scripts is one entry):"
        );
        let (mut n_all, mut k_all) = (0u32, 0u32);
        for script in &scripts {
            let mut entries: Vec<Entry> = Vec::new();
            let mut queries: Vec<(String, String)> = Vec::new(); // (person, query)
            let mut seen = std::collections::HashSet::new();
            for [p, sc, native, latin] in rows.iter().filter(|r| &r[1] == script) {
                let _ = sc;
                let (indexed, query) = if registry_native {
                    (native, latin)
                } else {
                    (latin, native)
                };
                if seen.insert((p.clone(), indexed.clone())) {
                    entries.push(entry(p, indexed));
                }
                queries.push((p.clone(), query.clone()));
            }
            queries.sort();
            queries.dedup();
            let ix = Index::build_with(&entries, &IndexOptions::default());
            let mut k = 0u32;
            for (p, q) in &queries {
                let hits = ix.search(q, &opts);
                let ok = hits
                    .first()
                    .is_some_and(|h| &h.entry_id == p && h.score >= DEFAULT_THRESHOLD);
                if !ok && std::env::var_os("CJK_SEARCH_MISSES").is_some() {
                    let top = hits.first().map(|h| (h.primary_name.as_str(), h.score));
                    println!("    miss {script} {q} ({p}): top {top:?}");
                }
                k += u32::from(ok);
            }
            let n = queries.len() as u32;
            n_all += n;
            k_all += k;
            println!(
                "  {script}: {} entries, {} indexed names, recall@1 {k}/{n} = {:.3}",
                entries.len(),
                ix.name_count(),
                f64::from(k) / f64::from(n)
            );
        }
        println!(
            "  all: {k_all}/{n_all} = {:.3}",
            f64::from(k_all) / f64::from(n_all)
        );
    }
}
