"""``deployer init`` and ``deployer status`` on a brand-new home, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import run, run_here


@pytest.fixture
def home_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {"DEPLOYER_HOME": str(tmp_path / "home")}
    if database_url.startswith("postgresql"):
        env["DEPLOYER_DATABASE_URL"] = database_url
    return env


def test_init_then_status_print_valid_json_on_a_new_home(home_env: dict[str, str]) -> None:
    init = run("init", "--json", env=home_env)
    assert init.code == 0, init.stderr
    doc = init.json()
    assert doc["ok"] is True
    assert doc["schema_revision"]
    assert Path(doc["home"]).is_dir()

    status = run("status", "--json", env=home_env)
    assert status.code == 0, status.stderr
    state = status.json()
    assert state["initialized"] is True
    assert state["schema_revision"] == doc["schema_revision"]
    assert state["models"] == []


def test_init_is_idempotent(home_env: dict[str, str]) -> None:
    # the command's code in this process (``run_here``): its process is the test above's, on
    # both databases too; what is judged here is a second run's outcome, not a process's
    first = run_here("init", "--json", env=home_env)
    second = run_here("init", "--json", env=home_env)
    assert (first.code, second.code) == (0, 0)
    assert first.json()["schema_revision"] == second.json()["schema_revision"]


def test_status_on_a_home_never_initialised_says_so_and_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "fresh"
    result = run("status", "--json", env={"DEPLOYER_HOME": str(home)})
    assert result.code == 0, result.stderr
    assert result.json()["initialized"] is False
    assert not (home / "deployer.db").exists()


BAD_URLS = {
    "garbage": ("not a url", ("init", "status")),
    "an unsupported database": ("mysql://nobody@127.0.0.1/x", ("init", "status")),
    # status only reads, so for it an SQLite file that cannot exist is simply not initialised
    "an unwritable sqlite path": ("sqlite:////proc/forbidden/deployer.db", ("init",)),
}


@pytest.mark.parametrize(("url", "commands"), BAD_URLS.values(), ids=BAD_URLS.keys())
def test_a_bad_database_url_is_one_readable_line_and_exit_2(
    tmp_path: Path, url: str, commands: tuple[str, ...]
) -> None:
    env = {"DEPLOYER_HOME": str(tmp_path / "home"), "DEPLOYER_DATABASE_URL": url}
    for command in commands:
        result = run(command, env=env)
        assert result.code == 2, (command, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr


def test_a_bad_database_url_with_json_still_prints_one_json_document(tmp_path: Path) -> None:
    env = {"DEPLOYER_HOME": str(tmp_path / "home"), "DEPLOYER_DATABASE_URL": "nope"}
    result = run("init", "--json", env=env)
    assert result.code == 2
    assert result.json()["error"]["exit_code"] == 2


def test_an_unreachable_postgres_is_an_infrastructure_error_exit_1(tmp_path: Path) -> None:
    from tests.postgres_server import free_port

    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nothing"
    env = {"DEPLOYER_HOME": str(tmp_path / "home"), "DEPLOYER_DATABASE_URL": url}
    result = run("init", env=env)
    assert result.code == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
