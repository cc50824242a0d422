"""Exact names: the one model-name rule, look-alike names, and ids that fit their columns.

A model name is matched whole (``fullmatch``: ``churn\\n`` is not ``churn``). Two names that a
person would read as one are refused at register: names are *folded* by lower-casing them and
reading every run of ``.``, ``_`` and ``-`` as one separator, with separators at either end
dropped, so ``churn``, ``Churn``, ``CHURN``, ``churn.`` and ``CHURN_`` fold alike, and so do
``churn-v2`` and ``churn_v2``. Everything derived from a name that must be unique per model (a
bento tag, a deployment id) carries a short hash of the exact name, and generated ids are cut
to the width of their column with a hash of the whole so they stay distinct.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from lifecycle.errors import AmbiguousModelNameError, BadInputError

MODEL_NAME_MAX = 100
"""The longest model name (``ml_model_registry.model_name`` holds 200)."""

MODEL_NAME_PATTERN = r"[A-Za-z][A-Za-z0-9_.\-]{0,99}"
"""A letter, then letters, digits, ``_ . -``; matched whole."""

REQUEST_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}"
"""An upstream caller's request id (the run id: idempotency keys, marks and ids derive from it)."""

ID_WIDTH = 64
"""The width of the id columns (``ml_deployments.deployment_id`` and the ones that refer to it)."""

BENTO_NAME_WIDTH = 57
"""BentoML allows 63 characters in a tag's name; the bento's model adds ``-model``."""

HASH_LENGTH = 8

_MODEL_NAME = re.compile(MODEL_NAME_PATTERN)
_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
_SEPARATORS = re.compile(r"[._\-]+")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_DASHES_AT_ENDS = re.compile(r"\A-+|-+\Z")


def is_model_name(text: str) -> bool:
    """Whether ``text`` is, whole, a valid model name."""
    return _MODEL_NAME.fullmatch(text) is not None


def check_model_name(name: str) -> str:
    """``name`` when it is a valid model name; BadInputError otherwise."""
    if not is_model_name(name):
        raise BadInputError(
            f"invalid model name {name!r}: start with a letter, then letters, digits, '_', '.', "
            f"'-'; at most {MODEL_NAME_MAX} characters"
        )
    return name


def check_request_id(request_id: str) -> str:
    """``request_id`` when it is, whole, a letter or digit then up to 63 of ``A-Za-z0-9_.:-``;
    BadInputError otherwise (it keys the run's writes and must fit their columns)."""
    if _REQUEST_ID.fullmatch(request_id) is None:
        raise BadInputError(
            f"invalid request id {request_id!r}: a letter or digit, then letters, digits, "
            "'_', '.', ':', '-'; at most 64 characters"
        )
    return request_id


def fold_model_name(name: str) -> str:
    """The form two look-alike names share: lower case, one ``-`` per run of ``. _ -``, none at
    either end."""
    return _DASHES_AT_ENDS.sub("", _SEPARATORS.sub("-", name.lower()))


def look_alike(name: str, existing: Iterable[str]) -> str | None:
    """The first of ``existing`` (sorted) that folds like ``name`` without being it, or None."""
    folded = fold_model_name(name)
    for other in sorted(existing):
        if other != name and fold_model_name(other) == folded:
            return other
    return None


def check_distinct(name: str, existing: Iterable[str]) -> str:
    """``name`` unless it reads like another model's; AmbiguousModelNameError names that one."""
    other = look_alike(name, existing)
    if other is not None:
        raise AmbiguousModelNameError(
            f"model name {name!r} differs from the registered model {other!r} only by case or "
            f"punctuation; use {other!r} or a distinct name"
        )
    return name


def short_hash(text: str) -> str:
    """The first eight hex digits of the SHA-256 of ``text``."""
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def bounded_id(readable: str, width: int = ID_WIDTH) -> str:
    """``readable`` when it fits ``width``; else its head and a hash of the whole, in ``width``."""
    if len(readable) <= width:
        return readable
    return f"{readable[: width - HASH_LENGTH - 1]}-{short_hash(readable)}"


def make_deployment_id(model_name: str, version: str, run_id: str) -> str:
    """``<name>-v<version>-<first 8 of the run id>``, bounded to the id column; a tenant's model
    gives its flat name (``team-a~fraud-v1-...``): an id never holds ``/`` (it is a path segment
    of the API and of Ray Serve's route prefixes). ``~`` is ``lifecycle.tenants.FLAT_SEPARATOR``,
    spelled here because ``tenants`` imports this module."""
    return bounded_id(f"{model_name.replace('/', '~')}-v{version}-{run_id[:8]}")


def bento_name(model_name: str) -> str:
    """The BentoML name of a model's bentos: ``deployer-<slug>-<hash of the exact name>``.

    The slug (lower case, one ``-`` per run of anything else) is for people; the hash makes it
    unique per exact name, so ``Churn`` never finds ``churn``'s bento."""
    room = BENTO_NAME_WIDTH - len("deployer-") - HASH_LENGTH - 1
    slug = _DASHES_AT_ENDS.sub("", _NOT_SLUG.sub("-", model_name.lower())[:room])
    return f"deployer-{slug}-{short_hash(model_name)}"


def bento_tag(model_name: str, version: str) -> str:
    """The bento tag of a model version: ``<bento_name>:v<version>``."""
    return f"{bento_name(model_name)}:v{version}"
