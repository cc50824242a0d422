"""The CLI's remote mode: a small typed client of the ops API (like kubectl and its API server).

When ``DEPLOYER_API_URL`` is set, ``deployer`` talks to that ops API with the bearer token in
``DEPLOYER_TOKEN`` and never opens a home or a state database: the token is the identity, so no
flag or environment variable of the caller can name another actor. ``remote_commands`` maps the
commands onto the API's routes; this module owns the connection and the way the API's answers
come back as the CLI's exit codes:

- a 2xx answer is the command's result (a 202 is a run waiting for an approval: exit 4);
- the error envelope ``{"error": {"type", "message"}}`` becomes a :class:`RemoteError` that
  keeps the API's type name and, when that names one of ``lifecycle.errors``' classes (or
  ``lifecycle.resource_asks``'), its exit code, so a refusal exits as it would locally; other
  types exit by status: 401 "token refused" (3), 403 and 409 (3), other 4xx (2), 5xx (1);
- no connection, a timeout or an answer that is not the API's JSON is one line, exit 1.

The token is only ever put in the Authorization header: no message, output or error names it.
``add_refusals`` gives the remote command line the commands it refuses (``LOCAL_BY_NATURE``,
``NOT_OFFERED``), each with one line that says why.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import typer

from agents.entrypoints.cli.output import fail
from lifecycle import errors, resource_asks
from lifecycle.errors import BadInputError, InfrastructureError, ModelDeployerError
from lifecycle.tenants import TENANT_PATTERN

URL_ENV = "DEPLOYER_API_URL"
TOKEN_ENV = "DEPLOYER_TOKEN"
TIMEOUT_ENV = "DEPLOYER_API_TIMEOUT"
DEFAULT_TIMEOUT = 600.0
"""Seconds to wait for an answer: a deploy packages and starts a server before it answers."""
CONNECT_TIMEOUT = 10.0


def remote_url(env: Mapping[str, str] | None = None) -> str | None:
    """The ops API's URL when the CLI runs in remote mode, else None (local mode)."""
    url = (os.environ if env is None else env).get(URL_ENV, "").strip()
    return url.rstrip("/") or None


class RemoteModeError(BadInputError):
    """The command cannot run in remote mode (local by nature, or the API does not offer it),
    or remote mode is set up wrongly (no token). Nothing was sent."""


class ApiUnreachableError(InfrastructureError):
    """The ops API did not answer: nothing listens there, the call timed out, or what answered
    is not the ops API."""


class RemoteError(ModelDeployerError):
    """An error the ops API answered with: ``kind`` is the API's type name (the same class
    name the local CLI would report) and ``exit_code`` the exit code it stands for."""

    def __init__(self, message: str, kind: str, exit_code: int) -> None:
        super().__init__(message)
        self.kind = kind
        self.exit_code = exit_code


def exit_code_for(status: int, kind: str) -> int:
    """The exit code of an API error: that of the ``lifecycle.errors`` class named ``kind``,
    else by status (401, 403 and 409 refused: 3; other 4xx bad input: 2; the rest: 1)."""
    known = getattr(errors, kind, None) or getattr(resource_asks, kind, None)
    if isinstance(known, type) and issubclass(known, ModelDeployerError):
        return known.exit_code
    if status in (401, 403, 409):
        return 3
    if 400 <= status < 500:
        return 2
    return 1


def error_from(response: httpx.Response, url: str) -> RemoteError | ApiUnreachableError:
    """The typed error of a non-2xx answer (see the module's docstring)."""
    status = response.status_code
    try:
        envelope = response.json()["error"]
        kind, message = str(envelope["type"]), str(envelope["message"])
    except (ValueError, KeyError, TypeError):
        return ApiUnreachableError(f"{url} answered {status} without the ops API's error shape")
    if status == 401:
        message = f"token refused: the ops API at {url} does not accept {TOKEN_ENV} ({message})"
    return RemoteError(message, kind, exit_code_for(status, kind))


@dataclass(frozen=True)
class Answer:
    """A successful answer: its status (202: waiting for an approval) and its JSON body."""

    status: int
    body: dict[str, Any]


