"""Replay the cluster layer's rendered AWS resources into moto, and judge what moto holds.

Handlers have the shape of ``tests.helpers.aws_replay`` (the network layer's replay table):
``create(ctx, resource) -> moto id`` and ``check(ctx, resource, moto_id) -> [mismatches]``, with
``ctx`` offering ``client(service)``, ``resolve(value)``, ``alias(rendered, moto)``, ``account``
and ``extra``. :func:`register` adds them to that table when it exists; :func:`replay_cluster`
runs them itself (in a fixed dependency order) on the shared context, after the network
resources were replayed.

What moto checks by itself: IAM managed-policy ARNs exist (attach fails otherwise), role trust
documents parse, the KMS key and log group exist where referenced, the node group's launch
template exists, the cluster is ACTIVE before node groups. What it does not (moto stores EKS
taints and labels, and has no access-entry or add-on API), the checkers verify here: taint
effects and Kubernetes label/taint syntax, label/taint/tag agreement, that every subnet and
security group of a tenant's nodes belongs to that tenant (by its tags in EC2), IMDS and volume
settings as stored, one access entry per principal, add-on configuration and IRSA trust.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

RENDER_ACCOUNT = "111122223333"
TENANT_TAG = "tenancy/tenant"
POOL_TAG = "tenancy/pool"
TAINT_EFFECTS = {"NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"}
_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
CLOUDWATCH_RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                             2557, 2922, 3288, 3653}

Create = Callable[[Any, dict[str, Any]], "str | None"]
Check = Callable[[Any, dict[str, Any], "str | None"], list[str]]

ORDER = [
    "aws:kms/key:Key",
    "aws:kms/alias:Alias",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:iam/role:Role",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/rolePolicy:RolePolicy",
    "eks:index:Cluster",
    "aws:eks/addon:Addon",  # vpc-cni; coredns is checked after the node groups
    "aws:eks/accessEntry:AccessEntry",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:eks/nodeGroup:NodeGroup",
    "aws:autoscaling/tag:Tag",
]
"""Types this module replays, in creation order."""


class ReplayFailure(AssertionError):
    pass


def qualified_name_problems(key: str) -> list[str]:
    """Kubernetes label/taint key syntax: ``[prefix/]name``, name ≤ 63, prefix a DNS subdomain ≤ 253."""
    prefix, _, name = key.rpartition("/")
    out = []
    if not name or len(name) > 63 or not _NAME.match(name):
        out.append(f"{key!r}: name part is not a valid qualified name")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        out.append(f"{key!r}: prefix is not a DNS subdomain")
    return out


def label_value_problems(value: str) -> list[str]:
    if value == "":
        return []
    if len(value) > 63 or not _NAME.match(value):
        return [f"{value!r} is not a valid label value"]
    return []


def _tags(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


# --------------------------------------------------------------------------------------------
# Handlers


def _kms_key(ctx: Any, r: dict[str, Any]) -> str:
    i = ctx.resolve(r["inputs"])
    kms = ctx.client("kms")
    extra = {"Policy": i["policy"]} if i.get("policy") else {}  # else AWS's default key policy
    meta = kms.create_key(Description=i.get("description", ""), **extra,
                          Tags=[{"TagKey": k, "TagValue": v} for k, v in (i.get("tags") or {}).items()])["KeyMetadata"]
    if i.get("enableKeyRotation"):
        kms.enable_key_rotation(KeyId=meta["KeyId"])
    ctx.alias(r["outputs"]["arn"], meta["Arn"])
    ctx.alias(r["outputs"]["keyId"], meta["KeyId"])
    ctx.alias(r["id"], meta["KeyId"])
    return meta["KeyId"]


def _kms_key_check(ctx: Any, r: dict[str, Any], key_id: str | None) -> list[str]:
    kms = ctx.client("kms")
    out = []
    if not kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]:
        out.append(f"{r['name']}: key rotation is off")
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    if not any(s.get("Principal", {}).get("AWS") == f"arn:aws:iam::{ctx.account}:root" for s in policy["Statement"]):
        out.append(f"{r['name']}: the account cannot administer the key (lock-out risk)")
    return out


def _kms_alias(ctx: Any, r: dict[str, Any]) -> str:
    i = ctx.resolve(r["inputs"])
    ctx.client("kms").create_alias(AliasName=i["name"], TargetKeyId=i["targetKeyId"])
    return i["name"]


def _log_group(ctx: Any, r: dict[str, Any]) -> str:
    i = ctx.resolve(r["inputs"])
    logs = ctx.client("logs")
    kwargs = {"kmsKeyId": i["kmsKeyId"]} if i.get("kmsKeyId") else {}
    logs.create_log_group(logGroupName=i["name"], **kwargs)
    logs.put_retention_policy(logGroupName=i["name"], retentionInDays=int(i["retentionInDays"]))
    return i["name"]


def _log_group_check(ctx: Any, r: dict[str, Any], name: str | None) -> list[str]:
    [g] = [g for g in ctx.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
           if g["logGroupName"] == name]
    out = []
    if g.get("retentionInDays") not in CLOUDWATCH_RETENTION_DAYS:
        out.append(f"{name}: retention {g.get('retentionInDays')} is not a CloudWatch value")
    if g.get("kmsKeyId"):
        ctx.client("kms").describe_key(KeyId=g["kmsKeyId"])  # the key exists
    else:
        out.append(f"{name}: not encrypted with the cluster key")
    return out


def _role(ctx: Any, r: dict[str, Any]) -> str:
    i = ctx.resolve(r["inputs"])
    role = ctx.client("iam").create_role(
        RoleName=i["name"], AssumeRolePolicyDocument=i["assumeRolePolicy"], Description=i.get("description", ""),
        Tags=[{"Key": k, "Value": v} for k, v in (i.get("tags") or {}).items()])["Role"]
    ctx.alias(r["outputs"]["arn"], role["Arn"])
    ctx.alias(r["id"], role["RoleName"])
    return role["RoleName"]


def _role_attachment(ctx: Any, r: dict[str, Any]) -> str:
    i = ctx.resolve(r["inputs"])
    ctx.client("iam").attach_role_policy(RoleName=i["role"], PolicyArn=i["policyArn"])  # unknown ARN: NoSuchEntity
    return f"{i['role']}/{i['policyArn']}"


def _role_policy(ctx: Any, r: dict[str, Any]) -> str:
    i = ctx.resolve(r["inputs"])
    ctx.client("iam").put_role_policy(RoleName=i["role"], PolicyName=i["name"], PolicyDocument=i["policy"])
    return f"{i['role']}:{i['name']}"


def _role_policy_check(ctx: Any, r: dict[str, Any], _: str | None) -> list[str]:
    i = ctx.resolve(r["inputs"])
    doc = ctx.client("iam").get_role_policy(RoleName=i["role"], PolicyName=i["name"])["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    return [] if doc == json.loads(i["policy"]) else [f"{i['role']}:{i['name']}: policy differs in IAM"]


def _eks_cluster(ctx: Any, r: dict[str, Any]) -> str:
    """pulumi-eks' component, replayed as the aws.eks.Cluster its plugin creates from these inputs."""
    i = ctx.resolve(r["inputs"])
    iam = ctx.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=f"{i['name']}-eksRole-replay", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy")
    # what aws.eks.getCluster(...).roleArn names in the render: the role pulumi-eks made
    from tenancy.render.mocks import eks_cluster_role_name

    ctx.alias(eks_cluster_role_name(i["name"]), role["RoleName"])
    vpc_config: dict[str, Any] = {
        "subnetIds": i["subnetIds"], "securityGroupIds": [i["clusterSecurityGroup"]],
        "endpointPrivateAccess": bool(i.get("endpointPrivateAccess")),
        "endpointPublicAccess": bool(i.get("endpointPublicAccess", True)),
    }
    if i.get("publicAccessCidrs"):
        vpc_config["publicAccessCidrs"] = i["publicAccessCidrs"]
    kwargs: dict[str, Any] = {}
    if i.get("encryptionConfigKeyArn"):
        kwargs["encryptionConfig"] = [{"resources": ["secrets"], "provider": {"keyArn": i["encryptionConfigKeyArn"]}}]
    cluster = ctx.client("eks").create_cluster(
        name=i["name"], version=i["version"], roleArn=role["Arn"], resourcesVpcConfig=vpc_config,
        logging={"clusterLogging": [{"types": i.get("enabledClusterLogTypes") or [], "enabled": True}]},
        tags=i.get("tags") or {}, **kwargs)["cluster"]
    ctx.extra.setdefault("access_entries", {})[cluster["name"]] = {}
    ctx.alias(r["outputs"].get("eksClusterArn"), cluster["arn"])
    return cluster["name"]


