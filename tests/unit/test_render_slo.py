"""How `deployer checks` shows an SLO judgement's figures."""

from __future__ import annotations

from agents.entrypoints.cli.render import figures_text


def test_deployer_checks_shows_an_slo_check_s_window_figures() -> None:
    window = {"requests": 1204, "errors": 3, "error_rate": 0.0025, "p95_ms": 12.4}
    assert figures_text({"slo": {"window": window}}) == "1,204 req, 0.2% err, p95 12 ms"
    assert figures_text({"slo": {"window": {"requests": 0}}}) == "no requests"
