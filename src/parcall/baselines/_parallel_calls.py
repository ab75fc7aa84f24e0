"""`ParallelToolCallAgent`: a batch of independent calls per model turn, as OpenAI's and
Anthropic's parallel tool calling do — one model round trip per dependency level."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .._core.errors import PlanError
from .._core.observation import Observation
from .._core.plan import Task
from .._planner.text import _BARE_CALL, _TASK, build_task
from ._turns import (
    ANSWER_FORMAT,
    ARGUMENTS,
    Turn,
    TurnAgent,
    final_turn,
    next_index,
    read_finish,
)

__all__ = ["PARALLEL_EXAMPLES", "PARALLEL_SYSTEM", "ParallelToolCallAgent"]

PARALLEL_SYSTEM = f"""\
You answer questions with tools. Each reply is one batch of tool calls, one per line:
N. tool(arg=value, ...)
numbered on from the calls before. The calls of a batch run at the same time, so a call \
cannot use the result of another call in its batch: make it in a later batch, once you have \
seen that result. You are shown the results of each batch. When they answer the question, reply
{ANSWER_FORMAT}
{ARGUMENTS}

Tools:
{{tools}}{{examples}}"""

PARALLEL_EXAMPLES: tuple[str, ...] = (
    """\
Question: In which city was the director of the film Jaws born?
Thought: I need the director of Jaws first; where he was born needs his name.
1. search(query="Jaws (film)")
Results:
1. search(query="Jaws (film)")
   → Jaws (film): Jaws is a 1975 American thriller film directed by Steven Spielberg.
Thought: Jaws was directed by Steven Spielberg. Now where he was born.
2. search(query="Steven Spielberg")
Results:
2. search(query="Steven Spielberg")
   → Steven Spielberg: Steven Allan Spielberg (born December 18, 1946, in Cincinnati, \
Ohio) is an American film director.
Thought: Steven Spielberg was born in Cincinnati, Ohio.
Action: Finish(Cincinnati)""",
    """\
Question: Were the Eiffel Tower and the Statue of Liberty designed by the same person?
Thought: I need who designed each; the two searches do not depend on each other.
1. search(query="Eiffel Tower")
2. search(query="Statue of Liberty")
Results:
1. search(query="Eiffel Tower")
   → Eiffel Tower: The tower is named after the engineer Gustave Eiffel, whose company \
designed and built it.
2. search(query="Statue of Liberty")
   → Statue of Liberty: The statue was designed by Frédéric Auguste Bartholdi; its metal \
framework was built by Gustave Eiffel.
Thought: Bartholdi designed the statue and Eiffel the tower: not the same person.
Action: Finish(no)""",
)
"""Worked examples in this agent's own format (the same questions as ReAct's); shown when
the agent has the tools they call."""

_THOUGHT = re.compile(r"thought\s*:\s*(.*)", re.IGNORECASE)
_ACTION = re.compile(r"^action\s*:\s*", re.IGNORECASE)
_FINISH_CALL = re.compile(r"action\s*:\s*finish\s*\(\s*([A-Za-z_]\w*\s*\(.*\))\s*\)", re.I | re.S)
"""`Action: search(...)` (ReAct's habit) and `Action: Finish(search(...))` hold a call."""
_INVENTED = re.compile(r"\n\s*(?:Results?|Observation)\s*:", re.IGNORECASE)


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
    examples = PARALLEL_EXAMPLES
    stop = ("\nResults:", "\nResult:", "\nObservation:")
    repeat_calls = False  # as ReAct: a greedy model that repeats a call would repeat it

    def read_turn(self, text: str, known: set[int]) -> Turn:
        text = _INVENTED.split(text)[0]  # a model that runs on invents the results
        tasks: list[Task] = []
        batch: set[int] = set()
        thought: str | None = None
        for line_no, raw in enumerate(text.split("\n"), start=1):
            line = _unwrap(raw.strip().lstrip("-* "))
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
            name, args, kwargs = self.parse_call(call, line_no)
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
        if tasks:  # calls and a guessed `Finish` in one turn: the calls run (as native APIs do)
            return Turn(tasks=tuple(tasks))
        finish = read_finish(text)
        if finish is not None:
            return finish
        return final_turn(text, "write tool calls or `Action: Finish(answer)`")

    def observe(self, tasks: Sequence[Task], observations: dict[int, Observation]) -> str:
        lines = ["Results:"]
        for task in tasks:
            shown = observations[task.idx].show(self.observation_chars)
            lines.append(f"{task.describe()}\n   → {shown}")
        return "\n".join(lines)


def _unwrap(line: str) -> str:
    """The call in `Action: search(...)` or `Action: Finish(search(...))`, else the line."""
    wrapped = _FINISH_CALL.fullmatch(line)
    return wrapped.group(1) if wrapped else _ACTION.sub("", line)
