"""``handlers.resize.resize_deployment`` (PATCH /v1/deployments/{id}'s replicas and resources)
over fake backends and a real SQLite state DB: a Ray deployment is changed in place and the
change recorded (row, manifest, audit event, the mark seed 002 reads as ``updating`` while it
runs); a refused or failed resize changes nothing but what says it failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from agents.handlers.resize import resize_deployment
from agents.queries.history import _resize_events
from database.engine import make_engine
from database.models import Base
from database.uow import SqlAlchemyUnitOfWork
from lifecycle.alerts import alert_for
from lifecycle.errors import EndpointCreationError, UnknownModelError
from lifecycle.ports import Endpoint
from lifecycle.resource_asks import NotResizableError, ResizeAsk, UnhonouredResourcesError
from lifecycle.resources import Resources
from lifecycle.service_status import service_status
from lifecycle.stages import DeploymentStatus
from mlops.serving_backends import ServingBackends
from tests.agent_fakes import FakeServing
from tests.audit_keys import keyed_factory
from tests.fakes import FakeRegistry
from tests.integration.db_helpers import add_version, deployment_row

MODEL = "fraud_detector"


class RayLike(FakeServing):
    """A backend that resizes in place (as Ray Serve does), or fails when told to; it notes
    the seed status the deployment showed while its change ran."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        super().__init__(FakeRegistry())
        self.factory = factory
        self.resized: list[tuple[str, Resources]] = []
        self.seen_while_resizing: list[str] = []
        self.fail = False

    def resize(self, endpoint: Endpoint, bento_tag: str, resources: Resources) -> Endpoint:
        with SqlAlchemyUnitOfWork(self.factory, read_only=True) as uow:
            row = uow.deployments.get(endpoint.deployment_id)
            changing = row.changing_run_id is not None
            self.seen_while_resizing.append(service_status(row.status, changing).value)
        if self.fail:
            raise EndpointCreationError(f"the Ray application {endpoint.deployment_id} failed")
        self.resized.append((endpoint.deployment_id, resources))
        return endpoint


@dataclass
class Home:
    session_factory: sessionmaker[Session]
    serving: ServingBackends
    ray: RayLike
    local: FakeServing
    settings: Any = field(
        default_factory=lambda: SimpleNamespace(model_lock_seconds=30, model_lock_wait_seconds=2)
    )

    def uow(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.session_factory)

    def reader(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.session_factory, read_only=True)

    def add(
        self, deployment_id: str, backend: str, status: DeploymentStatus, **columns: Any
    ) -> None:
        row = deployment_row(deployment_id, status, url=f"http://127.0.0.1:9/{deployment_id}")
        row.serving_backend, row.bento_tag, row.autoscaling = backend, "fraud:tag", {}
        for name, value in columns.items():
            setattr(row, name, value)
        with self.uow() as uow:
            uow.deployments.add(row)
            uow.commit()

    def row(self, deployment_id: str) -> dict[str, Any]:
        with self.reader() as uow:
            row = uow.deployments.get(deployment_id)
            return {**row.to_manifest().model_dump(mode="json"), "mark": row.changing_run_id}

    def audit(self, deployment_id: str) -> list[tuple[str, dict[str, Any]]]:
        with self.reader() as uow:
            return [(e.action, dict(e.payload)) for e in uow.audit.list(deployment_id)]


@pytest.fixture
def home(tmp_path: Path) -> Home:
    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    Base.metadata.create_all(engine)
    factory = keyed_factory(engine)
    add_version(factory, MODEL, "2")
    ray, local = RayLike(factory), FakeServing(FakeRegistry())
    both = ServingBackends(local, "local", {"ray": lambda: ray})  # type: ignore[arg-type]
    return Home(factory, both, ray, local)


