"""Whether the monitor agent works (lifecycle.monitor_health): a failed watch is always kept
and told once; the first working watch after it closes it; a quiet watch writes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lifecycle.monitor_health import (
    EVERY_MODEL,
    FAILED,
    FAILED_EVENT,
    RECOVERED,
    RECOVERED_EVENT,
    MonitorMark,
    after_watch,
    failure_summary,
    recovery_summary,
    scope_of,
)


@pytest.mark.parametrize(
    ("last", "error", "mark"),
    [
        (None, None, None),
        (RECOVERED, None, None),
        (FAILED, None, MonitorMark(RECOVERED, RECOVERED_EVENT)),
        (None, "boom", MonitorMark(FAILED, FAILED_EVENT)),
        (RECOVERED, "boom", MonitorMark(FAILED, FAILED_EVENT)),
        (FAILED, "boom", MonitorMark(FAILED, None)),  # still failing: kept, told already
        ("drift", "boom", MonitorMark(FAILED, FAILED_EVENT)),
        ("drift", None, None),
    ],
)
def test_a_failure_is_kept_each_time_and_told_once_and_a_recovery_closes_it(
    last: str | None, error: str | None, mark: MonitorMark | None
) -> None:
    assert after_watch(last, error) == mark


@pytest.mark.parametrize(
    ("model", "scope"),
    [(None, EVERY_MODEL), ("", EVERY_MODEL), (" ", EVERY_MODEL), ("iris", "iris")],
)
def test_a_watch_is_kept_under_its_model_else_every_model(model: str | None, scope: str) -> None:
    assert scope_of(model) == scope


def test_the_summaries_are_one_bounded_line() -> None:
    line = failure_summary(EVERY_MODEL, "RuntimeError:\n  the store\tis gone" + "x" * 400)
    assert line.startswith("the monitor agent failed watching every model: RuntimeError: the")
    assert "\n" not in line and len(line) == 300


@pytest.mark.parametrize(
    ("summary", "args", "expected"),
    [
        (failure_summary, ("iris", ""), "the monitor agent failed watching iris: failed"),
        (
            failure_summary,
            (EVERY_MODEL, "boom"),
            "the monitor agent failed watching every model: boom",
        ),
        (recovery_summary, ("iris",), "the monitor agent works again watching iris"),
        (recovery_summary, (EVERY_MODEL,), "the monitor agent works again watching every model"),
    ],
)
def test_a_summary_names_the_model_else_every_model(
    summary: Callable[..., str], args: tuple[str, ...], expected: str
) -> None:
    assert summary(*args) == expected
