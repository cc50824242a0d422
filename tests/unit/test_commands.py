"""The typed commands: what they hold as asked, and what ``operations.execute`` makes of them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from agents.commands import AS_ASKED, Deploy, Promote, Register, Rollback, Tick
from agents.entrypoints.chat.chat import echo
from agents.handlers import operations
from database.engine import make_engine
from database.models import Base
from lifecycle.stages import ModelStage
from lifecycle.strategies import StrategyName
from lifecycle.supervision import RequestSource, SystemRequest
from tests.audit_keys import keyed_factory


def test_a_known_stage_or_strategy_is_parsed_and_any_other_word_is_kept_for_the_intake() -> None:
    assert Promote(model_name="m", version="2", target_stage="staging").target_stage is (
        ModelStage.STAGING
    )
    assert Promote(model_name="m", version="v2", target_stage="bogus").target_stage == "bogus"
    assert Deploy(model_name="m", version="2", strategy="canary").strategy is StrategyName.CANARY
    assert Deploy(model_name="m", version="2", strategy="blue-green").strategy == "blue-green"


def test_a_share_out_of_range_is_refused_unless_built_as_asked_for_the_intake() -> None:
    with pytest.raises(ValidationError):
        Deploy(model_name="m", version="2", traffic=150.0)
    asked = {"model_name": "m", "version": "2", "traffic": 150.0}
    assert Deploy.model_validate(asked, context=AS_ASKED).traffic == 150.0


def test_register_and_tick_hold_what_the_cli_and_the_api_take() -> None:
    request = Register(model_name="iris", model_uri="runs:/r/model", criteria=["accuracy>=0.9"])
    assert (request.metrics, request.criteria) == ({}, ("accuracy>=0.9",))
    assert Tick().model_name is None
    assert Tick(model_name="iris").model_name == "iris"


def test_the_chat_echo_leaves_out_the_fields_it_never_sets_while_at_their_default() -> None:
    deploy = Deploy(model_name="m", version="2", strategy=StrategyName.CANARY, traffic=10.0)
    assert echo(deploy) == {
        "kind": "deploy",
        "model_name": "m",
        "version": "2",
        "strategy": "canary",
        "traffic": 10.0,
    }
    rollback = Rollback(model_name="m")
    assert echo(rollback) == {
        "kind": "rollback",
        "model_name": "m",
        "to_deployment_id": None,
        "reason": None,
    }
    assert echo(Rollback(model_name="m", thread_id="t-1"))["thread_id"] == "t-1"


class _System:
    """A fake system graph: records each request and its thread, answers as the deployer."""

    def __init__(self) -> None:
        self.calls: list[tuple[SystemRequest, str | None]] = []

    def run(self, request: SystemRequest, thread_id: str | None) -> dict[str, Any]:
        self.calls.append((request, thread_id))
        outputs = {"status": "deployed", "action": request.action.value}
        result = {"agent": "model_deployer", "status": "deployed", "outputs": outputs}
        return {"request": request.model_dump(mode="json"), "results": [result], "status": "done"}


class _Services:
    """A fake system over a real SQLite file: ``execute`` holds the model's lock (locks.py)."""

    def __init__(self, tmp_path: Path) -> None:
        self.system = _System()
        self.actors: list[str | None] = []
        engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
        Base.metadata.create_all(engine)
        self.session_factory = keyed_factory(engine)
        self.settings = SimpleNamespace(
            model_lock_seconds=60.0, model_lock_wait_seconds=5.0, serving="local"
        )

    @contextmanager
    def open_system(self, actor: str | None = None) -> Iterator[_System]:
        self.actors.append(actor)
        yield self.system


def test_execute_hands_the_request_to_the_supervisor_with_its_source_and_thread(
    tmp_path: Path,
) -> None:
    c = _Services(tmp_path)
    request = Deploy(
        model_name="m",
        version="2",
        strategy="canary",
        traffic=5.0,
        replicas=3,
        reason="why",
        thread_id="t-1",
    )
    done = operations.execute(c, request, "alice", "api")  # type: ignore[arg-type]
    promote = Promote(model_name="m", version="2", target_stage="shadow")
    operations.execute(c, promote, "bob", "cli")  # type: ignore[arg-type]
    (deploy, deploy_thread), (promoted, promote_thread) = c.system.calls
    assert deploy_thread == "system-t-1" and promote_thread is None
    assert deploy.model_dump(mode="json") == {
        "source": "api",
        "action": "deploy",
        "model_name": "m",
        "requested_by": "alice",
        "reason": "why",
        "text": None,
        "args": {"version": "2", "strategy": "canary", "traffic": 5.0, "replicas": 3},
    }
    assert (promoted.source, promoted.requested_by) == (RequestSource.CLI, "bob")
    assert promoted.args == {"version": "2", "target_stage": "shadow"}
    assert done["status"] == "deployed" and done["agents"] == ["model_deployer:deployed"]
    assert c.actors == ["alice", "bob"]  # each run's agent acts for its caller


def test_a_pause_for_approval_reports_what_the_deployer_asks_approval_for() -> None:
    verdicts = [{"gate": "metric:accuracy", "status": "passed", "message": "ok"}]
    asked = {"approval_id": "apr-1", "version": "2", "target_stage": "production"}
    request = {"action": "promote", "model_name": "m", "args": {"version": "v2"}}
    out = {
        "request": request,
        "results": [],
        "status": "awaiting_approval",
        "thread_id": "system-t",
        "interrupts": [{**asked, "verdicts": verdicts, "reason": "r"}],
    }
    result = operations.system_outcome(out)
    assert result["status"] == "awaiting_approval" and result["thread_id"] == "system-t"
    assert (result["approval_id"], result["version"], result["verdicts"]) == (
        "apr-1",
        "2",
        verdicts,
    )
    assert result["target_stage"] == "production" and result["agents"] == []
