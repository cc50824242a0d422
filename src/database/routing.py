"""Routing tables and gateway figures in the state database.

The ``routes`` table is the source of truth: gateways load it and poll it, the admin API and the
agent write it through :class:`DbRouter`. Gateways write what they measured to ``gateway_stats``;
:class:`DbMetricsSource` merges the rows of every replica into the figures the gates read.
Loads, revision polls and figure reads are read-only transactions: on SQLite a gateway's poll
never takes the write lock, so it neither waits for a writer nor holds one up.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from database.among import among, chunks
from database.engine import read_session
from database.gateway_stats import storable as storable  # its home before, still imported
from database.gateway_stats import store_stats
from database.metrics_snapshot import MetricsSnapshot
from database.models import DeploymentRow, GatewayStatsRow, ModelVersionRow, RolloutRow, RouteRow
from database.models_watch import CaptureSettingRow
from database.polling import KeptReader
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import UnknownModelError
from lifecycle.latency import RequestCounts, merged_metrics, summed_counts
from lifecycle.metrics import PerformanceMetrics, ShadowStats
from lifecycle.monitor import RolloutPhase
from lifecycle.ports import Routes
from lifecycle.records import utcnow
from lifecycle.route_stages import RoutedDeployment, admit_routes
from lifecycle.routing import validate_routes
from lifecycle.stages import ROUTABLE_STATUSES, DeploymentStatus, ModelStage
from lifecycle.table_sync import Fingerprint


@dataclass(frozen=True, slots=True)
class UpstreamRow:
    """A deployment a route names, as a gateway needs it."""

    deployment_id: str
    model_name: str
    model_version: str
    url: str | None


@dataclass(frozen=True, slots=True)
class RoutingState:
    """Everything a gateway serves: the tables, their revisions, upstreams and known models."""

    routes: Mapping[str, tuple[Routes, int]]
    upstreams: Mapping[str, UpstreamRow]
    models: frozenset[str]
    ejection_limits: Mapping[str, tuple[float, int, float]] = field(default_factory=dict)
    """A progressing canary's rollback threshold and minimum of requests (its rollout's config):
    the gateway ejects it once its errors certainly exceed them (``lifecycle.breaker``)."""


TABLE = (
    RouteRow.model_name,
    RouteRow.weights,
    RouteRow.shadow_deployment_id,
    RouteRow.shadow_percent,
    RouteRow.stable_deployment_id,
)
"""The columns of a ``routes`` row that ``routes_of`` reads."""


def routes_of(row: RouteRow | Row[Any]) -> Routes:
    """The domain value of one ``routes`` row (its columns are the JSON codec's fields), a
    row object or its ``TABLE`` columns."""
    return Routes.from_json(
        {
            "model_name": row.model_name,
            "weights": row.weights,
            "shadow_deployment_id": row.shadow_deployment_id,
            "shadow_percent": row.shadow_percent,
            "stable_deployment_id": row.stable_deployment_id,
        }
    )


def checked_routes(session: Session, routes: Routes) -> Routes:
    """``routes`` validated against the state DB's records, or raise and change nothing.

    The model must be registered (else UnknownModelError), every deployment the table names
    must be one of that model's deployments in a ROUTABLE_STATUSES status (else InvalidRouteError),
    and the stage rule (``lifecycle.route_stages``: users' weight only to production deployments,
    the mirror only to a shadow one) must hold (else UnapprovedRouteError, exit 3). Every path
    that writes a table (``traffic set``, the gateway's admin API, the graph) saves it
    through :meth:`DbRouter.save`, so this is the one place the rule is enforced.
    The records decide, not a process check: every gateway replica and every host reads the same
    records, and a deployment recorded failed or rolled back never gets users back even while
    its server still runs. A server that died under an active record is the monitor's to notice.
    """
    known_model = session.scalar(
        select(ModelVersionRow.model_name)
        .where(ModelVersionRow.model_name == routes.model_name)
        .limit(1)
    )
    if known_model is None:
        raise UnknownModelError(f"unknown model {routes.model_name!r}")
    live = session.execute(
        select(DeploymentRow.deployment_id, DeploymentRow.model_name).where(
            DeploymentRow.status.in_(ROUTABLE_STATUSES)
        )
    ).all()
    clean = validate_routes(routes, {d: m for d, m in live})
    return admit_routes(clean, routed_deployments(session, clean))


def routed_deployments(session: Session, routes: Routes) -> dict[str, RoutedDeployment]:
    """The deployments ``routes`` names, as the stage rule reads them (its stage at deploy
    time, its version's stage now, its status)."""
    named = {*routes.weights, routes.shadow_deployment_id} - {None}
    rows = session.execute(
        select(
            DeploymentRow.deployment_id,
            DeploymentRow.target_stage,
            ModelVersionRow.stage,
            DeploymentRow.status,
        )
        .join(
            ModelVersionRow,
            ModelVersionRow.model_version_id == DeploymentRow.model_version_id,
        )
        .where(DeploymentRow.deployment_id.in_(named))
    ).all()
    return {
        d: RoutedDeployment(d, ModelStage(deployed), ModelStage(version), DeploymentStatus(status))
        for d, deployed, version, status in rows
    }


class DbRouter:
    """The router port over the ``routes`` table (gateways pick changes up within a second)."""

    def __init__(self, session_factory: sessionmaker[Session], actor: str = "deployer") -> None:
        self.session_factory = session_factory
        self.actor = actor
        self._poller = KeptReader(session_factory)

    def set_routes(self, routes: Routes) -> None:
        """Validate and store a table; see :meth:`save`."""
        self.save(routes, self.actor)

    def save(self, routes: Routes, actor: str) -> tuple[Routes, int]:
        """Validate ``routes`` against live deployments, store it, audit it; return it and its
        revision. Raises UnknownModelError or InvalidRouteError and changes nothing."""
        what = f"the routes of {routes.model_name}"
        with SqlAlchemyUnitOfWork(self.session_factory, what) as uow:
            session = uow.session
            clean = checked_routes(session, routes)
            row = session.get(RouteRow, routes.model_name, with_for_update=True)
            if row is None:
                row = RouteRow(model_name=routes.model_name, revision=1, updated_by=actor)
                session.add(row)
            else:
                row.revision += 1
                row.updated_by = actor
            row.weights = dict(clean.weights)
            row.shadow_deployment_id = clean.shadow_deployment_id
            row.shadow_percent = clean.shadow_percent
            row.stable_deployment_id = clean.stable_deployment_id
            row.updated_at = utcnow()
            uow.flush()
            uow.audit.append(
                actor,
                "routes.set",
                routes.model_name,
                {
                    **clean.table_json(),
                    "revision": row.revision,
                },
            )
            revision = row.revision
            uow.commit()
        return clean, revision

    def clear(self, model_name: str, actor: str) -> bool:
        """Remove a model's table (it then has no live deployment); True if there was one."""
        with SqlAlchemyUnitOfWork(self.session_factory, f"the routes of {model_name}") as uow:
            row = uow.session.get(RouteRow, model_name, with_for_update=True)
            if row is None:
                return False
            uow.session.delete(row)
            uow.audit.append(actor, "routes.clear", model_name, {"revision": row.revision})
            uow.commit()
        return True

    def get_routes(self, model_name: str) -> Routes | None:
        """A model's stored table, or None."""
        with read_session(self.session_factory) as session:
            row = session.get(RouteRow, model_name)
            return routes_of(row) if row is not None else None

    def tables(self, model_names: Iterable[str]) -> dict[str, Routes]:
        """The stored tables of these models (those that have one), in one query."""
        names = sorted(set(model_names))
        with read_session(self.session_factory) as session:
            query = select(*TABLE)  # columns, no row objects (a tick reads 1,000 tables)
            of = functools.partial(among, session, RouteRow.model_name)
            rows = [r for part in chunks(names) for r in session.execute(query.where(of(part)))]
            return {row.model_name: routes_of(row) for row in rows}

    def revisions(self) -> dict[str, int]:
        """Each table's revision (read when the fingerprint's routes part changed)."""
        with read_session(self.session_factory) as session:
            rows = session.execute(select(RouteRow.model_name, RouteRow.revision)).all()
            return {name: revision for name, revision in rows}

    def fingerprint(self) -> Fingerprint:
        """What a gateway polls: one row of aggregates over the tables, the deployments, the
        registered versions and the capture settings (``lifecycle.table_sync``), whatever the
        number of models."""
        row = self._poller.one(FINGERPRINT)
        return Fingerprint(tuple(row[0:3]), tuple(row[3:5]), tuple(row[5:6]), tuple(row[6:9]))

    def load(self, models: Collection[str] | None = None) -> RoutingState:
        """Every table with its revision, the deployments they name, and the known models; with
        ``models``, only those models' tables (and no known models: the caller keeps its own)."""
        with read_session(self.session_factory) as session:
            if models is None:
                rows = session.scalars(select(RouteRow)).all()
            else:
                names = sorted(models)
                rows = [
                    r for part in chunks(names) for r in session.scalars(in_names(session, part))
                ]
            named: set[str] = set()
            for row in rows:
                named.update(row.weights)
                for extra in (row.shadow_deployment_id, row.stable_deployment_id):
                    if extra:
                        named.add(extra)
            upstreams: dict[str, UpstreamRow] = {}
            if named:
                for dep in session.execute(
                    select(
                        DeploymentRow.deployment_id,
                        DeploymentRow.model_name,
                        DeploymentRow.model_version,
                        DeploymentRow.endpoint_url,
                    ).where(DeploymentRow.deployment_id.in_(named))
                ).all():
                    upstreams[dep[0]] = UpstreamRow(dep[0], dep[1], dep[2], dep[3])
            models = frozenset(
                session.scalars(select(ModelVersionRow.model_name).distinct())
                if models is None
                else ()
            )
            return RoutingState(
                {row.model_name: (routes_of(row), row.revision) for row in rows},
                upstreams,
                models,
                _ejection_limits(session, named),
            )

    def store_stats(
        self,
        gateway_id: str,
        deployments: Iterable[Mapping[str, Any]],
        shadows: Iterable[Mapping[str, Any]],
        *,
        unchanged: Collection[tuple[str, str]] | None = None,
        retired: Collection[tuple[str, str]] | None = None,
    ) -> None:
        """Store this gateway's latest figures, in one transaction. Without ``unchanged`` or
        ``retired``, replace all its rows. With ``unchanged`` (the ``(kind, deployment_id)``
        rows whose figures are as last stored), rewrite only the given rows and mark the
        unchanged ones as reported now (``updated_at``: what the monitor's freshness reads).
        With ``retired`` instead (the rows it no longer reports), every other row of this
        gateway is the unchanged one: a flush where nothing changed is one UPDATE whose size
        does not grow with the tables. The rows of a deployment the gateway no longer reports
        (retired) are kept as they were, neither rewritten nor marked: they are evidence a
        later gate reads (a retired shadow's comparisons of a version promoted again)."""
        store_stats(self.session_factory, gateway_id, deployments, shadows, unchanged, retired)


class DbMetricsSource:
    """The metrics-source port over ``gateway_stats``, merging every gateway replica.

    Window figures come only from replicas that reported within ``fresh_seconds``; totals and
    shadow comparisons add up every row, so a restarted gateway does not forget what was seen.
    """

    def __init__(self, session_factory: sessionmaker[Session], fresh_seconds: float = 10.0) -> None:
        self.session_factory = session_factory
        self.fresh_seconds = fresh_seconds

    def _rows(self, kind: str, deployment_id: str) -> Sequence[GatewayStatsRow]:
        with read_session(self.session_factory) as session:
            return session.scalars(
                select(GatewayStatsRow).where(
                    GatewayStatsRow.kind == kind, GatewayStatsRow.deployment_id == deployment_id
                )
            ).all()

    def fresh(self, rows: Iterable[GatewayStatsRow]) -> list[GatewayStatsRow]:
        """The rows whose window figures count: those their gateway wrote within
        ``fresh_seconds``. A gateway that stopped reporting left its last window behind, which
        says nothing about now. Every reader of window figures asks this, so they agree."""
        cutoff = utcnow() - timedelta(seconds=self.fresh_seconds)
        return [r for r in rows if r.updated_at >= cutoff]

    def metrics(self, deployment_id: str) -> PerformanceMetrics:
        """Window figures of one deployment across fresh replicas."""
        rows = self.fresh(self._rows("deployment", deployment_id))
        return merged_metrics([r.figures for r in rows])

    def counts(self, deployment_id: str) -> RequestCounts:
        """Cumulative counters of one deployment, summed over every replica ever."""
        return summed_counts(
            r.figures.get("total", {}) for r in self._rows("deployment", deployment_id)
        )

    def reported_at(self, deployment_id: str) -> datetime | None:
        """When the freshest gateway report naming the deployment (its figures, or its shadow
        comparison) was stored: the ``updated_at`` of the rows each flush rewrites."""
        with read_session(self.session_factory) as session:
            return session.scalar(
                select(func.max(GatewayStatsRow.updated_at)).where(
                    GatewayStatsRow.deployment_id == deployment_id
                )
            )

    def shadow_stats(self, deployment_id: str) -> ShadowStats:
        """Output comparison of one shadow deployment, summed over every replica ever."""
        rows = self._rows("shadow", deployment_id)
        return ShadowStats.total(ShadowStats.from_figures(r.figures) for r in rows)

    def snapshot(self, deployment_ids: Iterable[str]) -> MetricsSnapshot:
        """The figures of these deployments read at once (a tick over many rollouts)."""
        ids = sorted(set(deployment_ids))
        # columns, not row objects: a tick over 1,000 rollouts reads thousands of these rows,
        # and an ORM object each cost most of this read's time (the snapshot only reads them)
        with read_session(self.session_factory) as session:
            of = functools.partial(among, session, GatewayStatsRow.deployment_id)
            rows = [r for p in chunks(ids) for r in session.execute(select(*STATS).where(of(p)))]
        return MetricsSnapshot(rows, ids, self.fresh)


STATS = (
    GatewayStatsRow.kind,
    GatewayStatsRow.deployment_id,
    GatewayStatsRow.figures,
    GatewayStatsRow.updated_at,
)
"""What a metrics snapshot reads of each ``gateway_stats`` row (``MetricsSnapshot``)."""


def _scalar(*columns: Any) -> Any:
    return select(*columns).scalar_subquery()


FINGERPRINT = select(
    _scalar(func.count(RouteRow.model_name)),
    _scalar(func.coalesce(func.sum(RouteRow.revision), 0)),
    _scalar(func.max(RouteRow.updated_at)),
    _scalar(func.count(DeploymentRow.deployment_id)),
    _scalar(func.coalesce(func.sum(DeploymentRow.row_version), 0)),
    _scalar(func.count(ModelVersionRow.model_version_id)),
    _scalar(func.count(CaptureSettingRow.model_name)),
    _scalar(func.max(CaptureSettingRow.updated_at)),
    _scalar(func.coalesce(func.sum(CaptureSettingRow.percent), 0.0)),
)
"""One statement, one row: :meth:`DbRouter.fingerprint`."""


def in_names(session: Session, names: list[str]) -> Select[RouteRow]:
    """The ``routes`` rows of these models."""
    return select(RouteRow).where(among(session, RouteRow.model_name, names))


def _ejection_limits(session: Session, named: set[str]) -> dict[str, tuple[float, int, float]]:
    """The rollback thresholds of the progressing canaries among ``named``."""
    limits: dict[str, tuple[float, int, float]] = {}
    if not named:
        return limits
    for deployment_id, config in session.execute(
        select(RolloutRow.deployment_id, RolloutRow.config).where(
            RolloutRow.deployment_id.in_(named), RolloutRow.phase == RolloutPhase.PROGRESSING.value
        )
    ).all():
        try:
            limits[deployment_id] = (
                float(config["error_rate_threshold"]),
                int(config["min_requests"]),
                float(config.get("early_fail_confidence", 1.0)),  # older rollouts: certainty
            )
        except (KeyError, TypeError, ValueError):
            continue  # no usable threshold: the gateway does not eject it
    return limits
