"""The one place that wires adapters to ports: settings in, ready-to-use components out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from agents.settings import Settings, load_settings
from database.engine import make_engine, make_session_factory
from database.uow import SqlAlchemyUnitOfWork


@dataclass
class Container:
    """Lazily built components for one process; build each only when a command needs it."""

    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    def uow(self) -> SqlAlchemyUnitOfWork:
        """A new unit of work on the state database (rolls back unless committed)."""
        return SqlAlchemyUnitOfWork(self.session_factory)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def bootstrap(settings: Settings | None = None) -> Container:
    """Build the container for this process from the environment (or the given settings)."""
    return Container(settings or load_settings())


UowFactory = Callable[[], SqlAlchemyUnitOfWork]
