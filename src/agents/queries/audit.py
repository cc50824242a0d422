"""Whether the audit log's keyed hash chain is intact, and what the watcher last found.

``deployer audit verify`` and ``GET /v1/audit/verify`` report ``verify_audit``; ``deployer
watch`` runs ``record_audit_check`` on a schedule (the outcome is kept in ``audit_checks``), and
``deployer status`` shows ``last_audit_check``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from agents.ports import Services
from database.models_safety import AuditCheckRow
from lifecycle.records import utcnow


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


def record_audit_check(c: Services, checked_by: str) -> dict[str, Any]:
    """Verify the chain and keep the outcome, so a break is on record (not only in a log)."""
    found = verify_audit(c)
    with c.uow() as uow:
        uow.session.add(
            AuditCheckRow(
                checked_at=utcnow(),
                checked_by=checked_by[:200],
                ok=found["ok"],
                checked=found["checked"],
                first_bad_id=found["first_bad_id"],
                problem=found["problem"],
            )
        )
        uow.commit()
    return found


def last_audit_check(c: Services) -> dict[str, Any] | None:
    """The watcher's last verification of the chain (None: it has not verified it yet)."""
    with c.reader() as uow:
        query = select(AuditCheckRow).order_by(AuditCheckRow.id.desc()).limit(1)
        row = uow.session.scalars(query).first()
    if row is None:
        return None
    return {
        "ok": row.ok,
        "checked_at": row.checked_at.isoformat(),
        "checked_by": row.checked_by,
        "checked": row.checked,
        "first_bad_id": row.first_bad_id,
        "problem": row.problem,
    }
