"""``deployer audit verify`` on a real home after real actions, then after raw-SQL tampering.

Each tampering test puts the row back as it was, so the chain verifies again afterwards and the
tests do not depend on their order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from agents.bootstrap import bootstrap
from agents.handlers.registration import register_version
from agents.settings import Settings
from mlops.training import train_and_log
from tests import operations_calls
from tests.access_fixtures import grant_roles
from tests.e2e.cli import Result, run, run_here
from tests.mlflow_template import seed_mlflow_store

MODEL = "iris"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A home where iris v1 and v2 were registered and promoted to staging by the agent.

    ``deployer init`` makes the home; the four actions then run in this process through the
    same operations the CLI calls (the CLI's own are test_cli_agent's subject), which saves
    four interpreter and MLflow start-ups. The verification is the CLI's."""
    home = tmp_path_factory.mktemp("audit").resolve() / "home"
    env = {"DEPLOYER_HOME": str(home)}
    seed_mlflow_store(home / "mlflow.db")
    assert run_here("init", env=env).code == 0  # set-up: test_cli_init_status runs the process
    trained = train_and_log(f"sqlite:///{home / 'mlflow.db'}", artifact_root=home / "mlartifacts")
    c = bootstrap(Settings(DEPLOYER_HOME=str(home)))
    try:
        grant_roles(c, {"alice": "deployer"})  # the agent's intake: deployer in iris's tenant
        for _ in range(2):
            register_version(c.uow, c.registry, MODEL, trained.model_uri, "alice")
        for version, reason in (("1", "offline checks passed"), ("2", "")):
            done = operations_calls.promote(c, MODEL, version, "staging", "alice", reason)
            assert done["status"] == "promoted", done
    finally:
        c.close()
    return env


def verify(env: dict[str, str], *args: str) -> Result:
    return run("audit", "verify", *args, env=env)


@contextmanager
def database(env: dict[str, str]) -> Iterator[sqlite3.Connection]:
    """The home's state database, opened raw (as someone tampering with it would), past the
    triggers that refuse UPDATE and DELETE on audit rows (its owner can drop them)."""
    db = sqlite3.connect(Path(env["DEPLOYER_HOME"]) / "deployer.db")
    try:
        with db:
            for trigger in ("audit_events_no_update", "audit_events_no_delete"):
                db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            yield db
    finally:
        db.close()


def events(env: dict[str, str]) -> list[tuple[Any, ...]]:
    with database(env) as db:
        return db.execute("SELECT * FROM audit_events ORDER BY id").fetchall()


def test_the_chain_of_a_home_the_agent_worked_in_is_intact(env: dict[str, str]) -> None:
    count = len(events(env))
    assert count >= 4  # two registrations and two stage changes, at least
    plain = verify(env)
    assert (plain.code, plain.stdout.strip()) == (0, f"audit chain intact: {count} events")
    as_json = verify(env, "--json")
    assert as_json.code == 0
    assert as_json.json() == {"ok": True, "checked": count, "first_bad_id": None, "problem": ""}


def test_a_changed_payload_is_named_by_its_event(env: dict[str, str]) -> None:
    with database(env) as db:
        (original,) = db.execute("SELECT payload FROM audit_events WHERE id = 2").fetchone()
        db.execute("UPDATE audit_events SET payload = ? WHERE id = 2", ('{"forged": true}',))
    try:
        broken = verify(env)
        assert broken.code == 1
        assert broken.stdout == ""
        assert broken.stderr.strip() == "error: audit chain broken at event 2: event 2 was changed"
        report = verify(env, "--json")
        assert report.code == 1
        assert report.json() == {
            "ok": False,
            "checked": 1,
            "first_bad_id": 2,
            "problem": "event 2 was changed",
        }
    finally:
        with database(env) as db:
            db.execute("UPDATE audit_events SET payload = ? WHERE id = 2", (original,))
    assert verify(env).code == 0


@pytest.mark.parametrize("position", ["middle", "last"])
def test_a_removed_event_is_named(env: dict[str, str], position: str) -> None:
    rows = events(env)
    row = rows[1] if position == "middle" else rows[-1]
    event_id = row[0]
    with database(env) as db:
        db.execute("DELETE FROM audit_events WHERE id = ?", (event_id,))
    try:
        broken = verify(env, "--json")
        assert broken.code == 1
        report = broken.json()
        assert (report["ok"], report["first_bad_id"]) == (False, event_id)
        assert f"audit chain broken at event {event_id}:" in broken.stderr
        if position == "middle":
            assert report["problem"] == f"event {event_id} was removed"
        else:
            assert "events were removed" in report["problem"]
    finally:
        with database(env) as db:
            marks = ",".join("?" * len(row))
            db.execute(f"INSERT INTO audit_events VALUES ({marks})", row)
    assert verify(env).code == 0


def test_verification_with_another_key_says_the_key_is_wrong(env: dict[str, str]) -> None:
    wrong = verify({**env, "DEPLOYER_AUDIT_KEY": "another-key-0123456789abcdef0123456789"})

    assert wrong.code == 1
    assert "does not verify with this audit key: the key is wrong" in wrong.stderr
