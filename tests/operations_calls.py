"""Positional shorthands for ``operations.execute`` in tests: each builds the typed command
the CLI would and carries it out as the CLI does (through the supervisor, source ``cli``)."""

from __future__ import annotations

from typing import Any

from agents.commands import Promote, Rollback
from agents.handlers import operations
from agents.ports import Services


def promote(
    c: Services,
    model: str,
    version: str,
    stage: str,
    actor: str,
    reason: str = "",
    thread_id: str | None = None,
) -> dict[str, Any]:
    """``deployer promote MODEL VERSION --to STAGE`` as ``actor``."""
    asked = {"model_name": model, "version": version, "target_stage": stage}
    command = Promote.model_validate({**asked, "reason": reason or None, "thread_id": thread_id})
    return operations.execute(c, command, actor, "cli")


def rollback(c: Services, model: str, actor: str, reason: str = "") -> dict[str, Any]:
    """``deployer rollback MODEL`` as ``actor``."""
    command = Rollback(model_name=model, reason=reason or None)
    return operations.execute(c, command, actor, "cli")
