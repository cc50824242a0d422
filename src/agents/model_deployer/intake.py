"""The entry node: validate the intent, normalise it, and route on ``action``.

Everything a caller can get wrong is refused here, before any side effect, with a typed error.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from typing import Any, Literal

from agents.model_deployer.deps import MONITOR_ACTOR, DeployerDeps
from agents.model_deployer.state import InputState, State, resources_of
from database.protocols import UnitOfWork
from database.versions import resolve_version
from lifecycle.approval import Role
from lifecycle.errors import (
    BadInputError,
    InvalidDeploymentActionError,
    PermissionDeniedError,
    UnknownModelError,
)
from lifecycle.names import check_request_id
from lifecycle.resource_asks import asked_text
from lifecycle.stages import parse_stage
from lifecycle.strategies import parse_strategy
from lifecycle.tenant_views import local_actor
from lifecycle.tenants import is_qualified_name, normalise_model_name

ACTIONS = ("promote", "deploy", "rollback", "monitor")
"""Actions the graph carries out; ``monitor`` is one health tick (``deployer watch``)."""

Route = Literal["check_promotion", "plan_deploy", "plan_rollback", "check_health"]

FIRST_NODE: dict[str, Route] = {
    "promote": "check_promotion",
    "deploy": "plan_deploy",
    "rollback": "plan_rollback",
    "monitor": "check_health",
}


def run_defaults() -> dict[str, Any]:
    """Every field a run fills in (what ``State`` adds to ``InputState``) at its default, so a
    thread reused for a new request starts clean; a new field is reset without a change here."""
    asked = {f.name for f in dataclasses.fields(InputState)}
    return {f.name: _default(f) for f in dataclasses.fields(State) if f.name not in asked}


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


class IdentityMismatchError(PermissionDeniedError):
    """A request (or an approval answer) claims to come from someone other than the identity
    the agent acts for; nothing was done."""


def acting_identity(deps: DeployerDeps, action: str, claimed: str) -> str:
    """Who a run acts for. An agent bound to an identity (``deps.actor``: the process's OS user
    or the API token's user) acts for it: a blank ``requested_by`` is filled in, a different one
    is refused. Only a monitoring tick names its own actor (``monitor``). An unbound agent (unit
    tests over fakes) acts for whoever the input names."""
    if deps.actor is None or (action == "monitor" and claimed == MONITOR_ACTOR):
        if not claimed.strip():
            raise BadInputError("every request must say who asks (requested_by)")
        return claimed
    if claimed.strip() and claimed != deps.actor:
        raise IdentityMismatchError(
            f"this agent acts as {deps.actor}; a request cannot claim to come from {claimed!r}"
        )
    return deps.actor


def check_answerer(deps: DeployerDeps, approver: str) -> None:
    """An approval answer of a bound agent must name the agent's own identity."""
    if deps.actor is not None and approver != deps.actor:
        raise IdentityMismatchError(
            f"this agent acts as {deps.actor}; an answer cannot claim to come from {approver!r}"
        )


def parse_action(value: str) -> str:
    """The action, lower-cased; anything unknown raises InvalidDeploymentActionError."""
    action = (value or "").strip().lower()
    if action not in ACTIONS:
        raise InvalidDeploymentActionError(
            f"unknown action {value!r}; the model deployer does: {', '.join(ACTIONS)}"
        )
    return action


class IntakeNode:
    """Validates a request against the state database and resets the run's outputs."""

    def __init__(self, deps: DeployerDeps) -> None:
        self.deps = deps

    def __call__(self, state: State) -> dict[str, Any]:
        action = parse_action(state.action)
        update: dict[str, Any] = {
            **run_defaults(),
            "action": action,
            "requested_by": acting_identity(self.deps, action, state.requested_by),
            "run_id": check_request_id(state.request_id) if state.request_id else uuid.uuid4().hex,
        }
        with self.deps.uow() as uow:
            every = action == "monitor" and not state.model_name
            if not every:  # the tenant's roles first: the same refusal for no model at all
                state = dataclasses.replace(state, model_name=_stored_name(state.model_name))
                update["model_name"] = state.model_name
                self._check_allowed(uow, action, state.model_name, update["requested_by"])
            if not every and state.model_name not in uow.models.list_model_names():
                raise UnknownModelError(f"no model named {state.model_name!r} is registered")
            if action in ("promote", "deploy"):
                if state.version is None:
                    raise BadInputError(f"{action} needs a version")
                update["version"] = resolve_version(uow.models, state.model_name, state.version)
            if action == "rollback":
                _check_rollback_ids(uow, state)
        if action == "promote":
            update["target_stage"] = parse_stage(state.target_stage or "").value
        if action == "deploy":
            _check_deploy_options(state)
            update |= _resources_asked(state)
            if state.strategy:
                update["strategy"] = parse_strategy(state.strategy).value
        return update

    def _check_allowed(self, uow: UnitOfWork, action: str, model_name: str, actor: str) -> None:
        """The one choke point of changes: a bound actor (the CLI's OS user, the API token's
        user, an upstream graph's identity) needs deployer in the model's tenant to promote,
        deploy or roll back (a monitoring tick is the watcher's own; a person with no role
        anywhere is ``tenant_views.local_actor``). Checked before the model is looked up, so
        another tenant's model and no model at all are refused alike."""
        if self.deps.actor is None or action == "monitor" or not is_qualified_name(model_name):
            return  # unbound (unit tests), the watcher's own, or malformed: unknown below
        local_actor(uow.access.grants_of(actor)).check(Role.DEPLOYER, model_name, action)


def _stored_name(text: str) -> str:
    """The stored form of a model name (``default/iris`` -> ``iris``); a malformed name is
    left as it is, for the lookup to refuse as unknown."""
    try:
        return normalise_model_name(text)
    except BadInputError:
        return text


def _check_rollback_ids(uow: UnitOfWork, state: State) -> None:
    """The deployment to go back to and the one to undo are the model's own; never both."""
    if state.deployment_id and state.current_deployment_id:
        raise BadInputError(
            "a rollback names the deployment to go back to (--to) or the one to undo (--undo), "
            "not both"
        )
    for named in (state.deployment_id, state.current_deployment_id):
        if named:
            row = uow.deployments.get(named)
            if row.model_name != state.model_name:
                raise BadInputError(
                    f"deployment {named} serves {row.model_name}, not {state.model_name}"
                )


def _check_deploy_options(state: State) -> None:
    if state.traffic is not None and (
        not math.isfinite(state.traffic) or not 0 < state.traffic <= 100
    ):
        raise BadInputError(
            f"traffic must be a percentage above 0 and at most 100, not {state.traffic}"
        )


def _resources_asked(state: State) -> dict[str, Any]:
    """The deploy's resources read once (a malformed figure is ``InvalidResourcesError``), as
    canonical text; whether the backend honours them is judged before the graph runs
    (``operations.execute``) and again by the backend itself."""
    return dataclasses.asdict(asked_text(resources_of(state)))


def route_action(state: State) -> Route:
    """The first node of the action's flow; raises on an action intake did not vet."""
    return FIRST_NODE[parse_action(state.action)]
