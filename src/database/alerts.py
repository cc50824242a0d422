"""The alert tables' repository: channels, the alert outbox rows, and the dispatcher's cursor.

Like the other repositories it adds and reads over one session and never commits. Two writes
decide races by compare-and-set, so two dispatchers on one database never double-send:
``move_cursor`` (the scan that turned events into alerts commits only if the cursor is still
where it read it) and ``claim`` (a pending alert is delivered by the one dispatcher whose claim
moved it; a claim expires, so a dispatcher that died mid-send leaves it to another).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from database.models import AuditEventRow
from database.models_alerts import AlertChannelRow, AlertCursorRow, AlertRow
from database.models_safety import AuditCheckRow
from lifecycle.alerts import Alert, UnknownAlertChannelError

CURSOR = "alerts"
PENDING, SENT, FAILED, SUPPRESSED = "pending", "sent", "failed", "suppressed"


class AlertRepository:
    """Alert channels, alerts and the cursor over one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- channels ---------------------------------------------------------------------------

    def add_channel(
        self, url: str, events: str, min_severity: str, by: str, now: datetime
    ) -> AlertChannelRow:
        row = AlertChannelRow(
            url=url, events=events, min_severity=min_severity, added_by=by, added_at=now
        )
        self.session.add(row)
        self.session.flush()
        return row

    def channels(self) -> Sequence[AlertChannelRow]:
        return self.session.scalars(select(AlertChannelRow).order_by(AlertChannelRow.id)).all()

    def channel(self, channel_id: int) -> AlertChannelRow:
        row = self.session.get(AlertChannelRow, channel_id)
        if row is None:
            raise UnknownAlertChannelError(f"no alert channel {channel_id} (deployer alerts list)")
        return row

    def remove_channel(self, channel_id: int) -> AlertChannelRow:
        row = self.channel(channel_id)
        self.session.execute(delete(AlertChannelRow).where(AlertChannelRow.id == channel_id))
        return row

    # -- the scan ---------------------------------------------------------------------------

    def cursor(self) -> AlertCursorRow:
        """The cursor (made at the chain's end on first use, and moved to the end while no
        channel is configured: a new channel is not told the past)."""
        row = self.session.get(AlertCursorRow, CURSOR)
        if row is None:
            event, check = self.last_ids()
            row = AlertCursorRow(name=CURSOR, last_event_id=event, last_check_id=check)
            self.session.add(row)
            self.session.flush()
        return row

    def peek_cursor(self) -> tuple[int, int] | None:
        """The cursor's (event id, check id) without making it; None when there is none yet."""
        row = self.session.get(AlertCursorRow, CURSOR)
        return None if row is None else (row.last_event_id, row.last_check_id)

    def last_ids(self) -> tuple[int, int]:
        """The newest audit event's and audit check's ids (0 when none)."""
        event = self.session.scalar(select(func.max(AuditEventRow.id))) or 0
        check = self.session.scalar(select(func.max(AuditCheckRow.id))) or 0
        return int(event), int(check)

    def events_after(self, event_id: int, limit: int) -> Sequence[AuditEventRow]:
        query = select(AuditEventRow).where(AuditEventRow.id > event_id)
        return self.session.scalars(query.order_by(AuditEventRow.id).limit(limit)).all()

    def checks_after(self, check_id: int, limit: int) -> Sequence[AuditCheckRow]:
        query = select(AuditCheckRow).where(AuditCheckRow.id > check_id)
        return self.session.scalars(query.order_by(AuditCheckRow.id).limit(limit)).all()

    def move_cursor(self, old: tuple[int, int], new: tuple[int, int]) -> bool:
        """Move the cursor from ``old`` to ``new`` (event id, check id); False: another
        dispatcher moved it first (the caller rolls back)."""
        result = self.session.execute(
            update(AlertCursorRow)
            .where(
                AlertCursorRow.name == CURSOR,
                AlertCursorRow.last_event_id == old[0],
                AlertCursorRow.last_check_id == old[1],
            )
            .values(last_event_id=new[0], last_check_id=new[1])
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def add_alert(
        self, channel_id: int, source: str, alert: Alert, state: str, now: datetime
    ) -> AlertRow:
        row = AlertRow(
            channel_id=channel_id,
            source=source[:100],
            kind=alert.kind,
            event_group=alert.group,
            severity=alert.severity.label,
            summary=alert.summary,
            model_name=alert.model[:200],
            version=alert.version[:50],
            deployment_id=alert.deployment_id[:64],
            action=alert.action,
            state=state,
            attempts=0,
            error="",
            created_at=now,
            next_attempt_at=now if state == PENDING else None,
        )
        self.session.add(row)
        return row

    def told_recently(self, channel_id: int, key: tuple[str, str, str], since: datetime) -> bool:
        """Whether an alert with ``key`` (kind, model, deployment) was told to the channel (sent
        or on its way) at or after ``since``."""
        kind, model, deployment = key
        query = select(AlertRow.id).where(
            AlertRow.channel_id == channel_id,
            AlertRow.kind == kind,
            AlertRow.model_name == model,
            AlertRow.deployment_id == deployment,
            AlertRow.state.in_((PENDING, SENT)),
            AlertRow.created_at >= since,
        )
        return self.session.scalars(query.limit(1)).first() is not None

    # -- delivery ---------------------------------------------------------------------------

    def due(self, now: datetime, limit: int) -> Sequence[AlertRow]:
        query = select(AlertRow).where(
            AlertRow.state == PENDING,
            AlertRow.next_attempt_at <= now,
            or_(AlertRow.claimed_until.is_(None), AlertRow.claimed_until < now),
        )
        return self.session.scalars(query.order_by(AlertRow.id).limit(limit)).all()

    def claim(self, alert_id: int, holder: str, now: datetime, until: datetime) -> bool:
        """Take a due alert for delivery (compare-and-set); False: another dispatcher has it."""
        result = self.session.execute(
            update(AlertRow)
            .where(
                AlertRow.id == alert_id,
                AlertRow.state == PENDING,
                or_(AlertRow.claimed_until.is_(None), AlertRow.claimed_until < now),
            )
            .values(claimed_by=holder, claimed_until=until)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def settle(
        self,
        alert_id: int,
        holder: str,
        state: str,
        attempts: int,
        error: str,
        sent_at: datetime | None,
        next_attempt_at: datetime | None,
    ) -> bool:
        """Record a delivery's outcome, if ``holder`` still holds the claim."""
        result = self.session.execute(
            update(AlertRow)
            .where(and_(AlertRow.id == alert_id, AlertRow.claimed_by == holder))
            .values(
                state=state,
                attempts=attempts,
                error=error,
                sent_at=sent_at,
                next_attempt_at=next_attempt_at,
                claimed_by=None,
                claimed_until=None,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def get(self, alert_id: int) -> AlertRow | None:
        return self.session.get(AlertRow, alert_id)

    def history(self, since: datetime, limit: int = 500) -> Sequence[AlertRow]:
        query = select(AlertRow).where(AlertRow.created_at >= since)
        return self.session.scalars(query.order_by(AlertRow.id.desc()).limit(limit)).all()
