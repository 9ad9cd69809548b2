"""In-cluster operability checks, registered into :mod:`tenancy.review.operability` (its
``EXTENSIONS``): the flows tenant and platform pods need under the VPC CNI's strict mode, the
mesh's paths to istiod, and the prerequisites of the in-cluster options.

They read the RENDERED Kubernetes objects and security group rules. The NetworkPolicy flows are
judged by the product's NetworkPolicy evaluator (:mod:`tenancy.review.netpol`, shared with the
isolation facts) over sample endpoints (a pod in each namespace, labelled like the real one; IP
addresses for what lives outside the cluster), with strict mode as "a pod no policy selects is
denied". The independent judgement of the same
flows is network-config-analyzer's, in ``tests/review/test_reachability_cluster.py``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tenancy.plan import admission
from tenancy.plan import kubernetes as kplan
from tenancy.plan import network as netplan
from tenancy.plan import platform_policies as pplan
from tenancy.review import netpol
from tenancy.review.operability import Rendered, Status, check, flow_result
from tenancy.spec.wire import AWS_EKS_ADDON as ADDON
from tenancy.spec.wire import EKS_COMPONENT, NAMESPACE_NAME_LABEL
from tenancy.spec.wire import K8S_NAMESPACE as NAMESPACE
from tenancy.spec.wire import K8S_NETWORK_POLICY as NP
from tenancy.spec.wire import K8S_VAP as VAP


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace, labels, namespace labels) or an address outside the cluster."""

    namespace: str | None = None
    labels: Mapping[str, str] | None = None
    ns_labels: Mapping[str, str] | None = None
    ip: str | None = None

    def as_peer(self) -> netpol.Endpoint:
        """This endpoint as the NetworkPolicy evaluator sees it: a sample pod declares no named
        container ports, so a rule naming a port does not admit it."""
        return netpol.Endpoint(self.namespace, self.ns_labels or {}, self.labels or {},
                               (f"{self.ip}/32",) if self.ip else (), {})


class Policies:
    """The rendered NetworkPolicies, by namespace."""

    def __init__(self, manifests: Iterable[Mapping[str, Any]]):
        self.by_ns: dict[str, list[Mapping[str, Any]]] = {}
        for m in manifests:
            self.by_ns.setdefault(m["metadata"]["namespace"], []).append(m)

    def connects(self, src: Endpoint, dst: Endpoint, protocol: str, port: int) -> bool:
        """Under strict mode: a pod no policy (of that direction) selects is denied
        (``unselected=()``; standard Kubernetes would allow it)."""
        ports = netpol.connection(self.by_ns.get(src.namespace or "", []), src.as_peer(),
                                  self.by_ns.get(dst.namespace or "", []), dst.as_peer(), unselected=())
        return netpol.port_in(ports, protocol, port)


def _manifests(r: Rendered, type_token: str) -> list[Mapping[str, Any]]:
    return [res["inputs"] for res in r.of_type(type_token)]


def network_policies(r: Rendered) -> Policies:
    return Policies(_manifests(r, NP))


def tenant_pod(r: Rendered, name: str) -> Endpoint:
    ns = next((m for m in _manifests(r, NAMESPACE) if m["metadata"]["name"] == name), None)
    labels = dict((ns or {}).get("metadata", {}).get("labels") or {})
    labels[NAMESPACE_NAME_LABEL] = name
    return Endpoint(name, {"app": "web"}, labels)


def platform_pod(ns: str, **labels: str) -> Endpoint:
    return Endpoint(ns, labels, {NAMESPACE_NAME_LABEL: ns})


COREDNS = platform_pod(kplan.KUBE_DNS_NAMESPACE, **kplan.KUBE_DNS_LABELS)
ISTIOD = platform_pod(kplan.ISTIOD_NAMESPACE, **kplan.ISTIOD_LABELS)


def flows(r: Rendered, pairs: Iterable[tuple[str, Endpoint, Endpoint]], protocol: str, port: int,
           expect: bool = True) -> tuple[Status, str]:
    pols = network_policies(r)
    pairs = list(pairs)
    if not pairs:
        return "n/a", "nothing to connect in this render"
    bad = [name for name, s, d in pairs if pols.connects(s, d, protocol, port) != expect]
    if bad:
        verb = "blocked" if expect else "open"
        return "missing", f"{protocol}/{port} {verb}: {', '.join(bad[:5])}" + (" …" if len(bad) > 5 else "")
    return "ok", f"{len(pairs)} path(s) {'open' if expect else 'closed'} on {protocol}/{port} (strict mode)"


def _strict(r: Rendered) -> bool:
    return r.spec.cluster.network_policy_enforcing_mode == "strict"


def bundled_tenants(r: Rendered) -> list[Any]:
    """The tenants whose in-cluster bundle this stack renders: a ``teamStack`` tenant's namespace,
    NetworkPolicies and Services are its team's stack's (``tenancy.components.team``), judged by that stack's
    own render, not here."""
    return [t for t in r.spec.tenants if not t.team_stack]


_STRICT_DOC = ("EKS user guide eks-networking-add-ons.adoc, strict mode: 'you must have a network policy for every "
               "endpoint that your pods need … this requirement applies to the CoreDNS pods'")


