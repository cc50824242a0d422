"""The audit log's hash chain finds any edited or removed row, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from database.audit import event_hash
from database.models import AuditEventRow
from database.uow import SqlAlchemyUnitOfWork
from tests.integration.db_helpers import disable_append_only_triggers, migrated_factory


@pytest.fixture
def factory(database_url: str) -> sessionmaker[Session]:
    factory = migrated_factory(database_url)
    with SqlAlchemyUnitOfWork(factory) as uow:
        for i in range(5):
            uow.audit.append("alice", "promote", f"model/{i}", {"i": i, "why": "test"})
        uow.commit()
    return factory


def tamper(factory: sessionmaker[Session], sql: str) -> None:
    """Run ``sql`` as the database's owner would: past the append-only triggers."""
    with factory() as session:
        disable_append_only_triggers(session)
        session.execute(text(sql))
        session.commit()


def verify(factory: sessionmaker[Session]) -> tuple[bool, int | None, str]:
    with SqlAlchemyUnitOfWork(factory, read_only=True) as uow:
        v = uow.audit.verify()
    return v.ok, v.first_bad_id, v.problem


def test_an_untouched_chain_verifies(factory: sessionmaker[Session]) -> None:
    assert verify(factory) == (True, None, "")


TAMPERING = {
    "an edited payload is named": (
        "UPDATE audit_events SET actor = 'mallory' WHERE id = 3",
        3,
        "changed",
    ),
    "a deleted middle row is named": ("DELETE FROM audit_events WHERE id = 2", 2, "removed"),
    "a deleted first row is named": ("DELETE FROM audit_events WHERE id = 1", 1, "removed"),
    "a deleted last row is found through the head": (
        "DELETE FROM audit_events WHERE id = 5",
        5,
        "removed",
    ),
    # A fixed value: flipping one hex digit could leave a hash that already had it unchanged.
    "an edited stored hash is named": (
        f"UPDATE audit_events SET hash = '{'ab' * 32}' WHERE id = 4",
        4,
        "changed",
    ),
    "a removed head is found": ("DELETE FROM audit_head", None, "head"),
}


@pytest.mark.parametrize(("sql", "bad_id", "word"), TAMPERING.values(), ids=TAMPERING.keys())
def test_tampering_is_found_and_the_first_bad_row_named(
    factory: sessionmaker[Session], sql: str, bad_id: int | None, word: str
) -> None:
    tamper(factory, sql)
    ok, first_bad, problem = verify(factory)
    assert not ok
    assert first_bad == bad_id
    assert word in problem


@pytest.mark.parametrize(("row_id", "bad_id"), [(3, 3), (5, 5)], ids=["middle", "last"])
def test_an_edited_row_whose_hash_was_recomputed_without_the_key_is_named(
    factory: sessionmaker[Session], row_id: int, bad_id: int
) -> None:
    with SqlAlchemyUnitOfWork(factory) as uow:
        disable_append_only_triggers(uow.session)
        event = uow.session.get_one(AuditEventRow, row_id)
        event.payload = {"i": row_id, "why": "forged"}
        event.hash = event_hash(event)
        uow.commit()
    ok, first_bad, _ = verify(factory)
    assert (ok, first_bad) == (False, bad_id)


def test_appending_after_verification_continues_the_chain(factory: sessionmaker[Session]) -> None:
    with SqlAlchemyUnitOfWork(factory) as uow:
        event = uow.audit.append("bob", "rollback", "model/1")
        uow.commit()
    assert event.id == 6
    assert verify(factory)[0]
