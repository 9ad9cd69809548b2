"""The in-cluster layer as per-tenant stacks: one platform stack for the cluster-wide objects and
one small stack per tenant, deployed by the platform's pipeline (docs/scaling.md).

Why: through the Pulumi engine, the cost of an update grows with the stack — every ``up`` runs
the whole program and diffs every resource, and a self-managed backend rewrites the whole state
after every step — so onboarding one tenant into a monolithic in-cluster stack of 200 tenants
takes tens of seconds and grows with every tenant. A tenant's stack holds only its own
namespace's objects, so onboarding or changing one tenant costs the same at 10 or 200 tenants.

What goes where (:mod:`tenancy.plan.tenant_stacks`): the platform stack has the placement
admission policy; a tenant's stack has its bundle (namespace, Pod Security, quota, limits, RBAC,
service accounts, network policies) and the halves of the ``allowFrom`` edges that land in its
namespace. The objects are the same as the monolithic program's, with the same lifecycle: the
namespace is retained when the stack is destroyed and its children go with it (nothing is
deleted in the cluster but the edge halves the peers' stacks drop)::

    provider = k8s.Provider("cluster", kubeconfig=kubeconfig)
    platform_layer(spec, provider)            # the platform stack
    tenant_layer(spec, "alpha", provider)     # the stack tenant-alpha

:func:`tenancy.program.tenant_stacks_main` is the program doing either from config, and
:func:`tenancy.fleet.tenants.deploy_tenants` runs the stacks (only those whose objects changed).
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from tenancy.components.bundle import TenantBundle, TenantBundleArgs, register_manifest
from tenancy.components.cluster import (
    PlacementInjection,
    PlacementInjectionArgs,
    PlacementPolicy,
    PlacementPolicyArgs,
    TenantRbacPolicy,
    TenantRbacPolicyArgs,
)
from tenancy.components.walls import ClusterWalls, ClusterWallsArgs
from tenancy.plan import admission, cluster_policies
from tenancy.plan import tenant_stacks as plan
from tenancy.spec import PlatformSpec

__all__ = ["PlatformValues", "platform_layer", "tenant_layer"]


@dataclass(frozen=True)
class PlatformValues:
    """What the AWS ``Platform`` (``in_cluster="tenant-stacks"``) gives the tenant stacks: its
    stack outputs (:meth:`tenancy.components.platform.Platform.outputs`) — the S3 ranges of
    ``tenancy-allow-s3`` and, per tenant,
    its IRSA role ARNs and (pooled tenants) pod security group ids. With these a tenant stack
    registers exactly the objects the Platform itself would (tests/components/test_platform_tenant_stacks.py)."""

    s3_cidr_blocks: pulumi.Input[list[str]]
    tenants: pulumi.Input[dict[str, Any]]
    """The Platform's ``tenants`` output: name -> ``Tenant.outputs()``."""

    @classmethod
    def from_reference(cls, ref: pulumi.StackReference) -> PlatformValues:
        """Read by StackReference; fails the update unless that stack deploys with
        ``tenancy:inCluster: tenant-stacks`` (else the Platform and the tenant stacks would both
        own the same objects)."""
        def check(mode: Any) -> str:
            if mode != "tenant-stacks":
                raise ValueError(f"platform stack {ref._name!r} deploys the tenants' in-cluster objects itself "
                                 f"(output inCluster={mode!r}): set `pulumi config set tenancy:inCluster "
                                 "tenant-stacks` on it and `pulumi up` it first (docs/scaling.md, \"Switching\")")
            return str(mode)

        gate = ref.get_output("inCluster").apply(check)

        def after(key: str) -> Any:
            return pulumi.Output.all(gate, ref.require_output(key)).apply(lambda a: a[1])

        return cls(s3_cidr_blocks=after("s3CidrBlocks"), tenants=after("tenants"))

    def bundle_args(self, spec: PlatformSpec, tenant: str) -> dict[str, Any]:
        """The per-tenant bundle inputs, as :class:`~tenancy.components.tenant.Tenant` passes them."""
        t = next(x for x in spec.tenants if x.name == tenant)
        of: pulumi.Output[Any] = pulumi.Output.from_input(self.tenants).apply(lambda all_: all_[tenant])
        irsa = spec.identity.mode == "irsa"
        # Tenant._identity_layer: a role per service account, unless offboarding (no roles then).
        roles = {sa: of.apply(functools.partial(_role_arn, sa=sa))
                 for sa in t.service_accounts} if irsa and not t.offboarding else {}
        # The system subnets (API endpoint's interfaces, interface VPC endpoints) follow from the
        # spec alone, and the manifests list them one by one: taken from the spec, not the outputs
        # (the Platform exports the same list as apiEndpointCidrs/awsServiceCidrs).
        system = [str(n) for n in spec.address_plan.system_subnets()]
        out: dict[str, Any] = {"role_arns": roles, "s3_cidr_blocks": self.s3_cidr_blocks,
                               "aws_service_cidrs": system, "api_endpoint_cidrs": list(system)}
        if t.pooled:
            out["pod_security_group_ids"] = of.apply(lambda o: o["podSecurityGroupIds"])
        return out


