"""The registry port (``lifecycle.ports.ModelRegistry``): ``FakeRegistry`` and ``MlflowRegistry``
on a real MLflow store (SQLite, local artifact root) and against a real ``mlflow server`` (the
HTTP client path) pass the same tests.

The real side registers a real sklearn run (iris, trained once per module); each test uses its
own model names, since the store is shared by the module.

Drift found and resolved:
- the fake took only ``"2"`` for a version where MLflow's adapter takes ``"v2"`` too and calls
  ``"abc"`` bad input: the fake now parses versions with the same ``parse_version``;
- the fake registered any non-empty URI, so a local folder without a model passed: it now
  refuses a local folder without ``MLmodel`` as the real one does (URIs it cannot resolve, such
  as unknown runs, stay the real adapter's integration tests' subject);
- deleting a version that is gone raised in MLflow's adapter and passed in the fake. The port
  uses it to undo a registration whose bookkeeping failed; an undo that raises would hide the
  error that made it run, so the real adapter now treats "already gone" as done.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lifecycle.errors import BadInputError, UnknownModelError
from lifecycle.ports import ModelRegistry
from lifecycle.stages import ModelStage
from mlops.registry_mlflow import MlflowRegistry
from mlops.training import train_and_log
from tests.fakes import FakeRegistry
from tests.mlflow_template import seed_mlflow_store

S = ModelStage


@dataclass
class Side:
    registry: ModelRegistry
    model_uri: str
    name: str
    """A model name nobody registered yet on this side."""


def _store(tracking_uri: str, root: Path) -> tuple[MlflowRegistry, str]:
    seed_mlflow_store(tracking_uri)
    trained = train_and_log(tracking_uri, artifact_root=root / "artifacts")
    return MlflowRegistry(tracking_uri, artifact_root=root / "artifacts"), trained.model_uri


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[MlflowRegistry, str]:
    root = tmp_path_factory.mktemp("mlflow")
    return _store(f"sqlite:///{root / 'mlflow.db'}", root)


@pytest.fixture(scope="module")
def server_store(
    mlflow_server: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[MlflowRegistry, str]:
    return _store(mlflow_server, tmp_path_factory.mktemp("mlflow-client"))


@pytest.fixture(
    params=["fake", "mlflow-sqlite", pytest.param("mlflow-server", marks=pytest.mark.slow)]
)
def side(request: pytest.FixtureRequest) -> Iterator[Side]:
    name = f"contract_{uuid.uuid4().hex[:10]}"  # the server is shared by the whole session
    if request.param == "fake":
        yield Side(FakeRegistry(), "runs:/abc123/model", name)
        return
    store = "server_store" if request.param == "mlflow-server" else "sqlite_store"
    registry, model_uri = request.getfixturevalue(store)
    yield Side(registry, model_uri, name)


def test_versions_are_numbered_from_one_and_start_in_development(side: Side) -> None:
    first = side.registry.register(side.name, side.model_uri, metrics={"accuracy": 0.93})
    second = side.registry.register(
        side.name, side.model_uri, params={"C": "0.5"}, parent_version="1"
    )
    assert (first.version, second.version) == ("1", "2")
    assert first.stage is second.stage is S.DEVELOPMENT
    assert first.metrics["accuracy"] == 0.93
    assert (second.params["C"], second.parent_version) == ("0.5", "1")
    assert (first.model_name, first.source_uri) == (side.name, side.model_uri)


def test_a_version_reads_back_as_registered_by_number_or_v_number(side: Side) -> None:
    registered = side.registry.register(side.name, side.model_uri, metrics={"f1": 0.8})
    assert side.registry.get_version(side.name, "1") == registered
    assert side.registry.get_version(side.name, "v1") == registered


def test_unknown_models_and_versions_are_unknown_model_errors(side: Side) -> None:
    side.registry.register(side.name, side.model_uri)
    with pytest.raises(UnknownModelError):
        side.registry.get_version(f"{side.name}_ghost", "1")
    with pytest.raises(UnknownModelError):
        side.registry.get_version(side.name, "9")
    with pytest.raises(UnknownModelError):
        side.registry.set_stage(side.name, "9", S.STAGING)
    with pytest.raises(UnknownModelError):
        side.registry.set_stage(f"{side.name}_ghost", "1", S.STAGING)


@pytest.mark.parametrize("text", ["abc", "1.5", "", "-1"])
def test_a_version_that_is_not_a_number_is_bad_input(side: Side, text: str) -> None:
    side.registry.register(side.name, side.model_uri)
    with pytest.raises(BadInputError):
        side.registry.get_version(side.name, text)


def test_a_model_nobody_registered_has_no_versions_and_is_not_listed(side: Side) -> None:
    assert side.registry.list_versions(side.name) == []
    assert side.registry.list_versions(side.name, S.PRODUCTION) == []
    assert side.name not in side.registry.list_model_names()


def test_registered_models_are_listed_once_by_name_in_order(side: Side) -> None:
    for name in (f"{side.name}_b", f"{side.name}_a", f"{side.name}_b"):
        side.registry.register(name, side.model_uri)
    names = list(side.registry.list_model_names())
    assert names == sorted(set(names))
    assert {f"{side.name}_a", f"{side.name}_b"} <= set(names)


def test_a_stage_move_shows_in_reads_and_in_stage_listings(side: Side) -> None:
    side.registry.register(side.name, side.model_uri)
    side.registry.register(side.name, side.model_uri)
    moved = side.registry.set_stage(side.name, "1", S.STAGING)
    assert (moved.version, moved.stage) == ("1", S.STAGING)
    assert side.registry.get_version(side.name, "1").stage is S.STAGING
    assert [v.version for v in side.registry.list_versions(side.name, S.STAGING)] == ["1"]
    assert [v.version for v in side.registry.list_versions(side.name, S.DEVELOPMENT)] == ["2"]
    assert [v.version for v in side.registry.list_versions(side.name)] == ["1", "2"]


def test_setting_the_same_stage_twice_changes_nothing(side: Side) -> None:
    side.registry.register(side.name, side.model_uri, metrics={"accuracy": 0.9})
    once = side.registry.set_stage(side.name, "1", S.SHADOW)
    twice = side.registry.set_stage(side.name, "v1", S.SHADOW)
    assert once == twice == side.registry.get_version(side.name, "1")


def test_a_stage_move_keeps_the_versions_evidence(side: Side) -> None:
    registered = side.registry.register(
        side.name, side.model_uri, metrics={"accuracy": 0.9}, params={"C": "1"}
    )
    moved = side.registry.set_stage(side.name, "1", S.STAGING)
    assert (moved.metrics, moved.params) == (registered.metrics, registered.params)
    assert (moved.source_uri, moved.run_id) == (registered.source_uri, registered.run_id)


def test_deleting_versions_removes_them_and_the_last_one_removes_the_model(side: Side) -> None:
    side.registry.register(side.name, side.model_uri)
    side.registry.register(side.name, side.model_uri)
    side.registry.delete_version(side.name, "2")
    assert [v.version for v in side.registry.list_versions(side.name)] == ["1"]
    with pytest.raises(UnknownModelError):
        side.registry.get_version(side.name, "2")
    side.registry.delete_version(side.name, "1")
    assert side.registry.list_versions(side.name) == []
    assert side.name not in side.registry.list_model_names()


def test_deleting_a_version_that_is_gone_is_harmless(side: Side) -> None:
    side.registry.register(side.name, side.model_uri)
    side.registry.delete_version(side.name, "1")
    side.registry.delete_version(side.name, "1")
    side.registry.delete_version(f"{side.name}_ghost", "3")
    assert side.name not in side.registry.list_model_names()


def test_something_that_is_not_a_model_is_refused_and_nothing_is_registered(
    side: Side, tmp_path: Path
) -> None:
    for uri in ("", str(tmp_path), str(tmp_path / "missing")):
        with pytest.raises(BadInputError):
            side.registry.register(side.name, uri)
    assert side.name not in side.registry.list_model_names()
    assert side.registry.list_versions(side.name) == []


def test_a_label_is_a_version_tag_given_at_registration_or_later(side: Side) -> None:
    first = side.registry.register(side.name, side.model_uri, label="1.0.0")
    side.registry.register(side.name, side.model_uri)
    assert first.label == side.registry.get_version(side.name, "1").label == "1.0.0"
    side.registry.set_label(side.name, "v2", "1.1.0")
    side.registry.set_label(side.name, "2", "1.1.0")  # idempotent
    assert [v.label for v in side.registry.list_versions(side.name)] == ["1.0.0", "1.1.0"]
    side.registry.set_label(side.name, "1", None)
    side.registry.set_label(side.name, "1", None)
    assert side.registry.get_version(side.name, "1").label is None


def test_serving_aliases_move_idempotently_beside_the_stage_aliases(side: Side) -> None:
    for _ in range(2):
        side.registry.register(side.name, side.model_uri)
    side.registry.set_stage(side.name, "2", S.STAGING)
    assert side.registry.aliases(f"{side.name}_ghost") == {}
    side.registry.move_aliases(side.name, {"champion": "1", "challenger": "v2"})
    side.registry.move_aliases(side.name, {"champion": "1", "challenger": "2"})
    assert side.registry.aliases(side.name) == {
        "staging": "2",
        "champion": "1",
        "challenger": "2",
    }
    side.registry.move_aliases(side.name, {"champion": "2", "challenger": None})
    side.registry.move_aliases(side.name, {"challenger": None})
    assert side.registry.aliases(side.name) == {"staging": "2", "champion": "2"}
    with pytest.raises(UnknownModelError):
        side.registry.move_aliases(side.name, {"champion": "9"})
    assert side.registry.aliases(side.name)["champion"] == "2"


def test_the_aliases_of_many_models_read_at_once_as_one_by_one(
    side: Side, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mlops.registry_mlflow.ALIAS_READ_CHUNK", 2)  # five names: 3 reads
    others = [f"{side.name}_{i}" for i in range(3)]
    for name in [side.name, *others]:
        side.registry.register(name, side.model_uri)
    side.registry.move_aliases(side.name, {"champion": "1"})
    side.registry.move_aliases(others[1], {"challenger": "1"})
    ghost = f"{side.name}_ghost"
    asked = [side.name, *others, ghost]
    read = side.registry.aliases_of(asked)
    assert {name: dict(read[name]) for name in asked} == {
        name: dict(side.registry.aliases(name)) for name in asked
    }
    assert read[side.name] == {"champion": "1"} and read[ghost] == {}
    assert side.registry.aliases_of([]) == {}
