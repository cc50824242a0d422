"""Safety: approvals are exact, and no rollout is left orphaned (issue 13, items 4 and 6).

- An approval answers exactly the request it was made for: approving an earlier request whose
  thread now waits on a later one is refused (ApprovalMismatchError, exit 3) and nothing
  changes, on SQLite and PostgreSQL.
- Concurrent approve and reject from two deciders with their own engines (as two processes):
  exactly one wins, the other gets a ConflictError saying what really happened, and the
  model's stage (database and MLflow) agrees with the winner; repeated on both databases.
- A deploy SIGKILLed at each failpoint of the deploy flow and never resumed is healed by
  ``deployer watch`` (in test_orphans_crash.py beside this file: it needs real servers).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from agents.bootstrap import Container, bootstrap
from agents.handlers import operations
from agents.handlers.registration import register_version
from database import migrate
from lifecycle.errors import ApprovalMismatchError, ConflictError
from mlops.mlflow_env import tracking
from mlops.training import TrainedModel, train_and_log

ROUNDS = 3


@pytest.fixture
def home(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home on ``database_url`` where bob and carol approve and alice requests."""
    home = tmp_path / "home"
    for key, value in {
        "DEPLOYER_HOME": str(home),
        "DEPLOYER_DATABASE_URL": database_url,
        "DEPLOYER_USER": "alice",
        "DEPLOYER_APPROVERS": "bob,carol",
        "DEPLOYER_SHADOW_MIN_HOURS": "0",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    migrate.upgrade(database_url)
    return home


@pytest.fixture
def container(home: Path) -> Iterator[Container]:
    c = fresh()
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def trained(container: Container) -> TrainedModel:
    s = container.settings
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
        assert operations.promote(c, model, version, stage, "alice")["status"] == "promoted"
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
    first = operations.promote(container, model, v1, "production", "alice", thread_id=thread)
    second = operations.promote(container, model, v2, "production", "alice", thread_id=thread)
    assert first["status"] == second["status"] == "awaiting_approval"
    assert second["waiting_for"]["version"] == v2
    before = facts(container, model)

    with pytest.raises(ApprovalMismatchError) as refused:
        operations.decide(fresh(), first["approval_id"], "bob", "approve")

    assert refused.value.exit_code == 3
    assert str(refused.value) == (
        f"approval {first['approval_id']} is not what its run waits on (thread {thread} "
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
    waiting = operations.promote(container, model, version, "production", "alice")
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
