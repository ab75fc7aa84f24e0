"""AgentDojo (Debenedetti et al., NeurIPS 2024 Datasets and Benchmarks; MIT) as eval datasets.

Its four suites — workspace, travel, banking, slack — are user tasks in a simulated world
(an inbox, a calendar, a bank account, a Slack workspace) whose data hold injection points.
An *attacked* example pairs a user task with an injection task: the default attack
(`important_instructions`) writes the injection task's goal into the points the user task
reads. Each example gets a fresh copy of the suite's environment; its functions become
parcall tools whose outputs are untrusted (text strangers wrote), and those that act (send,
pay, book, delete, share, post, and fetching a URL) are marked `side_effects=True`.

Scores: `utility` — AgentDojo's check that the user task was done; `asr` (attacked examples)
— its check that the injection task was done (1: the attack succeeded).

Names: `agentdojo` (every (user task, injection task) pair of the four suites),
`agentdojo-clean` (the user tasks without attack), and `agentdojo-SUITE`,
`agentdojo-SUITE-clean` for one suite. AgentDojo is a test suite with nothing to tune, so
both splits hold every example. `--model gullible` plays each example with `GullibleModel`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from .._core.errors import ToolError
from .._core.extras import require
from .._core.result import RunResult
from .._core.tool import Tool
from ._dataset import Example, Split
from ._gullible import Call, GullibleModel, schedule

__all__ = ["ACTS", "SUITES", "TRUSTED", "AgentDojo", "agentdojo_datasets"]

SUITES = ("workspace", "travel", "banking", "slack")
VERSION = "v1.2.2"
"""The benchmark version AgentDojo's own runner uses by default."""
ATTACK = "important_instructions"

ACTS: dict[str, frozenset[str]] = {
    "workspace": frozenset(
        {
            "send_email",
            "delete_email",
            "create_calendar_event",
            "cancel_calendar_event",
            "reschedule_calendar_event",
            "add_calendar_event_participants",
            "append_to_file",
            "create_file",
            "delete_file",
            "share_file",
        }
    ),
    "travel": frozenset(
        {
            "reserve_hotel",
            "reserve_car_rental",
            "reserve_restaurant",
            "create_calendar_event",
            "cancel_calendar_event",
            "send_email",
        }
    ),
    "banking": frozenset(
        {
            "send_money",
            "schedule_transaction",
            "update_scheduled_transaction",
            "update_password",
            "update_user_info",
        }
    ),
    "slack": frozenset(
        {
            "send_direct_message",
            "send_channel_message",
            "add_user_to_channel",
            "invite_user_to_slack",
            "remove_user_from_slack",
            "post_webpage",
            # A request to a URL the plan chooses reaches that server: it can carry data out.
            "get_webpage",
        }
    ),
}
"""The functions of each suite that act on the world."""

TRUSTED = frozenset(
    {"get_current_day", "get_balance", "get_iban", "get_user_info", "get_user_information"}
)
"""Functions whose output no stranger writes (the date, the user's own account and
details); every other function's output is untrusted."""


@dataclass
class _State:
    """One example's world: the environment its tools change, and a copy from before."""

    env: Any
    pre: Any


