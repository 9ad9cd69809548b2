"""Placement time against fleet size: `python benchmarks/fleet_plan.py`.

Each new group costs one or two validations of one cell (the cell with the most room is tried
first; cells without room are not validated), so plan time should grow about linearly with the
number of tenants, and a re-plan of a placed fleet (every tenant kept) should cost one validation
per cell.
"""

from __future__ import annotations

import time

from tenancy.fleet.placement import Existing, plan_placement
from tenancy.fleet.spec import load_fleet


def fleet(cells: int, tenants: int) -> dict:
    return {"fleet": {
        "name": "bench",
        "defaults": {"region": "eu-west-1", "availabilityZones": 3},
        "cells": [{"name": f"c{i}", "vpcCidr": f"10.{i}.0.0/16", "account": str(100000000000 + i)}
                  for i in range(cells)],
        "tenants": [{"name": f"t{i}", "serviceAccounts": ["app"],
                     **({"allowFrom": [f"t{i - 1}"]} if i % 5 else {})} for i in range(tenants)],
    }}


def main() -> None:
    print(f"{'cells':>6} {'tenants':>8} {'plan s':>8} {'per tenant ms':>14} {'re-plan s':>10}")
    for cells, tenants in ((4, 40), (10, 200), (20, 500), (40, 1000)):
        spec = load_fleet(fleet(cells, tenants))
        started = time.perf_counter()
        placement = plan_placement(spec)
        took = time.perf_counter() - started
        existing = {c.name: Existing(slots=c.tenants) for c in placement.cells.values()}
        started = time.perf_counter()
        plan_placement(spec, existing)
        replan = time.perf_counter() - started
        print(f"{cells:>6} {tenants:>8} {took:>8.2f} {1000 * took / tenants:>14.1f} {replan:>10.2f}")


if __name__ == "__main__":
    main()
