"""A process's environment read in one ``/proc`` read (``mlops.processes``), as psutil reads it."""

from __future__ import annotations

import os
import subprocess
import sys

import psutil
import pytest

from mlops.processes import environ_of_pid, parsed_environ

CASES = {
    "nothing: a zombie's environment": (b"", {}),
    "entries separated by NUL, the last one terminated": (
        b"A=1\0B=two\0",
        {"A": "1", "B": "two"},
    ),
    "a value may hold '='": (b"URL=a=b=c\0", {"URL": "a=b=c"}),
    "an empty value is kept": (b"EMPTY=\0", {"EMPTY": ""}),
    "an entry without '=' is skipped": (b"junk\0K=v\0", {"K": "v"}),
    "a later duplicate wins": (b"K=old\0K=new\0", {"K": "new"}),
    "bytes that are not UTF-8 survive as surrogates": (b"K=\xff\0", {"K": "\udcff"}),
    "no key, no entry": (b"=v\0", {}),
}


@pytest.mark.parametrize(("raw", "expected"), CASES.values(), ids=CASES.keys())
def test_an_environ_file_parses_to_its_variables(raw: bytes, expected: dict[str, str]) -> None:
    assert parsed_environ(raw) == expected


def test_a_running_processs_environment_is_what_psutil_reads() -> None:
    env = {**os.environ, "DEPLOYER_DEPLOYMENT_ID": "dep-1", "ODD": "a=b"}
    child = "import time; print('up', flush=True); time.sleep(30)"
    proc = subprocess.Popen([sys.executable, "-c", child], env=env, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"up\n"  # exec'd: its own
        assert environ_of_pid(proc.pid) == psutil.Process(proc.pid).environ()
        assert environ_of_pid(proc.pid)["DEPLOYER_DEPLOYMENT_ID"] == "dep-1"  # type: ignore[index]
    finally:
        proc.kill()
        proc.wait()
    assert environ_of_pid(proc.pid) is None  # gone (and reaped)
