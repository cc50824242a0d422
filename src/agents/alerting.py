"""The alert dispatcher: new audit events (and failed audit checks) in, deliveries out.

The audit chain is the outbox: a change and its event commit together, so a crash loses no
alert. ``Dispatcher.collect`` reads the events after the cursor, maps each with the pure
``lifecycle.alerts.alert_for``, inserts one ``alerts`` row per channel that wants it
(``suppressed`` when it repeats one told within ``DEPLOYER_ALERT_SUPPRESS_SECONDS``) and moves
the cursor, in one transaction whose cursor move is a compare-and-set. ``Dispatcher.deliver``
claims each due row (compare-and-set, with an expiry), sends it through the ``Notifier`` port
outside any transaction, and records ``sent``, or a retry after ``lifecycle.alerts.backoff``, or
``failed`` with the (redacted) error once the attempts run out. So two dispatchers on one
database never double-send, and a dispatcher that dies mid-send leaves its claim to expire.

``deployer watch`` runs a dispatcher in a background thread (``dispatching``): a slow or dead
channel never holds up a tick. ``dispatch_once(c)`` is one pass, for ``deployer alerts test``,
the demo and tests. ``raise_alert`` writes an alert that is not an audit event (a watcher
losing its lease) in a session of its own without the watcher's fence.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agents.ports import Services
from database.alerts import FAILED, PENDING, SENT, SUPPRESSED, AlertRepository
from database.audit import payload_of
from database.engine import read_session
from database.leases import FENCE_INFO
from database.models import DeploymentRow
from database.models_alerts import AlertChannelRow, AlertRow
from lifecycle.alert_timing import next_attempt
from lifecycle.alerts import (
    Alert,
    Notifier,
    Severity,
    Target,
    alert_for,
    audit_broken,
    parse_groups,
    parse_severity,
    suppression_key,
    wants,
)
from lifecycle.records import utcnow
from lifecycle.redaction import redact_text
from lifecycle.tenant_views import channel_takes

log = logging.getLogger(__name__)

BATCH = 500
"""At most this many events (and due deliveries) per pass."""


class AlertServices(Services, Protocol):
    """A ``Services`` with the notifier port wired (the ``Container``)."""

    @property
    def notifier(self) -> Notifier: ...


def unfenced(c: Services) -> Session:
    """A session of ``c``'s database without a watcher's fence: alerts are not the monitor's
    writes, and a watcher that lost its lease must still be able to say so."""
    return c.session_factory(info={FENCE_INFO: None})


def _target(session: Session, subject: str) -> Target:
    if "/" in subject:
        return Target()
    row = session.get(DeploymentRow, subject) if len(subject) <= 64 else None
    if row is not None:
        return Target(row.model_name, row.model_version, row.deployment_id)
    return Target(model=subject)


def _fan_out(
    repo: AlertRepository,
    channels: Sequence[AlertChannelRow],
    source: str,
    alert: Alert,
    now: datetime,
    suppress_seconds: float,
) -> int:
    """One row per channel that wants ``alert`` (a tenant's channel only its own models'); a
    recent repeat is recorded as suppressed."""
    written = 0
    for channel in channels:
        if not wants(parse_groups(channel.events), parse_severity(channel.min_severity), alert):
            continue
        if not channel_takes(channel.tenant, alert.model):
            continue  # a tenant's channel is told only its own models' alerts
        since = now - timedelta(seconds=suppress_seconds)
        repeat = (
            alert.group != "test"
            and suppress_seconds > 0
            and repo.told_recently(channel.id, suppression_key(alert), since)
        )
        repo.add_alert(channel.id, source, alert, SUPPRESSED if repeat else PENDING, now)
        repo.session.flush()
        written += 1
    return written


def raise_alert(c: Services, alert: Alert, source: str, only: set[int] | None = None) -> int:
    """Write ``alert`` for every channel that wants it (not through the audit chain; ``only``
    these channels when given); the number of rows written. Never fenced; a source already
    told to a channel is not told again."""
    now = utcnow()
    with unfenced(c) as session, session.begin():
        repo = AlertRepository(session)
        channels = [
            ch
            for ch in repo.channels()
            if (only is None or ch.id in only) and not _already(session, ch.id, source)
        ]
        return _fan_out(repo, channels, source, alert, now, c.settings.alert_suppress_seconds)


def _already(session: Session, channel_id: int, source: str) -> bool:
    query = select(AlertRow.id).where(AlertRow.channel_id == channel_id, AlertRow.source == source)
    return session.scalars(query.limit(1)).first() is not None


def alert_of(row: AlertRow) -> Alert:
    """The alert a row holds."""
    return Alert(
        kind=row.kind,
        group=row.event_group,
        severity=parse_severity(row.severity),
        summary=row.summary,
        model=row.model_name,
        version=row.version,
        deployment_id=row.deployment_id,
        action=row.action,
    )


class _CursorMoved(Exception):
    """Another dispatcher moved the cursor first: this scan is rolled back."""


class Dispatcher:
    """Turns audit events into alert rows and delivers due rows (module docstring)."""

    def __init__(
        self,
        c: Services,
        notifier: Notifier,
        holder: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.c, self.notifier, self.clock = c, notifier, clock
        self.holder = holder or f"dispatcher:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def collect(self) -> int:
        """Alert rows for the events and audit checks after the cursor; how many were written
        (0 as well when another dispatcher moved the cursor first: its rows stand)."""
        if not self._news():
            return 0  # nothing new: no write transaction (SQLite has one writer at a time)
        now = self.clock()
        try:
            with unfenced(self.c) as session, session.begin():
                repo = AlertRepository(session)
                cursor = repo.cursor()
                old = (cursor.last_event_id, cursor.last_check_id)
                channels = repo.channels()
                if not channels:
                    new, written = repo.last_ids(), 0
                else:
                    new, written = self._scan(repo, channels, old, now)
                if new != old and not repo.move_cursor(old, new):
                    raise _CursorMoved
                return written
        except (_CursorMoved, IntegrityError):
            return 0  # another dispatcher took these events first: its rows stand

    def _news(self) -> bool:
        """Whether the chain or the audit checks moved past the cursor (read only)."""
        with read_session(self.c.session_factory) as session:
            repo = AlertRepository(session)
            cursor = repo.peek_cursor()
            return cursor is None or cursor != repo.last_ids()

    def _scan(
        self,
        repo: AlertRepository,
        channels: Sequence[AlertChannelRow],
        old: tuple[int, int],
        now: datetime,
    ) -> tuple[tuple[int, int], int]:
        suppress = self.c.settings.alert_suppress_seconds
        events = repo.events_after(old[0], BATCH)
        checks = repo.checks_after(old[1], BATCH)
        written = 0
        for event in events:
            target = _target(repo.session, event.subject)
            alert = alert_for(event.action, event.subject, payload_of(event), event.actor, target)
            if alert is not None:
                written += _fan_out(repo, channels, f"audit:{event.id}", alert, now, suppress)
        for check in checks:
            if not check.ok:
                alert = audit_broken(check.first_bad_id, check.problem)
                source = f"audit_check:{check.id}"
                written += _fan_out(repo, channels, source, alert, now, suppress)
        new_event = events[-1].id if events else old[0]
        new_check = checks[-1].id if checks else old[1]
        return (new_event, new_check), written

    def deliver(self) -> list[dict[str, Any]]:
        """Send every due alert this dispatcher can claim; one outcome each."""
        with read_session(self.c.session_factory) as session:
            due = [row.id for row in AlertRepository(session).due(self.clock(), BATCH)]
        return [out for out in (self._deliver_one(alert_id) for alert_id in due) if out]

    def _deliver_one(self, alert_id: int) -> dict[str, Any] | None:
        settings, now = self.c.settings, self.clock()
        until = now + timedelta(seconds=3 * settings.alert_send_timeout_seconds + 5)
        with unfenced(self.c) as session, session.begin():
            repo = AlertRepository(session)
            if not repo.claim(alert_id, self.holder, now, until):
                return None
            row = repo.get(alert_id)
            channel = session.get(AlertChannelRow, row.channel_id) if row else None
            if row is None:
                return None
            url, alert, attempts = (channel.url if channel else ""), alert_of(row), row.attempts
        error = self._send(url, alert) if url else "the channel was removed"
        return self._settle(alert_id, attempts + 1, error)

    def _send(self, url: str, alert: Alert) -> str | None:
        try:
            return self.notifier.send(url, alert)
        except Exception as exc:  # a notifier's bug must not kill the dispatcher
            return f"{type(exc).__name__}: {exc}"

    def _settle(self, alert_id: int, attempts: int, error: str | None) -> dict[str, Any]:
        settings, now = self.c.settings, self.clock()
        if error is None:
            state, retry, shown = SENT, None, ""
        else:
            retry = next_attempt(
                attempts, settings.alert_max_attempts, now, settings.alert_backoff_seconds
            )
            state, shown = (PENDING if retry else FAILED), redact_text(" ".join(error.split()))
        with unfenced(self.c) as session, session.begin():
            AlertRepository(session).settle(
                alert_id,
                self.holder,
                state,
                attempts,
                shown[:1000],
                now if state == SENT else None,
                retry,
            )
        return {"alert_id": alert_id, "state": state, "attempts": attempts, "error": shown}

    def run_once(self) -> dict[str, Any]:
        """One pass: collect, then deliver."""
        written = self.collect()
        return {"collected": written, "deliveries": self.deliver()}


def dispatch_once(c: AlertServices, notifier: Notifier | None = None) -> dict[str, Any]:
    """One dispatcher pass over ``c``'s database (through ``c.notifier`` unless given)."""
    return Dispatcher(c, notifier or c.notifier).run_once()


