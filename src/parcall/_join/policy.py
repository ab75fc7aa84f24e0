"""What a `JoinPolicy` does in a run: how the joiner is asked (thought, grammar, allowed
answers, JSON schema) and how its answer is judged before it is given (a plan's finish
template, grounding, invented numbers, the follow-up lookup)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._core.observation import Observation
from .._core.plan import Plan
from .._core.settings import JoinPolicy
from .._core.tool import Tool
from .._planner.grammar import Thought, join_grammar
from .._planner.question import AnswerShape, answer_shape
from .decision import Finish, Replan, template_answer
from .finish_check import check_finish, may_revise
from .grounding import is_grounded
from .numbers import invented_numbers
from .output import NO_VALUE, Output

__all__ = ["FOLLOW_UP_WORDS", "JoinRules", "Template"]

FOLLOW_UP_WORDS = 6
"""`follow_up`: answers of at most this many words are looked up before they are given."""


@dataclass(frozen=True, slots=True)
class Template:
    """A plan's own answer (`finish(...)`): its text, and a typed answer's value."""

    answer: str
    value: Any = None


class JoinRules:
    """The joiner's rules for one run, from the agent's `JoinPolicy` and the request.

    Holds what a run allows once: one invented number sent back, one follow-up lookup."""

    def __init__(
        self,
        policy: JoinPolicy,
        request: str,
        output: Output,
        *,
        constrained: bool,
        grammar: bool,
        observation_chars: int,
    ) -> None:
        self.policy = policy
        self.observation_chars = observation_chars
        """How much of a result the joiner is shown (the prompts' `observation_chars`)."""
        self.request = request
        self.output = output
        self.shape = answer_shape(request)
        self.grammar = grammar
        """A text plan under a grammar: the joiner gets one too."""
        self.structured = constrained and not grammar and not output.text
        """A typed answer under structured outputs: the joiner replies in JSON."""
        self.thought: Thought = {
            "always": "short",
            "restate": "restate",
            "never": "none",
            "auto": "short" if self.shape.kind == "choice" else "none",
        }[policy.thought]
        self.answers = allowed_answers(self.shape) if output.text else ()
        self.checked = False  # an invented number sent back once
        self.followed = False  # a short answer looked up once

    # --- asking -------------------------------------------------------------------------

    def reply_rules(self, can_replan: bool) -> str:
        """What the join prompt adds about the reply's shape (JSON, for a typed answer)."""
        if not self.structured:
            return ""
        return "\n" + self.output.structured_reply(
            can_replan=can_replan, thought=self.thought != "none"
        )

    def request_fields(self, can_replan: bool) -> dict[str, Any]:
        """The join request's grammar or JSON schema."""
        extras: dict[str, Any] = {}
        if self.grammar:
            extras["grammar"] = join_grammar(
                can_replan=can_replan,
                answers=self.answers,
                thought=self.thought,
                answer_rules=None if self.output.text else self.output.grammar(),
            )
        if self.structured:
            extras["json_schema"] = self.output.join_schema(
                can_replan=can_replan, thought=self.thought != "none"
            )
        return extras

    def live(
        self,
        observations: Mapping[int, Observation],
        plans: Sequence[Plan],
        tools: Mapping[str, Tool],
    ) -> bool:
        """Whether the answer may stream as it is written: no rule may still revise it."""
        return (
            self.output.text
            and not (self.policy.grounded or self.policy.follow_up)
            and not may_revise(observations, plans, calculator="calculator" in tools)
        )

    # --- judging ------------------------------------------------------------------------

    def template(
        self, plan: Plan, error: str | None, observations: Mapping[int, Observation]
    ) -> Template | None:
        """The plan's finish template filled in, when it answers (and fits a typed answer)."""
        answer = template_answer(plan, error, dict(observations), self.request)
        if answer is None:
            return None
        tasks = {t.idx: t for t in plan.tasks}
        if self.policy.check_numbers and invented_numbers(
            answer, self.request, observations.values(), tasks
        ):
            return None  # a number the plan wrote before any result: the joiner reads them
        if self.output.text:
            return Template(answer, None)
        value = self.output.from_template(plan, answer, dict(observations))
        return None if value is NO_VALUE else Template(self.output.dump(value), value)

    def review(
        self,
        decision: Finish | Replan,
        observations: Mapping[int, Observation],
        plans: Sequence[Plan],
        tools: Mapping[str, Tool],
        *,
        can_replan: bool,
        shown: bool = False,
    ) -> Finish | Replan:
        """The joiner's decision after the checks: an answer no result mentions (`grounded`)
        or a number no result holds goes back as a replan while replans remain (and while
        none of the answer has been `shown`: what was streamed is not taken back)."""
        if not isinstance(decision, Finish):
            return decision
        if (
            can_replan
            and self.policy.grounded
            and self.output.text  # a typed answer is JSON, not words a result holds
            and observations
            and not is_grounded(decision.answer, self.evidence(observations))
        ):
            # The answer is in no result: a small joiner answering from memory. Look again.
            return Replan(
                f"no result mentions {decision.answer!r}; search for what is missing",
                decision.thought,
            )
        # The answer states a number no result holds: replan once for it (a task failed,
        # a sum was worked out in the head, a value came from memory), else mark it unknown.
        calculator = "calculator" in tools
        if not self.output.text and not may_revise(observations, plans, calculator=calculator):
            return decision  # a typed answer's numbers are checked while a task failed
        checked = check_finish(
            decision,
            self.request,
            dict(observations),
            plans,
            can_replan=can_replan and not self.checked and not shown,
            calculator=calculator,
            all_numbers=self.policy.check_numbers,
            text=self.output.text,
        )
        self.checked = self.checked or isinstance(checked, Replan)
        return checked

    def evidence(self, observations: Mapping[int, Observation]) -> list[str]:
        """What the joiner was shown: every observation's text, and the request itself."""
        limit = self.observation_chars
        return [self.request, *(o.show(limit) for o in observations.values())]

    def follow_up(
        self,
        decision: Finish | Replan,
        observations: Mapping[int, Observation],
        tools: Mapping[str, Tool],
        *,
        can_replan: bool,
    ) -> str | None:
        """The call that looks up a short answer before it is given (`search(query="...")`),
        or None: once per run, while replans remain, for a text answer to an open question
        that names something no call has looked up yet (see `JoinPolicy.follow_up`)."""
        if not isinstance(decision, Finish) or not can_replan or self.followed:
            return None
        if not self.output.text or not self.policy.follow_up or self.shape.kind != "open":
            return None
        call = lookup_call(decision.answer, observations, tools)
        self.followed = call is not None
        return call


def lookup_call(
    answer: str, observations: Mapping[int, Observation], tools: Mapping[str, Tool]
) -> str | None:
    """`search(query="<answer>")` with the one-text-argument tool the run used most, or None:
    the answer is no short name, no such tool was used, or it already looked the answer up."""
    words = answer.split()
    if not 1 <= len(words) <= FOLLOW_UP_WORDS or not re.search(r"[A-Za-z]{2}", answer):
        return None
    used = Counter(o.tool for o in observations.values() if _one_text_argument(tools, o.tool))
    if not used:
        return None
    name = used.most_common(1)[0][0]
    field = next(iter(tools[name].args_model.model_fields))
    asked = {str(v).strip().lower() for o in observations.values() for v in o.args.values()}
    if answer.strip().lower() in asked:
        return None
    return f"{name}({field}={json.dumps(answer.strip(), ensure_ascii=False)})"


def _one_text_argument(tools: Mapping[str, Tool], name: str) -> bool:
    tool = tools.get(name)
    if tool is None:
        return False
    fields = tool.args_model.model_fields
    return len(fields) == 1 and next(iter(fields.values())).annotation is str


def allowed_answers(shape: AnswerShape) -> tuple[str, ...]:
    """What a constrained joiner may answer: yes/no, one of the options the request names,
    or (empty) anything."""
    if shape.kind == "yes_no":
        return ("yes", "no", "Yes", "No")
    return shape.options
