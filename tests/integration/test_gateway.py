"""The traffic gateway, for real: `deployer gateway` processes in front of real `bentoml serve`
endpoints of two iris versions whose outputs differ, with the routing table in a real database.
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from agents.bootstrap import Container
from agents.commands import Promote
from agents.handlers.capture import export_capture, set_capture_percent
from agents.handlers.operations import execute
from agents.handlers.registration import set_criteria
from agents.settings import Settings
from database import migrate
from database.capture import DbCaptureStore, captured
from database.engine import read_session
from database.models_watch import PredictionRow
from database.routing import DbMetricsSource
from lifecycle.capture import PredictionRecord
from lifecycle.errors import ProductionCriteriaNotMetError
from lifecycle.ports import Routes
from lifecycle.records import utcnow
from lifecycle.stages import DeploymentStatus, ModelStage
from mlops.gateway.client import GatewayClient, switch_gradually
from tests.gateway_stack import MODEL, TOKEN, Stack, admin, gateway_stack, rows_of, wait_for
from tests.integration.db_helpers import add_version, deployment_row
from tests.postgres_server import PostgresServer, create_database, drop_database

pytestmark = pytest.mark.usefixtures("no_leftover_servers")


@dataclass(frozen=True)
class Answer:
    status: int
    deployment_id: str | None
    ms: float
    predictions: list[Any] | None
    error: str | None = None
    """A failed answer's error code and deployment (``code@deployment``), for messages."""


def send(
    url: str,
    bodies: list[dict[str, Any]],
    concurrency: int = 8,
    headers: list[dict[str, str]] | None = None,
) -> list[Answer]:
    """POST every body to the gateway's predict route from ``concurrency`` threads."""
    local = threading.local()

    def one(i: int) -> Answer:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=30, trust_env=False)
        start = time.perf_counter()
        try:
            response = client.post(
                f"{url}/v1/models/{MODEL}/predict",
                json=bodies[i],
                headers=headers[i] if headers else None,
            )
        except httpx.HTTPError:
            return Answer(0, None, (time.perf_counter() - start) * 1000, None)
        ms = (time.perf_counter() - start) * 1000
        data = response.json() if response.headers.get("content-type", "").startswith("app") else {}
        failed = None
        if "error" in data:
            failed = f"{data.get('code')}@{data.get('deployment_id')}"
        elif response.status_code != 200:  # not the gateway's own error document: whose is it?
            failed = f"{response.headers.get('server')}: {response.text[:80]!r}"
        return Answer(
            response.status_code,
            response.headers.get("X-Deployment-Id"),
            ms,
            data.get("predictions"),
            failed,
        )

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(len(bodies))))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with gateway_stack(tmp_path_factory.mktemp("gateway-home")) as built:
        built.start("v1", "1")
        built.start("v2", "2")
        yield built


@pytest.fixture(scope="module")
def gateway(stack: Stack) -> str:
    return stack.gateway()


@pytest.fixture
def ops(gateway: str) -> Iterator[httpx.Client]:
    with admin(gateway) as client:
        yield client


def put(ops: httpx.Client, **table: Any) -> httpx.Response:
    return ops.put(f"/admin/routes/{MODEL}", json=table)


def stats_of(ops: httpx.Client) -> dict[str, Any]:
    return dict(ops.get("/admin/stats").json())


def deployment_stats(ops: httpx.Client, deployment_id: str) -> dict[str, Any]:
    for row in stats_of(ops)["deployments"]:
        if row["deployment_id"] == deployment_id:
            return dict(row["total"])
    return {"requests": 0, "errors": 0, "retried_on_stable": 0}


def shadow_stats(ops: httpx.Client, deployment_id: str) -> dict[str, Any]:
    for row in stats_of(ops)["shadows"]:
        if row["shadow_deployment_id"] == deployment_id:
            return dict(row)
    return {"mirrored": 0, "compared": 0, "agreed": 0, "shadow_errors": 0, "dropped": 0}


def effective(client: GatewayClient, url: str) -> dict[str, float]:
    served = client.verify(MODEL, url)
    return dict(served["effective_weights"]) if served else {}


def bodies(stack: Stack, n: int) -> list[dict[str, Any]]:
    rows = rows_of(stack.models["1"])
    return [{"instances": [rows[i % len(rows)]]} for i in range(n)]


def test_weights_hold_over_2000_requests(stack: Stack, ops: httpx.Client, gateway: str) -> None:
    v1, v2 = stack.deployments["v1"], stack.deployments["v2"]
    assert put(ops, weights={v1: 80, v2: 20}).status_code == 200
    answers = send(gateway, bodies(stack, 2000))
    assert {a.status for a in answers} == {200}
    counts = Counter(a.deployment_id for a in answers)
    # Smooth weighted round-robin gives each deployment its weight in every 100 picks, so the
    # stated tolerance is one request per window of 100, i.e. +/- 20 over 2000 at the very worst.
    assert abs(counts[v2] - 400) <= 20, counts
    assert counts[v1] + counts[v2] == 2000


