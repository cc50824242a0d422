"""What people typed is shown as they typed it: rich markup in user text is never read as markup."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from rich.console import Console

from agents.entrypoints.cli import agent as cli_agent
from agents.entrypoints.cli import output as cli_output
from agents.entrypoints.cli import render as cli_render
from lifecycle.errors import BadInputError

MARKUP = "[/] [bold red]x[/bold red] [link=http://e]y[/link]"
AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def printed(monkeypatch: pytest.MonkeyPatch, module: Any, show: Callable[[], None]) -> str:
    out = io.StringIO()
    monkeypatch.setattr(module, "console", Console(file=out, width=400, color_system=None))
    show()
    return out.getvalue()


def test_an_approvals_reason_and_requester_are_shown_literally(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    row = {
        "approval_id": "apr-1",
        "model_name": "churn",
        "version": "2",
        "target_stage": "production",
        "requested_by": "eve[i]",
        "requested_at": AT,
        "state": "approved",
        "approver": "[b]bob",
        "reason": MARKUP,
        "metrics": [{"metric": "acc[u]", "value": 0.9, "source": "caller"}],
    }
    text = printed(monkeypatch, cli_render, lambda: cli_render.render_approvals([row]))
    for typed in (MARKUP, "eve[i]", "approved by [b]bob", "acc[u]=0.9"):
        assert typed in text


def test_a_runs_verdicts_requester_and_errors_are_shown_literally(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waiting = {
        "status": "awaiting_approval",
        "verdicts": [{"gate": "metric:[x]", "status": "passed", "message": MARKUP}],
        "waiting_for": {
            "approval_id": "apr-1",
            "model_name": "churn",
            "version": "2",
            "target_stage": "production",
            "requested_by": "eve[i]",
        },
        "thread_id": "t[1]",
    }
    rejected = {"status": "rejected", "errors": [MARKUP], "thread_id": "t"}
    text = printed(monkeypatch, cli_render, lambda: cli_render.render_run(waiting))
    text += printed(monkeypatch, cli_render, lambda: cli_render.render_run(rejected))
    for typed in (f"metric:[x]: {MARKUP}", "requested by eve[i]", "thread t[1]", MARKUP):
        assert typed in text


def test_a_history_title_and_a_status_home_are_shown_literally(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    history = {
        "model_name": "m[x]",
        "events": [{"at": AT, "kind": "stage", "summary": MARKUP}],
        "advice": {"rollback_preset": "balanced", "reason": MARKUP},
    }
    status = {"initialized": False, "home": "/tmp/[bold]home"}
    text = printed(monkeypatch, cli_render, lambda: cli_render.render_history(history))
    text += printed(monkeypatch, cli_render, lambda: cli_render.render_status(status))
    for typed in ("history of m[x]", MARKUP, "/tmp/[bold]home is not initialised"):
        assert typed in text


def test_an_error_is_one_literal_line_without_a_uris_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(cli_output, "err_console", Console(file=out, width=400, color_system=None))
    error = BadInputError(f"bad [/] reason {MARKUP} at postgresql://app:s3cret@db/x")
    with pytest.raises(SystemExit) as exited:
        cli_output.fail(error)
    assert exited.value.code == 2
    assert out.getvalue() == f"error: bad [/] reason {MARKUP} at postgresql://app:***@db/x\n"


def test_a_watch_line_shows_a_message_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    tick = {
        "status": "ticked",
        "holder": "h",
        "checks": [
            {
                "deployment_id": "d[1]",
                "action": "rollback",
                "status": "failed",
                "message": MARKUP,
                "outcome": None,
            }
        ],
    }
    text = printed(monkeypatch, cli_agent, lambda: cli_agent._render_tick(tick, {}))
    assert f"d[1] rollback (failed): {MARKUP}" in text