def _eks_cluster_check(ctx: Any, r: dict[str, Any], name: str | None) -> list[str]:
    c = ctx.client("eks").describe_cluster(name=name)["cluster"]
    i = ctx.resolve(r["inputs"])
    out = []
    types = {t for lg in c["logging"]["clusterLogging"] if lg["enabled"] for t in lg["types"]}
    if not {"audit", "authenticator"} <= types:
        out.append(f"{name}: audit/authenticator logs not enabled ({sorted(types)})")
    enc = c.get("encryptionConfig") or []
    if not enc or enc[0]["resources"] != ["secrets"]:
        out.append(f"{name}: secrets are not envelope-encrypted")
    else:
        key = ctx.client("kms").describe_key(KeyId=enc[0]["provider"]["keyArn"])["KeyMetadata"]
        if not ctx.client("kms").get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"]:
            out.append(f"{name}: the secrets key does not rotate")
    vpc = c["resourcesVpcConfig"]
    if not vpc["endpointPrivateAccess"]:
        out.append(f"{name}: no private endpoint")
    if vpc["endpointPublicAccess"] and (not vpc.get("publicAccessCidrs") or "0.0.0.0/0" in vpc["publicAccessCidrs"]):
        out.append(f"{name}: public endpoint open to the internet")
    if vpc["securityGroupIds"] != [i["clusterSecurityGroup"]]:
        out.append(f"{name}: control-plane security groups {vpc['securityGroupIds']}")
    ctx.client("ec2").describe_security_groups(GroupIds=vpc["securityGroupIds"])  # they exist
    if i.get("authenticationMode") != "API":
        out.append(f"{name}: authentication mode {i.get('authenticationMode')} (aws-auth ConfigMap in use)")
    return out


