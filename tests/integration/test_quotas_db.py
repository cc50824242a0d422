"""Per-tenant quotas in the state database (issue 19 item 3), on SQLite and a real PostgreSQL:
the limits round-trip, a tenant's usage is read from its own live deployments and captured rows
only, and of two concurrent deploys that each fit alone but not together exactly one passes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from database.capture import DbCaptureStore
from database.models_watch import PredictionRow
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import QuotaExceededError
from lifecycle.quotas import Quota, Usage
from lifecycle.resources import Autoscale, Resources
from lifecycle.stages import DeploymentStatus
from tests.integration.db_helpers import add_version, deployment_row, migrated_factory

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
GI = 1024**3


@pytest.fixture
def factory(database_url: str) -> sessionmaker[Session]:
    return migrated_factory(database_url)


def deployed(
    factory: sessionmaker[Session],
    rows: list[tuple[str, str, DeploymentStatus, Resources]],
) -> None:
    """Deployment rows (id, model, status, resources), each model's version 1 registered."""
    for name in sorted({name for _, name, _, _ in rows}):
        add_version(factory, name, "1")
    with SqlAlchemyUnitOfWork(factory) as uow:
        for deployment_id, name, status, resources in rows:
            row = deployment_row(deployment_id, status, name, "1")
            for column, value in resources.to_columns().items():
                setattr(row, column, value)
            uow.deployments.add(row)
        uow.commit()


def captured(factory: sessionmaker[Session], names: list[str], first: int = 0) -> None:
    """One captured row per name, a second apart (request ids ``r<first>``, ...)."""
    with SqlAlchemyUnitOfWork(factory) as uow:
        for i, name in enumerate(names, start=first):
            uow.session.add(
                PredictionRow(
                    request_id=f"r{i}",
                    model_name=name,
                    version="1",
                    deployment_id="d",
                    captured_at=NOW + timedelta(seconds=i),
                    latency_ms=1.0,
                    status=200,
                )
            )
        uow.commit()


def test_a_quota_is_set_read_replaced_and_cleared(factory: sessionmaker[Session]) -> None:
    quota = Quota(deployments=3, replicas=6, cpu=4.0, memory_bytes=8 * GI, capture_rows=1000)
    with SqlAlchemyUnitOfWork(factory) as uow:
        assert uow.quotas.get("team-a") is None
        uow.quotas.set("team-a", quota, "root", NOW)
        uow.commit()
    with SqlAlchemyUnitOfWork(factory) as uow:
        assert uow.quotas.get("team-a") == quota
        uow.quotas.set("team-a", Quota(deployments=1), "ann", NOW)
        uow.commit()
    with SqlAlchemyUnitOfWork(factory, read_only=True) as uow:
        assert uow.quotas.get("team-a") == Quota(deployments=1), "replaced whole, not merged"
        assert [(r.tenant, r.set_by) for r in uow.quotas.all()] == [("team-a", "ann")]
    with SqlAlchemyUnitOfWork(factory) as uow:
        assert uow.quotas.clear("team-a") and not uow.quotas.clear("team-b")
        uow.commit()
    with SqlAlchemyUnitOfWork(factory, read_only=True) as uow:
        assert uow.quotas.get("team-a") is None


def test_usage_counts_only_the_tenants_live_deployments_and_captured_rows(
    factory: sessionmaker[Session],
) -> None:
    live, gone = DeploymentStatus.ACTIVE, DeploymentStatus.ROLLED_BACK
    ray = Resources(2, cpu=0.5, memory_bytes=GI)
    deployed(
        factory,
        [
            ("a1", "team-a/fraud", live, ray),
            ("a2", "team-a/churn", DeploymentStatus.PENDING, Resources(autoscale=Autoscale(1, 3))),
            ("a3", "team-a/fraud", gone, ray),  # not live: not counted
            ("a4", "team-a/churn", DeploymentStatus.FAILED, ray),
            ("b1", "team-ab/fraud", live, ray),  # a tenant whose name starts like team-a's
            ("d1", "fraud", DeploymentStatus.DRAINING, Resources(3)),  # the default tenant
            ("d2", "team-a_x", live, Resources(1)),  # a bare name: the default tenant's
        ],
    )
    captured(factory, ["team-a/fraud", "team-a/fraud", "team-ab/fraud", "fraud"])
    with SqlAlchemyUnitOfWork(factory, read_only=True) as uow:
        assert uow.quotas.usage_of("team-a") == Usage(2, 5, 1.0, 2 * GI, 2)
        assert uow.quotas.usage_of("team-ab") == Usage(1, 2, 1.0, 2 * GI, 1)
        assert uow.quotas.usage_of("default") == Usage(2, 4, 0.0, 0, 1)
        assert uow.quotas.usage_of("team-c") == Usage()
        assert uow.quotas.usage_of("team-a", capture=False).capture_rows == 0


