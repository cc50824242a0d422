"""Repositories, the unit of work and the migrations, on SQLite and a real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session, sessionmaker

from database import migrate
from database.engine import make_engine
from database.models import ApprovalRow, Base, DeploymentRow
from database.services import record_stage_change
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import (
    ConfigurationError,
    ConflictError,
    InvalidPromotionPathError,
    UnknownModelError,
)
from lifecycle.records import utcnow
from lifecycle.stages import DeploymentStatus, ModelStage
from tests.integration.db_helpers import add_version, deployment_row, migrated_factory

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
        assert uow.models.list_model_names() == ["fraud_detector"]


def test_each_models_latest_version_in_a_stage_is_what_the_listing_ends_with(
    factory: sessionmaker[Session],
) -> None:
    for name, version, stage in [
        ("a", "2", ModelStage.PRODUCTION),
        ("a", "10", ModelStage.PRODUCTION),  # "10" after "9" and "2": numbers, not text
        ("a", "9", ModelStage.PRODUCTION),
        ("a", "11", ModelStage.STAGING),
        ("b", "1", ModelStage.STAGING),
        ("c", "3", ModelStage.PRODUCTION),
    ]:
        add_version(factory, name, version, stage)
    with SqlAlchemyUnitOfWork(factory) as uow:
        listed = {r.model_name: r.version for r in uow.models.list(None, ModelStage.PRODUCTION)}
        assert uow.models.latest_in(ModelStage.PRODUCTION) == listed == {"a": "10", "c": "3"}
        assert uow.models.latest_in(ModelStage.ARCHIVED) == {}


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
        assert [
            d.deployment_id
            for d in uow.deployments.list("fraud_detector", status=DeploymentStatus.ACTIVE)
        ] == ["dep-1"]
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


def test_downgrading_to_base_and_back_rebuilds_the_schema(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    with engine.begin() as conn:
        config = migrate.alembic_config(database_url)
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
        assert set(inspect(conn).get_table_names()) == {"alembic_version"}
    engine.dispose()
    assert migrate.upgrade(database_url) == migrate.head_revision()


def test_active_deployments_are_served_by_a_partial_index(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT sql FROM sqlite_master WHERE name = 'ix_ml_deployments_active'"
        else:
            sql = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_ml_deployments_active'"
        definition = conn.execute(text(sql)).scalar_one()
    engine.dispose()
    assert "WHERE" in definition.upper()
    assert "active" in definition


def deployment(deployment_id: str, status: DeploymentStatus) -> DeploymentRow:
    return deployment_row(deployment_id, status)


def test_deployments_are_listed_by_status(factory: sessionmaker[Session]) -> None:
    add_version(factory)
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.deployments.add(deployment("d1", DeploymentStatus.ROLLED_BACK))
        uow.deployments.add(deployment("d2", DeploymentStatus.ACTIVE))
        uow.deployments.add(deployment("d3", DeploymentStatus.DRAINING))
        uow.commit()
    with SqlAlchemyUnitOfWork(factory) as uow:
        by_status = uow.deployments.list(status=DeploymentStatus.DRAINING)
        live = uow.deployments.list(
            "fraud_detector", [DeploymentStatus.ACTIVE, DeploymentStatus.DRAINING]
        )
        assert [d.deployment_id for d in by_status] == ["d3"]
        assert sorted(d.deployment_id for d in live) == ["d2", "d3"]
        assert len(uow.deployments.list()) == 3
        assert uow.deployments.list("other_model") == []


def test_registering_the_same_version_twice_is_a_conflict(factory: sessionmaker[Session]) -> None:
    add_version(factory)
    with pytest.raises(ConflictError, match="nothing was written"):
        add_version(factory)


def test_two_approvers_cannot_both_decide_the_same_request(
    factory: sessionmaker[Session],
) -> None:
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.approvals.add(
            ApprovalRow(
                approval_id="apr-1",
                model_name="fraud_detector",
                version="2",
                target_stage="production",
                requested_by="alice",
            )
        )
        uow.commit()
    with SqlAlchemyUnitOfWork(factory, what="approval apr-1") as first:
        slow = first.approvals.get("apr-1")
        first.commit()  # end the read; the row keeps the counter it was read with
        with SqlAlchemyUnitOfWork(factory) as second:
            fast = second.approvals.get("apr-1")
            fast.state, fast.approver, fast.decided_at = "approved", "bob", utcnow()
            second.commit()
        slow.state, slow.approver, slow.decided_at = "rejected", "carol", utcnow()
        with pytest.raises(ConflictError, match="approval apr-1 was changed by someone else"):
            first.commit()
    with SqlAlchemyUnitOfWork(factory) as uow:
        decided = uow.approvals.get("apr-1")
        assert (decided.state, decided.approver) == ("approved", "bob")
        assert uow.approvals.list() == []
        assert [a.approval_id for a in uow.approvals.list(state=None)] == ["apr-1"]


def test_an_approval_moves_from_pending_once_by_compare_and_set(
    factory: sessionmaker[Session],
) -> None:
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.approvals.add(
            ApprovalRow(
                approval_id="apr-1",
                model_name="fraud_detector",
                version="2",
                target_stage="production",
                requested_by="alice",
            )
        )
        uow.commit()
    decided_at = utcnow()
    with SqlAlchemyUnitOfWork(factory) as uow:
        assert uow.approvals.decide("apr-1", "approved", "bob", "ship it", decided_at) is True
        uow.commit()
    with SqlAlchemyUnitOfWork(factory) as uow:
        assert uow.approvals.decide("apr-1", "rejected", "carol", "no", utcnow()) is False
        uow.commit()
    with SqlAlchemyUnitOfWork(factory) as uow:
        row = uow.approvals.get("apr-1")
        assert (row.state, row.approver, row.comment, row.decided_at) == (
            "approved",
            "bob",
            "ship it",
            decided_at,
        )
        assert row.row_version == 2, "a compare-and-set counts as a change of the row"
        assert uow.approvals.decide("apr-missing", "approved", "bob", "", utcnow()) is False


def test_version_records_map_to_the_domain_record_in_time_order(
    factory: sessionmaker[Session],
) -> None:
    add_version(factory)
    moves = [ModelStage.STAGING, ModelStage.SHADOW, ModelStage.PRODUCTION]
    for stage in moves:
        with SqlAlchemyUnitOfWork(factory) as uow:
            record_stage_change(uow, "fraud_detector", "2", stage, "alice", approval_id="a1")
            uow.commit()
    with SqlAlchemyUnitOfWork(factory) as uow:
        records = [r.to_record() for r in uow.version_records.list_for("fraud_detector", "2")]
        assert [r.to_stage for r in records] == moves
        assert records[0].from_stage is ModelStage.DEVELOPMENT
        assert all(r.approval_id == "a1" and r.changed_at.tzinfo for r in records)
        assert uow.version_records.list_for("fraud_detector", "9") == []
        assert [row.version for row in uow.models.list(stage=ModelStage.PRODUCTION)] == ["2"]
        assert uow.models.list_model_names() == ["fraud_detector"]
        assert len(uow.audit.list("fraud_detector/2")) == 3


def test_a_database_from_a_newer_release_is_refused_in_one_line(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(ConfigurationError, match="9999") as caught:
        migrate.upgrade(database_url)
    assert "\n" not in str(caught.value)
