"""Per-tenant stacks (pure): how the in-cluster layer splits into one *platform* stack (the
cluster-wide objects) and one small stack per tenant, and which stacks a spec change touches.

The split is by namespace: a tenant's stack owns every object in its namespaces (its extra
``namespaces`` included), including the
halves of ``allowFrom`` edges that land there — the ingress policy ``tenancy-allow-from-<peer>``
of an edge it declares, and the egress policy ``tenancy-allow-to-<tenant>`` of an edge another
tenant declares towards it. No stack writes into another stack's namespace, so the stacks have no
order among themselves (only after the platform stack) and run in parallel. The objects are the
ones :func:`tenancy.plan.kubernetes.edge_manifests` gives the monolithic program, only grouped
differently (tests/plan/test_tenant_stacks.py checks the union is the same).

Which stacks to run: :func:`tenant_fingerprint` hashes exactly what a tenant's stack registers;
the runner (:mod:`tenancy.fleet.tenants`) compares it with the fingerprint of the last successful
``up`` and skips unchanged tenants. Onboarding a tenant that no one peers with changes only its own
fingerprint; a tenant adding ``allowFrom: [b]`` changes its own and ``b``'s (``b``'s namespace
gets the egress half).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenancy.plan import admission, cluster_policies
from tenancy.plan import kubernetes as k8s_plan
from tenancy.spec import PlatformSpec, TenantSpec, naming

Manifest = dict[str, Any]
PLATFORM_STACK = "platform"
"""The platform stack's name among the runner's stacks (tenant stacks are ``tenant-<name>``)."""
DEFAULT_PER_STACK = 10
"""Tenants per stack of ``tenancy deploy-tenants`` and :func:`tenancy.fleet.tenants.deploy_tenants`."""
LAYOUT_VERSION = "1"
"""Part of every fingerprint: bump when the grouping changes, so every stack is run again."""


def tenant_stack_name(tenant: str) -> str:
    """The stack of tenant ``tenant`` alone (``tenant-<name>``: never the platform stack's name)."""
    return f"tenant-{tenant}"


def stack_of(tenant: TenantSpec, per_stack: int = 1) -> str:
    """The stack holding ``tenant``'s objects. ``per_stack`` 1: its own (``tenant-<name>``);
    above 1, dedicated tenants are grouped by slot, ``per_stack`` slots a stack
    (``tenants-<first slot>``): a tenant's slot never changes, so neither does its stack, and a
    stack never holds more than ``per_stack`` tenants whatever the platform's size. Pooled tenants
    (no slot) always get a stack of their own."""
    if per_stack < 1:
        raise ValueError(f"tenants per stack must be at least 1, got {per_stack}")
    if per_stack == 1 or tenant.slot is None:
        return tenant_stack_name(tenant.name)
    return f"tenants-{tenant.slot // per_stack * per_stack:04d}"


def stacks_of(spec: PlatformSpec, per_stack: int = 1) -> dict[str, list[str]]:
    """Tenant stack name -> its tenants (spec order)."""
    out: dict[str, list[str]] = {}
    for t in spec.tenants:
        out.setdefault(stack_of(t, per_stack), []).append(t.name)
    return out


@dataclass(frozen=True)
class EdgeHalf:
    """One object of an edge, in ``namespace``: declared by ``tenant``, allowing ``peer``."""

    tenant: str
    peer: str
    manifest: Manifest

    @property
    def key(self) -> str:
        """The resource name inside the owning tenant's stack (unique per stack)."""
        return f"{self.manifest['metadata']['namespace']}/edge/{self.tenant}-from-{self.peer}/" \
               f"{self.manifest['kind']}/{self.manifest['metadata']['name']}"


def allowed_by(spec: PlatformSpec) -> dict[str, list[str]]:
    """Peer -> the tenants that allow it in (the reverse of every ``allowFrom``), built once."""
    out: dict[str, list[str]] = {}
    for t in spec.tenants:
        for peer in t.peers:
            out.setdefault(peer, []).append(t.name)
    return out


def edge_halves(spec: PlatformSpec, tenant: str, reverse: Mapping[str, list[str]] | None = None,
                by_name: Mapping[str, TenantSpec] | None = None) -> list[EdgeHalf]:
    """The edge objects in ``tenant``'s namespace: halves of the edges it declares and of the edges
    declaring it as a peer. ``reverse`` (:func:`allowed_by`) and ``by_name`` (tenants by name)
    avoid scans of every tenant when called per tenant."""
    reverse = allowed_by(spec) if reverse is None else reverse
    by_name = {t.name: t for t in spec.tenants} if by_name is None else by_name
    me = by_name[tenant]
    pairs = [(tenant, p) for p in me.peers] + [(t, tenant) for t in reverse.get(tenant, []) if t != tenant]
    mine = set(naming.tenant_namespaces(me))
    out = []
    for declarer, peer in pairs:
        edge = by_name[declarer].edge(peer)
        for m in k8s_plan.edge_manifests(declarer, peer, spec.workloads.mesh, edge.ports if edge else None,
                                         naming.tenant_namespaces(by_name[declarer]),
                                         naming.tenant_namespaces(by_name[peer])):
            if m["metadata"]["namespace"] in mine:  # every namespace of the tenant (``namespaces``)
                out.append(EdgeHalf(declarer, peer, m))
    return out


def bundle_inputs(spec: PlatformSpec) -> dict[str, Any]:
    """The platform-wide inputs of every tenant's bundle in a tenant stack (in-cluster layer
    against a given cluster: no AWS layer outputs such as role ARNs or S3 ranges)."""
    return {"vpc_cidr": spec.vpc_cidr, "workloads": spec.workloads,
            "pod_identity_agent": spec.identity.mode != "irsa", "service_cidr": spec.service_cidr,
            "kubernetes_service_ip": spec.kubernetes_service_ip,
            "cluster_network_policies": cluster_policies.enabled(spec)}


def tenant_objects(spec: PlatformSpec, tenant: TenantSpec, reverse: Mapping[str, list[str]] | None = None,
                   by_name: Mapping[str, TenantSpec] | None = None) -> list[Manifest]:
    """Every object ``tenant``'s stack registers: its bundle, its Admin-tier walls (its own
    ClusterNetworkPolicy and one per edge it declares, when the platform has them), then its edge
    halves."""
    inputs = bundle_inputs(spec)
    bundle = k8s_plan.tenant_manifests(tenant, inputs["workloads"], inputs["vpc_cidr"], None, (),
                                       inputs["pod_identity_agent"], inputs["service_cidr"], (),
                                       inputs["kubernetes_service_ip"],
                                       [POD_SECURITY_GROUPS_FROM_PLATFORM] if tenant.pool else None)
    walls = [cluster_policies.tenant_policy(tenant, inputs["workloads"], inputs["vpc_cidr"],
                                            pod_identity_agent=inputs["pod_identity_agent"],
                                            service_cidr=inputs["service_cidr"],
                                            kubernetes_service_ip=inputs["kubernetes_service_ip"]),
             *cluster_policies.tenant_edge_policies(tenant)] if inputs["cluster_network_policies"] else []
    return bundle + walls + [h.manifest for h in edge_halves(spec, tenant.name, reverse, by_name)]


POD_SECURITY_GROUPS_FROM_PLATFORM = "<the AWS Platform stack's tenants.<name>.podSecurityGroupIds>"
"""A pooled tenant's pod security groups in :func:`tenant_objects` (its fingerprint): the tenant
stack reads the real ids by StackReference; they are fixed for the tenant's life (its own group
and the marker group), so they are no part of what decides whether its stack runs."""


def platform_objects(spec: PlatformSpec) -> list[Manifest]:
    """The platform stack's cluster-wide objects: the placement admission policy and binding, and
    what ``spec``'s tenants' fences need in force before their namespaces exist (as the Platform
    registers them): the Baseline default deny, the guard of the platform's NetworkPolicies
    (``selfService.networkPolicies``), ``tenancy-tenant-rbac`` (``selfService.rbac``) and the
    placement MutatingAdmissionPolicy (Kubernetes 1.36+)."""
    out = [admission.placement_policy(), admission.placement_binding()]
    if cluster_policies.enabled(spec):
        out.append(cluster_policies.baseline_policy())
    if any(t.self_service.network_policies for t in spec.tenants):
        out += admission.network_policy_guard_manifests()
    if any(t.self_service.rbac for t in spec.tenants):
        out += admission.tenant_rbac_manifests()
    if admission.mutation_supported(spec.kubernetes_version):
        out += admission.placement_mutation_manifests()
    return out


def unsupported(spec: PlatformSpec, platform_stack: bool = False) -> list[str]:
    """What tenant stacks cannot deploy, each naming the tenant and the way out: ``teamStack``
    tenants, and pooled tenants without ``platform_stack`` (their SecurityGroupPolicy needs their
    pod security groups, which only the AWS Platform stack's ``tenants`` output gives)."""
    # teamStack tenants: their bundle is their team's stack's, and a platform tenant's edge with one
    # puts its half in the team tenant's namespace (tenancy.components.tenant.Tenant.allow_from).
    team = [f"tenants[{i}] ({t.name}): teamStack tenants are not supported by tenant stacks yet (the team's stack "
            "owns their namespace); deploy this platform's in-cluster layer with the Platform stack"
            for i, t in enumerate(spec.tenants) if t.team_stack]
    if platform_stack:
        return team
    return team + [f"tenants[{i}] ({t.name}): a pooled tenant (pool {t.pool!r}) needs its pod security groups from the "
            "AWS Platform stack: deploy it with tenancy:inCluster=tenant-stacks and pass --platform-stack "
            "(platform_stack=) instead of --kubeconfig" for i, t in enumerate(spec.tenants) if t.pool]


def fingerprint(objects: Any) -> str:
    """A stable hash of what a stack registers (sorted-key JSON, with the layout version)."""
    text = json.dumps([LAYOUT_VERSION, objects], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprints(spec: PlatformSpec, per_stack: int = 1) -> dict[str, str]:
    """Stack name -> fingerprint, for the platform stack and every tenant stack (one pass: the
    reverse edge index is built once, so this is linear in the tenants)."""
    reverse = allowed_by(spec)
    by_name = {t.name: t for t in spec.tenants}
    out = {PLATFORM_STACK: fingerprint(platform_objects(spec))}
    for stack, names in stacks_of(spec, per_stack).items():
        out[stack] = fingerprint({n: tenant_objects(spec, by_name[n], reverse, by_name) for n in names})
    return out


@dataclass(frozen=True)
class StackPlan:
    """What the runner does: ``platform`` (run the platform stack first?), ``up`` (tenant stacks
    to update, by stack name -> its tenants), ``destroy`` (tenant stacks of tenants no longer in the
    spec), ``unchanged`` (skipped)."""

    platform: bool
    up: dict[str, list[str]]
    destroy: list[str]
    unchanged: list[str]


def plan_stacks(spec: PlatformSpec, deployed: Mapping[str, str], force: bool = False,
                per_stack: int = 1) -> StackPlan:
    """Compare the spec's fingerprints with ``deployed`` (stack -> fingerprint of its last
    successful ``up``). A stack missing from ``deployed`` runs; ``force`` runs every stack."""
    current = fingerprints(spec, per_stack)
    names = stacks_of(spec, per_stack)
    up = {s: t for s, t in names.items() if force or deployed.get(s) != current[s]}
    return StackPlan(
        platform=force or deployed.get(PLATFORM_STACK) != current[PLATFORM_STACK],
        up=up,
        destroy=sorted(s for s in deployed if s != PLATFORM_STACK and s not in names),
        unchanged=sorted(s for s in names if s not in up))
