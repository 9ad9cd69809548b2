"""The per-tenant component: the one parent of everything a tenant owns, across layers.

The render attributes a resource to a tenant by walking its parents up to the nearest
``tenancy:index:Tenant``; the ``tenancy/tenant`` tag and label say the same thing in AWS and
Kubernetes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from tenancy.components.bundle import TenantBundle, TenantBundleArgs
from tenancy.components.cluster import Cluster, TenantAccess, TenantAccessArgs, TenantNodeGroup, TenantNodeGroupArgs
from tenancy.components.identity import ClusterIdentity, DataBucket, TenantIdentity, TenantIdentityArgs
from tenancy.components.network import Network, TenantNetwork, TenantNetworkArgs, allow_tenant_traffic
from tenancy.components.team import mirrored_settings
from tenancy.plan import cluster_policies
from tenancy.spec import PlatformSpec, TenantSpec, naming
from tenancy.spec.wire import TENANT_TYPE

TYPE = TENANT_TYPE


@dataclass(frozen=True)
class TenantArgs:
    """What a tenant is built from: its spec, the platform's spec and the shared layers' outputs.

    A layer whose shared part is ``None`` builds nothing for the tenant (used by tests of one
    layer, and by programs that bring their own network or cluster)."""

    platform: PlatformSpec
    tenant: TenantSpec
    network: Network | None = None
    """The shared network (subnets, security groups)."""
    cluster: Cluster | None = None
    """The shared EKS cluster (node group, access entries, the Kubernetes provider)."""
    data_bucket: DataBucket | None = None
    """The platform's shared tenant-data bucket (identity layer)."""
    cluster_identity: ClusterIdentity | None = None
    """The cluster's OIDC provider/issuer and name (for the tenant's workload roles)."""
    placement: pulumi.Resource | None = None
    """The placement admission policy: the tenant's namespace is created only after it."""
    service_exposure: pulumi.Resource | None = None
    """The Service exposure admission policy: the tenant's namespace is created only after it too."""
    tenant_rbac: pulumi.Resource | None = None
    """With ``selfService.rbac``: the ``tenancy-tenant-rbac`` policy, which the namespace waits for too
    (no moment when the tenant's admins could write RBAC unguarded)."""
    shared_principals: frozenset[str] = frozenset()
    """Principals holding personas in several tenants: their one access entry is the platform's
    (:class:`~tenancy.components.access.SharedAccess`), not this tenant's."""
    shared_access_urn: pulumi.Input[str] | None = None
    """URN of the platform's SharedAccess component (aliases of entries moving back here)."""
    bundle: bool = True
    """Build the tenant's in-cluster bundle here (default). ``False``: the tenant stacks do
    (``Platform(in_cluster="tenant-stacks")``); the AWS side is unchanged."""


