#!/usr/bin/env bash
# Round 5 on the test split, back to back on one machine: parcall against the reference ReAct
# (../shared/reference/hotpotqa_agents.py) on HotpotQA, with tools as fast as they are and
# with every tool call taking 0.5 s, and parcall against its ReAct baseline on the first 60
# FanOutQA test questions; then the paired comparisons (`parcall eval compare`).
#
#   bench/round5.sh OUT [REFERENCE_DIR]
#
# OUT gets the records, each folder's summary, load.txt (uptime before and after each step)
# and compare-*.txt. Run again with the same OUT to resume: `parcall eval` skips the
# questions OUT holds; the reference script is skipped once its file has all its lines.
# PARCALL and PYTHON name the commands (default: parcall, python).
set -euo pipefail

OUT=${1:?usage: bench/round5.sh OUT [REFERENCE_DIR]}
REF=${2:-../shared/reference}
PARCALL=${PARCALL:-parcall}
PYTHON=${PYTHON:-python}
MODEL_FILE=$($PARCALL models path local)
mkdir -p "$OUT"

# shellcheck source=bench/_steps.sh
. "$(dirname "$0")/_steps.sh"  # step NAME COMMAND...: the command, with the load in load.txt

reference() {  # reference OUTFILE [--tool-latency S]: both reference agents, 28 questions
    local file=$1
    shift
    local lines=0
    [ -f "$file" ] && lines=$(wc -l <"$file")
    # two lines (react, plan_execute) per question; resume from the first missing question
    if [ "$lines" -lt 56 ]; then
        "$PYTHON" "$REF/hotpotqa_agents.py" "$MODEL_FILE" 28 "$file" "$OUT/hotpotqa-test.json" \
            $((lines / 2)) "$@"
    fi
}

"$PYTHON" -c "from parcall.eval import write_hotpotqa_split as w; w('test', '$OUT/hotpotqa-test.json')"

# HotpotQA test (28 questions), tools as fast as they are
step reference reference "$OUT/reference-test.jsonl"
step parcall $PARCALL eval hotpotqa --split test --agent parcall --out "$OUT/hotpotqa"
step react $PARCALL eval hotpotqa --split test --agent react --out "$OUT/hotpotqa"
step parallel $PARCALL eval hotpotqa --split test --agent parallel --out "$OUT/hotpotqa"

# HotpotQA test, every tool call 0.5 s (the reference script sleeps as long in each search)
step reference-0.5 reference "$OUT/reference-test-latency-0.5.jsonl" --tool-latency 0.5
step parcall-0.5 $PARCALL eval hotpotqa --split test --agent parcall --tool-latency 0.5 \
    --out "$OUT/hotpotqa-latency-0.5"
step react-0.5 $PARCALL eval hotpotqa --split test --agent react --tool-latency 0.5 \
    --out "$OUT/hotpotqa-latency-0.5"

# FanOutQA test, the first 60 questions
step fanoutqa-parcall $PARCALL eval fanoutqa --split test --limit 60 --agent parcall \
    --out "$OUT/fanoutqa"
step fanoutqa-react $PARCALL eval fanoutqa --split test --limit 60 --agent react \
    --out "$OUT/fanoutqa"

H=$OUT/hotpotqa/hotpotqa.test
L=$OUT/hotpotqa-latency-0.5/hotpotqa.test
F=$OUT/fanoutqa/fanoutqa.test
compare() {  # compare NAME A B
    $PARCALL eval compare "$2" "$3" | tee "$OUT/compare-$1.txt"
}
compare parcall-vs-reference "$OUT/reference-test.jsonl#react" "$H.parcall.local.text-constrained.jsonl"
compare react-vs-reference "$OUT/reference-test.jsonl#react" "$H.react.local.jsonl"
compare parcall-vs-reference-0.5 "$OUT/reference-test-latency-0.5.jsonl#react" \
    "$L.parcall.local.text-constrained.latency-0.5s.jsonl"
compare react-vs-reference-0.5 "$OUT/reference-test-latency-0.5.jsonl#react" \
    "$L.react.local.latency-0.5s.jsonl"
compare fanoutqa-parcall-vs-react "$F.react.local.jsonl" "$F.parcall.local.text-constrained.jsonl"
$PARCALL eval summary "$OUT/reference-test.jsonl#react" "$OUT/reference-test.jsonl#plan_execute" \
    "$H".*.jsonl "$OUT/reference-test-latency-0.5.jsonl#react" "$L".*.jsonl "$F".*.jsonl \
    | tee "$OUT/summary.md"
