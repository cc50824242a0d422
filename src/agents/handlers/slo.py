"""Service-level objectives of a model: show, set (deployers and above) and reset.

The defaults come from the settings (``DEPLOYER_SLO_*``, the agent's policy); a model's row
holds only what differs. Values are checked by ``lifecycle.slo.objectives`` before anything is
written (a bad one: one line, nothing changed); every change is audited (``slo_set``), in the
same unit of work.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents.ports import Services
from database.protocols import UnitOfWork
from lifecycle.approval import Role
from lifecycle.errors import UnknownModelError
from lifecycle.records import utcnow
from lifecycle.slo import Objectives, objectives


def defaults(c: Services) -> Objectives:
    """The objectives a model without a row of its own is held to."""
    return c.settings.slo_objectives


def show(c: Services, model_name: str) -> dict[str, Any]:
    """The model's objectives (its own over the defaults), and the last SLO status of each of
    its judged deployments."""
    with c.reader() as uow:
        _known(uow, model_name)
        own = uow.slo.objectives(model_name) or {}
        states = [
            {"deployment_id": s.deployment_id, "status": s.status, "judged_at": s.updated_at}
            for s in uow.slo.states_of(model_name)
        ]
    return _shown(c, model_name, own, states)


def set_objectives(
    c: Services, actor: str, model_name: str, changes: Mapping[str, float | int | None]
) -> dict[str, Any]:
    """Set some of the model's objectives (a ``None`` turns a bound off); deployers only."""
    given = dict(changes)
    with c.uow() as uow:
        _require_deployer(uow, actor, model_name)
        _known(uow, model_name)
        own = {**(uow.slo.objectives(model_name) or {}), **given}
        effective = objectives(defaults(c), own)  # raises on a bad value: nothing written
        uow.slo.set_objectives(model_name, own, actor, utcnow())
        uow.audit.append(
            actor,
            "slo_set",
            model_name,
            {
                "model": model_name,
                "objectives": effective.to_json(),
                "changed": given,
                "summary": f"{actor} set the objectives of {model_name}: {_line(given)}",
            },
        )
        uow.commit()
    return _shown(c, model_name, own, [])


def reset(c: Services, actor: str, model_name: str) -> dict[str, Any]:
    """Back to the defaults; deployers only. Resetting a model at its defaults changes nothing."""
    with c.uow() as uow:
        _require_deployer(uow, actor, model_name)
        _known(uow, model_name)
        changed = uow.slo.reset_objectives(model_name)
        if changed:
            summary = f"{actor} reset the objectives of {model_name} to the defaults"
            payload = {"model": model_name, "objectives": defaults(c).to_json(), "reset": True}
            uow.audit.append(actor, "slo_set", model_name, {**payload, "summary": summary})
            uow.commit()
    return {**_shown(c, model_name, {}, []), "changed": changed}


def _shown(
    c: Services, model_name: str, own: Mapping[str, Any], states: list[dict[str, Any]]
) -> dict[str, Any]:
    effective = objectives(defaults(c), own)
    policy = c.settings
    return {
        "model_name": model_name,
        "objectives": effective.to_json(),
        "overrides": dict(own),
        "defaults": defaults(c).to_json(),
        "window_seconds": policy.slo_window_seconds,
        "baseline_seconds": policy.slo_baseline_seconds,
        "guard_window_seconds": policy.slo_guard_window_seconds,
        "deployments": states,
    }


def _known(uow: UnitOfWork, model_name: str) -> None:
    if model_name not in uow.models.list_model_names():
        raise UnknownModelError(f"no model named {model_name!r} is registered")


def _require_deployer(uow: UnitOfWork, actor: str, model_name: str) -> None:
    """Deployer in the model's tenant, checked before the model is looked up."""
    uow.access.grants_of(actor).check(Role.DEPLOYER, model_name, "setting objectives")


def _line(changes: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={'off' if v is None else v}" for k, v in changes.items()) or "nothing"
