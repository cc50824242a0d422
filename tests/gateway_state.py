"""What a fake gateway backend's ``load`` returns (``mlops.gateway.backend.BackendState``):
the routing tables with their revisions, the deployments they name, and the known models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lifecycle.ports import Routes


@dataclass(frozen=True)
class Upstream:
    deployment_id: str
    model_version: str
    url: str | None


@dataclass(frozen=True)
class State:
    routes: Mapping[str, tuple[Routes, int]]
    upstreams: Mapping[str, Upstream]
    models: frozenset[str]
