"""Questions the chat answers from the read models, beside the parser's commands: "is
fraud_detector drifting?" (``agents.queries.drift``; nothing is written).

Each question is one regular expression matched whole (case-insensitive, trailing ``?``
optional), so it never swallows a command the parser reads.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from agents.queries.drift import drift_report
from lifecycle.errors import ModelDeployerError

if TYPE_CHECKING:
    from agents.bootstrap import Container

DRIFTING = re.compile(
    r"^\s*(?:please\s+)?(?:is|are)\s+(?:the\s+)?(?:model\s+)?(?P<model>(?:[a-z][a-z0-9-]*/)?[A-Za-z0-9][\w.-]*)"
    r"\s+(?:model\s+)?(?:drifting|drifted)\s*\??\s*$",
    re.IGNORECASE,
)
WINDOW_SECONDS = 3600.0
"""The chat judges the last hour, as ``deployer drift`` does by default."""


def drift_model(text: str) -> str | None:
    """The model a "is NAME drifting?" question asks about, or None for anything else."""
    found = DRIFTING.match(text or "")
    return found.group("model") if found else None


def answer_drift(c: Container, model_name: str) -> dict[str, Any]:
    """The last hour's drift check of the model's serving version, as ``ChatAnswer`` fields
    (an error is an answer too)."""
    asked = {"kind": "drift", "model_name": model_name, "window_seconds": WINDOW_SECONDS}
    try:
        report = drift_report(c, model_name, WINDOW_SECONDS)
    except ModelDeployerError as exc:
        reply = f"I cannot tell: {exc}"
        return {
            "reply": reply,
            "request": asked,
            "exit_code": exc.exit_code,
            "error": type(exc).__name__,
        }
    return {"reply": sentence(report), "request": asked, "result": report}


def sentence(report: dict[str, object]) -> str:
    """The verdict as the chat says it."""
    who = f"{report['model_name']} v{report['version']}"
    rows = f"{report['current_rows']} captured rows in the last hour"
    if report["verdict"] == "drift":
        return f"Yes: {who} is drifting ({report['summary']}; {rows})."
    if report["verdict"] == "no_drift":
        return f"No: {who} shows no drift ({rows} against its reference)."
    return f"I cannot tell yet for {who}: {report['summary']} ({rows})."