class ApiClient:
    """The ops API at ``url``, called with ``token``; every call returns an :class:`Answer` or
    raises a typed error."""

    def __init__(
        self,
        url: str,
        token: str,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self._http = httpx.Client(
            base_url=url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
            transport=transport,
        )

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> ApiClient:
        """The client ``DEPLOYER_API_URL``, ``DEPLOYER_TOKEN`` (and ``DEPLOYER_API_TIMEOUT``)
        describe; a missing token or a bad timeout is a RemoteModeError."""
        env = os.environ if env is None else env
        url = remote_url(env)
        if url is None:
            raise RemoteModeError(f"{URL_ENV} is not set: this is local mode")
        if not url.startswith(("http://", "https://")):
            raise RemoteModeError(f"{URL_ENV} must be an http:// or https:// URL, not {url!r}")
        token = env.get(TOKEN_ENV, "").strip()
        if not token:
            raise RemoteModeError(
                f"{URL_ENV} is set, so this is remote mode, and it needs {TOKEN_ENV}: "
                "your API token (ask an admin for one)"
            )
        if not (token.isascii() and token.isprintable()) or " " in token:
            raise RemoteModeError(f"{TOKEN_ENV} holds characters no API token has")
        return cls(url, token, _timeout(env.get(TIMEOUT_ENV, "")))

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Answer:
        """GET ``path`` with the query ``params`` (None values left out)."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return self._call("GET", path, params=query)

    def post(
        self,
        path: str,
        body: Mapping[str, Any] | list[Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Answer:
        """POST ``body`` (JSON: an object, or a list for a batch) to ``path`` with ``params``."""
        sent = body if body is None or isinstance(body, list) else dict(body)
        return self._call("POST", path, json=sent, params=dict(params or {}))

    def put(self, path: str, body: Mapping[str, Any]) -> Answer:
        """PUT ``body`` (JSON) to ``path``."""
        return self._call("PUT", path, json=dict(body))

    def patch(self, path: str, body: Mapping[str, Any]) -> Answer:
        """PATCH ``body`` (JSON) to ``path``."""
        return self._call("PATCH", path, json=dict(body))

    def delete(self, path: str) -> Answer:
        """DELETE ``path``."""
        return self._call("DELETE", path)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Answer:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise ApiUnreachableError(
                f"the ops API at {self.url} did not answer in time ({TIMEOUT_ENV} sets the wait)"
            ) from None
        except httpx.HTTPError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ApiUnreachableError(f"cannot reach the ops API at {self.url}: {reason}") from None
        if response.status_code >= 300:
            raise error_from(response, self.url)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ApiUnreachableError(f"{self.url}{path} did not answer with a JSON document")
        return Answer(response.status_code, body)


def _timeout(text: str) -> float:
    if not text.strip():
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise RemoteModeError(f"{TIMEOUT_ENV} must be a number of seconds above 0")
    return value


@contextlib.contextmanager
def remote_command(as_json: bool) -> Iterator[ApiClient]:
    """Run one command against the ops API: every error becomes one line and an exit code, as
    ``shared.command`` does for local mode."""
    client: ApiClient | None = None
    try:
        client = ApiClient.from_environment()
        yield client
    except (SystemExit, KeyboardInterrupt, typer.Exit):
        raise
    except Exception as exc:
        fail(exc, as_json)
    finally:
        if client is not None:
            client.close()


LOCAL_BY_NATURE = {
    "init": "it creates a home and its state database",
    "api": "it serves a home of the machine it runs on",
    "watch": "the watcher runs beside the state database",
    "demo": "it builds a fresh home on the machine it runs on",
    "gateway": "the gateway runs beside the state database",
    "sync": "it reconciles a state database with its registry",
    "down": "it stops the processes a home started on its machine",
    "endpoints": "endpoints are processes of the home's machine (`deployer deployments` works)",
    "access": "roles and tokens are granted by an admin where the home is",
}
"""Commands that work on a home and the processes of its machine, and why."""
NOT_OFFERED = ("package", "criteria", "traffic", "chat", "alerts", "slo")
"""Commands the ops API does not offer (yet)."""
ANY_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def _refusal(name: str, why: str, summary: str) -> Callable[[typer.Context], None]:
    def refuse(ctx: typer.Context) -> None:
        fail(RemoteModeError(f"`deployer {name}` {why}"), "--json" in ctx.args)

    refuse.__doc__ = summary
    return refuse


def add_refusals(app: typer.Typer) -> None:
    """Give ``app`` the commands remote mode refuses: whatever follows them, one line, exit 2."""
    for name, why in LOCAL_BY_NATURE.items():
        text = f"is local only: {why}; unset {URL_ENV} to run it where the home is"
        app.command(name, context_settings=ANY_ARGS)(_refusal(name, text, f"(local only) {why}."))
    for name in NOT_OFFERED:
        text = f"is not available in remote mode: the ops API does not offer it; unset {URL_ENV}"
        summary = "(not available in remote mode)"
        app.command(name, context_settings=ANY_ARGS)(_refusal(name, text, summary))


_TENANT = re.compile(TENANT_PATTERN)


def model_segment(name: str) -> str:
    """A model name as the API's path names it: ``team-a/fraud`` -> ``team-a/fraud`` (the
    ``/v1/models/{tenant}/{name}`` routes), each part escaped; any other text is one escaped
    segment, so a name cannot reach another route."""
    tenant, sep, rest = name.partition("/")
    if sep and rest and "/" not in rest and _TENANT.fullmatch(tenant):
        return f"{tenant}/{quote(rest, safe='')}"
    return quote(name, safe="")
