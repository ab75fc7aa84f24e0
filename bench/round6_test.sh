#!/usr/bin/env bash
# HotpotQA test split (28 questions), back to back on one quiet machine: the reference agents
# (../shared/reference/hotpotqa_agents.py), parcall, and parcall's ReAct and parallel-calls
# baselines on the embedded default model; then each paired against the reference ReAct.
#
#   bench/round6_test.sh OUT [REFERENCE_DIR]
#
# OUT gets the records, summary.md, load.txt (uptime before and after each step) and
# compare-*.txt. PARCALL and PYTHON name the commands (default: parcall, python).
set -euo pipefail

OUT=${1:?usage: bench/round6_test.sh OUT [REFERENCE_DIR]}
REF=${2:-../shared/reference}
PARCALL=${PARCALL:-parcall}
PYTHON=${PYTHON:-python}
MODEL_FILE=$($PARCALL models path local)
mkdir -p "$OUT"

# shellcheck source=bench/_steps.sh
. "$(dirname "$0")/_steps.sh"  # step NAME COMMAND...: the command, with the load in load.txt

"$PYTHON" -c "from parcall.eval import write_hotpotqa_split as w; w('test', '$OUT/hotpotqa-test.json')"
step reference "$PYTHON" "$REF/hotpotqa_agents.py" "$MODEL_FILE" 28 "$OUT/reference-test.jsonl" \
    "$OUT/hotpotqa-test.json" 0
for agent in parcall react parallel; do
    step "$agent" $PARCALL eval hotpotqa --split test --agent "$agent" --out "$OUT/hotpotqa"
done

H=$OUT/hotpotqa/hotpotqa.test
for run in parcall.local.text-constrained react.local parallel.local; do
    $PARCALL eval compare "$OUT/reference-test.jsonl#react" "$H.$run.jsonl" \
        | tee "$OUT/compare-${run%%.*}-vs-reference.txt"
done
$PARCALL eval summary "$OUT/reference-test.jsonl#react" "$OUT/reference-test.jsonl#plan_execute" \
    "$H".*.jsonl | tee "$OUT/summary.md"
