"""Alert channels (an admin's to add, remove and test), and the alerts told so far.

A channel is an Apprise URL with the event groups it takes and a least severity. Its URL holds
secrets (webhook tokens, SMTP passwords): it is shown redacted, and the audit events
``alert_channel_added``/``alert_channel_removed`` carry the channel's id and scheme, never the
URL. A URL the notifier cannot send to is refused before anything is written.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from agents.alerting import AlertServices, Dispatcher, raise_alert
from agents.handlers.access import require_admin
from database.alerts import AlertRepository
from database.models_alerts import AlertChannelRow, AlertRow
from lifecycle.alert_timing import parse_window
from lifecycle.alerts import parse_groups, parse_severity, trial_alert
from lifecycle.approval import Role
from lifecycle.errors import BadInputError, PermissionDeniedError
from lifecycle.records import utcnow
from lifecycle.redaction import redact_uri
from lifecycle.tenant_views import sees_alert
from lifecycle.tenants import Grants, check_tenant


def describe_channel(row: AlertChannelRow) -> dict[str, Any]:
    """A channel as shown: its URL redacted."""
    return {
        "id": row.id,
        "url": redact_uri(row.url),
        "events": row.events or "all",
        "min_severity": row.min_severity,
        "added_by": row.added_by,
        "added_at": row.added_at,
        "tenant": row.tenant,
    }


def add_channel(
    c: AlertServices,
    actor: str,
    url: str,
    events: str = "",
    min_severity: str = "info",
    tenant: str | None = None,
) -> dict[str, Any]:
    """Add a channel (the platform's: platform admins only; a tenant's, told only that
    tenant's models' alerts: its admins too); bad filters, an unknown tenant or a URL Apprise
    refuses change nothing."""
    groups, severity = parse_groups(events), parse_severity(min_severity)
    tenant = None if tenant is None else check_tenant(tenant)
    url = url.strip()
    c.notifier.check(url)
    with c.uow() as uow:
        if tenant is None:
            require_admin(uow, actor, "add alert channels")
        else:
            if uow.access.tenant(tenant) is None:
                raise BadInputError(f"no tenant {tenant!r} (deployer tenant list)")
            if not uow.access.grants_of(actor).may(Role.ADMIN, tenant):
                raise PermissionDeniedError(
                    f"{actor} is not an admin of tenant {tenant!r}: adding its alert channels "
                    "needs admin there (or on the platform)"
                )
        repo = AlertRepository(uow.session)
        repo.cursor()  # from now on: a new home's channel is not told the past
        row = repo.add_channel(url, ",".join(groups), severity.label, actor, utcnow())
        row.tenant = tenant
        uow.audit.append(
            actor,
            "alert_channel_added",
            f"alert-channel/{row.id}",
            {
                "channel_id": row.id,
                "scheme": url.split("://", 1)[0],
                "events": row.events or "all",
                "min_severity": row.min_severity,
                "tenant": tenant,
            },
        )
        uow.commit()
        return describe_channel(row)


def remove_channel(c: AlertServices, actor: str, channel_id: int) -> dict[str, Any]:
    """Remove a channel (admins only); its past alerts stay in the history."""
    with c.uow() as uow:
        require_admin(uow, actor, "remove alert channels")
        row = AlertRepository(uow.session).remove_channel(channel_id)
        uow.audit.append(
            actor,
            "alert_channel_removed",
            f"alert-channel/{channel_id}",
            {"channel_id": channel_id, "scheme": row.url.split("://", 1)[0]},
        )
        uow.commit()
        return describe_channel(row)


def list_channels(c: AlertServices, reader: Grants | None = None) -> list[dict[str, Any]]:
    """The channels (with ``reader``: the platform's only to a platform admin, a tenant's to
    those who see that tenant)."""
    with c.reader() as uow:
        rows = AlertRepository(uow.session).channels()
        return [describe_channel(row) for row in rows if sees_channel(reader, row.tenant)]


def sees_channel(reader: Grants | None, tenant: str | None) -> bool:
    if reader is None or reader.is_platform_admin:
        return True
    return tenant is not None and reader.may(Role.VIEWER, tenant)


def send_test(c: AlertServices, actor: str, channel_id: int | None = None) -> list[dict[str, Any]]:
    """Send a test alert now to one channel (or every channel; admins only); the outcome of
    each delivery (the dispatcher's pass also delivers whatever else is due)."""
    with c.uow() as uow:
        require_admin(uow, actor, "send test alerts")
        repo = AlertRepository(uow.session)
        ids = [repo.channel(channel_id).id] if channel_id is not None else []
        ids = ids or [row.id for row in repo.channels()]
    source = f"test:{uuid.uuid4().hex[:12]}"
    raise_alert(c, trial_alert(actor), source, only=set(ids))
    outcomes = Dispatcher(c, c.notifier).run_once()["deliveries"]
    with c.reader() as uow:
        rows = uow.session.query(AlertRow).filter(AlertRow.source == source).all()
        done = {o["alert_id"]: o for o in outcomes}
        return [
            {
                "channel_id": row.channel_id,
                "alert_id": row.id,
                "state": row.state,
                "error": done.get(row.id, {}).get("error", row.error),
            }
            for row in sorted(rows, key=lambda r: r.channel_id)
        ]


def describe_alert(row: AlertRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "created_at": row.created_at,
        "channel_id": row.channel_id,
        "kind": row.kind,
        "severity": row.severity,
        "summary": row.summary,
        "model": row.model_name,
        "version": row.version,
        "deployment_id": row.deployment_id,
        "action": row.action,
        "state": row.state,
        "attempts": row.attempts,
        "error": row.error,
        "sent_at": row.sent_at,
        "next_attempt_at": row.next_attempt_at,
    }


def alert_history(
    c: AlertServices, since: str = "1d", reader: Grants | None = None
) -> list[dict[str, Any]]:
    """The alerts of the last ``since`` (``30m``, ``2h``, ``1d``), newest first; with
    ``reader``, those they may read (``lifecycle.tenant_views.sees_alert``)."""
    rows = alerts_since(c, utcnow() - parse_window(since))
    return rows if reader is None else [r for r in rows if sees_alert(reader, r["model"])]


def alerts_since(c: AlertServices, start: datetime) -> list[dict[str, Any]]:
    """The alerts made at or after ``start``, newest first."""
    with c.reader() as uow:
        return [describe_alert(row) for row in AlertRepository(uow.session).history(start)]
