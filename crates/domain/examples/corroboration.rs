//! Measures the derived-report detector (`tocsin_domain::corroboration`) on
//! the labelled set in `bench/corroboration/` and prints precision and
//! recall per part (tuning, held out) and per kind.
//!
//! ```sh
//! cargo run -p tocsin-domain --example corroboration
//! cargo run -p tocsin-domain --example corroboration -- --threshold 0.3 --scores
//! ```
//!
//! Pairs: each `light`, `forward` and `heavy` text against its topic's
//! `original` (positive: found when flagged as derived); each `independent`
//! text, as a newly arrived report, against every other text of its topic
//! (negative: a false flag when any of them flags it). See
//! bench/corroboration/README.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tocsin_domain::corroboration::{Fingerprint, Overlap};
use tocsin_domain::policy::DEFAULT_DERIVED_TEXT_CONTAINMENT;

struct Text {
    topic: String,
    kind: String,
    body: String,
}

fn load(path: &Path) -> Vec<Text> {
    let raw = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut out: Vec<Text> = Vec::new();
    for line in raw.lines() {
        if let Some(head) = line.strip_prefix("=== ") {
            let mut it = head.split_whitespace();
            let (topic, kind) = (it.next().unwrap(), it.next().unwrap());
            out.push(Text {
                topic: topic.to_owned(),
                kind: kind.to_owned(),
                body: String::new(),
            });
        } else if let Some(t) = out.last_mut() {
            t.body.push_str(line);
            t.body.push('\n');
        }
    }
    out
}

/// The detector tocsin used before: word-trigram Jaccard of the raw
/// narratives, derived at 0.6 (the ICD 191 policy's
/// `derived_text_similarity`). Printed beside the new one as a baseline.
fn jaccard(a: &str, b: &str) -> f64 {
    let grams = |s: &str| -> std::collections::BTreeSet<Vec<String>> {
        let w: Vec<String> = s
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        w.windows(3).map(<[String]>::to_vec).collect()
    };
    let (x, y) = (grams(a), grams(b));
    let inter = x.intersection(&y).count() as f64;
    let union = (x.len() + y.len()) as f64 - inter;
    if union == 0.0 { 0.0 } else { inter / union }
}

#[derive(Default)]
struct Tally {
    flagged: usize,
    total: usize,
    /// Flagged by the old detector (baseline).
    old: usize,
}

fn main() {
    let mut threshold = DEFAULT_DERIVED_TEXT_CONTAINMENT;
    let mut show_scores = false;
    let mut dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../bench/corroboration"
    ));
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threshold" => threshold = args.next().unwrap().parse().unwrap(),
            "--scores" => show_scores = true,
            "--dir" => dir = PathBuf::from(args.next().unwrap()),
            other => panic!("unknown argument {other}"),
        }
    }
    println!("threshold {threshold} (containment, word pairs)");
    for part in ["tune", "heldout"] {
        let texts = load(&dir.join(format!("{part}.txt")));
        let mut by_topic: BTreeMap<&str, Vec<&Text>> = BTreeMap::new();
        for t in &texts {
            by_topic.entry(&t.topic).or_default().push(t);
        }
        let mut tally: BTreeMap<&str, Tally> = BTreeMap::new();
        let mut index = IndexTally::default();
        for (topic, ts) in &by_topic {
            let original = ts
                .iter()
                .find(|t| t.kind == "original")
                .expect("a topic has an original");
            let fo = Fingerprint::of(&original.body);
            for (i, t) in ts.iter().enumerate() {
                let f = Fingerprint::of(&t.body);
                let old = match t.kind.as_str() {
                    "original" => continue,
                    "independent" => ts
                        .iter()
                        .enumerate()
                        .any(|(j, o)| j != i && jaccard(&t.body, &o.body) >= 0.6),
                    _ => jaccard(&t.body, &original.body) >= 0.6,
                };
                let (flag, score) = match t.kind.as_str() {
                    "original" => continue,
                    "independent" => ts
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .map(|(_, o)| Overlap::between(&f, &Fingerprint::of(&o.body)))
                        .fold((false, 0.0f64), |(fl, sc), o| {
                            (fl || o.is_derived(threshold), sc.max(o.score()))
                        }),
                    _ => {
                        let o = Overlap::between(&f, &fo);
                        (o.is_derived(threshold), o.score())
                    }
                };
                // The cross-case index: does a lookup of either text find
                // the other's sample (whichever was recorded first)?
                if flag && t.kind != "independent" {
                    let found = |q: &Fingerprint, indexed: &Fingerprint| {
                        let s = indexed.sample();
                        q.hashes().iter().any(|h| s.contains(h))
                    };
                    index.pairs += 1;
                    index.later_rewrite += usize::from(found(&f, &fo));
                    index.later_original += usize::from(found(&fo, &f));
                }
                index.entries += f.sample().len();
                index.texts += 1;
                if show_scores {
                    println!("  {part} {topic:<12} {:<12} {score:.2} {flag}", t.kind);
                }
                let e = tally.entry(t.kind.as_str()).or_default();
                e.total += 1;
                e.flagged += usize::from(flag);
                e.old += usize::from(old);
            }
        }
        let get = |k: &str| tally.get(k).map_or((0, 0), |t| (t.flagged, t.total));
        let (lf, lt) = get("light");
        let (ff, ft) = get("forward");
        let (hf, ht) = get("heavy");
        let (xf, xt) = get("independent");
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let old = |k: &str| tally.get(k).map_or(0, |t| t.old);
        let (rf, rt) = (lf + ff, lt + ft);
        println!("{part} ({} topics):", by_topic.len());
        println!(
            "  recall, light rewrites      {lf}/{lt} = {:.2}",
            ratio(lf, lt)
        );
        println!(
            "  recall, forwarded summaries {ff}/{ft} = {:.2}",
            ratio(ff, ft)
        );
        println!(
            "  recall, rewrites (both)     {rf}/{rt} = {:.2}",
            ratio(rf, rt)
        );
        println!(
            "  recall, heavy paraphrases   {hf}/{ht} = {:.2}",
            ratio(hf, ht)
        );
        println!(
            "  false flags, independents   {xf}/{xt} = {:.3}",
            ratio(xf, xt)
        );
        let (tp, fp) = (rf + hf, xf);
        println!(
            "  precision (all derived kinds vs independents) {tp}/{} = {:.2}",
            tp + fp,
            ratio(tp, tp + fp)
        );
        println!(
            "  baseline (trigram Jaccard >= 0.6): rewrites {}/{rt}, heavy {}/{ht}, false flags {}/{xt}",
            old("light") + old("forward"),
            old("heavy"),
            old("independent")
        );
        println!(
            "  cross-case index (service::similar) finds the flagged pair: rewrite recorded later {}/{n}, original recorded later {}/{n}; {:.1} entries per text",
            index.later_rewrite,
            index.later_original,
            ratio(index.entries, index.texts),
            n = index.pairs,
        );
    }
}

/// How the cross-case index's sampling does on the flagged pairs.
#[derive(Default)]
struct IndexTally {
    pairs: usize,
    later_rewrite: usize,
    later_original: usize,
    entries: usize,
    texts: usize,
}
