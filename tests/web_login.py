"""Logging in to the dashboard (``/ui``) from a TestClient as a browser does: fetch the login
form (its nonce cookie and CSRF field, login CSRF), then post the token with that field."""

from __future__ import annotations

import re
from typing import Any


def login_form_csrf(client: Any) -> str:
    """GET /ui/login on ``client`` (which keeps the nonce cookie); the form's CSRF field."""
    page = client.get("/ui/login")
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, "the login form has no CSRF field"
    return found.group(1)


def ui_login(client: Any, token: str) -> Any:
    """Log ``client`` in with ``token`` through the login form; the POST's answer."""
    return client.post("/ui/login", data={"token": token, "csrf": login_form_csrf(client)})
