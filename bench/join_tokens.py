"""How many tokens the joiner reads in each prompt layout, for the plans of a recorded run.

The calls of each HotpotQA record are run again (the dataset's tools are deterministic) and
one join message holding all of them (a run's only round, on nearly every question) is
rendered in three layouts, then counted with the model's
tokenizer (no model is run, so the machine's load does not matter):

- `whole`: the join instructions after the results (`Prompts(join_rules="",
  results_once=False)`, the layout before round 5);
- `rules`: the rules in the system prompt, each round adds its results and a short ask;
- `rules+once`: and a result's lines that an earlier result shows are left out (the default).

    python bench/join_tokens.py RECORDS.jsonl [--split dev] [--model local]

Prints, per layout, the join message's tokens (mean, median) and the system prompt's.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from parcall._core.observation import Observation
from parcall._core.plan import Task
from parcall._planner.prompts import Prompts
from parcall._planner.question import answer_shape
from parcall.eval._hotpotqa import HotpotQA
from parcall.models._local import resolve_local

LAYOUTS = {
    "whole": Prompts(join_rules="", results_once=False),
    "rules": Prompts(results_once=False),
    "rules+once": Prompts(),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("records", type=Path)
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--model", default="local")
    args = parser.parse_args()

    import llama_cpp

    path = resolve_local(args.model)
    vocab = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)

    def count(text: str) -> int:
        return len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    dataset = HotpotQA()
    examples = {e.id: e for e in dataset.examples(args.split)}
    joins: dict[str, list[int]] = {name: [] for name in LAYOUTS}
    systems: dict[str, int] = {}
    for line in args.records.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        example = examples.get(record["id"])
        if example is None or not record["calls"]:
            continue
        tools = {t.name: t for t in dataset.tools(example)}
        tasks, observations = [], {}
        for call in record["calls"]:
            if call["tool"] not in tools:
                continue
            idx, tool, kwargs = call["idx"], call["tool"], call["args"]
            value = tools[tool].function(**kwargs)
            tasks.append(Task(idx, tool, kwargs))
            observations[idx] = Observation(idx, tool, kwargs, "done", value=value)
        thought = "short" if answer_shape(example.question).kind == "choice" else "none"
        for name, prompts in LAYOUTS.items():
            text = prompts.join(
                example.question, tasks, observations, None, can_replan=True, thought=thought
            )
            joins[name].append(count(text))
            systems[name] = count(prompts.system(list(tools.values())))
    print(f"{len(joins['whole'])} records of {args.records}")
    print("| layout | join message tokens: mean | median | system prompt tokens |")
    print("|---|---:|---:|---:|")
    for name, counts in joins.items():
        mean, median = statistics.mean(counts), statistics.median(counts)
        print(f"| {name} | {mean:.0f} | {median:.0f} | {systems[name]} |")


if __name__ == "__main__":
    main()