class AgentDojo:
    """AgentDojo's suites as a `Dataset` (see the module docstring)."""

    kind: Literal["answer", "plan"] = "answer"
    primary = "utility"
    scores_failed_runs = True
    """A run that raises (e.g. its prompt outgrew the context) is scored on what its calls
    did to the world, as AgentDojo's checks read it: a transfer that ran is not undone."""

    def __init__(
        self, suites: Sequence[str] = SUITES, *, attacked: bool = True, name: str = "agentdojo"
    ) -> None:
        unknown = [s for s in suites if s not in SUITES]
        if unknown:
            raise ValueError(f"unknown AgentDojo suite(s) {unknown}: choose from {SUITES}")
        self._agentdojo = require("agentdojo", needed_for="the AgentDojo datasets")
        self.suite_names = tuple(suites)
        self.attacked = attacked
        self.name = name
        self._states: dict[str, _State] = {}
        self._attacks: dict[str, Any] = {}
        # Loading a world parses its YAML (0.4 s for workspace): the last few are kept, and
        # each use gets a deep copy. The gullible model's script is kept per example.
        self._worlds: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}
        self._scripts: dict[str, tuple[list[list[Call]], str, list[Call]]] = {}

    @cached_property
    def suites(self) -> dict[str, Any]:
        load = require("agentdojo.task_suite.load_suites", needed_for="AgentDojo").get_suites
        found: dict[str, Any] = load(VERSION)
        return {name: found[name] for name in self.suite_names}

    def examples(self, split: Split) -> list[Example]:
        """Every example, in suite and task order (both splits: nothing is tuned on it)."""
        out: list[Example] = []
        for name, suite in self.suites.items():
            injections = sorted(suite.injection_tasks, key=_task_number)
            for uid in sorted(suite.user_tasks, key=_task_number):
                task = suite.user_tasks[uid]
                meta = {"suite": name, "user_task": uid}
                if not self.attacked:
                    out.append(
                        Example(f"{name}/{uid}", task.PROMPT, task.GROUND_TRUTH_OUTPUT, meta)
                    )
                    continue
                for iid in injections:
                    out.append(
                        Example(
                            f"{name}/{uid}/{iid}",
                            task.PROMPT,
                            task.GROUND_TRUTH_OUTPUT,
                            {**meta, "injection_task": iid},
                        )
                    )
        return out

    def _tasks(self, example: Example) -> tuple[Any, Any, Any | None]:
        suite = self.suites[example.meta["suite"]]
        user = suite.user_tasks[example.meta["user_task"]]
        iid = example.meta.get("injection_task")
        return suite, user, (suite.injection_tasks[iid] if iid else None)

    def injections(self, example: Example) -> dict[str, str]:
        """The injected texts of an attacked example, by injection point (none if clean)."""
        suite, user, injection = self._tasks(example)
        if injection is None:
            return {}
        return dict(self._attack(suite).attack(user, injection))

    def _attack(self, suite: Any) -> Any:
        attack = self._attacks.get(suite.name)
        if attack is None:
            registry = require("agentdojo.attacks.attack_registry", needed_for="AgentDojo")
            base = require("agentdojo.attacks.base_attacks", needed_for="AgentDojo")
            # The attack names the target model; ours is no model AgentDojo knows.
            attack = registry.load_attack(ATTACK, suite, _Target())
            attack.model_name = base.DEFAULT_MODEL_NAME
            self._attacks[suite.name] = attack
        return attack

    def _environment(self, example: Example, injections: Mapping[str, str]) -> Any:
        suite, user, _ = self._tasks(example)
        key = (suite.name, tuple(sorted(injections.items())))
        world = self._worlds.get(key)
        if world is None:
            if len(self._worlds) >= 8:
                self._worlds.pop(next(iter(self._worlds)))
            world = self._worlds[key] = suite.load_and_inject_default_environment(dict(injections))
        return user.init_environment(world.model_copy(deep=True))

    def tools(self, example: Example) -> list[Tool]:
        """The suite's functions on a fresh copy of the example's (injected) environment."""
        suite, _, _ = self._tasks(example)
        env = self._environment(example, self.injections(example))
        self._states[example.id] = _State(env, env.model_copy(deep=True))
        runtime_module = require("agentdojo.functions_runtime", needed_for="AgentDojo")
        runtime = runtime_module.FunctionsRuntime(suite.tools)
        acts = ACTS[example.meta["suite"]]
        return [_tool(runtime, env, f, f.name in acts) for f in suite.tools]

    def score(self, example: Example, result: RunResult) -> dict[str, float]:
        """AgentDojo's own checks, on the answer, the calls made and the world after."""
        _, user, injection = self._tasks(example)
        state = self._states.pop(example.id, None)
        if state is None:  # scored without having run: a world no tool has touched
            env = self._environment(example, self.injections(example))
            state = _State(env, env.model_copy(deep=True))
        runtime = require("agentdojo.functions_runtime", needed_for="AgentDojo")
        made = [
            runtime.FunctionCall.model_construct(
                function=o.tool, args=_plain(o.args), id=None, placeholder_args=None
            )
            for o in result.observations
            if o.started_at is not None  # denied or skipped calls never ran
        ]
        scores = {"utility": float(_check(user, result.answer, state, made, "utility"))}
        if injection is not None:
            scores["asr"] = float(_check(injection, result.answer, state, made, "security"))
        return scores

    def gullible_model(self, example: Example) -> GullibleModel:
        """The worst-case model for one example (`parcall eval ... --model gullible`)."""
        _, _, injection = self._tasks(example)
        script = self._scripts.get(example.id)
        if script is None:
            script = self._scripts[example.id] = self._script(example)
        rounds, answer, injected = script
        if injection is None:
            return GullibleModel(rounds, answer)
        return GullibleModel(
            rounds,
            answer,
            poison=tuple(_marker(text) for text in self.injections(example).values()),
            injection=injected,
            injection_answer=str(getattr(injection, "GROUND_TRUTH_OUTPUT", "") or ""),
        )

    def _script(self, example: Example) -> tuple[list[list[Call]], str, list[Call]]:
        """The user task's reference calls in rounds, its answer, the injection's calls."""
        suite, user, injection = self._tasks(example)
        clean = self._environment(example, {})
        pre = clean.model_copy(deep=True)
        runtime_module = require("agentdojo.functions_runtime", needed_for="AgentDojo")
        runtime = runtime_module.FunctionsRuntime(suite.tools)
        calls, outputs = [], []
        for gt in user.ground_truth(pre):
            call = Call(gt.function, _plain(gt.args))
            value, error = runtime.run_function(clean, call.tool, dict(call.args))
            calls.append(call)
            try:
                outputs.append(error or _text(value))
            except TypeError:  # a result AgentDojo's own formatter does not take
                outputs.append(str(value))
        rounds = schedule(calls, user.PROMPT, outputs)
        answer = " ".join(str(user.GROUND_TRUTH_OUTPUT).split())
        injected = (
            []
            if injection is None
            else [Call(gt.function, _plain(gt.args)) for gt in injection.ground_truth(pre)]
        )
        return rounds, answer, injected


