"""One small read done often (a gateway's poll of ``DbRouter.fingerprint``) done cheaply.

Through a pooled session a read on PostgreSQL is several round trips: the pool's ping at
checkout, BEGIN, the read-only setting and its reset, the query, ROLLBACK. A gateway polls
twice a second for as long as it runs, so :class:`KeptReader` keeps one connection in
autocommit for it: a poll is the query alone (one statement is one snapshot). A failed read
drops the connection and raises; the next read opens another. On SQLite (in process, no round
trips) it reads through a read-only session as every other read does.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Connection, Engine, Row
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Select

from database.engine import read_session


class KeptReader:
    """Runs one-row selects on a kept autocommit connection (PostgreSQL), else a session."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory
        self._connection: Connection | None = None
        self._lock = threading.Lock()

    def one(self, statement: Select[Any]) -> Row[Any]:
        """The one row ``statement`` selects."""
        engine = self.session_factory.kw.get("bind")
        if not isinstance(engine, Engine) or engine.dialect.name != "postgresql":
            with read_session(self.session_factory) as session:
                return session.execute(statement).one()
        with self._lock:
            if self._connection is None:
                connection = engine.connect()
                self._connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            try:
                return self._connection.execute(statement).one()
            except BaseException:
                self._close()
                raise

    def close(self) -> None:
        """Give the kept connection back (a later read opens another)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # a broken connection: the pool discards it
                connection.invalidate()
