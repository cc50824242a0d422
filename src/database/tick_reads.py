"""``ml_deployments`` and ``rollouts`` rows as the monitoring tick reads them: plain values.

The tick over 1,000 open rollouts reads every deployment of its models (2,000 and more) and
every open rollout, only to judge them: it changes none of them through these reads (its one
write goes through its own unit of work). As row objects, each read row is an instance with its
state tracked in the session's identity map; as columns, it is a tuple. ``DeploymentFacts`` is
what the tick reads of a deployment (the columns its judgements and plans look at, and its
``endpoint()`` as the row gives it); an open rollout's columns are read as they are
(``OPEN_ROLLOUT``), with the attribute names the row class has.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from database.among import among, chunks
from database.models import DeploymentRow, RolloutRow
from lifecycle.ports import Endpoint


@dataclass(frozen=True, slots=True)
class DeploymentFacts:
    """One deployment as the tick judges it: its model and version, where it is in its life,
    where its server runs, and the change mark of a run changing it."""

    deployment_id: str
    model_name: str
    model_version: str
    target_stage: str
    strategy: str
    status: str
    endpoint_url: str | None
    endpoint_port: int | None
    endpoint_pid: int | None
    serving_backend: str
    deployed_at: datetime
    drained_at: datetime | None
    changing_run_id: str | None
    changing_since: datetime | None

    def endpoint(self) -> Endpoint:
        """The endpoint as the ports know it (``DeploymentRow.endpoint``)."""
        url, port, backend = self.endpoint_url or "", self.endpoint_port or 0, self.serving_backend
        return Endpoint(self.deployment_id, url, port, self.endpoint_pid, backend or "local")


_d = DeploymentRow
FACTS = (
    _d.deployment_id,
    _d.model_name,
    _d.model_version,
    _d.target_stage,
    _d.strategy,
    _d.status,
    _d.endpoint_url,
    _d.endpoint_port,
    _d.endpoint_pid,
    _d.serving_backend,
    _d.deployed_at,
    _d.drained_at,
    _d.changing_run_id,
    _d.changing_since,
)
"""The columns of ``DeploymentFacts``, in its fields' order."""
_facts_of = cast(Callable[..., DeploymentFacts], DeploymentFacts)  # a row of ``FACTS``, unpacked

_r = RolloutRow
OPEN_ROLLOUT = (
    _r.deployment_id,
    _r.model_name,
    _r.baseline_deployment_id,
    _r.phase,
    _r.steps,
    _r.step_index,
    _r.step_started_at,
    _r.pause_seconds,
    _r.warm_until,
    _r.config,
    _r.marks,
    _r.pending,
)
"""What the monitor reads of an open rollout (``model_deployer.views.open_rollout_of``)."""


def facts(session: Session, model_name: str | None = None) -> list[DeploymentFacts]:
    """Deployments (of one model, or all), oldest first, as ``DeploymentFacts``."""
    query = select(*FACTS).order_by(DeploymentRow.deployed_at, DeploymentRow.deployment_id)
    if model_name is not None:
        query = query.where(DeploymentRow.model_name == model_name)
    return [_facts_of(*row) for row in session.execute(query)]


def change_marks(
    session: Session, deployment_ids: Iterable[str]
) -> dict[str, tuple[str | None, datetime | None]]:
    """Each of these deployments' change mark (``changing_run_id``, ``changing_since``), those
    that exist, in one read of three columns (the tick's write asks it of 2,000)."""
    ids = sorted(set(deployment_ids))
    query = select(_d.deployment_id, _d.changing_run_id, _d.changing_since)
    of = functools.partial(among, session, _d.deployment_id)
    return {i: (r, s) for p in chunks(ids) for i, r, s in session.execute(query.where(of(p)))}


def last_messages(session: Session, deployment_ids: Iterable[str]) -> dict[str, str]:
    """What each of these deployments' rollouts (those that have one) said last, in one read
    of two columns."""
    ids = sorted(set(deployment_ids))
    query = select(_r.deployment_id, _r.last_message)
    of = functools.partial(among, session, _r.deployment_id)
    return {d: m for p in chunks(ids) for d, m in session.execute(query.where(of(p)))}
