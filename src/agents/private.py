"""Private files: the home folder (0700) and the secrets kept in it (0600, written atomically).

A secret file is written to a temporary file in the same folder (created 0600), flushed to disk
and then put in place in one step, so a reader sees the whole file or none: never an empty token
read mid-creation. ``write_private_file`` never replaces an existing file unless asked: two
processes creating the same token at once agree on the first one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from lifecycle.errors import ConfigurationError

DIR_MODE = 0o700
FILE_MODE = 0o600


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) if needed and make it 0700.

    An existing folder with looser permissions is tightened; one this user cannot tighten (not
    its owner) is a ``ConfigurationError`` naming it."""
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        if stat.S_IMODE(path.stat().st_mode) != DIR_MODE:
            path.chmod(DIR_MODE)
    except OSError as exc:
        raise ConfigurationError(f"cannot make {path} private (mode 0700): {exc}") from exc
    return path


def write_private_file(path: Path, text: str, replace: bool = False) -> bool:
    """Write ``text`` to ``path`` with mode 0600, atomically; False when ``path`` already
    existed and ``replace`` is off (it is then left as it was)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # atomic, and never over a file another process made
            except FileExistsError:
                return False
        _sync_dir(path.parent)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
