#!/usr/bin/env python3
"""RapidFuzz side of the tocsin name-matching benchmark (driven by run.sh).

quality: score name_pairs.csv with token_sort_ratio, WRatio and
         token_set_ratio (utils.default_process), sweep the threshold 0..100
         and keep each scorer's best F1 (RapidFuzz gets its best threshold).
screen:  brute-force screening over the same registry names as tocsin
         (sanctions.tsv + the first padding names up to the size), with the
         scorer and threshold that won the quality step. Choices are
         preprocessed once (default_process) and queries are preprocessed
         before the call, so extractOne runs with processor=None (its
         fastest mode). extractOne is timed; extract(limit=30) gives the
         top-10 distinct entries for recall@10 and false alerts (untimed).
"""

import argparse
import csv
import json
import resource
import statistics
import sys
import time

from rapidfuzz import fuzz, process, utils

SCORERS = {
    "token_sort_ratio": fuzz.token_sort_ratio,
    "WRatio": fuzz.WRatio,
    "token_set_ratio": fuzz.token_set_ratio,
}


def quality(pairs, out):
    with open(pairs, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    truth = [r["is_match"] == "true" for r in rows]
    report = {"pairs": len(rows), "scorers": {}}
    for name, scorer in SCORERS.items():
        start = time.perf_counter()
        scores = [scorer(r["name1"], r["name2"], processor=utils.default_process) for r in rows]
        us = (time.perf_counter() - start) * 1e6 / len(rows)
        best = None
        for t in range(0, 101):
            tp = sum(1 for s, y in zip(scores, truth) if s >= t and y)
            fp = sum(1 for s, y in zip(scores, truth) if s >= t and not y)
            fn = sum(1 for s, y in zip(scores, truth) if s < t and y)
            p = tp / max(tp + fp, 1)
            r = tp / max(tp + fn, 1)
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            if best is None or f1 > best["f1"]:
                best = {"threshold": t, "precision": p, "recall": r, "f1": f1}
        best["us_per_pair"] = us
        report["scorers"][name] = best
    winner = max(report["scorers"], key=lambda k: report["scorers"][k]["f1"])
    report["best_scorer"] = winner
    with open(out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"rapidfuzz quality: best {winner} F1 {report['scorers'][winner]['f1']:.3f}", file=sys.stderr)


def read_registry(work, size):
    names, ids = [], []
    with open(f"{work}/sanctions.tsv", encoding="utf-8") as f:
        for line in f:
            eid, _kind, name = line.rstrip("\n").split("\t", 2)
            ids.append(eid)
            names.append(name)
    need = max(0, size - len(names))
    with open(f"{work}/padding.tsv", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= need:
                break
            eid, _kind, name = line.rstrip("\n").split("\t", 2)
            ids.append(eid)
            names.append(name)
    return names, ids


def read_queries(work, sample, sample_neg):
    out = []
    sp = sn = 0
    with open(f"{work}/queries.tsv", encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t", 4)
            if len(parts) < 5:
                continue
            _qid, kind, pert, ok, text = parts
            positive = kind == "positive"
            if sample is not None:
                if positive:
                    if sp >= sample:
                        continue
                    sp += 1
                else:
                    if sn >= sample_neg:
                        continue
                    sn += 1
            out.append({"positive": positive, "kind": pert, "ok": set(filter(None, ok.split(","))), "text": text})
    return out


def pct(values, p):
    v = sorted(values)
    return v[round((len(v) - 1) * p)] if v else 0.0


def screen(work, size, quality_json, sample, sample_neg, out):
    with open(quality_json) as f:
        q = json.load(f)
    scorer_name = q["best_scorer"]
    threshold = q["scorers"][scorer_name]["threshold"]
    scorer = SCORERS[scorer_name]
    names, ids = read_registry(work, size)
    start = time.perf_counter()
    choices = [utils.default_process(n) for n in names]
    prep_secs = time.perf_counter() - start
    queries = read_queries(work, sample, sample_neg)
    lat = []
    pos = r1 = r10 = neg = fa_s = fa_any = 0
    by_kind = {}
    for qu in queries:
        pq = utils.default_process(qu["text"])
        t0 = time.perf_counter()
        best = process.extractOne(pq, choices, scorer=scorer, processor=None)
        lat.append((time.perf_counter() - t0) * 1e6)
        top = process.extract(pq, choices, scorer=scorer, processor=None, limit=30)
        entries = []
        for _choice, score, idx in top:
            eid = ids[idx]
            if eid not in [e for e, _ in entries]:
                entries.append((eid, score))
            if len(entries) == 10:
                break
        if qu["positive"]:
            pos += 1
            hit1 = best is not None and ids[best[2]] in qu["ok"]
            r1 += hit1
            r10 += any(e in qu["ok"] for e, _ in entries)
            k = by_kind.setdefault(qu["kind"], [0, 0])
            k[0] += 1
            k[1] += hit1
        else:
            neg += 1
            fa_s += any(s >= threshold and not e.startswith("pad:") for e, s in entries)
            fa_any += best is not None and best[1] >= threshold
    total = sum(lat) / 1e6
    report = {
        "system": "rapidfuzz",
        "scorer": scorer_name,
        "threshold": threshold,
        "size_requested": size,
        "names": len(names),
        "queries": len(queries),
        "sampled": sample is not None,
        "prep_secs": prep_secs,
        "qps": len(queries) / total if total else 0.0,
        "p50_us": pct(lat, 0.5),
        "p99_us": pct(lat, 0.99),
        "mean_us": statistics.fmean(lat) if lat else 0.0,
        "recall_at_1": r1 / max(pos, 1),
        "recall_at_10": r10 / max(pos, 1),
        "false_alert_sanctions": fa_s / max(neg, 1),
        "false_alert_any": fa_any / max(neg, 1),
        "positives": pos,
        "negatives": neg,
        "recall_at_1_by_perturbation": {k: v[1] / v[0] for k, v in by_kind.items()},
        "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    with open(out, "w") as f:
        json.dump(report, f, indent=2)
    print(
        f"rapidfuzz size {size}: {report['qps']:.1f} q/s, p50 {report['p50_us']:.0f} us, "
        f"recall@1 {report['recall_at_1']:.3f} ({len(queries)} queries)",
        file=sys.stderr,
    )


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("quality")
    a.add_argument("--pairs", required=True)
    a.add_argument("--out", required=True)
    b = sub.add_parser("screen")
    b.add_argument("--work", required=True)
    b.add_argument("--size", type=int, required=True)
    b.add_argument("--quality", required=True)
    b.add_argument("--sample", type=int)
    b.add_argument("--sample-negatives", type=int, default=100)
    b.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.cmd == "quality":
        quality(args.pairs, args.out)
    else:
        screen(args.work, args.size, args.quality, args.sample, args.sample_negatives, args.out)


if __name__ == "__main__":
    main()
