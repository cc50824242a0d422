"""What an episode is: its kinds, outcomes, reserved fields and the *path* it belongs to.

An episode is one remembered event of a model's life (a promotion, a deployment, an approval, a
rollback, a health check) with its context and outcome. This module is pure: it builds and
classifies episode documents, and :mod:`memory.store_memory` stores them.

Caller's fields the memory understands (all optional, others are kept as given):

- ``version``, ``from_stage``, ``to_stage`` (promotions and approvals), ``stage`` (deployments:
  the stage the deployed version is in), ``strategy``, ``deployment_id``;
- ``outcome``: one of :data:`OUTCOMES`;
- ``reasons``: a list of short sentences saying why it was refused, failed or rolled back;
- ``canary_steps``: the canary schedule used, as traffic percents;
- on a rollback, ``rolled_back_episode_id`` (or ``deployment_id``) names the rollout it undid.

A *production rollout* is a promotion or deployment whose ``to_stage`` or ``stage`` is
``production``; it is what :func:`memory.advice.advise` learns from.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final

from lifecycle.errors import BadInputError

PROMOTION: Final = "promotion"
DEPLOYMENT: Final = "deployment"
APPROVAL: Final = "approval"
ROLLBACK: Final = "rollback"
HEALTH: Final = "health"
WATCH: Final = "watch"
"""The monitor agent's decision on drift, quality or service levels (issue 15): ``action``,
``trigger``, ``reasons``, ``drifted``, ``quality``, ``retraining_run_id``."""
RETRAINING: Final = "retraining"
"""A retraining run's end (issue 15): ``trigger``, ``window`` (``7d``), ``outcome``
(succeeded: handed over; refused: not better; failed), ``version``; its path is
``retrain:<trigger>:<window>``."""
EPISODE_KINDS: Final = frozenset(
    {PROMOTION, DEPLOYMENT, APPROVAL, ROLLBACK, HEALTH, WATCH, RETRAINING}
)

SUCCEEDED: Final = "succeeded"
ROLLED_BACK: Final = "rolled_back"
FAILED: Final = "failed"
REFUSED: Final = "refused"
OUTCOMES: Final = (SUCCEEDED, ROLLED_BACK, FAILED, REFUSED)

PRODUCTION: Final = "production"

RESERVED_FIELDS: Final = frozenset({"id", "kind", "model_name", "recorded_at", "sequence", "path"})
"""Fields the memory sets itself; a caller passing one of them is bad input."""


def path_of(kind: str, fields: Mapping[str, Any]) -> str:
    """The path an episode counts under: ``staging->shadow``, ``deploy:canary``, ``rollback``...

    Promotions are keyed by their stage move, approvals by the move they approve, deployments by
    their strategy; rollbacks and health checks each share one path per model.
    """
    move = _stage_move(fields)
    if kind == PROMOTION:
        return move or PROMOTION
    if kind == APPROVAL:
        return f"approval:{move}" if move else APPROVAL
    if kind == DEPLOYMENT:
        strategy = fields.get("strategy")
        return f"deploy:{strategy}" if strategy else "deploy"
    if kind == WATCH and fields.get("trigger"):
        return f"watch:{fields['trigger']}"
    if kind == RETRAINING:
        return f"retrain:{fields.get('trigger', 'manual')}:{fields.get('window', '?')}"
    return kind


def _stage_move(fields: Mapping[str, Any]) -> str | None:
    """``from->to`` when both stages are given, else None."""
    source, target = fields.get("from_stage"), fields.get("to_stage")
    return f"{source}->{target}" if source and target else None


def is_production_rollout(episode: Mapping[str, Any]) -> bool:
    """True for a deployment that put a version in front of production users.

    A promotion to production is a stage change under approval; users meet the version only
    once it is deployed, and only a deployment can be rolled back.
    """
    if episode.get("kind") != DEPLOYMENT:
        return False
    return episode.get("stage") == PRODUCTION


def build_episode(
    model_name: str,
    kind: str,
    fields: Mapping[str, Any],
    *,
    recorded_at: datetime,
    sequence: int,
    episode_id: str | None = None,
) -> dict[str, Any]:
    """The document to store: the caller's fields plus id, kind, model, time, sequence and path.

    The result is plain JSON (tuples become lists, enums their values, datetimes ISO text), so
    that an in-memory store hands back exactly what SQLite and PostgreSQL would.
    """
    if kind not in EPISODE_KINDS:
        raise BadInputError(
            f"unknown episode kind {kind!r}; expected one of {sorted(EPISODE_KINDS)}"
        )
    clash = sorted(RESERVED_FIELDS & set(fields))
    if clash:
        raise BadInputError(f"episode fields {clash} are set by the memory, not the caller")
    outcome = fields.get("outcome")
    if outcome is not None and outcome not in OUTCOMES:
        raise BadInputError(f"unknown outcome {outcome!r}; expected one of {list(OUTCOMES)}")
    document = {
        **_as_json(fields),
        "id": episode_id or uuid.uuid4().hex,
        "kind": kind,
        "model_name": model_name,
        "recorded_at": iso_utc(recorded_at),
        "sequence": sequence,
        "path": path_of(kind, fields),
    }
    return document


def iso_utc(moment: datetime) -> str:
    """``moment`` as ISO 8601 in UTC with microseconds (naive times are taken as UTC).

    A fixed width keeps the text sortable: later times sort after earlier ones.
    """
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat(timespec="microseconds")


def _as_json(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON round trip of ``fields``; a value JSON cannot hold is bad input."""
    try:
        value: dict[str, Any] = json.loads(json.dumps(dict(fields), default=_json_default))
    except (TypeError, ValueError) as exc:
        raise BadInputError(f"episode fields must be JSON-serialisable: {exc}") from exc
    return value


def _json_default(value: object) -> object:
    """Encode the few non-JSON values callers naturally pass."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")
