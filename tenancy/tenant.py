"""The per-tenant component: the one parent of everything a tenant owns, across layers.

The render attributes a resource to a tenant by walking its parents up to the nearest
``tenancy:index:Tenant``; the ``tenancy/tenant`` tag and label say the same thing in AWS and
Kubernetes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from . import naming
from .identity import ClusterIdentity, DataBucket, TenantIdentity, TenantIdentityArgs
from .network import Network, TenantNetwork, TenantNetworkArgs, allow_tenant_traffic
from .spec import PlatformSpec, TenantSpec

TYPE = "tenancy:index:Tenant"


@dataclass(frozen=True)
class TenantArgs:
    """What a tenant is built from: its spec, the platform's spec and the shared layers' outputs."""

    platform: PlatformSpec
    tenant: TenantSpec
    data_bucket: DataBucket | None = None
    """The platform's shared tenant-data bucket (identity layer)."""
    cluster_identity: ClusterIdentity | None = None
    """The cluster's OIDC provider/issuer and name (for the tenant's workload roles)."""
    network: Network | None = None
    """The shared network; None builds no tenant network (tests of other layers)."""


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
        self.network: TenantNetwork | None = None
        if args.network is not None:
            self.network = TenantNetwork(args.tenant.name, TenantNetworkArgs.from_network(
                args.network, args.tenant, args.platform), opts=pulumi.ResourceOptions(parent=self))
        # --- cluster layer ---
        # --- identity layer ---
        self.identity: TenantIdentity | None = None
        t = args.tenant
        if args.data_bucket is not None and args.cluster_identity is not None and (
                t.service_accounts or args.platform.identity.access_points):
            self.identity = TenantIdentity(
                f"{t.name}-identity",
                TenantIdentityArgs.of(args.platform, t, args.data_bucket, args.cluster_identity),
                opts=pulumi.ResourceOptions(parent=self))
        self.role_arns: dict[str, pulumi.Output[str]] = self.identity.role_arns if self.identity else {}
        # --- bundle layer ---
        self.register_outputs({"namespace": self.namespace, "addressBlock": self.address_block})

    def allow_from(self, peer: Tenant) -> None:
        """Let ``peer``'s pods open connections into this tenant: one set of resources per edge,
        owned by this tenant (the one that declared ``allowFrom``)."""
        # --- network layer (edges) ---
        if self.network is not None and peer.network is not None:
            allow_tenant_traffic(self.network, peer.network)
        # --- bundle layer (edges) ---

    def outputs(self) -> dict[str, pulumi.Input[object]]:
        """What other stacks need about this tenant (exported by the stack program)."""
        out: dict[str, pulumi.Input[object]] = {
            "namespace": self.namespace, "slot": self.spec.slot, "addressBlock": self.address_block,
            "subnetCidrs": self.subnet_cidrs, "roleArns": dict(self.role_arns)}
        if self.network is not None:
            out["subnetIds"] = self.network.subnet_ids
            out["securityGroupId"] = self.network.security_group_id
        return out
