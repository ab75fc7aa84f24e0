"""The joiner's prompt is read ahead while tools run, result by result as they arrive."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import pytest

from conftest import FINISH
from parcall import Agent, ScriptedModel, Settings, Tool, tool
from parcall.models import Message

pytestmark = pytest.mark.anyio


class Reading(ScriptedModel):
    """A scripted model that records what it was asked to read ahead."""

    def __init__(self, outputs: list[str]) -> None:
        super().__init__(outputs)
        self.prefills: list[tuple[Message, ...]] = []
        self._changed = anyio.Event()

    async def prefill(self, messages: Sequence[Message]) -> None:
        self.prefills.append(tuple(messages))
        self._changed.set()
        self._changed = anyio.Event()

    async def read(self, text: str) -> None:
        """Return once a prefill has held `text`."""
        while not any(text in p[-1].content for p in self.prefills):
            await self._changed.wait()

    def read_before_join(self) -> list[str]:
        """The read-ahead texts, each checked to begin the join call's prompt."""
        join = self.requests[-1].messages
        for prefix in self.prefills:
            assert prefix[:-1] == join[:-1]
            assert join[-1].content.startswith(prefix[-1].content)
        return [p[-1].content for p in self.prefills]


def fast_then_slow(model: Reading) -> list[Tool]:
    """`fast` returns at once; `slow` once the model has read `fast`'s result ahead."""

    @tool
    def fast(key: str) -> str:
        """Returns at once."""
        return f"alpha {key}"

    @tool
    async def slow(key: str) -> str:
        """Returns once the model has read the fast result ahead."""
        await model.read("alpha a")
        return f"beta {key}"

    return [fast, slow]


async def test_a_result_that_arrived_is_read_while_the_others_run() -> None:
    model = Reading(['1. fast(key="a")\n2. slow(key="b")\njoin()\n', FINISH])
    with anyio.fail_after(5):  # if the fast result were never read ahead, this would hang
        result = await Agent(model, fast_then_slow(model)).run("q")
    assert result.answer == "done"
    read = model.read_before_join()
    assert any("alpha a" in text and text.endswith("slow(key='b')\n   → ") for text in read)


async def test_a_result_after_a_task_still_running_waits_for_it() -> None:
    # The joiner's prompt lists results in task order: task 2's result, in before task 1's,
    # is not part of what is known of the prompt's beginning until task 1's is.
    model = Reading(['1. slow(key="a")\n2. fast(key="b")\njoin()\n', FINISH])
    fast_done = anyio.Event()

    @tool
    async def fast(key: str) -> str:
        """Returns at once."""
        fast_done.set()
        return f"beta {key}"

    @tool
    async def slow(key: str) -> str:
        """Returns once task 2 is done and the model has read ahead."""
        await fast_done.wait()
        await model.read("slow(key='a')")
        return f"alpha {key}"

    with anyio.fail_after(5):
        await Agent(model, [fast, slow]).run("q")
    read = model.read_before_join()
    assert read and all("alpha a" in text for text in read if "beta b" in text)


async def test_a_separate_joiner_prompt_is_read_ahead_with_its_results() -> None:
    model = Reading(['1. fast(key="a")\n2. slow(key="b")\njoin()\n', FINISH])
    settings = Settings(prompt_layout="separate")
    with anyio.fail_after(5):
        await Agent(model, fast_then_slow(model), settings=settings).run("q")
    assert any("alpha a" in text for text in model.read_before_join())
