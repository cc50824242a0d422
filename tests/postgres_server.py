"""Start and stop a throwaway PostgreSQL server for the test session, by PID.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
``postgres`` system user (Debian's package creates it). The data folder, socket and log live in
one temporary folder that is removed afterwards. Set ``DEPLOYER_TEST_POSTGRES_URL`` to use a
server you already run instead.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PostgresServer:
    """A running server: a superuser URL without a database name, and its PID (None if external)."""

    host: str
    port: int
    user: str
    pid: int | None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"


def find_postgres_bin() -> Path | None:
    """The folder with initdb and postgres, or None when PostgreSQL is not installed."""
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> str | None:
    """The user to run the server as: ``postgres`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise RuntimeError(
            "running as root but there is no 'postgres' user to run PostgreSQL"
        ) from exc
    return "postgres"


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a fresh server on a free port, yield it, and stop it by PID."""
    bindir = find_postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (no initdb); install Debian's 'postgresql'")
    user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="deployer-pg-"))
    data, log = root / "data", root / "server.log"
    if user:
        os.chown(root, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    subprocess.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "deployer",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        user=user,
        env=env,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    port = free_port()
    with open(log, "ab") as log_file:
        proc = subprocess.Popen(
            [
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            user=user,
            env=env,
            cwd=root,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(port, proc, log)
        yield PostgresServer("127.0.0.1", port, "deployer", proc.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGINT)  # "fast shutdown": ends every backend
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"PostgreSQL exited at start:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            try:
                import psycopg

                with psycopg.connect(f"host=127.0.0.1 port={port} user=deployer dbname=postgres"):
                    return
            except psycopg.OperationalError:
                pass
        time.sleep(0.1)
    raise RuntimeError(f"PostgreSQL did not become ready:\n{log.read_text(errors='replace')}")


def create_database(server: PostgresServer, name: str) -> str:
    """Create an empty database on the server and return its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(
        f"host={server.host} port={server.port} user={server.user} dbname=postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.url(name)


def drop_database(server: PostgresServer, name: str) -> None:
    import psycopg

    with psycopg.connect(
        f"host={server.host} port={server.port} user={server.user} dbname=postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
