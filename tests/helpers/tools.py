"""Where the independent analysers live.

They are installed by `make tools` into `.tools/` (their pinned dependencies can't share the
project's venv). A missing tool is a failure, not a skip: a check that silently doesn't run
proves nothing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    candidates = []
    if os.environ.get("TENANCY_TOOLS"):
        candidates.append(Path(os.environ["TENANCY_TOOLS"]) / name)
    candidates.append(ROOT / ".tools" / "bin" / name)
    for c in candidates:
        if c.exists():
            return str(c)
    found = shutil.which(name)
    if found:
        return found
    raise RuntimeError(
        f"{name} is not installed: run `make tools` (it installs tests/tools/requirements.txt into .tools/)"
    )
