"""Given-steps for the ModelDeployerAgent's unit tests: a model's life told through the agent.

Each step runs the real graph (over ``tests.agent_fakes``) the way a user would, so a test can
start from "v1 serves users and v2 is approved for production" in one line. A Given that costs
many runs is made once per module and ``clone``d into each test's own database and fakes.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from sqlalchemy import func, select

from agents.model_deployer import InputState, ModelDeployerAgent, State
from database.engine import make_engine
from database.models import AgentOperationRow, ApprovalRow, DeploymentRow
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.metrics import ShadowStats
from lifecycle.ports import Routes
from tests.agent_fakes import World
from tests.audit_keys import keyed_factory

MODEL = "fraud_detector"
REQUESTER = "alice"
APPROVER = "bob"
GOOD_SHADOW = ShadowStats(
    compared=200, agreed=199, shadow_errors=0, primary_latency={60: 200}, shadow_latency={61: 200}
)
"""200 mirrored requests, 199 agreeing, none failed, the shadow one latency bucket (8%) slower."""


def run_once(
    compiled: CompiledStateGraph[State, None, InputState, State], request: InputState
) -> tuple[dict[str, Any], State]:
    """Run ``request`` on a fresh thread of ``compiled``: its result and the final state, from
    which a test can run one node again as a resumed thread would."""
    config: RunnableConfig = {"configurable": {"thread_id": uuid.uuid4().hex}}
    result = compiled.invoke(request, config)
    return dict(result), State(**compiled.get_state(config).values)


def clone(world: World, tmp_path: Path) -> World:
    """An independent copy of ``world``: its database file and every fake, state included."""
    source = world.factory.kw["bind"].url.database
    target = tmp_path / "state.db"
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    factory = keyed_factory(make_engine(f"sqlite:///{target}"))
    # itertools.count cannot be deep-copied on every Python we support: give the copy its own.
    memo: dict[int, object] = {
        id(world.serving.ports): itertools.count(next(world.serving.ports)),
        id(world.factory): factory,  # the fake router reads the copy's records
    }
    registry, serving, router, metrics, clock, memory = copy.deepcopy(
        (world.registry, world.serving, world.router, world.metrics, world.clock, world.memory),
        memo,
    )
    deps = dataclasses.replace(
        world.deps,
        uow=lambda: SqlAlchemyUnitOfWork(factory),
        registry=registry,
        serving=serving,
        router=router,
        metrics=metrics,
        memory=memory,
        clock=clock,
    )
    return World(deps, factory, registry, serving, router, metrics, clock, memory)


@dataclass
class Story:
    """The agent and its world, with the steps that bring a model to a given point."""

    world: World
    agent: ModelDeployerAgent

    @classmethod
    def over(cls, world: World) -> Story:
        """A story over ``world`` told by an agent of its own (a fresh graph and checkpointer)."""
        return cls(world, ModelDeployerAgent(world.deps, checkpointer=InMemorySaver()))

    # -- requests -------------------------------------------------------------------------------

    def promote(self, version: str, stage: str, **extra: Any) -> dict[str, Any]:
        """Ask for ``version`` to move to ``stage``; returns the run's final state."""
        return self.agent.run(
            {
                "action": "promote",
                "model_name": MODEL,
                "version": version,
                "target_stage": stage,
                "requested_by": REQUESTER,
                **extra,
            }
        )

    def answer(
        self, paused: dict[str, Any], decision: str = "approve", **answer: Any
    ) -> dict[str, Any]:
        """Answer the approval a paused run waits on (by the approver unless told otherwise)."""
        waiting = {"approval_id": paused.get("approval_id"), "decision": decision}
        return self.agent.resume(paused["thread_id"], {**waiting, "approver": APPROVER, **answer})

    def deploy(self, version: str, **extra: Any) -> dict[str, Any]:
        """Deploy ``version`` to the target its stage implies."""
        return self.agent.run(
            {
                "action": "deploy",
                "model_name": MODEL,
                "version": version,
                "requested_by": REQUESTER,
                **extra,
            }
        )

    def rollback(self, **extra: Any) -> dict[str, Any]:
        """Roll the model back."""
        return self.agent.run(
            {"action": "rollback", "model_name": MODEL, "requested_by": REQUESTER, **extra}
        )

    # -- given steps ----------------------------------------------------------------------------

    def in_shadow(self, **register: Any) -> str:
        """A newly registered version promoted through staging into shadow."""
        version = self.world.register(**register)
        for stage in ("staging", "shadow"):
            assert self.promote(version, stage)["status"] == "promoted"
        return version

    def shadow_deployed(self, **register: Any) -> tuple[str, str]:
        """A version in shadow, mirrored by a deployment whose comparisons all but agree."""
        version = self.in_shadow(**register)
        shadow = self.deploy(version)["deployment_manifest"]["deployment_id"]
        self.world.metrics.shadows[shadow] = GOOD_SHADOW
        return version, shadow

    def in_production(self, mirrored: bool = True) -> str:
        """A version approved into production (mirrored first when something already serves)."""
        version = self.shadow_deployed()[0] if mirrored else self.in_shadow()
        self.world.clock.advance(hours=25)
        paused = self.promote(version, "production")
        assert paused["interrupts"], paused["errors"]
        assert self.answer(paused)["status"] == "promoted"
        return version

    def serving(self) -> tuple[str, str]:
        """The model's first version in production, deployed directly: (version, deployment)."""
        version = self.in_production(mirrored=False)
        deployed = self.deploy(version)
        assert deployed["status"] == "deployed", deployed["errors"]
        return version, deployed["deployment_manifest"]["deployment_id"]

    def replacing(self) -> Replacing:
        """v1 serves every user directly, and v2 is approved for production while mirrored."""
        _, stable = self.serving()
        version, mirror = self.shadow_deployed()
        self.world.clock.advance(hours=25)
        assert self.answer(self.promote(version, "production"))["status"] == "promoted"
        return Replacing(self, stable, version, mirror)

    # -- what the world holds -------------------------------------------------------------------

    def routes(self) -> Routes | None:
        return self.world.router.get_routes(MODEL)

    def audit_count(self) -> int:
        with self.world.uow() as uow:
            return len(uow.audit.list())

    def deployment(self, deployment_id: str) -> DeploymentRow:
        with self.world.uow() as uow:
            return uow.deployments.get(deployment_id)

    def deployments(self) -> list[DeploymentRow]:
        with self.world.uow() as uow:
            return list(uow.deployments.list(MODEL))

    def approvals(self) -> list[ApprovalRow]:
        with self.world.uow() as uow:
            return list(uow.approvals.list(None))

    def version_record_count(self, version: str) -> int:
        with self.world.uow() as uow:
            return len(uow.version_records.list_for(MODEL, version))

    def registry_stage(self, version: str) -> str:
        return self.world.registry.get_version(MODEL, version).stage.value

    def footprint(self) -> dict[str, Any]:
        """Everything a request can write, counted, to show that a refused one wrote nothing."""
        with self.world.uow() as uow:
            counts = {
                "audit events": len(uow.audit.list()),
                "deployments": len(uow.deployments.list()),
                "approvals": len(uow.approvals.list(None)),
                "version records": len(uow.version_records.list_for(MODEL)),
                "operations": int(
                    uow.session.scalar(select(func.count(AgentOperationRow.key))) or 0
                ),
                "stages": {v.version: v.stage for v in uow.models.list(MODEL)},
            }
        return {
            **counts,
            "registry": {
                v.version: v.stage.value for v in self.world.registry.list_versions(MODEL)
            },
            "routes": self.routes(),
            "servers": sorted(self.world.serving.running),
        }

    def operation_count(self, run_id: str) -> int:
        with self.world.uow() as uow:
            query = select(func.count()).where(AgentOperationRow.run_id == run_id)
            return int(uow.session.scalar(query) or 0)


class Replacing(NamedTuple):
    """The Given of most deploy and rollback rules: a new version about to replace the old.

    Unpacks as ``story, stable, version, mirror``: v1's deployment serves every user; v2 is in
    production, not yet deployed to serve, and ``mirror`` still mirrors it.
    """

    story: Story
    stable: str
    version: str
    mirror: str

    def cloned(self, tmp_path: Path) -> Replacing:
        """The same Given over a copy of the world, for one test to change as it likes."""
        return self._replace(story=Story.over(clone(self.story.world, tmp_path)))
