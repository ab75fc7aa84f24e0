"""FanOutQA (dev): questions that fan out over many Wikipedia facts, each stored with its
decomposition into sub-questions and their answers.

The Wikipedia evidence is not in the dataset, so the one tool is an oracle: `ask` answers
the stored sub-question that best matches the question asked (BM25) with its stored answer.
Answers are scored with the package's own string accuracy (`fanoutqa.eval.string`).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from importlib import resources
from typing import Any, Literal

from .._core.result import RunResult
from .._core.tool import Tool
from ..select._bm25 import Bm25Index
from ._dataset import Example, Split, split_of
from ._fanoutqa_score import answer_in_text, lemmatizer

__all__ = ["FanOutQA", "answer_text"]

DATA_FILE = "fanoutqa_dev.json.gz"


class FanOutQA:
    """The 310 FanOutQA dev questions (split by id into dev and test, about half each).

    Scores: `loose` (the share of the reference's answer strings found in the prediction;
    the primary score) and `strict` (all of them found), as the FanOutQA paper defines them.
    """

    name = "fanoutqa"
    kind: Literal["answer", "plan"] = "answer"
    primary = "loose"

    def __init__(self, *, answer_chars: int = 600) -> None:
        if answer_chars < 1:
            raise ValueError(f"answer_chars must be at least 1, not {answer_chars}")
        self.answer_chars = answer_chars

    @property
    def settings(self) -> dict[str, Any]:
        """What a summary records about this dataset's tool and scorer."""
        return {"answer_chars": self.answer_chars, "lemmatizer": lemmatizer()}

    @cached_property
    def _all(self) -> tuple[Example, ...]:
        raw = resources.files("parcall.eval").joinpath("data").joinpath(DATA_FILE).read_bytes()
        return tuple(
            Example(
                id=r["id"],
                question=r["question"],
                gold=r["answer"],
                meta={"decomposition": r["decomposition"], "categories": r.get("categories")},
            )
            for r in json.loads(gzip.decompress(raw))
        )

    def examples(self, split: Split) -> Sequence[Example]:
        return [e for e in self._all if split_of(e.id) == split]

    def tools(self, example: Example) -> Sequence[Tool]:
        steps = list(_flatten(example.meta["decomposition"]))
        index = Bm25Index([s["question"] for s in steps], extra="eval")
        limit = self.answer_chars

        def ask(question: str) -> str:
            """Ask one simple factual question (about one entity) and get its answer from
            Wikipedia, e.g. "Who were the first 5 picks in the 1998 MLB Draft?" or "What is
            the batting hand of Pat Burrell?". Ask about each entity separately.

            Args:
                question: one short, self-contained question.
            """
            (best, score), *_ = index.ranked(question, k=1)
            if score <= 0:
                return f"No answer found for {question!r}; ask about one named entity."
            step = steps[best]
            text = answer_text(step["answer"])
            if len(text) > limit:
                text = text[: limit - 1].rstrip() + "…"
            return f"{text} (answering: {step['question']})"

        return [Tool.from_function(ask)]

    def score(self, example: Example, result: RunResult) -> dict[str, float]:
        strict, loose = answer_in_text(example.gold, result.answer)
        return {"loose": loose, "strict": float(strict)}

    def gold_script(self, example: Example) -> list[str]:
        """A plan asking every top-level sub-question, then the reference answer as text."""
        lines = [
            f"{n}. ask(question={json.dumps(step['question'])})"
            for n, step in enumerate(example.meta["decomposition"], start=1)
        ]
        answer = answer_text(example.gold).replace("\n", " ")
        return ["\n".join([*lines, "join()"]) + "\n", f"Thought: gold.\nAction: Finish({answer})"]


def _flatten(steps: Sequence[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for step in steps:
        yield step
        yield from _flatten(step.get("decomposition") or [])


def answer_text(answer: Any) -> str:
    """A stored answer as text: lists joined by commas, dicts as `key: value` pairs."""
    if isinstance(answer, bool):
        return "yes" if answer else "no"
    if isinstance(answer, Mapping):
        return "; ".join(f"{k}: {answer_text(v)}" for k, v in answer.items())
    if isinstance(answer, (list, tuple)):
        return ", ".join(answer_text(a) for a in answer)
    return str(answer)
