"""The serving port (``agents.model_deployer.deps.Serving``): ``FakeServing``, ``LocalServing``
(real bentos, real ``bentoml serve`` processes, called over real HTTP) and ``RayServing`` (the
same bentos as Ray Serve applications on the session's real two-node cluster, marked ``ray``)
pass the same tests. Where they differ the contract says how: a backend that cannot honour
CPU/memory limits or autoscaling refuses them and starts nothing; one that can (Ray) runs them
and reports the replicas in its placement. A Ray endpoint has no PID: it is started when it has
a URL, and ``stop_strays`` returns the PIDs of the replicas it stopped.

The real side is slow, so it is a few tests over one home per module (``tests/gateway_stack``:
two iris versions trained on scikit-learn's own dataset, registered in a real MLflow store and
state DB) and one package of v1 that every test shares. Every server a test starts is stopped by
the ``side`` fixture, by PID and process tree, which then checks that no process of this home
is left (arbiter included: the global ``no_leftover_servers`` would see other sessions' servers).

Drift found and resolved (in the fake): it packaged versions nobody registered, its smoke check
passed whatever version the server held, it started packages nobody built, ``stop`` of an
endpoint recorded without a PID stopped the server anyway (the real one cannot know it: that is
the crash ``stop_strays`` exists for), and ``stop_strays`` ignored servers it had started itself,
while the real one stops every process carrying the deployment id. And in the adapter: its
smoke check of an endpoint without a server let httpx's error out; it now raises the port's
``EndpointCreationError`` for every failure of the check.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from agents.model_deployer.deps import Serving
from lifecycle.errors import EndpointCreationError, UnknownModelError
from lifecycle.ports import Endpoint
from lifecycle.resources import Autoscale, InvalidResourcesError, Resources
from mlops.processes import find_by_env, free_port
from mlops.serving_local import LocalServing
from mlops.serving_ray import RayServing
from tests.agent_fakes import FakeServing
from tests.fakes import FakeRegistry
from tests.gateway_stack import MODEL, Stack, gateway_stack
from tests.ray_cluster import RayCluster


@dataclass
class Side:
    serving: Serving
    started: list[Endpoint] = field(default_factory=list)
    honours_limits: bool = False

    def start(self, deployment_id: str, tag: str) -> Endpoint:
        endpoint = self.serving.start(deployment_id, tag, Resources())
        self.started.append(endpoint)
        return endpoint


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with gateway_stack(tmp_path_factory.mktemp("serving-home")) as stack:
        yield stack


@pytest.fixture(scope="module")
def real_serving(stack: Stack) -> LocalServing:
    return stack.container.serving.local


@pytest.fixture(scope="module")
def real_tag(real_serving: LocalServing) -> str:
    """The one package of v1 the real side's tests share."""
    return real_serving.package(MODEL, "1", "tester")


@pytest.fixture(scope="module")
def ray_serving(real_serving: LocalServing, ray_test_cluster: RayCluster) -> RayServing:
    """Ray Serve applications on the session's cluster, packaging through the real home's."""
    return RayServing(real_serving, ray_test_cluster.address, ray_test_cluster.serve_url)


@pytest.fixture(
    params=[
        "fake",
        pytest.param("real", marks=pytest.mark.slow),
        pytest.param("ray", marks=[pytest.mark.slow, pytest.mark.ray]),
    ]
)
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    home = None
    if request.param == "fake":
        registry = FakeRegistry()
        for _ in range(2):
            registry.register(MODEL, f"runs:/r/{MODEL}")
        side = Side(FakeServing(registry))
    elif request.param == "ray":
        side = Side(request.getfixturevalue("ray_serving"), honours_limits=True)
    else:
        side = Side(request.getfixturevalue("real_serving"))
        home = str(request.getfixturevalue("stack").container.settings.bentoml_home)
    yield side
    for endpoint in side.started:
        side.serving.stop(endpoint)
    if isinstance(side.serving, RayServing):
        for endpoint in side.started:
            assert side.serving.app_state(endpoint.deployment_id).status is None
    if home is not None:
        # This home's processes only: other test sessions may run servers on the machine.
        left = [p.pid for p in find_by_env(BENTOML_HOME=home)]
        assert not left, f"bentoml serve processes left behind: {left}"


@pytest.fixture
def tag(side: Side, request: pytest.FixtureRequest) -> str:
    if isinstance(side.serving, LocalServing | RayServing):
        return str(request.getfixturevalue("real_tag"))
    return side.serving.package(MODEL, "1", "tester")


def test_packaging_a_version_again_gives_the_same_package(side: Side, tag: str) -> None:
    assert side.serving.package(MODEL, "1", "tester") == tag


