"""The graph for LangGraph Studio and ``langgraph dev`` (see ``langgraph.json``).

Studio brings its own checkpointer, so the graph is compiled without one. The deps are this
home's real adapters (``DEPLOYER_HOME`` and friends, as for the CLI); the memory store stays
open for the life of the process.
"""

from __future__ import annotations

import atexit
from contextlib import ExitStack
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from agents.bootstrap import bootstrap
from agents.model_deployer.graph import GRAPH_NAME, build_graph
from database import migrate
from memory.store_memory import StoreMemory
from memory.stores import open_store

_resources = ExitStack()
atexit.register(_resources.close)


def make_graph() -> CompiledStateGraph[Any, Any, Any, Any]:
    """The deployer graph over this home's adapters, compiled without a checkpointer."""
    container = bootstrap()
    container.settings.ensure_home()
    migrate.upgrade(container.settings.database_url)
    _resources.callback(container.close)
    store = _resources.enter_context(open_store(container.settings.database_url))
    deps = container.deps(StoreMemory(store))
    return build_graph(deps).compile(name=GRAPH_NAME)
