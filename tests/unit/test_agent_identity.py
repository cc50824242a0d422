"""The agent acts for the identity that carries it (``deps.actor``: the process's OS user or an
API token's user), never for a name in its input: a differing ``requested_by`` or approval
answer is refused with IdentityMismatchError and nothing is written."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy import func, select

from agents.model_deployer import ModelDeployerAgent
from agents.model_deployer.intake import IdentityMismatchError, acting_identity
from database.models import ApprovalRow, AuditEventRow
from lifecycle.approval import Role
from lifecycle.errors import BadInputError, PermissionDeniedError
from tests.agent_fakes import World, make_world
from tests.unit.model_deployer_story import APPROVER, MODEL, REQUESTER, Story


@pytest.fixture
def world(tmp_path: Path) -> World:
    world = make_world(tmp_path)
    world.register()
    with world.deps.uow() as uow:  # a bound agent acts only for a deployer of the model's tenant
        uow.access.grant(REQUESTER, Role.DEPLOYER, "test-admin")
        uow.commit()
    return world


def agent_of(world: World, actor: str | None, saver: InMemorySaver) -> ModelDeployerAgent:
    return ModelDeployerAgent(dataclasses.replace(world.deps, actor=actor), checkpointer=saver)


def promotion(requested_by: str = "") -> dict[str, str]:
    return {
        "action": "promote",
        "model_name": MODEL,
        "version": "1",
        "target_stage": "staging",
        "requested_by": requested_by,
    }


def counts(world: World) -> tuple[int, int]:
    with world.factory() as session:
        audit = session.scalar(select(func.count()).select_from(AuditEventRow)) or 0
        approvals = session.scalar(select(func.count()).select_from(ApprovalRow)) or 0
    return audit, approvals


IDENTITIES = [
    # (bound actor, action, claimed requested_by, acts for)
    (None, "promote", "alice", "alice"),
    ("alice", "promote", "", "alice"),
    ("alice", "promote", "alice", "alice"),
    ("alice", "monitor", "monitor", "monitor"),
    (None, "monitor", "monitor", "monitor"),
]


@pytest.mark.parametrize(("actor", "action", "claimed", "acts_for"), IDENTITIES)
def test_a_run_acts_for_the_bound_identity_and_only_a_tick_names_its_own(
    world: World, actor: str | None, action: str, claimed: str, acts_for: str
) -> None:
    deps = dataclasses.replace(world.deps, actor=actor)
    assert acting_identity(deps, action, claimed) == acts_for


@pytest.mark.parametrize(
    ("actor", "action", "claimed"),
    [("alice", "promote", "bob"), ("alice", "deploy", "monitor"), ("alice", "promote", " alice")],
)
def test_a_claimed_identity_other_than_the_bound_one_is_refused(
    world: World, actor: str, action: str, claimed: str
) -> None:
    deps = dataclasses.replace(world.deps, actor=actor)
    with pytest.raises(IdentityMismatchError) as raised:
        acting_identity(deps, action, claimed)
    assert str(raised.value) == (
        f"this agent acts as alice; a request cannot claim to come from {claimed!r}"
    )


def test_an_unbound_run_must_still_name_who_asks(world: World) -> None:
    with pytest.raises(BadInputError, match="must say who asks"):
        acting_identity(world.deps, "promote", " ")


def test_an_agent_bound_to_alice_fills_in_alice_and_refuses_bob(world: World) -> None:
    agent = agent_of(world, REQUESTER, InMemorySaver())
    before = counts(world)
    with pytest.raises(IdentityMismatchError):
        agent.run(promotion(requested_by=APPROVER))
    assert counts(world) == before  # nothing written
    done = agent.run(promotion())
    assert done["status"] == "promoted" and done["requested_by"] == REQUESTER


def test_an_answer_naming_someone_other_than_the_bound_approver_is_refused(world: World) -> None:
    saver = InMemorySaver()
    version = Story.over(world).in_shadow()
    world.clock.advance(hours=25)
    paused = agent_of(world, REQUESTER, saver).run(
        {**promotion(), "version": version, "target_stage": "production"}
    )
    assert paused["interrupts"], paused["errors"]
    answer = {"decision": "approve", "approver": APPROVER, "approval_id": paused["approval_id"]}
    as_mallory = agent_of(world, "mallory", saver)
    refused = as_mallory.resume(paused["thread_id"], answer)
    assert refused["interrupts"] and "acts as mallory" in refused["errors"][-1]
    assert world.stage_of(MODEL, version) == "shadow"
    as_bob = agent_of(world, APPROVER, saver)
    done = as_bob.resume(paused["thread_id"], answer)
    assert world.stage_of(MODEL, version) == "production", done


def test_a_bound_agent_refuses_an_actor_without_deployer_in_the_model_s_tenant(
    world: World,
) -> None:
    with world.deps.uow() as uow:  # a role elsewhere: mallory acts with her grants only
        uow.access.grant("mallory", Role.VIEWER, "test-admin", "team-b")
        uow.commit()
    before = counts(world)
    for model in (MODEL, "team-a/nothing-here"):  # known or not: the same refusal, first
        with pytest.raises(PermissionDeniedError, match="mallory holds no role"):
            agent_of(world, "mallory", InMemorySaver()).run({**promotion(), "model_name": model})
    for model in ("team-a/nothing-here", "team-b/nothing-here"):  # no role: never a tenant
        with pytest.raises(PermissionDeniedError, match="holds no role in tenant 'team-"):
            agent_of(world, "nobody", InMemorySaver()).run({**promotion(), "model_name": model})
    assert counts(world) == before
