"""The gateway's breaker transitions and outlier ejection, pinned as tables."""

from __future__ import annotations

import pytest

from lifecycle.breaker import (
    Breaker,
    BreakerPolicy,
    BreakerState,
    EjectionLimit,
    admit,
    ejection,
    ejection_over,
    record,
)
from lifecycle.errors import BadInputError

POLICY = BreakerPolicy(failures_to_open=3, cooldown_seconds=2.0)
C, OP, H = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
OPEN_AT_10 = Breaker(OP, 3, 10.0, False, 1)


@pytest.mark.parametrize(
    ("breaker", "ok", "now", "after"),
    [
        (Breaker(), True, 1.0, Breaker()),
        (Breaker(C, 1), True, 1.0, Breaker(C, 0)),
        (Breaker(), False, 1.0, Breaker(C, 1)),
        (Breaker(C, 1), False, 1.0, Breaker(C, 2)),
        (Breaker(C, 2), False, 10.0, OPEN_AT_10),
        (Breaker(H, 3, 10.0, True, 1), True, 12.5, Breaker(C, 0, 10.0, False, 1)),
        (Breaker(H, 3, 10.0, True, 1), False, 12.5, Breaker(OP, 4, 12.5, False, 2)),
        # a late answer of a call made before it opened moves nothing but the count
        (OPEN_AT_10, False, 11.0, Breaker(OP, 4, 10.0, False, 1)),
    ],
    ids=[
        "closed-success-stays",
        "a-success-resets-the-run",
        "one-failure-counts",
        "two-failures-count",
        "the-third-in-a-row-opens",
        "a-probe-success-closes",
        "a-probe-failure-reopens",
        "open-failure-keeps-its-cooldown",
    ],
)
def test_record_moves_the_breaker_as_the_table_says(
    breaker: Breaker, ok: bool, now: float, after: Breaker
) -> None:
    assert record(breaker, ok, now, POLICY) == after


@pytest.mark.parametrize(
    ("breaker", "now", "allowed", "after"),
    [
        (Breaker(), 0.0, True, Breaker()),
        (Breaker(C, 2), 0.0, True, Breaker(C, 2)),
        (OPEN_AT_10, 11.9, False, OPEN_AT_10),
        (OPEN_AT_10, 12.0, True, Breaker(H, 3, 10.0, True, 1)),
        (Breaker(H, 3, 10.0, True, 1), 13.0, False, Breaker(H, 3, 10.0, True, 1)),
        (Breaker(H, 3, 10.0, False, 1), 13.0, True, Breaker(H, 3, 10.0, True, 1)),
    ],
    ids=[
        "closed-admits",
        "closed-with-failures-admits",
        "open-in-cooldown-refuses",
        "open-after-cooldown-probes-once",
        "half-open-with-a-probe-in-flight-refuses",
        "half-open-without-a-probe-admits-one",
    ],
)
def test_admit_lets_through_what_the_table_says(
    breaker: Breaker, now: float, allowed: bool, after: Breaker
) -> None:
    assert admit(breaker, now, POLICY) == (allowed, after)


def test_a_breaker_opened_then_probed_successfully_is_closed_again() -> None:
    breaker = Breaker()
    for _ in range(3):
        breaker = record(breaker, False, 5.0, POLICY)
    assert breaker.state is OP
    assert admit(breaker, 6.0, POLICY)[0] is False
    allowed, breaker = admit(breaker, 7.0, POLICY)
    assert allowed and breaker.state is H
    breaker = record(breaker, True, 7.1, POLICY)
    assert breaker.state is C and admit(breaker, 7.2, POLICY)[0]


NO_FAILURES = "a breaker needs at least 1 failure to open"
NO_COOLDOWN = "a breaker's cool-down must be a positive number of seconds"


@pytest.mark.parametrize(
    ("failures", "cooldown", "message"),
    [
        (0, 1.0, NO_FAILURES),
        (-1, 1.0, NO_FAILURES),
        (1, 0.0, NO_COOLDOWN),
        (1, -1.0, NO_COOLDOWN),
        (1, float("nan"), NO_COOLDOWN),
    ],
)
def test_a_policy_that_cannot_work_is_bad_input(
    failures: int, cooldown: float, message: str
) -> None:
    with pytest.raises(BadInputError) as refused:
        BreakerPolicy(failures, cooldown)
    assert str(refused.value) == message


def test_the_smallest_policy_that_works_opens_on_one_failure() -> None:
    policy = BreakerPolicy(1, 0.001)
    assert record(Breaker(), False, 1.0, policy).state is BreakerState.OPEN


def test_a_success_on_a_quiet_closed_breaker_keeps_it_as_it_is() -> None:
    quiet = Breaker()
    assert record(quiet, True, 1.0, POLICY) is quiet  # no new breaker on the hot path


BALANCED = EjectionLimit(0.01, 1000)


@pytest.mark.parametrize(
    ("requests", "errors", "limit", "ejected"),
    [
        (100, 10, None, None),
        (0, 0, BALANCED, None),
        (100, 10, BALANCED, None),  # 10% of 100, but 10 errors could still be 1% of 1000
        (100, 11, BALANCED, "cannot stay within 1.00%"),  # certain before the minimum
        (1000, 10, BALANCED, None),  # exactly at the threshold passes
        (1000, 11, BALANCED, "error rate 1.10% is above 1.00%"),
        (50, 5, EjectionLimit(0.2, 20), None),
        (50, 11, EjectionLimit(0.2, 20), "error rate 22.00% is above 20.00%"),
        (1, 1, EjectionLimit(0.05, 1), "error rate 100.00% is above 5.00%"),
        (25, 5, EjectionLimit(0.05, 100, 0.99), "over 5.00% at 99% confidence"),
        (25, 5, EjectionLimit(0.05, 100), None),  # certainty only, by default
        (20, 4, EjectionLimit(0.05, 100, 0.99), None),
    ],
    ids=[
        "no-rollout-limit-never-ejects",
        "no-requests-never-ejects",
        "inconclusive-is-not-ejected",
        "certain-before-the-minimum-is-ejected",
        "at-the-threshold-stays",
        "over-the-threshold-is-ejected",
        "within-a-looser-limit-stays",
        "over-a-looser-limit-is-ejected",
        "one-failed-request-of-a-minimum-of-one-is-ejected",
        "sure-at-the-rollouts-confidence-is-ejected",
        "without-a-confidence-only-certainty-ejects",
        "not-yet-sure-at-the-confidence-stays",
    ],
)
def test_ejection_only_on_the_monitors_certain_failure(
    requests: int, errors: int, limit: EjectionLimit | None, ejected: str | None
) -> None:
    reason = ejection(requests, errors, limit)
    if ejected is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith("ejected: ") and ejected in reason


@pytest.mark.parametrize(
    ("ejected_at", "now", "seconds", "over"),
    [
        (100.0, 100.0, 60.0, False),
        (100.0, 159.9, 60.0, False),
        (100.0, 160.0, 60.0, True),
        (100.0, 130.0, 20.0, True),
        (100.0, 130.0, 60.0, False),  # 30 s: what a deploy still finishing kept the monitor away
    ],
)
def test_an_ejection_is_over_once_its_seconds_have_passed(
    ejected_at: float, now: float, seconds: float, over: bool
) -> None:
    assert ejection_over(ejected_at, now, seconds) is over
