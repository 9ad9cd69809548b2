"""A platform with node pools, every layer replayed into one real AWS API (moto on loopback)
and read back (the machinery of tests/components/test_platform_replay.py): pool subnets, node groups,
security groups and NACL entries are accepted by AWS's own validation, and what EC2/EKS/IAM then
hold is judged — pool node groups' labels, taints, subnets and groups
(``aws_replay_cluster._pool_node_group_check``), the pooled tenants' probe rule, the cluster
role's AmazonEKSVPCResourceController next to the CNI's ENABLE_POD_ENI."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tenancy.render import RenderResult, render_spec
from tests.components.test_platform_replay import NOT_MODELLED_BY_MOTO, _layers, _replay_platform
from tests.helpers import aws_replay
from tests.helpers import aws_replay_cluster as arc
from tests.helpers import pools as P

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def render() -> RenderResult:
    return render_spec(P.pooled_spec())


def test_every_aws_resource_of_a_pooled_platform_has_a_replay(render: RenderResult) -> None:
    network, cluster, identity = _layers(render)
    covered = {r["urn"] for r in network + cluster + identity if r["type"] in aws_replay.HANDLERS
               or r["type"] in arc.HANDLERS}
    from tests.helpers import aws_replay_identity as air

    covered |= {r["urn"] for r in identity if r["type"] in air.HANDLERS}
    aws = [r for r in render.resources if r["custom"] and r["type"].startswith(("aws:", "eks:"))]
    missing = sorted({r["type"] for r in aws if r["urn"] not in covered} - NOT_MODELLED_BY_MOTO)
    assert missing == [], f"AWS resources no replay creates: {missing}"
    pool_resources = [r for r in aws if "_pool-" in r["name"]]
    assert {r["type"] for r in pool_resources} >= {
        "aws:ec2/subnet:Subnet", "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/networkAcl:NetworkAcl",
        "aws:ec2/networkAclRule:NetworkAclRule", "aws:eks/nodeGroup:NodeGroup", "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:iam/role:Role", "aws:eks/accessEntry:AccessEntry", "aws:ec2/routeTableAssociation:RouteTableAssociation"}
    assert all(r["urn"] in covered for r in pool_resources)


def test_a_pooled_platform_replays_into_aws_and_reads_back(moto_server: Any, render: RenderResult,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws_replay, "HANDLERS", dict(aws_replay.HANDLERS))
    ctx = _replay_platform(moto_server, render)  # raises on a refused call or a read-back mismatch
    eks, ec2, iam = (moto_server.client(s) for s in ("eks", "ec2", "iam"))
    groups = eks.list_nodegroups(clusterName="acme")["nodegroups"]
    prefixes = sorted(n.rsplit("-", 1)[0] for n in groups)  # prefix + a unique suffix
    assert prefixes == ["acme-alpha", "acme-beta", "acme-gamma", "acme-pool-shared-a", "acme-pool-shared-b",
                        "acme_system"], prefixes
    for name in groups:
        ng = eks.describe_nodegroup(clusterName="acme", nodegroupName=name)["nodegroup"]
        pool = (ng.get("tags") or {}).get(P.POOL_LABEL)
        if not pool:
            continue
        assert ng["taints"] == [{"key": P.POOL_LABEL, "value": pool, "effect": "NO_SCHEDULE"}]
        subnets = ec2.describe_subnets(SubnetIds=ng["subnets"])["Subnets"]
        assert {t["Value"] for s in subnets for t in s["Tags"] if t["Key"] == P.POOL_LABEL} == {pool}
    # the cluster role (pulumi-eks's, found through describe-cluster) holds the policy
    role = eks.describe_cluster(name="acme")["cluster"]["roleArn"].rsplit("/", 1)[-1]
    attached = {p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]}
    assert attached == {"AmazonEKSClusterPolicy", "AmazonEKSVPCResourceController"}
    # the pooled tenant's group admits its pool's nodes, as EC2 holds it
    media = ctx.resolve(P.group_id(render.resources, "acme-media-nodes"))
    pool_sg = ctx.resolve(P.group_id(render.resources, "acme-pool-shared-a-nodes"))
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [media]}])["SecurityGroupRules"]
    assert any(not r["IsEgress"] and (r.get("ReferencedGroupInfo") or {}).get("GroupId") == pool_sg for r in rules)

    # negative control: take the policy away in AWS, and the add-on's read-back sees it
    iam.detach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/AmazonEKSVPCResourceController")
    [cni] = [a for a in render.of_type("aws:eks/addon:Addon") if a["inputs"]["addonName"] == "vpc-cni"]
    problems = arc._addon_check(ctx, cni, None)
    assert any("cluster role" in p for p in problems), problems
    # ... and a CNI configuration in standard mode is refused
    standard = {**cni, "inputs": {**cni["inputs"], "configurationValues": json.dumps(
        {**json.loads(cni["inputs"]["configurationValues"]),
         "env": {"ENABLE_POD_ENI": "true", "POD_SECURITY_GROUP_ENFORCING_MODE": "standard"}})}}
    assert any("standard" in p for p in arc._addon_check(ctx, standard, None))
