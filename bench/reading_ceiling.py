"""How well can a model answer HotpotQA when it is handed the paragraphs, with no planning?

An upper bound for any agent on the same model: the model reads the paragraphs an ideal
search would return and writes the answer in one call. `--context gold` gives the two
supporting paragraphs in full, `gold-cut` cuts each to what `search` returns (400
characters), `all` gives all ten paragraphs (the distractor setting, cut the same way).

    python bench/reading_ceiling.py --out DIR [--model local] [--split dev]
        [--context gold|gold-cut|all] [--limit N] [--threads 2]

Writes DIR/ceiling.<split>.<model>.<context>.jsonl and prints EM/F1/seconds per question.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import anyio

from parcall import LlamaCpp
from parcall.eval._hotpotqa import HotpotQA, hotpot_em, hotpot_f1
from parcall.models import Message, ModelRequest, TextChunk

SYSTEM = (
    "Answer the question from the paragraphs. Reply with only the answer, as the paragraphs "
    "write it: a name, a number, a date or a place; or yes or no when the question asks for "
    "it. No sentence, no explanation."
)


def paragraphs_for(meta: dict[str, object], context: str, chars: int) -> list[str]:
    pairs: list[tuple[str, list[str]]] = meta["paragraphs"]  # type: ignore[assignment]
    wanted = set(meta["supporting_titles"])  # type: ignore[call-overload]
    chosen = pairs if context == "all" else [p for p in pairs if p[0] in wanted]
    texts = [f"{title}: {''.join(sentences).strip()}" for title, sentences in chosen]
    return texts if context == "gold" else [t[:chars] for t in texts]


async def answer(model: LlamaCpp, question: str, paragraphs: list[str]) -> str:
    body = "\n\n".join(paragraphs)
    request = ModelRequest(
        messages=(
            Message("system", SYSTEM),
            Message("user", f"Paragraphs:\n{body}\n\nQuestion: {question}\nAnswer:"),
        ),
        purpose="other",
        stop=("\n",),
        max_tokens=32,
        temperature=0.0,
    )
    pieces = [c.text async for c in model.stream(request) if isinstance(c, TextChunk)]
    return "".join(pieces).strip().removeprefix("Answer:").strip().rstrip(".")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default="local")
    parser.add_argument("--split", choices=("dev", "test"), default="dev")
    parser.add_argument("--context", choices=("gold", "gold-cut", "all"), default="gold")
    parser.add_argument("--chars", type=int, default=400)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    dataset = HotpotQA()
    model = LlamaCpp(args.model, n_threads=args.threads, n_ctx=4096, warm_start=False)
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"ceiling.{args.split}.{args.model.replace(':', '-')}.{args.context}.jsonl"
    path = args.out / name
    ems: list[float] = []
    f1s: list[float] = []
    walls: list[float] = []
    with path.open("w", encoding="utf-8") as records:
        for example in list(dataset.examples(args.split))[: args.limit]:
            paragraphs = paragraphs_for(example.meta, args.context, args.chars)
            started = time.perf_counter()
            prediction = anyio.run(answer, model, example.question, paragraphs)
            wall = time.perf_counter() - started
            em, f1 = hotpot_em(prediction, example.gold), hotpot_f1(prediction, example.gold)
            ems.append(em)
            f1s.append(f1)
            walls.append(wall)
            record = {
                "id": example.id,
                "question": example.question,
                "gold": example.gold,
                "prediction": prediction,
                "em": em,
                "f1": f1,
                "wall_s": round(wall, 3),
            }
            records.write(json.dumps(record, ensure_ascii=False) + "\n")
            records.flush()
            print(f"em={em:.0f} {wall:5.1f}s {prediction[:50]!r} (gold {example.gold!r})")
    n = len(ems)
    print(
        f"{args.context}: n={n} EM={sum(ems) / n:.3f} F1={sum(f1s) / n:.3f} "
        f"s/question={sum(walls) / n:.1f} -> {path}"
    )


if __name__ == "__main__":
    main()
