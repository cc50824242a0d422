"""Engines and sessions for SQLite and PostgreSQL, with the settings concurrency needs.

SQLite: WAL, foreign keys on, a busy timeout. A writing transaction opens with
``BEGIN IMMEDIATE``. With pysqlite's deferred BEGIN a transaction that has read and then writes
must upgrade its read lock; if another writer got in first, SQLite fails it at once with
SQLITE_BUSY (in WAL, SQLITE_BUSY_SNAPSHOT: its snapshot is stale) instead of waiting out the
busy timeout, as waiting could not help. Taking the write lock up front makes writers queue
instead, so an optimistic-version conflict is detected cleanly rather than as "database is
locked". A read-only transaction (:func:`read_session`, or a unit of work with
``read_only=True``) opens with a deferred ``BEGIN`` under ``PRAGMA query_only``: it never
upgrades (it cannot write), and WAL lets it read the last committed snapshot while another
connection holds the write lock. PostgreSQL: psycopg 3 with pre-ping; a read-only transaction
is ``READ ONLY``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from lifecycle.errors import ConfigurationError
from lifecycle.redaction import redact_uri

SQLITE_BUSY_TIMEOUT_MS = 30_000

READ_ONLY = "deployer_read_only"
"""The execution option that marks a connection's transaction as read-only."""

READ_ONLY_OPTIONS: Mapping[str, bool] = MappingProxyType(
    {READ_ONLY: True, "postgresql_readonly": True}
)
"""Execution options of a read-only transaction on either backend (each ignores the other's)."""


def parse_url(url: str) -> URL:
    """Parse and check a database URL; anything we do not support is one readable line."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(
            f"cannot read database URL {url!r}; use sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST:PORT/DB"
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"unsupported database {parsed.get_backend_name()!r}; use SQLite or PostgreSQL"
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def redact(url: str) -> str:
    """The URL with any password (and secret query value) hidden, for output and logs."""
    return redact_uri(url)


def make_engine(url: str) -> Engine:
    """An engine for ``url``, set up for its backend; creates the folder of an SQLite file."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    try:
        return create_engine(parsed, pool_pre_ping=True, future=True)
    except NoSuchModuleError as exc:
        raise ConfigurationError(f"no driver for {redact(url)}: {exc}") from None


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        folder = Path(database).expanduser().resolve().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"cannot create the folder of {database}: {exc}") from None
    engine = create_engine(
        url, future=True, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = bool(conn.get_execution_options().get(READ_ONLY, False))
        # query_only outlives the transaction on the pooled connection: set it only on a change.
        if conn.info.get(READ_ONLY, False) != read_only:
            conn.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
            conn.info[READ_ONLY] = read_only
        # A read never upgrades to a write (query_only), so a deferred BEGIN cannot fail on an
        # upgrade; WAL lets it read beside a writer. A write takes the lock now (module doc).
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def make_session_factory(
    engine: Engine, info: dict[str, Any] | None = None
) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (results outlive the unit of work).

    ``info`` is copied into each new session's ``Session.info`` (the audit key,
    ``database.audit.AUDIT_KEY_INFO``; a watcher's fence, ``database.leases.FENCE_INFO``); the
    dict is read at each session's creation, so later changes to it reach later sessions."""
    return sessionmaker(bind=engine, expire_on_commit=False, future=True, info=info)


def read_session(factory: sessionmaker[Session]) -> Session:
    """A session of ``factory`` whose transaction only reads.

    On SQLite it does not take the write lock, so it neither waits for a writer nor holds one
    up; on both backends the database refuses a write in it. Read only what is shown or served
    with it: a value read here and written back later is not protected against a rival writer.
    """
    session = factory()
    try:
        # Applied when the connection is procured, so before the transaction begins.
        session.connection(execution_options=READ_ONLY_OPTIONS)
    except BaseException:
        session.close()
        raise
    return session
