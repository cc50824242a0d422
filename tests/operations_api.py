"""Following an operation of the ops API (issue 19) the way a script does: GET its
``Location`` until it has ended or waits for a person."""

from __future__ import annotations

import time
from typing import Any, Protocol

SETTLED = ("succeeded", "failed", "waiting_approval")


class Getter(Protocol):
    def get(self, url: str, *, headers: dict[str, str]) -> Any: ...


def follow_operation(
    client: Getter, location: str, headers: dict[str, str], timeout: float = 240.0
) -> dict[str, Any]:
    """The operation's document once it settled (else an AssertionError with the last one)."""
    deadline = time.monotonic() + timeout
    doc: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = client.get(location, headers=headers)
        assert answer.status_code == 200, answer.text
        doc = answer.json()
        if doc["status"] in SETTLED:
            return doc
        time.sleep(0.2)
    raise AssertionError(f"the operation did not settle in {timeout} s: {doc}")
