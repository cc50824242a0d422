"""Schemathesis against a live ``deployer api``: the OpenAPI document is the truth.

A real uvicorn process serves a home with one registered model; ``st run`` (the fuzzer's own
CLI, in a subprocess) reads the document the server publishes and sends what it generates from
it, with every check on, a fixed seed and a bounded number of examples per operation. Every
answer must be one the document lists, in the shape it gives, and every schema-valid request
must be accepted or refused by the rules (never 422, never 5xx). Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.bootstrap import bootstrap
from agents.commands import Register
from agents.handlers import registration
from agents.settings import Settings
from mlops.processes import free_port, terminate_tree, wait_http_ok
from mlops.training import train_and_log
from tests.access_fixtures import issue_tokens_in_process
from tests.e2e.cli import DEPLOYER, run_here
from tests.mlflow_template import seed_mlflow_store

ST = Path(sys.executable).parent / "st"
STARTUP_TIMEOUT = 60.0
ADMIN_TOKEN: list[str] = []
"""The admin's token, made by the home fixture (tokens are random, shown once)."""
MODEL = "iris"
SEED = 13
MAX_EXAMPLES = 12
"""Per operation and phase: enough to cover every route's statuses on 2 cores in ~2 minutes."""
CONFIG = f"""
# The model routes (not deploy: that would start servers) are fuzzed on the registered model,
# so the fuzzer reaches the rules (stage moves, gates, rollbacks) and not only 404s.
[[operations]]
include-path-regex = "^/v1/(models|status)/[{{]name[}}]"
parameters = {{ "path.name" = "{MODEL}", "path.version" = "1" }}
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An initialised home where ``iris`` v1 is registered (development)."""
    home = tmp_path_factory.mktemp("fuzz").resolve() / "home"
    env = {"DEPLOYER_HOME": str(home)}
    seed_mlflow_store(home / "mlflow.db")
    assert run_here("init", env=env).code == 0  # set-up: test_cli_init_status runs the process
    trained = train_and_log(f"sqlite:///{home / 'mlflow.db'}", artifact_root=home / "mlartifacts")
    c = bootstrap(Settings(DEPLOYER_HOME=str(home)))
    try:
        registration.register(c, Register(model_name=MODEL, model_uri=trained.model_uri), "alice")
        ADMIN_TOKEN.append(issue_tokens_in_process(c, {"root": "admin"})["root"])
    finally:
        c.close()
    return env


@pytest.fixture
def server(home: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """``deployer api`` on a free port; stopped by PID (tree included) at the end."""
    port = free_port()
    log_path = tmp_path / "api.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(DEPLOYER), "api", "--port", str(port)],
            env={**os.environ, **home},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            up = wait_http_ok(f"{base}/healthz", STARTUP_TIMEOUT, lambda: proc.poll() is None)
            assert up, log_path.read_text()
            yield base
        finally:
            terminate_tree(proc.pid)
            proc.wait(timeout=30)


@pytest.mark.slow
def test_schemathesis_finds_no_failure_against_a_live_api(server: str, tmp_path: Path) -> None:
    local = {"NO_PROXY": "*", "no_proxy": "*", "HTTP_PROXY": "", "HTTPS_PROXY": ""}
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        str(ST),
        "--config-file",
        str(config),
        "run",
        f"{server}/openapi.json",
        "--checks",
        "all",
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
        "--header",
        f"Authorization: Bearer {ADMIN_TOKEN[-1]}",
    ]
    done = subprocess.run(
        command,
        cwd=tmp_path,
        env={**os.environ, **local},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-20000:] + done.stderr[-4000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
    assert counts and counts[1] == counts[2] and int(counts[1]) > 0, done.stdout[-4000:]
