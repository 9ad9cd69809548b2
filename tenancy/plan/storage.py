"""The block-storage plan: what the platform needs so tenants' PersistentVolumeClaims bind.

Pure functions, no Pulumi (:mod:`tenancy.components.storage` builds the resources). Why it is needed:
from Kubernetes 1.30 EKS no longer marks ``gp2`` as the default StorageClass
(``kubernetes-versions-standard.adoc``), and the in-tree EBS provisioner is gone, so without
the EBS CSI driver and a default class every PVC stays ``Pending``.

* the ``aws-ebs-csi-driver`` EKS add-on, its controller on the system nodes (it tolerates
  ``CriticalAddonsOnly``: the chart's default ``controller.tolerations``, set explicitly here),
  its node DaemonSet on every node (``node.tolerateAllTaints``, the chart default);
* its own IAM role (IRSA on ``kube-system/ebs-csi-controller-sa``, or Pod Identity), with the
  AWS managed ``AmazonEBSCSIDriverPolicy`` and the KMS statements of the EKS user guide
  (``storage/ebs-csi.adoc``) on a dedicated volume key only;
* a default StorageClass: gp3, encrypted with that key, ``WaitForFirstConsumer`` (the volume
  is created in the zone of the tenant node the pod lands on), volumes tagged with the PVC's
  namespace (= tenant) for attribution.
"""

from __future__ import annotations

from typing import Any

from tenancy.spec.wire import DEFAULT_CLASS_ANNOTATION, SYSTEM_TAINT_KEY, TENANT_LABEL

ADDON = "aws-ebs-csi-driver"
CONTROLLER_SERVICE_ACCOUNT = ("kube-system", "ebs-csi-controller-sa")
"""The chart's ``controller.serviceAccount.name``: the only pod that calls the EC2 API."""
MANAGED_POLICY = "service-role/AmazonEBSCSIDriverPolicy"
"""AWS managed, under the ``service-role/`` path (EKS user guide ``storage/ebs-csi.adoc``:
``arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy``)."""
PROVISIONER = "ebs.csi.aws.com"
STORAGE_CLASS = "gp3-encrypted"


def addon_configuration(system_labels: dict[str, str]) -> dict[str, Any]:
    """The add-on's ``configurationValues``: the controller pinned to the system nodes and
    tolerating their taint; the default StorageClass is ours (``defaultStorageClass`` stays off,
    so there is exactly one default). Keys from the chart's ``values.yaml``
    (kubernetes-sigs/aws-ebs-csi-driver ``charts/aws-ebs-csi-driver``)."""
    return {
        "controller": {
            "nodeSelector": dict(system_labels),
            "tolerations": [
                {"key": SYSTEM_TAINT_KEY, "operator": "Exists"},
                {"effect": "NoExecute", "operator": "Exists", "tolerationSeconds": 300},
            ],
        },
        "node": {"tolerateAllTaints": True},
        "defaultStorageClass": {"enabled": False},
    }


def kms_policy(key_arn: str) -> dict[str, Any]:
    """The role's extra permissions for encrypted volumes with a customer managed key, as the
    EKS user guide gives them (``storage/ebs-csi.adoc``): grants only for AWS resources (EBS),
    and data-key use — on the volume key only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "GrantsForEbs", "Effect": "Allow",
             "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": [key_arn],
             "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
            {"Sid": "VolumeKeyUse", "Effect": "Allow",
             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
             "Resource": [key_arn]},
        ],
    }


def volume_key_policy(partition: str, account_id: str) -> dict[str, Any]:
    """Key policy of the volume key: administered through IAM (like the default key policy);
    the CSI role's identity policy (:func:`kms_policy`) is what lets it use the key."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AccountAdministersTheKey", "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": "kms:*", "Resource": "*",
        }],
    }


def storage_class(kms_key_arn: str, labels: dict[str, str]) -> dict[str, Any]:
    """The platform's default StorageClass."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS, "labels": dict(labels),
                     "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": PROVISIONER,
        "parameters": {
            "type": "gp3",
            "encrypted": "true",
            "kmsKeyId": kms_key_arn,
            "csi.storage.k8s.io/fstype": "ext4",
            # the driver's templated tags (extraCreateMetadata is on by default): the volume
            # names its tenant, whose namespace is the tenant's name
            "tagSpecification_1": TENANT_LABEL + "={{ .PVCNamespace }}",
        },
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }
