"""The platform: the one place that knows every layer. It builds them from a spec and wires the
outputs of one layer into the next (network → cluster → identity → per-tenant bundle)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal, TypeVar

import pulumi

from tenancy.components.access import TYPE as SHARED_ACCESS
from tenancy.components.access import SharedAccess, SharedAccessArgs, shared_principals
from tenancy.components.access import component_name as shared_access_name
from tenancy.components.addon import AddonArgs
from tenancy.components.autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from tenancy.components.cluster import (
    Cluster,
    ClusterArgs,
    DisruptionBudgetPolicy,
    DisruptionBudgetPolicyArgs,
    PlacementInjection,
    PlacementInjectionArgs,
    PlacementPolicy,
    PlacementPolicyArgs,
    PoolNodeGroup,
    PoolNodeGroupArgs,
    ServiceExposurePolicy,
    ServiceExposurePolicyArgs,
    TenantRbacPolicy,
    TenantRbacPolicyArgs,
)
from tenancy.components.identity import ClusterIdentity, DataBucket
from tenancy.components.logs import LogRouter, LogRouterArgs
from tenancy.components.network import Network, pool_nacl_entries
from tenancy.components.observability import PlatformObservability, PlatformObservabilityArgs
from tenancy.components.storage import BlockStorage, BlockStorageArgs
from tenancy.components.team import team_stack_facts
from tenancy.components.tenant import Tenant, TenantArgs
from tenancy.components.tiers import TierPriorityClasses, TierPriorityClassesArgs
from tenancy.components.walls import ClusterWalls, ClusterWallsArgs
from tenancy.plan import admission, cluster_policies
from tenancy.plan.autoscaler import enabled as autoscaler_enabled
from tenancy.plan.cluster import pool_resource_name
from tenancy.plan.observability import ADDON as METRICS_ADDON
from tenancy.spec import PlatformSpec
from tenancy.spec.wire import PLATFORM_TYPE

TYPE = PLATFORM_TYPE

IN_CLUSTER_MODES = ("platform", "tenant-stacks")
"""Where the tenants' in-cluster objects are deployed (``Platform(in_cluster=…)``, stack config
``tenancy:inCluster``): ``platform`` (default) — by this component, with everything else;
``tenant-stacks`` — by the per-tenant stacks (:func:`tenancy.program.tenant_stacks_main`,
docs/scaling.md), which read this stack's outputs by StackReference."""

_WHOLE = [False]

_A = TypeVar("_A", bound=AddonArgs)


@contextmanager
def whole_platform() -> Iterator[None]:
    """While open, every Platform builds its tenants' in-cluster objects whatever its
    ``in_cluster``: how ``tenancy render`` (and so diff, check, verify) keeps seeing ONE platform
    — the tenant stacks register exactly those objects (tests/components/test_platform_tenant_stacks.py)."""
    before, _WHOLE[0] = _WHOLE[0], True
    try:
        yield
    finally:
        _WHOLE[0] = before


BUILT_SPECS: list[PlatformSpec] = []
"""Specs of the Platforms built in this process, in order: how ``tenancy render --program`` and
:mod:`tenancy.testing` find the spec of a user's program (cleared before each run)."""


