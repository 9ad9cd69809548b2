"""The cluster layer's AWS resources, replayed into a real AWS API (moto) and read back.

Moto judges what it models (policy ARNs exist, documents parse, the launch template and cluster
exist when node groups reference them); the checkers in tests/helpers/aws_replay_cluster.py judge
what moto stores without validating (taints, labels, subnet and security-group ownership by tag,
IMDS settings, one access entry per principal, add-on configuration and IRSA trust).
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from tenancy.render.result import RenderResult
from tests.components.test_cluster import _spec
from tests.helpers import aws_replay_cluster as arc
from tests.helpers.cluster_render import NetworkIds, render_cluster
from tests.helpers.layers import owned_by

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rendered() -> tuple[RenderResult, NetworkIds]:
    return render_cluster(_spec())


def _context(server: Any, result: RenderResult, net: NetworkIds) -> Any:
    """A replay context holding the network the cluster layer builds on."""
    from tests.helpers import aws_replay  # the network layer's replay

    # The network layer's resources by owner (not "has a handler": arc.register() adds the
    # cluster's types to the shared table, and identity owns keys of the same types).
    network = [r for r in owned_by(result, "tenancy:network:") if r["custom"]]
    arc.register()
    return aws_replay.replay(server, network).ctx


def _replay(server: Any, rendered: tuple[RenderResult, NetworkIds],
            resources: list[dict[str, Any]] | None = None) -> Any:
    result, net = rendered
    ctx = _context(server, result, net)
    arc.replay_cluster(ctx, resources if resources is not None else result.resources)
    return ctx


_SUFFIX = re.compile(r"(acme[-_][a-z]+)-(?:[0-9a-f]{26}|[0-9a-f]{7})\b")


def _unsuffixed(name: str) -> str:
    """A node group's name without the suffix the provider (here the mocks) adds to its prefix."""
    return _SUFFIX.sub(r"\1", name)


def test_cluster_layer_replays_and_reads_back(moto_server: Any, rendered: tuple[RenderResult, Any]) -> None:
    ctx = _replay(moto_server, rendered)
    eks = ctx.client("eks")
    names = eks.list_nodegroups(clusterName="acme")["nodegroups"]
    # node_group_name_prefix: EKS holds the prefix plus a unique suffix
    assert sorted(_unsuffixed(n) for n in names) == ["acme-alpha", "acme-beta", "acme-gamma", "acme_system"]
    [alpha] = [n for n in names if _unsuffixed(n) == "acme-alpha"]
    ng = eks.describe_nodegroup(clusterName="acme", nodegroupName=alpha)["nodegroup"]
    assert ng["taints"] == [{"key": "tenancy/tenant", "value": "alpha", "effect": "NO_SCHEDULE"}]
    assert ng["labels"] == {"tenancy/tenant": "alpha"}
    assert ng["scalingConfig"] == {"minSize": 2, "maxSize": 5, "desiredSize": 3}
    # Node role: exactly the two node policies, both real AWS managed policies.
    iam = ctx.client("iam")
    attached = iam.list_attached_role_policies(RoleName="acme-alpha-node")["AttachedPolicies"]
    assert sorted(p["PolicyName"] for p in attached) == ["AmazonEC2ContainerRegistryPullOnly",
                                                         "AmazonEKSWorkerNodePolicy"]
    entries = ctx.extra["access_entries"]["acme"]
    assert entries[ng["nodeRole"]]["type"] == "EC2_LINUX"


def test_every_cluster_resource_was_replayed(rendered: tuple[RenderResult, Any]) -> None:
    result, _ = rendered
    mine = arc.cluster_layer(result.resources)
    custom_aws = [r for r in result.resources if r["custom"] and r["type"].startswith("aws:")
                  and any(a in (r.get("parent") or "") for a in ("tenancy:cluster:",))]
    assert {r["urn"] for r in custom_aws} <= {r["urn"] for r in mine}
    assert any(r["type"] == "eks:index:Cluster" for r in mine)


# --------------------------------------------------------------------------------------------
# Negative controls: a broken render must make the replay fail


def _mutated(result: RenderResult, typ: str, name: str, mutate: Any) -> list[dict[str, Any]]:
    resources = copy.deepcopy(result.resources)
    target = next(r for r in resources if r["type"] == typ and r["name"] == name)
    mutate(target["inputs"])
    return resources


def _ng_subnets(result: RenderResult, name: str) -> list[str]:
    return next(r for r in result.resources if r["type"] == "aws:eks/nodeGroup:NodeGroup"
                and r["name"] == name)["inputs"]["subnetIds"]


