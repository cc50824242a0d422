"""``deployer capture`` in process (typer's runner, a real SQLite home): a bad percent, an
unknown model, a bad export path or duration are one line and exit 2, and change nothing;
enable, status --json and disable read back what was set; an export with nothing captured
writes an empty Parquet file; remote mode refuses export, a status without a name and a bad
percent with one line, before calling the API."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from agents.entrypoints.cli.app import app
from agents.settings import Settings
from database.audit import AUDIT_KEY_INFO
from database.engine import make_engine, make_session_factory
from tests.integration.db_helpers import add_version
from tests.schema_template import migrated


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    env = {"DEPLOYER_HOME": str(tmp_path / "home"), "DEPLOYER_AUDIT_KEY": "k" * 32}
    settings = Settings.model_validate(env)
    settings.ensure_home()
    migrated(settings.database_url)
    engine = make_engine(settings.database_url)
    add_version(make_session_factory(engine, {AUDIT_KEY_INFO: lambda: b"k"}), "iris", "1")
    engine.dispose()
    return env


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={**env, "DEPLOYER_API_URL": ""})
    return result.exit_code, result.stdout, result.stderr


def status(env: dict[str, str]) -> list[dict[str, object]]:
    code, out, _ = run(env, "capture", "status", "--json")
    assert code == 0, out
    return list(json.loads(out)["models"])


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("enable", "iris", "--percent", "101"), "the capture percent must be from 0 to 100"),
        (("enable", "iris", "--percent", "ten"), "the capture percent must be a number"),
        (("enable", "iris", "--percent", "nan"), "the capture percent must be from 0 to 100"),
        (("enable", "nobody", "--percent", "10"), "unknown model 'nobody'"),
        (("status", "nobody"), "unknown model 'nobody'"),
        (("export", "iris", "--to", "x.csv"), "must end in .parquet"),
        (("export", "iris", "--to", "/nowhere/x.parquet"), "no such folder"),
        (("export", "iris", "--to", "x.parquet", "--since", "soon"), "is not a duration"),
    ],
)
def test_bad_capture_input_is_one_line_exit_2_and_changes_nothing(
    home: dict[str, str], args: tuple[str, ...], line: str
) -> None:
    code, _, err = run(home, "capture", *args)
    assert code == 2 and line in err and len(err.strip().splitlines()) == 1, err
    assert status(home) == []


def test_enable_status_and_disable_read_back_what_was_set(
    home: dict[str, str], tmp_path: Path
) -> None:
    code, out, _ = run(home, "capture", "enable", "iris", "--percent", "12.5")
    assert code == 0 and "capturing 12.5% of iris's requests" in out
    (shown,) = status(home)
    assert (shown["model_name"], shown["percent"], shown["captured"]) == ("iris", 12.5, 0)
    path = tmp_path / "empty.parquet"
    code, out, _ = run(home, "capture", "export", "iris", "--to", str(path))
    assert code == 0 and "wrote 0 prediction(s)" in out and len(pd.read_parquet(path)) == 0
    assert run(home, "capture", "disable", "iris")[0] == 0
    assert [m["enabled"] for m in status(home)] == [False]


def test_remote_mode_refuses_what_it_cannot_do_with_one_line() -> None:
    from agents.entrypoints.cli.remote_commands import app as remote_app

    env = {"DEPLOYER_API_URL": "http://127.0.0.1:9", "DEPLOYER_TOKEN": "t" * 20}
    for args, line in (
        (["capture", "export", "iris", "--to", "x.parquet"], "is local only"),
        (["capture", "status"], "needs a model name in remote mode"),
        (["capture", "enable", "iris", "--percent", "-5"], "must be from 0 to 100"),
    ):
        result = CliRunner().invoke(remote_app, args, env=env)
        assert result.exit_code == 2 and line in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
