"""Is an answer grounded in what the tools returned? A cheap check against a small joiner
that answers from memory when the results do not hold the answer.

An answer is grounded when it is yes/no, or when its words (numbers without their commas)
all occur in some observation. This is deliberately loose: it only catches answers that no
result mentions at all, which is where a second hop is most needed.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

__all__ = ["is_grounded"]

_PUNCT = str.maketrans({c: " " for c in string.punctuation + "–—’‘“”"})
_STOP = frozenset({"a", "an", "the", "of", "in", "on", "and", "or", "to", "at", "by", "for"})


def _words(text: str) -> list[str]:
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text.lower())
    return [w for w in text.translate(_PUNCT).split() if w not in _STOP]


def is_grounded(answer: str, evidence: Iterable[str]) -> bool:
    """Whether every word of `answer` occurs in one of the `evidence` texts (yes/no always)."""
    words = _words(answer)
    if not words or (words[0] in ("yes", "no") and len(words) <= 3):
        return True
    for text in evidence:
        seen = set(_words(text))
        if all(w in seen for w in words):
            return True
    return False
