"""A drift window is read like 30m, 1h, 1d or seconds; anything else is bad input, and every
window the API's pattern admits is one the reader accepts."""

from __future__ import annotations

import re

import pytest

from agents.queries.drift import parse_window
from lifecycle.durations import WINDOW_PATTERN
from lifecycle.errors import BadInputError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("90s", 90),
        ("30m", 1800),
        ("1h", 3600),
        ("1.5h", 5400),
        ("2d", 172800),
        ("1w", 604800),
    ],
)
def test_windows_read_as_seconds(text: str, seconds: float) -> None:
    assert parse_window(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "0h", "soon", "1y", "-1h", "1e9d", "h", "10001d"])
def test_other_windows_are_bad_input(text: str) -> None:
    with pytest.raises(BadInputError, match="write it like 90s, 30m"):
        parse_window(text)


@pytest.mark.parametrize(
    "text", ["99999999s", "99999999", "999999m", "99999h", "999d", "999w", "999W", "1s"]
)
def test_the_largest_windows_the_api_admits_are_accepted(text: str) -> None:
    assert re.search(WINDOW_PATTERN, text)
    assert parse_window(text) > 0
