"""Node pools in the spec: pooled and dedicated tenants, and every invalid combination refused
with its field and fix (issue 13)."""

from __future__ import annotations

from typing import Any

import pytest

from tenancy.plan.validate import load_platform
from tenancy.spec import NodePoolSpec, SpecError, TenantSpec


def _platform(tenants: list[dict[str, Any]], pools: list[dict[str, Any]] | None = None, **extra: Any) -> dict:
    return {"name": "acme", "vpcCidr": "10.40.0.0/16", "tenants": tenants,
            "nodePools": pools if pools is not None else [{"name": "shared-a", "slot": 10}], **extra}


def _problems(data: dict) -> list[str]:
    with pytest.raises(SpecError) as err:
        load_platform(data)
    return [str(p) for p in err.value.problems]


def test_pooled_and_dedicated_tenants() -> None:
    spec = load_platform(_platform([
        {"name": "bank", "slot": 0},
        {"name": "media", "pool": "shared-a", "quota": {"pods": 20}},  # within the pool's capacity (54 pods)
        {"name": "shop", "pool": "shared-a", "tier": "premium", "quota": {"pods": 20}},
    ]))
    bank, media, shop = spec.tenants
    assert not bank.pooled and bank.slot == 0 and bank.nodes is not None and bank.tier == "premium"
    assert media.pooled and media.slot is None and media.nodes is None and media.tier == "standard"
    assert shop.tier == "premium"
    assert [t.name for t in spec.dedicated_tenants] == ["bank"]
    assert [t.name for t in spec.pooled_tenants] == ["media", "shop"]
    assert [t.name for t in spec.pool_tenants("shared-a")] == ["media", "shop"]
    assert spec.block_slot(media) == 10 and spec.block_slot(bank) == 0
    assert spec.node_pool("shared-a") == NodePoolSpec(name="shared-a", slot=10)
    assert spec.node_pool("shared-a").nodes.min_size == 2


def test_a_platform_without_pools_is_unchanged() -> None:
    spec = load_platform({"name": "acme", "vpcCidr": "10.40.0.0/16", "tenants": [{"name": "a", "slot": 0}]})
    assert spec.node_pools == [] and spec.pooled_tenants == [] and spec.tenants[0].tier == "premium"


@pytest.mark.parametrize("tenant, expected", [
    ({"name": "m", "pool": "shared-b"}, "tenants[1] (m).pool: 'shared-b' is not a node pool of this platform; "
                                        "did you mean 'shared-a'?"),
    ({"name": "m", "pool": "shared-a", "slot": 3}, "tenants[1] (m): a tenant on the shared pool 'shared-a' has no"),
    ({"name": "m", "pool": "shared-a", "nodes": {"maxSize": 4}}, "has no nodes of its own"),
    ({"name": "m"}, "a tenant needs either a `slot`"),
    ({"name": "m", "pool": "shared-a", "tier": "gold"}, "tenants[1] (m).tier"),
    ({"name": "pool-shared-a", "slot": 3}, "would share its AWS names with node pool 'shared-a'"),
])
def test_invalid_tenant_placement(tenant: dict, expected: str) -> None:
    problems = _problems(_platform([{"name": "bank", "slot": 0}, tenant]))
    assert len(problems) == 1 and expected in problems[0], problems


def test_pool_slots_and_names() -> None:
    problems = _problems(_platform(
        [{"name": "bank", "slot": 0}, {"name": "shared-c", "slot": 2}],
        [{"name": "shared-a", "slot": 0}, {"name": "shared-a", "slot": 1}, {"name": "shared-c", "slot": 5},
         {"name": "x", "slot": 99}, {"name": "y", "slot": 4}],
        retiredTenants=[{"name": "old", "slot": 4}]))
    assert ("nodePools[0] (shared-a).slot: slot 0 is already taken by tenants[0]; a pool needs its own slot "
            "(a free one: 3)") in problems
    assert any(p.startswith("nodePools[1] (shared-a).name: 'shared-a' is already the name of nodePools[0]")
               for p in problems)
    assert any(p.startswith("nodePools[2] (shared-c).name: 'shared-c' is also the name of tenants[1]")
               for p in problems)
    assert any(p.startswith("nodePools[3] (x).slot: slot 99 is outside the address plan") for p in problems)
    assert any(p.startswith("nodePools[4] (y).slot: slot 4 belongs to a retired tenant") for p in problems)


def test_pool_name_length() -> None:
    long = "p" * 55
    problems = _problems(_platform([], [{"name": long, "slot": 1}]))
    assert any(p.startswith("nodePools[0] (" + long + ").name: the IAM node role name") for p in problems), problems


def test_node_groups_counted_per_dedicated_tenant_and_pool() -> None:
    # 40 tenants: too many node groups when dedicated, fine when 37 of them share two pools.
    dedicated = [{"name": f"t{i}", "slot": i} for i in range(3)]
    pooled = [{"name": f"p{i}", "pool": "shared-a" if i % 2 else "shared-b", "quota": {"pods": 2}}  # pools: 54 pods
              for i in range(37)]
    pools = [{"name": "shared-a", "slot": 10}, {"name": "shared-b", "slot": 11}]
    spec = load_platform(_platform(dedicated + pooled, pools))
    assert len(spec.tenants) == 40
    problems = _problems(_platform(dedicated + pooled, pools, nodeGroupQuota=5))
    assert any("3 dedicated tenants and 2 node pools need 6 managed node groups" in p and "nodeGroupQuota 5" in p
               for p in problems), problems
    problems = _problems(_platform(dedicated + pooled, pools, subnetQuota=15))
    assert any("3 dedicated tenants and 2 node pools in 3 zones need 21 subnets" in p for p in problems), problems


def test_python_construction_is_validated_too() -> None:
    with pytest.raises(ValueError, match="either a `slot`"):
        TenantSpec(name="a")
    with pytest.raises(ValueError, match="has no slot"):
        TenantSpec(name="a", pool="p", slot=1)
    assert TenantSpec(name="a", pool="p").tier == "standard"


def test_the_system_pool_name_is_reserved() -> None:
    problems = _problems(_platform([], [{"name": "system", "slot": 1}]))
    assert problems == ["nodePools[0] (system).name: 'system' is reserved: the platform's system nodes carry the "
                        "label tenancy/pool=system; choose another pool name"]
