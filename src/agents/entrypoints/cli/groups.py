"""The ``deployer`` command groups (``deployer NAME ...``), each a Typer app of its own module;
``cli/app.py`` adds every one. A new group is one line here."""

from __future__ import annotations

import typer

from agents.entrypoints.cli import access as cli_access
from agents.entrypoints.cli import alerts as cli_alerts
from agents.entrypoints.cli import audit as cli_audit
from agents.entrypoints.cli import capture as cli_capture
from agents.entrypoints.cli import feedback as cli_feedback
from agents.entrypoints.cli import k8s as cli_k8s
from agents.entrypoints.cli import quotas as cli_quotas
from agents.entrypoints.cli import retraining as cli_retraining
from agents.entrypoints.cli import slo as cli_slo
from agents.entrypoints.cli import tenant as cli_tenant
from agents.entrypoints.cli import traffic as cli_traffic

GROUPS: tuple[tuple[str, typer.Typer], ...] = (
    ("audit", cli_audit.app),
    ("access", cli_access.app),
    ("feedback", cli_feedback.app),
    ("alerts", cli_alerts.app),
    ("capture", cli_capture.app),
    ("slo", cli_slo.app),
    ("retraining", cli_retraining.app),
    ("traffic", cli_traffic.app),
    ("k8s", cli_k8s.app),
    ("quota", cli_quotas.app),
    ("tenant", cli_tenant.app),
)
