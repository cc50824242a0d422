"""Per-tenant quotas in the state database: the limits (``tenant_quotas``) and what a tenant uses
now, read from ``ml_deployments`` (live statuses) and ``predictions``.

A model's tenant is the prefix of its qualified name (``lifecycle.tenants``): the default
tenant's models are the names without ``/``; another tenant's are those starting with
``tenant/``, compared exactly (``substr``, no LIKE pattern to escape), the same on SQLite and
PostgreSQL. ``lock`` reads the quota row ``FOR UPDATE``: the deploy that writes a deployment
row holds it until it commits, so two deploys of one tenant judge its usage one after the other
(on SQLite the writing transaction's ``BEGIN IMMEDIATE`` already serialises every writer).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from database.models import DeploymentRow
from database.models_quotas import TenantQuotaRow
from database.models_watch import PredictionRow
from database.repositories import AuditLog
from lifecycle.quotas import Quota, Usage, capture_rows_to_drop, check_quota, demand, usage_of
from lifecycle.resources import Resources
from lifecycle.stages import LIVE_STATUSES
from lifecycle.tenants import DEFAULT_TENANT, tenant_of


def in_tenant(column: InstrumentedAttribute[str], tenant: str) -> ColumnElement[bool]:
    """The model names of ``tenant``: bare names for the default tenant, ``tenant/...``
    otherwise (an exact prefix comparison)."""
    if tenant == DEFAULT_TENANT:
        return column.not_like("%/%")
    prefix = f"{tenant}/"
    return func.substr(column, 1, len(prefix)) == prefix


class QuotaRepository:
    """``tenant_quotas`` rows and the usage they bound."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, tenant: str) -> Quota | None:
        """The tenant's quota; None when it has none (every figure unlimited)."""
        row = self.session.get(TenantQuotaRow, tenant)
        return None if row is None else row.quota()

    def lock(self, tenant: str) -> Quota | None:
        """``get``, holding the quota row until the transaction ends (``FOR UPDATE``), so the
        deploys of one tenant with a quota judge its usage in turn."""
        row = self.session.get(TenantQuotaRow, tenant, with_for_update=True, populate_existing=True)
        return None if row is None else row.quota()

    def row(self, tenant: str) -> TenantQuotaRow | None:
        return self.session.get(TenantQuotaRow, tenant)

    def set(self, tenant: str, quota: Quota, actor: str, now: datetime) -> TenantQuotaRow:
        """Store ``quota`` as the tenant's (replacing any), by ``actor`` at ``now``."""
        row = self.session.get(TenantQuotaRow, tenant, with_for_update=True)
        if row is None:
            row = TenantQuotaRow(tenant=tenant)
            self.session.add(row)
        for column, value in quota.to_columns().items():
            setattr(row, column, value)
        row.set_by, row.set_at = actor, now
        self.session.flush()
        return row

    def clear(self, tenant: str) -> bool:
        """Remove the tenant's quota (unlimited again); whether it had one."""
        result: Any = self.session.execute(
            delete(TenantQuotaRow).where(TenantQuotaRow.tenant == tenant)
        )
        return bool(result.rowcount)

    def all(self) -> list[TenantQuotaRow]:
        """Every stored quota, by tenant."""
        return list(self.session.scalars(select(TenantQuotaRow).order_by(TenantQuotaRow.tenant)))

    def usage_of(self, tenant: str, capture: bool = True) -> Usage:
        """What ``tenant``'s live deployments use now (``lifecycle.quotas.usage_of``), and its
        captured rows (counted only with ``capture``: a deploy does not ask for them)."""
        rows = self.session.execute(
            select(
                DeploymentRow.replicas,
                DeploymentRow.cpu_limit,
                DeploymentRow.memory_limit,
                DeploymentRow.autoscaling,
            ).where(
                DeploymentRow.status.in_([s.value for s in LIVE_STATUSES]),
                in_tenant(DeploymentRow.model_name, tenant),
            )
        ).all()
        live = [Resources.from_columns(r, cpu, memory, scale) for r, cpu, memory, scale in rows]
        return usage_of(live, self.capture_rows(tenant) if capture else 0)

    def admit(self, model_name: str, resources: Resources) -> None:
        """Refuse (``QuotaExceededError``) a new deployment of ``model_name`` asking
        ``resources`` that would take its tenant past its quota; call it in the unit of work
        that writes the deployment row, before the write: the tenant's quota row stays locked
        until that commit, so a rival deploy of the tenant reads this one's row."""
        tenant = tenant_of(model_name)
        quota = self.lock(tenant)
        if quota is None or quota.unlimited:
            return
        check_quota(quota, self.usage_of(tenant, capture=False), demand(resources), tenant)

    def capture_rows(self, tenant: str) -> int:
        """How many captured predictions of ``tenant``'s models are kept."""
        query = select(func.count()).where(in_tenant(PredictionRow.model_name, tenant))
        return int(self.session.scalar(query) or 0)

    def capture_excess(self) -> dict[str, tuple[int, int, list[str]]]:
        """Each tenant keeping more captured rows than its quota allows: (rows over, rows
        allowed, its captured models). One grouped count over the capture index."""
        limits = {r.tenant: r.quota() for r in self.all() if r.max_capture_rows is not None}
        if not limits:
            return {}
        counted = self.session.execute(
            select(PredictionRow.model_name, func.count()).group_by(PredictionRow.model_name)
        ).all()
        per: dict[str, tuple[int, list[str]]] = {}
        for model, rows in counted:
            tenant = model.split("/", 1)[0] if "/" in model else DEFAULT_TENANT
            total, models = per.get(tenant, (0, []))
            per[tenant] = (total + int(rows), [*models, model])
        excess = {}
        for tenant, (rows, models) in per.items():
            over = capture_rows_to_drop(limits.get(tenant), rows)
            if over:
                excess[tenant] = (over, rows - over, models)
        return excess

    def drop_oldest_captures(self, models: list[str], keep: int) -> int:
        """Delete the captured rows of ``models`` beyond their newest ``keep``; how many."""
        mine = PredictionRow.model_name.in_(models)
        edge = self.session.execute(
            select(PredictionRow.captured_at, PredictionRow.id)
            .where(mine)
            .order_by(PredictionRow.captured_at.desc(), PredictionRow.id.desc())
            .offset(keep)
            .limit(1)
        ).first()
        if edge is None:
            return 0
        at, row_id = edge
        beyond = or_(
            PredictionRow.captured_at < at,
            and_(PredictionRow.captured_at == at, PredictionRow.id <= row_id),
        )
        result: Any = self.session.execute(delete(PredictionRow).where(mine, beyond))
        return int(result.rowcount or 0)


CAPTURE_ACTOR = "capture-retention"
"""The actor of the capture writer's own drops (the gateways' retention)."""


def trim_capture_quotas(repo: QuotaRepository, audit: AuditLog, dropping: set[str]) -> int:
    """Keep each tenant's captured rows within its quota, dropping the oldest (the capture
    writer's retention round; the caller commits). A tenant that starts dropping gets
    one ``capture_quota_dropped`` audit event (``dropping`` holds the tenants that dropped last
    round, updated here), not one a round. ``repo`` and ``audit`` are one unit of work's."""
    excess = repo.capture_excess()
    deleted = 0
    for tenant, (over, allowed, models) in sorted(excess.items()):
        deleted += repo.drop_oldest_captures(models, allowed)
        if tenant not in dropping:
            summary = (
                f"tenant {tenant}: captured predictions beyond its quota of {allowed} rows "
                f"are dropped, oldest first ({over} now)"
            )
            payload = {"tenant": tenant, "dropped": over, "allowed": allowed, "summary": summary}
            audit.append(CAPTURE_ACTOR, "capture_quota_dropped", tenant, payload)
    dropping.intersection_update(excess)
    dropping.update(excess)
    return deleted
