"""Node pools, AWS side (issue 13): what the render builds for pools and pooled tenants, and the
product's security-group analysis (tenancy/review/reachability.py, through the tests' endpoints in
tests/helpers/sg_reachability.py; independent of tenancy/plan/network.py, which wrote the rules)
proving pooled tenants isolated from each other and from dedicated tenants except declared
``allowFrom`` edges, and that what must work works. Every claim has a negative control.

Sources for the flows (hand-written here, not read back from the plan):
* EKS user guide, security-groups-pods-deployment.adoc: the pod's groups must admit the kubelet's
  probes (from the node), ``DISABLE_TCP_EARLY_DEMUX`` on the CNI's init container, the cluster
  role needs ``AmazonEKSVPCResourceController``;
* aws/amazon-vpc-cni-k8s README: ``ENABLE_POD_ENI``, ``POD_SECURITY_GROUP_ENFORCING_MODE``
  (strict: every packet of a pod with groups crosses its branch interface);
* EKS user guide, sec-group-reqs.adoc: control plane ↔ nodes on 443/10250.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tenancy import load_platform
from tenancy.plan import network as netplan
from tenancy.render import RenderResult, render_spec
from tests.fixtures.specs import spec_with
from tests.helpers import pools as P
from tests.helpers import sg_reachability as reach

SUBNET = "aws:ec2/subnet:Subnet"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
NACL = "aws:ec2/networkAcl:NetworkAcl"
NACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
RTA = "aws:ec2/routeTableAssociation:RouteTableAssociation"
ADDON = "aws:eks/addon:Addon"
ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
DEDICATED = ("alpha", "beta", "gamma")
PROBE = 8080  # a container port a readiness probe targets


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return P.pooled_spec()


@pytest.fixture(scope="module")
def render(spec: dict[str, Any]) -> RenderResult:
    return render_spec(spec)


@pytest.fixture(scope="module")
def plain() -> RenderResult:
    return render_spec(spec_with())


def _by_name(render: RenderResult, typ: str, name: str) -> dict[str, Any]:
    [r] = [r for r in render.of_type(typ) if r["name"] == name]
    return r


def _cni(render: RenderResult) -> dict[str, Any]:
    [cni] = [a for a in render.of_type(ADDON) if a["inputs"]["addonName"] == "vpc-cni"]
    return json.loads(cni["inputs"]["configurationValues"])


# --------------------------------------------------------------------------------------------
# What is built


def test_pooled_tenants_own_a_group_and_nothing_of_a_node(render: RenderResult) -> None:
    for t in P.POOL_OF:
        mine = {r["type"] for r in render.for_tenant(t)}
        assert P.SG in mine, t
        assert not mine & {SUBNET, LT, P.NODE_GROUP, NACL, RTA}, (t, mine & {SUBNET, LT, P.NODE_GROUP, NACL, RTA})
    for t in DEDICATED:  # dedicated tenants unchanged
        assert {SUBNET, LT, P.NODE_GROUP, NACL} <= {r["type"] for r in render.for_tenant(t)}, t


def test_pool_subnets_are_the_pool_block_tagged_like_tenant_subnets(render: RenderResult,
                                                                    spec: dict[str, Any]) -> None:
    plan = load_platform(spec).address_plan
    egress_rts = {r["id"] for r in render.of_type("aws:ec2/routeTable:RouteTable") if "-egress-az" in r["name"]}
    [isolated] = [r["id"] for r in render.of_type("aws:ec2/routeTable:RouteTable") if r["name"].endswith("-isolated")]
    for pool in P.POOLS:
        subnets = [s for s in render.of_type(SUBNET) if (s["inputs"]["tags"] or {}).get(P.POOL_LABEL) == pool["name"]]
        assert sorted(s["inputs"]["cidrBlock"] for s in subnets) == sorted(
            str(n) for n in plan.tenant_subnets(pool["slot"]))
        for s in subnets:
            tags = s["inputs"]["tags"]
            assert s.get("tenant") is None and "tenancy/tenant" not in tags
            assert tags[netplan.SUBNET_ROLE_TAG] == "tenant" and tags["kubernetes.io/role/internal-elb"] == "1"
            assert tags["kubernetes.io/cluster/acme"] == "shared"
        rts = {a["inputs"]["routeTableId"] for a in render.of_type(RTA)
               if a["inputs"]["subnetId"] in {s["id"] for s in subnets}}
        # shared-a holds shop (internetEgress): NAT; shared-b does not: the isolated table
        assert rts == (egress_rts if pool["name"] == "shared-a" else {isolated}), pool["name"]


def test_pool_node_group_is_labelled_tainted_and_carries_the_pool_group_and_marker(render: RenderResult) -> None:
    marker = P.group_id(render.resources, "acme-tenant-nodes")
    by_id = {r["id"]: r for r in render.resources}
    for pool in ("shared-a", "shared-b"):
        ng = P.pool_node_group(render.resources, pool)
        i = ng["inputs"]
        assert i["labels"] == {P.POOL_LABEL: pool}
        assert i["taints"] == [{"key": P.POOL_LABEL, "value": pool, "effect": "NO_SCHEDULE"}]
        assert i["nodeGroupNamePrefix"].startswith(f"acme-pool-{pool}")
        assert {by_id[s]["inputs"]["tags"][P.POOL_LABEL] for s in i["subnetIds"]} == {pool}
        lt = by_id[i["launchTemplate"]["id"]]["inputs"]
        assert sorted(lt["vpcSecurityGroupIds"]) == sorted([P.group_id(render.resources, f"acme-pool-{pool}-nodes"),
                                                            marker])
        md = lt["metadataOptions"]
        assert md["httpTokens"] == "required" and md["httpPutResponseHopLimit"] == 1
        assert all(b["ebs"]["encrypted"] == "true" and b["ebs"]["volumeType"] == "gp3"
                   for b in lt["blockDeviceMappings"])
        role = by_id[i["nodeRoleArn"]] if i["nodeRoleArn"] in by_id else None
        entries = [e for e in render.of_type("aws:eks/accessEntry:AccessEntry")
                   if e["inputs"]["principalArn"] == i["nodeRoleArn"]]
        assert [e["inputs"]["type"] for e in entries] == ["EC2_LINUX"], (pool, role)
    assert P.pool_node_group(render.resources, "shared-a")["inputs"]["scalingConfig"]["maxSize"] == 4


def test_security_groups_for_pods_only_with_pooled_tenants(render: RenderResult, plain: RenderResult) -> None:
    cni = _cni(render)
    assert cni["env"]["ENABLE_POD_ENI"] == "true"
    assert cni["env"]["POD_SECURITY_GROUP_ENFORCING_MODE"] == "strict"
    assert cni["init"]["env"]["DISABLE_TCP_EARLY_DEMUX"] == "true"
    assert cni["enableNetworkPolicy"] == "true"
    vrc = [a for a in render.of_type(ATTACH) if a["inputs"]["policyArn"].endswith("/AmazonEKSVPCResourceController")]
    assert len(vrc) == 1 and vrc[0]["inputs"]["role"].startswith("acme-eksRole")  # pulumi-eks's cluster role
    [cni_addon] = [a for a in render.of_type(ADDON) if a["inputs"]["addonName"] == "vpc-cni"]
    assert vrc[0]["urn"] in cni_addon["dependencies"]
    # negative control: a platform without pools has none of it
    assert "ENABLE_POD_ENI" not in _cni(plain)["env"] and "init" not in _cni(plain)
    assert not [a for a in plain.of_type(ATTACH) if "VPCResourceController" in a["inputs"]["policyArn"]]
    assert not [r for r in plain.resources if "pool" in r["type"].lower()]
    # a platform with pools but no pooled tenant does not turn it on either
    empty = render_spec(spec_with(nodePools=[{"name": "spare", "slot": 7}]))
    assert "ENABLE_POD_ENI" not in _cni(empty)["env"]


def test_stack_outputs_list_the_pools(render: RenderResult, plain: RenderResult) -> None:
    pools = render.stack_outputs["pools"]
    assert sorted(pools) == ["shared-a", "shared-b"]
    assert pools["shared-a"]["tenants"] == ["media", "shop", "idle"] and len(pools["shared-a"]["subnetIds"]) == 3
    assert pools["shared-b"]["securityGroupId"] == P.group_id(render.resources, "acme-pool-shared-b-nodes")
    assert pools["shared-a"]["nodeGroupName"].startswith("acme-pool-shared-a")
    media = render.stack_outputs["tenants"]["media"]
    assert media["pool"] == "shared-a" and media["subnetIds"] == [] and "nodeGroupName" not in media
    assert sorted(media["podSecurityGroupIds"]) == sorted(P.pod_groups(render.resources, "acme", "media"))
    assert "pools" not in plain.stack_outputs


# --------------------------------------------------------------------------------------------
# Isolation (the analyser, on every rule of the render)


def _violations(resources: list[dict[str, Any]], spec: dict[str, Any]) -> list[str]:
    allow = {t["name"]: t.get("allowFrom", []) for t in spec["tenants"]}
    return reach.edge_violations(reach.rules_of(resources), P.machines(resources, spec), allow, own_port=PROBE)


def test_pooled_tenants_reach_no_one_but_declared_edges(render: RenderResult, spec: dict[str, Any]) -> None:
    m = P.machines(render.resources, spec)
    # pods of two tenants of one pool share addresses and nodes, never groups
    assert m["media"].cidrs == m["shop"].cidrs and m["media"].groups - m["shop"].groups
    assert _violations(render.resources, spec) == []


def test_negative_control_a_stray_rule_between_pooled_tenants_is_caught(render: RenderResult,
                                                                        spec: dict[str, Any]) -> None:
    res = copy.deepcopy(render.resources)
    news, idle = (P.group_id(res, f"acme-{t}-nodes") for t in ("news", "idle"))
    for typ, name, group, peer in ((reach.SG_INGRESS, "stray-in", idle, news),
                                   (reach.SG_EGRESS, "stray-out", news, idle)):
        res.append({"type": typ, "name": name, "urn": f"urn:stray:{name}", "id": name, "custom": True, "parent": None,
                    "tenant": None, "inputs": {"securityGroupId": group, "referencedSecurityGroupId": peer,
                                               "ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432}})
    assert any(v.startswith("news reaches idle") for v in _violations(res, spec))


def test_negative_control_without_a_security_group_policy_pods_leak_through_the_node(
        render: RenderResult, spec: dict[str, Any]) -> None:
    """Why every pooled pod needs its policy: a pod without one uses its node's groups (the pool's
    group and the marker), and the pool's group is what every tenant of the pool admits (probes)."""
    rules = reach.rules_of(render.resources)
    node = reach.node_group_machines(render.resources, P.pool_node_group(render.resources, "shared-a"))
    m = P.machines(render.resources, spec)
    assert reach.can_reach(rules, node, m["media"], "tcp", 5432)  # a pod on node groups reaches media
    assert not reach.allowed(rules, m["shop"], m["idle"])  # with its policy, shop does not reach idle


