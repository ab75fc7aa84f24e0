"""FanOutQA's own string scorer (`fanoutqa.eval.string.answer_in_text`, the `fanoutqa` extra).

The package's `fanoutqa.eval` imports its model-based scorers (rouge-score, BLEURT, an
OpenAI client) on import, so `eval/string.py` is loaded by itself. Its normaliser lemmatises
with spaCy's `en_core_web_sm`; that model is not on PyPI, so when it is not installed the
same normaliser runs on spaCy's blank English tokenizer with each word as its own lemma
(stricter: "countries" no longer matches "country"). `lemmatizer()` says which is in use.
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

from .._core.errors import ParcallError
from .._core.extras import missing_extra, require

__all__ = ["answer_in_text", "lemmatizer"]


@cache
def _string_module() -> Any:
    package = require("fanoutqa", needed_for="scoring FanOutQA")
    path = Path(next(iter(package.__path__))) / "eval" / "string.py"
    loaded = importlib.util.spec_from_file_location("fanoutqa.eval.string", path)
    if loaded is None or loaded.loader is None:
        raise ParcallError(f"cannot load FanOutQA's string scorer from {path}")
    module = importlib.util.module_from_spec(loaded)
    try:
        loaded.loader.exec_module(module)
    except ImportError as exc:
        raise missing_extra(
            "fanoutqa", needed_for="FanOutQA's string scorer", note=str(exc)
        ) from exc
    _set_lemmatizer()
    return module


@cache
def lemmatizer() -> str:
    """`en_core_web_sm` (the package's own setting) or `none` (blank English tokenizer)."""
    return "en_core_web_sm" if importlib.util.find_spec("en_core_web_sm") else "none"


def _set_lemmatizer() -> None:
    if lemmatizer() != "none":
        return
    norm = require("fanoutqa.norm", needed_for="FanOutQA's string scorer")
    spacy = require("spacy", needed_for="FanOutQA's string scorer")
    nlp = spacy.blank("en")

    def words_as_lemmas(doc: Any) -> Any:
        for token in doc:
            token.lemma_ = token.lower_
        return doc

    norm.nlp.pipe = lambda text, **kwargs: words_as_lemmas(nlp(text, **kwargs))


def answer_in_text(reference: Any, candidate: str) -> tuple[bool, float]:
    """(every reference string found, the share found) — FanOutQA's strict and loose
    string accuracy of one answer."""
    result = _string_module().answer_in_text(reference, candidate)
    return bool(result.found), float(result.score)