def _addon(ctx: Any, r: dict[str, Any]) -> None:
    """moto has no add-on API: check what EKS would check (the cluster exists, the JSON parses,
    the service-account role exists) and record it."""
    i = ctx.resolve(r["inputs"])
    ctx.client("eks").describe_cluster(name=i["clusterName"])
    if i.get("configurationValues"):
        json.loads(i["configurationValues"])
    if i.get("serviceAccountRoleArn"):
        ctx.client("iam").get_role(RoleName=i["serviceAccountRoleArn"].rsplit("/", 1)[-1])
    ctx.extra.setdefault("addons", {})[i["addonName"]] = i
    return None


def _ebs_csi_check(ctx: Any, i: dict[str, Any]) -> list[str]:
    """The EBS CSI driver's own role, read back from IAM: trust pinned to its controller's service
    account (IRSA), and the AWS managed policy attached (Pod Identity associations have no moto
    API: their trust is checked on the render)."""
    arn = i.get("serviceAccountRoleArn")
    if not arn:
        return [] if i.get("podIdentityAssociations") else ["aws-ebs-csi-driver: no role of its own"]
    iam = ctx.client("iam")
    name = arn.rsplit("/", 1)[-1]
    doc = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    conds = [s.get("Condition", {}).get("StringEquals", {}) for s in doc["Statement"]]
    subs = [v for c in conds for k, v in c.items() if k.endswith(":sub")]
    out = []
    if subs != ["system:serviceaccount:kube-system:ebs-csi-controller-sa"]:
        out.append(f"aws-ebs-csi-driver role trust is not scoped to its controller: sub={subs}")
    attached = [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]]
    if "AmazonEBSCSIDriverPolicy" not in attached:
        out.append(f"aws-ebs-csi-driver role lacks AmazonEBSCSIDriverPolicy: {attached}")
    return out


def _addon_check(ctx: Any, r: dict[str, Any], _: str | None) -> list[str]:
    i = ctx.resolve(r["inputs"])
    if i["addonName"] == "aws-ebs-csi-driver":
        return _ebs_csi_check(ctx, i)
    if i["addonName"] != "vpc-cni":
        return []
    out = []
    if json.loads(i.get("configurationValues") or "{}").get("enableNetworkPolicy") != "true":
        out.append("vpc-cni: network policy enforcement is off")
    iam = ctx.client("iam")
    role = iam.get_role(RoleName=i["serviceAccountRoleArn"].rsplit("/", 1)[-1])["Role"]
    doc = role["AssumeRolePolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    conds = [s.get("Condition", {}).get("StringEquals", {}) for s in doc["Statement"]]
    subs = [v for c in conds for k, v in c.items() if k.endswith(":sub")]
    auds = [v for c in conds for k, v in c.items() if k.endswith(":aud")]
    if subs != ["system:serviceaccount:kube-system:aws-node"] or auds != ["sts.amazonaws.com"]:
        out.append(f"vpc-cni role trust is not scoped to kube-system/aws-node: sub={subs} aud={auds}")
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]]
    if attached != ["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"]:
        out.append(f"vpc-cni role policies {attached}")
    out += _pod_security_groups_check(ctx, i)
    return out


