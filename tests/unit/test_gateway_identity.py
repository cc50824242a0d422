"""A gateway's name in ``gateway_stats`` is unique per process start (issue 17 item 5): on
Kubernetes every replica is PID 1 on 0.0.0.0:8080, and replicas that shared a name would
overwrite each other's figures, so the monitor would miss one replica's errors."""

from __future__ import annotations

import socket

import pytest

from mlops.gateway import runner


def test_replicas_alike_in_host_port_and_pid_still_get_names_of_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner.os, "getpid", lambda: 1)
    names = {runner.gateway_identity("0.0.0.0", 8080) for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert name.startswith(f"{socket.gethostname()[:63]}:0.0.0.0:8080:1:")
        assert len(name) <= 200  # gateway_stats.gateway_id


def test_the_name_says_which_machine_or_pod_runs_the_gateway(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner.socket, "gethostname", lambda: "deployer-gateway-7d9f-abcde")
    assert runner.gateway_identity("::", 9000).startswith("deployer-gateway-7d9f-abcde::::9000:")
