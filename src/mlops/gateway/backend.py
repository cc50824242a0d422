"""What a gateway is given: the backend it reads tables from and writes figures to (the
state database in production, through ``database.routing``), its knobs, and the snapshot of
tables it serves; plus the JSON error answer every part of it gives."""

from __future__ import annotations

import os
import socket
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from lifecycle.errors import ConfigurationError
from lifecycle.ports import Routes
from mlops.gateway.balancer import CompiledRoute

JSON = "application/json"


class UpstreamInfo(Protocol):
    """A deployment as the backend describes it."""

    @property
    def deployment_id(self) -> str: ...

    @property
    def model_version(self) -> str: ...

    @property
    def url(self) -> str | None: ...


class BackendState(Protocol):
    """What :meth:`RouteBackend.load` returns."""

    @property
    def routes(self) -> Mapping[str, tuple[Routes, int]]: ...

    @property
    def upstreams(self) -> Mapping[str, UpstreamInfo]: ...

    @property
    def models(self) -> frozenset[str]: ...


class RouteBackend(Protocol):
    """Where routing tables live and figures go (the state database in production).

    A backend may also have ``fingerprint() -> lifecycle.table_sync.Fingerprint`` (the state
    database has): the gateway then polls that one small read and loads only what changed
    (``mlops.gateway.tables``); without it, it polls ``revisions`` and loads everything."""

    def load(self, models: Collection[str] | None = None) -> BackendState:
        """Every table (with ``models``: only those models' tables, and no known models)."""
        ...

    def revisions(self) -> Mapping[str, int]: ...

    def save(self, routes: Routes, actor: str) -> tuple[Routes, int]: ...

    def clear(self, model_name: str, actor: str) -> bool: ...

    def store_stats(
        self,
        gateway_id: str,
        deployments: Iterable[Mapping[str, Any]],
        shadows: Iterable[Mapping[str, Any]],
        *,
        unchanged: Collection[tuple[str, str]] | None = None,
        retired: Collection[tuple[str, str]] | None = None,
    ) -> None:
        """Store this gateway's figures. Without ``unchanged`` or ``retired``: replace all its
        rows. With ``unchanged`` (``(kind, deployment_id)`` keys whose figures are as last
        stored): write the given rows and mark the unchanged ones as reported now. With
        ``retired`` (the keys it stored once and no longer reports): write the given rows and
        mark every other row of this gateway as reported now. Rows of deployments it no longer
        reports (retired) are left as they were, the evidence later gates read."""
        ...


MIN_TOKEN_LENGTH = 16
"""The shortest admin token a gateway starts with (an empty or guessable one is refused)."""

ADMIN_ACTOR = "gateway-admin"
"""Who a routing change through the admin API is recorded as: the admin token's holder."""


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Knobs of one gateway process; the defaults are what ``deployer gateway`` runs with.

    ``token`` is the admin API's bearer token: shorter than MIN_TOKEN_LENGTH is refused
    (ConfigurationError), so a gateway never starts with an empty one (a token file read while
    another process was still writing it). ``admin_actor`` is the identity that token proves:
    every change through the admin API is recorded as that actor."""

    token: str
    upstream_timeout: float = 10.0
    shadow_timeout: float = 10.0
    max_body_bytes: int = 1024 * 1024
    retry_on_stable: bool = True
    poll_interval: float = 0.5
    full_reload_interval: float = 300.0
    """Seconds between loads of everything whatever the backend's fingerprint says (a safety
    net: a change shows in the fingerprint, which is polled every ``poll_interval``)."""
    flush_interval: float = 2.0
    window_seconds: int = 60
    shadow_concurrency: int = 64
    shadow_backlog: int = 2000
    tolerance: float = 1e-6
    sample_body_models: frozenset[str] = frozenset()
    """Models whose shadow disagreement samples keep the request body (sanitised, truncated);
    the others keep its hash and shape only (``mlops.gateway.samples``)."""
    gateway_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    admin_actor: str = ADMIN_ACTOR
    # Isolation per upstream (issue 16): each deployment has its own connection pool, so a hung
    # one cannot take the stable deployment's connections, and its own breaker.
    connect_timeout: float = 1.0
    """Seconds to open a connection to an upstream."""
    pool_timeout: float = 0.5
    """Seconds a request may wait for a free connection to its upstream (beyond the connect)."""
    read_timeout: float | None = None
    """Seconds without a byte of the answer (None: ``upstream_timeout`` bounds it)."""
    canary_read_timeout: float | None = None
    """The same for a non-stable deployment (a failure there is retried on stable)."""
    hedge_after: float | None = None
    """Seconds a non-stable deployment may take to answer before the request is sent to the
    stable deployment too, the first answer winning (None: ``connect_timeout``)."""
    connections_per_upstream: int = 64
    breaker_failures: int = 5
    breaker_cooldown: float = 2.0
    ejection_seconds: float = 60.0
    """Seconds an ejection lasts unless the deployment's table changes first."""
    # Slow clients (issue 16): deadlines on reading a request, and the shadow backlog in bytes.
    header_timeout: float = 10.0
    """Seconds a client has to send its request line and headers (and an idle keep-alive)."""
    body_timeout: float = 10.0
    """Seconds a client has to send a request's whole body."""
    shadow_backlog_bytes: int = 64 * 1024 * 1024
    """Request bodies waiting for their shadow call, at most (beyond: the mirror is dropped)."""

    def __post_init__(self) -> None:
        if len(self.token) < MIN_TOKEN_LENGTH:
            raise ConfigurationError(
                f"the gateway's admin token must be at least {MIN_TOKEN_LENGTH} characters "
                f"(it has {len(self.token)}); set a longer DEPLOYER_GATEWAY_TOKEN"
            )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The routing tables being served, swapped as a whole."""

    routes: Mapping[str, CompiledRoute]
    models: frozenset[str]
    keys: Mapping[str, tuple[Any, ...]]


def error(status: int, message: str, code: str, **extra: Any) -> web.Response:
    """A JSON error answer."""
    return web.json_response({"error": message, "code": code, **extra}, status=status)
