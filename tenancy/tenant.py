"""The per-tenant component: the one parent of everything a tenant owns, across layers.

The render attributes a resource to a tenant by walking its parents up to the nearest
``tenancy:index:Tenant``; the ``tenancy/tenant`` tag and label say the same thing in AWS and
Kubernetes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from . import naming
from .bundle import TenantBundle, TenantBundleArgs
from .spec import PlatformSpec, TenantSpec

TYPE = "tenancy:index:Tenant"


@dataclass(frozen=True)
class TenantArgs:
    """What a tenant is built from: its spec, the platform's spec and the shared layers' outputs."""

    platform: PlatformSpec
    tenant: TenantSpec
    kubernetes_provider: Any | None = None
    """The cluster's ``pulumi_kubernetes.Provider`` (from the cluster layer). Default ``None``:
    Pulumi's default Kubernetes provider."""


class Tenant(pulumi.ComponentResource):
    """Everything one tenant owns. Named after the tenant (names are unique per platform)."""

    def __init__(self, name: str, args: TenantArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        self.spec = args.tenant
        self.namespace = naming.namespace(args.tenant.name)
        plan = args.platform.address_plan
        self.address_block = str(plan.tenant_block(args.tenant.slot))
        self.subnet_cidrs = [str(n) for n in plan.tenant_subnets(args.tenant.slot)]
        # --- network layer ---
        # --- cluster layer ---
        # --- identity layer ---
        # --- bundle layer ---
        # Service account -> IAM role ARN, set by the identity layer above (IRSA); empty otherwise.
        role_arns = getattr(self, "role_arns", {})
        self.bundle = TenantBundle(args.tenant.name, TenantBundleArgs(
            tenant=args.tenant, vpc_cidr=args.platform.vpc_cidr, workloads=args.platform.workloads,
            role_arns=role_arns, provider=args.kubernetes_provider,
            pod_identity_agent=args.platform.identity.mode == "podIdentity",
        ), opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"namespace": self.namespace, "addressBlock": self.address_block})

    def allow_from(self, peer: Tenant) -> None:
        """Let ``peer``'s pods open connections into this tenant: one set of resources per edge,
        owned by this tenant (the one that declared ``allowFrom``)."""
        # --- network layer (edges) ---
        # --- bundle layer (edges) ---
        self.bundle.allow_from(peer.spec.name, peer_namespace=peer.bundle.namespace)

    def outputs(self) -> dict[str, pulumi.Input[object]]:
        """What other stacks need about this tenant (exported by the stack program)."""
        return {"namespace": self.namespace, "slot": self.spec.slot, "addressBlock": self.address_block,
                "subnetCidrs": self.subnet_cidrs}
