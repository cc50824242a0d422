"""Quotas on the paths a deployment is added (issue 19 item 3): the deploy graph's own write
(upstream agents call the graph directly) refuses a deployment past the tenant's quota with a
typed error and writes and starts nothing, and the handlers' early refusal says the same before
anything is read for the deploy. Over fakes and a real SQLite state database (``make_world``)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from agents.commands import Deploy
from agents.handlers import quotas
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import QuotaExceededError
from lifecycle.quotas import Quota
from lifecycle.records import utcnow
from tests.agent_fakes import World, make_world
from tests.unit.model_deployer_story import MODEL, Story


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


@pytest.fixture
def story(world: World) -> Story:
    return Story.over(world)


def set_quota(world: World, tenant: str, quota: Quota) -> None:
    with world.uow() as uow:
        uow.quotas.set(tenant, quota, "root", utcnow())
        uow.commit()


def handler_services(world: World) -> Any:
    """What ``quotas.refuse_over_quota`` reads through: a reader over the world's database."""
    return SimpleNamespace(reader=lambda: SqlAlchemyUnitOfWork(world.factory, read_only=True))


def test_a_deploy_past_the_quota_through_the_graph_is_refused_and_changes_nothing(
    story: Story, world: World
) -> None:
    version, _ = story.serving()  # one live deployment of the default tenant's model
    set_quota(world, "default", Quota(deployments=1))
    rows, started, audit = (
        len(story.deployments()),
        list(world.serving.started),
        story.audit_count(),
    )

    with pytest.raises(QuotaExceededError) as refused:
        story.deploy(version)

    assert str(refused.value) == (
        "tenant default: 1 of 1 deployments are in use; this deploy needs 1 more"
    )
    assert len(story.deployments()) == rows, "no deployment row"
    assert world.serving.started == started, "no server started"
    assert story.audit_count() == audit, "no audit event"


def test_the_same_deploy_passes_once_the_quota_has_room(story: Story, world: World) -> None:
    version, _ = story.serving()
    set_quota(world, "default", Quota(deployments=2, replicas=2))

    result = story.deploy(version)

    assert result["status"] == "deployed", result["errors"]


def test_another_tenants_quota_does_not_limit_this_one(story: Story, world: World) -> None:
    version, _ = story.serving()
    set_quota(world, "team-a", Quota(deployments=0))

    assert story.deploy(version)["status"] == "deployed"


def test_the_handlers_refuse_a_deploy_past_the_quota_before_anything_is_written(
    story: Story, world: World
) -> None:
    version, _ = story.serving()
    set_quota(world, "default", Quota(replicas=3))
    c = handler_services(world)

    with pytest.raises(QuotaExceededError, match="1 of 3 replicas are in use; this deploy needs 3"):
        quotas.refuse_over_quota(c, Deploy(model_name=MODEL, version=version, replicas=3))
    quotas.refuse_over_quota(c, Deploy(model_name=MODEL, version=version, replicas=2))
    # a share change adds no deployment: left to the graph, which knows whether it adds one
    quotas.refuse_over_quota(c, Deploy(model_name=MODEL, version=version, replicas=3, traffic=50))
    # an unknown model is left to the intake, refused as every unknown model is
    quotas.refuse_over_quota(c, Deploy(model_name="nobody", version="1", replicas=9))


def test_an_endpoint_start_past_the_quota_is_refused_before_anything_is_packaged(
    world: World,
) -> None:
    from agents.handlers.serving import start_endpoint

    version = world.register()
    set_quota(world, "default", Quota(replicas=2))
    c = handler_services(world)  # a reader only: packaging or starting would fail loudly

    with pytest.raises(QuotaExceededError, match="0 of 2 replicas are in use; this deploy needs 3"):
        start_endpoint(c, MODEL, version, "root", workers=3)


def test_a_deploy_past_the_quota_through_the_system_graph_raises_to_its_caller(
    story: Story, world: World, tmp_path: Path
) -> None:
    from agents.model_deployer import build_graph as deployer_graph
    from agents.supervisor import deployer_spec
    from agents.supervisor.agent import SystemAgent
    from agents.supervisor.spec import state_types
    from lifecycle.handoff import AgentName
    from lifecycle.supervision import RequestAction, RequestSource, SystemRequest
    from memory.stores import open_checkpointer
    from tests.unit.model_deployer_story import REQUESTER

    version, _ = story.serving()
    set_quota(world, "default", Quota(deployments=1))
    rows, started = len(story.deployments()), list(world.serving.started)
    agents = {AgentName.DEPLOYER: deployer_spec(deployer_graph(world.deps).compile())}
    request = SystemRequest(
        source=RequestSource.UPSTREAM,
        action=RequestAction.DEPLOY,
        model_name=MODEL,
        requested_by=REQUESTER,
        args={"version": version},
    )
    url = f"sqlite:///{tmp_path / 'checkpoints.db'}"
    with (
        open_checkpointer(url, state_types(agents.values())) as saver,
        pytest.raises(QuotaExceededError, match="1 of 1 deployments are in use"),
    ):
        SystemAgent(agents, saver).run(request)

    assert len(story.deployments()) == rows and world.serving.started == started
