#!/usr/bin/env python3
"""Assemble bench/names/results.md from the JSON files written by run.sh."""

import argparse
import datetime
import json
import os
import platform


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def pc(x):
    return f"{100 * x:.1f}%"


def mb(kb):
    return f"{kb / 1024:.0f} MB"


def us(x):
    return f"{x / 1000:.2f} ms" if x >= 1000 else f"{x:.0f} µs"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--sizes", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--rapidfuzz-version", default="?")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    w = a.work
    tq = load(f"{w}/tocsin_quality.json")
    rq = load(f"{w}/rf_quality.json")
    L = []
    L.append("# Name matching benchmark: tocsin-match vs RapidFuzz\n")
    L.append(
        f"Generated {datetime.date.today().isoformat()} by `{a.command}` on {cpu_model()} "
        f"({os.cpu_count()} logical CPUs, shared with other work). Every measured process is pinned to "
        f"one core (`taskset -c 0`) and single-threaded (tocsin's index build then also uses one thread). "
        f"RapidFuzz {a.rapidfuzz_version} from PyPI, CPython {platform.python_version()}.\n"
    )
    L.append("## (a) Quality on `name_pairs.csv`\n")
    L.append(
        "826 labelled pairs (OpenSanctions nomenklatura name_bench). tocsin uses its single fixed threshold; "
        "RapidFuzz scorers (with `utils.default_process`) are given their best threshold on this very file.\n"
    )
    L.append("| System | Scorer | Threshold | Precision | Recall | F1 | Time per pair |")
    L.append("|---|---|---|---|---|---|---|")
    if tq:
        L.append(
            f"| tocsin | token alignment + phonetic keys | {tq['threshold']:.2f} (fixed) | {tq['precision']:.3f} | "
            f"{tq['recall']:.3f} | **{tq['f1']:.3f}** | {tq['us_per_pair']:.1f} µs (incl. normalising both names) |"
        )
    if rq:
        for name, r in rq["scorers"].items():
            L.append(
                f"| RapidFuzz | {name} | {r['threshold']} (best) | {r['precision']:.3f} | {r['recall']:.3f} | "
                f"{r['f1']:.3f} | {r['us_per_pair']:.1f} µs (Python loop) |"
            )
    L.append("")
    rf_scorer = rq["best_scorer"] if rq else "?"
    rf_thr = rq["scorers"][rf_scorer]["threshold"] if rq else "?"
    L.append("## (b) Screening\n")
    L.append(
        "Registry: every OFAC SDN and UN primary name and alias (24,641 names of 9,979 entries; "
        "original-script names are kept out because they serve as queries), padded with the held-in half of "
        "`negatives_global.csv` and deterministic synthetic recombinations of it (persons and companies, "
        "multi-script) up to the size. When a size is below the real lists, the real lists alone are used. "
        "Queries: 2,000 SDN/UN names with one deterministic perturbation each (8 kinds × 250: exact, one typo, "
        "two typos, reordering / `LAST, First` → `First LAST`, a dropped middle part, a Latin transliteration "
        "variant, the name written in Cyrillic, the UN `NAME_ORIGINAL_SCRIPT` name), and 1,000 held-out "
        "negatives (the other half of `negatives_global.csv`, never in the registry).\n"
    )
    L.append(
        "Recall@k counts the query's own entry or another listing of the same party (an entry sharing a name "
        "up to word order, e.g. the OFAC and UN records of one person). False alerts: share of negative "
        "queries with an SDN/UN hit at or above the threshold in the top 10 (`FA sanctions`), and with any "
        "top-1 hit at or above it, synthetic padding included (`FA any`; at large sizes the padding contains "
        "people with the same common names, so this mostly measures name collisions). Thresholds: tocsin "
        f"{tq['threshold'] if tq else '?'}, RapidFuzz {rf_scorer} ≥ {rf_thr}.\n"
    )
    L.append(
        "| Size (names) | System | Queries | Recall@1 | Recall@10 | FA sanctions | FA any | Queries/s (1 core) | p50 | p99 | Build | Peak RSS |"
    )
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    speed_rows = []
    for size in sizes:
        t = load(f"{w}/tocsin_{size}.json")
        r = load(f"{w}/rf_{size}.json")
        if t:
            names = f"{t['names']:,}"
            a_ = t["all"]
            L.append(
                f"| {names} | tocsin | {t['queries']:,} | {a_['recall_at_1']:.3f} | {a_['recall_at_10']:.3f} | "
                f"{pc(a_['false_alert_sanctions'])} | {pc(a_['false_alert_any'])} | {t['qps']:,.0f} | "
                f"{us(a_['p50_us'])} | {us(a_['p99_us'])} | {t['build_secs']:.1f} s | {mb(t['hwm_kb'])} |"
            )
            if r and r.get("sampled"):
                s_ = t["sample"]
                L.append(
                    f"| {names} | tocsin, RapidFuzz's sample | {s_['positives'] + s_['negatives']} | "
                    f"{s_['recall_at_1']:.3f} | {s_['recall_at_10']:.3f} | {pc(s_['false_alert_sanctions'])} | "
                    f"{pc(s_['false_alert_any'])} | – | {us(s_['p50_us'])} | {us(s_['p99_us'])} | | |"
                )
        if r:
            samp = " (sample)" if r.get("sampled") else ""
            L.append(
                f"| {r['names']:,} | RapidFuzz extractOne, {r['scorer']}{samp} | {r['queries']:,} | "
                f"{r['recall_at_1']:.3f} | {r['recall_at_10']:.3f} | {pc(r['false_alert_sanctions'])} | "
                f"{pc(r['false_alert_any'])} | {r['qps']:,.2f} | {us(r['p50_us'])} | {us(r['p99_us'])} | "
                f"{r['prep_secs']:.1f} s (preprocess) | {mb(r['max_rss_kb'])} |"
            )
        if t and r:
            speed_rows.append((size, t, r))
    L.append("")
    L.append("Recall@1 by perturbation:\n")
    kinds = ["exact", "typo1", "typo2", "reorder", "drop", "translit", "cyrillic", "original"]
    L.append("| Size | System | " + " | ".join(kinds) + " |")
    L.append("|---|---|" + "---|" * len(kinds))
    for size in sizes:
        t = load(f"{w}/tocsin_{size}.json")
        r = load(f"{w}/rf_{size}.json")
        if t:
            k = t["all"]["recall_at_1_by_perturbation"]
            L.append(f"| {t['names']:,} | tocsin | " + " | ".join(f"{k.get(x, 0):.3f}" for x in kinds) + " |")
        if r:
            k = r["recall_at_1_by_perturbation"]
            samp = " (sample)" if r.get("sampled") else ""
            L.append(f"| {r['names']:,} | RapidFuzz{samp} | " + " | ".join(f"{k.get(x, 0):.3f}" for x in kinds) + " |")
    L.append("")
    L.append("## (c) Speed and memory\n")
    L.append(
        "| Size (names) | tocsin queries/s | RapidFuzz extractOne queries/s | Speed-up | tocsin p99 | "
        "Index build (1 core) | Index heap (estimate) | tocsin peak RSS |"
    )
    L.append("|---|---|---|---|---|---|---|---|")
    for size, t, r in speed_rows:
        L.append(
            f"| {t['names']:,} | {t['qps']:,.0f} | {r['qps']:,.2f} | **{t['qps'] / max(r['qps'], 1e-9):,.0f}×** | "
            f"{us(t['p99_us'])} | {t['build_secs']:.1f} s | {t['index_heap_bytes'] / 2**20:.0f} MB | {mb(t['hwm_kb'])} |"
        )
    for size in sizes:
        t = load(f"{w}/tocsin_{size}.json")
        if t and not any(s == size for s, _, _ in speed_rows):
            L.append(
                f"| {t['names']:,} | {t['qps']:,.0f} | (not run) | – | {us(t['p99_us'])} | {t['build_secs']:.1f} s | "
                f"{t['index_heap_bytes'] / 2**20:.0f} MB | {mb(t['hwm_kb'])} |"
            )
    L.append("")
    L.append(
        "tocsin latency is per query including normalisation, candidate generation, re-ranking and building "
        "explanations for the returned top-10. Peak RSS is the process high-water mark (`VmHWM`), which includes "
        "the transient memory of the build; the index heap is the structure's own estimate. RapidFuzz at large "
        "sizes is measured on the first queries of the same shuffled query list (the sample rows above), since a "
        "brute-force `extractOne` over millions of names takes seconds per query.\n"
    )
    with open(a.out, "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
