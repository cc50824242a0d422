"""The import graph of ``src`` has the shape DESIGN.md section 2 draws, and no circle.

Every import counts: module level, inside functions (lazy imports for start-up time) and under
``TYPE_CHECKING`` (a circle of annotations is still a circle a reader must untangle). An import
``a.b.c`` is an edge to the most specific module of ``src`` it names (``from a.b import c``
points at ``a.b.c`` when that is a module); the parent packages it initialises on the way are not
counted, as import-linter and grimp do not count them either.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
TOP = ("agents", "mlops", "database", "memory", "lifecycle")
LOWER = {
    # package: the packages of this project it may import
    "lifecycle": set(),
    "mlops": {"lifecycle"},
    "database": {"lifecycle"},
    "memory": {"lifecycle"},
    "agents": {"mlops", "database", "memory", "lifecycle"},
}
BOOTSTRAP_IMPORTERS = ("agents.entrypoints", "agents.model_deployer.studio")
"""Only entry points wire adapters (and the LangGraph Studio entry point, studio.py)."""


@dataclass(frozen=True)
class Import:
    """One import statement's edge: ``importer`` (at ``path:line``) imports ``target``."""

    importer: str
    target: str
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path.relative_to(SRC.parent)}:{self.line}: {self.importer} -> {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of ``src`` by dotted name (generated migrations aside: Alembic loads them)."""
    found = {}
    for path in SRC.rglob("*.py"):
        if "migrations" not in path.parts:
            found[_module_name(path)] = path
    return found


def _resolve(name: str) -> str | None:
    """The most specific module of ``src`` that ``name`` (a dotted path) lies in, if any."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules():
            return candidate
        parts.pop()
    return None


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _targets(module: str, path: Path, node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
    elif isinstance(node, ast.ImportFrom):
        source = _absolute(module, node, path.name == "__init__.py")
        for alias in node.names:
            yield f"{source}.{alias.name}"


@cache
def imports() -> tuple[Import, ...]:
    """Every import between modules of ``src``, wherever in a module it is written."""
    edges = []
    for module, path in sorted(modules().items()):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for name in _targets(module, path, node):
                target = _resolve(name)
                if target is not None and target != module:
                    edges.append(Import(module, target, path, node.lineno))  # type: ignore[attr-defined]
    return tuple(edges)


def _within(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _report(rule: str, offenders: Iterable[Import]) -> str:
    return rule + ":\n  " + "\n  ".join(str(i) for i in offenders)


def _cycle() -> list[Import] | None:
    """One circle of imports (as its edges), or None."""
    graph: dict[str, list[Import]] = {}
    for edge in imports():
        graph.setdefault(edge.importer, []).append(edge)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[Import] = []

    def visit(module: str) -> list[Import] | None:
        state[module] = 1
        for edge in graph.get(module, []):
            if state.get(edge.target) == 1:
                start = next(i for i, e in enumerate(path) if e.importer == edge.target)
                return [*path[start:], edge] if path else [edge]
            if edge.target not in state:
                path.append(edge)
                found = visit(edge.target)
                if found:
                    return found
                path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            found = visit(module)
            if found:
                return found
    return None


def test_the_graph_sees_the_imports_it_should() -> None:
    names = {(i.importer, i.target) for i in imports()}
    assert ("agents.entrypoints.cli.app", "agents.entrypoints.cli.agent") in names
    assert ("agents.bootstrap", "mlops.serving_local") in names  # inside a function
    assert ("agents.ports", "agents.settings") in names  # under TYPE_CHECKING


def test_no_module_of_src_imports_itself_through_a_circle() -> None:
    cycle = _cycle()
    assert cycle is None, _report("import circle", cycle or [])


def test_packages_import_only_downwards() -> None:
    """``agents -> (mlops, database, memory) -> lifecycle``, and none of the three another."""
    wrong = [
        i
        for i in imports()
        if i.importer.split(".")[0] in LOWER
        and i.target.split(".")[0] != i.importer.split(".")[0]
        and i.target.split(".")[0] not in LOWER[i.importer.split(".")[0]]
    ]
    assert not wrong, _report("import against the package direction", wrong)


def test_nothing_below_the_entry_points_imports_them() -> None:
    wrong = [
        i
        for i in imports()
        if _within(i.target, "agents.entrypoints") and not _within(i.importer, "agents.entrypoints")
    ]
    assert not wrong, _report("import of an entry point from below the entry points", wrong)


def test_only_entry_points_import_the_wiring() -> None:
    wrong = [
        i
        for i in imports()
        if i.target == "agents.bootstrap" and not _within(i.importer, *BOOTSTRAP_IMPORTERS)
    ]
    assert not wrong, _report("import of agents.bootstrap outside the entry points", wrong)


@cache
def _imports_typer(module: str) -> bool:
    tree = ast.parse(modules()[module].read_text())
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        if any(n == "typer" or n.startswith("typer.") for n in names):
            return True
    return False


def test_the_http_api_reaches_no_command_line_module() -> None:
    """Not directly, and not through anything it imports."""
    graph: dict[str, list[Import]] = {}
    for edge in imports():
        graph.setdefault(edge.importer, []).append(edge)
    api = [m for m in modules() if _within(m, "agents.entrypoints.api")]
    direct = [m for m in api if _imports_typer(m)]
    assert not direct, f"the HTTP API imports typer in {direct}"
    wrong = []
    for start in api:
        seen, todo = {start}, [start]
        while todo:
            for edge in graph.get(todo.pop(), []):
                if _imports_typer(edge.target) or _within(edge.target, "agents.entrypoints.cli"):
                    wrong.append(edge)
                elif edge.target not in seen:
                    seen.add(edge.target)
                    todo.append(edge.target)
    assert not wrong, _report("the HTTP API reaches a Typer module", sorted(set(wrong), key=str))
