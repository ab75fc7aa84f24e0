"""Default planner and joiner prompts, built from the tools' signatures and docstrings.

The layout is chosen for prompt-prefix caching: one conversation grows across the run —
system, request, plan, observations + join instructions, decision, replan request, plan, … —
so a local model's KV cache (and hosted prompt caching) only reads what is new.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._core.history import Turn, render_turns
from .._core.observation import Observation
from .._core.outcome import missing_notice
from .._core.plan import Ref, Task, Template, call_key
from .._core.tool import Tool
from .grammar import Thought
from .question import answer_shape
from .relevance import relevant_sentences
from .repeats import unseen_lines
from .text import parse_call

__all__ = ["DEFAULT_EXAMPLES", "Example", "Prompts"]


@dataclass(frozen=True, slots=True)
class Example:
    """An in-context example: a question and the plan a good planner writes for it."""

    question: str
    plan: str


DEFAULT_EXAMPLES: tuple[Example, ...] = (
    Example(
        "Were the Eiffel Tower and the Statue of Liberty designed by the same person?",
        "Thought: Two independent lookups; the answer compares them.\n"
        '1. search(query="Eiffel Tower")\n'
        '2. search(query="Statue of Liberty")\n'
        "join()",
    ),
    Example(
        "In which city was the director of the film Jaws born?",
        "Thought: First find the director; a new plan can then search for that person.\n"
        '1. search(query="Jaws (film)")\n'
        "join()",
    ),
    Example(
        "In which city was the director of the film Jaws born?",
        "Thought: Find the director, take his name out, then search for him.\n"
        '1. search(query="Jaws (film)")\n'
        '2. extract(question="Who directed Jaws?", context=$1)\n'
        "3. search(query=$2)\n"
        "join()",
    ),
    Example(
        "How many years after the Eiffel Tower was the Empire State Building finished?",
        "Thought: Two lookups, a year from each, then arithmetic.\n"
        '1. search(query="Eiffel Tower")\n'
        '2. search(query="Empire State Building")\n'
        '3. extract(question="In which year was the Eiffel Tower finished?", context=$1)\n'
        '4. extract(question="In which year was the Empire State Building finished?", '
        "context=$2)\n"
        '5. calculator(expression="$4 - $3")\n'
        "join()",
    ),
    # An answer with nothing to judge: `finish` answers from the results, with no joiner.
    Example(
        "How many days are there in 3 weeks and 4 days?",
        '1. calculator(expression="3 * 7 + 4")\nfinish("$1 days")',
    ),
)

PLANNER_SYSTEM = """\
You are the planner of a tool-using assistant. Given a question, write a plan: a numbered \
list of tool calls that together gather what is needed to answer it. Tasks run in parallel \
as soon as their inputs are ready, so split the work into independent calls wherever you can.

Tools:
{tools}

Plan format:
- One task per line: `N. tool(arg=value, ...)`, numbered from {first} without gaps.
- Values are literals: "strings", numbers, true/false, null, [lists], {{"dicts": ...}}.
- To use the result of an earlier task N, write $N (or ${{N}}), also inside strings: \
"population of $1". A task may only use results of tasks above it.
- Look up one thing per call (one person, one place, one work), by its name.
- A result may be a whole paragraph. When a later call needs one fact from it (a name, a \
date, a number), take that fact out first with a tool that extracts it, if you have one, \
and use that task's $N.
- You may write a line `Thought: ...` before a task to reason briefly.
- Use only the tools listed above, with their argument names.
- End the plan with the line `join()` and nothing after it.
- Only when the answer is the results put together, with nothing left to judge, end \
instead with `finish("... $N ...")` (or `finish($N)`): the answer, with results written in.

Examples (their tools may differ from yours):
{examples}"""

PLANNER_SYSTEM_JSON = """\
You are the planner of a tool-using assistant. Given a question, write a plan: a JSON object \
{{"tasks": [...]}} listing the tool calls that together gather what is needed to answer it. \
Tasks run in parallel as soon as their inputs are ready, so split the work into independent \
calls wherever you can.

Tools:
{tools}

Each task is {{"id": N, "tool": "name", "args": {{...}}}}, with ids numbered from {first}. To use \
the result of an earlier task N, write the string "$N" as an argument, or "$N" inside a \
longer string. A task may only use results of tasks before it. Use only the tools above.
Set "finish" to null, or, only when the answer is the results put together with nothing \
to judge, to the answer with results written in: "$2 km".

