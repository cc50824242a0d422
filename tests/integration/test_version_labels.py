"""Versions people use (issue 15) on the real MLflow registry and the real state database
(SQLite and PostgreSQL): labels at registration and later, unique per model with nothing
written when refused, every way of naming a version resolved to one number, sync keeping
labels, and ``@champion``/``@challenger`` moving across a canary's routing tables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient

from agents.bootstrap import Container, bootstrap
from agents.commands import Promote, Register
from agents.handlers import labels, operations, registration, serving
from agents.handlers.traffic import set_routes
from agents.settings import Settings
from database.versions import resolve_version
from lifecycle.errors import InfrastructureError, UnknownModelError
from lifecycle.stages import DeploymentStatus, ModelStage
from lifecycle.version_labels import LabelTakenError, UnknownVersionError
from mlops.mlflow_env import tracking
from mlops.training import train_and_log
from tests.access_fixtures import grant_roles
from tests.integration.db_helpers import deployment_row
from tests.mlflow_template import seed_mlflow_store
from tests.schema_template import migrated

MODEL = "iris"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, str]:
    """One MLflow store and one trained model for the module: (tracking URI, root, model URI)."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    seed_mlflow_store(uri)
    return uri, root / "artifacts", train_and_log(uri, artifact_root=root / "artifacts").model_uri


@pytest.fixture
def c(database_url: str, store: tuple[str, Path, str], tmp_path: Path) -> Iterator[Container]:
    """A home on SQLite and on PostgreSQL (where the unique index decides)."""
    yield from _home(database_url, store, tmp_path)


@pytest.fixture
def c_sqlite(sqlite_url: str, store: tuple[str, Path, str], tmp_path: Path) -> Iterator[Container]:
    """A home on SQLite: for what reads the same on both databases."""
    yield from _home(sqlite_url, store, tmp_path)


def _home(database_url: str, store: tuple[str, Path, str], tmp_path: Path) -> Iterator[Container]:
    migrated(database_url)
    settings = Settings(
        DEPLOYER_HOME=str(tmp_path / "home"),
        DEPLOYER_DATABASE_URL=database_url,
        MLFLOW_TRACKING_URI=store[0],
    )
    settings.ensure_home()
    container = bootstrap(settings)
    grant_roles(container, {})
    yield container
    container.close()


def model_name(request: pytest.FixtureRequest) -> str:
    """A model name of this test's own (the MLflow store is the module's)."""
    return f"{MODEL}_{abs(hash(request.node.nodeid)) % 10**8}"


def register(c: Container, store: tuple[str, Path, str], name: str, label: str | None) -> str:
    command = Register(model_name=name, model_uri=store[2], label=label)
    return str(registration.register(c, command, c.settings.user)["version"])


def footprint(c: Container, name: str) -> tuple[list[tuple[str, str | None]], int, list[str]]:
    """What a refusal must leave alone: rows (version, label), audit events, MLflow versions."""
    with c.reader() as uow:
        rows = [(r.version, r.label) for r in uow.models.list(name)]
        events = len(uow.audit.list())
    return rows, events, [v.version for v in c.registry.list_versions(name)]


def test_a_label_is_stored_and_tagged_and_a_taken_one_writes_nothing(
    c: Container, store: tuple[str, Path, str], request: pytest.FixtureRequest
) -> None:
    name = model_name(request)
    assert register(c, store, name, "v1.0.0") == "1"
    with tracking(store[0]):
        assert MlflowClient().get_model_version(name, "1").tags["label"] == "1.0.0"
    before = footprint(c, name)
    assert before[0] == [("1", "1.0.0")]

    with pytest.raises(LabelTakenError, match=r"v1 is already labelled 1\.0\.0") as refused:
        register(c, store, name, "1.0.0")

    assert refused.value.exit_code == 3
    assert footprint(c, name) == before  # not in the database, not in MLflow


