"""NetworkPolicies of the platform's own namespaces, so that the VPC CNI can run in strict mode.

Why: in the VPC CNI's default *standard* mode a new pod starts with every connection allowed
until the policy agent has programmed its policies — each tenant pod start, restart or
reschedule is an unenforced window. In *strict* mode (``NETWORK_POLICY_ENFORCING_MODE=strict``
on the ``aws-node`` container, VPC CNI 1.17.1+) a pod starts denied, and a pod that NO policy
selects stays denied: "In strict mode, you must have a network policy for every endpoint that
your pods need to access in your cluster. Note that this requirement applies to the CoreDNS
pods. The default deny policy isn't configured for pods with Host networking." (EKS user
guide, ``networking/eks-networking-add-ons.adoc``, "Step 1: Set up policy enforcement at Pod
startup"; aws/amazon-vpc-cni-k8s ``README.md`` ``NETWORK_POLICY_ENFORCING_MODE``).

So every namespace the platform runs pods in gets policies here (host-network pods — aws-node,
kube-proxy, the Pod Identity agent — are exempt):

* **CoreDNS** (``kube-system``, ``k8s-app=kube-dns``): ingress UDP/TCP 53 from every pod and
  from the VPC (host-network clients), metrics 9153 from platform namespaces; egress only to
  the VPC resolver (VPC base + 2 and 169.254.169.253) on 53 and to the Kubernetes API (the
  ``kubernetes`` ClusterIP, pre-DNAT, and the API endpoint's ENIs in the system subnets) on 443.
* **every other platform pod** (``tenancy-platform``, in kube-system and each platform
  namespace): egress anywhere — the add-ons (EBS CSI controller, metrics-server, the ingress
  controller, istiod) need the API, AWS APIs, image registries and kubelets, exactly as in
  standard mode — and ingress from pods of non-tenant namespaces and from the system subnets
  (the control plane's ENIs call webhooks and aggregated APIs from there; system nodes' host
  processes). Tenant pods are not admitted: their own egress policies would not let them out
  anyway, and this keeps the wall on both sides.
* **the ingress controller's namespace**: ingress from anywhere (load balancers, clients).
* **istio-system** (with the mesh): istiod admits 15012 (xDS/CA) from every namespace, 15017
  (injection webhook) from the system subnets (control plane).

Pods of OTHER namespaces (``default``, monitoring, cert-manager…) are denied in strict mode
until they have policies: list such namespaces in ``workloads.platformNamespaces`` to give them
the platform's policies, or set ``cluster.networkPolicyEnforcingMode: standard``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from tenancy.plan.kubernetes import (
    ISTIOD_LABELS,
    ISTIOD_NAMESPACE,
    ISTIOD_PORT,
    KUBE_DNS_LABELS,
    KUBE_DNS_NAMESPACE,
    Manifest,
)
from tenancy.spec import PlatformSpec, naming
from tenancy.spec.wire import MANAGED_BY_LABEL, NETWORKING_API_VERSION, TENANT_LABEL
from tenancy.spec.wire import PLATFORM_TAG as PLATFORM_LABEL

NP_KUBE_DNS = "tenancy-kube-dns"
NP_PLATFORM = "tenancy-platform"
NP_INGRESS_CONTROLLER_IN = "tenancy-ingress-from-anywhere"
NP_ISTIOD = "tenancy-istiod"
ISTIOD_WEBHOOK_PORT = 15017
"""istiod's sidecar-injection and validation webhook port, called by the API server."""
COREDNS_METRICS_PORT = 9153
AMAZON_DNS_LINK_LOCAL = "169.254.169.253/32"
"""The Amazon DNS server's link-local address (Nitro instances), besides VPC base + 2."""

NON_TENANT_NAMESPACES: dict[str, Any] = {
    "matchExpressions": [{"key": TENANT_LABEL, "operator": "DoesNotExist"}]}
"""Every namespace without the tenant label (tenants cannot label namespaces)."""


def vpc_resolver(vpc_cidr: str) -> str:
    """The Amazon-provided DNS server of the VPC: its base address plus two (a /32)."""
    return f"{ipaddress.IPv4Network(vpc_cidr).network_address + 2}/32"


def api_cidrs(spec: PlatformSpec) -> list[str]:
    """Where a pod reaches the Kubernetes API: the ``kubernetes`` ClusterIP (what it dials — the
    policy agent filters before kube-proxy's DNAT) and the endpoint ENIs (the system subnets:
    EKS puts them in the cluster's subnets, EKS user guide ``networking/network-reqs.adoc``)."""
    return [f"{spec.kubernetes_service_ip}/32", *(str(n) for n in spec.address_plan.system_subnets())]


