"""The watcher's drift checks on a real SQLite home (no servers): a check of each model serving a
version with a reference is recorded on schedule; a model without one is skipped; a check that
fails is logged and the others go on, so drift never breaks a tick."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from agents.bootstrap import Container, bootstrap
from agents.entrypoints import watch
from agents.handlers.drift_checks import record_drift_checks
from agents.handlers.references import store_reference
from agents.settings import Settings
from database.models_drift import DriftCheckRow, ReferenceSampleRow
from database.models_watch import PredictionRow
from lifecycle.records import utcnow
from lifecycle.stages import DeploymentStatus
from mlops.reference_data import ReferenceSample
from tests.integration.db_helpers import add_version, deployment_row
from tests.schema_template import migrated

COLUMNS = ["a", "b"]


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    settings = Settings.model_validate(
        {
            "DEPLOYER_HOME": str(tmp_path / "home"),
            "DEPLOYER_DATABASE_URL": f"sqlite:///{tmp_path / 'deployer.db'}",
            "DEPLOYER_DRIFT_EVERY_TICKS": 3,
        }
    )
    settings.ensure_home()
    migrated(settings.database_url)
    c = bootstrap(settings)
    yield c
    c.close()


def serving(c: Container, name: str, reference: ReferenceSample | None) -> None:
    """``name`` v1 with a live deployment, 200 captured one-row requests, and ``reference``."""
    add_version(c.session_factory, name, "1")
    rows = np.random.default_rng(5).normal(0, 1, (200, 2)).round(3).tolist()
    with c.uow() as uow:
        uow.deployments.add(deployment_row(f"{name}-d1", DeploymentStatus.ACTIVE, name, "1"))
        for row in rows:
            uow.session.add(
                PredictionRow(
                    request_id=uuid.uuid4().hex,
                    model_name=name,
                    version="1",
                    deployment_id=f"{name}-d1",
                    captured_at=utcnow() - timedelta(minutes=5),
                    latency_ms=1.0,
                    status=200,
                    inputs={"instances": [row]},
                    output={"predictions": [int(row[0] > 0)]},
                )
            )
        if reference is not None:
            store_reference(uow, name, "1", reference, "alice")
        uow.commit()


def reference(seed: int = 6) -> ReferenceSample:
    rows = np.random.default_rng(seed).normal(0, 1, (300, 2)).round(3).tolist()
    return ReferenceSample(COLUMNS, rows, "test", 300)


def checks(c: Container) -> list[tuple[str, str]]:
    with c.reader() as uow:
        found = uow.session.execute(select(DriftCheckRow.model_name, DriftCheckRow.verdict))
        return sorted((name, verdict) for name, verdict in found)


def test_each_model_serving_a_version_with_a_reference_gets_a_check_on_schedule(
    container: Container,
) -> None:
    serving(container, "iris", reference())
    serving(container, "churn", None)  # no reference: nothing to judge, no row

    ran = [watch.scheduled_drift_checks(container, n, "w", watch.Tick()) for n in range(4)]

    assert [r is not None for r in ran] == [True, False, False, True]
    assert ran[0] == [
        {
            "model_name": "iris",
            "version": "1",
            "verdict": "no_drift",
            "drifted": [],
            "summary": "no drift in 2 columns; the output has no baseline yet",
            "alerted": False,
        }
    ]
    assert checks(container) == [("iris", "no_drift")] * 2


def test_a_failing_check_is_logged_and_the_other_models_are_still_checked(
    container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    serving(container, "iris", reference())
    serving(container, "broken", reference())
    with container.uow() as uow:  # a stored reference whose rows no longer fit its columns
        uow.session.get(ReferenceSampleRow, "broken/1").rows = [[1.0]]  # type: ignore[union-attr]
        uow.commit()

    done = record_drift_checks(container, "w")

    assert [d["model_name"] for d in done] == ["iris"]
    assert checks(container) == [("iris", "no_drift")]
    assert "the drift check of broken failed; the tick goes on" in caplog.text
    with container.reader() as uow:
        assert uow.session.scalar(select(func.count()).select_from(DriftCheckRow)) == 1