def test_sticky_keys_stay_put_and_only_the_minimum_moves(
    stack: Stack, ops: httpx.Client, gateway: str
) -> None:
    v1, v2 = stack.deployments["v1"], stack.deployments["v2"]
    assert put(ops, weights={v1: 90, v2: 10}).status_code == 200
    keys = [f"user-{i}" for i in range(300)]
    body = bodies(stack, 1)[0]
    first = send(gateway, [body] * 600, headers=[{"X-Routing-Key": k} for k in keys * 2])
    placed = {k: a.deployment_id for k, a in zip(keys * 2, first, strict=True)}
    again = {k: a.deployment_id for k, a in zip(keys, first[300:], strict=True)}
    assert placed == again  # the same key, the same deployment
    assert put(ops, weights={v1: 70, v2: 30}).status_code == 200
    after = send(gateway, [body] * 300, headers=[{"X-Routing-Key": k} for k in keys])
    moved = [(placed[k], a.deployment_id) for k, a in zip(keys, after, strict=True)]
    moved = [m for m in moved if m[0] != m[1]]
    assert set(moved) <= {(v1, v2)}  # nobody leaves the deployment that grew
    # The minimum is 20% of keys; binomial sd over 300 keys is ~2.3%: allow 4 sd.
    assert 0.20 - 0.10 <= len(moved) / 300 <= 0.20 + 0.10


def test_shadow_share_and_agreement_match_the_known_disagreement(
    stack: Stack, ops: httpx.Client, gateway: str
) -> None:
    # The mirror is a shadow deployment of v2 (the stage rule gives the mirror to no other).
    v1, v2 = stack.deployments["v1"], stack.start("shadow", "2", ModelStage.SHADOW)
    try:
        _compare_shadow(stack, ops, gateway, v1, v2)
    finally:
        assert put(ops, weights={v1: 100}).status_code == 200
        stack.stop("shadow")


def _compare_shadow(stack: Stack, ops: httpx.Client, gateway: str, v1: str, v2: str) -> None:
    m1, m2 = stack.models["1"], stack.models["2"]
    before = shadow_stats(ops, v2)
    assert (
        put(ops, weights={v1: 100}, shadow_deployment_id=v2, shadow_percent=100).status_code == 200
    )
    sent = bodies(stack, 450)  # every held-out row, ten times
    answers = send(gateway, sent)
    assert {a.deployment_id for a in answers} == {v1}  # the shadow never answers a client
    done = wait_for(lambda: shadow_stats(ops, v2)["compared"] - before["compared"] == 450)
    assert done, shadow_stats(ops, v2)
    after = shadow_stats(ops, v2)
    rows = np.asarray([b["instances"][0] for b in sent])
    frame = pd.DataFrame(rows, columns=m1.columns)
    expected_agreed = int((m1.model.predict(frame) == m2.model.predict(frame)).sum())
    assert 0 < expected_agreed < 450, "the two versions must disagree on some rows"
    assert after["agreed"] - before["agreed"] == expected_agreed
    assert after["disagreements"], "a sample of disagreements is kept"
    sample = after["disagreements"][0]
    assert sample["primary"] != sample["shadow"]
    # The request is kept as its hash and shape, never its body (no model opted in).
    assert sample["request"]["shape"] == {
        "type": "dict",
        "keys": ["instances"],
        "instances": 1,
        "width": 4,
    }
    assert "body" not in sample["request"] and len(sample["request"]["sha256"]) == 16

    # Half the traffic mirrored: exactly half, by the error-diffusion counter.
    assert (
        put(ops, weights={v1: 100}, shadow_deployment_id=v2, shadow_percent=50).status_code == 200
    )
    before = shadow_stats(ops, v2)
    send(gateway, bodies(stack, 400))
    assert shadow_stats(ops, v2)["mirrored"] - before["mirrored"] == 200
    assert wait_for(lambda: shadow_stats(ops, v2)["compared"] - before["compared"] == 200)

    # What the gateway stored for the promotion gate equals what it reports.
    source = DbMetricsSource(stack.container.session_factory)
    final = shadow_stats(ops, v2)
    stored = wait_for(lambda: (s := source.shadow_stats(v2)).compared == final["compared"] and s)
    assert stored and stored.agreed == final["agreed"]