def _pod_security_groups_check(ctx: Any, i: dict[str, Any]) -> list[str]:
    """Security groups for pods (EKS user guide, security-groups-pods-deployment.adoc): when the
    CNI hands out branch interfaces (``ENABLE_POD_ENI``), the CLUSTER role (as moto holds it)
    has AmazonEKSVPCResourceController, and probes work (``init.env.DISABLE_TCP_EARLY_DEMUX``
    with strict mode). Without it, none of this is configured."""
    config = json.loads(i.get("configurationValues") or "{}")
    env = config.get("env") or {}
    pod_eni = env.get("ENABLE_POD_ENI") == "true"
    cluster = ctx.client("eks").describe_cluster(name=i["clusterName"])["cluster"]
    iam = ctx.client("iam")
    role = cluster["roleArn"].rsplit("/", 1)[-1]
    attached = {p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]}
    out = []
    if pod_eni != ("AmazonEKSVPCResourceController" in attached):
        out.append(f"vpc-cni ENABLE_POD_ENI={env.get('ENABLE_POD_ENI')} but the cluster role {role} "
                   f"has {sorted(attached)}")
    if pod_eni:
        mode = env.get("POD_SECURITY_GROUP_ENFORCING_MODE", "strict")  # the CNI's default
        if mode != "strict":
            out.append(f"vpc-cni POD_SECURITY_GROUP_ENFORCING_MODE={mode}: same-node pod traffic escapes the groups")
        if ((config.get("init") or {}).get("env") or {}).get("DISABLE_TCP_EARLY_DEMUX") != "true":
            out.append("vpc-cni: strict mode without init.env.DISABLE_TCP_EARLY_DEMUX=true breaks kubelet TCP probes")
    return out