def test_a_version_nobody_registered_cannot_be_packaged(side: Side) -> None:
    with pytest.raises(UnknownModelError):
        side.serving.package(MODEL, "9", "tester")
    with pytest.raises(UnknownModelError):
        side.serving.package("never_registered", "1", "tester")


def test_a_server_serves_its_packaged_version_from_start_until_stop(side: Side, tag: str) -> None:
    endpoint = side.start("contract-life", tag)
    assert endpoint.deployment_id == "contract-life" and endpoint.started
    assert f":{endpoint.port}" in endpoint.url
    assert side.serving.is_alive(endpoint) and side.serving.process_alive(endpoint)
    side.serving.smoke(endpoint, MODEL, "1")
    with pytest.raises(EndpointCreationError):
        side.serving.smoke(endpoint, MODEL, "2")
    running = side.serving.placement(endpoint, 1)
    assert (running.wanted, running.running, running.healthy) == (1, 1, True)
    assert len(running.nodes) == 1
    if not side.honours_limits:  # a local server's workers are fixed when it starts
        with pytest.raises(InvalidResourcesError, match="keeps running as it is"):
            side.serving.resize(endpoint, tag, Resources(2))
        assert side.serving.is_alive(endpoint)
        side.serving.smoke(endpoint, MODEL, "1")
    side.serving.stop(endpoint)
    assert not side.serving.is_alive(endpoint)
    assert not side.serving.process_alive(endpoint)
    stopped = side.serving.placement(endpoint, 1)
    assert (stopped.running, stopped.nodes, stopped.healthy) == (0, (), False)
    side.serving.stop(endpoint)  # stopping twice is harmless


LIMITS = (
    Resources(cpu=0.5),
    Resources(memory_bytes=512 * 1024**2),
    Resources(autoscale=Autoscale(1, 2)),
)


def test_limits_and_autoscaling_are_refused_with_nothing_started_or_honoured_and_placed(
    side: Side, tag: str
) -> None:
    if not side.honours_limits:
        for resources in LIMITS:
            with pytest.raises(InvalidResourcesError, match="replicas only"):
                side.serving.start("contract-limits", tag, resources)
            assert side.serving.stop_strays("contract-limits") == []
        return
    # one start asks for all of it: two replicas of half a CPU and 256 MiB each
    asked = Resources(replicas=2, cpu=0.5, memory_bytes=256 * 1024**2)
    endpoint = side.serving.start("contract-limits", tag, asked)
    side.started.append(endpoint)
    placed = side.serving.placement(endpoint, asked.replicas)
    assert (placed.wanted, placed.running, placed.healthy) == (2, 2, True), placed
    assert 1 <= len(placed.nodes) <= 2
    side.serving.smoke(endpoint, MODEL, "1")
    # resized in place (PATCH /v1/deployments/{id}): one replica less, still serving
    fewer = Resources(replicas=1, cpu=0.5, memory_bytes=256 * 1024**2)
    assert side.serving.resize(endpoint, tag, fewer) == endpoint
    placed = side.serving.placement(endpoint, fewer.replicas)
    assert (placed.wanted, placed.running, placed.healthy) == (1, 1, True), placed
    side.serving.smoke(endpoint, MODEL, "1")


def test_a_server_never_recorded_is_left_to_stop_strays_which_stops_it(
    side: Side, tag: str
) -> None:
    assert side.serving.stop_strays("contract-never-started") == []
    endpoint = side.start("contract-stray", tag)
    unrecorded = Endpoint(endpoint.deployment_id, "", 0, pid=None, backend=endpoint.backend)
    side.serving.stop(unrecorded)  # a crash before the start was recorded: stop knows no server
    assert side.serving.process_alive(endpoint)
    stopped = side.serving.stop_strays("contract-stray")
    assert stopped and (endpoint.pid is None or endpoint.pid in stopped)
    assert not side.serving.process_alive(endpoint)
    assert side.serving.stop_strays("contract-stray") == []


def test_a_package_nobody_built_does_not_start(side: Side) -> None:
    with pytest.raises(EndpointCreationError):
        side.start("contract-unbuilt", "nobody-built:v1")
    assert side.serving.stop_strays("contract-unbuilt") == []


def test_an_endpoint_without_a_server_is_dead(side: Side) -> None:
    port = free_port()
    nothing = Endpoint("contract-nothing", f"http://127.0.0.1:{port}", port)
    assert not side.serving.is_alive(nothing)
    assert not side.serving.process_alive(nothing)
    side.serving.stop(nothing)


def test_the_smoke_check_of_an_endpoint_without_a_server_fails_as_the_ports_error(
    side: Side,
) -> None:
    port = free_port()
    nothing = Endpoint("contract-nothing", f"http://127.0.0.1:{port}", port)
    with pytest.raises(EndpointCreationError):
        side.serving.smoke(nothing, MODEL, "1")
