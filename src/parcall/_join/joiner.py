"""Asking the joiner: the join prompt, its grammar or schema, the streamed answer, a typed
answer validated (and asked for once more), the decision judged by the run's `JoinRules`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from .._core.observation import Observation
from .._core.plan import Plan, Task
from .._core.settings import Settings
from .._core.tool import Tool, validation_message
from .._planner.prompts import Prompts
from .._run.conversation import Conversation
from .._run.model_call import ModelCalls
from ..models._base import Message
from .answer_stream import AnswerStream
from .decision import Finish, Replan, parse_decision
from .output import OutputValidationError
from .policy import JoinRules

__all__ = ["Joiner"]


class Joiner:
    """The joiner of one run. `value` holds a typed answer's value once it is given."""

    def __init__(
        self,
        talk: Conversation,
        calls: ModelCalls,
        prompts: Prompts,
        rules: JoinRules,
        settings: Settings,
        delta: Callable[[str], None],
    ) -> None:
        self.talk = talk
        self.calls = calls
        self.prompts = prompts
        self.rules = rules
        self.output = rules.output
        self.settings = settings
        self._delta = delta  # a piece of the answer, streamed
        self.value: Any = None
        self._retried = False  # a typed answer gets one retry per run

    async def ask(
        self,
        tasks: Sequence[Task],
        error: str | None,
        observations: dict[int, Observation],
        tools: Mapping[str, Tool],
        *,
        round_no: int,
        can_replan: bool,
    ) -> tuple[Finish | Replan, AnswerStream]:
        """The joiner's decision on `tasks` and their results, judged by the run's rules;
        with the stream its answer is written to (to finish once the answer is given)."""
        rules, output = self.rules, self.output
        join_prompt = self.prompts.join(
            self.talk.request,
            tasks,
            observations,
            error,
            can_replan=can_replan,
            thought=rules.thought,
            form=None if output.text else output.form,
        ) + rules.reply_rules(can_replan)
        self.talk.messages.append(Message("user", join_prompt))
        extras = rules.request_fields(can_replan)
        if self.settings.prompt_layout == "separate":
            extras["messages"] = self.separate_messages(join_prompt)
        plans = self.talk.plans
        live = rules.live(observations, plans, tools)
        deltas = AnswerStream(self._delta, live=live, hold_numbers=True)
        text = await self._call(round_no, deltas.on_chunk, extras)
        decision = self._decision(text, extras)
        if isinstance(decision, Finish) and not output.text:
            decision = await self._typed(decision, round_no, extras)
        decision = rules.review(
            decision, observations, plans, tools, can_replan=can_replan, shown=bool(deltas.sent)
        )
        return decision, deltas

    async def _call(
        self, round_no: int, on_chunk: Callable[[Any], bool] | None, extras: dict[str, Any]
    ) -> str:
        messages = tuple(self.talk.messages)
        max_tokens = self.settings.max_join_tokens
        text = await self.calls.complete("join", round_no, messages, max_tokens, on_chunk, extras)
        self.talk.messages.append(Message("assistant", text))
        return text

    async def _typed(
        self, decision: Finish, round_no: int, extras: dict[str, Any]
    ) -> Finish | Replan:
        """A typed answer, validated (its value in `value`, its text the value's JSON); the
        first that fails goes back to the joiner with the error, a second raises."""
        output = self.output
        try:
            self.value = output.parse(decision.answer)
        except ValidationError as exc:
            if self._retried:
                raise OutputValidationError(
                    f"the answer does not fit {_type_name(output.output_type)}, also "
                    f"when asked again: {validation_message(exc)}",
                    decision.answer,
                ) from None
            self._retried = True
            retry = Message("user", output.retry_request(decision.answer, exc))
            self.talk.messages.append(retry)
            if "messages" in extras:  # the separate layout: the joiner's own conversation
                answered = Message("assistant", decision.answer)
                extras = {**extras, "messages": (*extras["messages"], answered, retry)}
            again = self._decision(await self._call(round_no, None, extras), extras)
            return (
                again if isinstance(again, Replan) else await self._typed(again, round_no, extras)
            )
        return Finish(output.dump(self.value), decision.thought)

    def _decision(self, text: str, extras: Mapping[str, Any]) -> Finish | Replan:
        return self.output.decision(text) if "json_schema" in extras else parse_decision(text)

    def separate_messages(self, join_prompt: str) -> tuple[Message, ...]:
        """The classic layout: the joiner reads a prompt of its own from the start."""
        plans = "\n".join(p.text.strip() for p in self.talk.plans)
        question = self.prompts.question(self.talk.request, self.talk.history)
        return (
            Message("system", self.prompts.join_system()),
            Message("user", f"{question}\n\nPlan:\n{plans}\n\n{join_prompt}"),
        )

    def ahead(
        self, plan: Plan, tasks: Sequence[Task], observations: Mapping[int, Observation]
    ) -> tuple[Message, ...]:
        """What the join call over `tasks` (the last of them `plan`'s) will surely start
        with, given the results so far (none if the plan has a template, or no task)."""
        if plan.answer is not None or not plan.tasks:
            return ()
        prefix = self.prompts.join_prefix(self.talk.request, tasks, observations)
        if self.settings.prompt_layout == "separate":
            return self.separate_messages(prefix)
        return (*self.talk.messages, Message("user", prefix))


def _type_name(output_type: Any) -> str:
    return getattr(output_type, "__name__", None) or repr(output_type)
