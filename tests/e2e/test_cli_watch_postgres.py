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

from database.engine import make_engine
from tests.e2e.test_cli_agent import Home, predict, sample_rows
from tests.e2e.test_cli_watch import (
    MODEL,
    drill_home,
    promote,
    running_gateway,
    ticks,
    until,
    watcher,
)

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
    with drill_home(tmp_path.resolve() / "home", {"DEPLOYER_DATABASE_URL": postgres_url}) as h:
        yield h


@pytest.fixture
def gateway(home: Home) -> Iterator[str]:
    with running_gateway(home) as url:
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
