"""``deployer`` in remote mode, as a user runs it: ``DEPLOYER_API_URL`` and ``DEPLOYER_TOKEN``
point the CLI at a real ``deployer api`` (tests.remote_stack), and every call is a subprocess.

The CLI's own ``DEPLOYER_HOME`` points at a folder that must never appear: remote mode opens no
home. Refusals are checked to change nothing by comparing the served state database before and
after. One stack serves the module; each test works on a model name of its own.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import httpx
import pytest

from mlops.processes import free_port
from tests.access_fixtures import running_api
from tests.e2e.cli import Result, run_here
from tests.operations_api import follow_operation
from tests.remote_stack import RemoteStack, remote_stack

ROLES = {"alice": "deployer", "bob": "approver", "vera": "viewer"}
pytestmark = pytest.mark.usefixtures("no_leftover_servers")
_names = itertools.count(1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RemoteStack]:
    with remote_stack(tmp_path_factory.mktemp("remote").resolve(), ROLES) as s:
        yield s
        assert not s.client_home.exists(), "remote mode created a home"


def new_model(stack: RemoteStack, *stages: str) -> str:
    """A fresh model registered through remote mode by alice, moved through ``stages``."""
    name = f"iris_{next(_names)}"
    registered = stack.ok(
        "alice", "register", name, "--model-uri", stack.model_uri, "--criteria", "accuracy>=0.5"
    )
    assert (registered["version"], registered["stage"]) == ("1", "development")
    for stage in stages:
        assert stack.ok("alice", "promote", name, "1", "--to", stage)["status"] == "promoted"
    return name


def one_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_reads_in_remote_mode_print_what_local_mode_prints(stack: RemoteStack) -> None:
    name = new_model(stack, "staging")
    for args in (
        ("status",),
        ("status", name),
        ("history", name),
        ("checks",),
        ("checks", name),
        ("approvals", "--all"),
    ):
        remote = stack.ok("vera", *args)
        local = run_here(*args, "--json", env=stack.env)  # the baseline, in this process
        assert local.code == 0, local.stderr
        assert remote == local.json(), args
    verify = stack.cli("vera", "audit", "verify")  # the chain holds every tenant's events
    assert verify.code == 3 and "not a platform admin" in verify.stderr, verify.stderr
    table = stack.cli("vera", "history", name, COLUMNS="200")
    assert table.code == 0, table.stderr
    assert "history of" in table.stdout and "development -> staging" in table.stdout
    assert stack.ok("vera", "whoami") == {
        "user": "vera",
        "role": "viewer",
        "grants": {"default": "viewer"},
        "mode": "remote",
        "api_url": stack.url,
    }


def test_four_eyes_through_remote_mode(stack: RemoteStack) -> None:
    name = new_model(stack, "staging", "shadow")
    waiting = stack.cli("alice", "promote", name, "1", "--to", "production", "--json")
    assert waiting.code == 4, waiting.stderr
    run = waiting.json()
    approval_id, thread_id = run["waiting_for"]["approval_id"], run["thread_id"]
    assert run["waiting_for"]["requested_by"] == "alice"

    table = stack.cli("vera", "approvals", COLUMNS="200")
    assert table.code == 0 and approval_id in table.stdout, table.stderr
    resumed = stack.cli("alice", "resume", thread_id, "--json")
    assert resumed.code == 4 and resumed.json()["waiting_for"]["approval_id"] == approval_id

    before = stack.snapshot()
    own = stack.cli("alice", "approve", approval_id)
    assert own.code == 3
    assert "deployer role" in one_line(own)
    assert stack.snapshot() == before

    done = stack.ok("bob", "approve", approval_id, "--comment", "ship it")
    record = done["version_record"]
    assert (record["to_stage"], record["changed_by"]) == ("production", "bob")
    assert stack.query("SELECT stage FROM ml_model_registry WHERE model_name = ?", name) == [
        ("production",)
    ]
    listed = stack.ok("vera", "approvals", "--all")["approvals"]
    (mine,) = [a for a in listed if a["approval_id"] == approval_id]
    assert (mine["state"], mine["requested_by"], mine["approver"]) == ("approved", "alice", "bob")


def test_a_rejection_with_its_comment_goes_through_remote_mode(stack: RemoteStack) -> None:
    name = new_model(stack, "staging", "shadow")
    waiting = stack.cli("alice", "promote", name, "1", "--to", "production", "--json")
    approval_id = waiting.json()["waiting_for"]["approval_id"]
    assert [a["approval_id"] for a in stack.ok("vera", "approvals")["approvals"]].count(
        approval_id
    ) == 1
    rejected = stack.ok("bob", "reject", approval_id, "--comment", "not yet")
    assert rejected["status"] == "rejected"
    row = stack.query(
        "SELECT state, approver, comment FROM approvals WHERE approval_id = ?", approval_id
    )
    assert row == [("rejected", "bob", "not yet")]


def test_deploy_show_list_stop_and_rollback_round_trip(stack: RemoteStack) -> None:
    name = new_model(stack)
    deployed = stack.ok("alice", "deploy", name, "1")
    manifest = deployed["deployment_manifest"]
    deployment_id = manifest["deployment_id"]
    assert (manifest["strategy"], manifest["status"]) == ("direct", "active")

    listed = stack.ok("vera", "deployments", "list", "--model", name)
    assert [d["deployment_id"] for d in listed["deployments"]] == [deployment_id]
    table = stack.cli("vera", "deployments", "list", COLUMNS="200")
    assert table.code == 0 and deployment_id in table.stdout, table.stderr
    shown = stack.ok("vera", "deployments", "show", deployment_id)
    assert (shown["deployment_id"], shown["pid"] is not None) == (deployment_id, True)

    nothing, local = stack.cli("alice", "rollback", name), stack.local("rollback", name)
    assert nothing.code == local.code == 1
    assert one_line(nothing) == one_line(local)

    stopped = stack.ok("alice", "deployments", "stop", deployment_id)
    assert stopped["deployment_id"] == deployment_id
    status = stack.query("SELECT status FROM ml_deployments WHERE deployment_id = ?", deployment_id)
    assert status != [("active",)]


def test_a_viewer_token_cannot_deploy_and_nothing_changes(stack: RemoteStack) -> None:
    name = new_model(stack)
    before = stack.snapshot()
    refused = stack.cli("vera", "deploy", name, "1")
    assert refused.code == 3
    assert "vera holds the viewer role" in one_line(refused)
    assert stack.snapshot() == before


def test_a_bad_token_is_refused_in_one_line_and_changes_nothing(stack: RemoteStack) -> None:
    name = new_model(stack, "staging")
    before = stack.snapshot()
    wrong = "not-a-token-anybody-issued-0001"
    refused = stack.cli(None, "promote", name, "1", "--to", "shadow", DEPLOYER_TOKEN=wrong)
    assert refused.code == 3
    line = one_line(refused)
    assert line.startswith("error: token refused:") and wrong not in line
    assert wrong not in refused.stdout
    assert stack.snapshot() == before


def test_remote_mode_without_a_token_exits_2_and_sends_nothing(stack: RemoteStack) -> None:
    before = stack.snapshot()
    missing = stack.cli(None, "status")
    assert missing.code == 2
    assert "needs DEPLOYER_TOKEN" in one_line(missing)
    assert stack.snapshot() == before


def test_an_api_that_does_not_answer_is_one_line_exit_1(stack: RemoteStack) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    result = stack.cli("alice", "status", "--json", DEPLOYER_API_URL=down)
    assert result.code == 1
    assert f"cannot reach the ops API at {down}" in one_line(result)
    assert result.json()["error"]["exit_code"] == 1
    assert stack.tokens["alice"] not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "args",
    [("init",), ("endpoints", "start", "m", "9"), ("watch", "--once"), ("traffic", "set", "m")],
)
def test_local_only_commands_refuse_in_remote_mode(
    stack: RemoteStack, args: tuple[str, ...]
) -> None:
    before = stack.snapshot()
    refused = stack.cli("alice", *args)
    assert refused.code == 2
    assert f"`deployer {args[0]}` is" in one_line(refused)
    assert "DEPLOYER_API_URL" in refused.stderr
    assert stack.snapshot() == before


def test_capture_is_set_and_read_through_remote_mode(stack: RemoteStack) -> None:
    # Roles and refusals of these routes: test_api.py; local-only export: test_capture_cli.py.
    name = new_model(stack)
    enabled = stack.ok("alice", "capture", "enable", name, "--percent", "10")
    assert enabled == {"model_name": name, "percent": 10.0, "enabled": True}
    (shown,) = stack.ok("vera", "capture", "status", name)["models"]
    assert (shown["percent"], shown["updated_by"], shown["captured"]) == (10.0, "alice", 0)


def test_an_api_killed_mid_deploy_hands_its_operation_to_the_next_api_process(
    stack: RemoteStack,
) -> None:
    """Issue 19: a deploy accepted by an API process that dies (SIGKILL at the failpoint after
    the endpoint started) is taken up by a new API process's worker once its heartbeat is
    stale, resumed from its checkpoint, and finishes; the operation shows it."""
    name = new_model(stack)
    crash = {**stack.env, "DEPLOYER_FAILPOINT": "deploy.endpoint_started"}
    crash["DEPLOYER_MODEL_LOCK_SECONDS"] = "3"
    log = stack.home.parent / "api-killed.log"
    with running_api(crash, log) as doomed:
        headers = {"Authorization": f"Bearer {stack.tokens['alice']}"}
        body = {"model_name": name, "version": "1"}
        accepted = httpx.post(
            f"{doomed}/v1/deployments", json=body, headers=headers, timeout=30, trust_env=False
        )
        assert accepted.status_code == 202, accepted.text
        operation_id = accepted.json()["operation_id"]
        _wait_until_dead(doomed)
    row = stack.query("SELECT status, attempts FROM operations WHERE id = ?", operation_id)
    assert row == [("running", 1)], "killed mid-run: running, its heartbeat going stale"
    fresh = {**stack.env, "DEPLOYER_OPERATION_STALE_SECONDS": "5"}
    with running_api(fresh, stack.home.parent / "api-next.log") as url:
        viewer = {"Authorization": f"Bearer {stack.tokens['vera']}"}
        with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:
            done = follow_operation(client, f"/v1/operations/{operation_id}", viewer)
        assert (done["status"], done["error"], done["attempts"]) == ("succeeded", None, 2), done
        deployment_id = done["manifest"]["deployment_id"]
        assert done["manifest"]["status"] == "active"
        assert stack.ok("alice", "deployments", "stop", deployment_id)["deployment_id"]


def _wait_until_dead(url: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/healthz", timeout=2, trust_env=False)
        except httpx.HTTPError:
            return
        time.sleep(0.3)
    raise AssertionError("the API did not die at its failpoint")
