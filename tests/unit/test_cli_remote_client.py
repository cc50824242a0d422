"""The remote mode's client: how the ops API's answers become the CLI's exit codes and lines.

The API is an ``httpx.MockTransport`` (a fake); the real round trips are in
tests/e2e/test_cli_remote.py.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest

from agents.entrypoints.cli.remote import (
    Answer,
    ApiClient,
    ApiUnreachableError,
    RemoteError,
    RemoteModeError,
    exit_code_for,
    remote_url,
)

URL = "http://ops.example:8000"
TOKEN = "a-token-nobody-may-see-0001"


def client(answer: Callable[[httpx.Request], httpx.Response]) -> ApiClient:
    return ApiClient(URL, TOKEN, transport=httpx.MockTransport(answer))


def envelope(status: int, kind: str, message: str = "no") -> httpx.Response:
    return httpx.Response(status, json={"error": {"type": kind, "message": message}})


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (403, "PermissionDeniedError", 3),
        (409, "ConflictError", 3),
        (409, "ProductionCriteriaNotMetError", 3),
        (409, "RollbackFailedError", 1),  # as the local CLI exits for it
        (404, "UnknownModelError", 2),
        (422, "InvalidPromotionPathError", 2),
        (422, "RequestValidationError", 2),
        (413, "RequestEntityTooLarge", 2),
        (401, "NotAuthenticatedError", 3),
        (409, "DeploymentInUseError", 3),
        (403, "Forbidden", 3),
        (503, "InfrastructureError", 1),
        (502, "DeploymentFailedError", 1),
        (500, "KeyError", 1),
    ],
)
def test_an_api_error_exits_as_its_class_exits_locally_else_by_status(
    status: int, kind: str, code: int
) -> None:
    assert exit_code_for(status, kind) == code


def test_an_error_envelope_keeps_the_apis_type_and_message() -> None:
    api = client(lambda request: envelope(403, "PermissionDeniedError", "four-eyes: not yours"))
    with pytest.raises(RemoteError) as raised:
        api.post("/v1/approvals/apr-1/approve", {"comment": ""})
    assert (raised.value.kind, str(raised.value), raised.value.exit_code) == (
        "PermissionDeniedError",
        "four-eyes: not yours",
        3,
    )


def test_a_refused_token_says_so_in_one_line_without_the_token() -> None:
    api = client(
        lambda request: envelope(401, "NotAuthenticatedError", "the bearer token is not valid")
    )
    with pytest.raises(RemoteError) as raised:
        api.get("/v1/status")
    message = str(raised.value)
    assert message.startswith(f"token refused: the ops API at {URL} does not accept DEPLOYER_TOKEN")
    assert TOKEN not in message and "\n" not in message
    assert raised.value.exit_code == 3


def test_the_token_travels_only_in_the_authorization_header() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"status": "awaiting_approval"})

    result = client(answer).post("/v1/models/m/versions/1/promote", {"to_stage": "production"})
    assert result == Answer(202, {"status": "awaiting_approval"})
    (request,) = seen
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(request.url) and TOKEN.encode() not in request.content


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("[Errno 111] Connection refused"), httpx.ReadTimeout("timed out")],
)
def test_an_api_that_does_not_answer_is_an_infrastructure_error(failure: httpx.HTTPError) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(ApiUnreachableError) as raised:
        client(answer).get("/v1/status")
    assert URL in str(raised.value) and raised.value.exit_code == 1


@pytest.mark.parametrize(
    "response",
    [httpx.Response(502, text="<html>bad gateway</html>"), httpx.Response(200, text="hello")],
)
def test_an_answer_that_is_not_the_apis_json_is_an_infrastructure_error(
    response: httpx.Response,
) -> None:
    with pytest.raises(ApiUnreachableError):
        client(lambda request: response).get("/v1/status")


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({}, None),
        ({"DEPLOYER_API_URL": ""}, None),
        ({"DEPLOYER_API_URL": "  "}, None),
        ({"DEPLOYER_API_URL": "http://h:1/"}, "http://h:1"),
    ],
)
def test_remote_mode_is_on_exactly_when_the_api_url_is_set(
    env: dict[str, str], url: str | None
) -> None:
    assert remote_url(env) == url


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"DEPLOYER_API_URL": URL}, "needs DEPLOYER_TOKEN"),
        ({"DEPLOYER_API_URL": "localhost:8000", "DEPLOYER_TOKEN": TOKEN}, "http:// or https://"),
        ({"DEPLOYER_API_URL": URL, "DEPLOYER_TOKEN": " "}, "needs DEPLOYER_TOKEN"),
        ({"DEPLOYER_API_URL": URL, "DEPLOYER_TOKEN": "tökén-with-àccents"}, "characters"),
        ({"DEPLOYER_API_URL": URL, "DEPLOYER_TOKEN": "two words"}, "characters"),
        (
            {"DEPLOYER_API_URL": URL, "DEPLOYER_TOKEN": TOKEN, "DEPLOYER_API_TIMEOUT": "0"},
            "above 0",
        ),
        (
            {"DEPLOYER_API_URL": URL, "DEPLOYER_TOKEN": TOKEN, "DEPLOYER_API_TIMEOUT": "x"},
            "above 0",
        ),
    ],
)
def test_remote_mode_set_up_wrongly_is_bad_input(env: dict[str, str], says: str) -> None:
    with pytest.raises(RemoteModeError) as raised:
        ApiClient.from_environment(env)
    assert says in str(raised.value) and raised.value.exit_code == 2


def test_whoami_in_local_mode_is_the_os_user() -> None:
    from typer.testing import CliRunner

    from agents.entrypoints.cli.app import app

    result = CliRunner().invoke(app, ["whoami", "--json"], env={"DEPLOYER_USER": "someone-else"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "user": pwd.getpwuid(os.geteuid()).pw_name,
        "mode": "local",
    }


def test_remote_mode_loads_no_database_registry_or_graph_library() -> None:
    code = (
        "import sys; import agents.entrypoints.cli.remote_commands; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'sqlalchemy', 'mlflow', 'langgraph', 'bentoml', 'database', 'mlops'}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
