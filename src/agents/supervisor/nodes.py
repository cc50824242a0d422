"""The supervisor's nodes: ``supervise`` hands the next piece of work to its agent with
``Command(goto=<agent>)``; ``AgentNode`` runs one agent's compiled graph as a subgraph (its
input from the handoff, its result back into the system state) and returns to the supervisor.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from langgraph.graph import END
from langgraph.types import Command

from agents.supervisor.spec import AgentSpec
from agents.supervisor.state import AgentResult, State, handoff_of, result_of
from lifecycle.errors import ModelDeployerError
from lifecycle.handoff import AgentName, Handoff
from lifecycle.supervision import MAX_STEPS, chain_status, next_queue, step_succeeded

SUPERVISOR = "supervisor"


class Supervisor:
    """Routes the pending handoffs in order, stopping at the first step that did not succeed."""

    def __init__(
        self, agents: Mapping[AgentName, AgentSpec], deferred: Collection[AgentName] = ()
    ) -> None:
        self.agents = agents
        self.deferred = frozenset(deferred)
        """Agents whose handoffs are left to the caller (a scheduled tick's retraining)."""

    def __call__(self, state: State) -> Command[str]:
        results = [result_of(r) for r in state.results]
        pending = [handoff_of(h) for h in state.pending]
        stopped = bool(results) and not step_succeeded(results[-1].status)
        kept = [handoff_of(h) for h in state.handoffs]
        if stopped or not pending:
            return self._end(results, pending, kept, [])
        if len(results) >= MAX_STEPS:
            return self._end(results, pending, kept, [f"stopped after {MAX_STEPS} steps"])
        step, rest = pending[0], pending[1:]
        if step.to in self.deferred:
            return Command(goto=SUPERVISOR, update={"pending": rest, "handoffs": [*kept, step]})
        if step.to not in self.agents:
            missing = f"no {step.to.value} agent in this system: {step.reason}"
            return self._end(results, pending, kept, [missing], "failed")
        return Command(goto=step.to.value, update={"current": step, "pending": rest})

    def _end(
        self,
        results: list[AgentResult],
        left: list[Handoff],
        kept: list[Handoff],
        errors: list[str],
        status: str | None = None,
    ) -> Command[str]:
        status = status or chain_status([r.status for r in results], len(left))
        seen = [e for r in results for e in r.errors]
        update = {"status": status, "handoffs": [*kept, *left], "errors": [*seen, *errors]}
        return Command(goto=END, update={**update, "current": None, "pending": []})


class AgentNode:
    """One agent as a node of the system graph."""

    def __init__(self, spec: AgentSpec) -> None:
        self.spec = spec

    def __call__(self, state: State) -> dict[str, Any]:
        if state.current is None:
            raise RuntimeError(f"{self.spec.name} ran without a handoff")
        handoff = handoff_of(state.current)
        try:
            out = self.spec.graph.invoke(self.spec.input_for(handoff))
        except ModelDeployerError as exc:
            if handoff.source is None:
                raise  # the caller's own request: its typed error is the answer
            out = {"status": "refused", "errors": [str(exc)]}  # stops the chain, recorded
        result = self.result(handoff, out if isinstance(out, Mapping) else {})
        pending = next_queue([handoff_of(h) for h in state.pending], result.handoffs)
        return {"results": [*state.results, result], "pending": pending, "current": None}

    def result(self, handoff: Handoff, out: Mapping[str, Any]) -> AgentResult:
        produced = tuple(handoff_of(h) for h in out.get("handoffs") or ())
        # every field is typed already (the outputs are JSON: ``kept``), so nothing is
        # validated again: a tick's outputs are one judgement per rollout, 1,000 of them
        return AgentResult.model_construct(
            agent=self.spec.name,
            request=handoff.request,
            reason=handoff.reason,
            source=handoff.source,
            status=str(out.get("status") or ""),
            errors=tuple(str(e) for e in out.get("errors") or ()),
            outputs=self.spec.kept(out),
            handoffs=produced,
        )
