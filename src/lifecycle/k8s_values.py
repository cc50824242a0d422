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
        raise InvalidValuesError(f"values{where or ''} must be a mapping, not {_kind(given)}")
    merged = dict(defaults)
    for key, value in given.items():
        path = f"{where}.{key}"
        if not isinstance(key, str) or key not in defaults:
            known = ", ".join(sorted(defaults)) or "none"
            raise InvalidValuesError(f"unknown values key {path.lstrip('.')} (known here: {known})")
        default = defaults[key]
        if isinstance(default, Mapping) and default:
            merged[key] = merge_values(default, value, path)
        elif not _fits(default, value):
            raise InvalidValuesError(
                f"values key {path.lstrip('.')} must be {_kind(default)}, not {_kind(value)}"
            )
        else:
            merged[key] = value
    return merged


_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _count(values: Mapping[str, Any], path: str, low: int = 0) -> int:
    node: Any = values
    for part in path.split("."):
        node = node[part]
    if not isinstance(node, int) or isinstance(node, bool) or node < low:
        raise InvalidValuesError(f"values key {path} must be a whole number >= {low}, not {node}")
    return node


def _quantities(values: Mapping[str, Any], path: str) -> None:
    node: Any = values
    for part in path.split("."):
        node = node[part]
    for side in ("requests", "limits"):
        for resource, size in node[side].items():
            where = f"{path}.{side}.{resource}"
            try:
                if resource == "cpu":
                    parse_cpu(str(size))
                elif resource == "memory":
                    parse_memory(str(size))
            except BadInputError as exc:
                raise InvalidValuesError(f"values key {where}: {exc}") from None


def check_values(values: Mapping[str, Any]) -> None:
    """What types alone cannot say: names Kubernetes accepts, counts in order, sizes that
    parse, a known serving backend (InvalidValuesError naming the first key at fault)."""
    for key in ("namespace", "name"):
        text = values[key]
        if len(text) > 40 or not _DNS_LABEL.fullmatch(text):
            raise InvalidValuesError(
                f"values key {key} must be a DNS label of at most 40 characters "
                f"(lower-case letters, digits, '-'), not {text!r}"
            )
    if values["settings"]["serving"] not in ("local", "ray"):
        raise InvalidValuesError("values key settings.serving must be local or ray")
    if values["settings"]["serving"] == "ray" and not values["ray"]["enabled"]:
        raise InvalidValuesError("settings.serving is ray but ray.enabled is false")
    for port in ("gateway.port", "api.port"):
        if not 1 <= _count(values, port, 1) <= 65535:
            raise InvalidValuesError(f"values key {port} must be a port (1-65535)")
    low, high = _count(values, "gateway.minReplicas", 1), _count(values, "gateway.maxReplicas", 1)
    if low > high:
        raise InvalidValuesError("gateway.minReplicas must not exceed gateway.maxReplicas")
    if _count(values, "gateway.minAvailable") >= low:
        raise InvalidValuesError(
            "gateway.minAvailable must be below gateway.minReplicas, or no node could be drained"
        )
    if not 1 <= _count(values, "gateway.targetCpuPercent", 1) <= 100:
        raise InvalidValuesError("gateway.targetCpuPercent must be between 1 and 100")
    for key in ("gateway.replicas", "api.replicas", "watcher.replicas"):
        _count(values, key, 1)
    w_low = _count(values, "ray.workers.minReplicas")
    w_high = _count(values, "ray.workers.maxReplicas")
    if not w_low <= _count(values, "ray.workers.replicas") <= w_high:
        raise InvalidValuesError(
            "ray.workers.replicas must lie between minReplicas and maxReplicas"
        )
    watcher = values["watcher"]
    if watcher["intervalSeconds"] <= 0 or watcher["livenessMaxAgeSeconds"] <= 0:
        raise InvalidValuesError("watcher.intervalSeconds and livenessMaxAgeSeconds must be > 0")
    if watcher["livenessMaxAgeSeconds"] < 3 * watcher["intervalSeconds"]:
        raise InvalidValuesError(
            "watcher.livenessMaxAgeSeconds must be at least 3 intervals, or a slow tick restarts it"
        )
    for path in ("gateway.resources", "api.resources", "watcher.resources"):
        _quantities(values, path)
    for path in ("ray.head.resources", "ray.workers.resources"):
        _quantities(values, path)
