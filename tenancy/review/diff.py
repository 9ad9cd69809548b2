"""``tenancy diff BASE HEAD``: what a change does, resource by resource and to isolation.

Compares two render folders of the same stack (``tenancy render`` output: ``resources.json``)
and reports

* tenants added, removed and changed;
* every resource change with its action: ``create``, ``update`` (with the changed inputs),
  ``replace`` (a changed input forces it: :mod:`tenancy.plan.replacements`), ``delete``, or
  ``retain`` (removed from the program, kept in the cloud: ``retainOnDelete``). Unchanged
  resources never appear, so the resources of tenants a change did not touch never do either;
* isolation changes, computed from the two renders' :mod:`isolation facts <tenancy.review.facts>`
  (never from names): each ``loosened`` or ``tightened``, with the layer (``network``, ``iam``,
  ``rbac``, ``placement``, ``admission``, ``logs``), the tenant, the peer where there is one, and a
  one-line explanation;
* disruptive migrations (:mod:`tenancy.review.migration`): a tenant moving between dedicated nodes
  and node pools, or between pools — what the change evicts, what admission refuses afterwards and
  what the tenant's pods need, with the procedure (docs/pools.md);
* whether the update fits the EKS quota while it runs: the peak number of managed node groups
  (replacements create the new group before the old one is deleted at the end of the update;
  :mod:`tenancy.review.fit`), against ``nodeGroupQuota``, with the fix when it does not.

JSON shape (``--format json``)::

    {"stack": {...}, "summary": {...},
     "tenants": {"added": [], "removed": [], "changed": []},
     "resources": [{"urn", "type", "name", "tenant", "action", "changed": [...], "replacedBy": [...]}],
     "isolation": [{"change": "loosened|tightened|changed", "layer", "tenant", "peer", "detail"}],
     "migrations": [{"tenant", "from", "to", "evicted", "refused": [...], "podsNeed": {...}, "procedure"}],
     "namespaces": [{"tenant", "namespace", "change": "added|removed", "destructive": bool, "detail"}],
     "nodeGroups": {"quota", "before", "peak", "after", "fits", "problem", "batches": [[urn]],
                    "targets": [[urn]], ...},
     "upgrade": {"kubernetesVersion": {"from", "to"}, "addons": {name: {"from", "to"}},
                 "nodeGroups": {"upgraded": n, "total": n}} | null}

A Kubernetes upgrade (the control plane's ``version``, node groups' ``version`` and add-ons'
``addonVersion`` moving together) is also reported as one ``upgrade``, in the order EKS applies
it (control plane, add-ons, node groups): these are in-place updates, never replacements, and
never isolation changes.

Exit codes (CLI): 0 done, 3 when the update's node-group peak is over the quota (always) or, with
``--fail-on-loosened``, when isolation loosens, 2 bad input, 1 anything else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenancy.plan.replacements import replacing_inputs
from tenancy.review import logs_facts, principals
from tenancy.review.facts import (
    INTERNET,
    PSA_LEVELS,
    IsolationFacts,
    Port,
    covers,
    facts_of,
    fence_grants,
    owns_network_policies,
    pods_pinned,
    rbac_write_grants,
    writers,
)
from tenancy.review.facts import (
    _fmt_ports as fmt_ports,
)
from tenancy.review.fit import node_group_peak
from tenancy.review.migration import markdown_lines as migration_lines
from tenancy.review.migration import placement_moves
from tenancy.review.observability import changes as observability_changes
from tenancy.review.perimeter import perimeter_changes, perimeter_of, summary_markdown
from tenancy.spec.lifecycle import LIFECYCLE_FILE
from tenancy.spec.wire import TENANT_TYPE as TENANT_COMPONENT

LAYER_NAMES = {"securityGroup": "SG rule", "networkPolicy": "NetworkPolicy"}
SIDE_NAMES = {"securityGroupEgress": ("{a}'s security groups", "let it out towards {z}"),
              "securityGroupIngress": ("{z}'s security groups", "admit {a}"),
              "networkPolicyEgress": ("{a}'s NetworkPolicies", "let it out towards {z}"),
              "networkPolicyIngress": ("{z}'s NetworkPolicies", "admit {a}"),
              "networkAclEgress": ("{a}'s network ACL", "lets it out towards {z}"),
              "networkAclIngress": ("{z}'s network ACL", "admits {a}"),
              "adminTierIngress": ("{z}'s Admin-tier ClusterNetworkPolicies", "admit {a}")}
"""Each side of a wall between two tenants, judged on its own (facts ``sides``)."""


class RenderInputError(ValueError):
    """A render folder is missing, unreadable or not a render (the CLI's exit 2)."""


@dataclass
class Render:
    """A render folder, read back: ``resources.json``'s project, stack and resources."""

    path: Path
    project: str
    stack: str
    resources: list[dict[str, Any]]
    node_group_quota: int | None = None
    """``nodeGroupQuota`` of the rendered spec (``lifecycle.json``'s ``quotas``), if the render records it."""

    @property
    def tenants(self) -> set[str]:
        return {r["name"] for r in self.resources if r["type"] == TENANT_COMPONENT} | {
            r["tenant"] for r in self.resources if r.get("tenant")}


def load_render(path: Path | str) -> Render:
    """Read a render folder (or its ``resources.json``); :class:`RenderInputError` names the fix."""
    p = Path(path)
    f = p / "resources.json" if p.is_dir() else p
    if not f.is_file():
        raise RenderInputError(f"{p}: no resources.json here; give a folder written by `tenancy render` "
                               f"(e.g. build/dev)")
    try:
        doc = json.loads(f.read_text())
    except ValueError as exc:
        raise RenderInputError(f"{f}: not JSON ({exc}); render it again with `tenancy render`") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("resources"), list) or any(
            not isinstance(r, dict) or "urn" not in r or "type" not in r for r in doc["resources"]):
        raise RenderInputError(f"{f}: not a tenancy render (expected {{project, stack, resources: [{{urn, type, "
                               f"…}}]}}); render it with `tenancy render`")
    folder = p if p.is_dir() else p.parent
    return Render(folder, str(doc.get("project")), str(doc.get("stack")), doc["resources"], _node_group_quota(folder))


