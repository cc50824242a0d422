"""Per-tenant quotas: what a tenant may run at once, what it runs now, and the one verdict.

A ``Quota`` bounds a tenant's live deployments (pending, deploying, active, draining: every one
that has or is getting a server), their replicas, the CPU and memory they reserve, and the rows
of captured predictions kept; a ``None`` figure is unlimited, and a tenant without a quota row
has every figure unlimited. ``Usage`` is what the tenant's live deployments use now (and its
captured rows), and ``demand`` what one deployment asks: an autoscaled deployment counts its
*maximum* replicas (it may grow to them without asking again), CPU and memory are per replica
times those replicas, and a figure the backend does not reserve counts 0 (a local endpoint asks
no CPU or memory: ``Resources`` None fields). Replicas count on every backend.

``check_quota(tenant, quota, usage, ask)`` refuses an ask that takes any figure past its limit,
with ``QuotaExceededError`` naming what is in use, what the ask needs and what is allowed.
A figure the ask does not add to is never refused, even when the tenant is over it already (a
quota lowered below what runs refuses only what would grow it). A deploy that replaces a
deployment counts both while its rollout runs (both have servers): a tenant needs room for one
more deployment to roll a new version out. Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lifecycle.errors import BadInputError, QuotaExceededError
from lifecycle.resources import Resources, format_cpu, format_memory

MAX_COUNT = 1_000_000_000
"""The largest count a quota takes (a typo guard)."""

MAX_QUOTA_CPU = 100_000.0
MAX_QUOTA_MEMORY = 16 * 1024**5  # 16 PiB

_MEMORY_UNITS = {
    "": 1,
    "k": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "P": 1000**5,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
    "Pi": 1024**5,
}
_MEMORY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$")
_CPU = re.compile(r"^(?:([0-9]+(?:\.[0-9]+)?)|([0-9]+)m)$")


class InvalidQuotaError(BadInputError):
    """A quota figure that is malformed or out of range; nothing was changed."""


@dataclass(frozen=True, slots=True)
class Quota:
    """A tenant's limits; ``None`` is unlimited. CPU in CPUs, memory in bytes, both summed over
    every replica of every live deployment."""

    deployments: int | None = None
    replicas: int | None = None
    cpu: float | None = None
    memory_bytes: int | None = None
    capture_rows: int | None = None

    def __post_init__(self) -> None:
        for what, count in (
            ("deployments", self.deployments),
            ("replicas", self.replicas),
            ("capture rows", self.capture_rows),
        ):
            if count is not None and not 0 <= count <= MAX_COUNT:
                raise InvalidQuotaError(
                    f"a quota of {what} must be between 0 and {MAX_COUNT}, not {count}"
                )
        if self.cpu is not None and not (
            math.isfinite(self.cpu) and 0 <= self.cpu <= MAX_QUOTA_CPU
        ):
            raise InvalidQuotaError(
                f"a CPU quota must be between 0 and {MAX_QUOTA_CPU:g}, not {self.cpu}"
            )
        if self.memory_bytes is not None and not 0 <= self.memory_bytes <= MAX_QUOTA_MEMORY:
            raise InvalidQuotaError(
                f"a memory quota must be between 0 and 16Pi, not {self.memory_bytes}"
            )

    @property
    def unlimited(self) -> bool:
        """Whether no figure is limited (the same as having no quota)."""
        return all(value is None for value in self.to_columns().values())

    def to_columns(self) -> dict[str, Any]:
        """The ``tenant_quotas`` columns (CPU and memory as canonical text)."""
        return {
            "max_deployments": self.deployments,
            "max_replicas": self.replicas,
            "max_cpu": None if self.cpu is None else format_cpu(self.cpu),
            "max_memory": None if self.memory_bytes is None else format_memory(self.memory_bytes),
            "max_capture_rows": self.capture_rows,
        }

    @classmethod
    def from_columns(
        cls,
        max_deployments: int | None = None,
        max_replicas: int | None = None,
        max_cpu: str | None = None,
        max_memory: str | None = None,
        max_capture_rows: int | None = None,
    ) -> Quota:
        """The inverse of ``to_columns``."""
        return cls(
            max_deployments,
            max_replicas,
            None if max_cpu is None else parse_quota_cpu(max_cpu),
            None if max_memory is None else parse_quota_memory(max_memory),
            max_capture_rows,
        )


def parse_quota_cpu(text: str) -> float:
    """CPUs from ``4``, ``0.5`` or ``500m``; 0 to 100,000."""
    match = _CPU.match(text.strip())
    if match is None:
        raise InvalidQuotaError(
            f"a CPU quota must be a number of CPUs like 4 or 500m, not {text!r}"
        )
    cpus = float(match.group(1)) if match.group(1) is not None else int(match.group(2)) / 1000
    Quota(cpu=cpus)  # the range, said once
    return cpus


def parse_quota_memory(text: str) -> int:
    """Bytes from ``8Gi``, ``512Mi``, ``1T`` or a plain byte count; 0 to 16Pi."""
    match = _MEMORY.match(text.strip())
    if match is None:
        raise InvalidQuotaError(f"a memory quota must be a size like 8Gi or 512Mi, not {text!r}")
    size = math.floor(float(match.group(1)) * _MEMORY_UNITS[match.group(2) or ""])
    Quota(memory_bytes=size)  # the range, said once
    return size


def quota_from_text(
    deployments: int | None = None,
    replicas: int | None = None,
    cpu: str | None = None,
    memory: str | None = None,
    capture_rows: int | None = None,
) -> Quota:
    """A quota from the figures as typed (CLI options, the API's body); ``None`` or empty text
    is unlimited."""
    return Quota(
        deployments,
        replicas,
        parse_quota_cpu(cpu) if cpu else None,
        parse_quota_memory(memory) if memory else None,
        capture_rows,
    )


@dataclass(frozen=True, slots=True)
class Usage:
    """What a tenant uses now (or what one deployment asks): live deployments, their replicas
    (an autoscaled one's maximum), CPU and memory reserved over those replicas, captured rows."""

    deployments: int = 0
    replicas: int = 0
    cpu: float = 0.0
    memory_bytes: int = 0
    capture_rows: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.deployments + other.deployments,
            self.replicas + other.replicas,
            self.cpu + other.cpu,
            self.memory_bytes + other.memory_bytes,
            self.capture_rows + other.capture_rows,
        )


def demand(resources: Resources) -> Usage:
    """What one deployment asking ``resources`` counts: one deployment, its replicas (the
    autoscaling maximum when it autoscales), CPU and memory per replica times those replicas
    (``None`` reserves nothing and counts 0)."""
    replicas = resources.autoscale.max_replicas if resources.autoscale else resources.replicas
    return Usage(
        deployments=1,
        replicas=replicas,
        cpu=(resources.cpu or 0.0) * replicas,
        memory_bytes=(resources.memory_bytes or 0) * replicas,
    )


def usage_of(live: Iterable[Resources], capture_rows: int = 0) -> Usage:
    """A tenant's usage from the resources of its live deployments and its captured rows."""
    total = Usage(capture_rows=capture_rows)
    for resources in live:
        total = total + demand(resources)
    return total


def _millis(cpus: float) -> int:
    """CPUs in whole millicores, so sums of 0.1s compare exactly."""
    return round(cpus * 1000)


def _cpus(millis: int) -> str:
    return format_cpu(millis / 1000)


def exceeded(quota: Quota, usage: Usage, ask: Usage) -> list[str]:
    """Each figure ``ask`` takes past ``quota``, in words (empty when it fits). A figure the
    ask does not add to is never listed."""
    found: list[str] = []
    counts = (
        ("deployments", quota.deployments, usage.deployments, ask.deployments),
        ("replicas", quota.replicas, usage.replicas, ask.replicas),
    )
    for what, limit, used, more in counts:
        if limit is not None and more > 0 and used + more > limit:
            found.append(f"{used} of {limit} {what} are in use; this deploy needs {more} more")
    if quota.cpu is not None and ask.cpu > 0:
        used_m, more_m, limit_m = _millis(usage.cpu), _millis(ask.cpu), _millis(quota.cpu)
        if used_m + more_m > limit_m:
            found.append(
                f"{_cpus(used_m)} of {_cpus(limit_m)} CPUs are in use; "
                f"this deploy needs {_cpus(more_m)} more"
            )
    limit_b, used_b, more_b = quota.memory_bytes, usage.memory_bytes, ask.memory_bytes
    if limit_b is not None and more_b > 0 and used_b + more_b > limit_b:
        found.append(
            f"{format_memory(used_b)} of {format_memory(limit_b)} of memory is in use; "
            f"this deploy needs {format_memory(more_b)} more"
        )
    return found


def check_quota(quota: Quota | None, usage: Usage, ask: Usage, tenant: str) -> None:
    """Nothing when ``ask`` fits in ``tenant``'s ``quota`` beside ``usage`` (or there is no
    quota); else ``QuotaExceededError`` with every figure it exceeds, on one line."""
    if quota is None:
        return
    over = exceeded(quota, usage, ask)
    if over:
        raise QuotaExceededError(f"tenant {tenant}: " + "; ".join(over))


def capture_rows_to_drop(quota: Quota | None, rows: int) -> int:
    """How many of a tenant's oldest captured rows go so that ``rows`` fits its quota."""
    if quota is None or quota.capture_rows is None:
        return 0
    return max(0, rows - quota.capture_rows)


def quota_figures(quota: Quota | None, usage: Usage) -> dict[str, dict[str, Any]]:
    """Used and allowed per figure, JSON-ready, as ``deployer quota show`` and the API give
    them (``allowed`` None is unlimited; CPU and memory as canonical text)."""
    q = quota or Quota()
    return {
        "deployments": {"used": usage.deployments, "allowed": q.deployments},
        "replicas": {"used": usage.replicas, "allowed": q.replicas},
        "cpu": {
            "used": _cpus(_millis(usage.cpu)),
            "allowed": None if q.cpu is None else format_cpu(q.cpu),
        },
        "memory": {
            "used": format_memory(usage.memory_bytes),
            "allowed": None if q.memory_bytes is None else format_memory(q.memory_bytes),
        },
        "capture_rows": {"used": usage.capture_rows, "allowed": q.capture_rows},
    }
