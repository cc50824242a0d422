"""The append-only audit log and its keyed hash chain.

Each event's hash is an HMAC-SHA-256, keyed with a secret kept outside the database
(``DEPLOYER_AUDIT_KEY`` or the home's ``audit.key``), over its own content and the previous
event's hash: editing or deleting a row, even with every later hash recomputed, needs the key.
A one-row head (last id, last hash) written in the same transaction catches a removed tail, and
carries its own HMAC, so rewriting the head after cutting the tail needs the key too. On top of
that, triggers (migration 0008) refuse UPDATE and DELETE on ``audit_events``.

The payload is hashed as its canonical JSON text (sorted keys, no spaces, UTF-8, shortest float
repr, non-finite floats as strings), and that text is stored as it is (``payload_json``): a
payload reads back exactly on SQLite and PostgreSQL (JSONB would turn ``1e308`` into an
integer). The JSON ``payload`` column keeps a queryable copy.

Chains from before the key: their events keep their plain SHA-256 hashes; the head records from
which event keyed hashes begin (``keyed_from``). Those older events are only as trustworthy as
before. Appends are serialised (PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE already is)
so the chain never forks. The session's ``info[AUDIT_KEY_INFO]`` gives the key (a callable, so
the key file is made only on first need).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from database.models import AuditEventRow, AuditHeadRow
from lifecycle.errors import ConfigurationError
from lifecycle.jsonable import jsonable
from lifecycle.records import utcnow

GENESIS = "0" * 64
AUDIT_KEY_INFO = "deployer_audit_key"
"""The ``Session.info`` entry that gives the audit key: a callable returning bytes."""
_APPEND_LOCK_KEY = 0x6D64_6175  # "mdau": this project's advisory lock for audit appends
_NO_KEY = (
    "no audit key: set DEPLOYER_AUDIT_KEY or keep the home's audit.key "
    "(events from {first} on are keyed)"
)


class AuditKeyMissingError(ConfigurationError):
    """An audit event cannot be written without the audit key (nothing was written)."""


def canonical_json(payload: Any) -> str:
    """The one text a payload is hashed and stored as (module docstring)."""
    return json.dumps(
        _finite(jsonable(payload)),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def payload_of(event: AuditEventRow) -> dict[str, Any]:
    """The event's payload exactly as it was appended."""
    if event.payload_json is None:
        return event.payload
    document: dict[str, Any] = json.loads(event.payload_json)
    return document


def load_or_create_key(path: Path) -> bytes:
    """The key kept in ``path``; made (0600, atomically: no reader ever sees half a key) when
    missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
            os.link(temporary, path)  # fails if another process made it first: theirs wins
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
    key = path.read_text().strip()
    if len(key) < 32:
        raise ConfigurationError(f"the audit key in {path} is shorter than 32 characters")
    return key.encode()


def _mac(key: bytes, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def event_hash(event: AuditEventRow, key: bytes | None = None) -> str:
    """The HMAC-SHA-256 (with ``key``) of an event's content, previous hash included; without a
    key, the plain SHA-256 events had before keys (their payload as the JSON column holds it)."""
    body = {
        "id": event.id,
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "subject": event.subject,
        "payload": event.payload if key is None else event.payload_json,
        "prev_hash": event.prev_hash,
    }
    if key is None:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(canonical.encode()).hexdigest()
    return _mac(key, body)


def head_mac(head: AuditHeadRow, key: bytes) -> str:
    """The head's own HMAC: its last id, last hash and where keys begin."""
    body = {"last_id": head.last_id, "last_hash": head.last_hash, "from": head.keyed_from}
    return _mac(key, body)


def session_key(session: Session) -> bytes | None:
    """The audit key the session was made with (None: none given)."""
    provider: Callable[[], bytes] | None = session.info.get(AUDIT_KEY_INFO)
    return provider() if provider is not None else None


