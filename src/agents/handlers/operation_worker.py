"""The API process's worker of long-running operations (issue 19).

One thread polls the ``operations`` table (and wakes at once when a request was accepted),
claims queued operations and running ones whose heartbeat went stale (their process died) by
compare-and-set, and runs each in a small pool (``DEPLOYER_OPERATION_WORKERS``). Several API
processes may each run one: a claim is won by exactly one of them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

from agents.handlers import operation_runs
from agents.ports import Services

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
"""How often the worker looks for operations nobody woke it for (a dead process's)."""


def worker_identity() -> str:
    """A name unique to this worker: host, PID and a random suffix (PIDs repeat in
    containers)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class OperationWorker:
    """Runs accepted operations in the background until ``stop``."""

    def __init__(
        self, c: Services, poll_seconds: float = POLL_SECONDS, beat_seconds: float = 1.0
    ) -> None:
        self.c = c
        self.owner = worker_identity()
        self.poll_seconds = poll_seconds
        self.beat_seconds = beat_seconds
        self.size = c.settings.operation_workers
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(self.size, thread_name_prefix="operation")
        self._running: dict[Future[None], str] = {}
        self._thread = threading.Thread(target=self._loop, name="operation-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Look for work now (an operation was just accepted)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop claiming; operations in flight finish (or are taken up by another process's
        worker once their heartbeat is stale, if this process dies first)."""
        self._stop.set()
        self._wake.set()
        self._thread.join()
        self._pool.shutdown(wait=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # the database may be away a moment: try again next poll
                log.warning("the operation worker could not claim work", exc_info=True)
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def run_once(self) -> list[str]:
        """Claim what there is room for and start it; the ids claimed."""
        self._running = {f: op for f, op in self._running.items() if not f.done()}
        room = self.size - len(self._running)
        if room <= 0:
            return []
        busy = set(self._running.values())  # its own: never claimed again while they run
        claimed = operation_runs.claim_next(self.c, self.owner, room, busy)
        for op_id in claimed:
            self._running[self._pool.submit(self._run, op_id)] = op_id
        return claimed

    def _run(self, op_id: str) -> None:
        try:
            operation_runs.run(self.c, op_id, self.owner, self.beat_seconds)
        finally:
            self._wake.set()  # room again: look for more
