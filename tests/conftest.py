"""Shared fixtures: a real PostgreSQL server for the session, and a fresh database per test.

``database_url`` is parametrised over ``sqlite`` and ``postgres`` so that every repository test
runs on both. PostgreSQL tests are required (not skipped) when ``DEPLOYER_REQUIRE_POSTGRES=1``,
which the README's test command sets.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import settings as hypothesis_settings

from tests.postgres_server import PostgresServer, create_database, drop_database, running_postgres
from tests.ray_cluster import RayCluster

os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")

# scripts/mutation runs the unit tests with this profile, at idle priority beside pytest: a
# property test that waited for the CPU is not a failure there (mutmut's timeout still is).
hypothesis_settings.register_profile("mutation", deadline=None)


class RefusedCheckpointTypes(logging.Handler):
    """Collects LangGraph's "Blocked deserialization" warnings: a checkpointed class missing
    from ``memory.checkpoint_types``' allow-list would make a resumed run lose its value."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "Blocked deserialization" in record.getMessage():
            self.seen.append(record.getMessage())


REFUSED_CHECKPOINT_TYPES = RefusedCheckpointTypes()
logging.getLogger("langgraph.checkpoint.serde.jsonplus").addHandler(REFUSED_CHECKPOINT_TYPES)


@pytest.fixture(autouse=True)
def no_checkpointed_type_is_refused() -> Iterator[None]:
    """Every in-process graph run restores all it checkpointed (tests that mean to be refused
    empty ``REFUSED_CHECKPOINT_TYPES.seen`` themselves)."""
    yield
    seen = list(REFUSED_CHECKPOINT_TYPES.seen)
    REFUSED_CHECKPOINT_TYPES.seen.clear()
    assert not seen, f"the checkpointer refused a type the graph stored: {seen}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session (started here, or DEPLOYER_TEST_POSTGRES_URL)."""
    external = os.environ.get("DEPLOYER_TEST_POSTGRES_URL")
    if external:
        parts = urlsplit(external)
        yield PostgresServer(
            parts.hostname or "127.0.0.1", parts.port or 5432, parts.username or "postgres", None
        )
        return
    try:
        with running_postgres() as server:
            yield server
    except RuntimeError as exc:
        if os.environ.get("DEPLOYER_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"PostgreSQL unavailable: {exc}")


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = create_database(postgres_server, name)
    yield url
    drop_database(postgres_server, name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file for one test."""
    return f"sqlite:///{tmp_path / 'deployer.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database URL, once for SQLite and once for a real PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``mlflow server`` process for the session (the HTTP client path of the registry)."""
    shared = os.environ.get(SHARED_MLFLOW_ENV)
    if shared:  # started once for every pytest-xdist worker (``_SharedServices``)
        yield shared
        return
    from tests.mlflow_server import running_mlflow_server

    with running_mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


@pytest.fixture
def no_leftover_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fail a test that leaves a ``bentoml serve`` process of its own behind.

    Only endpoints of this session's homes count (their BentoML home lies under pytest's base
    temporary folder), so another test run on the same machine cannot fail this one.
    """
    import psutil

    root = str(tmp_path_factory.getbasetemp())

    def servers() -> set[int]:
        """Every endpoint process (server or worker): they carry DEPLOYER_DEPLOYMENT_ID."""
        found = set()
        for proc in psutil.process_iter(["pid"]):
            try:
                env = proc.environ()
            except psutil.Error:
                continue
            if "DEPLOYER_DEPLOYMENT_ID" in env and env.get("BENTOML_HOME", "").startswith(root):
                found.add(proc.pid)
        return found

    before = servers()
    yield
    left = servers() - before
    assert not left, f"bentoml serve processes left behind: {sorted(left)}"


@pytest.fixture(scope="session")
def ray_test_cluster() -> Iterator[RayCluster]:
    """The session's one real two-node Ray cluster (``tests/ray_cluster.py``), started on first
    use; skipped without Ray unless ``DEPLOYER_REQUIRE_RAY`` is set."""
    from tests.ray_cluster import ray_cluster, require_ray

    require_ray()
    with ray_cluster() as cluster:
        yield cluster


WIDE_SCOPES = {"module", "package", "class"}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's worker reads the marks
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Under pytest-xdist (``scripts/test`` runs ``-n 2 --dist loadgroup``), keep together what
    shares a costly start: every test on the session's Ray cluster runs on one worker (a
    second cluster would cost minutes and the ports of a second head), and a module that
    defines a module-scoped fixture (a gateway stack, bentos, an API; requested by name or
    through ``getfixturevalue``) runs on one worker, which builds it once. Every other test is
    handed out one by one. Without pytest-xdist nothing is marked."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        fixtures = getattr(item, "_fixtureinfo", None)
        closure = set(fixtures.names_closure) if fixtures else set()
        module = item.nodeid.split("::")[0]
        if item.get_closest_marker("ray") or "ray_test_cluster" in closure:
            item.add_marker(pytest.mark.xdist_group("ray"))
        elif _shares_a_stack(getattr(item, "module", None)):
            item.add_marker(pytest.mark.xdist_group(module))


def _shares_a_stack(module: object) -> bool:
    """Whether a test module defines (or imports) a fixture wider than one test."""
    if module is None:
        return False
    scopes = (getattr(value, "_fixture_function_marker", None) for value in vars(module).values())
    return any(str(getattr(marker, "scope", "")) in WIDE_SCOPES for marker in scopes)


class _GroupedNodeIds:
    """pytest-xdist 3.8 names an item's group by suffixing ``item._nodeid`` in its worker's
    ``pytest_collection_modifyitems``, which pytest 9 no longer reads (a node id is
    ``item._id``), so ``--dist loadgroup`` grouped nothing: a two-worker run started a Ray
    cluster on each worker and split the story modules (test_cli_agent, test_cli_watch) over
    the workers, out of order. This carries the suffix over, after xdist's hook."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        from _pytest.nodeid import NodeId

        for item in items:
            suffixed = getattr(item, "_nodeid", None)
            if isinstance(suffixed, str) and "@" in suffixed and suffixed != item.nodeid:
                item._id = NodeId.parse(suffixed)  # type: ignore[attr-defined]


SHARED_MLFLOW_ENV = "DEPLOYER_TEST_MLFLOW_URL"
"""An MLflow server the ``mlflow_server`` fixture uses instead of starting one."""


class _SharedServices:
    """Under pytest-xdist, the controller starts the session's PostgreSQL and MLflow servers
    once, before the workers exist, and hands them their URLs in the environment the workers
    inherit (``DEPLOYER_TEST_POSTGRES_URL``, ``DEPLOYER_TEST_MLFLOW_URL``): each worker started
    its own before, and with both workers busy an MLflow server's start took 87 s against 17 s
    alone. Every test already makes its own database (``postgres_url``) and its own uniquely
    named models on the MLflow server, so sharing them changes no test. They are stopped by
    PID when the controller ends (``pytest_unconfigure``), after every worker has."""

    def __init__(self) -> None:
        self.stack = contextlib.ExitStack()

    def start(self) -> None:
        from tests.mlflow_server import running_mlflow_server

        if not os.environ.get("DEPLOYER_TEST_POSTGRES_URL"):
            try:
                server = self.stack.enter_context(running_postgres())
            except RuntimeError:
                if os.environ.get("DEPLOYER_REQUIRE_POSTGRES") == "1":
                    raise
            else:  # without it each worker tries, and skips or fails, as alone
                os.environ["DEPLOYER_TEST_POSTGRES_URL"] = server.url()
        if not os.environ.get(SHARED_MLFLOW_ENV):
            root = Path(tempfile.mkdtemp(prefix="deployer-mlflow-"))
            self.stack.callback(shutil.rmtree, root, True)
            os.environ[SHARED_MLFLOW_ENV] = self.stack.enter_context(running_mlflow_server(root))

    def pytest_unconfigure(self) -> None:
        self.stack.close()


def _is_xdist_controller(config: pytest.Config) -> bool:
    workers = getattr(config.option, "numprocesses", None)
    return bool(workers) and not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_GroupedNodeIds(), "deployer-grouped-node-ids")
    if _is_xdist_controller(config):
        shared = _SharedServices()
        config.pluginmanager.register(shared, "deployer-shared-services")
        try:
            shared.start()
        except BaseException:  # a server that did start is stopped, not left behind
            shared.stack.close()
            raise
