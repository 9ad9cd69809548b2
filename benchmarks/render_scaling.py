"""Render time against tenant count: `make bench` (or `python benchmarks/render_scaling.py 1 10 25 50`).

Renders synthetic platforms in-process under the mock engine (what `tenancy render` does) and
prints, per tenant count: resources registered, wall time, and time per tenant. Per-tenant cost
should stay flat as the count grows; a rising ms/tenant column means per-tenant work that grows
with the number of tenants.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from tenancy.render import render_spec


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


def main(counts: list[int]) -> None:
    print(f"{'tenants':>8} {'resources':>10} {'seconds':>8} {'ms/tenant':>10} {'ms/resource':>12}")
    for n in counts:
        started = time.perf_counter()
        result = render_spec(platform(n), stack="bench")
        elapsed = time.perf_counter() - started
        print(f"{n:>8} {len(result.resources):>10} {elapsed:>8.2f} {1000 * elapsed / max(n, 1):>10.1f} "
              f"{1000 * elapsed / len(result.resources):>12.2f}", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 5, 10, 25, 50])