def test_every_way_of_naming_a_version_resolves_to_its_number(
    c_sqlite: Container, store: tuple[str, Path, str], request: pytest.FixtureRequest
) -> None:
    c = c_sqlite
    name = model_name(request)
    register(c, store, name, "1.0.0")
    register(c, store, name, None)
    register(c, store, name, "1.1.0")
    with c.reader() as uow:
        found = {t: resolve_version(uow.models, name, t) for t in ("latest", "v1.0.0", "1.1.0")}
        assert found == {"latest": "3", "v1.0.0": "1", "1.1.0": "3"}
        assert resolve_version(uow.models, name, "v2") == "2"
        with pytest.raises(UnknownVersionError, match=r"its labels: 1\.1\.0, 1\.0\.0"):
            resolve_version(uow.models, name, "2.0.0")
    promoted = operations.execute(
        c, Promote(model_name=name, version="1.1.0", target_stage="staging"), c.settings.user, "cli"
    )
    assert (promoted["version"], promoted["version_record"]["label"]) == ("3", "1.1.0")
    assert c.registry.get_version(name, "3").stage is ModelStage.STAGING


def test_a_label_given_later_is_kept_unless_forced_and_sync_keeps_it(
    c: Container, store: tuple[str, Path, str], request: pytest.FixtureRequest
) -> None:
    name = model_name(request)
    register(c, store, name, None)
    register(c, store, name, "2.0.0")
    user = c.settings.user
    done = labels.label(c, name, "1", "1.0.0", user)
    assert (done["version"], done["label"], done["changed"]) == ("1", "1.0.0", True)
    before = footprint(c, name)
    for refused in (("1", "1.0.1", False), ("latest", "1.0.0", True)):
        with pytest.raises(LabelTakenError):
            labels.label(c, name, *refused[:2], user, force=refused[2])
    assert footprint(c, name) == before
    labels.label(c, name, "v1", "1.0.1", user, force=True)
    assert c.registry.get_version(name, "1").label == "1.0.1"
    with c.reader() as uow:
        [event] = [e for e in uow.audit.list(f"{name}/1") if e.action == "version_labelled"][-1:]
    assert event.payload["previous"] == "1.0.0" and "labelled 1.0.1" in event.payload["summary"]

    c.registry.set_label(name, "1", "9.9.9")  # someone edits the tag in MLflow
    registration.sync_registry(c.uow, c.registry, user)
    with c.reader() as uow:
        assert [(r.version, r.label) for r in uow.models.list(name)] == [
            ("1", "1.0.1"),
            ("2", "2.0.0"),
        ]


def test_sync_adopts_a_free_label_tag_of_a_version_it_adds_and_no_taken_one(
    c_sqlite: Container, store: tuple[str, Path, str], request: pytest.FixtureRequest
) -> None:
    c = c_sqlite
    name = model_name(request)
    register(c, store, name, "1.0.0")
    c.registry.register(name, store[2], label="1.0.0")  # straight into MLflow: a taken label
    c.registry.register(name, store[2], label="1.1.0")
    registration.sync_registry(c.uow, c.registry, c.settings.user)
    with c.reader() as uow:
        found = [(r.version, r.label) for r in uow.models.list(name)]
    assert found == [("1", "1.0.0"), ("2", None), ("3", "1.1.0")]


