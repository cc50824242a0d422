"""``deployer status`` and ``deployer history`` data on a real SQLite home: no servers, no network.

Gateway figures are written the way a gateway writes them (``DeploymentStats.snapshot()`` through
``DbRouter.store_stats``); memory episodes go through the home's own store.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from agents.bootstrap import Container, bootstrap
from agents.entrypoints.cli import render as cli_render
from agents.entrypoints.cli.output import to_json
from agents.entrypoints.cli.render import render_history, render_status
from agents.queries.history import model_history
from agents.queries.status import health_verdict, home_status
from agents.settings import Settings
from database.models import ApprovalRow
from database.services import record_stage_change
from lifecycle.errors import UnknownModelError
from lifecycle.ports import Routes
from lifecycle.records import utcnow
from lifecycle.stages import DeploymentStatus, ModelStage
from mlops.gateway.stats import DeploymentStats, ShadowComparison
from tests.integration.db_helpers import add_version, deployment_row
from tests.schema_template import migrated

MODEL = "fraud_detector"
SERVER_PORT = 39123


def _settings(home: Path) -> Settings:
    return Settings(
        DEPLOYER_HOME=str(home),
        DEPLOYER_DATABASE_URL=f"sqlite:///{home / 'deployer.db'}",
    )


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    """A migrated, empty home."""
    settings = _settings(tmp_path / "home")
    settings.ensure_home()
    migrated(settings.database_url)
    container = bootstrap(settings)
    yield container
    container.close()


@pytest.fixture
def server_pid() -> Iterator[int]:
    """A sleeping process whose command line looks like our ``bentoml serve`` on SERVER_PORT.

    ``process_alive`` is a PID and command-line check, so this passes it without any server
    running; the fixture stops it by PID.
    """
    sleep = [sys.executable, "-c", "import time; time.sleep(300)"]
    decoy = subprocess.Popen([*sleep, "bentoml", "serve", "--port", str(SERVER_PORT)])
    yield decoy.pid
    decoy.kill()
    decoy.wait(timeout=10)


def _add_deployment(
    container: Container,
    deployment_id: str,
    version: str,
    status: DeploymentStatus = DeploymentStatus.ACTIVE,
    pid: int | None = None,
    strategy: str = "direct",
) -> None:
    url, stage = f"http://127.0.0.1/{deployment_id}", ModelStage.PRODUCTION
    if strategy == "shadow":
        stage = ModelStage.SHADOW
    row = deployment_row(deployment_id, status, MODEL, version, url, stage)
    row.endpoint_pid, row.endpoint_port, row.strategy = pid, SERVER_PORT, strategy
    with container.uow() as uow:
        uow.deployments.add(row)
        uow.commit()


def _window(deployment_id: str, ok: int, errors: int, ms: float = 12.0) -> dict[str, Any]:
    """The figures one gateway reports for a deployment that served ``ok + errors`` requests."""
    stats = DeploymentStats(deployment_id, MODEL, clock=lambda: 1000.0)
    for n in range(ok + errors):
        stats.record(ms, error=n < errors)
    return stats.snapshot()


def _comparison(deployment_id: str, agreed: int, disagreed: int, failed: int) -> dict[str, Any]:
    comparison = ShadowComparison(deployment_id, MODEL)
    for n in range(agreed + disagreed):
        comparison.record(10.0, 11.0, compared=1, agreed=1 if n < agreed else 0)
    for _ in range(failed):
        comparison.record_failure(10.0, 11.0)
    return comparison.snapshot()


@pytest.fixture
def serving_home(container: Container, server_pid: int) -> Container:
    """fraud_detector: v1 serves 90% (stable), v2 is a 10% canary, v3 is mirrored, plus a
    deployment whose process is gone and one rolled back; iris has a version and no deployment."""
    for version, stage in (("1", ModelStage.PRODUCTION), ("2", ModelStage.PRODUCTION)):
        add_version(container.session_factory, MODEL, version, stage)
    add_version(container.session_factory, MODEL, "3", ModelStage.SHADOW)
    add_version(container.session_factory, "iris", "1")
    _add_deployment(container, "prod", "1", pid=server_pid)
    _add_deployment(container, "canary", "2", pid=server_pid, strategy="canary")
    _add_deployment(container, "mirror", "3", pid=server_pid, strategy="shadow")
    _add_deployment(container, "gone", "1", pid=os.getpid())  # running, but not a server
    _add_deployment(container, "old", "1", DeploymentStatus.ROLLED_BACK)
    container.router.save(
        Routes(MODEL, {"prod": 90, "canary": 10}, "mirror", 100, stable_deployment_id="prod"),
        "alice",
    )
    # Two gateway replicas: their figures for the same deployment add up.
    container.router.store_stats("gw-a", [_window("prod", 598, 2), _window("canary", 48, 2)], [])
    container.router.store_stats(
        "gw-b",
        [_window("prod", 400, 0), _window("canary", 47, 3)],
        [_comparison("mirror", 190, 9, 1)],
    )
    return container


def _deployments(status: dict[str, Any], model: str = MODEL) -> dict[str, dict[str, Any]]:
    [entry] = [m for m in status["models"] if m["name"] == model]
    return {d["deployment_id"]: d for v in entry["versions"] for d in v["deployments"]}


def _printed(monkeypatch: pytest.MonkeyPatch, module: Any, render: Any, result: Any) -> str:
    """What ``render(result)`` prints, on a console wide enough that no cell wraps."""
    out = StringIO()
    monkeypatch.setattr(module, "console", Console(file=out, width=300, color_system=None))
    render(result)
    return out.getvalue()


# -- status ---------------------------------------------------------------------------------


def test_status_shows_the_routing_table_of_each_model(serving_home: Container) -> None:
    status = home_status(serving_home)

    routes = {m["name"]: m["routes"] for m in status["models"]}
    assert routes == {
        MODEL: {
            "weights": {"prod": 90.0, "canary": 10.0},
            "stable_deployment_id": "prod",
            "shadow_deployment_id": "mirror",
            "shadow_percent": 100.0,
        },
        "iris": None,
    }


def test_each_deployment_has_its_weight_mirror_share_and_stable_flag(
    serving_home: Container,
) -> None:
    deployments = _deployments(home_status(serving_home))

    shares = {d: (x["weight"], x["mirror_percent"], x["stable"]) for d, x in deployments.items()}
    assert shares == {
        "prod": (90.0, 0.0, True),
        "canary": (10.0, 0.0, False),
        "mirror": (0.0, 100.0, False),
        "gone": (0.0, 0.0, False),
        "old": (0.0, 0.0, False),
    }


def test_health_merges_the_gateways_and_gives_each_live_deployment_a_verdict(
    serving_home: Container,
) -> None:
    deployments = _deployments(home_status(serving_home))

    verdicts = {
        d: (x["alive"], x["health"] and x["health"]["verdict"]) for d, x in deployments.items()
    }
    assert verdicts == {
        "prod": (True, "ok"),  # 2 errors in 1,000 requests
        "canary": (True, "degraded"),  # 5 in 100
        "mirror": (True, "idle"),  # no requests in the window
        "gone": (False, "down"),  # its PID runs something that is not our server
        "old": (None, None),  # rolled back: nothing to check
    }
    prod = deployments["prod"]["health"]
    assert (prod["request_count"], prod["error_count"]) == (1000, 2)
    assert prod["error_rate"] == pytest.approx(0.002)
    assert prod["p95_ms"] == pytest.approx(12.0, rel=0.05)


def test_a_shadow_deployment_reports_how_often_it_agreed_with_the_primary(
    serving_home: Container,
) -> None:
    deployments = _deployments(home_status(serving_home))

    assert deployments["mirror"]["shadow"] == {
        "compared": 199,
        "agreed": 190,
        "shadow_errors": 1,
        "agreement": pytest.approx(190 / 199),
        # both sides timed on the same mirrored requests (the shadow latency gate's figures)
        "primary_latency": {69: 200},
        "shadow_latency": {71: 200},
    }
    assert deployments["prod"]["shadow"] is None


def test_status_keeps_the_keys_it_always_had_and_is_json_ready(serving_home: Container) -> None:
    status = home_status(serving_home)

    assert status["initialized"] is True and status["up_to_date"] is True
    prod = _deployments(status)["prod"]
    assert {"deployment_id", "status", "strategy", "traffic_percentage", "endpoint_url"} <= set(
        prod
    )
    assert to_json(status)


def test_status_of_one_model_lists_only_that_model(serving_home: Container) -> None:
    assert [m["name"] for m in home_status(serving_home, "iris")["models"]] == ["iris"]
    with pytest.raises(UnknownModelError):
        home_status(serving_home, "nope")


@pytest.mark.parametrize(
    ("alive", "requests", "error_rate", "verdict"),
    [
        (False, 500, 0.0, "down"),
        (True, 0, 0.0, "idle"),
        (True, 100, 0.011, "degraded"),
        (True, 100, 0.01, "ok"),  # at the threshold is still ok: only above it degrades
        (None, 100, 0.0, "ok"),
    ],
)
def test_the_verdict_is_down_then_idle_then_degraded_above_one_percent_else_ok(
    alive: bool | None, requests: int, error_rate: float, verdict: str
) -> None:
    assert health_verdict(alive, requests, error_rate) == verdict


def test_the_status_table_shows_traffic_and_health_at_a_glance(
    serving_home: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _printed(monkeypatch, cli_render, render_status, home_status(serving_home))

    assert "90% stable" in text and "10%" in text and "mirror 100%" in text
    assert "ok · 1,000 req · 0.2% err · p95 12 ms" in text
    assert "degraded · 100 req · 5.0% err" in text
    assert "idle · agree 95.5% of 199" in text
    assert "DOWN" in text
    assert "iris" in text


def test_status_shows_replicas_wanted_running_and_where_and_what_each_asked_for(
    serving_home: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    scale = {"min_replicas": 1, "max_replicas": 4, "target_ongoing_requests": 2.0}
    with serving_home.uow() as uow:
        prod = uow.deployments.get("prod")
        prod.replicas, prod.cpu_limit, prod.memory_limit, prod.autoscaling = (
            2,
            "0.5",
            "512Mi",
            scale,
        )
        uow.commit()
    asked: list[str] = []
    placement = serving_home.serving.placement
    monkeypatch.setattr(
        serving_home.serving,
        "placement",
        lambda endpoint, wanted: (
            asked.append(endpoint.deployment_id) or placement(endpoint, wanted)
        ),
    )

    status = home_status(serving_home)

    assert sorted(asked) == ["canary", "gone", "mirror", "prod"]  # once per live deployment
    replicas = {d: x["replicas"] for d, x in _deployments(status).items()}
    host = socket.gethostname()
    assert replicas["prod"] == {
        "wanted": 2,
        "running": 2,
        "nodes": [host],
        "healthy": True,
        "detail": "",
        "cpu": "0.5",
        "memory": "512Mi",
        "autoscale": scale,
    }
    assert (replicas["canary"]["running"], replicas["canary"]["cpu"]) == (1, None)
    gone = replicas["gone"]
    assert (gone["running"], gone["nodes"], gone["healthy"]) == (0, [], False)
    assert (replicas["old"]["wanted"], replicas["old"]["running"]) == (1, None)
    text = _printed(monkeypatch, cli_render, render_status, status)
    assert f"2/2 on {host} · 0.5 cpu · 512Mi · autoscale 1-4" in text
    assert "0/1 · the server process is not running" in text and "1 wanted" in text


def test_the_status_of_an_uninitialised_home_says_to_run_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = bootstrap(_settings(tmp_path / "never"))
    text = _printed(monkeypatch, cli_render, render_status, home_status(container))

    assert "is not initialised" in text and "deployer init" in text


def test_the_status_of_an_empty_home_says_how_to_register(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _printed(monkeypatch, cli_render, render_status, home_status(container))

    assert "no models registered yet" in text


# -- history --------------------------------------------------------------------------------


def _approval(approval_id: str, model: str, version: str, to: str, **fields: Any) -> ApprovalRow:
    return ApprovalRow(
        approval_id=approval_id,
        model_name=model,
        version=version,
        target_stage=to,
        requested_by=fields.pop("requested_by", "alice"),
        **fields,
    )


def _promote(
    container: Container,
    version: str,
    to: ModelStage,
    reason: str = "",
    by: str = "alice",
    approval_id: str | None = None,
) -> None:
    with container.uow() as uow:
        record_stage_change(uow, MODEL, version, to, by, reason, approval_id=approval_id)
        uow.commit()


@pytest.fixture
def rolled_back_home(container: Container) -> Container:
    """v1 went to production through an approval, its canary was rolled back; v2 awaits one."""
    add_version(container.session_factory, MODEL, "1")
    add_version(container.session_factory, MODEL, "2")
    add_version(container.session_factory, "iris", "1")
    _promote(container, "1", ModelStage.STAGING, "offline checks passed")
    _promote(container, "1", ModelStage.SHADOW)
    with container.uow() as uow:
        uow.approvals.add(
            _approval("ap1", MODEL, "1", "production", state="approved", approver="bob")
        )
        uow.approvals.add(_approval("ap-iris", "iris", "1", "staging"))
        uow.commit()
    _promote(container, "1", ModelStage.PRODUCTION, "shadow agreed", by="bob", approval_id="ap1")
    _add_deployment(container, "dep1", "1", strategy="canary")
    with container.uow() as uow:
        row = uow.deployments.get("dep1")
        row.target_stage, row.traffic_percentage = "production", 10.0
        uow.commit()
    with container.open_memory() as memory:
        memory.record_episode(
            MODEL,
            "deployment",
            {"version": "1", "stage": "production", "strategy": "canary", "outcome": "succeeded"}
            | {"canary_steps": [10, 50, 100], "deployment_id": "dep1"},
        )
    with container.uow() as uow:
        row = uow.deployments.get("dep1")
        row.status, row.rolled_back_at = DeploymentStatus.ROLLED_BACK.value, utcnow()
        uow.commit()
    _promote(container, "1", ModelStage.DEVELOPMENT, "error rate 4.1% > 1%")
    with container.open_memory() as memory:
        memory.record_episode(
            MODEL,
            "rollback",
            {"version": "1", "deployment_id": "dep1", "outcome": "succeeded"}
            | {"reasons": ["error rate 4.1% > 1%"]},
        )
    with container.uow() as uow:
        uow.approvals.add(_approval("ap2", MODEL, "2", "staging", requested_by="carol"))
        uow.commit()
    return container


def test_history_merges_every_source_newest_first(rolled_back_home: Container) -> None:
    events = model_history(rolled_back_home, MODEL)["events"]

    assert [e["kind"] for e in events] == [
        "approval",  # ap2, pending
        "episode:rollback",
        "stage",  # production -> development
        "rollback",
        "episode:deployment",
        "deployment",
        "stage",  # shadow -> production
        "approval",  # ap1
        "stage",  # staging -> shadow
        "stage",  # development -> staging
    ]
    times = [e["at"] for e in events]
    assert times == sorted(times, reverse=True)


def test_history_summaries_say_who_did_what_and_why(rolled_back_home: Container) -> None:
    summaries = [e["summary"] for e in model_history(rolled_back_home, MODEL)["events"]]

    assert summaries[0] == "approval ap2 for v2 -> staging requested by carol: pending"
    assert summaries[1] == "v1 rollback: succeeded (error rate 4.1% > 1%)"
    assert summaries[2] == "v1 production -> development by alice: error rate 4.1% > 1%"
    assert summaries[3] == "v1 deployment dep1 rolled back"
    assert summaries[4] == "v1 deploy:canary: succeeded"
    assert summaries[5] == "v1 deployed (canary, 10%) as dep1: rolled_back"
    assert summaries[6] == "v1 shadow -> production by bob: shadow agreed"
    assert summaries[7] == "approval ap1 for v1 -> production requested by alice: approved by bob"
    assert summaries[-1] == "v1 development -> staging by alice: offline checks passed"


def test_history_holds_only_the_models_own_approvals(rolled_back_home: Container) -> None:
    events = model_history(rolled_back_home, MODEL)["events"]

    assert {e["approval_id"] for e in events if e["kind"] == "approval"} == {"ap1", "ap2"}


def test_after_a_rolled_back_production_rollout_the_advice_is_conservative(
    rolled_back_home: Container,
) -> None:
    history = model_history(rolled_back_home, MODEL)

    assert history["advice"]["rollback_preset"] == "conservative"
    assert "error rate 4.1% > 1%" in history["advice"]["reason"]
    assert history["procedure"]["episode_count"] == 2
    assert history["procedure"]["last_production_rollout"]["outcome"] == "rolled_back"


def test_history_keeps_only_the_newest_events_up_to_the_limit(rolled_back_home: Container) -> None:
    events = model_history(rolled_back_home, MODEL, limit=2)["events"]

    assert [e["kind"] for e in events] == ["approval", "episode:rollback"]


def test_history_of_an_unknown_model_is_refused(container: Container) -> None:
    with pytest.raises(UnknownModelError):
        model_history(container, "nope")


def test_history_of_a_model_nothing_happened_to_is_empty_with_default_advice(
    container: Container,
) -> None:
    add_version(container.session_factory, MODEL, "1")

    history = model_history(container, MODEL)

    assert history["events"] == []
    assert history["advice"] == {
        "rollback_preset": "balanced",
        "canary_steps": None,
        "reason": None,
    }


def test_the_history_prints_a_timeline_and_the_advice(
    rolled_back_home: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = model_history(rolled_back_home, MODEL)
    text = _printed(monkeypatch, cli_render, render_history, history)

    assert "v1 deployed (canary, 10%) as dep1: rolled_back" in text
    assert "episode:rollback" in text
    assert "advice: conservative rollback config, canary 1/5/10/" in text
    assert to_json(history)
