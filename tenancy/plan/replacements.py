"""Which input changes force a resource to be REPLACED (deleted and created again), per type.

``tenancy diff`` marks a changed resource ``replace`` when one of its changed inputs is listed
here, ``update`` otherwise. The table is hand-kept and checked against the providers' own
schemas, named per entry:

* AWS (pulumi-aws is bridged from terraform-provider-aws; an attribute with ``ForceNew: true``
  in the Terraform schema becomes a replace-on-change input in Pulumi): the resource's file in
  ``hashicorp/terraform-provider-aws`` ``internal/service/<service>/``. Example, verified for the
  node group (``internal/service/eks/node_group.go``): ``node_group_name`` and
  ``node_group_name_prefix`` both ``ForceNew`` (conflicting with each other), as are
  ``ami_type``, ``capacity_type``, ``disk_size``, ``instance_types``, ``launch_template.id|name``,
  ``node_role_arn``, ``remote_access`` and ``subnet_ids``; ``labels``, ``taint``,
  ``scaling_config`` and ``launch_template.version`` update in place.
* Kubernetes (pulumi-kubernetes ``provider/pkg/provider/forcenew.go``): ``.metadata.name`` and
  ``.metadata.namespace`` for every kind, plus per kind (``RoleBinding``/``ClusterRoleBinding``
  ``.roleRef``, ``ResourceQuota`` ``.spec.scopes``, ``Service`` ``.spec.clusterIP``/``.spec.type``,
  ``Secret`` ``.type``/``.data``/``.stringData``, ``ConfigMap`` ``.data``/``.binaryData``, ``Job``
  ``.spec.selector``/``.spec.template``, ``Deployment`` ``.spec.selector``, ``StatefulSet``
  ``.spec.selector``/``.spec.serviceName``/``.spec.volumeClaimTemplates``/…).
  A change of ``apiVersion``/``kind`` is a different object (also a replacement).
* pulumi-eks ``eks:index:Cluster`` is a component: what replaces is decided by its children;
  the listed inputs are those it passes straight to ``aws.eks.Cluster`` inputs that are
  ``ForceNew`` (``internal/service/eks/cluster.go``: ``name``, ``role_arn``,
  ``vpc_config.security_group_ids``, ``encryption_config`` provider key,
  ``kubernetes_network_config``), per ``pulumi/pulumi-eks`` ``nodejs/eks/cluster.ts``.
* ``tenancy:*`` components own no cloud object: never replaced themselves.

Paths are camelCase input paths (``launchTemplate.id``); a changed input matches a path when
either is a prefix of the other (``launchTemplate`` changing as a whole matches ``launchTemplate.id``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tenancy.spec.wire import (
    AWS_AUTOSCALING_TAG,
    AWS_BACKUP_PLAN,
    AWS_BACKUP_SELECTION,
    AWS_BACKUP_VAULT,
    AWS_CW_DASHBOARD,
    AWS_CW_QUERY_DEFINITION,
    AWS_EIP,
    AWS_EKS_ACCESS_ENTRY,
    AWS_EKS_ACCESS_POLICY_ASSOCIATION,
    AWS_EKS_ADDON,
    AWS_EKS_CLUSTER,
    AWS_EKS_NODE_GROUP,
    AWS_EKS_POD_IDENTITY,
    AWS_FLOW_LOG,
    AWS_IAM_POLICY,
    AWS_IAM_ROLE,
    AWS_IAM_ROLE_POLICY,
    AWS_IAM_ROLE_POLICY_ATTACHMENT,
    AWS_INTERNET_GATEWAY,
    AWS_KMS_ALIAS,
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


@dataclass(frozen=True)
class Replacement:
    paths: tuple[str, ...]
    """Inputs whose change replaces the resource (empty: nothing does)."""
    source: str
    """Where the rule comes from."""


_TF = "terraform-provider-aws internal/service/"


def _aws(file: str, *paths: str) -> Replacement:
    return Replacement(tuple(paths), _TF + file)


_BUCKET_CHILD = ("bucket", "expectedBucketOwner")

AWS: dict[str, Replacement] = {
    AWS_LOG_GROUP: _aws("logs/group.go", "name", "namePrefix", "logGroupClass"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _aws("ec2/vpc_default_security_group.go", "vpcId"),
    AWS_EIP: _aws("ec2/ec2_eip.go", "address", "customerOwnedIpv4Pool", "domain", "networkBorderGroup",
                            "publicIpv4Pool", "ipamPoolId"),
    AWS_FLOW_LOG: _aws("ec2/vpc_flow_log.go", "deliverCrossAccountRole", "destinationOptions", "eniId",
                                    "iamRoleArn", "logDestination", "logDestinationType", "logFormat",
                                    "maxAggregationInterval", "subnetId", "trafficType",
                                    "transitGatewayAttachmentId", "transitGatewayId", "vpcId"),
    AWS_INTERNET_GATEWAY: _aws("ec2/vpc_internet_gateway.go"),
    AWS_LAUNCH_TEMPLATE: _aws("ec2/ec2_launch_template.go", "name", "namePrefix"),
    AWS_NAT_GATEWAY: _aws("ec2/vpc_nat_gateway.go", "allocationId", "connectivityType", "privateIp",
                                          "subnetId", "availabilityMode", "vpcId"),
    AWS_NETWORK_ACL: _aws("ec2/vpc_network_acl.go", "vpcId"),
    AWS_NETWORK_ACL_RULE: _aws("ec2/vpc_network_acl_rule.go", "cidrBlock", "egress", "fromPort",
                                                  "icmpCode", "icmpType", "ipv6CidrBlock", "networkAclId",
                                                  "protocol", "ruleAction", "ruleNumber", "toPort"),
    AWS_NETWORK_ACL_ASSOCIATION: _aws("ec2/vpc_network_acl_association.go", "subnetId"),
    AWS_ROUTE: _aws("ec2/vpc_route.go", "routeTableId", "destinationCidrBlock",
                                "destinationIpv6CidrBlock", "destinationPrefixListId"),
    AWS_ROUTE_TABLE: _aws("ec2/vpc_route_table.go", "vpcId"),
    AWS_ROUTE_TABLE_ASSOCIATION: _aws("ec2/vpc_route_table_association.go", "subnetId",
                                                                "gatewayId"),
    AWS_SECURITY_GROUP: _aws("ec2/vpc_security_group.go", "name", "namePrefix", "description",
                                                "vpcId"),
    AWS_SECURITY_GROUP_RULE: _aws("ec2/vpc_security_group_rule.go", "cidrBlocks", "fromPort",
                                                        "ipv6CidrBlocks", "prefixListIds", "protocol",
                                                        "securityGroupId", "self", "sourceSecurityGroupId", "toPort",
                                                        "type"),
    AWS_SUBNET: _aws("ec2/vpc_subnet.go", "availabilityZone", "availabilityZoneId", "cidrBlock",
                                  "outpostArn", "vpcId", "ipv4IpamPoolId", "ipv4NetmaskLength"),
    AWS_VPC: _aws("ec2/vpc_.go", "cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"),
    AWS_VPC_ENDPOINT: _aws("ec2/vpc_endpoint.go", "serviceName", "vpcEndpointType", "vpcId",
                                            "serviceRegion", "resourceConfigurationArn", "serviceNetworkArn"),
    AWS_SG_INGRESS_RULE: _aws("ec2/vpc_security_group_ingress_rule.go",
                                                                      "securityGroupId"),
    AWS_SG_EGRESS_RULE: _aws("ec2/vpc_security_group_egress_rule.go",
                                                                    "securityGroupId"),
    AWS_EKS_ACCESS_ENTRY: _aws("eks/access_entry.go", "clusterName", "principalArn", "type"),
    AWS_EKS_ACCESS_POLICY_ASSOCIATION: _aws("eks/access_policy_association.go",
                                                                    "accessScope", "clusterName", "policyArn",
                                                                    "principalArn"),
    AWS_EKS_ADDON: _aws("eks/addon.go", "addonName", "clusterName"),
    # Observability (tenancy.plan.observability). Backup selections have no update API
    # (AWS Backup: CreateBackupSelection / DeleteBackupSelection only): every input replaces it.
    AWS_CW_DASHBOARD: _aws("cloudwatch/dashboard.go", "dashboardName"),
    AWS_CW_QUERY_DEFINITION: _aws("logs/query_definition.go"),
    AWS_BACKUP_VAULT: _aws("backup/vault.go", "name", "kmsKeyArn"),
    AWS_BACKUP_PLAN: _aws("backup/plan.go", "name"),
    AWS_BACKUP_SELECTION: _aws("backup/selection.go", "name", "planId", "iamRoleArn", "resources", "notResources",
                               "selectionTags", "conditions"),
    AWS_EKS_CLUSTER: _aws("eks/cluster.go", "name", "roleArn", "vpcConfig.securityGroupIds",
                                    "encryptionConfig.provider", "kubernetesNetworkConfig", "outpostConfig",
                                    "accessConfig.bootstrapClusterCreatorAdminPermissions",
                                    "bootstrapSelfManagedAddons"),
    AWS_EKS_NODE_GROUP: _aws("eks/node_group.go", "amiType", "capacityType", "clusterName", "diskSize",
                                        "instanceTypes", "launchTemplate.id", "launchTemplate.name", "nodeGroupName",
                                        "nodeGroupNamePrefix", "nodeRoleArn", "remoteAccess", "subnetIds"),
    # aws_autoscaling_group_tag: the group's name and the tag's key are ForceNew (a value or
    # propagate_at_launch change is updated in place).
    AWS_AUTOSCALING_TAG: _aws("autoscaling/group_tag.go", "autoscalingGroupName", "tag.key"),
    AWS_EKS_POD_IDENTITY: _aws("eks/pod_identity_association.go",
                                                                  "clusterName", "namespace", "serviceAccount"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _aws("iam/openid_connect_provider.go", "url"),
    AWS_IAM_POLICY: _aws("iam/policy.go", "name", "namePrefix", "path"),
    AWS_IAM_ROLE: _aws("iam/role.go", "name", "namePrefix", "path"),
    AWS_IAM_ROLE_POLICY: _aws("iam/role_policy.go", "name", "namePrefix", "role"),
    AWS_IAM_ROLE_POLICY_ATTACHMENT: _aws("iam/role_policy_attachment.go", "policyArn", "role"),
    AWS_KMS_ALIAS: _aws("kms/alias.go", "name", "namePrefix"),
    AWS_KMS_KEY: _aws("kms/key.go", "customKeyStoreId", "customerMasterKeySpec", "keyUsage",
                            "multiRegion", "xksKeyId"),
    AWS_S3_ACCESS_POINT: _aws("s3control/access_point.go", "accountId", "bucket", "bucketAccountId",
                                           "name", "vpcConfiguration"),
    AWS_S3_BUCKET: _aws("s3/bucket.go", "bucket", "bucketPrefix", "objectLockEnabled"),
    AWS_S3_BUCKET_V2: _aws("s3/bucket.go", "bucket", "bucketPrefix", "objectLockEnabled"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _aws("s3/bucket_lifecycle_configuration.go",
                                                                             *_BUCKET_CHILD),
    "aws:s3/bucketLogging:BucketLogging": _aws("s3/bucket_logging.go", *_BUCKET_CHILD),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _aws("s3/bucket_ownership_controls.go", "bucket"),
    "aws:s3/bucketPolicy:BucketPolicy": _aws("s3/bucket_policy.go", "bucket"),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _aws("s3/bucket_public_access_block.go", "bucket"),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _aws(
        "s3/bucket_server_side_encryption_configuration.go", *_BUCKET_CHILD),
    "aws:s3/bucketVersioning:BucketVersioning": _aws("s3/bucket_versioning.go", *_BUCKET_CHILD),
    "aws:s3control/accessPointPolicy:AccessPointPolicy": _aws("s3control/access_point_policy.go", "accessPointArn"),
}

_K8S_SOURCE = "pulumi-kubernetes provider/pkg/provider/forcenew.go"
K8S_ALL = ("apiVersion", "kind", "metadata.name", "metadata.namespace")
K8S_KIND: dict[str, tuple[str, ...]] = {
    "RoleBinding": ("roleRef",),
    "ClusterRoleBinding": ("roleRef",),
    "ResourceQuota": ("spec.scopes",),
    "Service": ("spec.clusterIP", "spec.type"),
    "Secret": ("type", "data", "stringData"),
    "ConfigMap": ("data", "binaryData"),
    "Job": ("spec.selector", "spec.template"),
    "Deployment": ("spec.selector",),
    "StatefulSet": ("spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.selector", "spec.serviceName",
                    "spec.volumeClaimTemplates"),
    "PersistentVolumeClaim": ("spec",),
    "PodDisruptionBudget": ("spec",),
    "StorageClass": ("parameters", "provisioner"),
}

OTHER: dict[str, Replacement] = {
    EKS_COMPONENT: Replacement(
        ("name", "serviceRole", "clusterSecurityGroup", "encryptionConfigKeyArn", "kubernetesServiceIpAddressRange",
         "ipFamily", "bootstrapSelfManagedAddons"),
        "pulumi-eks nodejs/eks/cluster.ts (inputs passed to aws.eks.Cluster) + " + _TF + "eks/cluster.go"),
    # pulumi-kubernetes provider/pkg/provider/provider.go DiffConfig: a provider pointed at another
    # cluster (kubeconfig/context/cluster) is replaced, and with it every object it manages.
    "pulumi:providers:kubernetes": Replacement(("kubeconfig", "context", "cluster"),
                                               "pulumi-kubernetes provider/pkg/provider/provider.go (DiffConfig)"),
}


def rule_for(type_token: str) -> Replacement | None:
    """The replacement rule of a resource type, or None if the table does not know it."""
    if type_token in AWS:
        return AWS[type_token]
    if type_token in OTHER:
        return OTHER[type_token]
    if type_token.startswith("tenancy:"):
        return Replacement((), "tenancy component (owns no cloud object)")
    if type_token.startswith("kubernetes:") and not type_token.startswith("kubernetes:helm"):
        kind = type_token.rsplit(":", 1)[-1]
        kind = kind[:-len("Patch")] if kind.endswith("Patch") else kind
        return Replacement(K8S_ALL + K8S_KIND.get(kind, ()), _K8S_SOURCE)
    return None


def _overlaps(changed: str, path: str) -> bool:
    return changed == path or changed.startswith(path + ".") or path.startswith(changed + ".")


def replacing_inputs(type_token: str, changed: Iterable[str]) -> list[str]:
    """The changed inputs (dotted paths) that force a replacement of a ``type_token`` resource.
    An unknown type counts every change as replacing (the safe answer for a reviewer)."""
    rule = rule_for(type_token)
    changed = list(changed)
    if rule is None:
        return changed
    return [c for c in changed if any(_overlaps(c, p) for p in rule.paths)]