def test_a_ray_deployment_is_resized_in_place_and_the_change_is_recorded(home: Home) -> None:
    home.add("d-ray", "ray", DeploymentStatus.ACTIVE, replicas=2, cpu_limit="0.5")
    ask = ResizeAsk(replicas=4, memory="1Gi")
    result = resize_deployment(home, "d-ray", "alice", ask, "more load")  # type: ignore[arg-type]
    after = {"replicas": 4, "cpu_limit": "0.5", "memory_limit": "1Gi", "autoscaling": {}}
    assert result["changed"] and result["after"] == after
    assert result["before"] == {**after, "replicas": 2, "memory_limit": None}
    assert home.ray.resized == [("d-ray", Resources(4, cpu=0.5, memory_bytes=1024**3))]
    assert home.ray.seen_while_resizing == ["updating"]  # marked while the backend worked
    row = home.row("d-ray")
    assert {k: row[k] for k in after} == after and row["mark"] is None
    ((action, payload),) = home.audit("d-ray")
    assert action == "deployment_resized" and payload["after"] == after
    assert payload["before"]["replicas"] == 2 and payload["reason"] == "more load"
    assert alert_for(action, "d-ray", payload, "alice") is None  # a resize is no alarm
    with home.reader() as uow:  # the model's history shows it
        (event,) = _resize_events(uow.session, ["d-ray", "d-other"])
    assert event["summary"] == "d-ray resized by alice (replicas 2 -> 4, memory_limit None -> 1Gi)"
    assert (event["kind"], event["reason"], event["failed"]) == ("resize", "more load", False)


def test_a_failed_resize_keeps_the_row_and_raises_an_alert(home: Home) -> None:
    home.add("d-ray", "ray", DeploymentStatus.ACTIVE, replicas=2)
    home.ray.fail = True
    with pytest.raises(EndpointCreationError, match="failed"):
        resize_deployment(home, "d-ray", "alice", ResizeAsk(replicas=3))  # type: ignore[arg-type]
    row = home.row("d-ray")
    assert row["replicas"] == 2 and row["mark"] is None
    ((action, payload),) = home.audit("d-ray")
    assert action == "deployment_resize_failed" and payload["after"]["replicas"] == 3
    alert = alert_for(action, "d-ray", payload, "alice")
    assert alert is not None and alert.group == "deploy_failed"
    assert "resize failed" in alert.summary and alert.action == f"deployer status {MODEL}"
    with home.reader() as uow:
        (event,) = _resize_events(uow.session, ["d-ray"])
    assert event["failed"] and event["summary"].endswith("failed: the Ray application d-ray failed")


@pytest.mark.parametrize(
    ("ask", "words"),
    [
        (ResizeAsk(replicas=3), "--replicas 3"),
        (ResizeAsk(cpu="0.5"), "DEPLOYER_SERVING=ray"),
        (ResizeAsk(autoscale="1:4"), "DEPLOYER_SERVING=ray"),
    ],
)
def test_a_local_endpoint_refuses_a_resize_and_nothing_changes(
    home: Home, ask: ResizeAsk, words: str
) -> None:
    home.add("d-local", "local", DeploymentStatus.ACTIVE, replicas=2)
    home.serving.chosen = "ray"  # the setting says Ray now: the endpoint is still local
    before = home.row("d-local")
    with pytest.raises(UnhonouredResourcesError, match=words):
        resize_deployment(home, "d-local", "alice", ask)  # type: ignore[arg-type]
    assert home.row("d-local") == before and home.audit("d-local") == []
    assert home.ray.resized == []


@pytest.mark.parametrize(
    ("status", "mark", "words"),
    [
        (DeploymentStatus.ROLLED_BACK, None, "only a running deployment"),
        (DeploymentStatus.DEPLOYING, None, "only a running deployment"),
        (DeploymentStatus.ACTIVE, "run-9", "being changed by run run-9"),
    ],
)
def test_a_deployment_not_running_or_being_changed_is_not_resized(
    home: Home, status: DeploymentStatus, mark: str | None, words: str
) -> None:
    home.add("d-ray", "ray", status, replicas=2, changing_run_id=mark)
    before = home.row("d-ray")
    with pytest.raises(NotResizableError, match=words):
        resize_deployment(home, "d-ray", "alice", ResizeAsk(replicas=3))  # type: ignore[arg-type]
    assert home.row("d-ray") == before and home.audit("d-ray") == []
    assert home.ray.resized == []


def test_asking_for_what_it_has_changes_nothing_and_records_nothing(home: Home) -> None:
    home.add("d-local", "local", DeploymentStatus.ACTIVE, replicas=2)
    result = resize_deployment(home, "d-local", "alice", ResizeAsk(replicas=2))  # type: ignore[arg-type]
    assert not result["changed"] and result["before"] == result["after"]
    assert home.audit("d-local") == []


def test_an_unknown_deployment_is_said_so() -> None:
    with pytest.raises(UnknownModelError):
        resize_deployment(_empty_home(), "d-none", "alice", ResizeAsk(replicas=2))  # type: ignore[arg-type]


def _empty_home() -> Any:
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    factory = keyed_factory(engine)
    return Home(factory, ServingBackends(FakeServing(FakeRegistry()), "local", {}), None, None)  # type: ignore[arg-type]
