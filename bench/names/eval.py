#!/usr/bin/env python3
"""Score the evaluation set with RapidFuzz and compare with tocsin's scores.

    eval.py --eval work/eval.csv --tocsin work/tocsin_scores.txt \
            [--baseline work/baseline_scores.txt] --json work/eval.json --md work/eval.md

RapidFuzz scorers (token_sort_ratio, WRatio, with utils.default_process) get
the threshold that maximises F1 on the *train* split; tocsin uses its fixed
DEFAULT_THRESHOLD. Everything reported is measured on the *held-out* split:
F1, recall at equal false-alert rates (1 %, 0.1 %: the lowest threshold whose
held-out false-alert rate is within the budget, for every system), the same
with thresholds calibrated on train, the cross-script table by script, the
relatives rate and the false-alert curve.
"""

import argparse
import csv
import json
import sys
import time

DEFAULT_THRESHOLD = 0.75


def load(path):
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def prf(scores, labels, thr):
    tp = sum(1 for s, l in zip(scores, labels) if l and s >= thr)
    fp = sum(1 for s, l in zip(scores, labels) if not l and s >= thr)
    fn = sum(1 for s, l in zip(scores, labels) if l and s < thr)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def best_threshold(scores, labels):
    best = (-1, None)
    for t in sorted(set(scores)):
        f = prf(scores, labels, t)[2]
        if f > best[0]:
            best = (f, t)
    return best[1]


def threshold_at_fa(scores, labels, budget):
    """Lowest threshold whose false-alert rate on these pairs is ≤ budget."""
    neg = sorted((s for s, l in zip(scores, labels) if not l), reverse=True)
    allowed = int(budget * len(neg))
    # A threshold strictly above the (allowed+1)-th highest negative.
    if allowed >= len(neg):
        return min(scores)
    cut = neg[allowed]
    above = [s for s in set(scores) if s > cut]
    return min(above) if above else cut + 1e-6


