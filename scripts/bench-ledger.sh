#!/usr/bin/env bash
# Builds a ledger of about one million events by durable intake through the
# CLI and the HTTP API (synchronous=FULL), then measures:
#   * intake throughput of `tocsin report submit --jsonl` (reports/s),
#   * `tocsin audit verify` and `audit verify --deep` wall time on the whole
#     ledger (3 runs each),
#   * inclusion/consistency proof generation + verification and full
#     verification through the store (criterion, bench `intake`, group ledger_*).
# It sets up everything it needs with supported commands: a new database
# (`tocsin init`), the first admin (`tocsin account add --admin`), a server
# on a free port of 127.0.0.1 (`tocsin serve`, stopped before the ledger is
# verified), the collector's element and account, and an API token for it.
# Usage: scripts/bench-ledger.sh [REPORTS]   (default 333333 reports = 1,000,000 events)
# BENCH_LEDGER_NO_CRITERION=1 stops after the verification timings.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-333333}
OUT=$(realpath -m "${CARGO_TARGET_DIR:-target}/bench-ledger")
mkdir -p "$OUT"
rm -rf "$OUT"/ledger.db "$OUT"/ledger.db-* "$OUT"/ledger.db.key "$OUT"/config
cargo build --release -q -p tocsin
BIN=${CARGO_TARGET_DIR:-target}/release/tocsin
# The CLI's saved login stays inside $OUT; nothing from the environment leaks in.
export TOCSIN_DB="$OUT/ledger.db" TOCSIN_CONFIG_DIR="$OUT/config"
unset TOCSIN_KEY TOCSIN_SERVER TOCSIN_TOKEN TOCSIN_NOW TOCSIN_POLICY TOCSIN_PASSWORD
python3 - "$N" crates/tocsin/scenarios/kerman-report.json > "$OUT/reports.jsonl" <<'PY'
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
base = json.load(open(path))
for i in range(n):
    base["title"] = f"Benchmark report {i}"
    print(json.dumps(base, separators=(",", ":")))
PY
# The report's element, and a clearance that covers it (SECRET, compartment HCS).
ELEMENT=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['originating_element'])" crates/tocsin/scenarios/kerman-report.json)
"$BIN" init --origin tocsin.bench/ledger > /dev/null
ADMIN_PASSWORD=$(python3 -c "import secrets; print(secrets.token_urlsafe(18))")
echo "$ADMIN_PASSWORD" | "$BIN" account add --admin bench.admin --password-stdin > /dev/null

# The server, on a free port, without background jobs (no sweep during intake).
RUST_LOG=warn "$BIN" serve --bind 127.0.0.1:0 --no-jobs > "$OUT/serve.out" 2> "$OUT/serve.log" &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2> /dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q '^listening on ' "$OUT/serve.out" 2> /dev/null && break
  kill -0 "$SERVER_PID" 2> /dev/null || { cat "$OUT/serve.log" >&2; exit 1; }
  sleep 0.1
done
export TOCSIN_SERVER=$(sed -n 's/^listening on //p' "$OUT/serve.out")
[ -n "$TOCSIN_SERVER" ] || { echo "tocsin serve did not start" >&2; cat "$OUT/serve.log" >&2; exit 1; }
echo "$ADMIN_PASSWORD" | "$BIN" login bench.admin --password-stdin --days 1 > /dev/null
"$BIN" element add "$ELEMENT" > /dev/null
# The admin gets a one-time enrolment secret; the collector sets its own
# password with it and issues its own token (nobody issues one for another).
SECRET=$("$BIN" account add collector.bench --role collector --element "$ELEMENT" \
  --clearance SECRET --compartment HCS -q)
echo "$ADMIN_PASSWORD-collector" \
  | "$BIN" enrol collector.bench --secret "$SECRET" --password-stdin --days 1 > /dev/null
COLLECTOR_TOKEN=$("$BIN" token issue --label bench-ledger --role collector --days 1 -q)

start=$(date +%s.%N)
TOCSIN_TOKEN=$COLLECTOR_TOKEN "$BIN" report submit --jsonl --concurrency 256 "$OUT/reports.jsonl" > /dev/null
end=$(date +%s.%N)
"$BIN" logout > /dev/null
kill "$SERVER_PID"
wait "$SERVER_PID" || true
trap - EXIT

events=$(python3 -c "import sqlite3;print(sqlite3.connect('$OUT/ledger.db').execute('select count(*) from ledger').fetchone()[0])")
python3 -c "s=$end-$start; print(f'intake: $N reports ({$events} events) in {s:.1f} s = {$N/s:,.0f} reports/s durable')"
for i in 1 2 3; do
  /usr/bin/env time -f "audit verify: %e s wall, %M KiB max RSS" "$BIN" audit verify > /dev/null
done
# --deep also folds the accounts and every case from the ledger and checks
# each action's authorization at its position and every query-table row.
for i in 1 2 3; do
  /usr/bin/env time -f "audit verify --deep: %e s wall, %M KiB max RSS" "$BIN" audit verify --deep > /dev/null
done
[ -n "${BENCH_LEDGER_NO_CRITERION:-}" ] && exit 0
TOCSIN_BENCH_DB="$OUT/ledger.db" cargo bench -q -p tocsin --bench intake -- ledger_