def test_a_slow_shadow_does_not_slow_the_client_and_its_latency_gate_refuses_production(
    stack: Stack, ops: httpx.Client, gateway: str
) -> None:
    v1 = stack.deployments["v1"]
    slow = stack.start("slow", "2", ModelStage.SHADOW, DEPLOYER_FAULT_LATENCY_MS="300")
    try:
        assert put(ops, weights={v1: 100}).status_code == 200
        baseline = send(gateway, bodies(stack, 200), concurrency=1)
        assert (
            put(ops, weights={v1: 100}, shadow_deployment_id=slow, shadow_percent=100).status_code
            == 200
        )
        mirrored = send(gateway, bodies(stack, 200), concurrency=1)
        assert {a.status for a in baseline + mirrored} == {200}

        def p95(answers: list[Answer]) -> float:
            return statistics.quantiles([a.ms for a in answers], n=20)[18]

        # The shadow adds 300 ms to every mirrored call; were it on the client's path, every
        # request would take 300 ms more. Compared within this run, not against a fixed time.
        assert p95(mirrored) < p95(baseline) + 150
        assert wait_for(lambda: shadow_stats(ops, slow)["compared"] > 0)
        assert shadow_stats(ops, slow)["shadow_p95_ms"] >= 250
        refused = promote_mirrored_version(stack, slow)
    finally:
        assert put(ops, weights={v1: 100}).status_code == 200
        stack.stop("slow")
        stack.record_stage("2", ModelStage.PRODUCTION)
    # Only the latency gate is unmet (agreement is waived here: v2's outputs differ by design).
    (unmet,) = refused.unmet
    shadow_ms, primary_ms, requests = re.fullmatch(
        r"shadow p95 ([\d.]+) ms is above [\d.]+ ms \(1\.2x the primary's ([\d.]+) ms, "
        r"or 20 ms above it\) over (\d+) mirrored requests",
        unmet,
    ).groups()  # type: ignore[union-attr]
    assert float(shadow_ms) >= 250
    assert float(shadow_ms) > 1.2 * float(primary_ms) and int(requests) >= 20
    assert f"{MODEL} v2 cannot go to production yet: {unmet}" == str(refused)


def promote_mirrored_version(stack: Stack, shadow: str) -> ProductionCriteriaNotMetError:
    """v2 in shadow, mirrored by ``shadow``, asked to production through the agent in process,
    over the figures the real gateway stored: the refusal (nothing else may happen)."""
    with stack.container.uow() as uow:
        uow.deployments.get(shadow).strategy = "shadow"
        uow.commit()
    stack.record_stage("2", ModelStage.SHADOW)
    source = stack.container.metrics
    assert wait_for(lambda: source.shadow_stats(shadow).requests >= 20, timeout=20)
    settings = Settings.model_validate(
        {
            "DEPLOYER_HOME": str(stack.home),
            "DEPLOYER_SHADOW_MIN_HOURS": 0,
            "DEPLOYER_MIN_SHADOW_COMPARISONS": 20,
            "DEPLOYER_MIN_SHADOW_AGREEMENT": 0,
        }
    )
    c = Container(settings)
    try:
        set_criteria(c.uow, MODEL, "2", ["accuracy>=production-1"], {}, "tester")
        with pytest.raises(ProductionCriteriaNotMetError) as refused:
            execute(
                c,
                Promote(model_name=MODEL, version="2", target_stage="production"),
                "tester",
                "cli",
            )
    finally:
        c.close()
    with stack.container.reader() as uow:
        assert uow.models.get(MODEL, "2").stage == ModelStage.SHADOW.value, "nothing moved"
    return refused.value


def test_switching_weights_under_load_loses_nothing(
    stack: Stack, ops: httpx.Client, gateway: str
) -> None:
    v1, v2 = stack.deployments["v1"], stack.deployments["v2"]
    assert put(ops, weights={v1: 100}).status_code == 200
    results: list[Answer] = []
    load = threading.Thread(target=lambda: results.extend(send(gateway, bodies(stack, 1500))))
    load.start()
    with GatewayClient(gateway, TOKEN) as client:
        while load.is_alive():
            switch_gradually(client, MODEL, v1, v2, 25, 0.05)
            switch_gradually(client, MODEL, v2, v1, 50, 0.05)
            # and once straight through the database, as the agent does
            stack.container.router.set_routes(Routes(MODEL, {v1: 50, v2: 50}))
            time.sleep(0.1)
    load.join()
    assert len(results) == 1500
    assert Counter(a.status for a in results) == Counter({200: 1500})
    assert {a.deployment_id for a in results} == {v1, v2}


