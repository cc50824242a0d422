"""Which audit events and alerts a person reads, and which channels take a model's alert
(``lifecycle.tenant_views``), as tables."""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle.approval import Role
from lifecycle.tenant_views import (
    channel_takes,
    event_model,
    local_actor,
    local_reader,
    sees_alert,
    sees_event,
    subject_parts,
)
from lifecycle.tenants import Grants, tenant_of

KNOWN = {"iris", "team-a/fraud", "team-b/fraud"}
ADMIN = Grants.of("root", [("*", Role.ADMIN)])
ANN = Grants.of("ann", [("team-a", Role.DEPLOYER)])
VERA = Grants.of("vera", [("default", Role.VIEWER)])
NOBODY = Grants.of("nobody", [])


@pytest.mark.parametrize(
    ("subject", "payload", "model"),
    [
        ("team-a/fraud", {}, "team-a/fraud"),
        ("team-a/fraud/3", {}, "team-a/fraud"),
        ("iris/1", {}, "iris"),
        ("default/iris", {}, "iris"),
        ("dep-team-a~fraud", {"model_name": "team-a/fraud"}, "team-a/fraud"),
        ("dep-team-a~fraud", {}, None),  # a deployment id alone names no model
        ("alice", {"role": "viewer"}, None),  # a user's name is not a registered model
        ("team-c/fraud", {}, None),  # not registered
        ("x", {"model_name": "team-b/fraud"}, "team-b/fraud"),  # the payload's name wins
        ("iris/1", {"model_name": ""}, "iris"),
        ("Not A Name", {}, None),
    ],
)
def test_the_model_of_an_audit_event(subject: str, payload: dict[str, Any], model: str) -> None:
    assert event_model(subject, payload, KNOWN) == model


@pytest.mark.parametrize(
    ("grants", "subject", "payload", "sees"),
    [
        (ADMIN, "alice", {}, True),  # the platform's events: platform admins only
        (ANN, "alice", {}, False),
        (ANN, "team-a/fraud/1", {}, True),
        (ANN, "team-b/fraud/1", {}, False),
        (ANN, "iris/1", {}, False),
        (VERA, "iris/1", {}, True),
        (VERA, "team-a/fraud", {}, False),
        (NOBODY, "iris/1", {}, False),
    ],
)
def test_who_reads_an_audit_event(
    grants: Grants, subject: str, payload: dict[str, Any], sees: bool
) -> None:
    assert sees_event(grants, subject, payload, KNOWN) is sees


@pytest.mark.parametrize(
    ("grants", "model", "sees"),
    [
        (ADMIN, "", True),
        (ADMIN, "team-b/fraud", True),
        (ANN, "", False),  # the platform's alert (audit chain, lease)
        (ANN, "team-a/fraud", True),
        (ANN, "team-b/fraud", False),
        (VERA, "iris", True),
        (VERA, "team-a/fraud", False),
        (VERA, "bad name!", False),
    ],
)
def test_who_reads_an_alert(grants: Grants, model: str, sees: bool) -> None:
    assert sees_alert(grants, model) is sees


@pytest.mark.parametrize(
    ("channel", "model", "takes"),
    [
        (None, "", True),  # the platform's channel takes everything
        (None, "team-a/fraud", True),
        ("team-a", "team-a/fraud", True),
        ("team-a", "team-b/fraud", False),
        ("team-a", "iris", False),
        ("default", "iris", True),
        ("team-a", "", False),  # a tenant's channel is not told the platform's alerts
        ("team-a", "bad name!", False),
    ],
)
def test_which_channels_take_an_alert(channel: str | None, model: str, takes: bool) -> None:
    assert channel_takes(channel, model) is takes


@pytest.mark.parametrize(
    ("grants", "model", "sees"),
    [
        (NOBODY, "iris", True),  # a home's user before tenants reads the default tenant
        (NOBODY, "team-a/fraud", False),  # never a tenant's without a role there
        (ANN, "team-a/fraud", True),
        (ANN, "iris", False),  # a role anywhere: their grants, nothing more
        (ADMIN, "team-b/fraud", True),
    ],
)
def test_how_a_local_user_reads(grants: Grants, model: str, sees: bool) -> None:
    assert local_reader(grants).sees(model) is sees


@pytest.mark.parametrize(
    ("grants", "model", "needed", "allowed"),
    [
        (NOBODY, "iris", Role.DEPLOYER, True),  # a home's user before tenants changed anything
        (NOBODY, "iris", Role.APPROVER, False),  # but never approves
        (NOBODY, "team-a/fraud", Role.DEPLOYER, False),  # never a tenant's without a role there
        (ANN, "team-a/fraud", Role.VIEWER, True),
        (ANN, "iris", Role.VIEWER, False),  # a role anywhere: their grants, nothing more
        (ADMIN, "team-b/fraud", Role.ADMIN, True),
    ],
)
def test_how_a_local_user_changes(grants: Grants, model: str, needed: Role, allowed: bool) -> None:
    assert local_actor(grants).may(needed, tenant_of(model)) is allowed
    assert (local_actor(grants) == grants) is bool(grants.roles)


@pytest.mark.parametrize(
    ("subject", "parts"),
    [
        ("iris/2", ("iris", "2")),
        ("team-a/fraud/3", ("team-a/fraud", "3")),
        ("team-a/fraud", ("team-a/fraud", "")),  # a tenant's model: never model "team-a"
        ("team-a/fraud/x", ("team-a/fraud", "x")),
        ("iris", ("", "")),  # bare: the caller resolves it
    ],
)
def test_an_audit_subject_splits_into_model_and_version(
    subject: str, parts: tuple[str, str]
) -> None:
    assert subject_parts(subject) == parts
