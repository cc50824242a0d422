"""A worse candidate never reaches production, on any path (issue 15, item 4): a version whose
accuracy misses ``accuracy >= production - 0.02`` and whose shadow was slower than 1.2x the
primary and failed 5% of its mirrored requests is refused by the CLI (exit 3), the ops API (409
with ``unmet``), the chat (a sentence) and an upstream graph that embeds the deployer (the
typed error), each listing every unmet gate with its figures, and nothing changes.

The home: ``churn`` v1 (accuracy 0.93) in production; v2 (accuracy 0.85) in shadow, mirrored by
a recorded shadow deployment whose figures a gateway stored through the real ``store_stats``.
No server is needed to judge: the gates read the state database. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from sqlalchemy import text

from agents.bootstrap import Container, bootstrap
from agents.entrypoints.api import create_app
from agents.entrypoints.chat import chat
from agents.model_deployer import State, build_graph
from agents.settings import Settings, local_identity
from lifecycle.errors import ProductionCriteriaNotMetError
from lifecycle.stages import DeploymentStatus, ModelStage
from mlops.gateway.stats import ShadowComparison
from tests.access_fixtures import issue_tokens_in_process
from tests.e2e.cli import run
from tests.integration.db_helpers import add_version, deployment_row
from tests.schema_template import migrated

MODEL = "churn"
ME = local_identity()
UNMET = [
    "accuracy=0.85 misses accuracy>=production-0.02 (production v1: 0.93, bar 0.91) "
    "on registered metrics",
    "shadow p95 61.8 ms is above 24.9 ms (1.2x the primary's 4.9 ms, or 20 ms above it) "
    "over 200 mirrored requests",
    "shadow error rate 5.00% (10 of 200 mirrored requests) is above 1.00%",
]
REFUSAL = f"{MODEL} v2 cannot go to production yet: " + "; ".join(UNMET)


@dataclass
class Home:
    env: dict[str, str]
    c: Container
    tokens: dict[str, str] = field(default_factory=dict)

    def footprint(self) -> dict[str, Any]:
        """Everything a promotion could change: stages, approvals, deployments, routes, audit."""
        queries = {
            "stages": "SELECT version, stage, stage_changed_at FROM ml_model_registry",
            "approvals": "SELECT approval_id, state FROM approvals",
            "deployments": "SELECT deployment_id, status, traffic_percentage FROM ml_deployments",
            "routes": "SELECT model_name, revision FROM routes",
            "audit": "SELECT count(*) FROM audit_events",
            "records": "SELECT count(*) FROM version_records",
        }
        with self.c.reader() as uow:
            return {
                k: sorted(map(tuple, uow.session.execute(text(q)).all()))
                for k, q in queries.items()
            }


@pytest.fixture
def home(database_url: str, tmp_path: Path) -> Iterator[Home]:
    env = {
        "DEPLOYER_HOME": str(tmp_path / "home"),
        "DEPLOYER_DATABASE_URL": database_url,
        "DEPLOYER_SHADOW_MIN_HOURS": "0",
        "DEPLOYER_MIN_SHADOW_COMPARISONS": "100",
    }
    c = bootstrap(Settings(**env))
    c.settings.ensure_home()
    migrated(database_url)
    factory = c.session_factory
    add_version(factory, MODEL, "1", ModelStage.PRODUCTION)
    add_version(factory, MODEL, "2", ModelStage.SHADOW)
    with c.uow() as uow:
        worse = uow.models.get(MODEL, "2")
        worse.metrics = {"accuracy": 0.85}
        worse.success_criteria = {"criteria": ["accuracy>=0.8", "accuracy>=production-0.02"]}
        shadow = deployment_row(
            "shd2", DeploymentStatus.ACTIVE, MODEL, "2", None, ModelStage.SHADOW
        )
        shadow.strategy = "shadow"
        uow.deployments.add(shadow)
        uow.commit()
    comparison = ShadowComparison("shd2", MODEL)
    for i in range(200):
        if i % 20 == 0:
            comparison.record_failure(primary_ms=5.0, shadow_ms=60.0)
        else:
            comparison.record(5.0, 60.0, compared=1, agreed=1)
    c.router.store_stats("gw-safety", [], [comparison.snapshot()])
    tokens = issue_tokens_in_process(c, {"dan": "deployer"})
    try:
        yield Home(env, c, tokens)
    finally:
        c.close()


def test_a_worse_candidate_is_refused_on_every_path_with_every_unmet_gate(home: Home) -> None:
    before = home.footprint()

    cli = run("promote", MODEL, "2", "--to", "production", env=home.env, timeout=180)
    assert cli.code == 3, cli.stdout + cli.stderr
    assert cli.stderr == f"error: {REFUSAL}\n", "one line on stderr"
    assert home.footprint() == before

    with TestClient(create_app(home.c)) as api:
        answer = api.post(
            f"/v1/models/{MODEL}/versions/2/promote?wait=true",
            json={"to_stage": "production"},
            headers={"Authorization": f"Bearer {home.tokens['dan']}"},
        )
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert (error["type"], error["message"], error["unmet"]) == (
        "ProductionCriteriaNotMetError",
        REFUSAL,
        UNMET,
    )
    assert home.footprint() == before

    said = chat.answer(home.c, f"promote {MODEL} v2 to production", ME)
    assert (said.exit_code, said.error) == (3, "ProductionCriteriaNotMetError")
    assert said.reply == f"I did not do that: {REFUSAL}"
    assert home.footprint() == before

    with home.c.open_agent() as agent, pytest.raises(ProductionCriteriaNotMetError) as refused:
        upstream(agent.deps).invoke(
            {
                "action": "promote",
                "model_name": MODEL,
                "version": "2",
                "target_stage": "production",
                "requested_by": ME,
            },
            {"configurable": {"thread_id": uuid.uuid4().hex}},
        )
    assert refused.value.unmet == UNMET
    assert home.footprint() == before


def upstream(deps: Any) -> Any:
    """An upstream agent's graph with the deployer's compiled graph as its one node."""
    parent = StateGraph(State)
    parent.add_node("model_deployer", build_graph(deps).compile())
    parent.add_edge(START, "model_deployer")
    parent.add_edge("model_deployer", END)
    return parent.compile(checkpointer=InMemorySaver())
