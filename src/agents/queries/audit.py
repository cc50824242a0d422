"""Whether the audit log's hash chain is intact.

``deployer audit verify`` and ``GET /v1/audit/verify`` both report it.
"""

from __future__ import annotations

from typing import Any

from agents.ports import Services


def verify_audit(c: Services) -> dict[str, Any]:
    """Check the whole chain and its head; a JSON-ready report (``ok`` False names the row)."""
    with c.reader() as uow:
        found = uow.audit.verify()
    return {
        "ok": found.ok,
        "checked": found.checked,
        "first_bad_id": found.first_bad_id,
        "problem": found.problem,
    }
