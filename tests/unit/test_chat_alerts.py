"""The chat's alert question: which sentences ask it, and the window each one means."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agents.entrypoints.chat.alerts_chat import alert_window

NOW = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)
MIDNIGHT = datetime(2026, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "start", "said"),
    [
        ("what alerts fired today?", MIDNIGHT, "today"),
        ("What ALERTS fired", MIDNIGHT, "today"),
        ("any alerts in the last 2 hours?", NOW - timedelta(hours=2), "in the last 2 hours"),
        ("alerts in the past hour", NOW - timedelta(hours=1), "in the last hour"),
        (
            "show alerts from the last 30 minutes",
            NOW - timedelta(minutes=30),
            "in the last 30 minutes",
        ),
        ("which alerts fired this week", NOW - timedelta(days=7), "in the last 7 days"),
        ("did any alert fire yesterday?", MIDNIGHT - timedelta(days=1), "since yesterday"),
    ],
)
def test_an_alert_question_reads_its_window(text: str, start: datetime, said: str) -> None:
    assert alert_window(text, NOW) == (start, said)


@pytest.mark.parametrize(
    "text",
    [
        "status of iris",
        "rollback iris because errors spiked",
        "alerts add json://x",
        "deployer alerts remove 3",
        "what is running",
        "alert " * 100,
    ],
)
def test_other_sentences_are_not_alert_questions(text: str) -> None:
    assert alert_window(text, NOW) is None
