"""Tool retrieval: Recall@k of each selector on NESTFUL + BFCL `multiple`, and what selection
does to the embedded model's plans.

    python bench/select_bench.py --out DIR [--plan-sample 10] [--model local]

Retrieval: the tools are the union (by name) of the NESTFUL tool specs (133 functions) and
every function offered by BFCL `multiple` (443 names); each query is a NESTFUL record's
`input` (gold: the tools its calls use) or a BFCL `multiple` question (gold: its one call).
Recall@k counts a query as found when *every* gold tool is among the k picked. Queries are
split by a stable hash of their id (`parcall.eval.split_of`): Tool2Vec and the learned
downstream edges learn from the `dev` half, and every selector is scored on the `test` half.
Downstream completion stays within k (a downstream tool replaces the lowest pick).

Plan (`--plan-sample N`, 0 to skip): N test queries of NESTFUL's SGD part (30 tools) planned
by the embedded model with all 30 tools shown, with the BM25 picks (k=5) and with the picks
of `Clauses` over BM25 learned from the dev queries; a plan is right
when it calls exactly the gold set of tools. Planner latency is the plan call's wall time.
Writes `select.json` and `select.md` into `--out`.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean, median
from typing import Any

import anyio

from parcall import Agent, ParcallError, Settings, Tool
from parcall.eval import split_of
from parcall.select import (
    BM25Selector,
    Clauses,
    EmbeddingSelector,
    FeedsCompletion,
    RankFusion,
    Tool2VecSelector,
    ToolSelector,
    Usage,
)

DATA = Path("/work/shared/data")
NESTFUL_PARTS = ("executable", "non-executable-glaive", "non-executable-sgd")
KS = (3, 5, 10)
_REF = re.compile(r"\$(var\d+)")


@dataclass
class Query:
    id: str
    text: str
    gold: tuple[str, ...]
    edges: tuple[tuple[str, str], ...] = ()
    part: str = ""


@dataclass
class Corpus:
    tools: dict[str, Tool] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)  # spec name -> tool name
    queries: list[Query] = field(default_factory=list)

    def add(self, name: str, description: str, parameters: dict[str, Any]) -> None:
        if name in self.renamed:  # union by name: the first spec of a name is kept
            return
        safe = re.sub(r"\W", "_", name)
        while safe in self.tools:
            safe += "_"
        self.renamed[name] = safe
        # pydantic refuses field names with a leading underscore (BFCL has `_class`).
        props = {p.lstrip("_") or p: v for p, v in (parameters.get("properties") or {}).items()}
        parameters = {**parameters, "properties": props}
        parameters["required"] = [r.lstrip("_") for r in parameters.get("required") or ()]
        self.tools[safe] = Tool.from_schema(
            safe, parameters, _stub(safe), description=description or ""
        )


def _stub(name: str) -> Any:
    def call(**arguments: Any) -> dict[str, Any]:
        return {"tool": name, "result": f"<{name} result>"}

    return call


def _nestful_schema(spec: dict[str, Any]) -> dict[str, Any]:
    params = spec.get("query_parameters") or {}
    properties = {}
    for pname, p in params.items():
        prop = {k: v for k, v in p.items() if k in ("type", "description", "default")}
        if p.get("allowed_values"):
            prop["enum"] = p["allowed_values"]
        properties[pname] = prop
    required = [n for n, p in params.items() if p.get("required")]
    return {"type": "object", "properties": properties, "required": required}


def load_corpus() -> Corpus:
    corpus = Corpus()
    for part in NESTFUL_PARTS:
        for spec in json.loads((DATA / "nestful" / f"{part}-spec.json").read_text()):
            corpus.add(spec["name"], spec.get("description", ""), _nestful_schema(spec))
    questions = [
        json.loads(line)
        for line in (DATA / "bfcl/question/BFCL_v4_multiple.json").read_text().splitlines()
    ]
    for q in questions:
        for fn in q["function"]:
            corpus.add(fn["name"], fn.get("description", ""), fn.get("parameters") or {})
    for part in NESTFUL_PARTS:
        records = json.loads((DATA / "nestful" / f"{part}-data.json").read_text())
        for i, record in enumerate(records):
            calls = [c for c in record["output"] if c["name"] != "var_result"]
            label_tool = {c.get("label"): corpus.renamed[c["name"]] for c in calls}
            edges = []
            for c in calls:
                for label in _REF.findall(json.dumps(c.get("arguments", {}))):
                    if label in label_tool:
                        edges.append((label_tool[label], corpus.renamed[c["name"]]))
            gold = tuple(dict.fromkeys(corpus.renamed[c["name"]] for c in calls))
            corpus.queries.append(
                Query(f"nestful-{part}-{i}", record["input"], gold, tuple(edges), part)
            )
    answers = {
        a["id"]: a
        for a in map(
            json.loads,
            (DATA / "bfcl/possible_answer/BFCL_v4_multiple.json").read_text().splitlines(),
        )
    }
    for q in questions:
        text = " ".join(m["content"] for turn in q["question"] for m in turn if m["role"] == "user")
        gold = tuple(corpus.renamed[next(iter(call))] for call in answers[q["id"]]["ground_truth"])
        corpus.queries.append(Query(f"bfcl-{q['id']}", text, gold, (), "bfcl-multiple"))
    return corpus


# -- retrieval -------------------------------------------------------------------------------


def recall(picks: Sequence[Sequence[str]], queries: Sequence[Query]) -> float:
    return mean(set(q.gold) <= set(p) for p, q in zip(picks, queries))


@dataclass
class _AsIs:
    """A selector that does not learn: completion rows learn edges only, so a row's
    selector is the one of the row without completion."""

    selector: ToolSelector

    async def select(self, request: str, tools: Sequence[Tool], k: int) -> list[Tool]:
        return await self.selector.select(request, tools, k)


async def picks_at(
    selector: ToolSelector, queries: Sequence[Query], tools: Sequence[Tool], k: int
) -> list[list[str]]:
    return [[t.name for t in await selector.select(q.text, tools, k)] for q in queries]


async def retrieval(corpus: Corpus, embeddings: bool) -> dict[str, Any]:
    tools = list(corpus.tools.values())
    dev = [q for q in corpus.queries if split_of(q.id) == "dev"]
    test = [q for q in corpus.queries if split_of(q.id) == "test"]
    learned_bm25 = BM25Selector()
    for q in dev:
        learned_bm25.learn(Usage(q.text, q.gold, q.edges))
    selectors: dict[str, ToolSelector] = {
        "bm25": BM25Selector(),
        "bm25 learned": learned_bm25,
        "clauses(bm25 learned)": Clauses(learned_bm25),
    }
    if embeddings:
        from parcall.select import MiniLMEncoder

        encoder = MiniLMEncoder()
        selectors["embedding"] = EmbeddingSelector(encoder)
        tool2vec = Tool2VecSelector(encoder)
        for q in dev:
            tool2vec.learn(Usage(q.text, q.gold, q.edges))
        selectors["tool2vec"] = tool2vec
        selectors["bm25+tool2vec"] = RankFusion([selectors["bm25"], tool2vec])
        selectors["bm25 learned+tool2vec"] = RankFusion([learned_bm25, tool2vec])
        selectors["clauses(bm25 learned+tool2vec)"] = Clauses(RankFusion([learned_bm25, tool2vec]))
    rows = []
    for name, selector in selectors.items():
        for completion in (False, True):
            chosen: ToolSelector = selector
            if completion:
                feeds = FeedsCompletion(_AsIs(selector))  # learns edges, not the selector
                for q in dev:
                    feeds.learn(Usage(q.text, q.gold, q.edges))
                chosen = feeds
            started = time.perf_counter()
            row: dict[str, Any] = {"selector": name, "completion": completion}
            for k in KS:
                picks = await picks_at(chosen, test, tools, k)
                row[f"recall@{k}"] = round(recall(picks, test), 3)
                for part in sorted({q.part for q in test}):
                    idx = [i for i, q in enumerate(test) if q.part == part]
                    row.setdefault("by_part", {})[f"{part}@{k}"] = round(
                        recall([picks[i] for i in idx], [test[i] for i in idx]), 3
                    )
            row["ms_per_query"] = round(
                1000 * (time.perf_counter() - started) / (len(KS) * len(test)), 2
            )
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "by_part"}), flush=True)
    return {
        "tools": len(tools),
        "queries": {"dev": len(dev), "test": len(test)},
        "gold_tools_per_query": round(mean(len(q.gold) for q in test), 2),
        "rows": rows,
    }


# -- plans on the embedded model -------------------------------------------------------------


async def plan_sample(corpus: Corpus, model_spec: str, n: int, k: int) -> dict[str, Any]:
    from parcall.models import resolve_model

    sgd = json.loads((DATA / "nestful/non-executable-sgd-spec.json").read_text())
    tools = [corpus.tools[corpus.renamed[s["name"]]] for s in sgd]
    queries = [
        q for q in corpus.queries if q.part == "non-executable-sgd" and split_of(q.id) == "test"
    ][:n]
    model = resolve_model(model_spec, n_ctx=8192)  # all 30 tool schemas take ~3,600 tokens
    runs = []
    learned = BM25Selector()
    for q in corpus.queries:
        if split_of(q.id) == "dev":
            learned.learn(Usage(q.text, q.gold, q.edges))
    settings: list[tuple[str, ToolSelector | None]] = [
        ("all", None),
        (f"bm25@{k}", BM25Selector()),
        (f"clauses(bm25 learned)@{k}", Clauses(learned)),
    ]
    for setting, selector in settings:
        agent = Agent(
            model,
            tools,
            tool_selector=selector,
            # only the plan is measured
            settings=Settings(select_k=k, constrained=True, max_replans=0, max_join_tokens=1),
        )
        for q in queries:
            try:
                result = await agent.run(q.text)
            except ParcallError as exc:
                result = exc.result
            assert result is not None
            call = next(c for c in result.model_calls if c.purpose == "plan")
            called = {t.tool for plan in result.plans for t in plan}
            runs.append(
                {
                    "setting": setting,
                    "id": q.id,
                    "right_tools": called == set(q.gold),
                    "gold_called": set(q.gold) <= called,
                    "plan_seconds": round(call.time - call.started, 2),
                    "prompt_tokens": call.usage.input_tokens,
                    "prompt_evaluated": call.usage.input_tokens - call.usage.cached_tokens,
                    "plan": result.plans[0].text,
                }
            )
            print(json.dumps({k: v for k, v in runs[-1].items() if k != "plan"}), flush=True)
    summary = {}
    for setting in dict.fromkeys(r["setting"] for r in runs):
        mine = [r for r in runs if r["setting"] == setting]
        summary[setting] = {
            "right_tools": round(mean(r["right_tools"] for r in mine), 2),
            "gold_called": round(mean(r["gold_called"] for r in mine), 2),
            "plan_seconds_median": median(r["plan_seconds"] for r in mine),
            "plan_seconds_mean": round(mean(r["plan_seconds"] for r in mine), 2),
            "prompt_tokens_mean": round(mean(r["prompt_tokens"] for r in mine)),
            "prompt_evaluated_mean": round(mean(r["prompt_evaluated"] for r in mine)),
        }
    return {"model": model_spec, "queries": len(queries), "summary": summary, "runs": runs}


# -- report ----------------------------------------------------------------------------------


def markdown(report: dict[str, Any]) -> str:
    lines: list[str] = []
    ret = report.get("retrieval")
    if ret:
        lines += [
            f"Tool retrieval: {ret['tools']} tools (NESTFUL specs ∪ BFCL multiple), "
            f"{ret['queries']['test']} held-out queries ({ret['gold_tools_per_query']} gold "
            f"tools each on average); Tool2Vec and learned edges from "
            f"{ret['queries']['dev']} dev queries.",
            "",
            "| selector | completion | R@3 | R@5 | R@10 | ms/query |",
            "|---|---|---|---|---|---|",
        ]
        for row in ret["rows"]:
            lines.append(
                f"| {row['selector']} | {'yes' if row['completion'] else 'no'} | {row['recall@3']} "
                f"| {row['recall@5']} | {row['recall@10']} | {row['ms_per_query']} |"
            )
    plan = report.get("plan")
    if plan:
        lines += [
            "",
            f"Plans on `{plan['model']}`, {plan['queries']} NESTFUL-SGD test queries "
            "(30 tools), constrained, one query at a time:",
            "",
            "| tools shown | right tool set | gold tools called | plan s (median) "
            "| prompt tokens | evaluated |",
            "|---|---|---|---|---|---|",
        ]
        for setting, s in plan["summary"].items():
            lines.append(
                f"| {setting} | {s['right_tools']} | {s['gold_called']} "
                f"| {s['plan_seconds_median']} | {s['prompt_tokens_mean']} "
                f"| {s['prompt_evaluated_mean']} |"
            )
    return "\n".join(lines) + "\n"


async def amain(args: argparse.Namespace) -> None:
    corpus = load_corpus()
    report: dict[str, Any] = {}
    if not args.skip_retrieval:
        report["retrieval"] = await retrieval(corpus, not args.no_embeddings)
    if args.plan_sample:
        report["plan"] = await plan_sample(corpus, args.model, args.plan_sample, args.k)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "select.json").write_text(json.dumps(report, indent=2))
    (args.out / "select.md").write_text(markdown(report))
    print(markdown(report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--plan-sample", type=int, default=0)
    parser.add_argument("--model", default="local")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--no-embeddings", action="store_true", help="BM25 only")
    parser.add_argument("--skip-retrieval", action="store_true", help="only the plan sample")
    args = parser.parse_args()
    anyio.run(amain, args)


if __name__ == "__main__":
    main()
