"""`Observation.done` and `Observation.failed`: the two ways a task settles."""

from __future__ import annotations

from parcall import Observation, ToolError


def test_done_keeps_the_value_and_its_times() -> None:
    obs = Observation.done(1, "search", {"q": "x"}, [1, 2], started_at=0.5, finished_at=1.5)
    assert obs.ok and obs.value == [1, 2] and obs.error is None and obs.exception is None
    assert obs.duration == 1.0 and obs.attempts == 0 and obs.notes == ()


def test_failed_names_the_error_by_its_type_and_keeps_it() -> None:
    error = ToolError("the service is down")
    obs = Observation.failed(2, "search", {}, error, finished_at=3.0, attempts=2, notes=("n",))
    assert not obs.ok and obs.value is None and obs.started_at is None
    assert (obs.error, obs.error_type, obs.exception) == ("the service is down", "ToolError", error)
    assert obs.show(100) == "ERROR (ToolError): the service is down\n(note: n)"


def test_an_error_without_a_message_is_named_by_its_type() -> None:
    obs = Observation.failed(3, "t", {}, TimeoutError(), finished_at=0.0)
    assert obs.error == "TimeoutError"