def test_what_pooled_pods_need_works(render: RenderResult, spec: dict[str, Any]) -> None:
    rules = reach.rules_of(render.resources)
    m = P.machines(render.resources, spec)
    system = reach.Machines("system", frozenset({P.group_id(render.resources, "acme-system-nodes")}), ())
    [cluster] = render.of_type("eks:index:Cluster")
    cp = reach.Machines("cp", frozenset({cluster["inputs"]["clusterSecurityGroup"]}), ())
    eps = reach.Machines("endpoints", frozenset({P.group_id(render.resources, "acme-endpoints")}), ())
    for t in P.POOL_OF:
        assert reach.can_reach(rules, m[t], system, "udp", 53), t
        assert reach.can_reach(rules, m[t], system, "tcp", 53), t
        assert not reach.can_reach(rules, m[t], system, "tcp", 22), t  # negative control
        assert reach.can_reach(rules, m[t], cp, "tcp", 443), t
        assert reach.can_reach(rules, cp, m[t], "tcp", 443), t  # webhooks a tenant serves
        assert reach.can_reach(rules, m[t], eps, "tcp", 443), t
        s3 = [r for r in rules
              if r.egress and r.group in m[t].groups and r.prefix_list and r.from_port <= 443 <= r.to_port]
        assert s3, f"{t}: no egress to the S3 prefix list on 443"
        internet = reach.external("internet", "203.0.113.9/32")
        out = [r for r in rules if r.egress and r.group in m[t].groups and reach.matches(r, internet)]
        assert bool(out) == (t == "shop"), t  # internet only with internetEgress


