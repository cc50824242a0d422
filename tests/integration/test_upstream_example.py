"""``examples/upstream_agent.py``: an upstream agent's graph with the system graph as a node
sends a typed request and gets a typed result; a promotion's approval pause surfaces at the
upstream graph and its ``Command(resume=...)`` finishes it (over the real deployer graph on
fakes and a real SQLite checkpointer); and ``main`` runs over a SQLite home."""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from langgraph.types import Command

from agents.model_deployer import build_graph as deployer_graph
from agents.settings import Settings
from agents.supervisor import build_graph, deployer_spec
from agents.supervisor.spec import state_types
from lifecycle.handoff import AgentName
from memory.stores import open_checkpointer
from tests.agent_fakes import make_world
from tests.mlflow_template import seed_mlflow_store
from tests.schema_template import migrated
from tests.unit.model_deployer_story import APPROVER, MODEL, REQUESTER, Story

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "upstream_agent", ROOT / "examples/upstream_agent.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def story(tmp_path: Path) -> Story:
    return Story.over(make_world(tmp_path))


@pytest.fixture
def pipeline(example: ModuleType, story: Story, tmp_path: Path) -> Iterator[Any]:
    agents = {AgentName.DEPLOYER: deployer_spec(deployer_graph(story.world.deps).compile())}
    system = build_graph(agents).compile()
    url = f"sqlite:///{tmp_path / 'upstream.db'}"
    with open_checkpointer(url, state_types(agents.values())) as saver:
        yield example.build_pipeline(system).compile(checkpointer=saver)


def test_the_upstream_graph_gets_the_approval_pause_and_resumes_it(
    example: ModuleType, story: Story, pipeline: Any
) -> None:
    version = story.in_shadow()
    story.world.clock.advance(hours=25)
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    ask = {
        "action": "promote",
        "model_name": MODEL,
        "requested_by": REQUESTER,
        "args": {"version": version, "target_stage": "production"},
    }

    paused = pipeline.invoke(example.PipelineState(ask=ask), config)

    (waiting,) = paused["__interrupt__"]
    (row,) = story.approvals()
    assert waiting.value["approval_id"] == row.approval_id
    assert paused["result"] is None and story.world.stage_of(MODEL, version) == "shadow"

    answer = {"approval_id": row.approval_id, "decision": "approve", "approver": APPROVER}
    done = pipeline.invoke(Command(resume=answer), config)

    assert "__interrupt__" not in done
    assert done["result"]["status"] == "completed"
    assert [(r["agent"], r["status"]) for r in done["result"]["results"]] == [
        ("model_deployer", "promoted")
    ]
    assert done["notes"][-1] == "system completed (model_deployer: promoted)"
    assert story.world.stage_of(MODEL, version) == "production"


def test_the_example_runs_a_request_over_a_sqlite_home(
    example: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = Settings(DEPLOYER_HOME=str(tmp_path / "home"))
    settings.ensure_home()
    seed_mlflow_store(settings.tracking_uri)
    migrated(settings.database_url)
    monkeypatch.setenv("DEPLOYER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DEPLOYER_DATABASE_URL", raising=False)

    code = example.main([json.dumps({"action": "monitor"})])

    printed = json.loads(capsys.readouterr().out)
    assert code == 0 and printed["waiting"] == []
    assert printed["result"]["status"] == "completed"
    assert [r["agent"] for r in printed["result"]["results"]] == ["model_deployer"]
    assert printed["notes"][-1] == "system completed (model_deployer: monitored)"
