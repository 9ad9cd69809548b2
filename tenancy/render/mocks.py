"""Mocks for Pulumi's mock runtime: realistic, deterministic outputs for what the platform builds.

No randomness, no clock: ids and ARNs are derived from the resource's type and name, so two
renders of the same config are byte-identical. The account is a fixed fake one.

Extend :data:`OUTPUTS` with a function per type token when a resource needs computed outputs
(the function gets ``(name, inputs, ctx)`` and returns the extra state).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi

from tenancy.plan import addons
from tenancy.spec.wire import (
    AWS_EIP,
    AWS_EKS_ACCESS_ENTRY,
    AWS_EKS_CLUSTER,
    AWS_EKS_NODE_GROUP,
    AWS_EKS_POD_IDENTITY,
    AWS_FLOW_LOG,
    AWS_IAM_POLICY,
    AWS_IAM_ROLE,
    AWS_INTERNET_GATEWAY,
    AWS_KMS_KEY,
    AWS_LAUNCH_TEMPLATE,
    AWS_LOG_GROUP,
    AWS_NAT_GATEWAY,
    AWS_NETWORK_ACL,
    AWS_NETWORK_ACL_ASSOCIATION,
    AWS_NETWORK_ACL_RULE,
    AWS_ROUTE,
    AWS_ROUTE_TABLE,
    AWS_ROUTE_TABLE_ASSOCIATION,
    AWS_S3_ACCESS_POINT,
    AWS_S3_BUCKET,
    AWS_S3_BUCKET_V2,
    AWS_SECURITY_GROUP,
    AWS_SECURITY_GROUP_RULE,
    AWS_SG_EGRESS_RULE,
    AWS_SG_INGRESS_RULE,
    AWS_SUBNET,
    AWS_VPC,
    AWS_VPC_ENDPOINT,
    EKS_COMPONENT,
)

ACCOUNT_ID = "111122223333"
"""The fake AWS account every rendered ARN lives in."""
PARTITION = "aws"
S3_PREFIX_LIST_CIDRS = ("3.5.64.0/21", "3.5.72.0/23", "52.92.0.0/17", "52.218.0.0/17")
"""What the render's S3 gateway endpoint prefix list resolves to (the shape of a real region's)."""


@dataclass(frozen=True)
class MockContext:
    region: str
    account_id: str = ACCOUNT_ID
    partition: str = PARTITION

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (f"arn:{self.partition}:{service}:{self.region if region else ''}:"
                f"{self.account_id if account else ''}:{resource}")


def digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("::".join(parts).encode()).hexdigest()[:length]


# Prefixes of EC2-style ids, by type token.
ID_PREFIX: dict[str, str] = {
    AWS_VPC: "vpc",
    AWS_SUBNET: "subnet",
    AWS_SECURITY_GROUP: "sg",
    AWS_SECURITY_GROUP_RULE: "sgrule",
    AWS_SG_INGRESS_RULE: "sgr",
    AWS_SG_EGRESS_RULE: "sgr",
    AWS_ROUTE_TABLE: "rtb",
    AWS_ROUTE_TABLE_ASSOCIATION: "rtbassoc",
    AWS_ROUTE: "r",
    AWS_INTERNET_GATEWAY: "igw",
    AWS_NAT_GATEWAY: "nat",
    AWS_EIP: "eipalloc",
    AWS_VPC_ENDPOINT: "vpce",
    AWS_FLOW_LOG: "fl",
    AWS_LAUNCH_TEMPLATE: "lt",
    AWS_NETWORK_ACL: "acl",
    AWS_NETWORK_ACL_RULE: "nacl",
    AWS_NETWORK_ACL_ASSOCIATION: "aclassoc",
    AWS_KMS_KEY: "key",
}


def _uuid(*parts: str) -> str:
    h = digest(*parts, length=32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _named(inputs: dict[str, Any], name: str, key: str = "name") -> str:
    """The physical name: the input if given, else Pulumi-style auto-name (name + suffix)."""
    given = inputs.get(key)
    if isinstance(given, str) and given:
        return given
    prefix = inputs.get("namePrefix") or inputs.get("bucketPrefix") or inputs.get(f"{key}Prefix")
    return f"{prefix or name + '-'}{digest(name, length=7)}"


def _iam_role(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    role = _named(inputs, name)
    return {"name": role, "arn": ctx.arn("iam", f"role{inputs.get('path') or '/'}{role}", region=False),
            "uniqueId": "AROA" + digest(name, length=17).upper()}


def _iam_policy(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    policy = _named(inputs, name)
    return {"name": policy, "arn": ctx.arn("iam", f"policy{inputs.get('path') or '/'}{policy}", region=False),
            "policyId": "ANPA" + digest(name, length=17).upper()}


def _kms_key(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    key_id = _uuid("kms", name)
    return {"keyId": key_id, "arn": ctx.arn("kms", f"key/{key_id}")}


def _s3_bucket(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    bucket = _named(inputs, name, "bucket")
    return {"bucket": bucket, "arn": f"arn:{ctx.partition}:s3:::{bucket}",
            "bucketDomainName": f"{bucket}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{bucket}.s3.{ctx.region}.amazonaws.com", "region": ctx.region}


def _s3_access_point(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    ap = _named(inputs, name)
    return {"arn": ctx.arn("s3", f"accesspoint/{ap}"), "alias": f"{ap}-{digest('ap', name, length=26)}-s3alias",
            "accountId": ctx.account_id, "hasPublicAccessPolicy": False, "networkOrigin": "Internet"}


def _pod_identity_association(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    assoc = "a-" + digest("pia", name, length=17)
    cluster = inputs.get("clusterName") or "cluster"
    return {"associationId": assoc, "associationArn": ctx.arn("eks", f"podidentityassociation/{cluster}/{assoc}")}


def _log_group(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    group = _named(inputs, name)
    return {"name": group, "arn": ctx.arn("logs", f"log-group:{group}")}


def _eip(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    n = int(digest("eip", name, length=4), 16)
    return {"allocationId": _resource_id(AWS_EIP, name), "domain": inputs.get("domain", "vpc"),
            "publicIp": f"198.51.100.{n % 254 + 1}"}


def _vpc_endpoint(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    if inputs.get("vpcEndpointType") == "Gateway":
        return {"prefixListId": "pl-" + digest("prefix-list", str(inputs.get("serviceName")), length=8)}
    return {"networkInterfaceIds": [], "dnsEntries": []}


def _vpc(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {"defaultSecurityGroupId": "sg-" + digest("default-sg", name),
            "defaultNetworkAclId": "acl-" + digest("default-acl", name),
            "mainRouteTableId": "rtb-" + digest("main-rtb", name)}


def _eks_cluster_core(cluster: str, ctx: MockContext) -> dict[str, Any]:
    oidc_id = digest("oidc", cluster, length=32).upper()
    issuer = f"oidc.eks.{ctx.region}.amazonaws.com/id/{oidc_id}"
    endpoint = f"https://{digest('endpoint', cluster, length=32).upper()}.gr7.{ctx.region}.eks.amazonaws.com"
    ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1PQ0sKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
    kubeconfig = {
        "apiVersion": "v1", "kind": "Config", "current-context": "aws",
        "clusters": [{"name": "kubernetes", "cluster": {"server": endpoint, "certificate-authority-data": ca}}],
        "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
        "users": [{"name": "aws", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster, "--output", "json"]}}}],
    }
    return {
        "issuer": issuer, "endpoint": endpoint, "ca": ca, "kubeconfig": kubeconfig,
        "oidcProviderArn": ctx.arn("iam", f"oidc-provider/{issuer}", region=False),
        "clusterSecurityGroupId": "sg-" + digest("eks-cluster-sg", cluster),
        "arn": ctx.arn("eks", f"cluster/{cluster}"),
        # the service role pulumi-eks creates (`${name}-eksRole`, a ServiceRole with a random suffix)
        "roleArn": ctx.arn("iam", f"role/{eks_cluster_role_name(cluster)}", region=False),
    }


def eks_cluster_role_name(cluster: str) -> str:
    """The name the mocks give the cluster role pulumi-eks creates inside its component (a real
    deployment's is ``<name>-eksRole-<random>``): what ``aws.eks.getCluster`` returns as ``roleArn``."""
    return f"{cluster}-eksRole-{digest('eks-role', cluster, length=7)}"


def _eks_component(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    """pulumi-eks's Cluster is a remote component: under mocks it is ONE resource whose outputs
    the eks plugin would compute. Return what a real deployment returns."""
    cluster = inputs.get("name") or name
    core = _eks_cluster_core(cluster, ctx)
    return {
        "kubeconfig": core["kubeconfig"],
        "kubeconfigJson": json.dumps(core["kubeconfig"], sort_keys=True),
        "oidcProviderArn": core["oidcProviderArn"],
        "oidcProviderUrl": f"https://{core['issuer']}",
        "oidcIssuer": core["issuer"],
        # cluster.ts: `core.clusterSecurityGroup?.id ?? core.cluster.vpcConfig.clusterSecurityGroupId`:
        # the group the program passed, if any; the EKS-managed one only otherwise
        "clusterSecurityGroupId": inputs.get("clusterSecurityGroup") or core["clusterSecurityGroupId"],
        "nodeSecurityGroupId": None,
        "eksClusterName": cluster,
        "eksClusterArn": core["arn"],
        "eksClusterEndpoint": core["endpoint"],
    }


def _eks_cluster(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    cluster = _named(inputs, name)
    core = _eks_cluster_core(cluster, ctx)
    return {
        "name": cluster, "arn": core["arn"], "endpoint": core["endpoint"],
        "certificateAuthority": {"data": core["ca"]},
        "identities": [{"oidcs": [{"issuer": f"https://{core['issuer']}"}]}],
        "vpcConfig": {**(inputs.get("vpcConfig") or {}), "clusterSecurityGroupId": core["clusterSecurityGroupId"]},
        "status": "ACTIVE",
    }


def _launch_template(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    return {"latestVersion": 1, "defaultVersion": 1}


def _eks_node_group(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    prefix = inputs.get("nodeGroupNamePrefix")
    # terraform-provider-aws appends a 26-character unique suffix to the prefix (naming.node_group_name_prefix).
    group = f"{prefix}{digest(name, length=26)}" if isinstance(prefix, str) and prefix else \
        _named(inputs, name, "nodeGroupName")
    cluster = inputs.get("clusterName") or "cluster"
    uuid = _uuid("nodegroup", cluster, group)
    # EKS names the group's Auto Scaling group eks-<node group name>-<node group uuid>.
    return {"nodeGroupName": group, "status": "ACTIVE",
            "arn": ctx.arn("eks", f"nodegroup/{cluster}/{group}/{uuid}"),
            "resources": [{"autoscalingGroups": [{"name": f"eks-{group}-{uuid}"}], "remoteAccessSecurityGroupId": ""}]}


def _eks_access_entry(name: str, inputs: dict[str, Any], ctx: MockContext) -> dict[str, Any]:
    cluster = inputs.get("clusterName") or "cluster"
    return {"accessEntryArn": ctx.arn("eks", f"access-entry/{cluster}/{digest('access-entry', name)}"),
            "userName": inputs.get("userName") or inputs.get("principalArn")}


OUTPUTS: dict[str, Callable[[str, dict[str, Any], MockContext], dict[str, Any]]] = {
    AWS_IAM_ROLE: _iam_role,
    AWS_IAM_POLICY: _iam_policy,
    AWS_KMS_KEY: _kms_key,
    AWS_S3_BUCKET: _s3_bucket,
    AWS_S3_BUCKET_V2: _s3_bucket,
    AWS_S3_ACCESS_POINT: _s3_access_point,
    AWS_EKS_POD_IDENTITY: _pod_identity_association,
    AWS_LOG_GROUP: _log_group,
    AWS_EIP: _eip,
    AWS_VPC_ENDPOINT: _vpc_endpoint,
    AWS_VPC: _vpc,
    AWS_EKS_CLUSTER: _eks_cluster,
    EKS_COMPONENT: _eks_component,
    AWS_LAUNCH_TEMPLATE: _launch_template,
    AWS_EKS_NODE_GROUP: _eks_node_group,
    AWS_EKS_ACCESS_ENTRY: _eks_access_entry,
}


def _resource_id(typ: str, name: str) -> str:
    prefix = ID_PREFIX.get(typ)
    if prefix:
        return f"{prefix}-{digest(typ, name)}"
    return f"{name}-{digest(typ, name, length=8)}"


class TenancyMocks(pulumi.runtime.Mocks):
    """Answers the engine's resource registrations and invokes with realistic, stable values."""

    def __init__(self, region: str, on_resource: Callable[[], None] | None = None):
        self.ctx = MockContext(region=region)
        self._on_resource = on_resource

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        if self._on_resource is not None:
            self._on_resource()
        inputs = dict(args.inputs)
        if not args.custom and args.typ.startswith("tenancy:"):
            return None, {}
        state = dict(inputs)
        extra = OUTPUTS.get(args.typ)
        if extra is not None:
            state.update(extra(args.name, inputs, self.ctx))
        rid = args.resource_id or state.pop("__id", None) or _resource_id(args.typ, args.name)
        if args.typ.startswith("aws:") and "arn" not in state:
            service = args.typ.split(":")[1].split("/")[0]
            state["arn"] = self.ctx.arn(service, f"{args.typ.rsplit(':', 1)[-1].lower()}/{rid}")
        if args.typ.startswith("aws:") and "tags" in state:
            state["tagsAll"] = state["tags"]
        return rid, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        return self._call(args.token, dict(args.args)), []

    def _call(self, tok: str, a: dict[str, Any]) -> dict[str, Any]:
        ctx = self.ctx
        if tok == "aws:ec2/getPrefixList:getPrefixList":
            return {"id": a.get("prefixListId") or "pl-mock", "prefixListId": a.get("prefixListId") or "pl-mock",
                    "name": f"com.amazonaws.{ctx.region}.s3", "cidrBlocks": list(S3_PREFIX_LIST_CIDRS)}
        if tok == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ctx.account_id, "arn": ctx.arn("iam", "user/render", region=False),
                    "userId": "AIDA" + digest("render", length=17).upper(), "id": ctx.account_id}
        if tok == "aws:index/getRegion:getRegion":
            return {"name": ctx.region, "region": ctx.region, "id": ctx.region,
                    "endpoint": f"ec2.{ctx.region}.amazonaws.com", "description": ctx.region}
        if tok == "aws:index/getPartition:getPartition":
            return {"partition": ctx.partition, "dnsSuffix": "amazonaws.com", "id": ctx.partition,
                    "reverseDnsPrefix": "com.amazonaws"}
        if tok == "aws:index/getAvailabilityZones:getAvailabilityZones":
            letters = "abcdef"
            return {"names": [f"{ctx.region}{c}" for c in letters],
                    "zoneIds": [f"{ctx.region[:3]}{ctx.region.split('-')[-1]}-az{i + 1}" for i in range(6)],
                    "id": ctx.region, "state": "available"}
        if tok == "aws:eks/getCluster:getCluster":
            core = _eks_cluster_core(a.get("name") or "cluster", ctx)
            return {"name": a.get("name"), "id": a.get("name"), "arn": core["arn"], "endpoint": core["endpoint"],
                    "roleArn": core["roleArn"],
                    "vpcConfig": {"clusterSecurityGroupId": core["clusterSecurityGroupId"]}}
        if tok == "aws:eks/getAddonVersion:getAddonVersion":
            # No build number is invented: a placeholder naming the Kubernetes version
            # (tenancy.plan.addons; EKS answers the real build at deploy time).
            version = addons.render_placeholder(str(a.get("addonName")), str(a.get("kubernetesVersion")))
            return {"addonName": a.get("addonName"), "kubernetesVersion": a.get("kubernetesVersion"),
                    "mostRecent": a.get("mostRecent"), "version": version, "id": version}
        if tok == "aws:iam/getPolicyDocument:getPolicyDocument":
            return {"json": json.dumps(a, sort_keys=True), "id": digest(json.dumps(a, sort_keys=True))}
        return {}
