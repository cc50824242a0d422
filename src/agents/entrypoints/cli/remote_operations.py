"""Remote mode's long-running commands (issue 19): deploy, promote and rollback are accepted by
the ops API as operations (202 and a ``Location``); the CLI follows the operation with a
progress display on stderr until it ends or waits for an approval, then prints what the
command always printed. ``--no-wait`` prints the operation id (``--json``: its document) and
exits 0 at once; ``GET /v1/operations/{id}`` (or ``deployer operation ID``) follows it later.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Annotated, Any

import typer
from rich.status import Status

from agents.entrypoints.cli.output import emit, err_console
from agents.entrypoints.cli.remote import Answer, ApiClient, ApiUnreachableError, RemoteError

NoWaitOption = Annotated[
    bool,
    typer.Option("--no-wait", help="Print the operation id and return at once (the API runs it)."),
]
POLL_SECONDS = 0.5
SETTLED = ("succeeded", "failed", "waiting_approval")
WAIT_LIMIT_SECONDS = 3600.0
"""How long the CLI follows an operation before it gives up (the operation runs on)."""


def run_operation(
    api: ApiClient, path: str, body: Mapping[str, Any], no_wait: bool, as_json: bool
) -> Answer:
    """POST a long-running command and follow its operation to its end: the run's result as
    the API answered it before operations (202 while it waits for an approval); a failed
    operation raises its typed error. With ``no_wait``, print the operation and exit 0."""
    operation = accepted_operation(api, path, body, no_wait, as_json)
    return outcome(follow(api, str(operation["location"]), as_json))


def accepted_operation(
    api: ApiClient, path: str, body: Mapping[str, Any], no_wait: bool, as_json: bool
) -> dict[str, Any]:
    """POST a long-running command: its operation; with ``no_wait``, print it and exit 0."""
    operation = dict(api.post(path, body).body)
    if no_wait:
        emit(operation, as_json, lambda: _said(operation))
        raise typer.Exit(0)
    return operation


def _said(operation: Mapping[str, Any]) -> None:
    print(operation["operation_id"])
    err_console.print(
        f"accepted: {operation['kind']} of {operation['subject']} runs as operation "
        f"{operation['operation_id']} ({operation['location']})",
        highlight=False,
        markup=False,
    )


def follow(api: ApiClient, location: str, quiet: bool) -> dict[str, Any]:
    """GET the operation until it settles, showing its node and steps on stderr."""
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    with Status("waiting for the operation", console=err_console) as shown:
        while True:
            doc = api.get(location).body
            if doc["status"] in SETTLED:
                return doc
            if not quiet:
                shown.update(progress_line(doc))
            if time.monotonic() > deadline:
                raise ApiUnreachableError(
                    f"operation {doc['operation_id']} is still {doc['status']}; follow it with "
                    f"GET {location}"
                )
            time.sleep(POLL_SECONDS)


def progress_line(doc: Mapping[str, Any]) -> str:
    """``operation op-1 running: model_deployer/start_endpoint (5 steps done)``."""
    node = doc.get("current_node") or "starting"
    return (
        f"operation {doc['operation_id']} {doc['status']}: {node} "
        f"({doc.get('steps_done') or 0} steps done)"
    )


def outcome(doc: Mapping[str, Any]) -> Answer:
    """The settled operation as the command's answer; a failure as its typed error."""
    if doc["status"] == "failed":
        error = doc.get("error") or {}
        raise RemoteError(
            str(error.get("message") or "the operation failed"),
            str(error.get("type") or "DeploymentFailedError"),
            int(error.get("exit_code") or 1),
        )
    waiting = doc["status"] == "waiting_approval"
    return Answer(202 if waiting else 200, dict(doc.get("result") or {}))
