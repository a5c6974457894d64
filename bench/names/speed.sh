#!/usr/bin/env bash
# Speed and memory of the current tree against a baseline commit, measured
# in the same run: the two builds alternate (old, new, new, old, ...) on the
# same prepared data, and the best figure of each is compared as new/old.
#
#   bench/names/speed.sh [--base f191aa2] [--rounds 3] [--sizes 1000000,5000000]
#                        [--min-of 3]
#
# --base     baseline commit, built in its own git worktree ($BASE_WT,
#            default ../wt-names-base next to the repository) with its own
#            CARGO_TARGET_DIR ($BASE_WT/target)
# --rounds   runs of each build per size (alternating)
# --sizes    registry sizes; p50/p99 are read at every size, peak RSS too
# --min-of   BENCH_MIN_OF: each query is timed k times and its fastest kept
#            (filters preemption on a shared machine)
#
# The baseline commit may predate the benchmark's latest options
# (BENCH_MIN_OF, BENCH_HITS): the current crates/match/examples/match_bench.rs
# is copied into the baseline worktree before building it. It only uses
# the crate's public API as it was at f191aa2 (Index::build_with,
# IndexOptions, SearchOptions, Hit, normalise, score_value, the registry
# parsers), so the baseline's library code is what is measured.
#
# Every run is pinned to one core (taskset -c 0 when available) and its
# index build is single-threaded; latency is per query (normalisation,
# candidates, re-ranking, explanations of the top 10); peak RSS is the
# process high-water mark (VmHWM, which /usr/bin/time -v also reports).
# Writes bench/names/work/speed.md and prints it.
set -euo pipefail

BASE=f191aa2
ROUNDS=3
SIZES=1000000,5000000
MIN_OF=3
while [[ $# -gt 0 ]]; do
    case "$1" in
        --base) BASE="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --sizes) SIZES="$2"; shift 2 ;;
        --min-of) MIN_OF="$2"; shift 2 ;;
        -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$HERE/work"
BASE_WT="${BASE_WT:-$(cd "$ROOT/.." && pwd)/wt-names-base}"
DATA="${TOCSIN_SHARED_DATA:-$ROOT/../shared/data}"
export TOCSIN_SHARED_DATA="$DATA"
mkdir -p "$WORK/speed"

if [[ ! -d "$BASE_WT" ]]; then
    git -C "$ROOT" worktree add --detach "$BASE_WT" "$BASE" >&2
fi
if [[ "$(git -C "$BASE_WT" rev-parse HEAD)" != "$(git -C "$ROOT" rev-parse "$BASE^{commit}")" ]]; then
    echo "$BASE_WT is not at $BASE" >&2; exit 1
fi
cp "$ROOT/crates/match/examples/match_bench.rs" "$BASE_WT/crates/match/examples/match_bench.rs"

echo "== building $BASE (baseline) and the current tree" >&2
(cd "$BASE_WT" && CARGO_TARGET_DIR="$BASE_WT/target" nice -n 10 \
    cargo build --quiet --release -p tocsin-match --features bench --example match_bench)
OLD="$BASE_WT/target/release/examples/match_bench"
(cd "$ROOT" && nice -n 10 cargo build --quiet --release -p tocsin-match --features bench --example match_bench)
NEW="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/match_bench"

PIN=()
if command -v taskset >/dev/null; then PIN=(taskset -c 0); fi

MAX=$(tr ',' '\n' <<<"$SIZES" | sort -n | tail -1)
STAMP="$WORK/speed/prepared"
if (( $(cat "$STAMP" 2>/dev/null || echo 0) < MAX )); then
    echo "== preparing data (padding up to $MAX names)" >&2
    "$NEW" prepare "$WORK" --queries 2000 --negatives 1000 --padding "$MAX" >&2
    echo "$MAX" >"$STAMP"
fi

run() { # build-name binary size round
    local out="$WORK/speed/$1_$3_$4.json"
    BENCH_MIN_OF="$MIN_OF" nice -n 10 "${PIN[@]}" "$2" run "$WORK" "$3" "$out" 2>"$WORK/speed/$1_$3_$4.log" \
        || { cat "$WORK/speed/$1_$3_$4.log" >&2; exit 1; }
    grep -E "^size" "$WORK/speed/$1_$3_$4.log" | sed "s/^/$1 round $4: /" >&2
}

for R in $(seq 1 "$ROUNDS"); do
    for SIZE in ${SIZES//,/ }; do
        if (( R % 2 == 1 )); then
            run old "$OLD" "$SIZE" "$R"; run new "$NEW" "$SIZE" "$R"
        else
            run new "$NEW" "$SIZE" "$R"; run old "$OLD" "$SIZE" "$R"
        fi
    done
done

python3 - "$WORK/speed" "$SIZES" "$ROUNDS" "$BASE" "$(git -C "$ROOT" rev-parse --short HEAD)" \
    "$(uptime | sed 's/.*load average: //')" <<'EOF' | tee "$WORK/speed.md"
import json, sys
d, sizes, rounds, base, head, load = sys.argv[1:]
sizes = [int(s) for s in sizes.split(",")]
rounds = int(rounds)
print(f"Baseline {base}, new {head} (+ working tree), {rounds} alternating runs per build and size; "
      f"load average at the end: {load}.\n")
print("| Size | Figure | old runs | new runs | best old | best new | new/old | spread old | spread new |")
print("|---|---|---|---|---|---|---|---|---|")
for size in sizes:
    runs = {b: [json.load(open(f"{d}/{b}_{size}_{r}.json")) for r in range(1, rounds + 1)] for b in ("old", "new")}
    for key, label, unit, scale in (("p50_us", "p50", "µs", 1), ("p99_us", "p99", "ms", 1e-3),
                                    ("hwm_kb", "peak RSS", "MB", 1 / 1000),
                                    ("index_heap_bytes", "index heap", "MB", 1e-6)):
        v = {b: [r[key] * scale for r in runs[b]] for b in runs}
        best = {b: min(v[b]) for b in v}
        fmt = (lambda x: f"{x:.0f}") if unit != "ms" else (lambda x: f"{x:.2f}")
        spread = {b: (max(v[b]) - min(v[b])) / min(v[b]) * 100 for b in v}
        print(f"| {size:,} | {label} ({unit}) | {' / '.join(fmt(x) for x in v['old'])} | "
              f"{' / '.join(fmt(x) for x in v['new'])} | {fmt(best['old'])} | {fmt(best['new'])} | "
              f"**{best['new'] / best['old']:.2f}** | {spread['old']:.0f} % | {spread['new']:.0f} % |")
    rec = {b: sorted({r['all']['recall_at_1'] for r in runs[b]}) for b in runs}
    names = {b: runs[b][0]['names'] for b in runs}
    print(f"| {size:,} | recall@1, indexed names | {rec['old']}, {names['old']:,} | {rec['new']}, {names['new']:,} | | | | | |")
EOF