def test_probes_from_the_pool_nodes_reach_their_pods_only(render: RenderResult, spec: dict[str, Any]) -> None:
    rules = reach.rules_of(render.resources)
    m = P.machines(render.resources, spec)
    nodes = {p: reach.node_group_machines(render.resources, P.pool_node_group(render.resources, p))
             for p in ("shared-a", "shared-b")}
    for t, pool in P.POOL_OF.items():
        for p, node in nodes.items():
            assert reach.can_reach(rules, node, m[t], "tcp", PROBE) is (p == pool), (p, t)
        assert not reach.can_reach(rules, node, m[t], "udp", 53), t
    for p, node in nodes.items():
        for t in DEDICATED:  # pool nodes never reach a dedicated tenant's nodes, nor they the pool's
            assert not reach.allowed(rules, node, m[t]), (p, t)
            assert not reach.can_reach(rules, m[t], node, "tcp", 10250), (p, t)


def test_negative_control_without_the_probe_rule_probes_fail(render: RenderResult, spec: dict[str, Any]) -> None:
    res = [r for r in render.resources if r["name"] != f"media-nodes-{netplan.POOL_PROBE_RULE_KEY}"]
    assert len(res) == len(render.resources) - 1
    node = reach.node_group_machines(res, P.pool_node_group(res, "shared-a"))
    m = P.machines(res, spec)
    rules = reach.rules_of(res)
    assert not reach.can_reach(rules, node, m["media"], "tcp", PROBE)
    assert reach.can_reach(rules, node, m["shop"], "tcp", PROBE)


