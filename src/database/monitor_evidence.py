"""The monitor agent's evidence of many models at once (``MonitorRepository.evidence_many``).

Each table the evidence comes from is read once for every model (a few statements in all,
chunked for ``IN (...)``), whatever the number of models, so ``deployer watch``'s tick over
1,000 models reads as much as over one. ``MonitorRepository.evidence`` of one model is this
over one model: the two cannot disagree.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, union_all
from sqlalchemy.orm import Session

from database.among import among, chunks
from database.models import DeploymentRow, HealthCheckRow
from database.models_drift import DriftCheckRow
from database.models_feedback import QualityCheckRow
from database.models_monitor import CheckFailureRow, MonitorDecisionRow
from database.models_retraining import RetrainingPolicyRow, RetrainingRunRow
from database.models_slo import SloStateRow
from database.repositories import RolloutRepository
from lifecycle.monitor import OPEN_PHASES
from lifecycle.shadow_watch import ShadowEvidence, failed_gates
from lifecycle.stages import LIVE_STATUSES, DeploymentStatus
from lifecycle.strategies import StrategyName
from lifecycle.watch_decisions import (
    CheckFailure,
    DriftEvidence,
    Evidence,
    QualityEvidence,
    SloEvidence,
)

STALE_LOOKBACK = timedelta(hours=1)
"""How far back stale-figure judgements count when the model has no decision yet."""

OBSERVED = 10
"""A deployment's latest judgements the SLO evidence reads (failed ones in a row, breaches)."""

_CONCLUSIVE = ("ok", "drop")
_UNION = 200
"""Deployments per statement of the latest-judgements read (SQLite joins at most 500 selects)."""


def evidence_many(session: Session, models: Iterable[str], now: datetime) -> dict[str, Evidence]:
    """What the watch knows about each of ``models`` now, from one read of each table."""
    names = sorted(set(models))
    if not names:
        return {}
    last = latest_per_model(
        session, MonitorDecisionRow, names, columns=[MonitorDecisionRow.decided_at]
    )
    policies = dict(_rows(session, RetrainingPolicyRow.model_name, RetrainingPolicyRow.updated_at,
                          RetrainingPolicyRow.model_name, names))  # fmt: skip
    runs = dict(_rows(session, RetrainingRunRow.active_model, RetrainingRunRow.id,
                      RetrainingRunRow.active_model, names))  # fmt: skip
    live: dict[str, list[Any]] = defaultdict(list)
    for row in _live(session, names):
        live[row.model_name].append(row)
    states: dict[str, list[SloStateRow]] = defaultdict(list)
    for p in chunks(names):
        for state in session.scalars(
            select(SloStateRow).where(among(session, SloStateRow.model_name, p))
        ):
            states[state.model_name].append(state)
    watched = {d.deployment_id for rows in live.values() for d in rows}
    guarded = sorted({s.deployment_id for v in states.values() for s in v} & watched)
    observed = latest_checks(session, guarded)
    rollouts = RolloutRepository(session).find_many(guarded)
    shadows = [d.deployment_id for rows in live.values() for d in rows
               if d.strategy == StrategyName.SHADOW.value]  # fmt: skip
    shadow_checks = latest_checks(session, shadows, 1)
    drift = latest_per_model(session, DriftCheckRow, names)
    quality = latest_per_model(session, QualityCheckRow, names, *_conclusive())
    since = {m: last[m].decided_at if m in last else now - STALE_LOOKBACK for m in names}
    stale = _stale(session, names, since)
    failures = _failures(session, names)
    return {
        m: Evidence(
            model_name=m,
            slo=tuple(_slo(states[m], live[m], observed, rollouts)),
            drift=_drift(drift.get(m)),
            quality=_quality(quality.get(m)),
            stale=tuple(stale[m]),
            failures=tuple(failures[m]),
            active_run=runs.get(m),
            policy_set_at=policies.get(m),
            shadows=tuple(_shadows(live[m], shadow_checks)),
        )
        for m in names
    }


def _rows(session: Session, key: Any, value: Any, column: Any, names: list[str]) -> list[Any]:
    found: list[Any] = []
    for p in chunks(names):
        found.extend(session.execute(select(key, value).where(among(session, column, p))).tuples())
    return found


