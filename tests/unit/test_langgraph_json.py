"""``langgraph.json`` names a graph factory that LangGraph Studio can load."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_langgraph_json_points_at_a_factory_that_builds_the_deployer_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    target = config["graphs"]["model_deployer"]
    path, _, attribute = target.partition(":")
    spec = importlib.util.spec_from_file_location("studio_entry", ROOT / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("DEPLOYER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DEPLOYER_DATABASE_URL", raising=False)
    graph = getattr(module, attribute)()
    try:
        nodes = set(graph.nodes)
        assert {"intake", "check_promotion", "await_approval", "plan_deploy"} <= nodes
        assert {"apply_steps", "plan_rollback", "switch_traffic", "record_rollback"} <= nodes
        assert graph.checkpointer is None  # Studio brings its own
    finally:
        module._resources.close()
