"""Least privilege, the pure parts: a model server's environment is an allow-list, a version's
preprocessing comes only from its own run, and the home's secret files are private."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from agents.private import ensure_private_dir, write_private_file
from agents.settings import Settings
from lifecycle.errors import BadInputError, ConfigurationError, ForeignArtifactError
from lifecycle.ports import Endpoint
from mlops.endpoints_local import LocalEndpointManager, server_env
from mlops.mlflow_env import QUIET_ENV
from mlops.registry_mlflow import own_artifact_path

CALLER = {
    "PATH": "/usr/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TMPDIR": "/tmp/x",
    "HOME": "/home/alice",
    "PYTHONPATH": "/work/src",
    "DEPLOYER_API_SECRET": "api-secret",
    "DEPLOYER_TOKEN": "secret-token",
    "DEPLOYER_GATEWAY_TOKEN": "gateway-secret",
    "DEPLOYER_DATABASE_URL": "postgresql+psycopg://u:pw@db/deployer",
    "DEPLOYER_AUDIT_KEY": "k",
    "MLFLOW_TRACKING_URI": "http://u:pw@mlflow",
    "MLFLOW_TRACKING_PASSWORD": "pw",
    "AWS_SECRET_ACCESS_KEY": "aws",
    "DEPLOYER_FAULT_ERROR_RATE": "0.2",
}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_model_server_gets_only_the_allow_listed_environment(tmp_path: Path) -> None:
    env = server_env(tmp_path / "bentoml", "dep-1", 2, tmp_path / "h", None, CALLER)
    assert env == {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": "/tmp/x",
        "DEPLOYER_FAULT_ERROR_RATE": "0.2",
        **QUIET_ENV,
        "HOME": str(tmp_path / "h"),
        "BENTOML_HOME": str(tmp_path / "bentoml"),
        "DEPLOYER_WORKERS": "2",
        "DEPLOYER_DEPLOYMENT_ID": "dep-1",
        "SPT_NOENV": "1",
    }


def test_extra_environment_reaches_a_server_only_for_the_fault_drills(tmp_path: Path) -> None:
    extra = {"DEPLOYER_FAULT_LATENCY_MS": "50", "DEPLOYER_DATABASE_URL": "sqlite:///x"}
    env = server_env(tmp_path, "dep-1", 0, tmp_path, extra, {})
    assert env["DEPLOYER_FAULT_LATENCY_MS"] == "50" and env["DEPLOYER_WORKERS"] == "1"
    assert "DEPLOYER_DATABASE_URL" not in env


RUN = "a1b2c3"
ARTIFACTS = "file:///home/mlartifacts/1/a1b2c3/artifacts"


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        (f"runs:/{RUN}/preprocessing.joblib", "preprocessing.joblib"),
        (f"runs:/{RUN}/pre/step.joblib", "pre/step.joblib"),
        (f"{ARTIFACTS}/pre/step.joblib", "pre/step.joblib"),
        (f"{ARTIFACTS}/step.joblib", "step.joblib"),
    ],
)
def test_a_preprocessing_uri_of_the_versions_own_run_is_its_path_in_the_run(
    uri: str, path: str
) -> None:
    assert own_artifact_path(uri, RUN, ARTIFACTS + "/") == path


@pytest.mark.parametrize(
    ("uri", "run_id"),
    [
        ("/etc/passwd", RUN),
        ("preprocessing.joblib", RUN),
        ("file:///etc/passwd", RUN),
        ("http://example.com/pre.joblib", RUN),
        ("runs:/other-run/preprocessing.joblib", RUN),
        (f"runs:/{RUN}/../other/preprocessing.joblib", RUN),
        (f"runs:/{RUN}/./x", RUN),
        (f"runs:/{RUN}/", RUN),
        (f"runs:/{RUN}//etc/passwd", RUN),
        (f"runs:/{RUN}/a\\..\\b", RUN),
        (f"runs:/{RUN}x/pre.joblib", RUN),
        (f"{ARTIFACTS}/../../b2/artifacts/pre.joblib", RUN),
        (f"{ARTIFACTS}x/pre.joblib", RUN),
        (f"runs:/{RUN}/pre.joblib", None),
    ],
)
def test_any_other_preprocessing_uri_is_refused(uri: str, run_id: str | None) -> None:
    with pytest.raises(ForeignArtifactError) as raised:
        own_artifact_path(uri, run_id, ARTIFACTS)
    assert raised.value.exit_code == 3
    assert str(raised.value).startswith(f"preprocessing_uri {uri!r} is not an artifact of the")


def test_a_new_home_is_private(tmp_path: Path) -> None:
    settings = Settings(DEPLOYER_HOME=str(tmp_path / "home"))
    home = settings.ensure_home()
    assert mode(home) == 0o700
    for sub in (settings.artifact_root, settings.bentoml_home, settings.log_dir):
        assert mode(sub) == 0o700


def test_an_existing_home_with_looser_permissions_is_tightened(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    Settings(DEPLOYER_HOME=str(home)).ensure_home()
    assert mode(home) == 0o700


def test_a_home_that_cannot_be_made_private_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigurationError) as raised:
        ensure_private_dir(blocker / "home")
    assert str(raised.value).startswith(f"cannot make {blocker / 'home'} private (mode 0700): ")


def test_the_gateway_token_file_is_0600_and_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEPLOYER_GATEWAY_TOKEN", raising=False)
    settings = Settings(DEPLOYER_HOME=str(tmp_path / "home"))
    token = settings.gateway_token
    path = tmp_path / "home" / "gateway.token"
    assert mode(path) == 0o600 and mode(tmp_path / "home") == 0o700
    assert len(token) >= 40 and path.read_text() == token
    assert [p.name for p in path.parent.iterdir()] == ["gateway.token"]  # no temporary left


def test_a_private_file_never_replaces_one_that_exists_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "key"
    assert write_private_file(path, "first") is True
    assert write_private_file(path, "second") is False
    assert path.read_text() == "first"
    assert write_private_file(path, "third", replace=True) is True
    assert path.read_text() == "third" and mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key"]


def test_concurrent_writers_of_one_secret_agree_on_one_whole_value(tmp_path: Path) -> None:
    path = tmp_path / "token"
    seen: list[str] = []

    def create(n: int) -> None:
        write_private_file(path, f"token-{n:04d}" * 8)
        seen.append(path.read_text())

    threads = [threading.Thread(target=create, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1 and len(seen[0]) == 80
    assert os.listdir(tmp_path) == ["token"]


@pytest.mark.parametrize("deployment_id", ["..", "../x", "a/b", "", "."])
def test_a_deployment_id_that_is_not_one_folder_name_gets_no_server_home(
    tmp_path: Path, deployment_id: str
) -> None:
    manager = LocalEndpointManager(tmp_path / "bentoml", tmp_path / "logs")
    with pytest.raises(BadInputError):
        manager.private_home(deployment_id)
    assert not (tmp_path / "bentoml").exists()


def test_a_server_home_is_private_and_removed_with_its_server(tmp_path: Path) -> None:
    manager = LocalEndpointManager(tmp_path / "bentoml", tmp_path / "logs")
    home = manager.private_home("dep-1")
    assert home == tmp_path / "bentoml" / "servers" / "dep-1" and mode(home) == 0o700
    manager.remove(Endpoint("dep-1", "http://127.0.0.1:9", 9, None))
    assert not home.exists()