def _live(session: Session, names: list[str]) -> list[Any]:
    """The models' live deployments, oldest first (as ``DeploymentRepository.list``): the
    columns the evidence reads, as plain rows (no row objects for 1,000 models)."""
    statuses = [s.value for s in LIVE_STATUSES]
    d = DeploymentRow
    columns = (d.deployment_id, d.model_name, d.model_version, d.status, d.strategy,
               d.deployed_at, d.drained_at)  # fmt: skip
    query = select(*columns).where(DeploymentRow.status.in_(statuses))
    of_models = functools.partial(among, session, DeploymentRow.model_name)
    found = [r for p in chunks(names) for r in session.execute(query.where(of_models(p)))]
    return sorted(found, key=lambda r: (r.deployed_at, r.deployment_id))


def latest_per_model(
    session: Session, table: Any, names: list[str], *where: Any, columns: Sequence[Any] = ()
) -> dict[str, Any]:
    """Each model's newest row of ``table`` (by id) among those ``where`` admits: its row
    object, or with ``columns`` a plain row of those columns and ``model_name`` (a decision's
    row holds its whole evidence as JSON: 1,000 of them decoded only for a date each)."""
    found: dict[str, Any] = {}
    for p in chunks(names):
        newest = (
            select(func.max(table.id)).where(among(session, table.model_name, p), *where)
        ).group_by(table.model_name)
        if columns:
            read = session.execute(select(table.model_name, *columns).where(table.id.in_(newest)))
            found.update({r.model_name: r for r in read})
            continue
        found.update(
            {r.model_name: r for r in session.scalars(select(table).where(table.id.in_(newest)))}
        )
    return found


def latest_checks(
    session: Session, deployment_ids: Sequence[str], limit: int = OBSERVED
) -> dict[str, list[HealthCheckRow]]:
    """Each deployment's latest ``limit`` judgements, newest first: one statement per
    ``_UNION`` deployments, each part its own indexed ``LIMIT`` (no scan of old judgements)."""
    found: dict[str, list[HealthCheckRow]] = defaultdict(list)
    ids = list(deployment_ids)
    if not ids:
        return found
    for start in range(0, len(ids), _UNION):
        parts = [
            select(
                select(HealthCheckRow.id)
                .where(HealthCheckRow.deployment_id == d)
                .order_by(HealthCheckRow.id.desc())
                .limit(limit)
                .subquery()
                .c.id
            )
            for d in ids[start : start + _UNION]
        ]
        chosen = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
        query = (
            select(HealthCheckRow)
            .where(HealthCheckRow.id.in_(select(chosen.c.id)))
            .order_by(HealthCheckRow.id.desc())
        )
        for row in session.scalars(query):
            found[row.deployment_id].append(row)
    return found


def _conclusive() -> tuple[Any, ...]:
    return (
        QualityCheckRow.verdict.in_(_CONCLUSIVE),
        QualityCheckRow.metric.is_not(None),
        QualityCheckRow.observed.is_not(None),
        QualityCheckRow.approved.is_not(None),
    )


def _slo(
    states: list[SloStateRow],
    live: Sequence[Any],
    observed: dict[str, list[HealthCheckRow]],
    rollouts: dict[str, Any],
) -> list[SloEvidence]:
    deployments = {d.deployment_id: d for d in live}
    found = []
    for state in sorted(states, key=lambda s: s.deployment_id):
        row = deployments.get(state.deployment_id)
        if row is None or row.status == DeploymentStatus.DRAINING.value:
            continue
        checks = observed.get(state.deployment_id, [])
        latest = checks[0].metrics.get("slo", {}) if checks else {}
        rollout = rollouts.get(state.deployment_id)
        found.append(
            SloEvidence(
                deployment_id=state.deployment_id,
                version=row.model_version,
                status=state.status,
                failed_checks=_in_a_row(checks),
                guard=str(latest.get("guard") or "none"),
                in_rollout=rollout is not None and rollout.phase in OPEN_PHASES,
                warm_target=_warm(live, state.deployment_id),
                breaches=tuple(_breaches(checks)),
            )
        )
    return found


def _shadows(live: Sequence[Any], checks: dict[str, list[HealthCheckRow]]) -> list[ShadowEvidence]:
    """Each live shadow deployment and what its last judgement's promotion gates failed."""
    found = []
    for row in live:
        if row.strategy != StrategyName.SHADOW.value:
            continue
        last = checks.get(row.deployment_id)
        failed = failed_gates(last[0].metrics) if last else ()
        found.append(ShadowEvidence(deployment_id=row.deployment_id, version=row.model_version,
                                    failed=failed))  # fmt: skip
    return found


