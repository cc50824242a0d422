"""The local command line starts without the libraries only some commands need: a fresh
interpreter that imports the whole ``deployer`` app (every command registered) holds no
LangGraph, no agent graph, no scipy, no MLflow and no BentoML. Each command imports what it
runs when it runs (``deployer deploy`` loads the graph; ``deployer status`` does not), so a
read answers in about half the time (README "Command line"; about 3.3 s of CPU before, 1.5 s
after, on this machine)."""

from __future__ import annotations

from tests.unit.test_gateway_entrypoint import loaded_by

LATER = {"langgraph", "langchain_core", "langsmith", "scipy", "mlflow", "bentoml", "sklearn"}


def test_the_local_app_loads_no_graph_scipy_mlflow_or_bentoml_until_a_command_needs_them() -> None:
    loaded = loaded_by("agents.entrypoints.cli.app")
    # it loads what every command shares (and so the check sees what is loaded)
    assert {"agents.bootstrap", "typer", "sqlalchemy", "agents.entrypoints.cli.drift"} <= loaded
    tops = {name.split(".")[0] for name in loaded}
    assert tops.isdisjoint(LATER), sorted(tops & LATER)
    assert "agents.model_deployer.agent" not in loaded
    assert "memory.stores" not in loaded


def test_the_packages_still_give_every_name_they_list() -> None:
    import agents.model_deployer
    import memory

    for package in (agents.model_deployer, memory):
        for name in package.__all__:
            assert getattr(package, name) is not None, (package.__name__, name)
