"""The Python packages a bento lists, so that it runs on a fresh node (issue 17, item 4).

A bento carries the model's own requirements (its MLflow ``requirements.txt``, else the pip
section of its ``conda.yaml``) and the serving code's own needs. Only plain PyPI requirements
go in (``name[extras] specifiers ; marker``): a line that names a local path, a URL, an
editable install or a pip option (``-e``, ``-r``, ``--index-url``, ``name @ url``) is dropped
and reported, never allowed to break the build or to make a node fetch something from where
the bento was built. The serving code's needs (``SERVICE_PACKAGES``) are pinned to the versions
the bento was built and checked with, unless the model pins them itself. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SERVICE_PACKAGES = ("mlflow", "numpy", "pandas", "scikit-learn")
"""What ``mlops/bento_service/service.py`` imports to serve any version beside BentoML (which
lists itself, at the version that builds the bento): MLflow's pyfunc and sklearn flavours,
NumPy, pandas, and scikit-learn for models and preprocessing steps."""

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_SPEC = r"(?:===|==|~=|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+"
_PLAIN = re.compile(
    rf"^(?P<name>{_NAME})\s*(?:\[\s*{_NAME}(?:\s*,\s*{_NAME})*\s*\])?\s*"
    rf"(?P<specs>{_SPEC}(?:\s*,\s*{_SPEC})*)?\s*(?:;(?P<marker>[^@]*))?$"
)

_ARCHIVE = re.compile(r"\.(whl|zip|tar\.gz|tgz|tar\.bz2)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Requirements:
    """Plain requirement lines kept (as written) and lines dropped (with why)."""

    kept: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()


def canonical_name(name: str) -> str:
    """PEP 503's normal form: ``Scikit_Learn`` and ``scikit-learn`` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_requirements(lines: Iterable[str]) -> Requirements:
    """The plain PyPI requirements among ``lines`` (a ``requirements.txt``'s or a conda
    environment's pip section); comments and blank lines are neither kept nor reported."""
    kept: list[str] = []
    dropped: list[str] = []
    for raw in lines:
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        if _PLAIN.match(line) and not _ARCHIVE.search(line):
            kept.append(line)
        else:
            dropped.append(f"{line} (not a plain PyPI requirement)")
    return Requirements(tuple(kept), tuple(dropped))


def conda_pip_lines(environment: Any) -> list[str]:
    """The pip section of a parsed ``conda.yaml`` (``dependencies: [..., {pip: [...]}]``)."""
    found: list[str] = []
    dependencies = environment.get("dependencies") if isinstance(environment, dict) else None
    for item in dependencies or []:
        if isinstance(item, dict) and isinstance(item.get("pip"), list):
            found += [str(line) for line in item["pip"]]
    return found


def bento_packages(model: Requirements, built_with: Mapping[str, str]) -> tuple[str, ...]:
    """The bento's ``python.packages``: the model's requirements, then the serving code's needs
    (``built_with``: package -> the version the bento is built with). A need the model pins
    (any specifier) keeps the model's line; one it names bare, or not at all, is pinned to
    ``built_with``'s version, which the bento was checked with."""
    needs = {canonical_name(name): version for name, version in built_with.items()}
    out: list[str] = []
    for line in model.kept:
        match = _PLAIN.match(line)
        assert match is not None  # kept lines are plain
        name = canonical_name(match.group("name"))
        if name in needs and not match.group("specs") and not match.group("marker"):
            out.append(f"{name}=={needs.pop(name)}")
            continue
        needs.pop(name, None)
        out.append(line)
    out += [f"{name}=={version}" for name, version in needs.items()]
    return tuple(out)
