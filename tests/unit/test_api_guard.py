"""The API's guard: the token before anything is read, then the body's size before parsing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from agents.entrypoints.api.guard import (
    DEFAULT_MAX_BODY_BYTES,
    MAX_BODY_ENV,
    RequestGuard,
    bearer_token,
    configured_max_body_bytes,
    declared_length,
)
from lifecycle.errors import ConfigurationError

TOKEN = "a-token-someone-issued"
LIMIT = 10


class State:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def authenticate(self, token: str) -> str | None:
        self.asked.append(token)
        return "alice" if token == TOKEN else None


class App:
    """An ASGI app that records the body it was handed and answers 200."""

    def __init__(self) -> None:
        self.state = State()
        self.bodies: list[bytes] = []
        self.users: list[str | None] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.users.append(scope.get("state", {}).get("user"))
        message = await receive()
        self.bodies.append(message["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


class Exchange:
    """One request through the guard: the body's chunks it offers and what was sent back."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.read = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        self.read += 1
        chunk = self.chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def error(self) -> dict[str, Any]:
        return dict(json.loads(self.sent[1]["body"])["error"])


async def call(
    chunks: list[bytes], headers: dict[str, str], path: str = "/v1/things"
) -> tuple[Exchange, App]:
    app = App()
    guard = RequestGuard(app, public_paths={"/healthz"}, max_body_bytes=LIMIT)
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "app": app,
    }
    exchange = Exchange(chunks)
    await guard(scope, exchange.receive, exchange.send)
    return exchange, app


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "this request needs a bearer token (Authorization: Bearer TOKEN)"),
        (
            {"Authorization": "Basic abc"},
            "this request needs a bearer token (Authorization: Bearer TOKEN)",
        ),
        ({"Authorization": "Bearer nobody-issued-this"}, "the bearer token is not valid"),
    ],
)
async def test_without_a_valid_token_nothing_of_the_body_is_read(
    headers: dict[str, str], message: str
) -> None:
    exchange, app = await call([b"{not json at all, and far too long"], headers)
    assert exchange.status == 401
    assert exchange.error == {"type": "NotAuthenticatedError", "message": message}
    assert exchange.read == 0
    assert app.bodies == []


async def test_a_declared_length_over_the_limit_is_413_before_the_body_is_read() -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Length": str(LIMIT + 1)}
    exchange, app = await call([b"x" * (LIMIT + 1)], headers)
    assert exchange.status == 413
    assert exchange.error == {
        "type": "BodyTooLargeError",
        "message": f"the request body is over the limit of {LIMIT} bytes",
    }
    assert exchange.read == 0
    assert app.bodies == []


async def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    chunks = [b"x" * 6, b"x" * 6, b"x" * 6]
    exchange, app = await call(chunks, {"Authorization": f"Bearer {TOKEN}"})
    assert exchange.status == 413
    assert exchange.read == 2
    assert app.bodies == []


async def test_a_body_within_the_limit_reaches_the_app_whole() -> None:
    exchange, app = await call([b"12345", b"67890"], {"authorization": f"bearer {TOKEN}"})
    assert exchange.status == 200
    assert app.bodies == [b"1234567890"]
    assert app.state.asked == [TOKEN]
    assert app.users == ["alice"]


async def test_a_public_path_needs_no_token_but_keeps_the_limit() -> None:
    exchange, app = await call([b"{}"], {}, path="/healthz")
    assert exchange.status == 200
    assert app.state.asked == []
    assert app.users == [None]
    exchange, _ = await call([b"x" * (LIMIT + 1)], {}, path="/healthz")
    assert exchange.status == 413


@pytest.mark.parametrize(
    ("headers", "token"),
    [
        ([(b"authorization", b"Bearer  abc ")], "abc"),
        ([(b"Authorization", b"BEARER abc")], "abc"),
        ([(b"authorization", b"Token abc")], ""),
        ([(b"authorization", b"Bearer")], ""),
        ([(b"x-other", b"Bearer abc")], ""),
    ],
)
def test_the_token_is_read_from_a_bearer_authorization_header(
    headers: list[tuple[bytes, bytes]], token: str
) -> None:
    assert bearer_token({"headers": headers}) == token


@pytest.mark.parametrize(
    ("headers", "length"),
    [
        ([(b"content-length", b"42")], 42),
        ([(b"Content-Length", b" 7 ")], 7),
        ([(b"content-length", b"-1")], None),
        ([(b"content-length", b"lots")], None),
        ([], None),
    ],
)
def test_the_declared_length_is_read_when_it_is_a_number(
    headers: list[tuple[bytes, bytes]], length: int | None
) -> None:
    assert declared_length({"headers": headers}) == length


def test_the_limit_is_a_setting_of_one_mib_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MAX_BODY_ENV, raising=False)
    assert configured_max_body_bytes() == DEFAULT_MAX_BODY_BYTES == 1024 * 1024
    monkeypatch.setenv(MAX_BODY_ENV, "2048")
    assert configured_max_body_bytes() == 2048
    for bad in ("0", "lots"):
        monkeypatch.setenv(MAX_BODY_ENV, bad)
        with pytest.raises(ConfigurationError) as raised:
            configured_max_body_bytes()
        assert str(raised.value) == f"{MAX_BODY_ENV} must be a whole number of bytes, 1 or more"
