"""``AccessServices``: the smallest ``Services`` the access use cases need (a unit of work over
a real SQLite file), for unit tests that do not build a whole container."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from database.engine import make_engine
from database.models import Base
from database.uow import SqlAlchemyUnitOfWork
from tests.audit_keys import keyed_factory


@dataclass
class AccessServices:
    """A unit of work factory over one SQLite file; nothing else of a container."""

    session_factory: sessionmaker[Session]

    @classmethod
    def at(cls, folder: Path) -> Any:
        engine = make_engine(f"sqlite:///{folder / 'access.db'}")
        Base.metadata.create_all(engine)
        return cls(keyed_factory(engine))

    def uow(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.session_factory)

    def reader(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.session_factory, read_only=True)
