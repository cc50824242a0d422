"""Rollback configuration: when a new deployment is judged unhealthy, and how often to look."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from enum import StrEnum

from lifecycle.certainty import DEFAULT_CONFIDENCE
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
    deployment's p95 and p99 against the stable baseline's; below ``min_requests`` a step
    can only be *inconclusive*, or fail on errors that are over the threshold for sure:
    certainly, or at ``early_fail_confidence`` by a one-sided binomial test (1: certainty
    only; :mod:`lifecycle.certainty` says what it costs in false failures);
    ``check_interval_seconds`` is how often the monitor looks.
    """

    error_rate_threshold: float
    latency_multiplier: float
    min_requests: int
    check_interval_seconds: float
    preset: RollbackPreset | None = None
    early_fail_confidence: float = DEFAULT_CONFIDENCE

    def __post_init__(self) -> None:
        if not 0.9 <= self.early_fail_confidence <= 1.0:
            raise BadInputError("early_fail_confidence must be between 0.9 and 1")
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


OVERRIDABLE = (
    "error_rate_threshold",
    "latency_multiplier",
    "min_requests",
    "check_interval_seconds",
    "early_fail_confidence",
)
"""Fields a deployment may set over its preset."""


def configure(
    preset: str | RollbackPreset, overrides: Mapping[str, float | int] | None = None
) -> RollbackConfig:
    """The preset called ``preset`` with ``overrides`` over it (checked like any config)."""
    base = rollback_preset(preset)
    extra = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(extra) - set(OVERRIDABLE))
    if unknown:
        raise BadInputError(f"unknown rollback settings: {', '.join(unknown)}")
    if "min_requests" in extra:
        extra["min_requests"] = int(extra["min_requests"])
    return replace(base, **extra)  # type: ignore[arg-type]


def config_to_dict(config: RollbackConfig) -> dict[str, object]:
    """JSON-ready."""
    data = asdict(config)
    data["preset"] = config.preset.value if config.preset else None
    return data


def config_from_dict(data: Mapping[str, object]) -> RollbackConfig:
    """The config a ``config_to_dict`` value describes."""
    preset = data.get("preset")
    return RollbackConfig(
        error_rate_threshold=float(str(data["error_rate_threshold"])),
        latency_multiplier=float(str(data["latency_multiplier"])),
        min_requests=int(str(data["min_requests"])),
        check_interval_seconds=float(str(data["check_interval_seconds"])),
        preset=RollbackPreset(str(preset)) if preset else None,
        early_fail_confidence=float(str(data.get("early_fail_confidence", 1.0))),
    )
