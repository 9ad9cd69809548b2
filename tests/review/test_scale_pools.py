"""The scale case of issue 13: 200 tenants on one cluster (4 dedicated, 196 on 3 shared pools,
tests/fixtures/pools.py) render, pass every guardrail of `tenancy check`, and are proven isolated
by the product's security-group analysis (tenancy/review/reachability.py, through
tests/helpers/sg_reachability.py) over every pair of tenants;
and by network-config-analyzer over the render's own NetworkPolicies (one sample pod per tenant:
every pair, and DNS); per-tenant resources stay flat. Timing is measured by
benchmarks/render_scaling.py --pooled, not here."""

from __future__ import annotations

import collections
import itertools
from typing import Any

import pytest

from tenancy.render import RenderResult, render_spec
from tenancy.review import check
from tests.fixtures.pools import pooled_platform
from tests.helpers import pools as P
from tests.helpers import sg_reachability as reach
from tests.helpers.nca import Nca, SampleCluster

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
    assert reach.edge_violations(rules, m, allow) == []
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


@pytest.mark.slow
def test_networkpolicies_of_two_hundred_tenants_admit_only_declared_edges_and_dns(
        render: RenderResult, spec: dict[str, Any], tmp_path: Any) -> None:
    """nca over every NetworkPolicy the 200-tenant render deploys (tenants' and the platform's),
    with one pod per tenant namespace and CoreDNS: a tenant's pod reaches another's only along a
    declared allowFrom edge (expected map written from the spec, not from the plan), and every pod
    resolves DNS (about a minute of nca)."""
    names = [t["name"] for t in spec["tenants"]]
    layout: dict[str, list[tuple[str, dict[str, str]]]] = {n: [("app", {"app": "web"})] for n in names}
    layout["kube-system"] = [("coredns", {"k8s-app": "kube-dns"})]
    nca = Nca(tmp_path / "nca", SampleCluster.build(layout, tenants=names), timeout=900)
    objs = [o for group in render.manifests.values() for o in group]
    assert sum(o["kind"] == "NetworkPolicy" for o in objs) > 4 * len(names)
    # negative control in the same run: a stray pair of policies (p150's ingress, p010's egress)
    # opens one undeclared edge across pools; the analysis must see exactly that edge
    stray = [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "stray-in", "namespace": "p150"},
              "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [
                  {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "p010"}}}]}]}},
             {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "stray-out", "namespace": "p010"},
              "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [
                  {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "p150"}}}]}]}}]
    conn = nca.connectivity(nca.policies(objs + stray, "scale"))
    allow = {t["name"]: set(t.get("allowFrom", [])) for t in spec["tenants"]}
    assert "p010" not in allow["p150"]
    assert conn.get("p010/app", "p150/app") == "All connections"  # the stray edge is seen ...
    allow["p150"].add("p010")  # ... and is the only difference from the declared map
    wrong = []
    for x, y in itertools.permutations(names, 2):
        got, want = conn.get(f"{x}/app", f"{y}/app"), "All connections" if x in allow[y] else None
        if got != want:
            wrong.append(f"{x} -> {y}: {got} (want {want})")
    assert wrong == [], wrong[:10]
    no_dns = [n for n in names if conn.get(f"{n}/app", "kube-system/coredns") != "{protocols:TCP, UDP,dst_ports:53}"]
    assert no_dns == [], no_dns[:10]
    assert sum(map(len, allow.values())) > 10  # declared edges were exercised

