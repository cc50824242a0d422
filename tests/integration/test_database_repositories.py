"""Repositories, the unit of work and the migrations, on SQLite and a real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.orm import Session, sessionmaker

from database import migrate
from database.engine import make_engine
from database.models import ApprovalRow, Base, DeploymentRow
from database.services import record_stage_change
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import InvalidPromotionPathError, UnknownModelError
from lifecycle.stages import DeploymentStatus, ModelStage
from tests.integration.db_helpers import add_version, migrated_factory

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def factory(database_url: str) -> sessionmaker[Session]:
    return migrated_factory(database_url)


def test_the_migrated_schema_equals_the_mapped_one(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_migrating_twice_is_harmless_and_reports_the_head(database_url: str) -> None:
    assert migrate.upgrade(database_url) == migrate.head_revision()
    assert migrate.upgrade(database_url) == migrate.head_revision()
    assert migrate.current_revision(database_url) == migrate.head_revision()


def test_alembic_upgrade_head_works_from_the_repo_root(database_url: str) -> None:
    alembic = Path(sys.executable).parent / "alembic"
    env = {**os.environ, "DEPLOYER_DATABASE_URL": database_url}
    subprocess.run(
        [str(alembic), "upgrade", "head"], cwd=REPO, env=env, check=True, capture_output=True
    )
    assert migrate.current_revision(database_url) == migrate.head_revision()


def test_a_model_version_round_trips_with_aware_times(factory: sessionmaker[Session]) -> None:
    add_version(factory)
    with SqlAlchemyUnitOfWork(factory) as uow:
        row = uow.models.get("fraud_detector", "2")
        assert row.metrics == {"accuracy": 0.93}
        assert row.criteria == ["accuracy>=0.9"]
        assert row.created_at.tzinfo is not None
        assert row.model_stage is ModelStage.DEVELOPMENT
        assert uow.models.model_names() == ["fraud_detector"]


def test_unknown_models_and_versions_raise_a_typed_error(factory: sessionmaker[Session]) -> None:
    add_version(factory)
    with SqlAlchemyUnitOfWork(factory) as uow:
        with pytest.raises(UnknownModelError, match="no model named 'nope'"):
            uow.models.get("nope", "1")
        with pytest.raises(UnknownModelError, match="has no version '9'"):
            uow.models.get("fraud_detector", "9")


def test_a_unit_of_work_without_commit_writes_nothing(factory: sessionmaker[Session]) -> None:
    add_version(factory)
    with SqlAlchemyUnitOfWork(factory) as uow:
        record_stage_change(uow, "fraud_detector", "2", ModelStage.STAGING, "alice")
    with SqlAlchemyUnitOfWork(factory) as uow:
        assert uow.models.get("fraud_detector", "2").stage == "development"
        assert uow.version_records.list_for("fraud_detector") == []
        assert uow.audit.list() == []


def test_an_error_inside_the_unit_of_work_rolls_everything_back(
    factory: sessionmaker[Session],
) -> None:
    add_version(factory)
    with pytest.raises(RuntimeError), SqlAlchemyUnitOfWork(factory) as uow:
        record_stage_change(uow, "fraud_detector", "2", ModelStage.STAGING, "alice")
        raise RuntimeError("crash mid-action")
    with SqlAlchemyUnitOfWork(factory) as uow:
        assert uow.models.get("fraud_detector", "2").stage == "development"
        assert uow.audit.verify().checked == 0


def test_a_stage_change_writes_the_record_and_the_audit_event_together(
    factory: sessionmaker[Session],
) -> None:
    add_version(factory)
    with SqlAlchemyUnitOfWork(factory) as uow:
        record = record_stage_change(
            uow, "fraud_detector", "2", ModelStage.STAGING, "alice", reason="offline eval ok"
        )
        uow.commit()
    assert (record.from_stage, record.to_stage) == (ModelStage.DEVELOPMENT, ModelStage.STAGING)
    with SqlAlchemyUnitOfWork(factory) as uow:
        history = [r.to_record() for r in uow.version_records.list_for("fraud_detector")]
        assert [(r.to_stage, r.changed_by, r.reason) for r in history] == [
            (ModelStage.STAGING, "alice", "offline eval ok")
        ]
        assert history[0].metrics == {"accuracy": 0.93}
        [event] = uow.audit.list()
        assert (event.action, event.subject) == ("stage_changed", "fraud_detector/2")
        assert uow.audit.verify().ok


def test_an_illegal_stage_change_is_refused_and_changes_nothing(
    factory: sessionmaker[Session],
) -> None:
    add_version(factory)
    with SqlAlchemyUnitOfWork(factory) as uow, pytest.raises(InvalidPromotionPathError):
        record_stage_change(uow, "fraud_detector", "2", ModelStage.PRODUCTION, "alice")
    with SqlAlchemyUnitOfWork(factory) as uow:
        assert uow.models.get("fraud_detector", "2").stage == "development"
        assert uow.version_records.list_for("fraud_detector") == []


def test_deployments_and_approvals_round_trip(factory: sessionmaker[Session]) -> None:
    add_version(factory)
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.deployments.add(
            DeploymentRow(
                deployment_id="dep-1",
                model_version_id="fraud_detector/2",
                model_name="fraud_detector",
                model_version="2",
                target_stage="staging",
                endpoint_name="fraud-detector-v2",
                endpoint_url="http://127.0.0.1:9999",
                endpoint_pid=4242,
                endpoint_port=9999,
                status=DeploymentStatus.ACTIVE.value,
                autoscaling={"min": 1, "max": 3},
                traffic_percentage=10.0,
                deployed_by="alice",
                deployment_duration_seconds=4.2,
            )
        )
        uow.approvals.add(
            ApprovalRow(
                approval_id="apr-1",
                model_name="fraud_detector",
                version="2",
                target_stage="production",
                requested_by="alice",
                thread_id="thread-1",
            )
        )
        uow.commit()
    with SqlAlchemyUnitOfWork(factory) as uow:
        manifest = uow.deployments.get("dep-1").to_manifest()
        assert manifest.autoscaling == {"min": 1, "max": 3}
        assert manifest.status is DeploymentStatus.ACTIVE
        assert manifest.deployed_at.tzinfo == UTC
        assert [d.deployment_id for d in uow.deployments.active_for_model("fraud_detector")] == [
            "dep-1"
        ]
        assert [a.approval_id for a in uow.approvals.list("pending")] == ["apr-1"]
        with pytest.raises(UnknownModelError):
            uow.deployments.get("dep-404")


def test_naive_datetimes_are_refused(factory: sessionmaker[Session]) -> None:
    add_version(factory)
    with SqlAlchemyUnitOfWork(factory) as uow:
        row = uow.models.get("fraud_detector", "2")
        row.stage_changed_at = datetime(2026, 1, 1)
        with pytest.raises(Exception, match="naive"):
            uow.flush()
