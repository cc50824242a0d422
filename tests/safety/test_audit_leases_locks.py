"""Issue 13, items 9, 10 and 10b: the audit log cannot be rewritten without its key, leases are
judged on the database's clock and fenced, and one actor at a time changes a model.

Each test tries one way around an invariant, on SQLite and PostgreSQL, and asserts the typed
refusal (or the detection) and that nothing changed.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from agents.bootstrap import Container, bootstrap
from agents.entrypoints import watch
from agents.handlers.model_lock import Subject, one_actor_per_model
from agents.queries.audit import last_audit_check, record_audit_check
from agents.settings import Settings
from database import leases, locks, migrate
from database.audit import (
    AUDIT_KEY_INFO,
    AuditKeyMissingError,
    event_hash,
    head_mac,
    payload_of,
)
from database.engine import make_engine, make_session_factory
from database.models import AuditEventRow, AuditHeadRow, HealthCheckRow, ModelVersionRow
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import ConflictError
from lifecycle.stages import DeploymentStatus
from tests.audit_keys import TEST_AUDIT_KEY
from tests.integration.db_helpers import (
    add_version,
    deployment_row,
    disable_append_only_triggers,
    migrated_factory,
)
from tests.schema_template import migrated

WRONG_KEY = b"not-the-audit-key-0123456789abcdef01234567"


def keyed(factory: sessionmaker[Session], key: bytes | None) -> sessionmaker[Session]:
    """The same database through sessions that carry ``key`` (None: no key at all)."""
    engine = factory.kw["bind"]
    return make_session_factory(engine, {AUDIT_KEY_INFO: (lambda: key)} if key else {})


@pytest.fixture
def chain(database_url: str) -> sessionmaker[Session]:
    """A migrated database whose audit log holds five keyed events."""
    factory = migrated_factory(database_url)
    with SqlAlchemyUnitOfWork(factory) as uow:
        for i in range(5):
            uow.audit.append("alice", "promote", f"model/{i}", {"i": i})
        uow.commit()
    return factory


def verify(factory: sessionmaker[Session]) -> tuple[bool, int | None, str]:
    with SqlAlchemyUnitOfWork(factory, read_only=True) as uow:
        found = uow.audit.verify()
    return found.ok, found.first_bad_id, found.problem


def rows(factory: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with factory() as session:
        events = session.scalars(select(AuditEventRow).order_by(AuditEventRow.id)).all()
        return [(e.id, e.actor, e.payload_json, e.hash) for e in events]


# -- item 9: the keyed audit chain ----------------------------------------------------------


def test_an_edit_with_every_later_hash_and_the_head_recomputed_without_the_key_is_found(
    chain: sessionmaker[Session],
) -> None:
    with chain() as session:
        disable_append_only_triggers(session)
        events = session.scalars(select(AuditEventRow).order_by(AuditEventRow.id)).all()
        events[2].payload_json, events[2].payload = '{"i":99}', {"i": 99}
        for before, event in itertools.pairwise(events[1:]):
            event.prev_hash = before.hash
            event.hash = event_hash(event, WRONG_KEY)  # the forger's best: any key but ours
        head = session.get_one(AuditHeadRow, 1)
        head.last_hash = events[-1].hash
        head.mac = head_mac(head, WRONG_KEY)
        session.commit()

    ok, first_bad, problem = verify(chain)

    assert (ok, first_bad) == (False, 3)
    assert "changed" in problem


def test_an_edit_recomputed_as_an_unkeyed_chain_is_found(chain: sessionmaker[Session]) -> None:
    with chain() as session:
        disable_append_only_triggers(session)
        events = session.scalars(select(AuditEventRow).order_by(AuditEventRow.id)).all()
        events[3].actor = "mallory"
        for before, event in itertools.pairwise(events[2:]):
            event.prev_hash = before.hash
            event.hash = event_hash(event)  # the plain SHA-256 the chain had before keys
        head = session.get_one(AuditHeadRow, 1)
        head.last_hash, head.mac = events[-1].hash, None
        session.commit()

    assert verify(chain)[:2] == (False, 4)


def test_a_removed_tail_with_a_rewritten_head_is_found(chain: sessionmaker[Session]) -> None:
    with chain() as session:
        disable_append_only_triggers(session)
        session.execute(text("DELETE FROM audit_events WHERE id > 3"))
        third = session.get_one(AuditEventRow, 3)
        head = session.get_one(AuditHeadRow, 1)
        head.last_id, head.last_hash = 3, third.hash
        head.mac = head_mac(head, WRONG_KEY)
        session.commit()

    ok, _, problem = verify(chain)

    assert not ok
    assert "head was rewritten" in problem


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_events SET actor = 'mallory' WHERE id = 2",
        "DELETE FROM audit_events WHERE id = 5",
        "DELETE FROM audit_events",
        "UPDATE audit_head SET keyed_from = 99",
    ],
    ids=["update", "delete the tail", "delete all", "move where keys begin"],
)
def test_the_database_refuses_to_change_or_delete_audit_rows(
    chain: sessionmaker[Session], sql: str
) -> None:
    before = rows(chain)
    with pytest.raises(DBAPIError, match="audit"), chain() as session:
        session.execute(text(sql))
        session.commit()

    assert rows(chain) == before
    assert verify(chain) == (True, None, "")


def test_verification_without_the_key_says_the_key_is_missing(
    chain: sessionmaker[Session],
) -> None:
    ok, first_bad, problem = verify(keyed(chain, None))

    assert (ok, first_bad) == (False, 1)
    assert problem.startswith("no audit key")


def test_verification_with_a_wrong_key_says_the_key_is_wrong(chain: sessionmaker[Session]) -> None:
    ok, first_bad, problem = verify(keyed(chain, WRONG_KEY))

    assert (ok, first_bad) == (False, 1)
    assert "key is wrong" in problem


def test_an_append_without_the_key_is_refused_and_writes_nothing(
    chain: sessionmaker[Session],
) -> None:
    before = rows(chain)
    with pytest.raises(AuditKeyMissingError), SqlAlchemyUnitOfWork(keyed(chain, None)) as uow:
        uow.audit.append("mallory", "promote", "model/x", {})

    assert rows(chain) == before


ROUND_TRIP = {
    "a large integer": {"n": 2**70 + 1},
    "0.1 + 0.2": {"x": 0.1 + 0.2},
    "the largest double's neighbourhood": {"x": 1e308, "y": -1.7976931348623157e308},
    "a tiny float": {"x": 5e-324},
    "unicode": {"who": "Zoë 🚀 中文", "ключ": "é\u0301"},
    "nested": {"a": [1, 2.5, {"b": None, "c": True}], "z": "last"},
}


@pytest.mark.parametrize("payload", ROUND_TRIP.values(), ids=ROUND_TRIP.keys())
def test_a_payload_reads_back_exactly_and_verifies(
    database_url: str, payload: dict[str, Any]
) -> None:
    factory = migrated_factory(database_url)
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.audit.append("alice", "note", "payload", payload)
        uow.commit()

    with factory() as session:
        [event] = session.scalars(select(AuditEventRow)).all()
        back = payload_of(event)

    assert back == payload
    assert _types(back) == _types(payload)
    assert verify(factory) == (True, None, "")


def _types(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value).__name__


def test_a_non_finite_float_is_kept_as_text_and_the_chain_still_verifies(
    database_url: str,
) -> None:
    factory = migrated_factory(database_url)
    with SqlAlchemyUnitOfWork(factory) as uow:
        event = uow.audit.append("alice", "note", "payload", {"x": math.nan, "y": -math.inf})
        uow.commit()

    assert payload_of(event) == {"x": "NaN", "y": "-Infinity"}
    assert verify(factory) == (True, None, "")


def test_a_chain_from_before_keys_verifies_and_keyed_events_continue_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _legacy_chain(url)
    migrate.upgrade(url)
    factory = migrated_factory(url)
    with SqlAlchemyUnitOfWork(factory) as uow:
        uow.audit.append("bob", "promote", "model/new", {"n": 1})
        uow.commit()
    with factory() as session:
        head = session.get_one(AuditHeadRow, 1)

    assert (head.keyed_from, head.last_id) == (3, 3)
    assert verify(factory) == (True, None, "")
    with factory() as session:  # an old event is still protected by its plain chain
        disable_append_only_triggers(session)
        session.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE id = 1"))
        session.commit()
    assert verify(factory)[:2] == (False, 1)


def _legacy_chain(url: str) -> None:
    """Two events written the way the deployer wrote them before migration 0008."""
    from alembic import command

    engine = make_engine(url)
    with engine.begin() as conn:
        config = migrate.alembic_config(url)
        config.attributes["connection"] = conn
        command.upgrade(config, "0005")
    prev = "0" * 64
    with engine.begin() as conn:
        for i in (1, 2):
            event = AuditEventRow(
                id=i,
                occurred_at=_at(i),
                actor="alice",
                action="promote",
                subject=f"model/{i}",
                payload={"i": i},
                prev_hash=prev,
            )
            event.hash = event_hash(event)
            conn.execute(
                text(
                    "INSERT INTO audit_events (id, occurred_at, actor, action, subject, payload, "
                    "prev_hash, hash) VALUES (:id, :at, 'alice', 'promote', :s, :p, :prev, :h)"
                ),
                {
                    "id": i,
                    "at": event.occurred_at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                    "s": f"model/{i}",
                    "p": f'{{"i": {i}}}',
                    "prev": prev,
                    "h": event.hash,
                },
            )
            prev = event.hash
        conn.execute(text("INSERT INTO audit_head VALUES (1, 2, :h)"), {"h": prev})
    engine.dispose()


def _at(i: int) -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 1, 1, 12, 0, i, tzinfo=UTC)


# -- the watcher verifies the chain on a schedule ---------------------------------------------


@pytest.fixture
def container(database_url: str, tmp_path: Path) -> Iterator[Container]:
    settings = Settings(
        DEPLOYER_HOME=str(tmp_path / "home"),
        DEPLOYER_DATABASE_URL=database_url,
        DEPLOYER_USER="alice",
    )
    settings.ensure_home()
    migrated(database_url)
    c = bootstrap(settings)
    yield c
    c.close()


def test_a_scheduled_check_records_a_break_and_status_shows_it(container: Container) -> None:
    with container.uow() as uow:
        for i in range(3):
            uow.audit.append("alice", "promote", f"model/{i}", {"i": i})
        uow.commit()
    assert record_audit_check(container, "watcher")["ok"]
    with container.session_factory() as session:
        disable_append_only_triggers(session)
        session.execute(text("DELETE FROM audit_events WHERE id = 2"))
        session.commit()

    found = watch.scheduled_audit_check(container, 0, "watcher")
    skipped = watch.scheduled_audit_check(container, 1, "watcher")

    assert found is not None and not found["ok"] and skipped is None
    last = last_audit_check(container)
    assert last is not None and (last["ok"], last["first_bad_id"]) == (False, 2)
    from agents.entrypoints.cli.output import console
    from agents.entrypoints.cli.render import render_status
    from agents.queries.status import home_status

    shown = home_status(container)
    with console.capture() as printed:
        render_status(shown)
    assert shown["audit"]["ok"] is False
    assert "audit chain broken" in printed.get()


# -- item 10: leases on the database clock, with a fence ---------------------------------------


def test_a_write_carrying_a_stale_fence_is_refused_and_changes_nothing(database_url: str) -> None:
    factory = migrated_factory(database_url)
    add_version(factory)
    stale = leases.acquire(factory, "monitor", "watcher-a", 0.2)
    time.sleep(0.3)  # the database's clock passes its expiry: watcher-b takes over
    fresh = leases.acquire(factory, "monitor", "watcher-b", 60)
    assert fresh.held and fresh.fence == stale.fence + 1

    old = _fenced(factory, leases.Fence("monitor", "watcher-a", stale.fence))
    with pytest.raises(leases.StaleFenceError), SqlAlchemyUnitOfWork(old) as uow:
        uow.models.get("fraud_detector", "2").stage = "production"
        uow.commit()

    with factory() as session:
        assert session.scalars(select(ModelVersionRow.stage)).all() == ["development"]
    new = _fenced(factory, leases.Fence("monitor", "watcher-b", fresh.fence))
    with SqlAlchemyUnitOfWork(new) as uow:
        uow.models.get("fraud_detector", "2").stage = "staging"
        uow.commit()


def _fenced(factory: sessionmaker[Session], fence: leases.Fence) -> sessionmaker[Session]:
    return make_session_factory(
        factory.kw["bind"], {AUDIT_KEY_INFO: lambda: TEST_AUDIT_KEY, leases.FENCE_INFO: fence}
    )


def test_a_watcher_whose_clock_runs_ahead_cannot_take_a_held_lease(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = migrated_factory(database_url)
    held = leases.acquire(factory, "monitor", "watcher-a", 60)
    ahead = held.expires_at + timedelta(hours=1)
    monkeypatch.setattr("lifecycle.records.utcnow", lambda: ahead)  # watcher-b's skewed clock

    taken = leases.acquire(factory, "monitor", "watcher-b", 60)

    assert (taken.held, taken.holder) == (False, "watcher-a")
    current = leases.current(factory, "monitor")
    assert current is not None and (current.holder, current.fence) == ("watcher-a", held.fence)


def test_two_watchers_racing_for_the_lease_never_hold_it_at_once(database_url: str) -> None:
    factory = migrated_factory(database_url)
    holding, most, stop = [0], [0], threading.Event()
    guard = threading.Lock()

    def watcher(name: str) -> None:
        while not stop.is_set():
            if leases.acquire(factory, "monitor", name, 0.3).held:
                with guard:
                    holding[0] += 1
                    most[0] = max(most[0], holding[0])
                time.sleep(0.02)
                with guard:
                    holding[0] -= 1
                leases.release(factory, "monitor", name)

    threads = [threading.Thread(target=watcher, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join()

    assert most[0] == 1


def test_a_watcher_that_lost_its_lease_mid_tick_writes_nothing(container: Container) -> None:
    fence = watch.fence_writes(container, "watcher-a")
    lease = leases.acquire(container.session_factory, watch.LEASE_NAME, "watcher-a", 0.2)
    fence.token = lease.fence
    time.sleep(0.3)
    assert leases.acquire(container.session_factory, watch.LEASE_NAME, "watcher-b", 60).held

    report = watch.fenced_tick(container, _NoAgent(), watch.Tick(), fence, 60.0, 0)  # type: ignore[arg-type]

    assert report["status"] == "fenced_out"
    with container.reader() as uow:
        assert uow.session.scalar(text("SELECT count(*) FROM audit_checks")) == 0


def test_a_tick_longer_than_the_lease_keeps_it_by_renewing_in_the_background(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch, "heal", lambda agent, request, models: [])  # none in flight here
    add_version(container.session_factory, "iris", "1")
    with container.uow() as uow:
        uow.deployments.add(deployment_row("d-1", DeploymentStatus.ACTIVE, "iris", "1"))
        uow.commit()
    rivals: list[bool] = []

    class SlowAgent:
        def tick(
            self, requested_by: str = "monitor", model_name: str = "", models: Any = ()
        ) -> dict[str, Any]:
            for _ in range(4):  # 4 s in all, twice the lease's 2 s
                time.sleep(1.0)
                rival = leases.acquire(container.session_factory, watch.LEASE_NAME, "b", 60)
                rivals.append(rival.held)
            return {"monitor": {"tick_id": "t", "checks": []}}

    fence = watch.fence_writes(container, "watcher-a")
    fence.token = leases.acquire(
        container.session_factory, watch.LEASE_NAME, "watcher-a", 0.3
    ).fence

    report = watch.fenced_tick(container, SlowAgent(), watch.Tick(), fence, 0.3, 0)  # type: ignore[arg-type]

    assert rivals == [False] * 4
    assert report["status"] == "ticked" and report["audit"]["ok"]


class _NoAgent:
    def tick(
        self, requested_by: str = "monitor", model_name: str = "", models: Any = ()
    ) -> dict[str, Any]:
        raise AssertionError("no model to tick")


# -- item 10b: one actor per model ---------------------------------------------------------------


def test_a_model_lock_has_one_holder_and_passes_on_only_after_expiry(database_url: str) -> None:
    factory = migrated_factory(database_url)
    first = locks.try_acquire(factory, "iris", "deploy by alice", 0.3)
    refused = locks.try_acquire(factory, "iris", "monitor", 60)
    time.sleep(0.4)
    stolen = locks.try_acquire(factory, "iris", "monitor", 60)

    assert first.held and not refused.held and refused.holder == "deploy by alice"
    assert stolen.held and stolen.token == first.token + 1
    assert not locks.renew(factory, "iris", "deploy by alice", first.token, 60)


def test_many_locks_are_taken_at_once_leaving_a_held_one_to_its_holder(database_url: str) -> None:
    factory = migrated_factory(database_url)
    assert locks.try_acquire(factory, "iris", "deploy by bob", 60).held
    dead = locks.try_acquire(factory, "churn", "a dead watcher", 0)  # expired at once

    with locks.holding_many(factory, ["iris", "churn", "fresh"], "monitor (w)", 60) as held:
        assert held.tokens == {"churn": dead.token + 1, "fresh": 1}
        assert held.others == {"iris": "deploy by bob"}
        assert locks.held_here("churn") and not locks.held_here("iris")
        refused = locks.try_acquire(factory, "fresh", "deploy by carol", 60)
        locks.renew_many(factory, held.tokens, "monitor (w)", 60)
        again = locks.try_acquire_many(factory, ["churn", "fresh"], "monitor (w)", 60)

    assert (refused.held, refused.holder) == (False, "monitor (w)")
    assert again.tokens == held.tokens  # its own locks, taken again: the same tokens
    assert not locks.held_here("churn")
    assert locks.try_acquire(factory, "churn", "deploy by carol", 60).held  # given back
    bob = locks.holder_of(factory, "iris")
    assert bob is not None and bob.holder == "deploy by bob"  # never released by another


def test_the_watcher_neither_judges_nor_acts_on_a_model_another_operation_holds(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch, "heal", lambda agent, request, models: [])  # none in flight here
    add_version(container.session_factory, "iris", "1")
    with container.uow() as uow:
        uow.deployments.add(deployment_row("d-1", DeploymentStatus.ACTIVE, "iris", "1"))
        uow.commit()
    ticked: list[str] = []

    class Agent:
        def tick(
            self, requested_by: str = "monitor", model_name: str = "", models: Any = ()
        ) -> dict[str, Any]:
            ticked.append(model_name or ",".join(models))
            return {"monitor": {"tick_id": "t", "checks": []}}

    agent = Agent()
    held = locks.try_acquire(container.session_factory, "iris", "deploy by bob", 60)
    assert held.held
    out = watch.tick_models(container, agent, watch.Tick(), "w", 60.0)  # type: ignore[arg-type]
    locks.release(container.session_factory, "iris", "deploy by bob")
    after = watch.tick_models(container, agent, watch.Tick(), "w", 60.0)  # type: ignore[arg-type]

    [skip] = out["monitor"]["checks"]
    assert (skip["model_name"], skip["action"]) == ("iris", "skipped")
    assert "deploy by bob" in skip["message"]
    assert ticked == ["iris"] and after["monitor"]["checks"] == []
    with container.reader() as uow:
        assert uow.session.scalar(select(func.count()).select_from(HealthCheckRow)) == 0


def test_every_wrapped_flow_waits_for_the_model_and_changes_nothing_if_it_never_frees(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        DEPLOYER_HOME=str(tmp_path / "home"),
        DEPLOYER_DATABASE_URL=database_url,
        DEPLOYER_USER="alice",
        DEPLOYER_MODEL_LOCK_WAIT_SECONDS="0.3",
    )
    settings.ensure_home()
    migrated(database_url)
    c = bootstrap(settings)
    try:
        add_version(c.session_factory, "iris", "1")
        with c.uow() as uow:
            uow.deployments.add(deployment_row("d-1", DeploymentStatus.ACTIVE, "iris", "1"))
            uow.commit()
        assert locks.try_acquire(c.session_factory, "iris", "deploy by bob", 60).held
        from agents.commands import Rollback
        from agents.handlers import operations, serving, traffic

        attempts = {
            "traffic set": lambda: traffic.set_routes(c, "iris", {"d-1": 100.0}, "alice"),
            "endpoints stop": lambda: serving.stop_endpoint(c, "d-1", "alice", "drill"),
            "rollback": lambda: operations.execute(c, Rollback(model_name="iris"), "alice", "cli"),
            "down": lambda: serving.down(c, "alice"),
        }
        for flow, attempt in attempts.items():
            with pytest.raises(locks.ModelLockedError, match="deploy by bob"):
                attempt()
            assert c.router.get_routes("iris") is None, flow
            with c.reader() as uow:
                assert uow.deployments.get("d-1").status == "active", flow
    finally:
        c.close()


def _services(factory: sessionmaker[Session], wait: float) -> Any:
    settings = SimpleNamespace(model_lock_seconds=60.0, model_lock_wait_seconds=wait)
    return SimpleNamespace(session_factory=factory, settings=settings)


def test_a_users_flow_waits_for_the_watcher_and_then_runs(database_url: str) -> None:
    factory = migrated_factory(database_url)
    assert locks.try_acquire(factory, "iris", "monitor (w)", 60).held
    ran: list[str] = []

    @one_actor_per_model(lambda c, model: Subject(model, "alice", "deploy"))
    def deploy(c: Any, model: str) -> str:
        ran.append(model)
        holder = locks.holder_of(factory, model)
        return holder.holder if holder else ""

    threading.Timer(0.5, locks.release, (factory, "iris", "monitor (w)")).start()
    holder = deploy(_services(factory, 30.0), "iris")

    assert ran == ["iris"] and holder.startswith("deploy by alice")
    assert locks.holder_of(factory, "iris") is None


def test_a_lock_that_never_frees_fails_the_flow_in_one_line_and_runs_nothing(
    database_url: str,
) -> None:
    factory = migrated_factory(database_url)
    assert locks.try_acquire(factory, "iris", "deploy by bob", 60).held
    ran: list[str] = []

    @one_actor_per_model(lambda c, model: Subject(model, "alice", "traffic set"))
    def set_traffic(c: Any, model: str) -> None:
        ran.append(model)

    with pytest.raises(locks.ModelLockedError) as caught:
        set_traffic(_services(factory, 0.3), "iris")

    assert ran == [] and "\n" not in str(caught.value)
    assert "deploy by bob" in str(caught.value)
    still = locks.holder_of(factory, "iris")
    assert still is not None and still.holder == "deploy by bob"


def test_a_conflict_inside_a_flow_is_retried_and_an_answer_to_an_approval_is_not(
    database_url: str,
) -> None:
    factory = migrated_factory(database_url)
    tries: list[str] = []

    def flaky(c: Any, model: str, retry: bool) -> str:
        tries.append(model)
        if len(tries) == 1:
            raise ConflictError("lost a race")
        return "done"

    def subject(c: Any, model: str, retry: bool) -> Subject:
        return Subject(model, "alice", "deploy", retry=retry)

    wrapped = one_actor_per_model(subject)(flaky)
    assert wrapped(_services(factory, 5.0), "iris", True) == "done"
    tries.clear()
    with pytest.raises(ConflictError):
        wrapped(_services(factory, 5.0), "iris", False)
    assert tries == ["iris"]