class Platform(pulumi.ComponentResource):
    """A whole multi-tenant EKS platform from one validated :class:`PlatformSpec`.

    Use :func:`tenancy.load_platform` to build the spec from config: it rejects every invalid
    input, with its path and the fix, before anything is registered.

    ``in_cluster="tenant-stacks"``: the AWS layer and the cluster-wide objects only; the tenants'
    bundles and the Kubernetes halves of their edges are left to the tenant stacks, which read
    what they need from :meth:`outputs` (see :data:`IN_CLUSTER_MODES`).
    """

    def __init__(self, name: str, spec: PlatformSpec, opts: pulumi.ResourceOptions | None = None, *,
                 in_cluster: Literal["platform", "tenant-stacks"] = "platform"):
        if in_cluster not in IN_CLUSTER_MODES:
            raise ValueError(f"in_cluster (stack config tenancy:inCluster) must be one of {list(IN_CLUSTER_MODES)}, "
                             f"got {in_cluster!r}")
        super().__init__(TYPE, name, None, opts)
        self.spec = spec
        self.in_cluster = "platform" if _WHOLE[0] else in_cluster
        BUILT_SPECS.append(spec)
        self._child = pulumi.ResourceOptions(parent=self)
        # --- network layer ---
        self.network = Network(spec.name, spec, opts=self._child)
        # --- cluster layer ---
        self._cluster_and_pools()
        self._storage()
        self._observability()
        self._autoscaler()
        self._cluster_policies()
        self._log_router()
        # --- identity layer, tenants ---
        self._tenants()
        self._edges()
        self.register_outputs({})

    def _cluster_and_pools(self) -> None:
        """The cluster, and one node group per pool (its subnets and group are the network's)."""
        spec, net, child = self.spec, self.network, self._child
        self.cluster = Cluster(spec.name, ClusterArgs(
            platform=spec, vpc_id=net.vpc_id, system_subnet_ids=net.system_subnet_ids,
            control_plane_security_group_id=net.control_plane_security_group_id,
            system_security_group_id=net.system_security_group_id), opts=child)
        self.pools: dict[str, PoolNodeGroup] = {}
        for pool in spec.node_pools:
            pn = net.pools[pool.name]
            self.pools[pool.name] = PoolNodeGroup(pool_resource_name(spec.name, pool.name), PoolNodeGroupArgs(
                platform=spec, pool=pool.name, cluster_name=self.cluster.cluster_name, subnet_ids=pn.subnet_ids,
                security_group_id=pn.security_group_id,
                tenant_nodes_security_group_id=net.tenant_nodes_security_group_id,
                depends_on=self.cluster.node_dependencies), opts=child)

    def _addon_args(self, cls: type[_A], *after: pulumi.Resource) -> _A:
        """An add-on's inputs from the cluster layer: its identity (IRSA or Pod Identity) and what
        its workload waits for — the system nodes, ``after``, and with Pod Identity the agent add-on."""
        c = self.cluster
        agent = [c.pod_identity_agent_addon] if c.pod_identity_agent_addon is not None else []
        return cls(platform=self.spec, cluster_name=c.cluster_name, provider=c.provider,
                   oidc_provider_arn=c.oidc_provider_arn, oidc_issuer=c.oidc_issuer, cluster_arn=c.cluster_arn,
                   depends_on=[c.system_nodes.node_group, *after, *agent])

    def _storage(self) -> None:
        """With ``workloads.storage: ebs``, the EBS CSI driver and the default StorageClass."""
        spec = self.spec
        self.storage: BlockStorage | None = None
        if spec.workloads.storage == "ebs":
            self.storage = BlockStorage(f"{spec.name}-storage", self._addon_args(BlockStorageArgs), opts=self._child)

    def _observability(self) -> None:
        """Metrics add-on and dashboards, saved queries, backups (``observability``; each part may be off)."""
        spec, c = self.spec, self.cluster
        o = spec.observability
        self.observability: PlatformObservability | None = None
        if o.metrics.enabled or o.backup.enabled or (o.saved_queries and spec.tenants):
            agent = [c.pod_identity_agent_addon] if c.pod_identity_agent_addon is not None else []
            self.observability = PlatformObservability(f"{spec.name}-observability", PlatformObservabilityArgs(
                platform=spec, cluster_name=c.cluster_name, cluster_arn=c.cluster_arn,
                oidc_provider_arn=c.oidc_provider_arn, oidc_issuer=c.oidc_issuer,
                depends_on=[c.system_nodes.node_group, *agent]), opts=self._child)

    def _autoscaler(self) -> None:
        """With ``cluster.autoscaler: clusterAutoscaler`` (the default), the cluster-autoscaler on
        the system nodes (the node groups' ASG tags are the cluster layer's)."""
        spec = self.spec
        self.autoscaler: ClusterAutoscaler | None = None
        if autoscaler_enabled(spec):
            self.autoscaler = ClusterAutoscaler(f"{spec.name}-autoscaler", self._addon_args(
                ClusterAutoscalerArgs, self.cluster.platform_policies), opts=self._child)

    def _log_router(self) -> None:
        """With ``observability.logs.enabled``, each tenant's container log group, its reader role,
        and the log router DaemonSet on the tenant and pool nodes (docs/observability.md)."""
        spec = self.spec
        self.log_router: LogRouter | None = None
        if spec.observability.logs.enabled:
            self.log_router = LogRouter(f"{spec.name}-log-router", self._addon_args(LogRouterArgs), opts=self._child)

    def _cluster_policies(self) -> None:
        """The placement and service exposure policies, the tiers' PriorityClasses, and what the
        identity layer needs from the cluster."""
        spec, child, provider = self.spec, self._child, self.cluster.provider
        self.placement = PlacementPolicy(
            f"{spec.name}-placement", PlacementPolicyArgs(provider=provider), opts=child)
        self.service_exposure = ServiceExposurePolicy(
            f"{spec.name}-service-exposure", ServiceExposurePolicyArgs(provider=provider), opts=child)
        # Disruption budgets on shared pools (issue 23): only with pooled tenants.
        self.disruption_budgets: DisruptionBudgetPolicy | None = None
        if spec.pooled_tenants:
            self.disruption_budgets = DisruptionBudgetPolicy(
                f"{spec.name}-disruption-budgets", DisruptionBudgetPolicyArgs(provider=provider), opts=child)
        # Self-service RBAC and injected placement (issue 26).
        self.tenant_rbac: TenantRbacPolicy | None = None
        if any(t.self_service.rbac for t in spec.tenants):
            self.tenant_rbac = TenantRbacPolicy(
                f"{spec.name}-tenant-rbac", TenantRbacPolicyArgs(provider=provider), opts=child)
        self.placement_injection: PlacementInjection | None = None
        if admission.mutation_supported(spec.kubernetes_version):
            self.placement_injection = PlacementInjection(
                f"{spec.name}-placement-injection", PlacementInjectionArgs(provider=provider), opts=child)
        # Cluster network walls (issue 26): the Baseline default deny, and the guard of the platform's
        # NetworkPolicies when a tenant may write its own.
        self.walls: ClusterWalls | None = None
        own = any(t.self_service.network_policies for t in spec.tenants)
        if cluster_policies.enabled(spec) or own:
            self.walls = ClusterWalls(f"{spec.name}-walls", ClusterWallsArgs(
                provider=provider, baseline=cluster_policies.enabled(spec), network_policy_guard=own), opts=child)
        # Tiers: the PriorityClasses each tenant's tenancy-tier quota admits one of.
        self.tiers = TierPriorityClasses(f"{spec.name}-tiers", TierPriorityClassesArgs(provider=provider),
                                         opts=child)
        self.cluster_identity = ClusterIdentity(
            oidc_provider_arn=self.cluster.oidc_provider_arn, oidc_issuer=self.cluster.oidc_issuer,
            cluster_name=self.cluster.cluster_name, cluster_arn=self.cluster.cluster_arn)

    def _tenants(self) -> None:
        """The data bucket, every tenant, and the shared principals' access entries."""
        spec, child = self.spec, self._child
        self.data_bucket = DataBucket("tenant-data", spec, opts=child)
        self.tenants: dict[str, Tenant] = {}
        shared = frozenset(shared_principals(spec))
        shared_urn = pulumi.create_urn(shared_access_name(spec.name), SHARED_ACCESS, parent=self)
        for t in spec.tenants:
            self.tenants[t.name] = Tenant(t.name, TenantArgs(
                platform=spec, tenant=t, network=self.network, cluster=self.cluster,
                data_bucket=self.data_bucket, cluster_identity=self.cluster_identity, placement=self.placement,
                service_exposure=self.service_exposure, bundle=self.in_cluster == "platform",
                tenant_rbac=self.tenant_rbac if t.self_service.rbac else None,
                shared_principals=shared, shared_access_urn=shared_urn),
                opts=child)
        # Principals with personas in several tenants: one access entry each, with all groups.
        self.shared_access: SharedAccess | None = None
        if shared:
            self.shared_access = SharedAccess(shared_access_name(spec.name), SharedAccessArgs(
                platform=spec, cluster_name=self.cluster.cluster_name, tenants=self.tenants), opts=child)

    def _edges(self) -> None:
        """The ``allowFrom`` edges, after every tenant exists (tenant X's allowFrom [Y] is owned by
        X), and the NACL entries of edges crossing a pool's block (once per block pair)."""
        for t in self.spec.tenants:
            for peer in t.peers:
                self.tenants[t.name].allow_from(self.tenants[peer])
        if self.network.pools:
            pool_nacl_entries(self.spec, {n: t.network for n, t in self.tenants.items() if t.network is not None},
                              self.network.pools)

    def outputs(self) -> dict[str, pulumi.Input[object]]:
        """The stack outputs other stacks need (see docs/deploy.md, "Stack outputs")."""
        return {
            "platformName": self.spec.name,
            "clusterName": self.cluster.cluster_name,
            "oidcProviderArn": self.cluster.oidc_provider_arn,
            "oidcIssuer": self.cluster.oidc_issuer,
            "eksManagedSecurityGroupId": self.cluster.eks_managed_security_group_id,
            # What this deploy installed (tenancy.plan.addons: resolved per Kubernetes version).
            "kubernetesVersion": self.spec.kubernetes_version,
            "addonVersions": {**self.cluster.addon_versions,
                              **({self.storage.addon_name: self.storage.addon_version} if self.storage else {}),
                              **({METRICS_ADDON: self.observability.addon_version}
                                 if self.observability and self.observability.addon_version else {})},
            "network": self.network.outputs(),
            "tenantDataBucket": self.data_bucket.bucket_name,
            "tenantDataKeyArn": self.data_bucket.kms_key_arn,
            # The default StorageClass's key (`tenancy verify --stack-outputs` resolves its kmsKeyId).
            **({"volumeKeyArn": self.storage.volume_key.arn} if self.storage else {}),
            "tenants": {name: t.outputs() for name, t in sorted(self.tenants.items())},
            **({"pools": {name: {**self.network.pools[name].outputs(),
                                 "nodeGroupName": ng.node_group.node_group_name,
                                 "tenants": [t.name for t in self.spec.pool_tenants(name)]}
                          for name, ng in sorted(self.pools.items())}} if self.pools else {}),
            # For team stacks (tenancy.components.team.PlatformRef):
            "kubeconfig": pulumi.Output.secret(self.cluster.kubeconfig),  # type: ignore[arg-type]
            "tenantDataBucketArn": self.data_bucket.bucket_arn,
            "s3CidrBlocks": self.network.s3_cidr_blocks,
            "teamStackFacts": team_stack_facts(self.spec),
            # For tenant stacks (tenancy.program.tenant_stacks_main): where the bundles are, and the
            # bundle inputs that are not per tenant (per tenant: tenants.<name>.roleArns/podSecurityGroupIds).
            "inCluster": self.in_cluster,
            "awsServiceCidrs": self.api_endpoint_cidrs,
            "apiEndpointCidrs": self.api_endpoint_cidrs,
        }

    @property
    def api_endpoint_cidrs(self) -> list[str]:
        """The system subnets: where EKS puts the API endpoint's interfaces (the cluster's subnets)
        and where the interface VPC endpoints (STS, ECR, EC2, Logs) live — the bundle's
        ``api_endpoint_cidrs`` and ``aws_service_cidrs`` (as :class:`~tenancy.components.tenant.Tenant` passes them)."""
        return [str(n) for n in self.spec.address_plan.system_subnets()]
