"""Tenant lifecycle guards — pure, no Pulumi.

A tenant's life: added (name + slot) → ``offboarding: true`` (access, workload roles and nodes
removed; namespace, fences, subnets and data kept) → deleted from ``tenants`` and listed in
``retiredTenants`` (name and slot never handed out again) → optionally its name re-used with
``adopt: true`` (the new tenant takes over the retained namespace and the S3 prefix
``<name>/`` — deliberately).

Two kinds of checks:

- on the spec alone (:func:`lifecycle_problems`, run by :func:`tenancy.spec.load_platform`):
  a retired slot is never reused, a retired name only with ``adopt: true``;
- against the previous render of the same stack (:func:`transition_problems`, run by
  ``tenancy render`` when its output directory holds a previous render, and usable in CI): a
  tenant that disappeared must be listed in ``retiredTenants`` and must have been off-boarded
  first (``offboarding: true`` in the previous render).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tenancy.spec.errors import Problem

LIFECYCLE_FILE = "lifecycle.json"
"""Written beside ``resources.json`` by every render: each tenant's slot and off-boarding flag,
and the retired tenants — what the next render's transition checks compare against — and the
spec's ``nodeGroupQuota`` (``quotas.nodeGroups``), which ``tenancy diff`` checks an update's
peak against."""


def lifecycle_problems(data: Mapping[str, Any]) -> list[Problem]:
    """Problems of the raw ``tenancy:platform`` object with ``retiredTenants``: reuse of a retired
    slot (always refused) or name (refused unless ``adopt: true``), and retired entries twice."""
    retired = data.get("retiredTenants")
    if not isinstance(retired, list) or not retired:
        return []
    out = []
    by_name: dict[str, int] = {}
    by_slot: dict[int, int] = {}
    for k, r in enumerate(retired):
        if not isinstance(r, Mapping):
            continue
        name, slot = r.get("name"), r.get("slot")
        if isinstance(name, str):
            if name in by_name:
                out.append(Problem(f"retiredTenants[{k}].name", f"{name!r} is already retired at "
                                                                 f"retiredTenants[{by_name[name]}]; list it once"))
            by_name.setdefault(name, k)
        if isinstance(slot, int) and not isinstance(slot, bool):
            by_slot.setdefault(slot, k)
    tenants = data.get("tenants")
    for i, t in enumerate(tenants if isinstance(tenants, list) else []):
        if not isinstance(t, Mapping):
            continue
        name, slot = t.get("name"), t.get("slot")
        if isinstance(slot, int) and not isinstance(slot, bool) and slot in by_slot:
            k = by_slot[slot]
            out.append(Problem(f"tenants[{i}].slot", (
                f"slot {slot} belongs to the retired tenant {retired[k].get('name')!r} (retiredTenants[{k}]); "
                f"a retired slot is never reused (its subnets' addresses may still be in flow logs, "
                f"allow-lists and caches): pick a free slot")))
        if isinstance(name, str) and name in by_name and t.get("adopt") is not True:
            k = by_name[name]
            out.append(Problem(f"tenants[{i}].name", (
                f"{name!r} is the retired tenant retiredTenants[{k}] (slot {retired[k].get('slot')}); its "
                f"namespace and S3 prefix {name}/ may still exist: choose another name, or set "
                f"`adopt: true` on this tenant to take them over deliberately")))
    return out


def node_groups(spec: Any) -> dict[str, tuple[str, Any]]:
    """``{key: (spec path, NodesSpec)}`` of every managed node group the spec declares: the
    system group, each pool, each dedicated tenant (keys stable across renders)."""
    out: dict[str, tuple[str, Any]] = {"system": ("cluster.systemNodes", spec.cluster.system_nodes)}
    for i, p in enumerate(spec.node_pools):
        out[f"pool/{p.name}"] = (f"nodePools[{i}].nodes", p.nodes)
    for i, t in enumerate(spec.tenants):
        if t.nodes is not None:
            out[f"tenant/{t.name}"] = (f"tenants[{i}].nodes", t.nodes)
    return out


def lifecycle_record(spec: Any) -> dict[str, Any]:
    """What :data:`LIFECYCLE_FILE` holds for a validated :class:`~tenancy.spec.PlatformSpec`."""
    return {
        "tenants": {t.name: {"slot": t.slot, "offboarding": t.offboarding, **({"pool": t.pool} if t.pool else {})}
                    for t in spec.tenants},
        "retiredTenants": [{"name": r.name, "slot": r.slot} for r in spec.retired_tenants],
        # Read by tenancy diff / check --previous (tenancy.review.fit): the quota an update's peak must fit.
        "quotas": {"nodeGroups": spec.node_group_quota},
        "kubernetesVersion": spec.kubernetes_version,
        "nodeGroups": {key: {"minSize": n.min_size, "desiredSize": n.desired_size, "maxSize": n.max_size}
                       for key, (_, n) in node_groups(spec).items()},
    }


def read_lifecycle(render_dir: Path) -> dict[str, Any] | None:
    """The lifecycle record of a previous render, or None if there is none."""
    path = Path(render_dir) / LIFECYCLE_FILE
    try:
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def version_problems(previous: Mapping[str, Any], spec: Any) -> list[Problem]:
    """``kubernetesVersion`` against the previous render's: the same, or the next minor. EKS
    upgrades a control plane one minor at a time and never downgrades it (EKS user guide,
    update-cluster); node groups and add-ons follow the control plane in the same deploy."""
    from tenancy.spec.versions import minor

    before, now = previous.get("kubernetesVersion"), spec.kubernetes_version
    if not isinstance(before, str) or before == now:
        return []
    try:
        step = minor(now) - minor(before)
    except ValueError:
        return []
    if step < 0:
        return [Problem("kubernetesVersion", (
            f"{now} is older than {before}, the version of the previous render: EKS never downgrades a control "
            f"plane. If EKS upgraded the cluster by itself (cluster.upgradePolicy, end of support), name the version "
            f"it runs now (`aws eks describe-cluster --query cluster.version`); otherwise put back "
            f"kubernetesVersion: \"{before}\""))]
    if step > 1:
        nxt = f"1.{minor(before) + 1}"
        return [Problem("kubernetesVersion", (
            f"{before} -> {now} skips {step - 1} minor version(s): EKS upgrades a control plane one minor at a time, "
            f"and the nodes must reach each minor before the next: set kubernetesVersion: \"{nxt}\", deploy, then "
            f"the next minor"))]
    return []


def sizing_problems(previous: Mapping[str, Any], spec: Any) -> list[Problem]:
    """A node group's ``minSize`` raised above its previous ``desiredSize``: EKS refuses the update
    ("Minimum capacity X can't be greater than desired size Y"; terraform-aws-eks #2030,
    terraform-provider-aws #18310), because tenancy leaves ``desiredSize`` to the autoscaler
    (``ignore_changes``) and so sends the live desired size with the new minimum."""
    before = previous.get("nodeGroups")
    if not isinstance(before, Mapping):
        return []
    out = []
    for key, (where, nodes) in node_groups(spec).items():
        prev = before.get(key)
        if not isinstance(prev, Mapping):
            continue  # a new node group: created with its own sizes
        desired, old_min = prev.get("desiredSize"), prev.get("minSize")
        if isinstance(desired, int) and isinstance(old_min, int) and nodes.min_size > old_min \
                and nodes.min_size > desired:
            out.append(Problem(f"{where}.minSize", (
                f"minSize {old_min} -> {nodes.min_size} is above the group's desired size {desired} of the previous "
                f"render: EKS refuses it ('Minimum capacity {nodes.min_size} can't be greater than desired size "
                f"{desired}'), and desiredSize is left to the autoscaler, so `pulumi up` cannot raise it with the "
                f"minimum. Scale the group first (`aws eks update-nodegroup-config --scaling-config "
                f"desiredSize={nodes.min_size}`, or let the cluster autoscaler do it) and record "
                f"desiredSize: {nodes.min_size} here, deploy, then raise minSize")))
    return out


def transition_problems(previous: Mapping[str, Any], spec: Any) -> list[Any]:
    """Problems of going from a previous render's lifecycle record to ``spec``: every tenant that
    disappeared must be in ``retiredTenants`` (with its slot) and must have been off-boarded in
    the previous render; a tenant's slot never changes; a slot freed in this change (its tenant moved
    to a shared pool) is not taken by another tenant in the same change; ``kubernetesVersion``
    moves up one minor at most (:func:`version_problems`); no ``minSize`` above the previous
    ``desiredSize`` (:func:`sizing_problems`)."""
    out: list[Any] = [*version_problems(previous, spec), *sizing_problems(previous, spec)]
    now = {t.name: t for t in spec.tenants}
    retired = {r.name: r.slot for r in spec.retired_tenants}
    held = {before.get("slot"): name for name, before in (previous.get("tenants") or {}).items()
            if before.get("slot") is not None}
    for i, t in enumerate(spec.tenants):
        holder = held.get(t.slot) if t.slot is not None else None
        if holder is not None and holder != t.name and holder in now:
            # The holder moved to a pool: its subnets (this slot's CIDRs) are deleted by this very update,
            # after the new tenant's subnets with the same CIDRs would be created (create before delete).
            out.append(Problem(f"tenants[{i}].slot", (
                f"slot {t.slot} belonged to {holder!r} in the previous render and is freed by this change ({holder!r} "
                f"moves to a shared pool; its subnets are deleted at the end of the update): take it in a later "
                f"change, once they are gone, or choose another free slot now")))
    for name, before in sorted((previous.get("tenants") or {}).items()):
        slot = before.get("slot")
        if name in now:
            # None: a tenant on a shared pool. Moving between a pool and dedicated nodes is allowed
            # (new subnets are created, or the old ones deleted); moving between blocks is not.
            if slot is not None and now[name].slot is not None and now[name].slot != slot:
                i = spec.tenants.index(now[name])
                out.append(Problem(f"tenants[{i}].slot", (
                    f"tenant {name!r} was in slot {slot}; a tenant's slot never changes (its subnets would be "
                    f"replaced): put it back to {slot}")))
            continue
        if name not in retired:
            entry = f"{{name: {name}, slot: {slot}}}" if slot is not None else f"{{name: {name}}}"
            out.append(Problem("retiredTenants", (
                f"tenant {name!r} ({f'slot {slot}' if slot is not None else 'pooled'}) was removed from tenants; "
                f"add it here so its name{' and slot are' if slot is not None else ' is'} never reused: - {entry}")))
        elif retired[name] != slot:
            out.append(Problem("retiredTenants", (
                f"tenant {name!r} is retired with slot {retired[name]} but it had slot {slot}; write slot {slot}")))
        if not before.get("offboarding"):
            out.append(Problem("tenants", (
                f"tenant {name!r} was removed without being off-boarded first: put it back with "
                f"`offboarding: true`, deploy, then remove it (two-phase off-boarding, docs/deploy.md)")))
    return out