def test_a_canary_killed_mid_load_is_invisible_to_clients(
    stack: Stack, ops: httpx.Client, gateway: str
) -> None:
    v1 = stack.deployments["v1"]
    canary = stack.start("doomed", "2")
    try:
        assert put(ops, weights={v1: 50, canary: 50}, stable_deployment_id=v1).status_code == 200
        results: list[Answer] = []
        load = threading.Thread(target=lambda: results.extend(send(gateway, bodies(stack, 1200))))
        load.start()
        wait_for(lambda: deployment_stats(ops, canary)["requests"] > 150)
        with stack.container.uow() as uow:
            pid = uow.deployments.get(canary).endpoint_pid
        assert pid is not None
        for proc in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
            proc.send_signal(signal.SIGKILL)
        load.join()
        assert Counter(a.status for a in results) == Counter({200: 1200})
        canary_figures = deployment_stats(ops, canary)
        assert canary_figures["errors"] > 0
        assert canary_figures["retried_on_stable"] == canary_figures["errors"]
    finally:
        assert put(ops, weights={v1: 100}).status_code == 200
        stack.stop("doomed")


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        pytest.param({}, {"weights": {"x": 100}}, 401, id="no-token-is-401"),
        pytest.param(
            {"Authorization": "Bearer nope"}, {"weights": {"x": 100}}, 401, id="bad-token-is-401"
        ),
        pytest.param(
            {"Authorization": "Bearer"}, {"weights": {"x": 100}}, 401, id="a-bare-bearer-is-401"
        ),
        pytest.param(None, {"weights": {"V1": 60, "V2": 30}}, 422, id="weights-not-100-is-422"),
        pytest.param(
            None, {"weights": {"V1": 100}, "actor": "someone-else"}, 422, id="a-body-actor-is-422"
        ),
        pytest.param(
            None,
            {"weights": {"V1": 100}, "shadow_deployment_id": "V2", "shadow_percent": 10},
            409,
            id="a-production-deployment-as-the-mirror-is-409",
        ),
        pytest.param(
            None, {"weights": {"V1": 50, "ghost": 50}}, 422, id="unknown-deployment-is-422"
        ),
        pytest.param(None, {"weights": {"V1": "all"}}, 422, id="a-weight-must-be-a-number"),
        pytest.param(
            None,
            {"weights": {"V1": 100}, "shadow_deployment_id": "V2", "shadow_percent": 150},
            422,
            id="shadow-over-100-is-422",
        ),
        pytest.param(
            None, {"weights": {"V1": 100}, "colour": "red"}, 422, id="unknown-fields-are-422"
        ),
        pytest.param(None, ["V1"], 422, id="a-list-is-not-a-table"),
        pytest.param(None, b"{not json", 422, id="malformed-json-is-422"),
    ],
)
def test_bad_admin_input_is_refused_and_changes_nothing(
    stack: Stack,
    ops: httpx.Client,
    gateway: str,
    headers: dict[str, str] | None,
    body: Any,
    status: int,
) -> None:
    v1, v2 = stack.deployments["v1"], stack.deployments["v2"]
    assert put(ops, weights={v1: 70, v2: 30}).status_code == 200
    before = ops.get(f"/admin/routes/{MODEL}").json()
    stored_before = stack.container.router.get_routes(MODEL)
    raw = (
        json.dumps(body).replace("V1", v1).replace("V2", v2).encode()
        if not isinstance(body, bytes)
        else body
    )
    with httpx.Client(base_url=gateway, trust_env=False) as client:
        response = client.put(
            f"/admin/routes/{MODEL}",
            content=raw,
            headers=headers if headers is not None else {"Authorization": f"Bearer {TOKEN}"},
        )
    assert response.status_code == status
    assert response.json()["error"]
    assert ops.get(f"/admin/routes/{MODEL}").json() == before
    assert stack.container.router.get_routes(MODEL) == stored_before


def test_prediction_errors_are_json(stack: Stack, ops: httpx.Client, gateway: str) -> None:
    """Every refusal is JSON and carries the request's id, as an answer does."""
    v1 = stack.deployments["v1"]
    assert put(ops, weights={v1: 100}).status_code == 200  # whatever ran before
    mine = {"X-Request-Id": "refused-1"}
    with httpx.Client(base_url=gateway, trust_env=False, timeout=10, headers=mine) as client:
        unknown = client.post("/v1/models/nope/predict", json={"instances": [[1, 2, 3, 4]]})
        assert unknown.status_code == 404 and "nope" in unknown.json()["error"]
        bad = client.post(f"/v1/models/{MODEL}/predict", json={"rows": []})
        assert bad.status_code == 422 and bad.json()["error"]
        huge = client.post(f"/v1/models/{MODEL}/predict", content=b"x" * (1024 * 1024 + 10))
        assert huge.status_code == 413 and huge.json()["code"] == "body_too_large"
        nameless = client.post("/v1/models/a%2Fb/predict", json={"instances": [[1, 2, 3, 4]]})
        assert nameless.status_code == 404 and nameless.json()["code"] == "unknown_model"
        refusals = [unknown, bad, huge, nameless]
        assert [r.headers["X-Request-Id"] for r in refusals] == ["refused-1"] * 4
        assert ops.delete(f"/admin/routes/{MODEL}").status_code == 200
        try:
            none_live = client.post(
                f"/v1/models/{MODEL}/predict", json={"instances": [[1, 2, 3, 4]]}
            )
            assert none_live.status_code == 503 and none_live.json()["code"] == "no_live_deployment"
            assert none_live.headers["X-Request-Id"] == "refused-1"
        finally:
            assert put(ops, weights={v1: 100}).status_code == 200


