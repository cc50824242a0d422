"""A new user's path through the CLI: register, package, serve, predict, sync, down."""

from __future__ import annotations

import re
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agents.entrypoints.cli.app import size_text
from mlops.processes import alive
from mlops.training import TrainedModel, train_and_log
from tests.e2e.cli import Result, run, run_here
from tests.mlflow_template import seed_mlflow_store

pytestmark = pytest.mark.usefixtures("no_leftover_servers")


def new_home(root: Path) -> Iterator[dict[str, str]]:
    env = {"DEPLOYER_HOME": str(root / "home")}
    seed_mlflow_store(root / "home" / "mlflow.db")
    assert run_here("init", env=env).code == 0  # set-up: test_cli_init_status runs the process
    yield env
    run_here("down", env=env)  # clean-up: whatever a failed test started


def train_in(env: dict[str, str]) -> TrainedModel:
    home = Path(env["DEPLOYER_HOME"])
    return train_and_log(f"sqlite:///{home / 'mlflow.db'}", artifact_root=home / "mlartifacts")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    yield from new_home(tmp_path)


@pytest.fixture
def trained(env: dict[str, str]) -> TrainedModel:
    return train_in(env)


@pytest.fixture(scope="module")
def registered_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One home with iris v1 registered, shared by the bad-input cases (none may change it)."""
    for env in new_home(tmp_path_factory.mktemp("bad-input")):
        trained = train_in(env)
        ok(run_here("register", "iris", "--model-uri", trained.model_uri, "--json", env=env))
        env["MODEL_URI"] = trained.model_uri
        env["BEFORE"] = repr(snapshot(env))
        yield env


def ok(result: Result) -> dict:  # type: ignore[type-arg]
    assert result.code == 0, result.stderr
    return result.json()  # type: ignore[no-any-return]


def test_register_package_serve_predict_and_down(
    env: dict[str, str], trained: TrainedModel, tmp_path: Path
) -> None:
    registered = ok(
        run(
            "register",
            "iris",
            "--model-uri",
            trained.model_uri,
            "--metric",
            "latency_ms=3",
            "--criteria",
            "accuracy>=0.8",
            "--json",
            env=env,
        )
    )
    assert (registered["version"], registered["stage"]) == ("1", "development")
    assert registered["criteria"] == ["accuracy>=0.8"]

    packaged = run("package", "iris", "1", "--export", str(tmp_path / "out"), env=env)
    assert packaged.code == 0, packaged.stderr
    exported = re.search(r"exported to (\S+\.bento) \((.+)\)", packaged.stdout)
    assert "built bento" in packaged.stdout and exported, packaged.stdout
    assert size_text(Path(exported[1]).stat().st_size) == exported[2]
    # reads and a second package in this process (``run_here``: the same command code); the
    # commands a new user's path needs as processes run as processes: register, package,
    # endpoints start (its server outlives the call), down
    again = ok(run_here("package", "iris", "v1", "--json", env=env))
    assert (again["reused"], again["export_path"], again["export_bytes"]) == (True, None, None)

    started = ok(run("endpoints", "start", "iris", "1", "--json", env=env))
    assert alive(started["pid"]), "the endpoint outlives the CLI call that started it"
    rows = [[float(v) for v in r] for r in trained.sample.values[:10]]
    answer = httpx.post(f"{started['endpoint_url']}/predict", json={"instances": rows}).json()
    assert answer["predictions"] == [int(p) for p in trained.model.predict(trained.sample[:10])]

    listed = ok(run_here("endpoints", "--json", env=env))["endpoints"]
    assert [(e["deployment_id"], e["alive"]) for e in listed] == [(started["deployment_id"], True)]
    # status's process: test_cli_init_status; sync's: tests/safety/test_names_and_privilege
    status = ok(run_here("status", "--json", env=env))
    assert status["models"][0]["versions"][0]["deployments"][0]["status"] == "active"
    assert ok(run_here("sync", "--json", env=env)) == {
        "added": [],
        "drift": [],
        "refused": [],
        "missing_in_registry": [],
        "unchanged": 1,
    }

    stopped = ok(run("down", "--json", env=env))
    assert stopped["stopped"] == [started["deployment_id"]]
    assert not alive(started["pid"])


def snapshot(env: dict[str, str]) -> dict[str, object]:
    """Every row of every database in the home (state, MLflow, memory) and the bentos built.

    Read directly rather than through two more CLI calls per case: stricter, and 6 s faster."""
    home = Path(env["DEPLOYER_HOME"])
    found: dict[str, object] = {}
    for db in sorted(home.rglob("*.db")):
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            listed = conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            for table in sorted(t for (t,) in listed):
                rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()
                found[f"{db.relative_to(home)}:{table}"] = sorted(map(repr, rows))
    found["bentos"] = sorted(str(p.relative_to(home)) for p in home.glob("bentoml/bentos/*/*"))
    return found


BAD = {
    "a model URI that does not exist": ("register", "iris", "--model-uri", "/no/such/model"),
    "a folder that is not an MLflow model": ("register", "iris", "--model-uri", "{tmp}"),
    "an invalid model name": ("register", "9 lives", "--model-uri", "{uri}"),
    "a malformed criterion": ("register", "iris", "--model-uri", "{uri}", "--criteria", "acc"),
    "a malformed metric": ("register", "iris", "--model-uri", "{uri}", "--metric", "acc"),
    "an unknown model": ("package", "ghost", "1"),
    "an unknown version": ("package", "iris", "9"),
    "a garbage version": ("package", "iris", "latest!"),
    "an unknown deployment": ("endpoints", "stop", "dep-404"),
}
AS_PROCESSES = {"a model URI that does not exist", "an unknown version", "an unknown deployment"}
"""One case per command runs as a process (what a person sees: the exit status, and no warning
on stderr beside the one line); the others run the same command code in this process
(``run_here``), which decides the exit code and the line: six process starts fewer."""


@pytest.mark.parametrize("case", BAD.keys())
def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    registered_home: dict[str, str], tmp_path: Path, case: str
) -> None:
    env = registered_home
    argv = [a.format(tmp=tmp_path, uri=env["MODEL_URI"]) for a in BAD[case]]
    result = run(*argv, env=env) if case in AS_PROCESSES else run_here(*argv, env=env)
    assert result.code == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert repr(snapshot(env)) == env["BEFORE"]


def test_a_taken_port_exits_2_and_records_no_running_endpoint(
    env: dict[str, str], trained: TrainedModel
) -> None:
    ok(run_here("register", "iris", "--model-uri", trained.model_uri, "--json", env=env))  # set-up
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = str(blocker.getsockname()[1])
        result = run("endpoints", "start", "iris", "1", "--port", port, env=env)
    assert result.code == 2, result.stderr
    assert port in result.stderr
    endpoints = ok(run("endpoints", "--json", env=env))["endpoints"]
    assert all(e["status"] == "failed" and not e["alive"] for e in endpoints)
