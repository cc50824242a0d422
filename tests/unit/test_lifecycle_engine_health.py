"""Health from the engine (``lifecycle.engine_health.judge_application``): Ray Serve's status
strings in, the deployer's verdict out. A replica the engine is restarting is not a failed
endpoint while another one serves; an application that failed, is gone, or serves from no
replica is."""

from __future__ import annotations

import pytest

from lifecycle.engine_health import EngineVerdict, judge_application

RUN2 = {"RUNNING": 2}


@pytest.mark.parametrize(
    ("status", "replicas", "alive", "running", "healthy", "detail"),
    [
        ("RUNNING", RUN2, True, 2, True, ""),
        ("RUNNING", {"RUNNING": 1, "STARTING": 1}, True, 1, True, ""),
        # a replica died: Serve marks the application UNHEALTHY while it starts another one
        ("UNHEALTHY", {"RUNNING": 1, "STARTING": 1}, True, 1, False, "UNHEALTHY, 1 replica"),
        ("UNHEALTHY", {"STARTING": 1}, False, 0, False, "no replica running"),
        ("UNHEALTHY", {}, False, 0, False, "no replica running"),
        # an upgrade or an upscale in progress keeps serving from the replicas that run
        ("DEPLOYING", {"RUNNING": 1, "STARTING": 1}, True, 1, False, "DEPLOYING, 1 replica"),
        ("DEPLOYING", {"STARTING": 2}, False, 0, False, "no replica running"),
        ("DEPLOY_FAILED", {}, False, 0, False, "is DEPLOY_FAILED"),
        ("DEPLOY_FAILED", {"RUNNING": 1}, False, 1, False, "is DEPLOY_FAILED"),
        ("DELETING", RUN2, False, 2, False, "is DELETING"),
        ("NOT_STARTED", {}, False, 0, False, "is NOT_STARTED"),
        ("SOMETHING_NEW", RUN2, False, 2, False, "is SOMETHING_NEW"),
        (None, {}, False, 0, False, "no such application"),
        (None, RUN2, False, 0, False, "no such application"),
        ("RUNNING", {"RUNNING": 0}, False, 0, False, "no replica running"),
        ("RUNNING", {"RUNNING": -1}, False, 0, False, "no replica running"),
    ],
)
def test_the_engines_status_decides_whether_the_endpoint_is_alive(
    status: str | None,
    replicas: dict[str, int],
    alive: bool,
    running: int,
    healthy: bool,
    detail: str,
) -> None:
    verdict = judge_application(status, replicas)
    assert (verdict.alive, verdict.running, verdict.healthy) == (alive, running, healthy)
    assert detail in verdict.detail
    assert bool(verdict.detail) == (not healthy)


def test_the_engines_message_is_kept_on_one_bounded_line() -> None:
    verdict = judge_application("DEPLOY_FAILED", {}, "replica\nfailed:  " + "x" * 500)
    said = "replica failed: " + "x" * 500
    assert verdict.detail == f"the application is DEPLOY_FAILED: {said[:300]}"


@pytest.mark.parametrize(
    ("status", "replicas", "detail"),
    [
        (None, {}, "no such application on the cluster"),
        ("DEPLOY_FAILED", {}, "the application is DEPLOY_FAILED"),
        ("UNHEALTHY", {}, "the application is UNHEALTHY with no replica running"),
        ("UNHEALTHY", {"RUNNING": 1}, "the application is UNHEALTHY, 1 replica(s) running"),
    ],
)
def test_an_engine_that_says_nothing_adds_nothing(
    status: str | None, replicas: dict[str, int], detail: str
) -> None:
    assert judge_application(status, replicas).detail == detail
    assert judge_application(status, replicas, "  \n ").detail == detail


def test_a_healthy_application_has_no_words() -> None:
    assert judge_application("RUNNING", RUN2, "all good") == EngineVerdict(True, 2, True, "")
