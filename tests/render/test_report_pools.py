"""report.md with node pools: the pools' occupancy and pooled tenants in the tenant table (the
report reads the spec; a full render of pooled tenants is covered once the layers build them)."""

from __future__ import annotations

from tenancy.plan.validate import load_platform
from tenancy.render.result import RenderResult
from tenancy.render.writer import report
from tests.fixtures.pools import pooled_platform
from tests.fixtures.specs import small_spec


def _report(data: dict) -> str:
    return report(RenderResult("p", "s", load_platform(data), [], {}))


def test_report_shows_pools_and_pooled_tenants() -> None:
    text = _report(pooled_platform(200))
    assert ("200 tenant(s): 4 dedicated and 3 node pool(s) in 7 of 30 slots (/21 blocks), 196 pooled on the 3 "
            "pool(s) (`shared-a`: 57, `shared-b`: 70, `shared-c`: 69)") in text
    assert "## Node pools" in text
    assert ("| `shared-a` | 4 | 10.0.48.0/23, 10.0.50.0/23, 10.0.52.0/23 | m6i.2xlarge 2/2/10 | 57 (5, 52) "
            "| 342 / 342 (100%), 38/node, 38 kept for churn | 652 / 1521 (43%) |") in text
    assert ("| `p000` | standard | pool `shared-a` | 10.0.48.0/21 | 10.0.48.0/23, 10.0.50.0/23, 10.0.52.0/23 "
            "| shared: m6i.2xlarge 2/2/10 | 1, 4Gi, 6 |") in text
    assert "| `d00` | premium | 0 | 10.0.16.0/21 |" in text
    assert "| `p009` | premium | pool `shared-a` |" in text  # a premium tenant on a pool


def test_a_platform_without_pools_has_no_pool_section() -> None:
    text = _report(small_spec())
    assert "Node pools" not in text and "node pool(s)" not in text
    assert "3 tenant(s) in 3 of 30 slots (/21 blocks)" in text
    assert "| `alpha` | premium | 0 |" in text


def test_pooled_tenants_are_not_counted_against_the_slots() -> None:
    """Issue 28: "40 tenant(s) of 30 slots" read like an overflow when 28 of them are pooled."""
    text = _report(pooled_platform(40, dedicated=12, pools=2))
    header = text.splitlines()[2]
    assert ("40 tenant(s): 12 dedicated and 2 node pool(s) in 14 of 30 slots (/21 blocks), 28 pooled on the 2 "
            "pool(s) (`shared-a`: 27, `shared-b`: 1)") in header
    assert "of 30 slots (/21 blocks), 28 of them" not in header and "40 tenant(s) of 30 slots" not in header
