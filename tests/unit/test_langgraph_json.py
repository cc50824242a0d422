"""``langgraph.json`` names graph factories that LangGraph Studio can load: async (the home's
set-up runs in a worker thread, off the server's event loop), compiled without a checkpointer."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def factory(graph_id: str) -> tuple[ModuleType, Any]:
    config = json.loads((ROOT / "langgraph.json").read_text())
    path, _, attribute = config["graphs"][graph_id].partition(":")
    spec = importlib.util.spec_from_file_location(f"studio_{graph_id}", ROOT / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, getattr(module, attribute)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DEPLOYER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DEPLOYER_DATABASE_URL", raising=False)
    from agents.model_deployer import studio

    yield
    studio._resources.close()
    studio._built.clear()


def test_langgraph_json_points_at_a_factory_that_builds_the_deployer_graph(home: Any) -> None:
    _, make = factory("model_deployer")
    assert inspect.iscoroutinefunction(make)
    graph = asyncio.run(make())
    nodes = set(graph.nodes)
    assert {"intake", "check_promotion", "await_approval", "plan_deploy"} <= nodes
    assert {"apply_steps", "plan_rollback", "switch_traffic", "record_rollback"} <= nodes
    assert graph.checkpointer is None  # Studio brings its own


def test_langgraph_json_exposes_the_system_graph_over_the_deployer(home: Any) -> None:
    _, make = factory("system")
    assert inspect.iscoroutinefunction(make)
    graph = asyncio.run(make())
    assert {"intake", "supervisor", "model_deployer"} <= set(graph.nodes)
    assert graph.checkpointer is None
    assert graph.name == "system"


@pytest.mark.parametrize(
    ("graph_id", "nodes"),
    [("model_monitor", {"gather", "decide", "record"}), ("retraining", {"train", "evaluate"})],
)
def test_langgraph_json_exposes_each_agent(home: Any, graph_id: str, nodes: set[str]) -> None:
    _, make = factory(graph_id)
    assert inspect.iscoroutinefunction(make)
    graph = asyncio.run(make())
    assert nodes <= set(graph.nodes) and graph.checkpointer is None and graph.name == graph_id
