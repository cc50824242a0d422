"""``ModelDeployerAgent``: the graph behind the seed's agent shape (tier 0, ml_foundation, 30 s).

Upstream agents call ``await agent.execute(state)``; the CLI, the chat ops and the schedule call
``run`` / ``resume`` / ``continue_run``. One request runs on one thread; a thread paused for an
approval (or cut short by a crash) is taken up again by its ``thread_id``, from any process
that opens the same database.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore
from langgraph.types import Command
from pydantic import BaseModel

from agents.model_deployer.deps import DeployerDeps
from agents.model_deployer.graph import GRAPH_NAME, build_graph


class ModelDeployerAgent:
    """Promotes, deploys and rolls back model versions safely; remembers every rollout."""

    name = GRAPH_NAME
    tier = 0
    tier_name = "ml_foundation"
    sla_seconds = 30.0
    """The answer is due within this time; a paused approval returns at once. A deploy that
    runs longer is not cancelled (stopping half-way would be worse); its result says so."""

    def __init__(
        self,
        deps: DeployerDeps,
        checkpointer: BaseCheckpointSaver[str] | None = None,
        store: BaseStore | None = None,
    ) -> None:
        self.deps = deps
        self.store = store
        self.graph = build_graph(deps).compile(
            checkpointer=checkpointer, store=store, name=GRAPH_NAME
        )
        self._ticker: Any = None

    def tick(self, requested_by: str = "monitor", model_name: str = "") -> dict[str, Any]:
        """One monitoring tick over every open rollout (or one model's), returned as the final
        state. Ticks run without a checkpointer: a decided rollback is stored in the rollout
        itself, so a tick cut short leaves nothing a thread would need, and a schedule that
        ticks every second does not pile up checkpoints."""
        if self._ticker is None:
            self._ticker = build_graph(self.deps).compile(store=self.store, name=GRAPH_NAME)
        started = time.monotonic()
        request = {"action": "monitor", "model_name": model_name, "requested_by": requested_by}
        out = plain(self._ticker.invoke(request))
        out["elapsed_seconds"] = round(time.monotonic() - started, 3)
        return out

    async def execute(self, state: Mapping[str, Any] | Any) -> dict[str, Any]:
        """Run one request to its end or its approval pause; return the final state.

        ``state`` is the input (a mapping or an ``InputState``) and may carry a ``thread_id``.
        The graph's nodes do blocking I/O, so the run goes to a worker thread.
        """
        data: dict[str, Any] = dict(state) if isinstance(state, Mapping) else asdict(state)
        thread_id = data.pop("thread_id", None)
        return await asyncio.to_thread(self.run, data, thread_id)

    def run(self, request: Mapping[str, Any], thread_id: str | None = None) -> dict[str, Any]:
        """Run ``request`` on a new thread (or ``thread_id``) and return the final state."""
        return self._invoke(dict(request), thread_id or new_thread_id())

    def resume(self, thread_id: str, answer: Mapping[str, Any]) -> dict[str, Any]:
        """Answer the approval a thread waits on (``decision``, ``approver``, ``comment``)."""
        return self._invoke(Command(resume=dict(answer)), thread_id)

    def continue_run(self, thread_id: str) -> dict[str, Any]:
        """Take up a thread a crash cut short; a finished thread just returns its result."""
        return self._invoke(None, thread_id)

    def snapshot(self, thread_id: str) -> dict[str, Any]:
        """The thread's state, what would run next, and what it waits on."""
        snap = self.graph.get_state(config_for(thread_id))
        values = plain(snap.values) if isinstance(snap.values, Mapping) else {}
        return {
            **values,
            "thread_id": thread_id,
            "next": list(snap.next),
            "interrupts": [i.value for i in snap.interrupts],
        }

    def _invoke(self, payload: Any, thread_id: str) -> dict[str, Any]:
        started = time.monotonic()
        result = self.graph.invoke(payload, config_for(thread_id))
        elapsed = time.monotonic() - started
        out = plain(result) if isinstance(result, Mapping) else {}
        interrupts = out.pop("__interrupt__", None) or []
        out["thread_id"] = thread_id
        out["interrupts"] = [i.value for i in interrupts]
        out["elapsed_seconds"] = round(elapsed, 3)
        out["sla_met"] = elapsed <= self.sla_seconds or bool(interrupts)
        return out


def plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """A run's state as callers get it: the typed parts (plan, rollback, monitor) as JSON."""
    return {
        k: v.model_dump(mode="json") if isinstance(v, BaseModel) else v for k, v in values.items()
    }


def new_thread_id() -> str:
    """A fresh thread id for one request."""
    return f"{GRAPH_NAME}-{uuid.uuid4().hex}"


def config_for(thread_id: str) -> RunnableConfig:
    """The run config of ``thread_id``."""
    return {"configurable": {"thread_id": thread_id}}
