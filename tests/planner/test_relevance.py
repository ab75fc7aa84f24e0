"""Results cut to the sentences that bear on the question (`Prompts(result_sentences=...)`)."""

from __future__ import annotations

import pytest

from parcall._core.observation import Observation
from parcall._core.plan import Task
from parcall._planner.prompts import Prompts
from parcall._planner.relevance import LEFT_OUT, relevant_sentences

PARAGRAPH = (
    "Kettle Works: Kettle Works is a band from Leeds. It was formed in 1999 by Ann Lee. "
    "The band toured Japan twice. Its drummer was born in Oslo."
)


def test_keeps_the_first_sentence_and_the_one_sharing_most_words() -> None:
    cut = relevant_sentences(PARAGRAPH, ["Where was the drummer of Kettle Works born?"], 2)
    assert cut == (
        f"Kettle Works: Kettle Works is a band from Leeds.{LEFT_OUT} Its drummer was born in Oslo."
    )


def test_sentences_keep_their_order_and_each_gap_is_marked() -> None:
    cut = relevant_sentences(PARAGRAPH, ["drummer born", "formed by"], 3)
    assert cut == (
        "Kettle Works: Kettle Works is a band from Leeds. It was formed in 1999 by Ann Lee."
        f"{LEFT_OUT} Its drummer was born in Oslo."
    )


def test_short_text_and_each_line_are_left_as_they_are() -> None:
    assert relevant_sentences("One. Two.", ["x"], 2) == "One. Two."
    lines = "A: First. Second. Third.\nB: Only one."
    assert relevant_sentences(lines, ["third"], 2) == f"A: First.{LEFT_OUT} Third.\nB: Only one."


def test_a_cut_at_the_end_is_marked() -> None:
    assert relevant_sentences("One here. Two there. Three.", ["two"], 2) == (
        f"One here. Two there.{LEFT_OUT}"
    )


def test_keep_must_be_positive() -> None:
    with pytest.raises(ValueError, match="keep must be at least 1"):
        relevant_sentences(PARAGRAPH, [], 0)


def test_the_joiner_sees_cut_text_results_and_whole_errors() -> None:
    tasks = [Task(1, "search", {"query": "Kettle Works"}), Task(2, "search", {"query": "x"})]
    observations = {
        1: Observation(1, "search", {"query": "Kettle Works"}, "done", value=PARAGRAPH),
        2: Observation(2, "search", {"query": "x"}, "failed", error="Down. Try. Later. Now."),
    }
    question = "Where was the drummer born?"
    whole = Prompts().join(question, tasks, observations, None, can_replan=True)
    cut = Prompts(result_sentences=2).join(question, tasks, observations, None, can_replan=True)
    assert "toured Japan" in whole
    assert "toured Japan" not in cut
    assert "Its drummer was born in Oslo." in cut
    assert "Down. Try. Later. Now." in cut  # an error is shown whole


def test_a_call_made_again_with_the_same_result_is_not_shown_twice() -> None:
    tasks = [Task(i, "search", {"query": q}) for i, q in ((1, "a"), (2, "b"), (3, "a"))]
    observations = {
        t.idx: Observation(t.idx, "search", t.args, "done", value=f"long text about {q}")
        for t, q in zip(tasks, "aba")
    }
    text = Prompts().join("q?", tasks, observations, None, can_replan=True)
    assert text.count("long text about a") == 1
    assert "3. search(query='a')\n   → (the same as 1)" in text
