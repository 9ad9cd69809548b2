"""Block storage for tenants: the EBS CSI driver add-on, its own IAM identity, a volume KMS key and
the platform's default encrypted gp3 StorageClass.

* :class:`BlockStorage` (``tenancy:storage:BlockStorage``), one per platform, built by
  :class:`tenancy.Platform` when ``workloads.storage`` is ``ebs`` (the default). With ``none``
  nothing is built and every tenant's PVC and storage quota is 0.

Decisions and sources are in :mod:`tenancy.plan.storage` and ``docs/cluster.md`` (Storage).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from tenancy.plan import cluster as cplan
from tenancy.plan import iam as iplan
from tenancy.plan import storage as plan
from tenancy.spec import PlatformSpec, naming
from tenancy.spec.wire import MANAGED_BY_LABEL

__all__ = ["BlockStorage", "BlockStorageArgs"]


@dataclass(frozen=True)
class BlockStorageArgs:
    """Inputs of :class:`BlockStorage` (from the cluster layer)."""

    platform: PlatformSpec
    cluster_name: pulumi.Input[str]
    provider: pulumi.ProviderResource
    """The cluster's Kubernetes provider (the StorageClass is an in-cluster object)."""
    oidc_provider_arn: pulumi.Input[str] | None = None
    oidc_issuer: pulumi.Input[str] | None = None
    """IRSA (``identity.mode: irsa``): the cluster's OIDC provider and issuer (no ``https://``)."""
    cluster_arn: pulumi.Input[str] | None = None
    """Pod Identity (``identity.mode: podIdentity``): pins the role's trust to this cluster."""
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What the add-on waits for: the system node group (its controller Deployment must be
    schedulable, or the add-on never becomes ACTIVE) and, with Pod Identity, the agent add-on."""


class BlockStorage(pulumi.ComponentResource):
    """The ``aws-ebs-csi-driver`` add-on, its IAM role (AmazonEBSCSIDriverPolicy + KMS use of the
    volume key only), the volume key, and the default StorageClass ``gp3-encrypted``.

    Attributes: ``addon``, ``role``, ``volume_key``, ``storage_class``.
    """

    def __init__(self, name: str, args: BlockStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:storage:BlockStorage", name, None, opts)
        import pulumi_aws as aws
        from pulumi_kubernetes.storage.v1 import StorageClass

        spec = args.platform
        p = spec.name
        tags = naming.tags(p)
        child = pulumi.ResourceOptions(parent=self)
        n = lambda role: cplan.platform_resource_name(p, role)  # noqa: E731
        partition = aws.get_partition_output(opts=pulumi.InvokeOptions(parent=self)).partition
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id

        self.volume_key = aws.kms.Key(
            n("volume-key"),
            description=f"EKS cluster {naming.cluster_name(p)}: tenants' EBS volumes "
                        f"(StorageClass {plan.STORAGE_CLASS})",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(partition, account).apply(
                lambda a: json.dumps(plan.volume_key_policy(a[0], a[1]))),
            tags=tags,
            opts=child,
        )
        aws.kms.Alias(n("volume-key"), name=f"alias/{n('ebs-volumes')}", target_key_id=self.volume_key.key_id,
                      opts=child)

        ns, sa = plan.CONTROLLER_SERVICE_ACCOUNT
        irsa = spec.identity.mode == "irsa"
        if irsa:
            trust = pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
                lambda a: json.dumps(cplan.web_identity_trust_policy(a[0], a[1], ns, sa)))
        else:
            if args.cluster_arn is None:
                raise ValueError("BlockStorageArgs.cluster_arn is required with identity.mode podIdentity")
            trust = pulumi.Output.from_input(args.cluster_arn).apply(
                lambda arn: json.dumps(iplan.pod_identity_trust_policy(ns, sa, arn, cluster_is_arn=True)))
        self.role = aws.iam.Role(
            n("ebs-csi-role"),
            name=n("ebs-csi"),
            description=f"EBS CSI controller ({ns}/{sa}) via {'IRSA' if irsa else 'Pod Identity'}",
            assume_role_policy=trust,
            tags=tags,
            opts=child,
        )
        managed = aws.iam.RolePolicyAttachment(
            n("ebs-csi-policy"), role=self.role.name,
            policy_arn=partition.apply(lambda q: cplan.managed_policy_arn(q, plan.MANAGED_POLICY)), opts=child)
        kms = aws.iam.RolePolicy(
            n("ebs-csi-kms"), role=self.role.name, name="volume-key",
            policy=self.volume_key.arn.apply(lambda k: json.dumps(plan.kms_policy(k))), opts=child)

        identity: dict[str, Any] = (
            {"service_account_role_arn": self.role.arn} if irsa else
            {"pod_identity_associations": [{"role_arn": self.role.arn, "service_account": sa}]})
        self.addon = aws.eks.Addon(
            n("ebs-csi"),
            cluster_name=args.cluster_name,
            addon_name=plan.ADDON,
            configuration_values=json.dumps(plan.addon_configuration(cplan.SYSTEM_LABELS), sort_keys=True),
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[managed, kms, *args.depends_on]),
            **identity,
        )
        sc = self.volume_key.arn.apply(
            lambda k: plan.storage_class(k, {MANAGED_BY_LABEL: naming.MANAGED_BY}))
        self.storage_class = StorageClass(
            n("storage-class"),
            metadata=sc["metadata"],
            provisioner=sc["provisioner"],
            parameters=sc["parameters"],
            reclaim_policy=sc["reclaimPolicy"],
            volume_binding_mode=sc["volumeBindingMode"],
            allow_volume_expansion=sc["allowVolumeExpansion"],
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[self.addon]),
        )
        self.register_outputs({"storageClass": plan.STORAGE_CLASS, "volumeKeyArn": self.volume_key.arn})
