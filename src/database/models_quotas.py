"""Issue 19's per-tenant quotas: one row per tenant that has one (``lifecycle.quotas.Quota``).

Same ``Base`` as ``database.models``; imported at the end of ``models.py``. A tenant without a
row has no limit; a NULL figure is unlimited.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from database.base import Base
from lifecycle.quotas import Quota
from lifecycle.records import utcnow


class TenantQuotaRow(Base):
    """``tenant_quotas``: a tenant's limits, who set them and when. The row is also the
    tenant's deploy lock: the deploy that writes a deployment row reads it ``FOR UPDATE``, so
    two deploys of one tenant judge its usage one after the other."""

    __tablename__ = "tenant_quotas"

    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    max_deployments: Mapped[int | None] = mapped_column(BigInteger)
    max_replicas: Mapped[int | None] = mapped_column(BigInteger)
    max_cpu: Mapped[str | None] = mapped_column(String(20))
    """CPUs as canonical text (``4``, ``0.5``), as ``ml_deployments.cpu_limit``."""
    max_memory: Mapped[str | None] = mapped_column(String(20))
    """Memory as canonical text (``8Gi``), as ``ml_deployments.memory_limit``."""
    max_capture_rows: Mapped[int | None] = mapped_column(BigInteger)
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)

    def quota(self) -> Quota:
        """The limits as the pure decision takes them."""
        return Quota.from_columns(
            self.max_deployments,
            self.max_replicas,
            self.max_cpu,
            self.max_memory,
            self.max_capture_rows,
        )
