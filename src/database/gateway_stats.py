"""A gateway's figures written to ``gateway_stats`` (``DbRouter.store_stats``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, delete, insert, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from database.models import GatewayStatsRow
from database.uow import write_error
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
    """``DbRouter.store_stats``: see there. Core statements in one transaction, no ORM session
    or unit of work: a gateway flushes every couple of seconds for as long as it runs, and
    the session, its repositories and the ORM's unit of work cost two to three times the
    statements (measured here: an idle flush 650 -> 230 us of CPU on SQLite, a flush of two
    changed rows 1.8 -> 0.6 ms). Errors are the unit of work's: a lost race is a
    ``ConflictError``, an unreachable database an ``InfrastructureError``."""
    now = utcnow()
    given = [
        (kind, str(figures[key]), figures)
        for kind, rows, key in (
            ("deployment", deployments, "deployment_id"),
            ("shadow", shadows, "shadow_deployment_id"),
        )
        for figures in rows
    ]
    columns = STATS.c
    mine = columns.gateway_id == gateway_id
    engine = session_factory.kw.get("bind")
    assert isinstance(engine, Engine), "a session factory bound to one engine"
    try:
        with engine.begin() as connection:  # SQLite: BEGIN IMMEDIATE (database.engine)
            if retired is not None:
                _mark_reported(connection, gateway_id, retired, now)
            elif unchanged is None:
                connection.execute(delete(STATS).where(mine))
            for kind in ("deployment", "shadow"):
                of_kind = columns.kind == kind
                ids = [d for k, d, _ in given if k == kind]
                if ids and (retired is not None or unchanged is not None):
                    in_ids = columns.deployment_id.in_(ids)
                    connection.execute(delete(STATS).where(mine, of_kind, in_ids))
                same = [d for k, d in unchanged or () if k == kind]
                if same and retired is None:
                    in_same = columns.deployment_id.in_(same)
                    marked = update(STATS).where(mine, of_kind, in_same)
                    connection.execute(marked.values(updated_at=now))
            if given:
                rows = [
                    {
                        "gateway_id": gateway_id,
                        "kind": kind,
                        "deployment_id": deployment_id,
                        "model_name": str(figures["model_name"]),
                        "figures": storable(figures),
                        "updated_at": now,
                    }
                    for kind, deployment_id, figures in given
                ]
                connection.execute(insert(STATS), rows)
    except DBAPIError as exc:
        translated = write_error(exc, "the gateway figures")
        if translated is None:
            raise
        raise translated from exc


def _mark_reported(
    connection: Connection, gateway_id: str, retired: Collection[tuple[str, str]], now: datetime
) -> None:
    """Mark every row of the gateway but the ``retired`` ones as reported ``now`` (one UPDATE
    when none is retired, else one a kind)."""
    columns = STATS.c
    mine = columns.gateway_id == gateway_id
    if not retired:
        connection.execute(update(STATS).where(mine).values(updated_at=now))
        return
    for kind in ("deployment", "shadow"):
        marked = update(STATS).where(mine, columns.kind == kind)
        skipped = [d for k, d in retired if k == kind]
        if skipped:
            marked = marked.where(columns.deployment_id.not_in(skipped))
        connection.execute(marked.values(updated_at=now))


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
