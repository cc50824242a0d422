"""An expensive retraining's approval (an ``approvals`` row with action ``retrain``) decided
through the one entry every path uses (``operations.execute``: the CLI's ``deployer approve``,
the API's and the chat's decide), on SQLite and PostgreSQL: four eyes, the approval moves the
run to ``requested`` (the watcher's worker runs it), a rejection to ``rejected``, and nothing
else changes; a second decision is a conflict."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.bootstrap import Container, bootstrap
from agents.commands import Approve, Reject
from agents.handlers import operations
from agents.settings import Settings
from lifecycle.errors import ConflictError, PermissionDeniedError
from lifecycle.records import utcnow
from lifecycle.retraining import RunStatus, Trigger
from tests.access_fixtures import grant_roles
from tests.schema_template import migrated


@pytest.fixture
def c(database_url: str, tmp_path: Path) -> Iterator[Container]:
    settings = Settings(DEPLOYER_HOME=str(tmp_path / "home"), DEPLOYER_DATABASE_URL=database_url)
    settings.ensure_home()
    migrated(settings.database_url)
    container = bootstrap(settings)
    grant_roles(container, {"ann": "approver", "bob": "approver"})
    yield container
    container.close()


def waiting_run(c: Container, run_id: str, requested_by: str = "ann") -> str:
    """An automatic run of an expensive policy, waiting for a person; its approval id."""
    with c.uow() as uow:
        row = uow.retraining.open_run(run_id, "iris", Trigger.DRIFT, requested_by, utcnow())
        approval = uow.retraining.await_approval(row, requested_by, utcnow())
        uow.commit()
        return approval.approval_id


def state(c: Container, run_id: str, approval_id: str) -> tuple[str, str, str | None]:
    with c.reader() as uow:
        run = uow.retraining.run(run_id)
        assert run is not None
        return run.status, uow.approvals.get(approval_id).state, run.active_model


def test_a_second_person_approves_an_expensive_retraining_and_it_is_requested(
    c: Container,
) -> None:
    approval_id = waiting_run(c, "rt-1")
    with pytest.raises(PermissionDeniedError):  # four eyes: not the one who asked
        operations.execute(c, Approve(approval_id=approval_id), "ann", "cli")
    assert state(c, "rt-1", approval_id) == ("awaiting_approval", "pending", "iris")
    done = operations.execute(c, Approve(approval_id=approval_id, comment="go"), "bob", "cli")
    assert done["status"] == RunStatus.REQUESTED.value
    assert state(c, "rt-1", approval_id) == ("requested", "approved", "iris")
    with pytest.raises(ConflictError):
        operations.execute(c, Reject(approval_id=approval_id), "bob", "cli")
    assert state(c, "rt-1", approval_id) == ("requested", "approved", "iris")
    with c.reader() as uow:
        assert [e.action for e in uow.audit.list("iris")] == ["approval_approved"]
    assert operations.list_approvals(c, every=True)[0]["metrics"] == []


def test_a_rejected_retraining_ends_and_frees_the_model(c: Container) -> None:
    approval_id = waiting_run(c, "rt-2")
    operations.execute(c, Reject(approval_id=approval_id, comment="not now"), "bob", "cli")
    assert state(c, "rt-2", approval_id) == ("rejected", "rejected", None)
    with c.uow() as uow:  # the model's one active slot is free again
        uow.retraining.open_run("rt-3", "iris", Trigger.MANUAL, "ann", utcnow())
        uow.commit()
