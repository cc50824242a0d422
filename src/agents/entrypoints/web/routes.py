"""The dashboard's routes under ``/ui``: login and logout, the four pages (each with a live
fragment the page's script polls), and the actions (approve, reject, roll back).

Every page and action looks the session up first (``auth.viewer``): none, expired or revoked
-> the login page (a live fragment gets 401, and its script reloads into the login page).
Every POST carries the session's CSRF token; an action needs the same role as its API route,
and goes through ``operations.execute`` as the session's person, source ``ui``, so the gates,
the four-eyes rule and the audit are the API's. A refusal is shown on the page with the typed
error's message and the status the API would answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from agents.commands import AgentCommand, Approve, Reject, Rollback
from agents.entrypoints.api.errors import status_for
from agents.entrypoints.web import views
from agents.entrypoints.web.auth import (
    Viewer,
    authenticate,
    clear_cookie,
    clear_login_cookie,
    form,
    sessions,
    set_cookie,
    set_login_cookie,
    viewer,
)
from agents.entrypoints.web.render import SECURITY_HEADERS, page, static
from agents.entrypoints.web.sessions import LOGIN_COOKIE, form_token, login_nonce, token_matches
from agents.handlers import operations
from agents.ports import Services
from lifecycle.approval import Role
from lifecycle.errors import BadInputError, ModelDeployerError, UnknownModelError
from lifecycle.tenants import Grants, normalise_model_name

PREFIX = "/ui"
SOURCE = "ui"
"""The ``RequestSource`` of what the dashboard asks the system graph for."""
MAX_TEXT = 1000
"""Characters kept of a comment or a reason (the API's limit)."""

STALE_LOGIN = "The login form was stale or came from another site: try again."

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _login_redirect() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/login", status_code=303, headers=SECURITY_HEADERS)


def _base(request: Request, who: Viewer, active: str, live_url: str) -> dict[str, Any]:
    user = who.user
    return {
        "me": {
            "name": user.name,
            "role": user.role_label,
            "may_deploy": user.may_somewhere(Role.DEPLOYER),
            "may_approve": user.may_somewhere(Role.APPROVER),
            "platform": user.grants.is_platform_admin,
        },
        "csrf": who.session.csrf,
        "active": active,
        "live_url": live_url,
        "layout": "fragment.html" if request.query_params.get("fragment") else "base.html",
    }


async def _show(
    request: Request,
    template: str,
    active: str,
    gather: Callable[[Grants], dict[str, Any]],
    notice: dict[str, Any] | None = None,
    status: int = 200,
    path: str = "",
) -> Response:
    """A page for the session's person (or the login page), gathered for their grants now; its
    live fragment with ``?fragment=1`` (401 without a session). ``path``: the page's own (GET)
    path, when this answers an action posted elsewhere."""
    who = await viewer(request)
    if who is None:
        if request.query_params.get("fragment"):
            return Response("log in again", status_code=401, headers=SECURITY_HEADERS)
        return _login_redirect()
    try:
        data = await run_in_threadpool(gather, who.user.grants)
    except ModelDeployerError as exc:
        context = _base(request, who, active, path or request.url.path)
        return page("error.html", status_for(exc), **context, error=str(exc))
    context = _base(request, who, active, path or request.url.path)
    return page(template, status, **context, **data, notice=notice)


@router.get("/static/{name}")
async def static_file(name: str) -> Response:
    """The stylesheet and the live script (no session needed: they hold nothing)."""
    return static(name)


def _login_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    """The login form with a fresh nonce: its HMAC in the form, the nonce in a cookie only
    ``/ui/login`` gets back (login CSRF)."""
    nonce = login_nonce()
    response = page("login.html", status, error=error, csrf=form_token(nonce, "login"))
    set_login_cookie(request, response, nonce)
    return response


@router.get("/login")
async def login_page(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    """A login form of this site (its nonce cookie and form token agree) with a token that
    authenticates opens a session (cookie) and goes to the overview; anything else gets the
    login page again with an error and no session."""
    fields = await form(request)
    if not token_matches(fields.get("csrf", ""), request.cookies.get(LOGIN_COOKIE), "login"):
        return _login_page(
            request, 403, "The login form was stale or came from another site: try again."
        )
    token = fields.get("token", "").strip()
    user = await authenticate(request, token)
    session = None if user is None else await run_in_threadpool(sessions(request).open, token)
    if session is None:
        return _login_page(request, 401, "That token is not valid (unknown or revoked).")
    response = RedirectResponse(f"{PREFIX}/", status_code=303, headers=SECURITY_HEADERS)
    set_cookie(request, response, session, sessions(request).seconds)
    clear_login_cookie(response)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    who = await viewer(request)
    fields = await form(request)
    if who is not None and who.session.csrf_ok(fields.get("csrf", "")):
        await run_in_threadpool(sessions(request).close, who.session.session_id)
    response = _login_redirect()
    clear_cookie(response)
    return response


@router.get("/")
async def overview(request: Request) -> Response:
    c = request.app.state.container
    return await _show(request, "overview.html", "overview", lambda g: views.overview(c, g))


def _model_name(name: str, tenant: str | None = None) -> str:
    """The stored name a page's path names (``/ui/models/team-a/fraud``); an unknown model
    when the path names none."""
    try:
        return normalise_model_name(name if tenant is None else f"{tenant}/{name}")
    except BadInputError:
        raise views.unknown_model(name if tenant is None else f"{tenant}/{name}") from None


def _model_page(request: Request, name: str, tenant: str | None = None) -> Callable[..., Any]:
    c = request.app.state.container
    return lambda g: views.model_page(c, _model_name(name, tenant), g)


@router.get("/models/{name}")
async def model(request: Request, name: str) -> Response:
    return await _show(request, "model.html", "", _model_page(request, name))


@router.get("/models/{tenant}/{name}")
async def tenant_model(request: Request, tenant: str, name: str) -> Response:
    return await _show(request, "model.html", "", _model_page(request, name, tenant))


@router.get("/approvals")
async def approvals(request: Request) -> Response:
    c = request.app.state.container
    return await _show(request, "approvals.html", "approvals", lambda g: views.approvals_page(c, g))


@router.get("/audit")
async def audit(request: Request) -> Response:
    c = request.app.state.container
    return await _show(request, "audit.html", "audit", lambda g: views.audit_page(c, g))


# -- actions ----------------------------------------------------------------------------------


async def _act(
    request: Request,
    needed: Role,
    model_of: Callable[[Services, Grants], str],
    build: Callable[[dict[str, str]], AgentCommand],
) -> tuple[Viewer | None, dict[str, Any] | None, int]:
    """Check the session, the CSRF token and the role in the tenant of the model the action is
    about (``model_of`` answers one the person does not see as unknown, a 404), then
    run the command as the person; (who, the notice to show, the status). Nothing runs when a
    check fails."""
    who = await viewer(request)
    if who is None:
        return None, None, 401
    fields = await form(request)
    if not who.session.csrf_ok(fields.get("csrf", "")):
        return who, {"ok": False, "text": "The form was stale or not this page's: try again."}, 403
    c = request.app.state.container
    try:
        model = await run_in_threadpool(model_of, c, who.user.grants)
        who.user.grants.check(needed, model, "this")
    except ModelDeployerError as exc:
        return who, {"ok": False, "text": str(exc)}, status_for(exc)
    try:
        command = build(fields)
        result = await run_in_threadpool(operations.execute, c, command, who.user.name, SOURCE)
    except ModelDeployerError as exc:
        return who, {"ok": False, "text": f"{type(exc).__name__}: {exc}"}, status_for(exc)
    return who, {"ok": True, "text": _done(result)}, 200


def _done(result: dict[str, Any]) -> str:
    status = result.get("status") or "done"
    record = result.get("version_record") or {}
    if record:
        return f"Done ({status}): v{record.get('version')} is now in {record.get('to_stage')}."
    return f"Done: {status}."


def _text(fields: dict[str, str], key: str) -> str:
    return fields.get(key, "").strip()[:MAX_TEXT]


@router.post("/approvals/{approval_id}/{verb}")
async def decide(request: Request, approval_id: str, verb: str) -> Response:
    """Approve (approvers) or reject (approvers; a deployer withdrawing their own request)
    with a comment; shown on the approvals page."""
    if verb not in ("approve", "reject"):
        return Response("not found", status_code=404, headers=SECURITY_HEADERS)
    answer = Approve if verb == "approve" else Reject
    needed = Role.APPROVER if verb == "approve" else Role.DEPLOYER
    who, notice, status = await _act(
        request,
        needed,
        _approval_model(request, approval_id),
        lambda f: answer(approval_id=approval_id, comment=_text(f, "comment") or None),
    )
    if who is None:
        return _login_redirect()
    c = request.app.state.container
    return await _show(
        request,
        "approvals.html",
        "approvals",
        lambda g: views.approvals_page(c, g),
        notice,
        status,
        f"{PREFIX}/approvals",
    )


def _approval_model(request: Request, approval_id: str) -> Callable[[Services, Grants], str]:
    """The model of an approval, read when the action runs; an unknown approval (404) when
    there is none or the person does not see its tenant."""

    def model_of(c: Services, grants: Grants) -> str:
        with c.reader() as uow:
            model = str(uow.approvals.get(approval_id).model_name)
        if not grants.sees(model):
            raise UnknownModelError(f"no approval {approval_id!r}")
        return model

    return model_of


async def _rollback(request: Request, name: str, tenant: str | None = None) -> Response:
    """Roll the model back (deployers in its tenant), with a reason; shown on its page."""

    def build(fields: dict[str, str]) -> AgentCommand:
        reason = _text(fields, "reason")
        if not reason:
            raise BadInputError("say why you roll back (the reason is kept in the audit log)")
        return Rollback(model_name=_model_name(name, tenant), reason=reason)

    def model_of(c: Services, grants: Grants) -> str:
        model = _model_name(name, tenant)
        if not grants.sees(model):
            raise views.unknown_model(model)
        return model

    who, notice, status = await _act(request, Role.DEPLOYER, model_of, build)
    if who is None:
        return _login_redirect()
    path = f"{PREFIX}/models/{name if tenant is None else f'{tenant}/{name}'}"
    return await _show(
        request, "model.html", "", _model_page(request, name, tenant), notice, status, path
    )


@router.post("/models/{name}/rollback")
async def rollback(request: Request, name: str) -> Response:
    return await _rollback(request, name)


@router.post("/models/{tenant}/{name}/rollback")
async def tenant_rollback(request: Request, tenant: str, name: str) -> Response:
    return await _rollback(request, name, tenant)
