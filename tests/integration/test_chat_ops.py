"""``deployer chat`` on a real home: words in, the CLI's use cases run, plain sentences out.

Malformed, ambiguous and unknown commands get a helpful answer and change nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.bootstrap import Container, bootstrap
from agents.entrypoints.chat.chat import answer
from agents.handlers.registration import register_version
from mlops.training import save_local
from tests.access_fixtures import grant_roles
from tests.schema_template import migrated

MODEL = "churn"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "churn_v1"
    save_local(path)
    return path


@pytest.fixture
def home(tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Container]:
    monkeypatch.setenv("DEPLOYER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DEPLOYER_SHADOW_MIN_HOURS", "0")
    for key in ("DEPLOYER_DATABASE_URL", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(key, raising=False)
    c = bootstrap()
    c.settings.ensure_home()
    migrated(c.settings.database_url)
    grant_roles(c, {"bob": "approver"})
    register_version(
        c.uow,
        c.registry,
        MODEL,
        str(model_dir),
        "alice",
        metrics={"accuracy": 0.95},
        criteria=["accuracy>=0.9"],
    )
    yield c
    c.close()


def _audit_count(c: Container) -> int:
    with c.uow() as uow:
        return len(uow.audit.list())


def _stage(c: Container) -> str:
    with c.uow() as uow:
        return uow.models.get(MODEL, "1").stage


def test_a_promotion_in_words_moves_the_version_and_says_so(home: Container) -> None:
    said = answer(home, "promote churn v1 to staging", "alice")
    assert said.exit_code == 0
    assert said.reply == "v1 of churn is now in staging; nothing serves its users yet."
    assert _stage(home) == "staging"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("promote chrun v1 to staging", "Did you mean churn?"),
        ("promote churn to staging", "Which version"),
        ("deploy churn", "Which version"),
        ("frobnicate the churn model", "I did not understand"),
        ("promote churn v1 to production", "cannot move a version from development"),
        ("promote churn v7 to staging", "has no version '7'"),
        ("approve apr-0000deadbeef", "no approval 'apr-0000deadbeef'"),
        ("rollback churn", "nothing to roll back"),
    ],
)
def test_a_bad_command_gets_a_helpful_answer_and_changes_nothing(
    home: Container, text: str, expected: str
) -> None:
    before = _audit_count(home)
    said = answer(home, text, "alice")
    assert expected in said.reply
    assert said.exit_code != 0
    assert _audit_count(home) == before
    assert _stage(home) == "development"


def test_production_waits_in_words_and_an_approver_answers_in_words(home: Container) -> None:
    staged = answer(home, "promote churn v1 to staging", "alice")
    assert staged.result is not None  # the supervisor routed the words to the deployer
    assert staged.result["agents"] == ["model_deployer:promoted"]
    assert staged.result["thread_id"].startswith("system-")
    answer(home, "move churn 1 into shadow", "alice")
    waiting = answer(home, "promote churn v1 to prod because it is ready", "alice")
    assert waiting.exit_code == 4
    approval_id = waiting.result["approval_id"] if waiting.result else ""
    assert f"approve {approval_id}" in waiting.reply
    own = answer(home, f"approve {approval_id}", "alice")
    assert own.exit_code == 3 and "four-eyes" in own.reply
    assert _stage(home) == "shadow"
    done = answer(home, f"approve {approval_id} looks good", "bob")
    assert done.exit_code == 0
    assert done.reply.startswith("Approved: v1 of churn is now in production")
    assert done.result is not None and done.result["agents"] == ["model_deployer:promoted"]
    assert _stage(home) == "production"


def test_help_and_status_answer_in_sentences(home: Container) -> None:
    assert "promote MODEL vN to STAGE" in answer(home, "help", "alice").reply
    assert answer(home, "what's running", "alice").reply == (
        "churn: v1 development; nothing serves its users yet."
    )


def test_the_chat_sets_and_shows_objectives_and_refuses_a_non_deployer(home: Container) -> None:
    from agents.settings import local_identity

    me = local_identity()
    before = _audit_count(home)
    refused = answer(home, "set the p95 objective of churn to 40 ms", "mallory")
    assert refused.exit_code == 3 and refused.reply.startswith("I did not do that")
    assert _audit_count(home) == before

    done = answer(home, "set the p95 objective of churn to 40 ms", me)
    shown = answer(home, "what are churn's objectives?", me)

    assert done.exit_code == 0 and "a p95 of at most 40 ms" in done.reply, done.reply
    assert shown.exit_code == 0 and shown.result is not None
    assert shown.result["objectives"]["p95_ms"] == 40.0
    assert _audit_count(home) == before + 1