def _role_arn(tenant_outputs: Any, sa: str) -> str:
    return str(tenant_outputs["roleArns"][sa])


def platform_layer(spec: PlatformSpec, provider: k8s.Provider) -> PlacementPolicy:
    """The platform stack's resources: the placement policy (pods pinned to their tenant's nodes),
    which must be in force before any tenant namespace exists — the runner deploys this stack
    first and no tenant stack if it fails."""
    placement = PlacementPolicy(f"{spec.name}-placement", PlacementPolicyArgs(provider=provider))
    # What the tenants' fences need in force before their namespaces exist, as the Platform
    # registers it (plan.platform_objects lists the same objects).
    own = any(t.self_service.network_policies for t in spec.tenants)
    if cluster_policies.enabled(spec) or own:
        ClusterWalls(f"{spec.name}-walls", ClusterWallsArgs(
            provider=provider, baseline=cluster_policies.enabled(spec), network_policy_guard=own))
    if any(t.self_service.rbac for t in spec.tenants):
        TenantRbacPolicy(f"{spec.name}-tenant-rbac", TenantRbacPolicyArgs(provider=provider))
    if admission.mutation_supported(spec.kubernetes_version):
        PlacementInjection(f"{spec.name}-placement-injection", PlacementInjectionArgs(provider=provider))
    return placement


def tenant_layer(spec: PlatformSpec, tenant: str, provider: k8s.Provider,
                 platform: PlatformValues | None = None) -> TenantBundle:
    """One tenant's stack: its bundle plus the edge halves in its namespace (each deleted with the
    namespace, like the bundle's own children). ``tenant`` must be a tenant of ``spec``.
    ``platform``: the AWS Platform's values (role ARNs, S3 ranges, ...); without, the bundle has
    none of them (a cluster tenancy's AWS layer does not manage; pooled tenants are refused)."""
    by_name = {t.name: t for t in spec.tenants}
    if tenant not in by_name:
        close = difflib.get_close_matches(tenant, list(by_name), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "add it to the spec's tenants first"
        raise ValueError(f"tenancy:tenant {tenant!r} is not a tenant of platform {spec.name!r}; {hint}")
    inputs = plan.bundle_inputs(spec)
    if platform is not None:
        inputs.update(platform.bundle_args(spec, tenant))
    bundle = TenantBundle(tenant, TenantBundleArgs(tenant=by_name[tenant], provider=provider,
                                                   register_allow_from=False, known_tenants=list(by_name),
                                                   **inputs))
    child = pulumi.ResourceOptions(parent=bundle, provider=provider, depends_on=[bundle.namespace],
                                   deleted_with=bundle.namespace)
    for half in plan.edge_halves(spec, tenant):
        bundle.resources[half.key] = register_manifest(half.key, half.manifest, child)
    if inputs["cluster_network_policies"]:  # the Admin-tier edge policies it declares (cluster-scoped)
        for m in cluster_policies.tenant_edge_policies(by_name[tenant]):
            bundle.resources[f"{m['kind']}/{m['metadata']['name']}"] = register_manifest(
                f"{tenant}/{m['metadata']['name']}", m,
                pulumi.ResourceOptions(parent=bundle, provider=provider, deleted_with=bundle.namespace))
    return bundle
