"""What the graph's nodes need from the outside world, as ports, bundled in ``DeployerDeps``.

Bootstrap builds the real bundle (``agents.model_deployer.runtime``); node tests build one from
fakes. Nodes never import an adapter.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from database.protocols import UnitOfWork
from lifecycle.gates import PromotionPolicy
from lifecycle.ports import Clock, Endpoint, MetricsSource, ModelRegistry, Router
from lifecycle.records import utcnow
from lifecycle.resources import Placement, Resources
from lifecycle.slo import Objectives
from memory.advice import Advice


class Serving(Protocol):
    """Packages and endpoints, as the deploy nodes use them."""

    def package(self, model_name: str, version: str, actor: str) -> str:
        """Build (or reuse) the version's package; return its tag."""
        ...

    def start(self, deployment_id: str, bento_tag: str, resources: Resources) -> Endpoint:
        """Start a server for the package with what the deployment asks for (replicas, limits,
        autoscaling), and wait until it is ready. A backend that cannot honour ``resources``
        raises ``InvalidResourcesError`` and starts nothing."""
        ...

    def resize(self, endpoint: Endpoint, bento_tag: str, resources: Resources) -> Endpoint:
        """Change a running endpoint's replicas and resources in place and wait until it runs
        so; a backend that cannot (a local server) raises ``InvalidResourcesError`` and leaves
        it running as it is."""
        ...

    def placement(self, endpoint: Endpoint, wanted: int) -> Placement:
        """Replicas wanted and running now, where they run, and the backend's health verdict."""
        ...

    def is_alive(self, endpoint: Endpoint) -> bool:
        """Whether the endpoint's server runs and answers."""
        ...

    def process_alive(self, endpoint: Endpoint) -> bool:
        """Whether the endpoint's server process still runs (no request: a busy server that
        answers slowly is not dead)."""
        ...

    def stop(self, endpoint: Endpoint) -> None:
        """Stop the endpoint's server, workers included."""
        ...

    def stop_strays(self, deployment_id: str) -> list[int]:
        """Stop servers that carry ``deployment_id`` but were never recorded; return their PIDs."""
        ...

    def smoke(self, endpoint: Endpoint, model_name: str, version: str) -> None:
        """Check the endpoint serves that version and answers a prediction; raise if not."""
        ...


class EpisodeMemory(Protocol):
    """The parts of ``memory.store_memory.StoreMemory`` the nodes use."""

    def record_episode(
        self,
        model_name: str,
        kind: str,
        episode: Any,
        *,
        episode_id: str | None = None,
    ) -> str: ...

    def advice(self, model_name: str) -> Advice: ...


class AgentClock(Clock, Protocol):
    """The time, and waiting: nodes never call ``utcnow()`` or ``time.sleep`` themselves, so a
    test's clock decides what time it is and waits without sleeping."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a test's clock just moves on)."""
        ...


class SystemClock:
    """The real time, in UTC, and real waits."""

    def now(self) -> datetime:
        return utcnow()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


@dataclass(frozen=True)
class AgentPolicy:
    """The rules the agent holds every request to; each can be set from the environment."""

    promotion: PromotionPolicy = field(default_factory=PromotionPolicy)
    warm_seconds: float = 300.0
    """How long a replaced deployment stays warm for an instant rollback."""
    drain_seconds: float = 1.5
    """How long undone servers keep answering after a rollback's switch (gateways poll every
    0.5 s and retry on the stable deployment)."""
    canary_initial_percent: float = 10.0
    """The canary's first share when neither the caller nor memory says otherwise."""
    rollback_preset: str = "balanced"
    """The rollback config of a rollout unless memory advises a more cautious one."""
    rollback_overrides: Mapping[str, float] = field(default_factory=dict)
    """Thresholds set over the preset (``DEPLOYER_MAX_ERROR_RATE`` and friends)."""
    canary_step_seconds: float = 60.0
    """How long each canary step runs before the monitor may move it on."""
    stale_figures_ticks: int = 3
    """Ticks in a row that see no fresh gateway report of a live rollout's deployment before
    the rollout is rolled back ("figures stale"): no data for long is a failure."""
    stale_figures_seconds: float = 30.0
    """How old that last report (or the step's start, when none came since) must be too:
    gateways report every 2 s, so quick ticks between two reports are not silence."""
    change_mark_seconds: float = 600.0
    """How long a run's mark on a deployment it is changing keeps the monitor away; an older
    mark is a crashed run's (its resume clears it) and the monitor judges the deployment."""
    stuck_deploy_seconds: float = 600.0
    """How long a deploy may make no progress before ``deployer watch`` resumes its thread or
    rolls it back (``DEPLOYER_STUCK_DEPLOY_SECONDS``; ``lifecycle.recovery``)."""

    slo: Objectives = field(default_factory=Objectives)
    """The default service-level objectives (``DEPLOYER_SLO_*``); a model's row overrides them."""
    slo_window_seconds: float = 300.0
    """The trailing window a tick judges service levels on."""
    slo_baseline_seconds: float = 3600.0
    """The period before the window that relative objectives compare with."""
    slo_guard_seconds: float = 0.0
    """After a release completes: the replaced deployment stays warm this long at least, and an
    SLO breach rolls back to it on its own (``DEPLOYER_SLO_GUARD_WINDOW_SECONDS``)."""

    @property
    def kept_warm_seconds(self) -> float:
        """How long a replaced deployment stays warm: the warm period, or the SLO guard window
        when longer (a breach inside it rolls back to the warm deployment)."""
        return max(self.warm_seconds, self.slo_guard_seconds)


@dataclass
class DeployerDeps:
    """Everything the nodes talk to."""

    uow: Callable[[], UnitOfWork]
    registry: ModelRegistry
    serving: Serving
    router: Router
    metrics: MetricsSource
    memory: EpisodeMemory
    clock: AgentClock = field(default_factory=SystemClock)
    policy: AgentPolicy = field(default_factory=AgentPolicy)
    actor: str | None = None
    """Who this agent acts for: the OS user of the process, or the user of the API token that
    carries the request (``Container.deps`` always sets it). A request whose ``requested_by``
    names someone else, or an approval answer naming another approver, is refused
    (``IdentityMismatchError``). None only for graphs over fakes in unit tests, whose inputs
    name their actors."""


MONITOR_ACTOR = "monitor"
"""Who the audit log and the memory name for what a tick does (and who requests the rollbacks
it decides)."""

FAILPOINT_ENV = "DEPLOYER_FAILPOINT"


def failpoint(name: str) -> None:
    """Die here, by SIGKILL, when ``DEPLOYER_FAILPOINT`` names this point.

    Crash drills for the durability tests (as in FoundationDB's or TiKV's failpoints): a real
    process killed between a side effect and the checkpoint that would record it.
    """
    if os.environ.get(FAILPOINT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
