"""Safety: approvals are exact, and no rollout is left orphaned (issue 13, items 4 and 6).

- An approval answers exactly the request it was made for: approving an earlier request whose
  thread now waits on a later one is refused (ApprovalMismatchError, exit 3) and nothing
  changes, on SQLite and PostgreSQL.
- Concurrent approve and reject from two deciders with their own engines (as two processes):
  exactly one wins, the other gets a ConflictError saying what really happened, and the
  model's stage (database and MLflow) agrees with the winner; repeated on both databases.
- A deploy SIGKILLed at each failpoint of the deploy flow (a real ``deployer deploy`` that
  kills itself there, real ``bentoml serve`` servers, a real gateway) and never resumed is
  healed by ``deployer watch --once``: its thread is resumed into a judged canary, or, when the
  thread cannot be resumed, the deployment is rolled back; afterwards no route names a dead or
  unjudged deployment and no server of a failed one runs. One home, two bentos, shared by the
  cases (tests.e2e.test_cli_watch builds it).
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from agents.bootstrap import Container, bootstrap
from agents.handlers import operations
from agents.handlers.registration import register_version
from agents.model_deployer import deploy as deploy_module
from lifecycle.errors import ApprovalMismatchError, ConflictError
from lifecycle.routing import single, split
from mlops.mlflow_env import tracking
from mlops.processes import alive
from mlops.training import TrainedModel, train_and_log
from tests import operations_calls
from tests.access_fixtures import grant_roles
from tests.agent_fakes import make_world
from tests.e2e.test_cli_agent import (
    Home,
    predict,
    processes_of,
    sample_rows,
    wait_for_comparisons,
)
from tests.e2e.test_cli_watch import MODEL as DRILL_MODEL
from tests.e2e.test_cli_watch import (
    drill_home,
    here,
    in_process,
    promote,
    running_gateway,
    tick_once,
)
from tests.mlflow_template import seed_mlflow_store
from tests.schema_template import migrated
from tests.unit.model_deployer_story import MODEL, Story
from tests.unit.test_model_deployer_recovery import Killed, crash_on

ROUNDS = 3


@pytest.fixture
def approval_home(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home on ``database_url`` where bob and carol approve and alice requests."""
    home = tmp_path / "home"
    for key, value in {
        "DEPLOYER_HOME": str(home),
        "DEPLOYER_DATABASE_URL": database_url,
        "DEPLOYER_SHADOW_MIN_HOURS": "0",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    migrated(database_url)
    c = fresh()
    try:
        grant_roles(c, {"alice": "deployer", "bob": "approver", "carol": "approver"})
    finally:
        c.close()
    return home


@pytest.fixture
def container(approval_home: Path) -> Iterator[Container]:
    c = fresh()
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def trained(container: Container) -> TrainedModel:
    s = container.settings
    seed_mlflow_store(s.tracking_uri)
    return train_and_log(s.tracking_uri, artifact_root=s.artifact_root)


def fresh() -> Container:
    """A container of its own (its own engines), as another process would build."""
    c = bootstrap()
    c.settings.ensure_home()
    return c


def in_shadow(c: Container, trained: TrainedModel, model: str) -> str:
    version = register_version(
        c.uow, c.registry, model, trained.model_uri, "alice", criteria=["accuracy>=0.5"]
    )["version"]
    for stage in ("staging", "shadow"):
        assert operations_calls.promote(c, model, version, stage, "alice")["status"] == "promoted"
    return str(version)


def facts(c: Container, model: str) -> dict[str, Any]:
    """What an approval can change: stages, approvals, the registry's production alias."""
    with c.reader() as uow:
        stages = {v.version: v.stage for v in uow.models.list(model)}
        approvals = {
            a.approval_id: (a.state, a.approver)
            for a in uow.approvals.list(None)
            if a.model_name == model
        }
    with tracking(c.settings.tracking_uri):
        aliases = {a: str(v) for a, v in MlflowClient().get_registered_model(model).aliases.items()}
    return {"stages": stages, "approvals": approvals, "aliases": aliases}


def test_approving_an_earlier_request_on_a_reused_thread_is_refused_and_changes_nothing(
    container: Container, trained: TrainedModel
) -> None:
    model = "reuse"
    v1, v2 = in_shadow(container, trained, model), in_shadow(container, trained, model)
    thread = "reused-thread"
    first = operations_calls.promote(container, model, v1, "production", "alice", thread_id=thread)
    second = operations_calls.promote(container, model, v2, "production", "alice", thread_id=thread)
    assert first["status"] == second["status"] == "awaiting_approval"
    assert second["waiting_for"]["version"] == v2
    before = facts(container, model)

    with pytest.raises(ApprovalMismatchError) as refused:
        operations.decide(fresh(), first["approval_id"], "bob", "approve")

    assert refused.value.exit_code == 3
    assert str(refused.value) == (
        f"approval {first['approval_id']} is not what its run waits on (thread system-{thread} "
        f"waits on {second['approval_id']}): nothing changed"
    )
    assert facts(container, model) == before
    assert before["stages"] == {v1: "shadow", v2: "shadow"}
    done = operations.decide(fresh(), second["approval_id"], "bob", "approve")
    assert (done["status"], done["version_record"]["version"]) == ("promoted", v2)


def race(*deciders: Callable[[], dict[str, Any]]) -> list[dict[str, Any] | BaseException]:
    """Run the deciders at once (each on its own thread, released together)."""
    gate = threading.Barrier(len(deciders))
    results: list[dict[str, Any] | BaseException] = [RuntimeError("did not run")] * len(deciders)

    def run(i: int, decide: Callable[[], dict[str, Any]]) -> None:
        gate.wait()
        try:
            results[i] = decide()
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, d)) for i, d in enumerate(deciders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return results


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_approve_and_reject_have_one_winner_and_both_callers_hear_the_truth(
    container: Container, trained: TrainedModel, round_: int
) -> None:
    model = f"race{round_}"
    version = in_shadow(container, trained, model)
    waiting = operations_calls.promote(container, model, version, "production", "alice")
    approval = waiting["approval_id"]
    approver, rejecter = fresh(), fresh()
    try:
        approved, rejected = race(
            lambda: operations.decide(approver, approval, "bob", "approve", "ship it"),
            lambda: operations.decide(rejecter, approval, "carol", "reject", "not yet"),
        )
    finally:
        approver.close()
        rejecter.close()

    outcomes = [approved, rejected]
    winners = [r for r in outcomes if isinstance(r, dict)]
    losers = [r for r in outcomes if isinstance(r, BaseException)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    (loser,) = losers
    assert type(loser) is ConflictError and loser.exit_code == 3
    after = facts(container, model)
    if winners[0] is approved:
        assert winners[0]["status"] == "promoted"
        assert str(loser) == (
            f"approval {approval} was approved by bob first: your reject decision changed nothing"
        )
        assert after["approvals"][approval] == ("approved", "bob")
        assert after["stages"][version] == "production"
        assert after["aliases"].get("production") == version
    else:
        assert winners[0]["status"] == "rejected"
        assert str(loser) == (
            f"approval {approval} was rejected by carol first: your approve decision changed "
            "nothing"
        )
        assert after["approvals"][approval] == ("rejected", "carol")
        assert after["stages"][version] == "shadow"
        assert "production" not in after["aliases"]
    with container.reader() as uow:
        decided = [e.action for e in uow.audit.list(f"{model}/{version}")]
    assert decided.count("approval_approved") + decided.count("approval_rejected") == 1


# -- a deploy killed at each failpoint, healed by the watcher -----------------------------------

STUCK_SECONDS = 2.0
"""The deadline of a deploy that makes no progress (DEPLOYER_STUCK_DEPLOY_SECONDS)."""


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    """iris v1 serves every user through a real gateway; v2 was mirrored, compared and is
    approved for production (test_cli_watch's story up to its drills)."""
    env = {
        "DEPLOYER_STUCK_DEPLOY_SECONDS": str(STUCK_SECONDS),
        "DEPLOYER_WARM_SECONDS": "300",
        # The killed deploy held the model's lock: the watcher acts once it has expired (in
        # production the lock lives 60 s and a deploy is stuck only after 600 s).
        "DEPLOYER_MODEL_LOCK_SECONDS": "1",
    }
    root = tmp_path_factory.mktemp("orphans").resolve() / "home"
    with drill_home(root, env) as h, running_gateway(h) as url:
        promote(h, "1", "staging", "shadow", "production")
        # set-up in this process (``here``): test_cli_agent runs these deploys as processes
        h.seen["v1"] = here(h, "deploy", DRILL_MODEL, "1")["deployment_manifest"]["deployment_id"]
        promote(h, "2", "staging", "shadow")
        shadow = here(h, "deploy", DRILL_MODEL, "2")["deployment_manifest"]["deployment_id"]
        predict(url, sample_rows(h.models["1"], 30))
        wait_for_comparisons(h, shadow, 30)
        promote(h, "2", "production")
        yield h


@pytest.mark.parametrize(
    ("failpoint", "resumable", "undo_after"),
    [
        # 10% of users reach the canary, the deploy never finished, its thread is unusable:
        # rolled back (v2 stays approved for production, so the next case needs no set-up).
        ("deploy.routed", False, False),
        # A server runs that no row records; no route yet: resumed (then undone for the next).
        ("deploy.endpoint_started", True, True),
        # 10% of users reach the canary and the deploy never finished: resumed.
        ("deploy.routed", True, False),
    ],
)
def test_a_deploy_killed_at_a_failpoint_and_never_resumed_is_healed_by_the_watcher(
    drill: Home, failpoint: str, resumable: bool, undo_after: bool
) -> None:
    stable = drill.seen["v1"]
    killed = drill.cli(
        "deploy", DRILL_MODEL, "2", "--strategy", "canary", "--traffic", "10",
        DEPLOYER_FAILPOINT=failpoint,
    )  # fmt: skip
    assert killed.code == -signal.SIGKILL, (killed.code, killed.stderr)
    ((new, status, thread),) = drill.query(
        "SELECT deployment_id, status, thread_id FROM ml_deployments "
        "WHERE status IN ('pending', 'deploying')"
    )
    assert status == "deploying" and thread, "the deployment names its thread"
    strays = processes_of(new)
    assert strays, "the killed run's server outlives it"
    if failpoint == "deploy.routed":
        assert drill.weights() == {stable: 90.0, new: 10.0}
        ((phase,),) = drill.query("SELECT phase FROM rollouts WHERE deployment_id = ?", new)
        assert phase == "progressing", "users reach a canary the monitor already owns"
    if not resumable:
        write(drill, "UPDATE ml_deployments SET thread_id = NULL WHERE deployment_id = ?", new)
    time.sleep(STUCK_SECONDS + 0.5)

    # `deployer watch --once`'s own call, in this process: the command's process is
    # test_cli_watch's (its killed-canary drill); the killed deploy above is a real process
    ticked = tick_once(drill)

    (healed,) = ticked["healed"]
    assert (healed["deployment_id"], healed["action"]) == (
        new,
        "resume" if resumable else "rollback",
    )
    assert not drill.query(
        "SELECT deployment_id FROM ml_deployments WHERE status IN ('pending', 'deploying')"
    )
    if resumable:
        assert healed["outcome"] == "resumed: the deploy ended deployed."
        assert drill.status_of(new) == "active"
        assert drill.weights() == {stable: 90.0, new: 10.0}
        ((phase,),) = drill.query("SELECT phase FROM rollouts WHERE deployment_id = ?", new)
        assert phase == "progressing", "the canary is judged by the monitor"
        assert len(processes_of(new) - strays) > 0 or failpoint == "deploy.routed"
        if failpoint == "deploy.endpoint_started":
            assert not any(alive(pid) for pid in strays), "the unrecorded server was stopped"
    else:
        assert healed["message"].endswith("its thread cannot be resumed")
        assert drill.status_of(new) == "failed"
        assert drill.weights() == {stable: 100.0}
        assert not processes_of(new), "the failed deployment's server is stopped"
        ((phase,),) = drill.query("SELECT phase FROM rollouts WHERE deployment_id = ?", new)
        assert phase == "failed"
        checks = drill.query(
            "SELECT action, message FROM health_checks WHERE deployment_id = ?", new
        )
        assert ("rollback", healed["message"] + "; " + healed["outcome"]) in checks
    for routed in drill.weights():
        assert drill.status_of(routed) in ("active", "draining")
        assert processes_of(routed), f"{routed} is routed but has no server"
    if undo_after:  # back to v1 alone for the next case: undo the canary, approve v2 again
        with in_process(drill) as c:
            undone = operations_calls.rollback(c, DRILL_MODEL, "alice", reason="next drill")
        assert (drill.weights(), drill.stages()["2"]) == ({stable: 100.0}, "development"), undone
        promote(drill, "2", "staging", "shadow", "production")
        assert not processes_of(new)


def write(home: Home, sql: str, *params: Any) -> None:
    """Change the state database directly (what an upstream agent's deploy leaves: no thread)."""
    with closing(sqlite3.connect(home.root / "deployer.db")) as db:
        db.execute(sql, params)
        db.commit()


# -- the same healing on SQLite and PostgreSQL (fakes outside the database) ---------------------


@pytest.fixture
def killed_at(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The deploy failpoints that kill the run here (a BaseException the graph lets through)."""
    points: list[str] = []

    def failpoint(name: str) -> None:
        if name in points:
            points.remove(name)
            raise Killed(name)

    monkeypatch.setattr(deploy_module, "failpoint", failpoint)
    return points


@pytest.mark.parametrize("resumable", [True, False])
def test_a_stuck_deploy_is_healed_on_either_database(
    database_url: str,
    tmp_path: Path,
    killed_at: list[str],
    resumable: bool,
) -> None:
    given = Story.over(make_world(tmp_path, url=database_url)).replacing()
    crashed = crash_on(given, killed_at, "deploy.routed")
    if not resumable:
        with crashed.story.world.uow() as uow:
            uow.deployments.get(crashed.new).thread_id = None
            uow.commit()

    (healed,) = crashed.heal(after_seconds=600)

    story, new, stable = crashed.story, crashed.new, crashed.stable
    assert healed["action"] == ("resume" if resumable else "rollback")
    row = story.deployment(new)
    assert row.changing_run_id is None
    if resumable:
        assert row.status == "active"
        assert story.routes() == split(MODEL, stable, new, 10)
    else:
        assert (row.status, row.traffic_percentage) == ("failed", 0.0)
        assert story.routes() == single(MODEL, stable)
        assert new not in story.world.serving.running
    assert crashed.heal(after_seconds=1200) == [], "healed once"