def platform_namespaces(spec: PlatformSpec) -> list[str]:
    """Every namespace that gets the platform policies, kube-system first."""
    out = [KUBE_DNS_NAMESPACE]
    w = spec.workloads
    if w.ingress_controller_namespace:
        out.append(w.ingress_controller_namespace)
    if w.mesh == "istio":
        out.append(ISTIOD_NAMESPACE)
    out += [n for n in w.platform_namespaces if n not in out]
    return out


def created_namespaces(spec: PlatformSpec) -> list[str]:
    """The platform namespaces the platform creates (upserts) itself, so that their policies
    have a namespace to live in before the ingress controller (or another add-on) is installed.
    kube-system always exists; istio-system is a declared prerequisite of the mesh."""
    return [n for n in platform_namespaces(spec) if n not in (KUBE_DNS_NAMESPACE, ISTIOD_NAMESPACE)]


def _meta(name: str, namespace: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace,
            "labels": {MANAGED_BY_LABEL: naming.MANAGED_BY, PLATFORM_LABEL: "true"}}


def _np(name: str, namespace: str, spec: dict[str, Any]) -> Manifest:
    return {"apiVersion": NETWORKING_API_VERSION, "kind": "NetworkPolicy", "metadata": _meta(name, namespace),
            "spec": spec}


def _dns_ports() -> list[dict[str, Any]]:
    return [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]


def _platform_policy(namespace: str, system_subnets: Sequence[str], exclude_kube_dns: bool) -> Manifest:
    selector: dict[str, Any] = {}
    if exclude_kube_dns:
        # NotIn also matches pods without the label: every pod but CoreDNS, which has its own.
        selector = {"matchExpressions": [{"key": k, "operator": "NotIn", "values": [v]}
                                         for k, v in KUBE_DNS_LABELS.items()]}
    return _np(NP_PLATFORM, namespace, {
        "podSelector": selector,
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [{"namespaceSelector": NON_TENANT_NAMESPACES},
                              *({"ipBlock": {"cidr": c}} for c in system_subnets)]}],
        "egress": [{}],
    })


def manifests(spec: PlatformSpec) -> list[Manifest]:
    """Every platform NetworkPolicy, namespace by namespace (kube-system first)."""
    system = [str(n) for n in spec.address_plan.system_subnets()]
    out = [
        _np(NP_KUBE_DNS, KUBE_DNS_NAMESPACE, {
            "podSelector": {"matchLabels": dict(KUBE_DNS_LABELS)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                # Every pod (tenants' DNS egress names these pods) and host-network clients.
                {"from": [{"namespaceSelector": {}}, {"ipBlock": {"cidr": spec.vpc_cidr}}], "ports": _dns_ports()},
                {"from": [{"namespaceSelector": NON_TENANT_NAMESPACES}],
                 "ports": [{"protocol": "TCP", "port": COREDNS_METRICS_PORT}]},
            ],
            "egress": [
                {"to": [{"ipBlock": {"cidr": vpc_resolver(spec.vpc_cidr)}},
                        {"ipBlock": {"cidr": AMAZON_DNS_LINK_LOCAL}}],
                 "ports": _dns_ports()},
                {"to": [{"ipBlock": {"cidr": c}} for c in api_cidrs(spec)],
                 "ports": [{"protocol": "TCP", "port": 443}]},
            ],
        }),
        _platform_policy(KUBE_DNS_NAMESPACE, system, exclude_kube_dns=True),
    ]
    w = spec.workloads
    for ns in platform_namespaces(spec)[1:]:
        out.append(_platform_policy(ns, system, exclude_kube_dns=False))
        if ns == w.ingress_controller_namespace:
            out.append(_np(NP_INGRESS_CONTROLLER_IN, ns, {
                "podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}))
        if ns == ISTIOD_NAMESPACE and w.mesh == "istio":
            out.append(_np(NP_ISTIOD, ns, {
                "podSelector": {"matchLabels": dict(ISTIOD_LABELS)},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": [{"namespaceSelector": {}}], "ports": [{"protocol": "TCP", "port": ISTIOD_PORT}]},
                    {"from": [{"ipBlock": {"cidr": c}} for c in system],
                     "ports": [{"protocol": "TCP", "port": ISTIOD_WEBHOOK_PORT}]},
                ],
            }))
    return out


def namespace_manifests(spec: PlatformSpec) -> list[Manifest]:
    """The platform namespaces the platform upserts (see :func:`created_namespaces`)."""
    return [{"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": n, "labels": {MANAGED_BY_LABEL: naming.MANAGED_BY, PLATFORM_LABEL: "true"}}}
            for n in created_namespaces(spec)]

