"""The scale case of issue 13: 200 tenants on one cluster (4 dedicated, 196 on 3 shared pools,
tests/fixtures/pools.py) render, pass every guardrail of `tenancy check`, and are proven isolated
by the security-group analyser (tests/helpers/sg_reachability.py) over every pair of tenants;
per-tenant resources stay flat. Timing is measured by benchmarks/render_scaling.py --pooled, not
here."""

from __future__ import annotations

import collections
import itertools
from typing import Any

import pytest

from tenancy import check
from tenancy.render import RenderResult, render_spec
from tests.fixtures.pools import pooled_platform
from tests.helpers import pools as P
from tests.helpers import sg_reachability as reach

COUNT = 200


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return pooled_platform(COUNT)


@pytest.fixture(scope="module")
def render(spec: dict[str, Any]) -> RenderResult:
    return render_spec(spec)


def _machines(render: RenderResult, spec: dict[str, Any]) -> dict[str, reach.Machines]:
    pools = {p["name"]: P.pool_node_group(render.resources, p["name"]) for p in spec["nodePools"]}
    out = {}
    for t in spec["tenants"]:
        if "pool" in t:
            groups = reach.security_group_policy_groups(render.resources, t["name"])
            assert groups is not None, f"{t['name']}: no SecurityGroupPolicy selecting all its pods"
            out[t["name"]] = reach.pooled_pods(render.resources, t["name"], groups, pools[t["pool"]])
        else:
            out[t["name"]] = reach.tenant_machines(render.resources, t["name"], None)
    return out


def test_two_hundred_tenants_on_one_cluster_render_and_pass_every_guardrail(render: RenderResult,
                                                                           spec: dict[str, Any]) -> None:
    pooled = [t for t in spec["tenants"] if "pool" in t]
    assert len(spec["tenants"]) == COUNT and len(pooled) >= 190 and 2 <= len(spec["nodePools"]) <= 4
    results = check.run_checks(render.resources)
    assert not check.failed(results), check.markdown(results)
    # one node group per dedicated tenant and per pool, plus the system group: far under the quota
    groups = [r for r in render.resources if r["type"] == "aws:eks/nodeGroup:NodeGroup"]
    assert len(groups) == 4 + len(spec["nodePools"]) + 1


def test_resources_per_pooled_tenant_stay_flat(render: RenderResult, spec: dict[str, Any]) -> None:
    counts = collections.Counter(r["tenant"] for r in render.resources if r.get("tenant"))
    plain = [t["name"] for t in spec["tenants"] if "pool" in t and not t.get("allowFrom")
             and t.get("tier", "standard") == "standard"]
    # every pooled tenant without edges owns exactly as many resources as any other: no per-tenant
    # work depends on the number (or the order) of tenants
    assert len(plain) > 100 and len({counts[n] for n in plain}) == 1, {n: counts[n] for n in plain[:5]}
    # ... and that number is a whole tenant: its namespace, SecurityGroupPolicy, group, role, quota
    mine = {r["type"] for r in render.resources if r.get("tenant") == plain[0]}
    assert counts[plain[0]] >= 20 and {"kubernetes:core/v1:Namespace", "aws:ec2/securityGroup:SecurityGroup",
                                       "aws:iam/role:Role"} <= mine, sorted(mine)


def test_no_tenant_reaches_another_unless_declared(render: RenderResult, spec: dict[str, Any]) -> None:
    rules = reach.rules_of(render.resources)
    m = _machines(render, spec)
    allow = {t["name"]: set(t.get("allowFrom", [])) for t in spec["tenants"]}
    leaks, missing = [], []
    for x, y in itertools.permutations(allow, 2):
        paths = reach.allowed(rules, m[x], m[y])
        if x in allow[y] and not paths:
            missing.append(f"{y} allows {x} but {x} cannot reach {y}")
        if x not in allow[y] and paths:
            leaks.append(f"{x} reaches {y}: {paths[0]}")
    assert leaks == [] and missing == []
    assert sum(map(len, allow.values())) > 0  # the declared edges were exercised


def test_negative_control_one_stray_rule_among_two_hundred_tenants_is_caught(render: RenderResult,
                                                                            spec: dict[str, Any]) -> None:
    import copy

    res = copy.deepcopy(render.resources)
    m = _machines(render, spec)
    x, y = "p010", "p150"  # pooled tenants of different pools, no edge between them
    assert y not in {a for t in spec["tenants"] if t["name"] == x for a in t.get("allowFrom", [])}
    gx, gy = (P.group_id(res, f"{spec['name']}-{t}-nodes") for t in (x, y))
    for typ, name, group, peer in ((reach.SG_INGRESS, "stray-in", gy, gx), (reach.SG_EGRESS, "stray-out", gx, gy)):
        res.append({"type": typ, "name": name, "urn": f"urn:stray:{name}", "id": name, "custom": True, "parent": None,
                    "tenant": None, "inputs": {"securityGroupId": group, "referencedSecurityGroupId": peer,
                                               "ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432}})
    assert reach.allowed(reach.rules_of(res), m[x], m[y])
    assert not reach.allowed(reach.rules_of(render.resources), m[x], m[y])
