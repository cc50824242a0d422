"""A gateway's figures written to ``gateway_stats`` (``DbRouter.store_stats``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, update
from sqlalchemy.orm import Session, sessionmaker

from database.models import GatewayStatsRow
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.records import utcnow

log = logging.getLogger("deployer.routing")

STATS = cast(Table, GatewayStatsRow.__table__)


def store_stats(
    session_factory: sessionmaker[Session],
    gateway_id: str,
    deployments: Iterable[Mapping[str, Any]],
    shadows: Iterable[Mapping[str, Any]],
    unchanged: Collection[tuple[str, str]] | None,
    retired: Collection[tuple[str, str]] | None,
) -> None:
    """``DbRouter.store_stats``: see there."""
    now = utcnow()
    given = [
        (kind, str(figures[key]), figures)
        for kind, rows, key in (
            ("deployment", deployments, "deployment_id"),
            ("shadow", shadows, "shadow_deployment_id"),
        )
        for figures in rows
    ]
    mine = GatewayStatsRow.gateway_id == gateway_id
    with SqlAlchemyUnitOfWork(session_factory, "the gateway figures") as uow:
        session = uow.session
        if retired is not None:
            _mark_reported(session, gateway_id, retired, now)
        elif unchanged is None:
            session.execute(delete(GatewayStatsRow).where(mine))
        for kind in ("deployment", "shadow"):
            of_kind = GatewayStatsRow.kind == kind
            ids = [d for k, d, _ in given if k == kind]
            if ids and (retired is not None or unchanged is not None):
                in_ids = GatewayStatsRow.deployment_id.in_(ids)
                session.execute(delete(GatewayStatsRow).where(mine, of_kind, in_ids))
            same = [d for k, d in unchanged or () if k == kind]
            if same and retired is None:
                in_same = GatewayStatsRow.deployment_id.in_(same)
                marked = update(GatewayStatsRow).where(mine, of_kind, in_same)
                session.execute(marked.values(updated_at=now))
        for kind, deployment_id, figures in given:
            session.add(
                GatewayStatsRow(
                    gateway_id=gateway_id,
                    kind=kind,
                    deployment_id=deployment_id,
                    model_name=str(figures["model_name"]),
                    figures=storable(figures),
                    updated_at=now,
                )
            )
        uow.commit()


def _mark_reported(
    session: Session, gateway_id: str, retired: Collection[tuple[str, str]], now: datetime
) -> None:
    """Mark every row of the gateway but the ``retired`` ones as reported ``now`` (a Core
    statement: the ORM's bulk-update machinery cost more than the UPDATE itself)."""
    columns = STATS.c
    mine = columns.gateway_id == gateway_id
    if not retired:
        session.execute(update(STATS).where(mine).values(updated_at=now))
        return
    for kind in ("deployment", "shadow"):
        marked = update(STATS).where(mine, columns.kind == kind)
        skipped = [d for k, d in retired if k == kind]
        if skipped:
            marked = marked.where(columns.deployment_id.not_in(skipped))
        session.execute(marked.values(updated_at=now))


def storable(figures: Mapping[str, Any]) -> dict[str, Any]:
    """``figures`` as a JSON column on every database takes them. The gateway sanitises its
    samples (``mlops.gateway.samples``); this is the guard behind it: figures that strict JSON
    or PostgreSQL would refuse (NaN, inf, a NUL character, a lone surrogate) are stored without
    their ``disagreements`` samples, so one bad sample never stops the counters of a flush."""
    try:
        text = json.dumps(dict(figures), allow_nan=False, ensure_ascii=False)
        text.encode("utf-8")  # a lone surrogate does not encode
        if "\\u0000" not in text:
            return dict(figures)
    except (TypeError, ValueError):
        pass
    log.warning(
        "figures of %s not storable as they are: samples left out", figures.get("model_name")
    )
    return {**figures, "disagreements": [], "samples_dropped": True}
