"""`ParallelToolCallAgent`: a batch of independent calls per model turn, as OpenAI's and
Anthropic's parallel tool calling do — one model round trip per dependency level."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ._errors import PlanError
from ._observation import Observation
from ._parser import _BARE_CALL, _TASK, build_task, parse_call
from ._plan import Task
from ._turns import Turn, TurnAgent, final_turn, next_index, read_finish

__all__ = ["PARALLEL_SYSTEM", "ParallelToolCallAgent"]

PARALLEL_SYSTEM = """\
You answer questions with tools. Each reply is one batch of tool calls, one per line:
N. tool(arg=value, ...)
numbered on from the calls before. The calls of a batch run at the same time, so a call \
cannot use the result of another call in its batch: make it in a later batch, once you have \
seen that result. You are shown the results of each batch. When they answer the question, reply
Thought: <one line>
Action: Finish(<the final answer, short and direct>)
Arguments are literals: "strings", numbers, true/false, null, [lists], {{"dicts": ...}}.

Tools:
{tools}"""

_THOUGHT = re.compile(r"thought\s*:\s*(.*)", re.IGNORECASE)


class ParallelToolCallAgent(TurnAgent):
    """Answers requests in rounds: the model writes a batch of calls, all of them run at
    once, and it sees their results before writing the next batch or `Finish(answer)`.

    ```python
    agent = ParallelToolCallAgent(model=ScriptedModel([...]), tools=[search, calculator])
    result = await agent.run("How much taller is A than B?")
    ```

    Calls are plan lines (`N. tool(args)`, or `tool(args)` numbered on automatically); `$N`
    may name a result of an earlier batch, never one of the same batch. A turn without
    calls is the answer.
    """

    system_prompt = PARALLEL_SYSTEM

    def read_turn(self, text: str, known: set[int]) -> Turn:
        finish = read_finish(text)
        if finish is not None:
            return finish
        tasks: list[Task] = []
        batch: set[int] = set()
        thought: str | None = None
        for line_no, raw in enumerate(text.split("\n"), start=1):
            line = raw.strip().lstrip("-* ")
            said = _THOUGHT.fullmatch(line)
            if said:
                thought = said.group(1).strip()
                continue
            numbered = _TASK.fullmatch(line)
            bare = _BARE_CALL.match(line)
            if numbered:
                idx, call = int(numbered.group(1)), numbered.group(2)
            elif bare and bare.group(1) in self.tools:
                idx, call = next_index(known | batch), line
            else:
                continue  # prose around the calls
            name, args, kwargs = parse_call(call, line_no)
            task = build_task(
                idx,
                name,
                args,
                kwargs,
                self.tools,
                defined=known | batch,
                line=line_no,
                text=raw,
                thought=thought,
            )
            same = [d for d in task.deps if d in batch]
            if same:
                raise PlanError(
                    f"task {idx} uses ${same[0]} of the same batch; calls of a batch run at "
                    "once, so make it in the next turn",
                    line=line_no,
                    text=raw,
                )
            batch.add(idx)
            tasks.append(task)
            thought = None
        if tasks:
            return Turn(tasks=tuple(tasks))
        return final_turn(text, "write tool calls or `Action: Finish(answer)`")

    def observe(self, tasks: Sequence[Task], observations: dict[int, Observation]) -> str:
        lines = ["Results:"]
        for task in tasks:
            shown = observations[task.idx].show(self.observation_chars)
            lines.append(f"{task.describe()}\n   → {shown}")
        return "\n".join(lines)
