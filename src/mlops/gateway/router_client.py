"""The router port over a stored routing table that waits for the running gateways to serve it.

A deploy or rollback that reports done is then in effect, not merely written down.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import httpx

from lifecycle.ports import Routes
from mlops.gateway.paths import model_path
from mlops.gateway.runner import running_gateways
from mlops.processes import poll

log = logging.getLogger(__name__)


class RouteStore(Protocol):
    """Where routing tables are kept (the state database's ``DbRouter`` in production)."""

    actor: str

    def save(self, routes: Routes, actor: str) -> tuple[Routes, int]: ...

    def get_routes(self, model_name: str) -> Routes | None: ...

    def tables(self, model_names: Iterable[str]) -> dict[str, Routes]: ...


class ConfirmingRouter:
    """The router port over the state DB that returns once this home's running gateways serve
    the new table (or ``timeout`` passed): a deploy or rollback that reports done is in effect.

    The DB stays the source of truth; a gateway that does not confirm in time is named in
    ``unconfirmed`` and picks the table up on its next poll anyway.
    """

    def __init__(self, db: RouteStore, gateway_dir: Path, token: str, timeout: float = 5.0) -> None:
        self.db = db
        self.gateway_dir = gateway_dir
        self.token = token
        self.timeout = timeout
        self.unconfirmed: list[str] = []
        self.last_confirm_seconds: float | None = None
        self.last_effective_seconds: float | None = None
        """Seconds from the table's write until every running gateway served it."""
        self._client: httpx.Client | None = None

    def _http(self) -> httpx.Client:
        """One client for every push, kept: its connections to the gateways stay open, and
        making a client is not free. The gateways' admin URLs are plain ``http://`` (their PID
        files name a host and port), so no certificate store is loaded: httpx loads one for
        every client by default, 70-240 ms measured on this 2-core machine under load, which
        was most of a rollback's decision-to-effective time."""
        if self._client is None:
            self._client = httpx.Client(
                timeout=1.0,
                headers={"Authorization": f"Bearer {self.token}"},
                verify=False,  # http only: see above
                trust_env=False,
            )
        return self._client

    def close(self) -> None:
        """Close the kept client."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def set_routes(self, routes: Routes) -> None:
        _, revision = self.db.save(routes, self.db.actor)
        started = time.monotonic()
        self.last_confirm_seconds = self.wait_served(routes.model_name, revision, push=True)
        self.last_effective_seconds = time.monotonic() - started

    def get_routes(self, model_name: str) -> Routes | None:
        return self.db.get_routes(model_name)

    def tables(self, model_names: Iterable[str]) -> dict[str, Routes]:
        return self.db.tables(model_names)

    def wait_served(self, model_name: str, revision: int, push: bool = False) -> float:
        """Seconds until every running gateway served ``revision`` of the model's table.

        With ``push``, each gateway is first asked to load the tables now rather than at its
        next poll; its answer names the revisions it serves, which confirms it at once. One that
        does not answer is polled, and still picks the table up itself (the DB is the source of
        truth).
        """
        started = time.monotonic()
        pending = {f"http://{g['host']}:{g['port']}" for g in running_gateways(self.gateway_dir)}
        client = self._http()
        if push:
            pending -= _reloaded(client, pending, model_name, revision)

        def serves(url: str) -> bool:
            answer = client.get(f"{url}/admin/routes/{model_path(model_name)}")
            return answer.is_success and int(answer.json().get("revision", 0)) >= revision

        def all_served() -> bool | None:
            pending.difference_update(_each(pending, serves))
            return None if pending else True

        if pending:
            poll(all_served, self.timeout - (time.monotonic() - started), 0.02)
        self.unconfirmed = sorted(pending)
        if pending:
            log.warning("gateways %s did not confirm %s revision %s", pending, model_name, revision)
        return time.monotonic() - started


def _reloaded(client: httpx.Client, urls: set[str], model_name: str, revision: int) -> set[str]:
    """The gateways that, asked to reload now, answer that they serve ``revision``."""

    def reloaded(url: str) -> bool:
        answer = client.post(f"{url}/admin/reload")
        served = answer.json().get("revisions", {}) if answer.is_success else {}
        return int(served.get(model_name, 0)) >= revision

    return _each(urls, reloaded)


def _each(urls: Iterable[str], ask: Callable[[str], bool]) -> set[str]:
    """The URLs for which ``ask`` answered True, every URL asked at the same time (one thread
    each; one URL is asked in this thread). An HTTP error or an unreadable answer is False:
    that gateway stays pending."""

    def answered(url: str) -> bool:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            return ask(url)
        return False

    ordered = sorted(urls)
    if len(ordered) <= 1:
        return {url for url in ordered if answered(url)}
    with ThreadPoolExecutor(max_workers=len(ordered), thread_name_prefix="push") as pool:
        results = list(pool.map(answered, ordered))
    return {url for url, ok in zip(ordered, results, strict=True) if ok}
