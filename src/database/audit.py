"""The append-only audit log and its hash chain.

Each event's hash covers its own content and the previous event's hash, so editing or deleting
any row breaks the chain from that row on. A one-row head (last id, last hash) written in the
same transaction catches a removed tail, which a bare chain cannot see. Appends are serialised
(PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE already is) so the chain never forks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from database.models import AuditEventRow, AuditHeadRow
from database.types import json_safe
from lifecycle.records import utcnow

GENESIS = "0" * 64
_APPEND_LOCK_KEY = 0x6D64_6175  # "mdau": this project's advisory lock for audit appends


def event_hash(event: AuditEventRow) -> str:
    """The SHA-256 of an event's canonical JSON, previous hash included."""
    body = {
        "id": event.id,
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "subject": event.subject,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def append_event(
    session: Session, actor: str, action: str, subject: str, payload: dict[str, Any] | None = None
) -> AuditEventRow:
    """Append one event to the chain inside the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})
    # populate_existing: a head loaded earlier in this session may be stale; re-read it under
    # the lock (SQLite ignores FOR UPDATE, its BEGIN IMMEDIATE already holds the write lock).
    head = session.get(AuditHeadRow, 1, with_for_update=True, populate_existing=True)
    prev_id, prev_hash = (head.last_id, head.last_hash) if head else (0, GENESIS)
    event = AuditEventRow(
        id=prev_id + 1,
        occurred_at=utcnow(),
        actor=actor,
        action=action,
        subject=subject,
        payload=json_safe(payload or {}),
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event)
    session.add(event)
    if head is None:
        session.add(AuditHeadRow(id=1, last_id=event.id, last_hash=event.hash))
    else:
        head.last_id, head.last_hash = event.id, event.hash
    session.flush()
    return event


@dataclass(frozen=True)
class AuditVerification:
    """The outcome of walking the chain: ``first_bad_id`` names the first row that fails."""

    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str = ""


def verify_audit_chain(session: Session) -> AuditVerification:
    """Walk every event in order and check ids, links and hashes, then the head."""
    expected_id, prev_hash, checked = 1, GENESIS, 0
    events = select(AuditEventRow).order_by(AuditEventRow.id)
    for event in session.scalars(events.execution_options(yield_per=500)):
        problem = _link_problem(event, expected_id, prev_hash)
        if problem:
            return AuditVerification(False, checked, min(event.id, expected_id), problem)
        expected_id, prev_hash, checked = event.id + 1, event.hash, checked + 1
    head = session.get(AuditHeadRow, 1)
    if head is None:
        if checked == 0:
            return AuditVerification(True, 0)
        return AuditVerification(False, checked, None, "the audit head row was removed")
    if head.last_id != expected_id - 1 or head.last_hash != prev_hash:
        missing = expected_id if head.last_id >= expected_id else head.last_id
        return AuditVerification(
            False,
            checked,
            missing,
            f"the log ends at event {expected_id - 1} but its head says {head.last_id}: "
            "events were removed or the head was changed",
        )
    return AuditVerification(True, checked)


def _link_problem(event: AuditEventRow, expected_id: int, prev_hash: str) -> str:
    """Why ``event`` does not belong where it stands in the chain ("" when it does)."""
    if event.id != expected_id:
        return f"event {expected_id} was removed"
    if event.prev_hash != prev_hash:
        return f"event {event.id} does not follow event {event.id - 1}"
    if event_hash(event) != event.hash:
        return f"event {event.id} was changed"
    return ""
