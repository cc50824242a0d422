"""Retraining policies: set (deployers and above), clear, show.

``deployer retraining set NAME --project PATH --entry-point main --param KEY=VALUE ...``. The
project must be a directory holding an ``MLproject`` with that entry point (read before
anything is written; a git URI is accepted unchecked: MLflow fetches it when a run starts), a
schedule a cron expression croniter reads, durations as ``lifecycle.durations`` reads them.
``train_data`` is the agent's own parameter (the window's training file): a policy may not
fix it. Bad input changes nothing; every change is audited (``retraining_policy_set`` /
``retraining_policy_cleared``) in its unit of work.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.ports import Services
from database.protocols import UnitOfWork
from lifecycle.approval import Role
from lifecycle.durations import parse_duration
from lifecycle.errors import BadInputError, RefusedError, UnknownModelError
from lifecycle.records import utcnow
from lifecycle.retraining import RetrainingPolicy
from mlops.projects_mlflow import is_remote

RESERVED_PARAMS = frozenset({"train_data"})
"""Parameters the agent passes itself."""


@dataclass(frozen=True)
class PolicyRequest:
    """What ``deployer retraining set`` (or ``PUT /v1/models/{name}/retraining``) asks for."""

    project: str
    entry_point: str = "main"
    params: Sequence[str] = ()
    """``KEY=VALUE`` pairs."""
    on_drift: int | None = None
    on_quality_drop: float | None = None
    schedule: str | None = None
    cooldown: str = "6h"
    window: str = "7d"
    expensive: bool = False


class PolicyRefusedError(RefusedError):
    """A policy the ops API's document admits but this home cannot use (no such project or
    entry point, an unreadable cron expression): 409, nothing written."""


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise BadInputError(f"cannot read parameter {pair!r}; write it like C=1.0")
        if key in RESERVED_PARAMS:
            raise BadInputError(f"{key} is the window's training file: the agent passes it")
        params[key] = value
    return params


def check_schedule(schedule: str | None) -> str | None:
    if schedule is None or not schedule.strip():
        return None
    from croniter import croniter  # type: ignore[import-untyped]

    if not croniter.is_valid(schedule.strip()):
        raise BadInputError(f"{schedule!r} is not a cron expression; write it like '0 3 * * 1'")
    return schedule.strip()


def policy_of(c: Services, name: str, request: PolicyRequest) -> RetrainingPolicy:
    """The policy ``request`` describes, every part checked (nothing is written here)."""
    if request.on_drift is not None and request.on_drift < 1:
        raise BadInputError("--on-drift counts features: at least 1")
    drop = request.on_quality_drop
    if drop is not None and not (math.isfinite(drop) and 0 < drop <= 1):
        raise BadInputError("--on-quality-drop is a margin between 0 and 1, e.g. 0.05")
    project = request.project.strip()
    if not project:
        raise BadInputError("give the MLflow Project: --project PATH (a folder with MLproject)")
    try:  # a path the file system cannot even look at (too long, a NUL) is no project
        if not is_remote(project):
            project = str(Path(project).expanduser().resolve())
        c.project_runner.check_project(project, request.entry_point)
    except (OSError, ValueError) as exc:
        raise PolicyRefusedError(f"no MLflow Project at {project[:200]!r}: {exc}") from exc
    return RetrainingPolicy(
        model_name=name,
        project=project,
        entry_point=request.entry_point,
        params=dict(parse_params(request.params)),
        drift_features=request.on_drift,
        quality_drop=drop,
        schedule=check_schedule(request.schedule),
        cooldown_seconds=parse_duration(request.cooldown),
        expensive=request.expensive,
        data_window_seconds=parse_duration(request.window),
    )


def set_policy(c: Services, actor: str, name: str, request: PolicyRequest) -> dict[str, Any]:
    """Set (or replace) ``name``'s retraining policy; deployers only."""
    with c.reader() as uow:
        require_deployer(uow, actor, "set a retraining policy", name)
        known(uow, name)
    policy = policy_of(c, name, request)  # reads the project: outside the write
    with c.uow() as uow:
        require_deployer(uow, actor, "set a retraining policy", name)
        known(uow, name)
        uow.retraining.set_policy(policy, actor, utcnow())
        shown = shown_policy(policy)
        summary = f"{actor} set the retraining policy of {name} ({policy.project})"
        uow.audit.append(
            actor,
            "retraining_policy_set",
            name,
            {"model": name, "policy": shown, "summary": summary},
        )
        uow.commit()
    return shown


def clear_policy(c: Services, actor: str, name: str) -> dict[str, Any]:
    """Remove ``name``'s policy (deployers only); clearing none changes nothing."""
    with c.uow() as uow:
        require_deployer(uow, actor, "clear a retraining policy", name)
        cleared = uow.retraining.clear_policy(name)
        if cleared:
            summary = f"{actor} cleared the retraining policy of {name}"
            payload = {"model": name, "summary": summary}
            uow.audit.append(actor, "retraining_policy_cleared", name, payload)
            uow.commit()
    return {"model_name": name, "cleared": cleared}


def show_policies(c: Services, name: str | None = None) -> list[dict[str, Any]]:
    """The policies (one model's, or every model's); UnknownModelError for a model with none."""
    with c.reader() as uow:
        if name is None:
            return [shown_policy(p) for p in uow.retraining.policies()]
        policy = uow.retraining.policy(name)
    if policy is None:
        raise UnknownModelError(
            f"{name} has no retraining policy; set one with deployer retraining set {name} "
            "--project PATH"
        )
    return [shown_policy(policy)]


def shown_policy(policy: RetrainingPolicy) -> dict[str, Any]:
    return policy.model_dump(mode="json")


def known(uow: UnitOfWork, name: str) -> None:
    if name not in uow.models.list_model_names():
        raise UnknownModelError(f"no model named {name!r} is registered")


def require_deployer(uow: UnitOfWork, actor: str, what: str, model_name: str) -> None:
    """PermissionDeniedError unless ``actor`` holds deployer in ``model_name``'s tenant (checked
    before the model is looked up: another tenant's model and none are refused alike)."""
    uow.access.grants_of(actor).check(Role.DEPLOYER, model_name, what)
