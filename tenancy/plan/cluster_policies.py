"""Cluster-wide network walls: the VPC CNI's tiered ``ClusterNetworkPolicy`` (``networking.k8s.aws/v1alpha1``).

The namespaced NetworkPolicies of :mod:`tenancy.plan.kubernetes` stay (defence in depth), but they
are objects inside the tenant's namespace. These cluster-scoped policies are the wall no tenant can
touch (no tenant persona has any cluster-scoped write), so a tenant may own NetworkPolicies
(``selfService.networkPolicies``) without being able to open a cross-tenant path.

Semantics (AWS CRD ``config/crd/bases/networking.k8s.aws_clusternetworkpolicies.yaml`` of
aws/amazon-network-policy-controller-k8s, vendored in tests/fixtures/crds; the upstream model is
sig-network-policy-api's AdminNetworkPolicy/ClusterNetworkPolicy; EKS user guide
cni-network-policy-configure.html): for a connection, the **Admin** tier's policies selecting the
pod are evaluated in priority order (lower number first), rules in order, first match wins:
``Accept`` allows and ``Deny`` drops (both final), ``Pass`` skips the rest of the Admin tier;
then the pod's NetworkPolicies decide if any selects it; only when none does, the **Baseline**
tier; then default allow. A connection needs the source's egress and the destination's ingress.

What is rendered (every Admin rule that lets traffic through is a ``Pass``, so the namespaced
policies still have to allow it — the Admin tier only ever narrows):

* per tenant, ``tenancy-tenant-<tenant>`` (Admin), subject: the namespaces labelled
  ``tenancy/tenant=<tenant>`` (tenants cannot write namespace labels):

  - ingress: Pass from the tenant's own namespaces and from the ingress controller's namespace;
    Deny from every other namespace (other tenants, platform namespaces);
  - egress: Deny IMDS (169.254.169.254/32) first; Pass to tenant namespaces (its own, and other
    tenants' — whose own Admin ingress denies all but their declared edges, so the wall stands at
    the destination and this policy does not depend on any other tenant's spec); Pass DNS to
    kube-dns; Pass each platform flow the namespaced policies open (the Kubernetes API with
    ``kubernetesApiAccess``, the AWS service endpoints, S3's ranges, the Pod Identity agent,
    istiod); with ``internetEgress`` Deny the VPC, the Service range and link-local, then Pass
    0.0.0.0/0; Deny everything else (every namespace, 0.0.0.0/0).

* per ``allowFrom`` edge, ``tenancy-edge-<tenant>-from-<peer>`` (Admin, same subject, one priority
  step earlier): Pass from the peer's namespaces on the edge's ports only (``AllowFrom.ports``), so
  the namespaced edge policies decide it and every other port of the peer meets the wall's Deny.
  One object per edge, like the namespaced edge policies: adding an edge changes no other object.

* ``tenancy-baseline-default-deny`` (Baseline), subject: every tenant namespace; Deny all ingress
  and egress. It applies only to a pod no NetworkPolicy selects — the global default deny that
  survives a tenant deleting every policy of its namespace.

**Priorities** (the CRD allows 0–1000, lower first). Every tenant's wall uses
:data:`TENANT_PRIORITY` (100) and every edge policy :data:`EDGE_PRIORITY` (99, so a declared edge is
passed before the wall denies the peer). Equal priorities are safe here because no two of them can
disagree about a connection: walls have disjoint subjects (one tenant label value each), so a pod is
the subject of exactly one wall; a tenant's edge policies share its subject but match disjoint
peers (one tenant each) with the same action (Pass), so their order changes nothing. One value per
role thus serves any number of tenants, and adding a tenant or an edge changes no other object.
Objects per cluster: one wall per tenant, one policy per ``allowFrom`` edge, one Baseline — 500
tenants with 3 edges each are 2001 objects, and no tenant's policy grows with the others (the
CRD's limit of 100 rules per direction is never approached: a wall has at most 3 ingress and 11
egress rules). 0–98 are left for an operator's own Admin policies that must win over tenancy's (an
incident quarantine), 101–1000 for ones tenancy's must win over. The Baseline policy uses
:data:`BASELINE_PRIORITY` (900), leaving 0–899 for an operator's Baseline policies that should
apply before it.

Gate (:func:`enabled`): ``cluster.clusterNetworkPolicies`` (default on) and a Kubernetes minor of
1.29 or later; the VPC CNI floor v1.21.1 is checked on the resolved add-on version at deploy
time (:mod:`tenancy.plan.addons`), and the CNI add-on runs with network policy enforcement on.

Pure: plain manifests, no Pulumi.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tenancy.plan.kubernetes import (
    IMDS_CIDR,
    ISTIOD_LABELS,
    ISTIOD_NAMESPACE,
    ISTIOD_PORT,
    KUBE_DNS_LABELS,
    KUBE_DNS_NAMESPACE,
    POD_IDENTITY_AGENT_CIDR,
    POD_IDENTITY_AGENT_PORT,
    Manifest,
    internet_except,
    namespace_selector,
)
from tenancy.spec import EdgePort, PlatformSpec, Problem, TenantSpec, WorkloadsSpec, naming, versions
from tenancy.spec.wire import CNP_API_VERSION, CNP_KIND, MANAGED_BY_LABEL, PEER_LABEL, TENANT_LABEL

ADMIN = "Admin"
BASELINE = "Baseline"
ACCEPT, DENY, PASS = "Accept", "Deny", "Pass"

TENANT_PRIORITY = 100
EDGE_PRIORITY = 99
BASELINE_PRIORITY = 900
PRIORITY_RANGE = (0, 1000)
"""``spec.priority``'s bounds in the CRD (``minimum: 0``, ``maximum: 1000``)."""
MAX_RULES = 100
"""``maxItems`` of ``spec.ingress`` and ``spec.egress`` in the CRD."""
MAX_NETWORKS = 25
"""``maxItems`` of an egress peer's ``networks`` in the CRD."""

