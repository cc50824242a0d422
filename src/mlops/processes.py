"""Process helpers: free ports, readiness waits, and stopping a whole process tree by PID.

``bentoml serve`` starts worker children; SIGKILL of the parent alone orphans them and they keep
the port. So a stop collects the tree (and the processes that carry the endpoint's marker in
their environment) first, sends SIGTERM to all, waits, then SIGKILLs what is left.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
import psutil

T = TypeVar("T")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts connections on ``host:port`` (or holds it bound)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def alive(pid: int | None) -> bool:
    """Whether ``pid`` runs (a zombie does not count)."""
    if not pid:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def pid_matches(pid: int | None, *needles: str) -> bool:
    """Whether ``pid`` runs a command line containing every needle (guards against PID reuse)."""
    if not alive(pid):
        return False
    try:
        cmdline = " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return False
    return all(n in cmdline for n in needles)


def parsed_environ(raw: bytes) -> dict[str, str]:
    """A process's environment from ``/proc/PID/environ`` (NUL-separated ``KEY=value``
    entries), as psutil reads it: a later duplicate wins, an entry without ``=`` is skipped,
    bytes that are not UTF-8 survive as surrogates."""
    env: dict[str, str] = {}
    for entry in raw.decode(errors="surrogateescape").split("\0"):
        key, sep, value = entry.partition("=")
        if sep and key:
            env[key] = value
    return env


def environ_of_pid(pid: int) -> dict[str, str] | None:
    """``pid``'s environment, or None when it cannot be read (gone, not ours to read). One
    read of ``/proc/PID/environ`` where there is a ``/proc`` (psutil's ``Process`` reads
    ``/proc/PID/stat`` first, which a liveness check of 2,000 servers a tick pays twice);
    psutil elsewhere. A zombie's environment is empty."""
    if _PROC.is_dir():
        try:
            return parsed_environ(_read_all(f"/proc/{pid}/environ"))
        except OSError:
            return None
    try:
        return dict(psutil.Process(pid).environ())
    except psutil.Error:
        return None


_PROC = Path("/proc/self")


def _read_all(path: str) -> bytes:
    """A small file's bytes through the bare system calls (a tick reads 2,000 of them: the
    buffered file object and ``pathlib`` cost more than the reads)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        parts = []
        while part := os.read(fd, 65536):
            parts.append(part)
        return b"".join(parts)
    finally:
        os.close(fd)


def tree(pid: int) -> list[psutil.Process]:
    """The process and all its descendants (empty when it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def terminate_tree(
    pid: int | None, timeout: float = 10.0, extra: list[psutil.Process] | None = None
) -> None:
    """SIGTERM ``pid`` and its descendants, wait, then SIGKILL whatever still runs."""
    procs = (tree(pid) if pid else []) + list(extra or [])
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, left = psutil.wait_procs(procs, timeout=timeout)
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(left, timeout=5)


def find_by_env(**pairs: str) -> list[psutil.Process]:
    """Processes whose environment holds every ``KEY=value`` given.

    A server's workers may start their own sessions, so neither the process tree (broken when
    the parent dies) nor the session finds them all; the environment they inherit does.
    """
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            env = proc.environ()
        except psutil.Error:
            continue
        if all(env.get(key) == value for key, value in pairs.items()):
            found.append(proc)
    return found


def poll(
    check: Callable[[], T | None],
    timeout: float,
    interval: float,
    *,
    paced: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> T | None:
    """Call ``check`` until it returns something other than None, and return that; None once
    ``timeout`` seconds passed without. ``interval`` is the sleep between calls; with ``paced``,
    a call starts every ``interval`` (the sleep is what the call left of it).

    The one waiting loop of the project: readiness, registrations, gateways confirming a table.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = time.monotonic()
        result = check()
        if result is not None:
            return result
        sleep(max(0.0, interval - (time.monotonic() - started)) if paced else interval)
    return None


def wait_http_ok(url: str, timeout: float, proc_alive: Callable[[], bool] | None = None) -> bool:
    """Poll ``url`` until it answers 200, the timeout passes, or ``proc_alive()`` is false.

    A plain ``http://`` URL needs no certificate store, and httpx loads one for every client
    it makes unless told not to: 70-240 ms measured on this 2-core machine under load, paid by
    every liveness check (a rollback's plan asks whether its target is alive)."""
    with httpx.Client(timeout=2.0, verify=not url.startswith("http://")) as client:

        def answered() -> bool | None:
            if proc_alive is not None and not proc_alive():
                return False
            with contextlib.suppress(httpx.HTTPError):
                if client.get(url).status_code == 200:
                    return True
            return None

        return bool(poll(answered, timeout, 0.1))


def tail(path: Path, lines: int = 20) -> list[str]:
    """The last ``lines`` lines of a text file ([] when it does not exist)."""
    try:
        with path.open(errors="replace") as handle:
            return [line.rstrip("\n") for line in deque(handle, maxlen=lines)]
    except OSError:
        return []
