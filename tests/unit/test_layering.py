"""`shared/` is the library every function image carries: it never imports from the
functions or from the local and deploy-time tooling (`tooling/`)."""

from __future__ import annotations

import ast
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"


def test_the_library_imports_neither_functions_nor_tooling() -> None:
    found: list[str] = []
    for path in sorted(SHARED.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            found += [
                f"{path.name}: {n}" for n in names if n.split(".")[0] in ("functions", "tooling")
            ]
    assert not found, found
