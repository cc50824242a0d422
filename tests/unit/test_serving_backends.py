"""The Serving port over both backends (``mlops.serving_backends.ServingBackends``): the
configured backend starts, and each endpoint is checked and stopped on the backend that started
it, whatever ``DEPLOYER_SERVING`` says now. Choosing ``ray`` without Ray installed is one
``ConfigurationError`` naming the extra, raised where the Container builds its Serving."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from agents.bootstrap import Container
from agents.settings import Settings
from lifecycle.errors import ConfigurationError
from lifecycle.ports import Endpoint
from lifecycle.resources import InvalidResourcesError, Resources
from mlops import serving_ray
from mlops.serving_backends import ServingBackends
from tests.agent_fakes import FakeServing
from tests.fakes import FakeRegistry

MODEL = "iris"


class Tagged(FakeServing):
    """A fake backend whose endpoints say which backend they are on."""

    def __init__(self, name: str) -> None:
        registry = FakeRegistry()
        registry.register(MODEL, f"runs:/r/{MODEL}")
        super().__init__(registry)
        self.name = name

    def start(self, deployment_id: str, bento_tag: str, resources: Resources) -> Endpoint:
        started = super().start(deployment_id, bento_tag, Resources(resources.replicas))
        endpoint = dataclasses.replace(started, backend=self.name)
        self.running[deployment_id] = endpoint
        return endpoint


def backends(chosen: str) -> tuple[ServingBackends, Tagged, Tagged]:
    local, ray = Tagged("local"), Tagged("ray")
    both = ServingBackends(local, chosen, {"ray": lambda: ray})  # type: ignore[arg-type]
    return both, local, ray


def test_new_endpoints_start_on_the_chosen_backend_and_are_checked_and_stopped_on_their_own() -> (
    None
):
    both, local, ray = backends("ray")
    tag = both.package(MODEL, "1", "tester")
    ray.packaged.add(tag)
    on_ray = both.start("d-ray", tag, Resources(2))
    assert on_ray.backend == "ray" and ray.started == ["d-ray"] and local.started == []
    both.chosen = "local"  # the setting changed since: the Ray endpoint is still Ray's
    on_local = both.start("d-local", tag, Resources())
    assert on_local.backend == "local" and local.started == ["d-local"]
    assert both.is_alive(on_ray) and both.process_alive(on_local)
    assert both.placement(on_ray, 2).running == 2
    both.stop(on_ray)
    assert ray.stopped == ["d-ray"] and local.stopped == []
    assert not both.is_alive(on_ray) and both.is_alive(on_local)


def test_an_endpoint_of_a_backend_nobody_configured_is_a_configuration_error() -> None:
    both, _, _ = backends("local")
    with pytest.raises(ConfigurationError, match="elsewhere"):
        both.is_alive(Endpoint("d", "http://x", 1, None, backend="elsewhere"))


def test_strays_are_looked_for_here_and_on_the_chosen_backend() -> None:
    both, local, ray = backends("ray")
    local.strays["d"], ray.strays["d"] = 11, 22
    assert sorted(both.stop_strays("d")) == [11, 22]
    only_local, local, ray = backends("local")
    local.strays["d"], ray.strays["d"] = 11, 22
    assert only_local.stop_strays("d") == [11]


def test_a_port_of_this_machine_is_refused_for_a_ray_endpoint_and_nothing_starts() -> None:
    both, _, ray = backends("ray")
    with pytest.raises(InvalidResourcesError, match="--port"):
        both.start_with("d", "t", Resources(), port=8123)
    assert ray.started == []


def test_choosing_ray_without_ray_installed_is_one_error_naming_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serving_ray, "ray_installed", lambda: False)
    settings = Settings.model_validate({"DEPLOYER_HOME": str(tmp_path), "DEPLOYER_SERVING": "ray"})
    container = Container(settings)
    with pytest.raises(ConfigurationError, match=r"model-deployer\[ray\]") as raised:
        _ = container.serving
    assert raised.value.exit_code == 2
    assert not (tmp_path / "state.db").exists() and "engine" not in container.__dict__


def test_the_ray_serve_url_must_be_a_bare_http_url(tmp_path: Path) -> None:
    bad: dict[str, Any] = {"DEPLOYER_HOME": str(tmp_path), "DEPLOYER_RAY_SERVE_URL": "h:8000/x"}
    with pytest.raises(ValueError, match=r"ray_serve_url|DEPLOYER_RAY_SERVE_URL"):
        Settings.model_validate(bad)