def _access_entry(ctx: Any, r: dict[str, Any]) -> str:
    """No access-entry API in moto: enforce EKS's own rules (one entry per principal and
    cluster; EC2_LINUX entries take no groups) and that node-role principals exist."""
    i = ctx.resolve(r["inputs"])
    entries = ctx.extra.setdefault("access_entries", {}).get(i["clusterName"])
    if entries is None:
        raise ReplayFailure(f"{r['name']}: cluster {i['clusterName']!r} does not exist")
    arn = i["principalArn"]
    if arn in entries:
        raise ReplayFailure(f"{r['name']}: ResourceInUseException: {arn} already has an access entry")
    typ = i.get("type", "STANDARD")
    if typ not in {"STANDARD", "EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "EC2"}:
        raise ReplayFailure(f"{r['name']}: invalid type {typ}")
    if typ != "STANDARD" and i.get("kubernetesGroups"):
        raise ReplayFailure(f"{r['name']}: {typ} entries cannot have Kubernetes groups")
    if typ == "EC2_LINUX":
        ctx.client("iam").get_role(RoleName=arn.rsplit("/", 1)[-1])  # the node role exists
    for g in i.get("kubernetesGroups") or []:
        if g.startswith("system:"):
            raise ReplayFailure(f"{r['name']}: group {g!r} is reserved by Kubernetes")
    entries[arn] = i
    return arn


def _access_policy_association(ctx: Any, r: dict[str, Any]) -> str:
    i = ctx.resolve(r["inputs"])
    entries = ctx.extra.get("access_entries", {}).get(i["clusterName"], {})
    if i["principalArn"] not in entries:
        raise ReplayFailure(f"{r['name']}: ResourceNotFoundException: no access entry for {i['principalArn']}")
    if entries[i["principalArn"]].get("type", "STANDARD") != "STANDARD":
        raise ReplayFailure(f"{r['name']}: policies can only be associated with STANDARD entries")
    if not re.match(r"^arn:aws[-a-z]*:eks::aws:cluster-access-policy/[A-Za-z]+$", i["policyArn"]):
        raise ReplayFailure(f"{r['name']}: {i['policyArn']!r} is not an EKS access policy ARN")
    scope = i["accessScope"]
    if scope["type"] not in {"cluster", "namespace"} or (scope["type"] == "cluster" and scope.get("namespaces")):
        raise ReplayFailure(f"{r['name']}: invalid access scope {scope}")
    ctx.extra.setdefault("associations", []).append(i)
    return f"{i['principalArn']}#{i['policyArn']}"


def _launch_template(ctx: Any, r: dict[str, Any]) -> str:
    i = ctx.resolve(r["inputs"])
    md = i.get("metadataOptions") or {}
    data: dict[str, Any] = {
        "SecurityGroupIds": i.get("vpcSecurityGroupIds") or [],
        "MetadataOptions": {k: v for k, v in {
            "HttpTokens": md.get("httpTokens"), "HttpEndpoint": md.get("httpEndpoint"),
            "HttpPutResponseHopLimit": int(md["httpPutResponseHopLimit"]) if "httpPutResponseHopLimit" in md else None,
            "InstanceMetadataTags": md.get("instanceMetadataTags")}.items() if v is not None},
        "BlockDeviceMappings": [{"DeviceName": b["deviceName"], "Ebs": {k: v for k, v in {
            "VolumeSize": int(b["ebs"]["volumeSize"]) if "volumeSize" in b["ebs"] else None,
            "VolumeType": b["ebs"].get("volumeType"),
            "Encrypted": b["ebs"].get("encrypted") == "true",
            "DeleteOnTermination": b["ebs"].get("deleteOnTermination") == "true"}.items() if v is not None}}
            for b in i.get("blockDeviceMappings") or []],
        "TagSpecifications": [{"ResourceType": s["resourceType"],
                               "Tags": [{"Key": k, "Value": v} for k, v in s["tags"].items()]}
                              for s in i.get("tagSpecifications") or []],
    }
    ec2 = ctx.client("ec2")
    ec2.describe_security_groups(GroupIds=data["SecurityGroupIds"])  # they exist
    lt = ec2.create_launch_template(LaunchTemplateName=i["name"], LaunchTemplateData=data)["LaunchTemplate"]
    ctx.alias(r["id"], lt["LaunchTemplateId"])
    return lt["LaunchTemplateId"]


def _node_group(ctx: Any, r: dict[str, Any]) -> str:
    i = ctx.resolve(r["inputs"])
    sc = i["scalingConfig"]
    ng = ctx.client("eks").create_nodegroup(
        clusterName=i["clusterName"], nodegroupName=r["outputs"]["nodeGroupName"], nodeRole=i["nodeRoleArn"],
        subnets=i["subnetIds"], instanceTypes=i["instanceTypes"], amiType=i["amiType"],
        capacityType=i["capacityType"],
        scalingConfig={"minSize": int(sc["minSize"]), "maxSize": int(sc["maxSize"]),
                       "desiredSize": int(sc["desiredSize"])},
        labels=i.get("labels") or {}, taints=i.get("taints") or [], tags=i.get("tags") or {},
        launchTemplate={"id": i["launchTemplate"]["id"], "version": i["launchTemplate"]["version"]},
        **({"version": i["version"]} if i.get("version") else {}),
    )["nodegroup"]
    _node_group_asg(ctx, r, i, ng)
    return ng["nodegroupName"]


def _node_group_asg(ctx: Any, r: dict[str, Any], i: dict[str, Any], ng: dict[str, Any]) -> None:
    """What EKS does and moto's EKS does not: the group's Auto Scaling group (moto only names it),
    from the group's launch template, in its subnets, with the tags EKS gives it ("Amazon EKS tags
    managed node group resources so that they are configured to use the Kubernetes Cluster
    Autoscaler", EKS user guide managed-node-groups.adoc) — and NOT the node group's own tags.
    The rendered ASG name (the render's ``resources`` output) becomes an alias of moto's."""
    asg = ng["resources"]["autoScalingGroups"][0]["name"]
    sc = i["scalingConfig"]
    autoscaling = ctx.client("autoscaling")
    # A stand-in launch configuration: EKS launches from its own copy of the group's template
    # (already judged by the node group's read-back), and moto refuses templates whose block
    # devices name no snapshot ("MissingParameter size/snapshot").
    autoscaling.create_launch_configuration(LaunchConfigurationName=f"{asg}-lc", ImageId="ami-12c6146b",
                                            InstanceType=i["instanceTypes"][0])
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=asg, MinSize=int(sc["minSize"]), MaxSize=int(sc["maxSize"]),
        DesiredCapacity=int(sc["desiredSize"]), VPCZoneIdentifier=",".join(i["subnetIds"]),
        LaunchConfigurationName=f"{asg}-lc",
        Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": True, "ResourceId": asg,
               "ResourceType": "auto-scaling-group"} for k, v in {
            "k8s.io/cluster-autoscaler/enabled": "true", f"k8s.io/cluster-autoscaler/{i['clusterName']}": "owned",
            "eks:cluster-name": i["clusterName"], "eks:nodegroup-name": ng["nodegroupName"]}.items()])
    rendered = (r.get("outputs") or {}).get("resources") or []
    if rendered:
        ctx.alias(rendered[0]["autoscalingGroups"][0]["name"], asg)


