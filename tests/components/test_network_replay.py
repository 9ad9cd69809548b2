"""Replay the rendered network into a real AWS API (moto on loopback) and read it back.

AWS's own validation judges the render here: subnets inside the VPC and not overlapping, rules
referencing groups and prefix lists that exist, endpoint services that exist in the region,
NACL entry numbers unique per direction. Then every resource reads back as rendered.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tenancy.render import render_spec
from tests.fixtures.specs import ALPHA, BETA, DELTA, GAMMA, spec_with
from tests.helpers.aws_replay import HANDLERS, NACL, NACL_RULE, NETWORK_TYPES, SUBNET, VPC, ReplayError, replay

pytestmark = pytest.mark.slow


def _network(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in resources if r["type"] in NETWORK_TYPES]


@pytest.fixture(scope="module")
def render():
    # NACLs on, mutual edge alpha ⇄ beta: every network resource type in one render
    tenants = [ALPHA, {**BETA, "allowFrom": ["alpha"]}, GAMMA, DELTA]
    return render_spec(spec_with(tenants, network={"tenantNetworkAcls": True}))


def test_rendered_network_replays_into_aws_and_reads_back(moto_server, render):
    resources = _network(render.resources)
    result = replay(moto_server, resources)
    assert len(result.replayed) == len([r for r in resources if r["custom"]])
    ec2 = moto_server.client("ec2")
    [vpc] = render.of_type("aws:ec2/vpc:Vpc")
    vpc_id = result.moto_id(vpc)
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert len(subnets) == len(render.of_type("aws:ec2/subnet:Subnet"))
    # a tenant's subnets carry its tag in AWS, so flow-log records (subnet-id) name the tenant
    for t in ("alpha", "beta", "gamma", "delta"):
        tagged = [s for s in subnets if {"Key": "tenancy/tenant", "Value": t} in s.get("Tags", [])]
        assert len(tagged) == 3

    # negative control for the read-back: a rule AWS holds that the render does not declare
    [gamma] = [r for r in render.of_type("aws:ec2/securityGroup:SecurityGroup") if r["name"] == "gamma-nodes"]
    ec2.authorize_security_group_ingress(
        GroupId=result.moto_id(gamma), IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                                       "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    problems = HANDLERS[gamma["type"]].check(result.ctx, gamma, result.moto_id(gamma))  # type: ignore[misc]
    assert problems and "rules" in problems[0]


def _mutate(render, typ: str, name: str, types: set[str], **inputs: Any) -> list[dict[str, Any]]:
    """The render's resources of ``types`` (enough to reach the mutated one, kept lean), with
    one resource's inputs changed."""
    resources = copy.deepcopy([r for r in render.resources if r["type"] in types])
    [r] = [r for r in resources if r["type"] == typ and r["name"] == name]
    r["inputs"].update(inputs)
    return resources


@pytest.mark.parametrize("cidr, error", [("10.41.16.0/23", "InvalidSubnet.Range"),
                                         ("10.40.24.0/23", "InvalidSubnet.Conflict")])
def test_negative_control_aws_rejects_a_misplaced_subnet(moto_server, render, cidr, error):
    """alpha's first subnet moved outside the VPC, or onto beta's block: AWS refuses it."""
    resources = _mutate(render, "aws:ec2/subnet:Subnet", "alpha-subnet-az0", {VPC, SUBNET}, cidrBlock=cidr)
    with pytest.raises(ReplayError, match=error):
        replay(moto_server, resources, check=False)


def test_negative_control_aws_rejects_a_colliding_nacl_entry(moto_server, render):
    [own] = [r for r in render.of_type("aws:ec2/networkAclRule:NetworkAclRule") if r["name"] == "alpha-nacl-own-in"]
    resources = _mutate(render, "aws:ec2/networkAclRule:NetworkAclRule", "alpha-from-beta-nacl-in",
                        {VPC, SUBNET, NACL, NACL_RULE}, ruleNumber=own["inputs"]["ruleNumber"])
    with pytest.raises(ReplayError, match="NetworkAclEntryAlreadyExists"):
        replay(moto_server, resources, check=False)
