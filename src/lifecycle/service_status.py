"""Seed 002's deployment statuses (issue 19 item 5): what the ops API's documents show beside
the native ``status``.

=============  ==================================  ===========
native          a run has marked it (changing)      seed 002
=============  ==================================  ===========
pending         either                              creating
deploying       either                              creating
active          no                                  active
active          yes                                 updating
draining        no                                  active      (kept warm, routable at once)
draining        yes                                 deleting    (being taken out of service)
rolled_back     either                              deleted     (its server is stopped)
failed          either                              failed
=============  ==================================  ===========
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from lifecycle.stages import DeploymentStatus


class ServiceStatus(StrEnum):
    CREATING = "creating"
    ACTIVE = "active"
    UPDATING = "updating"
    FAILED = "failed"
    DELETING = "deleting"
    DELETED = "deleted"


def service_status(status: str, changing: bool) -> ServiceStatus:
    """The seed's status of a deployment whose native status is ``status``; ``changing``:
    a run has marked it (``ml_deployments.changing_run_id``), so it is being changed now."""
    native = DeploymentStatus(status)
    if native in (DeploymentStatus.PENDING, DeploymentStatus.DEPLOYING):
        return ServiceStatus.CREATING
    if native is DeploymentStatus.ACTIVE:
        return ServiceStatus.UPDATING if changing else ServiceStatus.ACTIVE
    if native is DeploymentStatus.DRAINING:
        return ServiceStatus.DELETING if changing else ServiceStatus.ACTIVE
    if native is DeploymentStatus.ROLLED_BACK:
        return ServiceStatus.DELETED
    return ServiceStatus.FAILED


def delete_refusal(
    deployment_id: str,
    model_name: str,
    weights: Mapping[str, float],
    stable_id: str | None,
) -> str:
    """Why ``DELETE`` must refuse ``deployment_id`` now ("" when it may go): while it serves
    users on its own (the table's stable deployment, or every user's weight) there is nothing
    to route them to. A canary beside a stable one, a shadow, or a deployment the table does
    not name may be deleted (its traffic is routed away first)."""
    share = float(weights.get(deployment_id, 0.0))
    others = sum(float(w) for d, w in weights.items() if d != deployment_id)  # weights >= 0
    if deployment_id == stable_id or (share > 0 and others <= 0):
        return (
            f"{deployment_id} is what serves {model_name}'s users: deploy or roll back to "
            "another deployment first, then delete it"
        )
    return ""


def routed_away_first(
    deployment_id: str, weights: Mapping[str, float], shadow_id: str | None
) -> bool:
    """Whether the routing table names the deployment (a weight, or the mirror), so its
    traffic is routed away before its server stops."""
    return deployment_id in weights or deployment_id == shadow_id
