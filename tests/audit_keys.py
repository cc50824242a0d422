"""The audit key tests write with: sessions the tests make themselves carry it, as the
Container's carry the home's (``database.audit.AUDIT_KEY_INFO``)."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from database.audit import AUDIT_KEY_INFO
from database.engine import make_session_factory

TEST_AUDIT_KEY = b"test-audit-key-0123456789abcdef0123456789"


def the_test_key() -> bytes:
    return TEST_AUDIT_KEY


def keyed_factory(engine: Engine) -> sessionmaker[Session]:
    """``make_session_factory(engine)`` whose sessions append with the tests' audit key."""
    return make_session_factory(engine, {AUDIT_KEY_INFO: the_test_key})
