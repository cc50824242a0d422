"""Whether the state database is at the schema this code knows, checked when a process first
opens it: a newer schema (a newer release migrated it) is refused rather than misread, and an
older one is sent to ``deployer init``.

Cheap on purpose (every command opens the database, and importing Alembic takes most of a
second): the revisions are read from the migration files' names, ``NNNN_what.py``, whose
prefix is the revision id (a unit test holds that convention against Alembic's own view).
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from database.engine import READ_ONLY_OPTIONS
from database.uow import as_infrastructure_error
from lifecycle.errors import ConfigurationError

VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
_MIGRATION = re.compile(r"(\d{4})_\w+\.py")


class SchemaMismatchError(ConfigurationError):
    """The state database's schema is not the one this code was built for."""


def known_revisions() -> tuple[str, ...]:
    """Every revision this code can migrate to, oldest first."""
    names = (_MIGRATION.fullmatch(p.name) for p in VERSIONS.iterdir())
    return tuple(sorted(m.group(1) for m in names if m))


def judge_revision(found: str | None, known: tuple[str, ...]) -> None:
    """Refuse a database at a revision other than the newest one known (None: never migrated,
    left to the command, which says ``deployer init``)."""
    if found is None or found == known[-1]:
        return
    if found not in known:
        raise SchemaMismatchError(
            f"the state database is at schema revision {found}, newer than this model-deployer "
            f"knows (up to {known[-1]}): upgrade model-deployer; nothing was read or changed"
        )
    raise SchemaMismatchError(
        f"the state database is at schema revision {found}, older than this model-deployer's "
        f"{known[-1]}: run `deployer init` to upgrade it"
    )


def database_revision(engine: Engine) -> str | None:
    """The revision recorded in the database, or None when it was never migrated."""
    try:
        with engine.connect().execution_options(**READ_ONLY_OPTIONS) as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            return None if found is None else str(found)
    except OperationalError as exc:
        raise as_infrastructure_error(exc) from exc


def check_schema(engine: Engine) -> None:
    """Raise SchemaMismatchError unless the database is at this code's newest schema."""
    judge_revision(database_revision(engine), known_revisions())
