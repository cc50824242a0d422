"""A state database migrated once per session, copied into a test's fresh database.

``database.migrate.upgrade`` runs every Alembic migration of the project on an empty database:
~0.4-1 s on SQLite and ~1-2.5 s on PostgreSQL on CI's 2 cores, paid by every test whose
fixture wants a migrated database (hundreds of them, on both databases). Where the migration
is set-up and not the subject, ``migrated(url)`` gives the same schema as a copy of a database
that ``migrate.upgrade`` itself migrated earlier in the session: a file copy on SQLite, a
``CREATE DATABASE ... TEMPLATE`` on PostgreSQL (~0.1 s; with the agents' LangGraph checkpoint
and memory tables, made by LangGraph's own ``setup()``, as a home's first agent would). A
database that is not fresh (a file with content, a PostgreSQL database with tables: a test's
legacy chain, a database at an earlier revision) is migrated by ``migrate.upgrade`` as before,
and so is any other kind of URL.

Migrations stay proven where they are the subject: tests/integration/test_upgrades.py,
test_database_repositories.py's schema-equality and migrate-twice tests and
test_database_engine.py call ``migrate.upgrade`` themselves, and every ``deployer init`` run as
a process (or in one, ``run_here``) migrates for real.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import sqlite3
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from database import migrate
from database.engine import make_engine

_sqlite_template: Path | None = None
_postgres_templates: dict[tuple[str | None, int | None, str | None], str] = {}


def migrated(url: str) -> str:
    """Bring the database at ``url`` to the newest schema; a fresh one by copying the session's
    migrated template. Returns the revision it is at (as ``migrate.upgrade`` does)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        target = Path(str(parsed.database))
        if not target.exists() or target.stat().st_size == 0:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_sqlite(), target)
            return migrate.head_revision()
    elif parsed.get_backend_name() == "postgresql" and _has_no_tables(url):
        _clone_postgres(url)
        return migrate.head_revision()
    return migrate.upgrade(url)


def _sqlite() -> Path:
    """The SQLite template, migrated by ``migrate.upgrade`` on first use in this session."""
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix="deployer-schema-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        made = folder / "deployer.db"
        migrate.upgrade(f"sqlite:///{made}")
        with contextlib.closing(sqlite3.connect(made)) as db:  # all of it in the one file
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _sqlite_template = made
    return _sqlite_template


def _has_no_tables(url: str) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return not inspect(conn).get_table_names()
    finally:
        engine.dispose()


def _clone_postgres(url: str) -> None:
    """Replace the fresh (table-less, unused) database at ``url`` by a copy of the server's
    template; the template is made by ``migrate.upgrade`` on first use per server."""
    import psycopg

    parsed = make_url(url)
    server = (parsed.host, parsed.port, parsed.username)
    admin = (
        f"host={parsed.host} port={parsed.port} user={parsed.username} dbname=postgres"
        " connect_timeout=5"
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        template = _postgres_templates.get(server)
        if template is None:
            template = f"deployer_template_{uuid.uuid4().hex[:12]}"
            conn.execute(f'CREATE DATABASE "{template}"')
            made = parsed.set(database=template).render_as_string(hide_password=False)
            migrate.upgrade(made)
            _set_up_langgraph(made)
            _postgres_templates[server] = template
            atexit.register(_drop_quietly, admin, template)  # a server the tests did not start
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}" TEMPLATE "{template}"')


def _set_up_langgraph(url: str) -> None:
    """The agents' checkpoint and memory tables, which live in the same PostgreSQL database and
    which LangGraph's own ``setup()`` makes at a home's first agent (~0.9 s on a fresh database,
    ~0.2 s once made): made in the template as that first ``setup()`` would."""
    from memory.stores import open_checkpointer, open_store

    with open_checkpointer(url, []), open_store(url):
        pass


def _drop_quietly(admin: str, name: str) -> None:
    import psycopg

    with contextlib.suppress(psycopg.Error), psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
