"""The MLflow registry adapter against the embedded SQLite store and a real ``mlflow server``."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import pytest

from lifecycle.errors import BadInputError, InfrastructureError, UnknownModelError
from lifecycle.records import parse_version
from lifecycle.stages import ModelStage
from mlops.mlflow_env import tracking
from mlops.registry_mlflow import InvalidModelUriError, MlflowRegistry
from mlops.training import TrainedModel, save_local, train_and_log
from tests.mlflow_template import seed_mlflow_store

S = ModelStage


@pytest.fixture(params=["sqlite-store", "mlflow-server"])
def tracking_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite-store":
        seed_mlflow_store(tmp_path / "mlflow.db")
        return f"sqlite:///{tmp_path / 'mlflow.db'}"
    return str(request.getfixturevalue("mlflow_server"))


@pytest.fixture
def registry(tracking_uri: str, tmp_path: Path) -> MlflowRegistry:
    return MlflowRegistry(tracking_uri, artifact_root=tmp_path / "artifacts")


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> str:
    """A model name unique to this test, since the server is shared by the session."""
    return "m_" + str(abs(hash(request.node.nodeid)) % 10**10)


def alias_target(registry: MlflowRegistry, name: str, stage: ModelStage) -> str | None:
    """The version the stage's alias points at in MLflow, or None."""
    aliases = registry.client.get_registered_model(name).aliases
    return str(aliases[stage.value]) if stage.value in aliases else None


@pytest.fixture
def trained(tracking_uri: str, tmp_path: Path) -> TrainedModel:
    return train_and_log(tracking_uri, artifact_root=tmp_path / "artifacts")


def test_a_run_model_registers_in_development_with_metrics_params_and_lineage(
    registry: MlflowRegistry, trained: TrainedModel, unique: str
) -> None:
    version = registry.register(unique, trained.model_uri, metrics={"latency_ms": 3.0})
    assert (version.version, version.stage) == ("1", S.DEVELOPMENT)
    assert version.run_id == trained.run_id
    assert version.experiment_id == trained.experiment_id
    assert version.metrics["accuracy"] == pytest.approx(trained.metrics["accuracy"])
    assert version.metrics["latency_ms"] == 3.0
    assert version.params["dataset"] == "iris"
    assert registry.get_version(unique, "v1") == version


def test_a_registered_model_and_a_local_folder_register_too(
    registry: MlflowRegistry, trained: TrainedModel, unique: str, tmp_path: Path
) -> None:
    registry.register(unique, trained.model_uri)
    copy = registry.register(f"{unique}_copy", f"models:/{unique}/1", parent_version="1")
    assert copy.parent_version == "1"
    local = save_local(tmp_path / "forest", kind="forest")
    forest = registry.register(f"{unique}_forest", str(tmp_path / "forest"))
    with tracking(registry.tracking_uri):
        loaded = mlflow.pyfunc.load_model(f"models:/{forest.model_name}/{forest.version}")
    assert list(loaded.predict(local.sample[:5])) == list(local.model.predict(local.sample[:5]))


def test_stage_moves_set_the_tag_and_move_the_alias(
    registry: MlflowRegistry, trained: TrainedModel, unique: str
) -> None:
    registry.register(unique, trained.model_uri)
    registry.register(unique, trained.model_uri)
    registry.set_stage(unique, "1", S.STAGING)
    assert alias_target(registry, unique, S.STAGING) == "1"
    registry.set_stage(unique, "1", S.SHADOW)
    assert alias_target(registry, unique, S.STAGING) is None
    assert alias_target(registry, unique, S.SHADOW) == "1"
    registry.set_stage(unique, "1", S.PRODUCTION)
    registry.set_stage(unique, "2", S.STAGING)
    assert [v.version for v in registry.list_versions(unique, S.PRODUCTION)] == ["1"]
    assert [v.version for v in registry.list_versions(unique, S.STAGING)] == ["2"]
    registry.set_stage(unique, "1", S.ARCHIVED)
    assert alias_target(registry, unique, S.PRODUCTION) is None
    assert registry.get_version(unique, "1").stage is S.ARCHIVED


def test_a_failed_stage_move_restores_the_tag_and_aliases(
    registry: MlflowRegistry, trained: TrainedModel, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.register(unique, trained.model_uri)
    registry.set_stage(unique, "1", S.STAGING)

    real_set_alias = registry.client.set_registered_model_alias
    calls: list[tuple[object, ...]] = []

    def flaky_set_alias(*args: object) -> None:
        """The first alias write fails (a dropped connection); later ones go through."""
        calls.append(args)
        if len(calls) == 1:
            raise OSError("connection reset while setting the alias")
        real_set_alias(*args)

    monkeypatch.setattr(registry.client, "set_registered_model_alias", flaky_set_alias)
    with pytest.raises(InfrastructureError):
        registry.set_stage(unique, "1", S.SHADOW)
    monkeypatch.undo()
    assert len(calls) >= 2  # the move's write failed, and the restore wrote the old alias back
    assert registry.get_version(unique, "1").stage is S.STAGING
    assert alias_target(registry, unique, S.STAGING) == "1"
    assert alias_target(registry, unique, S.SHADOW) is None


@pytest.mark.parametrize(
    "uri",
    ["/definitely/not/here", "{tmp}", "runs:/0123456789abcdef/model", "models:/ghost/1"],
    ids=[
        "a path that does not exist",
        "a folder that is not a model",
        "an unknown run",
        "an unknown registered model",
    ],
)
def test_a_bad_uri_is_refused_and_leaves_nothing_registered(
    registry: MlflowRegistry, unique: str, uri: str, tmp_path: Path
) -> None:
    before = set(registry.list_model_names())
    with pytest.raises(InvalidModelUriError):
        registry.register(unique, uri.format(tmp=tmp_path))
    assert set(registry.list_model_names()) == before


def test_unknown_models_and_versions_are_typed_errors(
    registry: MlflowRegistry, trained: TrainedModel, unique: str
) -> None:
    registry.register(unique, trained.model_uri)
    with pytest.raises(UnknownModelError, match="no model named"):
        registry.get_version(f"{unique}_ghost", "1")
    with pytest.raises(UnknownModelError, match="v9"):
        registry.get_version(unique, "9")


@pytest.mark.parametrize("text", ["abc", "1.5", "", "v", "-1"])
def test_garbage_versions_are_bad_input(text: str) -> None:
    with pytest.raises(BadInputError):
        parse_version(text)


def test_an_unreachable_server_is_an_infrastructure_error(tmp_path: Path) -> None:
    from mlops.processes import free_port

    registry = MlflowRegistry(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(InfrastructureError):
        registry.list_model_names()
