"""The capacity preflight (tenancy.plan.pools): each limit exactly at its boundary — fits, and one
over is refused naming the pool (or tenant), the limit, the numbers and the fix."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenancy.plan import pools as P
from tenancy.plan.capacity import platform_roles
from tenancy.plan.validate import load_platform
from tenancy.spec import PlatformSpec, SpecError
from tests.fixtures.specs import spec_with, tenant


def node_pool(name: str, slot: int, types: tuple[str, ...] = ("m6i.large",), max_size: int = 3) -> dict[str, Any]:
    return {"name": name, "slot": slot,
            "nodes": {"instanceTypes": list(types), "minSize": 1, "maxSize": max_size, "desiredSize": 1}}


def pooled(name: str, pool: str, pods: int, **extra: Any) -> dict[str, Any]:
    # small CPU and memory quotas: these tests judge branch interfaces and addresses (CPU and
    # memory: tests/plan/test_compute.py)
    # (a LimitRange within them: a quota below the largest container is refused, tests/spec/test_spec.py)
    small = {"cpu": "100m", "memory": "256Mi"}
    return {"name": name, "pool": pool, "quota": {"pods": pods, **small},
            "limits": {"defaultRequest": {"cpu": "100m", "memory": "128Mi"}, "defaultLimit": small,
                       "maxPerContainer": small}, **extra}


def platform(pooled_tenants: list[dict[str, Any]], pools: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    return spec_with([tenant("bank", 0), *pooled_tenants], nodePools=pools, **overrides)


def problems(data: dict[str, Any]) -> list[str]:
    return [str(p) for p in P.capacity_problems(PlatformSpec.model_validate(data))]


def paths(data: dict[str, Any]) -> list[str]:
    return [p.path for p in P.capacity_problems(PlatformSpec.model_validate(data))]


# --------------------------------------------------------------------------------------------
# branch network interfaces


def test_pods_exactly_at_branch_capacity_fit_and_one_more_is_refused() -> None:
    # m6i.large: 9 branch interfaces per node; maxSize 3 -> 27, less 3 (10%) kept for churn -> 24
    fits = platform([pooled("a", "shared", 20), pooled("b", "shared", 4)], [node_pool("shared", 1)])
    assert problems(fits) == []
    over = platform([pooled("a", "shared", 20), pooled("b", "shared", 5)], [node_pool("shared", 1)])
    (msg,) = problems(over)
    assert paths(over) == ["nodePools[0].nodes.maxSize"]
    assert "pool 'shared' is oversubscribed" in msg
    assert "25 pods" in msg and "24 branch network interfaces" in msg and "maxSize 3 × 9 (m6i.large" in msg
    assert "less 3 kept free for churn" in msg
    assert "raise nodes.maxSize to 4" in msg and "m6i.xlarge: 18 per node" in msg
    assert "limits.go" in msg  # the limit's source


def test_without_the_autoscaler_capacity_is_checked_at_desired_size() -> None:
    """cluster.autoscaler: none — nothing grows the pool past desiredSize (1 × 9 here, less 1 kept
    for churn), so pods that fit maxSize (3 × 9 less 3) are refused, naming desiredSize; with the
    autoscaler they fit."""
    pods = [pooled("a", "shared", 8), pooled("b", "shared", 1)]
    assert problems(platform(pods, [node_pool("shared", 1)])) == []
    off = platform(pods, [node_pool("shared", 1)], cluster={"autoscaler": "none"})
    (msg,) = problems(off)
    assert paths(off) == ["nodePools[0].nodes.desiredSize"]
    assert "9 pods" in msg and "8 branch network interfaces" in msg and "desiredSize 1 × 9 (m6i.large" in msg
    assert "cluster.autoscaler is none" in msg and "raise nodes.desiredSize to 2" in msg
    # At exactly desiredSize × branch interfaces it fits (boundary), and the report says which size.
    fits = platform([pooled("a", "shared", 8)], [node_pool("shared", 1)], cluster={"autoscaler": "none"})
    assert problems(fits) == []
    spec = PlatformSpec.model_validate(fits)
    assert P.pool_capacity(spec, "shared").branch_capacity == 8
    assert "at `desiredSize` (cluster.autoscaler: none)" in "\n".join(P.report_lines(spec))


def test_without_the_autoscaler_a_desired_size_above_max_is_named() -> None:
    """Raising desiredSize past maxSize would fail the spec's own size check: the fix says so."""
    pods = [pooled("a", "shared", 30)]
    (msg,) = problems(platform(pods, [node_pool("shared", 1)], cluster={"autoscaler": "none"}))
    assert "raise nodes.desiredSize to 4 (and maxSize with it)" in msg


