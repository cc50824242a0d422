"""Non-finite figures pinned exactly: a NaN or infinite metric is bad input on the way in, and
a gate that meets one says it failed, in whole sentences, on either side of every comparison."""

from __future__ import annotations

import math

import pytest

from lifecycle.errors import BadInputError, NonFiniteMetricError
from lifecycle.gates import (
    Criterion,
    Verdict,
    VerdictStatus,
    latency_gate,
    metric_thresholds_gate,
    not_finite,
    parse_criterion,
)
from lifecycle.metrics import PerformanceMetrics as M
from lifecycle.metrics import finite_metrics

F, P = VerdictStatus.FAILED, VerdictStatus.PASSED
INF, NAN = math.inf, math.nan


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ({"accuracy": NAN}, "metric 'accuracy' is nan: metrics must be finite numbers"),
        ({"accuracy": INF}, "metric 'accuracy' is inf: metrics must be finite numbers"),
        ({"loss": -INF}, "metric 'loss' is -inf: metrics must be finite numbers"),
        ({"f1": 0.5, "auc": NAN}, "metric 'auc' is nan: metrics must be finite numbers"),
    ],
)
def test_a_non_finite_metric_is_bad_input_that_names_it(
    metrics: dict[str, float], message: str
) -> None:
    with pytest.raises(NonFiniteMetricError) as raised:
        finite_metrics(metrics)
    assert str(raised.value) == message
    assert raised.value.exit_code == 2


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        ({}, {}),
        ({"accuracy": 0.93, "n": 3}, {"accuracy": 0.93, "n": 3.0}),
        ({"big": 1e308, "small": -1e308}, {"big": 1e308, "small": -1e308}),
    ],
)
def test_finite_metrics_pass_through_as_floats(
    metrics: dict[str, float], expected: dict[str, float]
) -> None:
    result = finite_metrics(metrics)
    assert result == expected
    assert all(type(v) is float for v in result.values())


def test_not_finite_is_a_failed_verdict_in_one_sentence() -> None:
    assert not_finite("metric:auc", "auc", NAN) == Verdict(
        "metric:auc", F, "auc is nan, not a finite number"
    )


CRITERIA = {
    "inf meets >= but fails": (INF, ">=", "accuracy is inf, not a finite number"),
    "-inf meets <= but fails": (-INF, "<=", "accuracy is -inf, not a finite number"),
    "nan fails >=": (NAN, ">=", "accuracy is nan, not a finite number"),
    "nan fails <": (NAN, "<", "accuracy is nan, not a finite number"),
    "inf fails >": (INF, ">", "accuracy is inf, not a finite number"),
    "inf fails ==": (INF, "==", "accuracy is inf, not a finite number"),
}


@pytest.mark.parametrize(("value", "op", "message"), CRITERIA.values(), ids=CRITERIA.keys())
def test_a_non_finite_metric_fails_its_criterion_whatever_the_comparison(
    value: float, op: str, message: str
) -> None:
    verdicts = metric_thresholds_gate({"accuracy": value}, [Criterion("accuracy", op, 0.9)])
    assert verdicts == [Verdict("metric:accuracy", F, message)]


def test_a_finite_metric_beside_a_non_finite_one_is_judged_as_usual() -> None:
    criteria = [Criterion("accuracy", ">=", 0.9), Criterion("auc", ">=", 0.8)]
    assert metric_thresholds_gate({"accuracy": 0.93, "auc": NAN}, criteria) == [
        Verdict("metric:accuracy", P, "accuracy=0.93 meets accuracy>=0.9"),
        Verdict("metric:auc", F, "auc is nan, not a finite number"),
    ]


LATENCY = {
    "nan candidate": (M(p95_ms=NAN), M(p95_ms=10.0), "the candidate's p95 is nan"),
    "inf candidate": (M(p95_ms=INF), M(p95_ms=10.0), "the candidate's p95 is inf"),
    "-inf candidate": (M(p95_ms=-INF), M(p95_ms=10.0), "the candidate's p95 is -inf"),
    "nan baseline": (M(p95_ms=5.0), M(p95_ms=NAN), "the baseline's p95 is nan"),
    "inf baseline": (M(p95_ms=5.0), M(p95_ms=INF), "the baseline's p95 is inf"),
    "both: the candidate first": (M(p95_ms=NAN), M(p95_ms=INF), "the candidate's p95 is nan"),
}


@pytest.mark.parametrize(("new", "old", "what"), LATENCY.values(), ids=LATENCY.keys())
def test_a_non_finite_latency_fails_the_latency_gate(new: M, old: M, what: str) -> None:
    assert latency_gate(new, old, 1.5, "p95") == Verdict(
        "latency_p95", F, f"{what}, not a finite number"
    )


@pytest.mark.parametrize("text", ["accuracy>=1e999", "loss<=-1e999"])
def test_a_criterion_with_a_non_finite_bound_is_bad_input(text: str) -> None:
    with pytest.raises(BadInputError) as raised:
        parse_criterion(text)
    bound = "inf" if ">" in text else "-inf"
    assert str(raised.value) == f"criterion {text!r} compares with {bound}, not a finite number"


def test_the_largest_finite_bound_still_reads() -> None:
    assert parse_criterion("accuracy>=1e308") == Criterion("accuracy", ">=", 1e308)
