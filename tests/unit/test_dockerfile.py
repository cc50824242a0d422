"""The control-plane image's Dockerfile (issue 17 item 5). No Docker engine runs here, so the
image is not built; what can be judged without one is: it parses into instructions, builds
from python:3.11-slim, runs as the same non-root user the manifests demand, installs the
package (with the Ray extra behind a build argument) from files that exist, and the commands
the manifests run in it exist in the package."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

from agents.k8s import render as k8s

ROOT = Path(__file__).resolve().parents[2]
KNOWN = {"FROM", "ARG", "ENV", "WORKDIR", "COPY", "RUN", "USER", "EXPOSE", "CMD"}


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word, " ".join(rest.split())))
    return out


def test_the_dockerfile_parses_into_known_instructions() -> None:
    found = instructions()
    assert {word for word, _ in found} <= KNOWN, found
    assert found[0] == ("ARG", "PYTHON_IMAGE=python:3.11-slim")
    assert [rest for word, rest in found if word == "FROM"] == [
        "${PYTHON_IMAGE} AS build",
        "${PYTHON_IMAGE}",
    ]


def test_the_image_runs_as_the_non_root_user_the_manifests_demand() -> None:
    found = instructions()
    users = [rest for word, rest in found if word == "USER"]
    assert users == [f"{k8s.UID}:{k8s.UID}"]  # numeric: runAsNonRoot can verify it
    assert [w for w, _ in found].index("USER") > max(
        i for i, (w, _) in enumerate(found) if w == "RUN"
    )
    env = " ".join(rest for word, rest in found if word == "ENV")
    for name, value in k8s.TELEMETRY_OFF.items():
        assert f"{name}={value}" in env


def test_it_installs_the_package_from_files_that_exist_with_ray_behind_a_build_argument() -> None:
    found = instructions()
    for word, rest in found:
        if word == "COPY" and not rest.startswith("--from"):
            *sources, _dest = shlex.split(rest)
            assert all((ROOT / s).exists() for s in sources), sources
    run = " ".join(rest for word, rest in found if word == "RUN")
    assert "ARG INSTALL_RAY=false" in {f"{w} {r}" for w, r in found}
    assert '".[ray]"' in run and 'pip install "$target"' in run


def test_the_commands_the_manifests_run_exist_in_the_image_s_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["deployer"] == "agents.entrypoints.cli:main"
    modules = {k8s.GATEWAY_COMMAND[2], k8s.ALIVE_COMMAND[2]}
    for module in modules:
        assert (ROOT / "src" / (module.replace(".", "/") + ".py")).is_file(), module
    cmd = next(rest for word, rest in instructions() if word == "CMD")
    assert cmd == '["deployer", "--help"]'