def test_negative_controls_found_on_read_back(moto_server: Any, rendered: tuple[RenderResult, Any]) -> None:
    """Several independent breakages in one render: the read-back must name every one."""
    result, _ = rendered
    resources = copy.deepcopy(result.resources)

    def edit(typ: str, name: str, fn: Any) -> None:
        fn(next(r for r in resources if r["type"] == typ and r["name"] == name)["inputs"])

    ng, lt = "aws:eks/nodeGroup:NodeGroup", "aws:ec2/launchTemplate:LaunchTemplate"
    cp = next(r for r in result.resources if r["type"] == "eks:index:Cluster")["inputs"]["clusterSecurityGroup"]
    edit(ng, "alpha-nodes", lambda i: i.update(taints=[{"key": "tenancy/tenant", "value": "alpha",
                                                        "effect": "NoSchedule"}]))  # Kubernetes casing
    edit(ng, "beta-nodes", lambda i: i.update(labels={"tenancy/tenant": "gamma"}))
    edit(ng, "gamma-nodes", lambda i: i.update(subnetIds=[*i["subnetIds"], _ng_subnets(result, "beta-nodes")[0]]))
    edit(ng, "acme_system-nodes", lambda i: i.update(labels={"tenancy//pool": "system"}))
    edit(lt, "alpha-nodes", lambda i: i["metadataOptions"].update(httpPutResponseHopLimit=2))
    edit(lt, "beta-nodes", lambda i: i["blockDeviceMappings"][0]["ebs"].update(encrypted="false"))
    edit(lt, "gamma-nodes", lambda i: i.update(vpcSecurityGroupIds=[*i["vpcSecurityGroupIds"], cp]))
    edit("aws:eks/addon:Addon", "acme_vpc-cni", lambda i: i.update(configurationValues="{}"))
    edit("eks:index:Cluster", "acme_eks", lambda i: i.update(enabledClusterLogTypes=["api"]))
    with pytest.raises(arc.ReplayFailure) as err:
        _replay(moto_server, rendered, resources)
    msg = _SUFFIX.sub(r"\1", str(err.value))
    for expected in ("acme-alpha: taint effect 'NoSchedule'", "acme-beta: label tenancy/tenant=gamma but tagged beta",
                     "belongs to beta, not gamma", "acme_system: label 'tenancy//pool': prefix is not a DNS subdomain",
                     "acme-alpha: IMDS is not v2-only with hop limit 1", "acme-beta: volume /dev/xvda is not encrypted",
                     "acme-gamma: nodes carry the control plane's security group",
                     "vpc-cni: network policy enforcement is off", "acme: audit/authenticator logs not enabled"):
        assert expected in msg, (expected, msg)


def test_negative_control_unknown_managed_policy(moto_server: Any, rendered: tuple[RenderResult, Any]) -> None:
    result, _ = rendered
    resources = _mutated(result, "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                         "alpha-node-AmazonEKSWorkerNodePolicy",
                         lambda i: i.update(policyArn="arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicyTypo"))
    with pytest.raises(arc.ReplayFailure, match="AWS refused it.*NoSuchEntity"):
        _replay(moto_server, rendered, resources)


def test_negative_control_ebs_csi_role_trusting_another_service_account(
        moto_server: Any, rendered: tuple[RenderResult, Any]) -> None:
    result, _ = rendered
    resources = _mutated(result, "aws:iam/role:Role", "acme_ebs-csi-role", lambda i: i.update(
        assumeRolePolicy=i["assumeRolePolicy"].replace("kube-system:ebs-csi-controller-sa", "kube-system:default")))
    with pytest.raises(arc.ReplayFailure, match="aws-ebs-csi-driver role trust is not scoped to its controller"):
        _replay(moto_server, rendered, resources)


def test_negative_control_duplicate_access_entry(moto_server: Any, rendered: tuple[RenderResult, Any]) -> None:
    result, _ = rendered
    alpha_admin = next(r for r in result.resources if r["type"] == "aws:eks/accessEntry:AccessEntry"
                       and r["tenant"] == "alpha" and r["inputs"]["type"] == "STANDARD")
    resources = _mutated(result, "aws:eks/accessEntry:AccessEntry",
                         next(r["name"] for r in result.resources if r["type"] == "aws:eks/accessEntry:AccessEntry"
                              and r["tenant"] == "beta" and r["inputs"]["type"] == "STANDARD"),
                         lambda i: i.update(principalArn=alpha_admin["inputs"]["principalArn"]))
    with pytest.raises(arc.ReplayFailure, match="already has an access entry"):
        _replay(moto_server, rendered, resources)