class BackgroundDispatcher:
    """A dispatcher looping in its own daemon thread every ``interval`` seconds (sooner when
    woken) until stopped, with one last pass then; a failing pass is logged and the loop goes
    on."""

    def __init__(self, dispatcher: Dispatcher, interval: float) -> None:
        self.dispatcher, self.interval = dispatcher, interval
        self.stopping, self.woken = threading.Event(), threading.Event()
        self.passes = 0
        self.thread = threading.Thread(target=self._loop, name="alert-dispatcher", daemon=True)

    def _loop(self) -> None:
        while True:  # a last pass after ``stop``: what the last tick raised goes out
            self.woken.clear()
            try:
                self.dispatcher.run_once()
            except Exception:
                log.warning("an alert dispatch pass failed; retrying", exc_info=True)
            self.passes += 1
            if self.stopping.is_set():
                return
            self.woken.wait(self.interval)

    def wake(self) -> None:
        """Look for new events now (after a tick)."""
        self.woken.set()

    def stop(self, timeout: float) -> None:
        self.stopping.set()
        self.woken.set()
        self.thread.join(timeout)


@contextmanager
def dispatching(
    c: AlertServices, notifier: Notifier | None = None, interval: float | None = None
) -> Iterator[BackgroundDispatcher]:
    """Run a dispatcher in the background while the block runs; stopped (the send in
    progress finishes, bounded by the send timeout) when it ends."""
    settings = c.settings
    background = BackgroundDispatcher(
        Dispatcher(c, notifier or c.notifier), interval or settings.alert_dispatch_seconds
    )
    background.thread.start()
    try:
        yield background
    finally:
        background.stop(2 * settings.alert_send_timeout_seconds + 5)


__all__ = [
    "FAILED",
    "PENDING",
    "SENT",
    "SUPPRESSED",
    "AlertServices",
    "BackgroundDispatcher",
    "Dispatcher",
    "Severity",
    "dispatch_once",
    "dispatching",
    "raise_alert",
]
