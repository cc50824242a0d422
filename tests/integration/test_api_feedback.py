"""``POST /v1/models/{name}/feedback`` and ``GET /v1/models/{name}/quality`` over a real SQLite
home: deployers send labels, viewers read quality, and every refusal changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from agents.bootstrap import Container, bootstrap
from agents.entrypoints.api import create_app
from agents.settings import Settings
from database.models import AuditEventRow
from database.models_feedback import FeedbackRow
from database.models_watch import PredictionRow
from lifecycle.records import utcnow
from tests.access_fixtures import issue_tokens_in_process
from tests.integration.db_helpers import add_version
from tests.remote_in_process import remote_cli
from tests.schema_template import migrated

ROLES = {"vera": "viewer", "dan": "deployer"}
IDS = [f"req-{n:04d}" for n in range(12)]


class Api:
    def __init__(self, container: Container, client: TestClient, tokens: dict[str, str]) -> None:
        self.container, self.client, self.tokens = container, client, tokens

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def written(self) -> tuple[Any, ...]:
        """Every label and the audit event count."""
        with self.container.reader() as uow:
            labels = uow.session.execute(select(FeedbackRow.request_id, FeedbackRow.label)).all()
            events = uow.session.scalar(select(func.count()).select_from(AuditEventRow))
        return tuple(sorted(tuple(r) for r in labels)), events


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """iris v1 (approved at accuracy 0.93) with twelve captured answers of class 1."""
    home = tmp_path_factory.mktemp("feedback-api").resolve() / "home"
    settings = Settings(
        DEPLOYER_HOME=str(home),
        DEPLOYER_DATABASE_URL=f"sqlite:///{home / 'deployer.db'}",
        DEPLOYER_QUALITY_MIN_LABELLED="10",
    )
    settings.ensure_home()
    migrated(settings.database_url)
    container = bootstrap(settings)
    tokens = issue_tokens_in_process(container, ROLES)
    add_version(container.session_factory, "iris", "1")
    with container.uow() as uow:
        uow.session.add_all(
            PredictionRow(
                request_id=rid,
                model_name="iris",
                version="1",
                deployment_id="iris-v1-aaaa",
                captured_at=utcnow(),
                latency_ms=2.0,
                status=200,
                inputs={"inputs": [[1.0, 2.0, 3.0, 4.0]]},
                output={"predictions": [1]},
            )
            for rid in IDS
        )
        uow.commit()
    with TestClient(create_app(container)) as client:
        yield Api(container, client, tokens)
    container.close()


def post(api: Api, body: Any, user: str | None = "dan", **params: Any) -> Any:
    headers = api.auth(user) if user else {}
    return api.client.post("/v1/models/iris/feedback", json=body, headers=headers, params=params)


def test_a_viewer_cannot_send_feedback_and_nothing_is_written(api: Api) -> None:
    before = api.written()
    answer = post(api, {"request_id": IDS[0], "label": 1}, user="vera")
    assert answer.status_code == 403, answer.text
    assert "vera holds the viewer role; this needs deployer" in answer.json()["error"]["message"]
    assert post(api, {"request_id": IDS[0], "label": 1}, user=None).status_code == 401
    assert api.written() == before


@pytest.mark.parametrize(
    "body",
    [
        [{"request_id": IDS[0], "label": 1}, {"request_id": IDS[1]}],
        [{"request_id": IDS[0], "label": 1}, {"request_id": IDS[1], "label": True}],
        [{"request_id": IDS[0], "label": 1}, {"request_id": "has space", "label": 1}],
        [{"request_id": IDS[0], "label": 1}, {"request_id": IDS[0], "label": 2}],
        [{"request_id": IDS[0], "label": 1}, {"request_id": IDS[1], "label": "  "}],
        [],
    ],
    ids=["no label", "a boolean", "a bad id", "two labels for one id", "a blank label", "empty"],
)
def test_a_malformed_batch_is_422_and_writes_nothing(api: Api, body: Any) -> None:
    before = api.written()
    answer = post(api, body)
    assert answer.status_code == 422, answer.text
    assert api.written() == before


def test_a_deployer_sends_labels_and_a_viewer_reads_the_quality(api: Api) -> None:
    one = post(api, {"request_id": IDS[0], "label": 1})
    assert one.status_code == 200, one.text
    assert (one.json()["added"], one.json()["unmatched"]) == (1, 0)
    batch = [{"request_id": r, "label": 1 if n < 9 else "0"} for n, r in enumerate(IDS)]
    batch.append({"request_id": "never-captured", "label": 0})
    answer = post(api, batch)
    assert answer.status_code == 200, answer.text
    assert answer.json() | {"unmatched_request_ids": None} == {
        "model_name": "iris",
        "added": 12,
        "replaced": 0,
        "unchanged": 1,
        "unmatched": 1,
        "unmatched_request_ids": None,
    }
    conflict = post(api, {"request_id": IDS[0], "label": 0})
    assert conflict.status_code == 409, conflict.text
    quality = api.client.get("/v1/models/iris/quality", headers=api.auth("vera"))
    assert quality.status_code == 200, quality.text
    (found,) = quality.json()["deployments"]
    assert (found["labelled"], found["observed"], found["verdict"]) == (12, 0.75, "drop")
    unknown = api.client.get("/v1/models/nope/quality", headers=api.auth("vera"))
    assert unknown.status_code == 404
    assert post(api, {"request_id": IDS[0], "label": 1}).json()["unchanged"] == 1
    assert post(api, {"request_id": IDS[0], "label": 0}, replace="true").json()["replaced"] == 1


def test_feedback_for_an_unknown_model_is_404(api: Api) -> None:
    answer = api.client.post(
        "/v1/models/nope/feedback", json={"request_id": "x", "label": 1}, headers=api.auth("dan")
    )
    assert answer.status_code == 404, answer.text


def test_remote_mode_sends_a_judged_file_and_shows_quality_through_the_api(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``deployer feedback`` in remote mode (in process), its requests served by the app."""
    remote = remote_cli(api.client, monkeypatch)
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(f'{{"request_id": "{r}", "label": 1}}\n' for r in IDS[:2]))
    bad = tmp_path / "bad.csv"
    bad.write_text(f"request_id,label\n{IDS[0]},1\n{IDS[1]},\n")

    def cli(user: str, *args: str) -> Any:
        return remote(api.tokens[user], "feedback", *args)

    before = api.written()
    refused = cli("dan", "import", "iris", str(bad))
    assert (refused.exit_code, refused.output.strip()) == (
        2,
        "error: line 3: '' is not a label (a class name or a number)",
    )
    viewer = cli("vera", "import", "iris", str(labels))
    assert viewer.exit_code == 3 and "this needs deployer or above" in viewer.output
    assert api.written() == before
    done = cli("dan", "import", "iris", str(labels), "--replace", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["model_name"] == "iris"
    shown = cli("vera", "show", "iris", "--window", "2h", "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["window_seconds"] == 7200
