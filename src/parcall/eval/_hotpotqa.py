"""HotpotQA (distractor): multi-hop questions over ten Wikipedia paragraphs each.

Each question gets its own `search` (BM25 over its ten paragraphs) and `lookup` (the
sentences that contain a term), so the runner needs no network. Answers are scored with
the exact match and F1 of the official evaluation script (`hotpot_evaluate_v1.py`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import string
from collections import Counter
from collections.abc import Sequence
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from .._core.result import RunResult
from .._core.tool import Tool
from ..select._bm25 import Bm25Index
from ._dataset import Example, Split, split_of

__all__ = [
    "HotpotQA",
    "example_id",
    "hotpot_em",
    "hotpot_f1",
    "normalize_answer",
    "write_hotpotqa_split",
]

DATA_FILE = "hotpotqa_dev_distractor_60.json.gz"


class HotpotQA:
    """The first 60 questions of the HotpotQA dev distractor set (30 dev, 30 test).

    `search_chars` cuts the paragraph `search` returns; `lookup_sentences` and
    `lookup_chars` bound what `lookup` returns, offered with `lookup=True`. By default
    `search` is the only tool, as for the reference agents the project is measured against
    (on the dev split `lookup` changed no score and made the joiner read more).
    """

    name = "hotpotqa"
    kind: Literal["answer", "plan"] = "answer"
    primary = "em"

    def __init__(
        self,
        *,
        search_chars: int = 400,
        lookup_sentences: int = 3,
        lookup_chars: int = 300,
        lookup: bool = False,
    ) -> None:
        for arg, value in (
            ("search_chars", search_chars),
            ("lookup_sentences", lookup_sentences),
            ("lookup_chars", lookup_chars),
        ):
            if value < 1:
                raise ValueError(f"{arg} must be at least 1, not {value}")
        self.search_chars = search_chars
        self.lookup_sentences = lookup_sentences
        self.lookup_chars = lookup_chars
        self.lookup = lookup

    @property
    def settings(self) -> dict[str, Any]:
        """What a summary records about this dataset's tools."""
        return {
            "search_chars": self.search_chars,
            "lookup_sentences": self.lookup_sentences,
            "lookup_chars": self.lookup_chars,
            "lookup": self.lookup,
        }

    @cached_property
    def _all(self) -> tuple[Example, ...]:
        return tuple(_example(r) for r in source_records())

    def examples(self, split: Split) -> Sequence[Example]:
        return [e for e in self._all if split_of(e.id) == split]

    def tools(self, example: Example) -> Sequence[Tool]:
        paragraphs: list[tuple[str, list[str]]] = example.meta["paragraphs"]
        index = Bm25Index(
            [f"{title}: {''.join(sents)}" for title, sents in paragraphs], extra="eval"
        )
        search_chars, lookup_sentences = self.search_chars, self.lookup_sentences
        lookup_chars = self.lookup_chars

        def search(query: str) -> str:
            """Search the Wikipedia paragraphs for the best match to `query` and return it as
            "Title: text". Search for one entity at a time (a person, place, film or band).

            Args:
                query: an entity name or a few key words, e.g. "Scott Derrickson".
            """
            (best, score), *_ = index.ranked(query, k=1)
            if score <= 0:
                return f"No paragraph matches {query!r}; try another name."
            title, sentences = paragraphs[best]
            return _cut(f"{title}: {''.join(sentences).strip()}", search_chars)

        def lookup(term: str) -> str:
            """Return the sentences of the Wikipedia paragraphs that contain `term` (any
            case), each as "Title: sentence". Use it to find a detail (a date, a place, a
            name) that search did not show.

            Args:
                term: a word or phrase to find, e.g. "born".
            """
            needle = term.strip().lower()
            if not needle:
                return "Give a term to look up."
            found = [
                f"{title}: {sentence.strip()}"
                for title, sentences in paragraphs
                for sentence in sentences
                if needle in sentence.lower()
            ]
            if not found:
                return f"No sentence contains {term!r}."
            return "\n".join(_cut(s, lookup_chars) for s in found[:lookup_sentences])

        if not self.lookup:
            return [Tool.from_function(search)]
        return [Tool.from_function(search), Tool.from_function(lookup)]

    def score(self, example: Example, result: RunResult) -> dict[str, float]:
        return {
            "em": hotpot_em(result.answer, example.gold),
            "f1": hotpot_f1(result.answer, example.gold),
        }

    def gold_script(self, example: Example) -> list[str]:
        """A plan that searches the question and a joiner that answers with the gold answer:
        checks the runner and the scorer end to end (it scores 100 %)."""
        return [
            f"1. search(query={json.dumps(example.question)})\njoin()\n",
            f"Thought: the gold answer.\nAction: Finish({example.gold})",
        ]


def example_id(question: str) -> str:
    """The id of a HotpotQA question: a hash of its text, so any file holding the question
    (the reference agents' output, another copy of the data) maps to the same example."""
    return f"hotpotqa-{hashlib.sha256(question.encode('utf-8')).hexdigest()[:16]}"


def source_records() -> list[dict[str, Any]]:
    """The shipped questions as HotpotQA's own JSON records, in file order."""
    raw = resources.files("parcall.eval").joinpath("data").joinpath(DATA_FILE).read_bytes()
    records: list[dict[str, Any]] = json.loads(gzip.decompress(raw))
    return records


def write_hotpotqa_split(split: Split, path: str | os.PathLike[str]) -> int:
    """Write the questions of one split as a HotpotQA JSON file (the format of the data
    file, in its order), for agents outside parcall to run on exactly that split; returns
    how many were written."""
    if split not in ("dev", "test"):
        raise ValueError(f"split must be 'dev' or 'test', not {split!r}")
    chosen = [r for r in source_records() if split_of(example_id(r["question"])) == split]
    Path(path).write_text(json.dumps(chosen, ensure_ascii=False), encoding="utf-8")
    return len(chosen)


def _example(record: dict[str, Any]) -> Example:
    question: str = record["question"]
    context = record["context"]
    paragraphs = [
        (title, list(sentences)) for title, sentences in zip(context["title"], context["sentences"])
    ]
    return Example(
        id=example_id(question),
        question=question,
        gold=record["answer"],
        meta={
            "paragraphs": paragraphs,
            "type": record.get("type"),
            "level": record.get("level"),
            "supporting_titles": list(record.get("supporting_facts", {}).get("title", [])),
        },
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# The official HotpotQA evaluation (hotpot_evaluate_v1.py), kept to its letter.
def normalize_answer(text: str) -> str:
    """Lowercase, drop punctuation, drop the articles a/an/the, squeeze whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def hotpot_em(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def hotpot_f1(prediction: str, gold: str) -> float:
    """Token F1; a yes/no/noanswer on either side scores only when both are equal."""
    pred, ref = normalize_answer(prediction), normalize_answer(gold)
    if (pred in ("yes", "no", "noanswer") or ref in ("yes", "no", "noanswer")) and pred != ref:
        return 0.0
    common = Counter(pred.split()) & Counter(ref.split())
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred.split())
    recall = same / len(ref.split())
    return 2 * precision * recall / (precision + recall)
