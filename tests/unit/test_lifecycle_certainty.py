"""When an error rate is over its threshold before the minimum of requests, pinned as tables:
the binomial tail, the early rule (certainly, or at a confidence), and what that confidence
costs in false failures of a canary at, or below, its threshold."""

from __future__ import annotations

import pytest

from lifecycle.certainty import (
    DEFAULT_CONFIDENCE,
    binomial_tail,
    certainly_over,
    failure_probability,
)


@pytest.mark.parametrize(
    ("requests", "errors", "rate", "tail"),
    [
        (10, 0, 0.05, 1.0),
        (10, -1, 0.05, 1.0),
        (10, 11, 0.05, 0.0),
        (10, 1, 0.0, 0.0),
        (10, 3, 1.0, 1.0),
        (10, 1, 0.05, 1 - 0.95**10),
        (20, 4, 0.05, 0.015902),
        (25, 5, 0.05, 0.007164),
        (30, 6, 0.05, 0.003282),
        (2, 2, 0.5, 0.25),
        (1, 1, 0.3, 0.3),
    ],
)
def test_the_binomial_tail(requests: int, errors: int, rate: float, tail: float) -> None:
    assert binomial_tail(requests, errors, rate) == pytest.approx(tail, abs=1e-6)


@pytest.mark.parametrize(
    ("requests", "errors", "confidence", "over"),
    [
        # certainly: more errors than 5% of the 100 requests, whatever the confidence
        (30, 6, 1.0, True),
        (99, 6, 1.0, True),
        (30, 5, 1.0, False),
        # at 99%: one request in five is over 5% by its 25th request, not its 20th
        (25, 5, 0.99, True),
        (20, 4, 0.99, False),
        (20, 4, 0.98, True),
        (15, 3, 0.98, False),
        (15, 3, 0.95, True),
        # never on a rate within the threshold, nor on a single error
        (40, 2, 0.9, False),
        (5, 1, 0.9, False),
        (5, 2, 0.98, False),
        (5, 2, 0.95, True),
        # certainty only at 1
        (25, 5, 1.0, False),
    ],
)
def test_certainly_over_at_5_percent_of_100(
    requests: int, errors: int, confidence: float, over: bool
) -> None:
    assert certainly_over(requests, errors, 0.05, 100, confidence) is over


def test_a_zero_threshold_fails_on_the_first_error_and_a_full_one_never() -> None:
    assert certainly_over(1, 1, 0.0, 100, 1.0)
    assert not certainly_over(1, 0, 0.0, 100, 0.9)
    assert not certainly_over(50, 50, 1.0, 100, 0.9)


@pytest.mark.parametrize(
    ("rate", "confidence", "probability"),
    [
        # a canary exactly at the threshold: the full-sample rule alone fails it this often
        (0.05, 1.0, 0.3840),
        (0.05, 0.99, 0.3874),
        (0.05, 0.98, 0.3914),
        (0.05, 0.95, 0.4224),
        # at half the threshold
        (0.025, 1.0, 0.0399),
        (0.025, 0.99, 0.0421),
        (0.025, 0.98, 0.0445),
        (0.025, 0.95, 0.0725),
        # a healthy canary never, a broken one always
        (0.0, 0.99, 0.0),
        (0.2, 0.99, 1.0),
    ],
)
def test_false_failures_of_a_canary_at_and_below_its_threshold(
    rate: float, confidence: float, probability: float
) -> None:
    assert failure_probability(rate, 0.05, 100, confidence) == pytest.approx(probability, abs=5e-5)


def test_the_default_confidence_is_99_percent() -> None:
    assert DEFAULT_CONFIDENCE == 0.99


def test_certainty_only_means_it_even_where_the_tail_rounds_to_nothing() -> None:
    # 10 errors in 10 requests at 1%: the tail (1e-20) is 0.0 in floats; still, with a
    # confidence of 1 only the minimum's arithmetic fails a step (10 <= 1% of 2000)
    assert binomial_tail(10, 10, 0.01) == 0.0
    assert not certainly_over(10, 10, 0.01, 2000, 1.0)
    assert certainly_over(10, 10, 0.01, 2000, 0.99)
