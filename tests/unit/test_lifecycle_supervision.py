"""The supervisor's pure decisions: who owns a request, how a chain of handoffs goes on."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from lifecycle.errors import BadInputError
from lifecycle.handoff import AgentName, Handoff
from lifecycle.supervision import (
    MAX_STEPS,
    SYSTEM_THREAD_PREFIX,
    RequestAction,
    RequestSource,
    SystemRequest,
    chain_status,
    first_handoff,
    is_system_thread,
    next_queue,
    route,
    step_succeeded,
)

D, M, R = AgentName.DEPLOYER, AgentName.MONITOR, AgentName.RETRAINING


@pytest.mark.parametrize(
    ("action", "source", "agent"),
    [
        ("promote", "chat", D),
        ("deploy", "api", D),
        ("rollback", "upstream", D),
        ("monitor", "schedule", D),
        ("watch", "schedule", M),
        ("watch", "api", M),
        ("retrain", "chat", R),
        ("retrain", "upstream", R),
    ],
)
def test_each_action_goes_to_the_agent_that_owns_it(
    action: str, source: str, agent: AgentName
) -> None:
    request = SystemRequest.model_validate({"action": action, "source": source})
    assert route(request) is agent


def test_chat_text_is_read_before_it_is_routed() -> None:
    with pytest.raises(BadInputError) as refused:
        route(SystemRequest(action=RequestAction.CHAT, text="status"))
    assert str(refused.value) == "chat text is read into a request before it is routed"


@pytest.mark.parametrize(
    "bad",
    [
        {"action": "launch"},
        {"action": "deploy", "source": "email"},
        {"action": "deploy", "colour": "red"},
        {},
    ],
)
def test_a_malformed_request_is_refused_by_its_type(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SystemRequest.model_validate(bad)


def test_a_deployer_request_becomes_the_deployers_input_with_its_action() -> None:
    request = SystemRequest(
        source=RequestSource.API,
        action=RequestAction.PROMOTE,
        model_name="iris",
        requested_by="alice",
        reason="passed shadow",
        args={"version": "2", "target_stage": "production"},
    )
    handoff = first_handoff(request)
    assert handoff.to is D and handoff.source is None
    assert handoff.request == {
        "action": "promote",
        "model_name": "iris",
        "requested_by": "alice",
        "reason": "passed shadow",
        "source": "api",
        "version": "2",
        "target_stage": "production",
    }
    assert handoff.reason == "passed shadow"


def test_other_agents_get_no_action_field_and_a_default_reason() -> None:
    request = SystemRequest(
        source=RequestSource.SCHEDULE,
        action=RequestAction.RETRAIN,
        model_name="iris",
        args={"trigger": "schedule"},
    )
    handoff = first_handoff(request)
    assert handoff.to is R
    assert "action" not in handoff.request
    assert handoff.request["trigger"] == "schedule"
    assert handoff.reason == "retrain asked through schedule"


@pytest.mark.parametrize("field", ["action", "model_name", "requested_by", "reason"])
def test_args_may_not_override_the_requests_own_fields(field: str) -> None:
    request = SystemRequest(action=RequestAction.DEPLOY, model_name="iris", args={field: "x"})
    with pytest.raises(BadInputError, match=field):
        first_handoff(request)


@pytest.mark.parametrize(
    ("status", "goes_on"),
    [
        ("promoted", True),
        ("deployed", True),
        ("traffic_updated", True),
        ("rolled_back", True),
        ("monitored", True),
        ("handed_off", True),
        ("no_action", True),
        ("completed", True),
        ("failed", False),
        ("failed_evaluation", False),
        ("error", False),
        ("rejected", False),
        ("refused", False),
        ("awaiting_approval", False),
        ("cancelled", False),
        ("blocked", False),
        ("", False),
    ],
)
def test_a_chain_goes_on_only_after_a_step_that_succeeded(status: str, goes_on: bool) -> None:
    assert step_succeeded(status) is goes_on


def _h(what: str, to: AgentName = D) -> Handoff:
    return Handoff(to=to, request={"what": what}, reason=what, source=R)


def test_a_steps_follow_ups_run_before_the_handoffs_that_were_waiting_in_their_order() -> None:
    waiting = [_h("later")]
    produced = [_h("promote staging"), _h("promote shadow"), _h("deploy shadow")]
    queue = next_queue(waiting, produced)
    assert [h.reason for h in queue] == [
        "promote staging",
        "promote shadow",
        "deploy shadow",
        "later",
    ]
    assert next_queue([], []) == []


@pytest.mark.parametrize(
    ("statuses", "left", "status"),
    [
        ([], 0, "failed"),
        (["deployed"], 0, "completed"),
        (["trained", "promoted", "promoted", "deployed"], 0, "completed"),
        (["trained", "rejected"], 2, "rejected"),
        (["trained", "failed"], 1, "failed"),
        (["awaiting_approval"], 0, "awaiting_approval"),
        ([""], 0, "failed"),
    ],
)
def test_the_systems_status_is_the_chains(statuses: list[str], left: int, status: str) -> None:
    assert chain_status(statuses, left) == status


def test_a_repeated_field_is_named_in_one_readable_line() -> None:
    request = SystemRequest(
        action=RequestAction.DEPLOY, args={"reason": "x", "action": "promote", "version": "2"}
    )
    with pytest.raises(BadInputError) as refused:
        first_handoff(request)
    assert str(refused.value) == "args may not repeat the request's own fields: action, reason"


def test_a_chain_of_handoffs_is_bounded_at_twenty_steps() -> None:
    # a retraining's chain is four steps; twenty leaves room and still stops a ping-pong
    assert MAX_STEPS == 20


@pytest.mark.parametrize(
    ("thread_id", "system"),
    [
        ("system-9f2c", True),
        (SYSTEM_THREAD_PREFIX, True),
        ("9f2c", False),
        ("deployer-system-9f2c", False),  # the prefix only at the start
        ("System-9f2c", False),
        ("system9f2c", False),
        ("", False),
        (None, False),
    ],
)
def test_a_system_thread_is_told_by_its_prefix(thread_id: str | None, system: bool) -> None:
    assert is_system_thread(thread_id) is system
