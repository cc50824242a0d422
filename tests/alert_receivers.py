"""Real local receivers for alerts: an HTTP webhook (``webhook_receiver``) and an SMTP server
(``smtp_receiver``, aiosmtpd), each on a free port of 127.0.0.1 and stopped when the block ends.

Each yields an object with ``url`` (the Apprise URL that reaches it), ``received`` (what arrived,
in order) and ``wait_for(n)`` (block until ``n`` messages arrived or the deadline passes; returns
them: a test asserts on what arrived, never on how long it took). ``closed_port_url()`` is a
``json://`` URL nothing listens on (a dead channel).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_port_url() -> str:
    """A webhook URL on a port nothing listens on."""
    return f"json://127.0.0.1:{free_port()}/hook"


@dataclass
class Inbox:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def add(self, message: dict[str, Any]) -> None:
        with self.arrived:
            self.received.append(message)
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


@contextmanager
def webhook_receiver(path: str = "/hook", status: int = 200) -> Iterator[Inbox]:
    """A real HTTP server taking Apprise's ``json://`` POSTs (``title``, ``message``, ``type``)
    and answering ``status``."""
    inbox: Inbox

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            try:
                document = json.loads(body or b"{}")
            except ValueError:
                document = {"raw": body.decode(errors="replace")}
            inbox.add({"path": self.path, **document})
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    inbox = Inbox(f"json://127.0.0.1:{port}{path}")
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield inbox
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def smtp_receiver(to: str = "ops@localhost") -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd, no TLS) keeping each mail's sender, recipients, subject
    and body."""
    from aiosmtpd.controller import Controller

    inbox: Inbox

    class Handler:
        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            mail = message_from_bytes(envelope.content)
            parts = [mail] if not mail.is_multipart() else list(mail.walk())
            body = "".join(
                str(p.get_payload(decode=True).decode(errors="replace"))
                for p in parts
                if p.get_content_type() == "text/plain"
            )
            inbox.add(
                {
                    "from": envelope.mail_from,
                    "to": list(envelope.rcpt_tos),
                    "subject": str(mail.get("Subject", "")),
                    "body": body,
                }
            )
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    inbox = Inbox(
        f"mailto://127.0.0.1:{port}?from=deployer@localhost&to={to}&mode=insecure&format=text"
    )
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