Examples (their tools may differ from yours):
{examples}"""

PLANNER_SYSTEM_TOOLS = """\
You are the planner of a tool-using assistant. Given a question, call the tools that \
together gather what is needed to answer it, all in one reply: the calls run in parallel as \
soon as their inputs are ready. Your k-th call is task k (numbered from {first}); to use the \
result of an earlier call N as an argument, write the string "$N" (also inside a longer \
string: "population of $1"). A call may only use results of calls before it.

Tools:
{tools}"""

JOINER_SYSTEM = """\
You are the joiner of a tool-using assistant: read the question, the plan that was run and \
its results, then answer the question or ask for a new plan."""

_JOIN_ACTIONS = """\
Action: Finish(<{answer_form}>)
or, if the results name someone or something (a person, a place, a work) whose fact is \
still missing:
Action: Replan(search <that name>)"""

JOIN_INSTRUCTIONS = f"""\
Answer the question "{{question}}" from these results. Reply with two lines. First, in a few \
words:
Thought: The results say <the facts that answer it, or what is missing>.
Then, if the results state the answer:
{_JOIN_ACTIONS}"""

JOIN_INSTRUCTIONS_RESTATE = f"""\
Answer the question "{{question}}" from these results. Reply with two lines. First:
Thought: The question asks for <what it asks for>. The results say <the facts that answer \
it, or what is missing>.
Then, if the results state the answer:
{_JOIN_ACTIONS}"""

JOIN_INSTRUCTIONS_DIRECT = f"""\
Answer the question "{{question}}" from these results. Reply with one line. If the results \
state the answer:
{_JOIN_ACTIONS}"""

JOIN_RULES = """\
When you are shown the results of your plan, answer the question from them with
Action: Finish(<only the answer, as the results write it: a name, a number, a date, a place, \
or yes or no>)
or, if the results name someone or something (a person, a place, a work) whose fact is \
still missing:
Action: Replan(search <that name>)"""

JOIN_ASK = """\
Answer the question "{question}" from these results. Reply with two lines. First, in a few \
words:
Thought: The results say <the facts that answer it, or what is missing>.
Then the action."""

JOIN_ASK_RESTATE = """\
Answer the question "{question}" from these results. Reply with two lines. First:
Thought: The question asks for <what it asks for>. The results say <the facts that answer \
it, or what is missing>.
Then the action."""

JOIN_ASK_DIRECT = """\
Answer the question "{question}" from these results. Reply with one line: the action."""

YES_NO_FORM = "yes or no"
SPAN_FORM = "only the answer, as the results write it: a name, a number, a date or a place"


def answer_form(question: str) -> str:
    """What the joiner is told to write inside `Finish(...)` for this question."""
    shape = answer_shape(question)
    if shape.kind == "yes_no":
        return YES_NO_FORM
    if shape.kind == "choice":
        return " or ".join(shape.options)
    return SPAN_FORM


NO_REPLAN = """\
This is the last step: answer with `Action: Finish(...)` from the results above, and say \
which fact could not be found if one is missing."""

REPLAN_REQUEST = """\
Write a new plan for what is missing: {reason}
Number its tasks from {first}. Results of the tasks above can be used as $N. Search for the \
names the results gave you; do not repeat a call made above."""

MORE_TOOLS = """\
You may now also use these tools:
{tools}"""


@dataclass(frozen=True, slots=True)
class Prompts:
    """The texts the agent sends; replace any of them (keep the `{placeholders}`)."""

    planner_system: str = PLANNER_SYSTEM
    planner_system_json: str = PLANNER_SYSTEM_JSON
    planner_system_tools: str = PLANNER_SYSTEM_TOOLS
    examples: tuple[Example, ...] = DEFAULT_EXAMPLES
    join_instructions: str = JOIN_INSTRUCTIONS
    """What the joiner is asked when it writes a thought before its action."""
    join_instructions_direct: str = JOIN_INSTRUCTIONS_DIRECT
    """What the joiner is asked when it writes only its action (`Agent(join_thought=...)`)."""
    join_instructions_restate: str = JOIN_INSTRUCTIONS_RESTATE
    """What the joiner is asked when its thought first restates the question."""
    join_rules: str = ""
    """What the joiner does with results, said once in the system prompt, where a prefix
    cache keeps it (e.g. `JOIN_RULES`): each round then adds only its results and the short
    `join_ask*`. Empty (the default): each round's results are followed by the whole
    `join_instructions*`. Off by default: on the HotpotQA dev split with `local` it read
    fewer tokens but lost 4 answers and gained none (bench/results/eval/round-5/dev)."""
    join_ask: str = JOIN_ASK
    """After the results, with `join_rules`: the question, and the short thought to write."""
    join_ask_restate: str = JOIN_ASK_RESTATE
    join_ask_direct: str = JOIN_ASK_DIRECT
    joiner_system: str = JOINER_SYSTEM
    no_replan: str = NO_REPLAN
    replan_request: str = REPLAN_REQUEST
    more_tools_request: str = MORE_TOOLS
    """Appended to a replan request when a tool selector shows tools the planner lacked."""
    observation_chars: int = 2000
    """Observations longer than this are truncated (with a marker) in what the model sees."""
    results_once: bool = False
    """Lines of a result that an earlier result of the same join already shows are left
    out (`search` then `lookup` of one name often return the same sentences). Off by
    default until it is measured on its own (it was measured only with `join_rules`)."""
    result_sentences: int | None = None
    """A text result of more sentences than this shows the joiner only its first sentence
    and those sharing the most words with the question and the call, marked ` […]` where
    some were left out (the joiner reads every result before it answers; reading is most
    of its time on a CPU). None (the default): results are shown whole."""
    question_prefix: str = field(default="Question: ")
    history_intro: str = (
        "Earlier in this conversation (Q: a question, its calls → their results, A: the answer):"
    )
    """Heads the earlier turns shown above the question (`run(q, message_history=...)`)."""
    history_chars: int = 300
    """An earlier turn's results are cut to this many characters each."""

    def system(
        self, tools: Iterable[Tool], plan_format: str = "text", *, offered: Iterable[str] = ()
    ) -> str:
        """The planner's system prompt for `tools`; those named in `offered` (added by the
        agent, not the user's) do not make an example fit on their own."""
        template = {
            "json": self.planner_system_json,
            "tools": self.planner_system_tools,
        }.get(plan_format, self.planner_system)
        render = _example_as_json if plan_format == "json" else (lambda plan: plan)
        tools = list(tools)
        planner = template.format(
            tools="\n".join(_describe(t) for t in tools),
            examples="\n\n".join(
                f"Question: {e.question}\n{render(e.plan)}"
                for e in usable_examples(self.examples, {t.name for t in tools}, set(offered))
            ),
            first=1,
        )
        return f"{planner}\n\n{self.join_rules}" if self.join_rules else planner

    def join_system(self) -> str:
        """The joiner's own system prompt (`Agent(prompt_layout="separate")`)."""
        if not self.join_rules:
            return self.joiner_system
        return f"{self.joiner_system}\n\n{self.join_rules}"

    def question(self, request: str, history: Sequence[Turn] = ()) -> str:
        asked = f"{self.question_prefix}{request}"
        if not history:
            return asked
        return f"{render_turns(history, self.history_intro, self.history_chars)}\n\n{asked}"

    def join(
        self,
        question: str,
        tasks: Sequence[Task],
        observations: dict[int, Observation],
        plan_error: str | None,
        *,
        can_replan: bool,
        thought: Thought = "short",
        form: str | None = None,
    ) -> str:
        """`form`: what `Finish(...)` holds, if not what the question asks for (a typed
        answer's JSON shape)."""
        lines = ["Results:", *self._result_lines(question, tasks, observations)]
        if not tasks:
            lines.append("(no task was run)")
        missing = missing_notice(tasks, observations, can_replan=can_replan)
        if missing:
            lines.append(missing)
        if plan_error:
            lines.append(f"The plan could not be used in full: {plan_error}")
        lines.append("")
        instructions = self._join_instructions(question, thought, form)
        lines.append(instructions if can_replan else f"{instructions}\n{self.no_replan}")
        return "\n".join(lines)

    def _join_instructions(self, question: str, thought: Thought, form: str | None) -> str:
        if self.join_rules:  # the actions are in the system prompt: only what differs
            ask = {
                "short": self.join_ask,
                "restate": self.join_ask_restate,
                "none": self.join_ask_direct,
            }[thought].replace("{question}", question)
            form = form or answer_form(question)
            return ask if form == SPAN_FORM else f"{ask}\nThe answer is {form}."
        template = {
            "short": self.join_instructions,
            "restate": self.join_instructions_restate,
            "none": self.join_instructions_direct,
        }[thought]
        return template.replace("{question}", question).replace(
            "{answer_form}", form or answer_form(question)
        )

    def join_prefix(
        self, question: str, tasks: Sequence[Task], observations: Mapping[int, Observation]
    ) -> str:
        """The beginning of `join(...)` for these tasks that is already known: the results of
        the leading tasks that have settled, then the next task's call, for a backend to
        read ahead while the others run (it grows as results arrive)."""
        settled = list(itertools.takewhile(lambda t: t.idx in observations, tasks))
        lines = ["Results:", *self._result_lines(question, settled, observations)]
        if len(settled) < len(tasks):
            lines.append(f"{tasks[len(settled)].describe()}\n   → ")
        return "\n".join(lines) if len(lines) > 1 else "Results:\n"

    def _result_lines(
        self, question: str, tasks: Sequence[Task], observations: Mapping[int, Observation]
    ) -> Iterator[str]:
        """One entry per task: its call and what it returned, as the joiner is shown them
        (a line depends only on the tasks before it, so a prefix of them is a prefix of the
        join prompt)."""
        shown: list[str] = []
        calls: dict[str, tuple[int, str]] = {}  # a call shown already: its task and text
        for task in tasks:
            obs = observations[task.idx]
            text = obs.show(self.observation_chars)
            first = calls.setdefault(call_key(task), (task.idx, text))
            if first[0] != task.idx and first[1] == text:
                yield f"{task.describe()}\n   → (the same as {first[0]})"
                continue
            if self.result_sentences and obs.ok and isinstance(obs.value, str):
                about = [question, *(v for v in task.args.values() if isinstance(v, str))]
                text = relevant_sentences(text, about, self.result_sentences)
            new = unseen_lines(text, shown) if self.results_once else text
            shown.append(text)
            yield f"{task.describe()}\n   → {new}"

    def replan(self, reason: str, first: int) -> str:
        return self.replan_request.format(reason=reason, first=first)

    def more_tools(self, tools: Iterable[Tool]) -> str:
        return self.more_tools_request.format(tools="\n".join(_describe(t) for t in tools))


