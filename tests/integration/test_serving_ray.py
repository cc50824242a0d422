"""Serving on Ray (issue 17) on real parts: the session's two-node Ray cluster
(``tests/ray_cluster.py``), a real home (MLflow store, SQLite state DB, BentoML bentos), the
product's own ``deployer endpoints start`` use case, and a real gateway process.

The stable deployment (v1) is a local ``bentoml serve`` process started before the home's
``DEPLOYER_SERVING`` turned to ``ray``; the canary (v2) is a Ray Serve application with two
replicas. That is the point of the stable here: it is what the gateway retries a failed canary
request on, so it must not run on the nodes the drills break. It also shows each deployment is
checked and stopped on the backend that started it, whatever the setting says now.

The node drill stops the cluster's worker node for the rest of the session (the replica drill
after it runs on the head alone, and no later test needs the worker).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest
from sqlalchemy import select

from agents.commands import Deploy
from agents.handlers import operations
from agents.handlers.serving import list_endpoints, start_endpoint
from database.models import AuditEventRow, DeploymentRow
from lifecycle.ports import Routes
from lifecycle.stages import ModelStage
from lifecycle.strategies import StrategyName
from mlops.serving_ray import RayServing
from tests.gateway_stack import MODEL, TOKEN, Stack, admin, gateway_stack, wait_for
from tests.integration.test_gateway import Answer, bodies, deployment_stats, send
from tests.ray_cluster import RayCluster

pytestmark = [pytest.mark.slow, pytest.mark.ray]


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, ray_test_cluster: RayCluster
) -> Iterator[Stack]:
    with gateway_stack(tmp_path_factory.mktemp("ray-home")) as built:
        built.start("stable", "1")  # local: DEPLOYER_SERVING is still local
        c = built.container
        c.settings = c.settings.model_copy(
            update={
                "serving": "ray",
                "ray_address": ray_test_cluster.address,
                "ray_serve_url": ray_test_cluster.serve_url,
            }
        )
        c.__dict__.pop("serving", None)  # the Container builds its Serving from the new settings
        built.record_stage("2", ModelStage.PRODUCTION)  # set-up: the gateway routes users to it
        started = start_endpoint(c, MODEL, "2", "tester", workers=2)
        built.deployments["canary"] = started["deployment_id"]
        yield built


@pytest.fixture(scope="module")
def gateway(stack: Stack) -> str:
    url = stack.gateway()
    v1, v2 = stack.deployments["stable"], stack.deployments["canary"]
    stack.container.router.set_routes(Routes(MODEL, {v1: 50, v2: 50}, stable_deployment_id=v1))
    # The table reaches the gateway on its next poll (0.5 s; a deploy pushes it, this set-up
    # does not): the drills' load must not start before it serves it, or its first requests
    # get "no live deployment" (at full speed, 8 users send hundreds in half a second).
    with admin(url) as ops:

        def served() -> bool:
            table = ops.get(f"/admin/routes/{MODEL}")
            return table.status_code == 200 and set(table.json()["live_deployments"]) == {v1, v2}

        assert wait_for(served, 30), tables(stack, url)
    return url


def ray_serving(stack: Stack) -> RayServing:
    backend = stack.container.serving.backend("ray")
    assert isinstance(backend, RayServing)
    return backend


def row(stack: Stack, label: str) -> DeploymentRow:
    with stack.container.reader() as uow:
        return uow.deployments.get(stack.deployments[label])


def under_load(gateway: str, stack: Stack, n: int, during: Any) -> list[Answer]:
    """Send ``n`` predictions from 8 threads; call ``during()`` once the canary answered 100."""
    results: list[Answer] = []
    load = threading.Thread(target=lambda: results.extend(send(gateway, bodies(stack, n))))
    load.start()
    with admin(gateway) as ops:
        canary = stack.deployments["canary"]
        assert wait_for(lambda: deployment_stats(ops, canary)["requests"] > 100, 60), tables(
            stack, gateway
        )
        during()
    load.join()
    return results


def failures(results: list[Answer], stack: Stack, gateway: str) -> str:
    """What failed and where, for an assertion's message: each answer's status and error code
    at its deployment, with the canary's and the stable's figures as the gateway counted them."""
    seen = Counter((a.status, a.error) for a in results if a.status != 200)
    with admin(gateway) as ops:
        figures = {k: deployment_stats(ops, d) for k, d in stack.deployments.items()}
    return f"failed answers {dict(seen)}; the gateway's figures {figures}; {tables(stack, gateway)}"


def tables(stack: Stack, gateway: str) -> str:
    """The routing table as the gateway serves it and as stored, and the deployments' URLs."""
    with admin(gateway) as ops:
        served = ops.get(f"/admin/routes/{MODEL}").text
    stored = stack.container.router.get_routes(MODEL)
    with stack.container.reader() as uow:
        urls = {k: uow.deployments.get(d).endpoint_url for k, d in stack.deployments.items()}
    return f"the gateway's table {served}; the stored table {stored}; the URLs {urls}"


