"""One actor per model, for the handlers: ``one_actor_per_model`` wraps a use case so that its
changing steps run while it holds the model's lock (``database.locks``).

A user's flow that finds the lock held (the watcher ticking, another person's deploy) waits for
it, bounded by ``DEPLOYER_MODEL_LOCK_WAIT_SECONDS``, and fails with one line only if it never
frees. A ``ConflictError`` that still reaches the flow (a row another writer changed between its
read and its write) is retried by the flow, a few times, before it is shown: the person asked for
a deploy, not for a race. A refusal that is not a race (a lock that never freed, a stale fence)
is not retried.
"""

from __future__ import annotations

import functools
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from agents.commands import AgentCommand, Approve, Reject
from agents.ports import Services
from database import locks
from database.leases import StaleFenceError
from lifecycle.errors import ConflictError, ModelDeployerError
from lifecycle.stages import LIVE_STATUSES

P = ParamSpec("P")
R = TypeVar("R")

ATTEMPTS = 3
"""How many times a flow is tried when it loses a race on a row."""


def lock_holder(purpose: str, actor: str) -> str:
    """A holder name that says who holds a model and why: ``deploy by alice (host:pid:id)``."""
    where = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    return f"{purpose} by {actor} ({where})"[:200]


@contextmanager
def hold_model(c: Services, model: str, purpose: str, actor: str) -> Iterator[None]:
    """Hold ``model``'s lock for the block, waiting for another holder as the settings say."""
    settings = c.settings
    with locks.holding(
        c.session_factory,
        model,
        lock_holder(purpose, actor),
        settings.model_lock_seconds,
        settings.model_lock_wait_seconds,
    ):
        yield


@dataclass(frozen=True)
class Subject:
    """What a call changes: the model (None: nothing to lock), for whom, and what it does;
    ``retry`` says whether a lost race may be tried again."""

    model: str | None
    actor: str
    purpose: str
    retry: bool = True


def one_actor_per_model(
    subject: Callable[..., Subject],
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Wrap a use case ``fn(c, ...)``: hold the lock of the model ``subject(c, ...)`` names
    and retry a lost race (module docstring)."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            about = subject(*args, **kwargs)
            if not about.model:
                return fn(*args, **kwargs)
            with hold_model(args[0], about.model, about.purpose, about.actor):  # type: ignore[arg-type]
                return _tried(fn, about.retry, *args, **kwargs)

        return wrapper

    return wrap


def every_model(purpose: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Wrap a use case ``fn(c, actor, ...)`` that changes every model of the home (``down``):
    hold the lock of each model with a live deployment or a routing table, taken in name order
    (two such calls cannot deadlock), for the whole call."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            c: Any = args[0]
            actor = str(kwargs.get("actor", args[1] if len(args) > 1 else "someone"))
            with ExitStack() as stack:
                for model in models_of_home(c):
                    stack.enter_context(hold_model(c, model, purpose, actor))
                return fn(*args, **kwargs)

        return wrapper

    return wrap


def models_of_home(c: Services) -> list[str]:
    """Every model with a live deployment or a routing table, sorted."""
    with c.reader() as uow:
        live = {row.model_name for row in uow.deployments.list(statuses=LIVE_STATUSES)}
    return sorted(live | set(c.router.load().routes))


def _tried(fn: Callable[P, R], retry: bool, *args: P.args, **kwargs: P.kwargs) -> R:
    """``fn`` run, and run again after a lost race, up to ``ATTEMPTS`` times."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return fn(*args, **kwargs)
        except (locks.ModelLockedError, StaleFenceError):
            raise
        except ConflictError:
            if not retry or attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def command_subject(c: Services, command: AgentCommand, actor: str) -> Subject:
    """``operations.execute``'s subject: the command's model (an answer's: its approval's).
    An answer to an approval is never retried: a conflict there is a decision already made."""
    if isinstance(command, Approve | Reject):
        try:
            with c.reader() as uow:
                model = uow.approvals.get(command.approval_id).model_name
        except ModelDeployerError:
            model = None  # unknown approval: ``execute`` says so itself
        return Subject(model, actor, command.kind, retry=False)
    return Subject(command.model_name, actor, command.kind)


def endpoint_subject(c: Services, deployment_id: str, actor: str, *_: Any, **__: Any) -> Subject:
    """``serving.stop_endpoint``'s subject: the model of the deployment it stops."""
    try:
        with c.reader() as uow:
            model: str | None = uow.deployments.get(deployment_id).model_name
    except ModelDeployerError:
        model = None  # unknown deployment: the handler says so itself
    return Subject(model, actor, "stop")


def routes_subject(
    c: Services, model_name: str, weights: Any, actor: str, *_: Any, **__: Any
) -> Subject:
    """``traffic.set_routes``'s subject: the model whose table it writes."""
    return Subject(model_name, actor, "traffic set")