_PLAN_CALL = re.compile(r"^\s*\d+\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(", re.MULTILINE)


def usable_examples(
    examples: Sequence[Example], tools: set[str], offered: set[str] | None = None
) -> list[Example]:
    """The examples whose plans use only tools the planner has (a small model copies tool
    names from examples) and not only `offered` ones, and of two examples for one question
    the one that uses more of them; all examples when none fits, since the format is still
    worth showing."""
    fitting = [
        e
        for e in examples
        if (used := set(_PLAN_CALL.findall(e.plan))) <= tools and (not offered or used - offered)
    ]
    best: dict[str, Example] = {}
    for example in fitting:
        kept = best.get(example.question)
        if kept is None or len(set(_PLAN_CALL.findall(example.plan))) > len(
            set(_PLAN_CALL.findall(kept.plan))
        ):
            best[example.question] = example
    return list(best.values()) or list(examples)


def _example_as_json(plan: str) -> str:
    """An example's text plan written as a JSON plan (tool names need not exist)."""
    tasks = []
    finish: Any = None
    for line in plan.splitlines():
        if line.startswith("finish("):
            finish = _plain(parse_call(line, 0)[1][0])
        match = re.match(r"\s*(\d+)\.\s*(.+)$", line)
        if match is None:
            continue
        name, args, kwargs = parse_call(match.group(2), int(match.group(1)))
        if args:
            continue  # positional arguments have no names here
        tasks.append(
            {
                "id": int(match.group(1)),
                "tool": name,
                "args": {k: _plain(v) for k, v in kwargs.items()},
            }
        )
    return json.dumps({"tasks": tasks, "finish": finish}, ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, (Ref, Template)):
        return str(value) if isinstance(value, Template) else f"${value.task}"
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _describe(tool: Tool) -> str:
    lines = [f"- {tool.signature()}"]
    if tool.description:
        # The first paragraph only: every prompt token costs time on a small local model.
        summary = tool.description.split("\n\n", 1)[0]
        lines.append(f"  {' '.join(summary.split())}")
    for name, info in tool.args_model.model_fields.items():
        if info.description:
            lines.append(f"  {name}: {info.description}")
    return "\n".join(lines)
