"""``poll``: the one waiting loop (readiness, registrations, gateways confirming a table)."""

from __future__ import annotations

from mlops.processes import poll


def test_poll_returns_the_first_answer_that_is_not_none_and_sleeps_between_calls() -> None:
    answers = iter([None, None, "ready", "later"])
    slept: list[float] = []

    assert poll(lambda: next(answers), timeout=60, interval=0.5, sleep=slept.append) == "ready"
    assert slept == [0.5, 0.5]


def test_a_false_answer_ends_the_wait_too() -> None:
    assert poll(lambda: False, timeout=60, interval=0.5, sleep=lambda _: None) is False


def test_poll_gives_none_once_the_timeout_passed() -> None:
    calls: list[int] = []

    def never() -> None:
        calls.append(1)

    assert poll(never, timeout=0.05, interval=0.01) is None
    assert calls


def test_a_paced_poll_sleeps_what_the_call_left_of_the_interval() -> None:
    answers = iter([None, True])
    slept: list[float] = []

    poll(lambda: next(answers), timeout=60, interval=1.0, paced=True, sleep=slept.append)

    assert len(slept) == 1 and 0.0 < slept[0] <= 1.0
