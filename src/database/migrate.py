"""Run the Alembic migrations from code (``deployer init``) or from ``alembic upgrade head``.

The Alembic config is built from the package's own path, so it works from an installed package
and from any working folder.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError

from database.engine import make_engine, parse_url, redact
from database.schema import database_revision, judge_revision, known_revisions
from database.uow import as_infrastructure_error
from lifecycle.errors import ConfigurationError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at this package's migrations and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def upgrade(url: str) -> str:
    """Migrate the database at ``url`` to the newest schema; return the revision it is at."""
    engine = make_engine(url)
    try:
        found = database_revision(engine)
        if found is not None and found not in known_revisions():
            judge_revision(found, known_revisions())  # newer than this code: one clear line
        with engine.begin() as conn:
            config = alembic_config(url)
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return current_revision(url) or head_revision()
    except OperationalError as exc:
        raise as_infrastructure_error(exc) from exc
    except CommandError as exc:
        # Typically a database migrated by a newer release: its revision is unknown here.
        raise ConfigurationError(f"cannot migrate {redact(url)}: {exc}") from None
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise as_infrastructure_error(exc) from exc
    finally:
        engine.dispose()


__all__ = ["current_revision", "head_revision", "parse_url", "redact", "upgrade"]
