"""``deployer checks`` and the monitor's moves in ``deployer history``, on a real SQLite home.

Judgements are written the way the monitor tick writes them (``uow.health_checks.add``); the
report reads them back through the home's own repositories.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from agents.bootstrap import Container, bootstrap
from agents.entrypoints.cli import render as cli_render
from agents.entrypoints.cli.output import to_json
from agents.entrypoints.cli.render import render_checks
from agents.queries.checks import health_checks
from agents.queries.history import model_history
from agents.settings import Settings
from database.models import HealthCheckRow
from lifecycle.errors import UnknownModelError
from lifecycle.records import utcnow
from lifecycle.stages import DeploymentStatus
from tests.integration.db_helpers import add_version, deployment_row
from tests.integration.test_status_history import _printed
from tests.schema_template import migrated

MODEL = "fraud_detector"


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    """A home where the monitor judged canary ``can2`` five times and ``other`` (iris) once."""
    home = tmp_path / "home"
    settings = Settings(
        DEPLOYER_HOME=str(home),
        DEPLOYER_DATABASE_URL=f"sqlite:///{home / 'deployer.db'}",
    )
    settings.ensure_home()
    migrated(settings.database_url)
    c = bootstrap(settings)
    add_version(c.session_factory, MODEL, "2")
    add_version(c.session_factory, "iris", "1")
    start = utcnow() - timedelta(minutes=5)
    judged = [
        ("inconclusive", "wait", "12 of 50 requests needed to judge", 12, 0),
        ("passed", "advance", "step 1 passed: 20% -> 50%", 61, 0),
        ("inconclusive", "wait", "step 2 [bracketed] pause not over", 70, 1),
        ("passed", "complete", "last step passed: 100% on can2", 130, 1),
        ("failed", "rollback", "error rate 4.1% > 1%", 200, 9),
    ]
    with c.uow() as uow:
        uow.deployments.add(deployment_row("can2", DeploymentStatus.ACTIVE, MODEL, "2"))
        uow.deployments.add(deployment_row("other", DeploymentStatus.ACTIVE, "iris", "1"))
        for i, (status, action, message, requests, errors) in enumerate(judged):
            uow.health_checks.add(
                HealthCheckRow(
                    deployment_id="can2",
                    model_name=MODEL,
                    checked_at=start + timedelta(seconds=10 * i),
                    status=status,
                    action=action,
                    metrics={  # the shape the monitor writes (agents.model_deployer.monitor)
                        "candidate": {
                            "requests": requests,
                            "errors": errors,
                            "error_rate": errors / requests,
                            "p95_ms": 38.0,
                        },
                        "baseline": {"requests": 400, "errors": 0, "p95_ms": 30.0},
                        "verdicts": [],
                    },
                    message=message,
                    tick_id=f"tick-{i}",
                )
            )
        uow.health_checks.add(
            HealthCheckRow(
                deployment_id="other",
                model_name="iris",
                status="passed",
                action="observe",
                metrics={"compared": 40, "agreed": 39, "shadow_errors": 0, "agreement": 0.975},
                message="shadow agreed on 97% of 40 answers",
                tick_id="tick-9",
            )
        )
        uow.commit()
    yield c
    c.close()


def test_checks_list_a_models_judgements_oldest_first_waits_included(
    container: Container,
) -> None:
    result = health_checks(container, MODEL)

    assert [c["action"] for c in result["checks"]] == [
        "wait",
        "advance",
        "wait",
        "complete",
        "rollback",
    ]
    assert result["checks"][-1]["metrics"]["candidate"]["errors"] == 9
    assert to_json(result)


def test_checks_keep_the_newest_up_to_the_limit(container: Container) -> None:
    result = health_checks(container, MODEL, limit=2)

    assert [c["action"] for c in result["checks"]] == ["complete", "rollback"]


def test_checks_of_every_model_and_of_one_deployment(container: Container) -> None:
    every = health_checks(container)["checks"]
    one = health_checks(container, deployment_id="other")["checks"]

    assert {c["model_name"] for c in every} == {MODEL, "iris"}
    assert [c["message"] for c in one] == ["shadow agreed on 97% of 40 answers"]


def test_checks_of_an_unknown_model_or_deployment_are_refused(container: Container) -> None:
    with pytest.raises(UnknownModelError, match="no model named 'nope'"):
        health_checks(container, "nope")
    with pytest.raises(UnknownModelError, match="no deployment 'gone'"):
        health_checks(container, deployment_id="gone")


def test_history_shows_the_monitors_moves_but_not_its_waits(container: Container) -> None:
    events = model_history(container, MODEL)["events"]
    monitor = [e for e in events if e["kind"] == "monitor"]

    assert [e["action"] for e in monitor] == ["rollback", "complete", "advance"]
    assert monitor[0]["summary"] == "can2 rollback (failed): error rate 4.1% > 1%"


def test_the_checks_table_prints_figures_and_free_text_messages(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _printed(monkeypatch, cli_render, render_checks, health_checks(container, MODEL))

    assert "health checks of fraud_detector" in text
    assert "12 req, 0.0% err, p95 38 ms" in text
    assert "200 req, 4.5% err, p95 38 ms" in text
    assert "step 2 [bracketed] pause not over" in text  # printed as text, not markup
    shadow = _printed(monkeypatch, cli_render, render_checks, health_checks(container, "iris"))
    assert "97.5% agreed of 40" in shadow
    empty = health_checks(container, deployment_id="can2", limit=1) | {"checks": []}
    assert "no health checks yet for can2" in _printed(
        monkeypatch, cli_render, render_checks, empty
    )
