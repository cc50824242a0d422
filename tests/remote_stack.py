"""A real ``deployer api`` over a real home, and the ``deployer`` CLI in remote mode against it.

``remote_stack(root, roles)`` initialises a home under ``root`` (``deployer init``), logs a
trained iris model to its MLflow store, issues a token per person (``tests.access_fixtures``)
and serves the home with ``deployer api`` on a free port, stopped by PID (tree included) at the
end, together with any model server the home started. ``RemoteStack.cli(user, ...)`` runs the
CLI as that person: ``DEPLOYER_API_URL`` and their token, and a ``DEPLOYER_HOME`` that must
never be created (remote mode does not open a home).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops.processes import find_by_env, free_port, terminate_tree, wait_http_ok
from mlops.training import train_and_log
from tests.access_fixtures import issue_tokens_in_home
from tests.e2e.cli import DEPLOYER, Result, run, run_here
from tests.mlflow_template import seed_mlflow_store

STARTUP_TIMEOUT = 60.0
SNAPSHOT = {
    "ml_model_registry": "model_name, version, stage",
    "ml_deployments": "deployment_id, status, traffic_percentage",
    "approvals": "approval_id, state, requested_by, approver",
    "version_records": "id",
    "audit_events": "id, actor, hash",
    "routes": "model_name, weights, shadow_deployment_id, revision",
}


@dataclass
class RemoteStack:
    """The served home, its local environment, the API's URL and each person's token."""

    home: Path
    env: dict[str, str]
    url: str
    tokens: dict[str, str]
    model_uri: str
    client_home: Path

    def remote_env(self, user: str | None, **extra: str) -> dict[str, str]:
        """The environment of ``user``'s CLI in remote mode (no token for None)."""
        env = {"DEPLOYER_API_URL": self.url, "DEPLOYER_HOME": str(self.client_home)}
        env["DEPLOYER_TOKEN"] = self.tokens[user] if user else ""
        return {**env, "DEPLOYER_DEBUG": "", **extra}

    def cli(self, user: str | None, *args: str, **extra: str) -> Result:
        """``deployer ARGS`` in remote mode as ``user``."""
        return run(*args, env=self.remote_env(user, **extra), timeout=300)

    def ok(self, user: str, *args: str) -> Any:
        """``deployer ARGS --json`` as ``user``, which must exit 0; its JSON document."""
        result = self.cli(user, *args, "--json")
        assert result.code == 0, f"deployer {' '.join(args)} exited {result.code}: {result.stderr}"
        return result.json()

    def local(self, *args: str) -> Result:
        """``deployer ARGS`` in local mode on the served home."""
        return run(*args, env=self.env, timeout=300)

    def snapshot(self) -> dict[str, Any]:
        """Every row a request could change, read straight from the state database."""
        uri = f"file:{self.home / 'deployer.db'}?mode=ro"
        with sqlite3.connect(uri, uri=True) as db:
            return {
                table: db.execute(f"SELECT {columns} FROM {table} ORDER BY 1").fetchall()
                for table, columns in SNAPSHOT.items()
            }

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the state database directly (read-only)."""
        with sqlite3.connect(f"file:{self.home / 'deployer.db'}?mode=ro", uri=True) as db:
            return db.execute(sql, params).fetchall()


@contextlib.contextmanager
def remote_stack(root: Path, roles: dict[str, str]) -> Iterator[RemoteStack]:
    """A served home with a token per person of ``roles``; everything stopped by PID after."""
    home = root / "home"
    env = {
        "DEPLOYER_HOME": str(home),
        "DEPLOYER_SHADOW_MIN_HOURS": "0",
        "DEPLOYER_GATEWAY_TOKEN": "remote-stack-gateway-token",
        "DEPLOYER_FAILPOINT": "",
    }
    seed_mlflow_store(home / "mlflow.db")
    assert run_here("init", env=env).code == 0  # set-up: test_cli_init_status runs the process
    tokens = issue_tokens_in_home(env, roles)
    trained = train_and_log(f"sqlite:///{home / 'mlflow.db'}", artifact_root=home / "mlartifacts")
    port = free_port()
    with (root / "api.log").open("wb") as log:
        proc = subprocess.Popen(
            [str(DEPLOYER), "api", "--port", str(port)],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        alive = lambda: proc.poll() is None  # noqa: E731
        assert wait_http_ok(f"{url}/healthz", STARTUP_TIMEOUT, alive), (
            root / "api.log"
        ).read_text()
        yield RemoteStack(home, env, url, tokens, trained.model_uri, root / "client-home")
    finally:
        terminate_tree(proc.pid)
        proc.wait(timeout=10)
        terminate_tree(None, extra=find_by_env(BENTOML_HOME=str(home / "bentoml")))