def test_control_plane_and_pool_nodes_reach_each_other(render: RenderResult) -> None:
    rules = reach.rules_of(render.resources)
    [cluster] = render.of_type("eks:index:Cluster")
    cp = reach.Machines("cp", frozenset({cluster["inputs"]["clusterSecurityGroup"]}), ())
    eps = reach.Machines("endpoints", frozenset({P.group_id(render.resources, "acme-endpoints")}), ())
    for p in ("shared-a", "shared-b"):
        node = reach.node_group_machines(render.resources, P.pool_node_group(render.resources, p))
        assert reach.can_reach(rules, cp, node, "tcp", 10250), p
        assert reach.can_reach(rules, cp, node, "tcp", 443), p
        assert reach.can_reach(rules, node, cp, "tcp", 443), p
        assert reach.can_reach(rules, node, eps, "tcp", 443), p
        assert not reach.can_reach(rules, cp, node, "tcp", 22), p  # negative control
        assert not reach.can_reach(rules, node, node, "tcp", PROBE), p  # no self rule on pool nodes


# --------------------------------------------------------------------------------------------
# Network ACLs: a pool block is a tenant block


def test_nacls_treat_a_pool_block_like_a_tenant_block(render: RenderResult, spec: dict[str, Any]) -> None:
    plan = load_platform(spec).address_plan
    block = {**{t["name"]: str(plan.tenant_block(t["slot"])) for t in spec["tenants"] if "slot" in t},
             **{p["name"]: str(plan.tenant_block(p["slot"])) for p in P.POOLS}}
    acls = {r["id"]: r for r in render.of_type(NACL)}
    owner = {}
    for i, a in acls.items():
        owner[i] = a.get("tenant") or a["inputs"]["tags"][P.POOL_LABEL]
    assert sorted(owner.values()) == sorted([*DEDICATED, "shared-a", "shared-b"])
    entries: dict[tuple[str, bool], list[tuple[int, str, str]]] = {}
    for r in render.of_type(NACL_RULE):
        i = r["inputs"]
        entries.setdefault((owner[i["networkAclId"]], i["egress"]), []).append(
            (i["ruleNumber"], i["ruleAction"], i["cidrBlock"]))
    for (acl, egress), es in entries.items():
        numbers = [n for n, _, _ in es]
        assert len(numbers) == len(set(numbers)), (acl, egress, sorted(numbers))  # AWS refuses duplicates
        allowed = {c for _, a, c in es if a == "allow"}
        assert block[acl] in allowed, acl
    allowed = {k: {c for _, a, c in v if a == "allow"} for k, v in entries.items()}
    # edges crossing pools: beta <- shop (shared-a), news (shared-b) <- alpha, film (shared-b) <- media (shared-a)
    for x, y in (("beta", "shared-a"), ("shared-b", "alpha"), ("shared-b", "shared-a")):
        for egress in (False, True):
            assert block[y] in allowed[(x, egress)] and block[x] in allowed[(y, egress)], (x, y, egress)
    # negative control: no edge joins gamma and a pool
    for p in ("shared-a", "shared-b"):
        assert block[p] not in allowed[("gamma", False)] and block["gamma"] not in allowed[(p, False)]