def _drift(row: DriftCheckRow | None) -> DriftEvidence | None:
    if row is None:
        return None
    columns = [c for c in (row.columns or []) if isinstance(c, dict)]
    drifted = tuple(str(name) for name in row.drifted or [])
    figures: dict[str, Any] = {
        str(c.get("name")): {
            "p_value": c.get("adjusted_p_value", c.get("p_value")),
            "psi": c.get("psi"),
        }
        for c in columns
        if c.get("name") in drifted
    }
    return DriftEvidence(
        version=row.version,
        checked_at=row.checked_at,
        verdict=row.verdict,
        drifted=drifted,
        features=sum(1 for c in columns if c.get("role", "feature") != "output"),
        figures=figures,
    )


def _quality(row: QualityCheckRow | None) -> QualityEvidence | None:
    if row is None or row.metric is None or row.observed is None or row.approved is None:
        return None
    return QualityEvidence(
        version=row.version,
        checked_at=row.checked_at,
        verdict=row.verdict,
        metric=row.metric,
        observed=row.observed,
        approved=row.approved,
        labelled=row.labelled,
    )


def _stale(session: Session, names: list[str], since: dict[str, datetime]) -> dict[str, list[str]]:
    """Per model, each deployment's newest stale-figures judgement since ``since[model]``."""
    seen: dict[str, dict[str, str]] = defaultdict(dict)
    earliest = min(since.values())
    for p in chunks(names):
        query = (
            select(HealthCheckRow)
            .where(
                among(session, HealthCheckRow.model_name, p),
                HealthCheckRow.checked_at > earliest,
                HealthCheckRow.message.like("figures stale%"),
            )
            .order_by(HealthCheckRow.id.desc())
        )
        for row in session.scalars(query):
            if row.checked_at > since[row.model_name]:
                line = f"{row.deployment_id}: {row.message.split(';')[0]}"
                seen[row.model_name].setdefault(row.deployment_id, line)
    return {m: [seen[m][d] for d in sorted(seen[m])] for m in names}


def _failures(session: Session, names: list[str]) -> dict[str, list[CheckFailure]]:
    """Per model, its failed checks newer than the last check of their kind that judged."""
    found: dict[str, list[CheckFailure]] = defaultdict(list)
    for kind, table in (("drift", DriftCheckRow), ("quality", QualityCheckRow)):
        judged = (
            select(table.checked_at)
            .where(table.model_name == CheckFailureRow.model_name)
            .order_by(table.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        for p in chunks(names):
            newest = (
                select(func.max(CheckFailureRow.id))
                .where(
                    among(session, CheckFailureRow.model_name, p),
                    CheckFailureRow.kind == kind,
                    and_(judged.is_(None) | (CheckFailureRow.failed_at > judged)),
                )
                .group_by(CheckFailureRow.model_name)
            )
            for row in session.scalars(
                select(CheckFailureRow).where(CheckFailureRow.id.in_(newest))
            ):
                found[row.model_name].append(
                    CheckFailure(kind=kind, failed_at=row.failed_at, message=row.message)
                )
    return found


def _in_a_row(checks: Sequence[HealthCheckRow]) -> int:
    """Failed SLO judgements in a row, newest first."""
    count = 0
    for check in checks:
        if check.metrics.get("slo", {}).get("status") != "failed":
            break
        count += 1
    return count


def _breaches(checks: Sequence[HealthCheckRow]) -> list[str]:
    if not checks or checks[0].metrics.get("slo", {}).get("status") != "failed":
        return []
    parts = [p.strip() for p in checks[0].message.split(";")]
    return [p for p in parts if p and not p.startswith("SLO breach")][:3]


def _warm(rows: Iterable[Any], deployment_id: str) -> str | None:
    """The newest other deployment of the model still kept warm (draining)."""
    warm = sorted(
        (r for r in rows if r.deployment_id != deployment_id
         and r.status == DeploymentStatus.DRAINING.value),
        key=lambda r: (r.drained_at or r.deployed_at, r.deployment_id),
    )  # fmt: skip
    return warm[-1].deployment_id if warm else None
