"""The agent's ``Serving`` port over BentoML packages and local ``bentoml serve`` processes.

It knows no database: what it must check or record there (the version is known; the bento was
built) goes through a ``PackageLedger``, which the composition root wires to the state DB.
"""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
import psutil

from lifecycle.errors import EndpointCreationError
from lifecycle.ports import Endpoint
from lifecycle.records import parse_version
from lifecycle.resources import InvalidResourcesError, Placement, Resources
from mlops.endpoints_local import LocalEndpointManager
from mlops.packager_bentoml import BentoPackager
from mlops.processes import find_by_env, terminate_tree
from mlops.registry_mlflow import MlflowRegistry, download_model

SMOKE_TIMEOUT = 10.0


class PackageLedger(Protocol):
    """Where packaging is checked and recorded (the state DB: the version's row and audit)."""

    def require_known(self, model_name: str, version: str) -> None:
        """Raise unless the version was registered through the deployer (or synced)."""
        ...

    def record_packaged(
        self, model_name: str, version: str, bento_tag: str, reused: bool, actor: str
    ) -> None:
        """Note the version's bento tag, and who packaged it."""
        ...


@dataclass(frozen=True, slots=True)
class Packaged:
    """A version's bento: its tag, where it lies, and whether an earlier build was reused."""

    model_name: str
    version: str
    bento_tag: str
    path: str
    reused: bool


class LocalServing:
    """Packages (BentoML) and endpoints (local processes) for the deploy nodes."""

    def __init__(
        self,
        registry: Callable[[], MlflowRegistry],
        packager: Callable[[], BentoPackager],
        endpoints: LocalEndpointManager,
        bentoml_home: Path,
        ledger: PackageLedger,
    ) -> None:
        # The registry and packager are built on first use: importing MLflow and BentoML takes
        # seconds, and a run that never packages (a resumed, finished thread) should not pay.
        self._registry = registry
        self._packager = packager
        self.endpoints = endpoints
        self.bentoml_home = bentoml_home
        self.ledger = ledger

    @property
    def registry(self) -> MlflowRegistry:
        return self._registry()

    @property
    def packager(self) -> BentoPackager:
        return self._packager()

    def build(self, model_name: str, version: str, actor: str, force: bool = False) -> Packaged:
        """Build (or reuse) the bento of a registered version, and record it in the ledger."""
        number = parse_version(version)
        registered = self.registry.get_version(model_name, number)
        self.ledger.require_known(model_name, number)
        with tempfile.TemporaryDirectory(prefix="deployer-model-") as tmp:
            # a foreign preprocessing URI is refused here, before anything is built
            pre = self.registry.fetch_preprocessing(registered, Path(tmp) / "preprocessing")
            reused = not force and self.packager.existing(model_name, number) is not None
            model_dir = download_model(self.registry, model_name, number, Path(tmp) / "model")
            packaged = self.packager.package(registered, model_dir, force, pre)
        self.ledger.record_packaged(model_name, number, packaged.bento_tag, reused, actor)
        return Packaged(model_name, number, packaged.bento_tag, packaged.path, reused)

    def package(self, model_name: str, version: str, actor: str) -> str:
        return self.build(model_name, version, actor).bento_tag

    def start(self, deployment_id: str, bento_tag: str, resources: Resources) -> Endpoint:
        """One ``bentoml serve`` process with ``resources.replicas`` workers. It has no CPU or
        memory limits and does not autoscale: asking for them is refused, not ignored."""
        refuse_beyond_replicas(resources)
        return self.endpoints.create(deployment_id, bento_tag, resources.replicas)

    def resize(self, endpoint: Endpoint, bento_tag: str, resources: Resources) -> Endpoint:
        """A running ``bentoml serve`` keeps the workers it started with: any resize is refused
        and the server is left as it is (``lifecycle.resource_asks.resized`` says so first)."""
        raise InvalidResourcesError(
            f"a local endpoint's workers are fixed when its server starts: "
            f"{endpoint.deployment_id} keeps running as it is"
        )

    def placement(self, endpoint: Endpoint, wanted: int) -> Placement:
        """All the workers run on this machine while its process runs, none otherwise."""
        if self.process_alive(endpoint):
            return Placement(wanted, wanted, (socket.gethostname(),))
        return Placement(wanted, 0, (), False, "the server process is not running")

    def is_alive(self, endpoint: Endpoint) -> bool:
        return endpoint.pid is not None and self.endpoints.is_alive(endpoint)

    def process_alive(self, endpoint: Endpoint) -> bool:
        return endpoint.pid is not None and self.endpoints.process_alive(endpoint)

    def stop(self, endpoint: Endpoint) -> None:
        if endpoint.pid is not None:
            self.endpoints.remove(endpoint)

    def stop_strays(self, deployment_id: str) -> list[int]:
        strays = [
            p
            for p in processes_of_home(str(self.bentoml_home))
            if environ_of(p).get("DEPLOYER_DEPLOYMENT_ID") == deployment_id
        ]
        terminate_tree(None, extra=strays)
        return [p.pid for p in strays]

    def smoke(self, endpoint: Endpoint, model_name: str, version: str) -> None:
        smoke_endpoint(endpoint, model_name, version)


def smoke_endpoint(endpoint: Endpoint, model_name: str, version: str) -> None:
    """``/model_info`` names this version, and ``/predict`` answers one row of zeros (every
    backend's endpoint answers at its URL the same way).

    Any failure, an unreachable server included, is the port's ``EndpointCreationError``."""
    try:
        with httpx.Client(base_url=endpoint.url, timeout=SMOKE_TIMEOUT) as client:
            _smoke(client, endpoint.url, model_name, version)
    except (httpx.HTTPError, ValueError) as exc:
        raise EndpointCreationError(f"smoke check: {endpoint.url} failed: {exc}") from exc


def refuse_beyond_replicas(resources: Resources) -> None:
    """A local endpoint honours a replica (worker) count only."""
    if resources.asks_beyond_replicas:
        raise InvalidResourcesError(
            "a local endpoint runs workers of one process and honours --replicas only: "
            "CPU and memory limits and autoscaling need DEPLOYER_SERVING=ray"
        )


def _smoke(client: httpx.Client, url: str, model_name: str, version: str) -> None:
    info = client.get("/model_info").json()
    if (info.get("model_name"), str(info.get("model_version"))) != (model_name, version):
        raise EndpointCreationError(
            f"smoke check: {url} serves {info.get('model_name')} "
            f"v{info.get('model_version')}, not {model_name} v{version}"
        )
    row = [0.0] * max(1, len(info.get("columns") or []))
    answer = client.post("/predict", json={"instances": [row]})
    if answer.status_code != 200 or len(answer.json().get("predictions", [])) != 1:
        raise EndpointCreationError(f"smoke check: {url}/predict answered {answer.status_code}")


def processes_of_home(bentoml_home: str) -> list[psutil.Process]:
    """Endpoint processes of this home: they carry its BentoML home and a deployment id."""
    return [
        proc
        for proc in find_by_env(BENTOML_HOME=bentoml_home)
        if "DEPLOYER_DEPLOYMENT_ID" in environ_of(proc)
    ]


def environ_of(proc: psutil.Process) -> dict[str, str]:
    """A process's environment ({} when it cannot be read)."""
    try:
        return proc.environ()
    except psutil.Error:
        return {}
