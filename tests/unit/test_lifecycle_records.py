"""Records: version numbers as people type them, ids, and the one kind of time stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lifecycle.errors import BadInputError
from lifecycle.records import model_version_id, parse_version, split_model_version_id, utcnow


@pytest.mark.parametrize(
    ("text", "version"),
    [("2", "2"), ("v2", "2"), ("V12", "12"), (" v007 ", "7"), (3, "3")],
)
def test_a_version_is_read_as_its_number(text: str, version: str) -> None:
    assert parse_version(text) == version


@pytest.mark.parametrize("text", ["", "v", "2a", "vv2", "-1", "1.0", "x2", "2 3"])
def test_anything_but_a_version_number_is_bad_input(text: str) -> None:
    with pytest.raises(BadInputError) as raised:
        parse_version(text)
    assert str(raised.value) == f"invalid version {text!r}; versions are numbers like 2 or v2"


def test_a_model_versions_id_names_model_and_version() -> None:
    assert model_version_id("iris", "3") == "iris/3"


def test_the_time_is_now_in_utc() -> None:
    now = utcnow()
    assert now.tzinfo is UTC
    assert abs(datetime.now(UTC) - now) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("key", "parts"),
    [
        ("iris/3", ("iris", "3")),
        ("team-a/fraud/12", ("team-a/fraud", "12")),  # a qualified name holds a '/' too
        ("iris", None),
        ("iris/", None),
        ("/3", None),
        ("iris/v3", None),
        ("team-a/fraud", None),  # a tenant's model, no version
    ],
)
def test_a_version_key_splits_at_its_last_slash(key: str, parts: tuple[str, str] | None) -> None:
    assert split_model_version_id(key) == parts
