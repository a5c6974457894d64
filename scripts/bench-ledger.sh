#!/usr/bin/env bash
# Builds a ledger of about one million events by durable intake through the
# CLI (synchronous=FULL), then measures:
#   * intake throughput of `tocsin report submit --jsonl` (reports/s),
#   * `tocsin audit verify` wall time on the whole ledger (3 runs),
#   * inclusion/consistency proof generation + verification and full
#     verification through the store (criterion, bench `intake`, group ledger_*).
# Usage: scripts/bench-ledger.sh [REPORTS]   (default 333333 reports = 1,000,000 events)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-333333}
OUT=$(realpath -m "${CARGO_TARGET_DIR:-target}/bench-ledger")
mkdir -p "$OUT"
rm -f "$OUT"/ledger.db "$OUT"/ledger.db-* "$OUT"/ledger.db.key
cargo build --release -q -p tocsin
BIN=${CARGO_TARGET_DIR:-target}/release/tocsin
python3 - "$N" crates/tocsin/scenarios/kerman-report.json > "$OUT/reports.jsonl" <<'PY'
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
base = json.load(open(path))
for i in range(n):
    base["title"] = f"Benchmark report {i}"
    print(json.dumps(base, separators=(",", ":")))
PY
"$BIN" --db "$OUT/ledger.db" init --origin tocsin.bench/ledger > /dev/null
start=$(date +%s.%N)
"$BIN" --db "$OUT/ledger.db" --as collector.bench report submit --jsonl --concurrency 256 "$OUT/reports.jsonl" > /dev/null
end=$(date +%s.%N)
events=$(python3 -c "import sqlite3;print(sqlite3.connect('$OUT/ledger.db').execute('select count(*) from ledger').fetchone()[0])")
python3 -c "s=$end-$start; print(f'intake: $N reports ({$events} events) in {s:.1f} s = {$N/s:,.0f} reports/s durable')"
for i in 1 2 3; do
  /usr/bin/env time -f "audit verify: %e s wall, %M KiB max RSS" "$BIN" --db "$OUT/ledger.db" audit verify > /dev/null
done
TOCSIN_BENCH_DB="$OUT/ledger.db" cargo bench -q -p tocsin --bench intake -- ledger_
