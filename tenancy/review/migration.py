"""Placement moves in a diff: a tenant moving from dedicated nodes into a pool, between pools, or
from a pool to dedicated nodes (issue 28). Such a change is a disruptive migration, not a tier
change: this module says what the change evicts and what admission will refuse afterwards, from
the two renders' isolation facts and the resource changes (never from names alone).

What it relies on:

* Deleting a managed node group drains its nodes: EKS scales the Auto Scaling group to zero and
  drains each node's pods before it terminates the instance (EKS User Guide, "Delete a managed
  node group"; node group updates and deletions use the same drain). Their controllers recreate
  the pods, and the new pods go through admission.
* A node group that stays (a pool's, shared with other tenants) keeps the tenant's running pods:
  nothing moves them until they are recreated.
* Admission (:mod:`tenancy.plan.admission`, policy ``tenancy-pod-placement``) reads the placement
  from the namespace's labels, which the same ``pulumi up`` rewrites. It admits neither the old
  placement's selector nor its tolerations afterwards, and never both at once before (a dedicated
  tenant's pods may not tolerate a pool taint, a pooled tenant's may not tolerate any
  ``tenancy/tenant`` taint, and every required node-affinity term must name the tenant's own
  placement), so workload manifests cannot be prepared ahead: docs/pools.md, "Moving a tenant
  between placements", gives the procedure.
* In a pool, every pod must carry the ``vpc.amazonaws.com/pod-eni`` request, which the VPC resource
  controller's webhook adds to the pods a SecurityGroupPolicy matches (its ``failurePolicy`` is
  ``Ignore``: while it is down, the tenant's new pods are refused).
* The ResourceQuota ``tenancy-tier`` admits only the tenant's own tier's PriorityClass; a move
  changes the default tier (premium dedicated, standard pooled), and the pods quota (50 dedicated,
  10 pooled) unless the spec sets them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tenancy.plan.admission import POLICY_NAME
from tenancy.plan.kubernetes import PRIORITY_CLASSES, QUOTA_NAME, TIER_QUOTA
from tenancy.review.facts import IsolationFacts
from tenancy.spec.wire import (
    AWS_EKS_NODE_GROUP,
    K8S_RESOURCE_QUOTA,
    POD_ENI_RESOURCE,
    POOL_LABEL,
    TENANT_LABEL,
)

PROCEDURE = "docs/pools.md#moving-a-tenant-between-placements"
"""Where the migration procedure is written down (linked from every migration)."""


def _where(tenant: str, placement: Mapping[str, Any]) -> str:
    pool = placement.get("pool")
    return f"pool {pool}" if pool else f"{tenant}'s own nodes"


def _selector(tenant: str, placement: Mapping[str, Any]) -> tuple[str, str]:
    """The node label a pod of ``tenant`` must select in ``placement`` (the key admission reads)."""
    pool = placement.get("pool")
    key = POOL_LABEL if pool else TENANT_LABEL
    return key, str((placement.get("labels") or {}).get(key, pool or tenant))


def _old_node_groups(tenant: str, was: Mapping[str, Any], node_groups: Sequence[Mapping[str, Any]],
                     actions: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(names of the node groups ``tenant``'s pods ran on that this change deletes or replaces,
    names of those it keeps); ``node_groups``: the base render's."""
    pool = was.get("pool")
    gone: list[str] = []
    kept: list[str] = []
    for r in node_groups:
        i = r.get("inputs") or {}
        on_pool = (i.get("labels") or {}).get(POOL_LABEL) or (i.get("tags") or {}).get(POOL_LABEL)
        if (pool and not r.get("tenant") and on_pool == pool) or (not pool and r.get("tenant") == tenant):
            (gone if actions.get(r["urn"]) in ("delete", "replace") else kept).append(str(r.get("name")))
    return sorted(gone), sorted(kept)


_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def _toleration(taint: str) -> str:
    """A node group's taint (``key=value:NO_SCHEDULE``, EKS's spelling) as the Kubernetes
    toleration that matches it (``key=value:NoSchedule``)."""
    head, _, effect = taint.rpartition(":")
    return f"{head}:{_EFFECTS.get(effect, effect)}"


