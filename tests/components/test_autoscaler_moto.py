"""The cluster-autoscaler's role on a real AWS API (moto): the cluster layer is replayed (node groups,
the Auto Scaling groups EKS would make for them, the rendered ASG tags, the autoscaler's role and
policy), a foreign cluster's group is added beside them, and the role's credentials are used with
IAM enforcement on.

moto authorises Auto Scaling and EKS calls against the resource ``*`` and without the
``aws:ResourceTag`` context (``moto/core/authorization.py``), so it judges the actions the role
may and may not call at all; which GROUP a write may touch (this cluster's tag) is judged by
IAM's matching rules (tests/helpers/iam_checks.py) over the ARNs and tags moto actually holds.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tenancy.render.result import RenderResult
from tests.components.test_cluster_replay import _replay
from tests.fixtures.specs import spec_with, tenant
from tests.helpers import iam_checks
from tests.helpers.cluster_render import NetworkIds, render_cluster

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rendered() -> tuple[RenderResult, NetworkIds]:
    return render_cluster(spec_with([tenant("alpha", 0, nodes={"minSize": 0, "maxSize": 4, "desiredSize": 0}),
                                     tenant("beta", 1)]))


def _denied(call: Any) -> bool:
    try:
        call()
        return False
    except ClientError as exc:
        assert exc.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException", "403"), exc.response
        return True


def test_autoscaler_role_on_moto(moto_server: Any, rendered: tuple[RenderResult, NetworkIds]) -> None:
    result, _ = rendered
    ctx = _replay(moto_server, rendered)
    asg = moto_server.client("autoscaling")
    groups = {g["AutoScalingGroupName"]: g for g in asg.describe_auto_scaling_groups()["AutoScalingGroups"]}
    assert len(groups) == 3  # system, alpha, beta
    # Every group carries the rendered discovery and node-template tags (read back from moto).
    for g in groups.values():
        tags = {t["Key"]: t["Value"] for t in g["Tags"]}
        assert tags["k8s.io/cluster-autoscaler/enabled"] == "true" and tags["k8s.io/cluster-autoscaler/acme"] == "owned"
        assert any(k.startswith("k8s.io/cluster-autoscaler/node-template/taint/") for k in tags)
    # A foreign cluster's group in the same account and Region.
    some = next(iter(groups.values()))
    asg.create_auto_scaling_group(
        AutoScalingGroupName="eks-other-ng", MinSize=0, MaxSize=3, DesiredCapacity=0,
        VPCZoneIdentifier=some["VPCZoneIdentifier"], LaunchConfigurationName=some["LaunchConfigurationName"],
        Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": False, "ResourceId": "eks-other-ng",
               "ResourceType": "auto-scaling-group"} for k, v in {"k8s.io/cluster-autoscaler/enabled": "true",
                                                                  "k8s.io/cluster-autoscaler/other": "owned"}.items()])
    foreign = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["eks-other-ng"])["AutoScalingGroups"][0]

    # The role's policy, as IAM (moto) stores it, judged per group over moto's ARNs and tags.
    [role] = [r for r in result.resources
              if r["type"] == "aws:iam/role:Role" and r["name"] == "acme_cluster-autoscaler"]
    iam = moto_server.client("iam")
    doc = iam.get_role_policy(RoleName="acme_cluster-autoscaler", PolicyName="cluster-autoscaler")["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc

    def context(g: dict[str, Any]) -> dict[str, str]:
        return {f"aws:ResourceTag/{t['Key']}": t["Value"] for t in g["Tags"]}

    for g in groups.values():
        for action in ("autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"):
            assert iam_checks.allows(doc, action, g["AutoScalingGroupARN"], context(g)), (action, g)
    for action in ("autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"):
        assert not iam_checks.allows(doc, action, foreign["AutoScalingGroupARN"], context(foreign))

    # Its credentials, with enforcement on: the reads work, no other write does.
    creds = moto_server.client("sts").assume_role_with_web_identity(
        RoleArn=ctx.resolve(role["outputs"]["arn"]), RoleSessionName="ca",
        WebIdentityToken="moto-does-not-check-tokens")["Credentials"]
    keys = {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"]}
    ca_asg, ca_ec2 = moto_server.client("autoscaling", **keys), moto_server.client("ec2", **keys)
    own = next(iter(groups))
    moto_server.set_enforcement(True)
    try:
        assert not _denied(lambda: ca_asg.describe_auto_scaling_groups())
        assert not _denied(lambda: ca_asg.describe_auto_scaling_instances())
        assert not _denied(lambda: ca_ec2.describe_instance_types(InstanceTypes=["m6i.large"]))
        assert not _denied(lambda: ca_asg.describe_launch_configurations())
        # Re-tagging a foreign group as this cluster's would defeat the tag condition: refused.
        assert _denied(lambda: ca_asg.create_or_update_tags(Tags=[{
            "ResourceId": "eks-other-ng", "ResourceType": "auto-scaling-group", "Key": "k8s.io/cluster-autoscaler/acme",
            "Value": "owned", "PropagateAtLaunch": False}]))
        assert _denied(lambda: ca_asg.update_auto_scaling_group(AutoScalingGroupName=own, MaxSize=400))
        assert _denied(lambda: ca_asg.delete_auto_scaling_group(AutoScalingGroupName="eks-other-ng"))
        assert _denied(lambda: ca_ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1))
    finally:
        moto_server.set_enforcement(False)
    # Nothing changed on the foreign group.
    after = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["eks-other-ng"])["AutoScalingGroups"][0]
    assert {t["Key"] for t in after["Tags"]} == {"k8s.io/cluster-autoscaler/enabled", "k8s.io/cluster-autoscaler/other"}
