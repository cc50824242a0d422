"""The ModelDeployerAgent: promote, deploy and roll back model versions as a LangGraph graph.

The names below are imported on first use (PEP 562), not with the package: a module that needs
one piece of it (``aliases``, ``deps``) must not pay for the whole agent and LangGraph, and the
``deployer`` command line imports handlers that need only such a piece."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agents.model_deployer.agent import ModelDeployerAgent
    from agents.model_deployer.deps import AgentPolicy, DeployerDeps, Serving
    from agents.model_deployer.graph import build_graph
    from agents.model_deployer.state import InputState, State

_HOMES = {
    "AgentPolicy": "deps",
    "DeployerDeps": "deps",
    "InputState": "state",
    "ModelDeployerAgent": "agent",
    "Serving": "deps",
    "State": "state",
    "build_graph": "graph",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "AgentPolicy",
    "DeployerDeps",
    "InputState",
    "ModelDeployerAgent",
    "Serving",
    "State",
    "build_graph",
]
