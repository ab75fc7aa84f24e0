"""`Settings`: an agent's run options in one frozen, validated object (and `JoinPolicy`, the
joiner's knobs within it)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "DEPRECATED_OPTIONS",
    "JoinPolicy",
    "JoinThought",
    "PlanFormat",
    "PromptLayout",
    "Settings",
    "settings_argument",
    "with_deprecated",
]

PlanFormat = Literal["text", "json", "tools"]
JoinThought = Literal["auto", "always", "restate", "never"]
PromptLayout = Literal["extend", "separate"]


class JoinPolicy(BaseModel):
    """How the joiner judges the results: knobs chosen on a dev split for one model.

    ```python
    Agent(model, tools, settings=Settings(join=JoinPolicy(grounded=True, thought="always")))
    ```
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    grounded: bool = Field(
        default=False,
        description="Send an answer that no result mentions back as a reason to replan, "
        "while replans remain: a small joiner otherwise answers from memory when the results "
        "do not hold the answer (yes/no answers always pass).",
    )
    follow_up: bool = Field(
        default=False,
        description="Look up a short answer that no call has looked up yet, with the "
        'one-text-argument tool the run used most (`search(query="Steven Spielberg")`, no '
        "planner call), and have the joiner judge again from all the results: a small joiner "
        'answers a bridge question with the bridge ("the director") instead of the fact '
        "about it. Once per run, while replans remain, for open questions only.",
    )
    check_numbers: bool = Field(
        default=True,
        description="Check the numbers of an answer when every task succeeded: one that no "
        "result, argument or the request writes, that counts no result's items and is no "
        "one step of arithmetic from two such numbers (worked out in the model's head, or "
        "remembered) is sent back once as a reason to replan, then marked `(unknown)`; "
        "a plan's `finish(...)` text with such a number goes to the joiner. While a task "
        "failed, numbers are always checked.",
    )
    thought: JoinThought = Field(
        default="auto",
        description="Whether the joiner writes a short `Thought:` (the facts it reads) before "
        "its action: `always`, `never`, or `auto`: only when the question asks to choose "
        "between options it names, where the answer compares two facts. On a CPU the "
        "joiner's output is most of a run's time; without a thought it writes a few tokens "
        "instead of dozens. `restate` is a longer thought that first says what the question "
        "asks for, then the facts: slower, and what the 0.5B `local:small` needs.",
    )


