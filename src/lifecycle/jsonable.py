"""One JSON encoding for what the deployer prints (``--json``), answers (the HTTP API) and keeps
in JSON columns: ``pydantic_core.to_jsonable_python`` with one house rule.

The rule: a datetime outside a pydantic model is written as ``datetime.isoformat`` writes it
(``2026-01-01T12:00:00+00:00``), as the CLI and the API always have; inside a model it is what
the model's own JSON dump writes (``...Z``). Enums go by value, paths and dates as strings,
tuples and sets as lists, mapping keys as strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python


def jsonable(value: Any) -> Any:
    """``value`` made of plain JSON types (dicts, lists, strings, numbers, booleans, None)."""
    return to_jsonable_python(_isoformat_datetimes(value))


def _isoformat_datetimes(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _isoformat_datetimes(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_isoformat_datetimes(v) for v in value]
    return value
