"""The answer shape of a question, and the join grammar it gives."""

from __future__ import annotations

import pytest

from conftest import make_search, plan
from parcall import Agent, JoinPolicy, ScriptedModel, Settings
from parcall._planner.grammar import Thought, join_grammar
from parcall._planner.prompts import JOIN_RULES, Prompts
from parcall._planner.question import AnswerShape, answer_shape


@pytest.mark.parametrize(
    ("question", "options"),
    [
        ("Who is older, Annie Morton or Terry Richardson?", ("Annie Morton", "Terry Richardson")),
        (
            "Which band, Letters to Cleo or Screaming Trees, had more members?",
            ("Letters to Cleo", "Screaming Trees"),
        ),
        (
            "Which magazine was started first Arthur's Magazine or First for Women?",
            ("Arthur's Magazine", "First for Women"),
        ),
        (
            "Who was born first, Pablo Trapero or Aleksander Ford?",
            ("Pablo Trapero", "Aleksander Ford"),
        ),
    ],
)
def test_a_question_that_names_two_options_asks_for_one(
    question: str, options: tuple[str, ...]
) -> None:
    assert answer_shape(question) == AnswerShape("choice", options)


@pytest.mark.parametrize(
    "question",
    [
        "Were Scott Derrickson and Ed Wood of the same nationality?",
        "Are Random House Tower and 888 7th Avenue both used for real estate?",
        "did the Eiffel Tower open before 1900?",
    ],
)
def test_a_question_opening_with_an_auxiliary_asks_for_yes_or_no(question: str) -> None:
    assert answer_shape(question) == AnswerShape("yes_no")


@pytest.mark.parametrize(
    "question",
    [
        "What government position was held by the woman who portrayed Corliss Archer?",
        # Two works named, but the question asks for a person.
        "Who directed Star Wars or Alien?",
        # A choice and more: the answer is not one of the options alone.
        "Which city is the capital, Paris or Lyon, and when was it founded?",
        # Options in lower case: not a yes/no question, and no names to hold it to.
        "Should I take the bus or the train?",
        "",
    ],
)
def test_other_questions_are_open(question: str) -> None:
    assert answer_shape(question).kind == "open"


def test_the_join_prompt_names_the_options_and_the_grammar_allows_only_them() -> None:
    question = "Who is older, Annie Morton or Terry Richardson?"
    prompt = Prompts(join_rules=JOIN_RULES).join(question, [], {}, None, can_replan=True)
    assert "The answer is Annie Morton or Terry Richardson." in prompt
    whole = Prompts().join(question, [], {}, None, can_replan=True)
    assert "Finish(<Annie Morton or Terry Richardson>)" in whole
    grammar = join_grammar(answers=("Annie Morton", "Terry Richardson"))
    assert '"Finish(" ("Annie Morton" | "Terry Richardson") ")"' in grammar
    assert "Replan(" in grammar
    last = join_grammar(can_replan=False, answers=("yes", "no"))
    assert "Replan(" not in last and '("yes" | "no")' in last


def test_an_open_question_keeps_a_free_answer_line() -> None:
    prompt = Prompts().join("Where was Ed Wood born?", [], {}, None, can_replan=True)
    assert "Finish(<only the answer" in prompt
    assert "The answer is" not in Prompts(join_rules=JOIN_RULES).join(
        "Where was Ed Wood born?", [], {}, None, can_replan=True
    )
    assert '"Finish(" line ")"' in join_grammar()


