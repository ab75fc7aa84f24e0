"""A long text result cut to the sentences that bear on the question, for the joiner.

The joiner reads every result before it writes a word, and on a CPU reading is most of its
time. A paragraph that a search returns usually holds one or two sentences that matter: the
first (what the thing is) and the ones that share words with the question or the call.
`relevant_sentences` keeps those, in their order, and marks what it left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["LEFT_OUT", "relevant_sentences"]

LEFT_OUT = " […]"

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])")
_WORD = re.compile(r"[^\W_]+")
_STOP_WORDS = (
    "a an the of in on at to for and or is are was were be been by with from as that this "
    "which who whom whose what when where how did does do it its his her their he she they "
    "not no yes than then also has have had into one two"
)
_STOP = frozenset(_STOP_WORDS.split())


def relevant_sentences(text: str, about: Iterable[str], keep: int) -> str:
    """`text` with at most `keep` sentences: the first one, and of the others those sharing
    the most words with `about` (ties: the earlier). Lines are cut on their own (a result of
    several lines, one item each, keeps every line's first sentence)."""
    if keep < 1:
        raise ValueError(f"keep must be at least 1, not {keep}")
    words = {w for phrase in about for w in _words(phrase)}
    return "\n".join(_line(line, words, keep) for line in text.split("\n"))


def _line(line: str, words: set[str], keep: int) -> str:
    sentences = _SENTENCE_END.split(line.strip())
    if len(sentences) <= keep:
        return line
    scored = sorted(
        range(1, len(sentences)),
        key=lambda i: (-len(words & set(_words(sentences[i]))), i),
    )
    chosen = sorted([0, *scored[: keep - 1]])
    parts: list[str] = []
    for n, i in enumerate(chosen):
        if n and i != chosen[n - 1] + 1:
            parts[-1] += LEFT_OUT
        parts.append(sentences[i])
    if chosen[-1] != len(sentences) - 1:
        parts[-1] += LEFT_OUT
    return " ".join(parts)


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]
