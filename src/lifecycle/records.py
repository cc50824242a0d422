"""The two records the agent returns and stores: DeploymentManifest and VersionRecord."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from lifecycle.errors import BadInputError
from lifecycle.stages import DeploymentStatus, ModelStage
from lifecycle.strategies import StrategyName


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only kind of time this project stores)."""
    return datetime.now(UTC)


Instant = Annotated[
    datetime, PlainSerializer(datetime.isoformat, return_type=str, when_used="json")
]
"""A time in a graph-state value, written as ``datetime.isoformat()`` in JSON (``+00:00``, the
way the agent's output and the audit log have always written times)."""


class DeploymentManifest(BaseModel):
    """What was deployed, where, how, by whom and how long it took (the seed's fields)."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    deployment_id: str
    model_name: str
    model_version: str
    model_version_id: str
    model_version_label: str | None = None
    """The version's semantic label (``1.2.0``) when it has one (issue 15)."""
    experiment_id: str | None = None
    target_stage: ModelStage
    strategy: StrategyName = StrategyName.DIRECT
    endpoint_name: str
    endpoint_url: str | None = None
    status: DeploymentStatus = DeploymentStatus.PENDING
    replicas: int = Field(default=1, ge=1)
    cpu_limit: str | None = None
    memory_limit: str | None = None
    autoscaling: dict[str, Any] = Field(default_factory=dict)
    bento_tag: str | None = None
    traffic_percentage: float = Field(default=0.0, ge=0.0, le=100.0)
    deployed_by: str
    deployed_at: datetime = Field(default_factory=utcnow)
    deployment_duration_seconds: float | None = Field(default=None, ge=0.0)


class VersionRecord(BaseModel):
    """One stage change of one model version, with the evidence it was made on."""

    model_config = ConfigDict(frozen=True, protected_namespaces=())

    model_version_id: str
    model_name: str
    version: str
    label: str | None = None
    """The version's semantic label (``1.2.0``) when it has one (issue 15)."""
    from_stage: ModelStage | None
    to_stage: ModelStage
    metrics: dict[str, float] = Field(default_factory=dict)
    changed_by: str
    changed_at: datetime = Field(default_factory=utcnow)
    reason: str = ""
    approval_id: str | None = None


def model_version_id(model_name: str, version: str) -> str:
    """The stable identifier of a model version, used as a key across the registry and the DB."""
    return f"{model_name}/{version}"


def split_model_version_id(key: str) -> tuple[str, str] | None:
    """``team-a/fraud/3`` -> (``team-a/fraud``, ``3``); None when ``key`` does not end in
    ``/<number>`` (a qualified model name holds a ``/`` too, so split at the last one)."""
    model, sep, version = key.rpartition("/")
    return (model, version) if sep and model and version.isdigit() else None


def parse_version(version: str) -> str:
    """``"2"`` or ``"v2"`` -> ``"2"``; anything else is bad input."""
    match = re.fullmatch(r"[vV]?(\d+)", str(version).strip())
    if not match:
        raise BadInputError(f"invalid version {version!r}; versions are numbers like 2 or v2")
    return str(int(match.group(1)))
