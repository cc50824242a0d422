"""A real serving stack for gateway tests: a deployer home with two registered versions of an
iris classifier whose outputs differ, their ``bentoml serve`` endpoints, and gateway processes.

Everything is started through the product's own use cases and CLI, and stopped by PID.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from agents.bootstrap import Container
from agents.handlers.registration import register_version
from agents.handlers.serving import start_endpoint, stop_endpoint
from agents.settings import Settings
from database import migrate
from lifecycle.stages import ModelStage
from mlops.processes import free_port, terminate_tree, wait_http_ok
from mlops.training import TrainedModel, train_and_log
from tests.mlflow_template import seed_mlflow_store

MODEL = "iris"
TOKEN = "test-admin-token"


@dataclass
class Stack:
    home: Path
    container: Container
    env: dict[str, str]
    models: dict[str, TrainedModel] = field(default_factory=dict)
    deployments: dict[str, str] = field(default_factory=dict)  # label -> deployment id
    gateways: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(
        self, label: str, version: str, stage: ModelStage = ModelStage.PRODUCTION, **extra_env: str
    ) -> str:
        """Start an endpoint for ``version`` made at ``stage`` (production: it may take weight;
        shadow: it may be the mirror); ``extra_env`` sets fault drills.

        The version is recorded in ``stage`` for the start and in production after it, as a
        shadow version promoted since (whose mirror the stage rule still admits): every
        version of the stack serves users, which is what the gateway tests are about."""
        self.record_stage(version, stage)
        started = start_endpoint(
            self.container, MODEL, version, "tester", extra_env=extra_env or None
        )
        self.record_stage(version, ModelStage.PRODUCTION)
        self.deployments[label] = started["deployment_id"]
        return str(started["deployment_id"])

    def record_stage(self, version: str, stage: ModelStage) -> None:
        """Set the version's stage in the state DB (set-up: the promote flow is not the subject)."""
        with self.container.uow() as uow:
            uow.models.get(MODEL, version).stage = stage.value
            uow.commit()

    def stop(self, label: str) -> None:
        stop_endpoint(self.container, self.deployments[label], "tester", "test over")

    def gateway(self, *args: str) -> str:
        """Start ``deployer gateway`` on a free port and wait for it; return its URL."""
        port = free_port()
        log = (self.home / f"gateway-{port}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "agents.entrypoints.gateway", "--port", str(port), *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.gateways.append(proc)
        url = f"http://127.0.0.1:{port}"
        if not wait_http_ok(f"{url}/healthz", 60, lambda: proc.poll() is None):
            raise RuntimeError(f"gateway did not start: {(self.home / f'gateway-{port}.log')}")
        return url

    def stop_gateways(self) -> None:
        for proc in self.gateways:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    terminate_tree(proc.pid)
                    proc.wait(timeout=5)
        self.gateways.clear()


@contextlib.contextmanager
def gateway_stack(home: Path, database_url: str | None = None) -> Iterator[Stack]:
    """A home with v1 and v2 of ``iris`` registered (their outputs differ on some rows)."""
    env = {
        **os.environ,
        "DEPLOYER_HOME": str(home),
        "DEPLOYER_GATEWAY_TOKEN": TOKEN,
        "BENTOML_DO_NOT_TRACK": "true",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    if database_url:
        env["DEPLOYER_DATABASE_URL"] = database_url
    else:
        env.pop("DEPLOYER_DATABASE_URL", None)
    settings = Settings.model_validate(
        {"DEPLOYER_HOME": str(home), "DEPLOYER_DATABASE_URL": database_url}
    )
    settings.ensure_home()
    migrate.upgrade(settings.database_url)
    seed_mlflow_store(settings.tracking_uri)
    container = Container(settings)
    stack = Stack(home, container, env)
    try:
        for version, variant in (("1", 1), ("2", 2)):
            trained = train_and_log(
                settings.tracking_uri, variant=variant, artifact_root=settings.artifact_root
            )
            register_version(container.uow, container.registry, MODEL, trained.model_uri, "tester")
            stack.models[version] = trained
        yield stack
    finally:
        stack.stop_gateways()
        for deployment_id in list(stack.deployments.values()):
            with contextlib.suppress(Exception):
                stop_endpoint(container, deployment_id, "tester", "stack torn down")
        container.close()


def rows_of(model: TrainedModel) -> list[list[float]]:
    return [[float(v) for v in row] for row in model.sample.values]


def admin(url: str) -> httpx.Client:
    return httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10, trust_env=False
    )


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; return it (or the last falsy)."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
