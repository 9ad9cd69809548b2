"""What the platform's add-on components share (the cluster-autoscaler, the EBS CSI driver, the log
router, the metrics agent): their inputs from the cluster layer, and the trust of the one IAM role
each gives its controller's service account — IRSA or Pod Identity, per ``identity.mode``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from tenancy.plan import cluster as cplan
from tenancy.plan import iam as iplan
from tenancy.spec import PlatformSpec

__all__ = ["AddonArgs", "service_account_trust"]


@dataclass(frozen=True)
class AddonArgs:
    """Inputs of an add-on component (from the cluster layer)."""

    platform: PlatformSpec
    cluster_name: pulumi.Input[str]
    provider: pulumi.ProviderResource
    """The cluster's Kubernetes provider."""
    oidc_provider_arn: pulumi.Input[str] | None = None
    oidc_issuer: pulumi.Input[str] | None = None
    """IRSA (``identity.mode: irsa``): the cluster's OIDC provider and issuer (no ``https://``)."""
    cluster_arn: pulumi.Input[str] | None = None
    """Pod Identity (``identity.mode: podIdentity``): pins the role's trust to this cluster."""
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What the add-on's workload waits for (its nodes; with Pod Identity, the agent add-on)."""


def service_account_trust(args: Any, namespace: str, service_account: str) -> pulumi.Output[str]:
    """The trust policy (JSON) of a role only ``namespace/service_account`` may assume: through the
    cluster's OIDC provider with ``identity.mode: irsa``, else through Pod Identity pinned to
    ``args.cluster_arn`` (required then: the error names ``args``' class). ``args``: an
    :class:`AddonArgs` or anything with its ``platform``, ``oidc_*`` and ``cluster_arn``."""
    if args.platform.identity.mode == "irsa":
        return pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
            lambda a: json.dumps(cplan.web_identity_trust_policy(a[0], a[1], namespace, service_account)))
    if args.cluster_arn is None:
        raise ValueError(f"{type(args).__name__}.cluster_arn is required with identity.mode podIdentity")
    return pulumi.Output.from_input(args.cluster_arn).apply(
        lambda arn: json.dumps(iplan.pod_identity_trust_policy(namespace, service_account, arn, cluster_is_arn=True)))
