"""Routing respects stages and sync never adopts, on every path (issue 13, items 2, 3 and the
gateway token of 8).

Only production deployments take users' weight and only shadow ones the mirror
(``lifecycle.route_stages``); ``traffic set`` (the handler and the real CLI), the graph's router,
the gateway's admin API (a real ``deployer gateway`` process) each get the typed refusal and
leave the routing table, its revision and the audit log as they were. A routing change through
the admin API is recorded as the token's holder, never a body's actor. An MLflow tag edit
(``lifecycle=production``, ``metric.accuracy=1``) followed by ``sync`` is reported and adopts
nothing. Records-only cases run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.bootstrap import Container
from agents.handlers.registration import register_version, sync_registry
from agents.handlers.traffic import set_routes
from agents.queries.checks import metric_evidence
from agents.settings import Settings
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.errors import UnapprovedRouteError
from lifecycle.gates import VerdictStatus, metric_thresholds_gate, parse_criterion
from lifecycle.ports import Routes
from lifecycle.route_stages import (
    MIRROR_VERSION_STAGES,
    WEIGHT_VERSION_STAGES,
    RoutedDeployment,
    stage_violations,
)
from lifecycle.stages import ROUTABLE_STATUSES, DeploymentStatus, ModelStage
from mlops.processes import free_port, port_in_use, terminate_tree, wait_http_ok
from mlops.training import train_and_log
from tests.e2e.cli import run, run_here
from tests.integration.db_helpers import add_version, deployment_row
from tests.mlflow_template import seed_mlflow_store
from tests.schema_template import migrated

MODEL = "fraud"
TOKEN = "safety-admin-token-0123"

# deployment id -> (version, the stage it was deployed at and its version is in)
RECORDS = {
    "prod": ("1", ModelStage.PRODUCTION),
    "dev": ("9", ModelStage.DEVELOPMENT),
    "stg": ("5", ModelStage.STAGING),
    "shd": ("7", ModelStage.SHADOW),
}
ROUTED = Routes(MODEL, {"prod": 100.0}, "shd", 10.0, None)


@dataclass
class Home:
    settings: Settings
    container: Container
    env: dict[str, str]

    def snapshot(self) -> tuple[Any, ...]:
        """What a refused change must leave as it was: the table, its revision, the audit."""
        with SqlAlchemyUnitOfWork(self.container.session_factory, read_only=True) as uow:
            events = [(e.actor, e.action, e.subject) for e in uow.audit.list()]
            stages = {r.model_version_id: r.stage for r in uow.models.list()}
            metrics = {r.model_version_id: dict(r.metrics) for r in uow.models.list()}
        router = self.container.router
        return router.get_routes(MODEL), router.revisions(), events, stages, metrics


def make_home(root: Path, database_url: str) -> Home:
    settings = Settings.model_validate(
        {"DEPLOYER_HOME": str(root / "home"), "DEPLOYER_DATABASE_URL": database_url}
    )
    settings.ensure_home()
    migrated(settings.database_url)
    env = {
        "DEPLOYER_HOME": str(settings.home_dir),
        "DEPLOYER_DATABASE_URL": database_url,
        "DEPLOYER_GATEWAY_TOKEN": TOKEN,
    }
    return Home(settings, Container(settings), env)


@pytest.fixture
def home(tmp_path: Path, database_url: str) -> Iterator[Home]:
    """fraud: v1 production serves everything, v7 (shadow) is mirrored; v9 (development) and v5
    (staging) have endpoints of their own (recorded: no server is needed to judge a table)."""
    built = make_home(tmp_path, database_url)
    factory = built.container.session_factory
    for deployment_id, (version, stage) in RECORDS.items():
        add_version(factory, MODEL, version, stage)
        with SqlAlchemyUnitOfWork(factory) as uow:
            url = f"http://127.0.0.1:9/{deployment_id}"
            row = deployment_row(deployment_id, DeploymentStatus.ACTIVE, MODEL, version, url, stage)
            uow.deployments.add(row)
            uow.commit()
    built.container.router.save(ROUTED, "alice")
    yield built
    built.container.close()


UNAPPROVED = {
    "a development deployment takes everything": {"weights": {"dev": 100}},
    "a development deployment takes a canary's share": {"weights": {"prod": 90, "dev": 10}},
    "a staging deployment takes weight": {"weights": {"prod": 50, "stg": 50}},
    "a shadow deployment takes weight": {"weights": {"shd": 100}},
    "a staging deployment takes the mirror": {"weights": {"prod": 100}, "shadow": "stg"},
    "a development deployment takes the mirror": {"weights": {"prod": 100}, "shadow": "dev"},
}


@pytest.mark.parametrize("table", UNAPPROVED.values(), ids=UNAPPROVED.keys())
def test_traffic_set_gives_no_unapproved_stage_traffic_and_changes_nothing(
    home: Home, table: dict[str, Any]
) -> None:
    before = home.snapshot()
    shadow = table.get("shadow")
    with pytest.raises(UnapprovedRouteError) as refused:
        set_routes(home.container, MODEL, table["weights"], "alice", shadow, 50 if shadow else 0)
    assert refused.value.exit_code == 3 and "\n" not in str(refused.value)
    assert home.snapshot() == before


@pytest.mark.parametrize("table", UNAPPROVED.values(), ids=UNAPPROVED.keys())
def test_the_graphs_router_gives_no_unapproved_stage_traffic_and_changes_nothing(
    home: Home, table: dict[str, Any]
) -> None:
    before = home.snapshot()
    shadow = table.get("shadow")
    routes = Routes(MODEL, table["weights"], shadow, 50 if shadow else 0)
    with pytest.raises(UnapprovedRouteError):
        home.container.router.set_routes(routes)  # what every graph node writes through
    assert home.snapshot() == before


def test_a_production_table_with_a_shadow_mirror_is_still_saved(home: Home) -> None:
    saved = set_routes(home.container, MODEL, {"prod": 100}, "alice", "shd", 100)
    assert (saved["weights"], saved["shadow_deployment_id"]) == ({"prod": 100.0}, "shd")


@pytest.mark.usefixtures("no_leftover_servers")
def test_endpoints_start_of_a_development_version_then_traffic_set_is_refused(
    tmp_path: Path,
) -> None:
    """The bypass as a user typed it: a real endpoint of a development version, then the CLI.
    The set-up and the reads (``init``, ``register``, ``traffic show``, ``down``) run the CLI's
    own commands in this process (``cli_here``): a process each cost 2-3 s of start-up."""
    env = {"DEPLOYER_HOME": str(tmp_path / "home")}
    seed_mlflow_store(tmp_path / "home" / "mlflow.db")
    cli_here("init", env=env)
    try:
        home = Path(env["DEPLOYER_HOME"])
        trained = train_and_log(
            f"sqlite:///{home / 'mlflow.db'}", artifact_root=home / "mlartifacts"
        )
        cli_here("register", "iris", "--model-uri", trained.model_uri, env=env)
        started = run("endpoints", "start", "iris", "1", "--json", env=env)
        assert started.code == 0, started.stderr
        deployment_id = started.json()["deployment_id"]
        before = cli_here("traffic", "show", "iris", env=env)

        result = run("traffic", "set", "iris", f"{deployment_id}=100", env=env)
        assert result.code == 3
        assert result.stderr.strip().splitlines() == [
            f"error: refused routing for iris: {deployment_id} is a development deployment: only "
            "production deployments take users' traffic"
        ]
        assert cli_here("traffic", "show", "iris", env=env) == before
        assert before["routed"] is False
    finally:
        run_here("down", env=env)


def cli_here(*args: str, env: dict[str, str]) -> Any:
    """``deployer ARGS --json`` in this process (``run_here``), which must succeed; its JSON."""
    result = run_here(*args, "--json", env=env)
    assert result.code == 0, f"deployer {' '.join(args)}: {result.stderr}"
    return result.json()


# -- the gateway's admin API -------------------------------------------------------------------


@pytest.fixture
def gateway(home: Home) -> Iterator[str]:
    """A real ``deployer gateway`` process over the home, stopped by PID."""
    port = free_port()
    log = (home.settings.home_dir / f"gateway-{port}.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents.entrypoints.gateway", "--port", str(port)],
        env={**os.environ, **home.env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_http_ok(f"{url}/healthz", 60, lambda: proc.poll() is None)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            terminate_tree(proc.pid)
            proc.wait(timeout=5)
        log.close()


def admin_put(url: str, body: dict[str, Any]) -> httpx.Response:
    with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
        return client.put(
            f"/admin/routes/{MODEL}", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
        )


def test_the_gateway_admin_api_refuses_a_development_deployment_and_keeps_the_table(
    home: Home, gateway: str
) -> None:
    before = home.snapshot()
    served = httpx.get(
        f"{gateway}/admin/routes/{MODEL}", headers={"Authorization": f"Bearer {TOKEN}"}
    ).json()
    response = admin_put(gateway, {"weights": {"dev": 100}})
    assert response.status_code == 409
    assert response.json()["code"] == "unapproved_route"
    assert "dev is a development deployment" in response.json()["error"]
    assert home.snapshot() == before
    after = httpx.get(
        f"{gateway}/admin/routes/{MODEL}", headers={"Authorization": f"Bearer {TOKEN}"}
    ).json()
    assert after == served


def test_a_body_actor_never_becomes_the_recorded_actor(home: Home, gateway: str) -> None:
    before = home.snapshot()
    claimed = admin_put(gateway, {"weights": {"prod": 100}, "actor": "someone-else"})
    assert claimed.status_code == 422 and "actor" in claimed.json()["error"]
    assert home.snapshot() == before

    assert admin_put(gateway, {"weights": {"prod": 100}}).status_code == 200
    with SqlAlchemyUnitOfWork(home.container.session_factory, read_only=True) as uow:
        last = [e for e in uow.audit.list(MODEL) if e.action == "routes.set"][-1]
    assert last.actor == "gateway-admin"


@pytest.mark.parametrize("header", ["Bearer ", "Bearer", f"Basic {TOKEN}"])
def test_an_empty_or_foreign_authorization_changes_nothing(
    home: Home, gateway: str, header: str
) -> None:
    before = home.snapshot()
    # http.client, not httpx: httpx refuses to send a header value with a trailing space.
    host, port = gateway.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        body = json.dumps({"weights": {"prod": 100}})
        connection.request(
            "PUT",
            f"/admin/routes/{MODEL}",
            body,
            {"Authorization": header, "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        assert response.status == 401
        assert json.loads(response.read())["code"] == "unauthorized"
    finally:
        connection.close()
    assert home.snapshot() == before


def test_a_gateway_refuses_to_start_with_a_token_shorter_than_16_characters(
    tmp_path: Path, sqlite_url: str
) -> None:
    built = make_home(tmp_path, sqlite_url)
    built.container.close()
    port = free_port()
    env = {**built.env, "DEPLOYER_GATEWAY_TOKEN": "fifteen-chars-x"}
    result = run("gateway", "--port", str(port), env=env, timeout=60)
    assert result.code == 2
    assert result.stderr.strip().splitlines() == [
        "error: the gateway's admin token must be at least 16 characters (it has 15); "
        "set a longer DEPLOYER_GATEWAY_TOKEN"
    ]
    assert not port_in_use(port, "127.0.0.1")
    assert not list((built.settings.gateway_dir).glob("*.json"))


# -- sync: an MLflow tag edit is reported, never adopted ----------------------------------------


@pytest.fixture
def registered(tmp_path: Path, database_url: str) -> Iterator[tuple[Home, dict[str, float]]]:
    """A home with iris v1 registered for real (MLflow run, registry, state DB); the run's
    metrics beside it."""
    built = make_home(tmp_path, database_url)
    s = built.settings
    seed_mlflow_store(s.tracking_uri)
    trained = train_and_log(s.tracking_uri, artifact_root=s.artifact_root)
    register_version(built.container.uow, built.container.registry, "iris", trained.model_uri, "a")
    yield built, dict(trained.metrics)
    built.container.close()


def tag(home: Home, key: str, value: str) -> None:
    """Edit a version tag in MLflow directly, as anyone with MLflow access can."""
    from mlflow import MlflowClient

    MlflowClient(tracking_uri=home.settings.tracking_uri).set_model_version_tag(
        "iris", "1", key, value
    )


def test_a_production_tag_in_mlflow_is_reported_by_sync_and_the_stage_stays(
    registered: tuple[Home, dict[str, float]],
) -> None:
    home, _ = registered
    before = home.snapshot()
    tag(home, "lifecycle", "production")
    report = sync_registry(home.container.uow, home.container.registry, "mallory")
    assert report.drift == [
        {
            "model_version_id": "iris/1",
            "stage": {"state_db": "development", "registry": "production"},
        }
    ]
    assert report.added == []
    table, revisions, events, stages, metrics = home.snapshot()
    assert (table, revisions, stages, metrics) == before[:2] + before[3:]
    assert stages == {"iris/1": "development"}
    assert events[len(before[2]) :] == [("mallory", "sync_drift", "iris/1")]
    # A second sync reports it again and audits nothing new.
    again = sync_registry(home.container.uow, home.container.registry, "mallory")
    assert again.drift == report.drift
    assert home.snapshot()[2] == events


def test_a_metric_tag_in_mlflow_is_reported_by_sync_and_the_gates_judge_the_runs_figure(
    registered: tuple[Home, dict[str, float]],
) -> None:
    home, logged = registered
    assert logged["accuracy"] < 0.95, "the run's figure must miss the criterion below"
    tag(home, "metric.accuracy", "1")
    report = sync_registry(home.container.uow, home.container.registry, "mallory")
    assert report.drift == [
        {
            "model_version_id": "iris/1",
            "metrics": {"accuracy": {"state_db": logged["accuracy"], "registry": 1.0}},
        }
    ]
    with SqlAlchemyUnitOfWork(home.container.session_factory, read_only=True) as uow:
        row = uow.models.get("iris", "1")
        assert dict(row.metrics) == logged
        evidence = metric_evidence(row)
    assert evidence == [
        {"metric": name, "value": value, "source": "run"} for name, value in sorted(logged.items())
    ]
    # What the promotion's metric gate reads is the record, so it judges the run's figure.
    (verdict,) = metric_thresholds_gate(row.metrics, [parse_criterion("accuracy>=0.95")])
    assert verdict.status is VerdictStatus.FAILED


# -- the rule, for every table ------------------------------------------------------------------

IDS = [f"d{i}" for i in range(6)]
deployments = st.fixed_dictionaries(
    {
        d: st.builds(
            RoutedDeployment,
            st.just(d),
            st.sampled_from(ModelStage),
            st.sampled_from(ModelStage),
            st.sampled_from(DeploymentStatus),
        )
        for d in IDS
    }
)
tables = st.builds(
    Routes,
    st.just(MODEL),
    st.dictionaries(st.sampled_from([*IDS, "ghost"]), st.floats(0, 100), min_size=1),
    st.one_of(st.none(), st.sampled_from([*IDS, "ghost"])),
    st.floats(0, 100),
)


@settings(max_examples=500, deadline=None)
@given(tables, deployments)
def test_no_admitted_table_gives_users_to_an_unapproved_deployment(
    routes: Routes, known: dict[str, RoutedDeployment]
) -> None:
    if stage_violations(routes, known):
        return
    for deployment_id, weight in routes.weights.items():
        if weight > 0:
            d = known[deployment_id]
            assert d.deployed_stage is ModelStage.PRODUCTION
            assert d.version_stage in WEIGHT_VERSION_STAGES
            assert d.status in ROUTABLE_STATUSES
    if routes.shadow_deployment_id is not None:
        m = known[routes.shadow_deployment_id]
        assert m.deployed_stage is ModelStage.SHADOW
        assert m.version_stage in MIRROR_VERSION_STAGES
        assert m.status in ROUTABLE_STATUSES
