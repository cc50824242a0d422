"""Model stages, deployment statuses and the only tables that say which changes are legal."""

from __future__ import annotations

from enum import StrEnum

from lifecycle.errors import InvalidPromotionPathError, InvalidStatusChangeError


class ModelStage(StrEnum):
    """Where a model version stands in its life."""

    DEVELOPMENT = "development"  # registered, not yet vetted
    STAGING = "staging"  # passed offline checks, deployable for integration tests
    SHADOW = "shadow"  # receives mirrored production traffic; its answers are compared, not served
    PRODUCTION = "production"  # serves users
    ARCHIVED = "archived"  # retired; kept for lineage and audit


ALLOWED_TRANSITIONS: dict[ModelStage, frozenset[ModelStage]] = {
    ModelStage.DEVELOPMENT: frozenset({ModelStage.STAGING}),
    ModelStage.STAGING: frozenset({ModelStage.SHADOW, ModelStage.DEVELOPMENT}),
    ModelStage.SHADOW: frozenset({ModelStage.PRODUCTION, ModelStage.DEVELOPMENT}),
    ModelStage.PRODUCTION: frozenset({ModelStage.ARCHIVED, ModelStage.DEVELOPMENT}),
    ModelStage.ARCHIVED: frozenset(),
}
"""Forward moves one stage at a time; a rollback returns a version to development."""


def parse_stage(value: str) -> ModelStage:
    """Read a stage name as a person types it; raise InvalidPromotionPathError if unknown."""
    try:
        return ModelStage(value.strip().lower())
    except ValueError:
        names = ", ".join(s.value for s in ModelStage)
        raise InvalidPromotionPathError(
            f"unknown stage {value!r}; expected one of: {names}"
        ) from None


def transition(current: ModelStage, target: ModelStage) -> ModelStage:
    """Return ``target`` if a version in ``current`` may move there, else raise."""
    if target not in ALLOWED_TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in ALLOWED_TRANSITIONS[current])) or "nothing"
        raise InvalidPromotionPathError(
            f"cannot move a version from {current.value} to {target.value}; "
            f"from {current.value} it may go to: {allowed}"
        )
    return target


ROLLBACK_RESTORABLE = frozenset({ModelStage.PRODUCTION, ModelStage.ARCHIVED})
"""Stages a rollback may return to production: the serving version, or the one it replaced."""


def restore_for_rollback(current: ModelStage) -> ModelStage:
    """The stage a rollback gives the version it restores: production, from ``current``.

    This is the one move outside ALLOWED_TRANSITIONS: an archived version comes back to serve
    users only by a rollback, never by a promotion.
    """
    if current not in ROLLBACK_RESTORABLE:
        raise InvalidPromotionPathError(
            f"a rollback cannot restore a version in {current.value}; only a production or "
            "archived version can serve again"
        )
    return ModelStage.PRODUCTION


class DeploymentStatus(StrEnum):
    """The life of one deployment (one endpoint serving one model version)."""

    PENDING = "pending"  # recorded, nothing started yet
    DEPLOYING = "deploying"  # endpoint starting or traffic being shifted
    ACTIVE = "active"  # ready and routed (at any weight, including shadow)
    DRAINING = "draining"  # taken out of routing, kept warm for an instant rollback
    ROLLED_BACK = "rolled_back"  # replaced by a rollback; endpoint stopped
    FAILED = "failed"  # could not start, died, or was judged unhealthy


STATUS_TRANSITIONS: dict[DeploymentStatus, frozenset[DeploymentStatus]] = {
    DeploymentStatus.PENDING: frozenset({DeploymentStatus.DEPLOYING, DeploymentStatus.FAILED}),
    DeploymentStatus.DEPLOYING: frozenset(
        {DeploymentStatus.ACTIVE, DeploymentStatus.FAILED, DeploymentStatus.ROLLED_BACK}
    ),
    DeploymentStatus.ACTIVE: frozenset(
        {DeploymentStatus.DRAINING, DeploymentStatus.ROLLED_BACK, DeploymentStatus.FAILED}
    ),
    DeploymentStatus.DRAINING: frozenset(
        {DeploymentStatus.ACTIVE, DeploymentStatus.ROLLED_BACK, DeploymentStatus.FAILED}
    ),
    DeploymentStatus.ROLLED_BACK: frozenset(),
    DeploymentStatus.FAILED: frozenset(),
}
"""Terminal statuses have no way out; a draining deployment may be reactivated by a rollback."""


def change_status(current: DeploymentStatus, target: DeploymentStatus) -> DeploymentStatus:
    """Return ``target`` if a deployment in ``current`` may change to it, else raise."""
    if target not in STATUS_TRANSITIONS[current]:
        raise InvalidStatusChangeError(
            f"a deployment cannot go from {current.value} to {target.value}"
        )
    return target


ROUTABLE_STATUSES: tuple[DeploymentStatus, ...] = (
    DeploymentStatus.DEPLOYING,
    DeploymentStatus.ACTIVE,
    DeploymentStatus.DRAINING,
)
"""Statuses a route may point at: failed and rolled-back deployments have no server, and a
pending one has none yet (a draining one still serves, so a rollback may route back to it)."""

LIVE_STATUSES: tuple[DeploymentStatus, ...] = (
    DeploymentStatus.PENDING,
    DeploymentStatus.DEPLOYING,
    DeploymentStatus.ACTIVE,
    DeploymentStatus.DRAINING,
)
"""Statuses of a deployment that has (or is getting) a server: a route may name it, and
retiring it means stopping that server."""

SERVED_STATUSES: tuple[DeploymentStatus, ...] = (
    DeploymentStatus.ACTIVE,
    DeploymentStatus.DRAINING,
    DeploymentStatus.ROLLED_BACK,
)
"""Statuses of a deployment that once served users, and so may be gone back to."""

WARM_STATUSES: tuple[DeploymentStatus, ...] = (DeploymentStatus.ACTIVE, DeploymentStatus.DRAINING)
"""Statuses of a deployment kept running: restoring it is one routing-table write."""
