//! Calibration helper: scores name_pairs.csv, sweeps the threshold and
//! prints the errors at the default threshold.
//!
//! `cargo run -p tocsin-match --release --features bench --example name_eval -- [path] [key=value…] [-v]`
//! where keys are `ScoreConfig` fields (e.g. `substitution=2.5`).

use std::time::Instant;

use tocsin_match::{DEFAULT_THRESHOLD, ScoreConfig, normalise, score, score::score_value_with};

fn main() {
    let mut path = format!(
        "{}/../../../shared/data/names/name_pairs.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut cfg = ScoreConfig::default();
    let mut verbose = false;
    let mut quiet = false;
    let mut threshold = DEFAULT_THRESHOLD;
    for arg in std::env::args().skip(1) {
        if arg == "-v" {
            verbose = true;
        } else if arg == "-q" {
            quiet = true;
        } else if let Some((k, v)) = arg.split_once('=') {
            let v: f32 = v.parse().expect("number");
            match k {
                "w_name" => cfg.w_name = v,
                "w_initial" => cfg.w_initial = v,
                "w_particle" => cfg.w_particle = v,
                "w_particle_strong" => cfg.w_particle_strong = v,
                "w_title" => cfg.w_title = v,
                "w_honorific" => cfg.w_honorific = v,
                "w_legal" => cfg.w_legal = v,
                "w_stop" => cfg.w_stop = v,
                "w_number" => cfg.w_number = v,
                "substitution" => cfg.substitution = v,
                "extra" => cfg.extra = v,
                "extra_org" => cfg.extra_org = v,
                "patronymic_swap_factor" => cfg.patronymic_swap_factor = v,
                "steep" => cfg.steep = v,
                "min_pair" => cfg.min_pair = v,
                "phonetic_equal" => cfg.phonetic_equal = v,
                "phonetic_min_lev" => cfg.phonetic_min_lev = v,
                "single_name_factor" => cfg.single_name_factor = v,
                "no_name_factor" => cfg.no_name_factor = v,
                "legal_conflict_factor" => cfg.legal_conflict_factor = v,
                "threshold" => threshold = v,
                _ => panic!("unknown key {k}"),
            }
        } else {
            path = arg;
        }
    }
    let mut rdr = csv::Reader::from_path(&path).expect("open name_pairs.csv");
    let mut rows = Vec::new();
    for r in rdr.records() {
        let r = r.expect("row");
        rows.push((
            r[2].to_string(),
            r[3].to_string(),
            &r[4] == "true",
            r[1].to_string(),
        ));
    }
    let normed: Vec<_> = rows
        .iter()
        .map(|(a, b, _, _)| (normalise(a), normalise(b)))
        .collect();
    let scores: Vec<f32> = normed
        .iter()
        .map(|(a, b)| score_value_with(a, b, &cfg))
        .collect();
    let f1_at = |t: f32| {
        let (mut tp, mut fp, mut fn_) = (0, 0, 0);
        for (s, r) in scores.iter().zip(&rows) {
            match (*s >= t, r.2) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fn_ += 1,
                _ => {}
            }
        }
        let p = tp as f64 / (tp + fp).max(1) as f64;
        let r = tp as f64 / (tp + fn_).max(1) as f64;
        (
            p,
            r,
            if p + r > 0.0 {
                2.0 * p * r / (p + r)
            } else {
                0.0
            },
        )
    };
    let mut best = (0.0, 0.0);
    for i in 30..100 {
        let t = i as f32 / 100.0;
        let (_, _, f) = f1_at(t);
        if f > best.1 {
            best = (t, f);
        }
    }
    let (p, r, f) = f1_at(threshold);
    println!(
        "threshold {threshold:.2}: precision {p:.3} recall {r:.3} F1 {f:.3}   (best F1 {:.3} at {:.2})",
        best.1, best.0
    );
    if quiet {
        return;
    }
    // Timing: normalise both + score, per pair.
    let start = Instant::now();
    let mut acc = 0f32;
    let reps = 20;
    for _ in 0..reps {
        for (a, b, _, _) in &rows {
            acc += score_value_with(&normalise(a), &normalise(b), &cfg);
        }
    }
    let per = start.elapsed().as_secs_f64() / (reps * rows.len()) as f64;
    let start = Instant::now();
    for _ in 0..reps {
        for (a, b) in &normed {
            acc += score_value_with(a, b, &cfg);
        }
    }
    let per_pre = start.elapsed().as_secs_f64() / (reps * rows.len()) as f64;
    println!(
        "time per pair: {:.2} us incl. normalisation, {:.2} us pre-normalised (checksum {acc:.1})",
        per * 1e6,
        per_pre * 1e6
    );
    if verbose {
        for ((s, r), _) in scores.iter().zip(&rows).zip(&normed) {
            let predicted = *s >= threshold;
            if predicted != r.2 {
                let sc = score(&r.0, &r.1);
                println!(
                    "{} {:.3} [{}] {} | {}   -- {}",
                    if r.2 { "FN" } else { "FP" },
                    s,
                    r.3,
                    r.0,
                    r.1,
                    sc.explanation
                );
            }
        }
    }
}
