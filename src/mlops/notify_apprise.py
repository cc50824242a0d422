"""``AppriseNotifier``: the ``Notifier`` port (``lifecycle.alerts``) over Apprise, one library
for Slack, Microsoft Teams, Discord, e-mail (``mailto://``/``mailtos://``), generic JSON
webhooks (``json://``/``jsons://``) and many more.

A channel URL holds secrets (webhook tokens, SMTP passwords): errors name it redacted. Each send
is bounded by ``timeout`` (connect and read), so a dead channel costs at most that; Apprise's
own retries are off (the dispatcher retries with backoff). Apprise's log lines for a failed send
become the error text (without their time stamps).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from lifecycle.alerts import Alert, Severity, UnusableChannelUrlError
from lifecycle.errors import BadInputError
from lifecycle.redaction import redact_text, redact_uri

_STAMP = re.compile(r"^\S+ \S+ - [A-Z]+ - ")


class AppriseNotifier:
    """Sends alerts through Apprise; ``check`` refuses a URL Apprise cannot send to."""

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout

    def _plugin(self, url: str) -> Any:
        import apprise

        plugin = apprise.Apprise.instantiate(url)
        if plugin is None:
            raise UnusableChannelUrlError(
                f"{redact_uri(url)} is not an alert channel URL Apprise can send to "
                "(e.g. json://host:port/path, mailto://host:port?from=...&to=..., slack://...)"
            )
        return plugin

    def check(self, url: str) -> None:
        self._plugin(url)

    def send(self, url: str, alert: Alert) -> str | None:
        import apprise

        try:
            plugin = self._plugin(url)
        except BadInputError as exc:
            return str(exc)
        plugin.socket_connect_timeout = plugin.socket_read_timeout = self.timeout
        kind = {
            Severity.CRITICAL: apprise.NotifyType.FAILURE,
            Severity.WARNING: apprise.NotifyType.WARNING,
        }.get(alert.severity, apprise.NotifyType.INFO)
        with apprise.LogCapture(level=logging.WARNING) as logs:  # type: ignore[no-untyped-call]
            ok = plugin.notify(title=alert.title, body=alert.body, notify_type=kind)
        if ok:
            return None
        lines = [_STAMP.sub("", line).strip() for line in logs.getvalue().splitlines()]
        said = "; ".join(line for line in lines if line) or "the channel refused the alert"
        return redact_text(said)[:1000]