def _asg_tag(ctx: Any, r: dict[str, Any]) -> str:
    i = ctx.resolve(r["inputs"])
    t = i["tag"]
    ctx.client("autoscaling").create_or_update_tags(Tags=[{
        "ResourceId": i["autoscalingGroupName"], "ResourceType": "auto-scaling-group", "Key": t["key"],
        "Value": t["value"], "PropagateAtLaunch": bool(t.get("propagateAtLaunch"))}])
    return f"{i['autoscalingGroupName']},{t['key']}"


def _asg_tag_check(ctx: Any, r: dict[str, Any], moto_id: str | None) -> list[str]:
    """The tag is on an existing group (the node group's), with its value."""
    i = ctx.resolve(r["inputs"])
    [group] = ctx.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[i["autoscalingGroupName"]])["AutoScalingGroups"] or [None]
    if group is None:
        return [f"no Auto Scaling group {i['autoscalingGroupName']}"]
    have = {t["Key"]: t["Value"] for t in group.get("Tags") or []}
    if have.get(i["tag"]["key"]) != i["tag"]["value"]:
        return [f"tag {i['tag']['key']}={have.get(i['tag']['key'])!r}, rendered {i['tag']['value']!r}"]
    return []


def _launch_template_data(ctx: Any, name: str | None, ng: dict[str, Any],
                          out: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A node group's launch template as EC2 stores it, and the security groups it puts on the
    nodes; appends to ``out`` what any node group's template must not do: IMDS other than v2-only
    with hop limit 1, an unencrypted volume, the control plane's security group on the nodes."""
    ec2 = ctx.client("ec2")
    lt_ref = ng["launchTemplate"]
    [ver] = ec2.describe_launch_template_versions(LaunchTemplateId=lt_ref["id"], Versions=[str(lt_ref["version"])])[
        "LaunchTemplateVersions"]
    data = ver["LaunchTemplateData"]
    md = data.get("MetadataOptions") or {}
    if md.get("HttpTokens") != "required" or int(md.get("HttpPutResponseHopLimit", 0)) != 1:
        out.append(f"{name}: IMDS is not v2-only with hop limit 1: {md}")
    for b in data.get("BlockDeviceMappings") or []:
        if not b.get("Ebs", {}).get("Encrypted"):
            out.append(f"{name}: volume {b['DeviceName']} is not encrypted")
    groups = ec2.describe_security_groups(GroupIds=data.get("SecurityGroupIds") or [])["SecurityGroups"]
    cp = ctx.extra.get("control_plane_sg")
    if cp and cp in [g["GroupId"] for g in groups]:
        out.append(f"{name}: nodes carry the control plane's security group")
    return data, groups


def _node_group_check(ctx: Any, r: dict[str, Any], name: str | None) -> list[str]:
    """Read the node group back from moto and judge it: moto stores taints and labels as given."""
    i = ctx.resolve(r["inputs"])
    eks, ec2 = ctx.client("eks"), ctx.client("ec2")
    ng = eks.describe_nodegroup(clusterName=i["clusterName"], nodegroupName=name)["nodegroup"]
    out: list[str] = []
    # No version skew: EKS runs a managed group at its own `version` (the cluster's when none is
    # given, moto's default otherwise): it must be the control plane's (EKS user guide
    # update-managed-node-group.adoc: nodes no newer than, and here equal to, the control plane).
    cluster_version = eks.describe_cluster(name=i["clusterName"])["cluster"]["version"]
    if ng.get("version") != cluster_version:
        out.append(f"{name}: runs Kubernetes {ng.get('version')}, the control plane {cluster_version}")
    tenant = (ng.get("tags") or {}).get(TENANT_TAG)
    pool = (ng.get("tags") or {}).get(POOL_TAG)
    if pool and not tenant:
        return out + _pool_node_group_check(ctx, i, name, ng, pool)
    for key, value in (ng.get("labels") or {}).items():
        out += [f"{name}: label {p}" for p in qualified_name_problems(key) + label_value_problems(value)]
    for t in ng.get("taints") or []:
        if t.get("effect") not in TAINT_EFFECTS:
            out.append(f"{name}: taint effect {t.get('effect')!r} is not one of {sorted(TAINT_EFFECTS)}")
        syntax = qualified_name_problems(t["key"]) + label_value_problems(t.get("value", ""))
        out += [f"{name}: taint {p}" for p in syntax]
    taints = {(t["key"], t.get("value"), t.get("effect")) for t in ng.get("taints") or []}
    if tenant:
        if ng["labels"].get(TENANT_TAG) != tenant:
            out.append(f"{name}: label {TENANT_TAG}={ng['labels'].get(TENANT_TAG)} but tagged {tenant}")
        if taints != {(TENANT_TAG, tenant, "NO_SCHEDULE")}:
            out.append(f"{name}: taints {sorted(taints)} are not exactly {TENANT_TAG}={tenant}:NO_SCHEDULE")
    elif taints != {("CriticalAddonsOnly", "true", "NO_SCHEDULE")}:
        out.append(f"{name}: system node group taints {sorted(taints)}")
    # Subnets: all exist, and all belong to this node group's tenant (none for the system group).
    for s in ec2.describe_subnets(SubnetIds=ng["subnets"])["Subnets"]:
        owner = _tags(s.get("Tags")).get(TENANT_TAG)
        if owner != tenant:
            out.append(f"{name}: subnet {s['SubnetId']} belongs to {owner or 'the platform'}, "
                       f"not {tenant or 'the platform'}")
    data, groups = _launch_template_data(ctx, name, ng, out)
    owners = [_tags(g.get("Tags")).get(TENANT_TAG) for g in groups]
    if tenant:
        if sorted(o or "" for o in owners) != ["", tenant] or len(groups) != 2:
            out.append(f"{name}: security groups of tenants {owners}: want its own and the shared marker")
    elif any(owners):
        out.append(f"{name}: system nodes carry tenant security groups {owners}")
    for spec in data.get("TagSpecifications") or []:
        if tenant and _tags(spec["Tags"]).get(TENANT_TAG) != tenant:
            out.append(f"{name}: {spec['ResourceType']} tags lack {TENANT_TAG}={tenant}")
    if tenant and {s["ResourceType"] for s in data.get("TagSpecifications") or []} != {
            "instance", "volume", "network-interface"}:
        out.append(f"{name}: tenant tags do not reach instances, volumes and network interfaces")
    # The node role's access entry exists and is EC2_LINUX.
    entry = ctx.extra.get("access_entries", {}).get(i["clusterName"], {}).get(ng["nodeRole"])
    if not entry or entry.get("type") != "EC2_LINUX":
        out.append(f"{name}: node role {ng['nodeRole']} has no EC2_LINUX access entry")
    return out


HANDLERS: dict[str, tuple[Create, Check | None]] = {
    "aws:kms/key:Key": (_kms_key, _kms_key_check),
    "aws:kms/alias:Alias": (_kms_alias, None),
    "aws:cloudwatch/logGroup:LogGroup": (_log_group, _log_group_check),
    "aws:iam/role:Role": (_role, None),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (_role_attachment, None),
    "aws:iam/rolePolicy:RolePolicy": (_role_policy, _role_policy_check),
    "eks:index:Cluster": (_eks_cluster, _eks_cluster_check),
    "aws:eks/addon:Addon": (_addon, _addon_check),
    "aws:eks/accessEntry:AccessEntry": (_access_entry, None),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": (_access_policy_association, None),
    "aws:ec2/launchTemplate:LaunchTemplate": (_launch_template, None),
    "aws:eks/nodeGroup:NodeGroup": (_node_group, _node_group_check),
    "aws:autoscaling/tag:Tag": (_asg_tag, _asg_tag_check),
}


def register() -> None:
    """Add these handlers to the shared replay table (tests.helpers.aws_replay), if present.
    ``eks:index:Cluster`` is a component (custom=False) that the shared replay skips: run
    :func:`replay_cluster` for the cluster layer."""
    try:
        from tests.helpers import aws_replay  # type: ignore[attr-defined]
    except ImportError:
        return
    for typ, (create, check) in HANDLERS.items():
        if typ in aws_replay.HANDLERS:
            continue  # another layer's handler for the same type wins
        aws_replay.handler(typ)(create)
        if check is not None:
            aws_replay.checker(typ)(check)


CLUSTER_COMPONENTS = ("tenancy:cluster:", "tenancy:storage:")
"""The cluster layer's components: the cluster, node groups, access — and block storage (its
add-on, role and key are cluster-level AWS resources)."""


def cluster_layer(resources: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rendered resources the cluster layer owns: those under a ``tenancy:cluster:*`` (or
    ``tenancy:storage:*``) component."""
    resources = list(resources)
    by = {r["urn"]: r for r in resources}

    def owned(r: dict[str, Any]) -> bool:
        cur = r.get("parent")
        while cur in by:
            if by[cur]["type"].startswith(CLUSTER_COMPONENTS):
                return True
            cur = by[cur].get("parent")
        return False

    return [r for r in resources if owned(r) and r["type"] in HANDLERS]


def replay_cluster(ctx: Any, resources: Iterable[dict[str, Any]], *, check: bool = True) -> dict[str, str | None]:
    """Create the cluster layer's resources in moto (in :data:`ORDER`), then read each back.
    Raises ReplayFailure naming the resource on a refused call, and listing every mismatch."""
    from botocore.exceptions import BotoCoreError, ClientError

    mine = cluster_layer(resources)
    rendered_roles = {r["inputs"].get("name") for r in mine if r["type"] == "aws:iam/role:Role"}

    def rank(r: dict[str, Any]) -> float:
        if r["type"] == "aws:eks/addon:Addon" and r["inputs"].get("addonName") != "vpc-cni":
            return len(ORDER)
        if r["type"] == "aws:iam/rolePolicyAttachment:RolePolicyAttachment" and (
                r["inputs"].get("role") not in rendered_roles):
            return ORDER.index("eks:index:Cluster") + 0.5  # the cluster role pulumi-eks creates
        return ORDER.index(r["type"])

    addons_last = sorted(mine, key=lambda r: (rank(r), r["urn"]))
    ids: dict[str, str | None] = {}
    for r in addons_last:
        try:
            ids[r["urn"]] = HANDLERS[r["type"]][0](ctx, r)
        except (ClientError, BotoCoreError) as exc:
            raise ReplayFailure(f"{r['type']} {r['name']}: AWS refused it: {exc}") from exc
        if r["type"] == "eks:index:Cluster":
            ctx.extra["control_plane_sg"] = ctx.resolve(r["inputs"]["clusterSecurityGroup"])
    if check:
        problems = []
        for r in addons_last:
            checker = HANDLERS[r["type"]][1]
            if checker is not None:
                problems += checker(ctx, r, ids[r["urn"]])
        if problems:
            raise ReplayFailure("replayed cluster layer does not hold up:\n  - " + "\n  - ".join(problems))
    return ids


def _pool_node_group_check(ctx: Any, i: dict[str, Any], name: str | None, ng: dict[str, Any], pool: str) -> list[str]:
    """A node pool's group: labelled and tainted exactly ``tenancy/pool=<pool>:NO_SCHEDULE``; its
    subnets and security group the pool's (tagged ``tenancy/pool``, no tenant's); the marker
    beside it; IMDSv2 hop 1, encrypted volumes; an EC2_LINUX access entry for its role."""
    ec2 = ctx.client("ec2")
    out: list[str] = []
    for key, value in (ng.get("labels") or {}).items():
        out += [f"{name}: label {p}" for p in qualified_name_problems(key) + label_value_problems(value)]
    if (ng.get("labels") or {}).get(POOL_TAG) != pool:
        out.append(f"{name}: label {POOL_TAG}={(ng.get('labels') or {}).get(POOL_TAG)} but tagged {pool}")
    taints = {(t["key"], t.get("value"), t.get("effect")) for t in ng.get("taints") or []}
    if taints != {(POOL_TAG, pool, "NO_SCHEDULE")}:
        out.append(f"{name}: taints {sorted(taints)} are not exactly {POOL_TAG}={pool}:NO_SCHEDULE")
    for s in ec2.describe_subnets(SubnetIds=ng["subnets"])["Subnets"]:
        tags = _tags(s.get("Tags"))
        if tags.get(POOL_TAG) != pool or tags.get(TENANT_TAG):
            out.append(f"{name}: subnet {s['SubnetId']} is not pool {pool}'s (tags {tags})")
    _, groups = _launch_template_data(ctx, name, ng, out)
    owners = sorted(_tags(g.get("Tags")).get(POOL_TAG) or _tags(g.get("Tags")).get(TENANT_TAG) or "" for g in groups)
    if owners != ["", pool] or any(_tags(g.get("Tags")).get(TENANT_TAG) for g in groups):
        out.append(f"{name}: security groups of {owners}: want the pool's own and the shared marker")
    entry = ctx.extra.get("access_entries", {}).get(i["clusterName"], {}).get(ng["nodeRole"])
    if not entry or entry.get("type") != "EC2_LINUX":
        out.append(f"{name}: node role {ng['nodeRole']} has no EC2_LINUX access entry")
    return out
