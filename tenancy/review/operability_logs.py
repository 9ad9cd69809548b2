"""Operability of the per-tenant log router (``observability.logs``), registered into
:mod:`tenancy.review.operability` (its ``EXTENSIONS``), read from the RENDERED resources: the
router DaemonSet tolerates every tenant and pool node group's taints (it must run where tenant
pods write logs), its NetworkPolicy (strict mode) lets it reach CoreDNS and the ``logs``/``sts``
interface endpoints, the nodes it runs on reach those endpoints through their security groups, and
the ``logs`` endpoint exists.

Sources: :mod:`tenancy.plan.logs`; EKS user guide private-clusters.adoc (CloudWatch Logs through
``com.amazonaws.<region>.logs``, STS for IRSA); EKS user guide eks-networking-add-ons.adoc (strict
mode: a pod no policy selects is denied).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from tenancy.plan import cluster as cplan
from tenancy.plan import logs as lplan
from tenancy.plan import network as netplan
from tenancy.review.operability import Rendered, Status, check, flow_result
from tenancy.review.operability_cluster import (
    COREDNS,
    Endpoint,
    bundled_tenants,
    flows,
    network_policies,
    platform_pod,
    tenant_pod,
)
from tenancy.spec.wire import AWS_EKS_NODE_GROUP as NODE_GROUP
from tenancy.spec.wire import AWS_VPC_ENDPOINT as VPC_ENDPOINT
from tenancy.spec.wire import POOL_LABEL

DAEMONSET = "kubernetes:apps/v1:DaemonSet"
EFFECT = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
SYSTEM_POOL = cplan.SYSTEM_LABELS[POOL_LABEL]


def _on(r: Rendered) -> bool:
    return r.spec.observability.logs.enabled


def router(r: Rendered) -> Mapping[str, Any] | None:
    ns = r.spec.observability.logs.namespace
    return next((d["inputs"] for d in r.of_type(DAEMONSET)
                 if d["inputs"]["metadata"].get("name") == lplan.ROUTER_NAME
                 and d["inputs"]["metadata"].get("namespace") == ns), None)


def tolerates(tolerations: list[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    """Kubernetes' toleration semantics (``k8s.io/api/core/v1`` ``Toleration.ToleratesTaint``)."""
    effect = EFFECT.get(str(taint.get("effect")), taint.get("effect"))
    for t in tolerations:
        if t.get("effect") not in (None, "", effect):
            continue
        if t.get("operator") == "Exists" and not t.get("key"):
            return True
        if t.get("key") != taint.get("key"):
            continue
        if t.get("operator") == "Exists" or t.get("value") == taint.get("value"):
            return True
    return False


def _workload_groups(r: Rendered) -> list[Mapping[str, Any]]:
    """Tenant and pool node groups: where tenant pods (and so their logs) are."""
    return [n for n in r.of_type(NODE_GROUP)
            if (n["inputs"].get("labels") or {}).get(POOL_LABEL) != SYSTEM_POOL]


@check("log router runs on every tenant and pool node (tolerates their taints)", "prerequisite",
       "tenancy.plan.logs.tolerations; kubelet writes each pod's logs on its own node (/var/log/pods)")
def _router_everywhere(r: Rendered) -> tuple[Status, str]:
    if not _on(r):
        return "n/a", "observability.logs is off"
    ds = router(r)
    if ds is None:
        return "missing", "no log router DaemonSet in the render"
    tolerations = list(ds["spec"]["template"]["spec"].get("tolerations") or [])
    groups = _workload_groups(r)
    bad = [n["name"] for n in groups if not all(tolerates(tolerations, t) for t in n["inputs"].get("taints") or [])]
    if bad:
        return "missing", f"the router tolerates not the taints of {', '.join(bad[:5])}"
    return "ok", f"tolerates the taints of {len(groups)} tenant/pool node group(s)"


@check("log router → CoreDNS, logs and STS interface endpoints (tcp/443)", "flow",
       "EKS user guide private-clusters.adoc (CloudWatch Logs: com.amazonaws.<region>.logs; STS for IRSA); "
       "eks-networking-add-ons.adoc (strict mode)")
def _router_flows(r: Rendered) -> tuple[Status, str]:
    if not _on(r):
        return "n/a", "observability.logs is off"
    services = {str(e["inputs"].get("serviceName", "")).rsplit(".", 1)[-1] for e in r.of_type(VPC_ENDPOINT)}
    missing = [s for s in ("logs", "sts") if s not in services]
    if r.spec.identity.mode == "podIdentity" and "eks-auth" not in services:
        missing.append("eks-auth")
    if missing:
        return "missing", f"no interface endpoint for {', '.join(missing)}"
    pod = platform_pod(r.spec.observability.logs.namespace, **lplan.ROUTER_LABELS)
    ep = r.interface_endpoints()
    endpoint_ip = str(ep.cidrs[0].network_address + 20) if ep is not None and ep.cidrs else None
    results = [
        flows(r, [("router → CoreDNS", pod, COREDNS)], "UDP", 53),
        flows(r, [("router → interface endpoints", pod, Endpoint(ip=endpoint_ip))], "TCP", netplan.HTTPS_PORT)
        if endpoint_ip else ("missing", "no interface endpoint subnets"),
        flow_result(r, ((r.node_machines(n), ep) for n in _workload_groups(r)), "tcp", netplan.HTTPS_PORT),
    ]
    bad = [d for s, d in results if s != "ok"]
    if bad:
        return "missing", "; ".join(bad)
    return "ok", "DNS and the logs/STS endpoints open (NetworkPolicy, strict mode; node security groups)"


@check("log router's own policy reaches no tenant pod, and admits nobody", "flow",
       "tenancy.plan.logs.network_policy (no ingress; egress: DNS, endpoints): a wall on the router's side too, "
       "not only the tenants' default deny")
def _router_walled(r: Rendered) -> tuple[Status, str]:
    if not _on(r):
        return "n/a", "observability.logs is off"
    from tenancy.review import netpol

    ns = r.spec.observability.logs.namespace
    pod = platform_pod(ns, **lplan.ROUTER_LABELS).as_peer()
    mine = network_policies(r).by_ns.get(ns, [])
    bad = []
    for t in bundled_tenants(r):
        # a sample pod address in the tenant's block: an ipBlock over it counts too
        ip = str(r.spec.address_plan.tenant_subnets(r.spec.block_slot(t))[0].network_address + 10)
        peer = replace(tenant_pod(r, t.name), ip=ip).as_peer()
        if netpol.port_in(netpol.allowed(mine, pod, "egress", peer, unselected=()), "TCP", netplan.HTTPS_PORT):
            bad.append(f"router → {t.name}")
        if netpol.port_in(netpol.allowed(mine, pod, "ingress", peer, unselected=()), "TCP", netplan.HTTPS_PORT):
            bad.append(f"{t.name} → router")
    if bad:
        return "missing", f"TCP/443 open by the router's policy: {', '.join(bad[:5])}" + (" …" if len(bad) > 5 else "")
    return "ok", f"the router's policy closes {2 * len(bundled_tenants(r))} path(s) to and from tenant pods"
