"""Saved llama.cpp states: used only when intact and made for this model, prompt, version.

The file format is tested without llama.cpp; the warm start itself with the tiny model.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from conftest import TINY_MISSING, tiny_model_path
from parcall import (
    Agent,
    JoinerOutputError,
    ReplanLimitError,
    RunResult,
    ScriptedModel,
    Settings,
    tool,
)
from parcall.models import LlamaCpp, Message, ModelRequest, TextChunk, UsageChunk
from parcall.models._state import (
    MAGIC,
    SavedState,
    StateKey,
    model_identity,
    prompt_hash,
    read_state,
    state_dir,
    state_path,
    write_state,
)

KEY = StateKey("model.gguf:10:1:abc", "0.3.36", 4096, prompt_hash("system prompt"))
STATE = SavedState(KEY, (1, 2, 3, 4), bytes(range(256)) * 40)


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = state_path(tmp_path, Path("model.gguf"), KEY)
    write_state(path, STATE)
    return path


def test_a_state_reads_back_as_it_was_written(saved: Path) -> None:
    assert read_state(saved, KEY) == STATE
    assert saved.read_bytes().startswith(MAGIC)
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]  # no temporary left


@pytest.mark.parametrize(
    "change",
    [
        {"model": "other.gguf:10:1:abc"},
        {"model": "model.gguf:10:2:abc"},  # same file name, rewritten
        {"prompt_sha256": prompt_hash("another system prompt")},
        {"llama_cpp_version": "0.3.37"},
        {"n_ctx": 2048},
    ],
    ids=["other model", "model file changed", "other prompt", "other version", "other n_ctx"],
)
def test_a_state_made_for_something_else_is_not_used(
    saved: Path, change: dict[str, object]
) -> None:
    assert read_state(saved, dataclasses.replace(KEY, **change)) is None  # type: ignore[arg-type]


def test_a_truncated_state_is_not_used(saved: Path) -> None:
    data = saved.read_bytes()
    for keep in (len(data) - 1, len(data) // 2, len(MAGIC) + 5, 3, 0):
        saved.write_bytes(data[:keep])
        assert read_state(saved, KEY) is None, keep


def test_a_state_with_a_changed_byte_is_not_used(saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    data[-100] ^= 0xFF
    saved.write_bytes(bytes(data))
    assert read_state(saved, KEY) is None


@pytest.mark.parametrize(
    "content",
    [b"", b"not a state", MAGIC + b"{not json\n", MAGIC + b'{"key": {}}\n', MAGIC + b"[1]\n"],
)
def test_garbage_is_not_a_state(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.llama-state"
    path.write_bytes(content)
    assert read_state(path, KEY) is None
    assert read_state(tmp_path / "missing.llama-state", KEY) is None


def test_one_file_per_model_and_prompt(tmp_path: Path) -> None:
    other_prompt = dataclasses.replace(KEY, prompt_sha256=prompt_hash("x"))
    paths = {
        state_path(tmp_path, Path("a.gguf"), KEY),
        state_path(tmp_path, Path("b.gguf"), KEY),
        state_path(tmp_path, Path("a.gguf"), other_prompt),
    }
    assert len(paths) == 3


def test_the_folder_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARCALL_STATE_DIR", str(tmp_path / "here"))
    assert state_dir() == tmp_path / "here"


def test_a_model_file_identity_changes_with_its_content(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"a" * 5000)
    first = model_identity(model)
    model.write_bytes(b"a" * 4999 + b"b")
    assert model_identity(model) != first


# --- with llama.cpp and the tiny model ---------------------------------------------------

HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None
SYSTEM = Message("system", "You answer in one short sentence. " * 6)


@pytest.fixture
def tiny_path() -> Path:
    if not HAVE_LLAMA:
        pytest.skip("needs the llama extra: pip install -e '.[llama]'")
    path = tiny_model_path()
    if path is None:
        pytest.skip(TINY_MISSING)
    return path


Make = Callable[..., LlamaCpp]


@pytest.fixture
def make(tiny_path: Path, tmp_path: Path) -> Iterator[Make]:
    """Tiny models saving their states in `tmp_path` (each one as a new process would be)."""
    made: list[LlamaCpp] = []

    def one(**options: object) -> LlamaCpp:
        made.append(
            LlamaCpp("local:tiny", n_ctx=2048, n_threads=2, seed=1, state_dir=tmp_path, **options)  # type: ignore[arg-type]
        )
        return made[-1]

    yield one
    for model in made:
        model.close()


async def answer(model: LlamaCpp, question: str = "What is 2 + 2?") -> tuple[str, int]:
    request = ModelRequest((SYSTEM, Message("user", question)), max_tokens=6, temperature=0.0)
    text, cached = "", -1
    async for chunk in model.stream(request):
        if isinstance(chunk, TextChunk):
            text += chunk.text
        elif isinstance(chunk, UsageChunk):
            cached = chunk.usage.cached_tokens
    return text, cached


def state_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.llama-state"))


@pytest.mark.llama
@pytest.mark.anyio
async def test_a_new_process_restores_the_system_prompt_and_answers_the_same(
    make: Make, tmp_path: Path
) -> None:
    first = make()
    cold_text, cold_cached = await answer(first)
    assert first.warm_status == "built" and cold_cached > 0  # built, then reused at once
    [saved] = state_files(tmp_path)
    second = make()  # as a new process would
    text, cached = await answer(second)
    assert second.warm_status == "loaded"
    assert text == cold_text and cached == cold_cached
    assert state_files(tmp_path) == [saved]


@pytest.mark.llama
@pytest.mark.anyio
async def test_a_stale_or_damaged_state_is_rebuilt_not_trusted(make: Make, tmp_path: Path) -> None:
    builder = make()
    expected, _ = await answer(builder)
    [path] = state_files(tmp_path)
    whole = path.read_bytes()
    magic, header, payload = whole.split(b"\n", 2)
    version, prompt = b'"llama_cpp_version":"', b'"prompt_sha256":"'
    damaged = {
        "truncated": whole[: len(whole) // 3],
        "other version": b"\n".join([magic, header.replace(version, version + b"0"), payload]),
        "other prompt": b"\n".join([magic, header.replace(prompt, prompt + b"0"), payload]),
    }
    for damage, content in damaged.items():
        path.write_bytes(content)
        again = make()
        text, _ = await answer(again)
        assert (again.warm_status, text) == ("built", expected), damage
        assert path.read_bytes().split(b"\n", 2)[1] == header, damage  # rebuilt for now
        again.close()
    last = make()
    await answer(last)
    assert last.warm_status == "loaded"


@pytest.mark.llama
@pytest.mark.anyio
async def test_a_prefill_is_reused_by_the_call_that_extends_it(make: Make, tmp_path: Path) -> None:
    model = make(warm_start=False)
    await model.load()
    opening = (SYSTEM, Message("user", "Results:\n1. search(query='a')\n   → "))
    await model.prefill(opening)
    request = ModelRequest(
        (SYSTEM, Message("user", "Results:\n1. search(query='a')\n   → found a")), max_tokens=2
    )
    chunks = [c async for c in model.stream(request)]
    usage = chunks[-1].usage if isinstance(chunks[-1], UsageChunk) else None
    assert usage is not None
    assert usage.cached_tokens >= usage.input_tokens - 8  # only the results were read


@pytest.mark.llama
@pytest.mark.anyio
async def test_a_prefill_gives_way_to_a_call_and_is_skipped_before_loading(
    make: Make, tmp_path: Path
) -> None:
    model = make(warm_start=False)
    await model.prefill((SYSTEM, Message("user", "x")))  # not loaded: nothing happens
    assert model._llm is None
    await model.load()
    long = (Message("system", "Read this. " * 300), Message("user", "and this"))
    finished: list[bool] = []
    evaluate = model._evaluate

    def counted(tokens: list[int]) -> bool:
        finished.append(evaluate(tokens))
        return finished[-1]

    model._evaluate = counted  # type: ignore[method-assign]
    async with anyio.create_task_group() as tg:
        tg.start_soon(model.prefill, long)
        while not finished:  # the prefill holds the model and has read a piece
            await anyio.lowlevel.checkpoint()
        text, _ = await answer(model)  # waits for the prefill to stop, not to finish
    assert text.strip()
    # It stopped between pieces (the whole is 600 tokens, 19 pieces), none cut midway: an
    # aborted llama.cpp evaluation slows the ones after it.
    assert finished and len(finished) < 19 and all(finished)


@pytest.mark.llama
@pytest.mark.anyio
async def test_a_prefill_stops_between_pieces_and_keeps_what_it_read(make: Make) -> None:
    model = make(warm_start=False)
    await model.load()
    pieces: list[int] = []
    evaluate = model._evaluate

    def counted(tokens: list[int]) -> bool:
        pieces.append(len(tokens))
        done = evaluate(tokens)
        if len(pieces) == 2:
            model._prefilling[0].set()  # as a real call arriving would
        return done

    model._evaluate = counted  # type: ignore[method-assign]
    long = (Message("system", "Read this. " * 100), Message("user", "and this"))
    await model.prefill(long)
    assert pieces == [32, 64] and model._llm.n_tokens == 64
    request = ModelRequest(long, max_tokens=1, temperature=0.0)
    chunks = [c async for c in model.stream(request)]
    usage = chunks[-1].usage if isinstance(chunks[-1], UsageChunk) else None
    assert usage is not None and usage.cached_tokens == 64


@tool
async def lookup(query: str) -> str:
    """Look a fact up.

    Args:
        query: what to look for.
    """
    await anyio.lowlevel.checkpoint()
    return f"{query} is 42"


@pytest.mark.llama
@pytest.mark.anyio
async def test_concurrent_runs_share_one_loaded_model(make: Make, tmp_path: Path) -> None:
    model = make()
    agent = Agent(
        model,
        [lookup],
        settings=Settings(constrained=True, max_replans=0, max_plan_tokens=40, max_join_tokens=24),
    )
    results: dict[str, RunResult | None] = {}

    async def ask(question: str) -> None:
        try:
            results[question] = await agent.run(question)
        except (ReplanLimitError, JoinerOutputError) as exc:  # a 135M model may still ask
            results[question] = exc.result  # to replan: the run itself went through

    async with anyio.create_task_group() as tg:
        tg.start_soon(ask, "What is the answer about apples?")
        tg.start_soon(ask, "What is the answer about pears?")
    assert set(results) == {"What is the answer about apples?", "What is the answer about pears?"}
    for result in results.values():
        assert result is not None and result.model_calls
        assert result.model_calls[0].purpose == "plan" and result.model_calls[0].usage.input_tokens
    assert model.warm_status in ("built", "loaded")
    assert len(state_files(tmp_path)) == 1  # one system prompt, one state, both runs


@pytest.mark.anyio
async def test_a_scripted_model_has_no_prefill_and_runs_as_before() -> None:
    model = ScriptedModel(['1. lookup("a")\nfinish($1)\n'])
    result = await Agent(model, [lookup]).run("q")
    assert result.answer == "a is 42" and not hasattr(model, "prefill")


def test_an_abandoned_job_never_starts_and_a_started_one_is_waited_for() -> None:
    from parcall.models._llama_generation import Job

    ran: list[str] = []
    job = Job(lambda: ran.append("late"))
    assert job.abandon() is False  # cancelled before a thread picked it up
    with pytest.raises(RuntimeError):
        job()
    assert ran == []
    started = Job(lambda: ran.append("now") or 7)
    assert started() == 7 and started.abandon() is True
    started.wait()  # returns at once: it has ended
    assert ran == ["now"]
