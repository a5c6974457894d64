//! Scores every pair of an evaluation CSV (`bench/names/make_eval.py`
//! output: columns `…,name1,name2,is_match` by header) and writes one
//! score per line to standard output, in input order; the time per pair
//! goes to standard error.
//!
//! `cargo run -p tocsin-match --release --features bench --example pair_scores -- work/eval.csv > work/tocsin_scores.txt`

use std::io::Write;
use std::time::Instant;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: pair_scores EVAL.csv");
    let mut rdr = csv::Reader::from_path(&path).expect("open eval csv");
    let headers = rdr.headers().expect("header").clone();
    let col = |n: &str| {
        headers
            .iter()
            .position(|h| h == n)
            .unwrap_or_else(|| panic!("no column {n}"))
    };
    let (c1, c2) = (col("name1"), col("name2"));
    let pairs: Vec<(String, String)> = rdr
        .records()
        .map(|r| {
            let r = r.expect("record");
            (r[c1].to_string(), r[c2].to_string())
        })
        .collect();
    let start = Instant::now();
    let scores: Vec<f32> = pairs
        .iter()
        .map(|(a, b)| tocsin_match::score(a, b).score)
        .collect();
    let per_pair = start.elapsed().as_secs_f64() / pairs.len().max(1) as f64;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for s in scores {
        writeln!(out, "{s:.5}").expect("write");
    }
    eprintln!(
        "pairs {} time_per_pair_us {:.2} threshold {}",
        pairs.len(),
        per_pair * 1e6,
        tocsin_match::DEFAULT_THRESHOLD
    );
}
