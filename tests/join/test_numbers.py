"""What numbers the results hold: written, counted, or one step of arithmetic away."""

from __future__ import annotations

import pytest

from parcall import Observation
from parcall._join.numbers import invented_numbers


def done(idx: int, value: object, **args: object) -> Observation:
    return Observation(idx, "tool", dict(args), "done", value=value)


def prices() -> list[Observation]:
    """Two results (made per test: a module-level observation would outlive the runs that
    tests/faults/test_load.py counts)."""
    return [done(1, 412, item="a"), done(2, 474, item="b")]


@pytest.mark.parametrize(
    ("answer", "invented"),
    [
        ("412 euros", ()),  # written in a result
        ("886 euros", ()),  # 412 + 474
        ("62 euros", ()),  # 474 - 412
        ("1,772 euros", ("1,772",)),  # (412 + 474) * 2: two steps
        ("826 euros", ("826",)),  # 412 + 474, added wrongly
        ("about 10,000 euros", ("10,000",)),
    ],
)
def test_sums_and_differences_of_two_results_are_held(
    answer: str, invented: tuple[str, ...]
) -> None:
    assert invented_numbers(answer, "q", prices()) == invented


def test_a_product_with_a_number_of_the_request_is_held() -> None:
    nightly = [done(1, "Price per night: 240.0")]
    assert invented_numbers("720 in all", "I stay 3 nights", nightly) == ()
    assert invented_numbers("730 in all", "I stay 3 nights", nightly) == ("730",)


def test_a_count_of_a_results_items_is_held() -> None:
    events = [done(1, [{"title": "a"}, {"title": "b"}, {"title": "c"}], day="today")]
    assert invented_numbers("You have 3 events today", "q", events) == ()
    assert invented_numbers("You have 17 events today", "q", events) == ("17",)


def test_number_words_and_scales_in_results_hold_digits() -> None:
    texts = [done(1, "She released three albums."), done(2, "a city of 2.1 million people")]
    assert invented_numbers("3 albums", "q", texts) == ()
    assert invented_numbers("2,100,000 people", "q", texts) == ()
    population = [done(1, 2_100_000)]
    assert invented_numbers("2.1 million", "q", population) == ()
    assert invented_numbers("2.4 million", "q", population) == ("2.4",)


def test_task_numbers_hold_but_are_not_combined() -> None:
    # Task 1 and task 2 hold "1" and "2"; 412 + 1 is no step from two results.
    assert invented_numbers("task 2", "q", prices()) == ()
    many = [done(i, "x") for i in range(1, 8)]
    assert invented_numbers("9 results", "q", many) == ("9",)


def test_each_invented_number_is_named_once_as_written() -> None:
    assert invented_numbers("7 and 7 and 8.50", "q", prices()) == ("7", "8.50")
