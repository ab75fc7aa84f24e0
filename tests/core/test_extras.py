"""`require` and `missing_extra`: a missing optional package is one error naming its extra."""

from __future__ import annotations

import sys

import pytest

from parcall import ParcallError
from parcall._core.extras import MissingExtraError, missing_extra, require


def test_the_extra_named_can_be_the_one_this_use_comes_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "bm25s", None)
    with pytest.raises(MissingExtraError) as info:
        require("bm25s", needed_for="the eval datasets' search", extra="eval")
    assert str(info.value) == "the eval datasets' search needs bm25s: pip install 'parcall[eval]'"
    assert info.value.extra == "eval"
    assert isinstance(info.value, ImportError) and isinstance(info.value, ParcallError)


def test_a_note_follows_the_install_command() -> None:
    error = missing_extra("sentence_transformers", needed_for="MiniLMEncoder", note="CPU torch")
    assert str(error) == (
        "MiniLMEncoder needs sentence-transformers: pip install 'parcall[embeddings]' (CPU torch)"
    )


def test_a_submodule_is_missing_when_its_package_is(monkeypatch: pytest.MonkeyPatch) -> None:
    import json.decoder  # noqa: F401 - loaded, so only the package check can fail

    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    monkeypatch.setitem(sys.modules, "opentelemetry.trace", sys.modules["json.decoder"])
    with pytest.raises(MissingExtraError, match=r"parcall\[otel\]"):
        require("opentelemetry.trace", needed_for="spans")
