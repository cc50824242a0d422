"""LangGraph Studio for real: ``langgraph dev`` over the repository's ``langgraph.json`` loads,
draws and runs the system graph and the deployer WITHOUT ``--allow-blocking`` (the factories
set the home up in a worker thread; the nodes run in worker threads), and nothing leaves the
machine (tracing, analytics, version checks and the licence beacon off)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agents.bootstrap import bootstrap
from agents.settings import Settings
from database import migrate
from tests.mlflow_template import seed_mlflow_store

ROOT = Path(__file__).resolve().parents[2]
LANGGRAPH = Path(
    os.environ.get("DEPLOYER_LANGGRAPH") or ROOT / ".venv-studio" / "bin" / "langgraph"
)
"""LangGraph's local server, from the venv ``scripts/setup --studio`` makes (``scripts/test``
does): langgraph-api's pins cannot live beside the dev tools' (``pyproject.toml``, studio)."""
OFFLINE = {
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGCHAIN_TRACING": "false",
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "DO_NOT_TRACK": "1",
    "BENTOML_DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}
SECRETS = (
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
    "LANGGRAPH_CLOUD_LICENSE_KEY",
    "LANGSMITH_CONTROL_PLANE_API_KEY",
    "DEPLOYER_DATABASE_URL",
    "DEPLOYER_API_URL",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seeded_home(path: Path) -> None:
    """What ``deployer init`` does, in-process, over the session's ready MLflow store."""
    settings = Settings(DEPLOYER_HOME=str(path))
    settings.ensure_home()
    seed_mlflow_store(settings.tracking_uri)
    migrate.upgrade(settings.database_url)
    bootstrap(settings).close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not LANGGRAPH.exists():
        pytest.fail(f"{LANGGRAPH} is missing: run scripts/setup --studio (scripts/test does)")
    tmp = tmp_path_factory.mktemp("langgraph_dev")
    seeded_home(tmp / "home")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env |= OFFLINE | {"DEPLOYER_HOME": str(tmp / "home"), "PYTHONPATH": str(ROOT / "src")}
    log = (tmp / "server.log").open("w")
    args = [str(LANGGRAPH), "dev", "--port", str(port), "--host", "127.0.0.1", "--no-browser"]
    args += ["--no-reload", "--config", str(repository_config(tmp))]
    process = subprocess.Popen(
        args, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, tmp / "server.log")
        yield url
    finally:
        stop(process)
        log.close()
        text = (tmp / "server.log").read_text()
        assert "BlockingError" not in text, text[-3000:]


def repository_config(tmp: Path) -> Path:
    """The repository's ``langgraph.json`` with its paths made absolute, so the server runs in
    ``tmp`` (its ``.langgraph_api`` state lands there, not in the checkout)."""
    config = json.loads((ROOT / "langgraph.json").read_text())
    config["dependencies"] = [str(ROOT / d) for d in config["dependencies"]]
    config["graphs"] = {k: str(ROOT / v) for k, v in config["graphs"].items()}
    path = tmp / "langgraph.json"
    path.write_text(json.dumps(config))
    return path


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server's process group (its whole tree), by its PID."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"langgraph dev exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"langgraph dev did not start:\n{log.read_text()[-3000:]}")


def run(url: str, assistant: str, payload: dict[str, Any]) -> dict[str, Any]:
    with httpx.Client(base_url=url, timeout=120) as client:
        thread = client.post("/threads", json={}).raise_for_status().json()["thread_id"]
        body = {"assistant_id": assistant, "input": payload}
        out = client.post(f"/threads/{thread}/runs/wait", json=body).raise_for_status().json()
    assert isinstance(out, dict)
    return out


@pytest.mark.parametrize(
    ("graph", "nodes"),
    [
        ("system", {"intake", "supervisor", "model_deployer", "model_monitor", "retraining"}),
        ("model_deployer", {"intake"}),
        ("model_monitor", {"intake", "gather", "decide", "record"}),
        ("retraining", {"intake", "train", "evaluate"}),
    ],
)
def test_every_graph_loads_and_draws_under_langgraph_dev(
    server: str, graph: str, nodes: set[str]
) -> None:
    found = httpx.post(f"{server}/assistants/search", json={"graph_id": graph}, timeout=60)
    (assistant,) = found.raise_for_status().json()
    drawn = httpx.get(f"{server}/assistants/{assistant['assistant_id']}/graph", timeout=60)
    assert nodes <= {node["id"] for node in drawn.raise_for_status().json()["nodes"]}


def test_the_deployer_runs_a_monitor_tick_through_the_dev_servers_api(server: str) -> None:
    out = run(server, "model_deployer", {"action": "monitor"})
    assert out["status"] == "monitored" and out["errors"] == []
    assert out["monitor"]["checks"] == []


def test_the_system_graph_routes_a_request_through_the_dev_servers_api(server: str) -> None:
    request = {"request": {"action": "monitor", "source": "api"}}
    out = run(server, "system", request)
    assert out["status"] == "completed"
    assert [(r["agent"], r["status"]) for r in out["results"]] == [("model_deployer", "monitored")]


def test_the_monitor_agent_watches_through_the_dev_servers_api(server: str) -> None:
    out = run(server, "model_monitor", {"model_name": ""})
    assert out["errors"] == [] and out["decisions"] == [] and out["handoffs"] == []
