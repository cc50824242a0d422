"""The chat's retraining request: "retrain iris", "please retrain the iris model because
petal length drifted". ``retrain_request`` reads it (None: not one); ``answer_retrain`` runs it
as ``deployer retrain NAME --reason ...`` does, for the chat's actor, and says what came of it."""

from __future__ import annotations

import re
from typing import Any

from agents.handlers.retraining import retrain
from agents.ports import Services
from lifecycle.errors import ModelDeployerError

_RETRAIN = re.compile(
    r"^\s*(?:please\s+)?retrain\s+(?:the\s+)?(?:model\s+)?((?:[a-z][a-z0-9-]*/)?[A-Za-z][A-Za-z0-9_.\-]{0,99}?)"
    r"(?:\s+model)?(?:\s*(?:because|:|,|--reason)\s*(.+?))?\s*[.!]?\s*$",
    re.I,
)


def retrain_request(text: str) -> tuple[str, str] | None:
    """``(model, reason)`` of a retraining request, or None."""
    if len(text) > 1000:
        return None
    match = _RETRAIN.match(text)
    return (match.group(1), (match.group(2) or "").strip()) if match else None


def answer_retrain(c: Services, model: str, reason: str, actor: str) -> dict[str, Any]:
    """``ChatAnswer`` fields of a retraining the chat asked for."""
    asked = {"kind": "retrain", "model_name": model, "reason": reason}
    try:
        result = retrain(c, model, actor, reason or "asked in the chat")
    except ModelDeployerError as exc:
        said = f"I did not do that: {exc}"
        return {
            "reply": said,
            "request": asked,
            "exit_code": exc.exit_code,
            "error": type(exc).__name__,
        }
    return {"reply": sentence(model, result), "request": asked, "result": result}


def sentence(model: str, r: dict[str, Any]) -> str:
    status, version = r["status"], r.get("new_version")
    if status == "handed_over":
        steps = ", ".join(
            f"{f['request'].get('target_stage') or 'shadow deploy'} {f['status']}"
            for f in r.get("followed") or []
        )
        return f"Retrained {model}: v{version} beats or matches production and went on ({steps})."
    if status == "not_better":
        return (
            f"Retrained {model}: v{version} is not better than production; it stays in development."
        )
    why = "; ".join(r.get("errors") or []) or "see deployer retraining runs"
    return f"Retraining {model} {status}: {why}."
