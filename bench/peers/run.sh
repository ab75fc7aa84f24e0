#!/usr/bin/env bash
# Measure both peers on all workloads and write peers.{jsonl,json,md} to OUT (default: a new
# parcall-bench-DATE-TIME folder here; OUT=bench/results refreshes the published figures).
#   bash bench/peers/run.sh [REPEATS] [WORKLOADS] [OUT]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
REPEATS="${1:-3}"
WORKLOADS="${2:-W1,W2,W3,U1,U2}"
OUT="${3:-$PWD/parcall-bench-$(date +%Y%m%d-%H%M%S)}"
bash "$HERE/setup.sh"
PY="$ROOT/bench/.venv-peers/bin/python"
mkdir -p "$OUT"
: > "$OUT/peers.jsonl"
"$PY" "$HERE/run_llmcompiler_pkg.py" --workloads "$WORKLOADS" --repeats "$REPEATS" --out "$OUT/peers.jsonl"
"$PY" "$HERE/run_llamaindex_pack.py" --workloads "$WORKLOADS" --repeats "$REPEATS" --out "$OUT/peers.jsonl"
"$PY" "$HERE/report.py" "$OUT/peers.jsonl" --json "$OUT/peers.json" --md "$OUT/peers.md"
echo "wrote $OUT/peers.{jsonl,json,md}"
