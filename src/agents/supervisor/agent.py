"""``SystemAgent``: the system graph as the entry points call it (run, resume, snapshot, tick).

One request runs on one system thread; the deployer's approval pause surfaces on it and
``resume`` answers it there. A scheduled tick runs without a checkpointer (as the deployer's
own ``tick``): a handoff to an agent in ``deferred`` (the retraining, whose training may take
longer than a tick) is not run but returned in ``handoffs`` for the caller to record.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Command
from pydantic_core import to_jsonable_python

from agents.progress_events import with_listener
from agents.supervisor.graph import GRAPH_NAME, build_graph
from agents.supervisor.spec import AgentSpec
from agents.supervisor.state import AgentResult, InputState
from lifecycle.handoff import AgentName
from lifecycle.supervision import (
    SYSTEM_THREAD_PREFIX,
    RequestAction,
    RequestSource,
    SystemRequest,
    is_system_thread,
)

if TYPE_CHECKING:
    from agents.model_deployer.agent import ModelDeployerAgent


class SystemAgent:
    """Receives every request and routes it to the agent that owns it."""

    name = GRAPH_NAME

    def __init__(
        self,
        agents: Mapping[AgentName, AgentSpec],
        checkpointer: BaseCheckpointSaver[str] | None = None,
        store: BaseStore | None = None,
        deferred: Collection[AgentName] = (AgentName.RETRAINING,),
        deployer: ModelDeployerAgent | None = None,
    ) -> None:
        self.agents = agents
        self.store = store
        self.checkpointer = checkpointer
        self.deployer = deployer
        """The deployer agent over the same checkpointer (the watcher's crash recovery)."""
        self.graph = build_graph(agents).compile(
            checkpointer=checkpointer, store=store, name=GRAPH_NAME
        )
        self._ticker = build_graph(agents, deferred).compile(store=store, name=GRAPH_NAME)

    def subgraph(self) -> CompiledStateGraph[Any, Any, Any, Any]:
        """The system graph for an upstream agent's graph: compiled without a checkpointer
        (it runs on the parent's, so the deployer's approval pause surfaces at the parent)."""
        return build_graph(self.agents).compile(store=self.store, name=GRAPH_NAME)

    def run(
        self, request: SystemRequest | Mapping[str, Any], thread_id: str | None = None
    ) -> dict[str, Any]:
        """Run ``request`` on a new system thread (or ``thread_id``) to its end or its pause."""
        return self._invoke({"request": _request(request)}, thread_id or new_thread_id())

    def resume(self, thread_id: str, answer: Mapping[str, Any]) -> dict[str, Any]:
        """Answer what the thread waits on (the deployer's approval: ``approval_id``,
        ``decision``, ``approver``, ``comment``)."""
        return self._invoke(Command(resume=dict(answer)), thread_id)

    def continue_run(self, thread_id: str) -> dict[str, Any]:
        """Take up a thread a crash cut short, from its last checkpoint (an agent's too: its
        subgraph resumes from its own checkpoint, and its keyed steps repeat nothing)."""
        return self._invoke(None, thread_id)

    def continue_deploy(self, thread_id: str) -> str | None:
        """Take up a deploy cut short on a system thread; the status the deployer's run
        ended with (None: it did not end)."""
        out = self.continue_run(thread_id)
        steps = [r for r in out.get("results") or [] if r.get("agent") == AgentName.DEPLOYER]
        return str(steps[-1].get("status") or "") or None if steps else None

    def owns(self, thread_id: str | None) -> bool:
        """Whether ``thread_id`` is one of the system graph's threads."""
        return is_system_thread(thread_id)

    def deploy_thread(self, thread_id: str) -> tuple[bool, datetime | None]:
        """Whether the thread is a deploy that can be taken up (not finished, waiting on
        nobody), and when it last checkpointed (the system's checkpoint before the deployer
        ran: the deployment's own marks tell its later progress)."""
        snap = self.graph.get_state(config_for(thread_id))
        values = plain(snap.values) if isinstance(snap.values, Mapping) else {}
        action = (values.get("request") or {}).get("action")
        at = datetime.fromisoformat(snap.created_at) if snap.created_at else None
        return action == RequestAction.DEPLOY.value and bool(snap.next) and not snap.interrupts, at

    def snapshot(self, thread_id: str) -> dict[str, Any]:
        """The thread's state, what runs next and what it waits on (a paused agent's too)."""
        snap = self.graph.get_state(config_for(thread_id))
        values = plain(snap.values) if isinstance(snap.values, Mapping) else {}
        waits = [i.value for i in snap.interrupts]
        return {**values, "thread_id": thread_id, "next": list(snap.next), "interrupts": waits}

    def tick(
        self, requested_by: str = "monitor", model_name: str = "", models: Sequence[str] = ()
    ) -> dict[str, Any]:
        """One scheduled health tick through the supervisor, run without a checkpointer: the
        deployer's tick and what it hands on (``models``: only theirs, in one tick). ``monitor``
        is the deployer's tick report."""
        args: dict[str, Any] = {"model_names": sorted(models)} if models else {}
        out = self._scheduled(RequestAction.MONITOR, requested_by, model_name, args)
        deployer = [r for r in out["results"] if r["agent"] == AgentName.DEPLOYER.value]
        out["monitor"] = deployer[0]["outputs"].get("monitor") if deployer else None
        return out

    def watch(self, requested_by: str = "monitor", model_name: str = "") -> dict[str, Any]:
        """The monitor agent's scheduled watch through the supervisor (``deployer watch`` runs
        it after each tick's checks, so it judges this tick's evidence): its decisions and
        what it hands on. ``handoffs`` is the work left to deferred agents (a retraining, run
        by the retraining worker outside the tick); a rollback it asks for runs at once."""
        out = self._scheduled(RequestAction.WATCH, requested_by, model_name)
        monitor = [r for r in out["results"] if r["agent"] == AgentName.MONITOR.value]
        out["decisions"] = monitor[0]["outputs"].get("decisions", []) if monitor else []
        return out

    def _scheduled(
        self,
        action: RequestAction,
        requested_by: str,
        model: str,
        args: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        started = time.monotonic()
        request = SystemRequest(
            source=RequestSource.SCHEDULE,
            action=action,
            model_name=model,
            requested_by=requested_by,
            args=args or {},
        )
        out = plain(self._ticker.invoke(InputState(request=request)))
        out["elapsed_seconds"] = round(time.monotonic() - started, 3)
        return out

    def _invoke(self, payload: Any, thread_id: str) -> dict[str, Any]:
        started = time.monotonic()
        result = self.graph.invoke(payload, with_listener(config_for(thread_id)))
        out = plain(result) if isinstance(result, Mapping) else {}
        interrupts = out.pop("__interrupt__", None) or []
        out["thread_id"] = thread_id
        out["interrupts"] = [to_jsonable_python(i.value) for i in interrupts]
        if interrupts:
            out["status"] = "awaiting_approval"
        out["elapsed_seconds"] = round(time.monotonic() - started, 3)
        return out


def _request(request: SystemRequest | Mapping[str, Any]) -> SystemRequest:
    if isinstance(request, SystemRequest):
        return request
    return SystemRequest.model_validate(request)


def plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """The system state as callers get it: plain JSON (results, handoffs, the request)."""
    return {
        k: v if k == "__interrupt__" else _results(v) if k == "results" else to_jsonable_python(v)
        for k, v in values.items()
    }


def _results(results: Any) -> Any:
    """The agents' results as JSON. An ``AgentResult``'s outputs are JSON already (``AgentSpec.
    kept`` made them so, and a restored result was validated as JSON): they are handed on as
    they are, not walked again (a tick's report is one judgement per rollout, 1,000 of them)."""
    if not isinstance(results, list):
        return to_jsonable_python(results)
    found = []
    for result in results:
        if not isinstance(result, AgentResult):
            found.append(to_jsonable_python(result))
            continue
        rest = to_jsonable_python(result, exclude={"outputs"})
        found.append({k: result.outputs if k == "outputs" else rest[k] for k in FIELDS})
    return found


FIELDS = tuple(AgentResult.model_fields)


def new_thread_id() -> str:
    """A fresh system thread id (the prefix tells ``operations.decide`` whose thread it is)."""
    return f"{SYSTEM_THREAD_PREFIX}{uuid.uuid4().hex}"


def config_for(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}
