"""The domain stays pure: no infrastructure or I/O library is imported under src/lifecycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIFECYCLE = Path(__file__).resolve().parents[2] / "src" / "lifecycle"
FORBIDDEN = {
    "sqlalchemy",
    "mlflow",
    "bentoml",
    "langgraph",
    "httpx",
    "aiohttp",
    "requests",
    "fastapi",
    "uvicorn",
    "psycopg",
    "sqlite3",
    "subprocess",
    "socket",
    "os",
    "shutil",
    "urllib",
    "http",
    "database",
    "mlops",
    "memory",
    "agents",
    "typer",
    "rich",
    "psutil",
}


@pytest.mark.parametrize("module", sorted(LIFECYCLE.glob("*.py")), ids=lambda p: p.name)
def test_the_domain_imports_no_io_library(module: Path) -> None:
    tree = ast.parse(module.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN, f"{module.name} imports {sorted(imported & FORBIDDEN)}"


def test_the_purity_check_sees_the_whole_domain() -> None:
    assert len(list(LIFECYCLE.glob("*.py"))) >= 8
