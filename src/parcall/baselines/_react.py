"""`ReActAgent`: one tool call per model turn — Thought / Action / Observation, as in the
ReAct paper (Yao et al., 2022) — on parcall's models, tools and events, as a baseline."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .._core.observation import Observation
from .._core.plan import Task
from .._planner.text import _balance, build_task
from ._turns import ANSWER_FORMAT, ARGUMENTS, Turn, TurnAgent, final_turn, next_index

__all__ = ["REACT_EXAMPLES", "REACT_SYSTEM", "ReActAgent"]

REACT_SYSTEM = f"""\
You answer questions with tools, one tool call at a time. Reply with one Thought line and \
one Action line:
Thought: <one line of reasoning>
Action: tool(arg=value, ...)
and stop there: you will be shown `Observation: <the result>`. Repeat until the results \
answer the question, then reply
{ANSWER_FORMAT}
{ARGUMENTS}

Tools:
{{tools}}{{examples}}"""

REACT_EXAMPLES: tuple[str, ...] = (
    """\
Question: In which city was the director of the film Jaws born?
Thought: I need the director of Jaws first.
Action: search(query="Jaws (film)")
Observation: Jaws (film): Jaws is a 1975 American thriller film directed by Steven Spielberg.
Thought: Jaws was directed by Steven Spielberg. Now I need where he was born.
Action: search(query="Steven Spielberg")
Observation: Steven Spielberg: Steven Allan Spielberg (born December 18, 1946, in \
Cincinnati, Ohio) is an American film director.
Thought: Steven Spielberg was born in Cincinnati, Ohio.
Action: Finish(Cincinnati)""",
    """\
Question: Were the Eiffel Tower and the Statue of Liberty designed by the same person?
Thought: I need who designed each of them.
Action: search(query="Eiffel Tower")
Observation: Eiffel Tower: The tower is named after the engineer Gustave Eiffel, whose \
company designed and built it.
Thought: Gustave Eiffel's company designed the Eiffel Tower. Now the Statue of Liberty.
Action: search(query="Statue of Liberty")
Observation: Statue of Liberty: The statue was designed by Frédéric Auguste Bartholdi; its \
metal framework was built by Gustave Eiffel.
Thought: Bartholdi designed the statue and Eiffel the tower: not the same person.
Action: Finish(no)""",
)
"""Worked examples (as in the ReAct paper's prompts); shown when the agent has the tools
they call."""

_ACTION = re.compile(r"^[ \t]*action[ \t]*:[ \t]*(.*)$", re.IGNORECASE | re.MULTILINE)
_THOUGHT_OR_ACTION = re.compile(r"^[ \t]*(?:thought|action)[ \t]*:", re.IGNORECASE | re.MULTILINE)
_THOUGHT = re.compile(r"^[ \t]*thought[ \t]*:[ \t]*(.*)$", re.IGNORECASE | re.MULTILINE)


class ReActAgent(TurnAgent):
    """Answers requests by calling one tool per model turn and reading its result.

    ```python
    agent = ReActAgent(model=ScriptedModel([...]), tools=[search, calculator])
    result = await agent.run("How much taller is A than B?")
    ```

    Each turn is `Thought: ...` then `Action: tool(args)` (parsed like a plan line, so
    `$N` names the result of the N-th call) or `Action: Finish(answer)`. A broken action is
    shown to the model as an error observation; so is a call made before (it is not run
    again). A one-argument tool may be called with bare text, `search(Ed Wood)`. Worked
    examples are shown when the agent has the tools they call (`examples`). `max_turns`
    bounds the turns.
    """

    system_prompt = REACT_SYSTEM
    examples = REACT_EXAMPLES
    stop = ("\nObservation:",)
    repeat_calls = False  # a greedy model that repeats a call would repeat it to the limit

    def read_turn(self, text: str, known: set[int]) -> Turn:
        text = _invented_start(text).split("\nObservation:")[0]  # invented observations
        thoughts = _THOUGHT.findall(text)
        thought = thoughts[0].strip() if thoughts else None
        match = _ACTION.search(text)
        if match is None or match.group(1).lower().startswith("finish"):
            return final_turn(text, "write `Action: tool(...)` or `Action: Finish(answer)`")
        line = text.count("\n", 0, match.start()) + 1
        call = _one_call(text[match.start(1) :])
        name, args, kwargs = self.parse_call(call, line)
        task = build_task(
            next_index(known),
            name,
            args,
            kwargs,
            self.tools,
            defined=known,
            line=line,
            text=call,
            thought=thought,
        )
        return Turn(tasks=(task,), thought=thought)

    def observe(self, tasks: Sequence[Task], observations: dict[int, Observation]) -> str:
        return "\n".join(
            f"Observation: {observations[t.idx].show(self.observation_chars)}" for t in tasks
        )


def _one_call(text: str) -> str:
    """The action's call: its line, and the next ones while brackets or strings are open."""
    lines = text.split("\n")
    for end in range(1, len(lines) + 1):
        depth, open_string = _balance("\n".join(lines[:end]))
        if depth <= 0 and not open_string:
            return "\n".join(lines[:end])
    return text


def _invented_start(text: str) -> str:
    """A turn that opens with an observation the model wrote itself: what follows it (a
    `Thought:` or `Action:` line), or nothing."""
    if not text.lstrip().lower().startswith("observation"):
        return text
    after = _THOUGHT_OR_ACTION.search(text)
    return text[after.start() :] if after else ""
