"""Tables added for issue 13's safety invariants: per-model locks and the watcher's audit checks.

They use the same ``Base`` as ``database.models`` (so one metadata holds every table);
``database/__init__.py`` imports this module, so any use of the package maps them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DDL, Boolean, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from database.models import AuditEventRow, AuditHeadRow, Base


class ModelLockRow(Base):
    """``model_locks``: one actor per model. The operation changing a model's deployments or
    routes holds its row until it releases it or the row expires (times are the database's);
    ``token`` grows by one with every acquisition, so a late holder can tell it lost the lock."""

    __tablename__ = "model_locks"

    model_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    token: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()


class AuditCheckRow(Base):
    """``audit_checks``: each scheduled verification of the audit chain by ``deployer watch``,
    so ``deployer status`` can show the last one (and a break is on record, not only logged)."""

    __tablename__ = "audit_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    checked_at: Mapped[datetime] = mapped_column()
    checked_by: Mapped[str] = mapped_column(String(200))
    ok: Mapped[bool] = mapped_column(Boolean)
    checked: Mapped[int] = mapped_column(Integer)
    first_bad_id: Mapped[int | None] = mapped_column(Integer)
    problem: Mapped[str] = mapped_column(Text, default="")


def _on_create(table: Any, statement: str, dialect: str) -> None:
    """Run ``statement`` after ``table`` is created on ``dialect`` (``%`` must be doubled:
    DDL formats the statement with the table's names)."""
    ddl = DDL(statement)  # type: ignore[no-untyped-call]
    event.listen(table, "after_create", ddl.execute_if(dialect=dialect))


def _append_only_ddl() -> None:
    """The triggers migration 0008 creates, for schemas made by ``create_all`` (tests' fakes)."""
    events, head = AuditEventRow.__table__, AuditHeadRow.__table__
    for verb in ("UPDATE", "DELETE"):
        _on_create(
            events,
            f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
            f"BEGIN SELECT RAISE(ABORT, 'audit events are append-only: {verb} refused'); END",
            "sqlite",
        )
    _on_create(
        events,
        "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$ BEGIN "
        "RAISE EXCEPTION 'audit events are append-only: %% refused', TG_OP; END; $$ "
        "LANGUAGE plpgsql",
        "postgresql",
    )
    _on_create(
        events,
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
        "postgresql",
    )
    _on_create(
        head,
        "CREATE TRIGGER audit_head_keyed_from_fixed BEFORE UPDATE OF keyed_from ON "
        "audit_head WHEN NEW.keyed_from <> OLD.keyed_from "
        "BEGIN SELECT RAISE(ABORT, 'audit_head.keyed_from never changes'); END",
        "sqlite",
    )


_append_only_ddl()