TENANT_POLICY_PREFIX = "tenancy-tenant-"
EDGE_POLICY_PREFIX = "tenancy-edge-"
BASELINE_POLICY = "tenancy-baseline-default-deny"
EVERY_NETWORK = "0.0.0.0/0"

TENANT_NAMESPACES: dict[str, Any] = {"matchExpressions": [{"key": TENANT_LABEL, "operator": "Exists"}]}
"""Every tenant namespace (the tenant label, any value)."""


S3_RULE = "s3"
"""Name of the tenant wall's egress rule holding S3's ranges (copied from the Region's prefix list at
deploy time, as ``tenancy-allow-s3``'s: ``tenancy verify`` judges them against AWS's list)."""


def policy_name(tenant: str) -> str:
    """The tenant's Admin-tier ClusterNetworkPolicy."""
    return f"{TENANT_POLICY_PREFIX}{tenant}"


def edge_policy_name(tenant: str, peer: str) -> str:
    """The Admin-tier ClusterNetworkPolicy of the edge "``tenant`` allows ``peer``"."""
    return f"{EDGE_POLICY_PREFIX}{tenant}-from-{peer}"


def tenant_namespaces(tenant: str) -> dict[str, Any]:
    """The namespaces of ``tenant``: those labelled ``tenancy/tenant=<tenant>``."""
    return {"matchLabels": {TENANT_LABEL: tenant}}


def enabled(spec: PlatformSpec) -> bool:
    """Whether the platform renders the tiers: the switch, and a Kubernetes minor that has them."""
    return spec.cluster.cluster_network_policies and versions.cluster_network_policies_supported(
        spec.kubernetes_version)


def problems(spec: PlatformSpec) -> list[Problem]:
    """``selfService.networkPolicies`` without the Admin tier (the tenant's own policies would then be
    the only wall)."""
    out: list[Problem] = []
    on = enabled(spec)
    for i, t in enumerate(spec.tenants):
        if t.self_service.network_policies and not on:
            why = ("cluster.clusterNetworkPolicies is off" if not spec.cluster.cluster_network_policies else
                   f"kubernetesVersion {spec.kubernetes_version} is older than "
                   f"1.{versions.CLUSTER_NETWORK_POLICY_MINOR}, which ClusterNetworkPolicy needs")
            out.append(Problem(f"tenants[{i}].selfService.networkPolicies", (
                f"tenant {t.name!r} may own NetworkPolicies only behind the cluster's Admin-tier walls, but {why}: "
                "the namespaced policies would be the only wall and the tenant could open it; set "
                "cluster.clusterNetworkPolicies: true (VPC CNI v1.21.1+, Kubernetes 1.29+) or remove "
                "selfService.networkPolicies"), t.name))
    return out