def append_event(
    session: Session, actor: str, action: str, subject: str, payload: dict[str, Any] | None = None
) -> AuditEventRow:
    """Append one keyed event to the chain inside the caller's transaction."""
    key = session_key(session)
    if key is None:
        raise AuditKeyMissingError(_NO_KEY.format(first="the next one"))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})
    # populate_existing: a head loaded earlier in this session may be stale; re-read it under
    # the lock (SQLite ignores FOR UPDATE, its BEGIN IMMEDIATE already holds the write lock).
    head = session.get(AuditHeadRow, 1, with_for_update=True, populate_existing=True)
    prev_id, prev_hash = (head.last_id, head.last_hash) if head else (0, GENESIS)
    document = canonical_json(payload or {})
    event = AuditEventRow(
        id=prev_id + 1,
        occurred_at=utcnow(),
        actor=actor,
        action=action,
        subject=subject,
        payload=json.loads(document),
        payload_json=document,
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event, key)
    session.add(event)
    if head is None:
        head = AuditHeadRow(id=1, last_id=event.id, last_hash=event.hash, keyed_from=1)
        session.add(head)
    else:
        head.last_id, head.last_hash = event.id, event.hash
    head.mac = head_mac(head, key)
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
    """Walk every event in order and check ids, links and keyed hashes, then the head."""
    head = session.get(AuditHeadRow, 1)
    keyed_from = head.keyed_from if head is not None else 1
    try:
        key = session_key(session)
    except ConfigurationError:
        key = None
    expected_id, prev_hash, checked = 1, GENESIS, 0
    events = select(AuditEventRow).order_by(AuditEventRow.id)
    for event in session.scalars(events.execution_options(yield_per=500)):
        keyed = event.id >= keyed_from
        if keyed and key is None:
            return AuditVerification(False, checked, event.id, _NO_KEY.format(first=keyed_from))
        problem = _link_problem(event, expected_id, prev_hash, key if keyed else None)
        if problem:
            if keyed and event.id == keyed_from and problem.endswith("was changed"):
                problem = (
                    f"event {event.id} does not verify with this audit key: the key is wrong, "
                    f"or the log was rewritten from event {event.id} on"
                )
            return AuditVerification(False, checked, min(event.id, expected_id), problem)
        expected_id, prev_hash, checked = event.id + 1, event.hash, checked + 1
    return _head_verification(head, key, expected_id, prev_hash, checked)


def _head_verification(
    head: AuditHeadRow | None, key: bytes | None, expected_id: int, prev_hash: str, checked: int
) -> AuditVerification:
    """Whether the head names the last event walked, and (once keyed) carries its HMAC."""
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
    if head.last_id >= head.keyed_from:
        if key is None:
            return AuditVerification(False, checked, None, _NO_KEY.format(first=head.keyed_from))
        if head.mac is None or not hmac.compare_digest(head.mac, head_mac(head, key)):
            return AuditVerification(
                False, checked, None, "the audit head was rewritten without the audit key"
            )
    return AuditVerification(True, checked)


def _same(copy: Any, truth: Any) -> bool:
    """Whether the JSON column's copy says what the hashed text says (PostgreSQL's JSONB may
    write a float such as ``1e308`` back as an integer: numbers compare by value)."""
    if isinstance(truth, dict):
        return (
            isinstance(copy, dict)
            and copy.keys() == truth.keys()
            and all(_same(copy[k], truth[k]) for k in truth)
        )
    if isinstance(truth, list):
        return (
            isinstance(copy, list)
            and len(copy) == len(truth)
            and all(_same(a, b) for a, b in zip(copy, truth, strict=True))
        )
    numbers = (int, float)
    if isinstance(truth, numbers) and not isinstance(truth, bool):
        if not isinstance(copy, numbers) or isinstance(copy, bool):
            return False
        return copy == truth if not isinstance(truth, float) else float(copy) == truth
    return bool(copy == truth and type(copy) is type(truth))


def _link_problem(event: AuditEventRow, expected_id: int, prev_hash: str, key: bytes | None) -> str:
    """Why ``event`` does not belong where it stands in the chain ("" when it does)."""
    if event.id != expected_id:
        return f"event {expected_id} was removed"
    if event.prev_hash != prev_hash:
        return f"event {event.id} does not follow event {event.id - 1}"
    if key is not None and (
        event.payload_json is None or not _same(event.payload, json.loads(event.payload_json))
    ):
        return f"event {event.id} was changed"
    if not hmac.compare_digest(event_hash(event, key), event.hash):
        return f"event {event.id} was changed"
    return ""
