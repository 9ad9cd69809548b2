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
    "aws:cloudwatch/logGroup:LogGroup": _aws("logs/group.go", "name", "namePrefix", "logGroupClass"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _aws("ec2/vpc_default_security_group.go", "vpcId"),
    "aws:ec2/eip:Eip": _aws("ec2/ec2_eip.go", "address", "customerOwnedIpv4Pool", "domain", "networkBorderGroup",
                            "publicIpv4Pool", "ipamPoolId"),
    "aws:ec2/flowLog:FlowLog": _aws("ec2/vpc_flow_log.go", "deliverCrossAccountRole", "destinationOptions", "eniId",
                                    "iamRoleArn", "logDestination", "logDestinationType", "logFormat",
                                    "maxAggregationInterval", "subnetId", "trafficType",
                                    "transitGatewayAttachmentId", "transitGatewayId", "vpcId"),
    "aws:ec2/internetGateway:InternetGateway": _aws("ec2/vpc_internet_gateway.go"),
    "aws:ec2/launchTemplate:LaunchTemplate": _aws("ec2/ec2_launch_template.go", "name", "namePrefix"),
    "aws:ec2/natGateway:NatGateway": _aws("ec2/vpc_nat_gateway.go", "allocationId", "connectivityType", "privateIp",
                                          "subnetId", "availabilityMode", "vpcId"),
    "aws:ec2/networkAcl:NetworkAcl": _aws("ec2/vpc_network_acl.go", "vpcId"),
    "aws:ec2/networkAclRule:NetworkAclRule": _aws("ec2/vpc_network_acl_rule.go", "cidrBlock", "egress", "fromPort",
                                                  "icmpCode", "icmpType", "ipv6CidrBlock", "networkAclId",
                                                  "protocol", "ruleAction", "ruleNumber", "toPort"),
    "aws:ec2/networkAclAssociation:NetworkAclAssociation": _aws("ec2/vpc_network_acl_association.go", "subnetId"),
    "aws:ec2/route:Route": _aws("ec2/vpc_route.go", "routeTableId", "destinationCidrBlock",
                                "destinationIpv6CidrBlock", "destinationPrefixListId"),
    "aws:ec2/routeTable:RouteTable": _aws("ec2/vpc_route_table.go", "vpcId"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _aws("ec2/vpc_route_table_association.go", "subnetId",
                                                                "gatewayId"),
    "aws:ec2/securityGroup:SecurityGroup": _aws("ec2/vpc_security_group.go", "name", "namePrefix", "description",
                                                "vpcId"),
    "aws:ec2/securityGroupRule:SecurityGroupRule": _aws("ec2/vpc_security_group_rule.go", "cidrBlocks", "fromPort",
                                                        "ipv6CidrBlocks", "prefixListIds", "protocol",
                                                        "securityGroupId", "self", "sourceSecurityGroupId", "toPort",
                                                        "type"),
    "aws:ec2/subnet:Subnet": _aws("ec2/vpc_subnet.go", "availabilityZone", "availabilityZoneId", "cidrBlock",
                                  "outpostArn", "vpcId", "ipv4IpamPoolId", "ipv4NetmaskLength"),
    "aws:ec2/vpc:Vpc": _aws("ec2/vpc_.go", "cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _aws("ec2/vpc_endpoint.go", "serviceName", "vpcEndpointType", "vpcId",
                                            "serviceRegion", "resourceConfigurationArn", "serviceNetworkArn"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _aws("ec2/vpc_security_group_ingress_rule.go",
                                                                      "securityGroupId"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _aws("ec2/vpc_security_group_egress_rule.go",
                                                                    "securityGroupId"),
    "aws:eks/accessEntry:AccessEntry": _aws("eks/access_entry.go", "clusterName", "principalArn", "type"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": _aws("eks/access_policy_association.go",
                                                                    "accessScope", "clusterName", "policyArn",
                                                                    "principalArn"),
    "aws:eks/addon:Addon": _aws("eks/addon.go", "addonName", "clusterName"),
    "aws:eks/cluster:Cluster": _aws("eks/cluster.go", "name", "roleArn", "vpcConfig.securityGroupIds",
                                    "encryptionConfig.provider", "kubernetesNetworkConfig", "outpostConfig",
                                    "accessConfig.bootstrapClusterCreatorAdminPermissions",
                                    "bootstrapSelfManagedAddons"),
    "aws:eks/nodeGroup:NodeGroup": _aws("eks/node_group.go", "amiType", "capacityType", "clusterName", "diskSize",
                                        "instanceTypes", "launchTemplate.id", "launchTemplate.name", "nodeGroupName",
                                        "nodeGroupNamePrefix", "nodeRoleArn", "remoteAccess", "subnetIds"),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": _aws("eks/pod_identity_association.go",
                                                                  "clusterName", "namespace", "serviceAccount"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _aws("iam/openid_connect_provider.go", "url"),
    "aws:iam/policy:Policy": _aws("iam/policy.go", "name", "namePrefix", "path"),
    "aws:iam/role:Role": _aws("iam/role.go", "name", "namePrefix", "path"),
    "aws:iam/rolePolicy:RolePolicy": _aws("iam/role_policy.go", "name", "namePrefix", "role"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _aws("iam/role_policy_attachment.go", "policyArn", "role"),
    "aws:kms/alias:Alias": _aws("kms/alias.go", "name", "namePrefix"),
    "aws:kms/key:Key": _aws("kms/key.go", "customKeyStoreId", "customerMasterKeySpec", "keyUsage",
                            "multiRegion", "xksKeyId"),
    "aws:s3/accessPoint:AccessPoint": _aws("s3control/access_point.go", "accountId", "bucket", "bucketAccountId",
                                           "name", "vpcConfiguration"),
    "aws:s3/bucket:Bucket": _aws("s3/bucket.go", "bucket", "bucketPrefix", "objectLockEnabled"),
    "aws:s3/bucketV2:BucketV2": _aws("s3/bucket.go", "bucket", "bucketPrefix", "objectLockEnabled"),
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
    "eks:index:Cluster": Replacement(
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
