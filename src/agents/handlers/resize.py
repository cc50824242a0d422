"""Resize a running deployment in place (issue 19 item 5: ``PATCH /v1/deployments/{id}``).

``lifecycle.resource_asks`` judges first, on the deployment's own backend (the one recorded on
its row, whatever ``DEPLOYER_SERVING`` says now): a deployment that is not running, or that a
run is changing, is refused (``NotResizableError``, 409); a local endpoint refuses any change
(its workers are fixed when its server starts: ``UnhonouredResourcesError``, 409) and a Ray
one a figure out of range (``InvalidResourcesError``, 422). Nothing is written either way.

A change is marked on the row (``changing_run_id``: seed 002's ``updating`` while it runs, and
the monitor leaves the deployment alone), made on the backend outside any write transaction,
then recorded in one unit of work: the row's resource columns (so the manifest), the audit
event ``deployment_resized`` (``deployment_resize_failed`` when the backend failed, which
raises an alert) and, through that event, the model's history. The mark is cleared either way.
"""

from __future__ import annotations

import uuid
from typing import Any

from agents.handlers.model_lock import Subject, one_actor_per_model
from agents.ports import Services
from lifecycle.errors import ModelDeployerError
from lifecycle.records import utcnow
from lifecycle.resource_asks import (
    NotResizableError,
    ResizeAsk,
    resize_refusal,
    resized,
)
from lifecycle.resources import Resources

RESIZED = "deployment_resized"
RESIZE_FAILED = "deployment_resize_failed"


def resize_subject(c: Services, deployment_id: str, actor: str, *_: Any, **__: Any) -> Subject:
    """The model of the deployment a resize changes (an unknown one: the handler says so)."""
    try:
        with c.reader() as uow:
            model: str | None = uow.deployments.get(deployment_id).model_name
    except ModelDeployerError:
        model = None
    return Subject(model, actor, "resize")


def resize_deployment(
    c: Services, deployment_id: str, actor: str, ask: ResizeAsk, reason: str = ""
) -> dict[str, Any]:
    """Change a running deployment's replicas, CPU, memory or autoscaling in place; the
    deployment's resources before and after, and whether anything changed. Refused before
    any lock or write when it cannot be done (then judged again holding the model's lock)."""
    before, after = _judged(c, deployment_id, ask)
    if after == before:
        return _result(deployment_id, before, after, changed=False)
    return _resize_holding_the_model(c, deployment_id, actor, ask, reason)


def _judged(c: Services, deployment_id: str, ask: ResizeAsk) -> tuple[Resources, Resources]:
    """The deployment's resources now and after ``ask``; the refusal when there is one."""
    with c.reader() as uow:
        row = uow.deployments.get(deployment_id)
        why = resize_refusal(deployment_id, row.status, row.changing_run_id)
        if why:
            raise NotResizableError(why)
        before = row.resources()
        return before, resized(row.serving_backend, before, ask)  # type: ignore[arg-type]


@one_actor_per_model(resize_subject)
def _resize_holding_the_model(
    c: Services, deployment_id: str, actor: str, ask: ResizeAsk, reason: str
) -> dict[str, Any]:
    before, after = _judged(c, deployment_id, ask)  # as it is now that the model is held
    if after == before:
        return _result(deployment_id, before, after, changed=False)
    with c.reader() as uow:
        row = uow.deployments.get(deployment_id)
        endpoint, bento_tag = row.endpoint(), row.bento_tag
    mark = f"resize-{uuid.uuid4().hex[:12]}"
    _mark(c, deployment_id, mark)
    try:
        c.serving.resize(endpoint, bento_tag or "", after)
    except BaseException as exc:
        _record(c, deployment_id, mark, actor, RESIZE_FAILED, before, after, reason, str(exc))
        raise
    _record(c, deployment_id, mark, actor, RESIZED, before, after, reason, "")
    return _result(deployment_id, before, after, changed=True)


def _mark(c: Services, deployment_id: str, mark: str) -> None:
    with c.uow() as uow:
        row = uow.deployments.get(deployment_id)
        why = resize_refusal(deployment_id, row.status, row.changing_run_id)
        if why:  # a run marked it since the read
            raise NotResizableError(why)
        row.changing_run_id, row.changing_since = mark, utcnow()
        uow.commit()


def _record(
    c: Services,
    deployment_id: str,
    mark: str,
    actor: str,
    action: str,
    before: Resources,
    after: Resources,
    reason: str,
    error: str,
) -> None:
    """The outcome, the audit event and the mark cleared, in one unit of work."""
    with c.uow() as uow:
        row = uow.deployments.get(deployment_id)
        if action == RESIZED:
            for column, value in after.to_columns().items():
                setattr(row, column, value)
        if row.changing_run_id == mark:
            row.changing_run_id, row.changing_since = None, None
        payload: dict[str, Any] = {
            "model": row.model_name,
            "version": row.model_version,
            "before": before.to_columns(),
            "after": after.to_columns(),
            "reason": reason,
        }
        if error:
            first = (error.strip().splitlines() or [action])[0][:300]
            where = f"{row.model_name} v{row.model_version}"
            payload |= {"error": first, "summary": f"{where} resize failed: {first}"}
            payload["act"] = f"deployer status {row.model_name}"
        uow.audit.append(actor, action, deployment_id, payload)
        uow.commit()


def _result(
    deployment_id: str, before: Resources, after: Resources, changed: bool
) -> dict[str, Any]:
    return {
        "deployment_id": deployment_id,
        "changed": changed,
        "before": before.to_columns(),
        "after": after.to_columns(),
    }
