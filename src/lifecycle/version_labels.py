"""Semantic version labels beside MLflow's integer versions (issue 15).

A label is ``MAJOR.MINOR.PATCH`` (``1.2.0``; a leading ``v`` is accepted and dropped), unique
per model. A person may name a version by its label, its MLflow number (``3`` or ``v3``) or
``latest`` (the highest number); ``parse_version_ref`` reads which one they wrote, and the
database resolves it to a number. Retraining bumps the patch of its parent's label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from lifecycle.errors import BadInputError

LABEL = re.compile(r"[vV]?(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})")
NUMBER = re.compile(r"[vV]?([0-9]{1,9})")
LATEST = "latest"


class InvalidLabelError(BadInputError):
    """Not a semantic version label (``MAJOR.MINOR.PATCH``, numbers without leading zeros)."""


@dataclass(frozen=True, order=True)
class Label:
    """A semantic version label; orders as semantic versions do."""

    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def parse_label(text: str) -> Label:
    """``"1.2.0"`` or ``"v1.2.0"`` -> ``Label(1, 2, 0)``; anything else is InvalidLabelError."""
    match = LABEL.fullmatch(str(text).strip())
    if match is None:
        raise InvalidLabelError(
            f"invalid version label {text!r}; labels look like 1.2.0 (MAJOR.MINOR.PATCH)"
        )
    return Label(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def bump_patch(label: Label) -> Label:
    """The next patch release: ``1.2.0`` -> ``1.2.1``."""
    return Label(label.major, label.minor, label.patch + 1)


class RefKind(StrEnum):
    """How a person named a version."""

    LATEST = "latest"
    LABEL = "label"
    NUMBER = "number"


@dataclass(frozen=True)
class VersionRef:
    """A version as asked: ``latest``, a label, or an MLflow number (as a string, no ``v``)."""

    kind: RefKind
    value: str


def parse_version_ref(text: str) -> VersionRef:
    """``latest`` | ``1.2.0`` / ``v1.2.0`` | ``3`` / ``v3``; anything else is bad input."""
    cleaned = str(text).strip()
    if cleaned.lower() == LATEST:
        return VersionRef(RefKind.LATEST, LATEST)
    number = NUMBER.fullmatch(cleaned)
    if number is not None:
        return VersionRef(RefKind.NUMBER, str(int(number.group(1))))
    if LABEL.fullmatch(cleaned) is not None:
        return VersionRef(RefKind.LABEL, str(parse_label(cleaned)))
    raise InvalidLabelError(
        f"invalid version {text!r}; name a version by its number (3 or v3), "
        "its label (1.2.0 or v1.2.0) or latest"
    )
