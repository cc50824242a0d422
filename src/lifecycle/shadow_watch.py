"""A running shadow judged on more than agreement (issue 15): each tick, the deployer's
observe judgement of a shadow also runs the promotion's shadow latency and error gates
(``lifecycle.comparing_gates``) and keeps their verdicts with its figures; the monitor agent
reads them back and alerts while a shadow fails one, so a slow or erroring candidate is known
before anyone asks to promote it. The gates never stop a shadow (users never see it), nor
change the observe judgement: they are what a promotion would say now. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from lifecycle.comparing_gates import shadow_error_gate, shadow_latency_gate
from lifecycle.gates import PromotionPolicy, Verdict, VerdictStatus
from lifecycle.metrics import ShadowStats

FIGURES_KEY = "promotion_gates"
"""Where an observe judgement's figures keep the shadow gates' verdicts."""


class ShadowEvidence(BaseModel):
    """A live shadow deployment and the promotion gates its last judgement failed."""

    model_config = ConfigDict(frozen=True)

    deployment_id: str
    version: str
    failed: tuple[str, ...] = ()
    """The failed gates' sentences (none: it would pass, or too few mirrored requests)."""


def shadow_gates(
    stats: ShadowStats, policy: PromotionPolicy, error_threshold: float
) -> list[Verdict]:
    """The shadow's latency and error gates as a promotion would judge them now."""
    needed = policy.min_shadow_comparisons
    return [
        shadow_latency_gate(
            stats, policy.shadow_latency_ratio, policy.shadow_latency_slack_ms, needed
        ),
        shadow_error_gate(stats, error_threshold, needed),
    ]


def gate_figures(verdicts: Iterable[Verdict]) -> list[dict[str, str]]:
    """The verdicts as a judgement's figures keep them."""
    return [{"gate": v.gate, "status": v.status.value, "message": v.message} for v in verdicts]


def failed_gates(figures: Mapping[str, Any]) -> tuple[str, ...]:
    """The failed gates' sentences kept in a judgement's ``figures`` (anything malformed, or
    an older judgement without them, fails nothing)."""
    kept = figures.get(FIGURES_KEY)
    if not isinstance(kept, list):
        return ()
    return tuple(
        str(item.get("message") or item.get("gate") or "a shadow gate failed")
        for item in kept
        if isinstance(item, Mapping) and item.get("status") == VerdictStatus.FAILED.value
    )


def shadow_problems(shadows: Sequence[ShadowEvidence]) -> tuple[list[str], list[str]]:
    """The monitor's alert reasons and topics for the shadows that fail a gate."""
    reasons, topics = [], []
    for shadow in shadows:
        if shadow.failed:
            why = "; ".join(shadow.failed)
            reasons.append(
                f"shadow {shadow.deployment_id} (v{shadow.version}) would not be promoted: {why}"
            )
            topics.append(f"shadow:{shadow.deployment_id}")
    return reasons, topics
