"""Service-level rows in the state database: a model's objectives and a deployment's SLO state.

The rules (who may set objectives, what a value may be) are the use cases' and
``lifecycle.slo``'s; this module only reads and writes rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from database.models_slo import SloObjectivesRow, SloStateRow


class SloRepository:
    """``slo_objectives`` and ``slo_states``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def objectives(self, model_name: str) -> dict[str, Any] | None:
        """The model's overrides (None: it has none, the defaults hold)."""
        row = self.session.get(SloObjectivesRow, model_name)
        return dict(row.objectives) if row is not None else None

    def all_objectives(self) -> Sequence[SloObjectivesRow]:
        """Every model's overrides, by model."""
        return self.session.scalars(
            select(SloObjectivesRow).order_by(SloObjectivesRow.model_name)
        ).all()

    def set_objectives(
        self, model_name: str, overrides: dict[str, Any], actor: str, now: datetime
    ) -> None:
        """Stage the model's overrides (replacing any)."""
        row = self.session.get(SloObjectivesRow, model_name)
        if row is None:
            self.session.add(
                SloObjectivesRow(
                    model_name=model_name, objectives=overrides, updated_by=actor, updated_at=now
                )
            )
            return
        row.objectives, row.updated_by, row.updated_at = dict(overrides), actor, now

    def reset_objectives(self, model_name: str) -> bool:
        """Stage the removal of the model's overrides; whether it had any."""
        row = self.session.get(SloObjectivesRow, model_name)
        if row is None:
            return False
        self.session.delete(row)
        return True

    def states_of(self, model_name: str) -> Sequence[SloStateRow]:
        """The SLO states of a model's judged deployments, newest judgement first."""
        query = (
            select(SloStateRow)
            .where(SloStateRow.model_name == model_name)
            .order_by(SloStateRow.updated_at.desc(), SloStateRow.deployment_id)
        )
        return self.session.scalars(query).all()

    def state(self, deployment_id: str) -> SloStateRow | None:
        """A deployment's SLO state, or None before its first judgement."""
        return self.session.get(SloStateRow, deployment_id)

    def save_state(
        self,
        deployment_id: str,
        model_name: str,
        status: str,
        samples: list[dict[str, Any]],
        now: datetime,
    ) -> None:
        """Stage a deployment's SLO state after a judgement."""
        row = self.session.get(SloStateRow, deployment_id)
        if row is None:
            self.session.add(
                SloStateRow(
                    deployment_id=deployment_id,
                    model_name=model_name,
                    status=status,
                    samples={"samples": samples},
                    updated_at=now,
                )
            )
            return
        row.status, row.samples, row.updated_at = status, {"samples": samples}, now
