"""``RetrainingAgent``: the retraining graph compiled with a checkpointer, one thread per run
(the thread id is the run's id), its results as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from agents.progress_events import with_listener
from agents.retraining.deps import RetrainingDeps
from agents.retraining.graph import build_graph
from lifecycle.jsonable import jsonable

OUTPUT = ("status", "new_version", "label", "evaluation", "handoffs", "errors")


class RetrainingAgent:
    def __init__(
        self, deps: RetrainingDeps, checkpointer: BaseCheckpointSaver[str] | None = None
    ) -> None:
        self.deps = deps
        self.graph = build_graph(deps).compile(checkpointer=checkpointer)

    def run(self, request: Mapping[str, Any], thread_id: str) -> dict[str, Any]:
        """Run (or, on a thread that stopped half-way, resume) one retraining."""
        config: Any = {"configurable": {"thread_id": thread_id}}
        snapshot = self.graph.get_state(config) if self.graph.checkpointer else None
        resume = snapshot is not None and bool(snapshot.next)
        given: Any = None if resume else dict(request)
        final = self.graph.invoke(given, with_listener(config))
        return result_of(final)


def result_of(state: Mapping[str, Any]) -> dict[str, Any]:
    """The run's output fields as JSON (handoffs as plain dicts)."""
    out = {k: state.get(k) for k in OUTPUT}
    out["retraining_run_id"] = state.get("retraining_run_id")
    return dict(jsonable(out))
