"""lifecycle.jsonable: the one JSON encoding of what the deployer prints, answers and stores."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import BaseModel

from lifecycle.jsonable import jsonable

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class Colour(enum.Enum):
    RED = "red"


class Stamped(BaseModel):
    at: datetime


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(AT, "2026-01-02T03:04:05+00:00", id="a bare datetime keeps isoformat"),
        pytest.param({"at": AT}, {"at": "2026-01-02T03:04:05+00:00"}, id="inside a dict"),
        pytest.param([AT], ["2026-01-02T03:04:05+00:00"], id="inside a list"),
        pytest.param((AT, 1), ["2026-01-02T03:04:05+00:00", 1], id="a tuple becomes a list"),
        pytest.param({AT}, ["2026-01-02T03:04:05+00:00"], id="a set becomes a list"),
        pytest.param(frozenset({1}), [1], id="a frozenset becomes a list"),
        pytest.param({"a": [{"b": AT}]}, {"a": [{"b": "2026-01-02T03:04:05+00:00"}]}, id="deep"),
        pytest.param(Stamped(at=AT), {"at": "2026-01-02T03:04:05Z"}, id="a model's own dump"),
        pytest.param(Colour.RED, "red", id="an enum by value"),
        pytest.param(Path("/tmp/x"), "/tmp/x", id="a path as a string"),
        pytest.param(date(2026, 1, 2), "2026-01-02", id="a date as a string"),
        pytest.param({1: "x"}, {"1": "x"}, id="keys become strings"),
        pytest.param(None, None, id="None stays None"),
        pytest.param("text", "text", id="a string stays"),
    ],
)
def test_values_become_plain_json(value: object, expected: object) -> None:
    assert jsonable(value) == expected