def test_each_deployment_is_recorded_and_checked_on_the_backend_that_started_it(
    stack: Stack,
) -> None:
    stable, canary = row(stack, "stable"), row(stack, "canary")
    assert (stable.serving_backend, canary.serving_backend) == ("local", "ray")
    assert stable.endpoint_pid is not None and canary.endpoint_pid is None
    assert canary.endpoint_url == f"{ray_serving(stack).serve_url}/{canary.deployment_id}"
    placed = stack.container.serving.placement(canary.endpoint(), canary.replicas)
    assert (placed.wanted, placed.running, placed.healthy) == (2, 2, True), placed
    listed = {e["deployment_id"]: e for e in list_endpoints(stack.container, "tester")}
    assert listed[stable.deployment_id]["alive"] and listed[canary.deployment_id]["alive"]
    with httpx.Client(trust_env=False, timeout=10) as client:
        info = client.get(f"{canary.endpoint_url}/model_info").json()
    assert (info["model_name"], info["model_version"]) == (MODEL, "2")


def test_the_worker_node_stopped_under_load_moves_the_replicas_to_the_head_with_no_failed_request(
    stack: Stack, gateway: str, ray_test_cluster: RayCluster
) -> None:
    ray = ray_serving(stack)
    endpoint = row(stack, "canary").endpoint()
    before = ray.placement(endpoint, 2)
    assert before.running == 2 and len(before.nodes) == 2, before  # one replica on each node
    results = under_load(gateway, stack, 800, ray_test_cluster.stop_worker)
    assert Counter(a.status for a in results) == Counter({200: 800}), failures(
        results, stack, gateway
    )

    def on_the_head_alone() -> bool:
        placed = ray.placement(endpoint, 2)
        return placed.running == 2 and len(placed.nodes) == 1

    assert wait_for(on_the_head_alone, 180, 1.0), ray.placement(endpoint, 2)
    assert set(ray.placement(endpoint, 2).nodes) < set(before.nodes)


def test_a_replica_killed_under_load_fails_no_request_and_ray_restarts_it(
    stack: Stack, gateway: str
) -> None:
    ray = ray_serving(stack)
    canary = stack.deployments["canary"]

    def two_live_replicas() -> list[int]:  # whatever the node drill before it left
        pids = ray.replica_pids(canary)
        return pids if len(pids) == 2 and all(map(psutil.pid_exists, pids)) else []

    before = wait_for(two_live_replicas, 180, 1.0)
    assert before, ray.app_state(canary)

    def kill_one() -> None:
        os.kill(before[0], signal.SIGKILL)

    results = under_load(gateway, stack, 800, kill_one)
    assert Counter(a.status for a in results) == Counter({200: 800}), failures(
        results, stack, gateway
    )
    restarted = wait_for(
        lambda: len(pids := ray.replica_pids(canary)) == 2 and before[0] not in pids, 120, 0.5
    )
    assert restarted, ray.app_state(canary)
    assert ray.is_alive(row(stack, "canary").endpoint())
    with admin(gateway) as ops:
        figures = deployment_stats(ops, canary)
    # every canary error was answered from stable: retried after it failed, or hedged before
    # it failed (issue 16's hedge: a late failure is counted as the error it is, and its user
    # already had the stable answer)
    assert figures["errors"] <= figures["retried_on_stable"] + figures["hedged_on_stable"]


# -- the agent on Ray: its own deploy, its ticks, its rollback -----------------------------------
# After the drills the head node alone serves; these deploy through the ModelDeployerAgent
# (``operations.execute``, as the CLI does) with ``DEPLOYER_SERVING=ray``, and tick the system
# graph in this process, users sending predictions through the gateway all the while.


@contextlib.contextmanager
def users(gateway: str, stack: Stack) -> Iterator[list[Answer]]:
    """Users sending predictions through the gateway (4 at a time) until the block ends."""
    answers: list[Answer] = []
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            answers.extend(send(gateway, bodies(stack, 20), concurrency=4))

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield answers
    finally:
        stop.set()
        thread.join()


