"""The agent's ``Serving`` port on a Ray cluster: one Ray Serve application per deployment.

An application is named by its deployment id and served under its own route prefix
(``/<deployment_id>``) by Serve's HTTP proxy, so the gateway routes to
``<serve_url>/<deployment_id>`` exactly as to a local endpoint's URL. Its replicas run the same
bento a local endpoint runs (``mlops.ray_replica``): the bento's folder is the replicas'
``runtime_env`` working directory, which Ray uploads to the cluster (GCS) and unpacks on the
node of each replica. Resources map onto Serve's options: ``replicas`` -> ``num_replicas``,
``cpu`` -> ``ray_actor_options.num_cpus``, ``memory_bytes`` -> ``ray_actor_options.memory``,
``autoscale`` -> ``autoscaling_config`` (min/max replicas, ``target_ongoing_requests``; the
starting count is ``initial_replicas``).

Packaging is LocalServing's (the same bentos, recorded through the same ledger). Health is the
engine's: ``lifecycle.engine_health.judge_application`` over Serve's application status and
replica states. A Ray endpoint has no PID (``Endpoint.pid`` is None, ``backend`` is ``ray``).

Ray is the optional ``[ray]`` extra: this module imports it only inside its methods.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from lifecycle.engine_health import EngineVerdict, judge_application
from lifecycle.errors import EndpointCreationError, InfrastructureError, UnknownModelError
from lifecycle.ports import Endpoint
from lifecycle.resources import Placement, Resources
from mlops.packager_bentoml import use_bentoml_home
from mlops.serving_local import LocalServing, smoke_endpoint

BACKEND = "ray"
DEPLOYMENT_NAME = "bento"
"""The one Serve deployment of each application (the bento's replicas)."""
PASSED_ENV = ("DEPLOYER_FAULT_ERROR_RATE", "DEPLOYER_FAULT_LATENCY_MS", "DEPLOYER_FAULT_FILE")
QUIET_ENV = {
    "BENTOML_DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
}
_connect_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class AppState:
    """One application as Serve reports it: status, message, and its replicas."""

    status: str | None
    message: str = ""
    replicas: tuple[Mapping[str, Any], ...] = ()

    def states(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for replica in self.replicas:
            state = _name(replica.get("state"))
            counts[state] = counts.get(state, 0) + 1
        return counts

    def verdict(self) -> EngineVerdict:
        return judge_application(self.status, self.states(), self.message)


class RayServing:
    """Packages (LocalServing's BentoML packager) and endpoints (Ray Serve applications)."""

    def __init__(
        self,
        packaging: LocalServing,
        address: str,
        serve_url: str,
        ready_timeout: float = 120.0,
    ) -> None:
        self.packaging = packaging
        self.address = address
        self.serve_url = serve_url.rstrip("/")
        self.ready_timeout = ready_timeout
        self._connected = False

    # -- packaging: the same bentos as a local endpoint's

    def package(self, model_name: str, version: str, actor: str) -> str:
        return self.packaging.package(model_name, version, actor)

    def shipped(self, bento_tag: str) -> str:
        """Upload the bento with its models to the cluster; return the package's URI.

        The bento's folder names its models by tag (they live in the home's model store), so a
        copy of it with ``models/`` beside ``src/`` is made (BentoML loads a bento's own model
        store when it has one), zipped and uploaded by Ray's own ``working_dir`` packaging into
        the GCS (``gcs://_ray_pkg_<content hash>.zip``: the same bento is one package). Every
        replica, on any node, unpacks it as its working directory."""
        import bentoml
        from bentoml.exceptions import BentoMLException
        from ray._private.runtime_env.working_dir import upload_working_dir_if_needed

        home = self.packaging.bentoml_home
        use_bentoml_home(home)
        try:
            bento = bentoml.bentos.get(bento_tag)
        except (BentoMLException, ValueError) as exc:
            raise EndpointCreationError(f"no bento {bento_tag!r} was built: {exc}") from exc
        self.connect()
        with tempfile.TemporaryDirectory(prefix="deployer-ray-") as tmp:
            staged = Path(tmp) / "bento"
            shutil.copytree(bento.path, staged)
            for model in bento.info.all_models:
                name, version = str(model.tag).split(":")
                source = home / "models" / name / version
                shutil.copytree(source, staged / "models" / name / version)
                (staged / "models" / name / "latest").write_text(version)
            runtime_env = upload_working_dir_if_needed(
                {"working_dir": str(staged)}, include_gitignore=False, scratch_dir=tmp
            )
        return str(runtime_env["working_dir"])

    # -- the cluster

    def connect(self) -> None:
        """Join the cluster as a driver (once per process) and make sure Serve runs with its
        HTTP proxy where ``serve_url`` says (on the head node only)."""
        import ray
        from ray import serve

        with _connect_lock:
            if self._connected:
                return
            if not ray.is_initialized():
                try:
                    ray.init(
                        address=self.address,
                        namespace="model-deployer",
                        logging_level=logging.ERROR,
                        log_to_driver=False,
                        configure_logging=False,
                    )
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    raise InfrastructureError(
                        f"cannot reach the Ray cluster at {self.address}: {exc}"
                    ) from exc
            parts = urlsplit(self.serve_url)
            host = parts.hostname or "127.0.0.1"
            serve.start(
                proxy_location="HeadOnly",
                http_options={
                    "host": host if host in ("127.0.0.1", "localhost") else "0.0.0.0",
                    "port": parts.port or 8000,
                },
            )
            self._connected = True

    def app_state(self, deployment_id: str) -> AppState:
        """The application's status and replicas (status None when there is no such app)."""
        from ray.serve.context import _get_global_client

        self.connect()
        client = _get_global_client()
        if client is None:
            raise InfrastructureError("Ray Serve is not running on the cluster")
        details = client.get_serve_details()
        app = (details.get("applications") or {}).get(deployment_id)
        if app is None:
            return AppState(None)
        deployment = (app.get("deployments") or {}).get(DEPLOYMENT_NAME) or {}
        return AppState(
            _name(app.get("status")),
            str(app.get("message") or deployment.get("message") or ""),
            tuple(deployment.get("replicas") or ()),
        )

    # -- the port

    def start(
        self,
        deployment_id: str,
        bento_tag: str,
        resources: Resources,
        extra_env: Mapping[str, str] | None = None,
    ) -> Endpoint:
        """Run the bento as the application ``deployment_id`` and wait until it is RUNNING and
        answers ``/readyz``; on failure delete it and raise (nothing is left running)."""
        from ray import serve

        package = self.shipped(bento_tag)
        app = application(deployment_id, package, resources, extra_env)
        target = serve.RunTarget(app, name=deployment_id, route_prefix=f"/{deployment_id}")
        try:
            serve.run_many([target], wait_for_applications_running=False)
            self._wait_running(deployment_id)
        except BaseException:
            self._delete(deployment_id)
            raise
        return self.endpoint(deployment_id)

    def resize(self, endpoint: Endpoint, bento_tag: str, resources: Resources) -> Endpoint:
        """Redeploy the running application with new options, in place: Serve scales for a
        replica count or autoscaling change and replaces replicas one by one for new actor
        options (CPU, memory), so it keeps serving throughout. Waits until the application is
        RUNNING again (with the replica count asked, when fixed); on failure the error is
        raised and nothing is deleted (the replicas already up keep serving)."""
        from ray import serve

        deployment_id = endpoint.deployment_id
        if self.app_state(deployment_id).status is None:
            raise EndpointCreationError(f"the Ray application {deployment_id} is not running")
        package = self.shipped(bento_tag)  # the same bento: the same package, not uploaded again
        app = application(deployment_id, package, resources)
        target = serve.RunTarget(app, name=deployment_id, route_prefix=f"/{deployment_id}")
        serve.run_many([target], wait_for_applications_running=False)
        wanted = None if resources.autoscale is not None else resources.replicas
        self._wait_running(deployment_id, wanted)
        return self.endpoint(deployment_id)

    def endpoint(self, deployment_id: str) -> Endpoint:
        port = urlsplit(self.serve_url).port or 8000
        return Endpoint(deployment_id, f"{self.serve_url}/{deployment_id}", port, None, BACKEND)

    def _wait_running(self, deployment_id: str, replicas: int | None = None) -> None:
        deadline = time.monotonic() + self.ready_timeout
        state = self.app_state(deployment_id)
        while time.monotonic() < deadline:
            if state.status == "DEPLOY_FAILED":
                break
            counted = replicas is None or state.states().get("RUNNING", 0) == replicas
            if (
                state.status == "RUNNING"
                and counted
                and self._answers(self.endpoint(deployment_id))
            ):
                return
            time.sleep(0.25)
            state = self.app_state(deployment_id)
        why = state.verdict().detail or f"is {state.status} but does not answer /readyz"
        raise EndpointCreationError(
            f"the Ray application {deployment_id} did not start within "
            f"{self.ready_timeout:g} s: {why}"
        )

    def placement(self, endpoint: Endpoint, wanted: int) -> Placement:
        state = self.app_state(endpoint.deployment_id)
        verdict = state.verdict()
        nodes = sorted(
            {
                f"{r.get('node_ip')} ({str(r.get('node_id'))[:8]})"
                for r in state.replicas
                if _name(r.get("state")) == "RUNNING"
            }
        )
        healthy = verdict.healthy and verdict.running >= wanted
        detail = verdict.detail or ("" if healthy else f"{verdict.running} of {wanted} running")
        return Placement(wanted, verdict.running, tuple(nodes), healthy, detail)

    def replica_pids(self, deployment_id: str) -> list[int]:
        """The PIDs of the application's running replicas (their nodes' processes)."""
        state = self.app_state(deployment_id)
        return [
            int(r["pid"])
            for r in state.replicas
            if r.get("pid") and _name(r.get("state")) == "RUNNING"
        ]

    def is_alive(self, endpoint: Endpoint) -> bool:
        return self.process_alive(endpoint) and self._answers(endpoint)

    def process_alive(self, endpoint: Endpoint) -> bool:
        return self.app_state(endpoint.deployment_id).verdict().alive

    def _answers(self, endpoint: Endpoint) -> bool:
        try:
            with httpx.Client(timeout=5.0, verify=False, trust_env=False) as client:
                return client.get(f"{endpoint.url}/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, endpoint: Endpoint) -> None:
        """Delete the application; an endpoint recorded without a URL names none (a start cut
        short before its record is ``stop_strays``'s), as on the local backend."""
        if endpoint.url:
            self._delete(endpoint.deployment_id)

    def stop_strays(self, deployment_id: str) -> list[int]:
        """An application of that name that nobody recorded (a crash between start and the
        record): delete it; return the PIDs of the replicas it ran."""
        pids = self.replica_pids(deployment_id)
        if self.app_state(deployment_id).status is None:
            return []
        self._delete(deployment_id)
        return pids

    def _delete(self, deployment_id: str) -> None:
        from ray import serve

        self.connect()
        if self.app_state(deployment_id).status is not None:
            serve.delete(deployment_id, _blocking=True)

    def smoke(self, endpoint: Endpoint, model_name: str, version: str) -> None:
        smoke_endpoint(endpoint, model_name, version)


def _name(value: Any) -> str:
    """A Serve status (an enum or its string) as its name: ``RUNNING``."""
    return str(getattr(value, "value", value))


def application(
    deployment_id: str,
    package: str,
    resources: Resources,
    extra_env: Mapping[str, str] | None = None,
) -> Any:
    """The bound Serve application of one deployment (its options from ``resources``)."""
    import cloudpickle
    from ray import serve

    from mlops import ray_replica

    # by value: a node needs Ray and BentoML, not this project
    cloudpickle.register_pickle_by_value(ray_replica)
    env = {**QUIET_ENV, "DEPLOYER_DEPLOYMENT_ID": deployment_id}
    env.update({k: v for k, v in (extra_env or {}).items() if k in PASSED_ENV})
    actor: dict[str, Any] = {"runtime_env": {"working_dir": package, "env_vars": env}}
    if resources.cpu is not None:
        actor["num_cpus"] = resources.cpu
    if resources.memory_bytes is not None:
        actor["memory"] = resources.memory_bytes
    options: dict[str, Any] = {"name": DEPLOYMENT_NAME, "ray_actor_options": actor}
    if resources.autoscale is None:
        options["num_replicas"] = resources.replicas
    else:
        options["autoscaling_config"] = {
            **resources.autoscale.to_json(),
            "initial_replicas": resources.replicas,
        }
    deployment: Any = serve.deployment(ray_replica.replica_class(), **options)
    return deployment.bind()


def ray_installed() -> bool:
    import importlib.util

    return (
        importlib.util.find_spec("ray") is not None
        and importlib.util.find_spec("ray.serve") is not None
    )


__all__ = ["BACKEND", "RayServing", "UnknownModelError", "application", "ray_installed"]