def test_the_join_grammar_bounds_the_thought_or_leaves_it_out() -> None:
    with_thought = join_grammar()
    assert with_thought.startswith('root ::= "Thought: The results say " thought "\\n"')
    assert "thought ::= [^\\n]{1,160}" in with_thought
    direct = join_grammar(thought="none", answers=("yes", "no"))
    assert direct.startswith('root ::= "Action: " (')
    assert "Thought" not in direct and '("yes" | "no")' in direct


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("setting", "question", "thought"),
    [
        ("auto", "Where was Ed Wood born?", False),
        ("auto", "Were Ed Wood and Scott Derrickson of the same nationality?", False),
        ("auto", "Who is older, Annie Morton or Terry Richardson?", True),
        ("always", "Where was Ed Wood born?", True),
        ("never", "Who is older, Annie Morton or Terry Richardson?", False),
        ("restate", "Where was Ed Wood born?", True),
    ],
)
async def test_join_thought_decides_what_the_joiner_is_asked_for(
    setting: str, question: str, thought: bool
) -> None:
    answer = "Action: Finish(Annie Morton)"
    model = ScriptedModel([plan('1. search("Ed Wood")'), answer])
    agent = Agent(
        model,
        [make_search()],
        settings=Settings(constrained=True, join=JoinPolicy(thought=setting)),
    )
    result = await agent.run(question)
    assert result.answer == "Annie Morton"
    join = model.requests[1]
    assert join.purpose == "join" and join.grammar is not None
    assert ("Thought" in join.grammar) is thought
    assert ("Reply with two lines" in model.prompts[1]) is thought
    assert ("Reply with one line" in model.prompts[1]) is not thought
    restates = setting == "restate"
    assert ('"Thought: The question asks for "' in join.grammar) is restates
    assert ("Thought: The question asks for <what it asks for>" in model.prompts[1]) is restates


def test_join_thought_must_be_a_known_setting() -> None:
    with pytest.raises(ValueError, match=r"(?m)^thought$"):
        Agent(
            ScriptedModel([]),
            [make_search()],
            settings=Settings(join=JoinPolicy(thought="sometimes")),
        )


@pytest.mark.parametrize("thought", ["none", "short"])
def test_a_free_answer_may_not_start_like_a_placeholder(thought: Thought) -> None:
    # A 0.5B joiner wrote `Finish(...)` on 20 of 28 questions without this.
    grammar = join_grammar(thought=thought)
    assert "line ::= [^\\n.< ] [^\\n]{0,299}" in grammar
    llama_cpp = pytest.importorskip(
        "llama_cpp", reason="needs the llama extra: pip install -e '.[llama]'"
    )
    llama_cpp.LlamaGrammar.from_string(grammar, verbose=False)


def test_the_join_rules_are_in_the_system_prompt_and_each_round_adds_only_its_ask() -> None:
    prompts = Prompts(join_rules=JOIN_RULES)
    search = make_search({})
    assert prompts.system([search]).endswith(prompts.join_rules)
    asked = prompts.join("Where was Ed Wood born?", [], {}, None, can_replan=True)
    assert "Replan(" not in asked
    assert asked.endswith(
        'Answer the question "Where was Ed Wood born?" from these results. '
        "Reply with two lines. First, in a few words:\n"
        "Thought: The results say <the facts that answer it, or what is "
        "missing>.\nThen the action."
    )
    whole = Prompts(join_rules="")
    assert "Action: Replan(" in whole.join("Q?", [], {}, None, can_replan=True)
    assert prompts.join_rules not in whole.system([search])


@pytest.mark.anyio
async def test_the_joiner_reads_its_rules_from_the_cached_prefix_in_either_layout() -> None:
    for layout in ("extend", "separate"):
        model = ScriptedModel([plan('search(query="Ed Wood")'), "Action: Finish(Poughkeepsie)"])
        prompts = Prompts(join_rules=JOIN_RULES)
        agent = Agent(
            model, [make_search({})], prompts=prompts, settings=Settings(prompt_layout=layout)
        )
        result = await agent.run("Where was Ed Wood born?")
        assert result.answer == "Poughkeepsie"
        join = model.requests[-1].messages
        assert join[0].role == "system" and join[0].content.endswith(JOIN_RULES)
        assert "Action: Replan(" not in join[-1].content
