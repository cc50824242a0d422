"""The ``Notifier`` port: the Apprise adapter and the fake pass the same tests, against a real
local webhook receiver and a real SMTP server (tests/alert_receivers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lifecycle.alerts import Alert, Notifier, Severity
from lifecycle.errors import BadInputError
from mlops.notify_apprise import AppriseNotifier
from tests.alert_fakes import FakeNotifier
from tests.alert_receivers import Inbox, closed_port_url, smtp_receiver, webhook_receiver

ALERT = Alert(
    "slo_breach",
    "slo",
    Severity.CRITICAL,
    "iris v2 breaches p95: 80 ms > 50 ms",
    "iris",
    "2",
    "dep-1",
    "deployer rollback iris",
)


@pytest.fixture(params=["apprise", "fake"])
def notifier(request: pytest.FixtureRequest) -> Notifier:
    return AppriseNotifier(timeout=3.0) if request.param == "apprise" else FakeNotifier()


@pytest.fixture(scope="module")
def webhook() -> Iterator[Inbox]:
    with webhook_receiver() as inbox:
        yield inbox


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Inbox]:
    with smtp_receiver() as inbox:
        yield inbox


def arrived(notifier: Notifier, inbox: Inbox, before: int) -> list[str]:
    """The texts that reached ``inbox`` through ``notifier`` since ``before`` messages."""
    if isinstance(notifier, FakeNotifier):
        return [f"{a.title}\n{a.body}" for a in notifier.to(inbox.url)]
    got = inbox.wait_for(before + 1)[before:]
    return [
        f"{m.get('title', m.get('subject', ''))}\n{m.get('message', m.get('body', ''))}"
        for m in got
    ]


def test_an_alert_reaches_a_webhook(notifier: Notifier, webhook: Inbox) -> None:
    before = len(webhook.received)
    assert notifier.send(webhook.url, ALERT) is None
    [text] = arrived(notifier, webhook, before)
    assert "[critical] slo_breach iris v2" in text
    assert ALERT.summary in text and "act: deployer rollback iris" in text


def test_an_alert_reaches_a_mailbox(notifier: Notifier, mailbox: Inbox) -> None:
    before = len(mailbox.received)
    assert notifier.send(mailbox.url, ALERT) is None
    [text] = arrived(notifier, mailbox, before)
    assert "slo_breach iris v2" in text and ALERT.summary in text


def test_a_dead_channel_is_an_error_not_an_exception(notifier: Notifier) -> None:
    error = notifier.send(closed_port_url(), ALERT)
    assert error and "\n" not in error


def test_an_error_never_shows_the_channel_password(notifier: Notifier) -> None:
    url = closed_port_url().replace("json://", "json://ops:s3cret-pw@")
    error = notifier.send(url, ALERT)
    assert error and "s3cret-pw" not in error


def test_an_unknown_scheme_is_refused_as_bad_input(notifier: Notifier) -> None:
    with pytest.raises(BadInputError):
        notifier.check("nosuchservice://host/path")
    notifier.check("json://127.0.0.1:9/hook")
    assert notifier.send("nosuchservice://host/path", ALERT)
