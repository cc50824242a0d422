"""What one deployment asks of its serving backend: replicas, CPU, memory and autoscaling.

The CLI, the API, the chat and the graph all speak of resources through ``Resources``; the
``ml_deployments`` columns (``replicas``, ``cpu_limit``, ``memory_limit``, ``autoscaling``) and the
manifest hold its ``to_columns()`` form, read back with ``Resources.from_columns``. Text forms are
Kubernetes' (``0.5`` or ``500m`` CPUs, ``512Mi`` or ``1G`` of memory), so a number means the same
on the command line, in the manifest and in the rendered Kubernetes objects.

``Placement`` is what a backend reports of a running deployment: replicas wanted and running, and
where they run. Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from lifecycle.errors import BadInputError


class InvalidResourcesError(BadInputError):
    """Resources that cannot be honoured as written (a malformed or out-of-range figure)."""


MAX_REPLICAS = 64
"""The most replicas one deployment may ask for (a typo guard, not a quota)."""

MAX_CPU = 64.0
"""The most CPUs one replica may ask for."""

MAX_MEMORY_BYTES = 256 * 1024**3
"""The most memory one replica may ask for (256 GiB)."""

_MEMORY_UNITS = {
    "": 1,
    "k": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
}
_MEMORY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(k|M|G|T|Ki|Mi|Gi|Ti)?$")
_CPU = re.compile(r"^(?:([0-9]+(?:\.[0-9]+)?)|([0-9]+)m)$")


def parse_cpu(text: str) -> float:
    """CPUs per replica from ``0.5``, ``2`` or ``500m``; more than zero, at most ``MAX_CPU``."""
    match = _CPU.match(text.strip())
    if match is None:
        raise InvalidResourcesError(f"cpu must be a number of CPUs like 0.5 or 500m, not {text!r}")
    cpus = float(match.group(1)) if match.group(1) is not None else int(match.group(2)) / 1000
    if not 0 < cpus <= MAX_CPU:
        raise InvalidResourcesError(f"cpu must be more than 0 and at most {MAX_CPU:g}, not {text}")
    return cpus


def parse_memory(text: str) -> int:
    """Bytes per replica from ``512Mi``, ``1Gi``, ``256M`` or a plain byte count; at least 1 MiB."""
    match = _MEMORY.match(text.strip())
    if match is None:
        raise InvalidResourcesError(f"memory must be a size like 512Mi, 1Gi or 256M, not {text!r}")
    size = math.floor(float(match.group(1)) * _MEMORY_UNITS[match.group(2) or ""])
    if not 1024**2 <= size <= MAX_MEMORY_BYTES:
        raise InvalidResourcesError(f"memory must be between 1Mi and 256Gi, not {text}")
    return size


def format_cpu(cpus: float) -> str:
    """The canonical text of a CPU figure: whole or fractional CPUs (``0.5``, ``2``)."""
    return f"{cpus:g}"


def format_memory(size: int) -> str:
    """The canonical text of a memory figure: the unit that divides it into the smallest whole
    number, so ``parse_memory`` reads back what was written. (No two units divide a size into
    the same count: their factors differ.)"""
    whole = [(size // factor, unit) for unit, factor in _MEMORY_UNITS.items() if size % factor == 0]
    count, unit = min(whole)
    return f"{count}{unit}"


@dataclass(frozen=True, slots=True)
class Autoscale:
    """Replicas between ``min_replicas`` and ``max_replicas``, aiming at ``target_ongoing``
    requests in flight per replica (Ray Serve's ``target_ongoing_requests``)."""

    min_replicas: int
    max_replicas: int
    target_ongoing: float = 2.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_replicas <= self.max_replicas <= MAX_REPLICAS or self.max_replicas < 1:
            raise InvalidResourcesError(
                f"autoscale needs 0 <= MIN <= MAX <= {MAX_REPLICAS} and MAX >= 1, "
                f"not {self.min_replicas}:{self.max_replicas}"
            )
        if not 0 < self.target_ongoing <= 1000:
            raise InvalidResourcesError(
                f"autoscale's target of ongoing requests must be in (0, 1000], "
                f"not {self.target_ongoing:g}"
            )

    @classmethod
    def parse(cls, text: str) -> Autoscale:
        """``MIN:MAX`` or ``MIN:MAX:TARGET_ONGOING``."""
        parts = text.strip().split(":")
        try:
            if len(parts) not in (2, 3):
                raise ValueError  # said below, with the text
            target = float(parts[2]) if len(parts) == 3 else 2.0
            if not math.isfinite(target):
                raise ValueError
            return cls(int(parts[0]), int(parts[1]), target)
        except ValueError as exc:
            raise InvalidResourcesError(
                f"autoscale must be MIN:MAX or MIN:MAX:TARGET_ONGOING, not {text!r}"
            ) from exc

    def to_json(self) -> dict[str, Any]:
        return {
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
            "target_ongoing_requests": self.target_ongoing,
        }


@dataclass(frozen=True, slots=True)
class Resources:
    """What a deployment asks for. ``cpu`` and ``memory_bytes`` are per replica; ``None`` asks
    for nothing (the backend's default). With ``autoscale``, ``replicas`` is the starting count."""

    replicas: int = 1
    cpu: float | None = None
    memory_bytes: int | None = None
    autoscale: Autoscale | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.replicas <= MAX_REPLICAS:
            raise InvalidResourcesError(
                f"replicas must be between 1 and {MAX_REPLICAS}, not {self.replicas}"
            )
        if self.cpu is not None and not 0 < self.cpu <= MAX_CPU:
            raise InvalidResourcesError(f"cpu must be in (0, {MAX_CPU:g}], not {self.cpu}")
        if self.memory_bytes is not None and not 1024**2 <= self.memory_bytes <= MAX_MEMORY_BYTES:
            raise InvalidResourcesError(f"memory must be in [1Mi, 256Gi], not {self.memory_bytes}")
        scale = self.autoscale
        if scale is not None and not scale.min_replicas <= self.replicas <= scale.max_replicas:
            raise InvalidResourcesError(
                f"replicas ({self.replicas}) must lie within autoscale's "
                f"{scale.min_replicas}:{scale.max_replicas}"
            )

    @property
    def asks_beyond_replicas(self) -> bool:
        """Whether anything but a fixed replica count is asked (limits or autoscaling)."""
        return self.cpu is not None or self.memory_bytes is not None or self.autoscale is not None

    def to_columns(self) -> dict[str, Any]:
        """The ``ml_deployments`` (and manifest) columns: replicas, cpu_limit, memory_limit,
        autoscaling (``{}`` when fixed)."""
        return {
            "replicas": self.replicas,
            "cpu_limit": None if self.cpu is None else format_cpu(self.cpu),
            "memory_limit": None if self.memory_bytes is None else format_memory(self.memory_bytes),
            "autoscaling": {} if self.autoscale is None else self.autoscale.to_json(),
        }

    @classmethod
    def from_columns(
        cls,
        replicas: int,
        cpu_limit: str | None = None,
        memory_limit: str | None = None,
        autoscaling: dict[str, Any] | None = None,
    ) -> Resources:
        """The inverse of ``to_columns``; a stored row that no longer parses raises."""
        scale = None
        if autoscaling:
            scale = Autoscale(
                int(autoscaling["min_replicas"]),
                int(autoscaling["max_replicas"]),
                float(autoscaling.get("target_ongoing_requests", 2.0)),
            )
        return cls(
            replicas=replicas,
            cpu=None if cpu_limit is None else parse_cpu(cpu_limit),
            memory_bytes=None if memory_limit is None else parse_memory(memory_limit),
            autoscale=scale,
        )


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a deployment's replicas run, as its backend reports them now."""

    wanted: int
    running: int
    nodes: tuple[str, ...] = ()
    """The nodes (hosts) its running replicas are on."""
    healthy: bool = True
    """The backend's own verdict on the deployment (Ray Serve's application status)."""
    detail: str = ""
    """The backend's words when it is not healthy."""

    def to_json(self) -> dict[str, Any]:
        return {
            "wanted": self.wanted,
            "running": self.running,
            "nodes": list(self.nodes),
            "healthy": self.healthy,
            "detail": self.detail,
        }
