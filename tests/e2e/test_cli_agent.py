"""The agent's commands end to end, as an operator runs them: one home, real MLflow, real
``bentoml serve`` endpoints, a real gateway, and the ``deployer`` CLI in a subprocess per call.

The tests are one story and run in order: an illegal promotion; v1 to production through an
approval; v1 deployed and served; v2 mirrored in shadow, gated on its agreement and approved; v2
as a canary; a rollback under load; deploys killed mid-way and resumed; the model's history.
Endpoints are reused along the story (each ``bentoml serve`` costs seconds). Outcomes are read
back through the CLI where the CLI is the contract, and from the state database, MLflow and the
process table where a test checks what really happened. The module's finaliser runs
``deployer down`` and checks that no server of the home is left.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import psutil
import pytest
from mlflow import MlflowClient

from agents.entrypoints.web.sessions import LOGIN_COOKIE
from agents.settings import local_identity
from mlops.processes import alive, find_by_env, free_port, terminate_tree, tree, wait_http_ok
from mlops.training import TrainedModel, train_and_log
from tests.access_fixtures import api_decide, issue_tokens_in_home, running_api
from tests.browser import BROWSER_MISSING, chromium, live_text, log_in, wait_until
from tests.e2e.cli import Result, run, run_here
from tests.mlflow_template import seed_mlflow_store

MODEL = "iris"
MIRRORED = 60
"""Requests sent through the gateway while v2 is mirrored (one row each)."""


@dataclass
class Home:
    """The story's home: its environment, its trained models, and what earlier tests left."""

    root: Path
    env: dict[str, str]
    models: dict[str, TrainedModel] = field(default_factory=dict)
    seen: dict[str, str] = field(default_factory=dict)
    """Deployment ids by role (``v1``: the one serving v1, ``shadow``, ``canary``)."""
    tokens: dict[str, str] = field(default_factory=dict)
    """API tokens of the other people: bob (approver), mallory (deployer) and vera (viewer).
    The requester is the OS user running the tests, the home's first admin (its token: "me",
    for the dashboard)."""

    def cli(self, *args: str, **extra_env: str) -> Result:
        return run(*args, env={**self.env, **extra_env}, timeout=240)

    def ok(self, *args: str) -> Any:
        """``deployer ARGS --json``, which must exit 0; its JSON document."""
        result = self.cli(*args, "--json")
        assert result.code == 0, f"deployer {' '.join(args)} exited {result.code}: {result.stderr}"
        return result.json()

    def here(self, *args: str) -> Any:
        """``deployer ARGS --json`` in this process (``run_here``: the same command without a
        process's start-up), which must exit 0; its JSON document. For set-up, clean-up and
        reads that are not the test's subject."""
        result = run_here(*args, "--json", env=self.env)
        assert result.code == 0, f"deployer {' '.join(args)} exited {result.code}: {result.stderr}"
        return result.json()

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the state database directly (read-only)."""
        with sqlite3.connect(f"file:{self.root / 'deployer.db'}?mode=ro", uri=True) as db:
            return db.execute(sql, params).fetchall()

    def stages(self) -> dict[str, str]:
        return dict(self.query("SELECT version, stage FROM ml_model_registry"))

    def status_of(self, deployment_id: str) -> str:
        ((status,),) = self.query(
            "SELECT status FROM ml_deployments WHERE deployment_id = ?", deployment_id
        )
        return str(status)

    def weights(self) -> dict[str, float]:
        """The routing table's weights as stored (what every gateway serves within a second)."""
        ((weights,),) = self.query("SELECT weights FROM routes WHERE model_name = ?", MODEL)
        return {k: float(v) for k, v in json.loads(weights).items()}

    def registry(self) -> dict[str, Any]:
        """What MLflow holds: each version's lifecycle tag, and the model's aliases."""
        uri = f"sqlite:///{self.root / 'mlflow.db'}"
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        tags = {v: client.get_model_version(MODEL, v).tags.get("lifecycle") for v in self.models}
        aliases = client.get_registered_model(MODEL).aliases
        return {"tags": tags, "aliases": {a: str(v) for a, v in aliases.items()}}

    def servers(self) -> list[psutil.Process]:
        """Every ``bentoml serve`` process of this home (servers and their workers)."""
        return find_by_env(BENTOML_HOME=str(self.root / "bentoml"))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    """A home with iris v1 and v2 registered (accuracy>=0.8); stopped whole at the end."""
    root = tmp_path_factory.mktemp("agent").resolve() / "home"
    h = Home(
        root,
        {
            "DEPLOYER_HOME": str(root),
            "DEPLOYER_SHADOW_MIN_HOURS": "0",
            "DEPLOYER_MIN_SHADOW_COMPARISONS": "20",
            # A fresh shadow server's first answers are cold (100-200 ms, over a second when
            # both cores are busy: one of 30 mirrored requests took 1,065 ms on CI and failed
            # the promotion): in these few dozen mirrored requests they are its p95, not its
            # steady latency (at the default 1000 comparisons they are under 1%). Latency is
            # not these drills' subject; the latency gate has its own tests.
            "DEPLOYER_SHADOW_LATENCY_SLACK_MS": "60000",
            # The two iris variants disagree on about a third of the rows.
            "DEPLOYER_MIN_SHADOW_AGREEMENT": "0.5",
            "DEPLOYER_WARM_SECONDS": "300",
            "DEPLOYER_GATEWAY_TOKEN": "e2e-admin-token-0123",
            "DEPLOYER_FAILPOINT": "",
            # A deploy killed mid-way holds the model's lock until it expires: ``resume`` waits
            # for that (production: 60 s). 5 s keeps the wait in the drill (holders renew every
            # third of it) without a minute per crash.
            "DEPLOYER_MODEL_LOCK_SECONDS": "5",
        },
    )
    try:
        seed_mlflow_store(root / "mlflow.db")
        init = run_here("init", "--json", env=h.env)  # set-up: its own tests run the process
        assert init.code == 0, init.stderr
        people = {"bob": "approver", "mallory": "deployer", "vera": "viewer"}
        h.tokens = issue_tokens_in_home(h.env, {**people, local_identity(): "admin"})
        h.tokens["me"] = h.tokens.pop(local_identity())
        for version, variant in (("1", 1), ("2", 2)):
            trained = train_and_log(
                f"sqlite:///{root / 'mlflow.db'}",
                "iris",
                variant,
                artifact_root=root / "mlartifacts",
            )
            registered = h.here(  # set-up: test_cli_serving runs `register` as a process
                "register", MODEL, "--model-uri", trained.model_uri, "--criteria", "accuracy>=0.8"
            )
            assert (registered["version"], registered["stage"]) == (version, "development")
            h.models[version] = trained
        yield h
    finally:
        down = run_here("down", "--json", env=h.env)  # clean-up; test_cli_serving runs the process
        left = h.servers()
        terminate_tree(None, extra=left)  # a failed check below must not leak them either
        assert down.code == 0, down.stderr
        assert not left, f"deployer down left these processes of the home: {left}"


