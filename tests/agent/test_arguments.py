"""Mistakes in what a user builds fail where they are made, with a message naming the
argument: constructors, model specs, empty questions."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from conftest import FINISH, make_search, plan
from parcall import (
    Agent,
    JoinPolicy,
    OpenAICompatible,
    ParallelToolCallAgent,
    ReActAgent,
    ScriptedModel,
    Settings,
    Tool,
    resolve_model,
    tool,
)


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@pytest.mark.parametrize(
    ("fields", "error", "name"),
    [
        ({"max_replans": "2"}, TypeError, "max_replans"),
        ({"max_replans": -1}, ValueError, "max_replans"),
        ({"max_replans": True}, TypeError, "max_replans"),
        ({"max_concurrency": 0}, ValueError, "max_concurrency"),
        ({"max_concurrency": 2.5}, TypeError, "max_concurrency"),
        ({"temperature": "hot"}, TypeError, "temperature"),
        ({"max_plan_tokens": 0}, ValueError, "max_plan_tokens"),
        ({"max_join_tokens": "512"}, TypeError, "max_join_tokens"),
        ({"plan_format": "yaml"}, ValueError, "plan_format"),
        ({"constrained": "yes"}, TypeError, "constrained"),
        ({"prompt_layout": "joined"}, ValueError, "prompt_layout"),
        ({"select_k": 0}, ValueError, "select_k"),
        ({"join": {"grounded": "yes"}}, TypeError, "join.grounded"),
        ({"join": {"thought": "sometimes"}}, ValueError, "join.thought"),
        ({"join": 3}, TypeError, "join"),
        ({"max_replan": 1}, ValueError, "max_replan"),
    ],
)
def test_bad_settings_name_the_field(
    fields: dict[str, Any], error: type[Exception], name: str
) -> None:
    with pytest.raises(error, match=rf"^Agent: {re.escape(name)} (must be|is not)"):
        Agent(ScriptedModel([]), [add], settings=fields)
    with pytest.raises(ValidationError, match=rf"(?m)^{re.escape(name)}$"):
        Settings.model_validate(fields)


def test_prompts_are_checked_when_the_agent_is_built() -> None:
    with pytest.raises(TypeError, match=r"^Agent: prompts must be"):
        Agent(ScriptedModel([]), [add], prompts="be brief")  # type: ignore[arg-type]


def test_settings_may_be_a_dict_of_its_fields() -> None:
    agent = Agent(ScriptedModel([]), [add], settings={"max_replans": 1, "join": {"grounded": True}})
    assert agent.settings.max_replans == 1 and agent.settings.join.grounded
    assert agent.settings == Settings(
        max_replans=1, constrained=False, join=JoinPolicy(grounded=True)
    )
    with pytest.raises(TypeError, match="settings must be a Settings or a dict"):
        Agent(ScriptedModel([]), [add], settings=[("max_replans", 1)])  # type: ignore[arg-type]


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValidationError, match="frozen"):
        settings.max_replans = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("old", "new", "settings"),
    [
        ({"max_replans": 1}, "Settings(max_replans=1)", Settings(max_replans=1)),
        ({"plan_format": "json"}, "Settings(plan_format='json')", Settings(plan_format="json")),
        ({"temperature": 0.5}, "Settings(temperature=0.5)", Settings(temperature=0.5)),
        ({"select_k": 3}, "Settings(select_k=3)", Settings(select_k=3)),
        (
            {"grounded": True},
            "Settings(join=JoinPolicy(grounded=True))",
            Settings(join=JoinPolicy(grounded=True)),
        ),
        (
            {"follow_up": True},
            "Settings(join=JoinPolicy(follow_up=True))",
            Settings(join=JoinPolicy(follow_up=True)),
        ),
        (
            {"join_thought": "always"},
            "Settings(join=JoinPolicy(thought='always'))",
            Settings(join=JoinPolicy(thought="always")),
        ),
    ],
)
def test_the_old_keyword_arguments_warn_and_still_work(
    old: dict[str, Any], new: str, settings: Settings
) -> None:
    ((name, value),) = old.items()
    with pytest.warns(
        DeprecationWarning, match=re.escape(f"use Agent(..., settings={new})")
    ) as seen:
        agent = Agent(ScriptedModel([]), [add], **old)
    assert seen[0].filename == __file__  # the warning points at the caller
    assert getattr(agent, name) == value
    assert agent.settings == Agent(ScriptedModel([]), [add], settings=settings).settings


def test_an_old_keyword_argument_and_settings_for_the_same_field_is_an_error() -> None:
    with pytest.raises(TypeError, match="max_replans= and settings= both set max_replans"):
        Agent(ScriptedModel([]), [add], settings=Settings(max_replans=1), max_replans=2)
    with pytest.raises(TypeError, match=r"grounded= and settings= both set join\.grounded"):
        Agent(ScriptedModel([]), [add], settings={"join": {}}, grounded=True)
    with pytest.warns(DeprecationWarning):  # another field: both are kept
        agent = Agent(ScriptedModel([]), [add], settings={"max_replans": 1}, select_k=2)
    assert (agent.max_replans, agent.select_k) == (1, 2)


def test_an_unknown_keyword_argument_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'max_replan'"):
        Agent(ScriptedModel([]), [add], max_replan=1)


def test_constrained_is_decided_in_one_place() -> None:
    settings = Settings()
    assert settings.constrained_for(ScriptedModel([])) is False
    assert settings.constrained_for(_Grammatical([])) is True
    assert Settings(constrained=False).constrained_for(_Grammatical([])) is False
    assert Settings(constrained=True).constrained_for(ScriptedModel([])) is True
    agent = Agent(_Grammatical([]), [add])
    assert agent.settings.constrained is True  # resolved, not None


@pytest.mark.parametrize("agent", [ReActAgent, ParallelToolCallAgent])
@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({"max_turns": "5"}, TypeError, "max_turns"),
        ({"max_turns": 0}, ValueError, "max_turns"),
        ({"max_concurrency": 0}, ValueError, "max_concurrency"),
        ({"temperature": "0"}, TypeError, "temperature"),
        ({"max_turn_tokens": 1.5}, TypeError, "max_turn_tokens"),
        ({"observation_chars": None}, TypeError, "observation_chars"),
    ],
)
def test_baseline_arguments_are_checked_when_it_is_built(
    agent: type[ReActAgent], kwargs: dict[str, Any], error: type[Exception], names: str
) -> None:
    with pytest.raises(error, match=rf"^{agent.__name__}: {names} must be"):
        agent(ScriptedModel([]), [add], **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({"timeout": "5"}, TypeError, "timeout"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"retries": "2"}, TypeError, "retries"),
        ({"retries": -1}, ValueError, "retries"),
        ({"retry_delay": -0.5}, ValueError, "retry_delay"),
        ({"max_concurrency": "4"}, TypeError, "max_concurrency"),
        ({"description": 3}, TypeError, "description"),
    ],
)
def test_tool_policy_is_checked_when_the_tool_is_made(
    kwargs: dict[str, Any], error: type[Exception], names: str
) -> None:
    with pytest.raises(error, match=rf"^tool 'add': {names} must be"):
        tool(**kwargs)(add)
    with pytest.raises(error, match=rf"^tool 'add': {names} must be"):
        Tool.from_function(add, **kwargs)


def test_a_tool_of_something_not_callable_says_so() -> None:
    with pytest.raises(TypeError, match="function must be callable, not str"):
        Tool.from_function("add")  # type: ignore[arg-type]


def test_a_bare_string_is_not_a_script() -> None:
    with pytest.raises(TypeError, match=r"outputs must be a list of strings.*\['text'\]"):
        ScriptedModel("text")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"time_to_first_token": "0.3"}, "time_to_first_token"),
        ({"tokens_per_second": 0}, "tokens_per_second"),
        ({"chars_per_token": 0}, "chars_per_token"),
        ({"cycle": "yes"}, "cycle"),
    ],
)
def test_scripted_model_arguments_are_checked(kwargs: dict[str, Any], names: str) -> None:
    with pytest.raises((TypeError, ValueError), match=rf"^ScriptedModel: {names} must be"):
        ScriptedModel(["x"], **kwargs)


def test_every_scripted_output_is_text_or_a_function() -> None:
    with pytest.raises(TypeError, match=r"outputs\[1\] must be a string or a function"):
        ScriptedModel(["x", 3])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"max_retries": "3"}, "max_retries"),
        ({"max_retries": -1}, "max_retries"),
        ({"timeout": 0}, "timeout"),
        ({"supports_grammar": "yes"}, "supports_grammar"),
        ({"max_tokens": 0}, "max_tokens"),
    ],
)
def test_openai_compatible_arguments_are_checked(kwargs: dict[str, Any], names: str) -> None:
    with pytest.raises((TypeError, ValueError), match=rf"^OpenAICompatible: {names} must be"):
        OpenAICompatible("m", base_url="http://127.0.0.1:9/v1", **kwargs)


@pytest.mark.parametrize("agent", [Agent, ReActAgent, ParallelToolCallAgent])
def test_a_model_spec_string_is_resolved_like_the_cli_does(agent: type[Agent]) -> None:
    built = agent("http://127.0.0.1:9/v1#qwen", [add])
    assert isinstance(built.model, OpenAICompatible)
    assert built.model.name == resolve_model("http://127.0.0.1:9/v1#qwen").name


@pytest.mark.parametrize("agent", [Agent, ReActAgent, ParallelToolCallAgent])
def test_something_that_is_not_a_model_is_a_type_error_when_the_agent_is_built(
    agent: type[Agent],
) -> None:
    with pytest.raises(TypeError, match=r"model must be a Model .* not int"):
        agent(42, [add])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown model 'nosuchmodel'"):
        agent("nosuchmodel", [add])


@pytest.mark.parametrize("spec", ["nosuchmodel", "local:huge", "no/such/file.gguf"])
def test_every_bad_model_spec_is_the_same_value_error(spec: str) -> None:
    with pytest.raises(ValueError, match=r"(unknown model|no model file at) .*use 'local'"):
        resolve_model(spec)


@pytest.mark.parametrize("request_text", ["", "   ", "\n\t"])
@pytest.mark.parametrize("agent", [Agent, ReActAgent, ParallelToolCallAgent])
def test_an_empty_question_is_refused(agent: type[Agent], request_text: str) -> None:
    model = ScriptedModel([plan('1. search("a")'), FINISH])
    built = agent(model, [make_search()])
    with pytest.raises(ValueError, match="the request is empty"):
        built.run_sync(request_text)
    assert model.requests == []  # refused before any model call


def test_stream_refuses_an_empty_question_too() -> None:
    with pytest.raises(ValueError, match="the request is empty"):
        Agent(ScriptedModel([]), [add]).stream(" ")


class _Grammatical(ScriptedModel):
    supports_grammar = True


def test_constrained_defaults_to_what_the_model_supports() -> None:
    assert Agent(ScriptedModel([]), [add]).constrained is False
    assert Agent(_Grammatical([]), [add]).constrained is True
    assert Agent(_Grammatical([]), [add], settings=Settings(constrained=False)).constrained is False
    grammar_server = OpenAICompatible("m", base_url="http://h:1/v1", supports_grammar=True)
    assert Agent(grammar_server, [add]).constrained is True
    assert Agent(OpenAICompatible("m", base_url="http://h:1/v1"), [add]).constrained is False


def test_the_auto_constrained_plan_call_carries_the_grammar() -> None:
    model = _Grammatical([plan("1. add(a=1, b=2)"), FINISH])
    Agent(model, [add]).run_sync("q")
    assert model.requests[0].grammar is not None
    plain = ScriptedModel([plan("1. add(a=1, b=2)"), FINISH])
    Agent(plain, [add]).run_sync("q")
    assert plain.requests[0].grammar is None
