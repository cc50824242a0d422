"""The graph for LangGraph Studio and ``langgraph dev`` (see ``langgraph.json``).

Studio brings its own checkpointer, so the graph is compiled without one. The deps are this
home's real adapters (``DEPLOYER_HOME`` and friends, as for the CLI), set up once per process
in a worker thread: ``langgraph dev`` calls a factory on its event loop for every request and
refuses blocking I/O there (``BlockingError: Blocking call to os.mkdir``), so the factories are
async and do the home's set-up (folders, migrations, the memory store) off the loop. The
nodes are sync functions, which LangGraph runs in worker threads too.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from langgraph.graph.state import CompiledStateGraph

from agents.bootstrap import bootstrap
from agents.model_deployer.graph import GRAPH_NAME, build_graph
from database import migrate
from memory.store_memory import StoreMemory
from memory.stores import open_store

if TYPE_CHECKING:
    from agents.bootstrap import Container
    from agents.model_deployer.deps import DeployerDeps

_resources = ExitStack()
atexit.register(_resources.close)
_lock = threading.RLock()
_built: dict[str, Any] = {}


def home_deps() -> DeployerDeps:
    """This home's deployer deps, set up once per process (blocking: call it off the loop)."""
    container, memory = home()
    deps: DeployerDeps = once("deps", lambda: container.deps(memory))
    return deps


def once(key: str, build: Callable[[], Any]) -> Any:
    """``build()`` the first time ``key`` is asked for in this process, then the same value."""
    with _lock:
        if key not in _built:
            _built[key] = build()
        return _built[key]


def home() -> tuple[Container, StoreMemory]:
    """This home's container and memory, set up once per process (blocking: off the loop)."""
    made: tuple[Container, StoreMemory] = once("home", _set_up)
    return made


def _set_up() -> tuple[Container, StoreMemory]:
    container = bootstrap()
    container.settings.ensure_home()
    migrate.upgrade(container.settings.database_url)
    _resources.callback(container.close)
    store = _resources.enter_context(open_store(container.settings.database_url))
    return container, StoreMemory(store)


def build_deployer() -> CompiledStateGraph[Any, Any, Any, Any]:
    """The deployer graph over this home's adapters, compiled without a checkpointer."""
    graph: CompiledStateGraph[Any, Any, Any, Any] = once(
        GRAPH_NAME, lambda: build_graph(home_deps()).compile(name=GRAPH_NAME)
    )
    return graph


async def make_graph() -> CompiledStateGraph[Any, Any, Any, Any]:
    """``langgraph.json``'s factory: the deployer graph, built in a worker thread."""
    return await asyncio.to_thread(build_deployer)
