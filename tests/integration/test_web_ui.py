"""The web dashboard (``/ui``) in process: FastAPI's TestClient over the real ops API app, a
real SQLite home, the real MLflow registry and the agent's graph (issue 18).

One home serves the module; each test logs in afresh (a client of its own) and works on a model
name of its own. Refusals are checked to change nothing by comparing the state database before
and after.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agents.bootstrap import Container, bootstrap
from agents.entrypoints.api import create_app
from agents.entrypoints.web.sessions import COOKIE, LOGIN_COOKIE, SessionStore
from agents.handlers import access
from agents.settings import Settings, local_identity
from database import migrate
from database.models import GatewayStatsRow, HealthCheckRow
from database.models_drift import DriftCheckRow
from database.models_ui import UiSessionRow
from database.ui_sessions import UiSessionRepository, session_hash
from lifecycle.ports import Routes
from lifecycle.records import utcnow
from lifecycle.stages import DeploymentStatus, ModelStage
from mlops.training import train_and_log
from tests.access_fixtures import issue_tokens_in_process
from tests.integration.db_helpers import add_version, deployment_row
from tests.mlflow_template import seed_mlflow_store
from tests.schema_template import migrated
from tests.web_login import login_form_csrf, ui_login

ROLES = {"vera": "viewer", "dan": "deployer", "alice": "approver", "bob": "approver"}
TOKENS: dict[str, str] = {}
SCRIPT = "<script>alert(1)</script>"
_names = itertools.count(1)


@dataclass
class Home:
    home: Path
    container: Container
    app: Any
    model_uri: str

    def client(self, user: str | None = None) -> TestClient:
        """A browser of its own; logged in as ``user`` when one is named."""
        client = TestClient(self.app, follow_redirects=False)
        if user is not None:
            answer = ui_login(client, TOKENS[user])
            assert answer.status_code == 303, answer.text
        return client

    def api(self, method: str, path: str, user: str, **kwargs: Any) -> Any:
        with TestClient(self.app) as client:
            headers = {"Authorization": f"Bearer {TOKENS[user]}"}
            return client.request(method, path, headers=headers, **kwargs)

    def new_model(self) -> str:
        name = f"web_{next(_names)}"
        body = {"model_uri": self.model_uri, "criteria": ["accuracy>=0.5"]}
        answer = self.api("POST", f"/v1/models/{name}/versions", "dan", json=body)
        assert answer.status_code == 201, answer.text
        return name

    def waiting_promotion(self, requester: str = "alice", reason: str = "ready") -> tuple[str, str]:
        """A model whose v1 waits for approval to production, asked by ``requester``."""
        name = self.new_model()
        for stage in ("staging", "shadow"):
            moved = self.api(
                "POST",
                f"/v1/models/{name}/versions/1/promote?wait=true",
                "dan",
                json={"to_stage": stage},
            )
            assert moved.status_code == 200, moved.text
        body = {"to_stage": "production", "reason": reason}
        promote = f"/v1/models/{name}/versions/1/promote?wait=true"
        waiting = self.api("POST", promote, requester, json=body)
        assert waiting.status_code == 202, waiting.text
        return name, waiting.json()["approval_id"]

    def canary(self) -> tuple[str, str, str]:
        """A model whose v1 serves 90% and v2 is a 10% canary (records, no servers), judged
        three times by the monitor (its rows as the monitor writes them)."""
        name = f"canary_{next(_names)}"
        factory = self.container.session_factory
        for version in ("1", "2"):
            add_version(factory, name, version, ModelStage.PRODUCTION)
        stable, canary = f"{name}-stable", f"{name}-canary"
        with self.container.uow() as uow:
            for dep, version, strategy in ((stable, "1", "direct"), (canary, "2", "canary")):
                row = deployment_row(dep, DeploymentStatus.ACTIVE, name, version)
                row.strategy, row.target_stage = strategy, ModelStage.PRODUCTION.value
                uow.deployments.add(row)
            start = utcnow() - timedelta(minutes=3)
            for i in range(3):
                uow.session.add(
                    HealthCheckRow(
                        deployment_id=canary,
                        model_name=name,
                        checked_at=start + timedelta(minutes=i),
                        status="passed",
                        action="wait" if i < 2 else "advance",
                        message=f"step {i}: canary within limits",
                        tick_id=f"tick-{name}-{i}",
                        metrics={
                            "candidate": _side(12.0 + i, 0.01 * i),
                            "baseline": _side(10.0, 0.0),
                            "config": {},
                            "verdicts": [],
                        },
                    )
                )
            uow.commit()
        routes = Routes(name, {stable: 90, canary: 10}, stable_deployment_id=stable)
        self.container.router.save(routes, "test")
        return name, stable, canary

    def snapshot(self) -> dict[str, Any]:
        tables = {
            "ml_model_registry": "model_version_id, stage",
            "ml_deployments": "deployment_id, status, traffic_percentage",
            "approvals": "approval_id, state, approver",
            "audit_events": "id, hash",
            "routes": "model_name, weights, revision",
        }
        uri = f"file:{self.home / 'deployer.db'}?mode=ro"
        with sqlite3.connect(uri, uri=True) as db:
            return {
                t: db.execute(f"SELECT {cols} FROM {t} ORDER BY 1").fetchall()
                for t, cols in tables.items()
            }


def _side(p95: float, error_rate: float) -> dict[str, float]:
    return {
        "requests": 100,
        "errors": int(error_rate * 100),
        "error_rate": error_rate,
        "p50_ms": p95 / 2,
        "p95_ms": p95,
        "p99_ms": p95 * 1.5,
    }


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    home = tmp_path_factory.mktemp("web").resolve() / "home"
    settings = Settings(
        DEPLOYER_HOME=str(home),
        DEPLOYER_DATABASE_URL=f"sqlite:///{home / 'deployer.db'}",
        DEPLOYER_SHADOW_MIN_HOURS="0",
        DEPLOYER_GATEWAY_TOKEN="web-test-gateway-token",
    )
    settings.ensure_home()
    seed_mlflow_store(settings.tracking_uri)
    migrate.upgrade(settings.database_url)
    container = bootstrap(settings)
    TOKENS.update(issue_tokens_in_process(container, ROLES))
    trained = train_and_log(settings.tracking_uri, artifact_root=settings.artifact_root)
    app = create_app(container)
    with TestClient(app):
        yield Home(home, container, app, trained.model_uri)
    container.close()


@pytest.fixture(scope="module")
def waiting(ui: Home) -> tuple[str, str]:
    """One promotion waiting for approval, asked by dan (a deployer) with a reason that is
    markup, for the tests that only look at it or are refused (none of them decides it)."""
    return ui.waiting_promotion(requester="dan", reason=SCRIPT)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


# -- login and sessions ---------------------------------------------------------------------------


def session_cookies(answer: Any) -> list[str]:
    """The ``Set-Cookie`` headers of an answer that set the session cookie."""
    return [c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}=")]


def test_a_bad_token_gets_the_login_page_with_an_error_and_no_cookie(ui: Home) -> None:
    client = ui.client()
    answer = ui_login(client, "not-a-token-anyone-issued")
    assert answer.status_code == 401
    assert "That token is not valid" in answer.text
    assert 'name="token"' in answer.text
    assert not session_cookies(answer)
    assert client.get("/ui/").status_code == 303  # still not logged in


def test_a_login_without_its_form_s_csrf_token_is_refused_and_opens_no_session(
    ui: Home,
) -> None:
    """Login CSRF: a login posted from another site (no nonce cookie, or a field that is not
    the nonce's) opens no session, even with a good token."""
    client = ui.client()
    with ui.container.reader() as uow:
        before = UiSessionRepository(uow.session).count()
    bare = client.post("/ui/login", data={"token": TOKENS["vera"]})
    forged = client.post("/ui/login", data={"token": TOKENS["vera"], "csrf": "forged"})
    form = login_form_csrf(client)
    client.cookies.delete(LOGIN_COOKIE, path="/ui/login")  # a form lifted from our page alone
    lifted = client.post("/ui/login", data={"token": TOKENS["vera"], "csrf": form})
    for answer in (bare, forged, lifted):
        assert answer.status_code == 403
        assert "The login form was stale or came from another site" in answer.text
        assert not session_cookies(answer)
    assert client.get("/ui/").status_code == 303
    with ui.container.reader() as uow:
        assert UiSessionRepository(uow.session).count() == before


def test_a_good_token_opens_an_http_only_strict_session_that_holds_no_token(ui: Home) -> None:
    client = ui.client()
    answer = ui_login(client, TOKENS["vera"])
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/"
    (cookie,) = session_cookies(answer)
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/ui"} <= flags
    assert TOKENS["vera"] not in cookie
    page = client.get("/ui/")
    assert page.status_code == 200
    assert "vera" in page.text and "(viewer)" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_pages_without_a_session_go_to_login_and_a_fragment_is_401(ui: Home) -> None:
    client = ui.client()
    for path in ("/ui/", "/ui/approvals", "/ui/audit", "/ui/models/anything"):
        answer = client.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/ui/login"), path
    assert client.get("/ui/?fragment=1").status_code == 401
    client.cookies.set(COOKIE, "made-up-session-id", path="/ui")
    assert client.get("/ui/").status_code == 303
    # the API's bearer routes are unchanged: a session cookie is no bearer token
    assert client.get("/v1/status").status_code == 401


def test_logout_ends_the_session_and_a_revoked_token_ends_it_too(ui: Home) -> None:
    client = ui.client("vera")
    page = client.get("/ui/")
    assert client.post("/ui/logout", data={"csrf": csrf_of(page.text)}).status_code == 303
    assert client.get("/ui/").status_code == 303

    made = access.create_token(ui.container, local_identity(), "vera")
    other = TestClient(ui.app, follow_redirects=False)
    assert ui_login(other, made["token"]).status_code == 303
    assert other.get("/ui/").status_code == 200
    access.revoke_token(ui.container, local_identity(), made["token_id"])
    assert other.get("/ui/").status_code == 303  # the next request already knows


def _replica(settings: Settings) -> tuple[Container, TestClient]:
    """One more API process over the same state database: its own container and app."""
    container = bootstrap(settings)
    return container, TestClient(create_app(container), follow_redirects=False)


def test_a_session_outlives_an_api_restart_and_is_shared_by_replicas_until_it_ends(
    database_url: str, tmp_path: Path
) -> None:
    """Sessions live in the state database (``ui_sessions``): a restarted API and another
    replica over the same database know a session; a logout on one ends it on all; an expired
    session is refused and dropped at the next login. Rows keep hashes, never ids or tokens."""
    home = tmp_path / "home"
    settings = Settings(
        DEPLOYER_HOME=str(home),
        DEPLOYER_DATABASE_URL=database_url,
        DEPLOYER_GATEWAY_TOKEN="web-test-gateway-token",
    )
    settings.ensure_home()
    migrated(database_url)
    first, browser = _replica(settings)
    tokens = issue_tokens_in_process(first, {"vera": "viewer"})
    assert ui_login(browser, tokens["vera"]).status_code == 303
    cookie = browser.cookies[COOKIE]
    assert browser.get("/ui/audit").status_code == 200
    first.close()  # the API stops: nothing of the session was in its memory

    restarted, again = _replica(settings)
    replica, other = _replica(settings)
    try:
        for client in (again, other):
            client.cookies.set(COOKIE, cookie, path="/ui")
            page = client.get("/ui/audit")
            assert page.status_code == 200, page.text
            assert "vera (viewer)" in page.text.replace('<span class="role">', "")
        with restarted.reader() as uow:
            (row,) = uow.session.scalars(select(UiSessionRow)).all()
            token_row = uow.access.tokens("vera")[0]
        assert row.session_sha256 == session_hash(cookie) != cookie
        assert row.token_id == token_row.token_id
        assert tokens["vera"] not in repr(row.__dict__)

        csrf = csrf_of(other.get("/ui/audit").text)
        assert other.post("/ui/logout", data={"csrf": csrf}).status_code == 303
        assert again.get("/ui/audit").status_code == 303  # ended on the other replica too

        stale = SessionStore(restarted, 60).open(tokens["vera"], utcnow() - timedelta(hours=1))
        assert stale is not None
        again.cookies.set(COOKIE, stale.session_id, path="/ui")
        assert again.get("/ui/audit").status_code == 303
        other.cookies.clear()
        assert ui_login(other, tokens["vera"]).status_code == 303  # drops the expired row
        with restarted.reader() as uow:
            hashes = set(uow.session.scalars(select(UiSessionRow.session_sha256)))
        assert hashes == {session_hash(other.cookies[COOKIE])}
    finally:
        restarted.close()
        replica.close()


# -- pages ---------------------------------------------------------------------------------------


def test_the_overview_shows_each_model_its_split_health_and_open_approvals(
    ui: Home, waiting: tuple[str, str]
) -> None:
    name, _stable, _canary = ui.canary()
    page = ui.client("vera").get("/ui/")
    assert page.status_code == 200
    assert f'href="/ui/models/{name}"' in page.text
    bar = svgs(page.text)[f"traffic split of {name}"]
    labels = {g.get("data-label") for g in bar.iter(f"{SVG}g")}
    assert labels == {"v1 stable", "v2 canary"}
    assert "v1 stable 90%" in ET.tostring(bar, encoding="unicode")
    assert f"{waiting[0]} v1 → production (asked by dan)" in page.text
    assert "✗ down" in page.text  # a verdict in words beside its colour (no server runs)


def test_the_model_page_charts_canary_against_stable_as_well_formed_svg(ui: Home) -> None:
    name, stable, canary = ui.canary()
    page = ui.client("vera").get(f"/ui/models/{name}")
    assert page.status_code == 200, page.text
    charts = svgs(page.text)
    for title in ("p50", "p95", "p99"):
        chart = charts[f"{title} latency: canary {canary} vs stable"]
        series = {
            g.get("data-label"): g for g in chart.iter(f"{SVG}g") if g.get("class") == "series"
        }
        assert set(series) == {f"stable {title}", f"canary {title}"}
        lines = {label: g.find(f"{SVG}polyline") for label, g in series.items()}
        assert all(len(line.get("points", "").split()) == 3 for line in lines.values())
        dashes = {line.get("stroke-dasharray") for line in lines.values()}
        assert len(dashes) == 2  # told apart by the dash pattern, not colour alone
        legend = ET.tostring(chart, encoding="unicode")
        assert f"stable {title}" in legend and f"canary {title}" in legend
    errors = charts[f"error rate: canary {canary} vs stable"]
    assert len([g for g in errors.iter(f"{SVG}g") if g.get("class") == "series"]) == 2
    assert "step 2: canary within limits" in page.text
    assert "No shadow comparisons yet" in page.text  # a line, not an empty chart
    assert stable in page.text and "v1 stable 90%" in page.text


def test_the_model_page_shows_shadow_agreement_with_its_samples_and_drift_per_feature(
    ui: Home,
) -> None:
    name, _stable, _canary = ui.canary()
    shadow = f"{name}-shadow"
    sample = {"request_sha256": "9f86d081884c7d65", "bytes": 42, "primary": [1], "shadow": [SCRIPT]}
    now = utcnow()
    with ui.container.uow() as uow:
        for i, agreed in enumerate((50, 45)):
            uow.session.add(
                HealthCheckRow(
                    deployment_id=shadow,
                    model_name=name,
                    checked_at=now - timedelta(seconds=60 - 30 * i),
                    status="inconclusive",
                    action="observe",
                    message="comparing",
                    tick_id=f"tick-{shadow}-{i}",
                    metrics={"compared": 50 * (i + 1), "agreed": agreed, "agreement": agreed / 50},
                )
            )
        uow.session.add(
            GatewayStatsRow(
                gateway_id="gw-1",
                kind="shadow",
                deployment_id=shadow,
                model_name=name,
                figures={"compared": 100, "agreed": 95, "disagreements": [sample]},
            )
        )
        column = {"name": "petal_width", "statistic": 0.41, "p_value": 0.0007, "psi": 0.3}
        column.update(adjusted_p_value=0.0028, verdict="drift", reason="p and PSI both past")
        small = {"name": "sepal_length", "statistic": 1340.0, "p_value": 0.000071234, "psi": 0.0}
        small.update(adjusted_p_value=3e-9, verdict="no_drift", reason="")
        uow.session.add(
            DriftCheckRow(
                model_name=name,
                version="1",
                deployment_id=_stable,
                checked_at=now,
                checked_by="watch",
                window_seconds=3600.0,
                verdict="drift",
                drifted=["petal_width"],
                current_rows=500,
                reference_rows=150,
                columns=[column, small],
                summary="petal_width drifted",
            )
        )
        uow.commit()
    page = ui.client("vera").get(f"/ui/models/{name}")
    assert page.status_code == 200
    chart = svgs(page.text)[f"shadow {shadow}: agreement with production"]
    (line,) = [g for g in chart.iter(f"{SVG}g") if g.get("class") == "series"]
    assert len(line.find(f"{SVG}polyline").get("points", "").split()) == 2  # type: ignore[union-attr]
    assert "9f86d081884c7d65" in page.text and SCRIPT not in page.text
    assert re.search(r"<td>petal_width</td><td[^>]*>0.41</td><td[^>]*>0.0007</td>", page.text)
    assert re.search(
        r"<td>sepal_length</td><td[^>]*>1,340</td><td[^>]*>0.0000712</td><td[^>]*>&lt;0.000001<",
        page.text,
    )
    assert not re.search(r">[^<]*\de[+-]\d", page.text)  # no figure in e-notation
    assert "⚠ drift" in page.text


def test_the_audit_page_verifies_the_chain_and_lists_recent_events(
    ui: Home, waiting: tuple[str, str]
) -> None:
    page = ui.client("vera").get("/ui/audit")
    assert page.status_code == 200
    assert "intact" in page.text
    assert f"<td>dan</td><td>approval_requested</td><td>{waiting[0]}/1</td>" in page.text


def test_an_unknown_model_is_a_404_page_not_a_traceback(ui: Home) -> None:
    page = ui.client("vera").get("/ui/models/no_such_model")
    assert page.status_code == 404
    assert "no model named" in page.text


def test_user_text_is_escaped_everywhere_it_is_shown(ui: Home, waiting: tuple[str, str]) -> None:
    name, _approval_id = waiting
    client = ui.client("vera")
    for path in ("/ui/approvals", f"/ui/models/{name}", "/ui/audit"):
        page = client.get(path)
        assert page.status_code == 200
        assert SCRIPT not in page.text, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get("/ui/approvals").text


def test_the_live_fragment_is_the_page_s_changing_part_and_follows_the_database(ui: Home) -> None:
    name, stable, canary = ui.canary()
    client = ui.client("vera")
    page = client.get(f"/ui/models/{name}")
    assert f'data-live="/ui/models/{name}?fragment=1"' in page.text
    before = client.get(f"/ui/models/{name}?fragment=1")
    assert before.status_code == 200
    assert "<html" not in before.text and "<nav" not in before.text
    assert f'data-share="{canary}">10%' in before.text
    routes = Routes(name, {stable: 70, canary: 30}, stable_deployment_id=stable)
    ui.container.router.save(routes, "test")
    after = client.get(f"/ui/models/{name}?fragment=1").text
    assert f'data-share="{canary}">30%' in after


# -- actions and roles -------------------------------------------------------------------------


def test_each_role_sees_the_buttons_it_may_use(ui: Home, waiting: tuple[str, str]) -> None:
    name, approval_id = waiting
    approve = f'action="/ui/approvals/{approval_id}/approve"'
    reject = f'action="/ui/approvals/{approval_id}/reject"'
    rollback = f'action="/ui/models/{name}/rollback"'
    seen = {}
    for user in ("vera", "dan", "bob"):
        client = ui.client(user)
        html = client.get("/ui/approvals").text + client.get(f"/ui/models/{name}").text
        seen[user] = (approve in html, reject in html, rollback in html)
    assert seen == {
        "vera": (False, False, False),
        "dan": (False, True, True),  # withdraws their own request; rolls back
        "bob": (True, True, True),
    }


def test_a_post_without_the_session_s_csrf_token_is_refused_and_changes_nothing(
    ui: Home, waiting: tuple[str, str]
) -> None:
    _name, approval_id = waiting
    client = ui.client("bob")
    before = ui.snapshot()
    for csrf in ("", "forged"):
        answer = client.post(f"/ui/approvals/{approval_id}/approve", data={"csrf": csrf})
        assert answer.status_code == 403
        assert "try again" in answer.text
    assert ui.snapshot() == before


def test_a_viewer_s_post_is_refused_with_the_typed_error_and_changes_nothing(
    ui: Home, waiting: tuple[str, str]
) -> None:
    name, approval_id = waiting
    client = ui.client("vera")
    csrf = csrf_of(client.get("/ui/approvals").text)
    before = ui.snapshot()
    answer = client.post(f"/ui/approvals/{approval_id}/approve", data={"csrf": csrf})
    assert answer.status_code == 403
    assert (
        "vera holds the viewer role in tenant &#39;default&#39;; this needs approver" in answer.text
    )
    refused = client.post(f"/ui/models/{name}/rollback", data={"csrf": csrf, "reason": "x"})
    assert refused.status_code == 403
    assert ui.snapshot() == before


def test_the_requester_cannot_approve_their_own_but_another_approver_really_does(
    ui: Home,
) -> None:
    name, approval_id = ui.waiting_promotion(requester="alice")
    alice = ui.client("alice")
    csrf = csrf_of(alice.get("/ui/approvals").text)
    before = ui.snapshot()
    own = alice.post(f"/ui/approvals/{approval_id}/approve", data={"csrf": csrf})
    assert own.status_code == 403
    assert "PermissionDeniedError" in own.text and "four-eyes" in own.text
    assert ui.snapshot() == before

    bob = ui.client("bob")
    csrf = csrf_of(bob.get("/ui/approvals").text)
    done = bob.post(
        f"/ui/approvals/{approval_id}/approve", data={"csrf": csrf, "comment": "ship it"}
    )
    assert done.status_code == 200, done.text
    assert "is now in production" in done.text
    assert ui.container.registry.get_version(name, "1").stage.value == "production"
    with ui.container.reader() as uow:
        row = uow.approvals.get(approval_id)
        assert (row.state, row.approver, row.comment) == ("approved", "bob", "ship it")
        assert uow.audit.list()[-1].actor == "bob"


def test_a_rollback_needs_a_reason_and_goes_through_the_agent_s_refusals(
    ui: Home, waiting: tuple[str, str]
) -> None:
    name = waiting[0]  # in shadow: no production deployment to go back to
    dan = ui.client("dan")
    csrf = csrf_of(dan.get(f"/ui/models/{name}").text)
    before = ui.snapshot()
    silent = dan.post(f"/ui/models/{name}/rollback", data={"csrf": csrf, "reason": " "})
    assert silent.status_code == 422
    assert "say why you roll back" in silent.text
    nothing = dan.post(f"/ui/models/{name}/rollback", data={"csrf": csrf, "reason": "bad"})
    assert nothing.status_code == 409, nothing.text
    assert "Refused" in nothing.text
    assert ui.snapshot() == before


SVG = "{http://www.w3.org/2000/svg}"


def svgs(html: str) -> dict[str, ET.Element]:
    """Every inline SVG of a page, parsed (so each is well-formed XML), by its title."""
    found = {}
    for text in re.findall(r"<svg .*?</svg>", html, flags=re.S):
        root = ET.fromstring(text)
        title = root.find(f"{SVG}title")
        assert title is not None and title.text
        found[title.text] = root
    return found
