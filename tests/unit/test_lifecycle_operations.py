"""``lifecycle.operations``: what a worker does with an operation it read, and how a run's
result or error is recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lifecycle.operations import (
    MAX_ATTEMPTS,
    OperationStatus,
    TakeUp,
    abandoned,
    concluded,
    ended_as,
    location,
    node_path,
    take_up,
    typed_error,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
STALE = 30.0


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("status", "heartbeat", "attempts", "expected"),
    [
        ("queued", None, 0, TakeUp.RUN),
        ("queued", None, MAX_ATTEMPTS - 1, TakeUp.RUN),
        ("queued", None, MAX_ATTEMPTS, TakeUp.FAIL),
        ("running", ago(1), 1, TakeUp.WAIT),  # its worker beats
        ("running", ago(STALE), 1, TakeUp.WAIT),  # exactly the stale time: still its own
        ("running", ago(STALE + 0.001), 1, TakeUp.RUN),  # its worker died: resume
        ("running", None, 1, TakeUp.RUN),  # claimed, then never beat
        ("running", ago(STALE + 1), MAX_ATTEMPTS - 1, TakeUp.RUN),
        ("running", ago(STALE + 1), MAX_ATTEMPTS, TakeUp.FAIL),  # died every time: give up
        ("running", ago(1), MAX_ATTEMPTS, TakeUp.WAIT),  # alive: never failed under it
        ("waiting_approval", ago(STALE * 100), 1, TakeUp.WAIT),  # a person's turn
        ("succeeded", ago(STALE * 100), 1, TakeUp.WAIT),
        ("failed", None, 0, TakeUp.WAIT),
    ],
)
def test_take_up(status: str, heartbeat: datetime | None, attempts: int, expected: TakeUp) -> None:
    assert take_up(status, heartbeat, attempts, NOW, STALE) is expected


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"status": "awaiting_approval", "approval_id": "apr-1"}, OperationStatus.WAITING_APPROVAL),
        ({"status": "deployed"}, OperationStatus.SUCCEEDED),
        ({"status": "traffic_updated"}, OperationStatus.SUCCEEDED),
        ({"status": "rolled_back"}, OperationStatus.SUCCEEDED),
        ({}, OperationStatus.SUCCEEDED),
    ],
)
def test_ended_as(result: dict[str, str], expected: OperationStatus) -> None:
    assert ended_as(result) is expected


@pytest.mark.parametrize(
    ("kind", "result", "expected"),
    [
        ("deploy", {"status": "deployed"}, (OperationStatus.SUCCEEDED, None)),
        ("deploy", {"status": "failed"}, (OperationStatus.SUCCEEDED, None)),  # raises instead
        ("promote", {"status": "awaiting_approval"}, (OperationStatus.WAITING_APPROVAL, None)),
        ("retrain", {"status": "handed_over"}, (OperationStatus.SUCCEEDED, None)),
        ("retrain", {"status": "not_better"}, (OperationStatus.SUCCEEDED, None)),
        (
            "retrain",
            {"status": "failed", "errors": ["the project exited 1", "no data"]},
            (
                OperationStatus.FAILED,
                {
                    "type": "RetrainingFailedError",
                    "message": "the project exited 1; no data",
                    "exit_code": 1,
                },
            ),
        ),
        (
            "retrain",
            {"status": "failed"},
            (
                OperationStatus.FAILED,
                {
                    "type": "RetrainingFailedError",
                    "message": "the retraining run failed",
                    "exit_code": 1,
                },
            ),
        ),
    ],
)
def test_concluded(
    kind: str, result: dict[str, Any], expected: tuple[OperationStatus, dict[str, Any] | None]
) -> None:
    assert concluded(kind, result) == expected


@pytest.mark.parametrize(
    ("namespace", "node", "path"),
    [
        ("supervisor:1f0c-aa", "supervisor", "supervisor"),
        (
            "model_deployer:1f0c|start_endpoint:9b2e",
            "start_endpoint",
            "model_deployer/start_endpoint",
        ),
        ("a:1|b:2|c:3", "c", "a/b/c"),
        ("", "intake", "intake"),
        ("model_deployer:1f0c", "plan", "model_deployer/plan"),  # a namespace without the node
        ("model_deployer:1f0c:2|plan:9:8", "plan", "model_deployer/plan"),  # ids with ':'
    ],
)
def test_node_path(namespace: str, node: str, path: str) -> None:
    assert node_path(namespace, node) == path


def test_a_typed_error_keeps_one_line_its_class_and_exit_code() -> None:
    assert typed_error("RollbackFailedError", "nothing to go back to\nmore", 1) == {
        "type": "RollbackFailedError",
        "message": "nothing to go back to",
        "exit_code": 1,
    }
    assert typed_error("X", "  ", 2)["message"] == "X"


def test_an_abandoned_operation_says_how_often_it_was_taken_up_and_what_to_do() -> None:
    error = abandoned(3)
    assert error["type"] == "DeploymentFailedError" and error["exit_code"] == 1
    assert error["message"] == (
        "the operation was started 3 times and never finished (its worker died each time); "
        "resume its thread with `deployer resume` once the cause is fixed"
    )


def test_an_operation_is_shown_under_v1_operations() -> None:
    assert location("op-1") == "/v1/operations/op-1"
