"""Retiring a deployment, written once: it ends (rolled back, or failed) unless it already has,
and it takes no traffic; its server is stopped before, outside the transaction
(``tests/unit/test_changes.py``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from database.models import DeploymentRow
from database.services import retire
from lifecycle.stages import DeploymentStatus

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def row(status: DeploymentStatus) -> DeploymentRow:
    return DeploymentRow(
        deployment_id="fraud-v1-abc",
        model_name="fraud",
        model_version="1",
        status=status.value,
        traffic_percentage=40.0,
        endpoint_url="http://127.0.0.1:9000",
        endpoint_port=9000,
        endpoint_pid=123,
    )


@pytest.mark.parametrize(
    ("before", "status", "after", "rolled_back_at"),
    [
        (DeploymentStatus.ACTIVE, DeploymentStatus.ROLLED_BACK, "rolled_back", NOW),
        (DeploymentStatus.DRAINING, DeploymentStatus.ROLLED_BACK, "rolled_back", NOW),
        (DeploymentStatus.DEPLOYING, DeploymentStatus.ROLLED_BACK, "rolled_back", NOW),
        (DeploymentStatus.PENDING, DeploymentStatus.FAILED, "failed", None),
        (DeploymentStatus.ACTIVE, DeploymentStatus.FAILED, "failed", None),
        (DeploymentStatus.FAILED, DeploymentStatus.ROLLED_BACK, "failed", NOW),
        (DeploymentStatus.ROLLED_BACK, DeploymentStatus.FAILED, "rolled_back", None),
    ],
)
def test_a_retired_deployment_ends_unless_it_had_and_takes_no_traffic(
    before: DeploymentStatus,
    status: DeploymentStatus,
    after: str,
    rolled_back_at: datetime | None,
) -> None:
    retired = row(before)

    retire(retired, NOW, status)

    assert (retired.status, retired.traffic_percentage) == (after, 0.0)
    assert retired.rolled_back_at == rolled_back_at
