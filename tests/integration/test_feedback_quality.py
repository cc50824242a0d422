"""Quality from feedback on a real state database (SQLite and PostgreSQL): labels joined to
captured predictions give exactly the accuracy, F1 and MAE the labels imply; a refused import
writes nothing; the watcher's judgement records a ``quality_drop`` audit event only on a new
drop. Predictions are inserted as the gateways' capture writes them (``predictions`` rows)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error
from sqlalchemy import func, select

from agents.bootstrap import Container, bootstrap
from agents.entrypoints import watch
from agents.handlers.feedback import import_feedback, judge_quality, record_feedback
from agents.queries.quality import quality_report
from agents.settings import Settings
from database.models import AuditEventRow, ModelVersionRow
from database.models_feedback import FeedbackRow, QualityCheckRow
from database.models_watch import PredictionRow
from lifecycle.errors import BadInputError, UnknownModelError
from lifecycle.quality import LabelConflictError
from lifecycle.records import utcnow
from lifecycle.stages import DeploymentStatus
from tests.integration.db_helpers import add_version, deployment_row
from tests.schema_template import migrated

MODEL = "iris"
RETIRED = DeploymentStatus.ROLLED_BACK
_ids = itertools.count(1)


@pytest.fixture
def container(database_url: str, tmp_path: Path) -> Iterator[Container]:
    """A migrated home (SQLite or PostgreSQL) with iris v1 approved at accuracy 0.93 and a
    regressor ``house`` v1 approved at MAE 2.0."""
    c = make_home(database_url, tmp_path)
    yield c
    c.close()


@pytest.fixture
def sqlite_container(sqlite_url: str, tmp_path: Path) -> Iterator[Container]:
    """The same home, on SQLite only (for what does not depend on the database)."""
    c = make_home(sqlite_url, tmp_path)
    yield c
    c.close()


def make_home(database_url: str, tmp_path: Path) -> Container:
    home = tmp_path / "home"
    settings = Settings(
        DEPLOYER_HOME=str(home),
        DEPLOYER_DATABASE_URL=database_url,
        DEPLOYER_QUALITY_MIN_LABELLED="10",
        DEPLOYER_QUALITY_MARGIN="0.05",
    )
    settings.ensure_home()
    migrated(settings.database_url)
    c = bootstrap(settings)
    add_version(c.session_factory, MODEL, "1")
    add_version(c.session_factory, "house", "1")
    with c.uow() as uow:
        uow.models.get("house", "1").metrics = {"mae": 2.0, "r2": 0.7}
        for dep, status in (("iris-v1-aaaa", DeploymentStatus.ACTIVE), ("iris-v1-old", RETIRED)):
            uow.deployments.add(deployment_row(dep, status, MODEL, "1"))
        uow.commit()
    return c


def capture(
    c: Container,
    outputs: list[Any],
    model: str = MODEL,
    deployment_id: str = "iris-v1-aaaa",
    version: str = "1",
    age: timedelta = timedelta(minutes=5),
    status: int = 200,
) -> list[str]:
    """Captured predictions with these outputs; their request ids."""
    ids = [f"req-{next(_ids):06d}" for _ in outputs]
    with c.uow() as uow:
        uow.session.add_all(
            PredictionRow(
                request_id=rid,
                model_name=model,
                version=version,
                deployment_id=deployment_id,
                captured_at=utcnow() - age,
                latency_ms=3.0,
                status=status,
                inputs={"inputs": [[5.1, 3.5, 1.4, 0.2]]},
                output=out,
                gateway="gw-1",
            )
            for rid, out in zip(ids, outputs, strict=True)
        )
        uow.commit()
    return ids


def rows(ids: list[str], labels: list[Any]) -> list[tuple[str, str, Any]]:
    return [(f"item {n}", r, lab) for n, (r, lab) in enumerate(zip(ids, labels, strict=True))]


def stored(c: Container) -> dict[str, Any]:
    """Every stored label and the number of audit events, read straight from the database."""
    with c.reader() as uow:
        labels = dict(uow.session.execute(select(FeedbackRow.request_id, FeedbackRow.label)).all())
        events = uow.session.scalar(select(func.count()).select_from(AuditEventRow))
    return {"labels": labels, "events": events}


def test_feedback_joined_to_captured_predictions_gives_the_accuracy_the_labels_imply_exactly(
    container: Container,
) -> None:
    predicted = [0, 1, 2, 2, 1, 0, 1, 2, 0, 0, 1, 2, 2, 2, 1, 0, 0, 1, 2, 1] * 3
    truth = [0, 1, 2, 1, 1, 0, 2, 2, 0, 1, 1, 2, 0, 2, 1, 0, 0, 1, 1, 1] * 3
    ids = capture(container, [{"predictions": [p]} for p in predicted])
    # Noise the join must leave out: a failed answer, a batch answer, an old capture, another
    # deployment, another model's request, and a captured request with no label.
    failed = capture(container, [None], status=500)
    batch = capture(container, [{"predictions": [0, 1]}])
    old = capture(container, [{"predictions": [0]}], age=timedelta(hours=3))
    other = capture(container, [{"predictions": [2]}] * 3, deployment_id="iris-v1-bbbb")
    capture(container, [{"predictions": [0]}] * 4)
    labels = [str(t) for t in truth]  # as a CSV file gives them
    result = record_feedback(
        container,
        MODEL,
        rows(ids + failed + batch + old + other, [*labels, "0", "1", "1", "2", "2", "2"]),
        "lena",
    )
    assert result == {
        "model_name": MODEL,
        "added": len(ids) + 6,
        "replaced": 0,
        "unchanged": 0,
        "unmatched": 0,
        "unmatched_request_ids": [],
    }

    report = quality_report(container, MODEL, 3600)
    main, second = report["deployments"]
    assert main["deployment_id"] == "iris-v1-aaaa" and main["labelled"] == len(truth)
    assert main["unusable"] == 1  # the batch answer has no single label
    assert main["metrics"] == {
        "accuracy": accuracy_score(truth, predicted),
        "f1": pytest.approx(f1_score(truth, predicted, average="macro"), abs=1e-12),
    }
    assert main["metrics"]["accuracy"] == 45 / 60
    assert (main["metric"], main["observed"], main["approved"]) == ("accuracy", 0.75, 0.93)
    assert main["verdict"] == "drop"
    assert (second["deployment_id"], second["labelled"], second["observed"]) == (
        "iris-v1-bbbb",
        3,
        1.0,
    )
    assert second["verdict"] == "inconclusive"  # 3 of the 10 labels needed
    assert quality_report(container, MODEL, 4 * 3600)["deployments"][0]["labelled"] == 61


def test_a_regressor_s_rolling_mae_is_the_labels_mean_absolute_error(
    container: Container,
) -> None:
    predicted = [float(x) for x in range(12)]
    truth = [x + (1.5 if i % 2 else -0.5) for i, x in enumerate(predicted)]
    ids = capture(container, [{"predictions": [[p]]} for p in predicted], model="house")
    record_feedback(container, "house", rows(ids, truth), "lena")
    (found,) = quality_report(container, "house", 3600)["deployments"]
    assert (found["task"], found["metric"], found["verdict"]) == ("regression", "mae", "ok")
    assert found["observed"] == mean_absolute_error(truth, predicted) == 1.0


def test_an_import_refused_anywhere_writes_nothing(container: Container, tmp_path: Path) -> None:
    ids = capture(container, [{"predictions": [1]}] * 3)
    before = stored(container)
    bad = tmp_path / "labels.csv"
    bad.write_text(f"request_id,label\n{ids[0]},1\n{ids[1]},1\n{ids[2]}\n")
    with pytest.raises(BadInputError, match=r"^line 4: 1 fields, the header has 2$"):
        import_feedback(container, MODEL, bad, "lena")
    lines = tmp_path / "labels.jsonl"
    lines.write_text(f'{{"request_id": "{ids[0]}", "label": 1}}\n{{"request_id": "x"}}\n')
    with pytest.raises(BadInputError, match=r"^line 2: expected an object"):
        import_feedback(container, MODEL, lines, "lena")
    bad.write_text("id,truth\nreq,1\n")
    with pytest.raises(BadInputError, match=r"^line 1: the CSV header"):
        import_feedback(container, MODEL, bad, "lena")
    with pytest.raises(UnknownModelError):
        record_feedback(container, "nope", rows(ids, [1, 1, 1]), "lena")
    assert stored(container) == before


def test_the_same_label_again_is_a_no_op_and_a_different_one_needs_replace(
    container: Container, tmp_path: Path
) -> None:
    ids = capture(container, [{"predictions": [1]}] * 3)
    good = tmp_path / "labels.csv"
    good.write_text(f"request_id,label\n{ids[0]},1\n{ids[1]},setosa\nnot-captured-1,2\n")
    first = import_feedback(container, MODEL, good, "lena")
    assert (first["added"], first["unmatched"]) == (3, 1)
    assert first["unmatched_request_ids"] == ["not-captured-1"]  # reported, and kept
    with container.reader() as uow:
        (event,) = [e for e in uow.audit.list(MODEL) if e.action == "feedback_recorded"]
    assert (event.actor, event.payload["model"], event.payload["added"]) == ("lena", MODEL, 3)
    assert event.payload["summary"].endswith("; 1 without a captured prediction (yet)")
    after_first = stored(container)

    again = import_feedback(container, MODEL, good, "lena")
    assert (again["added"], again["unchanged"]) == (0, 3)
    assert stored(container) == after_first  # no row, no audit event

    changed = [(f"item {n}", r, lab) for n, (r, lab) in enumerate([(ids[2], 0), (ids[0], 2)])]
    with pytest.raises(LabelConflictError, match=f"request {ids[0]} already has label 1, not 2 "):
        record_feedback(container, MODEL, changed, "lena")
    assert stored(container) == after_first  # ids[2]'s new label was not written either

    replaced = record_feedback(container, MODEL, changed, "lena", replace=True)
    assert (replaced["added"], replaced["replaced"]) == (1, 1)
    assert stored(container)["labels"][ids[0]] == 2.0

    other_model = capture(container, [{"predictions": [[3.0]]}], model="house")
    record_feedback(container, "house", rows(other_model, [3.0]), "lena")
    with pytest.raises(BadInputError, match="has a label for model house, not iris"):
        record_feedback(container, MODEL, rows(other_model, [3.0]), "lena")


def test_the_watcher_records_each_judgement_and_alerts_only_on_a_new_drop(
    container: Container,
) -> None:
    ids = capture(container, [{"predictions": [1]}] * 20)
    old = capture(container, [{"predictions": [1]}] * 20, deployment_id="iris-v1-old")
    record_feedback(container, MODEL, rows(ids, [1] * 10 + [0] * 10), "lena")  # accuracy 0.5
    record_feedback(container, MODEL, rows(old, [0] * 20), "lena")  # rolled back: not judged
    assert len(quality_report(container, MODEL, 3600)["deployments"]) == 2  # but shown
    first = judge_quality(container, MODEL, "watcher")
    second = judge_quality(container, MODEL, "watcher")
    assert [j["verdict"] for j in first + second] == ["drop", "drop"]
    with container.reader() as uow:
        checks = uow.session.scalars(select(QualityCheckRow)).all()
        drops = [e for e in uow.audit.list("iris-v1-aaaa") if e.action == "quality_drop"]
    assert [(r.verdict, r.labelled, r.observed) for r in checks] == [("drop", 20, 0.5)] * 2
    (drop,) = drops
    assert drop.payload == {
        "model": MODEL,
        "version": "1",
        "deployment_id": "iris-v1-aaaa",
        "metric": "accuracy",
        "observed": 0.5,
        "approved": 0.93,
        "margin": 0.05,
        "labelled": 20,
        "summary": "iris v1 (iris-v1-aaaa): accuracy dropped to 0.5000 over 20 labelled"
        " predictions (approved 0.9300, margin 0.05)",
    }
    assert judge_quality(container, "house", "watcher") == []  # nothing labelled: nothing written


def test_a_version_with_no_approved_metric_is_inconclusive_not_ok(container: Container) -> None:
    with container.uow() as uow:
        row: ModelVersionRow = uow.models.get(MODEL, "1")
        row.metrics = {}
        uow.commit()
    ids = capture(container, [{"predictions": [1]}] * 12)
    record_feedback(container, MODEL, rows(ids, [1] * 12), "lena")
    (found,) = quality_report(container, MODEL, 3600)["deployments"]
    assert (found["verdict"], found["summary"]) == ("inconclusive", "task type unknown")


def test_a_watch_tick_judges_quality_and_a_failing_judgement_never_breaks_it(
    sqlite_container: Container, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    c = sqlite_container
    ids = capture(c, [{"predictions": [1]}] * 12)
    record_feedback(c, MODEL, rows(ids, [0] * 12), "lena")
    reports: list[dict[str, Any]] = []
    assert watch.watch(c, 60.0, True, reports.append, model_name=MODEL) == 1
    (report,) = reports
    assert report["status"] == "ticked"
    assert [(q["deployment_id"], q["verdict"]) for q in report["quality"]] == [
        ("iris-v1-aaaa", "drop")
    ]

    def broken(*args: Any) -> list[dict[str, Any]]:
        raise RuntimeError("the join failed")

    monkeypatch.setattr(watch, "judge_quality", broken)
    reports.clear()
    assert watch.watch(c, 60.0, True, reports.append, model_name=MODEL) == 1
    assert reports[0]["status"] == "ticked" and "quality" not in reports[0]
    assert "judging the quality of iris failed; the tick goes on" in caplog.text


def test_the_cli_imports_a_file_shows_quality_and_refuses_a_bad_line_in_one_line(
    sqlite_container: Container, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from agents.entrypoints.cli.app import app

    c = sqlite_container
    ids = capture(c, [{"predictions": [1]}] * 12)
    good = tmp_path / "labels.csv"
    good.write_text(
        "request_id,label\n" + "".join(f"{r},{n % 4 != 0:d}\n" for n, r in enumerate(ids))
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        f'{{"request_id": "{ids[0]}", "label": 1}}\n{{"request_id": "{ids[1]}", "label": null}}\n'
    )
    env = {
        "DEPLOYER_HOME": str(c.settings.home_dir),
        "DEPLOYER_DATABASE_URL": c.settings.database_url,
        "DEPLOYER_QUALITY_MIN_LABELLED": "10",
    }
    runner = CliRunner()

    refused = runner.invoke(app, ["feedback", "import", MODEL, str(bad)], env=env)
    assert refused.exit_code == 2
    assert refused.output.strip() == "error: line 2: None is not a label (a class name or a number)"
    done = runner.invoke(app, ["feedback", "import", MODEL, str(good)], env=env)
    assert done.exit_code == 0, done.output
    assert done.output.strip() == "iris: 12 labels added, 0 replaced, 0 unchanged"

    shown = runner.invoke(app, ["feedback", "show", MODEL, "--window", "1h"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "iris-v1-aaaa: accuracy dropped to 0.7500 over 12 labelled predictions" in shown.output
    as_json = runner.invoke(app, ["feedback", "show", MODEL, "--json"], env=env)
    assert json.loads(as_json.output)["deployments"][0]["verdict"] == "drop"
    wrong = runner.invoke(app, ["feedback", "show", MODEL, "--window", "2y"], env=env)
    assert wrong.exit_code == 2 and "'2y' is not a duration" in wrong.output
