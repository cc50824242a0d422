"""``deployer api`` as an operator runs it: a real uvicorn process on a free port, real HTTP.

The server is stopped by PID in a ``finally`` whatever happens; the test checks that SIGTERM
stops it gracefully (exit 0) and gives the port back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mlops.processes import free_port, port_in_use, terminate_tree, wait_http_ok
from tests.access_fixtures import issue_tokens_in_home
from tests.e2e.cli import DEPLOYER, run, run_here
from tests.mlflow_template import seed_mlflow_store

STARTUP_TIMEOUT = 60.0
OLD_TOKEN = "an-old-admin-token-from-the-tokens-file"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A home initialised by the OS user (its first admin), with no API token yet, and the
    tokens file an older release wrote (which must grant nothing now)."""
    env = {"DEPLOYER_HOME": str(tmp_path / "home")}
    seed_mlflow_store(tmp_path / "home" / "mlflow.db")
    assert run_here("init", env=env).code == 0  # set-up: test_cli_init_status runs the process
    old = {"tokens": [{"token": OLD_TOKEN, "user": "admin", "role": "admin"}]}
    (tmp_path / "home" / "api-tokens.json").write_text(json.dumps(old))
    return env


@pytest.fixture
def server(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``deployer api --port PORT`` in the background; killed by PID (tree included) at the end."""
    port = free_port()
    log = (tmp_path / "api.log").open("wb")
    proc = subprocess.Popen(
        [str(DEPLOYER), "api", "--port", str(port)],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc, port
    finally:
        terminate_tree(proc.pid)
        proc.wait(timeout=10)
        log.close()


def test_deployer_api_serves_per_person_tokens_from_the_db_and_stops_cleanly_on_sigterm(
    server: tuple[subprocess.Popen[bytes], int], env: dict[str, str], tmp_path: Path
) -> None:
    proc, port = server
    base = f"http://127.0.0.1:{port}"
    assert wait_http_ok(f"{base}/healthz", STARTUP_TIMEOUT, lambda: proc.poll() is None), (
        tmp_path / "api.log"
    ).read_text()

    old = httpx.get(f"{base}/v1/status", headers={"Authorization": f"Bearer {OLD_TOKEN}"})
    assert old.status_code == 401  # the old tokens file grants nothing
    tokens = issue_tokens_in_home(env, {"vera": "viewer"})  # made while the server runs
    assert httpx.get(f"{base}/v1/status").status_code == 401
    vera = {"Authorization": f"Bearer {tokens['vera']}"}
    status = httpx.get(f"{base}/v1/status", headers=vera)
    assert status.status_code == 200
    assert status.json()["initialized"] is True
    listed = json.loads(run_here("access", "list", "--json", env=env).stdout)  # a read
    assert tokens["vera"] not in json.dumps(listed)
    (token_id,) = [t["token_id"] for t in listed["tokens"] if t["owner"] == "vera"]
    assert run_here("access", "token", "revoke", token_id, env=env).code == 0
    assert httpx.get(f"{base}/v1/status", headers=vera).status_code == 401  # at once

    taken = run("api", "--port", str(port), env=env)
    assert taken.code == 2
    assert f"port {port} on 127.0.0.1 is already in use" in taken.stderr
    assert len(taken.stderr.strip().splitlines()) == 1

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not port_in_use(port)
    log = (tmp_path / "api.log").read_text()
    assert "Application shutdown complete" in log
    assert "no API tokens yet: an admin makes one with `deployer access token create USER`" in log
    assert "api-tokens.json: it grants nothing now" in log
