"""The system graph and its agents carry a tenant's model name untouched (issue 19): a request
about ``team-a/fraud`` reaches its agent as ``team-a/fraud``, and so does every handoff the
monitor and the retraining agent make about it (stand-in agents, ``tests.supervisor_fakes``)."""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle.handoff import AgentName, Handoff
from tests.supervisor_fakes import StandIn, by_action, done
from tests.unit.test_supervisor_graph import results, run, system

D, M, R = AgentName.DEPLOYER, AgentName.MONITOR, AgentName.RETRAINING
FRAUD = "team-a/fraud"


@pytest.mark.parametrize(
    ("request_", "agent"),
    [
        ({"action": "deploy", "model_name": FRAUD, "args": {"version": "2"}}, D),
        ({"action": "rollback", "model_name": FRAUD}, D),
        ({"action": "watch", "model_name": FRAUD, "source": "schedule"}, M),
        ({"action": "retrain", "model_name": FRAUD, "args": {"trigger": "manual"}}, R),
        ({"action": "chat", "source": "chat", "text": f"deploy {FRAUD} v2 as canary at 10%"}, D),
        ({"action": "chat", "source": "chat", "text": "roll back default/fraud"}, D),
    ],
)
def test_a_request_reaches_its_agent_with_the_name_as_stored(
    request_: dict[str, Any], agent: AgentName
) -> None:
    agents = {n: StandIn(n, done("done")) for n in (D, M, R)}
    run(system(*agents.values()), {"request": request_})
    (asked,) = agents[agent].asked
    assert asked.model_name == ("fraud" if "default/" in str(request_) else FRAUD)


def _to(agent: AgentName, source: AgentName, reason: str, **request: Any) -> Handoff:
    return Handoff(to=agent, request={"model_name": FRAUD, **request}, reason=reason, source=source)


def test_handoffs_about_a_tenants_model_keep_its_name_through_every_agent() -> None:
    monitor = StandIn(
        M,
        done(
            "handed_off",
            _to(D, M, "the canary breached its SLO", action="rollback"),
            _to(R, M, "drift", trigger="drift"),
        ),
    )
    retraining = StandIn(
        R,
        done(
            "handed_off",
            _to(D, R, "promote to staging", action="promote", version="3", target_stage="staging"),
            _to(D, R, "deploy the shadow", action="deploy", version="3", strategy="shadow"),
        ),
    )
    deployer = StandIn(
        D, by_action({"rollback": "rolled_back", "promote": "promoted", "deploy": "deployed"})
    )
    out = run(
        system(monitor, deployer, retraining),
        {"request": {"action": "watch", "model_name": FRAUD}},
    )
    assert [r.status for r in results(out)] == [
        "handed_off",
        "rolled_back",
        "handed_off",
        "promoted",
        "deployed",
    ]
    asked = [a.model_name for agent in (monitor, deployer, retraining) for a in agent.asked]
    assert asked == [FRAUD] * 5
    assert out["status"] == "completed"
