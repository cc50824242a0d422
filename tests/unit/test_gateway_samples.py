"""Shadow disagreement samples survive any body: what is kept of a request and of the two
outputs is valid, finite, NUL-free JSON of bounded size, and the body only for a model that
opted in."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import pytest

from database.routing import storable
from mlops.gateway.samples import (
    MAX_BODY_CHARS,
    MAX_DEPTH,
    MAX_ITEMS,
    MAX_STRING,
    clean,
    disagreement,
    request_summary,
)

ROWS = {"instances": [[5.1, 3.5, 1.4, 0.2]]}
POISONED: dict[str, bytes] = {
    "nul in a value": b'{"instances": [[1, 2, 3, 4]], "note": "a\\u0000b"}',
    "nul in a key": b'{"instances": [[1, 2, 3, 4]], "k\\u0000": 1}',
    "nan in an extra key": b'{"instances": [[1, 2, 3, 4]], "x": NaN, "y": -Infinity}',
    "a lone surrogate": b'{"instances": [[1, 2, 3, 4]], "s": "\\udc80"}',
    "non-utf-8 bytes": b'{"instances": [[1, 2, 3, 4]], "s": "\xff\xfe"}',
    "not json": b"\x00\x01 hello",
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "huge": json.dumps({"instances": [[1, 2, 3, 4]] * 50_000, "blob": "x" * 300_000}).encode(),
}


def strictly_storable(value: Any) -> bool:
    """What PostgreSQL's JSONB takes: strict JSON, UTF-8, and no NUL character."""
    text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    text.encode("utf-8")
    return "\\u0000" not in text


@pytest.mark.parametrize("keep", [False, True], ids=["hashed", "opted in"])
@pytest.mark.parametrize("body", POISONED.values(), ids=POISONED.keys())
def test_a_sample_of_any_body_is_strict_bounded_json(body: bytes, keep: bool) -> None:
    sample = disagreement(body, [0, math.nan, "a\x00"], [1, math.inf, "b"], keep)
    assert strictly_storable(sample)
    assert len(json.dumps(sample)) < 2 * MAX_BODY_CHARS
    assert sample["request"]["sha256"] == hashlib.sha256(body).hexdigest()[:16]
    assert sample["request"]["bytes"] == len(body)
    assert sample["primary"] == [0, None, "a"] and sample["shadow"] == [1, None, "b"]


def test_by_default_a_sample_keeps_the_requests_hash_and_shape_never_its_body() -> None:
    body = json.dumps({**ROWS, "customer": "Ada Lovelace"}).encode()
    assert request_summary(body, keep_body=False) == {
        "sha256": hashlib.sha256(body).hexdigest()[:16],
        "bytes": len(body),
        "shape": {"type": "dict", "keys": ["customer", "instances"], "instances": 1, "width": 4},
    }
    assert "Ada" not in json.dumps(disagreement(body, [0], [1], keep_body=False))


def test_a_model_that_opted_in_keeps_the_body_sanitised() -> None:
    body = b'{"instances": [[1, 2, 3, 4]], "x": NaN, "note": "a\\u0000b"}'
    summary = request_summary(body, keep_body=True)
    assert summary["body"] == {"instances": [[1, 2, 3, 4]], "x": None, "note": "ab"}
    assert summary["body_truncated"] is False


def test_an_opted_in_body_too_long_is_kept_as_its_prefix() -> None:
    body = json.dumps({"instances": [["x" * MAX_STRING] * MAX_ITEMS] * MAX_ITEMS}).encode()
    summary = request_summary(body, keep_body=True)
    assert isinstance(summary["body"], str) and len(summary["body"]) == MAX_BODY_CHARS
    assert summary["body_truncated"] is True


def test_a_body_that_is_not_json_has_that_shape() -> None:
    assert request_summary(b"\xff", keep_body=True)["shape"] == {"type": "not json"}
    assert "body" not in request_summary(b"\xff", keep_body=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (3, 3),
        (1.5, 1.5),
        (math.nan, None),
        (-math.inf, None),
        ("a\x00b", "ab"),
        ("\udc80x", "?x"),
        ("y" * (MAX_STRING + 5), "y" * MAX_STRING),
        (list(range(MAX_ITEMS + 3)), list(range(MAX_ITEMS))),
        ((1, 2), [1, 2]),
        ({"k\x00": math.nan}, {"k": None}),
        ({i: i for i in range(MAX_ITEMS + 1)}, {str(i): i for i in range(MAX_ITEMS)}),
        (b"bytes", "bytes"),
    ],
)
def test_clean_makes_any_value_strict_json(value: Any, expected: Any) -> None:
    assert clean(value) == expected


def test_clean_stops_at_its_depth() -> None:
    nested: Any = 1
    for _ in range(MAX_DEPTH + 2):
        nested = [nested]
    cleaned = clean(nested)
    for _ in range(MAX_DEPTH):
        cleaned = cleaned[0]
    assert cleaned == "..."


def test_figures_a_database_would_refuse_are_stored_without_their_samples() -> None:
    bad = {"model_name": "iris", "compared": 3, "disagreements": [{"request": {"x": math.nan}}]}
    assert storable(bad) == {**bad, "disagreements": [], "samples_dropped": True}
    nul = {"model_name": "iris", "disagreements": [{"s": "a\x00"}]}
    assert storable(nul)["disagreements"] == []
    fine = {"model_name": "iris", "disagreements": [{"s": "caf\u00e9 \U0001f600"}]}
    assert storable(fine) == fine
