"""The fair-share rules of ``tenancy check`` and the policy pack (issue 23): what keeps one tenant
from taking a shared pool's branch interfaces, holding its node updates, filling etcd or a node's
disk, and what keeps a load-balancer grant from admitting a Service nothing reaches.

========================  ==========  ===================================================
id                        level       what must hold
========================  ==========  ===================================================
fair-share-quotas         mandatory   every tenant namespace's ResourceQuota caps local disk
                                      (``requests``/``limits.ephemeral-storage``), counts
                                      every kind of ``quota.objects`` (``count/…``) and caps
                                      ``requests.vpc.amazonaws.com/pod-eni`` at its pods
                                      (pooled) or 0 (dedicated); its LimitRange gives
                                      containers a local-disk default
pool-disruption-budgets   mandatory   every pooled namespace is under a PodDisruptionBudget
                                      policy bound with Deny, and every pool node group
                                      forces its updates (``forceUpdateVersion``)
no-unreachable-load-      mandatory   no tenant is granted LoadBalancer Services (namespace
balancers                             label or quota): nothing opens a path to them
max-pods-with-trunk       mandatory   once nodes carry trunks (a tenant is pooled, or the
                                      VPC CNI has ``ENABLE_POD_ENI``),
                                      every node group's launch template sets kubelet
                                      maxPods no higher than its interfaces allow
========================  ==========  ===================================================
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tenancy.plan import kubernetes as kplan
from tenancy.plan import pools as pool_plan
from tenancy.spec.wire import (
    AWS_EKS_ADDON,
    AWS_EKS_NODE_GROUP,
    AWS_LAUNCH_TEMPLATE,
    K8S_LIMIT_RANGE,
    K8S_NAMESPACE,
    K8S_RESOURCE_QUOTA,
    LOAD_BALANCERS_LABEL,
    POOL_LABEL,
    TEAM_TENANT_TYPE,
)

Resources = Sequence[Mapping[str, Any]]
Found = tuple[str | None, str, str]
"""(tenant, resource URN, message) — :mod:`tenancy.review.check` makes each a Violation."""


def _of(resources: Resources, typ: str) -> list[Mapping[str, Any]]:
    return [r for r in resources if r["type"] == typ]


def _meta(r: Mapping[str, Any]) -> Mapping[str, Any]:
    return (r.get("inputs") or {}).get("metadata") or {}


def _namespaces(resources: Resources) -> list[tuple[Mapping[str, Any], str, Mapping[str, str]]]:
    return [(ns, str(_meta(ns).get("name")), _meta(ns).get("labels") or {})
            for ns in _of(resources, K8S_NAMESPACE) if ns.get("tenant")]


def _in(resources: Resources, typ: str, namespace: str) -> list[Mapping[str, Any]]:
    return [r for r in _of(resources, typ) if _meta(r).get("namespace") == namespace]


def quotas(resources: Resources) -> list[Found]:
    """``fair-share-quotas``."""
    out: list[Found] = []
    needed = ("requests.ephemeral-storage", "limits.ephemeral-storage", *kplan.OBJECT_COUNTS.values())
    for ns, name, labels in _namespaces(resources):
        t = str(ns["tenant"])
        plain = [q for q in _in(resources, K8S_RESOURCE_QUOTA, name)
                 if not ((q.get("inputs") or {}).get("spec") or {}).get("scopeSelector")]
        hard: dict[str, Any] = {}
        for q in plain:
            hard.update(((q.get("inputs") or {}).get("spec") or {}).get("hard") or {})
        missing = [k for k in needed if k not in hard]
        if missing:
            out.append((t, ns["urn"], f"namespace {name}'s ResourceQuota lacks {', '.join(missing)}: one tenant could "
                                      "fill the cluster's etcd (8 GiB on EKS, then read-only for everyone) or its "
                                      "nodes' disks"))
        eni = hard.get(kplan.POD_ENI_QUOTA)
        want = str(hard.get("pods")) if labels.get(POOL_LABEL) else "0"
        if eni is None or str(eni) != want:
            out.append((t, ns["urn"], (
                f"namespace {name}'s ResourceQuota must set {kplan.POD_ENI_QUOTA} to {want} (has {eni!r}): "
                + ("one branch network interface per pod of the pool" if labels.get(POOL_LABEL) else
                   "a dedicated tenant takes no branch network interfaces"))))
        limits = [li for r in _in(resources, K8S_LIMIT_RANGE, name)
                  for li in ((r.get("inputs") or {}).get("spec") or {}).get("limits") or []
                  if li.get("type") == "Container"]
        if not any("ephemeral-storage" in (li.get("default") or {}) for li in limits):
            out.append((t, ns["urn"], f"namespace {name} has no LimitRange default for ephemeral-storage: containers "
                                      "declaring none are unbounded on the node's disk"))
    return out


def _covers(scope: Mapping[str, Any], group: str, resource: str) -> bool:
    return any((group in (rr.get("apiGroups") or []) or "*" in (rr.get("apiGroups") or []))
               and any(r in (resource, "*") for r in rr.get("resources") or [])
               and any(o in ("CREATE", "*") for o in rr.get("operations") or [])
               for rr in scope.get("resourceRules") or [])


def disruption_budgets(resources: Resources, facts: Any) -> list[Found]:
    """``pool-disruption-budgets``."""
    out: list[Found] = []
    team = {str(r["name"]) for r in _of(resources, TEAM_TENANT_TYPE)}
    for ns, name, labels in _namespaces(resources):
        t = str(ns["tenant"])
        if not labels.get(POOL_LABEL) or t in team:
            continue
        enforced = facts.enforced.get(t, {})
        if not any("Deny" in acts and _covers(facts.policies[p]["scope"], "policy", "poddisruptionbudgets")
                   for p, acts in enforced.items() if p in facts.policies):
            out.append((t, ns["urn"], f"no ValidatingAdmissionPolicy bound with Deny checks PodDisruptionBudgets in "
                                      f"namespace {name} (pool {labels[POOL_LABEL]}): a budget with maxUnavailable 0 "
                                      "would fail every update of the shared pool's nodes"))
    for ng in _pool_node_groups(resources):
        if ng["inputs"].get("forceUpdateVersion") is not True:
            out.append((None, ng["urn"], f"node group {ng['name']} of pool {_pool_of(ng)} does not set "
                                         "forceUpdateVersion: one tenant's budget could hold every update of the "
                                         "pool (docs/pools.md, Maintenance)"))
    return out


def _pool_of(ng: Mapping[str, Any]) -> str | None:
    for taint in ng["inputs"].get("taints") or []:
        if taint.get("key") == POOL_LABEL:
            return str(taint.get("value"))
    return None


def _pool_node_groups(resources: Resources) -> list[Mapping[str, Any]]:
    return [ng for ng in _of(resources, AWS_EKS_NODE_GROUP) if _pool_of(ng) is not None]


def load_balancers(resources: Resources) -> list[Found]:
    """``no-unreachable-load-balancers``."""
    out: list[Found] = []
    for ns, name, labels in _namespaces(resources):
        t = str(ns["tenant"])
        hard: dict[str, Any] = {}
        for q in _in(resources, K8S_RESOURCE_QUOTA, name):
            hard.update(((q.get("inputs") or {}).get("spec") or {}).get("hard") or {})
        granted = labels.get(LOAD_BALANCERS_LABEL) == "allowed" or str(hard.get("services.loadbalancers", "0")) != "0"
        if granted:
            out.append((t, ns["urn"], f"namespace {name} is granted LoadBalancer Services, but no NetworkPolicy or "
                                      "security group admits the load balancers' subnets: set quota.loadBalancers "
                                      "to 0 and expose it through the platform's ingress"))
    return out


_MAX_PODS = re.compile(r"(?:maxPods:|max-pods\s*=)\s*(\d+)")


def max_pods_of(user_data: str | None) -> int | None:
    """kubelet maxPods a launch template's (base64) user data sets, if any."""
    if not user_data or not isinstance(user_data, str):
        return None
    try:
        text = base64.b64decode(user_data).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    m = _MAX_PODS.search(text)
    return int(m.group(1)) if m else None


