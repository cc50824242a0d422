"""The remote CLI in process, its requests served by an ops API app's ``TestClient``.

``remote_cli(client, monkeypatch)`` routes every ``ApiClient.from_environment`` of the remote
commands to ``client`` (the app under test, with its real routes, auth and database) and answers
a function ``cli(token, group, *args)`` that runs ``deployer GROUP ARGS`` in remote mode as the
token's holder. The commands' own process runs are in tests/e2e/test_cli_remote.py; this is for
what a remote command sends and renders, without a server process per call.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient


def remote_cli(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    from typer.testing import CliRunner

    from agents.entrypoints.cli import remote
    from agents.entrypoints.cli.remote_commands import app

    def forward(request: httpx.Request) -> httpx.Response:
        answer = client.request(
            request.method,
            request.url.raw_path.decode(),
            headers=dict(request.headers),
            content=request.content,
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def from_environment(env: Any = None) -> remote.ApiClient:
        token = os.environ["DEPLOYER_TOKEN"]
        return remote.ApiClient("http://testserver", token, transport=httpx.MockTransport(forward))

    monkeypatch.setattr(remote.ApiClient, "from_environment", staticmethod(from_environment))
    runner = CliRunner()

    def cli(token: str, group: str, *args: str) -> Any:
        env = {"DEPLOYER_API_URL": "http://testserver", "DEPLOYER_TOKEN": token}
        return runner.invoke(app, [group, *args], env=env)

    return cli