def test_metrics_are_served_as_prometheus_json_and_through_the_client(
    stack: Stack, ops: httpx.Client, gateway: str
) -> None:
    v1 = stack.deployments["v1"]
    assert put(ops, weights={v1: 100}).status_code == 200
    send(gateway, bodies(stack, 50))
    answer = httpx.get(f"{gateway}/metrics", trust_env=False)
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    of_v1 = {"model": MODEL, "deployment_id": v1}
    [requests] = [s for s in families["deployer_gateway_requests"].samples if s.labels == of_v1]
    assert requests.name == "deployer_gateway_requests_total" and requests.value >= 50
    latency = families["deployer_gateway_request_duration_seconds"]
    assert latency.type == "histogram"
    buckets = {
        s.labels["le"]: s.value
        for s in latency.samples
        if s.name.endswith("_bucket")
        and s.labels["model"] == MODEL
        and s.labels["deployment_id"] == v1
    }
    assert len(buckets) > 10 and buckets["+Inf"] == requests.value  # cumulative, all counted
    assert list(buckets.values()) == sorted(buckets.values())
    [revision] = families["deployer_gateway_routing_revision"].samples
    assert revision.labels == {"model": MODEL} and revision.value >= 1
    with GatewayClient(gateway, TOKEN) as client:
        window = client.metrics(v1)
        assert window.request_count >= 50 and window.p95_ms is not None
        assert effective(client, gateway) == {v1: 100.0}
    source = DbMetricsSource(stack.container.session_factory)
    stored = wait_for(lambda: (m := source.metrics(v1)).request_count >= 50 and m)
    assert stored and stored.p95_ms is not None


def test_replicas_on_one_database_serve_the_same_table_within_a_second(
    stack: Stack, ops: httpx.Client, gateway: str
) -> None:
    v1, v2 = stack.deployments["v1"], stack.deployments["v2"]
    second = stack.gateway()
    try:
        assert put(ops, weights={v1: 60, v2: 40}).status_code == 200
        with GatewayClient([gateway, second], TOKEN) as client:
            seen = wait_for(
                lambda: effective(client, second) == {v1: 60.0, v2: 40.0},
                timeout=5,
            )
            assert seen
            stack.container.router.set_routes(Routes(MODEL, {v1: 10, v2: 90}))
            for url in (gateway, second):
                assert wait_for(
                    lambda url=url: effective(client, url) == {v1: 10.0, v2: 90.0},
                    timeout=5,
                )
        answers = send(second, bodies(stack, 100))
        assert Counter(a.deployment_id for a in answers) == Counter({v1: 10, v2: 90})
    finally:
        proc = stack.gateways.pop()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        assert put(ops, weights={v1: 100}).status_code == 200


# -- prediction capture ----------------------------------------------------------------------
# (before the `deployer down` test: it stops this module's gateway)
# The two-gateway capture runs on a PostgreSQL state database of its own whose deployment
# record points at this module's v1 endpoint: real gateways, a real server, a real database,
# without building another bento or starting another server.


