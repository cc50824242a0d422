"""A model's service-level objectives on SQLite and PostgreSQL: a deployer sets, shows and
resets them (audited as ``slo_set``); a viewer cannot; a bad value is refused with one line
and nothing is written; a deployment's SLO state keeps its samples."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.bootstrap import Container, bootstrap
from agents.handlers import slo
from agents.settings import Settings
from database.models import ModelVersionRow
from lifecycle.approval import Role
from lifecycle.errors import PermissionDeniedError, UnknownModelError
from lifecycle.records import utcnow
from lifecycle.slo import InvalidObjectiveError
from tests.schema_template import migrated

MODEL = "iris"


@pytest.fixture
def container(database_url: str, tmp_path: Path) -> Iterator[Container]:
    settings = Settings(DEPLOYER_HOME=str(tmp_path / "home"), DEPLOYER_DATABASE_URL=database_url)
    settings.ensure_home()
    migrated(database_url)
    c = bootstrap(settings)
    with c.uow() as uow:
        uow.models.add(
            ModelVersionRow(model_version_id=f"{MODEL}/1", model_name=MODEL, version="1")
        )
        uow.access.grant("dora", Role.DEPLOYER, "root")
        uow.access.grant("vic", Role.VIEWER, "root")
        uow.commit()
    yield c
    c.close()


def footprint(c: Container) -> tuple[dict[str, object] | None, int]:
    with c.reader() as uow:
        return uow.slo.objectives(MODEL), len(uow.audit.list())


def test_a_deployer_sets_shows_and_resets_a_model_s_objectives(container: Container) -> None:
    set_ = slo.set_objectives(container, "dora", MODEL, {"p95_ms": 50, "error_rate": 0.01})
    more = slo.set_objectives(container, "dora", MODEL, {"p99_ms": 120, "latency_factor": None})

    shown = slo.show(container, MODEL)
    assert set_["objectives"]["p95_ms"] == 50
    assert shown["objectives"] == more["objectives"]
    assert shown["objectives"] | {"min_requests": 0} == {
        "error_rate": 0.01,
        "p95_ms": 50,
        "p99_ms": 120,
        "latency_factor": None,
        "min_requests": 0,
    }
    with container.reader() as uow:
        events = [e for e in uow.audit.list() if e.action == "slo_set"]
    assert [e.actor for e in events] == ["dora", "dora"]
    assert events[-1].subject == MODEL and events[-1].payload["model"] == MODEL
    assert events[-1].payload["objectives"]["p99_ms"] == 120

    reset = slo.reset(container, "dora", MODEL)
    assert reset["changed"] and reset["objectives"] == reset["defaults"]
    assert slo.reset(container, "dora", MODEL)["changed"] is False
    assert footprint(container)[0] is None


@pytest.mark.parametrize(
    ("actor", "changes", "error"),
    [
        ("vic", {"p95_ms": 50}, PermissionDeniedError),
        ("nobody", {"p95_ms": 50}, PermissionDeniedError),
        ("dora", {"error_rate": 2.0}, InvalidObjectiveError),
        ("dora", {"p95_ms": -1}, InvalidObjectiveError),
        ("dora", {"min_requests": 0}, InvalidObjectiveError),
    ],
    ids=["a viewer", "a stranger", "a rate above 1", "a negative p95", "no minimum"],
)
def test_a_refused_change_writes_nothing(
    container: Container, actor: str, changes: dict[str, float], error: type[Exception]
) -> None:
    slo.set_objectives(container, "dora", MODEL, {"p95_ms": 80})
    before = footprint(container)

    with pytest.raises(error) as caught:
        slo.set_objectives(container, actor, MODEL, changes)

    assert "\n" not in str(caught.value)
    assert footprint(container) == before
    if actor != "dora":
        with pytest.raises(PermissionDeniedError):
            slo.reset(container, actor, MODEL)
        assert footprint(container) == before


def test_an_unknown_model_has_no_objectives(container: Container) -> None:
    with pytest.raises(UnknownModelError):
        slo.set_objectives(container, "dora", "nosuch", {"p95_ms": 50})
    with pytest.raises(UnknownModelError):
        slo.show(container, "nosuch")


def test_a_deployment_s_slo_state_round_trips(container: Container) -> None:
    samples = [{"at": "2026-11-30T01:00:00+00:00", "counts": {"requests": 3, "errors": 1}}]
    with container.uow() as uow:
        uow.slo.save_state("iris-v1-0a1b2c3d", MODEL, "failed", samples, utcnow())
        uow.commit()
    with container.uow() as uow:
        uow.slo.save_state("iris-v1-0a1b2c3d", MODEL, "passed", samples * 2, utcnow())
        uow.commit()
    with container.reader() as uow:
        state = uow.slo.state("iris-v1-0a1b2c3d")
        assert state is not None and state.status == "passed"
        assert state.samples["samples"] == samples * 2
        assert [s.deployment_id for s in uow.slo.states_of(MODEL)] == ["iris-v1-0a1b2c3d"]
    assert slo.show(container, MODEL)["deployments"][0]["status"] == "passed"
