"""Whether a rollback's target is warm on the tick's own evidence (``lifecycle.warm_target``),
and the order a tick acts in (``lifecycle.monitor.act_order``): rollbacks first."""

from __future__ import annotations

import pytest

from lifecycle.metrics import PerformanceMetrics
from lifecycle.monitor import MonitorAction, act_order
from lifecycle.stages import DeploymentStatus
from lifecycle.warm_target import TargetEvidence, warm_on_evidence

ACTIVE, DRAINING = DeploymentStatus.ACTIVE, DeploymentStatus.DRAINING


def window(requests: int, errors: int = 0) -> PerformanceMetrics:
    return PerformanceMetrics(request_count=requests, error_count=errors)


@pytest.mark.parametrize(
    ("status", "alive", "percent", "figures", "warm"),
    [
        (ACTIVE, True, 80.0, window(120, 0), True),  # the stable beside a canary, answering
        (DRAINING, True, 10.0, window(40, 1), True),  # 2.5% errors, within 5%
        (ACTIVE, True, 80.0, window(100, 5), True),  # exactly the threshold
        (ACTIVE, True, 80.0, window(100, 6), None),  # over it: ask its server
        (ACTIVE, True, 80.0, window(3, 3), None),  # answered nobody
        (ACTIVE, True, 80.0, None, None),  # no fresh figures
        (ACTIVE, True, 0.0, window(120, 0), None),  # takes no traffic now
        (ACTIVE, True, 0.5, window(120, 0), True),  # a little traffic is traffic
        (ACTIVE, True, 80.0, window(1, 0), True),  # one answer is an answer
        (ACTIVE, False, 80.0, window(120, 0), False),  # its process is gone
        (DeploymentStatus.DEPLOYING, True, 80.0, window(120, 0), False),
        (DeploymentStatus.ROLLED_BACK, True, 0.0, None, False),
        (DeploymentStatus.FAILED, False, 0.0, None, False),
    ],
)
def test_a_target_is_warm_on_the_gateways_evidence_or_else_probed(
    status: DeploymentStatus,
    alive: bool,
    percent: float,
    figures: PerformanceMetrics | None,
    warm: bool | None,
) -> None:
    evidence = TargetEvidence(
        status=status, process_alive=alive, routed_percent=percent, window=figures
    )
    assert warm_on_evidence(evidence, max_error_rate=0.05) is warm


def test_failures_are_not_answers_whatever_the_threshold_allows() -> None:
    evidence = TargetEvidence(
        status=ACTIVE, process_alive=True, routed_percent=80.0, window=window(2, 2)
    )
    assert warm_on_evidence(evidence, max_error_rate=1.0) is None


A, W, R, C, OBSERVE = (
    MonitorAction.ADVANCE,
    MonitorAction.WAIT,
    MonitorAction.ROLLBACK,
    MonitorAction.COMPLETE,
    MonitorAction.OBSERVE,
)


@pytest.mark.parametrize(
    ("actions", "order"),
    [
        ([], []),
        ([W], [0]),
        ([A, W, R], [2, 0, 1]),  # the rollback first, the rest as judged
        ([R, A, R, OBSERVE], [0, 2, 1, 3]),
        ([C, A, OBSERVE], [0, 1, 2]),
    ],
)
def test_a_tick_carries_out_its_rollbacks_first(
    actions: list[MonitorAction], order: list[int]
) -> None:
    assert act_order(actions) == order
