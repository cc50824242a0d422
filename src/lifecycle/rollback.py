"""Rollback configuration: when a new deployment is judged unhealthy, and how often to look."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lifecycle.errors import BadInputError


class RollbackPreset(StrEnum):
    """Named rollback configurations, from most to least cautious."""

    CONSERVATIVE = "conservative"
    BALANCED = "balanced"
    AGGRESSIVE = "aggressive"


@dataclass(frozen=True, slots=True)
class RollbackConfig:
    """Thresholds a canary or shadow deployment is held to before and while it takes traffic.

    ``error_rate_threshold`` is a fraction (0.01 is 1%); ``latency_multiplier`` bounds the new
    deployment's p95 and p99 against the stable baseline's; below ``min_requests`` no verdict
    but *inconclusive* is possible; ``check_interval_seconds`` is how often the monitor looks.
    """

    error_rate_threshold: float
    latency_multiplier: float
    min_requests: int
    check_interval_seconds: float
    preset: RollbackPreset | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate_threshold <= 1.0:
            raise BadInputError("error_rate_threshold must be a fraction between 0 and 1")
        if self.latency_multiplier < 1.0:
            raise BadInputError("latency_multiplier must be at least 1.0")
        if self.min_requests < 1:
            raise BadInputError("min_requests must be at least 1")
        if self.check_interval_seconds <= 0:
            raise BadInputError("check_interval_seconds must be positive")


PRESETS: dict[RollbackPreset, RollbackConfig] = {
    RollbackPreset.CONSERVATIVE: RollbackConfig(0.005, 1.2, 500, 30.0, RollbackPreset.CONSERVATIVE),
    RollbackPreset.BALANCED: RollbackConfig(0.01, 1.5, 1000, 60.0, RollbackPreset.BALANCED),
    RollbackPreset.AGGRESSIVE: RollbackConfig(0.02, 2.0, 5000, 300.0, RollbackPreset.AGGRESSIVE),
}


def rollback_preset(name: str | RollbackPreset) -> RollbackConfig:
    """The preset called ``name``; unknown names are bad input."""
    try:
        return PRESETS[RollbackPreset(str(name).strip().lower())]
    except ValueError:
        names = ", ".join(p.value for p in RollbackPreset)
        raise BadInputError(f"unknown rollback preset {name!r}; expected one of: {names}") from None
