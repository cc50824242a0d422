"""Running the monitor agent once (the watcher's tick, a test): compiled without a
checkpointer, its final state returned as JSON-ready parts."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from agents.model_monitor.deps import MonitorDeps
from agents.model_monitor.graph import GRAPH_NAME, build_graph
from agents.model_monitor.state import InputState, State
from lifecycle.alerts import Severity
from lifecycle.jsonable import jsonable


def run_monitor(deps: MonitorDeps, request: InputState) -> dict[str, Any]:
    """One run over ``request``; the final state as JSON (decisions, handoffs, status, errors)."""
    graph = build_graph(deps).compile(name=GRAPH_NAME)
    out: Any = graph.invoke(request)
    names = {f.name for f in fields(State)}
    state = State(**{k: v for k, v in dict(out).items() if k in names})
    return {
        "status": state.status,
        "errors": list(state.errors),
        "decisions": [report_line(d.model_dump(mode="json")) for d in state.decisions],
        "handoffs": [h.model_dump(mode="json") for h in state.handoffs],
    }


def report_line(decision: dict[str, Any]) -> dict[str, Any]:
    """One decision as the tick's report shows it."""
    d = decision["decision"]
    line: dict[str, Any] = jsonable(
        {
            "model_name": decision["model_name"],
            "action": d["action"],
            "trigger": d["trigger"],
            "severity": Severity(d["severity"]).label,
            "reasons": d["reasons"],
            "recorded": decision["recorded"],
            "decision_id": decision["decision_id"],
            "retraining_run_id": decision["retraining_run_id"],
            "approval_id": decision["approval_id"],
        }
    )
    return line
