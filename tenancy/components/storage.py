"""Block storage for tenants: the EBS CSI driver add-on, its own IAM identity, a volume KMS key and
the platform's default encrypted gp3 StorageClass.

* :class:`BlockStorage` (``tenancy:storage:BlockStorage``), one per platform, built by
  :class:`tenancy.Platform` when ``workloads.storage`` is ``ebs`` (the default). With ``none``
  nothing is built and every tenant's PVC and storage quota is 0.

Decisions and sources are in :mod:`tenancy.plan.storage` and ``docs/cluster.md`` (Storage).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

from tenancy.components import invokes
from tenancy.components.addon import AddonArgs, service_account_trust
from tenancy.plan import cluster as cplan
from tenancy.plan import storage as plan
from tenancy.spec import naming
from tenancy.spec.wire import MANAGED_BY_LABEL

__all__ = ["BlockStorage", "BlockStorageArgs"]


@dataclass(frozen=True)
class BlockStorageArgs(AddonArgs):
    """Inputs of :class:`BlockStorage` (:class:`~tenancy.components.addon.AddonArgs`; the provider
    creates the StorageClass). ``depends_on``: the system node group (its controller Deployment
    must be schedulable, or the add-on never becomes ACTIVE) and, with Pod Identity, the agent
    add-on."""


class BlockStorage(pulumi.ComponentResource):
    """The ``aws-ebs-csi-driver`` add-on, its IAM role (AmazonEBSCSIDriverPolicy + KMS use of the
    volume key only), the volume key, and the default StorageClass ``gp3-encrypted``.

    Attributes: ``addon``, ``role``, ``volume_key``, ``storage_class``.
    """

    def __init__(self, name: str, args: BlockStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:storage:BlockStorage", name, None, opts)
        import pulumi_aws as aws

        self._args = args
        self._tags = naming.tags(args.platform.name)
        self._child = pulumi.ResourceOptions(parent=self)
        self._partition = aws.get_partition_output(opts=pulumi.InvokeOptions(parent=self)).partition
        self._account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id

        self._volume_key()
        role_policies = self._controller_role()
        self._addon(role_policies)
        self._storage_class()
        self.register_outputs({"storageClass": plan.STORAGE_CLASS, "volumeKeyArn": self.volume_key.arn})

    def _n(self, role: str) -> str:
        return cplan.platform_resource_name(self._args.platform.name, role)

    def _volume_key(self) -> None:
        """The tenants' volume KMS key and its alias."""
        import pulumi_aws as aws

        n = self._n
        self.volume_key = aws.kms.Key(
            n("volume-key"),
            description=f"EKS cluster {naming.cluster_name(self._args.platform.name)}: tenants' EBS volumes "
                        f"(StorageClass {plan.STORAGE_CLASS})",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(self._partition, self._account).apply(
                lambda a: json.dumps(plan.volume_key_policy(a[0], a[1]))),
            tags=self._tags,
            opts=self._child,
        )
        aws.kms.Alias(n("volume-key"), name=f"alias/{n('ebs-volumes')}", target_key_id=self.volume_key.key_id,
                      opts=self._child)

    def _controller_role(self) -> list[pulumi.Resource]:
        """The EBS CSI controller's role (IRSA or Pod Identity trust), the managed policy and the
        use of the volume key. Returns the two policies (the add-on waits for them)."""
        import pulumi_aws as aws

        args, n, child = self._args, self._n, self._child
        ns, sa = plan.CONTROLLER_SERVICE_ACCOUNT
        irsa = args.platform.identity.mode == "irsa"
        trust = service_account_trust(args, ns, sa)
        self.role = aws.iam.Role(
            n("ebs-csi-role"),
            name=n("ebs-csi"),
            description=f"EBS CSI controller ({ns}/{sa}) via {'IRSA' if irsa else 'Pod Identity'}",
            assume_role_policy=trust,
            tags=self._tags,
            opts=child,
        )
        managed = aws.iam.RolePolicyAttachment(
            n("ebs-csi-policy"), role=self.role.name,
            policy_arn=self._partition.apply(lambda q: cplan.managed_policy_arn(q, plan.MANAGED_POLICY)), opts=child)
        kms = aws.iam.RolePolicy(
            n("ebs-csi-kms"), role=self.role.name, name="volume-key",
            policy=self.volume_key.arn.apply(lambda k: json.dumps(plan.kms_policy(k))), opts=child)
        return [managed, kms]

    def _addon(self, role_policies: list[pulumi.Resource]) -> None:
        """The ``aws-ebs-csi-driver`` add-on, with the role (IRSA annotation or Pod Identity association)."""
        import pulumi_aws as aws

        args = self._args
        _, sa = plan.CONTROLLER_SERVICE_ACCOUNT
        self.addon_name = plan.ADDON
        self.addon_version = invokes.addon_version(self, plan.ADDON, args.platform.kubernetes_version)
        identity: dict[str, Any] = (
            {"service_account_role_arn": self.role.arn} if args.platform.identity.mode == "irsa" else
            {"pod_identity_associations": [{"role_arn": self.role.arn, "service_account": sa}]})
        self.addon = aws.eks.Addon(
            self._n("ebs-csi"),
            cluster_name=args.cluster_name,
            addon_name=plan.ADDON,
            addon_version=self.addon_version,
            configuration_values=json.dumps(plan.addon_configuration(cplan.SYSTEM_LABELS), sort_keys=True),
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*role_policies, *args.depends_on]),
            **identity,
        )

    def _storage_class(self) -> None:
        """The default StorageClass ``gp3-encrypted`` (volume key), after the add-on."""
        from pulumi_kubernetes.storage.v1 import StorageClass

        sc = self.volume_key.arn.apply(
            lambda k: plan.storage_class(k, {MANAGED_BY_LABEL: naming.MANAGED_BY}))
        self.storage_class = StorageClass(
            self._n("storage-class"),
            metadata=sc["metadata"],
            provisioner=sc["provisioner"],
            parameters=sc["parameters"],
            reclaim_policy=sc["reclaimPolicy"],
            volume_binding_mode=sc["volumeBindingMode"],
            allow_volume_expansion=sc["allowVolumeExpansion"],
            opts=pulumi.ResourceOptions(parent=self, provider=self._args.provider, depends_on=[self.addon]),
        )