class Tenant(pulumi.ComponentResource):
    """Everything one tenant owns. Named after the tenant (names are unique per platform)."""

    def __init__(self, name: str, args: TenantArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        t = args.tenant
        self.spec = t
        self.namespace = naming.namespace(t.name)
        plan = args.platform.address_plan
        # A pooled tenant's pods take their addresses from its pool's block (branch interfaces
        # in the pool's subnets); it owns no subnets, node group or NACL.
        self.pool: str | None = t.pool
        slot = args.platform.block_slot(t)
        self.address_block = str(plan.tenant_block(slot))
        self.subnet_cidrs = [str(n) for n in plan.tenant_subnets(slot)]
        self._child = pulumi.ResourceOptions(parent=self)

        self._network_layer(args)
        self._cluster_layer(args)
        self._identity_layer(args)
        # teamStack: the team's own stack builds the bundle and the roles (tenancy.components.team).
        self.bundle: TenantBundle | None = None
        if not t.team_stack and args.bundle:
            self._bundle_layer(args)
        self.register_outputs({"namespace": self.namespace, "addressBlock": self.address_block})

    def _network_layer(self, args: TenantArgs) -> None:
        """The tenant's subnets and security group (:class:`TenantNetwork`)."""
        t = args.tenant
        self.network: TenantNetwork | None = None
        if args.network is not None:
            self.network = TenantNetwork(t.name, TenantNetworkArgs.from_network(args.network, t, args.platform),
                                         opts=self._child)

    def _cluster_layer(self, args: TenantArgs) -> None:
        """The tenant's node group (dedicated tenants) and its own principals' access entries."""
        t, child = args.tenant, self._child
        self.node_group: TenantNodeGroup | None = None
        self.access: TenantAccess | None = None
        if args.cluster is None:
            return
        if args.network is not None and self.network is not None and not t.offboarding and not self.pool:
            self.node_group = TenantNodeGroup(t.name, TenantNodeGroupArgs(
                platform=args.platform, tenant=t, cluster_name=args.cluster.cluster_name,
                subnet_ids=self.network.subnet_ids, security_group_id=self.network.security_group_id,
                tenant_nodes_security_group_id=args.network.tenant_nodes_security_group_id,
                depends_on=args.cluster.node_dependencies), opts=child)
        own = [a for p in ("admins", "editors", "viewers") for a in getattr(t, p)
               if a not in args.shared_principals]
        if own and not t.offboarding:
            self.access = TenantAccess(t.name, TenantAccessArgs(
                platform=args.platform, tenant=t, cluster_name=args.cluster.cluster_name,
                skip_principals=args.shared_principals, shared_access_urn=args.shared_access_urn), opts=child)

    def _identity_layer(self, args: TenantArgs) -> None:
        """The tenant's workload roles (:class:`TenantIdentity`)."""
        t = args.tenant
        self.identity: TenantIdentity | None = None
        if args.data_bucket is not None and args.cluster_identity is not None and not t.offboarding and (
                not t.team_stack) and (t.service_accounts or args.platform.identity.access_points):
            self.identity = TenantIdentity(
                f"{t.name}-identity", TenantIdentityArgs.of(args.platform, t, args.data_bucket, args.cluster_identity),
                opts=self._child)
        self.role_arns: dict[str, pulumi.Output[str]] = self.identity.role_arns if self.identity else {}

    def _bundle_layer(self, args: TenantArgs) -> None:
        """The tenant's in-cluster objects (:class:`TenantBundle`)."""
        t, plan = args.tenant, args.platform.address_plan
        irsa = args.platform.identity.mode == "irsa"
        provider = args.cluster.provider if args.cluster is not None else None
        if t.adopt and args.cluster is not None:
            # The retained namespace and its objects exist: update them in place (pulumi-kubernetes
            # >= 4.29 otherwise fails create with AlreadyExists; its upsertExistingObjects option).
            provider = k8s.Provider(f"{t.name}-adopt", kubeconfig=args.cluster.kubeconfig,
                                    upsert_existing_objects=True, opts=self._child)
        self.bundle = TenantBundle(t.name, TenantBundleArgs(
            tenant=t, vpc_cidr=args.platform.vpc_cidr, workloads=args.platform.workloads,
            # IRSA: the ServiceAccount names its role; Pod Identity associates it on the AWS side.
            role_arns=self.role_arns if irsa else {},
            provider=provider,
            # The interface VPC endpoints (STS, ECR, EC2, Logs) live in the system subnets.
            aws_service_cidrs=[str(n) for n in plan.system_subnets()] if args.network is not None else (),
            s3_cidr_blocks=args.network.s3_cidr_blocks if args.network is not None else None,
            pod_identity_agent=not irsa,
            service_cidr=args.platform.service_cidr,
            kubernetes_service_ip=args.platform.kubernetes_service_ip,
            # EKS places the API endpoint's ENIs in the cluster's subnets: the system subnets.
            api_endpoint_cidrs=[str(n) for n in plan.system_subnets()],
            wait_for=[r for r in (args.placement, args.service_exposure, args.tenant_rbac) if r is not None],
            # Pooled tenants: the SecurityGroupPolicy puts the tenant's groups on its pods.
            pod_security_group_ids=getattr(self.network, "pod_security_group_ids", None) if t.pooled else None,
            register_allow_from=False,  # the platform registers each edge once every tenant exists
            cluster_network_policies=cluster_policies.enabled(args.platform),
        ), opts=self._child)

    @property
    def pod_security_group_ids(self) -> pulumi.Output[list[str]] | None:
        """Pooled tenants: the groups its ``SecurityGroupPolicy`` puts on its pods (its own group
        and the marker; ``TenantNetwork.pod_security_group_ids``). None for dedicated tenants and
        without a network layer."""
        return self.network.pod_security_group_ids if self.network is not None else None

    def allow_from(self, peer: Tenant) -> None:
        """Let ``peer``'s pods open connections into this tenant: one set of resources per edge,
        owned by this tenant (the one that declared ``allowFrom``)."""
        # --- network layer (edges) ---
        edge = self.spec.edge(peer.spec.name)
        if self.network is not None and peer.network is not None:
            allow_tenant_traffic(self.network, peer.network, edge.ports if edge is not None else None)
        # --- bundle layer (edges) --- (a team-stack tenant's own edges are its stack's)
        if self.bundle is not None:
            self.bundle.allow_from(peer.spec.name,
                                   peer_namespace=peer.bundle.namespace if peer.bundle is not None else None,
                                   peer_namespaces=peer.bundle.namespaces if peer.bundle is not None else
                                   dict.fromkeys(naming.tenant_namespaces(peer.spec)))

    def outputs(self) -> dict[str, pulumi.Input[object]]:
        """What other stacks need about this tenant (exported by the stack program)."""
        out: dict[str, pulumi.Input[object]] = {
            "namespace": self.namespace, "slot": self.spec.slot, "addressBlock": self.address_block,
            "subnetCidrs": self.subnet_cidrs, "roleArns": dict(self.role_arns)}
        if self.spec.namespaces:
            out["namespaces"] = naming.tenant_namespaces(self.spec)
        if self.pool:
            out["pool"] = self.pool
        if self.network is not None:
            out["subnetIds"] = self.network.subnet_ids
            out["securityGroupId"] = self.network.security_group_id
            if self.network.pod_security_group_ids is not None:
                out["podSecurityGroupIds"] = self.network.pod_security_group_ids
        if self.node_group is not None:
            out["nodeGroupName"] = self.node_group.node_group.node_group_name
        if self.spec.team_stack:
            out["teamStack"] = True
            # What the team's copy must repeat exactly (checked by the team stack): the platform's
            # capacity checks count this quota, it builds the walls these switches open (AWS side),
            # and its other tenants' edges reach these namespaces (every one, main first, as above).
            allow_from = self.spec.model_dump(by_alias=True, mode="json")["allowFrom"]
            out["allowFrom"] = allow_from  # names, or {tenant, ports} for port-scoped edges
            out.update(mirrored_settings(self.spec))
        return out
