"""One small read done often (a gateway's poll of ``DbRouter.fingerprint``) done cheaply.

Through a pooled session a read is several steps: on PostgreSQL the pool's ping at checkout,
BEGIN, the read-only setting and its reset, the query, ROLLBACK (several round trips); on
SQLite the session, the pool, the ``query_only`` check and BEGIN. A gateway polls twice a
second for as long as it runs, so :class:`KeptReader` keeps one connection for it and runs
the statement, compiled once, on the driver's own cursor in autocommit: a poll is the query
alone (one statement is one snapshot on both databases). Measured here: about 350 -> 10 us of
CPU a poll on SQLite, 140 -> 50 us on PostgreSQL, SQLAlchemy's statement machinery being most
of it. On SQLite a read first asks ``PRAGMA data_version`` (a number that moves whenever
another connection, in any process, commits to the file) and answers the row it read last
when nothing was committed since: the aggregates of a 1,000-model table scan thousands of rows
in the gateway's own process, and most polls follow no write at all. A failed read drops the
connection and raises SQLAlchemy's wrapper of the driver's error (``OperationalError`` for a
dead connection); the next read opens another.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Select


class KeptReader:
    """Runs one-row selects without parameters on a kept autocommit connection."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory
        self._connection: Connection | None = None
        self._compiled: dict[int, tuple[Select[Any], str]] = {}
        self._last: dict[str, tuple[Any, tuple[Any, ...]]] = {}
        """SQLite: each statement's last row, by the ``data_version`` it was read at."""
        self.reads = 0
        """How many times a statement was run (not answered from ``_last``)."""
        self._lock = threading.Lock()

    def one(self, statement: Select[Any]) -> tuple[Any, ...]:
        """The one row ``statement`` selects, as the driver returns its values (compare them
        with values read the same way: a time may be text on SQLite)."""
        engine = self.session_factory.kw.get("bind")
        assert isinstance(engine, Engine), "a session factory bound to one engine"
        sql = self._sql(statement, engine)
        with self._lock:
            if self._connection is None:
                connection = engine.connect()
                if engine.dialect.name == "postgresql":  # SQLite's driver is in autocommit
                    # already (database.engine: BEGIN is sent only for SQLAlchemy's own
                    # transactions, which this connection never starts); the pool resets this
                    connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                self._connection = connection
            try:
                driver = self._connection.connection.driver_connection
                assert driver is not None, "a checked-out connection has its driver's"
                cursor = driver.cursor()
                try:
                    version = None
                    if engine.dialect.name == "sqlite":
                        version = cursor.execute("PRAGMA data_version").fetchone()[0]
                        last = self._last.get(sql)
                        if last is not None and last[0] == version:
                            return last[1]  # nothing committed since: the same row
                    cursor.execute(sql)
                    row = cursor.fetchone()
                    self.reads += 1
                finally:
                    cursor.close()  # ends SQLite's statement, and with it its read snapshot
            except BaseException as exc:
                self._close()
                dbapi = engine.dialect.loaded_dbapi
                if isinstance(exc, dbapi.Error):
                    raise DBAPIError.instance(sql, None, exc, dbapi.Error) from exc
                raise
            assert row is not None, "an aggregate select has one row"
            if version is not None:  # a commit after the pragma: the next read runs again
                self._last[sql] = (version, tuple(row))
        return tuple(row)

    def _sql(self, statement: Select[Any], engine: Engine) -> str:
        """``statement`` as the database's text, compiled on first use (its values inline)."""
        kept = self._compiled.get(id(statement))
        if kept is None or kept[0] is not statement:
            text = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
            kept = self._compiled[id(statement)] = (statement, text)
        return kept[1]

    def close(self) -> None:
        """Give the kept connection back (a later read opens another)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        self._last.clear()  # data_version is the connection's own
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # a broken connection: the pool discards it
                connection.invalidate()
