"""Upgrades lose nothing: a database populated at each earlier schema revision, with a row in
every table, upgrades to head (``deployer init``'s path and ``alembic upgrade head``) on SQLite
and PostgreSQL; every row survives, and the state it holds still works under today's code (a
waiting approval can be decided, a routed deployment is still routed). A process that finds a
schema newer than it knows refuses with one line instead of misreading it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, MetaData, Numeric, Table, text
from sqlalchemy.engine import Engine

from agents.bootstrap import Container
from agents.settings import Settings
from database import migrate
from database.engine import make_engine
from database.schema import SchemaMismatchError, known_revisions

EARLIER = known_revisions()[:-1]
AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
MODEL = "iris"

# Realistic values where today's code will read the rows back; every other column gets a
# made-up value of its type. Keys are (table, column).
REAL: dict[tuple[str, str], Any] = {
    ("ml_model_registry", "model_version_id"): "iris/2",
    ("ml_model_registry", "model_name"): MODEL,
    ("ml_model_registry", "version"): "2",
    ("ml_model_registry", "stage"): "shadow",
    ("ml_model_registry", "metrics"): {"accuracy": 0.93},
    ("ml_model_registry", "params"): {},
    ("ml_model_registry", "success_criteria"): {"criteria": ["accuracy>=0.9"]},
    ("ml_model_registry", "row_version"): 1,
    ("ml_model_registry", "label"): "1.0.1",
    ("ml_model_registry", "lineage"): {"trigger": "drift", "retraining_run_id": "rt-0a1b2c3d"},
    ("retraining_runs", "id"): "rt-0a1b2c3d",
    ("retraining_runs", "model_name"): MODEL,
    ("retraining_runs", "active_model"): None,
    ("retraining_runs", "trigger"): "drift",
    ("retraining_runs", "status"): "handed_over",
    ("retraining_runs", "evaluation"): {"rows": 30, "candidate": {"accuracy": 0.95}},
    ("retraining_runs", "resume_attempts"): 1,
    ("retraining_policies", "model_name"): MODEL,
    ("retraining_policies", "project"): "/srv/projects/iris",
    ("retraining_policies", "entry_point"): "main",
    ("retraining_policies", "params"): {"max_iter": 200},
    ("retraining_policies", "schedule"): "0 3 * * 1",
    ("retraining_policies", "drift_features"): 2,
    ("ml_deployments", "deployment_id"): "iris-v2-0a1b2c3d",
    ("ml_deployments", "model_name"): MODEL,
    ("ml_deployments", "model_version"): "2",
    ("ml_deployments", "target_stage"): "production",
    ("ml_deployments", "strategy"): "direct",
    ("ml_deployments", "status"): "active",
    ("ml_deployments", "traffic_percentage"): 100.0,
    ("ml_deployments", "row_version"): 1,
    ("ml_deployments", "changing_run_id"): None,
    ("ml_deployments", "changing_since"): None,
    ("ml_deployments", "serving_backend"): "local",
    ("ml_deployments", "replicas"): 2,  # issue 17: status and rollbacks read these
    ("ml_deployments", "cpu_limit"): "0.5",
    ("ml_deployments", "memory_limit"): "512Mi",
    ("ml_deployments", "autoscaling"): {},
    ("alert_channels", "tenant"): None,  # issue 19: the platform's channel, told every alert
    ("approvals", "approval_id"): "apr-0123456789ab",
    ("approvals", "model_name"): MODEL,
    ("approvals", "version"): "2",
    ("approvals", "target_stage"): "production",
    ("approvals", "action"): "promote",
    ("approvals", "requested_by"): "alice",
    ("approvals", "state"): "pending",
    ("approvals", "approver"): None,
    ("approvals", "decided_at"): None,
    ("approvals", "row_version"): 1,
    ("access_bindings", "role"): "viewer",
    ("routes", "model_name"): MODEL,
    ("routes", "weights"): {"iris-v2-0a1b2c3d": 100.0},
    ("routes", "shadow_deployment_id"): None,
    ("routes", "shadow_percent"): 0.0,
    ("routes", "stable_deployment_id"): "iris-v2-0a1b2c3d",
    ("routes", "revision"): 3,
    ("capture_settings", "model_name"): MODEL,
    ("capture_settings", "percent"): 10.0,
    ("predictions", "request_id"): "7f9c2b1e-3d4a-4e5f-8a6b-0c1d2e3f4a5b",
    ("predictions", "model_name"): MODEL,
    ("predictions", "version"): "2",
    ("predictions", "deployment_id"): "iris-v2-0a1b2c3d",
    ("predictions", "status"): 200,
    ("predictions", "inputs"): {"instances": [[5.1, 3.5, 1.4, 0.2]]},
    ("predictions", "output"): {"predictions": [0]},
    ("feedback", "request_id"): "7f9c2b1e-3d4a-4e5f-8a6b-0c1d2e3f4a5b",
    ("feedback", "model_name"): MODEL,
    ("feedback", "label"): 0.0,
    ("feedback", "updated_by"): None,
    ("feedback", "updated_at"): None,
    ("quality_checks", "model_name"): MODEL,
    ("quality_checks", "version"): "2",
    ("quality_checks", "deployment_id"): "iris-v2-0a1b2c3d",
    ("quality_checks", "task"): "classification",
    ("quality_checks", "metric"): "accuracy",
    ("quality_checks", "verdict"): "ok",
    ("reference_samples", "model_version_id"): "iris/2",
    ("reference_samples", "model_name"): MODEL,
    ("reference_samples", "version"): "2",
    ("reference_samples", "source"): "file:/data/iris_train.csv",
    ("reference_samples", "columns"): ["sepal_length", "sepal_width"],
    ("reference_samples", "rows"): [[5.1, 3.5], [4.9, 3.0]],
    ("reference_samples", "row_count"): 2,
    ("reference_samples", "source_rows"): 2,
    ("drift_checks", "model_name"): MODEL,
    ("drift_checks", "version"): "2",
    ("drift_checks", "deployment_id"): "iris-v2-0a1b2c3d",
    ("drift_checks", "window_seconds"): 3600.0,
    ("drift_checks", "verdict"): "no_drift",
    ("drift_checks", "drifted"): [],
    ("drift_checks", "current_rows"): 500,
    ("drift_checks", "reference_rows"): 2,
    ("drift_checks", "columns"): [],
    ("drift_checks", "summary"): "no drift in 2 columns",
    ("slo_objectives", "model_name"): MODEL,
    ("slo_objectives", "objectives"): {"p95_ms": 50.0, "p99_ms": None},
    ("slo_states", "deployment_id"): "iris-v2-0a1b2c3d",
    ("slo_states", "model_name"): MODEL,
    ("slo_states", "status"): "passed",
    ("slo_states", "samples"): {"samples": []},
}


def upgrade_to(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            config = migrate.alembic_config(url)
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def made_up(table: Table, column: Any, parents: dict[tuple[str, str], Any]) -> Any:
    """A value of ``column``'s type: the real one, a parent's key, or one made up."""
    key = (table.name, column.name)
    if key in REAL:
        return REAL[key]
    for fk in column.foreign_keys:
        return parents[(fk.column.table.name, fk.column.name)]
    kind = column.type
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, Integer):
        return 7
    if isinstance(kind, Float | Numeric):
        return 0.25
    if isinstance(kind, DateTime):
        return AT
    if isinstance(kind, JSON) or type(kind).__name__ in ("JSON", "JSONB"):
        return {"kept": [1, "two"]}
    length = getattr(kind, "length", None) or 40
    return f"{table.name}.{column.name}"[:length]


def populate(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """One row in every table that exists at the database's revision; returns what was read
    back, by table."""
    meta = MetaData()
    meta.reflect(engine)
    tables = [t for t in meta.sorted_tables if t.name != "alembic_version"]
    parents: dict[tuple[str, str], Any] = {}
    with engine.begin() as conn:
        for table in tables:
            row = {c.name: made_up(table, c, parents) for c in table.columns}
            conn.execute(table.insert().values(**row))
            parents.update({(table.name, k): v for k, v in row.items()})
    return snapshot(engine, {t.name: [c.name for c in t.columns] for t in tables})


def snapshot(engine: Engine, columns: dict[str, list[str]]) -> dict[str, list[dict[str, Any]]]:
    """The rows of ``columns`` (table -> column names), as JSON-comparable dicts."""
    meta = MetaData()
    meta.reflect(engine, only=list(columns))
    seen: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for name, names in columns.items():
            table = meta.tables[name]
            rows = conn.execute(table.select()).mappings().all()
            seen[name] = [
                json.loads(json.dumps({k: r[k] for k in names}, default=str)) for r in rows
            ]
    return seen


@pytest.mark.parametrize("start", EARLIER)
def test_a_populated_database_at_an_earlier_revision_upgrades_to_head_losing_no_row(
    database_url: str, start: str
) -> None:
    upgrade_to(database_url, start)
    engine = make_engine(database_url)
    try:
        before = populate(engine)
        assert migrate.upgrade(database_url) == known_revisions()[-1]
        after = snapshot(engine, {t: list(rows[0]) for t, rows in before.items()})
    finally:
        engine.dispose()
    assert after == before


def test_the_state_of_the_last_release_still_works_after_the_upgrade(database_url: str) -> None:
    """The last revision before head holds a waiting approval and a routed deployment; after
    the upgrade today's code decides the approval and still routes the deployment."""
    upgrade_to(database_url, EARLIER[-1])
    engine = make_engine(database_url)
    try:
        populate(engine)
    finally:
        engine.dispose()
    migrate.upgrade(database_url)

    c = Container(Settings(DEPLOYER_DATABASE_URL=database_url, DEPLOYER_HOME="/nonexistent"))
    try:
        assert c.router.get_routes(MODEL).weights == {"iris-v2-0a1b2c3d": 100.0}  # type: ignore[union-attr]
        with c.uow() as uow:
            deployment = uow.deployments.get("iris-v2-0a1b2c3d")
            assert (deployment.status, deployment.traffic_percentage) == ("active", 100.0)
            approval = uow.approvals.get("apr-0123456789ab")
            assert approval.state == "pending"
            approval.state, approval.approver, approval.decided_at = "approved", "bob", AT
            uow.commit()
        with c.reader() as uow:
            assert uow.approvals.get("apr-0123456789ab").approver == "bob"
            version = uow.models.get(MODEL, "2")
            assert (version.stage, version.criteria) == ("shadow", ["accuracy>=0.9"])
    finally:
        c.close()