def _pods_quotas(resources: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Tenant → the ``pods`` of its ResourceQuota ``tenancy-quota`` (one pass over a render)."""
    out = {}
    for r in resources:
        inputs = r.get("inputs") or {}
        if (r.get("type") == K8S_RESOURCE_QUOTA and r.get("tenant")
                and (inputs.get("metadata") or {}).get("name") == QUOTA_NAME):
            pods = ((inputs.get("spec") or {}).get("hard") or {}).get("pods")
            if pods is not None:
                out[str(r["tenant"])] = str(pods)
    return out


def placement_moves(b: IsolationFacts, h: IsolationFacts, base: Sequence[Mapping[str, Any]],
                    head: Sequence[Mapping[str, Any]], resources: Sequence[Mapping[str, Any]]
                    ) -> list[dict[str, Any]]:
    """Every tenant of both renders whose placement (dedicated, or which pool) changed: a
    disruptive migration with what is evicted, what admission refuses, and what its pods need."""
    moving = [t for t in sorted(set(b.placement) & set(h.placement))
              if b.placement[t].get("pool") != h.placement[t].get("pool")]
    if not moving:
        return []
    actions = {r["urn"]: r["action"] for r in resources}
    node_groups = [r for r in base if r.get("type") == AWS_EKS_NODE_GROUP]
    pods_before, pods_after = _pods_quotas(base), _pods_quotas(head)
    out = []
    for t in moving:
        was, now = b.placement[t], h.placement[t]
        old_key, old_value = _selector(t, was)
        new_key, new_value = _selector(t, now)
        gone, kept = _old_node_groups(t, was, node_groups, actions)
        if gone:
            evicted = (f"every pod of {t} on node group(s) {', '.join(gone)}: the change deletes them, and EKS drains "
                       f"each node before terminating it; controllers recreate the pods, which admission then holds "
                       f"to the new placement")
        else:
            evicted = (f"nothing at once: {t}'s running pods stay on {_where(t, was)}"
                       f"{' (' + ', '.join(kept) + ')' if kept else ''} until they are recreated (the change does not "
                       f"move them); restart them once their manifests match the new placement")
        refused = [f"pods selecting {old_key}={old_value}, or without the node selector {new_key}={new_value} "
                   f"(admission policy {POLICY_NAME})"]
        old_taints = sorted(set(was.get("taints") or []) - set(now.get("taints") or []))
        if old_taints:
            refused.append(f"pods tolerating {', '.join(_toleration(x) for x in old_taints)} (the old placement's "
                           f"taint; {POLICY_NAME})")
        if now.get("pool"):
            refused.append(f"pods without the {POD_ENI_RESOURCE} request: the VPC resource controller's webhook adds "
                           f"it (the tenant's new SecurityGroupPolicy selects every pod); while that webhook is down, "
                           f"new pods are refused ({POLICY_NAME})")
        elif was.get("pool"):
            refused.append(f"pods carrying the {POD_ENI_RESOURCE} request: a dedicated tenant's pods may take no "
                           f"branch network interface ({POLICY_NAME}, docs/pools.md); the resource controller's "
                           f"webhook stops adding it once the tenant's SecurityGroupPolicy is gone, so recreated pods "
                           f"pass")
        lo, hi = was.get("tier"), now.get("tier")
        if lo and hi and lo != hi:
            refused.append(f"pods naming priorityClassName {PRIORITY_CLASSES.get(str(lo), lo)}: the tier changes "
                           f"{lo} → {hi}, and the ResourceQuota {TIER_QUOTA} admits only "
                           f"{PRIORITY_CLASSES.get(str(hi), hi)} (set `tier: {lo}` to keep it)")
        p_lo, p_hi = pods_before.get(t), pods_after.get(t)
        if p_lo and p_hi and p_hi.isdigit() and p_lo.isdigit() and int(p_hi) < int(p_lo):
            refused.append(f"pods beyond {p_hi}: the pods quota ({QUOTA_NAME}) drops from {p_lo} to {p_hi} (set "
                           f"quota.pods to keep it; on a pool each pod takes a branch network interface)")
        needs = {"nodeSelector": {new_key: new_value},
                 "tolerations": sorted(_toleration(x) for x in now.get("taints") or []),
                 "podEniRequest": bool(now.get("pool"))}
        if hi:
            needs["priorityClassName"] = PRIORITY_CLASSES.get(str(hi), str(hi))
        out.append({"tenant": t, "from": _where(t, was), "to": _where(t, now), "evicted": evicted,
                    "refused": refused, "podsNeed": needs, "procedure": PROCEDURE})
    return out


def markdown_lines(moves: Sequence[Mapping[str, Any]]) -> list[str]:
    """The diff comment's "Disruptive migrations" section (empty when there is none)."""
    if not moves:
        return []
    lines = ["#### ⚠️ Disruptive migrations", ""]
    for m in moves:
        needs = m["podsNeed"]
        sel = ", ".join(f"`{k}={v}`" for k, v in needs["nodeSelector"].items())
        tol = ", ".join(f"`{x}`" for x in needs["tolerations"]) or "none"
        lines += [f"**{m['tenant']}**: {m['from']} → {m['to']} (procedure: [{PROCEDURE}]({PROCEDURE}))", "",
                  f"- evicted: {m['evicted']}",
                  *(f"- refused by admission: {r}" for r in m["refused"]),
                  f"- its pods need: node selector {sel}; tolerations {tol}"
                  + (f"; the `{POD_ENI_RESOURCE}` request" if needs["podEniRequest"] else "")
                  + (f"; priorityClassName `{needs['priorityClassName']}` or none" if needs.get("priorityClassName")
                     else ""), ""]
    return lines
