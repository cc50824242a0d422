"""A state DB with N models, each with a live canary rollout, as a deploy leaves them.

Rows are written through the mapped tables the deploy writes (``ml_model_registry``,
``ml_deployments``, ``rollouts``, ``routes``) and the gateway's own ``store_stats`` (fresh
figures for each deployment), in a few bulk transactions. No bentoml server runs: each
deployment's endpoint is a real, cheap process (``sleep``) whose environment names the
deployment and the home, which is exactly what the local serving's liveness check reads
(``mlops.endpoints_local``), so the tick's liveness checks are the real ones on real processes.
The caller stops the processes (``stop_endpoints``, by PID).

Shared by ``bench/scale.py`` and the tests (``tests/integration/test_tick_scale.py``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from database.models import DeploymentRow, ModelVersionRow, RolloutRow, RouteRow
from database.routing import DbRouter
from lifecycle.records import model_version_id, utcnow
from lifecycle.rollback import config_to_dict, configure

CANARY_WEIGHTS = [10.0, 50.0, 100.0]


@dataclass
class World:
    """What was seeded: model names, and each model's stable and canary deployment ids."""

    models: list[str] = field(default_factory=list)
    stable: dict[str, str] = field(default_factory=dict)
    canary: dict[str, str] = field(default_factory=dict)
    pids: list[int] = field(default_factory=list)

    @property
    def rollouts(self) -> list[str]:
        return [self.canary[m] for m in self.models]


def endpoint_process(deployment_id: str, bentoml_home: Path) -> int:
    """A real process standing for one deployment's server (what the liveness check reads)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DEPLOYER_DEPLOYMENT_ID": deployment_id,
        "BENTOML_HOME": str(bentoml_home),
    }
    proc = subprocess.Popen(
        ["sleep", "3600"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return proc.pid


def stop_endpoints(pids: list[int]) -> None:
    """Stop the stand-in servers by PID (and reap them)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    pids.clear()


def figures(deployment_id: str, model: str, requests: int, errors: int) -> dict[str, Any]:
    """One gateway's figures for a deployment, as ``DeploymentStats.snapshot`` makes them."""
    histogram = {"10": requests}
    part = {
        "requests": requests,
        "errors": errors,
        "p50_ms": 4.0,
        "p95_ms": 8.0,
        "p99_ms": 9.0,
        "latency_histogram": histogram,
    }
    return {
        "deployment_id": deployment_id,
        "model_name": model,
        "window_seconds": 60,
        "window": {**part, "requests_per_second": round(requests / 60, 3)},
        "total": {**part, "retried_on_stable": 0},
    }


