#!/usr/bin/env bash
# Round 5 on the HotpotQA dev split (32 questions), back to back: the code before round 5
# (BASE, default e779692) against the code of this checkout, for the parcall agent and both
# baselines, and the reference ReAct (../shared/reference/hotpotqa_agents.py) on the same
# questions; then the paired comparisons (`parcall eval compare`).
#
#   bench/round5_dev.sh OUT [BASE] [REFERENCE_DIR]
#
# Run from the repository root. BASE's sources are exported with `git archive` into
# OUT/base-src (nothing in the repository changes). Each agent runs on BASE, then at once on
# this checkout, so each pair shares the machine's load; load.txt has `uptime` around each
# step. Run again with the same OUT to resume. PYTHON names the interpreter (default: python).
set -euo pipefail

OUT=${1:?usage: bench/round5_dev.sh OUT [BASE] [REFERENCE_DIR]}
BASE=${2:-e779692}
REF=${3:-../shared/reference}
PYTHON=${PYTHON:-python}
HERE=$(pwd)
mkdir -p "$OUT/base-src"
OUT=$(cd "$OUT" && pwd)
[ -d "$OUT/base-src/src" ] || git archive "$BASE" src | tar -x -C "$OUT/base-src"

pc() {  # pc SRC ARGS...: the parcall command with the package from SRC
    PYTHONPATH="$1" "$PYTHON" -c 'import sys; from parcall.cli import main; sys.argv[0] = "parcall"; main()' "${@:2}"
}

run() {  # run NAME SRC ARGS...: `parcall eval` with the package from SRC
    local name=$1 src=$2
    shift 2
    echo "== $name: $(uptime)" | tee -a "$OUT/load.txt"
    pc "$src" eval "$@"
    echo "   done: $(uptime)" >>"$OUT/load.txt"
}

PYTHONPATH="$HERE/src" "$PYTHON" -c \
    "from parcall.eval import write_hotpotqa_split as w; w('dev', '$OUT/hotpotqa-dev.json')"
MODEL_FILE=$(pc "$HERE/src" models path local)

for agent in parcall react parallel; do
    run "$agent base" "$OUT/base-src/src" hotpotqa --split dev --agent $agent --out "$OUT/base"
    run "$agent round 5" "$HERE/src" hotpotqa --split dev --agent $agent --out "$OUT/round5"
done

lines=0
[ -f "$OUT/reference-dev.jsonl" ] && lines=$(wc -l <"$OUT/reference-dev.jsonl")
if [ "$lines" -lt 64 ]; then  # two lines a question (react, plan_execute)
    echo "== reference: $(uptime)" | tee -a "$OUT/load.txt"
    "$PYTHON" "$REF/hotpotqa_agents.py" "$MODEL_FILE" 32 "$OUT/reference-dev.jsonl" \
        "$OUT/hotpotqa-dev.json" $((lines / 2))
    echo "   done: $(uptime)" >>"$OUT/load.txt"
fi

cmp() {  # cmp NAME A B
    pc "$HERE/src" eval compare "$2" "$3" | tee "$OUT/compare-$1.txt"
}
P=hotpotqa.dev.parcall.local.text-constrained.jsonl
cmp parcall "$OUT/base/$P" "$OUT/round5/$P"
cmp react "$OUT/base/hotpotqa.dev.react.local.jsonl" "$OUT/round5/hotpotqa.dev.react.local.jsonl"
cmp parallel "$OUT/base/hotpotqa.dev.parallel.local.jsonl" \
    "$OUT/round5/hotpotqa.dev.parallel.local.jsonl"
cmp react-vs-reference "$OUT/reference-dev.jsonl#react" "$OUT/round5/hotpotqa.dev.react.local.jsonl"
cmp parcall-vs-reference "$OUT/reference-dev.jsonl#react" "$OUT/round5/$P"
pc "$HERE/src" eval summary "$OUT/reference-dev.jsonl#react" \
    "$OUT/reference-dev.jsonl#plan_execute" "$OUT"/base/*.jsonl "$OUT"/round5/*.jsonl \
    | tee "$OUT/summary.md"
PYTHONPATH="$HERE/src" "$PYTHON" bench/join_tokens.py "$OUT/base/$P" | tee "$OUT/join-tokens.md"
