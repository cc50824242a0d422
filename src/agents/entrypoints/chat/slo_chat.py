"""The chat's words for service-level objectives, read before the main grammar::

    set  = "set" ["the"] objective ["objective" | "slo" | "target"] ("of" | "for") model
           "to" N ["ms" | "%"]
    show = ("what are" | "show") model "'s" ("objectives" | "slo" | "slos")
         | ("what are" | "show") "the" ("objectives" | "slos") ("of" | "for") model
    objective = "p95" | "p99" | "error rate" | "error-rate" | "latency factor"

"set the p95 objective of iris to 40 ms" and "what are iris's objectives" become the typed
``SetObjectives`` / ``ShowObjectives`` and run the use cases ``deployer slo`` runs
(``agents.handlers.slo``): deployers only for a change, one line for a refusal.
"""

from __future__ import annotations

import re
from typing import Any

from agents.commands import SetObjectives, ShowObjectives
from agents.handlers import slo
from agents.ports import Services

_NAME = r"([A-Za-z0-9][A-Za-z0-9_.\-]*)"
_SET = re.compile(
    r"^(?:please\s+)?set\s+(?:the\s+)?(p95|p99|error[ -]rate|latency factor)\s+"
    r"(?:(?:objective|slo|target)\s+)?(?:of|for)\s+" + _NAME + r"\s+to\s+"
    r"([0-9]+(?:\.[0-9]+)?)\s*(ms|%)?$",
    re.IGNORECASE,
)
_SHOW = [
    re.compile(
        r"^(?:what are|show)\s+"
        + _NAME
        + r"(?:'s|\N{RIGHT SINGLE QUOTATION MARK}s)\s+(?:objectives|slos?)$",
        re.I,
    ),
    re.compile(
        r"^(?:what are|show)\s+the\s+(?:objectives|slos?)\s+(?:of|for)\s+" + _NAME + "$", re.I
    ),
]
_FIELDS = {
    "p95": "p95_ms",
    "p99": "p99_ms",
    "error rate": "error_rate",
    "error-rate": "error_rate",
    "latency factor": "latency_factor",
}

SloRequest = SetObjectives | ShowObjectives


def parse(text: str) -> SloRequest | None:
    """The objectives request ``text`` asks for, or None when it asks for something else."""
    said = " ".join(text.strip().rstrip(".?!").split())
    found = _SET.match(said)
    if found is not None:
        word, model, number, unit = found.groups()
        value = float(number) / (100 if unit == "%" else 1)
        return SetObjectives(model_name=model, changes={_FIELDS[word.lower()]: value})
    for pattern in _SHOW:
        shown = pattern.match(said)
        if shown is not None:
            return ShowObjectives(model_name=shown.group(1))
    return None


def carry_out(c: Services, request: SloRequest, actor: str) -> tuple[dict[str, Any], str]:
    """Run the request's use case; the result and a sentence."""
    if isinstance(request, SetObjectives):
        out = slo.set_objectives(c, actor, request.model_name, request.changes)
        return out, f"Done: {request.model_name} is now held to {_sentence(out['objectives'])}."
    out = slo.show(c, request.model_name)
    return out, f"{request.model_name} is held to {_sentence(out['objectives'])}."


def _sentence(goals: dict[str, Any]) -> str:
    parts = []
    if goals.get("error_rate") is not None:
        parts.append(f"an error rate of at most {goals['error_rate']:.2%}")
    for key in ("p95_ms", "p99_ms"):
        if goals.get(key) is not None:
            parts.append(f"a {key[:3]} of at most {goals[key]:g} ms")
    if goals.get("latency_factor") is not None:
        parts.append(f"p95/p99 within {goals['latency_factor']:g}x their baseline")
    parts.append(f"judged on {goals['min_requests']} requests at least")
    return ", ".join(parts)
