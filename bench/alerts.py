"""Alert dispatch benchmark: how long the dispatcher takes to turn audit events into alert rows
(the scan, one transaction) and to deliver them to a real local webhook (Apprise ``json://``),
on a fresh SQLite home; and what a dead channel (a closed port) costs per attempt.

It starts its own webhook receiver (an HTTP server in a thread, stopped at the end). It prints
figures; it asserts nothing.

    .venv/bin/python bench/alerts.py --events 200
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from agents.alerting import Dispatcher
from agents.bootstrap import Container
from agents.handlers import access, alerts
from agents.settings import Settings, local_identity
from database import migrate
from lifecycle.records import utcnow


def receiver() -> tuple[ThreadingHTTPServer, list[float]]:
    arrivals: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrivals.append(time.perf_counter())
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, arrivals


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-alerts-")) / "home"
    settings = Settings(
        DEPLOYER_HOME=str(home),
        DEPLOYER_DATABASE_URL=f"sqlite:///{home / 'deployer.db'}",
        DEPLOYER_ALERT_SUPPRESS_SECONDS="0",
    )
    settings.ensure_home()
    migrate.upgrade(settings.database_url)
    c = Container(settings)
    me = local_identity()
    access.ensure_first_admin(c, me)
    server, arrivals = receiver()
    try:
        alerts.add_channel(c, me, f"json://127.0.0.1:{server.server_address[1]}/hook")
        with c.uow() as uow:
            for i in range(args.events):
                uow.audit.append("monitor", "canary_advanced", f"dep-{i}", {"percent": i % 100})
            uow.commit()
        dispatcher = Dispatcher(c, c.notifier)
        start = time.perf_counter()
        collected = dispatcher.collect()
        scanned = time.perf_counter() - start
        start = time.perf_counter()
        delivered = dispatcher.deliver()
        sent = time.perf_counter() - start
        alerts.remove_channel(c, me, 1)
        alerts.add_channel(c, me, f"json://127.0.0.1:{closed_port()}/hook")
        with c.uow() as uow:
            uow.audit.append("monitor", "drift_detected", "dep-x", {"features": ["f"]})
            uow.commit()
        dead: list[float] = []
        later = [utcnow()]
        retrying = Dispatcher(c, c.notifier, clock=lambda: later[0])
        retrying.collect()
        for _ in range(3):  # each attempt, then an hour later (past any backoff) the next
            start = time.perf_counter()
            retrying.deliver()
            dead.append(time.perf_counter() - start)
            later[0] += timedelta(hours=1)
    finally:
        server.shutdown()
        server.server_close()
        c.close()
    print(
        json.dumps(
            {
                "machine": "2 noisy cores; SQLite; Apprise json:// to 127.0.0.1",
                "events": args.events,
                "alert_rows": collected,
                "scan_ms_per_event": round(1000 * scanned / args.events, 3),
                "delivered": sum(1 for d in delivered if d["state"] == "sent"),
                "received": len(arrivals),
                "delivery_ms_per_alert": round(1000 * sent / max(1, len(delivered)), 3),
                "dead_channel_attempt_ms_median": round(1000 * statistics.median(dead), 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
