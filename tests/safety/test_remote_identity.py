"""Invariant: in remote mode the token is the only identity.

Whatever the caller's environment or flags claim (``DEPLOYER_USER``, ``USER``, ``LOGNAME``,
``DEPLOYER_APPROVERS``, ``--by``), the actor the ops API records in the audit log, the version
records and the approvals is the user of the token, and four-eyes compares token users. Each
path around it is tried with the real CLI against a real ``deployer api`` (tests.remote_stack)
and must end in the typed refusal with nothing changed. The state database plays no part in who
the actor is (the API takes it from the token before any query), so SQLite alone serves here.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.remote_stack import RemoteStack, remote_stack

ROLES = {"alice": "approver", "bob": "approver", "dan": "deployer"}
CLAIMS = {
    "DEPLOYER_USER": "bob",
    "USER": "bob",
    "LOGNAME": "bob",
    "DEPLOYER_APPROVERS": "alice,dan",
}
"""What a caller might set to pass for bob, or to make themselves an approver."""

_names = itertools.count(1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteStack]:
    with remote_stack(tmp_path_factory.mktemp("identity").resolve(), ROLES) as s:
        yield s


def registered(stack: RemoteStack, user: str, *stages: str) -> str:
    """A fresh model registered by ``user`` and moved through ``stages``, claiming to be bob."""
    name = f"ident_{next(_names)}"
    args = ("register", name, "--model-uri", stack.model_uri, "--criteria", "accuracy>=0.5")
    assert stack.cli(user, *args, **CLAIMS).code == 0
    for stage in stages:
        assert stack.cli(user, "promote", name, "1", "--to", stage, **CLAIMS).code == 0
    return name


def actors_since(stack: RemoteStack, last_id: int) -> set[str]:
    return {
        actor for (actor,) in stack.query("SELECT actor FROM audit_events WHERE id > ?", last_id)
    }


def last_audit_id(stack: RemoteStack) -> int:
    ((last,),) = stack.query("SELECT coalesce(max(id), 0) FROM audit_events")
    return int(last)


def test_the_environment_does_not_change_the_actor_recorded(stack: RemoteStack) -> None:
    start = last_audit_id(stack)
    name = registered(stack, "dan", "staging")
    assert actors_since(stack, start) == {"dan"}
    changed_by = stack.query("SELECT changed_by FROM version_records WHERE model_name = ?", name)
    assert changed_by == [("dan",)]


@pytest.mark.parametrize(
    "args",
    [
        ("promote", "{name}", "1", "--to", "shadow", "--by", "bob"),
        ("register", "{name}", "--model-uri", "{uri}", "--by", "bob"),
        ("deploy", "{name}", "1", "--by", "bob"),
        ("chat", "promote {name} v1 to shadow"),
    ],
)
def test_a_flag_naming_someone_else_is_refused_and_changes_nothing(
    stack: RemoteStack, args: tuple[str, ...]
) -> None:
    name = registered(stack, "dan", "staging")
    before = stack.snapshot()
    argv = [a.format(name=name, uri=stack.model_uri) for a in args]
    refused = stack.cli("dan", *argv, **CLAIMS)
    assert refused.code == 2, refused.stderr
    assert len(refused.stderr.strip().splitlines()) <= 5  # typer's usage error, or one line
    assert stack.snapshot() == before


def test_nobody_approves_their_own_request_whatever_the_environment_claims(
    stack: RemoteStack,
) -> None:
    name = registered(stack, "alice", "staging", "shadow")
    waiting = stack.cli("alice", "promote", name, "1", "--to", "production", "--json", **CLAIMS)
    assert waiting.code == 4, waiting.stderr
    approval_id = waiting.json()["waiting_for"]["approval_id"]
    assert stack.query("SELECT requested_by FROM approvals WHERE approval_id = ?", approval_id) == [
        ("alice",)
    ]

    before = stack.snapshot()
    own = stack.cli("alice", "approve", approval_id, "--json", **CLAIMS)
    assert own.code == 3, own.stderr
    assert own.json()["error"]["type"] == "PermissionDeniedError"
    assert "four-eyes" in own.json()["error"]["message"]
    assert stack.snapshot() == before

    start = last_audit_id(stack)
    done = stack.cli("bob", "approve", approval_id, "--json", DEPLOYER_USER="alice")
    assert done.code == 0, done.stderr
    assert done.json()["version_record"]["changed_by"] == "bob"
    assert stack.query(
        "SELECT state, approver FROM approvals WHERE approval_id = ?", approval_id
    ) == [("approved", "bob")]
    assert actors_since(stack, start) == {"bob"}
