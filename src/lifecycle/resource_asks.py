"""A deploy's resources as a person asked for them, read once, and the serving backend's verdict.

The CLI's flags (``--replicas 2 --cpu 0.5 --memory 512Mi --autoscale 1:4``), the ops API's text
fields and the chat's words all arrive as text; ``asked_resources`` reads them into one
``Resources`` (a malformed or out-of-range figure is ``InvalidResourcesError``, on every path
the same message), and ``check_backend`` refuses what the configured backend cannot honour
before anything is written: a local endpoint runs workers of one ``bentoml serve`` process, so
it takes a worker count and nothing else. ``asked_text`` is the canonical text the graph's
state carries. ``resized`` judges a running deployment's resize (``PATCH
/v1/deployments/{id}``) the same way, on the deployment's own backend. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lifecycle.errors import RefusedError
from lifecycle.resources import (
    Autoscale,
    InvalidResourcesError,
    Resources,
    format_cpu,
    format_memory,
    parse_cpu,
    parse_memory,
)

Backend = Literal["local", "ray"]

LOCAL_MAX_WORKERS = 16
"""The most workers one local ``bentoml serve`` process is given (as ``--replicas`` always was)."""

LOCAL_REFUSAL = (
    "a local endpoint runs workers of one process and honours --replicas only: "
    "CPU and memory limits and autoscaling need DEPLOYER_SERVING=ray"
)


class UnhonouredResourcesError(InvalidResourcesError):
    """Resources the configured serving backend cannot honour: well formed, refused by the
    server's setting (``DEPLOYER_SERVING``), so the ops API answers 409; exit 2 as bad input."""


@dataclass(frozen=True, slots=True)
class AskedText:
    """A deploy's resources as the graph's state holds them: canonical text, ``None`` = unset."""

    replicas: int = 1
    cpu: str | None = None
    memory: str | None = None
    autoscale: str | None = None


def asked_resources(
    replicas: int = 1,
    cpu: str | None = None,
    memory: str | None = None,
    autoscale: str | None = None,
) -> Resources:
    """The resources a deploy asks for, from the figures as typed (empty text means unset)."""
    return Resources(
        replicas=replicas,
        cpu=parse_cpu(cpu) if cpu else None,
        memory_bytes=parse_memory(memory) if memory else None,
        autoscale=Autoscale.parse(autoscale) if autoscale else None,
    )


def format_autoscale(scale: Autoscale) -> str:
    """``MIN:MAX:TARGET`` (``Autoscale.parse`` reads it back)."""
    return f"{scale.min_replicas}:{scale.max_replicas}:{scale.target_ongoing:g}"


def asked_text(resources: Resources) -> AskedText:
    """The canonical text of ``resources`` (``asked_resources`` reads it back unchanged)."""
    return AskedText(
        replicas=resources.replicas,
        cpu=None if resources.cpu is None else format_cpu(resources.cpu),
        memory=None if resources.memory_bytes is None else format_memory(resources.memory_bytes),
        autoscale=None if resources.autoscale is None else format_autoscale(resources.autoscale),
    )


def check_backend(resources: Resources, backend: Backend) -> Resources:
    """``resources`` if ``backend`` can honour them; else ``UnhonouredResourcesError``."""
    if backend == "local":
        if resources.asks_beyond_replicas:
            raise UnhonouredResourcesError(LOCAL_REFUSAL)
        if resources.replicas > LOCAL_MAX_WORKERS:
            raise UnhonouredResourcesError(
                f"a local endpoint runs at most {LOCAL_MAX_WORKERS} workers, not "
                f"{resources.replicas}; more replicas need DEPLOYER_SERVING=ray"
            )
    return resources


def check_asked(
    backend: Backend,
    replicas: int = 1,
    cpu: str | None = None,
    memory: str | None = None,
    autoscale: str | None = None,
) -> Resources:
    """The resources asked for, judged against ``backend``, the backend first: a local backend
    refuses any limit or autoscaling whatever its figure (what to change is the backend), so a
    malformed figure is reported only where it could be honoured."""
    if backend == "local" and (cpu or memory or autoscale):
        raise UnhonouredResourcesError(LOCAL_REFUSAL)
    return check_backend(asked_resources(replicas, cpu, memory, autoscale), backend)


class NotResizableError(RefusedError):
    """A resize asked of a deployment that is not running, or that a run is changing now:
    well formed, refused by the deployment's state (the ops API answers 409)."""


@dataclass(frozen=True, slots=True)
class ResizeAsk:
    """What a resize of a running deployment asks, as typed; ``None`` keeps the figure."""

    replicas: int | None = None
    cpu: str | None = None
    memory: str | None = None
    autoscale: str | None = None

    @property
    def empty(self) -> bool:
        return self.replicas is None and not (self.cpu or self.memory or self.autoscale)


RESIZABLE = ("active", "draining")
"""Native statuses of a deployment whose server runs and may be resized in place."""


def resize_refusal(deployment_id: str, status: str, changing_run_id: str | None) -> str:
    """Why ``deployment_id`` cannot be resized now ("" when it can): its server must run
    (active, or draining kept warm) and no run may be changing it."""
    if status not in RESIZABLE:
        return f"{deployment_id} is {status}; only a running deployment can be resized"
    if changing_run_id is not None:
        return f"{deployment_id} is being changed by run {changing_run_id}; try again after it"
    return ""


def resized(backend: Backend, current: Resources, ask: ResizeAsk) -> Resources:
    """The resources a running deployment on ``backend`` has after ``ask`` (figures not asked
    keep their value). A local endpoint's workers are fixed when its server starts, and it
    takes no limits nor autoscaling: it refuses any change (``UnhonouredResourcesError``),
    the backend first, as a deploy does; asking for what it already has changes nothing."""
    if ask.empty:
        raise InvalidResourcesError("a resize asks for replicas, cpu, memory or autoscale")
    if backend == "local" and (ask.cpu or ask.memory or ask.autoscale):
        raise UnhonouredResourcesError(LOCAL_REFUSAL)
    after = Resources(
        replicas=current.replicas if ask.replicas is None else ask.replicas,
        cpu=parse_cpu(ask.cpu) if ask.cpu else current.cpu,
        memory_bytes=parse_memory(ask.memory) if ask.memory else current.memory_bytes,
        autoscale=Autoscale.parse(ask.autoscale) if ask.autoscale else current.autoscale,
    )
    if backend == "local" and after != current:
        raise UnhonouredResourcesError(
            f"a local endpoint's workers are fixed when its server starts ({current.replicas} "
            f"now): deploy the version again with --replicas {after.replicas}, or serve on "
            "DEPLOYER_SERVING=ray to resize in place"
        )
    return after
