"""The cluster layer's pure decisions: node labels and taints, launch template settings, IAM
policy documents, managed policy sets and access-entry naming. No Pulumi imports.

Dictionaries meant as Pulumi inputs use pulumi-aws's snake_case argument names (the SDK turns them
into the engine's camelCase); policy documents are plain IAM JSON.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tenancy.spec import naming
from tenancy.spec.wire import POOL_LABEL, SYSTEM_TAINT_KEY, TENANT_LABEL

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
"""Every EKS control-plane log type. ``audit`` records who did what in the API (the evidence a
tenant-isolation review asks for); ``authenticator`` maps IAM principals to Kubernetes users."""

NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly")
"""AWS managed policies on every node role, and nothing else.

* ``AmazonEKSWorkerNodePolicy``: lets the kubelet describe the instance and join the cluster.
* ``AmazonEC2ContainerRegistryPullOnly``: pull images from ECR (the EKS add-on images live
  there). It is the narrower successor of ``AmazonEC2ContainerRegistryReadOnly`` (no
  Describe*/List* on repositories), which the EKS node-role documentation now recommends.
* ``AmazonEKS_CNI_Policy`` is deliberately NOT here: it lets its holder attach, detach and
  re-address network interfaces in the whole VPC. It goes on an IRSA role that only the
  ``kube-system/aws-node`` service account can assume (:data:`CNI_POLICY`), so nothing else that
  runs on a node — and no tenant pod that reaches the node's credentials — holds it.
"""
CNI_POLICY = "AmazonEKS_CNI_Policy"
CNI_SERVICE_ACCOUNT = ("kube-system", "aws-node")
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
PERSONAS = ("admins", "editors", "viewers")
"""Tenant personas, mapped by access entries to the Kubernetes groups ``tenancy:<tenant>:<persona>``
that the bundle's RoleBindings bind. No EKS access policy is associated with them."""

SYSTEM_LABELS = {POOL_LABEL: "system"}
"""Labels of the system node group's nodes."""

METADATA_OPTIONS: dict[str, Any] = {
    "http_endpoint": "enabled",
    "http_tokens": "required",
    "http_put_response_hop_limit": 1,
    "http_protocol_ipv6": "disabled",
    "instance_metadata_tags": "disabled",
}
"""IMDSv2 only, and a hop limit of 1: a packet from a pod's network namespace needs a second hop,
so pods cannot fetch the node role's credentials (host-network pods such as aws-node still can;
tenant pods are refused host networking by Pod Security ``restricted``)."""

TAGGED_RESOURCE_TYPES = ("instance", "volume", "network-interface")
"""Launch template tag specifications: tenant tags on the instances and their EBS volumes (cost
allocation). ``network-interface`` tags at most the instance's PRIMARY interface at launch:
the VPC CNI's secondary ENIs, which carry most pod addresses, never get launch-template tags
(aws/amazon-vpc-cni-k8s: ``ADDITIONAL_ENI_TAGS``; hashicorp/terraform-provider-aws#32151 on
managed node groups). Do not attribute traffic by ENI tags: attribute it by subnet (every
tenant owns its subnets; flow-log records carry ``subnet-id``)."""


