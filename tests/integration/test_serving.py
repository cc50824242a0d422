"""Real bentos served by real ``bentoml serve`` processes, called over real HTTP."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import yaml  # type: ignore[import-untyped]

from lifecycle.errors import EndpointCreationError, InvalidModelDirectoryError, PortInUseError
from lifecycle.ports import Endpoint, PackagedModel, RegisteredVersion
from lifecycle.stages import ModelStage
from mlops.endpoints_local import LocalEndpointManager
from mlops.packager_bentoml import BentoPackager
from mlops.processes import port_in_use
from mlops.training import TrainedModel, save_local

pytestmark = pytest.mark.usefixtures("no_leftover_servers")


def version(number: str, name: str = "iris") -> RegisteredVersion:
    return RegisteredVersion(name, number, ModelStage.STAGING, f"models:/{name}/{number}")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bentoml")


@pytest.fixture(scope="module")
def packager(home: Path) -> BentoPackager:
    return BentoPackager(home)


@pytest.fixture(scope="module")
def logreg(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    return save_local(tmp_path_factory.mktemp("models") / "logreg")


@pytest.fixture(scope="module")
def packaged(packager: BentoPackager, logreg: TrainedModel) -> PackagedModel:
    return packager.package(version("1"), Path(logreg.model_uri))


@pytest.fixture
def manager(home: Path, tmp_path: Path) -> LocalEndpointManager:
    return LocalEndpointManager(home, tmp_path / "logs", ready_timeout=60)


@pytest.fixture
def endpoint(manager: LocalEndpointManager, packaged: PackagedModel) -> Iterator[Endpoint]:
    served = manager.create("dep-test", packaged.bento_tag)
    yield served
    manager.remove(served)


def rows(model: TrainedModel, n: int = 20) -> list[list[float]]:
    return [[float(v) for v in row] for row in model.sample.values[:n]]


def predict(url: str, body: Any) -> httpx.Response:
    return httpx.post(f"{url}/predict", json=body, timeout=10)


def test_served_predictions_equal_the_models_own(endpoint: Endpoint, logreg: TrainedModel) -> None:
    expected = [int(p) for p in logreg.model.predict(logreg.sample[:20])]
    by_list = predict(endpoint.url, {"instances": rows(logreg)})
    assert by_list.status_code == 200
    assert by_list.json()["predictions"] == expected
    as_dicts = [dict(zip(logreg.columns, row, strict=True)) for row in rows(logreg)]
    assert predict(endpoint.url, {"instances": as_dicts}).json()["predictions"] == expected
    assert by_list.json()["model_version"] == "1"


def test_model_info_names_the_version_and_its_bento(
    endpoint: Endpoint, packaged: PackagedModel, logreg: TrainedModel
) -> None:
    info = httpx.get(f"{endpoint.url}/model_info").json()
    assert info["model_name"] == "iris"
    assert info["model_version"] == "1"
    assert info["bento_tag"] == packaged.bento_tag
    assert info["columns"] == logreg.columns


BAD_BODIES = {
    "no instances key": {"rows": [[1, 2, 3, 4]]},
    "instances is not a list": {"instances": "1,2,3,4"},
    "an empty list": {"instances": []},
    "too few columns": {"instances": [[1.0, 2.0]]},
    "ragged rows": {"instances": [[1.0, 2.0, 3.0, 4.0], [1.0]]},
    "a word where a number goes": {"instances": [[1.0, "two", 3.0, 4.0]]},
    "a dict row missing a column": {"instances": [{"sepal_length": 1.0}]},
    "a body that is a list": [[1, 2, 3, 4]],
}


def test_malformed_bodies_get_422_with_a_message_never_500(endpoint: Endpoint) -> None:
    for case, body in BAD_BODIES.items():
        response = predict(endpoint.url, body)
        assert response.status_code == 422, case
        assert response.json()["error"], case
    raw = httpx.post(f"{endpoint.url}/predict", content=b"{not json", timeout=10)
    assert raw.status_code == 422


def test_removing_an_endpoint_ends_every_process_and_frees_the_port(
    manager: LocalEndpointManager, packaged: PackagedModel
) -> None:
    served = manager.create("dep-remove", packaged.bento_tag)
    family = [served.pid, *(c.pid for c in psutil.Process(served.pid).children(recursive=True))]
    assert manager.is_alive(served)
    manager.remove(served)
    assert not any(psutil.pid_exists(pid) and _running(pid) for pid in family)
    assert not port_in_use(served.port)
    manager.remove(served)  # removing twice is harmless


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_a_killed_server_is_reported_dead_and_its_orphans_are_reaped(
    manager: LocalEndpointManager, packaged: PackagedModel
) -> None:
    served = manager.create("dep-kill", packaged.bento_tag)
    workers = [c.pid for c in psutil.Process(served.pid).children(recursive=True)]
    assert served.pid is not None
    os.kill(served.pid, signal.SIGKILL)
    psutil.Process(served.pid).wait(timeout=10) if _running(served.pid) else None
    assert not manager.is_alive(served)
    assert not manager.process_alive(served)
    manager.remove(served)
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(pid) for pid in workers)


def test_a_taken_port_is_refused_and_nothing_starts(
    manager: LocalEndpointManager, packaged: PackagedModel
) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(PortInUseError, match=str(port)):
            manager.create("dep-port", packaged.bento_tag, port=port)
    assert not manager.log_path("dep-port").exists()


def test_a_model_that_fails_to_load_raises_with_the_servers_log_and_leaves_nothing(
    manager: LocalEndpointManager, packager: BentoPackager, logreg: TrainedModel, home: Path
) -> None:
    broken = packager.package(version("66"), Path(logreg.model_uri))
    model_files = list((home / "models").rglob("v66/mlflow_model/model.*"))
    assert model_files
    for f in model_files:
        f.write_bytes(b"this is not a model")
    with pytest.raises(EndpointCreationError) as err:
        manager.create("dep-broken", broken.bento_tag)
    assert err.value.log_tail, "the error carries the server's last log lines"


def test_a_folder_that_is_not_a_model_is_refused_and_leaves_no_bento(
    packager: BentoPackager, tmp_path: Path, home: Path
) -> None:
    before = sorted(p.name for p in (home / "bentos").glob("*/*"))
    with pytest.raises(InvalidModelDirectoryError):
        packager.package(version("77"), tmp_path)
    assert sorted(p.name for p in (home / "bentos").glob("*/*")) == before
    assert not list((home / "models").rglob("v77"))


def test_packaging_the_same_version_twice_reuses_the_bento(
    packager: BentoPackager, packaged: PackagedModel, logreg: TrainedModel
) -> None:
    again = packager.package(version("1"), Path(logreg.model_uri))
    assert again == packaged


def test_a_forest_model_serves(
    manager: LocalEndpointManager, packager: BentoPackager, tmp_path: Path
) -> None:
    forest = save_local(tmp_path / "forest", kind="forest")
    bento = packager.package(version("1", name="forest"), tmp_path / "forest")
    served = manager.create("dep-forest", bento.bento_tag)
    try:
        got = predict(served.url, {"instances": rows(forest, 10)}).json()["predictions"]
        assert got == [int(p) for p in forest.model.predict(forest.sample[:10])]
    finally:
        manager.remove(served)


def bento_requirements(bento_path: str | Path) -> list[str]:
    """The Python packages a bento lists (``bento.yaml``: ``image.python_requirements``)."""
    info = yaml.safe_load((Path(bento_path) / "bento.yaml").read_text())
    return [line for line in info["image"]["python_requirements"].splitlines() if line]


def test_a_bento_lists_the_models_requirements_pinned_to_what_it_was_built_with(
    packaged: PackagedModel,
) -> None:
    listed = bento_requirements(packaged.path)
    # save_local's MLmodel names mlflow pinned and the rest bare: the bare ones are pinned here.
    for package in ("mlflow", "scikit-learn", "numpy", "pandas", "bentoml"):
        assert f"{package}=={metadata.version(package)}" in listed, listed
    locked = (Path(packaged.path) / "env" / "python" / "requirements.lock.txt").exists()
    assert not locked  # nothing was resolved against an index


def test_a_requirement_that_is_not_plain_pypi_is_left_out_with_a_warning(
    packager: BentoPackager, logreg: TrainedModel, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(logreg.model_uri, model_dir)
    with (model_dir / "requirements.txt").open("a") as listed:
        listed.write("\n-e ./vendor/mylib\nmylib @ file:///opt/mylib\ncloudpickle>=2\n")

    with caplog.at_level(logging.WARNING, logger="mlops.packager_bentoml"):
        built = packager.package(version("8"), model_dir)

    listed = bento_requirements(built.path)
    assert "cloudpickle>=2" in listed and not [line for line in listed if "mylib" in line]
    warned = [r.getMessage() for r in caplog.records]
    assert any("-e ./vendor/mylib (not a plain PyPI requirement)" in m for m in warned), warned
    assert any("mylib @ file:///opt/mylib" in m for m in warned), warned


def test_an_exported_archive_imports_and_serves_on_a_fresh_home(
    packager: BentoPackager, packaged: PackagedModel, logreg: TrainedModel, tmp_path: Path
) -> None:
    archive = packager.export(packaged.bento_tag, str(tmp_path / "export"))
    assert archive.endswith(".bento") and Path(archive).is_file()
    fresh = tmp_path / "fresh-home"
    env = {**os.environ, "BENTOML_HOME": str(fresh), "BENTOML_DO_NOT_TRACK": "true"}
    subprocess.run(
        [sys.executable, "-m", "bentoml", "import", str(Path(archive).resolve())],
        env=env,
        check=True,
        capture_output=True,
    )
    # The fresh home holds the archive's bento and its own model, nothing of the original's.
    name, _, number = packaged.bento_tag.partition(":")
    assert [p.name for p in (fresh / "models").iterdir()] == [f"{name}-model"]
    listed = bento_requirements(fresh / "bentos" / name / number)
    assert listed == bento_requirements(packaged.path)
    manager = LocalEndpointManager(fresh, tmp_path / "logs", ready_timeout=60)
    served = manager.create("dep-imported", packaged.bento_tag)
    try:
        got = predict(served.url, {"instances": rows(logreg, 5)}).json()["predictions"]
        assert got == [int(p) for p in logreg.model.predict(logreg.sample[:5])]
    finally:
        manager.remove(served)


def test_two_homes_in_one_process_each_keep_their_own_bentos(
    tmp_path: Path, logreg: TrainedModel
) -> None:
    first, second = BentoPackager(tmp_path / "a"), BentoPackager(tmp_path / "b")
    built_second = second.package(version("7"), Path(logreg.model_uri))
    built_first = first.package(version("7"), Path(logreg.model_uri))
    assert built_first.path.startswith(str(tmp_path / "a"))
    assert built_second.path.startswith(str(tmp_path / "b"))
    found = second.existing("iris", "7")
    assert found is not None and found.path.startswith(str(tmp_path / "b"))
    assert first.existing("iris", "8") is None