@check("tenant pods → CoreDNS (udp+tcp/53)", "flow", _STRICT_DOC)
def _tenant_dns(r: Rendered) -> tuple[Status, str]:
    pairs = [(f"{t.name} → CoreDNS", tenant_pod(r, t.name), COREDNS) for t in bundled_tenants(r)]
    results = [flows(r, pairs, p, 53) for p in ("UDP", "TCP")]
    bad = [d for s, d in results if s == "missing"]
    return ("missing", "; ".join(bad)) if bad else results[0]


@check("CoreDNS → VPC resolver (udp/53) and Kubernetes API (tcp/443)", "flow",
       _STRICT_DOC + "; CoreDNS forwards to the node's resolver (VPC base + 2) and watches the API")
def _coredns_upstream(r: Rendered) -> tuple[Status, str]:
    resolver = Endpoint(ip=pplan.vpc_resolver(r.spec.vpc_cidr).split("/")[0])
    api = Endpoint(ip=r.spec.kubernetes_service_ip)
    a = flows(r, [("CoreDNS → resolver", COREDNS, resolver)], "UDP", 53)
    b = flows(r, [("CoreDNS → API ClusterIP", COREDNS, api)], "TCP", 443)
    bad = [d for s, d in (a, b) if s == "missing"]
    return ("missing", "; ".join(bad)) if bad else ("ok", "resolver and API reachable (strict mode)")


@check("tenant pods → interface endpoints (tcp/443)", "flow",
       "EKS user guide private-clusters.adoc: STS (IRSA), ECR through interface endpoints in the system subnets")
def _tenant_endpoints(r: Rendered) -> tuple[Status, str]:
    ip = str(r.spec.address_plan.system_subnets()[0].network_address + 20)
    return flows(r, ((t.name, tenant_pod(r, t.name), Endpoint(ip=ip)) for t in bundled_tenants(r)), "TCP", 443)


@check("tenants with kubernetesApiAccess → kubernetes ClusterIP (tcp/443); others not", "flow",
       "aws/amazon-network-policy-controller-k8s pkg/resolvers/endpoints.go: the agent sees ClusterIPs pre-DNAT")
def _tenant_api(r: Rendered) -> tuple[Status, str]:
    api = Endpoint(ip=r.spec.kubernetes_service_ip)
    on = [(t.name, tenant_pod(r, t.name), api) for t in bundled_tenants(r) if t.kubernetes_api_access]
    off = [(t.name, tenant_pod(r, t.name), api) for t in bundled_tenants(r) if not t.kubernetes_api_access]
    a = flows(r, on, "TCP", 443) if on else ("n/a", "")
    b = flows(r, off, "TCP", 443, expect=False) if off else ("n/a", "")
    bad = [d for s, d in (a, b) if s == "missing"]
    if bad:
        return "missing", "; ".join(bad)
    return "ok", f"{len(on)} tenant(s) reach the API ClusterIP, {len(off)} do not"


@check("internet egress excludes the Service range", "prerequisite",
       "aws/amazon-network-policy-controller-k8s pkg/resolvers/endpoints.go (pre-DNAT ClusterIPs); "
       "cluster.serviceCidr pinned on the cluster")
def _service_range_excluded(r: Rendered) -> tuple[Status, str]:
    svc = ipaddress.IPv4Network(r.spec.service_cidr)
    cluster = next(iter(r.of_type(EKS_COMPONENT)), None)
    if cluster is not None and cluster["inputs"].get("kubernetesServiceIpAddressRange") != str(svc):
        return "missing", "the cluster's kubernetesServiceIpAddressRange is not the spec's Service range"
    leaks = []
    for m in _manifests(r, NP):
        for rule in m["spec"].get("egress") or []:
            for peer in rule.get("to") or []:
                block = peer.get("ipBlock")
                if block and ipaddress.ip_network(block["cidr"]).overlaps(svc) and not any(
                        svc.subnet_of(ipaddress.IPv4Network(x)) for x in block.get("except") or []) \
                        and ipaddress.ip_network(block["cidr"]).prefixlen < 32 \
                        and m["metadata"]["namespace"] not in pplan.platform_namespaces(r.spec):
                    leaks.append(f"{m['metadata']['namespace']}/{m['metadata']['name']}")
    if leaks:
        return "missing", f"ipBlocks covering {svc} in tenant policies: {', '.join(sorted(set(leaks))[:5])}"
    return ("ok" if any(t.internet_egress for t in bundled_tenants(r)) else "n/a"), f"{svc} pinned and excluded"


