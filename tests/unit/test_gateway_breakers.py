"""The gateway's breakers over a clock the test moves: a non-stable deployment's share goes to
stable while its breaker is open, one probe after the cool-down closes it, an ejection lasts
until the table changes or its time is over, and a deployment no table routes is forgotten."""

from __future__ import annotations

from lifecycle.breaker import BreakerPolicy, EjectionLimit
from mlops.gateway.breaker import Breakers


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_open_breaker_skips_until_one_probe_after_the_cooldown_closes_it() -> None:
    clock = Clock()
    breakers = Breakers(BreakerPolicy(2, 5.0), clock)
    breakers.routed([("canary", "iris")], {})
    for _ in range(2):
        assert breakers.allow("canary", "iris")
        breakers.record("canary", "iris", ok=False)
    assert not breakers.allow("canary", "iris")
    clock.now += 5.0
    assert breakers.allow("canary", "iris")  # the probe
    assert not breakers.allow("canary", "iris")  # one at a time
    breakers.record("canary", "iris", ok=True)
    assert breakers.allow("canary", "iris")
    [figures] = breakers.figures()
    assert (figures["state"], figures["opened"], figures["skipped"]) == ("closed", 1, 2)
    assert (figures["requests"], figures["errors"]) == (3, 2)


def test_an_ejected_deployment_stays_ejected_while_routed_and_is_forgotten_after() -> None:
    breakers = Breakers(BreakerPolicy(100, 1000.0), Clock())  # an ejection outlasts the test
    breakers.routed([("canary", "iris"), ("stable", "iris")], {"canary": EjectionLimit(0.1, 10)})
    for _ in range(2):
        breakers.record("canary", "iris", ok=False)
    assert breakers.ejected("canary") is not None and not breakers.allow("canary", "iris")
    for _ in range(50):
        breakers.record("canary", "iris", ok=True)  # late successes do not bring it back
    assert not breakers.allow("canary", "iris")
    breakers.routed([("stable", "iris")], {})
    assert [f["deployment_id"] for f in breakers.figures()] == ["stable"]
    assert breakers.ejected("canary") is None


def test_without_a_rollout_limit_failures_only_move_the_breaker() -> None:
    breakers = Breakers(BreakerPolicy(100, 1.0), Clock())
    breakers.routed([("canary", "iris")], {})
    for _ in range(50):
        breakers.record("canary", "iris", ok=False)
    assert breakers.ejected("canary") is None and breakers.allow("canary", "iris")


def test_a_changed_table_starts_its_deployments_counting_again() -> None:
    breakers = Breakers(BreakerPolicy(100, 1.0), Clock())
    limit = {"canary": EjectionLimit(0.1, 10)}
    breakers.routed([("canary", "iris")], limit)
    breakers.record("canary", "iris", ok=False)  # 1 error: not yet more than 10% of 10
    breakers.routed([("canary", "iris")], limit, changed=["canary"])  # the next step
    breakers.record("canary", "iris", ok=False)
    assert breakers.ejected("canary") is None  # the step before is not this step's
    breakers.record("canary", "iris", ok=False)
    assert breakers.ejected("canary") is not None


def test_an_ejection_outlasts_a_monitor_kept_off_the_model_by_a_deploy_still_finishing() -> None:
    """The bench's 24.4 s: the deploy held the model lock (stopping the shadow it replaced)
    for over 20 s under load while its canary took users; the watcher skipped the model, and an
    ejection of ten cool-downs (20 s) gave the failing canary users again before any tick."""
    clock = Clock()
    breakers = Breakers(BreakerPolicy(100, 2.0), clock)
    breakers.routed([("canary", "iris"), ("stable", "iris")], {"canary": EjectionLimit(0.1, 10)})
    for _ in range(2):
        breakers.record("canary", "iris", ok=False)
    assert breakers.ejected("canary") is not None
    clock.now += 30.0  # no table change: the monitor has not decided yet
    assert not breakers.allow("canary", "iris")


def test_an_ejection_ends_after_its_time_on_the_same_figures_or_at_the_next_step() -> None:
    """An ejection protects users while the monitor decides; it never wedges a rollout: after
    ``ejection_seconds`` (or at the canary's next step) the deployment gets users again, on the
    figures it was ejected on: successes may bring them back within bounds, but a failure while
    they still fail the gate ejects it again at once."""
    clock = Clock()
    breakers = Breakers(BreakerPolicy(100, 1.0), clock, ejection_seconds=10.0)
    limit = {"canary": EjectionLimit(0.1, 10)}
    breakers.routed([("canary", "iris"), ("stable", "iris")], limit)
    for _ in range(2):
        breakers.record("canary", "iris", ok=False)
    assert breakers.ejected("canary") is not None
    clock.now += 9.9
    assert not breakers.allow("canary", "iris")
    clock.now += 0.1
    assert breakers.allow("canary", "iris") and breakers.ejected("canary") is None
    breakers.record("canary", "iris", ok=True)
    assert breakers.ejected("canary") is None
    assert breakers.record("canary", "iris", ok=False)  # 3 of 4 failed: out again, reported
    assert breakers.ejected("canary") is not None and not breakers.allow("canary", "iris")
    clock.now += 10.0
    assert breakers.allow("canary", "iris")
    for _ in range(40):  # successes bring the figures back within bounds (3 of 44)
        breakers.record("canary", "iris", ok=True)
    breakers.record("canary", "iris", ok=False)  # 4 errors in 45 requests: 8.9%, within 10%
    assert breakers.ejected("canary") is None
    breakers.routed([("canary", "iris"), ("stable", "iris")], limit, changed=["canary"])
    assert breakers.ejected("canary") is None and breakers.allow("canary", "iris")
