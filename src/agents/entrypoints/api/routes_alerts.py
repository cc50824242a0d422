"""Alerts over the ops API: the alerts told (viewers read) and the alert channels (admins only:
a channel's URL holds secrets, shown redacted)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from agents.entrypoints.api.auth import ApiUser
from agents.entrypoints.api.deps import ContainerDep, Viewer, require
from agents.entrypoints.api.errors import error_responses
from agents.entrypoints.api.responses import json_response
from agents.entrypoints.api.schemas import Body
from agents.handlers import alerts
from lifecycle.alerts import GROUPS
from lifecycle.approval import Role
from lifecycle.durations import WINDOW_PATTERN
from lifecycle.tenants import is_qualified_name

router = APIRouter(tags=["alerts"])

Admin = Annotated[ApiUser, Depends(require(Role.ADMIN))]
GROUPS_PATTERN = rf"^(|all|({'|'.join(GROUPS)})(,({'|'.join(GROUPS)})){{0,{len(GROUPS) - 1}}})$"
ChannelId = Annotated[int, Path(ge=1, le=2_147_483_647, description="A channel's id.")]


class ChannelRequest(Body):
    """An alert channel: an Apprise URL and what it takes."""

    url: str = Field(
        min_length=4,
        max_length=2000,
        pattern=r"^[A-Za-z][A-Za-z0-9+.\-]{0,30}://\S+$",
        description="An Apprise URL (json://host:port/path, mailto://..., slack://...).",
    )
    events: str = Field(
        default="",
        pattern=GROUPS_PATTERN,
        description=f"Comma-separated groups of {', '.join(GROUPS)}; empty or all: every one.",
    )
    min_severity: str = Field(
        default="info", pattern=r"^(info|warning|critical)$", description="The least severity."
    )


@router.get("/v1/alerts", responses=error_responses())
async def alert_history(
    user: Viewer,
    c: ContainerDep,
    since: Annotated[str, Query(pattern=WINDOW_PATTERN, description="30m, 2h, 1d, 1w.")] = "1d",
) -> JSONResponse:
    """The alerts of the last ``since``, newest first: sent, pending retry, failed (with the
    error), suppressed (a repeat). A caller sees their tenants' models' alerts; the platform's
    own (no model: the audit chain, the watcher's lease) only a platform admin."""
    rows = await run_in_threadpool(alerts.alert_history, c, since)
    grants = user.grants
    shown = [
        r
        for r in rows
        if (grants.sees(r["model"]) if is_qualified_name(str(r["model"] or "")) else False)
        or (not r["model"] and grants.is_platform_admin)
    ]
    return json_response({"alerts": shown})


@router.get("/v1/alert-channels", responses=error_responses())
async def list_channels(user: Admin, c: ContainerDep) -> JSONResponse:
    """The alert channels, URLs redacted (admins only)."""
    rows = await run_in_threadpool(alerts.list_channels, c)
    return json_response({"channels": rows})


@router.post("/v1/alert-channels", status_code=201, responses=error_responses(404, 409, 502))
async def add_channel(user: Admin, c: ContainerDep, body: ChannelRequest) -> JSONResponse:
    """Add an alert channel (admins only); a URL Apprise cannot send to is a 404 (like a
    model URI naming nothing); nothing is written."""
    row = await run_in_threadpool(
        alerts.add_channel, c, user.name, body.url, body.events, body.min_severity
    )
    return json_response(row, status=201)


@router.delete("/v1/alert-channels/{channel_id}", responses=error_responses(404, 409, 502))
async def remove_channel(channel_id: ChannelId, user: Admin, c: ContainerDep) -> JSONResponse:
    """Remove an alert channel (admins only; 404: no such channel); its past alerts stay in
    the history."""
    row = await run_in_threadpool(alerts.remove_channel, c, user.name, channel_id)
    return json_response(row)
