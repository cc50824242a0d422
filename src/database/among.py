"""``column IN (keys)`` as each database reads a long list of keys cheaply.

A tick over 1,000 rollouts asks about 20 questions of the form "these rows, for these 1,000
(or 2,000) names or ids". Written as ``IN (...)``, each key is its own bound parameter: on
PostgreSQL SQLAlchemy renders 2,000 placeholders into the statement at every execution, and
psycopg parses that long text again each time (it caches only short statements); a profile of
the watcher's tick at 1,000 models put a fifth of its CPU there. On PostgreSQL the same question
is ``column = ANY(:keys)`` with the keys as ONE array parameter: one short statement, compiled
and parsed once. SQLite has no arrays and keeps ``IN``. Same rows, same statements, one each.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import ColumnElement, Connection, any_, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


def among(on: Session | Connection, column: Any, keys: Iterable[Any]) -> ColumnElement[bool]:
    """Whether ``column`` is one of ``keys`` (plain values: names, ids), as the database
    ``on`` talks to reads it cheaply (``IN`` on SQLite, ``= ANY(array)`` on PostgreSQL)."""
    values = list(keys)
    bind = on.get_bind() if isinstance(on, Session) else on
    if bind.dialect.name == "postgresql":
        found: ColumnElement[bool] = column == any_(literal(values, ARRAY(column.type)))
        return found
    result: ColumnElement[bool] = column.in_(values)
    return result


def chunks(keys: list[str], size: int = 2000) -> Iterator[list[str]]:
    """``keys`` in lists small enough for one ``IN (...)`` on every database."""
    for start in range(0, len(keys), size):
        yield keys[start : start + size]
