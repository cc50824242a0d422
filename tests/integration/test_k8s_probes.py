"""What the rendered manifests' probes and the Grafana dashboard rely on, on the real apps
(issue 17 item 5, issue 18 item 5): the gateway and the ops API answer the probe paths the
manifests name (the API without a token, as a kubelet asks), every metric the dashboard's
PromQL names is in a real gateway's ``/metrics``, and ``deployer watch`` touches its heartbeat
file whether it ticks or waits as a standby (what the liveness probe checks)."""

from __future__ import annotations

import gc
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient as AioClient
from aiohttp.test_utils import TestServer
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from agents.bootstrap import Container, bootstrap
from agents.entrypoints import watch, watch_alive
from agents.entrypoints.api.app import create_app
from agents.k8s import render as k8s
from agents.k8s.values import default_values
from agents.settings import Settings
from database import leases, migrate
from mlops.gateway.backend import GatewayConfig
from mlops.gateway.server import Gateway
from tests.integration.db_helpers import add_version
from tests.mlflow_template import seed_mlflow_store
from tests.unit.test_gateway_flush import Backend

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "model-deployer.json"
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}


def probes(component: str) -> list[dict[str, Any]]:
    """The probes of ``component``'s container in the rendered manifests."""
    for obj in (o for m in k8s.render(default_values()).manifests for o in m.objects):
        if obj["kind"] == "Deployment" and obj["metadata"]["name"].endswith(f"-{component}"):
            [box] = obj["spec"]["template"]["spec"]["containers"]
            return [box[p] for p in ("readinessProbe", "livenessProbe", "startupProbe") if p in box]
    raise AssertionError(component)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    root = tmp_path_factory.mktemp("k8s")
    settings = Settings(
        DEPLOYER_HOME=str(root / "home"),
        DEPLOYER_AUDIT_KEY="k" * 40,
        DEPLOYER_WATCH_HEALTH_FILE=str(root / "watch.alive"),
    )
    settings.ensure_home()
    seed_mlflow_store(settings.tracking_uri)  # the watcher opens the registry: no migrations
    migrate.upgrade(settings.database_url)
    c = bootstrap(settings)
    add_version(c.session_factory, "iris", "1")  # before a watcher fences the sessions
    yield c
    c.close()


def test_the_ops_api_answers_its_probes_without_a_token(home: Container) -> None:
    paths = {p["httpGet"]["path"] for p in probes("api")}
    assert paths == {"/healthz"}
    with TestClient(create_app(home)) as client:
        for path in paths:
            assert client.get(path).status_code == 200
        assert client.get("/v1/whoami").status_code == 401  # the others do need one


async def test_the_gateway_answers_its_probes_and_exposes_every_metric_the_dashboard_queries() -> (
    None
):
    gateway = Gateway(Backend(), GatewayConfig(token="t" * 32))
    async with AioClient(TestServer(gateway.app())) as client:
        for path in {p["httpGet"]["path"] for p in probes("gateway")}:
            answer = await client.get(path)
            assert answer.status == 200 and (await answer.json())["status"] == "ok"
        text = await (await client.get("/metrics")).text()
    exposed = {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in SUFFIXES[family.type]
    }
    assert "deployer_gateway_request_duration_seconds_bucket" in exposed
    queried = set()
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel["targets"]:
            queried |= set(re.findall(r"\b(deployer_[a-z_]+)\b", target["expr"]))
    assert queried, "the dashboard queries no metric"
    assert queried <= exposed, sorted(queried - exposed)
    assert {"deployer_gateway_breaker_state", "deployer_gateway_shadow_agreed_total"} <= queried


def test_the_dashboard_has_what_grafana_needs_to_import_it() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["title"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert {"datasource", "model", "deployment"} <= set(variables)
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"]["type"] == "prometheus" and panel["targets"], panel["title"]
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        for target in panel["targets"]:
            assert target["refId"] and target["datasource"]["uid"] == "${datasource}"
            if "deployment_id" in target["expr"] and "by (model)" not in target["expr"]:
                assert 'deployment_id=~"$deployment"' in target["expr"], target["expr"]
    quantiles = [
        t["expr"]
        for p in dashboard["panels"]
        for t in p["targets"]
        if "histogram_quantile" in t["expr"]
    ]
    assert len(quantiles) == 3 and all("_bucket" in q and "le)" in q for q in quantiles)


def test_the_watcher_touches_its_heartbeat_as_a_standby_and_when_it_ticks(
    home: Container,
) -> None:
    alive = home.settings.watch_health_file
    assert alive is not None and not alive.exists()
    [probe] = [p for p in probes("watcher") if "exec" in p][:1]
    max_age = probe["exec"]["command"][-1]
    reports: list[dict[str, Any]] = []
    other = leases.acquire(home.session_factory, watch.LEASE_NAME, "another-pod", 60)
    assert other.held
    assert watch.watch(home, 60.0, True, reports.append) == 0
    assert [r["status"] for r in reports] == ["standby"]
    assert watch_alive.main([str(alive), max_age]) == 0  # a standby is alive
    os.utime(alive, (0, 0))
    assert watch_alive.main([str(alive), max_age]) == 1

    leases.release(home.session_factory, watch.LEASE_NAME, "another-pod")
    gc.unfreeze()
    try:
        assert watch.watch(home, 60.0, True, reports.append, model_name="iris") == 1
        assert gc.get_freeze_count() > 0  # its heap settled after its first tick
    finally:
        gc.unfreeze()
    assert reports[-1]["status"] == "ticked"
    assert watch_alive.main([str(alive), max_age]) == 0