def test_nacl_entries_per_block_pair_not_per_tenant() -> None:
    # two tenants of one pool allowing the same dedicated tenant: ONE entry on each NACL
    allow = {"d": [], "p1": ["d"], "p2": ["d"], "q": []}
    pool_of = {"p1": "pool", "p2": "pool"}
    assert netplan.nacl_peer_entries(allow, pool_of) == {"pool": {("d", True)}, "d": {("pool", False)}}
    assert netplan.nacl_rule_counts(allow, pool_of) == {"d": 5, "q": 4, "pool": 5}
    # negative control: without pools, each tenant has its own entries
    assert netplan.nacl_rule_counts(allow) == {"d": 6, "p1": 5, "p2": 5, "q": 4}


# --------------------------------------------------------------------------------------------
# Quotas


def test_quota_arithmetic_counts_pooled_tenants_and_pools() -> None:
    base_in = sum(r.direction == "ingress" for r in netplan.tenant_rules(False))
    pooled_in = sum(r.direction == "ingress" for r in netplan.tenant_rules(False, pooled=True))
    base_out = sum(r.direction == "egress" for r in netplan.tenant_rules(False))
    assert pooled_in == base_in + 1
    # "a" allows n tenants: exactly at the quota when dedicated, one over (probes) when pooled
    n = max(1, base_out + 1 - base_in)
    quota = base_in + n
    allow = {"a": [f"b{i}" for i in range(n)], **{f"b{i}": [] for i in range(n)}}
    positions = {t: i for i, t in enumerate(allow)}
    assert netplan.quota_problems(allow, {}, positions, sg_rule_quota=quota) == []
    problems = netplan.quota_problems(allow, {}, positions, sg_rule_quota=quota, pool_of={"a": "p"},
                                      pool_positions={"p": 0})
    assert [p for p, _ in problems] == ["tenants[0].allowFrom"] and "'a'" in problems[0][1]
    # a pool's NACL collects its tenants' peer blocks
    many = {f"d{i}": [] for i in range(17)}
    many.update({f"p{i}": [f"d{i}"] for i in range(17)})
    pool_of = {f"p{i}": "busy" for i in range(17)}
    problems = netplan.quota_problems(many, {}, {n: i for i, n in enumerate(many)}, nacls=True,
                                      pool_of=pool_of, pool_positions={"busy": 1})
    assert [p for p, _ in problems] == ["nodePools[1]"] and "node pool 'busy'" in problems[0][1]
    # security groups per Region: the platform's own six + tenants + pools
    problems = netplan.quota_problems({"a": []}, {}, {"a": 0}, pool_of={}, pool_positions={"p": 0, "q": 1},
                                      security_group_quota=8)
    assert problems and "9 security groups" in problems[0][1]


