"""One actor per model (issue 13, item 10b), as a user runs it: a watcher ticking every 100 ms
beside every flow that changes a model, on SQLite and PostgreSQL.

Reported on PostgreSQL: with ``deployer watch`` running, ``deployer deploy NAME V --strategy
canary`` for a version whose shadow was running failed with ConflictError (the deploy stopped the
shadow's server, the tick saw the process gone and rolled the shadow back, both wrote the same
rows). Every flow now holds its model's lock while it changes it and the watcher skips a model
whose lock another operation holds, so each command below must succeed, whatever the tick did.
The deploy also marks the shadow (committed) before it stops the server, and the watcher leaves
marked deployments alone: the shadow ends retired by the deploy (``shadow_retired``, its mark
cleared), never stopped by the watcher. (That check was test_cli_watch_postgres.py's, beside a
watcher ticking every second; it runs here, on both databases, to spare a home and a gateway.)

The watcher and the gateway are processes of their own; the commands run the CLI's own code in
this process (``here``): the race is between two processes whatever the commands run in, the
lock is the database's, and each command's process path has its own test (test_cli_agent,
test_cli_serving, tests/safety/test_routing_stages). As processes, the seven commands cost
14 process starts over both databases (2-6 s each on CI's 2 cores).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from database.engine import make_engine
from tests.e2e.test_cli_agent import Home, predict, sample_rows
from tests.e2e.test_cli_watch import (
    MODEL,
    background,
    drill_home,
    here,
    promote,
    running_gateway,
    ticks,
    until,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Home, str]]:
    """iris v1 and v2 registered in a home on SQLite or PostgreSQL; the state DB's URL."""
    root = tmp_path.resolve() / "home"
    url = f"sqlite:///{root / 'deployer.db'}"
    env: dict[str, str] = {}
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        env["DEPLOYER_DATABASE_URL"] = url
    with drill_home(root, env) as h:
        yield h, url


def read(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as db:
            return [tuple(r) for r in db.execute(text(sql), params)]
    finally:
        engine.dispose()


AUDIT_OF = "SELECT action FROM audit_events WHERE subject = :d"


def status_of(url: str, deployment_id: str) -> str:
    [(status,)] = read(
        url, "SELECT status FROM ml_deployments WHERE deployment_id = :d", d=deployment_id
    )
    return str(status)


def weights(url: str) -> dict[str, float]:
    [(table,)] = read(url, "SELECT weights FROM routes WHERE model_name = :m", m=MODEL)
    table = table if isinstance(table, dict) else json.loads(table)
    return {k: float(v) for k, v in table.items()}


def compared(url: str, shadow: str) -> int:
    rows = read(
        url,
        "SELECT figures FROM gateway_stats WHERE kind = 'shadow' AND deployment_id = :d",
        d=shadow,
    )
    figures = [f if isinstance(f, dict) else json.loads(f) for (f,) in rows]
    return sum(int(f["compared"]) + int(f["shadow_errors"]) for f in figures)


def fast_watcher(home: Home) -> Any:
    """``deployer watch --interval 0.1 --json`` as its own process."""
    return background(
        home, "watch", "-m", "agents.entrypoints.cli", "watch", "--interval", "0.1", "--json"
    )


def test_every_flow_beside_a_watcher_ticking_every_100_ms_succeeds(
    state: tuple[Home, str],
) -> None:
    home, url = state
    log = home.root / "watch.log"
    with running_gateway(home) as gateway:
        promote(home, "1", "staging", "shadow", "production")
        v1 = here(home, "deploy", MODEL, "1")["deployment_manifest"]["deployment_id"]  # set-up
        with fast_watcher(home) as proc:
            until(lambda: log.exists() and len(ticks(log)) >= 3, 90, "the watcher never ticked")
            assert here(home, "promote", MODEL, "2", "--to", "staging")["status"] == "promoted"
            promote(home, "2", "shadow")
            shadow = here(home, "deploy", MODEL, "2")["deployment_manifest"]["deployment_id"]
            predict(gateway, sample_rows(home.models["1"], 30))
            until(lambda: compared(url, shadow) >= 20, 60, "the gateway compared too few")
            promote(home, "2", "production")

            # The reported race: a canary replacing the running shadow, the watcher ticking.
            canary = here(home, "deploy", MODEL, "2", "--strategy", "canary", "--traffic", "20")
            new = canary["deployment_manifest"]["deployment_id"]
            assert status_of(url, shadow) == "rolled_back"
            assert weights(url).get(new, 0) > 0
            [(changing,)] = read(
                url, "SELECT changing_run_id FROM ml_deployments WHERE deployment_id = :d", d=shadow
            )
            assert changing is None, "the deploy cleared its mark on the shadow"
            retired = {a for (a,) in read(url, AUDIT_OF, d=shadow)}
            assert "shadow_retired" in retired and "shadow_stopped" not in retired, retired

            rolled = here(home, "rollback", MODEL, "--reason", "drill")
            assert rolled["rollback_successful"] is True
            assert weights(url) == {v1: 100.0}

            routed = here(home, "traffic", "set", MODEL, f"{v1}=100")
            assert routed["weights"] == {v1: 100.0}

            here(home, "endpoints", "stop", v1)
            assert status_of(url, v1) == "rolled_back"

            seen = len(ticks(log))
            until(lambda: len(ticks(log)) >= seen + 3, 90, "the watcher stopped ticking")
            here(home, "down")
            assert proc.poll() is None, "the watcher died"

    live = read(
        url,
        "SELECT deployment_id FROM ml_deployments WHERE status IN "
        "('pending', 'deploying', 'active', 'draining')",
    )
    assert live == []
    conflicts = [line for line in log.read_text().splitlines() if "ConflictError" in line]
    assert conflicts == []
