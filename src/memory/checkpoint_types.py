"""The explicit list of our own types a checkpoint may hold, for LangGraph's serializer.

LangGraph restores a checkpointed object by importing the module and class its msgpack record
names. By default it imports any class (with a warning: "Deserializing unregistered type"), so a
row written into the checkpoint tables could name any importable callable. We pass an explicit
allow-list instead: exactly the classes reachable from a graph's state annotations (our pydantic
models, dataclasses and enums, and what their fields hold), plus LangGraph's own safe list.
Deriving it from the annotations means a new typed field is allowed as soon as it is declared;
``tests/unit/test_checkpoint_types.py`` round-trips a fully populated state through the strict
serializer to prove nothing the graph stores is refused.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Iterable

from pydantic import BaseModel


def reachable_types(*roots: type) -> frozenset[type]:
    """Every class reachable from ``roots`` through annotations, whose module is not
    ``builtins``/``typing``: pydantic models, dataclasses and enums, recursively."""
    found: set[type] = set()
    pending: list[object] = list(roots)
    while pending:
        kind = pending.pop()
        for arg in typing.get_args(kind):
            pending.append(arg)
        if not isinstance(kind, type) or kind in found:
            continue
        if kind.__module__ in ("builtins", "typing", "types", "collections.abc"):
            continue
        if issubclass(kind, BaseModel):
            found.add(kind)
            pending.extend(f.annotation for f in kind.model_fields.values())
        elif dataclasses.is_dataclass(kind):
            found.add(kind)
            pending.extend(typing.get_type_hints(kind, include_extras=True).values())
        elif issubclass(kind, enum.Enum):
            found.add(kind)
    return frozenset(found)


def msgpack_allowlist(types: Iterable[type]) -> tuple[tuple[str, str], ...]:
    """``(module, class name)`` pairs, sorted, as ``allowed_msgpack_modules`` takes them."""
    return tuple(sorted((t.__module__, t.__qualname__) for t in types))