# --------------------------------------------------------------------------------------------
# Guardrails (check.py), isolation facts and operability on a pooled render


def _with_policies(render: RenderResult) -> list[dict[str, Any]]:
    """The render, plus the SecurityGroupPolicies of the shared design's contract where the k8s
    layer did not render them (see tests/helpers/pools.py): what facts and operability read."""
    res = copy.deepcopy(render.resources)
    if any(r["type"] == reach.SECURITY_GROUP_POLICY for r in res):
        return res
    contract = {t: sorted(P.pod_groups(res, "acme", t)) for t in P.POOL_OF}
    for t in P.POOL_OF:
        res.append({"type": reach.SECURITY_GROUP_POLICY, "name": f"{t}/tenancy-pod-security-groups",
                    "urn": f"urn:sgp:{t}", "id": f"{t}/sgp", "custom": True, "parent": None, "tenant": t,
                    "inputs": {"apiVersion": "vpcresources.k8s.aws/v1beta1", "kind": "SecurityGroupPolicy",
                               "metadata": {"name": "tenancy-pod-security-groups", "namespace": t},
                               "spec": {"podSelector": {}, "securityGroups": {
                                   "groupIds": contract[t]}}}})
    return res


def _violations_of(resources: list[dict[str, Any]], rule: str) -> list[Any]:
    from tenancy.review.check import run_checks

    return [v for r, _, vs in run_checks(resources) if r.id == rule for v in vs]


def test_guardrails_cover_pools(render: RenderResult) -> None:
    res = _with_policies(render)
    assert _violations_of(res, "taints-match-admission") == []
    assert _violations_of(res, "sg-cross-tenant-declared") == []
    # negative control: a pool's node group without its taint
    broken = copy.deepcopy(res)
    ng = P.pool_node_group(broken, "shared-b")
    ng["inputs"]["taints"] = []
    [v] = _violations_of(broken, "taints-match-admission")
    assert "pool shared-b lacks the taint tenancy/pool=shared-b:NO_SCHEDULE" in v.message
    # negative control: a stray rule letting news open connections to idle
    news, idle = (P.group_id(res, f"acme-{t}-nodes") for t in ("news", "idle"))
    for typ, group, peer in ((reach.SG_INGRESS, idle, news), (reach.SG_EGRESS, news, idle)):
        res.append({"type": typ, "name": f"stray-{typ}", "urn": f"urn:stray:{typ}", "id": f"stray-{typ}",
                    "custom": True, "parent": None, "tenant": None, "inputs": {
                        "securityGroupId": group, "referencedSecurityGroupId": peer, "ipProtocol": "-1"}})
    assert any("news open connections to idle" in v.message for v in _violations_of(res, "sg-cross-tenant-declared"))


def test_isolation_facts_model_pooled_pods_by_their_policy(render: RenderResult) -> None:
    from tenancy.review import reachability
    from tenancy.review.facts import facts_of

    res = _with_policies(render)
    m = reachability.tenant_machines(res, "media")
    assert m.groups == P.pod_groups(res, "acme", "media")
    assert m.cidrs == reach.node_group_machines(res, P.pool_node_group(res, "shared-a")).cidrs
    f = facts_of(res)
    assert f.network[("shop", "media")]["securityGroup"]  # declared
    assert not f.network[("idle", "media")]["securityGroup"]
    assert not f.network[("media", "news")]["securityGroup"]
    assert f.network[("alpha", "news")]["securityGroup"]  # a dedicated tenant allowed into a pooled one