def test_champion_and_challenger_follow_a_canarys_routing_tables(
    c_sqlite: Container, store: tuple[str, Path, str], request: pytest.FixtureRequest
) -> None:
    c = c_sqlite
    name = model_name(request)
    for label in ("1.0.0", "1.1.0"):
        register(c, store, name, label)
    stable, canary = f"{name}-stable", f"{name}-canary"
    with c.uow() as uow:
        for deployment_id, version in ((stable, "1"), (canary, "2")):
            row = deployment_row(deployment_id, DeploymentStatus.ACTIVE, name, version)
            row.target_stage = ModelStage.PRODUCTION.value
            uow.deployments.add(row)
            # set-up, not the subject: v1 archived by v2's approval, both may take weight
            uow.models.get(name, version).stage = ("archived", "production")[version == "2"]
        uow.commit()
    user = c.settings.user
    tables = [
        ({stable: 100.0}, {"champion": "1"}),
        ({stable: 90.0, canary: 10.0}, {"champion": "1", "challenger": "2"}),
        ({stable: 50.0, canary: 50.0}, {"champion": "1", "challenger": "2"}),
        ({canary: 100.0}, {"champion": "2"}),
        ({stable: 100.0}, {"champion": "1"}),  # rolled back
    ]
    seen = []
    for weights, _ in tables:
        set_routes(c, name, weights, user, stable=stable if stable in weights else canary)
        seen.append(dict(c.registry.aliases(name)))
    assert seen == [aliases for _, aliases in tables]


def canary_of(c: Container, store: tuple[str, Path, str], name: str) -> None:
    """v1 stable at 90% and v2 a 10% canary of ``name``: @champion v1, @challenger v2."""
    for label in ("1.0.0", "1.1.0"):
        register(c, store, name, label)
    stable, canary = f"{name}-stable", f"{name}-canary"
    with c.uow() as uow:
        for deployment_id, version in ((stable, "1"), (canary, "2")):
            row = deployment_row(deployment_id, DeploymentStatus.ACTIVE, name, version)
            row.target_stage = ModelStage.PRODUCTION.value
            row.endpoint_pid = None  # no server behind it: down has nothing to kill
            uow.deployments.add(row)
            uow.models.get(name, version).stage = ("archived", "production")[version == "2"]
        uow.commit()
    set_routes(c, name, {stable: 90.0, canary: 10.0}, c.settings.user, stable=stable)
    assert dict(c.registry.aliases(name)) == {"champion": "1", "challenger": "2"}


def test_down_moves_the_serving_aliases_at_once_and_a_failed_move_keeps_the_stop(
    c_sqlite: Container,
    store: tuple[str, Path, str],
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c, user = c_sqlite, c_sqlite.settings.user
    moved, kept = f"{model_name(request)}_a", f"{model_name(request)}_b"
    canary_of(c, store, moved)
    out = serving.down(c, user)
    assert out["aliases"][moved] == {"champion": None, "challenger": None}
    assert dict(c.registry.aliases(moved)) == {}  # no tick needed
    canary_of(c, store, kept)

    def unreachable(*args: object) -> None:
        raise InfrastructureError("the MLflow registry did not answer")

    monkeypatch.setattr(c.registry, "move_aliases", unreachable)
    out = serving.down(c, user)
    assert sorted(out["stopped"]) == [f"{kept}-canary", f"{kept}-stable"]  # the stop stands
    assert out["routes_cleared"] == [kept] and c.router.get_routes(kept) is None
    assert "did not answer" in out["aliases"][kept]["error"]
    with c.reader() as uow:
        [event] = [e for e in uow.audit.list(kept) if e.action == "serving_aliases_not_moved"]
        statuses = {d.status for d in uow.deployments.list(kept)}
    assert event.payload["model"] == kept and "@champion" in event.payload["summary"]
    assert statuses == {DeploymentStatus.ROLLED_BACK.value}
    monkeypatch.undo()
    assert dict(c.registry.aliases(kept)) == {"champion": "1", "challenger": "2"}  # noticed


def test_a_version_of_another_model_is_not_found_by_its_label(
    c_sqlite: Container, store: tuple[str, Path, str], request: pytest.FixtureRequest
) -> None:
    c = c_sqlite
    name = model_name(request)
    register(c, store, name, "1.0.0")
    other = f"{name}_other"
    register(c, store, other, None)
    with c.reader() as uow:
        with pytest.raises(UnknownVersionError, match=r"has no version labelled 1\.0\.0"):
            resolve_version(uow.models, other, "1.0.0")
        with pytest.raises(UnknownModelError, match=r"no model named"):
            resolve_version(uow.models, f"{name}_ghost", "latest")