def _meta(name: str, tenant: str | None = None, **extra: str) -> dict[str, Any]:
    labels = {MANAGED_BY_LABEL: naming.MANAGED_BY}
    if tenant is not None:
        labels[TENANT_LABEL] = tenant
    labels.update(extra)
    return {"name": name, "labels": labels}


def ports(edge_ports: Sequence[EdgePort] | None) -> dict[str, Any]:
    """An edge's ports as a ClusterNetworkPolicy rule's ``ports`` (``portNumber`` or ``portRange``);
    nothing for an edge opening every port."""
    if edge_ports is None:
        return {}
    return {"ports": [
        {"portNumber": {"protocol": p.protocol, "port": p.port}} if p.end_port is None or p.end_port == p.port
        else {"portRange": {"protocol": p.protocol, "start": p.port, "end": p.end_port}}
        for p in edge_ports]}


def _tcp(port: int) -> dict[str, Any]:
    return {"ports": [{"portNumber": {"protocol": "TCP", "port": port}}]}


def _networks(cidrs: Sequence[Any]) -> list[dict[str, Any]]:
    """``networks`` peers of at most :data:`MAX_NETWORKS` CIDRs each."""
    cidrs = list(cidrs)
    return [{"networks": cidrs[i:i + MAX_NETWORKS]} for i in range(0, len(cidrs), MAX_NETWORKS)]


def _rule(name: str, action: str, peers_key: str, peers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"name": name, "action": action, peers_key: peers, **extra}


def tenant_policy(
    tenant: TenantSpec,
    workloads: WorkloadsSpec,
    vpc_cidr: str,
    aws_service_cidrs: Sequence[Any] = (),
    pod_identity_agent: bool = False,
    service_cidr: str | None = None,
    api_endpoint_cidrs: Sequence[Any] = (),
    kubernetes_service_ip: str | None = None,
    s3_cidrs: Sequence[Any] = (),
) -> Manifest:
    """The tenant's Admin-tier ClusterNetworkPolicy (arguments as
    :func:`tenancy.plan.kubernetes.network_policies`; ``s3_cidrs``: S3's ranges when the tenant
    gets the ``tenancy-allow-s3`` policy). Rules in the order of the module docstring."""
    t = tenant.name
    ingress = [
        _rule("same-tenant", PASS, "from", [{"namespaces": tenant_namespaces(t)}]),
    ]
    if workloads.ingress_controller_namespace:
        ingress.append(_rule("ingress-controller", PASS, "from", [
            {"namespaces": namespace_selector(workloads.ingress_controller_namespace)}]))
    ingress.append(_rule("other-namespaces", DENY, "from", [{"namespaces": {}}]))

    egress = [
        _rule("imds", DENY, "to", [{"networks": [IMDS_CIDR]}]),
        _rule("tenants", PASS, "to", [{"namespaces": dict(TENANT_NAMESPACES)}]),
        _rule("dns", PASS, "to", [{"pods": {"namespaceSelector": namespace_selector(KUBE_DNS_NAMESPACE),
                                            "podSelector": {"matchLabels": dict(KUBE_DNS_LABELS)}}}],
              ports=[{"portNumber": {"protocol": "UDP", "port": 53}}, {"portNumber": {"protocol": "TCP", "port": 53}}]),
    ]
    if tenant.kubernetes_api_access:
        if kubernetes_service_ip is None:
            raise ValueError(f"tenant {t!r} has kubernetesApiAccess but no kubernetes Service IP was given")
        egress.append(_rule("kubernetes-api", PASS, "to",
                            _networks([f"{kubernetes_service_ip}/32", *api_endpoint_cidrs]), **_tcp(443)))
    if aws_service_cidrs:
        egress.append(_rule("aws-services", PASS, "to", _networks(aws_service_cidrs), **_tcp(443)))
    if s3_cidrs:
        egress.append(_rule(S3_RULE, PASS, "to", _networks(s3_cidrs), **_tcp(443)))
    if pod_identity_agent:
        egress.append(_rule("pod-identity-agent", PASS, "to", [{"networks": [POD_IDENTITY_AGENT_CIDR]}],
                            **_tcp(POD_IDENTITY_AGENT_PORT)))
    if workloads.mesh == "istio":
        egress.append(_rule("istiod", PASS, "to", [{"pods": {"namespaceSelector": namespace_selector(ISTIOD_NAMESPACE),
                                                             "podSelector": {"matchLabels": dict(ISTIOD_LABELS)}}}],
                            **_tcp(ISTIOD_PORT)))
    if tenant.internet_egress:
        egress.append(_rule("not-internet", DENY, "to", _networks(internet_except(vpc_cidr, service_cidr))))
        egress.append(_rule("internet", PASS, "to", [{"networks": [EVERY_NETWORK]}]))
    egress.append(_rule("everything-else", DENY, "to", [{"namespaces": {}}, {"networks": [EVERY_NETWORK]}]))
    return {
        "apiVersion": CNP_API_VERSION,
        "kind": CNP_KIND,
        "metadata": _meta(policy_name(t), t),
        "spec": {"tier": ADMIN, "priority": TENANT_PRIORITY, "subject": {"namespaces": tenant_namespaces(t)},
                 "ingress": ingress, "egress": egress},
    }