class Settings(BaseModel):
    """The run options of an `Agent`: how it plans, how many rounds, how it calls the model.

    ```python
    Agent(model, tools, settings=Settings(plan_format="json", max_replans=1))
    Agent(model, tools, settings={"max_replans": 1})  # the same, validated
    ```

    `agent.settings` holds them resolved (`constrained` is True or False there).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    plan_format: PlanFormat = Field(
        default="text",
        description="How the planner writes: `text` (LLMCompiler lines), `json` (a JSON plan) "
        "or `tools` (the chat API's native tool calls, one call per task).",
    )
    constrained: bool | None = Field(
        default=None,
        description="Send a grammar (text) or JSON schema (json) generated from the tools, so "
        "small models always write parseable plans. None: on when the model supports grammars "
        "(`model.supports_grammar`: local llama.cpp models, and "
        "`OpenAICompatible(..., supports_grammar=True)`); see `constrained_for`.",
    )
    max_replans: int = Field(
        default=2, ge=0, description="How often the joiner may ask for a new plan."
    )
    max_concurrency: int | None = Field(
        default=None,
        ge=1,
        description="Simultaneous tool calls across all runs of the agent (tools have their "
        "own limits too); None: no bound.",
    )
    temperature: float | None = Field(
        default=0.0, ge=0, description="Sampling temperature of model calls; None: the model's."
    )
    max_plan_tokens: int | None = Field(
        default=1024, ge=1, description="Tokens a plan may take; None: the model's limit."
    )
    max_join_tokens: int | None = Field(
        default=512, ge=1, description="Tokens a joiner reply may take; None: the model's limit."
    )
    prompt_layout: PromptLayout = Field(
        default="extend",
        description="`extend` makes every call extend one conversation, so a prefix cache "
        "reads only what is new; `separate` gives the joiner a prompt of its own (as "
        "LLMCompiler does), kept for comparison.",
    )
    select_k: int = Field(
        default=5,
        ge=1,
        description="With a `tool_selector`: how many tools the planner sees for a request, "
        "and how many more on each replan.",
    )
    calculator: bool = Field(
        default=True,
        description="Offer the built-in safe calculator when the run's tools have none named "
        "`calculator`, so a sum or product over results is computed by a task, not in the "
        "model's head (see docs/outcomes.md). False offers nothing besides the tools.",
    )
    join: JoinPolicy = Field(
        default_factory=JoinPolicy, description="How the joiner judges (see `JoinPolicy`)."
    )

    def constrained_for(self, model: object) -> bool:
        """Whether plans for `model` are constrained: `constrained`, or when it is None
        whether the model takes a grammar (`model.supports_grammar`). The one place that
        default is decided: the agent, the CLI and the eval runner all ask here."""
        if self.constrained is not None:
            return self.constrained
        return bool(getattr(model, "supports_grammar", False))


def settings_argument(owner: str, value: object) -> Settings:
    """`settings=` as given: a `Settings`, a mapping of its fields (validated), or None (the
    defaults); anything else is a `TypeError` naming what is expected."""
    if value is None:
        return Settings()
    if isinstance(value, Settings):
        return value
    if isinstance(value, Mapping):
        return validated(owner, dict(value))
    raise TypeError(
        f"{owner}: settings must be a Settings or a dict of its fields, not {type(value).__name__}"
    )


def explicit_fields(value: object) -> set[str]:
    """The fields a `settings=` argument sets itself (not left at their defaults)."""
    if isinstance(value, Settings):
        return set(value.model_fields_set)
    if isinstance(value, Mapping):
        return {str(k) for k in value}
    return set()


def dump_settings(settings: Settings) -> dict[str, Any]:
    """JSON-ready fields of `settings` (what eval summaries and journals keep)."""
    return settings.model_dump(mode="json")


DEPRECATED_OPTIONS: dict[str, str] = {
    "max_replans": "max_replans",
    "max_concurrency": "max_concurrency",
    "temperature": "temperature",
    "max_plan_tokens": "max_plan_tokens",
    "max_join_tokens": "max_join_tokens",
    "plan_format": "plan_format",
    "constrained": "constrained",
    "prompt_layout": "prompt_layout",
    "select_k": "select_k",
    "grounded": "join.grounded",
    "follow_up": "join.follow_up",
    "join_thought": "join.thought",
}
"""The keyword arguments an agent took before `settings=`, and the field each now sets."""


def with_deprecated(owner: str, given: object, options: Mapping[str, Any]) -> Settings:
    """`settings=` as given, with the options passed the old way (`max_replans=1`) set on
    it, each with a `DeprecationWarning` naming its replacement. An unknown option, or one
    that `settings=` sets too, is a `TypeError`."""
    for name in options:
        if name not in DEPRECATED_OPTIONS:
            raise TypeError(f"{owner}() got an unexpected keyword argument {name!r}")
    settings = settings_argument(owner, given)
    if not options:
        return settings
    explicit = explicit_fields(given)
    fields = settings.model_dump()
    for name, value in options.items():
        path = DEPRECATED_OPTIONS[name]
        if path.split(".")[0] in explicit:
            raise TypeError(
                f"{owner}: {name}= and settings= both set {path}: give it once, in settings="
            )
        new = (
            f"Settings(join=JoinPolicy({path[5:]}={value!r}))"
            if path.startswith("join.")
            else f"Settings({path}={value!r})"
        )
        warnings.warn(
            f"{owner}({name}={value!r}) is deprecated: use {owner}(..., settings={new})",
            DeprecationWarning,
            stacklevel=3,
        )
        if path.startswith("join."):
            fields["join"][path[5:]] = value
        else:
            fields[path] = value
    return validated(owner, fields)


def validated(owner: str, fields: dict[str, Any]) -> Settings:
    """`Settings` of `fields`; a bad one is a one-line error naming it, as the agent's
    arguments always were: a `TypeError` for a wrong type, else a `ValueError`."""
    try:
        return Settings.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"])
        kind = first["type"]
        error = TypeError if kind.endswith("_type") else ValueError
        raise error(f"{owner}: {name} {_wrong(first)}") from None


_EXPECTED = {
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "True or False",
    "model_type": "a JoinPolicy or a dict of its fields",
}


def _wrong(error: Any) -> str:
    """What is wrong with a value, as `checks` says it (`must be at least 0, not -1`)."""
    kind, ctx, given = error["type"], error.get("ctx") or {}, error["input"]
    shown = f"{given!r} ({type(given).__name__})"
    if kind in _EXPECTED:
        return f"must be {_EXPECTED[kind]}, not {shown}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx['ge']}, not {given!r}"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}, not {shown}"
    if kind == "extra_forbidden":
        return f"is not a setting (the settings are {', '.join(Settings.model_fields)})"
    return f"is not valid: {error['msg']}"
