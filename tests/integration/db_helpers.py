"""Helpers shared by the database tests (importable by spawned child processes)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from database.engine import make_engine
from database.models import DeploymentRow, ModelVersionRow
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.records import model_version_id
from lifecycle.stages import DeploymentStatus, ModelStage
from tests.audit_keys import keyed_factory
from tests.schema_template import migrated


def migrated_factory(url: str) -> sessionmaker[Session]:
    """A keyed session factory over ``url`` at the newest schema (a fresh database: a copy of
    the session's migrated template, ``tests.schema_template``)."""
    migrated(url)
    return keyed_factory(make_engine(url))


def disable_append_only_triggers(session: Session) -> None:
    """Do what only the database's owner can: switch off the triggers that refuse UPDATE and
    DELETE on audit rows (migration 0008), in ``session``'s transaction, to tamper past them."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        session.execute(text("ALTER TABLE audit_head DISABLE TRIGGER USER"))
        return
    for trigger in (
        "audit_events_no_update",
        "audit_events_no_delete",
        "audit_head_keyed_from_fixed",
    ):
        session.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))


def add_version(
    factory: sessionmaker[Session],
    name: str = "fraud_detector",
    version: str = "2",
    stage: ModelStage = ModelStage.DEVELOPMENT,
) -> None:
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.models.add(
            ModelVersionRow(
                model_version_id=model_version_id(name, version),
                model_name=name,
                version=version,
                stage=stage.value,
                metrics={"accuracy": 0.93},
                params={"C": "1.0"},
                success_criteria={"criteria": ["accuracy>=0.9"]},
                artifact_uri="models:/fraud_detector/2",
                run_id="r1",
                experiment_id="0",
            )
        )
        uow.commit()


def deployment_row(
    deployment_id: str,
    status: DeploymentStatus,
    name: str = "fraud_detector",
    version: str = "2",
    url: str | None = None,
    stage: ModelStage = ModelStage.STAGING,
) -> DeploymentRow:
    """A deployment record of ``name`` ``version`` made at ``stage`` (not added to any
    session); the routing stage rule lets only production ones take weight, shadow ones the
    mirror."""
    return DeploymentRow(
        deployment_id=deployment_id,
        model_version_id=model_version_id(name, version),
        model_name=name,
        model_version=version,
        target_stage=stage.value,
        endpoint_name=f"{name.replace('_', '-')}-{deployment_id}",
        endpoint_url=url,
        status=status.value,
        deployed_by="alice",
    )
