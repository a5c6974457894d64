#!/usr/bin/env bash
# Held-out evaluation (issue 15): builds the labelled pairs from the shared
# data, scores them with tocsin and RapidFuzz, writes work/eval.md and
# work/eval.json and prints the tables.
#
#   bench/names/eval.sh [--baseline SCORES.txt]
#
# --baseline  another tocsin build's scores for the same eval.csv (for
#             example main's, from its pair_scores example) shown beside,
#             at BASELINE_THRESHOLD (default 0.75, main's DEFAULT_THRESHOLD)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$HERE/work"
VENV="$HERE/.venv"
DATA="${TOCSIN_SHARED_DATA:-$ROOT/../shared/data}"
BASELINE=()
if [[ "${1:-}" == "--baseline" ]]; then
    BASELINE=(--baseline "$2" --baseline-threshold "${BASELINE_THRESHOLD:-0.75}")
fi
mkdir -p "$WORK"
if [[ ! -x "$VENV/bin/python" ]]; then python3 -m venv "$VENV"; fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check 'rapidfuzz>=3,<4'
python3 "$HERE/make_eval.py" --data "$DATA" --out "$WORK/eval.csv"
(cd "$ROOT" && cargo build --quiet --release -p tocsin-match --features bench --example pair_scores)
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
"$TARGET/release/examples/pair_scores" "$WORK/eval.csv" >"$WORK/tocsin_scores.txt" 2>"$WORK/tocsin_scores.log"
THRESHOLD="$(sed -n 's/.* threshold \([0-9.]*\).*/\1/p' "$WORK/tocsin_scores.log")"
TIME="$(sed -n 's/.*time_per_pair_us \([0-9.]*\).*/\1 µs (incl. normalising and reading both names)/p' "$WORK/tocsin_scores.log")"
"$VENV/bin/python" "$HERE/eval.py" --eval "$WORK/eval.csv" --tocsin "$WORK/tocsin_scores.txt" \
    --tocsin-time "$TIME" --tocsin-threshold "$THRESHOLD" "${BASELINE[@]}" --json "$WORK/eval.json" --md "$WORK/eval.md"
