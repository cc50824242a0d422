"""One way to write a length of time: a number and a unit (or bare seconds), 1 s to a bound;
every window the ops API's pattern admits is one the parser accepts."""

from __future__ import annotations

import re

import pytest

from lifecycle.durations import (
    MAX_SECONDS,
    WINDOW_PATTERN,
    InvalidDurationError,
    parse_duration,
    shown,
)
from lifecycle.errors import BadInputError

READS = {
    "1": 1.0,
    "90": 90.0,
    "90s": 90.0,
    " 30m ": 1800.0,
    "1h": 3600.0,
    "1.5h": 5400.0,
    "2d": 172800.0,
    "1w": 604800.0,
    "1W": 604800.0,
    "2 H": 7200.0,
}


@pytest.mark.parametrize(("text", "seconds"), READS.items())
def test_a_duration_reads_as_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", " ", "0", "0.5", "0h", "-1h", "h", "1y", "1 hour", "1h2m", "1e9d", "10001d"]
)
def test_anything_else_is_bad_input_naming_the_range(text: str) -> None:
    expected = "not a duration of 1 s to 10000d; write it like 90s, 30m, 1h, 2d or 1w"
    with pytest.raises(InvalidDurationError, match=expected):
        parse_duration(text)
    assert issubclass(InvalidDurationError, BadInputError)


@pytest.mark.parametrize(("text", "ok"), [("366d", True), ("367d", False), ("52w", True)])
def test_a_caller_bounds_the_duration(text: str, ok: bool) -> None:
    if ok:
        assert parse_duration(text, 366 * 86400) <= 366 * 86400
    else:
        with pytest.raises(InvalidDurationError, match="1 s to 366d"):
            parse_duration(text, 366 * 86400)


def test_the_largest_duration_is_exactly_the_bound() -> None:
    assert parse_duration(f"{MAX_SECONDS:.0f}") == MAX_SECONDS
    with pytest.raises(InvalidDurationError):
        parse_duration(f"{MAX_SECONDS + 1:.0f}")


@pytest.mark.parametrize(
    "text", ["99999999", "99999999s", "999999m", "99999h", "999d", "999w", "999W", "1s"]
)
def test_every_window_the_api_admits_is_accepted(text: str) -> None:
    assert re.search(WINDOW_PATTERN, text)
    assert parse_duration(text) > 0


@pytest.mark.parametrize("text", ["0", "0s", "1.5h", "1000w", "1y", "", "1 h", "10000d"])
def test_the_api_pattern_admits_no_other_window(text: str) -> None:
    assert not re.search(WINDOW_PATTERN, text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (366 * 86400, "366d"),
        (86400, "1d"),
        (7200, "2h"),
        (3600, "1h"),
        (120, "2m"),
        (60, "1m"),
        (90, "90s"),
        (86400 + 1, "86401s"),
    ],
)
def test_a_bound_is_shown_in_the_largest_whole_unit(seconds: float, text: str) -> None:
    assert shown(seconds) == text
