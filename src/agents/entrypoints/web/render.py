"""Rendering: the Jinja2 environment over the package's templates (autoescaped), the pages'
security headers, and small formatting filters."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse, Response

from agents.entrypoints.web.numbers import figure, percent

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
"""Every /ui answer's headers: nothing from elsewhere, no inline script, never framed or cached."""

STATIC = {"style.css": "text/css", "live.js": "text/javascript"}
"""The package's static files, by name, with their media types (nothing else is served)."""


def when(value: Any) -> str:
    """A time as people read it in a table: ``2026-11-30 12:01:02 UTC``."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, str) and value:
        try:
            return when(datetime.fromisoformat(value))
        except ValueError:
            return value
    return "" if value is None else str(value)


def as_json(value: Any) -> str:
    """A payload as one line of JSON text (plain text: the template escapes it as any text)."""
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("agents.entrypoints.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, figure=figure, percent=percent, as_json=as_json)
    return env


def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered with ``context``, with the security headers."""
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def static(name: str) -> Response:
    """One of the package's static files (404 for any other name)."""
    if name not in STATIC:
        return Response("not found", status_code=404, media_type="text/plain")
    body = files("agents.entrypoints.web").joinpath("static", name).read_bytes()
    headers = {**SECURITY_HEADERS, "Cache-Control": "max-age=300"}
    return Response(body, media_type=STATIC[name], headers=headers)