def test_only_the_pools_own_tenants_count() -> None:
    data = platform([pooled("a", "one", 24), pooled("b", "two", 24)], [node_pool("one", 1), node_pool("two", 2)])
    assert problems(data) == []
    data["tenants"].append(pooled("c", "two", 1))
    assert paths(data) == ["nodePools[1].nodes.maxSize"]
    assert "pool 'two'" in problems(data)[0]


def test_mixed_instance_types_count_at_the_weakest() -> None:
    pools = [node_pool("shared", 1, ("m6i.xlarge", "m6i.large"), max_size=2)]  # 18 and 9 -> 2 × 9 - 2
    assert problems(platform([pooled("a", "shared", 16)], pools)) == []
    (msg,) = problems(platform([pooled("a", "shared", 17)], pools))
    assert "17 pods" in msg and "16 branch" in msg and "(m6i.large" in msg and "in place of every smaller one" in msg


def test_a_pool_nobody_uses_fits() -> None:
    assert problems(platform([], [node_pool("idle", 1)])) == []


@settings(max_examples=40, deadline=None)
@given(pods=st.lists(st.integers(1, 40), min_size=1, max_size=6), max_size=st.integers(1, 12),
       itype=st.sampled_from(["m6i.large", "m6i.xlarge", "c6i.2xlarge", "r6i.4xlarge"]))