def recall_fa(scores, labels, thr):
    pos = [s for s, l in zip(scores, labels) if l]
    neg = [s for s, l in zip(scores, labels) if not l]
    r = sum(1 for s in pos if s >= thr) / len(pos) if pos else 0.0
    fa = sum(1 for s in neg if s >= thr) / len(neg) if neg else 0.0
    return r, fa


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", required=True)
    ap.add_argument("--tocsin", required=True)
    ap.add_argument("--tocsin-time", default="")
    ap.add_argument("--baseline", default="")
    ap.add_argument("--tocsin-threshold", type=float, default=DEFAULT_THRESHOLD,
                    help="tocsin's DEFAULT_THRESHOLD in the scored build")
    ap.add_argument("--baseline-threshold", type=float, default=DEFAULT_THRESHOLD,
                    help="DEFAULT_THRESHOLD in the baseline build")
    ap.add_argument("--json", required=True)
    ap.add_argument("--md", required=True)
    a = ap.parse_args()

    from rapidfuzz import fuzz, utils

    rows = load(a.eval)
    labels = [r["is_match"] == "true" for r in rows]
    systems = {}
    with open(a.tocsin) as f:
        systems["tocsin"] = [float(x) for x in f]
    if a.baseline:
        with open(a.baseline) as f:
            systems["tocsin before (main)"] = [float(x) for x in f]
    times = {}
    for name, fn in (("RapidFuzz token_sort_ratio", fuzz.token_sort_ratio), ("RapidFuzz WRatio", fuzz.WRatio)):
        t0 = time.perf_counter()
        systems[name] = [
            fn(r["name1"], r["name2"], processor=utils.default_process) / 100.0 for r in rows
        ]
        times[name] = (time.perf_counter() - t0) / len(rows) * 1e6
    for s in systems.values():
        assert len(s) == len(rows), "score file length differs from eval.csv"

    train = [i for i, r in enumerate(rows) if r["split"] == "train"]
    held = [i for i, r in enumerate(rows) if r["split"] == "heldout"]

    def sub(idx, xs):
        return [xs[i] for i in idx]

    out = {"pairs": {"train": len(train), "heldout": len(held)},
           "heldout_pos": sum(labels[i] for i in held), "heldout_neg": sum(not labels[i] for i in held),
           "systems": {}}
    for name, sc in systems.items():
        tr_s, tr_l = sub(train, sc), sub(train, labels)
        ho_s, ho_l = sub(held, sc), sub(held, labels)
        if name == "tocsin":
            thr = a.tocsin_threshold
        elif name.startswith("tocsin"):
            thr = a.baseline_threshold
        else:
            thr = best_threshold(tr_s, tr_l)
        p, r, f = prf(ho_s, ho_l, thr)
        _, fa = recall_fa(ho_s, ho_l, thr)
        res = {"threshold": thr, "precision": p, "recall": r, "f1": f, "fa": fa, "equal_fa": {}, "calibrated": {}}
        for budget in (0.01, 0.001):
            t = threshold_at_fa(ho_s, ho_l, budget)
            rr, ff = recall_fa(ho_s, ho_l, t)
            res["equal_fa"][str(budget)] = {"threshold": t, "recall": rr, "fa": ff}
            t2 = threshold_at_fa(tr_s, tr_l, budget)
            rr2, ff2 = recall_fa(ho_s, ho_l, t2)
            res["calibrated"][str(budget)] = {"threshold": t2, "recall": rr2, "fa": ff2}
        # Cross-script table at the system's threshold, per script.
        per = {}
        for script in ("arabic", "persian", "cyrillic", "hangul", "hanja", "kanji", "kana", "chinese"):
            idx = [i for i in held if rows[i]["script"] == script]
            if not idx:
                continue
            pp, rr, ff = prf(sub(idx, sc), sub(idx, labels), thr)
            per[script] = {"n_pos": sum(labels[i] for i in idx), "n_neg": sum(not labels[i] for i in idx),
                           "precision": pp, "recall": rr}
        xs = [i for i in held if rows[i]["script"] != "latin"]
        pp, rr, _ = prf(sub(xs, sc), sub(xs, labels), thr)
        per["all cross-script"] = {"n_pos": sum(labels[i] for i in xs), "n_neg": sum(not labels[i] for i in xs),
                                   "precision": pp, "recall": rr}
        res["cross_script"] = per
        lat = [i for i in held if rows[i]["script"] == "latin"]
        lp, lr, lf = prf(sub(lat, sc), sub(lat, labels), thr)
        l_s, l_l = sub(lat, sc), sub(lat, labels)
        res["latin"] = {"precision": lp, "recall": lr, "f1": lf,
                        "recall_fa_1": recall_fa(l_s, l_l, threshold_at_fa(l_s, l_l, 0.01))[0],
                        "recall_fa_01": recall_fa(l_s, l_l, threshold_at_fa(l_s, l_l, 0.001))[0]}
        rel = [i for i in held if rows[i]["category"] == "relatives"]
        res["relatives"] = {"n": len(rel), "above": sum(1 for i in rel if sc[i] >= thr)}
        # By category (held-out), at the threshold.
        cats = {}
        for i in held:
            c = rows[i]["category"]
            d = cats.setdefault(c, [0, 0])
            d[0] += 1
            d[1] += sc[i] >= thr
        res["by_category"] = cats
        # False-alert curve on held-out.
        curve = []
        for budget in (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05):
            t = threshold_at_fa(ho_s, ho_l, budget)
            rr, ff = recall_fa(ho_s, ho_l, t)
            curve.append({"budget": budget, "threshold": t, "recall": rr, "fa": ff})
        res["curve"] = curve
        res["time_per_pair_us"] = times.get(name)
        out["systems"][name] = res

    with open(a.json, "w") as f:
        json.dump(out, f, indent=1)
    md = render(out, a.tocsin_time)
    with open(a.md, "w") as f:
        f.write(md)
    print(md)


