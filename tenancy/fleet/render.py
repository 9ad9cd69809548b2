"""Render every cell of a fleet offline, each in its own process, into ``OUT/<cell>/``, plus a
fleet report (``OUT/fleet.md``, ``OUT/fleet.json``).

Each cell is the stack program under Pulumi's mock runtime (:mod:`tenancy.render`), whose
state is per process, so cells run in separate processes (``spawn``: a fresh interpreter per
cell, ``max_tasks_per_child=1`` on Python 3.11+), at most ``parallel`` at a time.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tenancy.fleet.placement import Placement
from tenancy.fleet.stacks import placement_report, stack_path
from tenancy.render import render_stack_file, write_render


@dataclass
class CellRender:
    cell: str
    ok: bool
    seconds: float
    resources: int = 0
    kubernetes_objects: int = 0
    tenants: int = 0
    out: str = ""
    error: str = ""


def render_cell(stack_file: str, cell: str, out: str) -> CellRender:
    """Render one cell (runs in a worker process)."""
    started = time.monotonic()
    try:
        result = render_stack_file(Path(stack_file), stack=cell)
        written = write_render(result, Path(out))
        return CellRender(cell, True, time.monotonic() - started, len(result.resources),
                          sum(len(v) for v in result.manifests.values()), len(result.spec.tenants), str(written))
    except Exception as exc:  # noqa: BLE001 - reported per cell, the others go on
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return CellRender(cell, False, time.monotonic() - started, error=detail)


def render_fleet(placement: Placement, stacks_dir: Path, out: Path, *, parallel: int = 2,
                 on_done: Callable[[CellRender], None] | None = None) -> list[CellRender]:
    """Render every cell's stack file; returns one :class:`CellRender` per cell (fleet order)
    and writes the fleet report."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, CellRender] = {}
    ctx = multiprocessing.get_context("spawn")
    extra: dict[str, Any] = {"max_tasks_per_child": 1} if sys.version_info >= (3, 11) else {}
    with ProcessPoolExecutor(max(1, parallel), ctx, **extra) as pool:
        futures = {pool.submit(render_cell, str(stack_path(stacks_dir, c)), c, str(out / c)): c
                   for c in placement.cells}
        for fut in as_completed(futures):
            r = fut.result()
            results[r.cell] = r
            if on_done is not None:
                on_done(r)
    ordered = [results[c] for c in placement.cells]
    write_fleet_report(placement, ordered, out)
    return ordered


def write_fleet_report(placement: Placement, renders: list[CellRender], out: Path) -> None:
    by_cell = {r.cell: r for r in renders}
    lines = [placement_report(placement).rstrip("\n"), "", "## Render", "",
             "| cell | result | resources | Kubernetes objects | seconds | output |", "|---|---|---|---|---|---|"]
    for c in placement.cells:
        r = by_cell[c]
        lines.append(f"| {c} | {'ok' if r.ok else 'FAILED: ' + r.error.splitlines()[-1]} | {r.resources} "
                     f"| {r.kubernetes_objects} | {r.seconds:.1f} | {c}/ |")
    (out / "fleet.md").write_text("\n".join(lines) + "\n")
    doc = {
        "fleet": placement.fleet.name,
        "cells": [{
            "name": c.name, "region": c.region, "account": c.account,
            "tenants": c.tenants, "occupancy": {**asdict(c.occupancy), "freeTenants": c.occupancy.free_tenants},
            "pools": {name: asdict(use) for name, use in c.pools.items()},
            "render": asdict(by_cell[c.name]),
        } for c in placement.cells.values()],
        "accounts": [asdict(a) for a in placement.accounts.values()],
        "regions": [{"account": r.account, "region": r.region, "cells": r.cells, "usage": asdict(r.usage),
                     "left": r.limits} for r in placement.regions.values()],
    }
    (out / "fleet.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
