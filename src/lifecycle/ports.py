"""The ports: what the domain and the agent need from the outside world, as typing.Protocol.

Adapters in ``mlops``, ``database`` and ``memory`` implement these; graph nodes and tests talk
only to them. Each port has one fake in the tests and a contract test run against fake and real.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from lifecycle.latency import RequestCounts
from lifecycle.metrics import PerformanceMetrics, ShadowStats
from lifecycle.stages import ModelStage


@dataclass(frozen=True, slots=True)
class RegisteredVersion:
    """A model version as the registry knows it."""

    model_name: str
    version: str
    stage: ModelStage
    source_uri: str
    run_id: str | None = None
    experiment_id: str | None = None
    parent_version: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    preprocessing_uri: str | None = None
    label: str | None = None
    """The semantic version label (the version tag ``label``), when it has one."""


@dataclass(frozen=True, slots=True)
class PackagedModel:
    """A built, servable package of one model version."""

    bento_tag: str
    path: str


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A running server for one package, on the serving backend that started it."""

    deployment_id: str
    url: str
    port: int
    pid: int | None = None
    """The local server's process (None on Ray, whose replicas are the engine's to run)."""
    backend: str = "local"
    """The backend that runs it (``local`` or ``ray``): it is checked and stopped there, even
    after ``DEPLOYER_SERVING`` changed."""

    @property
    def started(self) -> bool:
        """Whether a server was recorded for it (a URL; a local one also has its PID)."""
        return bool(self.url) and (self.backend != "local" or self.pid is not None)


@dataclass(frozen=True, slots=True)
class Routes:
    """One model's routing table: weights per deployment (summing to 100) and an optional mirror.

    ``stable_deployment_id`` is where a failed request to any other deployment is retried; when it
    is not given, the deployment with the largest weight is the stable one.
    """

    model_name: str
    weights: Mapping[str, float]
    shadow_deployment_id: str | None = None
    shadow_percent: float = 0.0
    stable_deployment_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The table as plain JSON (the one codec: state, audit, admin API, gateway).

        The keys keep this order: the CLI prints them as they come."""
        return {"model_name": self.model_name, **self.table_json()}

    def table_json(self) -> dict[str, Any]:
        """:meth:`to_json` without the model's name, where the name is already said (the admin
        API's path, a model's status, a stored row's key)."""
        return {
            "weights": dict(self.weights),
            "stable_deployment_id": self.stable_deployment_id,
            "shadow_deployment_id": self.shadow_deployment_id,
            "shadow_percent": self.shadow_percent,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Routes:
        """The table a :meth:`to_json` value (or a stored row's columns) describes."""
        return cls(
            model_name=data["model_name"],
            weights={k: float(v) for k, v in data["weights"].items()},
            shadow_deployment_id=data.get("shadow_deployment_id"),
            shadow_percent=float(data.get("shadow_percent") or 0.0),
            stable_deployment_id=data.get("stable_deployment_id"),
        )


@runtime_checkable
class ModelRegistry(Protocol):
    """Versions, their stages, metrics and lineage (MLflow in production)."""

    def register(
        self,
        model_name: str,
        model_uri: str,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, str] | None = None,
        parent_version: str | None = None,
        label: str | None = None,
    ) -> RegisteredVersion: ...

    def get_version(self, model_name: str, version: str) -> RegisteredVersion: ...

    def list_versions(
        self, model_name: str, stage: ModelStage | None = None
    ) -> Sequence[RegisteredVersion]: ...

    def set_stage(self, model_name: str, version: str, stage: ModelStage) -> RegisteredVersion: ...

    def list_model_names(self) -> Sequence[str]: ...

    def delete_version(self, model_name: str, version: str) -> None:
        """Remove a version (used to undo a registration whose bookkeeping failed)."""
        ...

    def set_label(self, model_name: str, version: str, label: str | None) -> None:
        """Tag the version with its semantic label (None: remove the tag); idempotent."""
        ...

    def aliases(self, model_name: str) -> Mapping[str, str]:
        """The model's aliases, alias -> version number (empty for an unknown model)."""
        ...

    def aliases_of(self, model_names: Sequence[str]) -> Mapping[str, Mapping[str, str]]:
        """Each named model's aliases, as ``aliases`` reads them (an unknown model: empty), in
        as few registry reads as the registry allows (MLflow: one per hundred names), so a
        tick over many models costs the registry one call, not one per model."""
        ...

    def move_aliases(self, model_name: str, moves: Mapping[str, str | None]) -> None:
        """Point each alias at its version (None: remove it); idempotent."""
        ...