def edge_policy(tenant: str, peer: str, edge_ports: Sequence[EdgePort] | None = None) -> Manifest:
    """The edge "``tenant`` allows connections from ``peer``" in the Admin tier: Pass from the peer's
    namespaces into the tenant's, on ``edge_ports`` only (every port when None), one priority step
    before the tenant's wall. Depends on nothing but the two names and the ports."""
    if tenant == peer:
        raise ValueError(f"tenant {tenant!r} cannot allow itself: its namespaces already reach each other")
    return {
        "apiVersion": CNP_API_VERSION,
        "kind": CNP_KIND,
        "metadata": _meta(edge_policy_name(tenant, peer), tenant, **{PEER_LABEL: peer}),
        "spec": {"tier": ADMIN, "priority": EDGE_PRIORITY, "subject": {"namespaces": tenant_namespaces(tenant)},
                 "ingress": [_rule(f"from-{peer}", PASS, "from", [{"namespaces": tenant_namespaces(peer)}],
                                   **ports(edge_ports))]},
    }


def tenant_edge_policies(tenant: TenantSpec) -> list[Manifest]:
    """The edge policies of every ``allowFrom`` entry of ``tenant``, in spec order."""
    return [edge_policy(tenant.name, e.tenant, e.ports) for e in tenant.allow_from]


def baseline_policy() -> Manifest:
    """The Baseline-tier default deny for every tenant namespace (peers are required, so "all" is
    spelled out: every namespace, and 0.0.0.0/0 for egress)."""
    return {
        "apiVersion": CNP_API_VERSION,
        "kind": CNP_KIND,
        "metadata": _meta(BASELINE_POLICY),
        "spec": {
            "tier": BASELINE, "priority": BASELINE_PRIORITY, "subject": {"namespaces": dict(TENANT_NAMESPACES)},
            "ingress": [_rule("deny-all", DENY, "from", [{"namespaces": {}}])],
            "egress": [_rule("deny-all", DENY, "to", [{"namespaces": {}}, {"networks": [EVERY_NETWORK]}])],
        },
    }


def platform_manifests(spec: PlatformSpec) -> list[Manifest]:
    """Every ClusterNetworkPolicy of a platform built from ``spec`` with plain values (the S3 ranges
    are those of a deploy: absent here): the Baseline, then one Admin per tenant. Used by reviews and
    tests; the components register the same objects."""
    if not enabled(spec):
        return []
    systems = [str(n) for n in spec.address_plan.system_subnets()]
    irsa = spec.identity.mode == "irsa"
    return [baseline_policy(), *(m for t in spec.tenants for m in (tenant_policy(
        t, spec.workloads, spec.vpc_cidr, aws_service_cidrs=systems, pod_identity_agent=not irsa,
        service_cidr=spec.service_cidr, api_endpoint_cidrs=systems,
        kubernetes_service_ip=spec.kubernetes_service_ip), *tenant_edge_policies(t)))]
