"""The gateway process boots without the CLI, MLflow or LangGraph (issue 16): its entry point's
whole import graph, as a fresh interpreter loads it, holds none of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
HEAVY = {"typer", "mlflow", "langgraph", "langchain_core", "bentoml", "fastapi", "sklearn"}


def loaded_by(module: str) -> set[str]:
    """Every module a fresh interpreter holds after importing ``module``."""
    code = (
        "import importlib, json, sys; importlib.import_module(sys.argv[1]); "
        "print(json.dumps(sorted(sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    out = subprocess.run(
        [sys.executable, "-c", code, module], env=env, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout))


def test_the_gateway_entry_point_imports_no_cli_mlflow_or_langgraph() -> None:
    loaded = loaded_by("agents.entrypoints.gateway")
    # it loads what it runs (and so the check sees what is loaded)
    assert {"mlops.gateway.runner", "database.routing", "sqlalchemy", "aiohttp"} <= loaded
    tops = {name.split(".")[0] for name in loaded}
    assert tops.isdisjoint(HEAVY), sorted(tops & HEAVY)
    assert not any(name.startswith("agents.entrypoints.cli") for name in loaded)