@pytest.fixture(scope="module")
def capture_stack(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> Iterator[tuple[Stack, list[str]]]:
    """A home on a fresh PostgreSQL database routing iris v1=100 to this module's v1 server,
    and two gateways on it (their URLs)."""
    name = f"t_capture_{uuid.uuid4().hex[:8]}"
    url = create_database(postgres_server, name)
    home = tmp_path_factory.mktemp("capture-home")
    settings = Settings.model_validate({"DEPLOYER_HOME": str(home), "DEPLOYER_DATABASE_URL": url})
    settings.ensure_home()
    migrate.upgrade(url)
    container = Container(settings)
    pg = Stack(
        home, container, {**stack.env, "DEPLOYER_HOME": str(home), "DEPLOYER_DATABASE_URL": url}
    )
    try:
        v1 = stack.deployments["v1"]
        add_version(container.session_factory, MODEL, "1", ModelStage.PRODUCTION)
        with stack.container.reader() as uow:
            endpoint = uow.deployments.get(v1).endpoint_url
        with container.uow() as uow:
            row = deployment_row(v1, DeploymentStatus.ACTIVE, MODEL, "1", endpoint)
            row.target_stage = ModelStage.PRODUCTION.value
            uow.deployments.add(row)
            uow.commit()
        container.router.set_routes(Routes(MODEL, {v1: 100}))
        pg.deployments["v1"] = v1
        pg.models = stack.models
        yield pg, [pg.gateway(), pg.gateway()]
    finally:
        pg.stop_gateways()
        container.close()
        drop_database(postgres_server, name)


def capture_health(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/healthz", timeout=5, trust_env=False).json()["capture"])


def set_capture(pg: Stack, urls: list[str], percent: float) -> None:
    """Set the percent in the database; wait until both running gateways apply it."""
    set_capture_percent(pg.container, MODEL, percent, "tester")
    for url in urls:
        assert wait_for(
            lambda url=url: capture_health(url)["percents"].get(MODEL, 0.0) == percent, 10
        )


def drained(urls: list[str]) -> bool:
    return all(
        (h := capture_health(u))["waiting"] == 0 and h["written"] == h["queued"] for u in urls
    )


def captured_count(pg: Stack) -> int:
    with read_session(pg.container.session_factory) as session:
        return int(session.scalar(select(func.count()).select_from(PredictionRow)) or 0)


def test_every_prediction_answer_carries_a_request_id(
    stack: Stack, ops: httpx.Client, gateway: str
) -> None:
    assert put(ops, weights={stack.deployments["v1"]: 100}).status_code == 200
    body = {"instances": [rows_of(stack.models["1"])[0]]}
    predict = f"{gateway}/v1/models/{MODEL}/predict"
    with httpx.Client(timeout=30, trust_env=False) as client:
        kept = client.post(predict, json=body, headers={"X-Request-Id": "client-id_1.2:3"})
        assert kept.status_code == 200 and kept.headers["X-Request-Id"] == "client-id_1.2:3"
        for bad in ("x" * 65, "has space", "a/b", ""):
            answer = client.post(predict, json=body, headers={"X-Request-Id": bad})
            assert uuid.UUID(answer.headers["X-Request-Id"]).version == 4
        fresh = {client.post(predict, json=body).headers["X-Request-Id"] for _ in range(3)}
        assert len(fresh) == 3 and all(uuid.UUID(r).version == 4 for r in fresh)
        unknown = client.post(f"{gateway}/v1/models/nobody/predict", json=body)
        assert unknown.status_code == 404 and uuid.UUID(unknown.headers["X-Request-Id"])
    with read_session(stack.container.session_factory) as session:
        assert session.scalar(select(func.count()).select_from(PredictionRow)) == 0  # off


def test_two_gateways_on_one_postgres_capture_every_request_once_with_its_deployment(
    capture_stack: tuple[Stack, list[str]],
) -> None:
    pg, urls = capture_stack
    set_capture(pg, urls, 100.0)
    rows = rows_of(pg.models["1"])
    sent: dict[str, tuple[Any, Any]] = {}
    with httpx.Client(timeout=30, trust_env=False) as client:
        for i in range(120):
            body = {"instances": [rows[i % len(rows)]]}
            headers = {"X-Request-Id": f"c-{i}"} if i % 3 == 0 else {}  # some chosen by clients
            answer = client.post(
                f"{urls[i % 2]}/v1/models/{MODEL}/predict", json=body, headers=headers
            )
            assert answer.status_code == 200
            sent[answer.headers["X-Request-Id"]] = (body, answer.json())
    assert wait_for(lambda: drained(urls), timeout=15)
    with read_session(pg.container.session_factory) as session:
        got = {p.request_id: p for p in captured(session, MODEL)}
    assert set(got) == set(sent) and captured_count(pg) == len(sent)  # none lost, none twice
    v1 = pg.deployments["v1"]
    for rid, (body, answer) in sent.items():
        p = got[rid]
        assert (p.deployment_id, p.version, p.status) == (v1, "1", 200)
        assert p.inputs == body and p.output == answer and p.latency_ms > 0
        assert p.predictions == answer["predictions"]
        assert p.features == [{str(i): v for i, v in enumerate(body["instances"][0])}]
    assert len({p.gateway for p in got.values()}) == 2


def test_a_body_no_database_column_takes_is_captured_without_inputs_and_blocks_nothing(
    capture_stack: tuple[Stack, list[str]],
) -> None:
    pg, urls = capture_stack
    set_capture(pg, urls, 100.0)
    row = json.dumps({"instances": [rows_of(pg.models["1"])[0]]})
    poisons = [row[:-1].encode() + tail for tail in (b', "n": "a\\u0000b"}', b', "x": NaN}')]
    with httpx.Client(timeout=30, trust_env=False) as client:
        ids = []
        for body in [*poisons, row.encode()]:
            answer = client.post(
                f"{urls[0]}/v1/models/{MODEL}/predict",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            ids.append(answer.headers["X-Request-Id"])
    assert wait_for(lambda: drained(urls), timeout=15)
    with read_session(pg.container.session_factory) as session:
        got = {p.request_id: p for p in captured(session, MODEL, limit=10)}
    assert [got[rid].inputs for rid in ids[:2]] == [None, None]
    assert got[ids[2]].inputs == json.loads(row)
    assert all(capture_health(u)["failed_flushes"] == 0 for u in urls)


def test_a_percent_change_applies_without_restart_and_zero_turns_capture_off(
    capture_stack: tuple[Stack, list[str]],
) -> None:
    pg, urls = capture_stack
    body = {"instances": [rows_of(pg.models["1"])[0]]}
    set_capture(pg, urls, 10.0)
    before = captured_count(pg)
    with httpx.Client(timeout=30, trust_env=False) as client:
        for i in range(200):
            assert client.post(f"{urls[i % 2]}/v1/models/{MODEL}/predict", json=body).is_success
    assert wait_for(lambda: drained(urls), timeout=15)
    assert 2 <= captured_count(pg) - before <= 60  # binomial(200, 0.1): 20, sd 4.2
    set_capture(pg, urls, 0.0)
    before = captured_count(pg)
    with httpx.Client(timeout=30, trust_env=False) as client:
        for i in range(20):
            assert client.post(f"{urls[i % 2]}/v1/models/{MODEL}/predict", json=body).is_success
    assert wait_for(lambda: drained(urls), timeout=15) and captured_count(pg) == before


def test_the_capture_export_round_trips_to_parquet(
    capture_stack: tuple[Stack, list[str]], tmp_path: Path
) -> None:
    pg, _ = capture_stack
    path = tmp_path / "iris.parquet"
    result = export_capture(pg.container, MODEL, path, since="1h")
    with read_session(pg.container.session_factory) as session:
        predictions = captured(session, MODEL)
    assert result["requests"] == len(predictions) == result["rows"] > 0
    frame = pd.read_parquet(path)
    assert len(frame) == len(predictions)
    by_id = {p.request_id: p for p in predictions}
    for record in frame.to_dict("records"):
        p = by_id[record["request_id"]]
        assert (record["deployment_id"], record["version"]) == (p.deployment_id, p.version)
        assert json.loads(record["inputs_json"]) == p.inputs
        prediction = json.loads(record["prediction"]) if record["prediction"] else None
        assert prediction == (p.predictions[0] if p.predictions else None)
        if p.inputs is None:  # a body no column takes: the row is kept, without features
            assert pd.isna(record["input.0"])
        else:
            assert [record[f"input.{i}"] for i in range(4)] == p.inputs["instances"][0]


def test_capture_retention_deletes_the_old_rows_only(
    capture_stack: tuple[Stack, list[str]],
) -> None:
    pg, _ = capture_stack
    store = DbCaptureStore(pg.container.session_factory)
    old = PredictionRecord(
        str(uuid.uuid4()),
        MODEL,
        "1",
        pg.deployments["v1"],
        utcnow() - timedelta(days=8),
        1.0,
        200,
        {"instances": [[1.0, 2.0, 3.0, 4.0]]},
        {"predictions": [0]},
        "gw-old",
    )
    assert store.store([old, replace(old, request_id=str(uuid.uuid4()))]) == 2
    kept = captured_count(pg) - 2
    assert store.apply_retention(utcnow(), 7 * 24 * 3600, 100_000) == 2
    assert captured_count(pg) == kept > 0


def test_drift_is_found_on_the_shifted_feature_of_served_traffic_only(
    stack: Stack, ops: httpx.Client, gateway: str
) -> None:
    """Issue 14's drift test on real served traffic: one feature shifted, then too few rows,
    then none (``tests/drift_traffic.py``): the gateway captures every request at 100% and each
    phase is judged over its own window of captured rows; capture is off again after."""
    from tests.drift_traffic import check_phases

    assert put(ops, weights={stack.deployments["v1"]: 100}).status_code == 200
    wait_for(
        lambda: send(gateway, [{"instances": rows_of(stack.models["1"])[:1]}])[0].status == 200
    )

    verdicts = check_phases(stack, send, gateway)
    assert verdicts["shifted"]["drifted_features"] == ["petal_length"]
    assert verdicts["shifted"]["verdict"] == "drift"
    assert verdicts["shifted"]["output_verdict"] == "drift"  # the answers moved too
    assert verdicts["none"]["verdict"] == "no_drift"
    assert verdicts["too_few"]["verdict"] == "inconclusive"
    rows = {name: verdicts[name]["rows"] for name in ("shifted", "too_few", "none")}
    assert rows == {"shifted": 300, "too_few": 50, "none": 300}  # each window: its phase only
    assert verdicts["watch"] == {"rows": 2, "drift_detected": 1}  # the same drift: no repeat
    assert verdicts["chat"].startswith("Yes: iris v1 is drifting (")  # the hour holds all four
    assert "950 captured rows in the last hour" in verdicts["chat"]


def test_feedback_joins_labels_to_the_predictions_the_gateway_captured(
    stack: Stack, ops: httpx.Client, gateway: str
) -> None:
    """The feedback join on real captured rows: 20 one-row requests with the client's request
    ids, captured at 100%; 15 labelled with the served answer, 5 with another class."""
    from agents.handlers.feedback import record_feedback
    from agents.queries.quality import quality_report
    from tests.drift_traffic import captured_count, capturing

    assert put(ops, weights={stack.deployments["v1"]: 100}).status_code == 200
    c, tag = stack.container, uuid.uuid4().hex[:8]
    ids = [f"fb-{tag}-{i}" for i in range(20)]
    bodies = [{"instances": [row]} for row in rows_of(stack.models["1"])[:20]]
    with capturing(c, gateway):
        expected = captured_count(c) + len(bodies)
        answers = send(gateway, bodies, headers=[{"X-Request-Id": r} for r in ids])
        assert all(a.status == 200 for a in answers)
        assert wait_for(lambda: captured_count(c) >= expected, 15)
    served = [float(a.predictions[0]) for a in answers]
    labels = [p if i < 15 else (p + 1) % 3 for i, p in enumerate(served)]
    rows = [(f"item {i}", r, label) for i, (r, label) in enumerate(zip(ids, labels, strict=True))]
    assert record_feedback(c, MODEL, rows, "tester")["added"] == 20
    (v1,) = [d for d in quality_report(c, MODEL, 600)["deployments"] if d["version"] == "1"]
    assert (v1["labelled"], v1["metrics"]["accuracy"]) == (20, 0.75)


def test_deleting_a_canary_over_the_api_routes_its_traffic_away_before_its_server_stops(
    stack: Stack, ops: httpx.Client, gateway: str
) -> None:
    """Seed 002's DELETE on real servers (issue 19): under load through the gateway, the
    canary's share goes back to the stable deployment, the gateway serves that table, and only
    then does the canary's server stop: no request reaches a stopped server (the canary counts
    no error, so none needed a retry on stable) and every client gets its answer."""
    from fastapi.testclient import TestClient

    from agents.entrypoints.api import create_app
    from tests.access_fixtures import issue_tokens_in_process

    v1 = stack.deployments["v1"]
    canary = stack.start("deleted-canary", "2")
    token = issue_tokens_in_process(stack.container, {"dana": "deployer"})["dana"]
    done, results = threading.Event(), []

    def load() -> None:
        while not done.is_set():
            results.extend(send(gateway, bodies(stack, 40), concurrency=2))

    try:
        assert put(ops, weights={v1: 80, canary: 20}, stable_deployment_id=v1).status_code == 200
        sender = threading.Thread(target=load)
        sender.start()
        wait_for(lambda: deployment_stats(ops, canary)["requests"] > 20)
        with TestClient(create_app(stack.container)) as api:
            answer = api.delete(
                f"/v1/deployments/{canary}", headers={"Authorization": f"Bearer {token}"}
            )
        done.set()
        sender.join()
        assert answer.status_code == 200, answer.text
        deleted = answer.json()
        assert (deleted["status"], deleted["service_status"], deleted["alive"]) == (
            "rolled_back",
            "deleted",
            False,
        )
        with stack.container.reader() as uow:
            pid = uow.deployments.get(canary).endpoint_pid
        assert pid is not None and not psutil.pid_exists(pid)
        table = ops.get(f"/admin/routes/{MODEL}").json()
        assert canary not in table["live_deployments"] and table["weights"] == {v1: 100.0}
        figures = deployment_stats(ops, canary)
        assert figures["requests"] > 20 and figures["errors"] == 0, figures
        assert results and Counter(a.status for a in results) == Counter({200: len(results)})
        assert {a.deployment_id for a in results} == {v1, canary}
    finally:
        done.set()
        assert put(ops, weights={v1: 100}).status_code == 200
        # the rollback path demoted v2; the stack's versions all serve users (set-up, as start)
        stack.record_stage("2", ModelStage.PRODUCTION)
        stack.container.registry.set_stage(MODEL, "2", ModelStage.PRODUCTION)
        stack.stop("deleted-canary")


def test_deployer_down_stops_the_gateway_it_started(stack: Stack, tmp_path: Path) -> None:
    # Stops every gateway of the home, the module's too: keep it the module's last test.
    url = stack.gateway()
    proc = stack.gateways[-1]
    from mlops.gateway.runner import running_gateways, stop_gateways

    assert any(g["pid"] == proc.pid for g in running_gateways(stack.container.settings.gateway_dir))
    stop_gateways(stack.container.settings.gateway_dir)
    assert proc.wait(timeout=15) == 0
    stack.gateways.remove(proc)
    assert not any(
        g["pid"] == proc.pid for g in running_gateways(stack.container.settings.gateway_dir)
    )
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{url}/healthz", trust_env=False, timeout=2)
    assert os.path.exists(stack.container.settings.gateway_dir)
