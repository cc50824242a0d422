"""The shape issue 12 asks the code to keep: small modules, thin graph nodes, typed graph state.

These are the "done when" rules a reader can check by eye; here they are checked on every run,
so a change that grows a module past a screenful or a node past a page fails in CI, with the
file and the size in the message.
"""

from __future__ import annotations

import ast
import dataclasses
import typing
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
MODULE_LINES = 400
NODE_LINES = 40
GRAPH = SRC / "agents" / "model_deployer"


def _sources() -> list[Path]:
    """Every module we write (Alembic's generated migrations aside)."""
    return sorted(p for p in SRC.rglob("*.py") if "versions" not in p.parts)


def _functions(path: Path) -> list[tuple[str, int]]:
    """(qualified name, lines) of every function and method in ``path``."""
    found = []
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = (item.end_lineno or item.lineno) - item.lineno + 1
                    found.append((f"{node.name}.{item.name}", lines))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append((node.name, (node.end_lineno or node.lineno) - node.lineno + 1))
    return found


def test_no_module_is_over_four_hundred_lines() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in _sources()
        if (n := len(p.read_text().splitlines())) > MODULE_LINES
    }
    assert not long, f"modules over {MODULE_LINES} lines: {long}"


def test_no_graph_node_function_is_over_forty_lines() -> None:
    long = {
        f"{p.name}:{name}": lines
        for p in sorted(GRAPH.glob("*.py"))
        for name, lines in _functions(p)
        if lines > NODE_LINES
    }
    assert not long, f"functions of the graph over {NODE_LINES} lines: {long}"


@pytest.mark.parametrize("part", ["plan", "rollback", "monitor"])
def test_the_graph_states_plan_rollback_and_monitor_parts_are_typed_models(part: str) -> None:
    from agents.model_deployer.state import State

    fields = {f.name for f in dataclasses.fields(State)}
    assert part in fields
    hint = typing.get_type_hints(State)[part]
    shown = repr(hint)
    assert "dict" not in shown and "Any" not in shown, f"State.{part} is {shown}"
    models = [a for a in typing.get_args(hint) if a is not type(None)]
    assert models, f"State.{part} names no model: {shown}"
    for model in models:
        for member in typing.get_args(model) or (model,):
            member = typing.get_args(member)[0] if typing.get_origin(member) else member
            assert hasattr(member, "model_validate"), f"State.{part}: {member!r} is no model"
