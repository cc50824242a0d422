"""The ``Serving`` port over both backends: the configured one starts new endpoints, and every
endpoint is checked and stopped on the backend that started it (``Endpoint.backend``, recorded
on its row as ``ml_deployments.serving_backend``), so changing ``DEPLOYER_SERVING`` never
orphans a running deployment nor asks the wrong engine about it.

Packaging is the same on both (LocalServing's BentoML packager). The Ray backend is built on
first use: a home that never serves on Ray never imports Ray.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from lifecycle.errors import ConfigurationError
from lifecycle.ports import Endpoint
from lifecycle.resources import InvalidResourcesError, Placement, Resources
from mlops.serving_local import LocalServing, Packaged, refuse_beyond_replicas


class Backend(Protocol):
    """One engine's side of the port (what ``LocalServing`` and ``RayServing`` share)."""

    def start(self, deployment_id: str, bento_tag: str, resources: Resources) -> Endpoint: ...

    def resize(self, endpoint: Endpoint, bento_tag: str, resources: Resources) -> Endpoint: ...

    def placement(self, endpoint: Endpoint, wanted: int) -> Placement: ...

    def is_alive(self, endpoint: Endpoint) -> bool: ...

    def process_alive(self, endpoint: Endpoint) -> bool: ...

    def stop(self, endpoint: Endpoint) -> None: ...

    def stop_strays(self, deployment_id: str) -> list[int]: ...

    def smoke(self, endpoint: Endpoint, model_name: str, version: str) -> None: ...


class ServingBackends:
    """The agent's ``Serving``: ``chosen`` starts; each endpoint's own backend does the rest."""

    def __init__(
        self, local: LocalServing, chosen: str, others: Mapping[str, Callable[[], Backend]]
    ) -> None:
        self.local = local
        self.chosen = chosen
        self._factories = dict(others)
        self._built: dict[str, Backend] = {"local": local}

    def backend(self, name: str) -> Backend:
        """The backend called ``name`` (built on first use)."""
        if name not in self._built:
            factory = self._factories.get(name)
            if factory is None:
                raise ConfigurationError(f"no serving backend {name!r} is configured")
            self._built[name] = factory()
        return self._built[name]

    @property
    def starting(self) -> Backend:
        return self.backend(self.chosen)

    # packaging: the same bentos whatever runs them
    def build(self, model_name: str, version: str, actor: str, force: bool = False) -> Packaged:
        return self.local.build(model_name, version, actor, force)

    def package(self, model_name: str, version: str, actor: str) -> str:
        return self.local.package(model_name, version, actor)

    def start(self, deployment_id: str, bento_tag: str, resources: Resources) -> Endpoint:
        return self.starting.start(deployment_id, bento_tag, resources)

    def start_with(
        self,
        deployment_id: str,
        bento_tag: str,
        resources: Resources,
        port: int | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> Endpoint:
        """``deployer endpoints start``: the configured backend, with a local server's own
        options (a port on this machine; fault drills' environment, which Ray replicas get
        too)."""
        if self.chosen == "local":
            refuse_beyond_replicas(resources)
            workers = resources.replicas
            return self.local.endpoints.create(deployment_id, bento_tag, workers, port, extra_env)
        if port is not None:
            raise InvalidResourcesError(
                f"--port picks a port on this machine; on {self.chosen} the endpoint is served "
                "under DEPLOYER_RAY_SERVE_URL"
            )
        from mlops.serving_ray import RayServing

        ray = self.starting
        if not isinstance(ray, RayServing):
            return ray.start(deployment_id, bento_tag, resources)
        return ray.start(deployment_id, bento_tag, resources, extra_env)

    def remove(self, endpoint: Endpoint) -> None:
        """Stop an endpoint; a local one whether or not its PID was recorded (its workers are
        found by their environment), as ``deployer endpoints stop`` always did."""
        if endpoint.backend == "local":
            self.local.endpoints.remove(endpoint)
        else:
            self.backend(endpoint.backend).stop(endpoint)

    def resize(self, endpoint: Endpoint, bento_tag: str, resources: Resources) -> Endpoint:
        """Change a running endpoint's replicas and resources in place, on its own backend."""
        return self.backend(endpoint.backend).resize(endpoint, bento_tag, resources)

    def placement(self, endpoint: Endpoint, wanted: int) -> Placement:
        return self.backend(endpoint.backend).placement(endpoint, wanted)

    def is_alive(self, endpoint: Endpoint) -> bool:
        return self.backend(endpoint.backend).is_alive(endpoint)

    def process_alive(self, endpoint: Endpoint) -> bool:
        return self.backend(endpoint.backend).process_alive(endpoint)

    def stop(self, endpoint: Endpoint) -> None:
        self.backend(endpoint.backend).stop(endpoint)

    def stop_strays(self, deployment_id: str) -> list[int]:
        """Strays on this machine, and on the configured backend when it is another."""
        stopped = self.local.stop_strays(deployment_id)
        if self.chosen != "local":
            stopped += self.starting.stop_strays(deployment_id)
        return stopped

    def smoke(self, endpoint: Endpoint, model_name: str, version: str) -> None:
        self.backend(endpoint.backend).smoke(endpoint, model_name, version)
