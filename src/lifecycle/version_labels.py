"""Semantic version labels beside MLflow's integer versions (issue 15).

A label is ``MAJOR.MINOR.PATCH`` (``1.2.0``; a leading ``v`` is accepted and dropped), unique
per model. A person may name a version by its label, its MLflow number (``3`` or ``v3``) or
``latest`` (the highest number); ``parse_version_ref`` reads which one they wrote, and the
database resolves it to a number. Retraining bumps the patch of its parent's label.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from lifecycle.errors import BadInputError, ConflictError, UnknownModelError

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


class LabelTakenError(ConflictError):
    """Another version of the model already carries that label (labels are unique per model)."""


class UnknownVersionError(UnknownModelError):
    """The model has no version by that label (an unknown number stays UnknownModelError, as
    the API's error type has always said)."""


def resolve_ref(model_name: str, ref: VersionRef, labels: Mapping[str, str | None]) -> str:
    """The MLflow number ``ref`` names among a model's versions (``labels``: number -> label or
    None). ``latest`` is the highest number; an unknown number or label is bad input that names
    the model's labels, so a person sees what they could have written."""
    if not labels:
        raise UnknownModelError(f"no model named {model_name!r} is registered")
    if ref.kind is RefKind.LATEST:
        return str(max(int(n) for n in labels))
    if ref.kind is RefKind.NUMBER:
        if ref.value in labels:
            return ref.value
        raise UnknownModelError(f"{model_name} has no version {ref.value!r}")  # as it always was
    found = [n for n, label in labels.items() if label == ref.value]
    if found:
        return found[0]
    known = sorted((parse_label(x) for x in labels.values() if x), reverse=True)
    named = f"its labels: {', '.join(map(str, known))}" if known else "it has no labels"
    raise UnknownVersionError(f"{model_name} has no version labelled {ref.value} ({named})")


def check_label_free(
    model_name: str, version: str, label: Label, labels: Mapping[str, str | None]
) -> None:
    """Refuse ``label`` for ``version`` when another version of the model carries it."""
    for number, taken in labels.items():
        if taken == str(label) and number != version:
            raise LabelTakenError(
                f"{model_name} v{number} is already labelled {label}; labels are unique per model"
            )


def check_relabel(
    model_name: str, version: str, current: str | None, label: Label, force: bool
) -> None:
    """A labelled version keeps its label unless ``force``: people and scripts may already name
    it by that label, so changing it is said out loud."""
    if current and current != str(label) and not force:
        raise LabelTakenError(
            f"{model_name} v{version} is already labelled {current}; "
            "give --force to change its label"
        )


def describe_version(version: str, label: str | None) -> str:
    """How a version is shown to people: ``v3 (1.2.0)``, or ``v3`` without a label."""
    return f"v{version} ({label})" if label else f"v{version}"