@runtime_checkable
class Packager(Protocol):
    """Builds one servable package per model version."""

    def package(self, version: RegisteredVersion) -> PackagedModel: ...

    def export(self, bento_tag: str, directory: str) -> str: ...


@runtime_checkable
class EndpointManager(Protocol):
    """Starts, checks and stops the servers behind deployments. A new target is one class."""

    def create(self, deployment_id: str, bento_tag: str, workers: int = 1) -> Endpoint: ...

    def is_alive(self, endpoint: Endpoint) -> bool: ...

    def remove(self, endpoint: Endpoint) -> None: ...


@runtime_checkable
class Router(Protocol):
    """Sets and reads routing tables (Flagger's router interface, one model at a time)."""

    def set_routes(self, routes: Routes) -> None: ...

    def get_routes(self, model_name: str) -> Routes | None: ...

    def tables(self, model_names: Iterable[str]) -> dict[str, Routes]:
        """The tables of these models that have one, read at once (a tick over many)."""
        ...


@runtime_checkable
class MetricsSource(Protocol):
    """Health figures per deployment, as the gateway measured them."""

    def metrics(self, deployment_id: str) -> PerformanceMetrics: ...

    def shadow_stats(self, deployment_id: str) -> ShadowStats: ...

    def counts(self, deployment_id: str) -> RequestCounts:
        """Cumulative counters (all replicas), for figures over a period such as a step."""
        ...

    def reported_at(self, deployment_id: str) -> datetime | None:
        """When a gateway last reported figures of the deployment, as the store recorded the
        report (not as a gateway remembers it); None if none ever did. A gateway reports every
        deployment it routes or mirrors, requests or none, so an old report means no gateway
        is watching it: its figures are stale."""
        ...

    def snapshot(self, deployment_ids: Iterable[str]) -> MetricsSource:
        """The same answers for these deployments, read at once (a tick over many rollouts
        reads its figures this way); asking it about another deployment is an error."""
        ...


@runtime_checkable
class Clock(Protocol):
    """The time, injectable so that shadow ages and pauses can be tested."""

    def now(self) -> datetime: ...


@runtime_checkable
class Memory(Protocol):
    """Episodic and procedural memory of rollouts."""

    def record_episode(self, model_name: str, kind: str, episode: Mapping[str, Any]) -> str: ...

    def episodes(self, model_name: str, kind: str | None = None) -> Sequence[Mapping[str, Any]]: ...

    def procedure(self, model_name: str) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class TrainedRun:
    """What a retraining's MLflow Project run produced: its run, the model it logged (a URI
    the registry registers) and the metrics it logged."""

    run_id: str
    model_uri: str
    metrics: Mapping[str, float]


class ProjectRunner(Protocol):
    """MLflow Projects and models as the retraining agent uses them (issue 15)."""

    def check_project(self, project: str, entry_point: str) -> None:
        """Refuse (BadInputError) a project that is not there or lacks the entry point."""
        ...

    def train(
        self,
        project: str,
        entry_point: str,
        parameters: Mapping[str, str],
        experiment_id: str | None,
        tags: Mapping[str, str],
    ) -> TrainedRun:
        """Run the project's entry point to the end; the run and the model it logged."""
        ...

    def columns(self, model_uri: str) -> list[str]:
        """The feature columns of the model's input signature ([] when it has none)."""
        ...

    def predict(self, model_uri: str, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """The model's prediction for each feature row, in order (one value per row)."""
        ...

    def tag_version(self, model_name: str, version: str, tags: Mapping[str, str]) -> None:
        """Set tags on a registered version (lineage, label)."""
        ...