@check("strict enforcing mode → policies for CoreDNS and every platform namespace", "prerequisite", _STRICT_DOC)
def _strict_prereqs(r: Rendered) -> tuple[Status, str]:
    addon = r.addon("vpc-cni")
    if addon is None:
        return "missing", "no vpc-cni add-on"
    import json

    cfg = json.loads(addon["inputs"].get("configurationValues") or "{}")
    mode = (cfg.get("env") or {}).get("NETWORK_POLICY_ENFORCING_MODE", "standard")
    if cfg.get("enableNetworkPolicy") != "true":
        return "missing", "vpc-cni enableNetworkPolicy is not on: NetworkPolicies are ignored"
    if mode != r.spec.cluster.network_policy_enforcing_mode:
        return "missing", f"vpc-cni mode {mode!r}, spec says {r.spec.cluster.network_policy_enforcing_mode!r}"
    if mode != "strict":
        return "n/a", "standard mode: new pods start open until their policies are programmed"
    pols = network_policies(r)
    unselected = []
    for ns in pplan.platform_namespaces(r.spec):
        pods = [COREDNS] if ns == kplan.KUBE_DNS_NAMESPACE else []
        pods.append(platform_pod(ns, app="add-on"))
        for pod in pods:
            policies = pols.by_ns.get(ns, [])
            if not any(netpol.may_select(p, pod.as_peer()) for p in policies):
                unselected.append(f"{ns}/{dict(pod.labels or {})}")
    if unselected:
        return "missing", f"pods no policy selects (denied everything in strict mode): {', '.join(unselected)}"
    coredns = next((a for a in r.of_type(ADDON) if a["inputs"].get("addonName") == "coredns"), None)
    kdns = [x for x in r.of_type(NP) if x["inputs"]["metadata"]["name"] == pplan.NP_KUBE_DNS]
    if coredns is not None and kdns and not r.depends_on(coredns, kdns[0]):
        return "missing", "the CoreDNS add-on does not wait for its NetworkPolicy"
    return "ok", f"strict mode; {len(pplan.platform_namespaces(r.spec))} platform namespace(s) covered"


@check("tenant namespaces wait for the Service exposure policy", "prerequisite",
       "CVE-2020-8554 (kubernetes/kubernetes#97076), CVE-2021-25740 (#103675); EKS enables no DenyServiceExternalIPs")
def _service_policy(r: Rendered) -> tuple[Status, str]:
    vap = [v for v in r.of_type(VAP) if v["inputs"]["metadata"]["name"] == admission.SERVICE_POLICY_NAME]
    if not vap:
        return "missing", f"no ValidatingAdmissionPolicy {admission.SERVICE_POLICY_NAME}"
    early = [n["inputs"]["metadata"]["name"] for n in r.of_type(NAMESPACE)
             if n["tenant"] is not None and not r.depends_on(n, vap[0])]
    if early:
        return "missing", f"tenant namespaces created before it: {', '.join(early[:5])}"
    return "ok", "policy present; every tenant namespace waits for it"


# --- mesh ---

_ISTIO_SRC = "istio/istio#36955 (EKS: webhook 15017 and xDS 15012 from the cluster); istio.io PSA guide"


@check("mesh: sidecars on tenant nodes → istiod on system nodes (tcp/15012, security groups)", "flow", _ISTIO_SRC)
def _sg_istiod(r: Rendered) -> tuple[Status, str]:
    if r.spec.workloads.mesh != "istio":
        return "n/a", "no mesh"
    system = r.system_node_group()
    if system is None:
        return "missing", "no system node group"
    return flow_result(r, ((r.node_machines(n), r.node_machines(system)) for n in r.tenant_node_groups()),
                       "tcp", netplan.ISTIOD_XDS_PORT)


@check("mesh: control plane → istiod injection webhook (tcp/15017, security groups)", "flow", _ISTIO_SRC)
def _sg_webhook(r: Rendered) -> tuple[Status, str]:
    if r.spec.workloads.mesh != "istio":
        return "n/a", "no mesh"
    system = r.system_node_group()
    if system is None:
        return "missing", "no system node group"
    return flow_result(r, [(r.control_plane(), r.node_machines(system))], "tcp", netplan.ISTIOD_WEBHOOK_PORT)


@check("mesh: tenant pods → istiod (tcp/15012, NetworkPolicies) and injection label on every tenant namespace",
       "prerequisite", _ISTIO_SRC)
def _mesh_in_cluster(r: Rendered) -> tuple[Status, str]:
    if r.spec.workloads.mesh != "istio":
        return "n/a", "no mesh"
    wanted = kplan.injection_labels(r.spec.workloads)
    unlabelled = [t.name for t in bundled_tenants(r)
                  if any((tenant_pod(r, t.name).ns_labels or {}).get(k) != v for k, v in wanted.items())]
    if unlabelled:
        return "missing", f"namespaces without {wanted}: {', '.join(unlabelled[:5])}"
    return flows(r, ((t.name, tenant_pod(r, t.name), ISTIOD) for t in bundled_tenants(r)), "TCP", kplan.ISTIOD_PORT)


@check("ingress controller → every tenant's pods", "flow",
       "the bundle's tenancy-allow-ingress-controller; the controller namespace's tenancy-platform (egress)")
def _ingress_to_tenants(r: Rendered) -> tuple[Status, str]:
    ns = r.spec.workloads.ingress_controller_namespace
    if not ns:
        return "n/a", "no ingress controller namespace"
    ctrl = platform_pod(ns, app="ingress-controller")
    return flows(r, ((t.name, ctrl, tenant_pod(r, t.name)) for t in bundled_tenants(r)), "TCP", 8080)