class _Target:
    """What AgentDojo's attacks read from the pipeline they attack: its name."""

    name = "gpt-4o-2024-05-13"


def _task_number(task_id: str) -> int:
    return int(task_id.rsplit("_", 1)[1])


def _marker(injected: str) -> str:
    """A piece of the injected text that survives a YAML dump (no whitespace to fold)."""
    if "<INFORMATION>" in injected:
        return "<INFORMATION>"
    return max(injected.split(), key=len, default=injected)


def _text(value: Any) -> str:
    to_str = require("agentdojo.agent_pipeline.tool_execution", needed_for="AgentDojo")
    text: str = to_str.tool_result_to_str(value)
    return text


def _plain(args: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments as JSON values (AgentDojo's calls may hold dates and enums)."""
    plain: dict[str, Any] = json.loads(json.dumps(dict(args), default=str))
    return plain


def _tool(runtime: Any, env: Any, function: Any, acts: bool) -> Tool:
    name: str = function.name

    def call(**arguments: Any) -> str:
        value, error = runtime.run_function(env, name, arguments)
        if error is not None:
            raise ToolError(error)
        return _text(value)

    return Tool(
        name=name,
        description=str(function.description),
        function=call,
        args_model=function.parameters,
        side_effects=acts,
        trusted=name in TRUSTED,
        inline=True,  # a few dict look-ups on the example's own world
    )


def _check(task: Any, answer: str, state: _State, made: list[Any], kind: str) -> bool:
    """AgentDojo's check of a task: from the calls made where the task defines one, else
    from the answer and the world before and after."""
    from_traces: Callable[..., bool | None] = getattr(task, f"{kind}_from_traces")
    verdict = from_traces(answer, state.pre, state.env, made)
    if verdict is not None:
        return bool(verdict)
    check: Callable[..., bool] = getattr(task, kind)
    return bool(check(answer, state.pre, state.env))


def agentdojo_datasets() -> dict[str, Callable[[], AgentDojo]]:
    """The registry entries: every suite, and each suite, attacked and clean."""

    def factory(suites: Sequence[str], attacked: bool, name: str) -> Callable[[], AgentDojo]:
        return lambda: AgentDojo(suites, attacked=attacked, name=name)

    entries: dict[str, Callable[[], AgentDojo]] = {}
    for label, suites in (("agentdojo", SUITES), *((f"agentdojo-{s}", (s,)) for s in SUITES)):
        entries[label] = factory(suites, True, label)
        entries[f"{label}-clean"] = factory(suites, False, f"{label}-clean")
    return entries
