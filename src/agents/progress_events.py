"""A graph run's progress as it happens, node by node (issue 19: an operation's exact
``current_node`` and ``steps_done``).

``listening(listener)`` sets a listener for the calling thread's graph runs; the system graph
and the retraining agent add ``NodeEvents`` to their run's callbacks (``with_listener``), which
LangGraph hands on to the agents' graphs run inside a node. The listener hears each node as it
starts (``agent/node`` inside an agent: ``lifecycle.operations.node_path``) and as it
finishes; nothing is read back from checkpoints, so the node shown is the one that runs now.
A listener must be quick and never touch the state database (it runs on the graph's thread,
which may hold a write transaction): ``operation_runs`` keeps the figures in memory and its
heartbeat thread writes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import merge_configs

from lifecycle.operations import node_path


class NodeListener(Protocol):
    def started(self, node: str) -> None:
        """A node (its path) started."""

    def finished(self, node: str) -> None:
        """A node (its path) returned (a node that raised, or paused, did not)."""


_listener: ContextVar[NodeListener | None] = ContextVar("graph_node_listener", default=None)


@contextmanager
def listening(listener: NodeListener) -> Iterator[None]:
    """Graph runs started by this thread in the block report their nodes to ``listener``."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def with_listener(config: RunnableConfig) -> RunnableConfig:
    """``config`` with the current listener's callbacks added (as it is when none listens)."""
    listener = _listener.get()
    if listener is None:
        return config
    return merge_configs(config, {"callbacks": [NodeEvents(listener)]})


class NodeEvents(BaseCallbackHandler):
    """LangGraph's callback events -> node starts and ends (inner runnables and routing
    functions of a node are not nodes: their run's name is not the node's)."""

    def __init__(self, listener: NodeListener) -> None:
        self.listener = listener
        self.nodes: dict[UUID, str] = {}

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        about = metadata or {}
        node = about.get("langgraph_node")
        if not node or kwargs.get("name") != node:
            return
        path = node_path(str(about.get("langgraph_checkpoint_ns") or ""), str(node))
        self.nodes[run_id] = path
        self.listener.started(path)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        path = self.nodes.pop(run_id, None)
        if path is not None:
            self.listener.finished(path)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self.nodes.pop(run_id, None)
