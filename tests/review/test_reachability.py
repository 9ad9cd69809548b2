"""What must be REACHABLE, judged by the product's security-group analysis
(tenancy/review/reachability.py, through tests/helpers/sg_reachability.py's endpoints) on the
rendered security group rules — the counterpart of the isolation tests. Each flow has a
negative control: a render or a client for which it must NOT hold.

The flows (and why the platform needs them) are written here by hand from the providers' and
EKS's documentation, not read back from tenancy/plan/network.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tenancy import SpecError, load_platform
from tenancy.render import RenderResult, render_spec
from tenancy.review import operability
from tests.fixtures.specs import spec_with
from tests.helpers import sg_reachability as reach

SG = "aws:ec2/securityGroup:SecurityGroup"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
CI_IN_VPC = "10.40.1.10/32"  # a CI runner in a system subnet of the default spec's VPC 10.40.0.0/16
OFFICE = "198.51.100.0/24"


def _cidrs(render: RenderResult, subnet_ids: list[str]) -> tuple[Any, ...]:
    by_id = {r["id"]: r for r in render.of_type("aws:ec2/subnet:Subnet")}
    return tuple(reach.Net(by_id[s]["inputs"]["cidrBlock"]) for s in subnet_ids)


def _cp(render: RenderResult) -> reach.Machines:
    """The control plane's ENIs: the group given to EKS, in the cluster's subnets."""
    [c] = render.of_type("eks:index:Cluster")
    return reach.Machines("control plane", frozenset([c["inputs"]["clusterSecurityGroup"]]),
                          _cidrs(render, c["inputs"]["subnetIds"]))


@pytest.fixture(scope="module")
def default() -> RenderResult:
    return render_spec(spec_with())


@pytest.fixture(scope="module")
def narrowed() -> RenderResult:
    return render_spec(spec_with(cluster={"apiAccessCidrs": [OFFICE],
                                          "apiAccessSecurityGroupIds": ["sg-0123456789abcdef0"]}))


# --------------------------------------------------------------------------------------------
# Deployer → API (D1)


def test_deployer_in_the_vpc_reaches_the_private_api_by_default(default) -> None:
    rules = reach.rules_of(default.resources)
    assert reach.can_reach(rules, reach.external("ci", CI_IN_VPC), _cp(default), "tcp", 443)
    # negative controls: not from outside the VPC, not on another port
    assert not reach.can_reach(rules, reach.external("office", "198.51.100.7/32"), _cp(default), "tcp", 443)
    assert not reach.can_reach(rules, reach.external("ci", CI_IN_VPC), _cp(default), "tcp", 22)


def test_api_access_cidrs_and_groups_replace_the_vpc_default(narrowed) -> None:
    rules = reach.rules_of(narrowed.resources)
    cp = _cp(narrowed)
    assert reach.can_reach(rules, reach.external("office", "198.51.100.7/32"), cp, "tcp", 443)
    assert reach.can_reach(rules, reach.external("runner", group="sg-0123456789abcdef0"), cp, "tcp", 443)
    # negative controls: the VPC default is gone, another group is not admitted
    assert not reach.can_reach(rules, reach.external("ci", CI_IN_VPC), cp, "tcp", 443)
    assert not reach.can_reach(rules, reach.external("other", group="sg-0fedcba9876543210"), cp, "tcp", 443)
    f = _finding(narrowed, "deployer → Kubernetes API")
    assert f.status == "ok"


def test_api_access_is_validated() -> None:
    for bad, needle in (({"apiAccessCidrs": ["0.0.0.0/0"]}, "must not contain 0.0.0.0/0"),
                        ({"apiAccessCidrs": []}, "nobody could reach the Kubernetes API"),
                        ({"apiAccessSecurityGroupIds": ["sg-12"]}, "is not a security group id"),
                        ({"apiAccessCidrs": [f"10.{i}.0.0/16" for i in range(19)]}, "inbound rules, over the quota")):
        with pytest.raises(SpecError) as err:
            load_platform(spec_with(cluster=bad, network={"securityGroupRuleQuota": 20}))
        assert any(needle in p.message and p.path.startswith("cluster") for p in err.value.problems), err.value
    # a public endpoint alone is a way in
    load_platform(spec_with(cluster={"apiAccessCidrs": [], "endpointPublicAccessCidrs": [OFFICE]}))


def test_report_lists_api_clients_and_every_cluster_admin(narrowed) -> None:
    from tenancy.render.writer import report

    text = report(narrowed)
    section = text.split("## API access", 1)[1].split("\n## ", 1)[0]
    assert "addresses in 198.51.100.0/24" in section
    assert "security group `sg-0123456789abcdef0`" in section
    assert "10.40.0.0/16" not in section
    assert "runs `pulumi up`" in section and "bootstrapClusterCreatorAdminPermissions" in section
    assert "outside the VPC: 198.51.100.0/24" in text  # flagged as loosening


# --------------------------------------------------------------------------------------------
# Nodes ↔ control plane


def _node_groups(render: RenderResult) -> dict[str, reach.Machines]:
    return {(ng["tenant"] or "@system"): reach.node_group_machines(render.resources, ng)
            for ng in render.of_type(NODE_GROUP)}


def test_nodes_and_control_plane_reach_each_other(default) -> None:
    rules = reach.rules_of(default.resources)
    cp, nodes = _cp(default), _node_groups(default)
    assert set(nodes) == {"@system", "alpha", "beta", "gamma"}
    for who, m in nodes.items():
        assert reach.can_reach(rules, m, cp, "tcp", 443), who
        assert reach.can_reach(rules, cp, m, "tcp", 10250), who
        assert not reach.can_reach(rules, cp, m, "tcp", 22), who  # negative control
    for port in (443, 9443):  # add-on webhooks (EBS CSI, LB controller) on the system nodes
        assert reach.can_reach(rules, cp, nodes["@system"], "tcp", port)


def test_tenant_nodes_reach_the_interface_endpoints(default) -> None:
    rules = reach.rules_of(default.resources)
    eps = [e for e in default.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
           if e["inputs"]["vpcEndpointType"] == "Interface"]
    assert eps
    ep = reach.Machines("endpoints", frozenset(g for e in eps for g in e["inputs"]["securityGroupIds"]),
                        _cidrs(default, [s for e in eps for s in e["inputs"]["subnetIds"]]))
    for t, m in _node_groups(default).items():
        assert reach.can_reach(rules, m, ep, "tcp", 443), t
        assert not reach.can_reach(rules, m, ep, "tcp", 80), t  # negative control


def _finding(render: RenderResult, start: str) -> operability.Finding:
    [f] = [f for f in operability.evaluate(render.spec, render.resources) if f.name.startswith(start)]
    return f


def _without(render: RenderResult, pred: Any) -> list[dict[str, Any]]:
    return [r for r in render.resources if not pred(r)]


def test_operability_report_agrees_with_the_analyser_on_a_broken_render(default) -> None:
    res = _without(default, lambda r: r["name"] == "acme-control-plane-in-api-vpc")
    f = operability.evaluate(default.spec, res)
    [d] = [x for x in f if x.name.startswith("deployer")]
    assert d.status == "missing"
    assert not reach.can_reach(reach.rules_of(res), reach.external("ci", CI_IN_VPC), _cp(default), "tcp", 443)


# --------------------------------------------------------------------------------------------
# Load balancers → ingress controller (D11)


@pytest.fixture(scope="module")
def with_ingress() -> RenderResult:
    return render_spec(spec_with(workloads={"ingressControllerNamespace": "ingress-nginx"}))


def test_load_balancers_reach_the_ingress_controller_on_system_nodes(with_ingress, default) -> None:
    public = with_ingress.spec.address_plan.public_subnets()
    lb = reach.external("nlb", str(next(public[0].hosts())) + "/32")  # an LB ENI in a public subnet
    for render, expected in ((with_ingress, True), (default, False)):  # negative control: no controller
        rules = reach.rules_of(render.resources)
        system = _node_groups(render)["@system"]
        for port in (80, 443):
            assert reach.can_reach(rules, lb, system, "tcp", port) is expected, (port, expected)
    rules = reach.rules_of(with_ingress.resources)
    nodes = _node_groups(with_ingress)
    assert not reach.can_reach(rules, lb, nodes["@system"], "tcp", 22)
    assert not reach.can_reach(rules, reach.external("internet", "203.0.113.9/32"), nodes["@system"], "tcp", 443)
    for t in ("alpha", "beta", "gamma"):  # straight to tenant nodes: never
        assert not reach.can_reach(rules, lb, nodes[t], "tcp", 443), t
        # the controller on the system nodes reaches the tenants' pods (NetworkPolicies narrow it)
        assert reach.can_reach(rules, nodes["@system"], nodes[t], "tcp", 8080), t


def test_exactly_one_cluster_tagged_group_per_node_eni(with_ingress) -> None:
    """aws-load-balancer-controller resolveEndpointSGForENI: with several groups on an ENI,
    exactly one must carry kubernetes.io/cluster/<name>; and never the marker every tenant node
    carries (the controller's rules there would reach every tenant)."""
    tag = "kubernetes.io/cluster/acme"
    sgs = {r["id"]: r for r in with_ingress.of_type(SG)}
    marker = next(i for i, r in sgs.items() if r["name"] == "acme-tenant-nodes")
    for who, m in _node_groups(with_ingress).items():
        tagged = [g for g in m.groups if tag in (sgs[g]["inputs"].get("tags") or {})]
        assert len(tagged) == 1, (who, tagged)
        assert marker not in tagged
    assert _finding(with_ingress, "exactly one kubernetes.io/cluster").status == "ok"
    from tenancy.render.writer import report

    assert "load balancers in the public subnets (10.40.0.0/21) may reach the system nodes" in report(with_ingress)
    # negative control: tag the marker too → two tagged groups on tenant ENIs
    res = [dict(r, inputs={**r["inputs"], "tags": {**(r["inputs"].get("tags") or {}), tag: "shared"}})
           if r["id"] == marker else r for r in with_ingress.resources]
    [f] = [f for f in operability.evaluate(with_ingress.spec, res) if f.name.startswith("exactly one")]
    assert f.status == "missing" and "alpha-nodes" in f.detail


def test_the_moto_judge_shares_no_code_with_the_product_analysis() -> None:
    """tests/components/test_sg_judge_moto.py is the independent judge of security-group
    reachability (issue 20): it imports neither the product's evaluator nor the tests' endpoint
    helpers over it, and takes from tests/helpers/pools.py only the spec and the pool map."""
    import ast
    from pathlib import Path

    src = Path(__file__).parents[1] / "components" / "test_sg_judge_moto.py"
    tree = ast.parse(src.read_text())
    imported = {a.name if isinstance(n, ast.Import) else f"{n.module}.{a.name}"
                for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert not [m for m in imported if "reachability" in m or "tenancy.review" in m], imported
    used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
            and n.value.id == "P"}
    assert used == {"pooled_spec", "POOL_OF"}, used
