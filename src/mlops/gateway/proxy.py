"""The gateway's data plane: routes predictions by the routing table it keeps loaded.

Stack, chosen by measuring (DESIGN.md section 7): an aiohttp server with an aiohttp client
upstream. It costs about a quarter of what the same forwarder costs with httpx, and on two cores
the proxy's CPU per request is what decides throughput.

What happens to a prediction (``POST /v1/models/{name}/predict``, or
``/v1/models/{tenant}/{name}/predict`` for a tenant's model: ``mlops.gateway.paths``):

1. The current snapshot of routing tables is read once; the admin API and the poller replace the
   whole snapshot, so each request sees the old table or the new one, never a mix.
2. A deployment is picked (:mod:`mlops.gateway.balancer`): sticky with ``X-Routing-Key``.
3. The body goes upstream unchanged; the answer comes back unchanged (the model server already
   puts ``model_name``, ``model_version`` and ``deployment_id`` in it) with ``X-Deployment-Id``
   and ``X-Model-Version`` headers added.
4. A failure of a non-stable deployment (no connection, timeout, 5xx) counts against it and is
   retried once on the stable deployment, so users do not see a canary's failures; one that
   has not answered within the hedge delay (``hedge_after``, by default the connect timeout)
   is asked of the stable deployment too, and the first answer wins (:mod:`.calls`), so a
   hung canary costs its users that delay, not its read deadline.
5. When the table mirrors, a copy goes to the shadow deployment in a background task on its own
   connection pool, after the answer is known: the client never waits for the shadow. The two
   outputs are compared prediction by prediction.

The gateway knows the database only through :class:`RouteBackend`; ``mlops.gateway.runner`` runs
it over the real one. Every ``poll_interval`` it reloads tables whose revision changed, and every
``flush_interval`` it writes its figures back, so the promotion gate can read them later.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from multidict import CIMultiDict

from lifecycle.breaker import BreakerPolicy
from lifecycle.capture import request_id, sampled, uuid4_text
from lifecycle.hedging import hedge_delay
from lifecycle.table_sync import Fingerprint
from mlops.gateway import reporting, tables
from mlops.gateway.backend import JSON, GatewayConfig, RouteBackend, Snapshot, error
from mlops.gateway.balancer import CompiledRoute, Upstream
from mlops.gateway.breaker import Breakers
from mlops.gateway.calls import Answer, UpstreamCalls, hedged
from mlops.gateway.capture import CaptureSink, Sampled
from mlops.gateway.deadlines import canary_timeout, slow_body
from mlops.gateway.metrics import CONTENT_TYPE, Figures, GatewayMetrics
from mlops.gateway.paths import asked, model_of
from mlops.gateway.samples import disagreement
from mlops.gateway.stats import DeploymentStats, ShadowComparison, outputs_agree

log = logging.getLogger("deployer.gateway")


class DataPlane:
    """Predictions, ``/healthz`` and ``/metrics`` over a snapshot of the routing tables, which
    :meth:`poll` and :meth:`reload` keep current and :meth:`flush` reports figures from."""

    def __init__(
        self, backend: RouteBackend, config: GatewayConfig, capture: CaptureSink | None = None
    ) -> None:
        self.backend = backend
        self.config = config
        self.capture = capture
        self.snapshot = Snapshot({}, frozenset(), {})
        self.stats: dict[str, DeploymentStats] = {}
        self.shadows: dict[str, ShadowComparison] = {}
        self._shadow_tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._shadow_session: aiohttp.ClientSession | None = None
        self.reload_lock = asyncio.Lock()
        self._shadow_slots = asyncio.Semaphore(config.shadow_concurrency)
        self._shadow_bytes = 0
        self._urgent_flush: asyncio.Task[None] | None = None
        self.flush_lock = asyncio.Lock()
        self._canary_timeout = canary_timeout(config)
        policy = BreakerPolicy(config.breaker_failures, config.breaker_cooldown)
        self.breakers = Breakers(policy, ejection_seconds=config.ejection_seconds)
        self.loaded_at = 0.0
        self.fully_loaded_at = 0.0
        self.fingerprint: Fingerprint | None = None
        """What the backend's fingerprint was when the snapshot was last brought up to date."""
        self.flushed_at: float | None = None
        self.failed_flushes = 0
        self.flushed: dict[tuple[str, str], dict[str, Any]] = {}
        """The figures of the last flush that stored, by kind and deployment."""
        self.retired: set[tuple[str, str]] = set()
        """Rows stored once and no longer reported (left unmarked: a later gate's evidence)."""
        self.named: tuple[Snapshot, frozenset[str]] | None = None
        """The deployments a snapshot's tables name (computed once per snapshot)."""
        self.calls = UpstreamCalls()
        self._call = self.calls.call
        self._hedge_after = (
            config.connect_timeout if config.hedge_after is None else config.hedge_after
        )
        self._late: set[asyncio.Task[Answer]] = set()
        """Non-stable calls whose users got the stable answer: each counts its outcome later."""
        self.prometheus = GatewayMetrics(self._figures)
        if capture is not None and getattr(backend, "fingerprint", None) is not None:
            capture.refresh_each_round = False  # the poll refreshes it when settings change

    # -- the routing snapshot ------------------------------------------------------------------

    async def poll(self) -> None:
        """Bring the snapshot up to date if the backend's fingerprint changed; otherwise one
        small query is all it costs, whatever the number of models (``gateway.tables``)."""
        await tables.poll(self)

    async def reload(self) -> None:
        """Load what changed now (a pushed reload, an admin change), keeping unchanged tables'
        compiled routes and counters (``gateway.tables.sync``)."""
        await tables.sync(self)

    async def flush(self) -> None:
        """Write this gateway's figures to the backend (``reporting.flush``: only what
        changed, one flush at a time, retired deployments forgotten)."""
        await reporting.flush(self)

    # -- the data plane ----------------------------------------------------------------------

    def track(self, deployment_id: str, model_name: str) -> DeploymentStats:
        """The figures of a deployment (made on first use)."""
        return self._stats(deployment_id, model_name)

    def _stats(self, deployment_id: str, model_name: str) -> DeploymentStats:
        stats = self.stats.get(deployment_id)
        if stats is None:
            stats = DeploymentStats(deployment_id, model_name, self.config.window_seconds)
            self.stats[deployment_id] = stats
        return stats

    async def predict(self, request: web.Request) -> web.StreamResponse:
        """Route one prediction; every answer carries ``X-Request-Id`` (the client's when it is
        valid, else a new uuid4), and a sampled one is queued for capture."""
        rid = request_id(request.headers.get("X-Request-Id"), _new_request_id)
        response = await self._predict(request, rid)
        headers = response.headers
        if "X-Request-Id" not in headers:  # an answer from upstream has it already
            headers["X-Request-Id"] = rid
        return response

    async def _predict(self, request: web.Request, rid: str) -> web.Response:
        name = model_of(request.match_info)
        if name is None:
            return error(404, f"unknown model {asked(request.match_info)!r}", "unknown_model")
        snapshot = self.snapshot
        route = snapshot.routes.get(name)
        if route is None or not route.upstreams:
            if route is None and name not in snapshot.models:
                return error(404, f"unknown model {name!r}", "unknown_model")
            return error(503, f"model {name!r} has no live deployment", "no_live_deployment")
        length = request.content_length
        if length is not None and length > self.config.max_body_bytes:
            return self._too_large()
        try:
            if request.content.is_eof():  # the whole body came with the headers: no wait
                body = await request.read()
            else:
                async with asyncio.timeout(self.config.body_timeout):  # no task per request
                    body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._too_large()
        except TimeoutError:
            return slow_body(self.config.body_timeout)
        deployment_id = route.pick(request.headers.get("X-Routing-Key"))
        breakers = self.breakers
        if (
            deployment_id != route.stable
            and route.stable in route.upstreams
            and not breakers.allow(deployment_id, name)
        ):
            deployment_id = route.stable  # its breaker is open or it was ejected
        upstream = route.upstreams.get(deployment_id)
        stable = route.upstreams.get(route.stable)
        picked_stable = deployment_id == route.stable
        retry = self.config.retry_on_stable
        delay = hedge_delay(picked_stable, stable is not None, retry, self._hedge_after)
        if delay is None:
            tighter = None if picked_stable else self._canary_timeout
            status, data, ms, failure = await self._call(self._session_(), upstream, body, tighter)
            self._stats(deployment_id, name).record(ms, failure is not None)
            if breakers.record(deployment_id, name, failure is None):
                self._flush_now()
        else:
            first = self._counted(deployment_id, name, upstream, body, self._canary_timeout)
            ended = await hedged(
                first, lambda: self._counted(route.stable, name, stable, body), delay, self._late
            )
            stats = self._stats(deployment_id, name)
            stats.retried += ended.retried
            stats.hedged += ended.hedged
            if ended.from_stable:
                deployment_id, upstream = route.stable, stable
            status, data, ms, failure = ended.answer
        capture = self.capture
        percent = capture.percents.get(name) if capture is not None else None
        if percent and capture is not None and sampled(percent, random.random()):
            version = upstream.model_version if upstream is not None else ""
            answer = data
            if failure is not None and (not data or status in (502, 503, 504)):
                answer = b""
            capture.offer(
                Sampled(rid, name, version, deployment_id, time.time(), ms, status, body, answer)
            )
        if failure is not None:
            code = {502: "upstream_unreachable", 504: "upstream_timeout"}.get(status, "upstream")
            if not data or status in (502, 503, 504):
                message = f"deployment {deployment_id} of {name} {failure}"
                return error(status, message, code, deployment_id=deployment_id)
        shadow = route.mirror()
        if shadow is not None and status == 200:
            self._mirror(route, shadow, body, data, ms)
        assert upstream is not None  # a failure above returned when there was no upstream
        headers = CIMultiDict(  # every header at once: no Content-Type parsing, no second set
            (
                ("Content-Type", JSON),
                ("X-Deployment-Id", deployment_id),
                ("X-Model-Version", upstream.model_version),
                ("X-Request-Id", rid),
            )
        )
        return web.Response(body=data, status=status, headers=headers)

    async def _counted(
        self,
        deployment_id: str,
        model_name: str,
        upstream: Upstream | None,
        body: bytes,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> Answer:
        """One call of a hedged pair, counted when it ends (whether the user still waits or
        not: a canary's late answer is a slow request, its deadline a failure)."""
        answer = await self._call(self._session_(), upstream, body, timeout)
        self._stats(deployment_id, model_name).record(answer[2], answer[3] is not None)
        if self.breakers.record(deployment_id, model_name, answer[3] is None):
            self._flush_now()
        return answer

    def _flush_now(self) -> None:
        """Report the figures now, not at the next flush: a canary just crossed a threshold
        (ejected, breaker open), and the monitor's next tick should judge what the gateway saw."""
        if self._urgent_flush is None or self._urgent_flush.done():
            self._urgent_flush = asyncio.create_task(self._flush_quietly())

    async def _flush_quietly(self) -> None:
        try:
            await self.flush()
        except Exception as exc:  # counted by flush(); the next periodic one carries it all
            log.warning("the figures flush after a threshold crossing failed: %s", exc)

    def _too_large(self) -> web.Response:
        limit = self.config.max_body_bytes
        return error(413, f"the body is larger than {limit} bytes", "body_too_large")

    def _session_(self) -> aiohttp.ClientSession:
        assert self._session is not None, "the gateway app is not running"
        return self._session

    def _mirror(
        self, route: CompiledRoute, shadow_id: str, body: bytes, primary: bytes, primary_ms: float
    ) -> None:
        model = route.routes.model_name
        comparison = self.shadows.get(shadow_id)
        if comparison is None or comparison.model_name != model:
            comparison = ShadowComparison(shadow_id, model)
            self.shadows[shadow_id] = comparison
        comparison.mirrored += 1
        held = len(body) + len(primary)
        if (
            len(self._shadow_tasks) >= self.config.shadow_backlog
            or self._shadow_bytes + held > self.config.shadow_backlog_bytes
        ):
            comparison.dropped += 1  # a slow shadow must not pile up unbounded work or memory
            return
        self._shadow_bytes += held
        task = asyncio.create_task(
            self._shadow_call(route, shadow_id, comparison, body, primary, primary_ms)
        )
        self._shadow_tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._shadow_tasks.discard(finished)
            self._shadow_bytes -= held

        task.add_done_callback(done)

    async def _shadow_call(
        self,
        route: CompiledRoute,
        shadow_id: str,
        comparison: ShadowComparison,
        body: bytes,
        primary: bytes,
        primary_ms: float,
    ) -> None:
        assert self._shadow_session is not None
        # At most shadow_concurrency calls in flight; the rest wait here, outside the timing.
        async with self._shadow_slots:
            status, data, ms, failure = await self._call(
                self._shadow_session, route.upstreams.get(shadow_id), body
            )
        self._stats(shadow_id, comparison.model_name).record(ms, failure is not None)
        if failure is not None or status != 200:
            comparison.record_failure(primary_ms, ms)
            return
        try:
            ours = orjson.loads(primary)["predictions"]
            theirs = orjson.loads(data)["predictions"]
        except (ValueError, KeyError, TypeError):  # orjson.JSONDecodeError is a ValueError
            comparison.record_failure(primary_ms, ms)
            return
        if not isinstance(ours, list) or not isinstance(theirs, list):
            comparison.record_failure(primary_ms, ms)
            return
        compared = max(len(ours), len(theirs))
        if len(ours) == len(theirs):
            tolerance = self.config.tolerance
            agreed = sum(outputs_agree(a, b, tolerance) for a, b in zip(ours, theirs, strict=True))
        else:
            agreed = 0
        sample = None
        if agreed < compared and len(comparison.disagreements) < comparison.sample_size:
            keep = comparison.model_name in self.config.sample_body_models
            sample = disagreement(body, ours, theirs, keep)
        comparison.record(primary_ms, ms, compared, agreed, sample)

    # -- reading -------------------------------------------------------------------------------

    async def healthz(self, request: web.Request) -> web.Response:
        """Liveness, with the age of the routing snapshot."""
        return web.json_response(
            {
                "status": "ok",
                "gateway_id": self.config.gateway_id,
                "models": sorted(self.snapshot.routes),
                "snapshot_age_seconds": round(time.monotonic() - self.loaded_at, 3),
                "flush_age_seconds": (
                    None
                    if self.flushed_at is None
                    else round(time.monotonic() - self.flushed_at, 3)
                ),
                "failed_flushes": self.failed_flushes,
                "capture": None if self.capture is None else self.capture.figures(),
            }
        )

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus text format, from this gateway's own registry (``gateway.metrics``)."""
        return web.Response(
            body=self.prometheus.exposition(), headers={"Content-Type": CONTENT_TYPE}
        )

    def _figures(self) -> Figures:
        revisions = {name: route.revision for name, route in self.snapshot.routes.items()}
        stats, shadows = list(self.stats.values()), list(self.shadows.values())
        return Figures(stats, shadows, revisions, self.failed_flushes, self.breakers.figures())


def _new_request_id() -> str:
    return uuid4_text(random.getrandbits(128))
