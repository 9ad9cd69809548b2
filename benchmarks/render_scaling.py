"""Render time against tenant count: `make bench` (or `python benchmarks/render_scaling.py 1 10 25 50`).

Renders synthetic platforms in-process under the mock engine (what `tenancy render` does) and
prints, per tenant count: resources registered, resources per tenant, wall time, and time per
tenant. Per-tenant cost should stay flat as the count grows; a rising ms/tenant column means
per-tenant work that grows with the number of tenants.

``--pooled`` renders platforms mixing dedicated and pooled tenants instead (issue 13: 4
dedicated tenants, the rest on 3 shared node pools — tests/fixtures/pools.py), e.g.
``python benchmarks/render_scaling.py --pooled 50 100 200 400``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.fixtures
from tenancy.render import render_spec  # noqa: E402
from tests.fixtures.pools import pooled_platform  # noqa: E402


def platform(count: int) -> dict[str, Any]:
    """``count`` tenants, each with two service accounts and an allowFrom edge to its predecessor."""
    tenants = []
    for i in range(count):
        t: dict[str, Any] = {"name": f"t{i:03d}", "slot": i, "serviceAccounts": ["app", "worker"],
                             "admins": [f"arn:aws:iam::111122223333:role/t{i:03d}-admins"]}
        if i:
            t["allowFrom"] = [f"t{i - 1:03d}"]
        tenants.append(t)
    return {"name": "bench", "vpcCidr": "10.0.0.0/16", "availabilityZones": 3, "tenants": tenants,
            "nodeGroupQuota": max(30, count + 1), "tenantBlockPrefix": 21 if count <= 30 else 24,
            "subnetQuota": max(200, 3 * count + 6)}


def main(counts: list[int], pooled: bool = False) -> None:
    make = pooled_platform if pooled else platform
    print(f"{'tenants':>8} {'resources':>10} {'res/tenant':>10} {'seconds':>8} {'ms/tenant':>10} {'ms/resource':>12}")
    for n in counts:
        started = time.perf_counter()
        result = render_spec(make(n), stack="bench")
        elapsed = time.perf_counter() - started
        per_tenant = sum(r["tenant"] is not None for r in result.resources) / max(n, 1)
        print(f"{n:>8} {len(result.resources):>10} {per_tenant:>10.1f} {elapsed:>8.2f} "
              f"{1000 * elapsed / max(n, 1):>10.1f} {1000 * elapsed / len(result.resources):>12.2f}", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    pooled = "--pooled" in args
    counts = [int(a) for a in args if a != "--pooled"]
    main(counts or ([25, 50, 100, 200] if pooled else [1, 5, 10, 25, 50]), pooled=pooled)
