#!/usr/bin/env bash
# HotpotQA test split (28 questions), back to back on one quiet machine: the reference agents
# (../shared/reference/hotpotqa_agents.py) and parcall's agents on the embedded default model,
# each with the same tool latency; then each parcall agent paired against the reference ReAct.
#
#   bench/round7_test.sh OUT [LATENCY] [AGENTS]
#
# LATENCY: seconds every search takes (default 0); AGENTS: parcall's agents to run (default
# "parcall react parallel"). OUT gets the records, summary.md, load.txt (uptime before and
# after each step) and compare-*.txt. PARCALL and PYTHON name the commands (default: parcall,
# python); REF the reference folder (default ../shared/reference).
set -euo pipefail

OUT=${1:?usage: bench/round7_test.sh OUT [LATENCY] [AGENTS]}
LATENCY=${2:-0}
AGENTS=${3:-parcall react parallel}
REF=${REF:-../shared/reference}
PARCALL=${PARCALL:-parcall}
PYTHON=${PYTHON:-python}
MODEL_FILE=$($PARCALL models path local)
mkdir -p "$OUT"

# shellcheck source=bench/_steps.sh
. "$(dirname "$0")/_steps.sh"  # step NAME COMMAND...: the command, with the load in load.txt

"$PYTHON" -c "from parcall.eval import write_hotpotqa_split as w; w('test', '$OUT/hotpotqa-test.json')"
step reference "$PYTHON" "$REF/hotpotqa_agents.py" "$MODEL_FILE" 28 "$OUT/reference-test.jsonl" \
    "$OUT/hotpotqa-test.json" 0 --tool-latency "$LATENCY"
for agent in $AGENTS; do
    step "$agent" $PARCALL eval hotpotqa --split test --agent "$agent" \
        --tool-latency "$LATENCY" --out "$OUT/hotpotqa"
done

for file in "$OUT"/hotpotqa/hotpotqa.test.*.jsonl; do
    run=$(basename "$file" .jsonl)
    $PARCALL eval compare "$OUT/reference-test.jsonl#react" "$file" \
        | tee "$OUT/compare-${run#hotpotqa.test.}-vs-reference.txt"
done
$PARCALL eval summary "$OUT/reference-test.jsonl#react" "$OUT/reference-test.jsonl#plan_execute" \
    "$OUT"/hotpotqa/hotpotqa.test.*.jsonl | tee "$OUT/summary.md"
