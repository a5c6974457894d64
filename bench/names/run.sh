#!/usr/bin/env bash
# Name-matching benchmark: tocsin-match vs RapidFuzz, side by side on the
# same data in the same run. Writes bench/names/results.md and prints it.
#
#   bench/names/run.sh [--sizes 20000,1000000,5000000] [--rf-sample 200]
#                      [--rf-negatives 100] [--rf-full-max 100000]
#                      [--rf-large-min 2000000] [--rf-large-sample 50]
#
# --sizes         registry sizes in names (the real SDN+UN lists alone are
#                 ~24.6k names; smaller sizes use just them)
# --rf-sample     positive queries RapidFuzz runs at sizes above
#                 --rf-full-max (brute force takes seconds per query there);
#                 --rf-negatives negative queries likewise; at sizes from
#                 --rf-large-min on, --rf-large-sample positives and half as
#                 many negatives (a query there takes RapidFuzz ~10 s)
#
# Needs: cargo, python3 (venv + pip, PyPI access for rapidfuzz), taskset
# (optional, for pinning), /usr/bin/time (optional). Shared data is read
# from $TOCSIN_SHARED_DATA or ../shared/data next to the repository.
set -euo pipefail

SIZES="20000,1000000"
RF_SAMPLE=200
RF_NEG=100
RF_FULL_MAX=100000
RF_LARGE_MIN=2000000
RF_LARGE=50
while [[ $# -gt 0 ]]; do
    case "$1" in
        --sizes) SIZES="$2"; shift 2 ;;
        --rf-sample) RF_SAMPLE="$2"; shift 2 ;;
        --rf-negatives) RF_NEG="$2"; shift 2 ;;
        --rf-full-max) RF_FULL_MAX="$2"; shift 2 ;;
        --rf-large-min) RF_LARGE_MIN="$2"; shift 2 ;;
        --rf-large-sample) RF_LARGE="$2"; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$HERE/work"
VENV="$HERE/.venv"
DATA="${TOCSIN_SHARED_DATA:-$ROOT/../shared/data}"
export TOCSIN_SHARED_DATA="$DATA"
mkdir -p "$WORK"

if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check 'rapidfuzz>=3,<4'
RF_VERSION="$("$VENV/bin/python" -c 'import rapidfuzz; print(rapidfuzz.__version__)')"

(cd "$ROOT" && cargo build --quiet --release -p tocsin-match --features bench --example match_bench)
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/examples/match_bench"

PIN=()
if command -v taskset >/dev/null; then PIN=(taskset -c 0); fi
TIME=()
if [[ -x /usr/bin/time ]]; then TIME=(/usr/bin/time -v); fi

MAX=$(tr ',' '\n' <<<"$SIZES" | sort -n | tail -1)
echo "== preparing data (padding up to $MAX names)" >&2
"$BIN" prepare "$WORK" --queries 2000 --negatives 1000 --padding "$MAX" >&2

echo "== quality on name_pairs.csv" >&2
"${PIN[@]}" "$BIN" quality "$WORK/tocsin_quality.json"
"${PIN[@]}" "$VENV/bin/python" "$HERE/rf_bench.py" quality --pairs "$DATA/names/name_pairs.csv" --out "$WORK/rf_quality.json"

for SIZE in ${SIZES//,/ }; do
    S_POS=$RF_SAMPLE; S_NEG=$RF_NEG
    if (( SIZE >= RF_LARGE_MIN )); then S_POS=$RF_LARGE; S_NEG=$(( RF_LARGE / 2 )); fi
    echo "== screening, $SIZE names: tocsin" >&2
    "${TIME[@]}" "${PIN[@]}" "$BIN" run "$WORK" "$SIZE" "$WORK/tocsin_$SIZE.json" \
        --sample "$S_POS" --sample-negatives "$S_NEG" 2>"$WORK/tocsin_$SIZE.log" || { cat "$WORK/tocsin_$SIZE.log" >&2; exit 1; }
    grep -E "^(built|size)" "$WORK/tocsin_$SIZE.log" >&2 || true
    echo "== screening, $SIZE names: RapidFuzz" >&2
    SAMPLE_ARGS=()
    if (( SIZE > RF_FULL_MAX )); then SAMPLE_ARGS=(--sample "$S_POS" --sample-negatives "$S_NEG"); fi
    "${TIME[@]}" "${PIN[@]}" "$VENV/bin/python" "$HERE/rf_bench.py" screen --work "$WORK" --size "$SIZE" \
        --quality "$WORK/rf_quality.json" "${SAMPLE_ARGS[@]}" --out "$WORK/rf_$SIZE.json" 2>"$WORK/rf_$SIZE.log" \
        || { cat "$WORK/rf_$SIZE.log" >&2; exit 1; }
    grep -E "^rapidfuzz" "$WORK/rf_$SIZE.log" >&2 || true
done

"$VENV/bin/python" "$HERE/report.py" --work "$WORK" --sizes "$SIZES" --rapidfuzz-version "$RF_VERSION" \
    --command "bench/names/run.sh --sizes $SIZES --rf-sample $RF_SAMPLE --rf-negatives $RF_NEG --rf-large-sample $RF_LARGE" \
    --out "$HERE/results.md"
cat "$HERE/results.md"
