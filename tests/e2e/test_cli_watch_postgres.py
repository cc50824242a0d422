"""A deploy beside a running watcher, on PostgreSQL, as a user runs them (issue 12).

Reported: with ``deployer watch --interval 1`` running on PostgreSQL, ``deployer deploy NAME V
--strategy canary`` for a version whose shadow deployment was running failed with
``ConflictError`` (exit 3): the deploy stopped the shadow's server, the watcher's tick saw the
process gone and rolled the shadow back, and both wrote the same rows. The deploy now marks the
shadow (committed) before it stops the server, and the watcher leaves marked deployments alone.
The interleaving is forced deterministically in ``tests/integration/test_agent_races.py``; this
drill runs the real processes (the stop of a real server takes long enough for a tick).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from agents.handlers.registration import register_version
from database.engine import make_engine
from mlops.processes import free_port, terminate_tree, wait_http_ok
from mlops.training import train_and_log
from tests.e2e.test_cli_agent import Home, predict, sample_rows
from tests.e2e.test_cli_watch import MODEL, background, in_process, promote, ticks, until, watcher

pytestmark = pytest.mark.postgres


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Read the state database directly."""
    engine = make_engine(url)
    try:
        with engine.connect() as db:
            return [tuple(r) for r in db.execute(text(sql), params)]
    finally:
        engine.dispose()


@pytest.fixture
def home(postgres_url: str, tmp_path: Path) -> Iterator[Home]:
    """iris v1 and v2 registered in a home whose state database is PostgreSQL."""
    root = tmp_path.resolve() / "home"
    h = Home(
        root,
        {
            "DEPLOYER_HOME": str(root),
            "DEPLOYER_DATABASE_URL": postgres_url,
            "DEPLOYER_USER": "alice",
            "DEPLOYER_APPROVERS": "bob",
            "DEPLOYER_SHADOW_MIN_HOURS": "0",
            "DEPLOYER_MIN_SHADOW_COMPARISONS": "20",
            "DEPLOYER_MIN_SHADOW_AGREEMENT": "0",
            "DEPLOYER_GATEWAY_TOKEN": "race-admin-token",
            "DEPLOYER_FAILPOINT": "",
        },
    )
    try:
        h.ok("init")
        for version in ("1", "2"):
            trained = train_and_log(
                f"sqlite:///{root / 'mlflow.db'}",
                MODEL,
                int(version),
                artifact_root=root / "mlartifacts",
            )
            with in_process(h) as c:
                uri, criteria = trained.model_uri, ["accuracy>=0.6"]
                register_version(c.uow, c.registry, MODEL, uri, "alice", None, criteria)
            h.models[version] = trained
        yield h
    finally:
        down = h.cli("down", "--json")
        left = h.servers()
        terminate_tree(None, extra=left)
        assert down.code == 0, down.stderr
        assert not left, f"deployer down left these processes of the home: {left}"


@pytest.fixture
def gateway(home: Home) -> Iterator[str]:
    port = free_port()
    with background(
        home, "gateway", "-m", "agents.entrypoints.cli", "gateway", "--port", str(port)
    ) as proc:
        url = f"http://127.0.0.1:{port}"
        assert wait_http_ok(f"{url}/healthz", 60, lambda: proc.poll() is None), "no gateway"
        yield url


def compared(url: str, shadow: str) -> int:
    rows = query(
        url,
        "SELECT figures FROM gateway_stats WHERE kind = 'shadow' AND deployment_id = :d",
        d=shadow,
    )
    figures = [f if isinstance(f, dict) else json.loads(f) for (f,) in rows]
    return sum(int(f["compared"]) + int(f["shadow_errors"]) for f in figures)


def test_a_canary_deploy_beside_a_running_watcher_retires_the_shadow_without_a_conflict(
    home: Home, gateway: str, postgres_url: str
) -> None:
    promote(home, "1", "staging", "shadow", "production")
    home.ok("deploy", MODEL, "1")
    promote(home, "2", "staging", "shadow")
    shadow = home.ok("deploy", MODEL, "2")["deployment_manifest"]["deployment_id"]
    predict(gateway, sample_rows(home.models["1"], 30))
    until(lambda: compared(postgres_url, shadow) >= 20, 60, "the gateway compared too few")
    promote(home, "2", "production")

    with watcher(home) as log:
        until(lambda: len(ticks(log)) >= 2, 90, "the watcher never ticked")
        deployed = home.cli("deploy", MODEL, "2", "--strategy", "canary", "--json")
        seen = len(ticks(log))
        until(lambda: len(ticks(log)) >= seen + 2, 90, "the watcher stopped ticking")

    assert deployed.code == 0, deployed.stderr
    [(status, changing)] = query(
        postgres_url,
        "SELECT status, changing_run_id FROM ml_deployments WHERE deployment_id = :d",
        d=shadow,
    )
    assert (status, changing) == ("rolled_back", None)
    actions = {
        a
        for (a,) in query(
            postgres_url, "SELECT action FROM audit_events WHERE subject = :d", d=shadow
        )
    }
    assert "shadow_retired" in actions and "shadow_stopped" not in actions