def test_operability_covers_pooled_tenants(render: RenderResult, spec: dict[str, Any]) -> None:
    from tenancy.review import operability

    platform = load_platform(spec)
    res = _with_policies(render)
    findings = {f.name: f for f in operability.evaluate(platform, res)}
    pool_checks = [f for n, f in findings.items()
                   if ("pool" in n or "security groups for pods" in n) and not n.startswith("log router")]
    assert len(pool_checks) == 4 and all(f.status == "ok" for f in pool_checks), pool_checks
    assert findings["control plane → kubelet on every node (tcp/10250)"].status == "ok"
    # negative controls: no probe rule; no policy for a tenant; the CNI without pod ENIs
    no_probe = [r for r in res if r["name"] != f"media-nodes-{netplan.POOL_PROBE_RULE_KEY}"]
    f = {x.name: x for x in operability.evaluate(platform, no_probe)}
    assert f["pool nodes → pooled tenants' pods (kubelet probes, tcp)"].status == "missing"
    no_policy = [r for r in res if r["urn"] != "urn:sgp:film" and r.get("tenant") != "film"
                 or r["type"] != reach.SECURITY_GROUP_POLICY]
    [sgp] = [x for x in operability.evaluate(platform, no_policy) if x.name.startswith("security groups for pods")]
    assert sgp.status == "missing" and "film" in sgp.detail
    plain_cni = copy.deepcopy(res)
    for r in plain_cni:
        if r["type"] == ADDON and r["inputs"]["addonName"] == "vpc-cni":
            r["inputs"]["configurationValues"] = json.dumps({"enableNetworkPolicy": "true"})
    [sgp] = [x for x in operability.evaluate(platform, plain_cni) if x.name.startswith("security groups for pods")]
    assert sgp.status == "missing" and "ENABLE_POD_ENI" in sgp.detail


def test_moving_a_tenant_onto_a_pool_keeps_its_group(render: RenderResult, spec: dict[str, Any]) -> None:
    """gamma moves from its own nodes onto shared-b: its group stays (same URN, no ForceNew input
    changes: a replacement could not be created first, the name is unique in the VPC); its
    subnets, NACL and node group go; the probe rule is added."""
    from tenancy.plan.replacements import replacing_inputs

    moved = copy.deepcopy(spec)
    [gamma] = [t for t in moved["tenants"] if t["name"] == "gamma"]
    del gamma["slot"]
    gamma["pool"] = "shared-b"
    gamma["quota"] = P.SMALL  # fits the pool (capacity preflight)
    after = render_spec(moved)

    def groups(r: RenderResult) -> dict[str, dict[str, Any]]:
        return {g["urn"]: g for g in r.for_tenant("gamma") if g["type"] == P.SG}

    [(urn, before_sg)] = groups(render).items()
    after_sg = groups(after)[urn]
    changed = [k for k in set(before_sg["inputs"]) | set(after_sg["inputs"])
               if before_sg["inputs"].get(k) != after_sg["inputs"].get(k)]
    assert replacing_inputs(P.SG, changed) == [], changed
    kinds = {r["type"] for r in after.for_tenant("gamma")}
    assert not kinds & {SUBNET, P.NODE_GROUP, NACL, LT}
    assert any(r["name"] == f"gamma-nodes-{netplan.POOL_PROBE_RULE_KEY}" for r in after.for_tenant("gamma"))


def test_quota_inputs_from_the_raw_platform_object() -> None:
    """What the spec's validation passes to quota_problems (``**pool_quota_inputs(data)``)."""
    data = P.pooled_spec()
    data["tenants"].append({"name": 3, "pool": "shared-a"})  # malformed entries are skipped
    inputs = netplan.pool_quota_inputs(data)
    assert inputs == {"pool_of": P.POOL_OF, "pool_positions": {"shared-a": 0, "shared-b": 1}}
    allow = {t["name"]: t.get("allowFrom", []) for t in data["tenants"] if isinstance(t["name"], str)}
    positions = {n: i for i, n in enumerate(allow)}
    base_in = sum(r.direction == "ingress" for r in netplan.tenant_rules(False))
    # a quota of base + 1 inbound rules holds any tenant with one edge; pooled tenants with an
    # edge (media, news, film) need one more: the probe rule
    def inbound(**kw: Any) -> list[str]:
        return [p for p, m in netplan.quota_problems(allow, {}, positions, sg_rule_quota=base_in + 1, **kw)
                if "inbound" in m]

    assert inbound(**inputs) == ["tenants[3].allowFrom", "tenants[6].allowFrom", "tenants[7].allowFrom"]
    assert inbound() == []  # negative control: without the pools, nobody is over
