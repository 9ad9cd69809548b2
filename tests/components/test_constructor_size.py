"""Issue 20: component constructors stay a short sequence of named steps.

Every ``__init__`` in ``tenancy/components/*.py`` is measured with :mod:`ast` (first line of the
``def`` to its last line) and must be at most :data:`LIMIT` lines; the measuring function is
checked on a source string with a 70-line constructor (negative control).
"""

from __future__ import annotations

import ast
from pathlib import Path

COMPONENTS = Path(__file__).resolve().parents[2] / "tenancy" / "components"
LIMIT = 60


def long_constructors(source: str, filename: str = "<string>", limit: int = LIMIT) -> list[str]:
    """``file:Class.__init__ (N lines)`` for every ``__init__`` longer than ``limit`` lines."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == "__init__":
                assert item.end_lineno is not None
                lines = item.end_lineno - item.lineno + 1
                if lines > limit:
                    found.append(f"{filename}:{node.name}.__init__ ({lines} lines)")
    return found


def test_component_constructors_are_short() -> None:
    files = sorted(COMPONENTS.glob("*.py"))
    assert len(files) > 5, f"no component modules under {COMPONENTS}"
    too_long = [hit for f in files for hit in long_constructors(f.read_text(), f.name)]
    assert not too_long, f"constructors over {LIMIT} lines (split them into named steps): {too_long}"


def test_negative_control_a_70_line_constructor_is_caught() -> None:
    body = "".join(f"        self.a{i} = {i}\n" for i in range(69))
    source = (f"class Big:\n    def __init__(self) -> None:\n{body}\n\n"
              "class Small:\n    def __init__(self) -> None:\n        pass\n")
    assert long_constructors(source) == ["<string>:Big.__init__ (70 lines)"]
