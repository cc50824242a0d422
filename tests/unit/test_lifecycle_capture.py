"""Prediction capture's pure decisions, by table: the percents a model may be given, the
request ids kept from a client, the sampling rule, durations, and inputs as feature rows."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lifecycle.capture import (
    InvalidCapturePercentError,
    capture_percent,
    column_rows,
    duration_seconds,
    feature_rows,
    output_predictions,
    request_id,
    retention_cutoff,
    row_outputs,
    sampled,
    uuid4_text,
)
from lifecycle.durations import InvalidDurationError
from lifecycle.errors import BadInputError

GOOD_PERCENTS = {"0": 0.0, "10": 10.0, "2.5": 2.5, "100": 100.0, 0: 0.0, 7: 7.0, 99.9: 99.9}


@pytest.mark.parametrize(("given", "expected"), GOOD_PERCENTS.items())
def test_a_percent_from_0_to_100_is_taken(given: Any, expected: float) -> None:
    assert capture_percent(given) == expected


@pytest.mark.parametrize(
    "given",
    ["-1", "100.01", "101", "abc", "", "nan", "inf", "-inf", math.nan, math.inf, True, None, []],
)
def test_a_bad_percent_is_refused_as_bad_input(given: Any) -> None:
    with pytest.raises(InvalidCapturePercentError) as caught:
        capture_percent(given)
    assert isinstance(caught.value, BadInputError) and caught.value.exit_code == 2
    assert "\n" not in str(caught.value)


def new() -> str:
    return "generated"


REQUEST_IDS = {
    "a client's uuid is kept": ("0f8fad5b-d9cb-469f-a165-70867728950e", None),
    "letters digits and . _ : - are kept": ("abc.DEF_12:3-x", None),
    "64 characters are kept": ("a" * 64, None),
    "one character is kept": ("a", None),
    "65 characters are replaced": ("a" * 65, "generated"),
    "empty is replaced": ("", "generated"),
    "absent is replaced": (None, "generated"),
    "a space is replaced": ("a b", "generated"),
    "a slash is replaced": ("a/b", "generated"),
    "a newline is replaced": ("ab\n", "generated"),
    "non-ASCII is replaced": ("é", "generated"),
    "a quote is replaced": ('a"b', "generated"),
}


@pytest.mark.parametrize(("given", "replaced"), REQUEST_IDS.values(), ids=REQUEST_IDS)
def test_a_request_id_is_the_clients_when_valid_else_a_new_one(
    given: str | None, replaced: str | None
) -> None:
    assert request_id(given, new) == (replaced or given)


SAMPLING = [
    (0.0, 0.0, False),
    (0.0, 0.5, False),
    (100.0, 0.0, True),
    (100.0, 0.999999, True),
    (10.0, 0.0999, True),
    (10.0, 0.1, False),
    (10.0, 0.5, False),
    (50.0, 0.4999, True),
    (50.0, 0.5, False),
]


@pytest.mark.parametrize(("percent", "draw", "expected"), SAMPLING)
def test_a_request_is_sampled_when_its_draw_falls_under_the_percent(
    percent: float, draw: float, expected: bool
) -> None:
    assert sampled(percent, draw) is expected


def test_evenly_spread_draws_sample_the_percent_exactly() -> None:
    draws = [i / 1000 for i in range(1000)]
    assert sum(sampled(10.0, d) for d in draws) == 100
    assert sum(sampled(2.5, d) for d in draws) == 25


def test_the_retention_cutoff_is_the_age_before_now() -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert retention_cutoff(now, 3600) == now - timedelta(hours=1)


DURATIONS = {
    "90s": 90.0,
    "30m": 1800.0,
    "1h": 3600.0,
    "1.5h": 5400.0,
    "2d": 172800.0,
    "1w": 604800.0,
}


@pytest.mark.parametrize(("text", "seconds"), DURATIONS.items())
def test_a_duration_reads_as_seconds(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "0.5", "h", "0h", "-1h", "1y", "1 hour", "1h2m"])
def test_a_bad_duration_is_refused(text: str) -> None:
    with pytest.raises(InvalidDurationError):
        duration_seconds(text)


COLUMNS = ["sepal_length", "sepal_width"]
FEATURES: dict[str, tuple[Any, list[str] | None, list[dict[str, Any]]]] = {
    "instances of lists named by columns": (
        {"instances": [[1.0, 2.0], [3.0, 4.0]]},
        COLUMNS,
        [{"sepal_length": 1.0, "sepal_width": 2.0}, {"sepal_length": 3.0, "sepal_width": 4.0}],
    ),
    "instances of lists without columns": (
        {"instances": [[1.0, 2.0]]},
        None,
        [{"0": 1.0, "1": 2.0}],
    ),
    "columns of another length are not used": (
        {"instances": [[1.0, 2.0, 3.0]]},
        COLUMNS,
        [{"0": 1.0, "1": 2.0, "2": 3.0}],
    ),
    "instances of records kept as they are": (
        {"instances": [{"a": 1, "b": "x"}]},
        COLUMNS,
        [{"a": 1, "b": "x"}],
    ),
    "a bare list of records": ([{"a": 1}, {"a": 2}], None, [{"a": 1}, {"a": 2}]),
    "a single record": ({"a": 1}, None, [{"a": 1}]),
    "unparsable inputs": (None, COLUMNS, []),
    "a scalar": (3, None, []),
    "instances that are not a list": ({"instances": "x"}, None, []),
    "rows that are neither lists nor records are skipped": (
        {"instances": [1, [1.0, 2.0]]},
        COLUMNS,
        [{"sepal_length": 1.0, "sepal_width": 2.0}],
    ),
}


@pytest.mark.parametrize(("inputs", "columns", "rows"), FEATURES.values(), ids=FEATURES)
def test_inputs_read_as_one_feature_dict_per_row(
    inputs: Any, columns: list[str] | None, rows: list[dict[str, Any]]
) -> None:
    assert feature_rows(inputs, columns) == rows


DRIFT_ROWS = {  # the drift check's reading of the same bodies: values in column order
    "the served body": ({"instances": [[1.0, 2.0], [3.0, 4.0]]}, [[1.0, 2.0], [3.0, 4.0]]),
    "records in column order, extra names ignored": (
        {"instances": [{"sepal_width": 2, "sepal_length": 1, "x": 0}]},
        [[1, 2]],
    ),
    "a bare list": ([[1.0, 2.0]], [[1.0, 2.0]]),
    "a single record": ({"sepal_length": 1, "sepal_width": 2}, [[1, 2]]),
    "no rows": ({"instances": []}, []),
    "a row of another width": ({"instances": [[1.0, 2.0], [1.0]]}, None),
    "a record missing a column": ({"instances": [{"sepal_length": 1}]}, None),
    "a row that is neither": ({"instances": [1, [1.0, 2.0]]}, None),
    "unparsable inputs": (None, None),
    "instances that are not a list": ({"instances": "x"}, None),
}


@pytest.mark.parametrize(("inputs", "rows"), DRIFT_ROWS.values(), ids=DRIFT_ROWS)
def test_inputs_read_as_values_in_column_order_or_not_at_all(
    inputs: Any, rows: list[list[Any]] | None
) -> None:
    assert column_rows(inputs, COLUMNS) == rows


OUTPUTS = {  # (captured answer, its predictions, as drift reads them for 2 rows)
    "the served answer": ({"predictions": [0, 2]}, [0, 2], [0, 2]),
    "a bare list": (["a", "b"], ["a", "b"], ["a", "b"]),
    "probabilities": (
        {"predictions": [[0.1, 0.9], [1, 0]]},
        [[0.1, 0.9], [1, 0]],
        ["[0.1, 0.9]", "[1, 0]"],
    ),
    "one prediction for two rows": ({"predictions": [1]}, [1], []),
    "an error answer": ({"error": "injected fault"}, [], []),
    "no answer": (None, [], []),
    "predictions that are not a list": ({"predictions": 3}, [], []),
}


@pytest.mark.parametrize(("output", "predictions", "two"), OUTPUTS.values(), ids=OUTPUTS)
def test_an_answer_reads_as_its_predictions(output: Any, predictions: Any, two: Any) -> None:
    assert output_predictions(output) == predictions
    assert row_outputs(output, 2) == two


@pytest.mark.parametrize(
    ("bits", "text"),
    [
        (0, "00000000-0000-4000-8000-000000000000"),
        ((1 << 128) - 1, "ffffffff-ffff-4fff-bfff-ffffffffffff"),
        (0x0123456789ABCDEF_0123456789ABCDEF, "01234567-89ab-4def-8123-456789abcdef"),
    ],
)
def test_a_new_request_id_is_a_version_4_uuid_of_the_random_bits(bits: int, text: str) -> None:
    assert uuid4_text(bits) == text
    parsed = uuid.UUID(text)
    assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
