"""Wire names are spelled once: in :mod:`tenancy.spec.wire`, nowhere else in the package.

The scan reads every module's syntax tree and reports each string literal equal to one of the wire
names (docstrings aside: they may name a key in prose). A negative control plants a literal in a
temporary module and checks that the scan finds it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tenancy
from tenancy.spec import wire

PACKAGE = Path(tenancy.__file__).parent
WIRE_MODULE = Path(wire.__file__).resolve()
NAMES: dict[str, str] = {v: k for k, v in vars(wire).items() if k.isupper() and isinstance(v, str)}


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def spelled(path: Path) -> list[str]:
    """``path:line: literal`` for each string literal in ``path`` that is a wire name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    hits = [(node.lineno, f"{path}:{node.lineno}: {node.value!r} (use tenancy.spec.wire.{NAMES[node.value]})")
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
            and node.value in NAMES]
    return [text for _, text in sorted(hits)]


def scan(root: Path) -> list[str]:
    return [hit for path in sorted(root.rglob("*.py")) if path.resolve() != WIRE_MODULE for hit in spelled(path)]


def test_wire_names_are_distinct_and_documented():
    public = [k for k, v in vars(wire).items() if k.isupper() and isinstance(v, str)]
    assert len(NAMES) == len(public), "two wire constants share one value"
    source = WIRE_MODULE.read_text(encoding="utf-8")
    tree = ast.parse(source)
    body = tree.body
    for i, stmt in enumerate(body):
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id.isupper():
            doc = body[i + 1] if i + 1 < len(body) else None
            assert isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant), stmt.targets[0].id


def test_wire_names_are_spelled_only_in_the_wire_module():
    assert scan(PACKAGE) == []


def test_the_scan_finds_a_planted_literal(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text('"""Docstrings may say tenancy/pool."""\n\nLABELS = {"tenancy/pool": "system"}\n'
                       'TAINT = "CriticalAddonsOnly"\n', encoding="utf-8")
    hits = scan(tmp_path)
    assert len(hits) == 2
    assert "'tenancy/pool'" in hits[0] and "POOL_LABEL" in hits[0]
    assert "SYSTEM_TAINT_KEY" in hits[1]