def seed(
    factory: sessionmaker[Session],
    count: int,
    bentoml_home: Path,
    prefix: str = "scale",
    start: int = 0,
    now: datetime | None = None,
    gateways: tuple[str, ...] = ("gw-a",),
    world: World | None = None,
    endpoint_url: str | None = None,
    processes: bool | None = None,
    canary_urls: Mapping[str, str] | None = None,
    pause_seconds: float = 3600.0,
    rollback: Mapping[str, float] | None = None,
    canary_stage: str = "staging",
) -> World:
    """``count`` models, each a production stable (v1) and a canary of v2 at 10% whose step
    began ``now`` (an hour-long pause by default: the tick judges and holds it), with fresh
    figures from each gateway in ``gateways`` and one endpoint process per deployment (by
    default none when the deployments all point at ``endpoint_url``: a real server the caller
    runs; ``processes=True`` starts them anyway, for a watcher's liveness check). A model in
    ``canary_urls`` has its canary at that URL (a failing server, say). ``rollback`` overrides the
    rollouts' balanced preset; ``canary_stage="production"`` makes v2 a promoted version whose
    canary the monitor may move on (the stage rule refuses a staging version users' weight)."""
    now = now or utcnow()
    world = world if world is not None else World()
    known = len(world.models)
    config = config_to_dict(configure("balanced", {"min_requests": 20, **(rollback or {})}))
    live = endpoint_url is None if processes is None else processes
    canary_urls = canary_urls or {}
    with factory() as session:
        for i in range(start, start + count):
            model = f"{prefix}-{i:05d}"
            stable, canary = f"{model}-d1", f"{model}-d2"
            world.models.append(model)
            world.stable[model], world.canary[model] = stable, canary
            for version, stage in (("1", "production"), ("2", canary_stage)):
                session.add(
                    ModelVersionRow(
                        model_version_id=model_version_id(model, version),
                        model_name=model,
                        version=version,
                        stage=stage,
                        metrics={"accuracy": 0.95},
                        success_criteria={"criteria": []},
                    )
                )
        session.flush()
        for model in world.models[known:]:
            for number, dep in (("1", world.stable[model]), ("2", world.canary[model])):
                pid = endpoint_process(dep, bentoml_home) if live else None
                if pid is not None:
                    world.pids.append(pid)
                url = canary_urls.get(model) if number == "2" else None
                session.add(
                    DeploymentRow(
                        deployment_id=dep,
                        model_version_id=model_version_id(model, number),
                        model_name=model,
                        model_version=number,
                        target_stage="production",
                        strategy="direct" if number == "1" else "canary",
                        endpoint_name=f"{model}-v{number}",
                        endpoint_url=url or endpoint_url or "http://127.0.0.1:9/",
                        endpoint_pid=pid,
                        endpoint_port=9,
                        status="active",
                        traffic_percentage=90.0 if number == "1" else 10.0,
                        deployed_by="bench",
                        deployed_at=now - timedelta(minutes=5),
                    )
                )
        session.flush()
        for model in world.models[known:]:
            stable, canary = world.stable[model], world.canary[model]
            session.add(
                RolloutRow(
                    deployment_id=canary,
                    model_name=model,
                    strategy="canary",
                    phase="progressing",
                    baseline_deployment_id=stable,
                    steps={"weights": CANARY_WEIGHTS},
                    step_index=0,
                    step_started_at=now - timedelta(seconds=30),
                    pause_seconds=pause_seconds,
                    config=config,
                    marks={},
                    pending=None,
                    last_message="",
                )
            )
            session.add(
                RouteRow(
                    model_name=model,
                    weights={stable: 90.0, canary: 10.0},
                    stable_deployment_id=stable,
                    shadow_deployment_id=None,
                    shadow_percent=0.0,
                    revision=1,
                    updated_by="bench",
                )
            )
        session.commit()
    report_figures(factory, world, gateways)
    return world


def report_figures(
    factory: sessionmaker[Session], world: World, gateways: tuple[str, ...] = ("gw-a",)
) -> None:
    """Each gateway's flush: fresh figures for every deployment of ``world`` (all written)."""
    router = DbRouter(factory)
    for gateway in gateways:
        rows = []
        for model in world.models:
            rows.append(figures(world.stable[model], model, 900, 0))
            rows.append(figures(world.canary[model], model, 100, 0))
        router.store_stats(gateway, rows, [], unchanged=[])


def register_in_mlflow(tracking_uri: str, world: World, artifacts: Path) -> None:
    """Each model and its two versions in the MLflow registry (a ``sqlite:///`` store) with
    its serving aliases in place (``@champion`` v1, ``@challenger`` v2), as a deploy leaves
    them: the tick's ``move_aliases`` finds them right. One model is registered through
    MLflow's client; the others are copies of its rows (MLflow's own client takes about a
    second a model on this machine, which would make the bench's set-up its whole run)."""
    import sqlite3

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    artifacts.mkdir(parents=True, exist_ok=True)
    first, others = world.models[0], world.models[1:]
    client.create_registered_model(first)
    for _ in ("1", "2"):
        client.create_model_version(first, source=str(artifacts), run_id=None)
    client.set_registered_model_alias(first, "champion", "1")
    client.set_registered_model_alias(first, "challenger", "2")
    db = sqlite3.connect(tracking_uri.removeprefix("sqlite:///"))
    with db:
        tables = ("registered_models", "model_versions", "registered_model_aliases")
        for table in tables:
            columns = [c[1] for c in db.execute(f"PRAGMA table_info({table})")]
            picked = ", ".join("? AS name" if c == "name" else c for c in columns)
            names = ", ".join(columns)
            copy = f"INSERT INTO {table} ({names}) SELECT {picked} FROM {table} WHERE name = ?"
            db.executemany(copy, [(model, first) for model in others])
    db.close()


@contextlib.contextmanager
def seeded(
    factory: sessionmaker[Session], count: int, bentoml_home: Path, **kwargs: Any
) -> Iterator[World]:
    """``seed``, with its endpoint processes stopped afterwards."""
    world = World()
    try:
        seed(factory, count, bentoml_home, world=world, **kwargs)
        yield world
    finally:
        stop_endpoints(world.pids)
