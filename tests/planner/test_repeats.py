"""Results shown once in a join prompt: lines an earlier result shows are left out."""

from __future__ import annotations

from parcall._core.observation import Observation
from parcall._core.plan import Task
from parcall._planner.prompts import Prompts
from parcall._planner.repeats import SHOWN_ABOVE, unseen_lines

PARAGRAPH = (
    "Laleli Mosque: The Laleli Mosque is an 18th-century Ottoman imperial mosque. "
    "It is located in Laleli, Fatih, Istanbul."
)


def test_a_line_whose_sentence_an_earlier_result_shows_is_left_out() -> None:
    lookup = "Laleli Mosque: It is located in Laleli, Fatih, Istanbul.\nOther: A new sentence here."
    assert unseen_lines(lookup, [PARAGRAPH]) == "Other: A new sentence here."


def test_a_result_shown_in_full_before_says_so() -> None:
    assert unseen_lines(PARAGRAPH, [PARAGRAPH]) == SHOWN_ABOVE


def test_a_sentence_cut_short_is_matched_without_its_ellipsis() -> None:
    cut = "Laleli Mosque: The Laleli Mosque is an 18th-century Ottoman…"
    assert unseen_lines(cut, [PARAGRAPH]) == SHOWN_ABOVE


def test_short_lines_and_new_text_are_kept() -> None:
    assert unseen_lines("yes", ["yes, it is"]) == "yes"
    assert unseen_lines("Esma Sultan Mansion: a yalı on the Bosphorus.", [PARAGRAPH]) == (
        "Esma Sultan Mansion: a yalı on the Bosphorus."
    )
    assert unseen_lines(PARAGRAPH, []) == PARAGRAPH


def _observed(idx: int, value: str) -> Observation:
    return Observation(idx=idx, tool="search", args={"query": str(idx)}, status="done", value=value)


def test_the_join_prompt_shows_a_repeated_result_once_unless_told_otherwise() -> None:
    tasks = [Task(1, "search", {"query": "1"}), Task(2, "lookup", {"term": "2"})]
    observations = {1: _observed(1, PARAGRAPH), 2: _observed(2, PARAGRAPH)}
    once = Prompts(results_once=True).join("Q?", tasks, observations, None, can_replan=True)
    assert once.count("18th-century") == 1 and SHOWN_ABOVE in once
    both = Prompts().join("Q?", tasks, observations, None, can_replan=True)
    assert both.count("18th-century") == 2
