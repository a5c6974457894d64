#!/usr/bin/env python3
"""Calibrate tocsin's decision threshold and match probabilities on the
*train* split of the evaluation set (issue 15). Never reads held-out pairs.

    calibrate.py --eval work/eval.csv --tocsin work/tocsin_scores.txt [--budget 0.002]

The threshold: the lowest score whose false-alert rate on the train split's
non-matching pairs is at most BUDGET (default 0.2 %: one false alert in 500
non-matching comparisons of the kinds in the set: relatives, common given
names and surnames, shared parts, CJK non-matches, unrelated names),
rounded *up* to two decimals so that the rate stays within the budget. It
also prints the train split's relatives rate at that threshold (issue 15
asks ≤ 2 %) and precision, recall and F1 there.

The probabilities: isotonic regression (pool-adjacent-violators) of
"is a match" on the score over the train pairs, then the pooled blocks as
knots `(score, probability)` for the piecewise-linear table in
crates/match/src/calibration.rs (printed as Rust). The train split's
mix of matches and non-matches (about 22 % matches) is its prior: a
probability read from the table is P(match | score) for pairs drawn like
the evaluation set's, not for a registry where almost no one is listed.
"""

import argparse
import csv
import math


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", required=True)
    ap.add_argument("--tocsin", required=True)
    ap.add_argument("--budget", type=float, default=0.002)
    a = ap.parse_args()
    with open(a.eval, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with open(a.tocsin) as f:
        scores = [float(x) for x in f]
    assert len(rows) == len(scores)
    train = [(s, r["is_match"] == "true", r["category"]) for r, s in zip(rows, scores) if r["split"] == "train"]
    neg = sorted((s for s, m, _ in train if not m), reverse=True)
    allowed = math.floor(a.budget * len(neg))
    # Above the (allowed+1)-th highest non-match score, rounded up.
    thr = math.floor(neg[allowed] * 100 + 1) / 100
    pos = [s for s, m, _ in train if m]
    rel = [s for s, _, c in train if c == "relatives"]
    tp = sum(s >= thr for s in pos)
    fp = sum(s >= thr for s in neg)
    p, r = tp / max(tp + fp, 1), tp / len(pos)
    print(f"train: {len(pos)} matching, {len(neg)} non-matching pairs")
    print(f"false-alert budget {a.budget:.4%}: threshold {thr:.2f}, train false alerts {fp}/{len(neg)} = {fp / len(neg):.4%}, "
          f"relatives {sum(s >= thr for s in rel)}/{len(rel)} = {sum(s >= thr for s in rel) / len(rel):.2%}, "
          f"precision {p:.3f} recall {r:.3f} F1 {2 * p * r / (p + r):.3f}")
    # Isotonic regression by pool-adjacent-violators on scores rounded to
    # 0.01 (the scorer's resolution is finer than the data supports).
    bins = {}
    for s, m, _ in train:
        k = round(s, 2)
        n, y = bins.get(k, (0, 0))
        bins[k] = (n + 1, y + m)
    blocks = []  # [min score, max score, n, matches]
    for k in sorted(bins):
        n, y = bins[k]
        blocks.append([k, k, n, y])
        while len(blocks) > 1 and blocks[-2][3] / blocks[-2][2] >= blocks[-1][3] / blocks[-1][2]:
            b = blocks.pop()
            blocks[-1][1] = b[1]
            blocks[-1][2] += b[2]
            blocks[-1][3] += b[3]
    print("// (score, P(match)) knots: isotonic regression on the train split")
    print(f"const KNOTS: [(f32, f32); {len(blocks)}] = [")
    for lo, hi, n, y in blocks:
        mid = (lo + hi) / 2
        print(f"    ({mid:.3f}, {y / n:.4f}), // {n} pairs, scores {lo:.2f}-{hi:.2f}")
    print("];")


if __name__ == "__main__":
    main()
