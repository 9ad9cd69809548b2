"""The platform namespaces' NetworkPolicies (and the platform namespaces the platform creates),
which the VPC CNI's strict enforcing mode needs: a pod no policy selects is denied everything.
Rules and reasoning: :mod:`tenancy.plan.platform_policies`.

Built by :class:`tenancy.components.cluster.Cluster` right after its Kubernetes provider, before the CoreDNS
add-on (which waits for it), so no platform pod starts in strict mode without its policies.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from tenancy.plan import platform_policies as plan
from tenancy.spec import PlatformSpec

__all__ = ["PlatformNetworkPolicies", "PlatformNetworkPoliciesArgs"]


@dataclass(frozen=True)
class PlatformNetworkPoliciesArgs:
    """Inputs of :class:`PlatformNetworkPolicies`."""

    platform: PlatformSpec
    """VPC CIDR, system subnets, Service range, ingress controller namespace, mesh and
    ``workloads.platformNamespaces`` decide the policies."""
    provider: pulumi.ProviderResource
    """The cluster's Kubernetes provider."""


class PlatformNetworkPolicies(pulumi.ComponentResource):
    """``tenancy:cluster:PlatformNetworkPolicies``: CoreDNS's policy and ``tenancy-platform`` in
    kube-system and every platform namespace (the ingress controller's, istio-system with the
    mesh, ``workloads.platformNamespaces``). Namespaces other than kube-system and istio-system
    are created if absent (server-side apply adopts an existing one) and retained on delete.

    Attributes: ``policies`` (``{"<namespace>/<name>": NetworkPolicy}``), ``namespaces``.
    """

    def __init__(self, name: str, args: PlatformNetworkPoliciesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("tenancy:cluster:PlatformNetworkPolicies", name, None, opts)
        import pulumi_kubernetes as k8s

        self.namespaces: dict[str, k8s.core.v1.Namespace] = {}
        for m in plan.namespace_manifests(args.platform):
            ns = m["metadata"]["name"]
            self.namespaces[ns] = k8s.core.v1.Namespace(
                f"{name}/{ns}", metadata=m["metadata"],
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider, retain_on_delete=True))
        self.policies: dict[str, k8s.networking.v1.NetworkPolicy] = {}
        for m in plan.manifests(args.platform):
            ns, pname = m["metadata"]["namespace"], m["metadata"]["name"]
            owner = self.namespaces.get(ns)
            self.policies[f"{ns}/{pname}"] = k8s.networking.v1.NetworkPolicy(
                f"{name}/{ns}/{pname}", metadata=m["metadata"], spec=m["spec"],
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider,
                                            depends_on=[owner] if owner is not None else None,
                                            deleted_with=owner))
        self.register_outputs({})