def test_a_database_migrated_by_a_newer_release_is_refused_with_one_line(sqlite_url: str) -> None:
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    c = Container(Settings(DEPLOYER_DATABASE_URL=sqlite_url, DEPLOYER_HOME="/nonexistent"))
    with (
        pytest.raises(SchemaMismatchError, match="revision 9999, newer than this"),
        c.reader() as uow,
    ):
        uow.models.list_model_names()
    with pytest.raises(SchemaMismatchError):
        migrate.upgrade(sqlite_url)


def deployer(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEPLOYER_HOME": str(home)}
    cli = [sys.executable, "-c", "from agents.entrypoints.cli import main; main()", *args]
    return subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120)


def test_deployer_init_and_alembic_upgrade_head_both_upgrade_a_populated_home(
    tmp_path: Path,
) -> None:
    homes = {"init": tmp_path / "a", "alembic": tmp_path / "b"}
    for home in homes.values():
        url = f"sqlite:///{home / 'deployer.db'}"
        upgrade_to(url, EARLIER[-1])
        engine = make_engine(url)
        populate(engine)
        engine.dispose()
        refused = deployer(home, "status")
        assert refused.returncode != 0
        assert "run `deployer init` to upgrade it" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1

    assert deployer(homes["init"], "init").returncode == 0
    root = Path(__file__).resolve().parents[2]
    url = f"sqlite:///{homes['alembic'] / 'deployer.db'}"
    alembic = [sys.executable, "-m", "alembic", "-x", f"url={url}", "upgrade", "head"]
    subprocess.run(alembic, cwd=root, check=True, capture_output=True, timeout=120)

    for home in homes.values():
        shown = deployer(home, "status", "--json")
        assert shown.returncode == 0, shown.stderr
        assert MODEL in shown.stdout
