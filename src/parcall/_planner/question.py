"""The shape of the answer a question asks for: yes or no, one of the options it names, or
an open answer.

A small joiner answers a yes/no question with a sentence, and "Who is older, A or B?" with
a birthplace. Knowing the shape lets the joiner prompt say what to write and the join
grammar allow only that: `yes`/`no`, or one of the options exactly as the question spells
them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["AnswerShape", "answer_shape"]

_AUXILIARY = re.compile(
    r"^\s*(is|are|was|were|do|does|did|has|have|had|can|could|will|would|should)\b",
    re.IGNORECASE,
)
_WH = re.compile(r"^\s*(which|who|whom|whose|what|where|when)\b", re.IGNORECASE)
_ASKS_MORE = re.compile(r"^(and|but|also)\b|.*\b(when|where|how|what|why|which|who)\b", re.I)
_COMPARING = re.compile(r"\b(first|last|earlier|later|more|most|less|least|\w+er|\w+est)\b", re.I)
_CONNECTORS = frozenset({"of", "the", "and", "de", "von", "van", "for", "in", "&", "la", "le"})
_MAX_OPTION_WORDS = 8


@dataclass(frozen=True, slots=True)
class AnswerShape:
    """`yes_no`: answer yes or no. `choice`: answer one of `options`. `open`: anything."""

    kind: Literal["yes_no", "choice", "open"]
    options: tuple[str, ...] = ()


def answer_shape(question: str) -> AnswerShape:
    """The shape of the answer `question` asks for.

    A choice is a wh-question that names two options joined by "or", set off by commas
    ("Who is older, Annie Morton or Terry Richardson?") or, without commas, as two names
    ("Which magazine was started first Arthur's Magazine or First for Women?"). A question
    that opens with an auxiliary verb ("Were ...", "Is ...") and names no options asks for
    yes or no.
    """
    options = _options(question)
    if options and (_WH.match(question) or _AUXILIARY.match(question)):
        return AnswerShape("choice", options)
    if _AUXILIARY.match(question) and not re.search(r"\bor\b", question):
        return AnswerShape("yes_no")  # "Is it red or blue?" is not a yes/no question
    return AnswerShape("open")


def _options(question: str) -> tuple[str, ...]:
    text = question.strip().rstrip("?").strip()
    parts = [p.strip() for p in text.split(",")]
    for at in range(len(parts) - 1, 0, -1):  # the options are set off by commas ...
        found = _split_or(parts[at])
        if found:
            # "..., Paris or Lyon, and when was it founded?" asks for more than a choice.
            return () if any(_ASKS_MORE.match(p) for p in parts[at + 1 :]) else found
    return _named_options(text)  # ... or are names after a comparison


def _split_or(part: str) -> tuple[str, ...]:
    pieces = [p.strip() for p in re.split(r"\s+or\s+", part)]
    if len(pieces) != 2 or not all(pieces):
        return ()
    if any(len(p.split()) > _MAX_OPTION_WORDS for p in pieces):
        return ()
    return (pieces[0], pieces[1])


def _named_options(text: str) -> tuple[str, ...]:
    """Two capitalised names around the last " or " ("... first Arthur's Magazine or First
    for Women"), for questions that set them off with no commas."""
    match = list(re.finditer(r"\s+or\s+", text))
    if not match:
        return ()
    left_words = text[: match[-1].start()].split()[1:]  # not the question's first word
    right_words = text[match[-1].end() :].split()
    left = _name_run(list(reversed(left_words)))
    right = _name_run(right_words)
    if not left or not right:
        return ()
    if not _COMPARING.search(" ".join(left_words[: len(left_words) - len(left)])):
        return ()  # "Who directed Alien or Aliens?" names two works but asks for a person
    return (" ".join(reversed(left)), " ".join(right))


def _name_run(words: list[str]) -> list[str]:
    """The leading words that make up a name: capitalised, or connectors inside one."""
    run: list[str] = []
    for word in words:
        if (
            word[:1].isupper()
            or word[:1].isdigit()
            or word[:1] in "\"'("
            or (word.lower() in _CONNECTORS and run)
        ):
            run.append(word)
        else:
            break
    while run and run[-1].lower() in _CONNECTORS:
        run.pop()
    if len(run) > _MAX_OPTION_WORDS:
        return []
    return run