def _trunks(resources: Resources) -> bool:
    """Nodes carry trunks: a tenant is pooled (a namespace with a pool label), or the VPC CNI add-on
    has ``ENABLE_POD_ENI`` on (the VPC resource controller then attaches one to every node that can
    hold one)."""
    if any(labels.get(POOL_LABEL) for _, _, labels in _namespaces(resources)):
        return True
    for addon in _of(resources, AWS_EKS_ADDON):
        inputs = addon.get("inputs") or {}
        if inputs.get("addonName") == "vpc-cni":
            try:
                conf = json.loads(inputs.get("configurationValues") or "{}")
            except (TypeError, ValueError):
                continue
            if str((conf.get("env") or {}).get("ENABLE_POD_ENI")).lower() == "true":
                return True
    return False


def max_pods_with_trunk(resources: Resources) -> list[Found]:
    """``max-pods-with-trunk``: only where nodes carry trunks (:func:`_trunks`)."""
    if not _trunks(resources):
        return []
    templates = {r["id"]: r for r in _of(resources, AWS_LAUNCH_TEMPLATE) if "id" in r}
    out: list[Found] = []
    for ng in _of(resources, AWS_EKS_NODE_GROUP):
        lt_id = (ng["inputs"].get("launchTemplate") or {}).get("id")
        lt = templates.get(lt_id)
        pooled = _pool_of(ng) is not None
        limit = pool_plan.node_group_max_pods(ng["inputs"].get("instanceTypes") or [], trunk=True, branch_pods=pooled)
        if lt is None or limit is None:
            continue
        got = max_pods_of((lt.get("inputs") or {}).get("userData"))
        if got is None or got > limit:
            out.append((ng.get("tenant"), ng["urn"], (
                f"node group {ng['name']}'s launch template sets kubelet maxPods {got if got is not None else 'not'} "
                f"(at most {limit}): every node carries a trunk interface once a tenant is pooled, so pods beyond "
                "the remaining interfaces' addresses would wait for an address forever")))
    return out