def agent_canary(stack: Stack, version: str, label: str) -> str:
    """``deployer deploy iris VERSION --strategy canary --traffic 50 --replicas 1 --cpu 0.25
    --memory 300Mi`` through the agent; the new deployment's id (torn down with the stack)."""
    command = Deploy(
        model_name=MODEL,
        version=version,
        strategy=StrategyName.CANARY,
        traffic=50,
        replicas=1,
        cpu="0.25",
        memory="300Mi",
    )
    done = operations.execute(stack.container, command, "tester", "cli")
    deployment_id = str(done["deployment_manifest"]["deployment_id"])
    stack.deployments[label] = deployment_id
    return deployment_id


def tick(stack: Stack, canary: str) -> str:
    """One system-graph tick over the model; the canary's rollout phase after it."""
    with stack.container.open_system("tester") as agent:
        agent.tick("tester", MODEL)
    return phase(stack, canary)


def weights(stack: Stack) -> dict[str, float]:
    routes = stack.container.router.get_routes(MODEL)
    return dict(routes.weights) if routes is not None else {}


ENDED = ("completed", "rolled_back")


def phase(stack: Stack, deployment_id: str) -> str:
    with stack.container.reader() as uow:
        rollout = uow.rollouts.find(deployment_id)
    return rollout.phase if rollout is not None else ""


@pytest.fixture(scope="module")
def quick_rollouts(stack: Stack) -> None:
    """Canary steps of 1 s judged on 20 requests, a replaced deployment not kept warm (nor
    guarded by the service levels after the rollout: ``slo_guard_window_seconds``); latency
    is not this drill's subject (a Ray proxy hop beside a local server on 2 busy cores)."""
    c = stack.container
    c.settings = c.settings.model_copy(
        update={
            "canary_step_seconds": 1.0,
            "min_requests": 20,
            "warm_seconds": 0.0,
            "slo_guard_window_seconds": 0.0,
            "latency_multiplier": 1000.0,
        }
    )


def test_a_canary_the_engine_loses_is_rolled_back_by_the_monitor_on_the_next_tick(
    stack: Stack, gateway: str, quick_rollouts: None
) -> None:
    ray = ray_serving(stack)
    old_canary = stack.deployments["canary"]
    v1 = stack.deployments["stable"]  # the drills' canary leaves: the agent's own take its place
    stack.container.router.set_routes(Routes(MODEL, {v1: 100}, stable_deployment_id=v1))
    stack.stop("canary")
    assert ray.app_state(old_canary).status is None
    with users(gateway, stack) as answers:
        canary = agent_canary(stack, "2", "agent-rollback")
        made = row(stack, "agent-rollback")
        assert (made.serving_backend, made.replicas, made.cpu_limit) == ("ray", 1, "0.25")
        assert weights(stack) == {v1: 50.0, canary: 50.0}
        ray.stop(made.endpoint())  # the engine loses the application: its proxy answers 404
        assert tick(stack, canary) == "rolled_back"
        assert weights(stack) == {v1: 100.0}
    assert row(stack, "agent-rollback").status == "rolled_back"
    assert ray.app_state(canary).status is None
    # users never saw it: each failed canary call was answered from stable
    assert Counter(a.status for a in answers) == Counter({200: len(answers)}), failures(
        answers, stack, gateway
    )


def test_an_agent_canary_on_ray_replicas_walks_its_steps_completes_and_retires_the_old(
    stack: Stack, gateway: str, quick_rollouts: None
) -> None:
    ray = ray_serving(stack)
    v1 = stack.deployments["stable"]
    stack.record_stage("2", ModelStage.PRODUCTION)  # set-up: the rollback sent v2 back
    with users(gateway, stack) as answers:
        canary = agent_canary(stack, "2", "agent-canary")
        assert ray.app_state(canary).status == "RUNNING"
        assert wait_for(lambda: tick(stack, canary) in ENDED, 180, 0.5)
        served = send(gateway, bodies(stack, 20))
    assert weights(stack) == {canary: 100.0}
    assert {a.deployment_id for a in served} == {canary}
    assert phase(stack, canary) == "completed"  # v1 retired after its warm period
    assert row(stack, "stable").status == "rolled_back"
    with stack.container.reader() as uow:
        rollout = uow.rollouts.find(canary)
        moves = uow.session.scalars(
            select(AuditEventRow.action).where(AuditEventRow.subject == canary)
        ).all()
    assert rollout is not None
    assert rollout.steps["weights"] == [50.0, 100.0], rollout.steps
    assert "canary_completed" in moves, moves
    assert Counter(a.status for a in answers) == Counter({200: len(answers)}), failures(
        answers, stack, gateway
    )
    assert {v1, canary} <= {a.deployment_id for a in answers}


__all__ = ["TOKEN"]
