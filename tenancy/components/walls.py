"""Cluster-wide network walls: the Baseline-tier default deny and, with self-service NetworkPolicies,
the admission policy guarding the platform's own (rules and reasoning:
:mod:`tenancy.plan.cluster_policies`, :func:`tenancy.plan.admission.network_policy_guard_policy`).

Each tenant's Admin-tier policy belongs to its bundle (:class:`tenancy.components.bundle.TenantBundle`,
``cluster_network_policies``), so adding a tenant changes nothing here."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_kubernetes.admissionregistration import v1 as adm

from tenancy.components.bundle import register_manifest
from tenancy.plan import admission, cluster_policies

__all__ = ["ClusterWalls", "ClusterWallsArgs"]


@dataclass(frozen=True)
class ClusterWallsArgs:
    """Inputs of :class:`ClusterWalls`."""

    provider: pulumi.ProviderResource
    """The cluster's Kubernetes provider (``Cluster.provider``)."""
    baseline: bool = True
    """Register the Baseline-tier default deny (``cluster.clusterNetworkPolicies``)."""
    network_policy_guard: bool = False
    """Register the NetworkPolicy guard (some tenant has ``selfService.networkPolicies``)."""


class ClusterWalls(pulumi.ComponentResource):
    """``tenancy:cluster:ClusterWalls``: one per cluster.

    Attributes: ``baseline`` (the ``ClusterNetworkPolicy`` or None), ``guard`` and ``guard_binding``
    (the ValidatingAdmissionPolicy and its binding, or None)."""

    def __init__(self, name: str, args: ClusterWallsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:cluster:ClusterWalls", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.baseline = register_manifest(f"{name}-baseline", cluster_policies.baseline_policy(), child) \
            if args.baseline else None
        self.guard: adm.ValidatingAdmissionPolicy | None = None
        self.guard_binding: adm.ValidatingAdmissionPolicyBinding | None = None
        if args.network_policy_guard:
            policy, binding = admission.network_policy_guard_manifests()
            self.guard = adm.ValidatingAdmissionPolicy(f"{name}-np-guard-policy", metadata=policy["metadata"],
                                                       spec=policy["spec"], opts=child)
            self.guard_binding = adm.ValidatingAdmissionPolicyBinding(
                f"{name}-np-guard-binding", metadata=binding["metadata"], spec=binding["spec"],
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[self.guard]))
        self.register_outputs({})
