"""``database.uow.write_error``: which failed write is a lost race, which an unusable
database, and which a bug to let through (the unit of work and the gateway's Core flush both
answer with it)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from database.uow import write_error
from lifecycle.errors import ConflictError, InfrastructureError


class DriverError(Exception):
    """A driver's exception with a SQLSTATE, as psycopg's have."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        pytest.param(StaleDataError("row changed"), ConflictError, id="a stale row is a conflict"),
        pytest.param(
            IntegrityError("INSERT", {}, DriverError("UNIQUE constraint failed: t.id")),
            ConflictError,
            id="SQLite's duplicate key is a conflict",
        ),
        pytest.param(
            IntegrityError("INSERT", {}, DriverError("duplicate key", "23505")),
            ConflictError,
            id="PostgreSQL's duplicate key is a conflict",
        ),
        pytest.param(
            OperationalError("UPDATE", {}, DriverError("could not serialize access", "40001")),
            ConflictError,
            id="a serialization failure is a conflict",
        ),
        pytest.param(
            OperationalError("UPDATE", {}, DriverError("deadlock detected", "40P01")),
            ConflictError,
            id="a deadlock is a conflict",
        ),
        pytest.param(
            OperationalError("SELECT", {}, DriverError("connection refused")),
            InfrastructureError,
            id="an unreachable database is infrastructure",
        ),
        pytest.param(
            IntegrityError("INSERT", {}, DriverError("NOT NULL constraint failed: t.x")),
            None,
            id="a NOT NULL violation is a bug: let through",
        ),
        pytest.param(
            DBAPIError("SELECT", {}, DriverError("syntax error", "42601")),
            None,
            id="another driver error is let through",
        ),
        pytest.param(ValueError("not a database error"), None, id="not a database error"),
        pytest.param(None, None, id="no error"),
    ],
)
def test_a_failed_write_maps_to_its_meaning(
    exc: BaseException | None, expected: type[Exception] | None
) -> None:
    translated = write_error(exc, "the gateway figures")
    if expected is None:
        assert translated is None
    else:
        assert isinstance(translated, expected)
        if expected is ConflictError:
            assert "the gateway figures" in str(translated)
