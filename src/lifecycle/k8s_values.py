"""The values of ``deployer k8s render``: the shipped defaults merged with a person's file.

Pure: a values file is judged whole before anything is rendered or written. Every key a file
gives must exist in the defaults (a typo is an error, not a silently ignored setting), and its
value must have the default's type (a whole number where a number is expected is fine; a mapping
whose default is empty is free-form, e.g. extra settings). One readable line says what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lifecycle.errors import BadInputError
from lifecycle.resources import parse_cpu, parse_memory


class InvalidValuesError(BadInputError):
    """A values file that is malformed, names an unknown key, or gives a value of the wrong
    type; nothing was rendered."""


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "null" if value is None else type(value).__name__


def _fits(default: Any, given: Any) -> bool:
    if isinstance(default, bool) or isinstance(given, bool):
        return isinstance(default, bool) and isinstance(given, bool)
    if isinstance(default, float):
        return isinstance(given, int | float)
    return _kind(default) == _kind(given)


def merge_values(defaults: Mapping[str, Any], given: Any, where: str = "") -> dict[str, Any]:
    """``defaults`` with ``given`` laid over it, key by key (InvalidValuesError otherwise)."""
    if given is None and not where:
        return dict(defaults)  # an empty file changes nothing
    if not isinstance(given, Mapping):
        what = f"values key {where}" if where else "values"
        raise InvalidValuesError(f"{what} must be a mapping, not {_kind(given)}")
    merged = dict(defaults)
    for key, value in given.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in defaults:
            known = ", ".join(sorted(defaults))
            raise InvalidValuesError(f"unknown values key {path} (known here: {known})")
        default = defaults[key]
        if isinstance(default, Mapping) and default:
            merged[key] = merge_values(default, value, path)
        elif not _fits(default, value):
            raise InvalidValuesError(
                f"values key {path} must be {_kind(default)}, not {_kind(value)}"
            )
        else:
            merged[key] = value
    return merged


_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
WHOLE_NUMBERS = (
    ("gateway.port", 1, 65535),
    ("api.port", 1, 65535),
    ("gateway.replicas", 1, None),
    ("api.replicas", 1, None),
    ("watcher.replicas", 1, None),
    ("gateway.minReplicas", 1, None),
    ("gateway.maxReplicas", 1, None),
    ("gateway.minAvailable", 0, None),
    ("gateway.targetCpuPercent", 1, 100),
    ("ray.workers.replicas", 0, None),
    ("ray.workers.minReplicas", 0, None),
    ("ray.workers.maxReplicas", 0, None),
)
"""Values that are counts: (key, lowest, highest or None)."""
SIZED = ("gateway", "api", "watcher", "ray.head", "ray.workers")
"""Parts whose ``resources`` requests and limits must parse."""


def _at(values: Mapping[str, Any], path: str) -> Any:
    node: Any = values
    for part in path.split("."):
        node = node[part]
    return node


def _whole(values: Mapping[str, Any], path: str, low: int, high: int | None) -> None:
    node = _at(values, path)
    if isinstance(node, bool) or not isinstance(node, int) or node < low or node > (high or node):
        span = f"from {low}" if high is None else f"from {low} to {high}"
        raise InvalidValuesError(f"values key {path} must be a whole number {span}, not {node!r}")


def _sizes(values: Mapping[str, Any], part: str) -> None:
    for side, sizes in _at(values, f"{part}.resources").items():
        for resource, size in sizes.items():
            parse = {"cpu": parse_cpu, "memory": parse_memory}.get(resource)
            try:
                if parse is not None:
                    parse(str(size))
            except BadInputError as exc:
                raise InvalidValuesError(f"{part}.resources.{side}.{resource}: {exc}") from None


def check_values(values: Mapping[str, Any]) -> None:
    """What types alone cannot say: names Kubernetes accepts, counts in order, sizes that
    parse, a known serving backend (InvalidValuesError naming the first key at fault)."""
    for key in ("namespace", "name"):
        if len(values[key]) > 40 or not _DNS_LABEL.fullmatch(values[key]):
            raise InvalidValuesError(
                f"values key {key} must be a DNS label of at most 40 characters "
                f"(lower-case letters, digits, '-'), not {values[key]!r}"
            )
    serving = values["settings"]["serving"]
    if serving not in ("local", "ray"):
        raise InvalidValuesError(f"settings.serving must be local or ray, not {serving!r}")
    if serving == "ray" and not values["ray"]["enabled"]:
        raise InvalidValuesError("settings.serving is ray but ray.enabled is false")
    for path, low, high in WHOLE_NUMBERS:
        _whole(values, path, low, high)
    _in_order(values)
    watcher = values["watcher"]
    if not watcher["intervalSeconds"] > 0:
        raise InvalidValuesError("watcher.intervalSeconds must be more than 0")
    if watcher["livenessMaxAgeSeconds"] < 3 * watcher["intervalSeconds"]:
        raise InvalidValuesError(
            "watcher.livenessMaxAgeSeconds must be at least 3 intervals, or a slow tick restarts it"
        )
    for part in SIZED:
        _sizes(values, part)


def _in_order(values: Mapping[str, Any]) -> None:
    gateway, workers = values["gateway"], values["ray"]["workers"]
    if gateway["minReplicas"] > gateway["maxReplicas"]:
        raise InvalidValuesError("gateway.minReplicas must not exceed gateway.maxReplicas")
    if gateway["minAvailable"] >= gateway["minReplicas"]:
        raise InvalidValuesError(
            "gateway.minAvailable must be below gateway.minReplicas, or no node could be drained"
        )
    if not workers["minReplicas"] <= workers["replicas"] <= workers["maxReplicas"]:
        raise InvalidValuesError(
            "ray.workers.replicas must lie between minReplicas and maxReplicas"
        )
