"""The demo's alert: a tiny local webhook receiver of its own (an HTTP server on a free port in
a thread, stopped with the demo) added as the home's alert channel for rollbacks, and the
alert it receives once the monitor has rolled the faulty canary back."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Protocol

from rich.markup import escape

from agents.alerting import dispatch_once
from agents.handlers import alerts

if TYPE_CHECKING:
    from agents.bootstrap import Container


class Says(Protocol):
    def say(self, text: str, detail: str = "") -> None: ...


@dataclass
class Webhook:
    url: str
    received: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)


@contextmanager
def local_webhook(c: Container, t: Says) -> Iterator[Webhook]:
    """A webhook receiver on 127.0.0.1, added as the alert channel for rollbacks."""
    hook: Webhook

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hook.received.put(json.loads(body or b"{}"))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook = Webhook(f"json://127.0.0.1:{server.server_address[1]}/alerts")
    thread = threading.Thread(target=server.serve_forever, name="demo-webhook", daemon=True)
    thread.start()
    try:
        channel = alerts.add_channel(c, c.settings.user, hook.url, "rollback", "warning")
        t.say(
            f"a local webhook receiver listens on {hook.url}: alert channel {channel['id']} "
            "for rollbacks",
            f"as: deployer alerts add {hook.url} --events rollback --min-severity warning",
        )
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def deliver(c: Container, t: Says, hook: Webhook, seconds: float = 15.0) -> dict[str, Any]:
    """Dispatch the alerts the story raised (``deployer watch`` does it in the background) and
    show the one the webhook received."""
    dispatch_once(c)
    try:
        got = hook.received.get(timeout=seconds)
    except queue.Empty:
        raise RuntimeError(f"the webhook received no alert within {seconds:.0f} s") from None
    title, message = str(got.get("title", "")), str(got.get("message", ""))
    t.say(f"[red]alert[/] the webhook received: {escape(title)}", message.replace("\n", "; "))
    return {"title": got.get("title", ""), "message": got.get("message", "")}
