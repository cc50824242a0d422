"""Fail closed: nothing failing goes unjudged because the figures stopped.

- A canary, blue-green or shadow whose gateway stops reporting is rolled back within the ticks
  (``DEPLOYER_STALE_FIGURES_TICKS`` = 3 ticks and ``DEPLOYER_STALE_FIGURES_SECONDS`` = 30 s
  since the last report the state DB stored), through the rollback flow.
- Poisoned request bodies (a NUL, NaN in an extra key, a lone surrogate, non-UTF-8 bytes, a
  body near the size limit) get their answer, every later figures flush succeeds, the counters
  keep moving, no raw body reaches the state DB, and the monitor still judges a failing canary.
- NaN/inf metrics are refused on register (exit 2, nothing written) and failed by the gates.

On SQLite and PostgreSQL wherever the database matters.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from langgraph.store.memory import InMemoryStore
from sqlalchemy import select

from agents.handlers.registration import register_version
from agents.model_deployer.deps import AgentPolicy, DeployerDeps, SystemClock
from agents.model_deployer.health import HealthChecks
from agents.model_deployer.state import State
from database.models import GatewayStatsRow, ModelVersionRow, RolloutRow
from database.routing import DbMetricsSource, DbRouter
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import NonFiniteMetricError
from lifecycle.gates import (
    Criterion,
    PromotionPolicy,
    VerdictStatus,
    health_gates,
    metric_thresholds_gate,
    production_gates,
)
from lifecycle.metrics import PerformanceMetrics
from lifecycle.rollback import config_to_dict, configure
from lifecycle.routing import split
from lifecycle.stages import ModelStage
from memory.store_memory import StoreMemory
from mlops.gateway.stats import DeploymentStats
from tests.agent_fakes import make_world
from tests.e2e.cli import run, run_here
from tests.fakes import FakeRegistry
from tests.gateway_stack import MODEL, Stack, admin, gateway_stack, rows_of, wait_for
from tests.integration.db_helpers import migrated_factory
from tests.mlflow_template import seed_mlflow_store
from tests.unit.model_deployer_story import MODEL as STORY_MODEL
from tests.unit.model_deployer_story import Story

# -- the gateway stops reporting -------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["canary", "blue_green", "shadow"])
def test_a_live_rollout_whose_gateway_stops_reporting_is_rolled_back_within_the_stale_ticks(
    database_url: str, tmp_path: Path, strategy: str
) -> None:
    """The documented bound: with the defaults (3 ticks, 30 s) the third tick 33 s after the
    last report the state DB stored rolls the rollout back (a shadow: its mirror is stopped)."""
    story = Story.over(make_world(tmp_path, url=database_url))
    world = story.world
    if strategy == "shadow":
        stable = story.serving()[1]
        version = story.in_shadow()
    else:
        story, stable, version, _ = story.replacing()
    world.deps.policy = dataclasses.replace(world.deps.policy, canary_step_seconds=30)
    world.clock.moment = datetime.now(UTC)  # the monitor's clock and the DB's reports agree
    asked: dict[str, dict[str, Any]] = {
        "canary": {"strategy": "canary", "traffic": 10},
        "blue_green": {"strategy": "blue_green"},
        "shadow": {},  # a version in shadow is deployed as a shadow
    }
    deployed = story.deploy(version, **asked[strategy])
    assert deployed["status"] == "deployed", deployed["errors"]
    new = deployed["deployment_manifest"]["deployment_id"]
    world.deps.metrics = DbMetricsSource(world.factory)  # the real figures, from the real DB
    figures = {d: DeploymentStats(d, STORY_MODEL) for d in (stable, new)}
    for stats in figures.values():
        for _ in range(5):
            stats.record(5.0, error=False)
    DbRouter(world.factory).store_stats("gw-a", [s.snapshot() for s in figures.values()], [])

    def tick() -> dict[str, Any]:
        result = story.agent.run({"action": "monitor", "requested_by": "cron"})
        [check] = [c for c in result["monitor"]["checks"] if c["deployment_id"] == new]
        return dict(check)

    usual = "observe" if strategy == "shadow" else "wait"
    assert tick()["action"] == usual  # fresh figures: judged as usual
    checks = []
    for _ in range(3):  # the gateway is gone: nothing is flushed any more
        world.clock.advance(seconds=11)
        checks.append(tick())

    assert [c["action"] for c in checks] == [usual, usual, "rollback"]
    assert checks[-1]["message"].startswith("figures stale: no gateway report for 3 ticks (")
    routes = story.routes()
    assert routes is not None and new not in routes.weights and routes.shadow_deployment_id is None
    assert stable in routes.weights
    assert story.deployment(new).status == ("failed" if strategy == "shadow" else "rolled_back")
    with world.uow() as uow:
        rollout = uow.rollouts.find(new)
        assert rollout is not None and rollout.phase in {"rolled_back", "failed"}


def test_quick_ticks_on_a_real_database_do_not_call_a_reporting_gateway_silent(
    database_url: str, tmp_path: Path
) -> None:
    story, stable, version, _ = Story.over(make_world(tmp_path, url=database_url)).replacing()
    world = story.world
    world.clock.moment = datetime.now(UTC)
    canary = story.deploy(version, strategy="canary", traffic=10)["deployment_manifest"][
        "deployment_id"
    ]
    world.deps.metrics = DbMetricsSource(world.factory)
    DbRouter(world.factory).store_stats(
        "gw-a", [DeploymentStats(d, STORY_MODEL).snapshot() for d in (stable, canary)], []
    )
    for _ in range(5):  # many ticks, but well within the age bound
        world.clock.advance(seconds=1)
        result = story.agent.run({"action": "monitor", "requested_by": "cron"})
        assert {c["action"] for c in result["monitor"]["checks"]} == {"wait"}
    assert story.routes() == split(STORY_MODEL, stable, canary, 10.0)


# -- poisoned bodies do not blind the monitor ------------------------------------------------


def poisoned(row: list[float]) -> dict[str, bytes]:
    instances = json.dumps({"instances": [row]})[:-1].encode()  # '{"instances": [[...]]'
    return {
        "a NUL in a value": instances + b', "note": "a\\u0000b"}',
        "a NUL in a key": instances + b', "k\\u0000": 1}',
        "NaN in an extra key": instances + b', "x": NaN, "y": -Infinity}',
        "a lone surrogate": instances + b', "s": "\\udc80"}',
        "non-UTF-8 bytes": instances + b', "s": "\xff\xfe"}',
        "near the size limit": instances + b', "blob": "' + b"x" * 1_000_000 + b'"}',
    }


def test_poisoned_bodies_get_answers_and_never_blind_the_monitor(
    database_url: str, tmp_path: Path
) -> None:
    with gateway_stack(tmp_path / "home", database_url) as stack:
        stack.env["DEPLOYER_GATEWAY_FLUSH_SECONDS"] = "0.3"
        v1, v2 = stack.start("v1", "1"), stack.start("v2", "2", ModelStage.SHADOW)
        faulty = stack.start("faulty", "2", DEPLOYER_FAULT_ERROR_RATE="0.5")
        url = stack.gateway()
        with admin(url) as ops:
            table = {"weights": {v1: 90, faulty: 10}, "shadow_deployment_id": v2}
            assert ops.put(
                f"/admin/routes/{MODEL}", json={**table, "shadow_percent": 100}
            ).is_success
        source = DbMetricsSource(stack.container.session_factory)
        row = disagreeing_row(stack)
        before = source.shadow_stats(v2).compared
        answers = {}
        with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
            for name, body in poisoned(row).items():
                for _ in range(3):
                    answer = client.post(
                        f"/v1/models/{MODEL}/predict",
                        content=body,
                        headers={"Content-Type": "application/json"},
                    )
                    answers[name] = (answer.status_code, answer.json())
        # The client gets its answer: the prediction, or the model's own refusal of non-UTF-8.
        assert {n: s for n, (s, _) in answers.items()} == {
            **{n: 200 for n in answers},
            "non-UTF-8 bytes": 422,
        }
        mirrored = 3 * (len(answers) - 1)
        # Every later flush succeeds: the comparisons of the poisoned requests reach the DB.
        assert wait_for(lambda: source.shadow_stats(v2).compared >= before + mirrored, 20)
        first = source.reported_at(v1)
        assert wait_for(lambda: (source.reported_at(v1) or first) > first, 10)  # and go on
        stored = shadow_rows(stack)
        assert stored and all(strict(r.figures) for r in stored)
        samples = [s for r in stored for s in r.figures["disagreements"]]
        assert samples and all("body" not in s["request"] for s in samples)
        assert not any(r.figures.get("samples_dropped") for r in stored)
        # The counters keep moving and the monitor judges the failing canary.
        normal = json.dumps({"instances": [row]}).encode()
        judged = judge_canary(stack, faulty, v1, source, normal, url)
        assert judged["action"] == "rollback", judged
        assert "error" in judged["message"] and "stale" not in judged["message"]
        with stack.container.uow() as uow:
            rollout = uow.session.get(RolloutRow, faulty)
            assert rollout is not None and rollout.pending is not None


def disagreeing_row(stack: Stack) -> list[float]:
    """A held-out row on which v1 and v2 predict differently (so mirroring samples it)."""
    m1, m2 = stack.models["1"], stack.models["2"]
    rows = rows_of(m1)
    frame = pd.DataFrame(rows, columns=m1.columns)
    differs = m1.model.predict(frame) != m2.model.predict(frame)
    return next(r for r, d in zip(rows, differs, strict=True) if d)


def shadow_rows(stack: Stack) -> list[GatewayStatsRow]:
    with stack.container.uow() as uow:
        query = select(GatewayStatsRow).where(GatewayStatsRow.kind == "shadow")
        return list(uow.session.scalars(query).all())


def strict(figures: dict[str, Any]) -> bool:
    text = json.dumps(figures, allow_nan=False, ensure_ascii=False)
    text.encode("utf-8")
    return "\\u0000" not in text and "1000000" not in text and "xxxx" not in text


def judge_canary(
    stack: Stack, canary: str, stable: str, source: DbMetricsSource, body: bytes, url: str
) -> dict[str, Any]:
    """Hand the faulty deployment to the monitor as a canary at 10% and run the judging tick
    over the real state DB, the real figures and the real endpoint processes."""
    config = configure("balanced", {"min_requests": 20})
    with stack.container.uow() as uow:
        uow.session.add(
            RolloutRow(
                deployment_id=canary,
                model_name=MODEL,
                strategy="canary",
                phase="progressing",
                baseline_deployment_id=stable,
                steps={"weights": [10.0, 50.0, 100.0]},
                step_index=0,
                step_started_at=datetime.now(UTC),
                pause_seconds=60.0,
                config=config_to_dict(config),
                marks={},
                pending=None,
                last_message="",
            )
        )
        uow.commit()
    with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
        for _ in range(400):
            client.post(
                f"/v1/models/{MODEL}/predict",
                content=body,
                headers={"Content-Type": "application/json"},
            )
    assert wait_for(lambda: source.counts(canary).requests >= 20, 20)
    clock = SystemClock()
    deps = DeployerDeps(
        uow=stack.container.uow,
        registry=stack.container.registry,
        serving=stack.container.serving,
        router=stack.container.router,
        metrics=source,
        memory=StoreMemory(InMemoryStore(), clock),
        clock=clock,
        policy=AgentPolicy(),
    )
    report = HealthChecks(deps).check(State(run_id="tick-fail-closed", model_name=MODEL))
    [check] = [c for c in report["monitor"].checks if c.deployment_id == canary]
    return {"action": check.action.value, "message": check.message}


# -- NaN and inf metrics ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_registering_a_non_finite_metric_is_refused_and_writes_nothing(
    database_url: str, value: float
) -> None:
    factory = migrated_factory(database_url)
    registry = FakeRegistry()
    with pytest.raises(NonFiniteMetricError) as raised:
        register_version(
            lambda: SqlAlchemyUnitOfWork(factory),
            registry,
            "iris",
            "runs:/abc/model",
            "alice",
            metrics={"accuracy": 0.9, "auc": value},
        )
    assert raised.value.exit_code == 2
    assert registry.versions == {}
    with SqlAlchemyUnitOfWork(factory) as uow:
        assert uow.session.scalars(select(ModelVersionRow)).all() == []
        assert uow.audit.list() == []
    factory.kw["bind"].dispose()


def test_the_cli_refuses_a_nan_metric_with_exit_2_and_one_line(tmp_path: Path) -> None:
    env = {"DEPLOYER_HOME": str(tmp_path / "home"), "PYTHONPATH": ":".join(sys.path)}
    seed_mlflow_store(tmp_path / "home" / "mlflow.db")
    assert run_here("init", env=env).code == 0  # set-up: test_cli_init_status runs the process
    result = run(
        "register", "iris", "--model-uri", "runs:/abc/model", "--metric", "accuracy=inf", env=env
    )
    assert result.code == 2
    assert (
        result.stderr.strip() == "error: metric 'accuracy' is inf: metrics must be finite numbers"
    )
    assert run_here("status", "--json", env=env).json()["models"] == []


@given(
    value=st.sampled_from([math.nan, math.inf, -math.inf]),
    op=st.sampled_from([">=", "<=", ">", "<", "=="]),
    threshold=st.floats(allow_nan=False, allow_infinity=False),
)
def test_no_gate_passes_a_non_finite_metric(value: float, op: str, threshold: float) -> None:
    [verdict] = metric_thresholds_gate({"m": value}, [Criterion("m", op, threshold)])
    assert verdict.status is VerdictStatus.FAILED


@pytest.mark.parametrize("value", [math.nan, math.inf], ids=["nan", "inf"])
def test_a_version_with_a_non_finite_metric_never_passes_production_gates(value: float) -> None:
    verdicts = production_gates(
        metrics={"accuracy": value},
        criteria=[Criterion("accuracy", ">=", 0.9)],
        entered_shadow_at=datetime(2026, 1, 1, tzinfo=UTC),
        now=datetime(2026, 2, 1, tzinfo=UTC),
        shadow=None,
        has_production=False,
        policy=PromotionPolicy(),
    )
    assert verdicts[0].status is VerdictStatus.FAILED


@given(st.sampled_from([math.nan, math.inf, -math.inf]))
def test_a_non_finite_latency_never_passes_the_health_gates(value: float) -> None:
    candidate = PerformanceMetrics(100_000, 0, value, value, value)
    baseline = PerformanceMetrics(100_000, 0, 5.0, 5.0, 5.0)
    verdicts = health_gates(candidate, baseline, configure("balanced", {}))
    assert VerdictStatus.FAILED in {v.status for v in verdicts}
