"""The agent's LangGraph store and checkpointer, opened from the deployer's database URL.

One URL configures everything (``DEPLOYER_DATABASE_URL``, SQLAlchemy style):

- ``sqlite:///path/to/deployer.db``: LangGraph's tables go to a *sibling* file,
  ``path/to/deployer-agent.db`` (see :func:`agent_sqlite_path`). Keeping them out of the
  deployer's own file keeps its schema exactly what the Alembic migrations make, and means a
  long checkpoint write never holds SQLite's single writer lock against a promotion. The name
  derives from the state file's, so two state files in one folder never share an agent file.
  ``sqlite://`` and ``sqlite:///:memory:`` give a private in-memory database.
- ``postgresql+psycopg://user@host/db`` (or ``postgresql://``): the same database; the driver
  part is stripped because LangGraph's savers take a libpq connection string.

Both context managers call ``.setup()`` (idempotent migrations) and close the connection on exit.
SQLite connections are opened with ``check_same_thread=False``; the savers serialise access with
their own lock. Note: ``SqliteSaver.list()`` holds that lock while its iterator is alive, so
materialise it (``list(saver.list(config))``) before calling the saver again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Final

import psycopg
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.serde.base import maybe_add_typed_methods
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.store.base import BaseStore
from langgraph.store.postgres import PostgresStore
from langgraph.store.sqlite import SqliteStore

from lifecycle.errors import ConfigurationError, InfrastructureError
from lifecycle.redaction import redact_uri
from memory.checkpoint_types import msgpack_allowlist, reachable_types

IN_MEMORY: Final = ":memory:"
AGENT_FILE_SUFFIX: Final = "-agent"


@contextmanager
def open_store(database_url: str) -> Iterator[BaseStore]:
    """A set-up ``SqliteStore`` or ``PostgresStore`` for ``database_url``, closed on exit."""
    with _open(database_url, SqliteStore, PostgresStore) as store:
        yield store


@contextmanager
def open_checkpointer(
    database_url: str, state_types: Iterable[type] = ()
) -> Iterator[BaseCheckpointSaver[str]]:
    """A set-up ``SqliteSaver`` or ``PostgresSaver`` for ``database_url``, closed on exit.

    Its serializer restores only LangGraph's safe types and the classes reachable from
    ``state_types`` (the graphs' state classes; see ``memory.checkpoint_types``): a checkpoint
    row naming any other class is refused, not imported."""
    # PostgresSaver.from_conn_string connects with autocommit and dict rows, as setup() needs.
    with _open(database_url, SqliteSaver, PostgresSaver) as saver:
        saver.serde = strict_serde(state_types)
        yield saver


def strict_serde(state_types: Iterable[type]) -> Any:
    """LangGraph's serializer with an explicit allow-list: the classes ``state_types`` reach."""
    allowed = msgpack_allowlist(reachable_types(*state_types))
    return maybe_add_typed_methods(JsonPlusSerializer(allowed_msgpack_modules=allowed))


@contextmanager
def _open(database_url: str, on_sqlite: Any, on_postgres: Any) -> Iterator[Any]:
    """Open ``on_sqlite`` or ``on_postgres`` (a LangGraph store or saver class) and set it up."""
    backend, target = parse_database_url(database_url)
    with ExitStack() as stack:
        with _opening(database_url):
            if backend == "sqlite":
                opened = stack.enter_context(on_sqlite.from_conn_string(_prepared(target)))
            else:
                opened = stack.enter_context(on_postgres.from_conn_string(target))
            opened.setup()
        yield opened


def parse_database_url(database_url: str) -> tuple[str, str]:
    """``("sqlite", file path or ":memory:")`` or ``("postgresql", libpq URL)`` for a URL."""
    scheme, separator, rest = database_url.partition("://")
    backend = scheme.split("+", 1)[0].lower()
    if not separator:
        raise ConfigurationError(f"not a database URL: {database_url!r}")
    if backend == "sqlite":
        return "sqlite", agent_sqlite_path(database_url)
    if backend in ("postgresql", "postgres"):
        return "postgresql", f"postgresql://{rest}"
    raise ConfigurationError(
        f"unsupported database URL scheme {scheme!r}; use sqlite:/// or postgresql+psycopg://"
    )


def agent_sqlite_path(database_url: str) -> str:
    """The file LangGraph uses next to the deployer's SQLite file: ``<dir>/<stem>-agent.db``.

    ``sqlite:////abs/deployer.db`` -> ``/abs/deployer-agent.db``; ``sqlite:///rel.db`` ->
    ``rel-agent.db`` (relative to the working folder, as SQLAlchemy reads it).
    """
    path = database_url.partition("://")[2].split("?", 1)[0]
    path = path[1:] if path.startswith("/") else path
    if path in ("", IN_MEMORY):
        return IN_MEMORY
    state = Path(path)
    return str(state.with_name(f"{state.stem}{AGENT_FILE_SUFFIX}{state.suffix or '.db'}"))


def _prepared(sqlite_path: str) -> str:
    """Create the folder of a SQLite file (sqlite3 will not), and return the path."""
    if sqlite_path != IN_MEMORY:
        Path(sqlite_path).parent.mkdir(parents=True, exist_ok=True)
    return sqlite_path


@contextmanager
def _opening(database_url: str) -> Iterator[None]:
    """A database that cannot be opened or set up is an infrastructure error."""
    try:
        yield
    except (sqlite3.Error, psycopg.Error) as exc:
        raise InfrastructureError(
            f"cannot open the agent's state at {_redacted(database_url)}: {exc}"
        ) from exc


def _redacted(database_url: str) -> str:
    """The URL without a password, for messages."""
    return redact_uri(database_url)
