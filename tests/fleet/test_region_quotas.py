"""Fleets and per-Region quotas (issue 22): the cells of one account and Region share its Elastic IPs,
VPCs, internet gateways, security groups and network interfaces. The counts are checked against what
the real stack program registers (the render), and the planner refuses a fleet or a placement over a
quota, naming the Region, the quota, the count and the fix; negative controls with the quota raised."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenancy.fleet.placement import plan_placement
from tenancy.fleet.spec import load_fleet
from tenancy.plan.pools import branch_eni_table
from tenancy.plan.region import EKS_CONTROL_PLANE_INTERFACES, region_usage
from tenancy.plan.validate import load_platform
from tenancy.render import render_spec
from tenancy.spec import SpecError
from tests.fixtures.specs import spec_with, tenant

from .helpers import fleet_doc, tenants

ROOT = Path(__file__).resolve().parents[2]
EKS_CREATED_GROUPS = 1
"""The cluster security group EKS creates itself (not a resource of the program)."""


@pytest.mark.parametrize("overrides", [
    {},
    {"network": {"natGateways": "single"}, "identity": {"mode": "podIdentity"}},
    {"nodePools": [{"name": "shared", "slot": 5}]},
])
def test_region_counts_match_the_render(overrides: dict[str, Any]) -> None:
    ts = [tenant("a", 0, nodes={"instanceTypes": ["m6i.xlarge"], "maxSize": 4}), tenant("b", 1)]
    if "nodePools" in overrides:
        ts.append({"name": "c", "pool": "shared", "quota": {"pods": 20}})
    platform = spec_with(ts, **overrides)
    spec = load_platform(platform)
    result = render_spec(platform, stack="region")
    usage = region_usage(spec)
    assert usage.elasticIps == len(result.of_type("aws:ec2/eip:Eip")) == len(result.of_type(
        "aws:ec2/natGateway:NatGateway"))
    assert usage.vpcs == len(result.of_type("aws:ec2/vpc:Vpc")) == 1
    assert usage.internetGateways == len(result.of_type("aws:ec2/internetGateway:InternetGateway")) == 1
    assert usage.securityGroups == (len(result.of_type("aws:ec2/securityGroup:SecurityGroup"))
                                    + len(result.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"))
                                    + EKS_CREATED_GROUPS)
    # network interfaces, from the rendered resources: node groups at maxSize × their types' interfaces,
    # pools' branch interfaces, NAT gateways, interface endpoints in their subnets, the control plane
    table = branch_eni_table()
    nodes = sum(int(g["inputs"]["scalingConfig"]["maxSize"]) * max(table.types[t].interfaces
                                                                   for t in g["inputs"]["instanceTypes"])
                for g in result.of_type("aws:eks/nodeGroup:NodeGroup"))
    pool_groups = [g for g in result.of_type("aws:eks/nodeGroup:NodeGroup")
                   if "tenancy/pool" in (g["inputs"].get("labels") or {})
                   and g["inputs"]["labels"]["tenancy/pool"] != "system"]
    branches = sum(int(g["inputs"]["scalingConfig"]["maxSize"]) * min(table.types[t].branch_interfaces
                                                                      for t in g["inputs"]["instanceTypes"])
                   for g in pool_groups)
    endpoints = sum(len(e["inputs"].get("subnetIds") or []) for e in result.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
                    if e["inputs"].get("vpcEndpointType") == "Interface")
    assert usage.networkInterfaces == nodes + branches + usage.elasticIps + endpoints + EKS_CONTROL_PLANE_INTERFACES
    assert bool(pool_groups) == ("nodePools" in overrides)


def _per_az(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["fleet"]["defaults"]["network"] = {"natGateways": "perAz"}
    return doc


def test_nat_gateways_per_zone_in_one_region_are_over_the_elastic_ip_quota() -> None:
    doc = _per_az(fleet_doc(tenants(2)))  # eu-1 and eu-2 in eu-west-1: 2 cells × 3 zones
    with pytest.raises(SpecError) as exc:
        plan_placement(load_fleet(doc))
    [p] = exc.value.problems
    assert p.path == "accounts (111122223333).regions (eu-west-1)"
    for words in ("Region eu-west-1 of account 111122223333", "6 Elastic IP addresses", "eu-1, eu-2",
                  "'EC2-VPC Elastic IPs'", "elasticIpQuota", "natGateways: single"):
        assert words in p.message, p.message
    # negative controls: us-east-1 alone (3) fits; a declared raised quota fits; so does one NAT per cell
    raised = copy.deepcopy(doc)
    raised["fleet"]["accounts"] = [{"id": "111122223333", "regions": [{"region": "eu-west-1", "elasticIpQuota": 6}]}]
    placement = plan_placement(load_fleet(raised))
    t = placement.regions[("111122223333", "eu-west-1")]
    assert (t.usage.elasticIps, t.limits["elasticIps"]) == (6, 6)
    assert placement.regions[("444455556666", "us-east-1")].usage.elasticIps == 3
    plan_placement(load_fleet(fleet_doc(tenants(2))))
    # IPs already in use outside the fleet count
    raised["fleet"]["accounts"][0]["regions"][0]["elasticIpsInUse"] = 1
    with pytest.raises(SpecError, match="over the 5 left of its quota 'EC2-VPC Elastic IPs'"):
        plan_placement(load_fleet(raised))


def test_vpcs_and_internet_gateways_per_region() -> None:
    cells = [{"name": f"c{i}", "account": "111122223333", "vpcCidr": f"10.{80 + i}.0.0/16"} for i in range(6)]
    doc = fleet_doc(tenants(6), cells=cells)
    with pytest.raises(SpecError) as exc:
        plan_placement(load_fleet(doc))
    assert "6 Elastic IP addresses" in str(exc.value)  # 6 single NAT gateways: Elastic IPs first
    doc["fleet"]["accounts"] = [{"id": "111122223333", "regions": [{"region": "eu-west-1", "elasticIpQuota": 6}]}]
    with pytest.raises(SpecError) as exc:
        plan_placement(load_fleet(doc))
    assert "6 VPCs (one per cell)" in str(exc.value) and "vpcQuota" in str(exc.value)
    doc["fleet"]["accounts"][0]["regions"][0]["vpcQuota"] = 6
    with pytest.raises(SpecError) as exc:
        plan_placement(load_fleet(doc))
    assert "6 internet gateways" in str(exc.value) and "internetGatewayQuota" in str(exc.value)
    doc["fleet"]["accounts"][0]["regions"][0]["internetGatewayQuota"] = 6
    assert len(plan_placement(load_fleet(doc)).cells) == 6


def test_security_groups_over_the_region_quota_refuse_the_tenant_that_does_not_fit() -> None:
    doc = fleet_doc(tenants(8), accounts=[{"id": "111122223333", "regions": [
        {"region": "eu-west-1", "securityGroupQuota": 19}]}],
        cells=[{"name": "eu-1", "account": "111122223333", "vpcCidr": "10.80.0.0/16"},
               {"name": "eu-2", "account": "111122223333", "vpcCidr": "10.81.0.0/16"}])
    with pytest.raises(SpecError) as exc:
        plan_placement(load_fleet(doc))
    [p] = exc.value.problems
    assert "cannot be placed in any cell" in p.message
    assert "20 security groups" in p.message and "'VPC security groups per Region'" in p.message
    assert "securityGroupQuota" in p.message
    doc["fleet"]["accounts"][0]["regions"][0]["securityGroupQuota"] = 20  # negative control
    assert sum(len(c.tenants) for c in plan_placement(load_fleet(doc)).cells.values()) == 8


def test_network_interfaces_per_region() -> None:
    big = {"nodes": {"instanceTypes": ["m6i.large"], "maxSize": 100}}
    doc = fleet_doc(tenants(2, **big), accounts=[{"id": "111122223333", "regions": [
        {"region": "eu-west-1", "networkInterfaceQuota": 500}]}],
        cells=[{"name": "eu-1", "account": "111122223333", "vpcCidr": "10.80.0.0/16"}])
    with pytest.raises(SpecError) as exc:
        plan_placement(load_fleet(doc))
    assert "network interfaces" in str(exc.value) and "networkInterfaceQuota" in str(exc.value)
    assert "lower nodes.maxSize" in str(exc.value)
    doc["fleet"]["accounts"][0]["regions"][0]["networkInterfaceQuota"] = 5000
    used = plan_placement(load_fleet(doc)).regions[("111122223333", "eu-west-1")].usage.networkInterfaces
    # 2 tenants × 100 nodes × 3 interfaces (m6i.large) + system 4 × 3 + NAT 1 + 5 endpoints × 3 zones + 4
    assert used == 600 + 12 + 1 + 15 + 4


def test_shipped_example_declares_its_raised_elastic_ip_quota() -> None:
    doc = yaml.safe_load((ROOT / "fleets" / "acme.yaml").read_text())
    placement = plan_placement(load_fleet(doc))
    eu = placement.regions[("111122223333", "eu-west-1")]
    assert eu.usage.elasticIps == 9 and eu.limits["elasticIps"] == 15
    # negative control: without the declared quota the example is refused, naming the Region and the fix
    for a in doc["fleet"]["accounts"]:
        a.pop("regions", None)
    with pytest.raises(SpecError, match=r"Region eu-west-1 of account 111122223333 would hold 9 Elastic IP"):
        plan_placement(load_fleet(doc))


def test_a_region_listed_twice_for_an_account_is_refused() -> None:
    doc = fleet_doc(tenants(1), accounts=[{"id": "111122223333", "regions": [
        {"region": "eu-west-1", "elasticIpQuota": 10}, {"region": "eu-west-1", "vpcQuota": 10}]}])
    with pytest.raises(SpecError) as exc:
        load_fleet(doc)
    assert [p.path for p in exc.value.problems] == ["accounts[0].regions[1].region"]
    assert "listed twice" in exc.value.problems[0].message
    doc["fleet"]["accounts"][0]["regions"][1]["region"] = "eu-central-1"  # negative control
    load_fleet(doc)