def render(out, tocsin_time):
    s = out["systems"]
    L = []
    L.append(f"Held-out split: {out['heldout_pos']:,} matching and {out['heldout_neg']:,} non-matching pairs "
             f"(train: {out['pairs']['train']:,} pairs, used only to choose RapidFuzz thresholds and the calibrated ones).\n")
    L.append("| System | Threshold | Precision | Recall | F1 | False alerts | Recall at ≤ 1 % FA | Recall at ≤ 0.1 % FA | Relatives above threshold | Time per pair |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in s.items():
        thr = f"{r['threshold']:.2f} (fixed)" if name.startswith("tocsin") else f"{r['threshold']*100:.0f} (best on train)"
        e1, e01 = r["equal_fa"]["0.01"], r["equal_fa"]["0.001"]
        rel = r["relatives"]
        t = f"{r['time_per_pair_us']:.1f} µs (Python loop)" if r.get("time_per_pair_us") else (tocsin_time if name == "tocsin" else "")
        L.append(f"| {name} | {thr} | {r['precision']:.3f} | {r['recall']:.3f} | **{r['f1']:.3f}** | {r['fa']*100:.2f} % | "
                 f"{e1['recall']:.3f} ({e1['fa']*100:.2f} %) | {e01['recall']:.3f} ({e01['fa']*100:.2f} %) | "
                 f"{rel['above']}/{rel['n']} = {rel['above']/max(rel['n'],1)*100:.1f} % | {t} |")
    L.append("")
    L.append("Latin-script pairs only (held-out), where RapidFuzz is not handicapped by scripts it cannot read:\n")
    L.append("| System | Precision | Recall | F1 | Recall at ≤ 1 % FA | Recall at ≤ 0.1 % FA |")
    L.append("|---|---|---|---|---|---|")
    for name, r in s.items():
        l = r["latin"]
        L.append(f"| {name} | {l['precision']:.3f} | {l['recall']:.3f} | **{l['f1']:.3f}** | {l['recall_fa_1']:.3f} | {l['recall_fa_01']:.3f} |")
    L.append("")
    L.append("Recall at a false-alert budget: each system's lowest threshold whose false-alert rate on the held-out negatives is within the budget (the achieved rate in brackets). With thresholds calibrated on the train split instead:\n")
    L.append("| System | ≤ 1 %: threshold, held-out recall, held-out FA | ≤ 0.1 %: threshold, held-out recall, held-out FA |")
    L.append("|---|---|---|")
    for name, r in s.items():
        c1, c01 = r["calibrated"]["0.01"], r["calibrated"]["0.001"]
        L.append(f"| {name} | {c1['threshold']:.3f}, {c1['recall']:.3f}, {c1['fa']*100:.2f} % | {c01['threshold']:.3f}, {c01['recall']:.3f}, {c01['fa']*100:.2f} % |")
    L.append("")
    L.append("Cross-script pairs (held-out) at each system's threshold: recall / precision (positives, negatives).\n")
    scripts = list(next(iter(s.values()))["cross_script"].keys())
    L.append("| Script | " + " | ".join(s.keys()) + " |")
    L.append("|---|" + "---|" * len(s))
    for sc in scripts:
        first = next(iter(s.values()))["cross_script"][sc]
        cells = [f"{r['cross_script'][sc]['recall']:.3f} / {r['cross_script'][sc]['precision']:.3f}" for r in s.values()]
        L.append(f"| {sc} ({first['n_pos']}+, {first['n_neg']}−) | " + " | ".join(cells) + " |")
    L.append("")
    L.append("False-alert curve (held-out): recall at each false-alert budget.\n")
    budgets = [c["budget"] for c in next(iter(s.values()))["curve"]]
    L.append("| System | " + " | ".join(f"{b*100:g} %" for b in budgets) + " |")
    L.append("|---|" + "---|" * len(budgets))
    for name, r in s.items():
        L.append(f"| {name} | " + " | ".join(f"{c['recall']:.3f}" for c in r["curve"]) + " |")
    L.append("")
    L.append("Held-out pairs above each system's threshold, by category (share of the category):\n")
    cats = sorted(next(iter(s.values()))["by_category"].keys())
    L.append("| Category | n | " + " | ".join(s.keys()) + " |")
    L.append("|---|---|" + "---|" * len(s))
    for c in cats:
        n = next(iter(s.values()))["by_category"][c][0]
        L.append(f"| {c} | {n} | " + " | ".join(f"{r['by_category'][c][1]/n:.3f}" for r in s.values()) + " |")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    sys.exit(main())