@pytest.fixture(scope="module")
def ops_api(home: Home) -> Iterator[str]:
    """``deployer api`` over the home, for the second person: they approve with their token."""
    with running_api(home.env, home.root / "api.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser(home: Home, ops_api: str) -> Iterator[Any]:
    """Headless Chromium for the dashboard on ``deployer api`` (issue 18), shared by the story's
    browser steps; stopped by PID (chromedriver and Chromium, whole trees) at the end."""
    with chromium(home.root.parent / "browser") as driver:
        yield driver


def browser_or_none(request: pytest.FixtureRequest) -> Any:
    """The module's browser, or None where none can run and none is required (the story then
    answers through the API, as before the dashboard)."""
    if BROWSER_MISSING and os.environ.get("DEPLOYER_REQUIRE_BROWSER") != "1":
        return None
    return request.getfixturevalue("browser")


@pytest.fixture(scope="module")
def gateway(home: Home) -> Iterator[str]:
    """``deployer gateway`` on a free port; its URL. Stopped by PID at the end of the module."""
    port = free_port()
    with (home.root / "gateway.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agents.entrypoints.gateway", "--port", str(port)],
            env={**os.environ, **home.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_http_ok(f"{url}/healthz", 60, lambda: proc.poll() is None), "no gateway"
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                terminate_tree(proc.pid)
                proc.wait(timeout=5)


def predict(url: str, rows: list[list[float]]) -> list[httpx.Response]:
    """POST each row alone to the gateway's predict route, one after the other."""
    with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:
        return [
            client.post(f"/v1/models/{MODEL}/predict", json={"instances": [row]}) for row in rows
        ]


def versions(answers: list[httpx.Response]) -> set[tuple[int, str]]:
    return {(a.status_code, a.json().get("model_version")) for a in answers}


def sample_rows(model: TrainedModel, n: int) -> list[list[float]]:
    values = [[float(v) for v in row] for row in model.sample.values]
    return [values[i % len(values)] for i in range(n)]


def processes_of(deployment_id: str) -> set[int]:
    """PIDs of every process that carries the deployment id (its server and workers)."""
    return {p.pid for p in find_by_env(DEPLOYER_DEPLOYMENT_ID=deployment_id)}


# -- the story --------------------------------------------------------------------------------


def test_an_illegal_promotion_exits_2_with_one_line_and_changes_nothing(home: Home) -> None:
    def snapshot() -> tuple[Any, ...]:
        (model,) = home.here("status", MODEL)["models"]
        return (
            {v["version"]: v["stage"] for v in model["versions"]},
            home.registry(),
            home.query("SELECT count(*) FROM audit_events"),
            home.query("SELECT count(*) FROM approvals"),
        )

    before = snapshot()

    result = home.cli("promote", MODEL, "1", "--to", "production", DEPLOYER_DEBUG="")

    assert result.code == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "from development to production" in result.stderr
    assert snapshot() == before
    assert before[0] == {"1": "development", "2": "development"}
    assert before[3] == [(0,)]


def test_production_waits_for_an_approver_who_is_not_the_requester(
    home: Home, ops_api: str
) -> None:
    assert home.ok("promote", MODEL, "1", "--to", "staging")["status"] == "promoted"
    assert home.ok("promote", MODEL, "1", "--to", "shadow")["status"] == "promoted"

    waiting = home.cli("promote", MODEL, "1", "--to", "production", "--json")

    assert waiting.code == 4, waiting.stderr
    asked = waiting.json()
    approval = asked["approval_id"]
    assert asked["status"] == "awaiting_approval"
    assert {v["gate"]: v["status"] for v in asked["verdicts"]}["metric:accuracy"] == "passed"
    # the CLI's own promote goes through the supervisor: the pause is on a system thread
    assert asked["thread_id"].startswith("system-"), asked
    assert home.query("SELECT thread_id FROM approvals") == [(asked["thread_id"],)]
    listed = home.ok("approvals")["approvals"]
    assert [(a["approval_id"], a["state"], a["requested_by"]) for a in listed] == [
        (approval, "pending", local_identity())
    ]

    claimed = home.cli("approve", approval, "--by", "bob")
    assert claimed.code == 2 and "--by is not accepted" in claimed.stderr
    by_requester = home.cli("approve", approval)  # the OS user asked: four eyes refuse
    by_stranger = api_decide(ops_api, home.tokens["mallory"], approval)

    assert by_requester.code == 3, by_requester
    assert "four-eyes" in by_requester.stderr
    assert by_stranger.status_code == 403, by_stranger.text
    assert by_stranger.json()["error"]["message"] == (
        "mallory holds the deployer role; this needs approver or above"
    )
    assert home.query("SELECT state FROM approvals") == [("pending",)]
    assert home.stages()["1"] == "shadow"

    # A second person, as in life: the approver answers through the ops API with their token.
    answered = api_decide(ops_api, home.tokens["bob"], approval, comment="looks good")
    assert answered.status_code == 200, answered.text
    approved = answered.json()

    record = approved["version_record"]
    assert (record["version"], record["from_stage"], record["to_stage"]) == (
        "1",
        "shadow",
        "production",
    )
    assert (record["approval_id"], record["changed_by"]) == (approval, "bob")
    assert home.query("SELECT state, approver FROM approvals") == [("approved", "bob")]
    assert home.registry()["aliases"] == {"production": "1"}


def test_the_first_production_deploy_goes_direct_and_serves_through_the_gateway(
    home: Home, gateway: str
) -> None:
    deployed = home.ok("deploy", MODEL, "1")

    manifest = deployed["deployment_manifest"]
    assert deployed["status"] == "deployed"
    assert (manifest["strategy"], manifest["traffic_percentage"], manifest["status"]) == (
        "direct",
        100.0,
        "active",
    )
    assert home.weights() == {manifest["deployment_id"]: 100.0}
    v1 = home.models["1"]
    answers = predict(gateway, sample_rows(v1, 10))
    assert versions(answers) == {(200, "1")}
    assert [a.json()["predictions"][0] for a in answers] == list(v1.model.predict(v1.sample[:10]))
    home.seen["v1"] = manifest["deployment_id"]


def test_in_a_browser_a_bad_token_gets_the_login_page_and_a_viewer_sees_the_overview(
    home: Home, browser: Any, ops_api: str
) -> None:
    """The dashboard (issue 18) in headless Chromium over the story's ``deployer api``."""
    browser.delete_all_cookies()
    browser.get(f"{ops_api}/ui/")
    assert browser.current_url.endswith("/ui/login")  # no session: the login page
    log_in(browser, ops_api, "not-a-token-anyone-issued")
    error = wait_until(browser, lambda d: d.find_elements("id", "login-error"))
    assert "That token is not valid" in error[0].text
    assert browser.current_url.endswith("/ui/login")
    assert [c["name"] for c in browser.get_cookies()] == [LOGIN_COOKIE]  # the form's, no session

    log_in(browser, ops_api, home.tokens["vera"])
    wait_until(browser, lambda d: d.current_url.endswith("/ui/"))
    (cookie,) = browser.get_cookies()
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/ui")
    assert home.tokens["vera"] not in cookie["value"]
    page = live_text(browser)
    assert "vera (viewer)" in browser.find_element("css selector", "form.who").text
    assert MODEL in page and home.seen["v1"] in page
    bar = browser.find_element("css selector", f"svg[aria-label='traffic split of {MODEL}']")
    assert "v1 stable 100%" in bar.get_attribute("innerHTML")
    assert "Nothing waits for a decision." in page
    browser.get(f"{ops_api}/ui/approvals")
    assert not browser.find_elements("css selector", "button.approve")  # a viewer decides nothing


def test_a_shadow_is_compared_and_its_measured_agreement_is_a_production_gate(
    home: Home, gateway: str, ops_api: str, request: pytest.FixtureRequest
) -> None:
    # set-up: v1's promotions ran the processes (the test above)
    assert home.here("promote", MODEL, "2", "--to", "staging")["status"] == "promoted"
    assert home.here("promote", MODEL, "2", "--to", "shadow")["status"] == "promoted"
    manifest = home.ok("deploy", MODEL, "2")["deployment_manifest"]
    shadow = home.seen["shadow"] = manifest["deployment_id"]
    assert manifest["strategy"] == "shadow"

    v1, v2 = home.models["1"], home.models["2"]
    sent = sample_rows(v1, MIRRORED)
    assert versions(predict(gateway, sent)) == {(200, "1")}, "a shadow serves no user"
    frame = pd.DataFrame(sent, columns=v1.columns)
    agreed = int((v1.model.predict(frame) == v2.model.predict(frame)).sum())
    assert 0 < agreed < MIRRORED, "the two variants must disagree on some rows"

    stats = wait_for_comparisons(home, shadow, MIRRORED)
    assert (stats["compared"], stats["agreed"], stats["shadow_errors"]) == (MIRRORED, agreed, 0)

    # v2 misses its accuracy>=0.8: the gates refuse it before anyone is asked to approve.
    refused = home.cli("promote", MODEL, "2", "--to", "production")
    assert refused.code == 3, refused.stderr
    assert "accuracy" in refused.stderr
    assert home.query("SELECT count(*) FROM approvals WHERE version = '2'") == [(0,)]
    home.ok("criteria", MODEL, "2", "accuracy>=0.6")

    waiting = home.cli("promote", MODEL, "2", "--to", "production", "--json")

    assert waiting.code == 4, waiting.stderr
    verdict = {v["gate"]: v for v in waiting.json()["verdicts"]}["shadow_agreement"]
    assert verdict["status"] == "passed"
    assert (
        f"shadow agreement {agreed / MIRRORED:.1%} over {MIRRORED} requests" in (verdict["message"])
    )
    approval_id = waiting.json()["approval_id"]
    driver = browser_or_none(request)
    if driver is None:
        approved = api_decide(ops_api, home.tokens["bob"], approval_id)
        assert approved.status_code == 200, approved.text
        assert approved.json()["version_record"]["to_stage"] == "production"
    else:  # the dashboard: four eyes refuse the requester's own approve, bob's goes through
        approve_in_browser(driver, ops_api, home, approval_id)
    assert home.query(
        "SELECT state, approver FROM approvals WHERE approval_id = ?", approval_id
    ) == [("approved", "bob")]
    # @production names the approved version; @champion what users get (v1 still serves them)
    # and @challenger the shadow's version (issue 15)
    assert home.registry()["aliases"] == {"production": "2", "champion": "1", "challenger": "2"}


def approve_in_browser(driver: Any, url: str, home: Home, approval_id: str) -> None:
    """The requester (the OS user) clicks Approve on the dashboard and is refused by the
    four-eyes rule, nothing changed; then bob approves with a comment and it is done."""
    card = f"#approval-{approval_id}"
    log_in(driver, url, home.tokens["me"])
    wait_until(driver, lambda d: d.current_url.endswith("/ui/"))
    driver.get(f"{url}/ui/approvals")
    driver.find_element("css selector", f"{card} button.approve").click()
    refusal = wait_until(driver, lambda d: d.find_elements("css selector", ".notice.refused"))
    assert "PermissionDeniedError" in refusal[0].text and "four-eyes" in refusal[0].text
    assert home.query("SELECT state FROM approvals WHERE approval_id = ?", approval_id) == [
        ("pending",)
    ]
    log_in(driver, url, home.tokens["bob"])
    wait_until(driver, lambda d: d.current_url.endswith("/ui/"))
    driver.get(f"{url}/ui/approvals")
    driver.find_element("css selector", f"{card} textarea[name=comment]").send_keys("shadow agrees")
    driver.find_element("css selector", f"{card} button.approve").click()
    done = wait_until(driver, lambda d: d.find_elements("css selector", ".notice.ok"), 240)
    assert "v2 is now in production" in done[0].text


def wait_for_comparisons(home: Home, shadow: str, count: int) -> dict[str, Any]:
    """Wait until the gateway flushed ``count`` outcomes of ``shadow`` (every ~2 s), then return
    what ``deployer traffic stats`` reports of it.

    The wait reads the state database directly: a CLI call every half second would cost a
    process start each and starve the servers of CPU on a 2-core machine."""
    deadline = time.monotonic() + 60
    while True:
        rows = home.query(
            "SELECT figures FROM gateway_stats WHERE kind = 'shadow' AND deployment_id = ?",
            shadow,
        )
        seen = sum(json.loads(f)["compared"] + json.loads(f)["shadow_errors"] for (f,) in rows)
        if seen >= count:
            break
        assert time.monotonic() < deadline, f"the gateway reported only {seen} outcomes"
        time.sleep(0.25)
    (found,) = [
        s
        for s in home.here("traffic", "stats", MODEL)["shadows"]
        if s["shadow_deployment_id"] == shadow
    ]
    return found  # type: ignore[no-any-return]


def test_a_canary_splits_traffic_and_a_new_share_only_changes_the_weights(
    home: Home, gateway: str, ops_api: str, request: pytest.FixtureRequest
) -> None:
    deployed = home.ok("deploy", MODEL, "2", "--strategy", "canary", "--traffic", "20")

    canary = home.seen["canary"] = deployed["deployment_manifest"]["deployment_id"]
    stable = home.seen["v1"]
    table = home.here("traffic", "show", MODEL)
    assert (table["weights"], table["shadow_deployment_id"]) == ({stable: 80.0, canary: 20.0}, None)
    assert not processes_of(home.seen["shadow"]), "v2 serves users now: its mirror is retired"
    answers = predict(gateway, sample_rows(home.models["1"], 50))
    assert versions(answers) == {(200, "1"), (200, "2")}
    served = Counter(a.json()["model_version"] for a in answers)
    assert 5 <= served["2"] <= 15, served  # about a fifth
    servers = processes_of(canary)
    assert servers

    driver = browser_or_none(request)
    if driver is not None:  # the dashboard shows the step change without a reload
        log_in(driver, ops_api, home.tokens["vera"])
        wait_until(driver, lambda d: d.current_url.endswith("/ui/"))
        assert_focus_survives_a_refresh(driver, f"/ui/models/{MODEL}")
        driver.get(f"{ops_api}/ui/models/{MODEL}")
        share = f"td[data-share='{canary}']"
        assert driver.find_element("css selector", share).text == "20%"
        driver.execute_script("window.notReloaded = true")

    widened = home.ok("deploy", MODEL, "2", "--traffic", "50")

    if driver is not None:
        wait_until(driver, lambda d: d.find_element("css selector", share).text == "50%")
        assert driver.execute_script("return window.notReloaded") is True
        assert_split_labels_fit(driver)

    assert widened["status"] == "traffic_updated"
    assert widened["deployment_manifest"]["deployment_id"] == canary
    assert home.weights() == {stable: 50.0, canary: 50.0}
    assert processes_of(canary) == servers, "no new server for a new share"


def assert_focus_survives_a_refresh(driver: Any, href: str) -> None:
    """A keyboard user on a link of the live part keeps the focus when the part is refreshed
    (the page's first refresh, 3 s after it loads, replaces the part: the link must get the
    focus back)."""
    driver.get(driver.current_url)
    driver.execute_script(f"document.querySelector(\"#live a[href='{href}']\").focus()")
    wait_until(driver, lambda d: "updated" in d.find_element("id", "updated").text)
    assert driver.execute_script("return document.activeElement.getAttribute('href')") == href


SEGMENT_WIDTHS = """return Array.from(document.querySelectorAll("svg.split g.segment")).map(
  function (g) {
    var text = g.querySelector("text:not(.legend-label)");
    return [g.querySelector("rect").getBBox().width, text ? text.getBBox().width : 0];
  });"""


def assert_split_labels_fit(driver: Any) -> None:
    """Every label drawn inside the split bar fits its part as Chromium lays the font out."""
    widths = driver.execute_script(SEGMENT_WIDTHS)
    assert widths, "no split bar on the page"
    assert all(label <= part for part, label in widths), widths


def test_a_rollback_switches_back_at_once_and_no_request_fails_meanwhile(
    home: Home, gateway: str, ops_api: str, request: pytest.FixtureRequest
) -> None:
    stable, canary = home.seen["v1"], home.seen["canary"]
    canary_servers = processes_of(canary)
    driver = browser_or_none(request)
    if driver is not None:  # the model's page stays open (vera's, from the canary's step)
        driver.get(f"{ops_api}/ui/models/{MODEL}")
        assert driver.find_element("css selector", f"td[data-status='{canary}']").text == "active"
        driver.execute_script("window.notReloaded = true")
    answers: list[tuple[int, str | None]] = []
    stop = threading.Event()

    def users() -> None:
        with httpx.Client(base_url=gateway, timeout=30, trust_env=False) as client:
            while not stop.is_set():
                try:
                    r = client.post(
                        f"/v1/models/{MODEL}/predict", json={"instances": [[6, 3, 4, 1]]}
                    )
                    answers.append((r.status_code, r.json().get("model_version")))
                except Exception as exc:  # counted as a failure, and the users keep going
                    answers.append((0, repr(exc)))
                time.sleep(0.01)

    sender = threading.Thread(target=users, daemon=True)
    sender.start()
    try:
        rolled = home.ok("rollback", MODEL, "--reason", "drill")
        time.sleep(1.0)  # and a little after the switch
    finally:
        stop.set()
        sender.join(timeout=30)

    assert rolled["status"] == "rolled_back" and rolled["rollback_successful"] is True
    assert (rolled["rollback"]["undo"], rolled["active_deployment_id"]) == ([canary], stable)
    if driver is not None:  # the rollback appears on the open page without a reload
        status = f"td[data-status='{canary}']"
        wait_until(driver, lambda d: d.find_element("css selector", status).text == "rolled_back")
        assert driver.find_element("css selector", f"td[data-share='{canary}']").text == "0%"
        timeline = driver.find_element("css selector", "ol.timeline").text
        assert f"deployment {canary} rolled back" in timeline
        bar = driver.find_element("css selector", f"svg[aria-label='traffic split of {MODEL}']")
        assert "v1 stable 100%" in bar.get_attribute("innerHTML")
        assert driver.execute_script("return window.notReloaded") is True
    assert len(answers) > 20
    assert {status for status, _ in answers} == {200}, Counter(answers)
    assert versions(predict(gateway, [[6, 3, 4, 1]] * 10)) == {(200, "1")}
    assert home.weights() == {stable: 100.0}
    (model,) = home.here("status", MODEL)["models"]
    by_version = {v["version"]: v for v in model["versions"]}
    assert {v: by_version[v]["stage"] for v in by_version} == {
        "1": "production",
        "2": "development",
    }
    statuses = {
        d["deployment_id"]: d["status"] for v in model["versions"] for d in v["deployments"]
    }
    assert (statuses[canary], statuses[stable]) == ("rolled_back", "active")
    assert not any(alive(pid) for pid in canary_servers), "the undone servers are stopped"
    assert home.registry() == {
        "tags": {"1": "production", "2": "development"},
        "aliases": {"production": "1", "champion": "1"},  # the canary's challenger is gone
    }


@pytest.mark.parametrize(
    ("failpoint", "version"),
    [
        # v2 is in development now: it gets an endpoint of its own and no routes.
        ("deploy.endpoint_started", "2"),
        # v1 redeployed straight to 100%: the routing table is written, then the kill.
        ("deploy.routed", "1"),
    ],
)
def test_a_deploy_killed_mid_way_resumes_to_one_live_server_and_resuming_again_is_a_no_op(
    home: Home, gateway: str, failpoint: str, version: str
) -> None:
    thread = f"drill-{failpoint}"
    routed_before = home.weights()

    killed = home.cli(
        "deploy",
        MODEL,
        version,
        "--strategy",
        "direct",
        "--thread",
        thread,
        DEPLOYER_FAILPOINT=failpoint,
    )

    assert killed.code == -signal.SIGKILL, (killed.code, killed.stderr)
    ((deployment_id, status, recorded),) = home.query(
        "SELECT deployment_id, status, endpoint_pid FROM ml_deployments "
        "WHERE status IN ('pending', 'deploying')"
    )
    assert status == "deploying"
    # the CLI's deploy ran through the supervisor: the row names the system thread
    assert home.query(
        f"SELECT thread_id FROM ml_deployments WHERE deployment_id = '{deployment_id}'"
    ) == [(f"system-{thread}",)]
    strays = processes_of(deployment_id)
    assert strays, "the killed run's server outlives it"
    if failpoint == "deploy.endpoint_started":
        assert recorded is None, "the kill came before the PID was recorded"
        assert home.weights() == routed_before
    else:
        assert recorded in strays
        assert home.weights() == {deployment_id: 100.0}

    resumed = home.ok("resume", thread)

    manifest = resumed["deployment_manifest"]
    assert (resumed["status"], manifest["deployment_id"], manifest["status"]) == (
        "deployed",
        deployment_id,
        "active",
    )
    server = one_server(home, deployment_id)
    if failpoint == "deploy.endpoint_started":
        assert not any(alive(pid) for pid in strays), "the unrecorded server was stopped"
        assert home.weights() == routed_before
    else:
        assert server == recorded, "the recorded server was kept"
        assert home.weights() == {deployment_id: 100.0}
        assert home.status_of(home.seen["v1"]) == "draining"
        home.seen["v1"] = deployment_id
    for routed in home.weights():
        assert home.status_of(routed) in ("active", "draining")
        assert processes_of(routed), f"{routed} is routed but has no server"
    assert versions(predict(gateway, [[5.9, 3.0, 5.1, 1.8]] * 5)) == {(200, "1")}
    audit = home.query("SELECT count(*) FROM audit_events")

    again = home.here("resume", thread)  # the command's process ran above; no-op in this one

    assert again["deployment_manifest"] == manifest
    assert one_server(home, deployment_id) == server
    assert home.query("SELECT count(*) FROM audit_events") == audit, "nothing ran again"


def one_server(home: Home, deployment_id: str) -> int:
    """The recorded PID of an active deployment, checking that every process carrying its id
    belongs to that server's tree (no stray server beside it)."""
    ((status, pid),) = home.query(
        "SELECT status, endpoint_pid FROM ml_deployments WHERE deployment_id = ?", deployment_id
    )
    assert status == "active"
    assert alive(pid)
    assert processes_of(deployment_id) <= {p.pid for p in tree(pid)}
    return int(pid)


def test_history_lists_the_promotions_their_approvals_and_the_rollback(home: Home) -> None:
    result = home.cli("history", MODEL, "--json")
    if "No such command" in result.stderr:
        pytest.skip("deployer history is not there yet")

    assert result.code == 0, result.stderr
    events = result.json()["events"]
    moves = {(e["version"], e["from_stage"], e["to_stage"]) for e in events if e["kind"] == "stage"}
    assert {
        ("1", "development", "staging"),
        ("1", "staging", "shadow"),
        ("1", "shadow", "production"),
        ("2", "shadow", "production"),
        ("2", "production", "development"),
    } <= moves
    approved = {e["version"] for e in events if e["kind"] == "stage" and e["approval_id"]}
    assert approved == {"1", "2"}
    assert home.seen["canary"] in {e["deployment_id"] for e in events if e["kind"] == "rollback"}
    (undone,) = [e for e in events if e["kind"] == "stage" and e["from_stage"] == "production"]
    assert undone["reason"] == "rolled back: drill"
