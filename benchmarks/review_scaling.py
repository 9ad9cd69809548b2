"""The review path against tenant count: `python benchmarks/review_scaling.py 50 100 200`.

What a merge request's pipeline runs on a platform of N tenants (benchmarks/render_scaling.py's
synthetic platform: two service accounts and an edge from its predecessor per tenant, the Admin-
tier walls on), in process: the render, the isolation facts, every `tenancy check` rule, and
`tenancy diff` of onboarding one more tenant (two renders' facts, compared). Seconds, with the
1-minute load average (the machine may be shared). The facts and the diff are a tenant-by-tenant
matrix, so they grow with the square of the tenant count; the column to watch is ms per pair.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.render_scaling import platform  # noqa: E402
from tenancy.render import render_spec  # noqa: E402
from tenancy.review.check import run_checks  # noqa: E402
from tenancy.review.diff import Render, diff_renders  # noqa: E402
from tenancy.review.facts import facts_of  # noqa: E402


def main(counts: list[int]) -> None:
    print(f"{'tenants':>8} {'render':>8} {'facts':>8} {'ms/pair':>8} {'checks':>8} {'diff':>8} {'load':>6}")
    for n in counts:
        started = time.perf_counter()
        base = render_spec(platform(n), stack="bench")
        t_render, started = time.perf_counter() - started, time.perf_counter()
        facts = facts_of(base.resources)
        t_facts, started = time.perf_counter() - started, time.perf_counter()
        run_checks(base.resources, facts=facts)
        t_checks = time.perf_counter() - started
        head = render_spec(platform(n + 1), stack="bench")  # onboarding one more tenant
        started = time.perf_counter()
        diff_renders(Render(Path("base"), "tenancy", "bench", base.resources),
                     Render(Path("head"), "tenancy", "bench", head.resources))
        t_diff = time.perf_counter() - started
        print(f"{n:>8} {t_render:>8.1f} {t_facts:>8.1f} {1000 * t_facts / (n * n):>8.2f} {t_checks:>8.1f} "
              f"{t_diff:>8.1f} {os.getloadavg()[0]:>6.1f}", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [50, 100, 200])