def _node_group_quota(folder: Path) -> int | None:
    try:
        quota = (json.loads((folder / LIFECYCLE_FILE).read_text()).get("quotas") or {}).get("nodeGroups")
    except (OSError, ValueError, AttributeError):
        return None
    return quota if isinstance(quota, int) and not isinstance(quota, bool) else None


# --------------------------------------------------------------------------------------------
# Resources


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted input paths that differ (dicts compared key by key, lists and scalars whole)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for k in sorted(set(old) | set(new)):
            if k.startswith("__"):
                continue
            p = f"{prefix}.{k}" if prefix else k
            if k not in old or k not in new:
                out.append(p)
            elif old[k] != new[k]:
                out += changed_paths(old[k], new[k], p)
        return out
    return [] if old == new else [prefix or "."]


def _ignored(path: str, ignore: Sequence[str]) -> bool:
    return any(path == i or path.startswith(i + ".") or path.startswith(i + "[") for i in ignore)


def resource_changes(base: Sequence[Mapping[str, Any]], head: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    b = {r["urn"]: r for r in base}
    h = {r["urn"]: r for r in head}
    out = []
    for urn in sorted(set(b) | set(h)):
        old, new = b.get(urn), h.get(urn)
        r = new or old
        assert r is not None
        entry = {"urn": urn, "type": r["type"], "name": r["name"], "tenant": r.get("tenant"), "changed": []}
        if old is None:
            entry["action"] = "create"
        elif new is None:
            entry["action"] = "retain" if old.get("retainOnDelete") else "delete"
        else:
            paths = [p for p in changed_paths(old.get("inputs") or {}, new.get("inputs") or {})
                     if not _ignored(p, new.get("ignoreChanges") or [])]
            if old.get("provider") != new.get("provider"):
                paths.append("(provider)")
            if not paths:
                continue
            forcing = replacing_inputs(r["type"], [p for p in paths if p != "(provider)"])
            if "(provider)" in paths:
                forcing.append("(provider)")
            entry["action"] = "replace" if forcing else "update"
            entry["changed"] = paths
            if forcing:
                entry["replacedBy"] = forcing
        out.append(entry)
    return out


# --------------------------------------------------------------------------------------------
# Isolation


def _change(change: str, layer: str, tenant: str | None, peer: str | None, detail: str) -> dict[str, Any]:
    return {"change": change, "layer": layer, "tenant": tenant, "peer": peer, "detail": detail}


def _network_changes(b: IsolationFacts, h: IsolationFacts, existing: set[str], new_or_gone: set[str]
                     ) -> list[dict[str, Any]]:
    out = []
    for a, z in sorted(set(b.network) | set(h.network)):
        ends = {a, z}
        if ends & new_or_gone and not (ends - new_or_gone) & existing:
            continue  # a tenant arriving or leaving, paired with the platform: expected plumbing
        lo = b.network.get((a, z), {})
        hi = h.network.get((a, z), {})
        gained, lost = [], []
        for layer in sorted(set(lo) | set(hi), key=lambda x: (x != "securityGroup", x)):
            old: list[Port] = lo.get(layer) or []
            new: list[Port] = hi.get(layer) or []
            if not covers(old, new):
                gained.append(layer)
            if not covers(new, old):
                lost.append(layer)
        if not gained and not lost:
            out += _side_changes(b, h, a, z, new_or_gone)
            continue
        tenant, peer = (z, a) if z in existing | new_or_gone else (a, z)
        was, now = b.open(a, z), h.open(a, z)
        what = "open connections to" if z != INTERNET else "open connections to"
        if gained:
            layers = " + ".join(LAYER_NAMES.get(x, x) for x in gained)
            ports = ", ".join(fmt_ports(hi.get(gained[0]) or []))
            if now and not was:
                detail = f"{a} can now {what} {z} ({layers}; {ports})"
            elif now:
                detail = f"{a} → {z} widened ({layers} now {ports})"
            else:
                closed = " + ".join(LAYER_NAMES.get(x, x) for x in sorted(hi) if not hi[x])
                detail = f"{layers} now admit {a} → {z} ({ports}); still closed by {closed or 'another layer'}"
            if "networkPolicy" in gained and (a, z) in h.label_dependent:
                detail += (" — only between pods with particular labels: the policies select pods by label, which a "
                           "render does not know, so this is the widest case")
            out.append(_change("loosened", "network", tenant, peer, detail))
        if lost and not gained:
            layers = " + ".join(LAYER_NAMES.get(x, x) for x in lost)
            if was and not now:
                detail = f"{a} can no longer {what} {z} ({layers})"
            else:
                detail = f"{a} → {z} narrowed ({layers} now {', '.join(fmt_ports(hi.get(lost[0]) or []))})"
            out.append(_change("tightened", "network", tenant, peer, detail))
    return out


def _side_changes(b: IsolationFacts, h: IsolationFacts, a: str, z: str, new_or_gone: set[str]
                  ) -> list[dict[str, Any]]:
    """One side of a wall opened (or closed) while the connection itself did not change: a latent
    hole, which the other side's next, innocent-looking change opens."""
    if {a, z} & new_or_gone:
        return []
    lo, hi = b.sides.get((a, z), {}), h.sides.get((a, z), {})
    out = []
    for key, (who, verb) in SIDE_NAMES.items():
        owner = z if key.endswith("Ingress") else a
        if key.startswith("networkPolicy") and owns_network_policies(h, owner):
            continue  # a self-service tenant's own NetworkPolicies, behind the Admin tier (issue 26)
        old, new = lo.get(key) or [], hi.get(key) or []
        what, does = who.format(a=a, z=z), verb.format(a=a, z=z)
        if not covers(old, new):
            out.append(_change("loosened", "network", z, a,
                               f"one side of the wall: {what} now {does} ({', '.join(fmt_ports(new))}) while "
                               f"the other side still blocks it — a latent hole the other side's next change opens"))
        elif not covers(new, old):
            out.append(_change("tightened", "network", z, a, f"one side of the wall: {what} no longer {does}"))
    return out


def _iam_changes(b: IsolationFacts, h: IsolationFacts, new_or_gone: set[str]) -> list[dict[str, Any]]:
    out = []
    words = {"objects": "read and write objects", "list": "list keys"}
    for key in sorted(set(b.s3) ^ set(h.s3)):
        owner, role, target, access = key
        if owner == target and owner in new_or_gone:
            continue
        peer = target if target != owner else None
        where = f"{target}'s prefix" if peer else "its own prefix"
        if key in h.s3:
            out.append(_change("loosened", "iam", owner, peer,
                               f"role {role} can now {words.get(access, access)} under {where} "
                               f"({', '.join(h.s3[key])})"))
        else:
            out.append(_change("tightened", "iam", owner, peer,
                               f"role {role} can no longer {words.get(access, access)} under {where}"))
    for tkey in sorted(set(b.trust) | set(h.trust)):
        owner, role = tkey
        if owner in new_or_gone:
            continue
        old, new = set(b.trust.get(tkey, [])), set(h.trust.get(tkey, []))
        if not old or not new:
            continue  # the role itself came or went: its resources say so
        for s in sorted(new - old):
            out.append(_change("loosened", "iam", owner, _subject_tenant(s, h),
                               f"role {role} can now be assumed by {s}"))
        for s in sorted(old - new):
            out.append(_change("tightened", "iam", owner, _subject_tenant(s, b),
                               f"role {role} can no longer be assumed by {s}"))
    return out


def _subject_tenant(subject: str, f: IsolationFacts) -> str | None:
    if subject.startswith("system:serviceaccount:"):
        parts = subject.split(":")
        return f.namespace_tenant(parts[2]) if len(parts) > 2 else None
    return None


def _rbac_changes(b: IsolationFacts, h: IsolationFacts, new_or_gone: set[str]) -> list[dict[str, Any]]:
    out = []
    for key in sorted(set(b.rbac) | set(h.rbac)):
        ns, subject = key
        f = h if key in h.rbac else b
        tenant = f.namespace_tenant(ns)
        if tenant in new_or_gone:
            continue
        peer = f.subject_tenant.get(subject)
        peer = peer if peer != tenant else None
        where = f"in {ns}" if ns != "*" else "cluster-wide"
        old, new = b.rbac.get(key, frozenset()), h.rbac.get(key, frozenset())
        for change, grants in (("loosened", new - old), ("tightened", old - new)):
            if not grants:
                continue
            fences = fence_grants(grants)
            shown = (fences or sorted(grants))[:3]
            more = f" and {len(grants) - len(shown)} more" if len(grants) > len(shown) else ""
            verb = "can now" if change == "loosened" else "can no longer"
            note = " — writes its own fences" if fences and change == "loosened" else ""
            rbac_writes = rbac_write_grants(grants)
            if rbac_writes and not fences:
                shown = (rbac_writes + [g for g in sorted(grants) if g not in rbac_writes])[:3]
                guard = f" (guarded by {', '.join(_rbac_guards(h if change == 'loosened' else b, tenant))})" \
                    if _rbac_guards(h if change == "loosened" else b, tenant) else " (no admission policy guards it)"
                note = (" — self-service RBAC: writes Roles/RoleBindings, bounded by escalation prevention" + guard
                        if change == "loosened" else " — self-service RBAC withdrawn")
            out.append(_change(change, "rbac", tenant, peer,
                               f"{subject} {verb} {', '.join(shown)}{more} {where}{note}"))
    return out


def _rbac_guards(f: IsolationFacts, tenant: str | None) -> list[str]:
    """Admission policies denying in ``tenant``'s namespace that judge RoleBinding writes."""
    out = []
    for p, acts in sorted(f.enforced.get(tenant or "", {}).items()):
        scope = f.policies.get(p, {}).get("scope") or {}
        rules = scope.get("resourceRules") or []
        if "Deny" in acts and any("rolebindings" in (rr.get("resources") or []) for rr in rules):
            out.append(p)
    return out


def _mutating_changes(b: IsolationFacts, h: IsolationFacts, new_or_gone: set[str]) -> list[dict[str, Any]]:
    """Placement injected (issue 26). Not a wall: the validating policy still judges every pod, so
    injection appearing or going is reported as neither loosened nor tightened but ``changed``."""
    out = []
    for name in sorted(set(b.mutating) | set(h.mutating)):
        old, new = b.mutating.get(name), h.mutating.get(name)
        if old != new:
            what = "added" if old is None else "removed" if new is None else "changed"
            out.append(_change("changed", "admission", None, None, f"mutating admission policy {name} {what}"))
    for t in sorted((set(b.tenants) & set(h.tenants)) - new_or_gone):
        was, now = set(b.injected.get(t, [])), set(h.injected.get(t, []))
        for p in sorted(now - was):
            out.append(_change("changed", "admission", t, None,
                               f"{p} now adds the placement pods of {t} leave out (the placement policy still judges)"))
        for p in sorted(was - now):
            out.append(_change("changed", "admission", t, None,
                               f"{p} no longer adds placement to pods of {t}: they must set it themselves"))
    return out


_TIER_RANK = {"standard": 0, "premium": 1}


def _pool_changes(t: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A tenant moved between dedicated nodes and node pools, changed tier, or lost the security
    groups its SecurityGroupPolicy put on its pods (issue 13)."""
    out = []
    was, now = old.get("pool"), new.get("pool")
    if was != now:
        if now and not was:
            out.append(_change("loosened", "placement", t, None,
                               f"{t} moved from nodes of its own to the shared pool {now}: its pods now share nodes "
                               f"(kernel, kubelet) with the pool's other tenants, walled by security groups for pods "
                               f"and admission"))
        elif was and not now:
            out.append(_change("tightened", "placement", t, None, f"{t} moved from the shared pool {was} to nodes of "
                                                                   f"its own"))
        else:
            out.append(_change("loosened", "placement", t, None,
                               f"{t} moved from pool {was} to pool {now}: it now shares nodes with {now}'s tenants"))
    lo, hi = old.get("tier"), new.get("tier")
    if lo and hi and lo != hi:
        up = _TIER_RANK.get(str(hi), 0) > _TIER_RANK.get(str(lo), 0)
        moved = " (with its move: see the disruptive migration)" if was != now else ""
        out.append(_change("loosened" if up else "tightened", "placement", t, None,
                           f"tier of {t}: {lo} → {hi}{moved}" + (
                               ": its pods may now take a higher priority and preempt lower-priority pods on the "
                               "nodes they share" if up else "")))
    if old.get("podSecurityGroups") and not new.get("podSecurityGroups"):
        out.append(_change("loosened", "placement", t, None,
                           f"{t}'s pods no longer get their own security groups (no SecurityGroupPolicy selecting "
                           f"every pod)"))
    return out


def _placement_changes(b: IsolationFacts, h: IsolationFacts, new_or_gone: set[str]) -> list[dict[str, Any]]:
    out = []
    for t in sorted(set(b.placement) & set(h.placement) - new_or_gone):
        out += _pool_changes(t, b.placement[t], h.placement[t])
        if b.placement[t].get("pool") != h.placement[t].get("pool"):
            continue  # a move: its taints changed with it, reported as the move
        old, new = set(b.placement[t]["taints"]), set(h.placement[t]["taints"])
        for taint in sorted(old - new):
            out.append(_change("loosened", "placement", t, None,
                               f"{t}'s nodes no longer carry the taint {taint}: pods of other tenants can be "
                               f"scheduled there unless admission stops them"))
        for taint in sorted(new - old):
            out.append(_change("tightened", "placement", t, None, f"{t}'s nodes now carry the taint {taint}"))
    for t in sorted(set(b.placement) - set(h.placement) - new_or_gone):
        if pods_pinned(h, t):
            # off-boarding's phase one: its node group goes, and admission still pins its pods to
            # nodes that no longer exist, so none is scheduled anywhere (nothing moves to others' nodes)
            out.append(_change("changed", "placement", t, None,
                               f"{t} no longer has nodes of its own; admission still pins its pods to them, so "
                               f"none can be scheduled (off-boarding)"))
        else:
            out.append(_change("loosened", "placement", t, None, f"{t} no longer has nodes of its own"))
    return out


def _admission_changes(b: IsolationFacts, h: IsolationFacts, new_or_gone: set[str]) -> list[dict[str, Any]]:
    out = []
    for name in sorted(set(b.policies) | set(h.policies)):
        old, new = b.policies.get(name), h.policies.get(name)
        if old is None:
            out.append(_change("tightened", "admission", None, None, f"admission policy {name} added"))
            continue
        if new is None:
            judged = _judged(b, name)
            # what the tenants may do after the change (a retired tenant's people and nodes are gone)
            if not judged or writers(h, judged) & set(h.tenants):
                out.append(_change("loosened", "admission", None, None, f"admission policy {name} removed"))
            else:
                out.append(_change("changed", "admission", None, None,
                                   f"admission policy {name} removed; no tenant may write what it judged "
                                   f"({', '.join(judged)}), so no write it refused becomes possible"))
            continue
        removed = sorted(set(old["validations"]) - set(new["validations"]))
        added = sorted(set(new["validations"]) - set(old["validations"]))
        if removed:
            out.append(_change("loosened", "admission", None, None,
                               f"{name} no longer checks {len(removed)} rule(s): {removed[0][:80]}"))
        if added:
            out.append(_change("tightened", "admission", None, None,
                               f"{name} checks {len(added)} more rule(s): {added[0][:80]}"))
        if old["failurePolicy"] != new["failurePolicy"]:
            change = "loosened" if new["failurePolicy"] == "Ignore" else "tightened"
            out.append(_change(change, "admission", None, None,
                               f"{name} failurePolicy {old['failurePolicy']} → {new['failurePolicy']}"))
        if old["scope"] != new["scope"] or old["matchConditions"] != new["matchConditions"]:
            out.append(_change("loosened", "admission", None, None,
                               f"{name} now matches different requests (matchConstraints/matchConditions "
                               f"changed): review what it no longer sees"))
    judged_by: dict[str, tuple[list[str], set[str]]] = {}  # policy -> (what it judges, who may write it)
    for t in sorted((set(b.tenants) & set(h.tenants)) - new_or_gone):
        old_e, new_e = b.enforced.get(t, {}), h.enforced.get(t, {})
        for p in sorted(set(old_e) | set(new_e)):
            was, now = "Deny" in old_e.get(p, []), "Deny" in new_e.get(p, [])
            if was and not now:
                if p not in judged_by:
                    judged = _judged(b, p) if p in b.policies else _judged(h, p)
                    judged_by[p] = (judged, writers(h, judged) if judged else set())
                judged, writing = judged_by[p]
                if not judged or t in writing:
                    out.append(_change("loosened", "admission", t, None,
                                       f"admission policy {p} no longer denies in {t}'s namespace"))
                else:
                    out.append(_change("changed", "admission", t, None,
                                       f"admission policy {p} no longer denies in {t}'s namespace; nothing of {t} "
                                       f"may write what it judged ({', '.join(judged)}) after the change"))
            elif now and not was:
                out.append(_change("tightened", "admission", t, None,
                                   f"admission policy {p} now denies in {t}'s namespace"))
        old_p, new_p = b.pod_security.get(t, {}), h.pod_security.get(t, {})
        lo, hi = old_p.get("enforce", "privileged"), new_p.get("enforce", "privileged")
        if PSA_LEVELS.get(hi, 0) != PSA_LEVELS.get(lo, 0):
            change = "loosened" if PSA_LEVELS.get(hi, 0) < PSA_LEVELS.get(lo, 0) else "tightened"
            out.append(_change(change, "admission", t, None, f"Pod Security enforce level of {t}: {lo} → {hi}"))
        lv, hv = old_p.get("enforce-version", "latest"), new_p.get("enforce-version", "latest")
        if lv != hv and _psa_version(lv) != _psa_version(hv):
            older = _psa_version(hv) < _psa_version(lv)
            out.append(_change("loosened" if older else "tightened", "admission", t, None,
                               f"Pod Security enforce-version of {t}: {lv} → {hv}"
                               + (" (checks added by later Kubernetes versions no longer apply)" if older else "")))
    return out


def _judged(f: IsolationFacts, policy: str) -> list[str]:
    """The resources an admission policy judges, when it judges only writes (CREATE, UPDATE,
    DELETE) of named resources; empty when it judges anything else (a wildcard, CONNECT, or an
    unknown policy): such a policy's removal is always a loosening. Removing a policy that judges
    only writes no one of a tenant can make after the change is no loosening for it (a
    ``changed``): ``tenancy-tenant-rbac`` and the NetworkPolicy guard go away with the last
    self-service tenant, and the others never held those writes
    (:func:`tenancy.review.facts.writers`)."""
    rules = ((f.policies.get(policy) or {}).get("scope") or {}).get("resourceRules") or []
    out: set[str] = set()
    for r in rules:
        resources = list(r.get("resources") or [])
        if not resources or "*" in resources or set(r.get("operations") or ["*"]) - {"CREATE", "UPDATE", "DELETE"}:
            return []
        out |= {x.split("/")[0] for x in resources}
    return sorted(out)


def _psa_version(v: str) -> tuple[float, float]:
    """``latest`` above every pinned ``v1.N`` (Pod Security admission: a pinned version keeps that
    release's checks, ``latest`` follows the API server's)."""
    if v == "latest":
        return (float("inf"), 0.0)
    try:
        major, minor = v.lstrip("v").split(".")[:2]
        return (float(major), float(minor))
    except ValueError:
        return (0.0, 0.0)


def namespace_changes(base: IsolationFacts, head: IsolationFacts) -> list[dict[str, Any]]:
    """Extra namespaces added to or removed from tenants present in both renders (a tenant added
    or removed whole is in ``tenants``). Removing one is destructive: the Namespace is retained
    (``retainOnDelete``) with its workloads, data and fences, but leaves the platform's
    management — the tenant's edges, roles, quota share and service-account trust no longer
    cover it (its pods lose their AWS role), and re-adding the name later needs the namespace
    deleted first (or ``adopt``)."""
    out = []
    for t in sorted(set(base.tenants) & set(head.tenants)):
        old, new = base.tenant_namespaces(t), head.tenant_namespaces(t)
        for ns in new:
            if ns not in old:
                out.append({"tenant": t, "namespace": ns, "change": "added", "destructive": False,
                            "detail": f"namespace {ns} created with {t}'s labels, fences, roles, service accounts "
                                      f"and a share of its quota (every namespace's share shrinks)"})
        for ns in old:
            if ns not in new:
                out.append({"tenant": t, "namespace": ns, "change": "removed", "destructive": True,
                            "detail": f"namespace {ns} leaves {t}: kept in the cluster (retained) with its "
                                      "workloads and fences but no longer managed — its pods lose the tenant's "
                                      "AWS roles and edges; delete it with `kubectl delete namespace "
                                      f"{ns}` once it is drained"})
    return out


def isolation_changes(base: IsolationFacts, head: IsolationFacts) -> list[dict[str, Any]]:
    existing = set(base.tenants) & set(head.tenants)
    new_or_gone = set(base.tenants) ^ set(head.tenants)
    return [
        *_network_changes(base, head, existing, new_or_gone),
        *_iam_changes(base, head, new_or_gone),
        *_rbac_changes(base, head, new_or_gone),
        *_placement_changes(base, head, new_or_gone),
        *_admission_changes(base, head, new_or_gone),
        *(_change(c, "logs", t, peer, detail) for c, t, peer, detail in logs_facts.changes(base.logs, head.logs,
                                                                                            new_or_gone)),
        *_mutating_changes(base, head, new_or_gone),
        *observability_changes(base, head),
        *_wall_changes(base, head, new_or_gone),
    ]


def _wall_changes(b: IsolationFacts, h: IsolationFacts, new_or_gone: set[str]) -> list[dict[str, Any]]:
    """A tenant leaving (or coming behind) the Admin-tier wall or the NetworkPolicy guard (facts ``walls``)."""
    what = {"adminTier": ("network", "the Admin-tier ClusterNetworkPolicies wall {t} off from other tenants and IMDS"),
            "networkPolicyGuard": ("admission", "admission guards the platform's NetworkPolicies in {t}'s namespace")}
    out = []
    np_writers = writers(h, ["networkpolicies"])
    for t in sorted((set(b.walls) | set(h.walls)) - new_or_gone):
        for key, (layer, text) in what.items():
            was, now = (b.walls.get(t) or {}).get(key, False), (h.walls.get(t) or {}).get(key, False)
            if was != now:
                change = "tightened" if now else "loosened"
                if key == "networkPolicyGuard" and not now and t not in np_writers:
                    change = "changed"  # nothing of the tenant writes NetworkPolicies: the guard stopped nothing
                out.append(_change(change, layer, t, None, ("now: " if now else "no longer: ") + text.format(t=t)))
    return out


# --------------------------------------------------------------------------------------------
# The whole diff


def _versions(resources: Sequence[Mapping[str, Any]]) -> tuple[str | None, dict[str, str], dict[str, str]]:
    """(control plane version, {add-on: addonVersion}, {node group urn: version}) of a render."""
    from tenancy.spec.wire import AWS_EKS_ADDON, AWS_EKS_NODE_GROUP, EKS_COMPONENT

    cluster, addons, groups = None, {}, {}
    for r in resources:
        inputs = r.get("inputs") or {}
        if r["type"] == EKS_COMPONENT:
            cluster = inputs.get("version")
        elif r["type"] == AWS_EKS_ADDON and inputs.get("addonName"):
            addons[str(inputs["addonName"])] = str(inputs.get("addonVersion") or "")
        elif r["type"] == AWS_EKS_NODE_GROUP:
            groups[r["urn"]] = str(inputs.get("version") or "")
    return cluster, addons, groups


def upgrade_of(base: Sequence[Mapping[str, Any]], head: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The Kubernetes upgrade between two renders, or None when the control plane's version is unchanged."""
    bv, ba, bg = _versions(base)
    hv, ha, hg = _versions(head)
    if bv is None or hv is None or bv == hv:
        return None
    return {"kubernetesVersion": {"from": bv, "to": hv},
            "addons": {a: {"from": ba.get(a), "to": v} for a, v in sorted(ha.items()) if ba.get(a) != v},
            "nodeGroups": {"upgraded": sum(1 for u, v in hg.items() if u in bg and bg[u] != v and v == hv),
                           "total": len(hg)}}


def diff_renders(base: Render, head: Render, node_group_quota: int | None = None) -> dict[str, Any]:
    """The diff document (module docstring). ``node_group_quota`` overrides the quota the head
    render records (``nodeGroupQuota``; default 30) for the update's node-group peak
    (:mod:`tenancy.review.fit`)."""
    if (base.project, base.stack) != (head.project, head.stack):
        raise RenderInputError(
            f"{base.path} renders {base.project}/{base.stack} but {head.path} renders {head.project}/{head.stack}: "
            "compare two renders of the same stack")
    resources = resource_changes(base.resources, head.resources)
    head_perimeter = perimeter_of(head.resources)
    base_facts, head_facts = facts_of(base.resources), facts_of(head.resources)
    migrations = placement_moves(base_facts, head_facts, base.resources, head.resources, resources)
    isolation = [*isolation_changes(base_facts, head_facts),
                 *perimeter_changes(perimeter_of(base.resources), head_perimeter)]
    bt, ht = base.tenants, head.tenants
    changed = {r["tenant"] for r in resources if r["tenant"]} | {
        c["tenant"] for c in isolation if c["tenant"]}
    tenants = {"added": sorted(ht - bt), "removed": sorted(bt - ht), "changed": sorted(changed & bt & ht)}
    actions: dict[str, int] = {}
    for r in resources:
        actions[r["action"]] = actions.get(r["action"], 0) + 1
    namespaces = namespace_changes(base_facts, head_facts)
    summary = {"resources": actions, "namespacesRemoved": sum(1 for n in namespaces if n["destructive"]),
               "loosened": sum(1 for c in isolation if c["change"] == "loosened"),
               "tightened": sum(1 for c in isolation if c["change"] == "tightened"),
               "migrations": len(migrations)}
    peak = node_group_peak(base.resources, head.resources, resources,
                           node_group_quota if node_group_quota is not None else head.node_group_quota)
    summary["fits"] = peak.fits
    return {"stack": {"project": head.project, "stack": head.stack}, "summary": summary, "tenants": tenants,
            "resources": resources, "isolation": isolation, "migrations": migrations, "namespaces": namespaces,
            "security": head_perimeter.document(),
            "identities": principals.document(principals.people_of(head.resources, head_facts),
                                              principals.workload_roles_of(head.resources, head_facts)),
            "nodeGroups": peak.document(),
            "upgrade": upgrade_of(base.resources, head.resources)}


def _cell(v: Any) -> str:
    s = "—" if v in (None, "", []) else str(v)
    return s.replace("|", "\\|").replace("\n", " ")


def markdown(d: Mapping[str, Any], *, max_resources: int = 200) -> str:
    """The diff as one Markdown comment (GitHub/GitLab flavoured)."""
    s, t = d["summary"], d["tenants"]
    acts = ", ".join(f"{n} {a}" for a, n in sorted(s["resources"].items())) or "no resource changes"
    lines = [f"### tenancy diff — `{d['stack']['project']}` / `{d['stack']['stack']}`", ""]
    flag = "⚠️ " if s["loosened"] else ""
    moves = d.get("migrations") or []
    migrating = f" **{len(moves)} disruptive migration(s)**: {', '.join(m['tenant'] for m in moves)}." if moves else ""
    lines += [f"{flag}**Isolation: {s['loosened']} loosened, {s['tightened']} tightened.** Resources: {acts}."
              f"{migrating}", ""]
    lines += [f"Tenants added: {', '.join(f'`{x}`' for x in t['added']) or '—'}; "
              f"removed: {', '.join(f'`{x}`' for x in t['removed']) or '—'}; "
              f"changed: {', '.join(f'`{x}`' for x in t['changed']) or '—'}.", ""]
    ng = d.get("nodeGroups")
    if ng and (not ng["fits"] or any(ng[k] for k in ("created", "replaced", "replacedInPlace", "deleted"))):
        flag = "❌ " if not ng["fits"] else ""
        lines += [f"{flag}**Node groups: {ng['before']} → {ng['after']}, {ng['peak']} at the "
                  f"update's peak, quota {ng['quota']}.**" + (f" {ng['problem']}." if ng["problem"] else ""), ""]
    if d.get("security"):
        lines += summary_markdown(d["security"])
    up = d.get("upgrade")
    if up:
        kv, ung = up["kubernetesVersion"], up["nodeGroups"]
        lines += [f"#### Kubernetes upgrade {kv['from']} → {kv['to']}", "",
                  "In place, in EKS's order: the control plane, then the add-ons, then the node groups "
                  f"({ung['upgraded']} of {ung['total']} move to {kv['to']}).", ""]
        if up["addons"]:
            lines += ["| add-on | from | to |", "|---|---|---|"]
            lines += [f"| `{a}` | {_cell(v['from'])} | {_cell(v['to'])} |" for a, v in up["addons"].items()]
            lines.append("")
    if d.get("identities"):
        lines += principals.details_markdown(d["identities"])
    lines += migration_lines(moves)
    if d.get("namespaces"):
        lines += ["#### Tenant namespaces", ""]
        lines += [f"- {'⚠️ **removed (destructive)**' if n['destructive'] else 'added'}: `{n['namespace']}` of "
                  f"`{n['tenant']}` — {n['detail']}" for n in d["namespaces"]]
        lines.append("")
    lines += ["#### Isolation changes", ""]
    if d["isolation"]:
        lines += ["| change | layer | tenant | peer | detail |", "|---|---|---|---|---|"]
        for c in sorted(d["isolation"], key=lambda c: (c["change"] != "loosened", c["layer"], str(c["tenant"]))):
            lines.append(f"| **{c['change']}** | {c['layer']} | {_cell(c['tenant'])} | {_cell(c['peer'])} | "
                         f"{_cell(c['detail'])} |")
    else:
        lines.append("None.")
    lines += ["", "#### Resource changes", ""]
    rs = d["resources"]
    if rs:
        order = {"replace": 0, "delete": 1, "retain": 2, "update": 3, "create": 4}
        rs = sorted(rs, key=lambda r: (order.get(r["action"], 9), str(r["tenant"]), r["type"], r["name"]))
        lines += ["| action | type | name | tenant | changed inputs |", "|---|---|---|---|---|"]
        for r in rs[:max_resources]:
            ch = ", ".join(f"`{p}`{' (replaces)' if p in r.get('replacedBy', []) else ''}" for p in r["changed"])
            lines.append(f"| {r['action']} | `{r['type']}` | `{r['name']}` | {_cell(r['tenant'])} | {ch or '—'} |")
        if len(rs) > max_resources:
            lines.append(f"| … | {len(rs) - max_resources} more | | | (see the JSON output) |")
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"