def test_admit_refuses_a_deployment_past_the_quota_and_passes_without_one(
    factory: sessionmaker[Session],
) -> None:
    deployed(factory, [("a1", "team-a/fraud", DeploymentStatus.ACTIVE, Resources(2))])
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.quotas.admit("team-a/fraud", Resources(64))  # no quota: unlimited
        uow.quotas.set("team-a", Quota(replicas=3), "root", NOW)
        uow.commit()
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.quotas.admit("team-a/fraud", Resources(1))
        with pytest.raises(QuotaExceededError, match="2 of 3 replicas are in use; this deploy"):
            uow.quotas.admit("team-a/churn", Resources(2))
        uow.quotas.admit("other", Resources(9))  # another tenant (default): no quota


def _deploy_in_turn(
    factory: sessionmaker[Session],
    deployment_id: str,
    admitted: threading.Event,
    rival: threading.Event | None = None,
) -> str:
    """Admit one deployment of team-a and write its row in one unit of work; set ``admitted``
    once past the check. The first deploy then waits (up to 0.5 s) for its ``rival`` to get
    past its own check before writing: without the tenant's lock the rival reads a usage
    without this row, and both pass."""
    try:
        with SqlAlchemyUnitOfWork(factory) as uow:
            uow.quotas.admit("team-a/fraud", Resources(1))
            admitted.set()
            if rival is not None:
                rival.wait(0.5)
            row = deployment_row(deployment_id, DeploymentStatus.PENDING, "team-a/fraud", "1")
            uow.deployments.add(row)
            uow.commit()
        return "deployed"
    except QuotaExceededError:
        admitted.set()
        return "refused"


def test_of_two_concurrent_deploys_that_fit_only_alone_exactly_one_passes(
    factory: sessionmaker[Session],
) -> None:
    add_version(factory, "team-a/fraud", "1")
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.quotas.set("team-a", Quota(deployments=1), "root", NOW)
        uow.commit()
    first_in, second_in = threading.Event(), threading.Event()
    results: dict[str, str] = {}

    def first() -> None:
        results["first"] = _deploy_in_turn(factory, "d-first", first_in, rival=second_in)

    def second() -> None:
        first_in.wait(10)  # the first holds the tenant's lock (and, on SQLite, the write lock)
        results["second"] = _deploy_in_turn(factory, "d-second", second_in)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {"first": "deployed", "second": "refused"}
    with SqlAlchemyUnitOfWork(factory, read_only=True) as uow:
        rows = uow.deployments.list("team-a/fraud")
        assert [r.deployment_id for r in rows] == ["d-first"]


def kept(factory: sessionmaker[Session]) -> list[str]:
    with SqlAlchemyUnitOfWork(factory, read_only=True) as uow:
        ids = uow.session.scalars(select(PredictionRow.request_id).order_by(PredictionRow.id))
        return list(ids)


def drop_events(factory: sessionmaker[Session]) -> list[str]:
    with SqlAlchemyUnitOfWork(factory, read_only=True) as uow:
        return [e.subject for e in uow.audit.list() if e.action == "capture_quota_dropped"]


def test_the_capture_writer_keeps_a_tenants_newest_rows_within_its_quota_and_says_so_once(
    factory: sessionmaker[Session],
) -> None:
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.quotas.set("team-a", Quota(capture_rows=3), "root", NOW)
        uow.commit()
    store = DbCaptureStore(factory)
    # r0-r2 fraud, r3-r4 churn (team-a: 5 rows), r5-r6 team-b's: untouched
    captured(factory, ["team-a/fraud"] * 3 + ["team-a/churn"] * 2 + ["team-b/x"] * 2)
    day = 86400.0

    assert store.apply_retention(NOW, day, 1000) == 2
    assert kept(factory) == ["r2", "r3", "r4", "r5", "r6"], "team-a's two oldest rows went"
    assert drop_events(factory) == ["team-a"]

    captured(factory, ["team-a/fraud"], first=7)
    assert store.apply_retention(NOW, day, 1000) == 1
    assert drop_events(factory) == ["team-a"], "one event while it keeps dropping, not a round"

    assert store.apply_retention(NOW, day, 1000) == 0  # within the quota: the episode ends
    captured(factory, ["team-a/churn"], first=8)
    assert store.apply_retention(NOW, day, 1000) == 1
    assert drop_events(factory) == ["team-a", "team-a"], "a new episode is said again"
    assert kept(factory) == ["r4", "r5", "r6", "r7", "r8"]