def managed_policy_arn(partition: str, name: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{name}"


def access_policy_arn(partition: str, name: str) -> str:
    return f"arn:{partition}:eks::aws:cluster-access-policy/{name}"


def log_group_name(cluster_name: str) -> str:
    """The log group EKS writes control-plane logs to (created first, so it has a retention)."""
    return f"/aws/eks/{cluster_name}/cluster"


def platform_resource_name(platform: str, role: str) -> str:
    """Pulumi (and AWS) names of platform-level, non-tenant objects: ``<platform>_<role>``.

    The underscore cannot occur in a tenant name (DNS labels), so these names never collide
    with a tenant's ``<tenant>-<role>`` names, whatever the tenants are called.
    """
    return f"{platform}_{role}"


def system_node_group_name(platform: str) -> str:
    return platform_resource_name(platform, "system")


def system_node_role_name(platform: str) -> str:
    return platform_resource_name(platform, "system-node")


def cni_role_name(platform: str) -> str:
    return platform_resource_name(platform, "vpc-cni")


def launch_template_name(platform: str, owner: str) -> str:
    return f"{platform}-{owner}-nodes"


def tenant_node_labels(tenant: str) -> dict[str, str]:
    return {TENANT_LABEL: tenant}


def tenant_node_taints(tenant: str) -> list[dict[str, str]]:
    """The tenant node group's taint, in the EKS API's casing (``NO_SCHEDULE``, not ``NoSchedule``)."""
    return [{"key": TENANT_LABEL, "value": tenant, "effect": "NO_SCHEDULE"}]


def system_node_taints() -> list[dict[str, str]]:
    """``CriticalAddonsOnly``: CoreDNS and the EKS add-ons tolerate it; tenant pods may not
    (the placement policy rejects that toleration in tenant namespaces)."""
    return [{"key": SYSTEM_TAINT_KEY, "value": "true", "effect": "NO_SCHEDULE"}]


def block_device_mappings(ami_type: str, disk_size_gib: int) -> list[dict[str, Any]]:
    """Encrypted gp3 volumes, deleted with the instance.

    Amazon Linux 2023 has one root volume (``/dev/xvda``) of ``disk_size_gib``. Bottlerocket
    boots from a small OS volume (``/dev/xvda``, its size taken from the AMI) and keeps images
    and pod data on ``/dev/xvdb``, which gets ``disk_size_gib``. Encryption uses the account's
    EBS key (``aws/ebs``), which the Auto Scaling service can use without a key-policy grant.
    """

    def ebs(size: int | None) -> dict[str, Any]:
        out: dict[str, Any] = {"volume_type": "gp3", "encrypted": "true", "delete_on_termination": "true"}
        if size is not None:
            out["volume_size"] = size
        return out

    if ami_type.startswith("BOTTLEROCKET"):
        return [{"device_name": "/dev/xvda", "ebs": ebs(None)},
                {"device_name": "/dev/xvdb", "ebs": ebs(disk_size_gib)}]
    return [{"device_name": "/dev/xvda", "ebs": ebs(disk_size_gib)}]


USER_DATA_BOUNDARY = "TENANCY"


def max_pods_user_data(ami_type: str, max_pods: int) -> str:
    """Launch template user data (base64) setting kubelet ``maxPods``: a nodeadm ``NodeConfig`` in a
    MIME part for AL2023 (amazon-eks-ami ``nodeadm`` API, ``spec.kubelet.config``; the EKS user
    guide's custom-networking tutorial passes maxPods this way), ``settings.kubernetes.max-pods`` in
    TOML for Bottlerocket. Managed node groups merge this with their own bootstrap (EKS user guide,
    launch-templates, "Amazon EKS AMI" user data); ``tenancy verify`` reads each node's pod capacity
    back, so a node that ignored it shows."""
    import base64

    if ami_type.startswith("BOTTLEROCKET"):
        text = f"[settings.kubernetes]\nmax-pods = {max_pods}\n"
    else:
        text = (f"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"{USER_DATA_BOUNDARY}\"\n\n"
                f"--{USER_DATA_BOUNDARY}\nContent-Type: application/node.eks.aws\n\n"
                "---\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n"
                f"      maxPods: {max_pods}\n\n--{USER_DATA_BOUNDARY}--\n")
    return base64.b64encode(text.encode()).decode()


def tag_specifications(tags: dict[str, str]) -> list[dict[str, Any]]:
    return [{"resource_type": rt, "tags": dict(tags)} for rt in TAGGED_RESOURCE_TYPES]


def ec2_trust_policy() -> dict[str, Any]:
    """Trust policy of a node role: only EC2 instances may assume it."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }],
    }


def web_identity_trust_policy(oidc_provider_arn: str, issuer: str, namespace: str,
                              service_account: str) -> dict[str, Any]:
    """IRSA trust: exactly one service account (``sub``) and the STS audience (``aud``)."""
    issuer = issuer.removeprefix("https://")
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                f"{issuer}:aud": "sts.amazonaws.com",
            }},
        }],
    }


def cluster_key_policy(partition: str, account_id: str, region: str, cluster_name: str) -> dict[str, Any]:
    """Key policy of the cluster's KMS key (secrets envelope encryption and the control-plane
    log group).

    The account statement keeps the key manageable through IAM (as the default key policy
    does); EKS uses the key through a grant made with the creating principal's permissions. The
    second statement lets CloudWatch Logs use the key for this cluster's log group only.
    """
    log_group_arn = f"arn:{partition}:logs:{region}:{account_id}:log-group:{log_group_name(cluster_name)}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministersTheKey",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "ControlPlaneLogGroup",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                           "kms:Describe*"],
                "Resource": "*",
                "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
            },
        ],
    }


def principal_key(principal_arn: str) -> str:
    """A short, stable key for one IAM principal: its name and a hash of the whole ARN, so two
    roles with the same name in different accounts or paths never share a resource name."""
    tail = principal_arn.rsplit("/", 1)[-1]
    digest = hashlib.sha256(principal_arn.encode()).hexdigest()[:8]
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in tail)[:40]
    return f"{safe}-{digest}"


# --------------------------------------------------------------------------------------------
# Node pools (shared nodes, security groups for pods)


CLUSTER_POLICIES_FOR_POD_SECURITY_GROUPS = ("AmazonEKSVPCResourceController",)
"""Managed policies the CLUSTER role needs for security groups for pods: "Add the
AmazonEKSVPCResourceController managed IAM policy to the cluster role that is associated with
your Amazon EKS cluster. The policy allows the role to manage network interfaces, their private
IP addresses, and their attachment and detachment to and from network instances" (EKS user guide,
security-groups-pods-deployment.adoc, step 2). pulumi-eks's own cluster role gets only
``AmazonEKSClusterPolicy`` (``nodejs/eks/cluster/cluster.ts``: ``const managedPolicies =
["AmazonEKSClusterPolicy"]``, more only with Auto Mode), so the platform attaches it."""

POD_SECURITY_GROUP_ENFORCING_MODE = "strict"
"""``strict``: "all inbound/outbound traffic from pod with security group will be enforced by
security group rules" (aws/amazon-vpc-cni-k8s README). ``standard`` is NOT a wall between pooled
tenants: there, traffic "from another pod on the same host ... won't be enforced by security
group rules", and traffic leaving the VPC is SNATed through the node's primary interface and
judged by the node's groups (same README; EKS user guide, security-groups-for-pods.adoc,
"Considerations"). Costs of strict, all documented there: kubelet TCP probes need
``DISABLE_TCP_EARLY_DEMUX=true`` on the ``aws-vpc-cni-init`` container; NodePort/LoadBalancer
Services with instance targets and ``externalTrafficPolicy: Local`` are not supported for such
pods; source NAT is off, so their internet traffic needs a NAT gateway route (the pool's
subnets get one when a tenant of the pool has ``internetEgress``); kube-proxy must be in
``iptables`` mode (EKS's default)."""


def pool_resource_name(platform: str, pool: str) -> str:
    """PULUMI name stem of a pool's resources: ``<platform>_pool-<pool>`` (the underscore cannot
    occur in a tenant name, so no pool resource's name ever equals a tenant's ``<tenant>-…``,
    whatever the tenants are called). AWS names are ``naming.pool_resource_name``'s
    ``<platform>-pool-<pool>…`` (the spec refuses a tenant called ``pool-<pool>``)."""
    return platform_resource_name(platform, f"pool-{pool}")


def pool_launch_template_name(platform: str, pool: str) -> str:
    return f"{naming.pool_resource_name(platform, pool)}-nodes"


def pool_security_group_name(platform: str, pool: str) -> str:
    return f"{naming.pool_resource_name(platform, pool)}-nodes"


def pool_node_labels(pool: str) -> dict[str, str]:
    return {POOL_LABEL: pool}


def pool_node_taints(pool: str) -> list[dict[str, str]]:
    """``tenancy/pool=<pool>:NoSchedule`` in the EKS API's casing: only pods tolerating their
    own pool (the placement policy allows exactly that in the pool's tenants' namespaces)."""
    return [{"key": POOL_LABEL, "value": pool, "effect": "NO_SCHEDULE"}]


def vpc_cni_configuration(enforcing_mode: str = "strict", pod_security_groups: bool = False) -> dict[str, Any]:
    """The ``vpc-cni`` add-on's ``configurationValues``: network-policy enforcement on
    (``enableNetworkPolicy``) and the policy agent's mode as the ``aws-node`` container's
    ``NETWORK_POLICY_ENFORCING_MODE`` (``env``, as in the aws/amazon-vpc-cni-k8s Helm chart's
    ``values.yaml``, which the add-on's configuration mirrors; VPC CNI 1.17.1+; EKS user guide,
    "Set up policy enforcement at Pod startup"). The shape (``enableNetworkPolicy``, ``env``,
    ``init.env``, string values) is what pulumi-eks's ``VpcCniAddon`` writes to the same managed
    add-on (pulumi/pulumi-eks ``nodejs/eks/addons/cni-addon.ts``); the live schema needs an
    account: ``aws eks describe-addon-configuration --addon-name vpc-cni --addon-version <v>``."""
    if enforcing_mode not in ("strict", "standard"):
        raise ValueError(f"NETWORK_POLICY_ENFORCING_MODE must be strict or standard, got {enforcing_mode!r}")
    out: dict[str, Any] = {"enableNetworkPolicy": "true", "env": {"NETWORK_POLICY_ENFORCING_MODE": enforcing_mode}}
    if pod_security_groups:
        # Security groups for pods (node pools): the same ``env`` keys as ``kubectl set env
        # daemonset aws-node`` in the EKS user guide (security-groups-pods-deployment.adoc), and
        # the init container's ``init.env`` (the Helm chart's values.yaml: ``init: env:
        # DISABLE_TCP_EARLY_DEMUX``), which the guide patches onto ``aws-vpc-cni-init``.
        out["env"].update({"ENABLE_POD_ENI": "true",
                           "POD_SECURITY_GROUP_ENFORCING_MODE": POD_SECURITY_GROUP_ENFORCING_MODE})
        out["init"] = {"env": {"DISABLE_TCP_EARLY_DEMUX": "true"}}
    return out