def test_refused_exactly_when_the_quota_sum_exceeds_the_capacity(pods: list[int], max_size: int, itype: str) -> None:
    per_node = P.branch_eni_table().types[itype].branch_interfaces
    data = platform([pooled(f"t{i}", "p", n) for i, n in enumerate(pods)], [node_pool("p", 1, (itype,), max_size)],
                    tenantBlockPrefix=19)  # /19 blocks: addresses are never the limit here
    refused = "nodePools[0].nodes.maxSize" in paths(data)
    total = max_size * per_node
    assert refused == (sum(pods) > total - -(-total // 10))  # 10% (rounded up) kept for churn


# --------------------------------------------------------------------------------------------
# instance types


def test_a_type_without_trunk_is_refused_naming_it() -> None:
    data = platform([pooled("a", "shared", 1)], [node_pool("shared", 1, ("m6i.large", "t3.large"))])
    (msg,) = problems(data)
    assert paths(data) == ["nodePools[0].nodes.instanceTypes[1]"]
    assert "t3.large cannot hold a trunk network interface" in msg and "IsTrunkingCompatible" in msg
    assert "pool 'shared'" in msg


def test_an_unknown_type_is_an_error_not_a_pass() -> None:
    data = platform([pooled("a", "shared", 1)], [node_pool("shared", 1, ("m6i.lrage",))])
    (msg,) = problems(data)
    assert paths(data) == ["nodePools[0].nodes.instanceTypes[0]"]
    assert "'m6i.lrage' is not in the VPC resource controller's instance table" in msg
    assert "did you mean 'm6i.large'" in msg and "tools/branch_eni_limits.py" in msg


# --------------------------------------------------------------------------------------------
# addresses


def test_addresses_exactly_at_the_subnets_size_fit_and_one_more_is_refused() -> None:
    # /26 blocks over 2 zones: two /27 subnets, 2 × (32 - 5) = 54 usable addresses.
    # m6i.large nodes take 2 × 10 + 1 = 21 each: maxSize 2 -> 42, leaving 12 pods (branch: 18).
    pools = [node_pool("shared", 1, max_size=2)]
    over = {"availabilityZones": 2, "tenantBlockPrefix": 26}
    assert problems(platform([pooled("a", "shared", 12)], pools, **over)) == []
    data = platform([pooled("a", "shared", 13)], pools, **over)
    (msg,) = problems(data)
    assert paths(data) == ["nodePools[0]"]
    assert "pool 'shared' would run out of addresses" in msg
    assert "2 node(s) × 21 addresses" in msg and "13 pods need 55" in msg and "54 usable addresses" in msg
    cap = P.pool_capacity(PlatformSpec.model_validate(data), "shared")
    assert cap.usable_addresses == 54 and cap.addresses_needed == 55 and len(cap.subnets) == 2


# --------------------------------------------------------------------------------------------
# security groups


def test_a_pooled_tenants_group_has_one_more_inbound_rule_than_a_dedicated_ones() -> None:
    # a tenant's group: 4 inbound rules + one per allowFrom peer (and 6 outbound + one per tenant it
    # may reach, so the quota stays >= 7 here); pooled: + 1 inbound from the pool's nodes. Counted by
    # the network plan's quota check, which load_platform runs with the pools.
    peers = [tenant("p1", 2), tenant("p2", 3), tenant("p3", 4)]
    a = pooled("a", "shared", 1, allowFrom=["p1", "p2", "p3"])
    load_platform(platform([*peers, a], [node_pool("shared", 1)], network={"securityGroupRuleQuota": 8}))
    data = platform([*peers, a], [node_pool("shared", 1)], network={"securityGroupRuleQuota": 7})
    with pytest.raises(SpecError) as err:
        load_platform(data)
    (msg,) = [str(p) for p in err.value.problems]
    assert msg.startswith("tenants[4] (a).allowFrom: tenant 'a''s security group would need 8 inbound rules")
    assert "network.securityGroupRuleQuota" in msg
    # the same tenant dedicated needs 7: within the quota, nothing reported
    load_platform(platform([*peers, tenant("a", 5, allowFrom=["p1", "p2", "p3"])], [node_pool("shared", 1)],
                           network={"securityGroupRuleQuota": 7}))


def test_security_groups_per_region_are_counted_once() -> None:
    from tenancy.plan import network as netplan

    data = platform([pooled("a", "shared", 1), pooled("b", "shared", 1)], [node_pool("shared", 1)])
    spec = PlatformSpec.model_validate(data)
    groups = P.platform_security_groups(spec)
    assert groups == 6 + 3 + 1  # own groups, bank + a + b, the pool
    args = ({t.name: t.allow_from for t in spec.tenants}, {}, {t.name: i for i, t in enumerate(spec.tenants)})
    inputs = netplan.pool_quota_inputs(data)
    assert netplan.quota_problems(*args, security_group_quota=groups, **inputs) == []
    (problem,) = netplan.quota_problems(*args, security_group_quota=groups - 1, **inputs)
    assert f"would have {groups} security groups" in problem[1]


def test_pods_carry_two_groups_within_the_per_interface_quota() -> None:
    assert P.POD_SECURITY_GROUPS == 2 <= P.SECURITY_GROUPS_PER_INTERFACE_QUOTA == 5


# --------------------------------------------------------------------------------------------
# IAM roles


def test_iam_roles_count_pools_not_pooled_tenants_node_roles() -> None:
    data = platform([pooled("a", "shared", 1, serviceAccounts=["app", "job"]), pooled("b", "shared", 1)],
                    [node_pool("shared", 1), node_pool("spare", 2)])
    spec = PlatformSpec.model_validate(data)
    # 3 fixed + flow-log role + EBS CSI role + cluster-autoscaler role; bank's node role; 2 pool node roles;
    # a's 2 service accounts
    assert platform_roles(spec) == 6 + 1 + 2 + 2
    assert spec.iam_role_quota == P.IAM_ROLES_PER_ACCOUNT_QUOTA == 1000
    assert problems({**data, "iamRoleQuota": 11}) == []
    (msg,) = problems({**data, "iamRoleQuota": 10})
    assert "creates 11 IAM roles" in msg and "over iamRoleQuota 10" in msg and "set iamRoleQuota" in msg
    # Without the cluster-autoscaler its role is not counted.
    assert problems({**data, "iamRoleQuota": 10, "cluster": {"autoscaler": "none"}}) == []


def test_a_raised_security_group_quota_is_declared_in_the_spec() -> None:
    data = platform([pooled("a", "shared", 1), pooled("b", "shared", 1)], [node_pool("shared", 1)])
    load_platform({**data, "securityGroupQuota": 10})  # 6 + 3 tenants + 1 pool
    with pytest.raises(SpecError) as err:
        load_platform({**data, "securityGroupQuota": 9})
    (msg,) = [str(p) for p in err.value.problems]
    assert "would have 10 security groups" in msg and "set securityGroupQuota" in msg


# --------------------------------------------------------------------------------------------
# through load_platform


def test_load_platform_refuses_an_oversubscribed_pool_naming_it() -> None:
    data = platform([pooled("a", "shared", 28)], [node_pool("shared", 1)])
    with pytest.raises(SpecError) as err:
        load_platform(data)
    text = str(err.value)
    # the pool's name is in the message; the path shows it too once Problem labels nodePools[i] like tenants[i]
    assert re.search(r"nodePools\[0\]( \(shared\))?\.nodes\.maxSize: pool 'shared' is oversubscribed", text)
    data["nodePools"][0]["nodes"]["maxSize"] = 4
    assert load_platform(data).node_pools[0].nodes.max_size == 4


def test_load_platform_reports_pool_problems_with_field_problems_only_when_the_model_is_valid() -> None:
    data = platform([pooled("a", "shared", 28)], [node_pool("shared", 1)])
    data["tenants"][0]["slot"] = -1  # a field error: the preflight does not run on an invalid model
    with pytest.raises(SpecError) as err:
        load_platform(data)
    assert "tenants[0] (bank).slot" in str(err.value) and "oversubscribed" not in str(err.value)


# --------------------------------------------------------------------------------------------
# the 200-tenant platform (tests/fixtures/pools.py; the benchmarks render it)


def test_two_hundred_tenants_validate_and_fit() -> None:
    from tests.fixtures.pools import FULL_POOL, pooled_platform

    data = pooled_platform(200)
    spec = load_platform(data)  # validation and the preflight together
    assert len(spec.tenants) == 200 and len(spec.dedicated_tenants) == 4 and len(spec.node_pools) == 3
    assert P.capacity_problems(spec) == []
    full = P.pool_capacity(spec, FULL_POOL)
    assert full.pods == full.branch_capacity == 342  # exactly full: 57 tenants × 6 pods = 10 nodes × 38 - 38
    assert full.branch_total == 380 and full.branch_headroom == 38
    assert full.addresses_needed == 10 * 31 + 342 <= full.usable_addresses == 3 * (512 - 5)
    assert {t.tier for t in spec.pooled_tenants} == {"standard", "premium"}


def test_one_more_tenant_on_the_full_pool_is_refused_naming_the_pool() -> None:
    from tests.fixtures.pools import FULL_POOL, one_more_on_the_full_pool, pooled_platform

    data = one_more_on_the_full_pool(pooled_platform(200))
    with pytest.raises(SpecError) as err:
        load_platform(data)
    (problem,) = err.value.problems
    assert problem.path == "nodePools[0].nodes.maxSize"
    assert f"pool {FULL_POOL!r} is oversubscribed: its 58 tenant(s)' quota.pods add up to 343 pods, over the 342" \
        in problem.message
    assert "raise nodes.maxSize to 11" in problem.message  # 11 × 38 - 42 = 376


def test_report_lines_show_each_pools_occupancy() -> None:
    from tests.fixtures.pools import pooled_platform

    spec = load_platform(pooled_platform(200))
    lines = P.report_lines(spec)
    assert lines[0] == "## Node pools"
    rows = [line for line in lines if line.startswith("| `shared-")]
    assert len(rows) == 3
    a = rows[0]
    assert a.startswith("| `shared-a` | 4 | 10.0.48.0/23, 10.0.50.0/23, 10.0.52.0/23 | m6i.2xlarge 2/2/10 |")
    assert "| 57 (5, 52) |" in a  # every tenth pooled tenant is premium
    assert "342 / 342 (100%), 38/node, 38 kept for churn" in a and "652 / 1521 (43%)" in a
    assert P.report_lines(load_platform(spec_with())) == []  # no pools, no section


def test_the_docs_quote_the_real_refusal_and_a_valid_example() -> None:
    """docs/pools.md's worked example quotes the message load_platform gives (wrapped), and the
    README's pool snippet validates."""
    from pathlib import Path

    import yaml

    from tests.fixtures.pools import one_more_on_the_full_pool, pooled_platform

    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "pools.md").read_text()
    quoted = doc.split("One more tenant on `shared-a`", 1)[1].split("```", 2)[1]
    with pytest.raises(SpecError) as err:
        load_platform(one_more_on_the_full_pool(pooled_platform(200)))
    assert " ".join(quoted.split()) == " ".join(str(err.value.problems[0]).split())
    readme = (root / "README.md").read_text()
    snippet = readme.split("### Pools and tiers", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    load_platform({"name": "acme", "vpcCidr": "10.40.0.0/16", **yaml.safe_load(snippet)})
