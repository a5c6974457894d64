//! From a score to a probability of a match, and where the decision
//! threshold comes from.
//!
//! A score is a similarity, not a probability: 0.8 does not mean "80 %
//! likely". [`match_probability`] reads a score as the share of matching
//! pairs among the evaluation pairs with that score (bench/names, train
//! split only): an isotonic regression, so a higher score never gives a
//! lower probability, as a piecewise-linear table. The table and
//! [`crate::DEFAULT_THRESHOLD`] are both printed by
//! `bench/names/calibrate.py` from the train split's scores; rerun it and
//! paste its output when the scorer changes.
//!
//! The probability carries the evaluation set's prior (about one pair in
//! five matches): it ranks and explains, it does not decide. The decision
//! is the threshold's, which is chosen for a stated false-alert rate
//! ([`FALSE_ALERT_BUDGET`]).

/// The false-alert rate [`crate::DEFAULT_THRESHOLD`] is chosen for: the
/// lowest threshold (rounded up to two decimals) whose false-alert rate on
/// the train split's non-matching pairs is at most this.
pub const FALSE_ALERT_BUDGET: f64 = 0.002;

const KNOTS: [(f32, f32); 20] = [
    (0.150, 0.0227), // 12206 pairs, scores 0.00-0.30
    (0.320, 0.0291), // 1614 pairs, scores 0.31-0.33
    (0.340, 0.0500), // 20 pairs, scores 0.34-0.34
    (0.360, 0.0800), // 75 pairs, scores 0.35-0.37
    (0.380, 0.1064), // 47 pairs, scores 0.38-0.38
    (0.390, 0.1538), // 13 pairs, scores 0.39-0.39
    (0.405, 0.2308), // 13 pairs, scores 0.40-0.41
    (0.445, 0.2983), // 181 pairs, scores 0.42-0.47
    (0.515, 0.4221), // 244 pairs, scores 0.48-0.55
    (0.575, 0.7500), // 24 pairs, scores 0.56-0.59
    (0.620, 0.7857), // 42 pairs, scores 0.60-0.64
    (0.655, 0.8333), // 12 pairs, scores 0.65-0.66
    (0.685, 0.8525), // 61 pairs, scores 0.67-0.70
    (0.715, 0.8710), // 31 pairs, scores 0.71-0.72
    (0.740, 0.9412), // 51 pairs, scores 0.73-0.75
    (0.780, 0.9630), // 162 pairs, scores 0.76-0.80
    (0.815, 0.9704), // 135 pairs, scores 0.81-0.82
    (0.850, 0.9737), // 418 pairs, scores 0.83-0.87
    (0.890, 0.9974), // 384 pairs, scores 0.88-0.90
    (0.955, 0.9995), // 2096 pairs, scores 0.91-1.00
];

/// The probability that a pair scoring `score` is a match, read from the
/// calibration table (linear between knots, flat beyond the ends).
#[must_use]
pub fn match_probability(score: f32) -> f32 {
    let first = KNOTS[0];
    if score <= first.0 {
        return first.1;
    }
    for w in KNOTS.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        if score <= x1 {
            return y0 + (y1 - y0) * (score - x0) / (x1 - x0);
        }
    }
    KNOTS[KNOTS.len() - 1].1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_rise_with_the_score() {
        let mut prev = 0.0;
        for i in 0..=100 {
            let p = match_probability(i as f32 / 100.0);
            assert!((0.0..=1.0).contains(&p));
            assert!(p >= prev, "{i}");
            prev = p;
        }
        assert!(match_probability(0.1) < 0.05);
        assert!(match_probability(crate::DEFAULT_THRESHOLD) > 0.8);
        assert!(match_probability(1.0) > 0.99);
    }
}
