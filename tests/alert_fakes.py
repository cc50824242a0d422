"""``FakeNotifier``: the ``Notifier`` port in memory, for unit tests (the contract tests hold it
to the Apprise adapter's behaviour).

It knows the schemes the tests use (``json``, ``jsons``, ``mailto``, ``mailtos``) and refuses
others; a send "arrives" (kept in ``sent``) when something listens on the URL's host and port,
and fails with an error otherwise, as a real send to a closed port would. ``block`` makes sends
wait until it is set (to show a slow channel holds nothing else up).
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit

from lifecycle.alerts import Alert, UnusableChannelUrlError
from lifecycle.errors import BadInputError

SCHEMES = {"json": 80, "jsons": 443, "mailto": 25, "mailtos": 465}


class FakeNotifier:
    def __init__(self, block: threading.Event | None = None) -> None:
        self.sent: list[tuple[str, Alert]] = []
        self.block = block
        self.sending = threading.Event()

    def check(self, url: str) -> None:
        if urlsplit(url).scheme not in SCHEMES:
            raise UnusableChannelUrlError(f"{url.split('://')[0]}:// is not an alert channel URL")

    def send(self, url: str, alert: Alert) -> str | None:
        self.sending.set()
        if self.block is not None:
            self.block.wait()
        try:
            self.check(url)
        except BadInputError as exc:
            return str(exc)
        parts = urlsplit(url)
        try:
            with socket.create_connection(
                (parts.hostname or "", parts.port or SCHEMES[parts.scheme]), timeout=2
            ):
                pass
        except OSError as exc:
            return f"connection error: {exc}"
        self.sent.append((url, alert))
        return None

    def to(self, url: str) -> list[Alert]:
        return [alert for sent_to, alert in self.sent if sent_to == url]
