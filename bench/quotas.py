"""Quota admission benchmark: what the deploy's authoritative quota check (``uow.quotas.admit``:
the tenant's quota row locked, its live deployments read and judged) adds to the transaction
that writes a deployment row, on a fresh SQLite state database seeded with N live deployments
spread over T tenants. Baseline in the same run: the same write for a tenant without a quota
(``admit`` is then one primary-key read). Each write is rolled back, so every run sees the same
rows. It prints figures; it asserts nothing.

    .venv/bin/python bench/quotas.py --deployments 1000 --tenants 10 --runs 200
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sqlalchemy.orm import Session, sessionmaker

from database import migrate
from database.engine import make_engine, make_session_factory
from database.models import DeploymentRow, ModelVersionRow
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.quotas import Quota
from lifecycle.records import model_version_id, utcnow
from lifecycle.resources import Resources
from lifecycle.stages import DeploymentStatus


def row(deployment_id: str, name: str) -> DeploymentRow:
    return DeploymentRow(
        deployment_id=deployment_id,
        model_version_id=model_version_id(name, "1"),
        model_name=name,
        model_version="1",
        target_stage="production",
        endpoint_name=deployment_id,
        status=DeploymentStatus.ACTIVE.value,
        replicas=2,
        cpu_limit="0.5",
        memory_limit="512Mi",
        deployed_by="bench",
    )


def seed(url: str, deployments: int, tenants: int) -> None:
    factory = make_session_factory(make_engine(url))
    names = [f"team-{t}/model-{m}" for t in range(tenants) for m in range(10)] + ["quota-free/m"]
    with SqlAlchemyUnitOfWork(factory) as uow:
        for name in names:
            uow.session.add(
                ModelVersionRow(
                    model_version_id=model_version_id(name, "1"),
                    model_name=name,
                    version="1",
                    stage="production",
                    metrics={},
                    params={},
                    success_criteria={},
                    artifact_uri="models:/x/1",
                )
            )
        uow.session.flush()
        for i in range(deployments):
            uow.session.add(row(f"d-{i}", names[i % (len(names) - 1)]))
        for t in range(tenants):
            uow.quotas.set(f"team-{t}", Quota(deployments=10**6, cpu=10**4.0), "bench", utcnow())
        uow.commit()


def write_once(factory: sessionmaker[Session], name: str) -> float:
    started = time.perf_counter()
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.quotas.admit(name, Resources(2, cpu=0.5, memory_bytes=512 * 1024**2))
        uow.deployments.add(row("d-new", name))
        uow.flush()
        uow.rollback()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'state.db'}"
        migrate.upgrade(url)
        seed(url, args.deployments, args.tenants)
        factory = make_session_factory(make_engine(url))
        quota_free, quota_held = [], []
        for _ in range(args.runs):  # interleaved, so both arms see the same machine
            quota_free.append(write_once(factory, "quota-free/m"))
            quota_held.append(write_once(factory, "team-0/model-0"))
    per_tenant = args.deployments // args.tenants
    free, held = statistics.median(quota_free), statistics.median(quota_held)
    print(f"{args.deployments} live deployments over {args.tenants} tenants (~{per_tenant} each)")
    print(f"  write a deployment row, tenant without a quota : {free * 1000:7.2f} ms (median)")
    print(f"  write a deployment row, tenant with a quota    : {held * 1000:7.2f} ms (median)")
    print(f"  ratio (with / without)                         : {held / free:7.2f}")


if __name__ == "__main__":
    main()
